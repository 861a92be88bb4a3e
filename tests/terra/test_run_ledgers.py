"""The run model gives identical tables on the mirror and on the real contracts."""

from __future__ import annotations

import time

import pandas as pd
import pytest

from sim.experiments.runner import run_scenario
from sim.experiments.scenario import load_scenario
from sim.terra.model import run_terra
from sim.terra.settings import TerraSettings


def _at(text: str) -> object:
    return pd.Timestamp(text).to_pydatetime()


def test_a_tiny_run_on_the_contracts_matches_the_mirror_exactly() -> None:
    # a shock, a halt and Proposal 1164 within the first hour and a half: holders' sales
    # (and reverted ones), Anchor withdrawals, redemptions, the reserve's purchases
    s = TerraSettings.default().with_changes({
        "run.agents": 10, "run.days": 0.07, "run.step_seconds": 600,
        "shocks": [{"at": _at("2022-05-07T00:10Z"), "sell_usd": 400e6}],
        "halts": [{"start": _at("2022-05-07T00:40Z"), "hours": 0.2}],
        "governance": [{"at": _at("2022-05-07T01:10Z"), "base_pool_sdr": 100e6,
                        "recovery_period": 18}]})
    mirror = run_terra(s, seed=3, ledger="mirror")
    contracts = run_terra(s, seed=3, ledger="contracts")
    kinds = set(mirror.transactions.loc[mirror.transactions["status"] == "ok", "kind"])
    assert {"pool_swap", "swap_to_gov", "transfer", "set_params"} <= kinds
    assert mirror.series["halted"].any()
    pd.testing.assert_frame_equal(mirror.series, contracts.series)
    pd.testing.assert_frame_equal(mirror.transactions, contracts.transactions)


@pytest.mark.slow
def test_terra_run_on_the_contracts_with_500_agents_matches_the_mirror() -> None:
    sc = load_scenario("terra-run").with_params({
        "payments": 10, "horizon.days": 1.5, "terra.days": 1.5, "terra.agents": 500,
        "terra.step_seconds": 600})
    # the speed is the benchmark's to measure (benchmarks/bench_terra_run.py); this test
    # checks the tables, and reports the contracts run's CPU time
    runs = {}
    for ledger in ("mirror", "contracts"):
        clock = time.process_time()
        runs[ledger] = run_scenario(sc.with_params({"terra.ledger": ledger}), seed=1)
        print(f"{ledger}: {time.process_time() - clock:.0f} s of CPU")
    m, c = runs["mirror"], runs["contracts"]
    assert len(m.meta["terra"]["transactions"]) > 500
    for name in ("series", "transactions"):
        pd.testing.assert_frame_equal(m.meta["terra"][name], c.meta["terra"][name])
    pd.testing.assert_frame_equal(m.payments, c.payments)
    pd.testing.assert_frame_equal(m.steps, c.steps)
