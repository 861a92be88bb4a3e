"""The secondary-market pool, in exact integer arithmetic (a mirror of ``StableSwapPool.sol``).

A two-coin Curve StableSwap pool between the algorithmic stablecoin and a
fiat-backed one (UST traded against USDC, USDT and DAI in Curve's pools in
May 2022). Its invariant, for ``n = 2`` coins with balances ``x`` and
amplification ``A`` as Curve's contracts store it (the whitepaper's
``A·nⁿ`` is the code's ``Ann = A·n``),

    Ann·Σx + D = Ann·D + D^(n+1) / (nⁿ·Πx),

is solved for ``D`` by Newton's method (:func:`get_d`), and a swap solves it
for the bought coin's new balance ``y`` (:func:`get_y`), exactly as Curve's
2-coin pool does (``Ann = A·n``; iterations stop when successive values differ
by at most 1; ``dy = x_j − y − 1``, the 1 kept by the pool against rounding).
The fee is taken from what is bought and stays in the pool, so ``D`` never
falls across a swap. Both coins have 6 decimals, so no rate scaling is needed.

Each function computes what the contract computes, with the same truncations
and reverts (:class:`~sim.terra.market.TerraRevert`).

>>> get_d(1_000_000, 1_000_000, 100)
2000000
>>> quote_pool_out(1_000 * 10**6, 1_000 * 10**6, 1 * 10**6, amp=100, fee_bps=4)
999591
"""

from __future__ import annotations

from sim.terra.market import TerraRevert

__all__ = ["BPS", "MAX_AMP", "MAX_FEE_BPS", "NEWTON_ITERATIONS", "get_d", "get_y",
           "quote_pool_out"]

#: basis points in one
BPS = 10_000
#: Curve's largest amplification coefficient
MAX_AMP = 10**6
#: the largest fee the pool accepts (50%, Curve's ``MAX_FEE``)
MAX_FEE_BPS = 5_000
#: Newton iterations before the pool gives up (Curve: 255)
NEWTON_ITERATIONS = 255
_N = 2


def get_d(x0: int, x1: int, amp: int) -> int:
    """The invariant ``D`` of balances ``x0``, ``x1`` (Newton's method from ``D = Σx``).

    Raises:
        TerraRevert: ``PoolDidNotConverge`` after 255 iterations.
    """
    if x0 == 0:
        return 0      # the contract's invariant() of a pool not seeded yet
    s = x0 + x1
    ann = amp * _N
    d = s
    for _ in range(NEWTON_ITERATIONS):
        d_p = d * d // (x0 * _N) * d // (x1 * _N)     # floored at each step, as Curve
        prev = d
        d = (ann * s + d_p * _N) * d // ((ann - 1) * d + (_N + 1) * d_p)
        if (d - prev if d > prev else prev - d) <= 1:
            return d
    raise TerraRevert("PoolDidNotConverge", x0, x1)


def get_y(x: int, d: int, amp: int) -> int:
    """The other coin's balance that keeps invariant ``d`` when one coin's is ``x``.

    Raises:
        TerraRevert: ``PoolDidNotConverge`` after 255 iterations.
    """
    ann = amp * _N
    c = d * d // (x * _N) * d // (ann * _N)
    b = x + d // ann
    y = d
    for _ in range(NEWTON_ITERATIONS):
        prev = y
        y = (y * y + c) // (2 * y + b - d)
        if (y - prev if y > prev else prev - y) <= 1:
            return y
    raise TerraRevert("PoolDidNotConverge", x, d)


def quote_pool_out(reserve_in: int, reserve_out: int, amount_in: int, *, amp: int,
                   fee_bps: int) -> int:
    """What selling ``amount_in`` into a pool with these reserves buys, after the fee.

    Raises:
        TerraRevert: ``InvalidAmount`` (zero), ``ZeroSwapOutput`` (nothing bought),
            ``PoolDidNotConverge``.
    """
    if amount_in == 0:
        raise TerraRevert("InvalidAmount", 0)
    d = get_d(reserve_in, reserve_out, amp)
    y = get_y(reserve_in + amount_in, d, amp)
    if y + 1 >= reserve_out:
        raise TerraRevert("ZeroSwapOutput", amount_in)
    dy = reserve_out - y - 1
    fee = dy * fee_bps // BPS
    if dy <= fee:
        raise TerraRevert("ZeroSwapOutput", amount_in)
    return dy - fee
