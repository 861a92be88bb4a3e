"""The pool's mirror on its own, through many random sequences (fast: no chain): k never
decreases across swaps, no sequence of swaps takes both sides below where they started,
deposits and redemptions move reserves and shares in proportion. The contract is held to the
mirror by ``test_amm_differential.py``, so these hold for it too."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.onchain.amm import MINIMUM_LIQUIDITY, PoolMirror, PoolRevert

swaps = st.lists(st.tuples(st.booleans(), st.integers(1, 10**15)), min_size=1, max_size=40)


@settings(max_examples=300, deadline=None)
@given(fee=st.integers(0, 9_999), r0=st.integers(10**4, 10**15), r1=st.integers(10**4, 10**15),
       seq=swaps)
def test_no_sequence_of_swaps_drains_a_pool(fee: int, r0: int, r1: int,
                                            seq: list[tuple[bool, int]]) -> None:
    m = PoolMirror(fee)
    m.add_liquidity(r0, r1, "lp", now=0, deadline=1)
    k = m.k
    for zero_in, amount in seq:
        before = m.k
        try:
            out = m.swap(zero_in, amount, 0, 0, 1)
        except PoolRevert as exc:
            assert exc.error == "InsufficientOutputAmount"
            continue
        r_out = m.reserve1 if zero_in else m.reserve0
        assert out >= 1 and r_out >= 1
        assert m.k >= before
    assert m.k >= k
    assert not (m.reserve0 < r0 and m.reserve1 < r1), "both sides below where they started"


@settings(max_examples=300, deadline=None)
@given(a0=st.integers(10**4, 10**15), a1=st.integers(10**4, 10**15),
       b0=st.integers(1, 10**15), b1=st.integers(1, 10**15), share=st.floats(0.0, 1.0))
def test_shares_redeem_pro_rata_and_never_more_than_went_in(
        a0: int, a1: int, b0: int, b1: int, share: float) -> None:
    m = PoolMirror(30)
    m.add_liquidity(a0, a1, "alice", now=0, deadline=1)
    try:
        d0, d1, liq = m.add_liquidity(b0, b1, "bob", now=0, deadline=1)
    except PoolRevert as exc:
        assert exc.error == "InsufficientLiquidityAmount"
        return
    assert d0 <= b0 and d1 <= b1
    # with no swap in between, bob's shares redeem for no more than he deposited
    supply, r0, r1 = m.total_supply, m.reserve0, m.reserve1
    burn = max(1, int(liq * share))
    try:
        p0, p1 = m.remove_liquidity(burn, "bob", now=0, deadline=1)
    except PoolRevert as exc:
        assert exc.error == "InsufficientLiquidityAmount"
        return
    assert (p0, p1) == (burn * r0 // supply, burn * r1 // supply)
    assert p0 <= d0 and p1 <= d1
    assert m.shares["0x000000000000000000000000000000000000dEaD"] == MINIMUM_LIQUIDITY
