"""The market module, the pool and the oracle on the chain: worked numbers and every refusal.

The expected figures are worked by hand from Terra's ``x/market`` formulas (see
``tests/terra/test_ledger_mirror.py`` for the working): BasePool 50 M, delta 0, the
oracle at USD 80, a 0.5% floor.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import pytest

from settlement import Chain, ContractRevert, Receipt
from settlement.terra import ModuleTokenKind, TerraConfig, deploy_terra
from sim.terra.market import recover
from sim.terra.pool import get_d, quote_pool_out
from tests.contracts.terra_world import POOL_SIDE, T0, WAD, M, TerraWorld, build

_WORLD: list[TerraWorld] = []


@pytest.fixture
def w() -> Iterator[TerraWorld]:
    if not _WORLD:
        _WORLD.append(build())
    world = _WORLD[0]
    world.chain.revert(world.snap)
    yield world


def ev(r: object, name: str) -> Mapping[str, Any]:
    """The arguments of the receipt's event ``name``."""
    assert isinstance(r, Receipt)
    return r.event(name).args


def reverts(call, error: str, **args) -> ContractRevert:  # type: ignore[no-untyped-def]
    with pytest.raises(ContractRevert) as e:
        call()
    assert e.value.error == error, e.value
    for k, v in args.items():
        assert e.value.args_dict[k] == v, (k, e.value.args_dict)
    return e.value


def test_a_million_ust_at_luna_80(w: TerraWorld) -> None:
    t = w.t
    w.at_height(1)
    before = w.supplies()
    r = t.market.swap_to_gov(1_000_000 * M, sender="alice")
    got = ev(r, "SwappedToGov")
    assert (got["stableIn"], got["govOut"], got["spreadWad"], got["delta"]) == (
        1_000_000 * M, 12_254_901_960, 19_607_843_137 * 10**6, 10**12)
    assert t.gov.balance_of("alice") == 12_254_901_960
    assert t.stable.balance_of("alice") == 4_000_000 * M
    assert w.supplies() == (before[0] - 10**12, before[1] + 12_254_901_960, before[2])
    assert t.market.pool_delta() == 10**12
    assert t.market.pools() == (51 * 10**12, 2_500 * 10**24 // (51 * 10**12))


def test_small_swaps_pay_the_floor_both_ways(w: TerraWorld) -> None:
    t = w.t
    assert t.market.quote_to_gov(10_000 * M) == (124_375_000, 50 * 10**14)
    r = t.market.swap_to_stable(1_000 * M, sender="bob")
    assert ev(r, "SwappedToStable")["stableOut"] == 79_600_000_000
    assert t.market.pool_delta() == -79_600_000_000
    assert t.gov.balance_of("bob") == 199_000 * M


def test_the_delta_recovers_one_step_per_block(w: TerraWorld) -> None:
    t = w.t
    w.at_height(1)
    t.market.swap_to_gov(1_000_000 * M, sender="alice")
    w.at_height(2)
    t.oracle.set_price(80 * WAD, sender="terra:reporter")   # any block at height 2
    assert t.market.pool_delta() == 972_222_222_223
    assert t.market.delta_at(37) == recover(10**12, 36, 36)
    assert t.market.delta_at(10**6) == recover(10**12, 36, 10**6)   # stops at |delta| < 36
    assert abs(t.market.delta_at(10**6)) < 36


def test_proposal_1164_applies_the_owed_recovery_with_the_old_period(w: TerraWorld) -> None:
    t = w.t
    w.at_height(1)
    t.market.swap_to_gov(1_000_000 * M, sender="alice")
    w.at_height(3)
    r = t.market.set_params(100_000_000 * M, 18, 50, sender="terra:governance")
    assert ev(r, "ParamsUpdated") == {"basePool": 100_000_000 * M,
                                             "recoveryPeriod": 18, "minSpreadBps": 50}
    owed = recover(10**12, 36, 2)
    assert t.market.delta_at(3) == owed
    assert t.market.delta_at(4) == recover(owed, 18, 1)
    # a swap at the new base pool: half the spread of the worked example at delta 0
    assert (t.market.base_pool(), t.market.recovery_period()) == (100_000_000 * M, 18)


def test_pool_swap_on_worked_numbers_keeps_the_invariant(w: TerraWorld) -> None:
    t = w.t
    d0 = t.pool.invariant()
    assert d0 == get_d(POOL_SIDE, POOL_SIDE, 100) == 2 * POOL_SIDE
    expect = quote_pool_out(POOL_SIDE, POOL_SIDE, 100_000 * M, amp=100, fee_bps=4)
    r = t.pool.exchange(0, 100_000 * M, expect, sender="alice")
    assert ev(r, "Swapped")["amountOut"] == expect
    assert t.pool.reserves() == (POOL_SIDE + 100_000 * M, POOL_SIDE - expect)
    assert t.fiat.balance_of("alice") == expect
    assert t.pool.invariant() > d0
    # reserves are what the pool holds
    assert t.stable.balance_of(t.pool) == POOL_SIDE + 100_000 * M
    assert t.fiat.balance_of(t.pool.address) == POOL_SIDE - expect


def test_slippage_and_zero_amounts_revert_with_their_errors(w: TerraWorld) -> None:
    t = w.t
    reverts(lambda: t.market.swap_to_gov(10_000 * M, 124_375_001, sender="alice"),
            "SlippageExceeded", out=124_375_000, minOut=124_375_001)
    reverts(lambda: t.market.swap_to_stable(1_000 * M, 79_600_000_001, sender="bob"),
            "SlippageExceeded", out=79_600_000_000)
    reverts(lambda: t.market.swap_to_gov(0, sender="alice"), "InvalidAmount", amount=0)
    reverts(lambda: t.market.swap_to_stable(0, sender="bob"), "InvalidAmount", amount=0)
    reverts(lambda: t.pool.exchange(1, 0, sender="carol"), "InvalidAmount", amount=0)
    out = t.pool.get_dy(1, 1_000 * M)
    reverts(lambda: t.pool.exchange(1, 1_000 * M, out + 1, sender="carol"),
            "SlippageExceeded", out=out, minOut=out + 1)
    reverts(lambda: t.pool.exchange(2, 1, sender="carol"), "InvalidCoinIndex", index=2)
    reverts(lambda: t.market.swap_to_gov(6_000_000 * M, sender="alice"),
            "ERC20InsufficientBalance", needed=6_000_000 * M)
    # a governance-token offer worth less than a micro-USD
    t.oracle.set_price(10**11, sender="terra:reporter")
    reverts(lambda: t.market.swap_to_stable(1, sender="bob"), "ZeroSwapOutput", amount=1)


def test_only_the_module_mints_and_burns(w: TerraWorld) -> None:
    t = w.t
    for token in (t.stable, t.gov):
        reverts(lambda token=token: token.mint("alice", 1, sender="alice"),
                "CallerNotMarket", caller=w.chain.address_of("alice"))
        reverts(lambda token=token: token.burn("bob", 1, sender="terra:admin"),
                "CallerNotMarket")
    reverts(lambda: t.market.genesis_mint(ModuleTokenKind.GOV, "alice", 1, sender="terra:admin"),
            "GenesisSealed")
    reverts(lambda: t.market.genesis_mint(ModuleTokenKind.GOV, "alice", 1, sender="alice"),
            "AccessControlUnauthorizedAccount")
    reverts(lambda: t.market.set_params(1, 1, 0, sender="alice"),
            "AccessControlUnauthorizedAccount")
    reverts(lambda: t.oracle.set_price(WAD, sender="alice"), "AccessControlUnauthorizedAccount")
    reverts(lambda: t.pool.set_params(100, 4, sender="alice"), "AccessControlUnauthorizedAccount")
    reverts(lambda: t.pool.initialize(sender="terra:admin"), "InvalidInitialization")


def test_bad_parameters_revert_naming_the_value(w: TerraWorld) -> None:
    t = w.t
    gov = "terra:governance"
    reverts(lambda: t.market.set_params(0, 36, 50, sender=gov), "InvalidBasePool", basePool=0)
    reverts(lambda: t.market.set_params(10**30 + 1, 36, 50, sender=gov), "InvalidBasePool")
    reverts(lambda: t.market.set_params(50 * M, 0, 50, sender=gov), "InvalidRecoveryPeriod",
            recoveryPeriod=0)
    reverts(lambda: t.market.set_params(50 * M, 36, 10_000, sender=gov), "InvalidMinSpread",
            minSpreadBps=10_000)
    reverts(lambda: t.oracle.set_price(0, sender="terra:reporter"), "PriceOutOfRange", price=0)
    reverts(lambda: t.oracle.set_price(10**36 + 1, sender="terra:reporter"), "PriceOutOfRange")
    reverts(lambda: t.pool.set_params(0, 4, sender=gov), "InvalidAmplification", amp=0)
    reverts(lambda: t.pool.set_params(10**6 + 1, 4, sender=gov), "InvalidAmplification")
    reverts(lambda: t.pool.set_params(100, 5_001, sender=gov), "InvalidPoolFee", feeBps=5_001)
    assert (t.market.base_pool(), t.market.recovery_period(), t.market.min_spread_bps()) == (
        50_000_000 * M, 36, 50)


def test_a_base_pool_below_the_delta_depletes_the_pool(w: TerraWorld) -> None:
    t = w.t
    t.market.swap_to_stable(1_000 * M, sender="bob")            # delta -79,600 USD
    t.market.set_params(10_000 * M, 36, 50, sender="terra:governance")
    e = reverts(lambda: t.market.swap_to_gov(1 * M, sender="alice"), "PoolDepleted")
    assert e.args_dict["terraPool"] == 10_000 * M + t.market.pool_delta() < 0


@pytest.mark.parametrize(("field", "value", "error"), [
    ("base_pool", 0, "InvalidBasePool"), ("recovery_period", 0, "InvalidRecoveryPeriod"),
    ("min_spread_bps", 10_000, "InvalidMinSpread"), ("block_time_s", 0, "InvalidBlockTime"),
    ("gov_price_wad", 0, "PriceOutOfRange"), ("pool_amp", 0, "InvalidAmplification"),
    ("pool_fee_bps", 6_000, "InvalidPoolFee"),
])
def test_constructors_refuse_bad_settings(field: str, value: int, error: str) -> None:
    chain = Chain(genesis_timestamp=T0 - 100)
    config = TerraConfig(genesis_time=T0, **{field: value})  # type: ignore[arg-type]
    reverts(lambda: deploy_terra(chain, config), error)
