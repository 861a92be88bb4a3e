"""Teaching timelines (outputs layer): one payment's journey on both rails, step by step.

A :class:`Timeline` is the two-rail view of one payment built from the steps
table (``docs/architecture.md``): every step with where it happened, what it was (waits
named for what they are: cut-off, weekend, holiday, compliance review, nostro
funding, mempool, finality, on/off-ramp window), how long it took, what it cost
and the local clock of its place at start and end.

Modules: :mod:`.model` (the data and its labels), :mod:`.simulate` (one payment
sent down both rails), :mod:`.html` and :mod:`.terminal` (the renderers). This
package sits in the outputs layer: it may import the experiments, the rails and
the shared basics; only the command line (and scripts) import it. Renderers:

* :func:`to_html` / :func:`write_html`: one self-contained HTML page (Plotly with
  its JavaScript inlined, no network needed) with the two rails one above the
  other on a shared time axis, a linear/log switch, hover and click details, and
  a steps table;
* :func:`render_terminal`: ``rich`` tables with a proportional bar per step;
* :func:`play`: the same, replayed step by step for live demos.

Build one with :func:`simulate` (send one payment down both rails) or
:func:`from_results` (a payment of a finished run).

Example
-------
>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> tl = simulate("US-MX", datetime(2025, 11, 21, 16, 30, tzinfo=ZoneInfo("America/New_York")))
>>> [r.rail for r in tl.rails], tl.sender_bank, tl.beneficiary_bank
(['correspondent', 'onchain'], 'RBUSUS66', 'PLMXMXMM')
>>> [s.label for s in tl.rail("onchain").steps if s.is_wait][-1]
'off-ramp window: cut-off + weekend'
"""

from sim.outputs.timeline.html import figure, to_html, write_html, write_page
from sim.outputs.timeline.model import (
    CATEGORY_COLORS,
    CATEGORY_NAMES,
    RAIL_ORDER,
    RAIL_TITLES,
    EventMark,
    RailTimeline,
    StepView,
    Timeline,
    TimelineError,
    city,
    event_named,
    format_duration,
    format_money,
    from_results,
    iter_steps,
    label_step,
    load_run,
    local_clock,
    mark_events,
    place_city,
    place_label,
    place_timezone,
    rail_kinds,
)
from sim.outputs.timeline.simulate import (
    choose_banks,
    parse_local_time,
    scenario_settings,
    simulate,
)
from sim.outputs.timeline.terminal import play, render_terminal

__all__ = [
    "CATEGORY_COLORS",
    "CATEGORY_NAMES",
    "RAIL_ORDER",
    "RAIL_TITLES",
    "EventMark",
    "RailTimeline",
    "StepView",
    "Timeline",
    "TimelineError",
    "choose_banks",
    "city",
    "event_named",
    "figure",
    "format_duration",
    "format_money",
    "from_results",
    "iter_steps",
    "label_step",
    "load_run",
    "local_clock",
    "mark_events",
    "parse_local_time",
    "place_city",
    "place_label",
    "place_timezone",
    "play",
    "rail_kinds",
    "render_terminal",
    "scenario_settings",
    "simulate",
    "to_html",
    "write_html",
    "write_page",
]
