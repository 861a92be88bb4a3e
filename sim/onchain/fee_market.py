"""The block-space market of the on-chain rail: EIP-1559 base fees and blocks.

A :class:`FeeMarket` produces the blocks' arithmetic for one run: per block it
draws the background demand (a seeded mean-reverting process, raised by
:class:`Congestion` episodes), leaves the rest of the gas limit to the rail's
transactions, and after the block applies the EIP-1559 base-fee update exactly
as the EIP specifies (integer arithmetic, :func:`next_base_fee`).

Example
-------
>>> import numpy as np
>>> from sim.onchain.chains import get_chain_profile
>>> quiet = get_chain_profile("ethereum-l1").with_overrides(
...     background={"mean_utilisation": 0, "volatility": 0})
>>> fm = FeeMarket(quiet, np.random.default_rng(1))
>>> b = fm.open_block(100, 1_700_000_000.0)
>>> b.capacity_gas == quiet.block_gas_limit, b.base_fee_wei
(True, 5000000000)
>>> fm.close_block(0)                                 # an empty block: -12.5%
>>> fm.base_fee_wei
4375000000
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import numpy as np

from sim.errors import InputError
from sim.onchain.chains import WEI_PER_GWEI, WEI_PER_NATIVE, ChainProfile

__all__ = ["BlockSpace", "Congestion", "FeeMarket", "next_base_fee"]

_WEI_PER_NATIVE_D = Decimal(WEI_PER_NATIVE)   # the same divisor, converted once
#: Cap on the background demand, as a share of the block gas limit, before the
#: block is filled (demand above the limit only means the block is full).
_MAX_UTILISATION = 2.0
_LOG_MAX_UTILISATION = math.log(_MAX_UTILISATION)
#: standard normals the fee market draws ahead at a time
_DRAW_AHEAD = 4096

# ---------------------------------------------------------------------------
# fee market
# ---------------------------------------------------------------------------
def next_base_fee(parent_base_fee: int, parent_gas_used: int, parent_gas_limit: int,
                  max_change_denominator: int = 8, elasticity: int = 2) -> int:
    """The EIP-1559 base fee of the next block, exactly as the EIP computes it.

    >>> next_base_fee(1000, 30_000_000, 30_000_000)   # full block: +12.5%
    1125
    >>> next_base_fee(1000, 0, 30_000_000)            # empty block: -12.5%
    875
    >>> next_base_fee(1000, 15_000_000, 30_000_000)   # at target: unchanged
    1000
    >>> next_base_fee(7, 15_000_001, 30_000_000)      # above target: at least +1
    8
    """
    target = parent_gas_limit // elasticity
    if target <= 0:
        raise InputError(f"gas target {parent_gas_limit} // {elasticity} is 0")
    if parent_gas_used == target:
        return parent_base_fee
    if parent_gas_used > target:
        delta = parent_base_fee * (parent_gas_used - target) // target // max_change_denominator
        return parent_base_fee + max(delta, 1)
    delta = parent_base_fee * (target - parent_gas_used) // target // max_change_denominator
    return parent_base_fee - delta


@dataclass(frozen=True, slots=True)
class Congestion:
    """An episode forcing background demand to at least ``utilisation`` of the gas limit.

    Active for blocks with ``start <= timestamp < end`` (POSIX seconds). A
    utilisation of 1 or more fills the blocks (a gas spike: the base fee climbs
    12.5% per Ethereum block and no capacity is left for the rail).
    """

    start: float
    end: float
    utilisation: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.start) and math.isfinite(self.end)) or self.end <= self.start:
            raise InputError(f"Congestion end {self.end} must be after start {self.start}")
        if not (0 <= self.utilisation <= _MAX_UTILISATION):
            raise InputError(f"Congestion utilisation {self.utilisation} must be in "
                             f"[0, {_MAX_UTILISATION}]")

    def active(self, timestamp: float) -> bool:
        return self.start <= timestamp < self.end


@dataclass(frozen=True, slots=True)
class BlockSpace:
    """One block as the rail sees it when it opens.

    ``base_fee_wei`` is the block's base fee (0 unless EIP-1559);
    ``capacity_gas`` is what the background demand leaves for the rail's
    transactions (``block gas limit - background_gas``).
    """

    number: int
    timestamp: float
    base_fee_wei: int
    background_gas: int
    capacity_gas: int


class FeeMarket:
    """Block-by-block background demand, capacity and fees for one run of one chain.

    Deterministic given ``rng``: exactly one standard normal is used per block
    (plus one at construction), whatever the congestion episodes, so adding an
    episode changes nothing outside it but the base fee it leaves behind. The
    market owns ``rng``: it draws the normals ahead, in batches.

    Use it as ``open_block`` -> (``fee_wei`` / ``fee_usd`` for each transaction
    included) -> ``close_block(our gas)``. Block numbers must increase; a skipped
    number is produced as a block with none of our gas, at ``block_time_s``
    spacing, so the market evolves the same whether or not the rail looks at it.

    >>> import numpy as np
    >>> from sim.onchain.chains import get_chain_profile
    >>> p = get_chain_profile("ethereum-l1")
    >>> def run(seed):
    ...     fm, out = FeeMarket(p, np.random.default_rng(seed)), []
    ...     for n in range(3):
    ...         out.append(fm.open_block(n, 12.0 * n))
    ...         fm.close_block(21_000)
    ...     return out
    >>> run(3) == run(3), run(3) == run(4)
    (True, False)
    """

    def __init__(self, profile: ChainProfile, rng: np.random.Generator,
                 congestion: Sequence[Congestion] = (),
                 halts: Sequence[tuple[float, float]] = ()) -> None:
        self.profile = profile
        self.rng = rng
        self.congestion: tuple[Congestion, ...] = tuple(congestion)
        #: chain halts ``(start, end)``: slots in them produce no block (the demand
        #: process still takes its draw, so the stream stays aligned; the base fee waits)
        self.halts: tuple[tuple[float, float], ...] = tuple(sorted(halts))
        fm, bg = profile.fee_market, profile.background
        self._eip1559 = fm.kind == "eip1559"
        self._min_base = _gwei_to_wei(fm.min_base_fee_gwei) if self._eip1559 else 0
        self._base = max(_gwei_to_wei(fm.initial_base_fee_gwei), self._min_base) \
            if self._eip1559 else 0
        self._ref_log = math.log(max(self._base, 1))
        self._tip = _gwei_to_wei(fm.priority_fee_gwei) if self._eip1559 else 0
        self._fixed = int(fm.fixed_fee_native * WEI_PER_NATIVE) if fm.kind == "fixed" else 0
        self._sigma, self._phi = bg.volatility, bg.persistence
        self._innov = self._sigma * math.sqrt(max(0.0, 1.0 - self._phi ** 2))
        self._x = self._sigma * float(rng.standard_normal())
        # log of the mean-one lognormal level: E[exp(x - sigma^2/2)] = 1
        self._log_mean = (math.log(bg.mean_utilisation) - self._sigma ** 2 / 2
                          if bg.mean_utilisation > 0 else None)
        self._elastic = bg.price_elasticity if self._eip1559 else 0.0
        self._limit = profile.block_gas_limit
        self._denominator, self._elasticity = fm.max_change_denominator, fm.elasticity
        self._target = self._limit // self._elasticity
        self._target_denom = self._target * self._denominator
        self._open_number: int | None = None     # the open block (None: none open)
        self._open_timestamp = 0.0
        self._open_background = 0
        self._next: int | None = None
        self._first = 0                          # the first block's number
        # the demand process's innovations (``innov * z``, z standard normal), drawn
        # ahead in batches (numpy draws a batch exactly as it draws them one at a
        # time, and multiplies each exactly as Python does), consumed one per block
        self._normals: list[float] = []
        self._drawn = 0
        p = profile
        self._price, self._l1_fee = p.native_price_usd, p.fee_market.l1_data_fee_usd
        # USD per wei: the price shifted 18 places, exact (the same digits), so
        # ``wei * price / 1e18`` and ``wei * usd_per_wei`` round alike, to the same value
        self._usd_per_wei = self._price / _WEI_PER_NATIVE_D
        # below this log-utilisation a block's gas is under target, whatever float rounding
        # (exp is within an ulp; the margin is far wider)
        self._hold = math.log(self._target / self._limit) - 1e-9 if self._limit else -math.inf
        # the constants of _skip's fast loops (None: only the reference loop applies)
        self._loop: tuple[Any, ...] | None = None
        if self._eip1559 and self._log_mean is not None and self._denominator >= 2:
            self._loop = (self._phi, self._log_mean, self._ref_log, _LOG_MAX_UTILISATION,
                          self._limit, self._target, self._target_denom, self._min_base,
                          self._elastic)

    # -- state ---------------------------------------------------------------
    @property
    def base_fee_wei(self) -> int:
        """Base fee of the open block (or of the next block when none is open)."""
        return self._base

    @property
    def tip_wei(self) -> int:
        """Priority fee per gas our transactions pay (0 unless EIP-1559)."""
        return self._tip

    @property
    def next_block_number(self) -> int | None:
        """Number of the block after the last one closed (``None`` before the first)."""
        return self._next

    @property
    def slots_stepped(self) -> int:
        """Slots produced so far, blocks and skipped slots alike: from the first block
        opened to the last one closed (0 before the first is closed)."""
        return 0 if self._next is None else self._next - self._first

    @property
    def current_block(self) -> BlockSpace | None:
        """The open block, or ``None`` between ``close_block`` and ``open_block``."""
        if self._open_number is None:
            return None
        bg = self._open_background
        return BlockSpace(number=self._open_number, timestamp=self._open_timestamp,
                          base_fee_wei=self._base, background_gas=bg,
                          capacity_gas=self._limit - bg)

    # -- blocks --------------------------------------------------------------
    def open_block(self, number: int, timestamp: float) -> BlockSpace:
        """Open block ``number`` produced at ``timestamp`` (POSIX s): draw its background demand.

        Blocks skipped since the last one closed are produced first, empty of our
        gas, ``block_time_s`` apart before ``timestamp``. Raises ``ValueError`` if
        a block is already open or ``number`` goes backwards.
        """
        self.open_block_capacity(number, timestamp)
        block = self.current_block
        assert block is not None
        return block

    def open_block_capacity(self, number: int, timestamp: float) -> int:
        """:meth:`open_block`, returning only the gas left for the rail (``capacity_gas``;
        the base fee is :attr:`base_fee_wei`): the block producer's call."""
        if self._open_number is not None:
            raise ValueError(f"block {self._open_number} is still open; call close_block "
                             "first")
        nxt = self._next
        if nxt is None:
            self._first = number
        elif number != nxt:
            if number < nxt:
                raise ValueError(f"block {number} is before the next block {nxt}; block "
                                 "numbers must increase")
            self._skip(number - nxt, timestamp)
        i = self._drawn
        if i < len(self._normals):
            self._drawn = i + 1
            e = self._normals[i]
        else:
            e = self._draw(1)[0]
        # advance the demand process by one block: the background gas
        x = self._x = self._phi * self._x + e
        u = 0.0
        log_mean = self._log_mean
        if log_mean is not None:
            log_u = log_mean + x
            if self._elastic:
                base = self._base
                log_u += self._elastic * (self._ref_log - math.log(base if base > 1 else 1))
            u = math.exp(log_u if log_u < _LOG_MAX_UTILISATION else _LOG_MAX_UTILISATION)
        if self.congestion:
            for ep in self.congestion:
                if ep.start <= timestamp < ep.end and ep.utilisation > u:
                    u = ep.utilisation
        limit = self._limit
        used = round(u * limit)
        background = used if used < limit else limit
        self._open_number, self._open_timestamp = number, timestamp
        self._open_background = background
        return limit - background

    def close_block(self, our_gas: int) -> None:
        """Close the open block with ``our_gas`` used by the rail; update the base fee.

        Gas used = ``min(limit, background + our_gas)``; the base fee follows
        EIP-1559 and never goes below the profile's minimum.
        """
        if self._open_number is None:
            raise ValueError("no block is open; call open_block first")
        if our_gas < 0:
            raise ValueError(f"our_gas {our_gas} is negative")
        used = self._open_background + int(our_gas)
        self._update(used if used < self._limit else self._limit)
        self._next = self._open_number + 1
        self._open_number = None

    def _draw(self, k: int) -> list[float]:
        """The innovations ``innov * z`` of the next ``k`` blocks, ``z`` the next standard
        normals of ``rng`` (drawn ahead in batches)."""
        i, buf = self._drawn, self._normals
        if i + k <= len(buf):
            self._drawn = i + k
            return buf[i:i + k]
        rest = buf[i:]
        need = k - len(rest)
        fresh = (self._innov * self.rng.standard_normal(max(need, _DRAW_AHEAD))).tolist()
        self._normals, self._drawn = fresh, need
        return rest + fresh[:need] if rest else fresh[:need]

    def _skip(self, k: int, timestamp: float) -> None:
        """Produce ``k`` blocks with none of our gas, ending one interval before ``timestamp``.

        The same draws and arithmetic as :meth:`open_block` + ``close_block(0)`` per
        block, inlined for speed: idle periods are long (a weekend is ~130k blocks
        of a 2 s chain). ``tests/onchain`` checks the equivalence, for this loop and
        for :meth:`_skip_reference`, the straightforward one. Without an EIP-1559 base
        fee the background gas of a skipped block affects nothing, so only the
        demand process advances. The fast loop applies when no congestion episode
        overlaps the skipped blocks, the base fee is at least 1 and the change
        denominator at least 2 (the base fee then stays at least 1, and
        ``max(base, 1)`` is ``base``); ``a // target // denom`` is
        ``a // (target * denom)`` for non-negative integers.
        """
        i, buf = self._drawn, self._normals
        if i + k <= len(buf):                 # _draw(k), inlined
            self._drawn = i + k
            shocks = buf[i:i + k]
        else:
            shocks = self._draw(k)
        x, base = self._x, self._base
        if not self._eip1559:
            phi = self._phi
            for e in shocks:
                x = phi * x + e
            self._x = x
            return
        if self._loop is None or base < 1 or ((self.congestion or self.halts)
                                              and self._overlaps(k, timestamp)):
            self._skip_reference(shocks, timestamp)
            return
        phi, log_mean, ref, cap, limit, target, td, floor, elastic = self._loop
        log, exp = math.log, math.exp
        if elastic == 1.0 and floor <= 0:     # the default: Ethereum's, no floor to check
            for e in shocks:
                x = phi * x + e
                log_u = log_mean + x + (ref - log(base))
                d = round(exp(log_u if log_u < cap else cap) * limit)
                d = (d if d < limit else limit) - target
                if d > 0:
                    base += base * d // td or 1
                elif d:
                    base -= base * -d // td
        else:
            # without price elasticity demand ignores the base fee, and a block at or below
            # target leaves a base fee at its floor where it is: such blocks only advance
            # the demand process (a log-utilisation at or below `hold` gives used <= target)
            hold = self._hold if not elastic and floor > 0 else -math.inf
            for e in shocks:
                x = phi * x + e
                log_u = log_mean + x
                if base == floor and log_u <= hold:
                    continue
                if elastic:
                    log_u += elastic * (ref - log(base))
                used = round(exp(log_u if log_u < cap else cap) * limit)
                if used > limit:
                    used = limit
                if used > target:
                    base += base * (used - target) // td or 1
                elif used < target:
                    base -= base * (target - used) // td
                if base < floor:
                    base = floor
        self._x, self._base = x, base

    def _overlaps(self, k: int, timestamp: float) -> bool:
        """Whether a congestion episode or a halt overlaps the ``k`` blocks before
        ``timestamp``."""
        dt = self.profile.block_time_s
        first, last = timestamp - k * dt, timestamp - dt
        return any(ep.start <= last and first < ep.end for ep in self.congestion) or \
            any(h0 <= last and first < h1 for h0, h1 in self.halts)

    def _skip_reference(self, shocks: Sequence[float], timestamp: float) -> None:
        """:meth:`_skip` written plainly, given the blocks' innovations: the general case,
        and the reference of its tests."""
        k = len(shocks)
        phi, x = self._phi, self._x
        dt, limit, base, floor = self.profile.block_time_s, self._limit, self._base, self._min_base
        log_mean, elastic, ref, cap = self._log_mean, self._elastic, self._ref_log, \
            _LOG_MAX_UTILISATION
        denom = self._denominator
        episodes = [(e.start, e.end, e.utilisation) for e in self.congestion]
        halts = self.halts
        log, exp = math.log, math.exp
        for i, e in enumerate(shocks):
            x = phi * x + e
            if halts:
                ts = timestamp - (k - i) * dt
                if any(h0 <= ts < h1 for h0, h1 in halts):
                    continue              # a halted slot: no block, the base fee waits
            u = 0.0
            if log_mean is not None:
                log_u = log_mean + x
                if elastic:
                    log_u += elastic * (ref - log(max(base, 1)))
                u = exp(min(log_u, cap))
            if episodes:
                ts = timestamp - (k - i) * dt
                for start, end, level in episodes:
                    if start <= ts < end and level > u:
                        u = level
            used = min(limit, int(round(u * limit)))
            if self._eip1559:
                base = next_base_fee(base, used, limit, denom, self._elasticity)
                if base < floor:
                    base = floor
        self._x, self._base = x, base

    def _update(self, used: int) -> None:
        if self._eip1559:          # next_base_fee, inlined (a // t // d == a // (t * d))
            base, target = self._base, self._target
            if used > target:
                base += base * (used - target) // self._target_denom or 1
            elif used < target:
                base -= base * (target - used) // self._target_denom
            self._base = base if base > self._min_base else self._min_base

    # -- fees ----------------------------------------------------------------
    def close_block_fees(self, gas_used: Sequence[int]) -> list[Decimal]:
        """:meth:`fees_usd` of the open block's transactions, which used ``gas_used``, then
        ``close_block(sum(gas_used))``, in one call: the block producer's."""
        if self._open_number is None:
            raise ValueError("no block is open; call open_block first")
        used = self._open_background
        if self._eip1559:
            per_gas, usd, l1 = self._base + self._tip, self._usd_per_wei, self._l1_fee
            fees = []
            for g in gas_used:
                if g < 0:
                    raise ValueError(f"gas_used {g} is negative")
                used += g
                fees.append(Decimal(int(g) * per_gas) * usd + l1 if l1 else
                            Decimal(int(g) * per_gas) * usd)
            self._update(used if used < self._limit else self._limit)
        else:
            fees = self.fees_usd(gas_used)
        self._next = self._open_number + 1
        self._open_number = None
        return fees

    def fee_wei(self, gas_used: int) -> int:
        """What one of our transactions using ``gas_used`` pays, in 1e-18 native units.

        ``gas_used * (base fee + tip)`` on EIP-1559; the fixed per-transaction fee on
        ``fixed``; 0 on ``none``. The L1 data fee is in USD: see :meth:`fee_usd`.
        """
        if gas_used < 0:
            raise ValueError(f"gas_used {gas_used} is negative")
        if self._eip1559:
            return int(gas_used) * (self._base + self._tip)
        return self._fixed

    def fees_usd(self, gas_used: Sequence[int]) -> list[Decimal]:
        """:meth:`fee_usd` of each of the open block's transactions (equal values)."""
        l1 = self._l1_fee
        if self._eip1559:
            per_gas = self._base + self._tip
            if min(gas_used, default=0) < 0:
                raise ValueError(f"gas_used {min(gas_used)} is negative")
            usd = self._usd_per_wei
            if not l1:
                return [Decimal(int(g) * per_gas) * usd for g in gas_used]
            return [Decimal(int(g) * per_gas) * usd + l1 for g in gas_used]
        return [self.fee_usd(g) for g in gas_used]

    def fee_usd(self, gas_used: int) -> Decimal:
        """:meth:`fee_wei` at the profile's ``native_price_usd``, plus ``l1_data_fee_usd``."""
        return Decimal(self.fee_wei(gas_used)) * self._price / _WEI_PER_NATIVE_D + self._l1_fee


def _gwei_to_wei(gwei: Decimal) -> int:
    return int(gwei * WEI_PER_GWEI)
