"""The AMM FX route of the on-chain rail: exact mirrors of the pools, and the pools per pair.

:class:`PoolMirror` is ``contracts/AmmPool.sol``'s integer arithmetic to the token unit:
the same formulas (Uniswap v2's, with the fee in basis points), the same rounding, the
same checks in the same order, so it reverts where the contract reverts, with the same
custom error (:class:`PoolRevert`). ``tests/contracts/test_amm_differential.py`` drives
the contract and the mirror through the same random operations and compares their whole
state after each one. The table ledger keeps the pools' state in mirrors; the contracts
ledger runs the real pools and checks each swap's outcome against its mirror.

:class:`AmmPools` is what the rail meets with ``fx.route = "amm"``: one mirror per pool of
``fx.pools`` (each side's reserve worth ``depth_usd`` at the mid rate at the start), the
path of a conversion (the direct pool, else two hops through ``fx.hub``), and the swap a
payment or an arbitrageur makes, applied to the mirrors in block order.

>>> p = PoolMirror(30)
>>> p.add_liquidity(5 * 10**18, 10 * 10**18, "lp", now=0, deadline=1)[2]
7071067811865474244
>>> p.get_amount_out(10**18, 5 * 10**18, 10 * 10**18)
1662497915624478906
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from sim.errors import InputError
from sim.money import minor_exponent

__all__ = [
    "BPS",
    "LOCKED_LIQUIDITY_HOLDER",
    "MINIMUM_LIQUIDITY",
    "AmmPools",
    "Leg",
    "PoolMirror",
    "PoolRevert",
]

BPS = 10_000
MINIMUM_LIQUIDITY = 1000
#: ``AmmPool.LOCKED_LIQUIDITY_HOLDER``, the holder of the locked minimum liquidity
LOCKED_LIQUIDITY_HOLDER = "0x000000000000000000000000000000000000dEaD"
TOKEN_DECIMALS = 6


class PoolRevert(Exception):
    """The pool contract would revert: ``error`` is its custom error's name, ``args`` its
    arguments, as the contract gives them."""

    def __init__(self, error: str, *args: int) -> None:
        super().__init__(f"{error}{args}")
        self.error = error
        self.args_ = args


@dataclass
class PoolMirror:
    """``AmmPool``'s state and arithmetic: reserves, shares per holder and their supply.

    Token 0 and token 1 are the pool's in its constructor's order; holders are any
    hashable names (addresses in the differential test, account names in the rail).
    """

    fee_bps: int
    reserve0: int = 0
    reserve1: int = 0
    shares: dict[Any, int] = field(default_factory=dict)
    total_supply: int = 0

    def __post_init__(self) -> None:
        if not 0 <= self.fee_bps < BPS:
            raise PoolRevert("InvalidFee", self.fee_bps, BPS)

    # -- the formulas
    def get_amount_out(self, amount_in: int, reserve_in: int, reserve_out: int) -> int:
        """``getAmountOut``: ``amountIn·(10000−fee)·reserveOut / (reserveIn·10000 +
        amountIn·(10000−fee))``, rounded down."""
        if amount_in == 0:
            raise PoolRevert("ZeroAmount")
        if reserve_in == 0 or reserve_out == 0:
            raise PoolRevert("InsufficientLiquidity", reserve_in, reserve_out)
        with_fee = amount_in * (BPS - self.fee_bps)
        return with_fee * reserve_out // (reserve_in * BPS + with_fee)

    def get_amount_in(self, amount_out: int, reserve_in: int, reserve_out: int) -> int:
        """``getAmountIn``: the least input buying ``amount_out``."""
        if amount_out == 0:
            raise PoolRevert("ZeroAmount")
        if reserve_in == 0 or amount_out >= reserve_out:
            raise PoolRevert("InsufficientLiquidity", reserve_in, reserve_out)
        return reserve_in * amount_out * BPS // ((reserve_out - amount_out)
                                                 * (BPS - self.fee_bps)) + 1

    def sides(self, zero_in: bool) -> tuple[int, int]:
        """(reserve in, reserve out) of a swap paying in token 0 (``zero_in``) or token 1."""
        return (self.reserve0, self.reserve1) if zero_in else (self.reserve1, self.reserve0)

    def quote(self, zero_in: bool, amount_in: int) -> int:
        r_in, r_out = self.sides(zero_in)
        return self.get_amount_out(amount_in, r_in, r_out)

    # -- state changes, checked in the contract's order
    def swap(self, zero_in: bool, amount_in: int, min_amount_out: int, now: int,
             deadline: int) -> int:
        """``swap``: the output; the reserves move. ``PoolRevert`` (nothing changes) where the
        contract reverts."""
        if now >= deadline:
            raise PoolRevert("Expired", deadline, now)
        r_in, r_out = self.sides(zero_in)
        out = self.get_amount_out(amount_in, r_in, r_out)
        if out < min_amount_out:
            raise PoolRevert("SlippageExceeded", out, min_amount_out)
        if out == 0:
            raise PoolRevert("InsufficientOutputAmount", amount_in)
        if zero_in:
            self.reserve0, self.reserve1 = r_in + amount_in, r_out - out
        else:
            self.reserve1, self.reserve0 = r_in + amount_in, r_out - out
        return out

    def add_liquidity(self, amount0_desired: int, amount1_desired: int, to: Any, *, now: int,
                      deadline: int, amount0_min: int = 0,
                      amount1_min: int = 0) -> tuple[int, int, int]:
        """``addLiquidity``: ``(amount0, amount1, liquidity)`` deposited and minted to ``to``."""
        if now >= deadline:
            raise PoolRevert("Expired", deadline, now)
        if amount0_desired == 0 or amount1_desired == 0:
            raise PoolRevert("ZeroAmount")
        r0, r1, supply = self.reserve0, self.reserve1, self.total_supply
        if supply == 0:
            a0, a1 = amount0_desired, amount1_desired
        else:
            if r0 == 0 or r1 == 0:
                raise PoolRevert("InsufficientLiquidity", r0, r1)
            opt1 = amount0_desired * r1 // r0
            if opt1 <= amount1_desired:
                a0, a1 = amount0_desired, opt1
            else:
                a0, a1 = amount1_desired * r0 // r1, amount1_desired
        if a0 < amount0_min:
            raise PoolRevert("InsufficientAmount", 0, a0, amount0_min)
        if a1 < amount1_min:
            raise PoolRevert("InsufficientAmount", 1, a1, amount1_min)
        if supply == 0:
            liquidity = math.isqrt(a0 * a1)
            if liquidity <= MINIMUM_LIQUIDITY:
                raise PoolRevert("InsufficientLiquidityAmount", liquidity)
            liquidity -= MINIMUM_LIQUIDITY
            self._mint(LOCKED_LIQUIDITY_HOLDER, MINIMUM_LIQUIDITY)
        else:
            liquidity = min(a0 * supply // r0, a1 * supply // r1)
            if liquidity == 0:
                raise PoolRevert("InsufficientLiquidityAmount", 0)
        self.reserve0, self.reserve1 = r0 + a0, r1 + a1
        self._mint(to, liquidity)
        return a0, a1, liquidity

    def remove_liquidity(self, liquidity: int, holder: Any, *, now: int, deadline: int,
                         amount0_min: int = 0, amount1_min: int = 0) -> tuple[int, int]:
        """``removeLiquidity``: burns ``holder``'s shares; ``(amount0, amount1)`` paid."""
        if now >= deadline:
            raise PoolRevert("Expired", deadline, now)
        if liquidity == 0:
            raise PoolRevert("ZeroAmount")
        supply, r0, r1 = self.total_supply, self.reserve0, self.reserve1
        if supply == 0:
            raise PoolRevert("Panic", 0x12)      # division by zero, as the EVM reports it
        a0, a1 = liquidity * r0 // supply, liquidity * r1 // supply
        if a0 == 0 or a1 == 0:
            raise PoolRevert("InsufficientLiquidityAmount", liquidity)
        if a0 < amount0_min:
            raise PoolRevert("InsufficientAmount", 0, a0, amount0_min)
        if a1 < amount1_min:
            raise PoolRevert("InsufficientAmount", 1, a1, amount1_min)
        held = self.shares.get(holder, 0)
        if held < liquidity:
            raise PoolRevert("ERC20InsufficientBalance", held, liquidity)
        self.shares[holder] = held - liquidity
        self.total_supply -= liquidity
        self.reserve0, self.reserve1 = r0 - a0, r1 - a1
        return a0, a1

    def _mint(self, to: Any, amount: int) -> None:
        self.shares[to] = self.shares.get(to, 0) + amount
        self.total_supply += amount

    @property
    def k(self) -> int:
        return self.reserve0 * self.reserve1


@dataclass(frozen=True, slots=True)
class Leg:
    """One hop of a conversion: the pool (its key), the currencies in and out, and whether
    the input is the pool's token 0."""

    pool: str
    source: str
    target: str
    zero_in: bool


class AmmPools:
    """The pools of ``fx.pools`` as mirrors, with their initial reserves and the paths of
    conversions.

    Parameters
    ----------
    pools : ``{"USD-MXN": PoolSpec, ...}`` (the pair's first currency is token 0)
    rate : ``rate(source, target)``: the network's mid rate, units of target per source
    hub : the hub currency of two-hop paths
    """

    def __init__(self, pools: Mapping[str, Any], rate: Any, hub: str) -> None:
        self.specs = dict(pools)
        self.rate = rate
        self.hub = hub
        self.mirrors: dict[str, PoolMirror] = {}
        self.tokens: dict[str, tuple[str, str]] = {}
        self._by_pair: dict[frozenset[str], str] = {}
        self._paths: dict[tuple[str, str], tuple[Leg, ...] | None] = {}
        for key, spec in sorted(self.specs.items()):
            a, b = key.split("-")
            self.tokens[key] = (a, b)
            self._by_pair[frozenset((a, b))] = key
            self.mirrors[key] = PoolMirror(spec.fee_bps)

    def initial_reserves(self, key: str) -> tuple[int, int]:
        """Each side worth the pool's ``depth_usd`` at the mid rate, in token units."""
        depth = Decimal(str(self.specs[key].depth_usd))
        a, b = self.tokens[key]
        return (_token_units(depth * self.rate("USD", a)),
                _token_units(depth * self.rate("USD", b)))

    def seed(self, provider: Any, now: int) -> None:
        """Deposit each pool's initial reserves as ``provider`` (what the contracts ledger
        does on the chain)."""
        for key, mirror in self.mirrors.items():
            r0, r1 = self.initial_reserves(key)
            mirror.add_liquidity(r0, r1, provider, now=now, deadline=now + 1)

    def currencies(self) -> set[str]:
        return {c for pair in self.tokens.values() for c in pair}

    def path(self, source: str, target: str) -> tuple[Leg, ...] | None:
        """The legs of ``source`` -> ``target``: the direct pool, else two hops through the
        hub; ``None`` when neither exists."""
        k = (source, target)
        if k in self._paths:
            return self._paths[k]
        legs: tuple[Leg, ...] | None = None
        direct = self._leg(source, target)
        if direct is not None:
            legs = (direct,)
        elif self.hub not in (source, target):
            a, b = self._leg(source, self.hub), self._leg(self.hub, target)
            if a is not None and b is not None:
                legs = (a, b)
        self._paths[k] = legs
        return legs

    def _leg(self, source: str, target: str) -> Leg | None:
        key = self._by_pair.get(frozenset((source, target)))
        if key is None:
            return None
        return Leg(key, source, target, self.tokens[key][0] == source)

    def check_paths(self, pairs: Sequence[tuple[str, str]]) -> None:
        """``InputError`` naming the first conversion with no pool path."""
        for s, d in pairs:
            if s != d and self.path(s, d) is None:
                raise InputError(
                    f"fx.pools: no pool converts {s} to {d}: neither a pool {s}-{d} nor pools "
                    f"{s}-{self.hub} and {self.hub}-{d} (fx.hub); add one to fx.pools")

    def quote(self, legs: Sequence[Leg], amount_in: int) -> int:
        """What ``amount_in`` (token units) would buy along ``legs`` now (0 if a pool
        refuses it)."""
        out = amount_in
        try:
            for leg in legs:
                out = self.mirrors[leg.pool].quote(leg.zero_in, out)
        except PoolRevert:
            return 0
        return out

    def swap(self, legs: Sequence[Leg], amount_in: int, min_out: int, now: int,
             deadline: int) -> tuple[int, str | None]:
        """Apply the router's swap along ``legs``: ``(output, None)``, or ``(0, error)`` with
        every pool left as it was (the transaction reverts whole)."""
        if now >= deadline:
            return 0, "Expired"
        if amount_in == 0:
            return 0, "ZeroAmount"
        saved = [(m, m.reserve0, m.reserve1) for m in (self.mirrors[leg.pool] for leg in legs)]
        out = amount_in
        try:
            for leg in legs:
                out = self.mirrors[leg.pool].swap(leg.zero_in, out, 0, now, deadline)
        except PoolRevert as exc:
            self._restore(saved)
            return 0, exc.error
        if out < min_out:
            self._restore(saved)
            return 0, "SlippageExceeded"
        return out, None

    @staticmethod
    def _restore(saved: Sequence[tuple[PoolMirror, int, int]]) -> None:
        for m, r0, r1 in saved:
            m.reserve0, m.reserve1 = r0, r1

    def mid_out(self, legs: Sequence[Leg], amount_in: int) -> Decimal:
        """``amount_in`` converted at the mid rates along ``legs`` (token units, exact)."""
        return Decimal(amount_in) * self.rate(legs[0].source, legs[-1].target)

    def fee_factor(self, legs: Sequence[Leg]) -> Decimal:
        """What is left of a unit after every leg's fee (no price impact)."""
        f = Decimal(1)
        for leg in legs:
            f *= 1 - Decimal(self.mirrors[leg.pool].fee_bps) / BPS
        return f


def _token_units(amount: Decimal) -> int:
    return int((amount * 10**TOKEN_DECIMALS).to_integral_value())


def minor_to_token(ccy: str) -> int:
    """Token units per minor unit of ``ccy`` (tokens have 6 decimals)."""
    return int(10 ** (TOKEN_DECIMALS - minor_exponent(ccy)))
