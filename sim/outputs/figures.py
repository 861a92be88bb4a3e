"""Figures of a comparison run (matplotlib, PNG, sized and labelled for a paper).

Each function takes a payments table (the shape of docs/architecture.md, one or both rails)
and returns a :class:`matplotlib.figure.Figure`:

* :func:`latency_ecdf`: share of payments credited within a time, per rail, on a
  log time axis, with the 1 h and 1 (business) day marks and the FSB 75% target;
* :func:`cost_breakdown`: mean cost per fee component as % of the amount sent,
  stacked, per corridor and rail, with the 3% and 5% lines;
* :func:`latency_heatmap`: median latency by hour of the week of creation (sender's local time),
  one panel per rail: cut-off and weekend effects;
* :func:`paired_differences`: per payment credited on both rails, on-chain minus
  correspondent latency and cost;
* :func:`value_in_flight`: with events, the value in flight over time per rail, the run
  with the events against its twin without them, the event windows shaded
  (:func:`event_figures` gives it for a run's results, or nothing without events).

:func:`render_figures` gives every figure as PNG bytes and :func:`write_figures`
writes them atomically.

Example
-------
>>> from sim.experiments.runner import run
>>> res = run("baseline", payments=20)
>>> pngs = render_figures(res.payments)
>>> sorted(pngs), pngs["latency_ecdf"][:4] == b"\\x89PNG"
(['cost_breakdown', 'latency_ecdf', 'latency_heatmap', 'paired_differences'], True)
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.colors import LogNorm  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402
from matplotlib.patches import Patch  # noqa: E402

from sim.results import FEE_COMPONENTS, atomic_write  # noqa: E402

__all__ = [
    "FIGURES",
    "RAIL_COLOURS",
    "cost_breakdown",
    "event_figures",
    "latency_ecdf",
    "latency_heatmap",
    "paired_differences",
    "render_figures",
    "value_in_flight",
    "write_figures",
]

RAIL_COLOURS = {"correspondent": "#1f4e79", "onchain": "#c0392b"}
RAIL_LABELS = {"correspondent": "correspondent banking", "onchain": "on-chain"}
_FEE_COLOURS = {
    "sender_bank": "#4e79a7", "lifting": "#f28e2b", "fx_spread": "#e15759",
    "beneficiary_bank": "#76b7b2", "gas": "#59a14f", "onramp": "#edc948",
    "offramp": "#b07aa1", "escrow": "#9c755f",
}
_DPI = 150
_STYLE: Any = {"font.size": 9, "axes.titlesize": 10, "axes.labelsize": 9, "legend.fontsize": 8,
          "axes.spines.top": False, "axes.spines.right": False}
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def _rails(p: pd.DataFrame) -> list[str]:
    order = [r for r in RAIL_COLOURS if r in set(p["rail"])]
    return order + sorted(set(p["rail"]) - set(order))


def _empty(ax: Any, text: str) -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")
    ax.set_xticks([])
    ax.set_yticks([])


def latency_ecdf(payments: pd.DataFrame) -> Figure:
    """Share of payments credited within t (all payments: uncredited ones never are)."""
    with plt.rc_context(_STYLE):
        fig, ax = plt.subplots(figsize=(6.4, 4.0), layout="constrained")
        lo, hi = np.inf, 0.0
        for rail in _rails(payments):
            p = payments[payments["rail"] == rail]
            lat = np.sort(p.loc[p["status"] == "credited", "latency_s"].to_numpy(float)) / 3600
            lat = np.maximum(lat, 1 / 3600)
            if not len(lat):
                continue
            y = np.arange(1, len(lat) + 1) / max(len(p), 1)
            ax.step(np.r_[lat[0], lat], np.r_[0, y], where="post", lw=1.6,
                    color=RAIL_COLOURS.get(rail), label=f"{RAIL_LABELS.get(rail, rail)} "
                    f"(n={len(p)})")
            lo, hi = min(lo, lat[0]), max(hi, lat[-1])
        if hi == 0:
            _empty(ax, "no credited payments")
            return fig
        ax.set_xscale("log")
        ax.set_xlim(max(min(lo, 0.5) / 1.5, 1 / 3600), max(hi * 1.5, 48))
        for x, label in ((1.0, "1 h"), (24.0, "1 day (1 business day\nfrom a weekday morning)")):
            ax.axvline(x, color="0.3", ls="--", lw=0.9)
            ax.text(x * 1.08, 0.04, label, color="0.25", fontsize=7.5, va="bottom")
        ax.axhline(0.75, color="0.55", ls=":", lw=0.9)
        ax.text(ax.get_xlim()[0] * 1.1, 0.765, "FSB 2027 target: 75% within 1 h", fontsize=7.5,
                color="0.35")
        ticks = [1 / 60, 5 / 60, 0.25, 1, 6, 24, 72, 168, 336]
        labels = ["1 min", "5 min", "15 min", "1 h", "6 h", "1 d", "3 d", "1 wk", "2 wk"]
        keep = [(t, lab) for t, lab in zip(ticks, labels, strict=True)
                if ax.get_xlim()[0] <= t <= ax.get_xlim()[1]]
        ax.set_xticks([t for t, _ in keep], [lab for _, lab in keep])
        ax.minorticks_off()
        ax.set_ylim(0, 1.0)
        ax.set_xlabel("time from creation to credit of the beneficiary (log scale)")
        ax.set_ylabel("share of payments credited")
        ax.set_title("Latency: share of payments credited within a time")
        ax.grid(True, which="major", alpha=0.25)
        ax.legend(loc="upper left", frameon=False)
        return fig


def _cost_table(payments: pd.DataFrame) -> pd.DataFrame:
    cred = payments[payments["status"] == "credited"]
    sent = cred["amount_sent"].to_numpy(float)
    rows = {f"fee_{c}": 100 * cred[f"fee_{c}"].to_numpy(float) / np.where(sent > 0, sent, np.nan)
            for c in FEE_COMPONENTS}
    df = pd.DataFrame(rows)
    df["corridor"] = cred["corridor"].to_numpy()
    df["rail"] = cred["rail"].to_numpy()
    return df.groupby(["corridor", "rail"]).mean()


def cost_breakdown(payments: pd.DataFrame) -> Figure:
    """Mean cost per component (% of amount sent, credited payments), per corridor and rail."""
    with plt.rc_context(_STYLE):
        tab = _cost_table(payments)
        corridors = sorted({c for c, _ in tab.index})
        rails = _rails(payments)
        fig, ax = plt.subplots(figsize=(max(6.4, 0.75 * len(corridors) + 2), 4.2),
                               layout="constrained")
        if tab.empty:
            _empty(ax, "no credited payments")
            return fig
        width = 0.8 / max(len(rails), 1)
        x = np.arange(len(corridors))
        for j, rail in enumerate(rails):
            pos_bottom = np.zeros(len(corridors))
            neg_bottom = np.zeros(len(corridors))
            for comp in FEE_COMPONENTS:
                vals = np.array([tab.loc[(c, rail), f"fee_{comp}"] if (c, rail) in tab.index
                                 else 0.0 for c in corridors])
                vals = np.nan_to_num(vals)
                if not np.any(np.abs(vals) > 1e-9):
                    continue
                bottom = np.where(vals >= 0, pos_bottom, neg_bottom)
                ax.bar(x + (j - (len(rails) - 1) / 2) * width, vals, width * 0.95, bottom=bottom,
                       color=_FEE_COLOURS.get(comp), edgecolor=RAIL_COLOURS.get(rail, "k"),
                       linewidth=0.6, hatch="//" if rail == "onchain" else None,
                       label=comp.replace("_", " "))
                pos_bottom += np.where(vals >= 0, vals, 0)
                neg_bottom += np.where(vals < 0, vals, 0)
        for level in (3.0, 5.0):
            ax.axhline(level, color="0.4", ls="--", lw=0.8)
            ax.text(len(corridors) - 0.5, level, f" {level:g}%", va="center", fontsize=7.5,
                    color="0.3")
        used = [lab.replace(" ", "_") for lab in dict.fromkeys(ax.get_legend_handles_labels()[1])]
        handles = [Patch(facecolor=_FEE_COLOURS[c], label=c.replace("_", " ")) for c in used]
        handles += [Patch(facecolor="white", edgecolor=RAIL_COLOURS.get(r, "k"),
                          hatch="//" if r == "onchain" else None, label=RAIL_LABELS.get(r, r))
                    for r in rails]
        ax.legend(handles=handles, ncol=5, frameon=False, loc="upper left")
        ax.set_xticks(x, corridors, rotation=45, ha="right")
        ax.set_ylabel("mean cost, % of amount sent")
        ax.set_title("Cost per corridor and rail, by component (credited payments; left bar "
                     "correspondent, right bar on-chain)" if len(rails) == 2 else
                     "Cost per corridor, by component (credited payments)")
        ax.set_ylim(min(0, ax.get_ylim()[0]), ax.get_ylim()[1] * 1.25)
        return fig


def _creation_clock(c: pd.DataFrame, timezones: Mapping[str, str] | None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Weekday and hour of creation: in the sender bank's time zone where known, else UTC."""
    ts = pd.DatetimeIndex(c["created_at"]).tz_convert("UTC")
    days, hours = np.asarray(ts.day_of_week), np.asarray(ts.hour)
    if timezones:
        zones = c["sender_bank"].map(timezones).to_numpy()
        for tz in {z for z in zones if isinstance(z, str)}:
            sel = zones == tz
            local = ts[sel].tz_convert(tz)
            days[sel], hours[sel] = local.day_of_week, local.hour
    return days, hours


def latency_heatmap(payments: pd.DataFrame,
                    timezones: Mapping[str, str] | None = None) -> Figure:
    """Median latency (h) by weekday and hour of creation, one panel per rail.

    With ``timezones`` (bank id -> IANA zone) the clock is the sender bank's
    local time, where cut-offs and weekends act; otherwise UTC.
    """
    with plt.rc_context(_STYLE):
        rails = _rails(payments)
        fig, axes = plt.subplots(len(rails), 1, figsize=(7.2, 1.9 * len(rails) + 0.8),
                                 layout="constrained", squeeze=False)
        cred = payments[payments["status"] == "credited"]
        lat_all = cred["latency_s"].to_numpy(float) / 3600
        pos = lat_all[lat_all > 0]
        norm = LogNorm(vmin=max(pos.min(), 1 / 60), vmax=max(pos.max(), 1)) if len(pos) else None
        im = None
        for ax, rail in zip(axes[:, 0], rails, strict=True):
            c = cred[cred["rail"] == rail]
            if c.empty:
                _empty(ax, f"{rail}: no credited payments")
                continue
            days, hours = _creation_clock(c, timezones)
            grid = np.full((7, 24), np.nan)
            df = pd.DataFrame({"d": days, "h": hours,
                               "lat": c["latency_s"].to_numpy(float) / 3600})
            for (d, h), g in df.groupby(["d", "h"]):
                grid[int(d), int(h)] = max(float(g["lat"].median()), 1 / 60)
            im = ax.imshow(grid, aspect="auto", cmap="viridis", norm=norm,
                           interpolation="nearest")
            ax.set_yticks(range(7), DAYS)
            ax.set_xticks(range(0, 24, 3), [f"{h:02d}" for h in range(0, 24, 3)])
            ax.set_title(f"{RAIL_LABELS.get(rail, rail)}: median latency by creation time",
                         loc="left")
            ax.spines[:].set_visible(False)
        clock = "sender bank's local time" if timezones else "UTC"
        axes[-1, 0].set_xlabel(f"hour of creation ({clock}); blank: no payment created then")
        if im is not None:
            cb = fig.colorbar(im, ax=axes[:, 0].tolist(), shrink=0.9)
            cb.set_label("median latency (h, log scale)")
        return fig


def paired_differences(payments: pd.DataFrame) -> Figure:
    """Histograms of per-payment differences, on-chain minus correspondent."""
    from sim.experiments.statistics import paired_differences as diffs

    with plt.rc_context(_STYLE):
        d = diffs(payments)
        fig, (a1, a2) = plt.subplots(1, 2, figsize=(9.0, 3.6), layout="constrained")
        if d.empty:
            _empty(a1, "needs both rails")
            _empty(a2, "needs both rails")
            return fig
        h = d["latency_diff_s"].to_numpy() / 3600
        lim = max(float(np.max(np.abs(h))), 1.0)
        edges = np.r_[-np.logspace(np.log10(lim * 1.01), -2, 25), 0,
                      np.logspace(-2, np.log10(lim * 1.01), 25)]
        a1.hist(h, bins=edges, color="0.55", edgecolor="white", linewidth=0.3)
        a1.set_xscale("symlog", linthresh=0.01)
        ticks = [t for t in (-24, -1, -1 / 60, 0, 1 / 60, 1, 24) if abs(t) <= lim * 1.01]
        names = {24: "1 d", 1: "1 h", 1 / 60: "1 min", 0: "0"}
        a1.set_xticks(ticks, [("-" if t < 0 else "+" if t > 0 else "") + names[abs(t)]
                              for t in ticks])
        a1.minorticks_off()
        a1.axvline(0, color="k", lw=0.8)
        med = float(np.median(h))
        a1.axvline(med, color=RAIL_COLOURS["onchain"], lw=1.2, ls="--",
                   label=f"median {med:+.2f} h")
        a1.set_xlabel("on-chain minus correspondent latency (symlog)\n< 0: on-chain faster")
        a1.set_ylabel("payments")
        a1.set_title(f"Paired latency difference (n={len(h)} credited on both)", loc="left")
        a1.legend(frameon=False)
        c = d["cost_diff_pp"].to_numpy()
        a2.hist(c, bins=40, color="0.55", edgecolor="white", linewidth=0.3)
        a2.axvline(0, color="k", lw=0.8)
        cm = float(np.median(c))
        a2.axvline(cm, color=RAIL_COLOURS["onchain"], lw=1.2, ls="--",
                   label=f"median {cm:+.2f} pp")
        a2.set_xlabel("on-chain minus correspondent cost (pp of amount)\n< 0: on-chain cheaper")
        a2.set_title("Paired cost difference", loc="left")
        a2.legend(frameon=False)
        return fig


_EVENT_COLOURS = ("#e08a00", "#7f3c8d", "#11a579", "#3969ac", "#f2b701", "#e73f74")


def value_in_flight(flight: pd.DataFrame, events: Sequence[Any]) -> Figure:
    """Value in flight (USD at mid rates) over time, one panel per rail: the run with the
    events (solid) and its twin without them (dashed), each event's window shaded and
    labelled (``events``: :class:`~sim.events.Event` objects).

    ``flight`` has the columns of :attr:`sim.experiments.stress.EventCosts.flight`
    (``rail``, ``t`` in POSIX seconds, ``event_usd``, ``twin_usd``).
    """
    with plt.rc_context(_STYLE):
        rails = _rails(flight) if len(flight) else []
        fig, axes = plt.subplots(max(len(rails), 1), 1, figsize=(7.6, 2.3 * max(len(rails), 1)
                                                                 + 0.6),
                                 layout="constrained", squeeze=False, sharex=True)
        if not rails:
            _empty(axes[0, 0], "no payments")
            return fig
        for ax, rail in zip(axes[:, 0], rails, strict=True):
            f = flight[flight["rail"] == rail]
            t = pd.to_datetime(f["t"].to_numpy(), unit="s", utc=True)
            colour = RAIL_COLOURS.get(rail, "k")
            ax.step(t, f["twin_usd"] / 1e6, where="post", color="0.45", lw=1.0, ls="--",
                    label="twin, without the events")
            ax.step(t, f["event_usd"] / 1e6, where="post", color=colour, lw=1.4,
                    label="with the events")
            lo, hi = t.min(), t.max()
            for j, e in enumerate(events):
                a = pd.to_datetime(e.start, unit="s", utc=True)
                b = pd.to_datetime(min(e.end, f["t"].max()), unit="s", utc=True) \
                    if np.isfinite(e.end) else hi
                if b < lo or a > hi:
                    continue
                c = _EVENT_COLOURS[j % len(_EVENT_COLOURS)]
                ax.axvspan(max(a, lo), max(b, a), color=c, alpha=0.18, lw=0)
                ax.text(max(a, lo), 0.97, f" {e.index}: {e.kind.replace('_', ' ')}"
                        + (f" {e.target}" if e.target else ""), transform=ax.get_xaxis_transform(),
                        fontsize=7, color=c, va="top", ha="left", rotation=0)
            ax.set_ylabel("USD m in flight")
            ax.set_title(f"{RAIL_LABELS.get(rail, rail)}: value in flight", loc="left")
            ax.set_ylim(bottom=0)
            ax.grid(True, alpha=0.25)
            ax.legend(loc="upper right", frameon=False)
        axes[-1, 0].set_xlabel("time (UTC); shaded: the events' windows")
        fig.autofmt_xdate()
        return fig


def event_figures(results: Any) -> dict[str, bytes]:
    """``{"value_in_flight": PNG}`` for a run whose scenario has events (its first
    replication's series), else ``{}``."""
    reps = getattr(results, "replications", None) or [results]
    costs = reps[0].meta.get("events") if reps else None
    comp = getattr(results, "components", None)
    if costs is None or comp is None or not comp.events:
        return {}
    return {"value_in_flight": _png(value_in_flight(costs.flight, comp.events.events))}


FIGURES: dict[str, Callable[..., Figure]] = {
    "latency_ecdf": latency_ecdf,
    "cost_breakdown": cost_breakdown,
    "latency_heatmap": latency_heatmap,
    "paired_differences": paired_differences,
}


def _png(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=_DPI, metadata={"Software": None})
    plt.close(fig)
    return buf.getvalue()


def render_figures(payments: pd.DataFrame,
                   timezones: Mapping[str, str] | None = None) -> dict[str, bytes]:
    """Every figure of :data:`FIGURES` as PNG bytes, by name.

    ``timezones`` (bank id -> IANA zone) puts the heatmap on the sender's local clock.
    """
    out = {}
    for name, make in FIGURES.items():
        fig = make(payments, timezones) if name == "latency_heatmap" else make(payments)
        out[name] = _png(fig)
    return out


def write_figures(payments: pd.DataFrame | dict[str, bytes], out_dir: str | Path
                  ) -> dict[str, Path]:
    """Write ``<name>.png`` for every figure to ``out_dir`` (atomic files)."""
    pngs = payments if isinstance(payments, dict) else render_figures(payments)
    out = Path(out_dir)
    written = {}
    for name, data in pngs.items():
        def put(tmp: Path, data: bytes = data) -> None:
            tmp.write_bytes(data)

        written[name] = atomic_write(out / f"{name}.png", put)
    return written
