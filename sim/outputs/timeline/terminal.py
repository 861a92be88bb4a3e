"""A timeline in the terminal: ``rich`` tables with a proportional bar per step,
and :func:`play`, the same replayed step by step for live demos."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console, RenderableType


from sim.outputs.timeline.model import (
    _TERM_COLORS,
    RAIL_ORDER,
    RailTimeline,
    StepView,
    Timeline,
    TimelineError,
    format_duration,
    local_clock,
)


# ---------------------------------------------------------------------------
# terminal (rich)
# ---------------------------------------------------------------------------
def _bar(s: StepView, span: float, width: int, log: bool) -> tuple[int, int]:
    def pos(t: float) -> float:
        t = max(0.0, t)
        if log:
            return math.log10(1 + t) / math.log10(1 + span) * width
        return t / span * width

    a = min(width - 1, int(pos(s.elapsed_start)))
    b = max(a + 1, min(width, math.ceil(pos(s.elapsed_end))))
    return a, b


def _bar_width(cols: int) -> int:
    """Bar columns for a console ``cols`` wide: what the table leaves, within [10, 40]."""
    return max(10, min(40, cols - (84 if cols < 120 else 108)))


def _rail_table(tl: Timeline, r: RailTimeline, *, log: bool, bar_width: int,
                upto: int | None = None, span: float | None = None,
                narrow: bool = True) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    span = span or tl.span_s
    t = Table(title=f"{r.title}: {tl.outcome(r)}", title_justify="left", box=box.SIMPLE_HEAD,
              title_style="bold", pad_edge=False, expand=False)
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("where", overflow="fold", max_width=18 if narrow else 30)
    t.add_column("local start", no_wrap=True)
    if not narrow:
        t.add_column("local end", no_wrap=True)
    t.add_column("took", justify="right", no_wrap=True)
    t.add_column("cost", justify="right", no_wrap=True)
    t.add_column("what", overflow="fold", min_width=22)
    t.add_column("time, log" if log else "time", no_wrap=True)

    for s in r.steps[: upto if upto is not None else len(r.steps)]:
        a, b = _bar(s, span, bar_width, log)
        color = _TERM_COLORS[s.category]
        bar = Text("·" * a, style="bright_black")
        # a step a stress event delayed: a hatched bar in the event's colour
        bar.append(("▓" if s.event else "█") * (b - a),
                   style=_TERM_COLORS["event"] if s.event else color)
        bar.append("·" * (bar_width - b), style="bright_black")
        what = Text(s.label, style=f"bold {color}" if s.is_wait else "")
        if s.event and s.event not in s.label:
            what.append(f" ({s.event})", style=_TERM_COLORS["event"])
        clocks = [s.local_start] if narrow else [s.local_start, s.local_end]
        t.add_row(str(s.seq), s.where, *clocks, format_duration(s.duration_s),
                  s.cost_text, what, bar)
    return t


def render_terminal(tl: Timeline, console: Console | None = None, *, log: bool = False,
                    bar_width: int | None = None) -> None:
    """Print the timeline with ``rich``: per rail, a table of steps with a bar each.

    Bars share one time axis from the payment's creation to the last step's end
    (``log``: a log scale, so seconds-long steps stay visible next to weekends).

    >>> import io
    >>> from rich.console import Console
    >>> from sim.outputs.timeline.simulate import simulate
    >>> con = Console(width=100, file=io.StringIO(), color_system=None)
    >>> render_terminal(simulate("US-MX", 1763760600.0), con, log=True)
    >>> "off-ramp window" in con.file.getvalue()
    True
    """
    from rich.console import Console

    console = console or Console()
    width = bar_width or _bar_width(console.width)
    console.print(_header(tl))
    for r in tl.rails:
        console.print(_rail_table(tl, r, log=log, bar_width=width,
                                  narrow=console.width < 120))
    if tl.events:
        console.print(_events_note(tl))
    console.print(_scale_note(tl, log))


def _events_note(tl: Timeline) -> Any:
    from rich.text import Text

    t = Text()
    for ev in tl.events:
        steps = ", ".join(f"{rail} #{seq}" for rail, seq in ev.steps)
        t.append("▓ ", style=_TERM_COLORS["event"])
        t.append(f"{ev.label} delayed: {steps}\n", style=_TERM_COLORS["event"])
    return t


def _scale_note(tl: Timeline, log: bool) -> Any:
    from rich.text import Text

    return Text(f"bars: one shared axis, {'log-scaled ' if log else ''}time from sending "
                f"(left) to +{format_duration(tl.span_s)} (right); local clocks are each "
                "place's own (chain in UTC)", style="dim")


def _header(tl: Timeline) -> Any:
    from rich.text import Text

    t = Text(tl.title, style="bold")
    t.append(f"\n{tl.sender_bank} ({tl.sender_place}) -> {tl.beneficiary_bank} "
             f"({tl.beneficiary_place}); payment {tl.payment_id}"
             + (f"; chain {tl.chain}" if tl.chain else ""), style="dim")
    return t


def play(tl: Timeline, console: Console | None = None, *, speed: float = 1.0,
         log: bool = True, bar_width: int | None = None,
         sleep: Callable[[float], None] = time.sleep, max_pause: float = 2.5) -> bool:
    """Replay the timeline step by step, in time order across both rails.

    Each step appears after a pause proportional to the log of its duration
    (0.15 s for a second-long step, up to ``max_pause`` for a weekend), divided by
    ``speed``. Ctrl-C stops the replay cleanly; returns ``False`` then, else ``True``.

    >>> import io
    >>> from rich.console import Console
    >>> from sim.outputs.timeline.simulate import simulate
    >>> con = Console(width=100, file=io.StringIO(), color_system=None)
    >>> play(simulate("US-MX", 1763760600.0), con, speed=1e6)
    True
    """
    from rich.console import Console, Group
    from rich.live import Live
    from rich.text import Text

    console = console or Console()
    if speed <= 0:
        raise TimelineError("--speed must be positive")
    width = bar_width or _bar_width(console.width)
    order = sorted((s.started_at, RAIL_ORDER.index(s.rail) if s.rail in RAIL_ORDER else 9,
                     s.seq, r.rail) for r in tl.rails for s in r.steps)
    shown = {r.rail: 0 for r in tl.rails}
    span = tl.span_s

    def frame(now: float | None) -> RenderableType:
        clock = Text()
        if now is not None:
            clock.append("now: ", style="bold")
            clock.append(f"{local_clock(now, tl.sender_tz)} {tl.sender_place} · "
                         f"{local_clock(now, tl.beneficiary_tz)} {tl.beneficiary_place} · "
                         f"+{format_duration(now - tl.created_at)}")
        parts: list[Any] = [_header(tl), clock]
        parts += [_rail_table(tl, r, log=log, bar_width=width, upto=shown[r.rail], span=span,
                              narrow=console.width < 120) for r in tl.rails]
        if tl.events:
            parts.append(_events_note(tl))
        parts.append(_scale_note(tl, log))
        return Group(*parts)

    try:
        with Live(frame(tl.created_at), console=console, refresh_per_second=12,
                  transient=False, auto_refresh=False) as live:
            for t0, _, seq, rail in order:
                step = tl.rail(rail).steps[[s.seq for s in tl.rail(rail).steps].index(seq)]
                shown[rail] += 1
                live.update(frame(t0), refresh=True)
                pause = 0.15 + 0.35 * math.log10(1 + max(0.0, step.duration_s))
                sleep(min(max_pause, pause) / speed)
            live.update(frame(max(r.ended_at for r in tl.rails)), refresh=True)
    except KeyboardInterrupt:
        console.line()
        console.print("[dim]replay stopped[/dim]")
        return False
    return True
