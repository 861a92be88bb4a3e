"""Payments bridged through the algorithmic stablecoin: value lost in flight, halts,
slippage failures; money conserved and the steps still add up."""

from __future__ import annotations

import pandas as pd
import pytest

from sim.experiments.runner import run_scenario
from sim.experiments.scenario import Scenario
from sim.results import Results, conservation_violations, step_violations
from sim.terra.bridge import RAIL, PricePath, bridge_pairs, bridge_results

T0 = pd.Timestamp("2022-05-07T00:00Z").timestamp()


@pytest.fixture(scope="module")
def onchain() -> Results:
    sc = Scenario(name="bridge", payments=12, rails=["onchain"],
                  horizon={"start": "2022-05-07T00:00:00Z", "days": 5})
    return run_scenario(sc, seed=2)


def _check(res: Results) -> None:
    assert conservation_violations(res.payments).empty
    assert step_violations(res.payments, res.steps).empty


def test_at_a_steady_peg_the_bridge_delivers_what_the_fiat_backed_rail_does(
        onchain: Results) -> None:
    b = bridge_results(onchain, PricePath([T0], [0.9996], []))
    _check(b)
    a = onchain.payments.set_index("payment_id")
    c = b.payments.set_index("payment_id")
    assert (c["rail"] == RAIL).all()
    pd.testing.assert_series_equal(a["amount_delivered"], c["amount_delivered"])
    assert (c["status"] == a["status"]).all()


def test_a_falling_price_takes_its_ratio_out_of_what_arrives(onchain: Results) -> None:
    times = [T0 + h * 3600 for h in range(24 * 8)]
    prices = [1.0 - 0.002 * h for h in range(len(times))]
    path = PricePath(times, prices, [])
    b = bridge_results(onchain, path, max_slippage_bps=5000)
    _check(b)
    a = onchain.payments.set_index("payment_id")
    c = b.payments.set_index("payment_id")
    s = b.steps
    for pid, row in c.iterrows():
        if a.loc[pid, "status"] != "credited":
            continue
        buy = s[(s.payment_id == pid) & s.detail.str.startswith("bridge: bought")]
        sell = s[(s.payment_id == pid) & s.detail.str.startswith("bridge: sold")]
        p_buy = path.at(buy.started_at.iloc[0].timestamp())
        p_sell = path.at(sell.started_at.iloc[0].timestamp())
        want = int(a.loc[pid, "amount_delivered"] * min(1.0, p_sell / p_buy))
        assert row["amount_delivered"] == want
        assert row["fee_fx_spread"] >= a.loc[pid, "fee_fx_spread"]
    assert (c["amount_delivered"] < a["amount_delivered"]).any()


def test_a_sale_beyond_the_slippage_limit_fails_and_returns_the_proceeds(
        onchain: Results) -> None:
    s = onchain.steps
    pid = onchain.payments.loc[onchain.payments["status"] == "credited", "payment_id"].iloc[0]
    mine = s[s.payment_id == pid]
    bought = mine[mine["kind"] == "mempool"]["ended_at"].iloc[0].timestamp()
    sold = mine[mine["kind"] == "finality"]["ended_at"].iloc[0].timestamp()
    times = [T0, (bought + sold) / 2]           # the crash while this payment is in flight
    b = bridge_results(onchain, PricePath(times, [1.0, 0.3], []), max_slippage_bps=1000)
    _check(b)
    failed = b.payments[b.payments["status"] == "failed"]
    assert pid in set(failed["payment_id"])
    assert failed["failure_reason"].str.contains("slippage limit").all()
    assert (failed["amount_delivered"] == 0).all()
    # the sender is out what the coin lost, not the whole payment
    a = onchain.payments.set_index("payment_id").loc[failed["payment_id"]]
    assert (failed["amount_sent"].to_numpy() < a["amount_sent"].to_numpy()).all()
    assert (failed["amount_sent"].to_numpy() > 0).all()


def test_a_halt_makes_the_sale_wait_for_the_chain(onchain: Results) -> None:
    s = onchain.steps
    fin = s[s["kind"] == "finality"].groupby("payment_id")["ended_at"].first()
    t = fin.iloc[0].timestamp()
    b = bridge_results(onchain, PricePath([T0], [1.0], [(t - 60, t + 7200)]))
    _check(b)
    pid = fin.index[0]
    steps = b.steps[b.steps.payment_id == pid]
    wait = steps[steps["kind"] == "block"]
    assert len(wait) == 1 and "halted" in wait["detail"].iloc[0]
    assert wait["ended_at"].iloc[0].timestamp() == pytest.approx(t + 7200)
    before = onchain.payments.set_index("payment_id").loc[pid, "latency_s"]
    after = b.payments.set_index("payment_id").loc[pid, "latency_s"]
    assert after == pytest.approx(before + 7200, abs=1e-3)


def test_terra_run_pairs_the_three_rails_payment_by_payment() -> None:
    from sim.experiments.scenario import load_scenario

    sc = load_scenario("terra-run").with_params({
        "payments": 6, "terra.agents": 200, "terra.step_seconds": 900, "horizon.days": 2})
    res = run_scenario(sc, seed=5)
    assert set(res.payments["rail"]) == {"correspondent", "onchain", RAIL}
    _check(res)
    pairs = bridge_pairs(res.payments)
    assert len(pairs) == 6
    assert {"status_bank", "status_fiat", "status_terra", "terra_shortfall_pct"} <= \
        set(pairs.columns)
    assert (pairs["terra_shortfall_pct"].dropna() >= 0).all()
    terra = res.meta["terra"]
    assert len(terra["series"]) > 0 and "peg_back" in terra["summary"]
