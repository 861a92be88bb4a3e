"""SettlementEscrow against a Python mirror: random sequences of locks, releases, claims,
rejections, refunds, fee withdrawals, tokens sent by mistake and rescued, pauses and the clock
moving on, in the style of Brownie's hypothesis state machines.

Every rule predicts its own outcome from the mirror (which error, if any) and the invariants
compare, after every step, every account's balance, the escrow's locked balances and accrued
fees and the state of every lock with the mirror; tokens are conserved to the smallest unit,
each lock ends exactly once, a release during a pause stays proven and claimable (never
refunded), and the escrow always holds at least what it owes: a rescue only ever takes the
surplus. The chain is reverted to its snapshot after each example.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from settlement import ContractRevert, hashlock_of
from settlement.clients import LockTerms
from tests.contracts.contract_world import (
    CURRENCIES,
    CUSTOMERS,
    ESCROW_FEE_BPS,
    INITIAL_BALANCE,
    ZERO32,
    Read,
    World,
)

ACCOUNTS = (*CUSTOMERS, "agent", "outsider", "fee_collector")
OPEN, RELEASED, REFUNDED, PROVEN = 1, 2, 3, 4


@dataclass
class MirrorLock:
    lock_id: bytes
    payer: str
    ccy: str
    beneficiary: str
    amount: int
    deadline: int
    preimage: bytes | None
    agent: bool
    terms: LockTerms
    state: int = OPEN


class EscrowMachine(RuleBasedStateMachine):
    world: World

    def __init__(self) -> None:
        super().__init__()
        self.snapshot = self.world.chain.snapshot()
        self.balances = {(c, who): INITIAL_BALANCE if who in CUSTOMERS else 0
                         for c in CURRENCIES for who in (*ACCOUNTS, "escrow")}
        self.locks: dict[bytes, MirrorLock] = {}
        #: payer and terms of every lock tried (made or not): later calls pass them again
        self.tried: dict[bytes, tuple[str, LockTerms]] = {}
        self.fees = {c: 0 for c in CURRENCIES}
        self.paused = {c: False for c in CURRENCIES}

    def teardown(self) -> None:
        self.world.chain.revert(self.snapshot)

    locks_made = Bundle("locks")

    @initialize()
    def start(self) -> None:
        pass

    def _expect(self, action: Any, error: str | None) -> Any:
        if error is None:
            return action()
        try:
            action()
        except ContractRevert as exc:
            assert exc.error == error
            return None
        raise AssertionError(f"expected {error}")

    @rule(
        target=locks_made,
        payer=st.sampled_from(CUSTOMERS),
        ccy=st.sampled_from(CURRENCIES),
        beneficiary=st.sampled_from((*CUSTOMERS, "outsider")),
        amount=st.integers(1, 400_000_000),
        duration=st.integers(1, 600),
        condition=st.sampled_from(("hashlock", "agent", "both")),
        salt=st.integers(0, 2),
    )
    def lock(self, payer: str, ccy: str, beneficiary: str, amount: int, duration: int,
             condition: str, salt: int) -> bytes:
        w = self.world
        preimage = bytes([salt + 1]) * 32 if condition != "agent" else None
        t = w.escrow.terms(w.tokens[ccy], beneficiary, amount, w.now() + duration,
                           hashlock=hashlock_of(preimage) if preimage else ZERO32,
                           agent="agent" if condition != "hashlock" else None,
                           salt=salt.to_bytes(32, "big"))
        lock_id = w.lock_id(payer, t)
        tx_time = w.now() + 1
        error = ("DeadlineNotInFuture" if t.deadline <= tx_time else
                 "LockAlreadyExists" if lock_id in self.locks else
                 "EnforcedPause" if self.paused[ccy] else
                 "ERC20InsufficientBalance" if self.balances[(ccy, payer)] < amount else None)
        self.tried.setdefault(lock_id, (payer, t))
        self._expect(lambda: w.escrow.lock(t, sender=payer), error)
        if error is None:
            self.locks[lock_id] = MirrorLock(lock_id, payer, ccy, beneficiary, amount,
                                             t.deadline, preimage, condition != "hashlock", t)
            self.balances[(ccy, payer)] -= amount
            self.balances[(ccy, "escrow")] += amount
        return lock_id

    @rule(lock_id=locks_made, right_preimage=st.booleans(),
          caller=st.sampled_from(("agent", "bob", "outsider")))
    def release(self, lock_id: bytes, right_preimage: bool, caller: str) -> None:
        w = self.world
        lk = self.locks.get(lock_id)
        preimage = (lk.preimage if lk and lk.preimage and right_preimage else b"\x99" * 32)
        tx_time = w.now() + 1
        error = ("LockNotFound" if lk is None else
                 "LockNotOpen" if lk.state != OPEN else
                 "LockExpired" if tx_time >= lk.deadline else
                 "InvalidPreimage" if lk.preimage and not right_preimage else
                 "NotSettlementAgent" if lk.agent and caller != "agent" else None)
        payer, t = self.tried[lock_id]
        self._expect(lambda: w.escrow.release(payer, t, preimage, sender=caller), error)
        if error is None and lk is not None:
            if self.paused[lk.ccy]:
                lk.state = PROVEN     # the payout is refused: the release stays proven
            else:
                self._pay_out(lk)

    def _pay_out(self, lk: MirrorLock) -> None:
        fee = lk.amount * ESCROW_FEE_BPS // 10_000
        lk.state = RELEASED
        self.balances[(lk.ccy, "escrow")] -= lk.amount - fee
        self.balances[(lk.ccy, lk.beneficiary)] += lk.amount - fee
        self.fees[lk.ccy] += fee

    @rule(lock_id=locks_made, caller=st.sampled_from(("bob", "outsider")))
    def claim(self, lock_id: bytes, caller: str) -> None:
        lk = self.locks.get(lock_id)
        error = ("LockNotProven" if lk is None or lk.state != PROVEN else
                 "EnforcedPause" if self.paused[lk.ccy] else None)
        payer, t = self.tried[lock_id]
        self._expect(lambda: self.world.escrow.claim(payer, t, sender=caller), error)
        if error is None and lk is not None:
            self._pay_out(lk)

    @rule(lock_id=locks_made, caller=st.sampled_from(("agent", "outsider")))
    def reject(self, lock_id: bytes, caller: str) -> None:
        lk = self.locks.get(lock_id)
        error = ("LockNotFound" if lk is None else
                 "LockNotOpen" if lk.state != OPEN else
                 "NotSettlementAgent" if not lk.agent or caller != "agent" else
                 "EnforcedPause" if self.paused[lk.ccy] else None)
        payer, t = self.tried[lock_id]
        self._expect(lambda: self.world.escrow.reject(payer, t, sender=caller), error)
        if error is None and lk is not None:
            lk.state = REFUNDED
            self.balances[(lk.ccy, "escrow")] -= lk.amount
            self.balances[(lk.ccy, lk.payer)] += lk.amount

    @rule(ccy=st.sampled_from(CURRENCIES), caller=st.sampled_from(("fee_collector", "bob")))
    def withdraw_fees(self, ccy: str, caller: str) -> None:
        error = ("CallerNotFeeCollector" if caller != "fee_collector" else
                 "EnforcedPause" if self.paused[ccy] and self.fees[ccy] else None)
        self._expect(lambda: self.world.escrow.withdraw_fees(self.world.tokens[ccy],
                                                             sender=caller), error)
        if error is None:
            self.balances[(ccy, "escrow")] -= self.fees[ccy]
            self.balances[(ccy, "fee_collector")] += self.fees[ccy]
            self.fees[ccy] = 0

    @rule(ccy=st.sampled_from(CURRENCIES), sender=st.sampled_from(CUSTOMERS),
          amount=st.integers(1, 5_000_000))
    def send_by_mistake(self, ccy: str, sender: str, amount: int) -> None:
        error = ("EnforcedPause" if self.paused[ccy] else
                 "ERC20InsufficientBalance" if self.balances[(ccy, sender)] < amount else None)
        w = self.world
        self._expect(lambda: w.tokens[ccy].transfer(w.escrow.address, amount, sender=sender),
                     error)
        if error is None:
            self.balances[(ccy, sender)] -= amount
            self.balances[(ccy, "escrow")] += amount

    @rule(ccy=st.sampled_from(CURRENCIES), extra=st.integers(-2, 2))
    def rescue(self, ccy: str, extra: int) -> None:
        """The rescuer asks for the surplus (the balance above what is owed), give or take."""
        surplus = self.balances[(ccy, "escrow")] - self._owed(ccy)
        amount = max(surplus + extra, 0)
        error = ("RescueExceedsSurplus" if amount > surplus else
                 "EnforcedPause" if self.paused[ccy] else None)
        w = self.world
        self._expect(lambda: w.escrow.rescue_erc20(w.tokens[ccy], "carol", amount,
                                                   sender="rescuer"), error)
        if error is None:
            self.balances[(ccy, "escrow")] -= amount
            self.balances[(ccy, "carol")] += amount

    @rule(ccy=st.sampled_from(CURRENCIES))
    def toggle_pause(self, ccy: str) -> None:
        token = self.world.tokens[ccy]
        if self.paused[ccy]:
            token.unpause(sender="pauser")
        else:
            token.pause(sender="pauser")
        self.paused[ccy] = not self.paused[ccy]

    def _owed(self, ccy: str) -> int:
        return self.fees[ccy] + sum(lk.amount for lk in self.locks.values()
                                    if lk.ccy == ccy and lk.state in (OPEN, PROVEN))

    @rule(lock_id=locks_made, caller=st.sampled_from(("alice", "outsider")))
    def refund(self, lock_id: bytes, caller: str) -> None:
        w = self.world
        lk = self.locks.get(lock_id)
        tx_time = w.now() + 1
        error = ("LockNotFound" if lk is None else
                 "LockNotOpen" if lk.state != OPEN else
                 "LockNotExpired" if tx_time < lk.deadline else
                 "EnforcedPause" if self.paused[lk.ccy] else None)
        payer, t = self.tried[lock_id]
        self._expect(lambda: w.escrow.refund(payer, t, sender=caller), error)
        if error is None and lk is not None:
            lk.state = REFUNDED
            self.balances[(lk.ccy, "escrow")] -= lk.amount
            self.balances[(lk.ccy, lk.payer)] += lk.amount

    @rule(seconds=st.integers(1, 900))
    def time_passes(self, seconds: int) -> None:
        self.world.chain.mine(timestamp=self.world.now() + seconds)

    @invariant()
    def chain_matches_mirror(self) -> None:
        w = self.world
        reads = [Read((c, who), c, "balanceOf", (who,)) for (c, who) in self.balances]
        reads += [Read(("locked", c), "escrow", "lockedBalance", (c,)) for c in CURRENCIES]
        reads += [Read(("fees", c), "escrow", "accruedFees", (c,)) for c in CURRENCIES]
        reads += [Read(("state", i), "escrow", "getLock", (i,)) for i in self.locks]
        got = w.read(reads)
        assert {k: got[k] for k in self.balances} == self.balances
        for c in CURRENCIES:
            owed_locks = sum(lk.amount for lk in self.locks.values()
                             if lk.ccy == c and lk.state in (OPEN, PROVEN))
            assert got[("locked", c)] == owed_locks
            assert got[("fees", c)] == self.fees[c]
            # the escrow always holds what it owes (rescues take only the surplus)
            assert self.balances[(c, "escrow")] >= owed_locks + self.fees[c]
            # conservation: nothing created or destroyed, to the smallest unit
            assert sum(v for (cc, _), v in self.balances.items() if cc == c) == (
                len(CUSTOMERS) * INITIAL_BALANCE)
        assert {i: got[("state", i)]["state"] for i in self.locks} == {
            i: lk.state for i, lk in self.locks.items()}


def test_escrow_matches_its_mirror_through_random_sequences(world: World) -> None:
    EscrowMachine.world = world
    run_state_machine_as_test(
        EscrowMachine,
        settings=settings(max_examples=6, stateful_step_count=15, deadline=None),
    )
