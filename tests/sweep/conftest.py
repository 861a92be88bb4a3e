"""Fixtures for the sweep tests: small sweeps run in-process (the references every
other way of running them must match byte for byte) and a Dask LocalCluster started
here, reached through its scheduler address like any remote cluster.

Two sweeps: ``baseline`` (both rails, table ledger) over two chains, and a
correspondent-only scenario over the routing policy, whose workers need not
measure the contracts' gas (seconds per worker process), for the cluster tests."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from sim.cli import main

#: The sweep every test runs: 2 chains x 2 replications x 20 payments, table ledger.
GRID = ["onchain.chain=ethereum-l1,fast-ledger"]
REPLICATIONS = 2
PAYMENTS = 20
#: Files whose bytes must not depend on where or how the tasks ran.
TABLES = ("payments.parquet", "steps.parquet", "balances.parquet", "sweep_summary.csv",
          "sweep_summary.json")
ALL_FILES = (*TABLES, "figures/sensitivity.png")


def sweep_argv(out: Path, *extra: str) -> list[str]:
    argv = ["sweep", "baseline", "--replications", str(REPLICATIONS), "--payments",
            str(PAYMENTS), "--ledger", "table", "--out", str(out), "--quiet"]
    for g in GRID:
        argv += ["--grid", g]
    return argv + list(extra)


#: The correspondent-only sweep of the cluster tests.
CORR_SCENARIO = """
name = "sweep-test"
seed = 5
replications = 2
payments = 20
rails = ["correspondent"]
"""
CORR_GRID = ["correspondent.policy=fewest_hops,cheapest"]


def corr_argv(scenario: Path, out: Path, *extra: str) -> list[str]:
    return ["sweep", str(scenario), "--out", str(out), "--quiet",
            *[a for g in CORR_GRID for a in ("--grid", g)], *extra]


def assert_same_tables(a: Path, b: Path) -> None:
    for name in TABLES:
        assert (a / name).read_bytes() == (b / name).read_bytes(), f"{name} differs"


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The sweep run through the CLI with one worker (in this process)."""
    out = tmp_path_factory.mktemp("sweep") / "reference"
    assert main(sweep_argv(out, "--workers", "1")) == 0
    return out


@pytest.fixture(scope="session")
def corr_scenario(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("scenario") / "sweep-test.toml"
    path.write_text(CORR_SCENARIO)
    return path


@pytest.fixture(scope="session")
def corr_reference(tmp_path_factory: pytest.TempPathFactory, corr_scenario: Path) -> Path:
    """The correspondent-only sweep run through the CLI with one worker (in this process)."""
    out = tmp_path_factory.mktemp("sweep") / "corr-reference"
    assert main(corr_argv(corr_scenario, out, "--workers", "1")) == 0
    return out


@pytest.fixture(scope="session")
def cluster() -> Iterator[object]:
    """A 2-process Dask LocalCluster, closed after the session."""
    from distributed import LocalCluster

    c = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                     dashboard_address=":0", silence_logs=logging.ERROR)
    try:
        yield c
    finally:
        c.close()
