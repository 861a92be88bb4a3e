"""``settlesim timeline`` end to end (in process) and the gallery script."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import pytest

from sim.banking import correspondent
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload
from sim.cli import main
from sim.onchain import rail as onchain
from sim.onchain.spec import OnChainSpec
from sim.results import Results

ROOT = Path(__file__).resolve().parents[2]


def test_timeline_command_writes_the_page_and_prints_the_tables(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "friday.html"
    rc = main(["timeline", "--corridor", "US-MX", "--at", "2025-11-21 16:30", "--tz",
               "America/New_York", "--out", str(out), "--width", "100", "--seed", "1"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "US-MX: 1,000.00 USD -> MXN, sent Fri 21 Nov 2025 13:30 Los Angeles" in text
    assert "Correspondent banking" in text and "On-chain" in text
    assert f"wrote {out}" in text
    page = out.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]+src=", page)
    assert page.count("<tr class='step-row") == 9 + 16  # the known payment's steps


def test_timeline_command_options(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    rc = main(["timeline", "--sender", "GCUSUS33", "--beneficiary", "PLMXMXMM", "--at",
               "2026-11-26 11:00", "--amount", "250", "--width", "120", "--log", "--charge",
               "OUR"])
    assert rc == 0
    text = capsys.readouterr().out
    assert "250.00 USD" in text and "Thu 26 Nov 2026 11:00 New York" in text
    assert "holiday: Thanksgiving Day" in text  # the sender's own holiday
    rc = main(["timeline", "--corridor", "US-MX", "--at", "2026-11-27 16:30", "--play",
               "--speed", "1000", "--width", "100"])
    assert rc == 0
    assert "now:" in capsys.readouterr().out


def test_timeline_with_a_shipped_scenario(capsys: pytest.CaptureFixture[str]) -> None:
    if importlib.util.find_spec("sim.experiments.scenario") is None:
        pytest.skip("scenarios not available")
    rc = main(["timeline", "baseline", "--at", "2026-11-17 09:30", "--quiet", "--width",
               "100"])
    assert rc == 0


def test_timeline_from_a_finished_run(tmp_path: Path,
                                      capsys: pytest.CaptureFixture[str]) -> None:
    net, spec = BankNetwork.default(), OnChainSpec.default()
    wl = Workload.generate(seed=2, n_payments=5, network=net)
    res = Results.concat([correspondent.run(net, wl, seed=2),
                          onchain.run(net, wl, seed=2, spec=spec, ledger="table")])
    res.write(tmp_path / "run")
    pid = wl[2].payment_id
    out = tmp_path / "p.html"
    rc = main(["timeline", "--payment", pid, "--run", str(tmp_path / "run"), "--out",
               str(out), "--quiet"])
    assert rc == 0
    n = int((res.steps.payment_id == pid).sum())
    assert out.read_text(encoding="utf-8").count("<tr class='step-row") == n
    capsys.readouterr()


@pytest.mark.parametrize(("argv", "message"), [
    (["--corridor", "XX-MX", "--at", "2026-11-27 16:30"], "unknown corridor 'XX-MX'"),
    (["--sender", "NOPE1234", "--beneficiary", "PLMXMXMM", "--at", "2026-11-27 16:30"],
     "unknown bank 'NOPE1234'"),
    (["--at", "2026-11-27 16:30", "--tz", "Mars/Olympus"], "unknown time zone 'Mars/Olympus'"),
    (["--at", "Friday afternoon"], "bad date/time 'Friday afternoon'"),
    (["--corridor", "US-MX"], "give --at"),
    (["--payment", "P0000001", "--run", "/nonexistent/run"], "run directory"),
    (["--payment", "P0000001"], "--payment needs --run"),
    (["--at", "2026-11-27 16:30", "--amount", "-5"], "amount must be positive"),
    (["no-such-scenario", "--at", "2026-11-27 16:30"], "no-such-scenario"),
])
def test_wrong_input_is_one_clear_line_and_status_2(
        argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["timeline", *argv]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("settlesim timeline: ")
    assert message in err


def test_unknown_payment_id_in_a_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    net = BankNetwork.default()
    wl = Workload.generate(seed=2, n_payments=2, network=net)
    correspondent.run(net, wl, seed=2).write(tmp_path / "run")
    assert main(["timeline", "--payment", "P7777777", "--run", str(tmp_path / "run")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "payment 'P7777777' not found" in err


def test_gallery_script(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    spec = importlib.util.spec_from_file_location("timeline_gallery",
                                                  ROOT / "scripts" / "timeline_gallery.py")
    assert spec is not None and spec.loader is not None
    mod = importlib.util.module_from_spec(spec)
    sys.modules["timeline_gallery"] = mod  # dataclasses look their module up
    try:
        spec.loader.exec_module(mod)
        assert mod.main(["--out", str(tmp_path / "g")]) == 0
    finally:
        sys.modules.pop("timeline_gallery", None)
    names = sorted(p.name for p in (tmp_path / "g").iterdir())
    assert names == ["index.html", "us-mx-friday-before-mx-holiday.html",
                     "us-mx-friday-evening.html", "us-mx-holiday-eve.html",
                     "us-mx-tuesday-morning.html"]
    index = (tmp_path / "g" / "index.html").read_text(encoding="utf-8")
    for n in names[1:]:
        assert f"href='{n}'" in index
    friday = (tmp_path / "g" / "us-mx-friday-evening.html").read_text(encoding="utf-8")
    assert "cut-off + weekend" in friday
    eve = (tmp_path / "g" / "us-mx-holiday-eve.html").read_text(encoding="utf-8")
    assert "Thanksgiving Day" in eve
    mx = (tmp_path / "g" / "us-mx-friday-before-mx-holiday.html").read_text(encoding="utf-8")
    assert "Revolution Day" in mx and "credited Tue 17 Nov 2026" in mx
    assert "wrote" in capsys.readouterr().out
