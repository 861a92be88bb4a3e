"""Terminal (rich, fixed width) and HTML renderings of a known payment."""

from __future__ import annotations

import io
import re
from pathlib import Path

from rich.console import Console

from sim.outputs.timeline import Timeline, play, render_terminal, to_html, write_html


def _console(width: int = 100) -> Console:
    return Console(width=width, file=io.StringIO(), record=True, color_system=None,
                   force_terminal=False)


def test_terminal_rendering_at_a_fixed_width(friday_late: Timeline) -> None:
    con = _console(100)
    render_terminal(friday_late, con)
    text = con.export_text()
    lines = text.splitlines()
    assert max(len(line.rstrip()) for line in lines) <= 100
    assert lines[0] == "US-MX: 1,000.00 USD -> MXN, sent Fri 21 Nov 2025 17:30 Los Angeles"
    assert lines[1].startswith("RBUSUS66 (Los Angeles) -> PLMXMXMM (Mexico City)")
    assert "Correspondent banking: credited Mon 24 Nov 2025 10:02 Mexico City, after 2 d 15 h" \
        in text
    assert "On-chain: credited Mon 24 Nov 2025 09:52 Mexico City" in text
    for col in ("where", "local start", "took", "cost", "what", "time"):
        assert col in text
    # one row per step: the step number opens each row of each table
    rows = [line for line in lines if re.match(r"^\s+\d+\s{2,}\S", line)]
    assert len(rows) == sum(len(r.steps) for r in friday_late.rails)
    first = next(line for line in lines if re.match(r"^\s+0\s+RBUSUS66", line))
    assert "17:30 Fri" in first and "2 d 14 h" in first and "cut-off + weekend" in first
    # the weekend's bar fills the row's axis; the later steps sit at the far right
    bar = first.rstrip().split()[-1]
    assert set(bar) == {"█"} and len(bar) >= 10
    # costs in the sent currency (the beneficiary bank's 17.40 MXN is 1.00 USD), adding
    # up to each rail's header
    assert "8.00 USD" in text and "1.00 USD" in text and "17.40 MXN" not in text
    for r in friday_late.rails:
        assert sum(s.cost for s in r.steps) == r.fee_total_sent


def test_terminal_log_scale_keeps_short_steps_visible(friday_ny: Timeline) -> None:
    lin, log = _console(), _console()
    render_terminal(friday_ny, lin)
    render_terminal(friday_ny, log, log=True)

    def bars(text: str) -> list[str]:
        return [re.sub(r"[^█·]", "", line.split()[-1]) for line in text.splitlines()
                if re.match(r"^\s+\d+\s{2,}\S", line) and line.rstrip()[-1] in "█·"]

    lin_text, log_text = lin.export_text(), log.export_text()
    starts_lin = {b.index("█") for b in bars(lin_text) if "█" in b}
    starts_log = {b.index("█") for b in bars(log_text) if "█" in b}
    assert len(starts_log) > len(starts_lin)  # seconds-long steps spread out on a log axis
    assert "log-scaled" in log_text


def test_play_replays_every_step_in_time_order(friday_late: Timeline) -> None:
    pauses: list[float] = []
    con = _console(100)
    assert play(friday_late, con, speed=2.0, sleep=pauses.append) is True
    n = sum(len(r.steps) for r in friday_late.rails)
    assert len(pauses) == n
    assert all(0 < p <= 2.5 / 2.0 + 1e-9 for p in pauses)  # bounded, divided by the speed
    order = sorted((s.started_at, s.rail, s.seq, s.duration_s)
                   for r in friday_late.rails for s in r.steps)
    longest = max(range(n), key=lambda i: order[i][3])
    assert pauses.index(max(pauses)) == longest  # the weekend gets the longest pause
    text = con.export_text()
    assert "cut-off + weekend" in text and "now:" in text


def test_play_stops_cleanly_on_ctrl_c(friday_late: Timeline) -> None:
    calls = []

    def interrupt(s: float) -> None:
        calls.append(s)
        if len(calls) == 3:
            raise KeyboardInterrupt

    con = _console(100)
    assert play(friday_late, con, sleep=interrupt) is False
    assert "replay stopped" in con.export_text()


def test_html_is_one_self_contained_file(friday_late: Timeline, tmp_path: Path) -> None:
    page = to_html(friday_late)
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)
    assert "Plotly.newPlot" in page or "newPlot" in page
    n = sum(len(r.steps) for r in friday_late.rails)
    assert page.count("<tr class='step-row") == n
    for text in ("clock time (linear)", "elapsed time (log)", "cut-off + weekend",
                 "on-ramp window: after hours + weekend", "17:30 Fri", "08:00 Mon",
                 "compliance review" if any(s.category == "review" for r in friday_late.rails
                                            for s in r.steps) else "finality"):
        assert text in page
    out = write_html(friday_late, tmp_path / "t" / "friday.html")
    assert out.read_text(encoding="utf-8") == page
    assert out.stat().st_mode & 0o044 == 0o044  # readable by others, like any page
    assert [p.name for p in out.parent.iterdir()] == ["friday.html"]  # no temp file left
