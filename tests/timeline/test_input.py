"""``settlesim timeline`` refuses what it cannot show in one line (exit 2): instants
the model cannot simulate, negative seeds, damaged run folders, and a sweep's
payment without saying which of its runs."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from sim.cli import main
from sim.experiments.runner import run
from sim.experiments.sweep import run_sweep
from sim.outputs.timeline import TimelineError, from_results, load_run, simulate


def _refused(argv: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["timeline", *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("settlesim timeline: "), err
    return err


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("run") / "run"
    run("baseline", payments=3).save(d)
    return d


@pytest.fixture(scope="module")
def sweep_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("sweep") / "sweep"
    run_sweep("baseline", ["onchain.chain=ethereum-l1,fast-ledger"], out=d, replications=2,
              payments=3, workers=1)
    return d


@pytest.mark.parametrize(("at", "said"), [
    ("1960-01-05 10:00", "before 1970-01-01T00:00:00Z"),
    ("0001-01-01 00:00", "before 1970-01-01T00:00:00Z"),
    ("1999-03-05 10:00", "the holidays data of IN covers 2001..2035, not 1999"),
    ("2150-01-05 10:00", "the holidays data of US covers 1777..2100, not 2150"),
    ("2261-06-01 10:00", "the last instant the model represents"),
    ("9999-12-31 23:59", "bad date/time"),
])
def test_an_instant_far_in_the_past_or_future_is_refused(at, said, capsys):
    assert said in _refused(["--at", at, "--quiet"], capsys)


def test_simulate_refuses_such_instants_and_bad_seeds_as_input_errors():
    with pytest.raises(TimelineError, match="before 1970"):
        simulate("US-MX", -86400.0)
    with pytest.raises(TimelineError, match="seed must be a whole number >= 0"):
        simulate("US-MX", 1763760600.0, seed=-3)
    with pytest.raises(TimelineError, match="at must be an aware datetime"):
        simulate("US-MX", "2025-11-21")  # type: ignore[arg-type]


@pytest.mark.parametrize(("argv", "said"), [
    (["--seed", "-3"], "argument --seed: must be at least 0, not -3"),
    (["--speed", "nan"], "argument --speed: must be a finite number above 0"),
    (["--speed", "-1"], "argument --speed: must be a finite number above 0"),
    (["--width", "-5"], "argument --width: must be at least 40"),
    (["--grid-point", "-1"], "argument --grid-point: must be at least 0"),
])
def test_bad_numbers_are_argparse_one_liners(argv, said, capsys):
    with pytest.raises(SystemExit) as info:
        main(["timeline", "--at", "2026-11-27 16:30", "--quiet", *argv])
    assert info.value.code == 2
    err = capsys.readouterr().err
    assert said in err and "Traceback" not in err


@pytest.mark.parametrize(("damage", "said"), [
    ("no-steps", "no steps.parquet or steps.csv"),
    ("garbage-parquet", "steps.parquet: cannot be read as the steps table of a run"),
    ("empty-parquet", "steps.parquet: cannot be read as the steps table of a run"),
    ("garbage-csv", "steps.csv: not the steps table of a run: no column(s)"),
    ("binary-csv", "steps.csv: cannot be read as the steps table of a run"),
    ("wrong-columns", "steps.parquet: not the steps table of a run: no column(s) seq"),
    ("bad-times", "steps.csv: column 'started_at' holds a value that is not a date-time"),
    ("bad-payments", "payments.parquet: cannot be read as the payments table"),
    ("payments-columns", "payments.parquet: not the payments table of a run: no column(s) "
                         "status"),
])
def test_a_damaged_run_folder_is_refused_in_one_line(run_dir, tmp_path, capsys, damage, said):
    d = tmp_path / "damaged"
    d.mkdir()
    for f in ("payments.parquet", "steps.parquet", "payments.csv", "steps.csv"):
        (d / f).write_bytes((run_dir / f).read_bytes())
    steps = pd.read_parquet(run_dir / "steps.parquet")
    if damage == "no-steps":
        (d / "steps.parquet").unlink()
        (d / "steps.csv").unlink()
    elif damage == "garbage-parquet":
        (d / "steps.parquet").write_bytes(b"PAR1 not really")
    elif damage == "empty-parquet":
        (d / "steps.parquet").write_bytes(b"")
    elif damage in ("garbage-csv", "binary-csv", "bad-times"):
        (d / "steps.parquet").unlink()
        if damage == "garbage-csv":
            (d / "steps.csv").write_text("hello,world\n1,2\n", encoding="utf-8")
        elif damage == "binary-csv":
            (d / "steps.csv").write_bytes(b"\xff\xfe\x00\x00garbage\x00\n")
        else:
            steps.assign(started_at="yesterday").to_csv(d / "steps.csv", index=False)
    elif damage == "wrong-columns":
        steps.drop(columns=["seq"]).to_parquet(d / "steps.parquet")
    elif damage == "bad-payments":
        (d / "payments.parquet").write_bytes(b"garbage")
    elif damage == "payments-columns":
        pd.read_parquet(run_dir / "payments.parquet").drop(columns=["status"]).to_parquet(
            d / "payments.parquet")
    err = _refused(["--payment", "P0000000", "--run", str(d), "--quiet"], capsys)
    assert said in err


def test_a_sweep_s_payment_needs_its_run_when_it_ran_in_several(sweep_dir, capsys):
    err = _refused(["--payment", "P0000001", "--run", str(sweep_dir), "--quiet"], capsys)
    assert "ran in 4 runs of this sweep" in err
    assert "choose one with --grid-point N --replication N" in err
    err = _refused(["--payment", "P0000001", "--run", str(sweep_dir), "--grid-point", "7",
                    "--quiet"], capsys)
    assert "no run with --grid-point 7; allowed: 0, 1" in err


def test_a_sweep_s_payment_shows_the_header_and_steps_of_one_run(sweep_dir, capsys):
    payments, steps = load_run(sweep_dir)
    for g in (0, 1):
        for r in (0, 1):
            tl = from_results((payments, steps), "P0000001", grid_point=g, replication=r)
            want_s = steps[(steps.payment_id == "P0000001") & (steps.grid_point == g)
                           & (steps.replication == r)]
            want_p = payments[(payments.payment_id == "P0000001") & (payments.grid_point == g)
                              & (payments.replication == r)]
            for rt in tl.rails:
                rs = want_s[want_s.rail == rt.rail].sort_values("seq")
                assert [s.kind for s in rt.steps] == list(rs.kind)
                assert [s.cost for s in rt.steps] == [int(c) for c in rs.cost]
                row = want_p[want_p.rail == rt.rail].iloc[0]
                assert rt.fee_total_sent == int(row.fee_total_sent)
                assert rt.status == row.status
            assert tl.amount_sent == int(want_p.iloc[0].amount_sent)
    assert main(["timeline", "--payment", "P0000001", "--run", str(sweep_dir), "--grid-point",
                 "1", "--replication", "0", "--quiet"]) == 0


def test_grid_point_options_on_a_plain_run_are_refused(run_dir, capsys):
    err = _refused(["--payment", "P0000000", "--run", str(run_dir), "--replication", "0",
                    "--quiet"], capsys)
    assert "--replication applies to a sweep's folder" in err
