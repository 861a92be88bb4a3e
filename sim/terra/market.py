"""The market module's swap, in exact integer arithmetic (a mirror of ``MarketModule.sol``).

Terra's ``x/market`` module swaps its stablecoin and its governance token
against each other at the oracle price, charging a spread that grows with the
imbalance of two *virtual* constant-product pools in the peg unit:

* ``cp = BasePool²``, ``TerraPool = BasePool + delta``, ``LunaPool = cp // TerraPool``;
* an offer of value ``v`` (in the peg unit) against the pools asks
  ``ask = askPool − cp // (offerPool + v)``;
* ``spread = (v − ask) / v``, floored at ``MinStabilitySpread``;
* the trader receives the offer's oracle value in the asked coin times
  ``(1 − spread)``; the offered coins are burned and the asked coins minted;
* the delta moves by the swap's value in the peg unit: *up* by the whole
  offer for stablecoin → governance token, *down* by what the trader receives
  (after the spread) for governance token → stablecoin (``ApplySwapToPool``);
* every block ``delta −= delta / PoolRecoveryPeriod`` (``ReplenishPools``),
  the division truncating toward zero as Go's and Solidity's do.

Every function here computes exactly what the contract computes, step by step,
with the same truncations and the same reverts (:class:`TerraRevert`, named as
the contract's custom errors), so a run on this mirror and a run on the
contracts agree to the micro-unit. Amounts are integer micro-units (6
decimals); the peg unit is USD, so a micro-unit of the stablecoin is a
micro-USD; prices are WAD (``10**18`` = USD 1 per whole token).

>>> q = quote_to_gov(1_000_000 * 10**6, delta=0, base_pool=50_000_000 * 10**6,
...                  min_spread_bps=50, price_wad=80 * WAD)
>>> q.spread_wad               # 1 M UST against a 50 M pool: a 1.96% spread (WAD)
19607843137000000
>>> q.out                       # µLUNA received at USD 80, less the spread
12254901960
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "MAX_BASE_POOL",
    "MAX_PRICE_WAD",
    "UINT256_MAX",
    "WAD",
    "SwapQuote",
    "TerraRevert",
    "height_of",
    "mul_div",
    "quote_to_gov",
    "quote_to_stable",
    "recover",
    "trunc_div",
]

#: 1.0 in 18-decimal fixed point (prices and spreads)
WAD = 10**18
#: a basis point in WAD
BPS_WAD = 10**14
UINT256_MAX = 2**256 - 1
#: the largest base pool the module accepts (µUSD; ``cp = BasePool²`` stays far from 2**256)
MAX_BASE_POOL = 10**30
#: the largest oracle price the contracts accept (WAD: USD 10^18 per whole token)
MAX_PRICE_WAD = 10**36
#: Panic code of a checked arithmetic overflow (what ``Math.mulDiv`` raises on overflow)
PANIC_OVERFLOW = 0x11


class TerraRevert(Exception):
    """A transaction the contracts would revert.

    Attributes:
        reason: ``(error_name, args)``: the contract's custom error and its arguments
            in declaration order (an address argument as the holder's name).
    """

    def __init__(self, name: str, *args: int | str) -> None:
        self.reason: tuple[str, tuple[int | str, ...]] = (name, tuple(args))
        shown = ", ".join(str(a) for a in args)
        super().__init__(f"reverted: {name}({shown})")

    @property
    def error(self) -> str:
        """The custom error's name."""
        return self.reason[0]


@dataclass(frozen=True, slots=True)
class SwapQuote:
    """What one swap through the module does.

    Attributes:
        out: micro-units of the asked coin the trader receives.
        spread_wad: the spread charged (WAD), after the floor.
        delta_after: the pool delta after the swap (µUSD, signed).
    """

    out: int
    spread_wad: int
    delta_after: int


def trunc_div(a: int, b: int) -> int:
    """Integer division truncating toward zero, as Solidity's and Go's (Python's ``//`` floors).

    >>> trunc_div(-7, 2), -7 // 2
    (-3, -4)
    """
    q = abs(a) // abs(b)
    return q if (a >= 0) == (b > 0) else -q


def mul_div(x: int, y: int, d: int) -> int:
    """``floor(x * y / d)`` with a full-width product, as OpenZeppelin's ``Math.mulDiv``:
    a result that does not fit 256 bits reverts (``Panic(0x11)``)."""
    r = x * y // d
    if r > UINT256_MAX:
        raise TerraRevert("Panic", PANIC_OVERFLOW)
    return r


def height_of(timestamp: int, genesis_time: int, block_time_s: int) -> int:
    """The module's block height at ``timestamp``: whole blocks since genesis (0 before it)."""
    return (timestamp - genesis_time) // block_time_s if timestamp > genesis_time else 0


def recover(delta: int, recovery_period: int, heights: int) -> int:
    """The delta after ``heights`` blocks of ``delta −= delta / recovery_period``
    (truncating toward zero; stops early once a block's step is zero).

    >>> recover(3600, 36, 1), recover(-3600, 36, 2), recover(35, 36, 1000)
    (3500, -3403, 35)
    """
    for _ in range(heights):
        step = abs(delta) // recovery_period
        if step == 0:
            break
        delta = delta - step if delta > 0 else delta + step
    return delta


def _spread(offer: int, ask: int, min_spread_bps: int) -> int:
    spread = trunc_div((offer - ask) * WAD, offer)
    floor = min_spread_bps * BPS_WAD
    return floor if spread < floor else spread


def _terra_pool(base_pool: int, delta: int) -> int:
    terra_pool = base_pool + delta
    if terra_pool <= 0:
        raise TerraRevert("PoolDepleted", terra_pool)
    return terra_pool


def quote_to_gov(stable_in: int, *, delta: int, base_pool: int, min_spread_bps: int,
                 price_wad: int) -> SwapQuote:
    """Offer ``stable_in`` µ-stablecoin for the governance token (``MarketModule.swapToGov``).

    The offer is valued at the peg (1 µ-stablecoin = 1 µUSD); the trader receives
    ``stable_in · (1 − spread) / price`` µ-governance token (floored), and the delta
    rises by the whole offer.

    Raises:
        TerraRevert: ``InvalidAmount`` (zero), ``PoolDepleted`` (``TerraPool ≤ 0``),
            ``ZeroSwapOutput`` (the trader would receive nothing).
    """
    if stable_in == 0:
        raise TerraRevert("InvalidAmount", 0)
    terra_pool = _terra_pool(base_pool, delta)
    cp = base_pool * base_pool
    luna_pool = cp // terra_pool
    ask = luna_pool - cp // (terra_pool + stable_in)
    spread = _spread(stable_in, ask, min_spread_bps)
    out = mul_div(stable_in, WAD - spread, price_wad)
    if out == 0:
        raise TerraRevert("ZeroSwapOutput", stable_in)
    return SwapQuote(out, spread, delta + stable_in)


def quote_to_stable(gov_in: int, *, delta: int, base_pool: int, min_spread_bps: int,
                    price_wad: int) -> SwapQuote:
    """Offer ``gov_in`` µ-governance token for the stablecoin (``MarketModule.swapToStable``).

    The offer's value is ``gov_in · price`` µUSD (floored); the trader receives that
    value times ``(1 − spread)`` (floored) µ-stablecoin, and the delta falls by it.

    Raises:
        TerraRevert: ``InvalidAmount`` (zero), ``PoolDepleted`` (``TerraPool ≤ 0``
            before or after the swap), ``ZeroSwapOutput`` (a value or a result of zero).
    """
    if gov_in == 0:
        raise TerraRevert("InvalidAmount", 0)
    terra_pool = _terra_pool(base_pool, delta)
    offer = mul_div(gov_in, price_wad, WAD)
    if offer == 0:
        raise TerraRevert("ZeroSwapOutput", gov_in)
    cp = base_pool * base_pool
    luna_pool = cp // terra_pool
    ask = terra_pool - cp // (luna_pool + offer)
    spread = _spread(offer, ask, min_spread_bps)
    out = mul_div(offer, WAD - spread, WAD)
    if out == 0:
        raise TerraRevert("ZeroSwapOutput", gov_in)
    delta_after = delta - out
    _terra_pool(base_pool, delta_after)
    return SwapQuote(out, spread, delta_after)
