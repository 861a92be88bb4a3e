"""Differential test: the exact mirror against the contracts, step by step.

A Hypothesis state machine drives a :class:`MirrorLedger` and a
:class:`ContractLedger` (real transactions on the embedded chain) through the
same random operations: swaps both ways through the market module (amounts up
to more than the holder has, minimums just above and below the quote), pool
swaps both ways, transfers, oracle moves (including refused prices), parameter
changes (Proposal 1164's among them) and block advances of 1 to 5000 heights.
After every step both ledgers must have returned the same value or raised
:class:`TerraRevert` with the same reason, and must agree on the whole
:meth:`state` and on every holder's balance of every token.

The contracts are deployed once per module; every example starts from the
same chain snapshot. Beside the state machine, a seeded random sequence
(:func:`random_operations`, weighted so that every operation and every revert
occurs) runs on both. The default runs are short; ``-m slow`` runs long ones.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from sim.terra.ledger import (
    ContractLedger,
    MarketParams,
    MirrorLedger,
    TerraRevert,
    apply_operation,
    demo_genesis,
    random_operations,
)
from sim.terra.market import WAD

M = 10**6
T0 = 1_651_881_600
HOLDERS = ("ann", "ben", "cat")
PARAMS = MarketParams(base_pool=50_000_000 * M, recovery_period=36, min_spread_bps=50,
                      block_time_s=6, pool_fee_bps=4, pool_amp=100)
GENESIS: dict[tuple[str, str], int] = {
    ("stable", "ann"): 5_000_000 * M, ("gov", "ann"): 20_000 * M,
    ("stable", "ben"): 300_000 * M, ("gov", "ben"): 200_000 * M, ("fiat", "ben"): 2_000_000 * M,
    ("fiat", "cat"): 500_000 * M,
}
POOL = (300_000_000 * M, 300_000_000 * M)
PRICE = 80 * WAD

_CONTRACTS: dict[str, Any] = {}


def contracts() -> tuple[ContractLedger, Any]:
    """The contracts ledger after genesis, deployed once, and its snapshot."""
    if not _CONTRACTS:
        ledger = ContractLedger()
        ledger.genesis(GENESIS, *POOL, PRICE, PARAMS, T0)
        _CONTRACTS["ledger"] = ledger
        _CONTRACTS["snap"] = ledger.snapshot()
    return _CONTRACTS["ledger"], _CONTRACTS["snap"]


def outcome(call: Callable[[], Any]) -> Any:
    try:
        return ("ok", call())
    except TerraRevert as exc:
        return ("revert", exc.reason)


amounts = st.one_of(st.integers(1, 10 * M), st.integers(1, 10**13), st.just(0),
                    st.sampled_from([10**6 * M, 3 * 10**6 * M]))
fractions = st.sampled_from([1, 2, 10, 1000])          # a share of the holder's balance
prices = st.one_of(st.integers(10**14, 200 * WAD), st.sampled_from([0, 1, 10**36, 10**36 + 1]))
param_sets = st.builds(
    MarketParams,
    base_pool=st.sampled_from([50_000_000 * M, 100_000_000 * M, 10**6 * M, 1]),
    recovery_period=st.sampled_from([36, 18, 1, 500]),
    min_spread_bps=st.sampled_from([50, 0, 200, 9_999]),
    block_time_s=st.just(6),
    pool_fee_bps=st.sampled_from([4, 0, 30, 5_000]),
    pool_amp=st.sampled_from([100, 1, 2_000, 10**6]),
)


class MirrorVersusContracts(RuleBasedStateMachine):
    """Both ledgers, the same operations, the same results."""

    @initialize()
    def start(self) -> None:
        self.chain, snap = contracts()
        self.chain.restore(snap)
        self.mirror = MirrorLedger()
        self.mirror.genesis(GENESIS, *POOL, PRICE, PARAMS, T0)
        self.ts = T0 + 6
        for ledger in (self.mirror, self.chain):
            ledger.begin_block(self.ts)

    def both(self, name: str, *args: Any) -> Any:
        a = outcome(lambda: getattr(self.mirror, name)(*args))
        b = outcome(lambda: getattr(self.chain, name)(*args))
        assert a == b, f"{name}{args}: mirror {a}, contracts {b}"
        return a

    def share(self, token: str, holder: str, fraction: int) -> int:
        return self.mirror.balance(token, holder) // fraction

    @rule(holder=st.sampled_from(HOLDERS), amount=amounts, fraction=fractions,
          by_share=st.booleans(), slack=st.sampled_from([None, 0, 1]))
    def swap_to_gov(self, holder: str, amount: int, fraction: int, by_share: bool,
                    slack: int | None) -> None:
        stable_in = self.share("stable", holder, fraction) if by_share else amount
        min_out = self.min_out(lambda: self.mirror.quote_to_gov(stable_in), slack)
        self.both("quote_to_gov", stable_in)
        self.both("swap_to_gov", holder, stable_in, min_out)

    @rule(holder=st.sampled_from(HOLDERS), amount=amounts, fraction=fractions,
          by_share=st.booleans(), slack=st.sampled_from([None, 0, 1]))
    def swap_to_stable(self, holder: str, amount: int, fraction: int, by_share: bool,
                       slack: int | None) -> None:
        gov_in = self.share("gov", holder, fraction) if by_share else amount
        min_out = self.min_out(lambda: self.mirror.quote_to_stable(gov_in), slack)
        self.both("quote_to_stable", gov_in)
        self.both("swap_to_stable", holder, gov_in, min_out)

    @rule(holder=st.sampled_from(HOLDERS), sell=st.sampled_from(["stable", "fiat"]),
          amount=amounts, fraction=fractions, by_share=st.booleans(),
          slack=st.sampled_from([None, 0, 1]))
    def pool_swap(self, holder: str, sell: str, amount: int, fraction: int, by_share: bool,
                  slack: int | None) -> None:
        amount_in = self.share(sell, holder, fraction) if by_share else amount
        min_out = self.min_out(lambda: self.mirror.quote_pool(sell, amount_in), slack)
        self.both("quote_pool", sell, amount_in)
        self.both("pool_swap", holder, sell, amount_in, min_out)

    @staticmethod
    def min_out(quote: Callable[[], int], slack: int | None) -> int:
        """0, the quote itself, or one more than it (which must revert)."""
        if slack is None:
            return 0
        try:
            return quote() + slack
        except TerraRevert:
            return 0

    @rule(token=st.sampled_from(["stable", "gov", "fiat"]), src=st.sampled_from(HOLDERS),
          dst=st.sampled_from((*HOLDERS, "dan")), fraction=fractions, extra=st.integers(0, 1))
    def transfer(self, token: str, src: str, dst: str, fraction: int, extra: int) -> None:
        self.both("transfer", token, src, dst, self.share(token, src, fraction) + extra)

    @rule(price=prices)
    def oracle_moves(self, price: int) -> None:
        self.both("set_oracle_price", price)

    @rule(params=param_sets)
    def governance(self, params: MarketParams) -> None:
        self.both("set_params", params)

    @rule(heights=st.one_of(st.integers(1, 40), st.integers(1, 5000)),
          offset=st.integers(0, 5))
    def next_block(self, heights: int, offset: int) -> None:
        self.both("end_block")
        self.ts = T0 + (self.mirror.state().height + heights) * 6 + offset
        self.both("begin_block", self.ts)

    @invariant()
    def same_state(self) -> None:
        if not hasattr(self, "mirror"):
            return
        assert self.mirror.state() == self.chain.state()
        for holder in (*HOLDERS, "dan"):
            for token in ("stable", "gov", "fiat"):
                assert self.mirror.balance(token, holder) == self.chain.balance(token, holder)

    def teardown(self) -> None:
        if hasattr(self, "chain") and self.chain._in_block:
            self.chain.end_block()


_HEALTH = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much]

TestMirrorVersusContracts = MirrorVersusContracts.TestCase
TestMirrorVersusContracts.settings = settings(
    # many short examples: Hypothesis enables a random subset of the rules per example
    max_examples=10, stateful_step_count=8, deadline=None, suppress_health_check=_HEALTH,
    derandomize=True)


@pytest.mark.slow
def test_mirror_versus_contracts_long() -> None:
    """Many more and longer sequences."""
    long_run = settings(max_examples=20, stateful_step_count=30, deadline=None,
                        suppress_health_check=_HEALTH)
    run_state_machine_as_test(MirrorVersusContracts, settings=long_run)


def run_sequence(seed: int, n: int) -> dict[str, int]:
    """The seeded sequence on both ledgers, compared after every operation; how often
    each operation succeeded or reverted."""
    mirror, chain = MirrorLedger(), ContractLedger()
    demo_genesis(mirror)
    demo_genesis(chain)
    seen: dict[str, int] = {}
    for op in random_operations(seed, n):
        a, b = apply_operation(mirror, op), apply_operation(chain, op)
        assert a == b, f"{op}: mirror {a}, contracts {b}"
        assert mirror.state() == chain.state(), op
        for holder in ("ann", "ben", "cat", "dan"):
            for token in ("stable", "gov", "fiat"):
                assert mirror.balance(token, holder) == chain.balance(token, holder), op
        key = f"{op[0]}:{a[1] if isinstance(a, tuple) and a[:1] == ('revert',) else 'ok'}"
        seen[key] = seen.get(key, 0) + 1
    return seen


def test_a_seeded_sequence_agrees_step_by_step() -> None:
    seen = run_sequence(3, 80)
    # the sequence reaches successes and reverts of the module and the pool
    for key in ("swap_to_gov:ok", "swap_to_stable:ok", "pool_swap:ok", "next_block:ok",
                "swap_to_stable:ERC20InsufficientBalance"):
        assert seen.get(key, 0) > 0, (key, seen)


@pytest.mark.slow
def test_long_seeded_sequences_agree_step_by_step() -> None:
    for seed in (11, 12):
        run_sequence(seed, 500)
