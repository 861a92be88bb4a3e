"""The contracts ledger: its state is the contracts' (storage reads against the getters),
its blocks are chain blocks, and it refuses bad input as the mirror does."""

from __future__ import annotations

import pytest

from sim.terra.ledger import ContractLedger, MarketParams, TerraInputError, TerraRevert

M = 10**6
T0 = 1_651_881_600
PARAMS = MarketParams(base_pool=50_000_000 * M, recovery_period=36, min_spread_bps=50,
                      block_time_s=6, pool_fee_bps=4, pool_amp=100)


@pytest.fixture(scope="module")
def ledger() -> ContractLedger:
    led = ContractLedger()
    led.genesis({("stable", "ann"): 2_000_000 * M, ("gov", "bob"): 10_000 * M,
                 ("fiat", "cat"): 10**12}, 10**14, 10**14, 80 * 10**18, PARAMS, T0)
    return led


def test_state_reads_what_the_getters_say(ledger: ContractLedger) -> None:
    snap = ledger.snapshot()
    ledger.begin_block(T0 + 6)
    ledger.swap_to_gov("ann", 10**12)
    ledger.pool_swap("cat", "fiat", 10**10)
    ledger.set_params(MarketParams(base_pool=100_000_000 * M, recovery_period=18,
                                   min_spread_bps=75, block_time_s=6, pool_fee_bps=30,
                                   pool_amp=2_000))
    ledger.end_block()
    ledger.begin_block(T0 + 6 * 40 + 5)
    s, t = ledger.state(), ledger.stack
    assert s.height == 40 == t.market.height()
    assert s.timestamp == T0 + 245
    assert s.delta == t.market.pool_delta() == t.market.delta_at(40)
    assert (s.stable_supply, s.gov_supply, s.fiat_supply) == (
        t.stable.total_supply(), t.gov.total_supply(), t.fiat.total_supply())
    assert (s.pool_stable, s.pool_fiat) == t.pool.reserves()
    assert s.gov_price_wad == t.oracle.price()
    assert (s.params.base_pool, s.params.recovery_period, s.params.min_spread_bps,
            s.params.pool_fee_bps, s.params.pool_amp) == (
        t.market.base_pool(), t.market.recovery_period(), t.market.min_spread_bps(),
        t.pool.fee_bps(), t.pool.amp())
    for token in ("stable", "gov", "fiat"):
        for holder in ("ann", "bob", "cat", "nobody"):
            assert ledger.balance(token, holder) == t.token(token).balance_of(holder)
    ledger.end_block()
    ledger.restore(snap)
    assert ledger.state().delta == 0 and ledger.balance("gov", "ann") == 0


def test_each_begin_block_is_one_chain_block_at_its_instant(ledger: ContractLedger) -> None:
    snap = ledger.snapshot()
    chain = ledger.chain
    number = chain.block_number()
    ledger.begin_block(T0 + 600)
    ledger.swap_to_gov("ann", 10**9)
    ledger.transfer("stable", "ann", "newcomer", 10**9)   # funded for gas in this block
    ledger.swap_to_gov("newcomer", 10**9)
    ledger.end_block()
    assert chain.block_number() == number + 1 and chain.latest_timestamp() == T0 + 600
    ledger.restore(snap)


def test_reverts_and_refusals(ledger: ContractLedger) -> None:
    snap = ledger.snapshot()
    with pytest.raises(TerraInputError, match="no block is open"):
        ledger.swap_to_gov("ann", 1)
    ledger.begin_block(T0 + 6)
    with pytest.raises(TerraRevert) as e:
        ledger.swap_to_stable("bob", 20_000 * M)
    assert e.value.reason == ("ERC20InsufficientBalance", ("bob", 10_000 * M, 20_000 * M))
    with pytest.raises(TerraRevert) as e:
        ledger.set_oracle_price(10**36 + 1)
    assert e.value.reason == ("PriceOutOfRange", (10**36 + 1,))
    with pytest.raises(TerraInputError, match="names starting 'terra:'"):
        ledger.transfer("gov", "bob", "terra:admin", 1)
    with pytest.raises(TerraInputError, match="amount must be in 0"):
        ledger.transfer("gov", "bob", "ann", -1)
    ledger.end_block()
    ledger.restore(snap)
