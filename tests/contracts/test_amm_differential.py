"""AmmPool against its exact Python mirror (``sim.onchain.amm.PoolMirror``): random sequences
of swaps, round trips, deposits, redemptions, late calls and the clock moving on, in the style
of Brownie's hypothesis state machines.

Each rule runs the operation on the contract and on the mirror; both must succeed with the same
amounts or revert with the same custom error. After every step the whole state is compared:
reserves, share supply, every holder's shares, every account's token balances. And the pool's
properties hold throughout: k never decreases across a swap, redemptions pay pro rata, a round
trip never returns more than went in, and the pool always holds at least its reserves.
The chain is reverted to its snapshot after each example.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

from settlement import ContractRevert
from sim.onchain.amm import LOCKED_LIQUIDITY_HOLDER, PoolMirror, PoolRevert
from tests.contracts.amm_world import BALANCE, TRADERS, AmmWorld

traders = st.sampled_from(TRADERS)
#: amounts spread over many orders of magnitude (token units, 6 decimals)
amounts = st.integers(min_value=0, max_value=40).map(lambda e: 10 ** (e / 4)).flatmap(
    lambda scale: st.integers(min_value=0, max_value=max(1, int(scale * 10**3))))


@pytest.fixture(scope="module")
def amm_world() -> Iterator[AmmWorld]:
    yield AmmWorld(fee_bps=30)


class PoolMachine(RuleBasedStateMachine):
    world: AmmWorld

    def __init__(self) -> None:
        super().__init__()
        w = self.world
        self.snapshot = w.chain.snapshot()
        self.mirror = PoolMirror(30)
        self.tokens = {0: w.usd, 1: w.eur}
        self.balances = {(i, who): BALANCE for i in (0, 1) for who in TRADERS}
        self.balances.update({(0, "pool"): 0, (1, "pool"): 0})
        self.addr = {who: w.chain.address_of(who) for who in TRADERS}
        self.now = w.now()

    def teardown(self) -> None:
        self.world.chain.revert(self.snapshot)

    # -- running one operation on both
    def _both(self, chain_call: Callable[[], Any], mirror_call: Callable[[], Any]) -> Any:
        """The mirror's result, after checking the contract did the same (or reverted with
        the same error)."""
        self.world.chain.set_next_block_timestamp(self.now + 1)
        self.now += 1
        try:
            expected = mirror_call()
        except PoolRevert as exc:
            with pytest.raises(ContractRevert) as info:
                chain_call()
            assert info.value.error == exc.error
            return None
        receipt = chain_call()
        return expected, receipt

    def _deadline(self, late: bool) -> int:
        return self.now + 1 if late else self.now + 3_600

    @rule(who=traders, zero_in=st.booleans(), amount=amounts, slack=st.integers(-2, 50),
          late=st.booleans())
    def swap(self, who: str, zero_in: bool, amount: int, slack: int, late: bool) -> None:
        m = self.mirror
        r_in, r_out = m.sides(zero_in)
        try:
            fair = m.get_amount_out(amount, r_in, r_out)
        except PoolRevert:
            fair = 0
        min_out = max(0, fair - slack)       # slack < 0: a minimum above what the pool pays
        deadline = self.now + 1 if late else self.now + 3_600
        k0 = m.k
        tok = self.tokens[0 if zero_in else 1]
        got = self._both(
            lambda: self.world.pool.swap(tok, amount, min_out, who, deadline, sender=who),
            lambda: m.swap(zero_in, amount, min_out, self.now + 1, deadline))
        if got is not None:
            out, receipt = got
            ev = [e for e in receipt.events if e.name == "Swapped"][0].args
            assert (ev["amountIn"], ev["amountOut"]) == (amount, out)
            i, o = (0, 1) if zero_in else (1, 0)
            self.balances[(i, who)] -= amount
            self.balances[(i, "pool")] += amount
            self.balances[(o, who)] += out
            self.balances[(o, "pool")] -= out
            assert m.k >= k0, "k decreased across a swap"

    @rule(who=traders, zero_in=st.booleans(), amount=amounts)
    def round_trip(self, who: str, zero_in: bool, amount: int) -> None:
        """A swap and its reverse never give back more than went in."""
        m = self.mirror
        first = self._both(
            lambda: self.world.pool.swap(self.tokens[0 if zero_in else 1], amount, 0, who,
                                         self.now + 60, sender=who),
            lambda: m.swap(zero_in, amount, 0, self.now + 1, self.now + 60))
        if first is None:
            return
        out = first[0]
        i, o = (0, 1) if zero_in else (1, 0)
        self.balances[(i, who)] -= amount
        self.balances[(i, "pool")] += amount
        self.balances[(o, who)] += out
        self.balances[(o, "pool")] -= out
        back = self._both(
            lambda: self.world.pool.swap(self.tokens[o], out, 0, who, self.now + 60, sender=who),
            lambda: m.swap(not zero_in, out, 0, self.now + 1, self.now + 60))
        if back is not None:
            self.balances[(o, who)] -= out
            self.balances[(o, "pool")] += out
            self.balances[(i, who)] += back[0]
            self.balances[(i, "pool")] -= back[0]
            assert back[0] <= amount

    @rule(who=traders, a0=amounts, a1=amounts, late=st.booleans(), strict=st.booleans())
    def add_liquidity(self, who: str, a0: int, a1: int, late: bool, strict: bool) -> None:
        m = self.mirror
        deadline = self._deadline(late)
        min0 = a0 if strict else 0           # a strict depositor wants all of token0 in
        got = self._both(
            lambda: self.world.pool.add_liquidity(a0, a1, who, deadline, amount0_min=min0,
                                                  sender=who),
            lambda: m.add_liquidity(a0, a1, self.addr[who], now=self.now + 1, deadline=deadline,
                                    amount0_min=min0))
        if got is not None:
            (d0, d1, _liq), _r = got
            for i, d in ((0, d0), (1, d1)):
                self.balances[(i, who)] -= d
                self.balances[(i, "pool")] += d

    @rule(who=traders, share=st.floats(0, 1.2), late=st.booleans())
    def remove_liquidity(self, who: str, share: float, late: bool) -> None:
        m = self.mirror
        held = m.shares.get(self.addr[who], 0)
        liq = int(held * share)
        supply, r0, r1 = m.total_supply, m.reserve0, m.reserve1
        deadline = self._deadline(late)
        got = self._both(
            lambda: self.world.pool.remove_liquidity(liq, who, deadline, sender=who),
            lambda: m.remove_liquidity(liq, self.addr[who], now=self.now + 1, deadline=deadline))
        if got is not None:
            (p0, p1), _r = got
            assert (p0, p1) == (liq * r0 // supply, liq * r1 // supply)   # pro rata
            for i, p in ((0, p0), (1, p1)):
                self.balances[(i, who)] += p
                self.balances[(i, "pool")] -= p

    @rule(seconds=st.integers(1, 86_400))
    def time_passes(self, seconds: int) -> None:
        self.now += seconds

    @precondition(lambda self: self.mirror.total_supply > 0)
    @invariant()
    def pool_holds_its_reserves_and_never_empties(self) -> None:
        m = self.mirror
        assert m.reserve0 > 0 and m.reserve1 > 0
        assert m.shares.get(LOCKED_LIQUIDITY_HOLDER, 0) == 1000

    @invariant()
    def whole_state_matches_the_mirror(self) -> None:
        w, m = self.world, self.mirror
        assert w.pool.get_reserves() == (m.reserve0, m.reserve1)
        assert w.pool.total_supply() == m.total_supply
        for who in TRADERS:
            assert w.pool.balance_of(who) == m.shares.get(self.addr[who], 0)
        assert w.pool.balance_of(LOCKED_LIQUIDITY_HOLDER) == m.shares.get(
            LOCKED_LIQUIDITY_HOLDER, 0)
        for (i, who), bal in self.balances.items():
            real = self.tokens[i].balance_of(w.pool.address if who == "pool" else who)
            assert real == bal, (i, who)
        assert self.balances[(0, "pool")] >= m.reserve0
        assert self.balances[(1, "pool")] >= m.reserve1


def test_pool_matches_its_mirror_through_random_sequences(amm_world: AmmWorld) -> None:
    PoolMachine.world = amm_world
    run_state_machine_as_test(
        PoolMachine, settings=settings(max_examples=4, stateful_step_count=20, deadline=None))


@pytest.mark.slow
def test_pool_matches_its_mirror_through_many_random_sequences(amm_world: AmmWorld) -> None:
    PoolMachine.world = amm_world
    run_state_machine_as_test(
        PoolMachine, settings=settings(max_examples=60, stateful_step_count=40, deadline=None))
