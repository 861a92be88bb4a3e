"""The HTML report in a real browser: headless Chromium opens it with no network, the
tables and every figure render, and a screenshot is saved."""

from __future__ import annotations

import re
import shutil
import struct
import subprocess
from pathlib import Path

import pytest

from sim.outputs.report import write_report

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
REPO = Path(__file__).resolve().parents[2]

# Run after the page has loaded: record each image's decoded size and each table's rows
# in the DOM, which --dump-dom then prints.
PROBE = """<script>
window.addEventListener("load", function () {
  var out = [];
  for (var i = 0; i < document.images.length; i++) {
    var im = document.images[i];
    out.push("img " + im.alt + " " + im.complete + " " + im.naturalWidth + "x" +
             im.naturalHeight + " " + im.getBoundingClientRect().width);
  }
  var tables = document.querySelectorAll("table");
  for (var j = 0; j < tables.length; j++) {
    out.push("table " + tables[j].id + " " + tables[j].rows.length + " " +
             tables[j].getBoundingClientRect().height);
  }
  var pre = document.createElement("pre");
  pre.id = "probe";
  pre.textContent = out.join("\\n");
  document.body.appendChild(pre);
});
</script></body>"""


def _chromium(binary: str, profile: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([binary, *FLAGS, f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@pytest.mark.integration
def test_report_renders_in_headless_chromium(baseline_small, chromium, tmp_path):
    from sim.outputs.figures import render_figures

    pngs = render_figures(baseline_small.payments)
    report = write_report(baseline_small, tmp_path / "report.html", pngs)
    text = report.read_text(encoding="utf-8")
    assert not re.search(r'(src|href)="(https?:)?//', text), "the report must not need a network"
    probe = tmp_path / "probe.html"
    probe.write_text(text.replace("</body>", PROBE), encoding="utf-8")

    dom = _chromium(chromium, tmp_path / "profile", "--virtual-time-budget=10000",
                    "--dump-dom", probe.as_uri())
    assert dom.returncode == 0, dom.stderr[-2000:]
    m = re.search(r'<pre id="probe">(.*?)</pre>', dom.stdout, re.S)
    assert m, "the probe did not run: " + dom.stdout[-500:]
    lines = m.group(1).splitlines()
    imgs = {ln.split()[1]: ln.split()[2:] for ln in lines if ln.startswith("img ")}
    assert set(imgs) == set(pngs)
    for name, (complete, size, shown) in imgs.items():
        w, h = (int(x) for x in size.split("x"))
        assert complete == "true" and (w, h) == _png_size(pngs[name]), name
        assert float(shown) > 300, f"{name} is not displayed"
    tables = {ln.split()[1]: (int(ln.split()[2]), float(ln.split()[3]))
              for ln in lines if ln.startswith("table ")}
    assert set(tables) == {"assumptions", "kpis", "paired", "corridors", "liquidity-kpis",
                           "bank-exposure"}
    assert tables["kpis"][0] >= 12 and tables["corridors"][0] > 10
    assert all(height > 50 for _, height in tables.values())
    assert "credited within 1 business day" in dom.stdout

    shot = tmp_path / "report.png"
    res = _chromium(chromium, tmp_path / "profile", f"--screenshot={shot}",
                    "--window-size=1280,2000", "--hide-scrollbars", report.as_uri())
    assert res.returncode == 0 and shot.exists(), res.stderr[-2000:]
    w, h = _png_size(shot.read_bytes())
    assert (w, h) == (1280, 2000)
    keep = REPO / "out" / "test-report"
    keep.mkdir(parents=True, exist_ok=True)
    shutil.copy(shot, keep / "report-screenshot.png")
    shutil.copy(report, keep / "report.html")
