"""A timeline as one self-contained HTML page (Plotly with its JavaScript inlined).

The two rails one above the other on a shared time axis, a linear/log switch,
hover and click details, and a steps table; no network needed to view it.
"""

from __future__ import annotations

import html
import json
import math
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    pass

from sim.outputs.timeline.model import (
    CATEGORY_COLORS,
    CATEGORY_NAMES,
    RAIL_TITLES,
    StepView,
    Timeline,
    _zone,
    format_duration,
    local_clock,
)

# ---------------------------------------------------------------------------
# HTML (Plotly, inlined)
# ---------------------------------------------------------------------------
_LOG_TICKS = [(1, "1 s"), (10, "10 s"), (60, "1 min"), (600, "10 min"), (3600, "1 h"),
              (6 * 3600, "6 h"), (86400, "1 day"), (3 * 86400, "3 days"),
              (7 * 86400, "1 week"), (30 * 86400, "30 days")]


def _hover(tl: Timeline, s: StepView) -> str:
    e = html.escape
    lines = [f"<b>{e(RAIL_TITLES.get(s.rail, s.rail))} · step {s.seq}: {e(s.label)}</b>",
             f"where: {e(s.where)}",
             f"local clock: {e(s.local_start)} → {e(s.local_end)} ({e(s.place_city)})",
             f"took: {format_duration(s.duration_s)}"
             f" (from +{format_duration(s.elapsed_start)} to +{format_duration(s.elapsed_end)})",
             f"cost: {e(s.cost_text) or 'none'}",
             f"kind: {e(s.kind)}"]
    if s.event:
        lines.append(f"<b>delayed by {e(s.event)}</b>")
    if s.detail:
        det = s.detail if len(s.detail) <= 90 else s.detail[:87] + "..."
        lines.append(f"detail: {e(det)}")
    return "<br>".join(lines)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, _zone("UTC")).strftime("%Y-%m-%d %H:%M:%S.%f")


#: The chart's views (buttons): clock time, log of elapsed time, each step in order.
VIEWS: tuple[str, ...] = ("linear", "log", "steps")


def _step_width(seconds: float) -> float:
    """Width of a step in the "each step" view: grows with the log of its duration."""
    return 0.3 + math.log10(1.0 + max(0.0, seconds))


def figure(tl: Timeline) -> Any:
    """The Plotly figure: both rails one above the other on a shared time axis, with
    three views (buttons): clock time (linear), elapsed time (log), each step in order
    (width growing with the log of its duration)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    rows = [RAIL_TITLES.get(r.rail, r.rail) for r in tl.rails]
    lo = 0.5
    for view in VIEWS:
        for r, row in zip(tl.rails, rows, strict=True):
            steps = r.steps
            if view == "linear":
                base: list[Any] = [_iso(s.started_at) for s in steps]
                x = [max(0.0, s.duration_s) * 1000.0 for s in steps]
            elif view == "log":
                base = [max(s.elapsed_start, lo) for s in steps]
                x = [max(s.elapsed_end, lo) - b for s, b in zip(steps, base, strict=True)]
            else:  # each step in order, its width growing with the log of its duration
                x = [_step_width(s.duration_s) for s in steps]
                base = [sum(x[:i]) for i in range(len(x))]
            fig.add_trace(go.Bar(
                name=f"{row}", legendgroup=r.rail, showlegend=False,
                orientation="h", y=[row] * len(steps), base=base, x=x,
                marker={"color": [CATEGORY_COLORS[s.category] for s in steps],
                        "line": {"color": "white", "width": 1}},
                text=[s.label if view == "steps" or (s.is_wait and s.category != "chain")
                      else "" for s in steps],
                textposition="inside", insidetextanchor="middle", textangle=0,
                textfont={"color": "white", "size": 18},
                hovertext=[_hover(tl, s) for s in steps], hoverinfo="text",
                customdata=[[r.rail, s.seq] for s in steps],
                meta=r.rail, visible=(view == "linear"), width=0.5,
                uid=f"{r.rail}-{view}"))
    used = {s.category for r in tl.rails for s in r.steps}
    for cat, color in CATEGORY_COLORS.items():
        if cat in used:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=CATEGORY_NAMES[cat],
                                     marker={"color": color, "size": 16, "symbol": "square"},
                                     hoverinfo="skip", showlegend=True))
    n_key = len(fig.data) - len(VIEWS) * len(tl.rails)

    def visible(view: str) -> list[bool]:
        return [v == view for v in VIEWS for _ in tl.rails] + [True] * n_key

    span = tl.span_s
    rows_of = dict(zip((r.rail for r in tl.rails), rows, strict=True))

    def frac(t: float, view: str) -> float:
        el = max(t - tl.created_at, lo)
        if view == "linear":
            return el / span
        return math.log10(el / lo) / math.log10(span * 1.5 / lo)

    def marks(view: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        def xv(t: float) -> Any:
            return _iso(t) if view == "linear" else max(t - tl.created_at, lo)

        def xa(t: float) -> Any:  # annotations on a log axis take log10 positions
            return xv(t) if view == "linear" else math.log10(xv(t))

        sent = (f"sent {local_clock(tl.created_at, tl.sender_tz)} {tl.sender_place}"
                f" ({local_clock(tl.created_at, tl.beneficiary_tz)} "
                f"{tl.beneficiary_place})")
        shapes: list[dict[str, Any]] = [
            {"type": "line", "xref": "x", "yref": "paper", "x0": xv(tl.created_at),
             "x1": xv(tl.created_at), "y0": 0, "y1": 1,
             "line": {"color": "#333333", "width": 2, "dash": "dot"}}]
        notes: list[dict[str, Any]] = [
            {"x": xa(tl.created_at), "xref": "x", "yref": "paper", "y": 1.0,
             "yanchor": "bottom", "text": html.escape(sent), "showarrow": False,
             "xanchor": "left", "font": {"size": 17, "color": "#333333"}}]
        for r in tl.rails:
            if r.credited_at is None:
                continue
            right = frac(r.credited_at, view) > 0.5
            text = (f"credited {local_clock(r.credited_at, tl.beneficiary_tz)} "
                    f"{tl.beneficiary_place}, after "
                    f"{format_duration(r.credited_at - tl.created_at)}")
            yi = len(rows) - 1 - rows.index(rows_of[r.rail])
            shapes.append({"type": "line", "xref": "x", "yref": "y",
                           "x0": xv(r.credited_at), "x1": xv(r.credited_at),
                           "y0": yi - 0.45, "y1": yi + 0.45,
                           "line": {"color": "#1a7f1a", "width": 3}})
            notes.append({"x": xa(r.credited_at), "y": rows_of[r.rail], "xref": "x",
                          "yref": "y", "yshift": 46, "showarrow": False,
                          "xanchor": "right" if right else "left",
                          "text": "✔ " + html.escape(text),
                          "font": {"size": 17, "color": "#1a7f1a"}})
        for ev in tl.events:     # a band over the steps each stress event delayed
            colour = CATEGORY_COLORS["event"]
            for r in tl.rails:
                hit = [st for st in r.steps if (r.rail, st.seq) in ev.steps]
                if not hit:
                    continue
                a = max(min(st.started_at for st in hit), ev.start)
                b = min(max(st.ended_at for st in hit), ev.end)
                b = max(b, a + 1.0)
                yi = len(rows) - 1 - rows.index(rows_of[r.rail])
                shapes.append({"type": "rect", "xref": "x", "yref": "y", "x0": xv(a),
                               "x1": xv(b), "y0": yi - 0.42, "y1": yi + 0.42,
                               "fillcolor": colour, "opacity": 0.25,
                               "line": {"color": colour, "width": 2, "dash": "dash"},
                               "layer": "above", "name": ev.label})
                notes.append({"x": xa(a), "y": rows_of[r.rail], "xref": "x", "yref": "y",
                              "yshift": -40, "showarrow": False, "xanchor": "left",
                              "text": "⚡ " + html.escape(ev.title),
                              "hovertext": html.escape(ev.label),
                              "font": {"size": 15, "color": colour}})
        return shapes, notes

    lin_shapes, lin_notes = marks("linear")
    log_shapes, log_notes = marks("log")
    ticks = [(v, t) for v, t in _LOG_TICKS if v <= span * 3] or _LOG_TICKS[:3]
    lin_range = [_iso(tl.created_at - 0.02 * span), _iso(tl.created_at + 1.03 * span)]
    log_range = [math.log10(lo), math.log10(span * 1.5)]
    lin_axis = {"xaxis.type": "date", "xaxis.tickvals": None, "xaxis.ticktext": None,
                "xaxis.autorange": False, "xaxis.range": lin_range,
                "xaxis.title.text": "time (UTC)",
                "shapes": lin_shapes, "annotations": lin_notes}
    log_axis = {"xaxis.type": "log", "xaxis.tickvals": [v for v, _ in ticks],
                "xaxis.ticktext": [t for _, t in ticks], "xaxis.autorange": False,
                "xaxis.range": log_range,
                "xaxis.title.text": "time since the payment was sent (log scale)",
                "shapes": log_shapes, "annotations": log_notes}
    widest = max((sum(_step_width(s.duration_s) for s in r.steps) for r in tl.rails),
                 default=1.0)
    step_notes = []
    for r in tl.rails:
        end = sum(_step_width(s.duration_s) for s in r.steps)
        step_notes.append({"x": end, "y": rows_of[r.rail], "xref": "x", "yref": "y",
                           "yshift": 46, "showarrow": False, "xanchor": "right",
                           "text": html.escape(f"{len(r.steps)} steps; "
                                               + tl.outcome(r).split(";")[0]),
                           "font": {"size": 17, "color": "#1a7f1a"}})
    steps_axis = {"xaxis.type": "linear", "xaxis.tickvals": [], "xaxis.ticktext": [],
                  "xaxis.autorange": False, "xaxis.range": [0, widest * 1.01],
                  "xaxis.title.text": "each step in order; its width grows with the log of "
                  "its duration (hover for times)",
                  "shapes": [], "annotations": step_notes}
    fig.update_layout(
        template="plotly_white", barmode="overlay", height=600,
        font={"size": 18}, hoverlabel={"font": {"size": 16}, "align": "left"},
        margin={"l": 230, "r": 40, "t": 110, "b": 60},
        uniformtext={"minsize": 14, "mode": "hide"},
        yaxis={"categoryorder": "array", "categoryarray": rows[::-1],
               "tickfont": {"size": 20}, "ticksuffix": "  "},
        xaxis={"type": "date", "title": {"text": "time (UTC)"}, "gridcolor": "#dddddd",
               "range": lin_range, "autorange": False},
        legend={"orientation": "h", "y": -0.25, "font": {"size": 15}},
        shapes=lin_shapes, annotations=lin_notes,
        updatemenus=[{
            "type": "buttons", "direction": "right", "x": 0, "xanchor": "left",
            "y": 1.12, "yanchor": "bottom", "showactive": True, "font": {"size": 16},
            "buttons": [
                {"label": "clock time (linear)", "method": "update",
                 "args": [{"visible": visible("linear")}, lin_axis]},
                {"label": "elapsed time (log)", "method": "update",
                 "args": [{"visible": visible("log")}, log_axis]},
                {"label": "each step", "method": "update",
                 "args": [{"visible": visible("steps")}, steps_axis]},
            ]}],
    )
    return fig


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #222; font-size: 20px; }}
h1 {{ font-size: 32px; margin: 0 0 8px 0; }}
.sub {{ color: #555; margin-bottom: 12px; }}
.cards {{ display: flex; gap: 24px; flex-wrap: wrap; margin: 12px 0; }}
.card {{ border: 2px solid #ddd; border-radius: 8px; padding: 12px 18px; flex: 1 1 560px; }}
.card h2 {{ font-size: 24px; margin: 0 0 6px 0; }}
.card ul {{ margin: 6px 0 0 0; padding-left: 22px; }}
#step-details {{ min-height: 2.5em; background: #f6f6f6; border-left: 6px solid #1f77b4;
                padding: 10px 16px; margin: 12px 0; white-space: pre-line; }}
table {{ border-collapse: collapse; font-size: 17px; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 5px 8px; text-align: left;
          vertical-align: top; }}
th {{ background: #f0f0f0; }}
td.num {{ text-align: right; white-space: nowrap; }}
tr.wait td {{ font-weight: 600; }}
tr.sel td {{ background: #fff3bf; }}
.swatch {{ display: inline-block; width: 14px; height: 14px; border-radius: 3px;
           margin-right: 6px; vertical-align: middle; }}
.muted {{ color: #666; font-size: 16px; }}
</style></head>
<body>
<h1>{title}</h1>
<div class="sub">{subtitle}</div>
{plot}
<div class="cards">{cards}</div>
<div id="step-details">Hover over a bar for its details; click one to pin them here.</div>
<h2>Every step</h2>
{table}
<p class="muted">{note}</p>
<pre id="drawn-steps" style="display:none"></pre>
<pre id="drawn-views" style="display:none"></pre>
<script>
(function () {{
  var gd = document.getElementById("timeline");
  var steps = {steps_json};
  function count() {{
    var out = {{}};
    gd.querySelectorAll(".barlayer .trace").forEach(function (g) {{
      var d = g.__data__; var tr = d && d[0] && d[0].trace;
      var rail = tr ? tr.meta : "?";
      var n = 0;
      g.querySelectorAll("g.point path").forEach(function (p) {{
        var a = p.getAttribute("d"); if (a && a !== "M0,0Z") n += 1; }});
      out[rail] = (out[rail] || 0) + n;
    }});
    document.getElementById("drawn-steps").textContent = JSON.stringify(out);
    return out;
  }}
  function show(rail, seq) {{
    var s = steps[rail + ":" + seq]; if (!s) return;
    document.getElementById("step-details").textContent = s;
    document.querySelectorAll("tr.sel").forEach(function (r) {{ r.classList.remove("sel"); }});
    var row = document.getElementById("step-" + rail + "-" + seq);
    if (row) row.classList.add("sel");
  }}
  function select(i) {{
    var b = gd.layout.updatemenus[0].buttons[i];
    return Plotly.update(gd, b.args[0], Object.assign({{"updatemenus[0].active": i}},
                                                      b.args[1]));
  }}
  if (gd && gd.on) {{
    gd.on("plotly_afterplot", count);
    gd.on("plotly_click", function (ev) {{
      var p = ev.points && ev.points[0]; if (p) show(p.customdata[0], p.customdata[1]); }});
    count();
    var view = {{"#log": 1, "#steps": 2}}[location.hash];
    if (view) select(view);
    if (location.hash === "#check-views") {{  // every view drawn in turn (browser tests)
      var names = gd.layout.updatemenus[0].buttons.map(function (b) {{ return b.label; }});
      var seen = {{}}, chain = Promise.resolve();
      names.forEach(function (name, i) {{
        chain = chain.then(function () {{ return select(i); }})
                     .then(function () {{ seen[name] = count(); }});
      }});
      chain.then(function () {{ return select(0); }}).then(function () {{
        document.getElementById("drawn-views").textContent = JSON.stringify(seen); }});
    }}
  }}
  document.querySelectorAll("tr[data-rail]").forEach(function (row) {{
    row.addEventListener("click", function () {{
      show(row.getAttribute("data-rail"), row.getAttribute("data-seq")); }});
  }});
}})();
</script>
</body></html>
"""


def _details_text(tl: Timeline, s: StepView) -> str:
    lines = [f"{RAIL_TITLES.get(s.rail, s.rail)}, step {s.seq}: {s.label}",
             f"where: {s.where}",
             f"local clock: {s.local_start} -> {s.local_end} ({s.place_city})",
             f"took {format_duration(s.duration_s)}; cost: {s.cost_text or 'none'}",
             f"kind: {s.kind}; detail: {s.detail or '-'}"]
    if s.event:
        lines.append(f"delayed by {s.event}")
    return "\n".join(lines)


def to_html(tl: Timeline) -> str:
    """The timeline as one self-contained HTML page (Plotly inlined; works offline).

    >>> from sim.outputs.timeline.simulate import simulate
    >>> page = to_html(simulate("US-MX", 1763760600.0))
    >>> "<script src=\\"http" in page, page.count("<tr class='step-row")
    (False, 25)
    """
    e = html.escape
    fig = figure(tl)
    plot = fig.to_html(full_html=False, include_plotlyjs=True, div_id="timeline",
                       config={"displaylogo": False, "responsive": True,
                               "toImageButtonOptions": {"format": "png", "scale": 2}})
    cards = []
    for r in tl.rails:
        waits = "".join(
            f"<li><span class='swatch' style='background:{CATEGORY_COLORS[s.category]}'>"
            f"</span>{e(s.label)} at {e(s.where)}: {format_duration(s.duration_s)}</li>"
            for s in r.waits() if s.duration_s >= 60)
        cards.append(f"<div class='card'><h2>{e(r.title)}</h2><div>{e(tl.outcome(r))}</div>"
                     f"<div class='muted'>{len(r.steps)} steps</div>"
                     + (f"<ul>{waits}</ul>" if waits else "") + "</div>")
    head = ("<tr><th>rail</th><th>#</th><th>what</th><th>where</th><th>local start</th>"
            "<th>local end</th><th>took</th><th>cost</th><th>detail</th></tr>")
    body = []
    for r in tl.rails:
        for s in r.steps:
            cls = "step-row wait" if s.is_wait else "step-row"
            body.append(
                f"<tr class='{cls}' id='step-{e(s.rail)}-{s.seq}' data-rail='{e(s.rail)}' "
                f"data-seq='{s.seq}'><td>{e(r.title)}</td><td class='num'>{s.seq}</td>"
                f"<td><span class='swatch' style='background:{CATEGORY_COLORS[s.category]}'>"
                f"</span>{e(s.label)}</td><td>{e(s.where)}</td><td>{e(s.local_start)}</td>"
                f"<td>{e(s.local_end)}</td><td class='num'>{format_duration(s.duration_s)}</td>"
                f"<td class='num'>{e(s.cost_text)}</td><td class='muted'>{e(s.detail)}</td>"
                "</tr>")
    table = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    steps_json = json.dumps({f"{s.rail}:{s.seq}": _details_text(tl, s)
                             for r in tl.rails for s in r.steps})
    sub = (f"{e(tl.sender_bank)} ({e(tl.sender_place)}) → {e(tl.beneficiary_bank)} "
           f"({e(tl.beneficiary_place)}) · payment {e(tl.payment_id)}"
           + (f" · chain {e(tl.chain)}" if tl.chain else ""))
    if tl.events:
        items = "".join(
            f"<li><span class='swatch' style='background:{CATEGORY_COLORS['event']}'></span>"
            f"{e(ev.label)}: delayed {len(ev.steps)} step(s) (shaded band)</li>"
            for ev in tl.events)
        cards.append(f"<div class='card' id='events'><h2>Stress events</h2><ul>{items}</ul>"
                     "</div>")
    note = ("Local clocks are those of each step's place: banks in their own time zone, "
            "stablecoin issuers in their ramp's, the chain and the FX provider in UTC. "
            + e(tl.note))
    return _PAGE.format(title=e(tl.title), subtitle=sub, cards="".join(cards), plot=plot,
                        table=table, note=note,
                        steps_json=steps_json.replace("</", "<\\/"))


def write_html(tl: Timeline, path: str | Path) -> Path:
    """Write :func:`to_html` to ``path`` atomically (temp file + rename)."""
    return write_page(path, to_html(tl))


def write_page(path: str | Path, text: str) -> Path:
    """Write a page atomically (temp file + rename), readable like any file made here."""
    from sim.results import atomic_write

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)  # a page to share, not a private temp file

    return atomic_write(path, write)


