"""SettlementEscrow: every external function, its happy path and each of its reverts.

After each action the whole escrow state is compared with the one expected: both tokens'
supplies and every account's balances, the payers' allowances to the escrow, the escrow's
settings, the locked balance and accrued fees per token and the record of every lock involved
(its state and fee rate: the terms are passed again by each call). A reverted transaction must
leave every contract's storage untouched. The hardening rules (pull fees, rejection,
the pause rule, the deadline horizon, the payer's maximum fee, rescue) are in
``test_escrow_rules.py``.
"""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak

from settlement import ContractRevert, hashlock_of
from settlement.clients import LockTerms
from settlement.compile import load_artifact
from tests.contracts.contract_world import (
    ESCROW_FEE_BPS,
    INITIAL_BALANCE,
    SPENDER_ALLOWANCE,
    ZERO32,
    ZERO_ADDRESS,
    World,
    changed,
)

PREIMAGE = bytes(range(1, 33))
HASHLOCK = hashlock_of(PREIMAGE)
AMOUNT = 1_000_000
HOUR = 3_600
OPEN, RELEASED, REFUNDED, PROVEN = 1, 2, 3, 4
MAX_LOCK = 30 * 86_400


def fee_of(amount: int, bps: int = ESCROW_FEE_BPS) -> int:
    return amount * bps // 10_000


def terms(
    world: World, *, token: str = "USD", beneficiary: str = "bob", amount: int = AMOUNT,
    deadline: int | None = None, hashlock: bytes = HASHLOCK, agent: str | None = None,
    salt: bytes = ZERO32, max_fee_bps: int = ESCROW_FEE_BPS,
) -> LockTerms:
    return world.escrow.terms(
        world.tokens[token], beneficiary, amount,
        deadline if deadline is not None else world.now() + HOUR,
        hashlock=hashlock, agent=agent, salt=salt, max_fee_bps=max_fee_bps,
    )


def lock(world: World, t: LockTerms, payer: str = "alice") -> bytes:
    receipt = world.receipt(world.escrow.lock(t, sender=payer))
    lock_id: bytes = receipt.event("Locked")["lockId"]
    return lock_id


def locked_event(world: World, t: LockTerms, lock_id: bytes, payer: str = "alice"
                 ) -> tuple[str, str, dict[str, Any]]:
    return ("escrow", "Locked", {
        "lockId": lock_id, "token": world.name(t.token), "beneficiary": world.name(t.beneficiary),
        "payer": payer, "amount": t.amount, "deadline": t.deadline, "hashlock": t.hashlock,
        "agent": world.name(t.agent), "maxFeeBps": t.max_fee_bps, "salt": t.salt,
        "feeBps": ESCROW_FEE_BPS,
    })


def state_after_lock(world: World, before: dict[Any, Any], payer: str, t: LockTerms,
                     lock_id: bytes) -> dict[Any, Any]:
    ccy = world.name(t.token)
    return changed(before, {("lock", lock_id): world.lock_struct(payer, t)}, plus={
        (ccy, "balanceOf", payer): -t.amount,
        (ccy, "balanceOf", "escrow"): t.amount,
        (ccy, "allowance", payer, "escrow"): -t.amount,
        ("escrow", "lockedBalance", ccy): t.amount,
    })


def lock_with_permit_raw(world: World, t: LockTerms, permit_deadline: int, signer: str,
                         sender: str) -> object:
    """``lockWithPermit`` with a permit signed by ``signer`` (not necessarily the sender)."""
    token = world.tokens[world.name(t.token)]
    v, r, s = token.sign_permit(signer, world.escrow.address, t.amount, permit_deadline,
                                nonce=token.nonces(world.address(sender)))
    return world.chain.transact(world.escrow.address, "SettlementEscrow", "lockWithPermit",
                                (t.as_abi(), permit_deadline, v, r, s), sender=sender)


# -------------------------------------------------------------------------- deployment

def test_deployment_settings(world: World) -> None:
    state = world.escrow_state()
    assert {k: v for k, v in state.items() if k[0] == "escrow"} == {
        ("escrow", "owner"): "owner",
        ("escrow", "pendingOwner"): "zero",
        ("escrow", "feeBps"): ESCROW_FEE_BPS,
        ("escrow", "feeCollector"): "fee_collector",
        ("escrow", "maxLockDuration"): MAX_LOCK,
        ("escrow", "rescuer"): "rescuer",
        ("escrow", "lockedBalance", "USD"): 0,
        ("escrow", "lockedBalance", "MXN"): 0,
        ("escrow", "accruedFees", "USD"): 0,
        ("escrow", "accruedFees", "MXN"): 0,
    }
    assert world.chain.call(world.escrow.address, "SettlementEscrow", "MAX_FEE_BPS") == 1_000
    assert [(e, a) for _, e, a in world.events(world.stack.deploy_receipts["SettlementEscrow"])
            ] == [
        ("OwnershipTransferred", {"previousOwner": "zero", "newOwner": "owner"}),
        ("FeeUpdated", {"feeBps": ESCROW_FEE_BPS, "feeCollector": "fee_collector"}),
        ("MaxLockDurationUpdated", {"maxLockDuration": MAX_LOCK}),
        ("RescuerChanged", {"newRescuer": "rescuer"}),
    ]


@pytest.mark.parametrize(
    ("owner", "collector", "bps", "duration", "rescuer", "error", "args"),
    [
        ("owner", "fee_collector", 1_001, MAX_LOCK, "rescuer", "FeeTooHigh",
         {"feeBps": 1_001, "maxFeeBps": 1_000}),
        ("owner", "zero", 10, MAX_LOCK, "rescuer", "InvalidFeeCollector",
         {"feeCollector": "zero"}),
        ("zero", "fee_collector", 10, MAX_LOCK, "rescuer", "OwnableInvalidOwner",
         {"owner": "zero"}),
        ("owner", "fee_collector", 10, 0, "rescuer", "InvalidLockDuration", {"duration": 0}),
        ("owner", "fee_collector", 10, MAX_LOCK, "zero", "InvalidRescuer", {"rescuer": "zero"}),
    ],
)
def test_constructor_rejects_bad_settings(world: World, owner: str, collector: str, bps: int,
                                          duration: int, rescuer: str, error: str,
                                          args: dict[str, Any]) -> None:
    bytecode = load_artifact("SettlementEscrow")["bytecode"]
    with pytest.raises(ContractRevert) as info:
        world.chain.deploy("SettlementEscrow", bytecode,
                           [world.address(owner), world.address(collector), bps, duration,
                            world.address(rescuer)],
                           sender="owner")
    assert (info.value.error, world.named(info.value.args_dict)) == (error, args)


# -------------------------------------------------------------------------------- setFee

@pytest.mark.parametrize("bps", [0, 100, 1_000])
def test_set_fee(world: World, bps: int) -> None:
    before = world.escrow_state()
    r = world.escrow.set_fee(bps, "carol", sender="owner")
    assert world.escrow_state() == changed(before, {
        ("escrow", "feeBps"): bps, ("escrow", "feeCollector"): "carol",
    })
    assert world.events(r) == [
        ("escrow", "FeeUpdated", {"feeBps": bps, "feeCollector": "carol"}),
    ]


def test_set_fee_above_maximum_reverts(world: World) -> None:
    # the contract's own check, reached past the client (which refuses it before sending)
    esc = world.escrow
    world.reverts(lambda: esc.chain.transact(esc.address, "SettlementEscrow", "setFee",
                                             [1_001, esc.chain.address_of("carol")],
                                             sender="owner"),
                  "FeeTooHigh", {"feeBps": 1_001, "maxFeeBps": 1_000})


def test_set_fee_zero_collector_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.set_fee(10, ZERO_ADDRESS, sender="owner"),
                  "InvalidFeeCollector", {"feeCollector": "zero"})


# ------------------------------------------------------------------------------ lockIdOf

def test_lock_id_is_derived_from_chain_contract_payer_and_terms(world: World) -> None:
    t = terms(world)
    assert world.escrow.lock_id_of("alice", t) == world.lock_id("alice", t)
    ids = {
        world.escrow.lock_id_of("alice", t),
        world.escrow.lock_id_of("bob", t),
        world.escrow.lock_id_of("alice", terms(world, salt=b"\x01" * 32)),
        world.escrow.lock_id_of("alice", terms(world, amount=AMOUNT + 1)),
    }
    assert len(ids) == 4


# ---------------------------------------------------------------------------------- lock

@pytest.mark.parametrize(
    ("hashlock", "agent"),
    [(HASHLOCK, None), (ZERO32, "agent"), (HASHLOCK, "agent")],
    ids=["hashlock", "agent", "hashlock+agent"],
)
def test_lock_pulls_funds_and_records_the_lock(world: World, hashlock: bytes,
                                               agent: str | None) -> None:
    t = terms(world, hashlock=hashlock, agent=agent)
    lock_id = world.lock_id("alice", t)
    before = world.escrow_state([lock_id])
    assert before[("lock", lock_id)] == World.EMPTY_LOCK
    r = world.escrow.lock(t, sender="alice")
    assert world.escrow_state([lock_id]) == state_after_lock(world, before, "alice", t, lock_id)
    assert world.events(r) == [
        locked_event(world, t, lock_id),
        ("USD", "Transfer", {"from": "alice", "to": "escrow", "value": AMOUNT}),
    ]


def test_locks_differing_only_by_salt_coexist(world: World) -> None:
    t1, t2 = terms(world), terms(world, salt=b"\x07" * 32)
    id1 = lock(world, t1)
    before = world.escrow_state([id1, world.lock_id("alice", t2)])
    id2 = lock(world, t2)
    assert id1 != id2
    assert world.escrow_state([id1, id2]) == state_after_lock(world, before, "alice", t2, id2)


def test_same_terms_by_another_payer_are_another_lock(world: World) -> None:
    t = terms(world, beneficiary="carol")
    id_a = lock(world, t, "alice")
    before = world.escrow_state([id_a, world.lock_id("bob", t)])
    id_b = lock(world, t, "bob")
    assert world.escrow_state([id_a, id_b]) == state_after_lock(world, before, "bob", t, id_b)
    assert world.escrow.locked_balance(world.usd) == 2 * AMOUNT


def test_lock_zero_amount_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.lock(terms(world, amount=0), sender="alice"),
                  "ZeroAmount")


def test_lock_zero_token_reverts(world: World) -> None:
    t = terms(world)
    bad = LockTerms(ZERO_ADDRESS, t.beneficiary, t.amount, t.deadline, t.hashlock, t.agent,
                    t.salt, t.max_fee_bps)
    world.reverts(lambda: world.escrow.lock(bad, sender="alice"),
                  "InvalidToken", {"token": "zero"})


def test_lock_zero_beneficiary_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.lock(terms(world, beneficiary=ZERO_ADDRESS),
                                            sender="alice"),
                  "InvalidBeneficiary", {"beneficiary": "zero"})


def test_lock_for_the_escrow_itself_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.lock(terms(world, beneficiary=world.escrow.address),
                                            sender="alice"),
                  "InvalidBeneficiary", {"beneficiary": "escrow"})


@pytest.mark.parametrize("offset", [0, -1])
def test_lock_deadline_not_after_now_reverts(world: World, offset: int) -> None:
    at = world.now() + 100
    t = terms(world, deadline=at + offset)
    world.at(at)
    world.reverts(lambda: world.escrow.lock(t, sender="alice"),
                  "DeadlineNotInFuture", {"deadline": at + offset, "nowTimestamp": at})


def test_lock_deadline_one_second_ahead_is_accepted(world: World) -> None:
    at = world.now() + 100
    t = terms(world, deadline=at + 1)
    world.at(at)
    lock_id = lock(world, t)
    assert world.escrow.get_lock(lock_id) == {"state": OPEN, "feeBps": ESCROW_FEE_BPS}


def test_lock_without_release_condition_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.lock(terms(world, hashlock=ZERO32), sender="alice"),
                  "NoReleaseCondition")


def test_lock_twice_with_the_same_terms_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.lock(t, sender="alice"),
                  "LockAlreadyExists", {"lockId": lock_id})


def test_lock_beyond_allowance_reverts(world: World) -> None:
    world.usd.approve(world.escrow.address, AMOUNT - 1, sender="alice")
    world.reverts(lambda: world.escrow.lock(terms(world), sender="alice"),
                  "ERC20InsufficientAllowance",
                  {"spender": "escrow", "allowance": AMOUNT - 1, "needed": AMOUNT})


def test_lock_beyond_balance_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.lock(terms(world, amount=INITIAL_BALANCE + 1),
                                            sender="alice"),
                  "ERC20InsufficientBalance",
                  {"sender": "alice", "balance": INITIAL_BALANCE,
                   "needed": INITIAL_BALANCE + 1})


def test_lock_while_token_paused_reverts(world: World) -> None:
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.escrow.lock(terms(world), sender="alice"), "EnforcedPause")


def test_lock_by_blacklisted_payer_reverts(world: World) -> None:
    world.usd.blacklist("alice", sender="blacklister")
    world.reverts(lambda: world.escrow.lock(terms(world), sender="alice"),
                  "AccountBlacklisted", {"account": "alice"})


# ------------------------------------------------------------------------ lockWithPermit

def test_lock_with_permit_approves_and_locks_in_one_transaction(world: World) -> None:
    world.usd.approve(world.escrow.address, 0, sender="alice")
    t = terms(world)
    lock_id = world.lock_id("alice", t)
    before = world.escrow_state([lock_id])
    r = world.escrow.lock_with_permit(t, world.usd, sender="alice")
    expected = state_after_lock(world, before, "alice", t, lock_id)
    expected[("USD", "allowance", "alice", "escrow")] = 0  # permit for AMOUNT, all spent
    assert world.escrow_state([lock_id]) == expected
    assert world.usd.nonces("alice") == 1
    assert [n for _, n, _ in world.events(r)] == ["Approval", "Locked", "Transfer"]


def test_lock_with_permit_leaves_a_sufficient_allowance_alone(world: World) -> None:
    # alice's standing allowance covers the lock: the permit is not submitted, so it neither
    # replaces the larger allowance nor spends her nonce
    t = terms(world)
    lock_id = world.lock_id("alice", t)
    before = world.escrow_state([lock_id])
    r = world.escrow.lock_with_permit(t, world.usd, sender="alice")
    assert world.escrow_state([lock_id]) == state_after_lock(world, before, "alice", t, lock_id)
    assert world.usd.allowance("alice", world.escrow.address) == SPENDER_ALLOWANCE - AMOUNT
    assert world.usd.nonces("alice") == 0
    assert [n for _, n, _ in world.events(r)] == ["Locked", "Transfer"]


def test_lock_with_permit_proceeds_when_the_permit_was_front_run(world: World) -> None:
    world.usd.approve(world.escrow.address, 0, sender="alice")
    t = terms(world)
    v, r, s = world.usd.sign_permit("alice", world.escrow.address, AMOUNT, t.deadline)
    # someone submits alice's signed permit first: her own permit call will fail (nonce used)
    world.usd.permit("alice", world.escrow.address, AMOUNT, t.deadline, v, r, s,
                     sender="carol")
    lock_id = world.lock_id("alice", t)
    before = world.escrow_state([lock_id])
    receipt = world.chain.transact(world.escrow.address, "SettlementEscrow", "lockWithPermit",
                                   (t.as_abi(), t.deadline, v, r, s), sender="alice")
    assert world.escrow_state([lock_id]) == state_after_lock(world, before, "alice", t,
                                                             lock_id)
    assert [n for _, n, _ in world.events(receipt)] == ["Locked", "Transfer"]


def test_lock_with_failed_permit_and_no_allowance_passes_the_permit_error_on(
    world: World
) -> None:
    world.usd.approve(world.escrow.address, 0, sender="alice")
    t = terms(world)
    expired = world.now() - 1
    world.reverts(lambda: lock_with_permit_raw(world, t, expired, "alice", "alice"),
                  "ERC2612ExpiredSignature", {"deadline": expired})


def test_lock_with_permit_signed_by_another_account_reverts(world: World) -> None:
    world.usd.approve(world.escrow.address, 0, sender="alice")
    t = terms(world)
    with pytest.raises(ContractRevert) as info:
        lock_with_permit_raw(world, t, t.deadline, "bob", "alice")
    assert info.value.error == "ERC2612InvalidSigner"
    assert world.named(info.value.args_dict)["owner"] == "alice"
    assert world.escrow.locked_balance(world.usd) == 0


# ----------------------------------------------------------------------------- lockBatch

def test_lock_batch_makes_every_lock(world: World) -> None:
    batch = [
        terms(world),
        terms(world, token="MXN", beneficiary="carol", amount=17_000_000, agent="agent",
              hashlock=ZERO32),
        terms(world, salt=b"\x02" * 32, amount=5),
    ]
    ids = [world.lock_id("alice", t) for t in batch]
    before = world.escrow_state(ids)
    r = world.receipt(world.escrow.lock_batch(batch, sender="alice"))
    expected = before
    for t, lock_id in zip(batch, ids, strict=True):
        expected = state_after_lock(world, expected, "alice", t, lock_id)
    assert world.escrow_state(ids) == expected
    assert [e["lockId"] for e in r.events if e.name == "Locked"] == ids


def test_lock_batch_empty_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.lock_batch([], sender="alice"), "EmptyBatch")


def test_lock_batch_is_all_or_nothing(world: World) -> None:
    batch = [terms(world), terms(world, amount=0), terms(world, salt=b"\x02" * 32)]
    world.reverts(lambda: world.escrow.lock_batch(batch, sender="alice"), "ZeroAmount")


def test_lock_batch_with_a_repeated_lock_reverts(world: World) -> None:
    t = terms(world)
    world.reverts(lambda: world.escrow.lock_batch([t, t], sender="alice"),
                  "LockAlreadyExists", {"lockId": world.lock_id("alice", t)})


# ------------------------------------------------------------------------------- release

def state_after_release(world: World, before: dict[Any, Any], t: LockTerms, lock_id: bytes,
                        collector: str = "fee_collector",
                        bps: int = ESCROW_FEE_BPS) -> dict[Any, Any]:
    ccy = world.name(t.token)
    fee = fee_of(t.amount, bps)
    released = dict(before[("lock", lock_id)], state=RELEASED)
    # the fee stays in the escrow, accrued for the collector to withdraw
    return changed(before, {("lock", lock_id): released}, plus={
        (ccy, "balanceOf", "escrow"): -(t.amount - fee),
        (ccy, "balanceOf", world.name(t.beneficiary)): t.amount - fee,
        ("escrow", "lockedBalance", ccy): -t.amount,
        ("escrow", "accruedFees", ccy): fee,
    })


def test_release_with_preimage_by_anyone(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    before = world.escrow_state([lock_id])
    r = world.escrow.release("alice", t, PREIMAGE, sender="carol")
    assert world.escrow_state([lock_id]) == state_after_release(world, before, t, lock_id)
    fee = fee_of(AMOUNT)
    assert fee == 2_500
    assert world.events(r) == [
        ("USD", "Transfer", {"from": "escrow", "to": "bob", "value": AMOUNT - fee}),
        ("escrow", "Released", {"lockId": lock_id, "token": "USD", "beneficiary": "bob",
                                "amountPaid": AMOUNT - fee, "fee": fee,
                                "preimage": PREIMAGE}),
    ]


def test_release_by_the_settlement_agent_alone(world: World) -> None:
    t = terms(world, token="MXN", hashlock=ZERO32, agent="agent")
    lock_id = lock(world, t)
    before = world.escrow_state([lock_id])
    world.escrow.release("alice", t, sender="agent")
    assert world.escrow_state([lock_id]) == state_after_release(world, before, t, lock_id)


def test_release_with_both_conditions_by_the_agent_with_preimage(world: World) -> None:
    t = terms(world, agent="agent")
    lock_id = lock(world, t)
    before = world.escrow_state([lock_id])
    world.escrow.release("alice", t, PREIMAGE, sender="agent")
    assert world.escrow_state([lock_id]) == state_after_release(world, before, t, lock_id)


@pytest.mark.parametrize(("amount", "fee"), [(399, 0), (400, 1), (1_000_001, 2_500)])
def test_release_fee_is_rounded_down_and_skipped_when_zero(world: World, amount: int,
                                                           fee: int) -> None:
    t = terms(world, amount=amount)
    lock_id = lock(world, t)
    before = world.escrow_state([lock_id])
    r = world.receipt(world.escrow.release("alice", t, PREIMAGE, sender="bob"))
    assert world.escrow_state([lock_id]) == state_after_release(world, before, t, lock_id)
    transfers = [a["to"] for _, n, a in world.events(r) if n == "Transfer"]
    assert transfers == ["bob"]   # the fee is never transferred by a release
    assert r.event("Released")["fee"] == fee


def test_fee_rate_is_captured_at_lock_and_withdrawn_by_the_current_collector(
    world: World
) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.escrow.set_fee(1_000, "carol", sender="owner")
    before = world.escrow_state([lock_id])
    assert before[("lock", lock_id)]["feeBps"] == ESCROW_FEE_BPS
    world.escrow.release("alice", t, PREIMAGE, sender="bob")
    assert world.escrow_state([lock_id]) == state_after_release(world, before, t, lock_id)
    world.escrow.withdraw_fees(world.usd, sender="carol")
    assert world.usd.balance_of("carol") == INITIAL_BALANCE + fee_of(AMOUNT)
    # a lock made after the change carries the new rate
    t2 = terms(world, salt=b"\x09" * 32, max_fee_bps=1_000)
    lock_id2 = lock(world, t2)
    assert world.escrow.get_lock(lock_id2)["feeBps"] == 1_000


def test_release_one_second_before_the_deadline(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    before = world.escrow_state([lock_id])
    world.at(t.deadline - 1)
    world.escrow.release("alice", t, PREIMAGE, sender="bob")
    assert world.escrow_state([lock_id]) == state_after_release(world, before, t, lock_id)


def test_release_at_the_deadline_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.at(t.deadline)
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="bob"),
                  "LockExpired",
                  {"lockId": lock_id, "deadline": t.deadline, "nowTimestamp": t.deadline})


def test_release_unknown_lock_reverts(world: World) -> None:
    t = terms(world)
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="bob"),
                  "LockNotFound", {"lockId": world.lock_id("alice", t)})


@pytest.mark.parametrize("change", ["payer", "amount", "beneficiary", "deadline", "salt"])
def test_release_with_terms_other_than_the_locked_ones_finds_no_lock(world: World,
                                                                     change: str) -> None:
    # the record is found by the id the payer and terms hash to: altered terms name no lock
    t = terms(world)
    lock(world, t)
    payer = "bob" if change == "payer" else "alice"
    altered = {"payer": t, "amount": terms(world, amount=AMOUNT - 1),
               "beneficiary": terms(world, beneficiary="carol"),
               "deadline": terms(world, deadline=t.deadline + 1),
               "salt": terms(world, salt=b"\x01" * 32)}[change]
    world.reverts(lambda: world.escrow.release(payer, altered, PREIMAGE, sender="bob"),
                  "LockNotFound", {"lockId": world.lock_id(payer, altered)})


def test_release_twice_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.escrow.release("alice", t, PREIMAGE, sender="bob")
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="bob"),
                  "LockNotOpen", {"lockId": lock_id, "state": RELEASED})


def test_release_after_refund_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.at(t.deadline)
    world.escrow.refund("alice", t, sender="alice")
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="bob"),
                  "LockNotOpen", {"lockId": lock_id, "state": REFUNDED})


def test_release_with_wrong_preimage_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.release("alice", t, b"\x00" * 31 + b"\x01", sender="bob"),
                  "InvalidPreimage", {"lockId": lock_id})


def test_release_of_agent_lock_by_someone_else_reverts(world: World) -> None:
    t = terms(world, hashlock=ZERO32, agent="agent")
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.release("alice", t, sender="bob"),
                  "NotSettlementAgent", {"lockId": lock_id, "caller": "bob"})


def test_release_with_both_conditions_needs_the_agent_even_with_preimage(world: World) -> None:
    t = terms(world, agent="agent")
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="carol"),
                  "NotSettlementAgent", {"lockId": lock_id, "caller": "carol"})


def test_release_with_both_conditions_needs_the_preimage_even_from_the_agent(
    world: World
) -> None:
    t = terms(world, agent="agent")
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.release("alice", t, ZERO32, sender="agent"),
                  "InvalidPreimage", {"lockId": lock_id})


# -------------------------------------------------------------------------- releaseBatch

def test_release_batch_releases_every_lock(world: World) -> None:
    pre2 = b"\x33" * 32
    t1 = terms(world)
    t2 = terms(world, token="MXN", beneficiary="carol", amount=3_000_000,
               hashlock=hashlock_of(pre2))
    t3 = terms(world, beneficiary="carol", amount=10_000, hashlock=ZERO32, agent="agent")
    ids = [lock(world, t1), lock(world, t2, "bob"), lock(world, t3)]
    before = world.escrow_state(ids)
    r = world.receipt(world.escrow.release_batch(["alice", "bob", "alice"], [t1, t2, t3],
                                                 [PREIMAGE, pre2, ZERO32], sender="agent"))
    expected = before
    for t, lock_id in zip((t1, t2, t3), ids, strict=True):
        expected = state_after_release(world, expected, t, lock_id)
    assert world.escrow_state(ids) == expected
    assert [e["lockId"] for e in r.events if e.name == "Released"] == ids


def test_release_batch_empty_reverts(world: World) -> None:
    world.reverts(lambda: world.escrow.release_batch([], [], [], sender="bob"), "EmptyBatch")


def test_release_batch_length_mismatch_reverts(world: World) -> None:
    ts = [terms(world), terms(world, salt=b"\x01" * 32)]
    for t in ts:
        lock(world, t)
    world.reverts(lambda: world.escrow.release_batch(["alice"] * 2, ts, [PREIMAGE],
                                                     sender="bob"),
                  "BatchLengthMismatch", {"terms": 2, "other": 1})
    world.reverts(lambda: world.escrow.release_batch(["alice"], ts, [PREIMAGE] * 2,
                                                     sender="bob"),
                  "BatchLengthMismatch", {"terms": 2, "other": 1})


def test_release_batch_is_all_or_nothing(world: World) -> None:
    ts = [terms(world), terms(world, salt=b"\x01" * 32)]
    ids = [lock(world, t) for t in ts]
    world.reverts(lambda: world.escrow.release_batch(["alice"] * 2, ts, [PREIMAGE, ZERO32],
                                                     sender="bob"),
                  "InvalidPreimage", {"lockId": ids[1]})


def test_release_batch_with_a_repeated_lock_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.release_batch(["alice"] * 2, [t, t], [PREIMAGE] * 2,
                                                     sender="bob"),
                  "LockNotOpen", {"lockId": lock_id, "state": RELEASED})


# -------------------------------------------------------------------------------- refund

@pytest.mark.parametrize("caller", ["alice", "outsider"])
def test_refund_at_the_deadline_returns_everything_to_the_payer(world: World,
                                                                caller: str) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    before = world.escrow_state([lock_id])
    world.at(t.deadline)
    r = world.escrow.refund("alice", t, sender=caller)
    refunded = dict(before[("lock", lock_id)], state=REFUNDED)
    assert world.escrow_state([lock_id]) == changed(before, {("lock", lock_id): refunded},
                                                    plus={
        ("USD", "balanceOf", "escrow"): -AMOUNT,
        ("USD", "balanceOf", "alice"): AMOUNT,  # no fee on a refund
        ("escrow", "lockedBalance", "USD"): -AMOUNT,
    })
    assert world.events(r) == [
        ("escrow", "Refunded", {"lockId": lock_id, "token": "USD", "payer": "alice",
                                "amount": AMOUNT}),
        ("USD", "Transfer", {"from": "escrow", "to": "alice", "value": AMOUNT}),
    ]


def test_refund_before_the_deadline_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.at(t.deadline - 1)
    world.reverts(lambda: world.escrow.refund("alice", t, sender="alice"),
                  "LockNotExpired",
                  {"lockId": lock_id, "deadline": t.deadline, "nowTimestamp": t.deadline - 1})


def test_refund_unknown_lock_reverts(world: World) -> None:
    t = terms(world)
    world.reverts(lambda: world.escrow.refund("alice", t, sender="alice"),
                  "LockNotFound", {"lockId": world.lock_id("alice", t)})


def test_refund_after_release_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.escrow.release("alice", t, PREIMAGE, sender="bob")
    world.at(t.deadline)
    world.reverts(lambda: world.escrow.refund("alice", t, sender="alice"),
                  "LockNotOpen", {"lockId": lock_id, "state": RELEASED})


def test_refund_twice_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.at(t.deadline)
    world.escrow.refund("alice", t, sender="alice")
    world.reverts(lambda: world.escrow.refund("alice", t, sender="alice"),
                  "LockNotOpen", {"lockId": lock_id, "state": REFUNDED})


# ------------------------------------------------------------------ views, ownership

def test_get_lock_of_unknown_id_is_empty(world: World) -> None:
    assert world.escrow.get_lock(b"\x01" * 32) == World.EMPTY_LOCK


def test_a_lock_is_stored_in_one_storage_slot(world: World) -> None:
    # the record (state and fee rate) is one slot of the `_locks` mapping (storage slot 4,
    # after owner, pending owner, the packed fee settings and the rescuer); the terms live in
    # the id and the Locked event, and the slot after the record stays empty
    t = terms(world, salt=b"\x0c" * 32)
    lock_id = lock(world, t)
    slot = int.from_bytes(keccak(lock_id + (4).to_bytes(32, "big")), "big")

    def word(at: int) -> int:
        return int.from_bytes(bytes(world.chain.w3.eth.get_storage_at(world.escrow.address, at)),
                              "big")

    assert (word(slot), word(slot + 1)) == (OPEN | (ESCROW_FEE_BPS << 8), 0)


def test_locked_balance_tracks_open_locks_per_token(world: World) -> None:
    t1, t2 = terms(world), terms(world, amount=7, salt=b"\x01" * 32)
    t3 = terms(world, token="MXN", amount=11)
    lock(world, t1), lock(world, t2, "bob"), lock(world, t3, "carol")
    assert (world.escrow.locked_balance(world.usd), world.escrow.locked_balance(world.mxn)) == (
        AMOUNT + 7, 11)
    world.escrow.release("alice", t1, PREIMAGE, sender="bob")
    world.at(t2.deadline)
    world.escrow.refund("bob", t2, sender="bob")
    state = world.escrow_state()  # also checks each token's escrow balance == what it owes
    assert (state[("escrow", "lockedBalance", "USD")],
            state[("escrow", "lockedBalance", "MXN")]) == (0, 11)
    assert state[("escrow", "accruedFees", "USD")] == fee_of(AMOUNT)


def test_escrow_ownership_transfer_takes_two_steps(world: World) -> None:
    before = world.escrow_state()
    world.chain.transact(world.escrow.address, "SettlementEscrow", "transferOwnership",
                         (world.address("carol"),), sender="owner")
    assert world.escrow_state() == changed(before, {("escrow", "pendingOwner"): "carol"})
    world.chain.transact(world.escrow.address, "SettlementEscrow", "acceptOwnership", (),
                         sender="carol")
    assert world.escrow_state() == changed(before, {("escrow", "owner"): "carol"})
    world.escrow.set_fee(5, "carol", sender="carol")


def test_allowance_left_after_locks(world: World) -> None:
    lock(world, terms(world))
    assert world.usd.allowance("alice", world.escrow.address) == SPENDER_ALLOWANCE - AMOUNT
