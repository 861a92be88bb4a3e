"""The escrow's hardening rules, each against the whole escrow state.

* Pull fees: a release books its fee in the escrow; the fee collector withdraws it. A
  blacklisted (or paused-out) collector blocks no release.
* The pause rule: a release proven before the deadline (preimage and/or attestation) whose
  payout the token refuses (paused, beneficiary blacklisted) is recorded as ``PROVEN``: it is
  never refunded or rejected and anyone can claim it for the beneficiary, after the deadline
  too. The linked two-lock flow of ``settlement/demo.py`` stays atomic under it.
* The deadline horizon, the payer's maximum fee, the agent's rejection, surplus-only rescue,
  the fee by ``Math.mulDiv`` for amounts whose product with the rate overflows 256 bits, the
  token in the events, and the transient reentrancy guard.

The test token ``solidity/ShortToken.sol`` (fee-on-transfer when its fee is set) is committed
compiled beside its source, as ``ReentrantToken`` is; after editing it, regenerate its artifact
with ``python -m tests.contracts.test_escrow_rules``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from settlement import AbiRegistry, hashlock_of
from settlement.clients import LockTerms
from settlement.compile import load_artifact
from tests.contracts.contract_world import (
    ESCROW_FEE_BPS,
    INITIAL_BALANCE,
    ZERO32,
    ZERO_ADDRESS,
    World,
    changed,
)

PREIMAGE = bytes(range(2, 34))
HASHLOCK = hashlock_of(PREIMAGE)
AMOUNT = 2_000_000
HOUR = 3_600
DAY = 86_400
OPEN, RELEASED, REFUNDED, PROVEN = 1, 2, 3, 4
MAX_LOCK = 30 * DAY
SHORT_TOKEN = Path(__file__).resolve().parent / "solidity" / "ShortToken.json"
SHORT_SOURCE = SHORT_TOKEN.with_suffix(".sol")


def regenerate() -> None:
    """Compile the test token with the project's pinned compiler and write its artifact."""
    from settlement.compile import compile_contracts

    art = compile_contracts(SHORT_SOURCE.parent, ("ShortToken",))["ShortToken"]
    assert not art["warnings"], art["warnings"]
    out = {"abi": art["abi"], "bytecode": art["bytecode"], "compiler": art["compiler"],
           "sourceSha256": hashlib.sha256(SHORT_SOURCE.read_bytes()).hexdigest()}
    SHORT_TOKEN.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")


def test_short_token_artifact_is_compiled_from_the_current_source() -> None:
    art = json.loads(SHORT_TOKEN.read_text(encoding="utf-8"))
    assert art["sourceSha256"] == hashlib.sha256(SHORT_SOURCE.read_bytes()).hexdigest(), (
        "ShortToken.sol changed: run python -m tests.contracts.test_escrow_rules")


def fee_of(amount: int, bps: int = ESCROW_FEE_BPS) -> int:
    return amount * bps // 10_000


def terms(world: World, *, token: str = "USD", beneficiary: str = "bob", amount: int = AMOUNT,
          deadline: int | None = None, hashlock: bytes = HASHLOCK, agent: str | None = "agent",
          salt: bytes = ZERO32, max_fee_bps: int = ESCROW_FEE_BPS) -> LockTerms:
    return world.escrow.terms(world.tokens[token], beneficiary, amount,
                              deadline if deadline is not None else world.now() + HOUR,
                              hashlock=hashlock, agent=agent, salt=salt,
                              max_fee_bps=max_fee_bps)


def lock(world: World, t: LockTerms, payer: str = "alice") -> bytes:
    lock_id: bytes = world.receipt(world.escrow.lock(t, sender=payer)).event("Locked")["lockId"]
    return lock_id


def paid_out(before: dict[Any, Any], lock_id: bytes, t: LockTerms, ccy: str,
             beneficiary: str = "bob") -> dict[Any, Any]:
    fee = fee_of(t.amount)
    return changed(before, {("lock", lock_id): {"state": RELEASED, "feeBps": ESCROW_FEE_BPS}},
                   plus={(ccy, "balanceOf", "escrow"): -(t.amount - fee),
                         (ccy, "balanceOf", beneficiary): t.amount - fee,
                         ("escrow", "lockedBalance", ccy): -t.amount,
                         ("escrow", "accruedFees", ccy): fee})


# ------------------------------------------------------------------------------ pull fees

def test_a_blacklisted_fee_collector_blocks_no_release(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.usd.blacklist("fee_collector", sender="blacklister")
    before = world.escrow_state([lock_id])
    r = world.escrow.release("alice", t, PREIMAGE, sender="agent")
    assert world.escrow_state([lock_id]) == paid_out(before, lock_id, t, "USD")
    assert [a["to"] for _, n, a in world.events(r) if n == "Transfer"] == ["bob"]
    # the fee waits in the escrow; the collector's withdrawal fails while it is blacklisted
    world.reverts(lambda: world.escrow.withdraw_fees(world.usd, sender="fee_collector"),
                  "AccountBlacklisted", {"account": "fee_collector"})
    world.usd.un_blacklist("fee_collector", sender="blacklister")
    before = world.escrow_state([lock_id])
    r = world.escrow.withdraw_fees(world.usd, sender="fee_collector")
    fee = fee_of(AMOUNT)
    assert world.escrow_state([lock_id]) == changed(before, plus={
        ("USD", "balanceOf", "escrow"): -fee, ("USD", "balanceOf", "fee_collector"): fee,
        ("escrow", "accruedFees", "USD"): -fee})
    assert world.events(r) == [
        ("escrow", "FeesWithdrawn", {"token": "USD", "feeCollector": "fee_collector",
                                     "amount": fee}),
        ("USD", "Transfer", {"from": "escrow", "to": "fee_collector", "value": fee}),
    ]


def test_fees_accrue_per_token_and_a_second_withdrawal_pays_nothing(world: World) -> None:
    tu, tm = terms(world), terms(world, token="MXN", amount=30_000_000)
    lock(world, tu), lock(world, tm)
    world.escrow.release("alice", tu, PREIMAGE, sender="agent")
    world.escrow.release("alice", tm, PREIMAGE, sender="agent")
    assert (world.escrow.accrued_fees(world.usd), world.escrow.accrued_fees(world.mxn)) == (
        fee_of(AMOUNT), fee_of(30_000_000))
    world.escrow.withdraw_fees(world.mxn, sender="fee_collector")
    before = world.escrow_state()
    r = world.receipt(world.escrow.withdraw_fees(world.mxn, sender="fee_collector"))
    assert world.escrow_state() == before
    assert [e.name for e in r.events] == ["FeesWithdrawn"] and r.event("FeesWithdrawn")[
        "amount"] == 0
    assert world.escrow.accrued_fees(world.usd) == fee_of(AMOUNT)


# ----------------------------------------------------------------- pause and blacklist rule

@pytest.mark.parametrize("obstacle", ["pause", "blacklist"])
def test_a_release_proven_before_the_deadline_stays_claimable_after_it(world: World,
                                                                       obstacle: str) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    if obstacle == "pause":
        world.usd.pause(sender="pauser")
    else:
        world.usd.blacklist("bob", sender="blacklister")
    before = world.escrow_state([lock_id])
    r = world.escrow.release("alice", t, PREIMAGE, sender="agent")
    # nothing moves, but the release is proven: the record says so and the preimage is public
    assert world.escrow_state([lock_id]) == changed(
        before, {("lock", lock_id): {"state": PROVEN, "feeBps": ESCROW_FEE_BPS}})
    assert world.events(r) == [("escrow", "ReleaseProven", {
        "lockId": lock_id, "token": "USD", "beneficiary": "bob", "preimage": PREIMAGE})]
    world.at(t.deadline + DAY)
    # past the deadline: no refund, no rejection, no second release; a claim waits for the token
    world.reverts(lambda: world.escrow.refund("alice", t, sender="alice"),
                  "LockNotOpen", {"lockId": lock_id, "state": PROVEN})
    world.reverts(lambda: world.escrow.reject("alice", t, sender="agent"),
                  "LockNotOpen", {"lockId": lock_id, "state": PROVEN})
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="agent"),
                  "LockNotOpen", {"lockId": lock_id, "state": PROVEN})
    if obstacle == "pause":
        world.reverts(lambda: world.escrow.claim("alice", t, sender="outsider"), "EnforcedPause")
        world.usd.unpause(sender="pauser")
    else:
        world.reverts(lambda: world.escrow.claim("alice", t, sender="outsider"),
                      "AccountBlacklisted", {"account": "bob"})
        world.usd.un_blacklist("bob", sender="blacklister")
    before = world.escrow_state([lock_id])
    r = world.escrow.claim("alice", t, sender="outsider")
    assert world.escrow_state([lock_id]) == paid_out(before, lock_id, t, "USD")
    fee = fee_of(AMOUNT)
    assert world.events(r) == [
        ("escrow", "Released", {"lockId": lock_id, "token": "USD", "beneficiary": "bob",
                                "amountPaid": AMOUNT - fee, "fee": fee, "preimage": ZERO32}),
        ("USD", "Transfer", {"from": "escrow", "to": "bob", "value": AMOUNT - fee}),
    ]
    world.reverts(lambda: world.escrow.claim("alice", t, sender="outsider"),
                  "LockNotProven", {"lockId": lock_id, "state": RELEASED})


def test_claim_of_an_open_lock_reverts(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.claim("alice", t, sender="bob"),
                  "LockNotProven", {"lockId": lock_id, "state": OPEN})


def test_a_lock_no_release_reached_before_the_deadline_is_refunded(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.usd.pause(sender="pauser")
    world.at(t.deadline)
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="agent"),
                  "LockExpired", {"lockId": lock_id, "deadline": t.deadline,
                                  "nowTimestamp": t.deadline})
    world.reverts(lambda: world.escrow.refund("alice", t, sender="alice"), "EnforcedPause")
    world.usd.unpause(sender="pauser")
    world.escrow.refund("alice", t, sender="alice")
    assert world.escrow.get_lock(lock_id)["state"] == REFUNDED
    assert world.usd.balance_of("alice") == INITIAL_BALANCE


def test_the_linked_two_lock_flow_stays_atomic_under_a_pause_past_both_deadlines(
    world: World
) -> None:
    """The demo's flow: alice (the client) locks USDx for carol (the sender bank) under H;
    carol locks MXNx for bob (the payee) under H, released by the agent (the beneficiary bank).
    MXNx is paused when the agent attests, and stays paused past both deadlines: the payee's
    release is proven, the preimage it revealed lets carol claim alice's USDx, and the payee is
    paid once MXNx resumes; neither lock is refunded."""
    t_usd = terms(world, beneficiary="carol", agent=None, deadline=world.now() + 2 * HOUR)
    t_mxn = terms(world, token="MXN", beneficiary="bob", amount=34_000_000,
                  deadline=world.now() + HOUR)
    usd_id, mxn_id = lock(world, t_usd, "alice"), lock(world, t_mxn, "carol")
    world.mxn.pause(sender="pauser")
    r = world.receipt(world.escrow.release("carol", t_mxn, PREIMAGE, sender="agent"))
    revealed = r.event("ReleaseProven")["preimage"]
    assert world.escrow.get_lock(mxn_id)["state"] == PROVEN
    world.escrow.release("alice", t_usd, revealed, sender="carol")
    world.at(t_usd.deadline + DAY)
    for payer, t, lid in (("alice", t_usd, usd_id), ("carol", t_mxn, mxn_id)):
        state = world.escrow.get_lock(lid)["state"]
        world.reverts(lambda p=payer, tt=t: world.escrow.refund(p, tt, sender=p),
                      "LockNotOpen", {"lockId": lid, "state": state})
    world.mxn.unpause(sender="pauser")
    world.escrow.claim("carol", t_mxn, sender="bob")
    state = world.escrow_state([usd_id, mxn_id])
    assert state[("USD", "balanceOf", "carol")] == INITIAL_BALANCE + AMOUNT - fee_of(AMOUNT)
    assert state[("MXN", "balanceOf", "bob")] == INITIAL_BALANCE + 34_000_000 - fee_of(34_000_000)
    assert state[("lock", usd_id)]["state"] == state[("lock", mxn_id)]["state"] == RELEASED


# ---------------------------------------------------------------------- deadline horizon

def test_lock_deadline_at_most_the_maximum_duration_ahead(world: World) -> None:
    at = world.now() + 100
    world.at(at)
    lock(world, terms(world, deadline=at + MAX_LOCK))
    world.at(at + 1)
    world.reverts(lambda: world.escrow.lock(terms(world, deadline=at + 2 + MAX_LOCK,
                                                  salt=b"\x01" * 32), sender="alice"),
                  "DeadlineTooFar", {"deadline": at + 2 + MAX_LOCK,
                                     "maxDeadline": at + 1 + MAX_LOCK})
    # a deadline far in the future (the review's 2^64 - 1) is refused
    world.reverts(lambda: world.escrow.lock(terms(world, deadline=2**64 - 1), sender="alice"),
                  "DeadlineTooFar", {"deadline": 2**64 - 1,
                                     "maxDeadline": world.now() + 1 + MAX_LOCK})


def test_owner_sets_the_maximum_lock_duration(world: World) -> None:
    before = world.escrow_state()
    r = world.escrow.set_max_lock_duration(DAY, sender="owner")
    assert world.escrow_state() == changed(before, {("escrow", "maxLockDuration"): DAY})
    assert world.events(r) == [("escrow", "MaxLockDurationUpdated", {"maxLockDuration": DAY})]
    at = world.now() + 10
    world.at(at)
    world.reverts(lambda: world.escrow.lock(terms(world, deadline=at + DAY + 1), sender="alice"),
                  "DeadlineTooFar", {"deadline": at + DAY + 1, "maxDeadline": at + DAY})
    world.reverts(lambda: world.escrow.set_max_lock_duration(0, sender="owner"),
                  "InvalidLockDuration", {"duration": 0})


# ------------------------------------------------------------------------- payer's max fee

def test_the_payer_states_the_highest_fee_it_accepts(world: World) -> None:
    world.reverts(lambda: world.escrow.lock(terms(world, max_fee_bps=ESCROW_FEE_BPS - 1),
                                            sender="alice"),
                  "FeeAboveMaximum", {"feeBps": ESCROW_FEE_BPS, "maxFeeBps": ESCROW_FEE_BPS - 1})
    t = terms(world)            # accepts exactly the current rate
    lock_id = lock(world, t)
    # the owner raising the fee right before a user's lock makes that lock revert ...
    world.escrow.set_fee(500, "fee_collector", sender="owner")
    world.reverts(lambda: world.escrow.lock(terms(world, salt=b"\x02" * 32), sender="alice"),
                  "FeeAboveMaximum", {"feeBps": 500, "maxFeeBps": ESCROW_FEE_BPS})
    # ... and does not touch a lock already made: its rate was fixed then
    r = world.receipt(world.escrow.release("alice", t, PREIMAGE, sender="agent"))
    assert world.escrow.get_lock(lock_id)["feeBps"] == ESCROW_FEE_BPS
    assert r.event("Released")["fee"] == fee_of(AMOUNT)


# ------------------------------------------------------------------------------- rejection

def test_the_agent_rejects_a_lock_refunding_the_payer_at_once(world: World) -> None:
    t = terms(world, deadline=world.now() + 2 * DAY)
    lock_id = lock(world, t)
    before = world.escrow_state([lock_id])
    r = world.escrow.reject("alice", t, sender="agent")
    assert world.escrow_state([lock_id]) == changed(
        before, {("lock", lock_id): {"state": REFUNDED, "feeBps": ESCROW_FEE_BPS}},
        plus={("USD", "balanceOf", "escrow"): -AMOUNT, ("USD", "balanceOf", "alice"): AMOUNT,
              ("escrow", "lockedBalance", "USD"): -AMOUNT})
    assert world.events(r) == [
        ("escrow", "Rejected", {"lockId": lock_id, "token": "USD", "payer": "alice",
                                "amount": AMOUNT}),
        ("USD", "Transfer", {"from": "escrow", "to": "alice", "value": AMOUNT}),
    ]
    world.reverts(lambda: world.escrow.release("alice", t, PREIMAGE, sender="agent"),
                  "LockNotOpen", {"lockId": lock_id, "state": REFUNDED})


def test_a_lock_without_an_agent_cannot_be_rejected(world: World) -> None:
    t = terms(world, agent=None)
    lock_id = lock(world, t)
    world.reverts(lambda: world.escrow.reject("alice", t, sender="bob"),
                  "NotSettlementAgent", {"lockId": lock_id, "caller": "bob"})


def test_a_released_lock_cannot_be_rejected(world: World) -> None:
    t = terms(world)
    lock_id = lock(world, t)
    world.escrow.release("alice", t, PREIMAGE, sender="agent")
    world.reverts(lambda: world.escrow.reject("alice", t, sender="agent"),
                  "LockNotOpen", {"lockId": lock_id, "state": RELEASED})


# ---------------------------------------------------------------------------------- rescue

def test_the_rescuer_returns_only_the_surplus_above_what_the_escrow_owes(world: World) -> None:
    t = terms(world)
    lock(world, t)
    t2 = terms(world, salt=b"\x03" * 32)
    lock(world, t2)
    world.escrow.release("alice", t2, PREIMAGE, sender="agent")   # accrues a fee
    world.usd.transfer(world.escrow.address, 700, sender="carol")  # sent by mistake
    owed = AMOUNT + fee_of(AMOUNT)
    assert world.escrow.owed_balance(world.usd) == owed
    world.reverts(lambda: world.escrow.rescue_erc20(world.usd, "carol", 701, sender="rescuer"),
                  "RescueExceedsSurplus", {"token": "USD", "surplus": 700, "needed": 701},
                  state=lambda: world.escrow_state(surplus=True))
    before = world.escrow_state(surplus=True)
    r = world.escrow.rescue_erc20(world.usd, "carol", 700, sender="rescuer")
    assert world.escrow_state() == changed(before, plus={
        ("USD", "balanceOf", "escrow"): -700, ("USD", "balanceOf", "carol"): 700})
    assert world.events(r)[0] == ("escrow", "Rescued", {"token": "USD", "to": "carol",
                                                        "amount": 700})
    world.reverts(lambda: world.escrow.rescue_erc20(world.usd, "carol", 1, sender="rescuer"),
                  "RescueExceedsSurplus", {"token": "USD", "surplus": 0, "needed": 1})


def test_owner_appoints_the_escrow_rescuer(world: World) -> None:
    world.usd.transfer(world.escrow.address, 5, sender="carol")
    r = world.escrow.update_rescuer("carol", sender="owner")
    assert world.events(r) == [("escrow", "RescuerChanged", {"newRescuer": "carol"})]
    world.reverts(lambda: world.escrow.rescue_erc20(world.usd, "carol", 5, sender="rescuer"),
                  "CallerNotRescuer", {"caller": "rescuer"})
    world.escrow.rescue_erc20(world.usd, "carol", 5, sender="carol")
    world.reverts(lambda: world.escrow.update_rescuer(ZERO_ADDRESS, sender="owner"),
                  "InvalidRescuer", {"rescuer": "zero"})


# ------------------------------------------------- mulDiv fee, short tokens, events, guard

@pytest.fixture
def short_token(world: World) -> str:
    """A deployed ShortToken (fee-on-transfer when its fee is set; mintable by anyone)."""
    art = json.loads(SHORT_TOKEN.read_text(encoding="utf-8"))
    chain = world.chain
    if "ShortToken" not in chain.abis.abis:
        chain.abis = AbiRegistry({**chain.abis.abis, "ShortToken": art["abi"]})
    token = str(chain.deploy("ShortToken", art["bytecode"], (), sender="owner").contract_address)
    world.names[token] = "SHRT"
    return token


def short(world: World, token: str, fn: str, *args: Any, sender: str = "alice") -> Any:
    return world.chain.transact(token, "ShortToken", fn, args, sender=sender)


def test_the_fee_of_an_amount_whose_product_with_the_rate_overflows_is_exact(
    world: World, short_token: str
) -> None:
    amount = 2**255 + 12_345          # amount * 25 does not fit in 256 bits
    short(world, short_token, "mint", world.address("alice"), amount)
    short(world, short_token, "approve", world.escrow.address, amount)
    t = LockTerms(short_token, world.address("bob"), amount, world.now() + HOUR, HASHLOCK,
                  max_fee_bps=ESCROW_FEE_BPS)
    world.escrow.lock(t, sender="alice")
    r = world.receipt(world.escrow.release("alice", t, PREIMAGE, sender="bob"))
    assert r.event("Released")["fee"] == amount * ESCROW_FEE_BPS // 10_000
    assert world.escrow.accrued_fees(short_token) == amount * ESCROW_FEE_BPS // 10_000


def test_a_token_that_delivers_less_than_the_amount_is_refused(world: World,
                                                               short_token: str) -> None:
    short(world, short_token, "mint", world.address("alice"), 10 * AMOUNT)
    short(world, short_token, "approve", world.escrow.address, 10 * AMOUNT)
    short(world, short_token, "setFeeBps", 100)       # 1% of every transfer is burned
    t = LockTerms(short_token, world.address("bob"), AMOUNT, world.now() + HOUR, HASHLOCK,
                  max_fee_bps=ESCROW_FEE_BPS)
    world.reverts(lambda: world.escrow.lock(t, sender="alice"), "TokenShortDelivered",
                  {"token": "SHRT", "expected": AMOUNT, "received": AMOUNT - AMOUNT // 100})
    assert world.escrow.locked_balance(short_token) == 0


def test_events_carry_the_token_indexed() -> None:
    abi = load_artifact("SettlementEscrow")["abi"]
    indexed = {e["name"]: [i["name"] for i in e["inputs"] if i["indexed"]]
               for e in abi if e["type"] == "event"}
    for name in ("Locked", "Released", "ReleaseProven", "Refunded", "Rejected"):
        assert indexed[name][:2] == ["lockId", "token"], name
    assert indexed["FeesWithdrawn"][0] == "token"


def test_the_reentrancy_guard_keeps_nothing_in_storage(world: World) -> None:
    # OpenZeppelin's ReentrancyGuard keeps its flag at this slot (1 when not entered);
    # ReentrancyGuardTransient keeps it in transient storage, cleared after each transaction
    slot = 0x9B779B17422D0DF92223018B32B4D1FA46E071723D6817E2486D003BECC55F00
    lock(world, terms(world))
    for contract in (world.escrow.address, world.fx.address):
        assert int.from_bytes(bytes(world.chain.w3.eth.get_storage_at(contract, slot)),
                              "big") == 0


if __name__ == "__main__":
    regenerate()
    print(f"wrote {SHORT_TOKEN}")
