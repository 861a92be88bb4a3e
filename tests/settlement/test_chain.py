"""Chain client: clock control, manual mining, snapshots, revert decoding."""

from __future__ import annotations

import pytest

from settlement import (
    Chain,
    ClockError,
    ContractRevert,
    LockState,
    PendingTransaction,
    Receipt,
    deploy_stack,
    hashlock_of,
    minter_name,
)

GENESIS = 1_767_225_600  # 2026-01-01T00:00:00Z
UNIT = 10**6


@pytest.fixture(scope="module")
def stack():
    chain = Chain(genesis_timestamp=GENESIS)
    s = deploy_stack(chain, ("USD", "MXN"), escrow_fee_bps=10)
    chain.accounts(["alice", "bob"])  # senders hold ether before blocks are built by hand
    s.tokens["USD"].mint("alice", 1_000 * UNIT, sender=minter_name("USD"))
    return s


@pytest.fixture()
def chain(stack):
    snap = stack.chain.snapshot()
    yield stack.chain
    stack.chain.set_automine(True)
    stack.chain.revert(snap)


def test_named_accounts_are_stable_and_funded() -> None:
    a, b = Chain(), Chain(genesis_timestamp=GENESIS)
    assert a.account("alice") == b.account("alice")
    assert a.account("alice") != a.account("bob")
    assert a.balance_of(a.account("alice")) >= 10**20
    assert a.name_of(a.account("alice")) == "alice"


def test_simulated_clock_starts_at_genesis_not_wall_clock(stack) -> None:
    chain = Chain(genesis_timestamp=GENESIS)
    assert chain.latest_timestamp() == GENESIS
    chain.account("carol")  # funding mines a block
    assert chain.latest_timestamp() == GENESIS + 1


def test_next_block_timestamp_is_exact_and_forward_only(chain, stack) -> None:
    t = chain.latest_timestamp() + 3_600
    chain.set_next_block_timestamp(t)
    r = stack.tokens["USD"].transfer("bob", 1, sender="alice")
    assert isinstance(r, Receipt)
    assert r.block_timestamp == t == chain.latest_timestamp()
    with pytest.raises(ClockError, match="time only moves forward"):
        chain.set_next_block_timestamp(t)
    with pytest.raises(ClockError, match=f"already at {t}"):
        chain.set_next_block_timestamp(t - 10)


def test_manual_mining_puts_pending_transactions_in_one_block(chain, stack) -> None:
    usd = stack.tokens["USD"]
    start = chain.block_number()
    chain.set_automine(False)
    txs = [usd.transfer("bob", 10 * UNIT, sender="alice") for _ in range(3)]
    assert all(isinstance(t, PendingTransaction) and not t.mined for t in txs)
    assert usd.balance_of("bob") == 0  # nothing happened before the block
    t = chain.latest_timestamp() + 12
    block = chain.mine(timestamp=t)
    assert block.number == start + 1 and block.timestamp == t
    receipts = [p.receipt() for p in txs]
    assert {r.block_number for r in receipts} == {block.number}
    assert {r.block_timestamp for r in receipts} == {t}
    assert usd.balance_of("bob") == 30 * UNIT
    assert block.gas_used == sum(r.gas_used for r in receipts)


def test_reverted_transaction_in_a_block_is_decoded_and_changes_nothing(chain, stack) -> None:
    usd = stack.tokens["USD"]
    before = (usd.balance_of("alice"), usd.balance_of("bob"), usd.total_supply())
    chain.set_automine(False)
    ok = usd.transfer("bob", 5 * UNIT, sender="alice")
    bad = usd.transfer("alice", 6 * UNIT, sender="bob")  # bob holds 5 at that point
    chain.mine()
    assert ok.receipt().status == 1
    with pytest.raises(ContractRevert) as exc:
        bad.receipt()
    err = exc.value
    assert err.error == "ERC20InsufficientBalance"
    assert err.args_dict == {"sender": chain.account("bob"), "balance": 5 * UNIT,
                             "needed": 6 * UNIT}
    assert err.gas_used and err.gas_used > 21_000
    assert (usd.balance_of("alice"), usd.balance_of("bob"), usd.total_supply()) == (
        before[0] - 5 * UNIT, before[1] + 5 * UNIT, before[2])


def test_revert_names_custom_error_and_arguments(chain, stack) -> None:
    usd = stack.tokens["USD"]
    with pytest.raises(ContractRevert) as exc:
        usd.mint("bob", 1, sender="bob")
    assert exc.value.error == "CallerNotMinter"
    assert exc.value.args_dict == {"caller": chain.account("bob")}
    assert exc.value.function == "Stablecoin.mint"
    assert "CallerNotMinter(caller=" in str(exc.value)
    with pytest.raises(ContractRevert) as exc:
        usd.transfer("bob", 2_000 * UNIT, sender="alice")
    assert exc.value.error == "ERC20InsufficientBalance"
    assert exc.value.args_dict == {"sender": chain.account("alice"), "balance": 1_000 * UNIT,
                                   "needed": 2_000 * UNIT}


def test_snapshot_revert_restores_state_and_nonces(stack) -> None:
    chain, usd = stack.chain, stack.tokens["USD"]
    snap = chain.snapshot()
    number = chain.block_number()
    usd.transfer("bob", 7 * UNIT, sender="alice")
    assert usd.balance_of("bob") == 7 * UNIT
    chain.revert(snap)
    assert chain.block_number() == number
    assert usd.balance_of("bob") == 0
    usd.transfer("bob", 3 * UNIT, sender="alice")  # nonce re-read after revert
    assert usd.balance_of("bob") == 3 * UNIT
    chain.revert(snap)


def test_escrow_deadline_is_enforced_by_the_evm_in_simulated_time(chain, stack) -> None:
    usd, escrow = stack.tokens["USD"], stack.escrow
    deadline = chain.latest_timestamp() + 86_400
    preimage = b"\x42" * 32
    terms = escrow.terms(usd, "bob", 100 * UNIT, deadline, hashlock=hashlock_of(preimage))
    usd.approve(escrow.address, 100 * UNIT, sender="alice")
    lock_id = escrow.lock(terms, sender="alice").event("Locked")["lockId"]
    with pytest.raises(ContractRevert) as exc:
        escrow.refund("alice", terms, sender="alice")
    assert exc.value.error == "LockNotExpired"
    chain.set_next_block_timestamp(deadline)
    with pytest.raises(ContractRevert) as exc:
        escrow.release("alice", terms, preimage, sender="bob")
    assert exc.value.error == "LockExpired"
    r = escrow.refund("alice", terms, sender="bob")
    assert r.block_timestamp >= deadline
    assert escrow.get_lock(lock_id)["state"] is LockState.REFUNDED
    assert usd.balance_of("alice") == 1_000 * UNIT


def test_receipt_events_are_decoded(chain, stack) -> None:
    r = stack.tokens["USD"].transfer("bob", 1 * UNIT, sender="alice")
    ev = r.event("Transfer")
    assert dict(ev.args) == {"from": chain.account("alice"), "to": chain.account("bob"),
                             "value": 1 * UNIT}
    assert ev.address == stack.tokens["USD"].address
    assert r.fee_wei == r.gas_used * r.effective_gas_price > 0


def test_deploy_stack_rejects_bad_currencies() -> None:
    chain = Chain()
    with pytest.raises(ValueError, match="ISO 4217"):
        deploy_stack(chain, ("usd",))
    with pytest.raises(ValueError, match="repeat"):
        deploy_stack(chain, ("USD", "USD"))


def test_no_node_at_url_is_a_clear_error() -> None:
    from settlement import ChainError

    with pytest.raises(ChainError, match="no JSON-RPC node answers at http://127.0.0.1:9"):
        Chain("http://127.0.0.1:9")
