"""The two ledgers behind the on-chain rail: real contracts, or a measured gas table.

:class:`ContractLedger` executes every transaction of every payment on the
embedded eth-tester chain: each block is mined at its simulated instant, so
escrow and swap deadlines are enforced by the EVM in simulated time, gas comes
from the receipts and a revert comes back decoded.

:class:`GasTableLedger` runs the same model without an EVM: each
transaction's gas is the execution gas *measured* on the contracts (by
:func:`measure_rail_gas`, never typed in) plus the intrinsic gas of its own
calldata, and the two reverts the rail can meet (an escrow release after its
deadline, a swap completed after its deadline) are predicted from the block
timestamp as the contracts decide them.

Both ledgers see the same accounts and contract addresses (derived from the
deployer's nonces), so calldata, and therefore gas, match to the unit. To make
each operation's gas independent of what ran before, the contracts ledger
starts from a *warm* state: every account and contract that will hold a token
already holds some (no zero-to-non-zero storage writes on the payment path),
approvals are unlimited, and each token has one standing escrow lock, an accrued
escrow fee and one standing funded swap leg (so the contracts' owed totals per
token never start from zero).
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import Any, NamedTuple

import rlp
from eth_account import Account
from eth_utils import keccak, to_canonical_address, to_checksum_address

__all__ = [
    "ContractLedger",
    "GasTable",
    "GasTableLedger",
    "Ledger",
    "PoolSetup",
    "TxOp",
    "TxResult",
    "amm_kind",
    "intrinsic_gas",
    "measure_rail_gas",
]

UINT256_MAX = 2**256 - 1
TOKEN_DECIMALS = 6
ZERO32 = b"\x00" * 32
ZERO_ADDRESS = "0x" + "00" * 20
#: chain id of the embedded chain (eth-tester's default)
EMBEDDED_CHAIN_ID = 131277322940537


try:  # the C Keccak of safe-pysha3 when installed: several times faster than eth_utils'
    from sha3 import keccak_256 as _keccak_256  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover - pycryptodome, which eth-hash uses
    from Crypto.Hash import keccak as _keccak_mod

    def _keccak_256(data: bytes) -> Any:
        return _keccak_mod.new(digest_bits=256, data=data)


def keccak256(data: bytes) -> bytes:
    """Keccak-256 of ``data`` (as ``eth_utils.keccak``, with less overhead per call)."""
    return _keccak_256(data).digest()  # type: ignore[no-any-return]


@functools.lru_cache(maxsize=4096)
def named_address(name: str) -> str:
    """Address of a named account, as :class:`settlement.Chain` derives it."""
    return str(Account.from_key(keccak(text=f"settlesim account {name}")).address)


def create_address(sender: str, nonce: int) -> str:
    """Address of the contract ``sender`` creates with ``nonce`` (CREATE)."""
    return to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:])


def intrinsic_tokens(calldata: bytes) -> int:
    zeros = calldata.count(0)
    return zeros + 4 * (len(calldata) - zeros)


def intrinsic_gas(calldata: bytes, exec_gas: int) -> int:
    """Gas used by a call with ``calldata`` whose execution (after refunds) costs ``exec_gas``.

    EIP-2028 calldata pricing with the EIP-7623 floor (Prague):
    ``21000 + max(4 * tokens + exec_gas, 10 * tokens)``.
    """
    return gas_of_tokens(intrinsic_tokens(calldata), exec_gas)


def gas_of_tokens(tokens: int, exec_gas: int) -> int:
    """:func:`intrinsic_gas` of a call whose calldata counts ``tokens`` EIP-2028 tokens."""
    return 21_000 + max(4 * tokens + exec_gas, 10 * tokens)


@dataclass(slots=True)
class TxOp:
    """One transaction the rail wants mined."""

    kind: str                      # gas-table key: "mint", "fx_fund", "lock", ...
    sender: str                    # named account
    contract: str                  # "Stablecoin", "SettlementEscrow" or "FxSwap"
    target: str                    # address key: "token:USD", "escrow" or "fx"
    function: str
    args: tuple[Any, ...]
    payment_id: str | None = None
    #: table ledger: from this block timestamp on, the contract reverts the call with
    #: ``late_error`` (an escrow or swap deadline); ``None``: it never does
    deadline: int | None = None
    late_error: str = ""
    #: AMM swaps: applied to the pools' mirrors in block order at the block's timestamp,
    #: returning the error the contract reverts with (``None``: it succeeds); the table
    #: ledger takes its verdict, the contracts ledger checks the EVM's against it
    apply: Callable[[int], str | None] | None = None
    submitted_at: float = 0.0
    est_gas: int = 0
    data: bytes | None = None      # calldata, encoded once
    tokens: int = -1               # EIP-2028 calldata tokens (counted once; -1: not yet)
    outcome: Any = None            # what the block producer reports once it is included
    #: table ledger: the addresses whose blacklisting makes the contract revert the call,
    #: in the order the contract meets them (``AccountBlacklisted``; the gas of such a
    #: revert is measured per position, ``kind!AccountBlacklisted#i``)
    parties: tuple[str, ...] = ()


class TxResult(NamedTuple):
    """What one mined transaction did (immutable; a named tuple, cheap to make per call)."""

    ok: bool
    gas_used: int
    block_number: int
    block_timestamp: int
    error: str | None = None
    error_args: Mapping[str, Any] = MappingProxyType({})
    #: what a successful call did besides the usual: ``"ReleaseProven"`` when the token
    #: refused an escrow release's payout (a blacklisted beneficiary) and the lock stays owed
    note: str | None = None


@dataclass(frozen=True)
class PoolSetup:
    """An AMM pool the contracts ledger deploys and seeds: its pair key (``"USD-MXN"``, the
    first currency its token 0), fee and opening reserves (token units)."""

    key: str
    fee_bps: int
    reserve0: int
    reserve1: int

    @property
    def currencies(self) -> tuple[str, str]:
        a, b = self.key.split("-")
        return a, b


class Addresses:
    """Contract addresses of the stack ``deploy_stack`` creates for ``currencies``, and of
    the AMM router and ``pools`` deployed after it (``"amm_router"``, ``"pool:USD-MXN"``)."""

    def __init__(self, currencies: Sequence[str], pools: Sequence[PoolSetup] = ()) -> None:
        self.currencies = tuple(currencies)
        owner = named_address("owner")
        self.by_key: dict[str, str] = {
            f"token:{c}": create_address(owner, i) for i, c in enumerate(self.currencies)
        }
        n = len(self.currencies)
        self.by_key["escrow"] = create_address(owner, n)
        self.by_key["fx"] = create_address(owner, n + 1)
        if pools:
            self.by_key["amm_router"] = create_address(owner, n + 2)
            for i, pool in enumerate(pools):
                self.by_key[f"pool:{pool.key}"] = create_address(owner, n + 3 + i)

    def __getitem__(self, key: str) -> str:
        return self.by_key[key]


def _encode_static(values: Sequence[Any]) -> bytes:
    out: list[bytes] = []
    _words(values, out)
    return b"".join(out)


def lock_id(chain_id: int, escrow: str, payer: str, terms: tuple[Any, ...]) -> bytes:
    """``SettlementEscrow.lockIdOf``: keccak256(abi.encode(chainid, escrow, payer, terms))."""
    return keccak256(_encode_static((chain_id, escrow, payer, terms)))


def swap_id(chain_id: int, fx: str, terms: tuple[Any, ...]) -> bytes:
    """``FxSwap.swapIdOf``: keccak256(abi.encode(chainid, fx, terms))."""
    return keccak256(_encode_static((chain_id, fx, terms)))


@dataclass(frozen=True)
class GasTable:
    """Execution gas (net of intrinsic gas) per operation, measured on the contracts."""

    exec_gas: dict[str, int]
    release: str

    def gas(self, kind: str, calldata: bytes) -> int:
        return self.gas_tokens(kind, intrinsic_tokens(calldata))

    def gas_tokens(self, kind: str, tokens: int) -> int:
        """:meth:`gas` of a call whose calldata counts ``tokens`` EIP-2028 tokens."""
        return gas_of_tokens(tokens, self.exec_of(kind))

    def exec_of(self, kind: str) -> int:
        """The measured execution gas of operation ``kind``; ``KeyError`` naming it if none."""
        try:
            return self.exec_gas[kind]
        except KeyError:
            raise KeyError(f"no measured gas for operation {kind!r}") from None


class Ledger:
    """What the block producer needs from a ledger."""

    chain_id = EMBEDDED_CHAIN_ID
    table: GasTable

    def __init__(self, currencies: Sequence[str], pools: Sequence[PoolSetup] = ()) -> None:
        self.addresses = Addresses(sorted(set(currencies)), pools)
        # per operation kind: its function, contract, calldata token counter and
        # measured execution gas
        self._kinds: dict[str, tuple[str, str, Callable[[Sequence[Any]], int], int]] = {}

    def calldata(self, op: TxOp) -> bytes:
        """The call's ABI encoding (all the rail's calls take static arguments only)."""
        if op.data is None:
            op.data = static_calldata(op.contract, op.function, op.args)
        return op.data

    def estimate(self, op: TxOp) -> int:
        """The gas of ``op`` by the table: its calldata's intrinsic gas (tokens counted
        once, into ``op.tokens``) plus its kind's measured execution gas."""
        kind = self._kinds.get(op.kind)
        if kind is None or kind[0] != op.function or kind[1] != op.contract:
            kind = self._kinds[op.kind] = (op.function, op.contract,
                                           _token_counter(op.contract, op.function),
                                           self.table.exec_of(op.kind))
        tokens = op.tokens
        if tokens < 0:
            tokens = op.tokens = kind[2](op.args)
        exec_gas = kind[3] + 4 * tokens             # gas_of_tokens, inlined
        return 21_000 + (exec_gas if exec_gas > 10 * tokens else 10 * tokens)

    def execute_block(self, ops: Sequence[TxOp], timestamp: int) -> list[TxResult]:
        raise NotImplementedError


@functools.lru_cache(maxsize=64)
def _selector(contract: str, function: str) -> bytes:
    fn = _registry()._fn(contract, function)
    for t in fn.in_types:
        if t in ("string", "bytes") or t.endswith("[]"):
            raise TypeError(f"{contract}.{function} takes dynamic {t}; use the ABI encoder")
    return bytes(fn.selector)


_PAD12 = b"\x00" * 12
#: the 32-byte word of each address met (there are few addresses, many calls)
_ADDRESS_WORDS: dict[str, bytes] = {}


def _words(value: Any, out: list[bytes]) -> None:
    for v in value:
        t = type(v)
        if t is int:
            out.append(v.to_bytes(32, "big"))
        elif t is str:  # an address
            w = _ADDRESS_WORDS.get(v)
            if w is None:
                w = _ADDRESS_WORDS[v] = _PAD12 + bytes.fromhex(v[2:])
            out.append(w)
        elif t is bytes:
            out.append(v if len(v) == 32 else v.ljust(32, b"\x00"))
        elif t is tuple or t is list:
            _words(v, out)
        else:
            out.append(int(v).to_bytes(32, "big"))


#: zero bytes in the 32-byte word of an address (there are few addresses, many calls)
_ADDRESS_ZEROS: dict[str, int] = {}


def _zeros_and_words(values: Any) -> tuple[int, int]:
    """(zero bytes, bytes) of ``values`` laid out by :func:`_words`, without building them."""
    zeros = size = 0
    addresses = _ADDRESS_ZEROS
    for v in values:
        t = type(v)
        if t is int:
            zeros += v.to_bytes(32, "big").count(0)
            size += 32
        elif t is str:
            z = addresses.get(v)
            zeros += _address_zeros(v) if z is None else z
            size += 32
        elif t is bytes and len(v) == 32:
            zeros += v.count(0)
            size += 32
        elif t is tuple or t is list:
            z, n = _zeros_and_words(v)
            zeros += z
            size += n
        else:
            out: list[bytes] = []
            _words((v,), out)
            zeros += out[0].count(0)
            size += len(out[0])
    return zeros, size


def _address_zeros(address: str) -> int:
    z = _ADDRESS_ZEROS.get(address)
    if z is None:
        z = _ADDRESS_ZEROS[address] = 12 + bytes.fromhex(address[2:]).count(0)
    return z


@functools.lru_cache(maxsize=64)
def _token_counter(contract: str, function: str) -> Callable[[Sequence[Any]], int]:
    """A counter of the EIP-2028 tokens of ``contract.function``'s calldata, laid out
    once from the ABI: the positions of its addresses, integers and ``bytes32`` words
    (the arguments, or the fields of its one struct argument), so a call's count is a
    pass over each kind without asking each value its type."""
    sel = _selector(contract, function)
    in_types = _registry()._fn(contract, function).in_types
    struct = len(in_types) == 1 and in_types[0].startswith("(")
    flat = in_types[0][1:-1].split(",") if struct else list(in_types)
    if any(t.startswith("(") for t in flat):   # nested structs: the generic walk
        return functools.partial(_generic_tokens, sel)
    addresses = tuple(i for i, t in enumerate(flat) if t == "address")
    integers = tuple(i for i, t in enumerate(flat) if t.startswith(("uint", "int", "bool")))
    words = tuple(i for i, t in enumerate(flat) if t.startswith("bytes"))
    n, sel_zeros = len(flat), sel.count(0)
    full = 4 * (len(sel) + 32 * n)      # every byte non-zero; each zero byte counts 3 less
    cached = _ADDRESS_ZEROS

    def count(args: Sequence[Any]) -> int:
        values = args[0] if struct else args
        if len(values) != n:
            return _generic_tokens(sel, args)
        zeros = sel_zeros
        for i in addresses:
            v = values[i]
            z = cached.get(v)
            zeros += _address_zeros(v) if z is None else z
        for i in integers:
            v = values[i]
            zeros += (v if type(v) is int else int(v)).to_bytes(32, "big").count(0)
        for i in words:
            v = values[i]
            zeros += v.count(0) + 32 - len(v)    # shorter values are padded with zeros
        return full - 3 * zeros

    return count


def _generic_tokens(sel: bytes, args: Sequence[Any]) -> int:
    if len(args) == 1 and type(args[0]) is tuple:   # one static struct: the same words
        args = args[0]
    zeros, size = _zeros_and_words(args)
    zeros += sel.count(0)
    return zeros + 4 * (size + len(sel) - zeros)


def static_calldata_tokens(contract: str, function: str, args: Sequence[Any]) -> int:
    """``intrinsic_tokens(static_calldata(contract, function, args))``, counted from the
    arguments without encoding them."""
    return _token_counter(contract, function)(args)


def static_calldata(contract: str, function: str, args: Sequence[Any]) -> bytes:
    """Calldata of a call whose arguments are all static (addresses, uints, bytes32, tuples
    of those): the selector and one 32-byte word per value, as ``abi.encode`` lays them out.
    """
    out: list[bytes] = [_selector(contract, function)]
    _words(args, out)
    return b"".join(out)


@functools.lru_cache(maxsize=1)
def _registry() -> Any:
    from settlement.abi import AbiRegistry

    return AbiRegistry.from_artifacts()


#: the administrative calls stress events make (sanctions, an issuer's freeze): what
#: they change in the table ledger's picture of the tokens' state
ADMIN_KINDS = ("blacklist", "unblacklist", "remove_minter", "configure_minter")


class GasTableLedger(Ledger):
    """Gas from the measured table; reverts predicted as the contracts decide them:
    deadlines (``op.deadline``), and, once stress events have blacklisted an account
    or removed an issuer's minter (administrative calls mined like any other), the
    tokens' ``CallerNotMinter`` and ``AccountBlacklisted``."""

    def __init__(self, currencies: Sequence[str], table: GasTable,
                 pools: Sequence[PoolSetup] = ()) -> None:
        super().__init__(currencies, pools)
        self.table = table
        self._number = 0
        self._blacklisted: set[tuple[str, str]] = set()   # (token key, address)
        self._removed: set[str] = set()    # token keys whose issuer's minter is removed

    def _guard(self, op: TxOp) -> tuple[str, str] | None:
        """``(error, gas-table key)`` if the token state makes the contract revert ``op``."""
        target = op.target
        if self._removed and op.function in ("mint", "burn") and target in self._removed:
            return "CallerNotMinter", f"{op.kind}!CallerNotMinter"
        if self._blacklisted:
            # a call on a token meets its blacklist; the escrow's and the swap's, any token's
            keys = (target,) if target.startswith("token:") else tuple(
                k for k in self.addresses.by_key if k.startswith("token:"))
            for i, party in enumerate(op.parties):
                if any((k, party) in self._blacklisted for k in keys):
                    if op.kind == "release":
                        return "ReleaseProven", "release~ReleaseProven"
                    return "AccountBlacklisted", f"{op.kind}!AccountBlacklisted#{i}"
        return None

    def _admin(self, op: TxOp) -> None:
        if op.kind == "blacklist":
            self._blacklisted.add((op.target, op.args[0]))
        elif op.kind == "unblacklist":
            self._blacklisted.discard((op.target, op.args[0]))
        elif op.kind == "remove_minter":      # the token's one minter: its issuer's
            self._removed.add(op.target)
        elif op.kind == "configure_minter":
            self._removed.discard(op.target)

    def execute_block(self, ops: Sequence[TxOp], timestamp: int) -> list[TxResult]:
        self._number += 1
        number, table = self._number, self.table
        out = []
        guarded = bool(self._blacklisted or self._removed)
        for op in ops:
            deadline = op.deadline
            error = None if deadline is None or timestamp < deadline else op.late_error
            if op.apply is not None and error is None:
                error = op.apply(timestamp)
            if op.tokens < 0 or not op.est_gas:
                op.est_gas = self.estimate(op)
            key = f"{op.kind}!{error}"
            if error is None and guarded:
                hit = self._guard(op)
                if hit is not None:
                    error, key = hit
            if error == "ReleaseProven":   # the token refused the payout: owed, not paid
                out.append(TxResult(True, table.gas_tokens(key, op.tokens), number, timestamp,
                                    note=error))
            elif error is None:        # the estimate is this table's gas for the call
                out.append(TxResult(True, op.est_gas, number, timestamp))
                if op.kind in ADMIN_KINDS:
                    self._admin(op)
                    guarded = bool(self._blacklisted or self._removed)
            else:
                out.append(TxResult(False, table.gas_tokens(key, op.tokens),
                                    number, timestamp, error))
        return out


class ContractLedger(Ledger):
    """Every operation is a real transaction on the embedded chain, mined in simulated time.

    Parameters:
        currencies: stablecoins to deploy (one per currency).
        holders: ``(account name, currency)`` pairs that will hold a token on the
            payment path; each gets a standing balance so no payment pays for a
            fresh storage slot.
        genesis: UTC seconds of the chain's genesis block (before the first payment).
        escrow_fee_bps: the escrow's fee.
        table: the gas table, for packing blocks (estimates) only.
    """

    def __init__(self, currencies: Sequence[str], holders: Iterable[tuple[str, str]],
                 genesis: int, escrow_fee_bps: int, table: GasTable,
                 pools: Sequence[PoolSetup] = (), arbitrageur: str = "arbitrageur") -> None:
        super().__init__(currencies, pools)
        from settlement import Chain, deploy_stack

        self.table = table
        self.chain = Chain(genesis_timestamp=genesis)
        self.stack = deploy_stack(self.chain, self.addresses.currencies,
                                  escrow_fee_bps=escrow_fee_bps, minter_allowance=UINT256_MAX // 4)
        deployed = {f"token:{c}": t.address for c, t in self.stack.tokens.items()}
        deployed.update(escrow=self.stack.escrow.address, fx=self.stack.fx.address)
        self.pools: dict[str, Any] = {}
        if pools:
            self.router, self.pools = _deploy_amm(self.chain, self.stack, pools)
            deployed["amm_router"] = self.router.address
            deployed.update({f"pool:{k}": p.address for k, p in self.pools.items()})
        for key, addr in self.addresses.by_key.items():
            real = deployed[key]
            assert real == addr, f"{key} deployed at {real}, expected {addr}"
        self.chain_id = self.chain.chain_id
        self.holders = sorted(set(holders))
        _warm_up(self.chain, self.stack, self.holders)
        if pools:
            _warm_amm(self.chain, self.stack, self.router, self.pools, pools, self.holders,
                      arbitrageur)
        self.chain.set_automine(False)
        #: when a list, every block's (timestamp, signed transactions) is appended
        #: (benchmarks replay them on the bare EVM)
        self.record: list[tuple[int, list[bytes]]] | None = None
        #: wall time spent mining blocks (executing transactions in the EVM)
        self.mine_s = 0.0
        #: whether an account has been blacklisted (then releases are read for a
        #: payout the token refused)
        self._sanctioned = False

    def execute_block(self, ops: Sequence[TxOp], timestamp: int) -> list[TxResult]:
        from settlement import ContractRevert

        self.chain.set_next_block_timestamp(timestamp)
        from settlement import PendingTransaction

        pending: list[PendingTransaction] = []
        for op in ops:
            limit = op.est_gas + op.est_gas // 4 + 20_000
            sent = self.chain.transact_calldata(
                self.addresses[op.target], self.calldata(op), f"{op.contract}.{op.function}",
                sender=op.sender, gas=limit)
            assert isinstance(sent, PendingTransaction), "the ledger builds blocks by hand"
            pending.append(sent)
        if self.record is not None:
            self.record.append((timestamp, [p.raw for p in pending]))
        t0 = time.perf_counter()
        block = self.chain.mine()
        self.mine_s += time.perf_counter() - t0
        out = []
        for op, p in zip(ops, pending, strict=True):
            # the pools' mirrors follow the block in its order, and must agree with the EVM
            predicted = op.apply(timestamp) if op.apply is not None else None
            try:
                r = p.receipt()
            except ContractRevert as exc:
                res = TxResult(False, int(exc.gas_used or 0), block.number, block.timestamp,
                               exc.error, exc.args_dict)
            else:
                note = None
                if self._sanctioned and op.kind == "release" and any(
                        ev.name == "ReleaseProven" for ev in r.events):
                    note = "ReleaseProven"
                res = TxResult(True, r.gas_used, block.number, block.timestamp, note=note)
                if op.kind == "blacklist":
                    self._sanctioned = True
            if op.apply is not None and predicted != res.error:
                raise RuntimeError(f"{op.kind} of {op.payment_id or op.sender}: the pool mirror "
                                   f"predicted {predicted or 'success'}, the contracts gave "
                                   f"{res.error or 'success'}")
            out.append(res)
        return out

    def check_supply(self) -> dict[str, tuple[int, int]]:
        """Per token: (sum of balances of every account that can hold it, total supply).

        Every holder on the payment path was given a standing balance at set-up,
        so the set of possible holders is known: they, the contracts, the fee
        collector and the issuers.
        """
        out = {}
        for ccy, tok in self.stack.tokens.items():
            addrs = {self.chain.address_of(n) for n, c in self.holders if c == ccy}
            addrs |= {self.stack.escrow.address, self.stack.fx.address,
                      self.chain.address_of("fee_collector"), self.chain.address_of("sentinel")}
            addrs |= {self.chain.address_of(n) for n in self.chain.named_accounts
                      if n.startswith("minter_") or n in ("arbitrageur", "amm_liquidity_provider")}
            if self.pools:
                addrs |= {self.router.address} | {p.address for p in self.pools.values()}
            total = sum(tok.balance_of(a) for a in addrs)
            out[ccy] = (total, tok.total_supply())
        return out


#: the standing balance (token units) the contracts ledger's warm-up mints to every holder
STANDING_TOKENS = 10 * 10**TOKEN_DECIMALS


def _warm_up(chain: Any, stack: Any, holders: Iterable[tuple[str, str]]) -> None:
    """Standing balances, unlimited approvals, one standing lock and burn per token."""
    from settlement import minter_name

    unit = 10**TOKEN_DECIMALS
    pairs = sorted(set(holders))
    names = sorted({n for n, _ in pairs} | {"sentinel", "fee_collector"}
                   | {minter_name(c) for c in stack.tokens})
    chain.accounts(names)
    chain.set_automine(False)
    n = 0

    def flush(force: bool = False) -> None:
        nonlocal n
        if n >= 150 or (force and n):
            chain.mine()
            n = 0

    for ccy, tok in sorted(stack.tokens.items()):
        m = minter_name(ccy)
        want = sorted({nm for nm, c in pairs if c == ccy} | {"sentinel", m})
        for nm in want:
            tok.mint(nm, STANDING_TOKENS, sender=m)
            n += 1
            flush()
        for nm in want:
            tok.approve(stack.escrow.address, UINT256_MAX, sender=nm)
            tok.approve(stack.fx.address, UINT256_MAX, sender=nm)
            n += 2
            flush()
        tok.transfer(stack.escrow.address, 1 * unit, sender="sentinel")
        tok.transfer(stack.fx.address, 1 * unit, sender="sentinel")
        tok.transfer(chain.address_of("fee_collector"), 1 * unit, sender="sentinel")
        tok.burn(1 * unit, sender=m)
        n += 4
        flush()
    flush(force=True)
    now = chain.latest_timestamp()
    far = now + stack.escrow.max_lock_duration()
    tokens = sorted(stack.tokens.items())
    for i, (ccy, tok) in enumerate(tokens):
        t = stack.escrow.terms(tok, "sentinel", 1 * unit, far, agent="sentinel",
                               salt=hashlib.sha256(f"standing lock {ccy}".encode()).digest())
        stack.escrow.lock(t, sender="sentinel")
        fee = stack.escrow.terms(tok, "sentinel", 1 * unit, far, agent="sentinel",
                                 salt=hashlib.sha256(f"standing fee {ccy}".encode()).digest())
        stack.escrow.lock(fee, sender="sentinel")
        chain.mine()
        stack.escrow.release("sentinel", fee, sender="sentinel")
        if len(tokens) > 1:
            other = tokens[(i + 1) % len(tokens)][1]
            leg = stack.fx.terms("sentinel", tok, 1 * unit, "fee_collector", other, 1 * unit,
                                 now + stack.fx.max_swap_duration(),
                                 salt=hashlib.sha256(f"standing leg {ccy}".encode()).digest())
            stack.fx.fund(leg, sender="sentinel")
    chain.mine()
    chain.set_automine(True)


def _deploy_amm(chain: Any, stack: Any, pools: Sequence[PoolSetup]) -> tuple[Any, dict[str, Any]]:
    """Deploy the router and the pools (by the owner, right after the stack, in that order)."""
    from settlement.amm import deploy_pool, deploy_router

    router = deploy_router(chain, stack.escrow)
    out = {}
    for pool in pools:
        a, b = pool.currencies
        out[pool.key] = deploy_pool(chain, stack.tokens[a], stack.tokens[b], pool.fee_bps)
    for client in out.values():
        router.add_pool(client, sender="owner")
    return router, out


#: the arbitrageur's opening inventory of each pool token, in multiples of the pools' reserves
ARBITRAGEUR_INVENTORY = 10


def _warm_amm(chain: Any, stack: Any, router: Any, pools: Mapping[str, Any],
              setups: Sequence[PoolSetup], holders: Iterable[tuple[str, str]],
              arbitrageur: str) -> None:
    """Seed each pool with its opening reserves, fund the arbitrageur, approve the router
    for every holder and the pools for the arbitrageur; the router, the pools and the
    arbitrageur already hold each token they will touch (no fresh storage on the path)."""
    from settlement import minter_name

    chain.set_automine(True)
    lp, unit = "amm_liquidity_provider", 10**TOKEN_DECIMALS
    chain.accounts([lp, arbitrageur])
    need: dict[str, int] = {}
    for s in setups:
        a, b = s.currencies
        need[a] = need.get(a, 0) + s.reserve0
        need[b] = need.get(b, 0) + s.reserve1
    chain.set_automine(False)
    for ccy, amount in sorted(need.items()):
        tok, m = stack.tokens[ccy], minter_name(ccy)
        tok.mint(lp, amount, sender=m)
        tok.mint(arbitrageur, ARBITRAGEUR_INVENTORY * amount + unit, sender=m)
        tok.mint(router.address, unit, sender=m)
    for s in setups:
        pool = pools[s.key]
        for ccy in s.currencies:
            tok = stack.tokens[ccy]
            tok.approve(pool.address, UINT256_MAX, sender=lp)
            tok.approve(pool.address, UINT256_MAX, sender=arbitrageur)
            tok.mint(pool.address, unit, sender=minter_name(ccy))   # outside the reserves
    for name, ccy in sorted(set(holders)):
        stack.tokens[ccy].approve(router.address, UINT256_MAX, sender=name)
    chain.mine()
    far = chain.latest_timestamp() + 86_400
    for s in setups:
        pools[s.key].add_liquidity(s.reserve0, s.reserve1, lp, far, sender=lp)
    chain.mine()
    chain.set_automine(True)
#: bump when :func:`_measure` measures other operations (the cache file's key)
_MEASURE_VERSION = 2


def measure_rail_gas(release: str = "attestation", *, use_cache: bool = True) -> GasTable:
    """Execution gas of every operation of the rail, measured on the real contracts.

    Runs each operation once in the warm state the contracts ledger uses and
    subtracts the intrinsic gas of its calldata. The measurement is
    deterministic, so it is kept in memory and in a cache file
    (``$XDG_CACHE_HOME/settlesim``, else ``~/.cache/settlesim``) keyed by the
    contracts' bytecode and the EVM's version: a sweep's workers measure once per
    machine, not once each. ``use_cache=False`` measures afresh.
    """
    if not use_cache:
        return _measure.__wrapped__(release)
    return _cached(release)


def _cache_file(release: str) -> Path:
    from importlib.metadata import version

    from settlement.compile import CONTRACTS, load_artifact

    h = hashlib.sha256()
    for name in CONTRACTS:
        h.update(load_artifact(name)["deployedBytecode"].encode())
    h.update(version("py-evm").encode())
    h.update(f"measured operations v{_MEASURE_VERSION}".encode())
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "settlesim" / f"rail-gas-{release}-{h.hexdigest()[:16]}.json"


@functools.lru_cache(maxsize=4)
def _cached(release: str) -> GasTable:
    try:
        path: Path | None = _cache_file(release)
        assert path is not None
        data = json.loads(path.read_text(encoding="utf-8"))
        return GasTable({str(k): int(v) for k, v in data["exec_gas"].items()}, release)
    except (OSError, ValueError, KeyError, TypeError):
        pass
    table = _measure(release)
    try:
        path = _cache_file(release)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"release": release, "exec_gas": table.exec_gas}, fh, sort_keys=True)
        os.replace(tmp, path)
    except OSError:
        pass  # no writable cache: measure again next time
    return table


@functools.lru_cache(maxsize=4)
def _measure(release: str) -> GasTable:
    from settlement import ContractRevert, minter_name

    genesis = 1_767_225_600
    ccys = ("USD", "MXN")
    s, b, lp = "bank:S", "bank:B", "fx_provider"
    holders = [(s, "USD"), (s, "MXN"), (b, "MXN"), (lp, "USD"), (lp, "MXN")]
    table = GasTable({}, release)
    led = ContractLedger(ccys, holders, genesis, 5, table)
    chain, stack = led.chain, led.stack
    chain.set_automine(True)
    usd, mxn, escrow, fx = stack.tokens["USD"], stack.tokens["MXN"], stack.escrow, stack.fx
    reg = _registry()
    exec_gas: dict[str, int] = {}

    def rec(kind: str, receipt: Any, contract: str, function: str, args: tuple[Any, ...]) -> None:
        data = reg.encode_call(contract, function, args)
        used = receipt.gas_used
        tokens = intrinsic_tokens(data)
        exec_gas[kind] = used - 21_000 - 4 * tokens

    def rev(kind: str, call: Callable[[], Any], contract: str, function: str,
            args: tuple[Any, ...], suffix: str = "") -> None:
        try:
            call()
        except ContractRevert as exc:
            data = reg.encode_call(contract, function, args)
            exec_gas[f"{kind}!{exc.error}{suffix}"] = int(exc.gas_used or 0) - 21_000 \
                - 4 * intrinsic_tokens(data)
        else:
            raise AssertionError(f"{kind} was expected to revert")

    unit = 10**TOKEN_DECIMALS
    a_usd, a_mxn = 1234 * unit + 567_891, 21_345 * unit + 678_912
    salt = keccak(text="measure")
    mxn.mint(lp, 100 * a_mxn, sender=minter_name("MXN"))  # the provider's inventory
    rec("mint", usd.mint(s, a_usd, sender=minter_name("USD")), "Stablecoin", "mint",
        (chain.address_of(s), a_usd))
    now = chain.latest_timestamp()
    sw = fx.terms(s, usd, a_usd, lp, mxn, a_mxn, now + 3_600, salt=salt)
    rec("fx_fund", fx.fund(sw, sender=s), "FxSwap", "fund", (sw.as_abi(),))
    rec("fx_settle", fx.fund(sw, sender=lp), "FxSwap", "fund", (sw.as_abi(),))
    sw2 = fx.terms(s, usd, a_usd, lp, mxn, a_mxn, now + 600, salt=keccak(text="m2"))
    usd.mint(s, a_usd, sender=minter_name("USD"))
    fx.fund(sw2, sender=s)
    chain.set_next_block_timestamp(now + 601)
    rev("fx_settle", lambda: fx.fund(sw2, sender=lp), "FxSwap", "fund", (sw2.as_abi(),))
    rec("fx_refund", fx.refund(sw2, sender=s), "FxSwap", "refund", (sw2.as_abi(),))
    now = chain.latest_timestamp()
    preimage = keccak(text="preimage")
    hl = hashlib.sha256(preimage).digest() if release == "hashlock" else ZERO32
    agent = None if release == "hashlock" else b
    fee = 5
    t1 = escrow.terms(mxn, b, a_mxn, now + 86_400, hashlock=hl, agent=agent, salt=salt,
                      max_fee_bps=fee)
    rec("lock", escrow.lock(t1, sender=s), "SettlementEscrow", "lock", (t1.as_abi(),))
    late = escrow.terms(mxn, b, a_mxn, chain.latest_timestamp(), hashlock=hl, agent=agent,
                        salt=keccak(text="late"), max_fee_bps=fee)
    rev("lock", lambda: escrow.lock(late, sender=s), "SettlementEscrow", "lock",
        (late.as_abi(),))
    pre = preimage if release == "hashlock" else ZERO32
    payer = chain.address_of(s)
    rec("release", escrow.release(s, t1, pre, sender=b), "SettlementEscrow", "release",
        (payer, t1.as_abi(), pre))
    mxn.mint(s, a_mxn, sender=minter_name("MXN"))
    t2 = escrow.terms(mxn, b, a_mxn, now + 3_600, hashlock=hl, agent=agent,
                      salt=keccak(text="m3"), max_fee_bps=fee)
    escrow.lock(t2, sender=s)
    chain.set_next_block_timestamp(now + 3_601)
    rev("release", lambda: escrow.release(s, t2, pre, sender=b), "SettlementEscrow", "release",
        (payer, t2.as_abi(), pre))
    rec("refund", escrow.refund(s, t2, sender=s), "SettlementEscrow", "refund",
        (payer, t2.as_abi()))
    m = minter_name("MXN")
    paid = a_mxn - a_mxn * 5 // 10_000
    rec("redeem", mxn.transfer(m, paid, sender=b), "Stablecoin", "transfer",
        (chain.address_of(m), paid))
    rec("burn", mxn.burn(paid, sender=m), "Stablecoin", "burn", (paid,))
    _measure_events(led, rec, rev, release, fee)
    exec_gas.update(_measure_amm(release))
    return GasTable(exec_gas, release)


def _measure_events(led: ContractLedger, rec: Callable[..., None], rev: Callable[..., None],
                    release: str, fee: int) -> None:
    """The calls stress events make and the reverts they cause, measured in the same
    warm state: an issuer's freeze (its minter removed: mint and burn revert with
    ``CallerNotMinter``; configured again) and a sanction (an account blacklisted: each
    call of the rail that meets it reverts with ``AccountBlacklisted``, measured per
    position of the party the call meets first; unblacklisted)."""
    from settlement import minter_name

    chain, stack = led.chain, led.stack
    usd, mxn, escrow, fx = stack.tokens["USD"], stack.tokens["MXN"], stack.escrow, stack.fx
    unit = 10**TOKEN_DECIMALS
    s, b, lp = "bank:S", "bank:B", "fx_provider"
    addr = chain.address_of
    m_usd, m_mxn = minter_name("USD"), minter_name("MXN")
    a = 1000 * unit + 123_457
    # the secondary market's account (sales during a freeze): a warm holder, as on the rail
    mxn.mint("market:MXN", 10 * unit, sender=m_mxn)
    mxn.mint(b, 3 * a, sender=m_mxn)
    rec("sell", mxn.transfer("market:MXN", a, sender=b), "Stablecoin", "transfer",
        (addr("market:MXN"), a))
    # an issuer's freeze
    rec("remove_minter", usd.remove_minter(m_usd, sender="master_minter"), "Stablecoin",
        "removeMinter", (addr(m_usd),))
    rev("mint", lambda: usd.mint(s, a, sender=m_usd), "Stablecoin", "mint", (addr(s), a))
    rev("burn", lambda: usd.burn(a, sender=m_usd), "Stablecoin", "burn", (a,))
    allowance = UINT256_MAX // 4
    rec("configure_minter", usd.configure_minter(m_usd, allowance, sender="master_minter"),
        "Stablecoin", "configureMinter", (addr(m_usd), allowance))
    # a sanction: calls set up before the blacklisting, reverting after it
    now = chain.latest_timestamp()
    usd.mint(s, 3 * a, sender=m_usd)
    mxn.mint(s, 3 * a, sender=m_mxn)
    salt = keccak(text="measure events")
    sw_late = fx.terms(s, usd, a, lp, mxn, a, now + 600, salt=keccak(text="e1"))
    fx.fund(sw_late, sender=s)
    sw = fx.terms(s, usd, a, lp, mxn, a, now + 3_600, salt=keccak(text="e2"))
    fx.fund(sw, sender=s)
    preimage = keccak(text="preimage")
    hl = hashlib.sha256(preimage).digest() if release == "hashlock" else ZERO32
    agent = None if release == "hashlock" else b
    pre = preimage if release == "hashlock" else ZERO32
    lk = escrow.terms(mxn, b, a, now + 86_400, hashlock=hl, agent=agent, salt=salt,
                      max_fee_bps=fee)
    escrow.lock(lk, sender=s)
    lk_late = escrow.terms(mxn, b, a, now + 700, hashlock=hl, agent=agent,
                           salt=keccak(text="e3"), max_fee_bps=fee)
    escrow.lock(lk_late, sender=s)
    chain.set_next_block_timestamp(now + 701)
    rec("blacklist", usd.blacklist(s, sender="blacklister"), "Stablecoin", "blacklist",
        (addr(s),))
    for tok in (mxn,):
        tok.blacklist(s, sender="blacklister")
    rev("mint", lambda: usd.mint(s, a, sender=m_usd), "Stablecoin", "mint", (addr(s), a),
        suffix="#0")
    sw2 = fx.terms(s, usd, a, lp, mxn, a, now + 7_200, salt=keccak(text="e4"))
    rev("fx_fund", lambda: fx.fund(sw2, sender=s), "FxSwap", "fund", (sw2.as_abi(),),
        suffix="#0")
    rev("fx_settle", lambda: fx.fund(sw, sender=lp), "FxSwap", "fund", (sw.as_abi(),),
        suffix="#1")
    rev("fx_refund", lambda: fx.refund(sw_late, sender=s), "FxSwap", "refund",
        (sw_late.as_abi(),), suffix="#0")
    lk2 = escrow.terms(mxn, b, a, now + 86_400, hashlock=hl, agent=agent,
                       salt=keccak(text="e5"), max_fee_bps=fee)
    rev("lock", lambda: escrow.lock(lk2, sender=s), "SettlementEscrow", "lock",
        (lk2.as_abi(),), suffix="#0")
    payer = addr(s)
    rev("refund", lambda: escrow.refund(s, lk_late, sender=s), "SettlementEscrow", "refund",
        (payer, lk_late.as_abi()), suffix="#0")
    rec("unblacklist", usd.un_blacklist(s, sender="blacklister"), "Stablecoin",
        "unBlacklist", (addr(s),))
    mxn.un_blacklist(s, sender="blacklister")
    # the beneficiary bank sanctioned: the release pays it, the redemption is its own
    usd.blacklist(b, sender="blacklister")
    mxn.blacklist(b, sender="blacklister")
    # a release proven but not paid: the token refuses the payout, the lock stays owed
    rec("release~ReleaseProven", escrow.release(s, lk, pre, sender=b), "SettlementEscrow",
        "release", (payer, lk.as_abi(), pre))
    rev("redeem", lambda: mxn.transfer(m_mxn, a, sender=b), "Stablecoin", "transfer",
        (addr(m_mxn), a), suffix="#0")
    rev("sell", lambda: mxn.transfer("market:MXN", a, sender=b), "Stablecoin", "transfer",
        (addr("market:MXN"), a), suffix="#0")
    usd.un_blacklist(b, sender="blacklister")
    mxn.un_blacklist(b, sender="blacklister")
    rec("claim", escrow.claim(s, lk, sender=b), "SettlementEscrow", "claim",
        (payer, lk.as_abi()))
    # the provider sanctioned: the settling leg is its own
    usd.blacklist(lp, sender="blacklister")
    mxn.blacklist(lp, sender="blacklister")
    sw3 = fx.terms(s, usd, a, lp, mxn, a, chain.latest_timestamp() + 3_600,
                   salt=keccak(text="e6"))
    fx.fund(sw3, sender=s)
    rev("fx_settle", lambda: fx.fund(sw3, sender=lp), "FxSwap", "fund", (sw3.as_abi(),),
        suffix="#0")


#: the pools the AMM operations are measured on: with them every direction of a one-hop
#: and a two-hop conversion through USD occurs (USD is token 1 of the first two, token 0 of
#: the others), and the gas of a swap depends on the directions of its hops only
_MEASURE_POOLS = ("EUR-USD", "GBP-USD", "USD-JPY", "USD-MXN")


def amm_kind(base: str, zero_in: Sequence[bool]) -> str:
    """The gas-table kind of an AMM operation by the directions of its hops:
    ``amm_lock:10`` is a two-hop swap-and-lock paying token 0 of the first pool in and token 1
    of the second."""
    return f"{base}:{''.join('1' if z else '0' for z in zero_in)}"


def _measure_amm(release: str) -> dict[str, int]:
    """Execution gas of the AMM operations (the router's swap and lock in each direction of
    one and two hops, its reclaim, the arbitrageur's pool swaps, and their reverts), each
    measured on its second run, in the warm state the contracts ledger sets up."""
    from settlement import ContractRevert, minter_name
    from settlement.clients import LockTerms

    genesis = 1_767_225_600
    unit = 10**TOKEN_DECIMALS
    depth = 10**6 * unit
    setups = [PoolSetup(k, 30, depth, depth) for k in _MEASURE_POOLS]
    ccys = sorted({c for s in setups for c in s.currencies})
    s_acc, b_acc, arb = "bank:S", "bank:B", "arbitrageur"
    holders = [(s_acc, c) for c in ccys] + [(b_acc, c) for c in ccys]
    led = ContractLedger(ccys, holders, genesis, 5, GasTable({}, release), setups, arb)
    chain, stack, router, pools = led.chain, led.stack, led.router, led.pools
    chain.set_automine(True)
    reg = _registry()
    exec_gas: dict[str, int] = {}
    for c in ccys:
        stack.tokens[c].mint(s_acc, 10**5 * unit, sender=minter_name(c))
    agent = chain.address_of(b_acc) if release == "attestation" else ZERO_ADDRESS
    hl = ZERO32 if release == "attestation" else hashlib.sha256(b"p" * 32).digest()
    n = 0

    def gas_of(kind: str, contract: str, function: str, args: tuple[Any, ...],
               send: Callable[[], Any]) -> None:
        data = reg.encode_call(contract, function, args)
        try:
            used = send().gas_used
        except ContractRevert as exc:
            kind = f"{kind}!{exc.error}"
            used = int(exc.gas_used or 0)
        exec_gas[kind] = used - 21_000 - 4 * intrinsic_tokens(data)

    def terms(token: str, deadline: int) -> tuple[Any, ...]:
        nonlocal n
        n += 1
        return (token, chain.address_of(b_acc), 0, deadline, hl, agent, 5,
                keccak(text=f"amm measure {n}"))

    paths = [("EUR", "USD", ()), ("USD", "EUR", ()), ("EUR", "MXN", ("USD",)),
             ("MXN", "EUR", ("USD",)), ("MXN", "JPY", ("USD",)), ("EUR", "GBP", ("USD",))]
    amount = 1234 * unit + 567_891
    last: tuple[Any, ...] = ()
    for src, dst, via in paths:
        hops = [src, *via, dst]
        legs = []
        for a, b in zip(hops, hops[1:], strict=False):
            key = next(k for k in _MEASURE_POOLS if set(k.split("-")) == {a, b})
            legs.append((key, key.split("-")[0] == a))
        kind = amm_kind("amm_lock", [z for _, z in legs])
        p1 = pools[legs[0][0]].address
        p2 = pools[legs[1][0]].address if len(legs) == 2 else ZERO_ADDRESS
        tok_in, tok_out = stack.tokens[src].address, stack.tokens[dst].address
        for _ in range(2):      # the second run is the steady state
            now = chain.latest_timestamp()
            args = (tok_in, amount, p1, p2, 0, now + 600, terms(tok_out, now + 3_600))
            r = router._tx("swapAndLock", *args, sender=s_acc)
            data = reg.encode_call("AmmRouter", "swapAndLock", args)
            exec_gas[kind] = r.gas_used - 21_000 - 4 * intrinsic_tokens(data)
            out = [e for e in r.events if e.name == "SwappedAndLocked"][0].args["amountOut"]
            last = (*args[6][:2], out, *args[6][3:])
        now = chain.latest_timestamp()
        high = (tok_in, amount, p1, p2, 2**255, now + 600, terms(tok_out, now + 3_600))
        gas_of(kind, "AmmRouter", "swapAndLock", high,
               lambda a=high: router._tx("swapAndLock", *a, sender=s_acc))   # type: ignore[misc]
        late = (tok_in, amount, p1, p2, 0, now, terms(tok_out, now + 3_600))
        gas_of(kind, "AmmRouter", "swapAndLock", late,
               lambda a=late: router._tx("swapAndLock", *a, sender=s_acc))   # type: ignore[misc]
    # reclaim of the last lock after its deadline
    chain.set_next_block_timestamp(int(last[3]))
    lt = LockTerms(last[0], last[1], last[2], last[3], last[4], last[5], last[7], last[6])
    gas_of("amm_reclaim", "AmmRouter", "reclaim", (lt.as_abi(),),
           lambda: router.reclaim(lt, sender=s_acc))
    # the arbitrageur's direct pool swaps
    pool = pools["USD-MXN"]
    for zero_in in (True, False):
        kind = amm_kind("amm_swap", [zero_in])
        tok = stack.tokens["USD" if zero_in else "MXN"].address
        arb_addr = chain.address_of(arb)
        for _ in range(2):
            now = chain.latest_timestamp()
            sw = (tok, amount, 0, arb_addr, now + 600)
            gas_of(kind, "AmmPool", "swap", sw,
                   lambda a=sw: pool._tx("swap", *a, sender=arb))   # type: ignore[misc]
        now = chain.latest_timestamp()
        for sw in ((tok, amount, 2**255, arb_addr, now + 600), (tok, amount, 0, arb_addr, now)):
            gas_of(kind, "AmmPool", "swap", sw,
                   lambda a=sw: pool._tx("swap", *a, sender=arb))   # type: ignore[misc]
    return exec_gas
