"""The on-chain rail's AMM FX route: payments swap in the pools and lock in one transaction,
pay the pools' fee and price impact in ``fee_fx_spread``, fail beyond their slippage limit
(at the quote, or by the router's revert when the pools moved before the swap was mined),
and arbitrageurs trade the pools back toward the mid; the contracts ledger and the gas table
give the same tables; bad pool settings are refused in one line naming the field."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pandas as pd
import pytest

from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, make_payment
from sim.errors import InputError
from sim.onchain import rail as onchain
from sim.onchain.spec import OnChainSpec, OnChainSpecError
from sim.results import conservation_violations, step_violations
from tests.onchain.conftest import at, many, one
from tests.onchain.test_onchain_rail import quiet, quiet_network

QUOTE_REFUSED = "AMM slippage beyond the limit: the pools' price impact exceeds the 100 bp"
REVERTED = "AMM slippage beyond the limit: the swap reverted (SlippageExceeded)"


def amm(spec: OnChainSpec, **fx: Any) -> OnChainSpec:
    d = spec.model_dump()
    d["fx"].update({"route": "amm", **fx})
    return OnChainSpec.from_dict(d)


def crowded(net: BankNetwork) -> Workload:
    """Twelve USD->MXN payments of USD 3,000 at one instant against a USD 1 M pool, then
    three small OUR payments an hour later: quotes refused, swaps reverted in a crowded
    block, swaps credited, and an arbitrageur in between."""
    t = at(2025, 11, 18, 15, 0)
    ps = [make_payment(i, t, "RBUSUS44", "PLMXMXMM", "3000", "USD", "MXN", network=net,
                       segment="sme", charge_option="SHA") for i in range(12)]
    ps += [make_payment(12 + i, t + 4000 + 5 * i, "RBUSUS44", "PLMXMXMM", "500", "USD", "MXN",
                        network=net, segment="sme", charge_option="OUR") for i in range(3)]
    return many(net, ps)


@pytest.fixture(scope="module")
def instant(spec: OnChainSpec) -> OnChainSpec:
    return amm(quiet(spec, onramp_mode="instant", offramp_mode="instant"))


def test_contracts_and_gas_table_ledgers_agree_with_the_amm_route(instant: OnChainSpec) -> None:
    net = quiet_network()
    wl = crowded(net)
    real = onchain.run(net, wl, seed=3, spec=instant, ledger="contracts")
    table = onchain.run(net, wl, seed=3, spec=instant, ledger="table")
    pd.testing.assert_frame_equal(real.payments, table.payments)
    pd.testing.assert_frame_equal(real.steps, table.steps)
    assert real.meta["blocks"] == table.meta["blocks"]
    assert real.meta["gas_total"] == table.meta["gas_total"]
    assert real.meta["arbitrage"] == table.meta["arbitrage"]
    assert real.meta["amm_pools"] == table.meta["amm_pools"]
    for ccy, (total, supply) in real.meta["supply_check"].items():
        assert total == supply, ccy
    # the workload meets every outcome of the route
    reasons = table.payments["failure_reason"].dropna()
    assert reasons.str.startswith(QUOTE_REFUSED).any()
    assert reasons.str.startswith(REVERTED).any()
    assert (table.payments["status"] == "credited").sum() >= 3
    assert any(t.ok for t in table.meta["arbitrage"])


def test_the_amm_route_spends_two_transactions_fewer(spec: OnChainSpec,
                                                     instant: OnChainSpec) -> None:
    net = quiet_network()
    wl = one(net, at(2025, 11, 18, 15, 0), amount="1000")
    prov = onchain.run(net, wl, seed=1, spec=quiet(spec, onramp_mode="instant",
                                                  offramp_mode="instant"), ledger="table")
    pool = onchain.run(net, wl, seed=1, spec=instant, ledger="table")
    assert prov.payments.iloc[0]["status"] == pool.payments.iloc[0]["status"] == "credited"
    assert pool.payments.iloc[0]["hops"] == prov.payments.iloc[0]["hops"] - 2 == 5
    assert pool.payments.iloc[0]["fee_gas"] < prov.payments.iloc[0]["fee_gas"]
    fx = pool.steps[pool.steps["kind"] == "fx"].iloc[0]
    assert fx["place"] == "amm:USD-MXN" and "pool fee 30 bp" in fx["detail"]


def test_fee_and_price_impact_are_the_fx_spread_and_steps_add_up(net: BankNetwork,
                                                                 spec: OnChainSpec) -> None:
    wl = Workload.generate(seed=11, n_payments=150, network=net)
    r = onchain.run(net, wl, seed=11, spec=amm(spec), ledger="table")
    p = r.payments
    assert conservation_violations(p).empty
    assert step_violations(p, r.steps).empty
    credited = p[(p["status"] == "credited") & (p["currency_sent"] != p["currency_delivered"])]
    assert len(credited) > 50
    # at least the pools' fee: 30 bp a hop of what was converted (less a unit of rounding)
    assert (credited["fee_fx_spread"] >= credited["amount_sent"] * 30 // 10_000 - 1).all()
    # two hops through USD where a pair has no pool of its own
    fx = r.steps[r.steps["kind"] == "fx"]
    assert fx["place"].str.contains(r"\+").any() and (~fx["place"].str.contains(r"\+")).any()
    failed = p[p["status"] == "failed"]["failure_reason"]
    assert failed.str.startswith("AMM slippage beyond the limit").all()


def _deviation_bp(reserves: tuple[int, int], mid: Decimal) -> Decimal:
    r0, r1 = reserves
    return abs(Decimal(r1) / Decimal(r0) / mid - 1) * 10_000


def test_arbitrageurs_trade_one_sided_flow_back_to_the_mid(instant: OnChainSpec) -> None:
    net = quiet_network()
    t = at(2025, 11, 18, 15, 0)
    wl = many(net, [make_payment(i, t + 600 * i, "RBUSUS44", "PLMXMXMM", "2000", "USD", "MXN",
                                 network=net, segment="sme", charge_option="SHA")
                    for i in range(8)])
    mid = net.fx.rate("USD", "MXN")
    with_arb = onchain.run(net, wl, seed=2, spec=instant, ledger="table")
    d = instant.model_dump()
    d["fx"]["arbitrage"]["enabled"] = False
    without = onchain.run(net, wl, seed=2, spec=OnChainSpec.from_dict(d), ledger="table")
    assert without.meta["arbitrage"] == []
    # without arbitrage the flow leaves the pool's price far from the mid; with it, within
    # about the pool's fee of it
    drift = _deviation_bp(without.meta["amm_pools"]["USD-MXN"], mid)
    kept = _deviation_bp(with_arb.meta["amm_pools"]["USD-MXN"], mid)
    assert drift > 100 and kept < 40, (drift, kept)
    assert len(with_arb.meta["arbitrage"]) >= 3
    # so the later payments convert at better rates with the arbitrageurs than without
    a = with_arb.payments.set_index("payment_id")["amount_delivered"]
    b = without.payments.set_index("payment_id")["amount_delivered"]
    assert (a.iloc[-3:] > b.iloc[-3:]).all()


def test_the_provider_stays_the_default_route(net: BankNetwork, spec: OnChainSpec) -> None:
    assert spec.fx.route == "provider"
    r = onchain.run(net, Workload.generate(seed=1, n_payments=5, network=net), seed=1)
    assert "arbitrage" not in r.meta and "amm_pools" not in r.meta
    assert set(r.steps[r.steps["kind"] == "fx"]["place"]) == {"fx_provider"}


def _refusal(spec: OnChainSpec, change: Any) -> str:
    d = spec.model_dump()
    change(d["fx"])
    with pytest.raises(OnChainSpecError) as info:
        OnChainSpec.from_dict(d, "onchain.toml")
    assert len(info.value.problems) == 1
    return info.value.problems[0]


@pytest.mark.parametrize(("change", "field", "words"), [
    (lambda fx: fx["pools"]["USD-MXN"].update(fee_bps=10_000), 'fx.pools.USD-MXN.fee_bps',
     "below 10000 bp (100%)"),
    (lambda fx: fx["pools"]["USD-MXN"].update(depth_usd=0), "fx.pools.USD-MXN.depth_usd",
     "zero depth"),
    (lambda fx: fx.update(max_slippage_bps=0), "fx.max_slippage_bps", "strictly between 0"),
    (lambda fx: fx.update(max_slippage_bps=10_000), "fx.max_slippage_bps", "(0% and 100%)"),
    (lambda fx: fx["pools"].update({"USDMXN": {"depth_usd": 1}}), "fx.pools",
     "not a currency pair"),
    (lambda fx: fx["pools"].update({"MXN-USD": {"depth_usd": 1}}), "fx.pools",
     "same pool"),
])
def test_bad_pool_settings_are_refused_in_one_line(spec: OnChainSpec, change: Any, field: str,
                                                   words: str) -> None:
    line = _refusal(spec, change)
    assert line.startswith(f"{field}: ") and words in line and "\n" not in line


def test_an_unknown_pair_and_a_conversion_without_pools_are_refused(net: BankNetwork,
                                                                    spec: OnChainSpec) -> None:
    wl = one(net, at(2025, 11, 18, 15, 0))
    d = amm(spec).model_dump()
    d["fx"]["pools"]["USD-XYZ"] = {"depth_usd": 1_000_000}
    with pytest.raises(InputError, match=r'^fx\.pools\."USD-XYZ": unknown pair: XYZ is not a '
                                         r'currency of the network'):
        onchain.run(net, wl, seed=1, spec=OnChainSpec.from_dict(d), ledger="table")
    d = amm(spec).model_dump()
    del d["fx"]["pools"]["USD-MXN"]
    with pytest.raises(InputError, match=r"^fx\.pools: no pool converts USD to MXN"):
        onchain.run(net, wl, seed=1, spec=OnChainSpec.from_dict(d), ledger="table")
