"""Hypothesis state machine: the algorithmic stablecoin's contracts keep their invariants.

Random swaps both ways through the market module, round trips, pool swaps both ways, pool
round trips, transfers, oracle moves and block advances run on the real contracts,
each example from the same chain snapshot. After every step:

* **supplies change only by the module's mints and burns**: each token's supply moved by
  exactly the ``MintedByMarket`` minus ``BurnedByMarket`` of that step's receipts, and only a swap's
  receipt carries them (the fiat-backed token's supply never moves);
* **no swap sequence creates value beyond the spread rules**: a round trip through the
  module at one price returns at most what went in, less the floor spread twice; a round
  trip through the pool returns at most what went in;
* **the pool's invariant never falls** across a swap, and its reserves are its balances;
* every token's tracked balances (holders and pool) sum to its supply.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from settlement import ContractRevert, Receipt
from tests.contracts.terra_world import HOLDERS, T0, WAD, M, TerraWorld, build

_WORLD: list[TerraWorld] = []
FLOOR = 50 * 10**14     # the 0.5% spread floor, WAD


def world() -> TerraWorld:
    if not _WORLD:
        _WORLD.append(build())
    return _WORLD[0]


amounts = st.one_of(st.integers(1, 1_000 * M), st.integers(1, 3_000_000 * M))


class TerraMachine(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self.w = world()
        self.w.chain.revert(self.w.snap)
        self.t = self.w.t
        self.height = 0
        self.supplies = self.w.supplies()
        self.invariant_d = self.t.pool.invariant()
        self.moved = [0, 0]          # minted - burned this step (stable, gov)

    # -- helpers --------------------------------------------------------------------------

    def record(self, r: Receipt) -> None:
        for ev in r.events:
            if ev.name in ("MintedByMarket", "BurnedByMarket"):
                sign = 1 if ev.name == "MintedByMarket" else -1
                i = 0 if ev.address == self.t.stable.address else 1
                self.moved[i] += sign * ev.args["amount"]

    def send(self, call: Any) -> Receipt | None:
        try:
            r = call()
        except ContractRevert:
            return None
        self.record(r)
        return r

    # -- rules ----------------------------------------------------------------------------

    @rule(holder=st.sampled_from(HOLDERS), amount=amounts)
    def swap_to_gov(self, holder: str, amount: int) -> None:
        self.send(lambda: self.t.market.swap_to_gov(amount, sender=holder))

    @rule(holder=st.sampled_from(HOLDERS), amount=amounts)
    def swap_to_stable(self, holder: str, amount: int) -> None:
        self.send(lambda: self.t.market.swap_to_stable(amount, sender=holder))

    @rule(holder=st.sampled_from(HOLDERS), amount=amounts)
    def round_trip_through_the_module(self, holder: str, amount: int) -> None:
        r = self.send(lambda: self.t.market.swap_to_gov(amount, sender=holder))
        if r is None:
            return
        gov = r.event("SwappedToGov").args["govOut"]
        back = self.send(lambda: self.t.market.swap_to_stable(gov, sender=holder))
        if back is None:
            return
        returned = back.event("SwappedToStable").args["stableOut"]
        # the same block's price both ways: at most the offer less the floor twice
        assert returned <= amount * (WAD - FLOOR) // WAD * (WAD - FLOOR) // WAD + 1
        assert returned < amount

    @rule(holder=st.sampled_from(HOLDERS), sell=st.integers(0, 1), amount=amounts)
    def pool_swap(self, holder: str, sell: int, amount: int) -> None:
        self.send(lambda: self.t.pool.exchange(sell, amount, sender=holder))

    @rule(holder=st.sampled_from(HOLDERS), sell=st.integers(0, 1), amount=amounts)
    def round_trip_through_the_pool(self, holder: str, sell: int, amount: int) -> None:
        r = self.send(lambda: self.t.pool.exchange(sell, amount, sender=holder))
        if r is None:
            return
        got = r.event("Swapped").args["amountOut"]
        back = self.send(lambda: self.t.pool.exchange(1 - sell, got, sender=holder))
        if back is not None:
            assert back.event("Swapped").args["amountOut"] <= amount

    @rule(src=st.sampled_from(HOLDERS), dst=st.sampled_from(HOLDERS),
          token=st.sampled_from(["stable", "gov", "fiat"]), amount=amounts)
    def transfer(self, src: str, dst: str, token: str, amount: int) -> None:
        self.send(lambda: self.t.token(token).transfer(dst, amount, sender=src))

    @rule(price=st.integers(10**15, 200 * WAD))
    def oracle_moves(self, price: int) -> None:
        self.send(lambda: self.t.oracle.set_price(price, sender="terra:reporter"))

    @rule(heights=st.integers(1, 400))
    def blocks_pass(self, heights: int) -> None:
        # auto-mined calls move the clock a second each: the next height is at least the
        # first after the latest block
        latest = self.w.chain.latest_timestamp()
        self.height = max(self.height + heights, (latest - T0) // 6 + 1)
        self.w.at_height(self.height)
        self.send(lambda: self.t.oracle.set_price(self.t.oracle.price(),
                                                  sender="terra:reporter"))

    # -- invariants -----------------------------------------------------------------------

    @invariant()
    def supplies_move_only_by_the_module(self) -> None:
        if not hasattr(self, "t"):
            return
        now = self.w.supplies()
        assert now == (self.supplies[0] + self.moved[0], self.supplies[1] + self.moved[1],
                       self.supplies[2])
        self.supplies, self.moved = now, [0, 0]

    @invariant()
    def the_pool_invariant_never_falls(self) -> None:
        if not hasattr(self, "t"):
            return
        d = self.t.pool.invariant()
        assert d >= self.invariant_d
        self.invariant_d = d
        r0, r1 = self.t.pool.reserves()
        assert (r0, r1) == (self.t.stable.balance_of(self.t.pool),
                            self.t.fiat.balance_of(self.t.pool.address))

    @invariant()
    def balances_sum_to_supply(self) -> None:
        if not hasattr(self, "t"):
            return
        for token, supply in zip(("stable", "gov", "fiat"), self.w.supplies(), strict=True):
            client = self.t.token(token)
            held = sum(client.balance_of(h) for h in HOLDERS) + client.balance_of(
                self.t.pool.address)
            assert held == supply


TestTerraMachine = TerraMachine.TestCase
TestTerraMachine.settings = settings(
    max_examples=8, stateful_step_count=6, deadline=None, derandomize=True,
    phases=[Phase.explicit, Phase.reuse, Phase.generate, Phase.target],
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
assert T0  # the world's genesis instant is the module's height 0


@pytest.mark.slow
def test_terra_machine_long() -> None:
    """Many more and longer sequences, shrinking included."""
    long_run = settings(max_examples=20, stateful_step_count=30, deadline=None,
                        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
    run_state_machine_as_test(TerraMachine, settings=long_run)
