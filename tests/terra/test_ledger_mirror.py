"""The exact mirror of the market module and the pool, on worked numbers.

Every expected figure here is worked by hand from Terra's ``x/market``
formulas (``cp = BasePool²``, ``ask = askPool − cp / (offerPool + offer)``,
``spread = (offer − ask) / offer`` floored at ``MinStabilitySpread``, the trader
paid the oracle value times ``1 − spread``) with integer floors at the steps
the contract floors, and from Curve's StableSwap invariant.
"""

from __future__ import annotations

from fractions import Fraction

import pytest

from sim.errors import InputError
from sim.terra.ledger import MarketParams, MirrorLedger, TerraInputError, TerraRevert
from sim.terra.market import WAD, quote_to_gov, quote_to_stable, recover, trunc_div
from sim.terra.pool import get_d, get_y, quote_pool_out

M = 10**6                      # micro-units per whole token
B50 = 50_000_000 * M           # BasePool 50 M (µUSD)
T0 = 1_651_881_600             # 2022-05-07 00:00 UTC
PARAMS = MarketParams(base_pool=B50, recovery_period=36, min_spread_bps=50, block_time_s=6,
                      pool_fee_bps=4, pool_amp=100)


def fresh(balances: dict[tuple[str, str], int] | None = None,
          params: MarketParams = PARAMS) -> MirrorLedger:
    ledger = MirrorLedger()
    ledger.genesis(balances if balances is not None else
                   {("stable", "alice"): 2_000_000 * M, ("gov", "bob"): 100_000 * M,
                    ("fiat", "carol"): 1_000_000 * M},
                   pool_stable=500_000_000 * M, pool_fiat=500_000_000 * M,
                   gov_price_wad=80 * WAD, params=params, timestamp=T0)
    ledger.begin_block(T0 + 6)
    return ledger


def test_a_million_ust_at_luna_80_against_a_50m_pool():
    # TerraPool = LunaPool = 5e13; cp / (5e13 + 1e12) = 2.5e27 / 5.1e13 = 49_019_607_843_137.25
    # ask = 5e13 - 49_019_607_843_137 = 980_392_156_863; spread = 19_607_843_137 / 1e12
    # out = 1e12 * (1 - 0.019607843137) / 80 = 12_254_901_960.79 -> 12_254_901_960 µLUNA
    ledger = fresh()
    out = ledger.swap_to_gov("alice", 1_000_000 * M)
    assert out == 12_254_901_960
    s = ledger.state()
    assert (s.delta, s.stable_supply, s.gov_supply) == (
        1_000_000 * M, (2_000_000 + 500_000_000 - 1_000_000) * M, 100_000 * M + out)
    assert ledger.balance("stable", "alice") == 1_000_000 * M
    assert ledger.balance("gov", "alice") == out
    q = quote_to_gov(1_000_000 * M, delta=0, base_pool=B50, min_spread_bps=50,
                     price_wad=80 * WAD)
    assert q.spread_wad == 19_607_843_137 * WAD // 10**12
    # the real-number formula agrees to within the floors
    exact = Fraction(10**12) * (1 - Fraction(10**12, 51 * 10**12)) / 80
    assert abs(exact - out) < 2


def test_small_swaps_pay_the_floor_spread_both_ways():
    # 10,000 UST: ask = 5e13 - floor(2.5e27 / 5.001e13) = 9_998_000_400, spread 0.02% < 0.5%
    q = quote_to_gov(10_000 * M, delta=0, base_pool=B50, min_spread_bps=50, price_wad=80 * WAD)
    assert q.spread_wad == 50 * 10**14
    assert q.out == 10_000 * M * 995 // 1000 // 80 == 124_375_000
    # 1,000 LUNA at 80 = 80,000 USD: ask 79_872_204_473, spread 0.16% -> floored at 0.5%
    ledger = fresh()
    out = ledger.swap_to_stable("bob", 1_000 * M)
    assert out == 80_000 * M * 995 // 1000 == 79_600_000_000
    assert ledger.state().delta == -79_600_000_000   # the delta falls by what is paid out
    assert ledger.state().gov_supply == 99_000 * M


def test_an_imbalanced_pool_charges_more_in_the_crowded_direction():
    # after a 1 M UST -> LUNA swap TerraPool = 5.1e13: another 1 M pays a wider spread
    first = quote_to_gov(1_000_000 * M, delta=0, base_pool=B50, min_spread_bps=50,
                         price_wad=80 * WAD)
    second = quote_to_gov(1_000_000 * M, delta=first.delta_after, base_pool=B50,
                          min_spread_bps=50, price_wad=80 * WAD)
    # LunaPool = floor(2.5e27 / 5.1e13) = 49_019_607_843_137; ask = that - floor(2.5e27/5.2e13)
    luna = 2_500 * 10**24 // (51 * 10**12)
    ask = luna - 2_500 * 10**24 // (52 * 10**12)
    assert second.spread_wad == (10**12 - ask) * WAD // 10**12
    assert second.spread_wad > first.spread_wad
    # the other direction is now at the floor
    back = quote_to_stable(1_000 * M, delta=first.delta_after, base_pool=B50,
                           min_spread_bps=50, price_wad=80 * WAD)
    assert back.spread_wad == 50 * 10**14


def test_proposal_1164_doubles_the_pool_and_halves_the_spread():
    # BasePool 100 M: ask = 1e14 - floor(1e28 / 1.01e14) = 990_099_009_901
    q = quote_to_gov(1_000_000 * M, delta=0, base_pool=2 * B50, min_spread_bps=50,
                     price_wad=80 * WAD)
    assert q.spread_wad == 9_900_990_099 * WAD // 10**12
    ledger = fresh()
    ledger.swap_to_gov("alice", 1_000_000 * M)
    ledger.set_params(MarketParams(base_pool=2 * B50, recovery_period=18, min_spread_bps=50,
                                   block_time_s=6, pool_fee_bps=4))
    ledger.end_block()
    ledger.begin_block(T0 + 12)
    assert ledger.state().delta == 10**12 - 10**12 // 18      # the new period applies
    assert ledger.state().params.base_pool == 2 * B50


def test_recovery_truncates_toward_zero_once_per_height():
    assert trunc_div(-7, 2) == -3
    assert recover(10**12, 36, 1) == 10**12 - 27_777_777_777
    assert recover(-10**12, 36, 1) == -(10**12 - 27_777_777_777)
    d = 10**12
    for _ in range(36):
        d -= d // 36
    assert recover(10**12, 36, 36) == d
    assert recover(71, 36, 10**9) == 35       # 71 -> 70 -> ... -> 35, then the step is 0
    ledger = fresh()
    ledger.swap_to_gov("alice", 1_000_000 * M)
    ledger.end_block()
    ledger.begin_block(T0 + 6 + 5 * 6 + 3)    # five heights later (height 6)
    s = ledger.state()
    assert (s.height, s.delta) == (6, recover(10**12, 36, 5))


def test_stableswap_invariant_on_worked_numbers():
    # balanced: D = x0 + x1 exactly
    assert get_d(10**12, 10**12, 100) == 2 * 10**12
    # imbalanced 3:1 with A = 100 (Curve's code: Ann = A·n = 200), checked exactly:
    # Ann·Σx + D = Ann·D + D³ / (4·x0·x1)
    d = get_d(3 * 10**12, 10**12, 100)
    lhs = Fraction(200 * 4 * 10**12 + d)
    rhs = Fraction(200 * d) + Fraction(d**3, 4 * 3 * 10**24)
    assert abs(lhs - rhs) / rhs < Fraction(1, 10**9)
    assert 39 * 10**11 < d < 4 * 10**12      # a little under the sum, as A is finite
    y = get_y(10**12 + 10**9, 2 * 10**12, 100)
    assert 10**12 - 10**9 < y < 10**12 - 999 * 10**6   # near 1:1 at A = 100
    out = quote_pool_out(10**12, 10**12, 10**9, amp=100, fee_bps=4)
    assert out == (10**12 - y - 1) - (10**12 - y - 1) * 4 // 10_000


def test_pool_swap_moves_reserves_and_keeps_the_invariant():
    ledger = fresh()
    before = ledger.state().pool_invariant
    out = ledger.pool_swap("alice", "stable", 100_000 * M)
    s = ledger.state()
    assert (s.pool_stable, s.pool_fiat) == (500_100_000 * M, 500_000_000 * M - out)
    assert ledger.balance("fiat", "alice") == out
    assert s.pool_invariant >= before
    assert 99_900 * M < out < 100_000 * M


def test_reverts_name_the_contract_error():
    ledger = fresh()
    with pytest.raises(TerraRevert) as e:
        ledger.swap_to_gov("alice", 3_000_000 * M)
    assert e.value.reason == ("ERC20InsufficientBalance", ("alice", 2_000_000 * M,
                                                           3_000_000 * M))
    with pytest.raises(TerraRevert) as e:
        ledger.swap_to_gov("alice", 10_000 * M, min_out=124_375_001)
    assert e.value.reason == ("SlippageExceeded", (124_375_000, 124_375_001))
    with pytest.raises(TerraRevert) as e:
        ledger.swap_to_stable("bob", 0)
    assert e.value.reason == ("InvalidAmount", (0,))
    with pytest.raises(TerraRevert) as e:
        ledger.set_oracle_price(0)
    assert e.value.reason == ("PriceOutOfRange", (0,))
    with pytest.raises(TerraRevert) as e:
        ledger.pool_swap("carol", "fiat", 0)
    assert e.value.reason == ("InvalidAmount", (0,))
    # nothing changed
    assert ledger.state() == fresh().state()
    assert ledger.balance("stable", "alice") == 2_000_000 * M


@pytest.mark.parametrize(("field", "value", "words"), [
    ("base_pool", 0, "MarketParams.base_pool must be in 1.."),
    ("base_pool", -5, "MarketParams.base_pool must be in 1.."),
    ("recovery_period", 0, "MarketParams.recovery_period must be in 1.."),
    ("min_spread_bps", 10_000, "MarketParams.min_spread_bps must be in 0..9999"),
    ("min_spread_bps", -1, "MarketParams.min_spread_bps must be in 0..9999"),
    ("block_time_s", 0, "MarketParams.block_time_s"),
    ("pool_amp", 0, "MarketParams.pool_amp"),
    ("base_pool", 1.5, "MarketParams.base_pool must be a whole number"),
])
def test_bad_parameters_are_refused_in_one_line(field, value, words):
    fields = dict(base_pool=B50, recovery_period=36, min_spread_bps=50, block_time_s=6,
                  pool_fee_bps=4)
    fields[field] = value
    with pytest.raises(TerraInputError) as e:
        MarketParams(**fields)
    assert isinstance(e.value, InputError)
    assert str(e.value).startswith(words)
    assert "\n" not in str(e.value)


def test_bad_calls_are_input_errors_not_reverts():
    ledger = fresh()
    with pytest.raises(TerraInputError, match="token must be one of stable, gov, fiat"):
        ledger.transfer("btc", "alice", "bob", 1)
    with pytest.raises(TerraInputError, match="stable_in must be in 0"):
        ledger.swap_to_gov("alice", -1)
    with pytest.raises(TerraInputError, match="sell must be one of stable, fiat"):
        ledger.pool_swap("alice", "gov", 1)
    with pytest.raises(TerraInputError, match="not after the previous block"):
        ledger.begin_block(T0 + 6)
    with pytest.raises(TerraInputError, match="block_time_s is fixed"):
        ledger.set_params(MarketParams(base_pool=B50, recovery_period=36, min_spread_bps=50,
                                       block_time_s=5, pool_fee_bps=4))
    ledger.end_block()
    with pytest.raises(TerraInputError, match="no block is open"):
        ledger.swap_to_gov("alice", 1)
    with pytest.raises(TerraInputError, match="already called"):
        ledger.genesis({}, 1, 1, WAD, PARAMS, T0)
    with pytest.raises(TerraInputError, match="pool_stable must be in 1"):
        MirrorLedger().genesis({}, 0, 1, WAD, PARAMS, T0)
