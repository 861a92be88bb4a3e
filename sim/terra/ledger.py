"""The ledgers of the algorithmic stablecoin: an exact mirror, or the real contracts.

Two implementations of one interface, :class:`TerraLedger`:

* :class:`MirrorLedger`: a pure-Python integer state machine of the market
  module (:mod:`sim.terra.market`), the secondary pool (:mod:`sim.terra.pool`),
  the oracle and the three tokens; fast, for large runs.
* :class:`ContractLedger`: every call a real transaction on the contracts
  (``AlgoStablecoin``, ``GovToken``, ``PriceOracle``, ``MarketModule``,
  ``StableSwapPool`` and the repo's fiat-backed ``Stablecoin``) on the embedded
  chain, through :mod:`settlement.terra`; one chain block per
  :meth:`~TerraLedger.begin_block` / :meth:`~TerraLedger.end_block`, at that
  block's timestamp.

Both give identical :meth:`~TerraLedger.state` and balances after every call,
and raise :class:`TerraRevert` with the same reason for a call the contracts
revert (the differential test in ``tests/terra`` drives both through the same
random operations). Bad input (an unknown token, a negative amount, a
malformed parameter, a block that does not move time forward) is refused
before anything runs, with :class:`TerraInputError` (an
:class:`~sim.errors.InputError`) naming the field.

Tokens are named ``"stable"`` (the UST-like algorithmic stablecoin),
``"gov"`` (the LUNA-like governance token) and ``"fiat"`` (a fiat-backed USD
stablecoin, the pool's other side). Amounts are integer micro-units (6
decimals); prices are WAD (``10**18`` = USD 1 per whole token).

>>> ledger = MirrorLedger()
>>> params = MarketParams(base_pool=50_000_000 * 10**6, recovery_period=36,
...                       min_spread_bps=50, block_time_s=6, pool_fee_bps=4)
>>> ledger.genesis({("stable", "alice"): 1_000_000 * 10**6}, pool_stable=10**12,
...                pool_fiat=10**12, gov_price_wad=80 * 10**18, params=params,
...                timestamp=1_651_881_600)
>>> ledger.begin_block(1_651_881_606)
>>> ledger.swap_to_gov("alice", 1_000_000 * 10**6)
12254901960
>>> ledger.state().delta
1000000000000
>>> ledger.end_block(); ledger.begin_block(1_651_881_612)   # one block later: 1/36 recovered
>>> ledger.state().delta
972222222223
"""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from sim.errors import InputError
from sim.terra.market import (
    MAX_BASE_POOL,
    MAX_PRICE_WAD,
    TerraRevert,
    height_of,
    quote_to_gov,
    quote_to_stable,
    recover,
)
from sim.terra.pool import MAX_AMP, MAX_FEE_BPS, get_d, quote_pool_out

if TYPE_CHECKING:
    from settlement import Chain, ContractRevert, Receipt
    from settlement.terra import TerraStack

__all__ = [
    "TOKENS",
    "ContractLedger",
    "MarketParams",
    "MirrorLedger",
    "TerraInputError",
    "TerraLedger",
    "TerraRevert",
    "TerraState",
]

#: the three tokens, by their keys
TOKENS = ("stable", "gov", "fiat")
#: the pool's two sides
POOL_SIDES = ("stable", "fiat")
#: the prefix of the ledger's own accounts on the chain; a holder may not use it
RESERVED_PREFIX = "terra:"


class TerraInputError(InputError):
    """A ledger call or a parameter the model cannot use; the message names the field."""


def _whole(field: str, value: object, low: int, high: int | None = None, unit: str = "") -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TerraInputError(f"{field} must be a whole number{unit}, not {value!r}")
    v = int(value)
    if v < low or (high is not None and v > high):
        span = f">= {low}" if high is None else f"in {low}..{high}"
        raise TerraInputError(f"{field} must be {span}{unit}, not {v}")
    return v


@dataclass(frozen=True)
class MarketParams:
    """The market module's and the pool's parameters.

    Attributes:
        base_pool: the module's ``BasePool`` in µUSD (> 0; Terra, May 2022: 50 M SDR).
        recovery_period: ``PoolRecoveryPeriod`` in blocks (> 0; Terra: 36, then 18).
        min_spread_bps: the floor of the module's spread (``MinStabilitySpread``),
            0..9999 (Terra: 50 = 0.5%).
        block_time_s: seconds per module block (> 0; Terra ~6); the height is
            ``(timestamp - genesis_time) // block_time_s``. Fixed for a run.
        pool_fee_bps: the secondary pool's fee on what is bought, 0..5000.
        pool_amp: the secondary pool's amplification coefficient ``A``, 1..10^6.

    Raises:
        TerraInputError: a field out of range, named in the message.
    """

    base_pool: int
    recovery_period: int
    min_spread_bps: int
    block_time_s: int
    pool_fee_bps: int
    pool_amp: int = 100

    def __post_init__(self) -> None:
        _whole("MarketParams.base_pool", self.base_pool, 1, MAX_BASE_POOL, " (µUSD)")
        _whole("MarketParams.recovery_period", self.recovery_period, 1, 2**64 - 1, " (blocks)")
        _whole("MarketParams.min_spread_bps", self.min_spread_bps, 0, 9_999,
               " (basis points; a spread of 100% or more leaves nothing to swap)")
        _whole("MarketParams.block_time_s", self.block_time_s, 1, 2**32 - 1, " (seconds)")
        _whole("MarketParams.pool_fee_bps", self.pool_fee_bps, 0, MAX_FEE_BPS,
               " (basis points)")
        _whole("MarketParams.pool_amp", self.pool_amp, 1, MAX_AMP)


@dataclass(frozen=True)
class TerraState:
    """Everything the two ledgers must agree on, besides balances."""

    height: int
    timestamp: int
    delta: int                # signed µUSD: TerraPool = base_pool + delta
    stable_supply: int
    gov_supply: int
    fiat_supply: int
    pool_stable: int
    pool_fiat: int
    gov_price_wad: int
    params: MarketParams

    @property
    def pool_invariant(self) -> int:
        """The secondary pool's StableSwap invariant ``D``."""
        return get_d(self.pool_stable, self.pool_fiat, self.params.pool_amp)


class TerraLedger(Protocol):
    """What a run needs from a ledger of the algorithmic stablecoin."""

    def state(self) -> TerraState: ...
    def balance(self, token: str, holder: str) -> int: ...
    def genesis(self, balances: Mapping[tuple[str, str], int], pool_stable: int,
                pool_fiat: int, gov_price_wad: int, params: MarketParams,
                timestamp: int) -> None: ...
    def begin_block(self, timestamp: int) -> None: ...
    def set_oracle_price(self, price_wad: int) -> None: ...
    def set_params(self, params: MarketParams) -> None: ...
    def swap_to_gov(self, holder: str, stable_in: int, min_out: int = 0) -> int: ...
    def swap_to_stable(self, holder: str, gov_in: int, min_out: int = 0) -> int: ...
    def pool_swap(self, holder: str, sell: str, amount_in: int, min_out: int = 0) -> int: ...
    def quote_to_gov(self, stable_in: int) -> int: ...
    def quote_to_stable(self, gov_in: int) -> int: ...
    def quote_pool(self, sell: str, amount_in: int) -> int: ...
    def transfer(self, token: str, src: str, dst: str, amount: int) -> None: ...
    def end_block(self) -> None: ...


# -- checks both ledgers make before anything runs ------------------------------------


def _token(token: object, field: str = "token", allowed: tuple[str, ...] = TOKENS) -> str:
    if token not in allowed:
        raise TerraInputError(f"{field} must be one of {', '.join(allowed)}, not {token!r}")
    return str(token)


def _holder(holder: object, field: str = "holder") -> str:
    if not isinstance(holder, str) or not holder:
        raise TerraInputError(f"{field} must be a non-empty name, not {holder!r}")
    if holder.startswith(RESERVED_PREFIX):
        raise TerraInputError(f"{field} {holder!r}: names starting {RESERVED_PREFIX!r} are "
                              "the ledger's own accounts")
    return holder


def _amount(field: str, value: object) -> int:
    return _whole(field, value, 0, 2**256 - 1, " (micro-units)")


def _price(value: object) -> int:
    # an out-of-range price is the oracle contract's revert, not bad input
    return _whole("gov_price_wad", value, 0, 2**256 - 1, " (WAD)")


def check_price(price_wad: int) -> None:
    """The oracle's check: ``PriceOutOfRange`` unless ``0 < price_wad <= MAX_PRICE_WAD``."""
    if price_wad == 0 or price_wad > MAX_PRICE_WAD:
        raise TerraRevert("PriceOutOfRange", price_wad)


def check_genesis(balances: Mapping[tuple[str, str], int], pool_stable: int, pool_fiat: int,
                  gov_price_wad: int, params: MarketParams, timestamp: int
                  ) -> dict[tuple[str, str], int]:
    """The genesis arguments checked (a :class:`TerraInputError` naming the first bad one);
    the balances as a plain dict, zero balances left out."""
    if not isinstance(params, MarketParams):
        raise TerraInputError(f"params must be MarketParams, not {type(params).__name__}")
    out: dict[tuple[str, str], int] = {}
    if not isinstance(balances, Mapping):
        raise TerraInputError("balances must map (token, holder) to an amount")
    for key, amount in balances.items():
        if not isinstance(key, tuple) or len(key) != 2:
            raise TerraInputError(f"balances key {key!r} must be a (token, holder) pair")
        token = _token(key[0], f"balances[{key!r}] token")
        holder = _holder(key[1], f"balances[{key!r}] holder")
        value = _amount(f"balances[{key!r}]", amount)
        if value:
            out[(token, holder)] = value
    _whole("pool_stable", pool_stable, 1, 2**128, " (micro-units)")
    _whole("pool_fiat", pool_fiat, 1, 2**128, " (micro-units)")
    _whole("gov_price_wad", gov_price_wad, 1, MAX_PRICE_WAD, " (WAD)")
    _whole("timestamp", timestamp, 1, 2**40, " (UTC seconds)")
    return out


# -- the mirror -------------------------------------------------------------------------


class MirrorLedger:
    """The contracts' state machine in exact Python integers (see the module docstring).

    Recovery of the delta is applied for the elapsed heights when a block begins;
    the contracts apply it lazily on their next call, which gives the same delta
    because parameters only change through :meth:`set_params`, which recovers first
    in both.
    """

    def __init__(self) -> None:
        self._balances: dict[str, dict[str, int]] = {t: {} for t in TOKENS}
        self._supply: dict[str, int] = dict.fromkeys(TOKENS, 0)
        self._params: MarketParams | None = None
        self._genesis_time = 0
        self._timestamp = 0
        self._height = 0
        self._delta = 0
        self._price = 0
        self._pool: dict[str, int] = dict.fromkeys(POOL_SIDES, 0)
        self._in_block = False

    # -- reading ------------------------------------------------------------------------

    @property
    def params(self) -> MarketParams:
        """The current parameters (after genesis)."""
        if self._params is None:
            raise TerraInputError("the ledger has no genesis yet; call genesis() first")
        return self._params

    def state(self) -> TerraState:
        """The module's, the pool's, the oracle's and the tokens' state now."""
        return TerraState(
            height=self._height, timestamp=self._timestamp, delta=self._delta,
            stable_supply=self._supply["stable"], gov_supply=self._supply["gov"],
            fiat_supply=self._supply["fiat"], pool_stable=self._pool["stable"],
            pool_fiat=self._pool["fiat"], gov_price_wad=self._price, params=self.params)

    def balance(self, token: str, holder: str) -> int:
        """``holder``'s balance of ``token`` in micro-units."""
        return self._balances[_token(token)].get(_holder(holder), 0)

    # -- blocks -------------------------------------------------------------------------

    def genesis(self, balances: Mapping[tuple[str, str], int], pool_stable: int,
                pool_fiat: int, gov_price_wad: int, params: MarketParams,
                timestamp: int) -> None:
        """The state at ``timestamp`` (height 0, delta 0): the holders' balances, the
        pool's reserves and the oracle price. Once, before any block."""
        if self._params is not None:
            raise TerraInputError("genesis() was already called; a ledger has one genesis")
        clean = check_genesis(balances, pool_stable, pool_fiat, gov_price_wad, params,
                              timestamp)
        for (token, holder), amount in clean.items():
            self._balances[token][holder] = amount
            self._supply[token] += amount
        self._pool["stable"], self._pool["fiat"] = pool_stable, pool_fiat
        self._supply["stable"] += pool_stable
        self._supply["fiat"] += pool_fiat
        self._price = gov_price_wad
        self._params = params
        self._genesis_time = self._timestamp = timestamp

    def begin_block(self, timestamp: int) -> None:
        """The next block, at ``timestamp`` (strictly after the previous one); the delta
        recovers once per elapsed height."""
        params = self.params
        ts = _whole("begin_block: timestamp", timestamp, 1, 2**40, " (UTC seconds)")
        if ts <= self._timestamp:
            raise TerraInputError(f"begin_block: timestamp {ts} is not after the previous "
                                  f"block's {self._timestamp}; time only moves forward")
        height = height_of(ts, self._genesis_time, params.block_time_s)
        self._delta = recover(self._delta, params.recovery_period, height - self._height)
        self._height, self._timestamp = height, ts
        self._in_block = True

    def end_block(self) -> None:
        """Close the block (nothing to do in the mirror but check one is open)."""
        self._open()
        self._in_block = False

    def _open(self) -> MarketParams:
        params = self.params
        if not self._in_block:
            raise TerraInputError("no block is open; call begin_block(timestamp) first")
        return params

    # -- governance and oracle ------------------------------------------------------------

    def set_oracle_price(self, price_wad: int) -> None:
        """The reporter's new price of the governance token (WAD)."""
        self._open()
        price = _price(price_wad)
        check_price(price)
        self._price = price

    def set_params(self, params: MarketParams) -> None:
        """Governance changes the parameters (Proposal 1164); ``block_time_s`` is fixed."""
        old = self._open()
        _check_new_params(old, params)
        self._params = params

    # -- the market module --------------------------------------------------------------

    def quote_to_gov(self, stable_in: int) -> int:
        """What :meth:`swap_to_gov` would pay now (µ-governance token)."""
        params = self._open()
        return quote_to_gov(_amount("stable_in", stable_in), delta=self._delta,
                            base_pool=params.base_pool, min_spread_bps=params.min_spread_bps,
                            price_wad=self._price).out

    def quote_to_stable(self, gov_in: int) -> int:
        """What :meth:`swap_to_stable` would pay now (µ-stablecoin)."""
        params = self._open()
        return quote_to_stable(_amount("gov_in", gov_in), delta=self._delta,
                               base_pool=params.base_pool,
                               min_spread_bps=params.min_spread_bps,
                               price_wad=self._price).out

    def swap_to_gov(self, holder: str, stable_in: int, min_out: int = 0) -> int:
        """Burn ``stable_in`` of ``holder``'s stablecoin, mint the governance token."""
        params = self._open()
        who = _holder(holder)
        amount, least = _amount("stable_in", stable_in), _amount("min_out", min_out)
        q = quote_to_gov(amount, delta=self._delta, base_pool=params.base_pool,
                         min_spread_bps=params.min_spread_bps, price_wad=self._price)
        if q.out < least:
            raise TerraRevert("SlippageExceeded", q.out, least)
        self._burn("stable", who, amount)
        self._delta = q.delta_after
        self._mint("gov", who, q.out)
        return q.out

    def swap_to_stable(self, holder: str, gov_in: int, min_out: int = 0) -> int:
        """Burn ``gov_in`` of ``holder``'s governance token, mint the stablecoin."""
        params = self._open()
        who = _holder(holder)
        amount, least = _amount("gov_in", gov_in), _amount("min_out", min_out)
        q = quote_to_stable(amount, delta=self._delta, base_pool=params.base_pool,
                            min_spread_bps=params.min_spread_bps, price_wad=self._price)
        if q.out < least:
            raise TerraRevert("SlippageExceeded", q.out, least)
        self._burn("gov", who, amount)
        self._delta = q.delta_after
        self._mint("stable", who, q.out)
        return q.out

    # -- the secondary pool -------------------------------------------------------------

    def quote_pool(self, sell: str, amount_in: int) -> int:
        """What :meth:`pool_swap` would pay now, after the fee."""
        params = self._open()
        side = _token(sell, "sell", POOL_SIDES)
        other = "fiat" if side == "stable" else "stable"
        return quote_pool_out(self._pool[side], self._pool[other],
                              _amount("amount_in", amount_in), amp=params.pool_amp,
                              fee_bps=params.pool_fee_bps)

    def pool_swap(self, holder: str, sell: str, amount_in: int, min_out: int = 0) -> int:
        """Sell ``amount_in`` of ``sell`` (``"stable"`` or ``"fiat"``) into the pool."""
        params = self._open()
        who = _holder(holder)
        side = _token(sell, "sell", POOL_SIDES)
        other = "fiat" if side == "stable" else "stable"
        amount, least = _amount("amount_in", amount_in), _amount("min_out", min_out)
        out = quote_pool_out(self._pool[side], self._pool[other], amount,
                             amp=params.pool_amp, fee_bps=params.pool_fee_bps)
        if out < least:
            raise TerraRevert("SlippageExceeded", out, least)
        self._move(side, who, amount)       # the seller's coins in (reverts if short)
        self._pool[side] += amount
        self._pool[other] -= out
        self._credit(other, who, out)
        return out

    # -- tokens ---------------------------------------------------------------------------

    def transfer(self, token: str, src: str, dst: str, amount: int) -> None:
        """Move ``amount`` of ``token`` from ``src`` to ``dst`` (an ERC-20 transfer)."""
        self._open()
        tok, a, b = _token(token), _holder(src, "src"), _holder(dst, "dst")
        value = _amount("amount", amount)
        self._move(tok, a, value)
        self._credit(tok, b, value)

    def _move(self, token: str, holder: str, amount: int) -> None:
        """Debit ``holder`` (an OpenZeppelin ``ERC20InsufficientBalance`` when short)."""
        book = self._balances[token]
        have = book.get(holder, 0)
        if have < amount:
            raise TerraRevert("ERC20InsufficientBalance", holder, have, amount)
        book[holder] = have - amount

    def _credit(self, token: str, holder: str, amount: int) -> None:
        book = self._balances[token]
        book[holder] = book.get(holder, 0) + amount

    def _burn(self, token: str, holder: str, amount: int) -> None:
        self._move(token, holder, amount)
        self._supply[token] -= amount

    def _mint(self, token: str, holder: str, amount: int) -> None:
        self._credit(token, holder, amount)
        self._supply[token] += amount


def _check_new_params(old: MarketParams, new: object) -> MarketParams:
    if not isinstance(new, MarketParams):
        raise TerraInputError(f"params must be MarketParams, not {type(new).__name__}")
    if new.block_time_s != old.block_time_s:
        raise TerraInputError(f"MarketParams.block_time_s is fixed for a run "
                              f"({old.block_time_s} s), not {new.block_time_s}")
    return new



#: seconds between the embedded chain's genesis and the ledger's, for the deployment blocks
DEPLOY_LEAD_S = 1_000
#: the storage slots :meth:`ContractLedger.state` reads (OpenZeppelin 5's ``ERC20`` is the
#: first base of every token; ``AccessControl``'s roles take slot 0 of the others)
STORAGE_SLOTS = {
    "erc20.balances": 0,
    "erc20.totalSupply": 2,
    "market.basePool": 1,
    "market.recoveryPeriod|minSpreadBps": 2,
    "oracle.price": 1,
    "pool.amp": 1,
    "pool.feeBps": 2,
    "pool.reserve0": 3,
    "pool.reserve1": 4,
}


class ContractLedger:
    """The ledger on the real contracts (see the module docstring).

    Parameters:
        chain: the embedded chain to deploy on (its ``pyevm`` backend, whose blocks can
            be built one transaction at a time); None: a new one whose genesis is
            :data:`DEPLOY_LEAD_S` seconds before the ledger's.

    Each :meth:`begin_block` opens one chain block at its timestamp and each call is a
    transaction run into it at once (its result, or its revert, known as it returns);
    :meth:`end_block` seals the block. Holders get ether for gas inside the block that
    first needs it, and approve the pool before their first pool swap, in the same
    block: neither changes any state the mirror keeps.
    """

    def __init__(self, chain: Chain | None = None) -> None:
        self._chain = chain
        self._stack: TerraStack | None = None
        self._genesis_time = 0
        self._timestamp = 0
        self._height = 0
        self._block_time = 1
        self._in_block = False
        self._approved: set[tuple[str, str]] = set()

    @property
    def stack(self) -> TerraStack:
        """The deployed contracts (after genesis)."""
        if self._stack is None:
            raise TerraInputError("the ledger has no genesis yet; call genesis() first")
        return self._stack

    @property
    def chain(self) -> Chain:
        """The chain the contracts run on (after genesis)."""
        return self.stack.chain

    def snapshot(self) -> Any:
        """A token to :meth:`restore` this ledger to (between blocks only): the chain's
        snapshot and the ledger's own clock."""
        if self._in_block:
            raise TerraInputError("snapshot() between blocks only; call end_block() first")
        return (self.chain.snapshot(), self._timestamp, self._height, frozenset(self._approved))

    def restore(self, token: Any) -> None:
        """Back to a :meth:`snapshot`: the chain and the ledger as they were then."""
        snap, self._timestamp, self._height, approved = token
        self.chain.revert(snap)
        self._approved = set(approved)
        self._in_block = False

    # -- reading ------------------------------------------------------------------------

    def state(self) -> TerraState:
        """The contracts' state now, read from the chain: the delta by the module's own
        ``deltaAt`` (its recovery to the current height), the rest from the contracts'
        storage (:data:`STORAGE_SLOTS`; ``tests/contracts`` checks each against its getter)."""
        t = self.stack
        read = self._slot
        market, pool = t.market.address, t.pool.address
        packed = read(market, STORAGE_SLOTS["market.recoveryPeriod|minSpreadBps"])
        params = MarketParams(
            base_pool=read(market, STORAGE_SLOTS["market.basePool"]),
            recovery_period=packed & (2**64 - 1), min_spread_bps=(packed >> 64) & 0xFFFF,
            block_time_s=self._block_time,
            pool_fee_bps=read(pool, STORAGE_SLOTS["pool.feeBps"]),
            pool_amp=read(pool, STORAGE_SLOTS["pool.amp"]))
        supply = STORAGE_SLOTS["erc20.totalSupply"]
        return TerraState(
            height=self._height, timestamp=self._timestamp,
            delta=t.market.delta_at(self._height),
            stable_supply=read(t.stable.address, supply), gov_supply=read(t.gov.address, supply),
            fiat_supply=read(t.fiat.address, supply),
            pool_stable=read(pool, STORAGE_SLOTS["pool.reserve0"]),
            pool_fiat=read(pool, STORAGE_SLOTS["pool.reserve1"]),
            gov_price_wad=read(t.oracle.address, STORAGE_SLOTS["oracle.price"]), params=params)

    def balance(self, token: str, holder: str) -> int:
        """``holder``'s balance of ``token`` in micro-units, read from the token's storage."""
        stack = self.stack
        address = stack.chain.address_of(_holder(holder))
        key = bytes(12) + bytes.fromhex(address[2:]) + STORAGE_SLOTS["erc20.balances"].to_bytes(
            32, "big")
        from eth_utils import keccak

        return self._slot(stack.token(_token(token)).address, int.from_bytes(keccak(key), "big"))

    def _slot(self, address: str, slot: int) -> int:
        """A storage word of ``address`` in the chain's current state (the open block's)."""
        chain = self.stack.chain
        fast = chain._fast
        if fast is not None:
            return fast.storage(bytes.fromhex(address[2:]), slot)
        return int.from_bytes(chain.w3.eth.get_storage_at(address, slot), "big")  # type: ignore[arg-type]

    # -- blocks -------------------------------------------------------------------------

    def genesis(self, balances: Mapping[tuple[str, str], int], pool_stable: int,
                pool_fiat: int, gov_price_wad: int, params: MarketParams,
                timestamp: int) -> None:
        """Deploy the stack and mint the genesis state in one block at ``timestamp``."""
        from settlement import Chain
        from settlement.terra import ModuleTokenKind, TerraConfig, deploy_terra

        if self._stack is not None:
            raise TerraInputError("genesis() was already called; a ledger has one genesis")
        clean = check_genesis(balances, pool_stable, pool_fiat, gov_price_wad, params,
                              timestamp)
        chain = self._chain
        if chain is None:
            chain = Chain(genesis_timestamp=timestamp - DEPLOY_LEAD_S, backend="pyevm")
        stack = deploy_terra(chain, TerraConfig(
            genesis_time=timestamp, block_time_s=params.block_time_s,
            base_pool=params.base_pool, recovery_period=params.recovery_period,
            min_spread_bps=params.min_spread_bps, gov_price_wad=gov_price_wad,
            pool_amp=params.pool_amp, pool_fee_bps=params.pool_fee_bps))
        chain.open_block(timestamp)
        admin, issuer = "terra:admin", "terra:fiat-issuer"
        kinds = {"stable": ModuleTokenKind.STABLE, "gov": ModuleTokenKind.GOV}
        for (token, holder), amount in clean.items():
            if token == "fiat":
                stack.fiat.mint(holder, amount, sender=issuer)
            else:
                stack.market.genesis_mint(kinds[token], holder, amount, sender=admin)
        stack.market.genesis_mint(ModuleTokenKind.STABLE, stack.pool.address, pool_stable,
                                  sender=admin)
        stack.fiat.mint(stack.pool.address, pool_fiat, sender=issuer)
        stack.pool.initialize(sender=admin)
        stack.market.seal_genesis(sender=admin)
        chain.close_block()
        self._stack = stack
        self._genesis_time = self._timestamp = timestamp
        self._block_time = params.block_time_s

    def begin_block(self, timestamp: int) -> None:
        """Open the next chain block at ``timestamp`` (strictly after the previous one)."""
        stack = self.stack
        ts = _whole("begin_block: timestamp", timestamp, 1, 2**40, " (UTC seconds)")
        if ts <= self._timestamp:
            raise TerraInputError(f"begin_block: timestamp {ts} is not after the previous "
                                  f"block's {self._timestamp}; time only moves forward")
        if self._in_block:
            stack.chain.close_block()
        stack.chain.open_block(ts)
        self._height = height_of(ts, self._genesis_time, self._block_time)
        self._timestamp = ts
        self._in_block = True

    def end_block(self) -> None:
        """Seal the block."""
        self._open()
        self.stack.chain.close_block()
        self._in_block = False

    def _open(self) -> TerraStack:
        stack = self.stack
        if not self._in_block:
            raise TerraInputError("no block is open; call begin_block(timestamp) first")
        return stack

    def _run(self, send: Any, *args: Any, **kwargs: Any) -> Receipt:
        """One transaction; its revert as :class:`TerraRevert`."""
        from settlement import ContractRevert

        try:
            return send(*args, **kwargs)  # type: ignore[no-any-return]
        except ContractRevert as exc:
            raise self._revert(exc) from None

    def _read(self, read: Any, *args: Any) -> Any:
        from settlement import ContractRevert

        try:
            return read(*args)
        except ContractRevert as exc:
            raise self._revert(exc) from None

    def _revert(self, exc: ContractRevert) -> TerraRevert:
        names = self.stack.chain
        values: list[int | str] = []
        for key, value in exc.args_dict.items():
            if exc.error == "Panic" and key == "meaning":
                continue
            if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
                values.append(names.name_of(value))
            else:
                values.append(int(value) if isinstance(value, int) else str(value))
        return TerraRevert(exc.error, *values)

    # -- governance and oracle ------------------------------------------------------------

    def set_oracle_price(self, price_wad: int) -> None:
        """The reporter's new price of the governance token (WAD): a transaction."""
        stack = self._open()
        price = _price(price_wad)
        self._run(stack.oracle.set_price, price, sender="terra:reporter")

    def set_params(self, params: MarketParams) -> None:
        """Governance changes the parameters: one transaction to the module, one to the
        pool."""
        stack = self._open()
        _check_new_params(self.state().params, params)
        self._run(stack.market.set_params, params.base_pool, params.recovery_period,
                  params.min_spread_bps, sender="terra:governance")
        self._run(stack.pool.set_params, params.pool_amp, params.pool_fee_bps,
                  sender="terra:governance")

    # -- the market module --------------------------------------------------------------

    def quote_to_gov(self, stable_in: int) -> int:
        """What :meth:`swap_to_gov` would pay now (a call)."""
        stack = self._open()
        return int(self._read(stack.market.quote_to_gov, _amount("stable_in", stable_in))[0])

    def quote_to_stable(self, gov_in: int) -> int:
        """What :meth:`swap_to_stable` would pay now (a call)."""
        stack = self._open()
        return int(self._read(stack.market.quote_to_stable, _amount("gov_in", gov_in))[0])

    def swap_to_gov(self, holder: str, stable_in: int, min_out: int = 0) -> int:
        """A ``swapToGov`` transaction from ``holder``."""
        stack = self._open()
        who = _holder(holder)
        amount, least = _amount("stable_in", stable_in), _amount("min_out", min_out)
        r = self._run(stack.market.swap_to_gov, amount, least, sender=who)
        return int(r.event("SwappedToGov").args["govOut"])

    def swap_to_stable(self, holder: str, gov_in: int, min_out: int = 0) -> int:
        """A ``swapToStable`` transaction from ``holder``."""
        stack = self._open()
        who = _holder(holder)
        amount, least = _amount("gov_in", gov_in), _amount("min_out", min_out)
        r = self._run(stack.market.swap_to_stable, amount, least, sender=who)
        return int(r.event("SwappedToStable").args["stableOut"])

    # -- the secondary pool -------------------------------------------------------------

    def quote_pool(self, sell: str, amount_in: int) -> int:
        """What :meth:`pool_swap` would pay now (a call)."""
        stack = self._open()
        side = _token(sell, "sell", POOL_SIDES)
        return int(self._read(stack.pool.get_dy, POOL_SIDES.index(side),
                              _amount("amount_in", amount_in)))

    def pool_swap(self, holder: str, sell: str, amount_in: int, min_out: int = 0) -> int:
        """An ``exchange`` transaction from ``holder`` (after its one-time approval)."""
        stack = self._open()
        who = _holder(holder)
        side = _token(sell, "sell", POOL_SIDES)
        amount, least = _amount("amount_in", amount_in), _amount("min_out", min_out)
        if (who, side) not in self._approved:
            stack.token(side).approve(stack.pool.address, 2**256 - 1, sender=who)
            self._approved.add((who, side))
        r = self._run(stack.pool.exchange, POOL_SIDES.index(side), amount, least, sender=who)
        return int(r.event("Swapped").args["amountOut"])

    # -- tokens ---------------------------------------------------------------------------

    def transfer(self, token: str, src: str, dst: str, amount: int) -> None:
        """An ERC-20 ``transfer`` from ``src``."""
        stack = self._open()
        tok, a, b = _token(token), _holder(src, "src"), _holder(dst, "dst")
        value = _amount("amount", amount)
        self._run(stack.token(tok).transfer, b, value, sender=a)


# -- random operation sequences (for differential tests and benchmarks) ------------------

#: the genesis :func:`random_operations` starts from: holders, balances, pool, price, params
DEMO_GENESIS: dict[str, Any] = {
    "balances": {("stable", "ann"): 5_000_000 * 10**6, ("gov", "ann"): 20_000 * 10**6,
                 ("stable", "ben"): 300_000 * 10**6, ("gov", "ben"): 200_000 * 10**6,
                 ("fiat", "ben"): 2_000_000 * 10**6, ("fiat", "cat"): 500_000 * 10**6},
    "pool_stable": 300_000_000 * 10**6,
    "pool_fiat": 300_000_000 * 10**6,
    "gov_price_wad": 80 * 10**18,
    "params": MarketParams(base_pool=50_000_000 * 10**6, recovery_period=36,
                           min_spread_bps=50, block_time_s=6, pool_fee_bps=4, pool_amp=100),
    "timestamp": 1_651_881_600,
}
Operation = tuple[Any, ...]


def random_operations(seed: int, n: int) -> list[Operation]:
    """``n`` operations after :data:`DEMO_GENESIS` (and the first ``begin_block``), drawn
    from ``numpy.random.default_rng(seed)``: swaps both ways and pool swaps of a share of
    the holder's balance (now and then more than it, or with a minimum one above the
    quote, so that they revert), transfers, oracle moves (a few refused), Proposal 1164
    and other parameter changes, and block advances of 1 to 5000 heights. Amounts are
    chosen against a mirror run alongside; replay them with :func:`apply_operation`.

    >>> ops = random_operations(7, 50)
    >>> len(ops), ops == random_operations(7, 50)
    (50, True)
    """
    import numpy as np

    rng = np.random.default_rng(seed)
    mirror = MirrorLedger()
    g = DEMO_GENESIS
    mirror.genesis(g["balances"], g["pool_stable"], g["pool_fiat"], g["gov_price_wad"],
                   g["params"], g["timestamp"])
    ts = g["timestamp"] + g["params"].block_time_s
    mirror.begin_block(ts)
    holders = ("ann", "ben", "cat", "dan")
    kinds = ("swap_to_gov", "swap_to_stable", "pool_swap", "transfer", "set_oracle_price",
             "set_params", "next_block")
    weights = np.array([5, 5, 5, 2, 2, 0.5, 2])
    ops: list[Operation] = []
    while len(ops) < n:
        kind = kinds[int(rng.choice(len(kinds), p=weights / weights.sum()))]
        holder = holders[int(rng.integers(len(holders)))]
        share = float(rng.choice([0.001, 0.05, 0.3, 1.0, 1.2]))
        op: Operation
        if kind in ("swap_to_gov", "swap_to_stable", "pool_swap", "transfer"):
            token = {"swap_to_gov": "stable", "swap_to_stable": "gov"}.get(
                kind, str(rng.choice(["stable", "fiat"] if kind == "pool_swap"
                                     else list(TOKENS))))
            amount = max(1, int(mirror.balance(token, holder) * share))
            if kind == "transfer":
                op = (kind, token, holder, holders[int(rng.integers(len(holders)))], amount)
            else:
                try:
                    quote = (mirror.quote_to_gov(amount) if kind == "swap_to_gov" else
                             mirror.quote_to_stable(amount) if kind == "swap_to_stable" else
                             mirror.quote_pool(token, amount))
                    least = quote + int(rng.choice([0, 0, 0, 1])) if rng.random() < 0.3 else 0
                except TerraRevert:
                    least = 0
                op = ((kind, holder, token, amount, least) if kind == "pool_swap"
                      else (kind, holder, amount, least))
        elif kind == "set_oracle_price":
            price = int(mirror.state().gov_price_wad * float(rng.uniform(0.3, 1.5)))
            op = (kind, price if rng.random() > 0.05 else 0)
        elif kind == "set_params":
            p = mirror.state().params
            op = (kind, MarketParams(
                base_pool=int(rng.choice([50_000_000, 100_000_000, 5_000_000])) * 10**6,
                recovery_period=int(rng.choice([36, 18, 3])),
                min_spread_bps=int(rng.choice([50, 0, 200])), block_time_s=p.block_time_s,
                pool_fee_bps=int(rng.choice([4, 30])), pool_amp=int(rng.choice([100, 2_000]))))
        else:
            heights = int(rng.integers(1, 5001)) if rng.random() < 0.3 else int(
                rng.integers(1, 40))
            ts = g["timestamp"] + (mirror.state().height + heights) * g["params"].block_time_s \
                + int(rng.integers(0, g["params"].block_time_s))
            op = (kind, ts)
        apply_operation(mirror, op)
        ops.append(op)
    return ops


def apply_operation(ledger: TerraLedger, op: Operation) -> Any:
    """Run one operation of :func:`random_operations` on ``ledger``: its result, or the
    :class:`TerraRevert`'s reason (a ``("revert", name, args)`` tuple)."""
    kind, *args = op
    try:
        if kind == "next_block":
            ledger.end_block()
            return ledger.begin_block(args[0])
        return getattr(ledger, kind)(*args)
    except TerraRevert as exc:
        return ("revert", *exc.reason)


def demo_genesis(ledger: TerraLedger) -> None:
    """:data:`DEMO_GENESIS` on ``ledger``, and its first block opened."""
    g = DEMO_GENESIS
    ledger.genesis(g["balances"], g["pool_stable"], g["pool_fiat"], g["gov_price_wad"],
                   g["params"], g["timestamp"])
    ledger.begin_block(g["timestamp"] + g["params"].block_time_s)
