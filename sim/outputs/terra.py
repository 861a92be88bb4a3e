"""Figures of a Terra run (matplotlib, PNG), with the published points overlaid.

:func:`run_figure` draws six panels over time from a run's series (the columns of
:data:`sim.terra.model.SERIES_COLUMNS`): the stablecoin's pool price (with the
published daily lows of May 2022 and their fit bands), both supplies (the
governance token's on a log axis, with its published supply), the secondary pool's
imbalance and the module's delta, the reserve left and spent (with the published
~USD 2.7 bn), and the share of holders who have exited; chain halts shaded.
:func:`render_terra_figures` gives the PNG bytes by name, as
:func:`sim.outputs.figures.render_figures` does for the payment figures.

>>> from sim.terra.settings import TerraSettings
>>> from sim.terra.model import run_terra
>>> s = TerraSettings.default().with_changes({"run.days": 0.1, "run.agents": 20,
...                                           "run.step_seconds": 900})
>>> pngs = render_terra_figures(run_terra(s).series, s)
>>> sorted(pngs), pngs["terra_run"][:4] == b"\\x89PNG"
(['terra_run'], True)
"""

from __future__ import annotations

import io
from collections.abc import Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.dates as mdates  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

__all__ = ["render_terra_figures", "run_figure", "terra_figures", "terra_section"]

_STYLE: Any = {"font.size": 8, "axes.titlesize": 9, "axes.labelsize": 8, "legend.fontsize": 7,
               "axes.spines.top": False, "axes.spines.right": False}
_MODEL = "#c0392b"
_PUB = "#1f4e79"


def _noon(d: Any) -> datetime:
    return datetime.combine(d, time(12), tzinfo=UTC)


def run_figure(series: pd.DataFrame, settings: Any = None) -> Figure:
    """Six panels of a run over time; ``settings`` (a
    :class:`~sim.terra.settings.TerraSettings`) adds the published points and halts."""
    t = pd.to_datetime(series["time"], unit="s", utc=True)
    with plt.rc_context(_STYLE):
        fig, axes = plt.subplots(3, 2, figsize=(9.0, 8.0), layout="constrained", sharex=True)
        ax = axes[0, 0]
        ax.plot(t, series["price"], color=_MODEL, lw=1.2, label="model: pool price")
        if settings is not None:
            pub = settings.published
            for k, (d, v, lo, hi) in enumerate(pub.daily_low):
                x = _noon(d)
                ax.errorbar([x], [v], yerr=[[v - lo], [hi - v]], fmt="o", color=_PUB, ms=4,
                            capsize=2, lw=0.8, label="published daily low (fit band)"
                            if k == 0 else None)
            ax.axhline(settings.run.peg_level, color="0.5", ls=":", lw=0.8)
        ax.set_ylabel("USD per UST")
        ax.set_ylim(0, 1.05)
        ax.set_title("Stablecoin price in the secondary pool")
        ax.legend(loc="lower left", frameon=False)

        ax = axes[0, 1]
        ax.plot(t, series["stable_supply"] / 1e9, color=_MODEL, lw=1.2, label="UST (bn)")
        ax.set_ylabel("UST supply, bn")
        ax2 = ax.twinx()
        ax2.plot(t, series["gov_supply"], color="#8e44ad", lw=1.2, label="LUNA supply")
        ax2.set_yscale("log")
        ax2.set_ylabel("LUNA supply (log)")
        if settings is not None:
            for k, (d, v, lo, hi) in enumerate(settings.published.gov_supply):
                x = _noon(d)
                ax2.errorbar([x], [v], yerr=[[v - lo], [hi - v]], fmt="s", color=_PUB, ms=4,
                             capsize=2, lw=0.8, label="published LUNA supply" if k == 0
                             else None)
        ax.set_title("Supplies")
        h1, l1 = ax.get_legend_handles_labels()
        h2, l2 = ax2.get_legend_handles_labels()
        ax.legend(h1 + h2, l1 + l2, loc="center left", frameon=False)

        ax = axes[1, 0]
        ax.plot(t, series["pool_imbalance"], color=_MODEL, lw=1.2,
                label="UST share of the pool")
        ax.axhline(0.5, color="0.5", ls=":", lw=0.8)
        ax.set_ylim(0, 1)
        ax.set_ylabel("share")
        ax.set_title("Secondary pool imbalance")
        ax.legend(loc="upper left", frameon=False)

        ax = axes[1, 1]
        ax.plot(t, series["delta"] / 1e6, color=_MODEL, lw=1.0)
        ax.set_ylabel("USD m")
        ax.set_title("Market module pool delta")

        ax = axes[2, 0]
        ax.plot(t, series["reserve_usd"] / 1e9, color=_MODEL, lw=1.2, label="reserve left")
        ax.plot(t, series["reserve_spent_usd"] / 1e9, color="#e67e22", lw=1.2,
                label="spent buying UST")
        if settings is not None:
            v, lo, hi = settings.published.reserve_spent_usd
            ax.axhspan(lo / 1e9, hi / 1e9, color=_PUB, alpha=0.12, lw=0,
                       label="published spent (fit band)")
            ax.axhline(v / 1e9, color=_PUB, lw=0.8, ls="--")
        ax.set_ylabel("USD bn")
        ax.set_title("Reserve (LFG)")
        ax.legend(loc="center right", frameon=False)

        ax = axes[2, 1]
        ax.plot(t, series["exited_share"], color=_MODEL, lw=1.2, label="holders (count)")
        ax.plot(t, series["exited_value_share"], color="#16a085", lw=1.2,
                label="holders' UST sold (value)")
        ax.set_ylim(0, 1)
        ax.set_ylabel("share")
        ax.set_title("Holders who have exited")
        ax.legend(loc="upper left", frameon=False)

        if settings is not None:
            for h in settings.halts:
                a = h.start
                b = a + timedelta(hours=h.hours)
                for axx in axes.ravel():
                    axx.axvspan(a, b, color="0.6", alpha=0.25, lw=0)
            axes[0, 0].text(0.99, 0.98, "grey: chain halts", transform=axes[0, 0].transAxes,
                            ha="right", va="top", fontsize=7, color="0.35")
        for axx in axes[-1]:
            axx.xaxis.set_major_formatter(mdates.DateFormatter("%d %b"))
        for axx in axes.ravel():
            axx.grid(True, alpha=0.25)
        return fig


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=130, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def render_terra_figures(series: pd.DataFrame, settings: Any = None
                         ) -> Mapping[str, bytes]:
    """The Terra figures as PNG bytes, by name (``terra_run``)."""
    return {"terra_run": _png(run_figure(series, settings))}


def _runs(results: Any) -> list[dict[str, Any]]:
    reps = getattr(results, "replications", None) or [results]
    return [r.meta["terra"] for r in reps
            if isinstance(getattr(r, "meta", {}).get("terra"), dict)]


def terra_figures(results: Any) -> dict[str, bytes]:
    """The figures of a run's ``[terra]`` part (its first replication), or none."""
    runs = _runs(results)
    if not runs:
        return {}
    comp = getattr(results, "components", None)
    settings = getattr(comp, "terra", None)
    return dict(render_terra_figures(runs[0]["series"], settings))


def terra_section(results: Any) -> str:
    """The report's Terra section (HTML): the run's headline figures and the three rails'
    payments side by side; empty without a ``[terra]`` part."""
    import html

    from sim.terra.bridge import RAIL, bridge_pairs

    runs = _runs(results)
    if not runs:
        return ""
    s = runs[0]["summary"]
    e = html.escape
    rows = [("ledger", s["ledger"]), ("lowest pool price", f"{s['price_min']:.4f}"),
            ("final pool price", f"{s['price_final']:.4f}"),
            (f"peg back above {s['peg_level']} within {s['recovery_days']:g} days",
             "yes" if s["peg_back"] else "no"),
            ("days below the peg level", f"{s['days_below']:.2f}"),
            ("LUNA supply at the end", f"{s['gov_supply_final']:,.0f}"),
            ("reserve spent (USD)", f"{s['reserve_spent_usd']:,.0f}"),
            ("market value lost within 3 days (USD)", f"{s['value_lost_3d_usd']:,.0f}"),
            ("holders exited (share)", f"{s['exited_share']:.3f}"),
            ("ledger transactions", f"{s['transactions']:,} ({s['reverted']:,} reverted)")]
    out = ['<h2 id="terra">Terra run</h2>',
           '<p class="note">The algorithmic stablecoin\'s run beside the payments (first '
           "replication); figure <code>terra_run</code> below, the tables in "
           "<code>terra_series.*</code> and <code>terra_transactions.*</code>.</p>",
           '<table class="terra"><tbody>']
    out += [f"<tr><td>{e(k)}</td><td>{e(v)}</td></tr>" for k, v in rows]
    out.append("</tbody></table>")
    pay = results.payments
    if RAIL in set(pay["rail"]):
        pairs = bridge_pairs(pay)
        stat = []
        for tag, name in (("bank", "correspondent banks"), ("fiat", "on-chain, fiat-backed"),
                          ("terra", "on-chain, bridged through the algorithmic stablecoin")):
            col = pairs[f"status_{tag}"]
            stat.append((name, int((col == "credited").sum()), int((col == "failed").sum()),
                         int((col == "returned").sum())))
        short = pairs["terra_shortfall_pct"].dropna()
        out += ["<h3>The same payments three ways</h3>",
                '<table class="terra-pairs"><thead><tr><th>rail</th><th>credited</th>'
                "<th>failed</th><th>returned</th></tr></thead><tbody>"]
        out += [f"<tr><td>{e(n)}</td><td>{c}</td><td>{f}</td><td>{r}</td></tr>"
                for n, c, f, r in stat]
        out.append("</tbody></table>")
        if len(short):
            out.append(f'<p class="note">Bridged payments credited on both on-chain rails '
                       f"deliver {short.mean():.2f}% less on average than the fiat-backed "
                       f"rail (median {short.median():.2f}%, worst {short.max():.2f}%; "
                       f"{int((short > 0).sum())} of {len(short)} lose value in flight).</p>")
    return "\n".join(out)
