"""The HTML timeline in a real browser: headless Chromium draws every step of both rails.

Needs ``chromium`` (``make browser`` installs the Debian package). The page
counts the bars Plotly drew per rail into ``#drawn-steps`` after rendering; the
test reads them from the dumped DOM, counts the bar elements itself too, and
keeps a screenshot in ``out/test-artifacts/timeline/``.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from sim.outputs.timeline import Timeline, write_html

from .conftest import CHROMIUM

pytestmark = [pytest.mark.integration,
              pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed "
                                 "(make browser)")]

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--virtual-time-budget=5000", "--window-size=1600,1000")


def _open(url: str, profile: Path, shot: Path) -> str:
    """The DOM after the page ran its scripts; a screenshot saved to ``shot``."""
    cmd = [str(CHROMIUM), *FLAGS, f"--user-data-dir={profile}", f"--screenshot={shot}",
           "--dump-dom", url]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=90, check=False,
                          env={"PATH": "/usr/bin:/bin", "HOME": str(profile),
                               "DBUS_SESSION_BUS_ADDRESS": "disabled:"})
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def _drawn(dom: str) -> dict[str, int]:
    m = re.search(r'<pre id="drawn-steps"[^>]*>([^<]*)</pre>', dom)
    assert m and m.group(1), "the page did not report its bars (Plotly did not render?)"
    return {str(k): int(v) for k, v in json.loads(m.group(1)).items()}


def _bars(dom: str) -> list[int]:
    """Drawn bars per bar trace, counted in the SVG itself."""
    layer = dom[dom.index('class="barlayer'):]
    traces = re.split(r'<g class="trace bars"', layer)[1:]
    return [len(re.findall(r'<g class="point"><path d="M[^"]+"', t.split("</g></g></g>")[0]))
            for t in traces]


def _views(dom: str) -> dict[str, dict[str, int]]:
    m = re.search(r'<pre id="drawn-views"[^>]*>([^<]*)</pre>', dom)
    assert m and m.group(1), "the page did not go through its views"
    return json.loads(m.group(1))


def test_every_step_of_both_rails_is_drawn_in_every_view(
        friday_late: Timeline, tmp_path: Path, artifacts_dir: Path) -> None:
    """The page draws each view in turn (``#check-views``) and reports the bars per rail;
    it ends on the clock-time view, whose screenshot is kept."""
    page = write_html(friday_late, tmp_path / "friday.html")
    shot = artifacts_dir / "friday-us-mx-linear.png"
    shot.unlink(missing_ok=True)
    dom = _open(page.resolve().as_uri() + "#check-views", tmp_path / "profile", shot)
    want = {r.rail: len(r.steps) for r in friday_late.rails}
    assert _views(dom) == {"clock time (linear)": want, "elapsed time (log)": want,
                           "each step": want}
    assert _drawn(dom) == want
    assert sorted(_bars(dom)) == sorted(want.values())  # counted in the SVG here too
    assert "cut-off + weekend" in dom
    assert _axis_title(dom) == "time (UTC)"
    assert shot.exists() and shot.stat().st_size > 20_000
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_log_view_link_opens_on_the_log_axis(friday_ny: Timeline, tmp_path: Path,
                                            artifacts_dir: Path) -> None:
    page = write_html(friday_ny, tmp_path / "friday-ny.html")
    shot = artifacts_dir / "friday-ny-us-mx-log.png"
    shot.unlink(missing_ok=True)
    dom = _open(page.resolve().as_uri() + "#log", tmp_path / "profile", shot)
    want = {r.rail: len(r.steps) for r in friday_ny.rails}
    assert _drawn(dom) == want
    assert sorted(_bars(dom)) == sorted(want.values())
    assert _axis_title(dom) == "time since the payment was sent (log scale)"
    ticks = re.findall(r'<text[^>]*class="xtick"[^>]*>([^<]*)</text>', dom) or re.findall(
        r'class="xtick"><text[^>]*>([^<]*)</text>', dom)
    assert {"1 s", "1 min", "1 h", "1 day"} <= set(ticks)
    assert shot.exists() and shot.stat().st_size > 20_000


def _axis_title(dom: str) -> str:
    title = re.search(r'<text class="xtitle"[^>]*>([^<]*)</text>', dom)
    assert title is not None
    return title.group(1)
