"""Fuzzing the command line: hypothesis draws argument lists for ``run``, ``sweep``
and ``timeline`` (good, bad and odd values of every option, in any order); each is
refused (argparse's or settlesim's one-line error, exit status 2, nothing written)
or succeeds. Never a traceback. Runs are kept to a few payments; ``--out`` always
points into a temporary folder."""

from __future__ import annotations

import contextlib
import io
import itertools
import shutil
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.experiments.runner import run

CLI_PROFILE = settings(max_examples=max(30, settings().max_examples),
                       suppress_health_check=[HealthCheck.too_slow,
                                              HealthCheck.data_too_large])
_COUNTER = itertools.count()

SCENARIOS = ["baseline", "fast-ledger", "weekend", "nope", "", "{bad}", "{latin1}", "{dir}"]
SMALL = ["1", "2", "3", "0", "-1", "-3", "abc", "", "2.5", "1e3", "é", "0x10", " 3"]
OUTS = ["{new}", "{new}", "{file}", "/proc/settlesim-cannot-write/x", ""]

RUN_OPTS: dict[str, list[str] | None] = {
    "--payments": SMALL, "--seed": [*SMALL, "99999999999999999999999"],
    "--replications": ["1", "2", "0", "-1", "1001", "x"],
    "--ledger": ["table", "contracts", "sql", ""], "--out": OUTS,
}
SWEEP_OPTS: dict[str, list[str] | None] = {
    "--payments": SMALL, "--replications": ["1", "2", "0", "-1", "x"],
    "--ledger": ["table", "sql"], "--out": OUTS, "--workers": ["1", "0", "-2", "x"],
    "--scheduler": ["nope", "", "http://x", "tcp://"], "--retries": ["0", "2", "-1", "x"],
    "--grid": ["onchain.chain=ethereum-l1,fast-ledger", "payments=2,3", "payments=abc",
               "nope=1", "=", "onchain.chain=solana", "horizon.days=1,2", "seed=-1",
               "onchain.chain", "payments=2,2", "onchain.escrow.fee_bps=0,5",
               "horizon.start=1960-01-01T00:00:00Z", "onchain.ramps.currencies.XYZ.cutoff=1",
               "rails=onchain", "payments=1e9", ""],
    "--quiet": None, "--common-seeds": None, "--collect": None, "--no-collect": None,
}
TIMELINE_OPTS: dict[str, list[str] | None] = {
    "--corridor": ["US-MX", "US-IN", "XX-YY", "usmx", "", "GB-NG"],
    "--sender": ["GCUSUS33", "NOPE1234", ""], "--beneficiary": ["PLMXMXMM", "PLININBB", "x"],
    "--at": ["2026-11-27 16:30", "2025-11-21 17:30", "1960-01-01 10:00", "2150-01-01 10:00",
             "9999-12-31 23:59", "0001-01-01 00:00", "friday", "", "2026-02-30 10:00",
             "2026-11-27T16:30:00+05:30"],
    "--tz": ["America/New_York", "Asia/Kolkata", "Mars/Olympus", "", "UTC"],
    "--amount": ["1000", "-5", "0", "abc", "nan", "inf", "1e30", "0.001", "1e-30", "1e400",
                 "250.5"],
    "--currency": ["USD", "XYZ", "mxn", ""], "--segment": ["retail", "wholesale", "x"],
    "--charge": ["OUR", "BEN", "x"], "--seed": SMALL, "--chain": ["fast-ledger", "solana"],
    "--payment": ["P0000000", "P0000001", "P9999999", ""], "--run": ["{run}", "{sweep}",
                                                                     "{new}", "{file}"],
    "--grid-point": ["0", "1", "-1", "x"], "--replication": ["0", "5", "x"],
    "--out": ["{html}", "{file}", "{new}/deep/p.html", "/proc/x.html"],
    "--width": ["100", "40", "39", "-5", "x"], "--speed": ["2", "0", "nan", "-1"],
    "--log": None, "--linear": None, "--quiet": None,
}
COMMANDS = {"run": RUN_OPTS, "sweep": SWEEP_OPTS, "timeline": TIMELINE_OPTS}


@st.composite
def argv(draw: st.DrawFn) -> tuple[str, list[str]]:
    cmd = draw(st.sampled_from(sorted(COMMANDS)))
    opts = COMMANDS[cmd]
    args: list[str] = []
    if cmd != "timeline" or draw(st.booleans()):
        args.append(draw(st.sampled_from(SCENARIOS)))
    for _ in range(draw(st.integers(0, 4))):
        name = draw(st.sampled_from(sorted(opts)))
        values = opts[name]
        args.append(name)
        if values is not None:
            # the first values listed are good ones: drawn half of the time
            good = values[:2] if name != "--out" else values[:1]
            args.append(draw(st.sampled_from(good) | st.sampled_from(values)))
    if draw(st.integers(0, 9)) == 0:
        args.insert(draw(st.integers(0, len(args))), draw(st.sampled_from(
            ["--bogus", "-x", "--", "--payments=3", "extra", "--help-me"])))
    return cmd, args


@pytest.fixture(scope="module")
def places(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("cli-fuzz")
    bad = root / "bad.toml"
    bad.write_text('name = "x"\npayments = true\n', encoding="utf-8")
    latin = root / "latin1.toml"
    latin.write_bytes('name = "café"\n'.encode("latin-1"))
    a_file = root / "a-file"
    a_file.write_text("not a folder\n", encoding="utf-8")
    run_dir = root / "run"
    run("baseline", payments=2).save(run_dir)
    sweep_dir = root / "sweep"
    assert main(["sweep", "baseline", "--grid", "onchain.chain=ethereum-l1,fast-ledger",
                 "--payments", "2", "--workers", "1", "--quiet", "--out", str(sweep_dir)]) == 0
    return {"bad": bad, "latin1": latin, "dir": root, "file": a_file, "run": run_dir,
            "sweep": sweep_dir, "root": root}


def _fill(args: list[str], places: dict[str, Path], fresh: Path) -> list[str]:
    subs = {"{bad}": str(places["bad"]), "{latin1}": str(places["latin1"]),
            "{dir}": str(places["dir"]), "{file}": str(places["file"]),
            "{run}": str(places["run"]), "{sweep}": str(places["sweep"]),
            "{new}": str(fresh), "{html}": str(fresh) + ".html"}
    return [next((a.replace(k, v) for k, v in subs.items() if k in a), a) for a in args]


@CLI_PROFILE
@given(drawn=argv())
def test_cli_arguments_are_refused_in_one_line_or_succeed(places, drawn):
    cmd, raw = drawn
    fresh = places["root"] / f"out-{next(_COUNTER)}"
    args = _fill(raw, places, fresh)
    if cmd in ("run", "sweep"):
        # a few payments whatever else is drawn (a drawn --payments comes later and wins)
        args = [args[0] if args and not args[0].startswith("-") else "baseline",
                "--payments", "3", *(args[1:] if args and not args[0].startswith("-")
                                     else args)]
        if "--out" not in args:
            args += ["--out", str(fresh)]
        if cmd == "sweep":
            if "--workers" not in args and "--scheduler" not in args:
                args += ["--workers", "1"]
    else:
        # a payment to show whatever else is drawn (a drawn --at comes later and wins)
        args = ["--at", "2026-11-27 16:30", *args]
        if "--quiet" not in args:
            args.append("--quiet")
    outs = {Path(args[i + 1]) for i, a in enumerate(args[:-1]) if a == "--out"}
    before = {p: p.exists() for p in outs}
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([cmd, *args])
        except SystemExit as exc:      # argparse: usage and one 'error:' line
            code = exc.code if isinstance(exc.code, int) else 2
            assert code == 2, exc
            assert "error: " in err.getvalue()
    text = err.getvalue()
    assert "Traceback" not in text
    assert code in (0, 1, 2), (code, text)
    event(f"{cmd}: exit {code}")
    if code == 2:
        assert text.strip(), "a refusal says why"
        for p, existed in before.items():
            if not existed:
                assert not p.exists(), f"refused, yet {p} was written"
    for p in outs:
        if str(p).startswith(str(places["root"])) and p.exists() and p != places["file"]:
            shutil.rmtree(p, ignore_errors=True) if p.is_dir() else p.unlink()
