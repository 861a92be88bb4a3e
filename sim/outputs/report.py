"""The comparison report: one self-contained HTML file (figures embedded, no network).

:func:`render_report` turns :class:`~sim.experiments.runner.ScenarioResults` into HTML:
the scenario and its question, every assumption with its source (network,
bank overrides, workload, chain profile, ramps, escrow, FX provider, gas
spikes), the KPI tables per rail, the paired differences, the KPIs per corridor
and the figures of :mod:`sim.outputs.figures` as inline PNG. :func:`kpi_rows` gives
the terminal table the CLI prints.

Example
-------
>>> from sim.experiments.runner import run
>>> res = run("baseline", payments=20)
>>> html = render_report(res)
>>> html.startswith("<!DOCTYPE html>"), html.count('src="data:image/png;base64,')
(True, 7)
"""

from __future__ import annotations

import base64
import html
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from sim.outputs.terra import terra_figures, terra_section
from sim.publish import OutputFolder
from sim.results import atomic_write

__all__ = ["EVENT_ROWS", "KPI_ROWS", "OUTPUT_STEPS", "assumptions", "event_rows", "fmt_kpi",
           "kpi_rows", "render_report", "write_into", "write_outputs", "write_report"]

#: (label, summary key, format) of the KPI table, in order.
KPI_ROWS: tuple[tuple[str, str, str], ...] = (
    ("payments", "count", "n"),
    ("credited", "credited", "n"),
    ("median latency", "latency_p50_s", "dur"),
    ("p90 latency", "latency_p90_s", "dur"),
    ("p99 latency", "latency_p99_s", "dur"),
    ("credited within 1 h", "share_within_1h", "pct"),
    ("credited within 1 business day", "share_within_1bd", "pct"),
    ("mean cost (% of amount)", "cost_pct_mean", "cost"),
    ("median cost (% of amount)", "cost_pct_median", "cost"),
    ("corridors with mean cost > 3%", "corridors_cost_above_3pct", "pct"),
    ("corridors with mean cost > 5%", "corridors_cost_above_5pct", "pct"),
    ("not credited (failed or returned)", "failure_rate", "pct"),
    ("returned", "return_rate", "pct"),
    ("failed", "failed_rate", "pct"),
)
_CORRIDOR_ROWS = ("count", "latency_p50_s", "latency_p90_s", "share_within_1h",
                  "share_within_1bd", "cost_pct_mean", "failure_rate")
_FIG_CAPTIONS = {
    "latency_ecdf": "Share of payments credited within a given time, per rail (log time axis). "
                    "Dashed: 1 h and 1 day; dotted: the FSB 2027 target of 75% within 1 h. "
                    "Payments never credited keep each curve below 1.",
    "cost_breakdown": "Mean cost of credited payments per corridor, by fee component, as % of "
                      "the amount sent (left bar correspondent, right bar on-chain, hatched). "
                      "Dashed: 3% and 5% (FSB retail and remittance ceilings per corridor).",
    "latency_heatmap": "Median latency by weekday and hour of creation in the sender bank's "
                       "local time: cut-offs, "
                       "closed hours and weekends show as bright cells.",
    "paired_differences": "Per payment credited on both rails: on-chain minus correspondent "
                          "latency (left, symmetric log axis) and cost (right, percentage "
                          "points of the amount).",
    "value_in_flight": "Value in flight over time (USD millions at mid rates), per rail: the "
                       "run with the events (solid) and its twin, the same payments without "
                       "them (dashed); shaded: each event's window, numbered as in the events "
                       "table (first replication).",
    "terra_run": "Terra run: the stablecoin's pool price with the published daily lows of "
                 "May 2022 (bars: the bands counted as a fit), both supplies (LUNA's on a log "
                 "axis), the pool's imbalance, the module's delta, the reserve, and the share "
                 "of holders who have exited; grey: chain halts.",
}
#: (label, measure, format) of the events' cost table (sim.experiments.stress)
EVENT_ROWS: tuple[tuple[str, str, str], ...] = (
    ("payments", "payments", "n"),
    ("affected (any difference from the twin)", "affected", "n"),
    ("share affected", "affected_share", "pct"),
    ("extra latency, median (credited in both)", "extra_latency_p50_s", "dur"),
    ("extra latency, p90 (credited in both)", "extra_latency_p90_s", "dur"),
    ("returned because of the events", "returned", "n"),
    ("failed because of the events", "failed", "n"),
    ("value held up in flight, peak", "value_in_flight_peak_usd", "usd"),
    ("value held up in flight, USD x hours", "value_hours_usd", "usd"),
    ("value lost to a depeg", "loss_usd", "usd"),
    ("value still frozen", "frozen_usd", "usd"),
    ("fees beyond the twin's", "extra_fees_usd", "usd"),
)


def _dur(s: float) -> str:
    a = abs(s)
    sign = "-" if s < 0 else ""
    if a < 120:
        return f"{sign}{a:.0f} s"
    if a < 2 * 3600:
        return f"{sign}{a / 60:.1f} min"
    if a < 72 * 3600:
        return f"{sign}{a / 3600:.2f} h"
    return f"{sign}{a / 86400:.2f} d"


def fmt_kpi(value: Any, how: str) -> str:
    """Format one KPI value (``n``, ``dur`` seconds, ``pct`` share, ``cost`` percent, ``pp``).

    >>> fmt_kpi(5400, "dur"), fmt_kpi(0.431, "pct"), fmt_kpi(None, "pct")
    ('90.0 min', '43.1%', '–')
    """
    if value is None:
        return "–"
    if how == "n":
        return f"{int(value):,}"
    if how == "dur":
        return _dur(float(value))
    if how == "pct":
        return f"{100 * float(value):.1f}%"
    if how == "cost":
        return f"{float(value):.2f}%"
    if how == "pp":
        return f"{float(value):+.2f} pp"
    if how == "usd":
        return f"USD {float(value):,.0f}"
    return str(value)


def _with_ci(k: Mapping[str, Any], key: str, how: str) -> str:
    text = fmt_kpi(k.get(key), how)
    ci = (k.get("ci95") or {}).get(key)
    if ci:
        text += f" [{fmt_kpi(ci[0], how)}, {fmt_kpi(ci[1], how)}]"
    return text


def kpi_rows(summary: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the per-rail KPI table (values with 95% intervals if any)."""
    rails = list(summary["rails"])
    rows = []
    for label, key, how in KPI_ROWS:
        if not any(key in summary["rails"][r] for r in rails):
            continue
        rows.append([label, *(_with_ci(summary["rails"][r], key, how) for r in rails)])
    return ["KPI", *rails], rows


def paired_rows(summary: Mapping[str, Any]) -> list[list[str]]:
    """Rows of the paired-difference table (on-chain minus correspondent)."""
    p = summary.get("paired") or {}
    if not p or not p.get("both_credited"):
        return []

    def ci(key: str, how: str) -> str:
        c = p.get(key)
        return f"[{fmt_kpi(c[0], how)}, {fmt_kpi(c[1], how)}]" if c else "–"

    rows = [
        ["payments credited on both rails", fmt_kpi(p.get("both_credited"), "n"), ""],
        ["on-chain faster", fmt_kpi(p.get("onchain_faster_share"), "pct"),
         _ci_note(p, "onchain_faster_share", "pct")],
        ["latency difference, median", fmt_kpi(p.get("latency_diff_median_s"), "dur"),
         "95% CI " + ci("latency_diff_median_ci95_s", "dur")],
        ["latency difference, 10th–90th percentile",
         f"{fmt_kpi(p.get('latency_diff_p10_s'), 'dur')} to "
         f"{fmt_kpi(p.get('latency_diff_p90_s'), 'dur')}", ""],
        ["on-chain cheaper", fmt_kpi(p.get("onchain_cheaper_share"), "pct"),
         _ci_note(p, "onchain_cheaper_share", "pct")],
        ["cost difference, median", fmt_kpi(p.get("cost_diff_median_pp"), "pp"),
         "95% CI " + ci("cost_diff_median_ci95_pp", "pp")],
        ["cost difference, 10th–90th percentile",
         f"{fmt_kpi(p.get('cost_diff_p10_pp'), 'pp')} to "
         f"{fmt_kpi(p.get('cost_diff_p90_pp'), 'pp')}", ""],
    ]
    return rows


def _ci_note(k: Mapping[str, Any], key: str, how: str) -> str:
    ci = (k.get("ci95") or {}).get(key)
    return f"95% CI [{fmt_kpi(ci[0], how)}, {fmt_kpi(ci[1], how)}] (replications)" if ci else ""


# ---------------------------------------------------------------------------
# assumptions
# ---------------------------------------------------------------------------
def assumptions(results: Any) -> list[tuple[str, str, str]]:
    """``(setting, value, source)`` rows: what the run assumed and where it comes from."""
    sc = results.scenario
    comp = results.components
    src = sc.sources
    rows: list[tuple[str, str, str]] = []

    def add(setting: str, value: Any, source: str = "") -> None:
        rows.append((setting, str(value), source))

    net = comp.network
    add("network", f"{net.name} ({len(net.banks)} banks, {len(net.countries())} countries); "
        f"file {sc.network.file}", src.get("network", "; ".join(
            f"{k}: {v}" for k, v in list(net.sources.items())[:3])))
    for k, v in sc.network.overrides.items():
        add(f"every bank: {k}", v, src.get(f"network.overrides.{k}",
                                          "scenario override (modelling choice)"))
    for bid, over in sc.network.banks.items():
        for k, v in over.items():
            add(f"bank {bid}: {k}", v, src.get(f"network.banks.{bid}.{k}",
                                               "scenario override (modelling choice)"))
    ws = comp.workload_spec
    add("corridors", ", ".join(c.name for c in ws.corridors), src.get("workload", ws.path))
    add("segments", ", ".join(sc.workload.segments or ["retail", "sme", "wholesale"]),
        src.get("workload.segments", ""))
    start = comp.start or ws.workload.start
    days = comp.days or ws.workload.days
    add("horizon", f"payments created from {start.isoformat()} for {days:g} days",
        src.get("horizon", ws.workload.sources.get("start", "")))
    n = int(results.meta.get("payments", sc.payments))
    rate = float(ws.workload.payments_per_day)
    add("payments per replication",
        f"{n:,}: {n / days:,.0f} a day, {n / days / rate:.2g}x the {rate:g} a day the "
        "workload draws without --payments (banks' capacity, nostro balances and the FX "
        "provider's inventory are fixed: far above it, queues dominate both rails)",
        "scenario (a sample: each simulated payment stands for many)")
    add("replications and seed", f"{len(results.replications)}; seed {results.scenario_seed}"
        f" (replication seeds derived with numpy SeedSequence)", "")
    add("rails", ", ".join(sc.rails), "")
    if "correspondent" in sc.rails:
        add("correspondent routing", sc.correspondent.policy
            + (f" via {sc.correspondent.via}" if sc.correspondent.via else ""),
            src.get("correspondent", "modelling choice"))
    if "onchain" in sc.rails:
        ch = comp.chain
        add("chain", f"{ch.name}: {ch.title}; block {ch.block_time_s:g} s, finality "
            f"{ch.finality_delay_s():g} s after inclusion, fees {ch.fee_market.kind}",
            src.get("chain", "; ".join(f"{k}: {v}" for k, v in ch.sources.items()
                                       if k in ("block_time_s", "finality"))))
        for k, v in sc.onchain.chain_overrides.items():
            add(f"chain override: {k}", v, src.get(f"onchain.chain_overrides.{k}",
                                                   "scenario override (modelling choice)"))
        add("on-chain ledger", f"{results.meta.get('ledger', sc.onchain.ledger)} "
            "(contracts: real contracts on the embedded chain; table: measured gas table)", "")
        spec = comp.onchain_spec
        ramp = spec.ramps.default
        rs = ramp.sources
        for key in ("onramp_mode", "offramp_mode", "onramp_fee_bps", "offramp_fee_bps",
                    "review_share"):
            add(f"ramps: {key}", getattr(ramp, key),
                src.get(f"onchain.ramps.{key}", rs.get(key, "")))
        add("ramps: hours (default; USD issuer)",
            f"{ramp.opens}-{ramp.closes}, cut-off {ramp.cutoff}; USD "
            f"{spec.ramp('USD').opens}-{spec.ramp('USD').closes} {spec.ramp('USD').timezone}",
            rs.get("opens", ""))
        add("escrow", f"fee {spec.escrow.fee_bps} bp, deadline {spec.escrow.deadline_hours:g} h",
            spec.escrow.sources.get("fee_bps", ""))
        sp = spec.fx.spread_bps
        add("FX provider spread", f"retail {sp.retail} bp, sme {sp.sme} bp, wholesale "
            f"{sp.wholesale} bp; inventory USD {spec.fx.inventory_usd:,.0f} per currency",
            spec.fx.sources.get("spread_bps", ""))
        add("bank fees on the on-chain rail", spec.charge_bank_fees,
            spec.sources.get("charge_bank_fees", ""))
        for i, ep in enumerate(sc.congestion):
            add(f"gas spike {i + 1}", f"{ep.start.isoformat()} for {ep.hours:g} h at "
                f"{ep.utilisation:.0%} of the gas limit", src.get("congestion", ""))
    listed = {r[2] for r in rows}
    for k, v in src.items():
        if v not in listed:
            add(f"source: {k}", "", v)
    return rows


# ---------------------------------------------------------------------------
# HTML
# ---------------------------------------------------------------------------
_CSS = """.warning{background:#fff4e5;border-left:4px solid #e08a00;padding:.4em .8em}

body{font-family:-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;max-width:1100px;
margin:2em auto;padding:0 1em;color:#222;line-height:1.45}
h1{font-size:1.6em;margin-bottom:.2em}h2{font-size:1.25em;margin-top:1.8em;
border-bottom:1px solid #ccc;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0 1em;font-size:.9em}
th,td{border:1px solid #d0d0d0;padding:.3em .6em;text-align:left;vertical-align:top}
th{background:#f2f4f7}td.num{text-align:right;white-space:nowrap}
.question{font-size:1.05em;background:#f6f8fa;border-left:4px solid #1f4e79;padding:.6em 1em}
figure{margin:1.2em 0}figure img{max-width:100%;border:1px solid #eee}
figcaption{font-size:.88em;color:#444}.note{color:#555;font-size:.88em}
td.src{color:#555;font-size:.85em;max-width:480px}
"""


def _e(x: Any) -> str:
    return html.escape(str(x), quote=True)


def _table(header: Sequence[str], rows: Sequence[Sequence[str]], *, cls: str = "",
           num_from: int = 1, tid: str = "") -> str:
    out = [f'<table class="{cls}"' + (f' id="{tid}"' if tid else "") + ">",
           "<thead><tr>" + "".join(f"<th>{_e(h)}</th>" for h in header) + "</tr></thead>",
           "<tbody>"]
    for row in rows:
        cells = []
        for i, c in enumerate(row):
            klass = ' class="num"' if i >= num_from else ""
            cells.append(f"<td{klass}>{_e(c)}</td>")
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "\n".join(out)


def _corridor_table(summary: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    how = {k: h for _, k, h in KPI_ROWS}
    names = {k: lab for lab, k, _ in KPI_ROWS}
    rails = list(summary["rails"])
    header = ["corridor", "rail", *(names[k] for k in _CORRIDOR_ROWS)]
    rows = []
    for corr, by_rail in summary["corridors"].items():
        for r in rails:
            k = by_rail.get(r)
            if k is None:
                continue
            rows.append([corr, r, *(_with_ci(k, key, how[key]) for key in _CORRIDOR_ROWS)])
    return header, rows


def sender_timezones(results: Any) -> dict[str, str] | None:
    """Bank id -> time zone of the results' scenario network (None when unknown)."""
    sc = getattr(results, "scenario", None)
    if sc is None:
        return None
    comp = getattr(results, "components", None)
    if comp is None:
        return None
    return {bid: b.timezone for bid, b in comp.network.banks.items()}


def render_report(results: Any, figures: Mapping[str, bytes] | None = None) -> str:
    """The report as one HTML string (figures rendered unless given as PNG bytes)."""
    from sim.outputs.figures import event_figures, render_figures
    from sim.outputs.liquidity import LIQUIDITY_FIGURES, liquidity_figures, liquidity_section

    sc = results.scenario
    summary = results.summary()
    pngs = dict(figures) if figures is not None else {
        **render_figures(results.payments, sender_timezones(results)),
        **event_figures(results), **terra_figures(results)}
    liq_pngs = {k: v for k, v in pngs.items() if k in LIQUIDITY_FIGURES} or (
        liquidity_figures(results) if figures is None else {})
    pngs = {k: v for k, v in pngs.items() if k not in LIQUIDITY_FIGURES}
    header, rows = kpi_rows(summary)
    parts = [
        "<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">',
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>settlesim report: {_e(sc.name)}</title><style>{_CSS}</style></head><body>",
        f"<h1>settlesim: scenario <code>{_e(sc.name)}</code></h1>",
        f'<p class="note">{_e(sc.description)}</p>',
        f'<p class="question" id="question"><strong>Question.</strong> {_e(sc.question)}</p>',
        f'<p class="note">{_e(sc.summary_line())}; scenario file {_e(sc.path)}.</p>',
        "<h2>Assumptions and their sources</h2>",
        _table(["setting", "value", "source"], [list(r) for r in assumptions(results)],
               cls="assumptions", num_from=99, tid="assumptions"),
        "<h2>KPIs per rail</h2>",
        (f'<p class="warning" id="ci-warning"><strong>Warning.</strong> '
         f'{_e(summary["ci_warning"])}.</p>' if summary.get("ci_warning") else ""),
        f'<p class="note">Confidence intervals: {_e(summary.get("ci_method", ""))}. '
        "Latency is creation to credit of the beneficiary's account; shares are over all "
        "payments; cost is every fee and spread as % of the amount sent (credited "
        "payments). FSB 2027 targets: 75% credited within 1 h and the rest within 1 "
        "business day; retail cost ≤ 1% on average and no corridor above 3%; remittances "
        "≤ 3% and no corridor above 5%.</p>",
        _table(header, rows, cls="kpis", tid="kpis"),
    ]
    prow = paired_rows(summary)
    if prow:
        parts += ["<h2>Paired differences (on-chain minus correspondent, per payment)</h2>",
                  f'<p class="note">{_e(summary.get("paired_ci_method", ""))}. Negative: '
                  "on-chain faster or cheaper.</p>",
                  _table(["measure", "value", "interval"], prow, cls="paired", tid="paired")]
    parts += _events_section(summary)
    ch, crow = _corridor_table(summary)
    parts += ["<h2>KPIs per corridor</h2>", _table(ch, crow, cls="corridors", num_from=2,
                                                     tid="corridors")]
    parts += liquidity_section(results, summary, liq_pngs)
    parts.append(terra_section(results))
    parts.append("<h2>Figures</h2>")
    for name, data in pngs.items():
        b64 = base64.b64encode(data).decode("ascii")
        parts.append(f'<figure id="fig-{_e(name)}"><img alt="{_e(name)}" '
                     f'src="data:image/png;base64,{b64}"><figcaption><strong>{_e(name)}.'
                     f"</strong> {_e(_FIG_CAPTIONS.get(name, ''))}</figcaption></figure>")
    parts.append('<p class="note">Generated by settlesim from the scenario above; the tables '
                 "payments, steps and balances (Parquet and CSV) and summary.json sit beside "
                 "this file."
                 "</p></body></html>")
    return "\n".join(parts) + "\n"


def event_rows(summary: Mapping[str, Any]) -> tuple[list[str], list[list[str]]]:
    """Header and rows of the events' cost table: each measure per rail (with its 95%
    interval when there is one); empty rows without events."""
    ev = summary.get("events") or {}
    rails = list(ev.get("rails", {}))
    rows = [[label, *(_with_ci(ev["rails"][r], key, how) for r in rails)]
            for label, key, how in EVENT_ROWS]
    for e in ev.get("events", []):
        cells = []
        for r in rails:
            per: dict[str, Any] = next(
                (x for x in ev["rails"][r]["events"] if x["index"] == e["index"]), {})
            after = per.get("drained_after_s")
            cells.append(f"{per.get('in_flight', 0):,} in flight; "
                         + ("backlog gone " + fmt_kpi(after, "dur") + " after its end"
                            if after is not None else "nothing to drain"))
        rows.append([f"event {e['index']}: after it", *cells])
    return ["measure", *rails], rows if rails else []


def _events_section(summary: Mapping[str, Any]) -> list[str]:
    ev = summary.get("events")
    if not ev:
        return []
    listed = [[str(e["index"]), e["kind"], e["target"] or "–", e["start"], e["end"] or "never",
               "–" if e["hours"] is None else f"{e['hours']:g}", e["source"] or "–"]
              for e in ev["events"]]
    header, rows = event_rows(summary)
    return [
        '<h2 id="events">Events and what they cost</h2>',
        '<p class="note">Each run is compared with its <em>twin</em>: the same payments, seed '
        "and settings without any event. A payment is affected when anything of its outcome "
        "differs (status, time credited, fees, loss, frozen value). Value held up in flight "
        "is the run's value in flight minus the twin's; a backlog is the affected payments "
        "in flight during an event, gone when the last of them ends. "
        f"{_e(ev.get('method', ''))}.</p>",
        _table(["#", "kind", "target", "start (UTC)", "end (UTC)", "hours", "source"], listed,
               cls="events", num_from=99, tid="events-list"),
        _table(header, rows, cls="event-costs", tid="event-costs"),
    ]


def write_report(results: Any, path: str | Path,
                 figures: Mapping[str, bytes] | None = None) -> Path:
    """Write :func:`render_report` to ``path`` atomically."""
    text = render_report(results, figures)

    def put(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    return atomic_write(path, put)


#: Progress ticks of :func:`write_outputs` (tables and summary, figures, report).
OUTPUT_STEPS = 3


def write_outputs(results: Any, out: str | Path, *,
                  tick: Callable[[str], None] | None = None,
                  call: str | None = None) -> list[Path]:
    """Publish a run's folder: tables (Parquet and CSV), ``summary.json``,
    ``scenario.json``, ``figures/*.png``, ``report.html`` and ``manifest.json``;
    return the paths written.

    The folder is built beside ``out`` and swapped in for it in one step
    (:class:`sim.publish.OutputFolder`): an exception, Ctrl-C or a kill at any
    instant leaves either the whole old folder or the whole new one. ``tick(what)``
    is called after each of the :data:`OUTPUT_STEPS` steps; ``call`` is what the
    manifest records as the command (default: this process's command line).
    """
    folder = OutputFolder(out, call=call, fields=results.manifest_fields())
    with folder as stage:
        write_into(results, stage, tick=tick)
    return folder.files


def write_into(results: Any, folder: Path, *,
               tick: Callable[[str], None] | None = None) -> None:
    """Write a run's files into ``folder`` as it is (a stage of :class:`OutputFolder`)."""
    from sim.outputs.figures import event_figures, render_figures, write_figures
    from sim.outputs.liquidity import liquidity_figures

    results.write_data(folder)
    if tick:
        tick("tables and summary written")
    pngs = {**render_figures(results.payments, sender_timezones(results)),
            **event_figures(results)}
    pngs.update(liquidity_figures(results))
    pngs.update(terra_figures(results))
    write_figures(pngs, folder / "figures")
    if tick:
        tick("figures drawn")
    write_report(results, folder / "report.html", pngs)
    if tick:
        tick("report written")
