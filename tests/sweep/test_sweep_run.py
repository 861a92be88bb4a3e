"""Running sweeps: the CLI writes every file; results are byte-identical in-process,
on a 2-process local pool and on a cluster reached by its scheduler address; a task
whose worker dies, or that raises, is re-run and the sweep loses nothing."""

from __future__ import annotations

import json
import os
from pathlib import Path

import cloudpickle
import pandas as pd
import pytest

import tests.sweep.faults as faults
from sim.balances import BALANCE_COLUMNS
from sim.cli import main
from sim.experiments.runner import replication_seed
from sim.experiments.sweep import KPI_NAMES, SweepError, run_sweep
from sim.results import PAYMENT_COLUMNS, STEP_COLUMNS
from tests.sweep.conftest import (
    ALL_FILES,
    CORR_GRID,
    GRID,
    PAYMENTS,
    REPLICATIONS,
    assert_same_tables,
    corr_argv,
)

# workers unpickle the fault wrappers by value: they need not import the tests package
cloudpickle.register_pickle_by_value(faults)

CHAINS = ["ethereum-l1", "fast-ledger"]


def test_cli_writes_every_file(reference: Path) -> None:
    for name in ALL_FILES:
        assert (reference / name).stat().st_size > 0, name
    assert not [p for p in reference.iterdir() if p.name.startswith(".")], "parts left behind"
    assert (reference / "figures" / "sensitivity.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_tables_carry_grid_point_parameters_and_replication(reference: Path) -> None:
    pay = pd.read_parquet(reference / "payments.parquet")
    steps = pd.read_parquet(reference / "steps.parquet")
    extra = ["grid_point", "onchain.chain", "replication"]
    assert list(pay.columns) == [*PAYMENT_COLUMNS, *extra]
    assert list(steps.columns) == [*STEP_COLUMNS, *extra]
    assert len(pay) == len(CHAINS) * REPLICATIONS * PAYMENTS * 2  # two rails
    bal = pd.read_parquet(reference / "balances.parquet")
    assert list(bal.columns) == [*BALANCE_COLUMNS, *extra]
    assert set(bal["rail"]) == {"correspondent", "onchain"}
    assert set(map(tuple, bal[["grid_point", "replication"]].drop_duplicates().to_numpy())) == {
        (g, r) for g in range(len(CHAINS)) for r in range(REPLICATIONS)}
    runs = pay[["grid_point", "replication"]].drop_duplicates()
    assert list(map(tuple, runs.to_numpy())) == [(g, r) for g in range(2)
                                                  for r in range(REPLICATIONS)]
    assert pay.groupby("grid_point")["onchain.chain"].unique().map(list).tolist() == [
        [c] for c in CHAINS]
    # sorted by (grid point, replication), each run in its own order
    key = pay["grid_point"] * 1000 + pay["replication"]
    assert key.is_monotonic_increasing
    # every step belongs to a payment of the same run
    ids = set(zip(pay.grid_point, pay.replication, pay.payment_id, strict=True))
    assert set(zip(steps.grid_point, steps.replication, steps.payment_id, strict=True)) <= ids


def test_summary_states_interval_and_seeds(reference: Path) -> None:
    doc = json.loads((reference / "sweep_summary.json").read_text())
    assert doc["grid"] == {"onchain.chain": CHAINS}
    assert "bootstrap" in doc["interval"] and "interval_warning" in doc   # 2 replications
    pay = pd.read_parquet(reference / "payments.parquet")
    for pt in doc["points"]:
        g = pt["grid_point"]
        assert pt["seeds"] == [replication_seed(doc["seed"], r, g) for r in range(REPLICATIONS)]
        for rail, e in pt["rails"].items():
            sub = pay[(pay.grid_point == g) & (pay.rail == rail)]
            assert e["count"] == len(sub)
            fr = e["failure_rate"]
            per_rep = [float((s.status != "credited").mean())
                       for _, s in sub.groupby("replication", sort=True)]
            assert fr["values"] == pytest.approx(per_rep)
            assert fr["mean"] == pytest.approx(sum(per_rep) / len(per_rep))
            for k in KPI_NAMES:
                lo, m, hi = e[k]["low"], e[k]["mean"], e[k]["high"]
                assert m is None or lo is None or lo <= m <= hi
    csv = pd.read_csv(reference / "sweep_summary.csv")
    assert len(csv) == 4 and {"latency_p50_s_mean", "latency_p50_s_low",
                              "cost_pct_mean_high", "onchain.chain"} <= set(csv.columns)


def test_two_local_workers_give_byte_identical_tables(reference: Path, tmp_path: Path) -> None:
    res = run_sweep("baseline", GRID, out=tmp_path, replications=REPLICATIONS,
                    payments=PAYMENTS, ledger="table", workers=2)
    assert res.workers == 2 and res.tasks == 4
    assert_same_tables(reference, tmp_path)


def test_scheduler_address_cli_byte_identical(corr_scenario: Path, corr_reference: Path,
                                              cluster: object, tmp_path: Path) -> None:
    address = cluster.scheduler_address  # type: ignore[attr-defined]
    assert address.startswith("tcp://")
    assert main(corr_argv(corr_scenario, tmp_path, "--scheduler", address)) == 0
    assert_same_tables(corr_reference, tmp_path)
    for name in ALL_FILES:
        assert (tmp_path / name).exists()


def test_worker_death_is_retried(corr_scenario: Path, corr_reference: Path, cluster: object,
                                tmp_path: Path) -> None:
    marker = tmp_path / "killed"
    out = tmp_path / "out"
    res = run_sweep(corr_scenario, CORR_GRID, out=out, collect=False,
                    scheduler=cluster.scheduler_address,  # type: ignore[attr-defined]
                    task_fn=faults.FailOnce(str(marker), kill=True))
    assert marker.exists(), "no worker was killed"
    assert res.tasks == 4
    assert_same_tables(corr_reference, out)


def test_task_exception_is_retried_in_process(reference: Path, tmp_path: Path) -> None:
    marker = tmp_path / "raised"
    run_sweep("baseline", GRID, out=tmp_path / "out", replications=REPLICATIONS,
              payments=PAYMENTS, ledger="table", workers=1,
              task_fn=faults.FailOnce(str(marker), kill=False))
    assert marker.exists()
    assert_same_tables(reference, tmp_path / "out")


def test_task_failing_every_retry_names_it_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "out"
    with pytest.raises(SweepError, match=r"grid point 0 \(onchain.chain=ethereum-l1\), "
                                         r"replication 0 .*boom at g0 r0"):
        run_sweep("baseline", GRID, out=out, replications=1, payments=5, workers=1,
                  retries=1, task_fn=faults.always_fails)
    assert not out.exists()


def test_sweep_files_have_the_run_files_modes_and_a_manifest(reference: Path) -> None:
    from sim.publish import verify_manifest

    mask = os.umask(0)
    os.umask(mask)
    for name in ALL_FILES:
        assert (reference / name).stat().st_mode & 0o777 == 0o666 & ~mask, name
    assert not verify_manifest(reference)
    doc = json.loads((reference / "manifest.json").read_text())
    assert doc["scenario"] == "baseline"
    from sim.experiments.scenario import load_scenario
    assert doc["scenario_sha256"] == load_scenario("baseline").digest()
    assert {(s["grid_point"], s["replication"]) for s in doc["seeds"]} == {
        (g, r) for g in range(2) for r in range(REPLICATIONS)}
    assert all(s["seed"] == replication_seed(doc["scenario_seed"], s["replication"],
                                             s["grid_point"])
               for s in doc["seeds"])


def test_a_failed_sweep_leaves_an_earlier_sweep_whole(reference: Path, tmp_path: Path) -> None:
    import shutil

    from sim.publish import verify_manifest

    out = tmp_path / "out"
    shutil.copytree(reference, out)
    with pytest.raises(SweepError):
        run_sweep("baseline", {"onchain.chain": ["ethereum-l1"]}, out=out, replications=1,
                  payments=5, workers=1, retries=0, task_fn=faults.always_fails)
    assert not verify_manifest(out)
    assert_same_tables(reference, out)
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
