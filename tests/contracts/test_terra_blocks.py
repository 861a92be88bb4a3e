"""Blocks built one transaction at a time (``Chain.open_block``), which the contracts ledger
uses so that each of a block's transactions returns its result as it runs."""

from __future__ import annotations

import pytest

from settlement import Chain, ChainError, ClockError, ContractRevert
from settlement.terra import ModuleTokenKind, TerraConfig, deploy_terra

T0 = 1_651_881_600


@pytest.fixture(scope="module")
def chain_and_stack():  # type: ignore[no-untyped-def]
    chain = Chain(genesis_timestamp=T0 - 500)
    stack = deploy_terra(chain, TerraConfig(genesis_time=T0))
    stack.market.genesis_mint(ModuleTokenKind.STABLE, "alice", 10**12, sender="terra:admin")
    return chain, stack, chain.snapshot()


def test_a_block_holds_many_transactions_each_known_at_once(chain_and_stack) -> None:  # type: ignore[no-untyped-def]
    chain, t, snap = chain_and_stack
    chain.revert(snap)
    number = chain.block_number()
    chain.open_block(T0 + 60)
    assert chain.block_open
    r1 = t.market.swap_to_gov(10**9, sender="alice")
    r2 = t.market.swap_to_gov(10**9, sender="alice")
    # both in the same block at its timestamp, the second seeing the first
    assert r1.block_number == r2.block_number == number + 1
    assert r1.block_timestamp == r2.block_timestamp == T0 + 60
    assert t.stable.balance_of("alice") == 10**12 - 2 * 10**9
    assert t.market.height() == 10       # reads see the open block's timestamp
    assert t.market.pool_delta() == 2 * 10**9
    with pytest.raises(ContractRevert):  # a revert is known at once, the block stays open
        t.market.swap_to_gov(10**15, sender="alice")
    t.gov.transfer("dave", 1, sender="alice")  # a new sender is funded inside the block
    mined = chain.close_block()
    assert (mined.number, mined.timestamp) == (number + 1, T0 + 60)
    assert chain.block_number() == number + 1 and chain.latest_timestamp() == T0 + 60
    assert not chain.block_open
    t.market.swap_to_gov(10**9, sender="alice")      # auto-mining resumes afterwards
    assert chain.block_number() == number + 2


def test_open_blocks_refuse_what_would_break_them(chain_and_stack) -> None:  # type: ignore[no-untyped-def]
    chain, t, snap = chain_and_stack
    chain.revert(snap)
    with pytest.raises(ClockError):
        chain.open_block(chain.latest_timestamp())
    chain.open_block(chain.latest_timestamp() + 6)
    with pytest.raises(ChainError, match="one is open"):
        chain.open_block(chain.latest_timestamp() + 12)
    with pytest.raises(ChainError, match="close_block"):
        chain.snapshot()
    with pytest.raises(ChainError):
        chain.mine()
    chain.close_block()
    with pytest.raises(ChainError, match="no block is open"):
        chain.close_block()
    tester = Chain(genesis_timestamp=T0, backend="eth-tester")
    with pytest.raises(ChainError, match="pyevm"):
        tester.open_block(T0 + 10)


def test_reverting_to_a_snapshot_discards_an_open_block(chain_and_stack) -> None:  # type: ignore[no-untyped-def]
    chain, t, snap = chain_and_stack
    chain.revert(snap)
    before = chain.block_number()
    chain.open_block(chain.latest_timestamp() + 6)
    t.market.swap_to_gov(10**9, sender="alice")
    chain.revert(snap)
    assert not chain.block_open and chain.block_number() == before
    assert t.stable.balance_of("alice") == 10**12
