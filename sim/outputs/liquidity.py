"""The report's liquidity and settlement-risk section, and its figures.

:func:`liquidity_figures` draws, from a run's results (the first replication for
anything over time):

* ``all_in_cost``: per corridor and rail, the mean cost of credited payments as %
  of the amount sent, fees and liquidity cost stacked (left), and the liquidity cost
  alone in basis points (right);
* ``exposure_over_time``: the FX principal at risk (USD at the mid rate) over time,
  per rail: paid in the sold currency, the bought currency not yet final;
* ``busiest_balances``: the balance series of the busiest accounts of each rail (most
  changes), in major units of their currency.

:func:`liquidity_section` gives the report's HTML for them: the all-in cost per
rail, the exposure per rail and the most exposed ordering banks, with 95% intervals
across replications where the summary has them, and the figures.

Example
-------
>>> from sim.experiments.runner import run
>>> res = run("baseline", payments=20)
>>> sorted(liquidity_figures(res))
['all_in_cost', 'busiest_balances', 'exposure_over_time']
"""

from __future__ import annotations

import base64
import html
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sim.experiments.liquidity import all_in_pct, busiest_accounts, exposure_series
from sim.money import MINOR_EXPONENTS
from sim.outputs.figures import _STYLE, RAIL_COLOURS, RAIL_LABELS, _empty, _png, _rails

__all__ = ["LIQUIDITY_FIGURES", "all_in_cost", "busiest_balances", "exposure_over_time",
           "liquidity_figures", "liquidity_section"]

#: the section's figures, in order, with their captions
LIQUIDITY_FIGURES: dict[str, str] = {
    "all_in_cost": "All-in cost of credited payments per corridor and rail: fees (solid) and "
                   "the liquidity cost of the balances they used (light, on top), % of the "
                   "amount sent (left); the liquidity cost alone in basis points (right).",
    "exposure_over_time": "FX settlement risk over time: the principal paid in the sold "
                          "currency while the bought currency is not yet final (USD at the "
                          "mid rate), per rail; first replication. On-chain PvP keeps it at "
                          "zero unless a swap is refunded after its deadline.",
    "busiest_balances": "Balances over time of each rail's busiest accounts (most changes): "
                        "nostro accounts, the FX provider's inventory, banks' stablecoin "
                        "holdings, funds in open swaps and in escrow; first replication.",
}


def _plt() -> Any:
    import matplotlib.pyplot as plt

    return plt


def all_in_cost(payments: pd.DataFrame) -> Figure:
    """Fees and liquidity cost per corridor and rail (credited payments)."""
    plt = _plt()
    with plt.rc_context(_STYLE):
        cred = payments[payments["status"] == "credited"]
        fig, (ax, ax2) = plt.subplots(1, 2, figsize=(10, 4.2), layout="constrained",
                                      width_ratios=(3, 2))
        if cred.empty:
            _empty(ax, "no credited payments")
            _empty(ax2, "no credited payments")
            return fig
        liq, allin = all_in_pct(cred)
        tab = pd.DataFrame({"corridor": cred["corridor"].to_numpy(),
                            "rail": cred["rail"].to_numpy(), "liq": liq,
                            "fee": allin - liq}).groupby(["corridor", "rail"]).mean()
        corridors = sorted({c for c, _ in tab.index})
        rails = _rails(payments)
        width = 0.8 / max(len(rails), 1)
        x = np.arange(len(corridors))
        for j, rail in enumerate(rails):
            fee = np.array([tab.loc[(c, rail), "fee"] if (c, rail) in tab.index else 0.0
                            for c in corridors])
            lq = np.array([tab.loc[(c, rail), "liq"] if (c, rail) in tab.index else 0.0
                           for c in corridors])
            pos = x + (j - (len(rails) - 1) / 2) * width
            colour = RAIL_COLOURS.get(rail, "k")
            label = RAIL_LABELS.get(rail, rail)
            ax.bar(pos, fee, width * 0.95, color=colour, label=f"{label}: fees")
            ax.bar(pos, lq, width * 0.95, bottom=fee, color=colour, alpha=0.35,
                   label=f"{label}: liquidity cost")
            ax2.bar(pos, 100 * lq, width * 0.95, color=colour, alpha=0.6, label=label)
        for a in (ax, ax2):
            a.set_xticks(x, corridors, rotation=45, ha="right")
        ax.set_ylabel("mean all-in cost, % of amount sent")
        ax.set_title("All-in cost: fees + liquidity cost")
        ax.legend(frameon=False, ncol=2, loc="upper left")
        ax.set_ylim(0, ax.get_ylim()[1] * 1.2)
        ax2.set_ylabel("mean liquidity cost, bp of amount sent")
        ax2.set_title("Liquidity cost alone")
        ax2.legend(frameon=False, loc="upper left")
        return fig


def exposure_over_time(payments: pd.DataFrame, usd: Mapping[str, float]) -> Figure:
    """The FX principal at risk (USD) over time, per rail."""
    plt = _plt()
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(8, 3.6), layout="constrained")
        series = exposure_series(payments, usd)
        rails = _rails(payments)
        if series.empty or series["exposure_usd"].max() <= 0:
            _empty(ax, "no FX principal at risk on any rail")
            return fig
        for rail in rails:
            s = series[series["rail"] == rail]
            if s.empty:
                t0 = series["time"].iloc[0]
                ax.step([t0, series["time"].iloc[-1]], [0, 0], where="post",
                        color=RAIL_COLOURS.get(rail, "k"),
                        label=f"{RAIL_LABELS.get(rail, rail)} (none)")
                continue
            ax.step(s["time"], s["exposure_usd"] / 1e6, where="post",
                    color=RAIL_COLOURS.get(rail, "k"), lw=0.9,
                    label=RAIL_LABELS.get(rail, rail))
        ax.set_ylabel("principal at risk, USD mn")
        ax.set_title("FX settlement risk over time (sold currency paid, bought not yet final)")
        ax.legend(frameon=False, loc="upper left")
        fig.autofmt_xdate()
        return fig


def busiest_balances(balances: pd.DataFrame | None, n: int = 3) -> Figure:
    """The balance series of each rail's ``n`` busiest accounts (small multiples)."""
    plt = _plt()
    with plt.rc_context(_STYLE):
        pick = busiest_accounts(balances, n) if balances is not None else []
        if not pick:
            fig, ax = plt.subplots(figsize=(8, 3), layout="constrained")
            _empty(ax, "no balances recorded")
            return fig
        cols = 2
        rows = -(-len(pick) // cols)
        fig, axes = plt.subplots(rows, cols, figsize=(10, 2.3 * rows), layout="constrained",
                                 squeeze=False)
        assert balances is not None
        for ax, (rail, account) in zip(axes.flat, pick, strict=False):
            b = balances[(balances["rail"] == rail) & (balances["account"] == account)]
            ccy = str(b["currency"].iloc[0])
            scale = 10.0 ** MINOR_EXPONENTS.get(ccy, 2)
            ax.step(b["time"], b["balance"].to_numpy(dtype=float) / scale, where="post",
                    color=RAIL_COLOURS.get(rail, "k"), lw=0.9)
            ax.set_title(f"{RAIL_LABELS.get(rail, rail)}: {account}", fontsize=8)
            ax.set_ylabel(ccy)
            ax.tick_params(axis="x", labelsize=7, rotation=30)
        for ax in list(axes.flat)[len(pick):]:
            ax.set_visible(False)
        return fig


def liquidity_figures(results: Any) -> dict[str, bytes]:
    """The section's figures as PNG bytes, by name (:data:`LIQUIDITY_FIGURES`)."""
    first = results.replications[0] if getattr(results, "replications", None) else results
    usd = dict(first.meta.get("usd_per_minor", {})) or dict(
        results.meta.get("usd_per_minor", {}))
    figs = {"all_in_cost": all_in_cost(results.payments),
            "exposure_over_time": exposure_over_time(first.payments, usd),
            "busiest_balances": busiest_balances(first.balances)}
    return {name: _png(fig) for name, fig in figs.items()}


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _fmt(v: Any, how: str) -> str:
    if v is None:
        return "–"
    if how == "cost":
        return f"{float(v):.3f}%"
    if how == "bp":
        return f"{100 * float(v):.2f} bp"
    if how == "usd":
        return f"USD {float(v):,.0f}"
    if how == "usdh":
        return f"{float(v):,.0f} USD·h"
    if how == "pct":
        return f"{100 * float(v):.1f}%"
    return str(v)


def _cell(k: Mapping[str, Any], key: str, how: str) -> str:
    text = _fmt(k.get(key), how)
    ci = (k.get("ci95") or {}).get(key)
    if ci:
        text += f" [{_fmt(ci[0], how)}, {_fmt(ci[1], how)}]"
    return text


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], tid: str) -> str:
    out = [f'<table class="kpis" id="{tid}">',
           "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead>",
           "<tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(
            f'<td{" class=" + chr(34) + "num" + chr(34) if i else ""}>{_e(c)}</td>'
            for i, c in enumerate(row)) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


_ROWS = (("mean fees + liquidity cost (all-in), % of amount", "all_in_cost_pct_mean", "cost"),
         ("median all-in cost, % of amount", "all_in_cost_pct_median", "cost"),
         ("mean liquidity cost", "liquidity_cost_pct_mean", "bp"),
         ("mean fees, % of amount (as above)", "cost_pct_mean", "cost"),
         ("payments with FX principal at risk", "fx_at_risk_share", "pct"),
         ("exposure (principal at risk x hours), per replication", "exposure_usd_hours",
          "usdh"),
         ("peak principal at risk, per replication", "peak_exposure_usd", "usd"))


def liquidity_section(results: Any, summary: Mapping[str, Any],
                      pngs: Mapping[str, bytes] | None = None) -> list[str]:
    """The report's HTML parts for liquidity and settlement risk (figures drawn unless
    given)."""
    figs = dict(pngs) if pngs is not None else liquidity_figures(results)
    rails = list(summary["rails"])
    rows = [[label, *(_cell(summary["rails"][r], key, how) for r in rails)]
            for label, key, how in _ROWS if any(key in summary["rails"][r] for r in rails)]
    parts = ["<h2>Liquidity and settlement risk</h2>",
             '<p class="note">Liquidity cost: what the balances a payment used cost at each '
             "currency's opportunity rate (policy rates with their dates, "
             "<code>sim/data/rates.toml</code>; a scenario's <code>[liquidity] rates</code> "
             "override them): value x time held x rate, never more than the balance itself "
             "cost. Settlement risk: the principal paid in the sold currency until the bought "
             "currency is final, in USD at the mid rate.</p>",
             _table(["KPI", *rails], rows, "liquidity-kpis")]
    banks = summary.get("banks") or {}
    ranked = sorted(((k.get("exposure_usd_hours") or 0.0, b, r, k)
                     for b, by in banks.items() for r, k in by.items()), reverse=True)
    top = [[b, r, _cell(k, "exposure_usd_hours", "usdh"), _cell(k, "peak_exposure_usd", "usd")]
           for v, b, r, k in ranked[:10] if v > 0]
    if top:
        parts += ["<h3>Most exposed ordering banks</h3>",
                  _table(["bank", "rail", "exposure", "peak"], top, "bank-exposure")]
    for name, caption in LIQUIDITY_FIGURES.items():
        data = figs.get(name)
        if data is None:
            continue
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f'<figure id="fig-{_e(name)}"><img alt="{_e(name)}" '
                     f'src="data:image/png;base64,{b64}"><figcaption><strong>{_e(name)}.'
                     f"</strong> {_e(caption)}</figcaption></figure>")
    return parts

