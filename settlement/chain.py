"""``Chain``: the embedded py-evm chain, or any JSON-RPC node.

One class serves both so that a simulation, a test and a deployment script run
the same code against the in-process chain (the default) and a real node
such as Hardhat's. Transactions come from *named* accounts whose keys derive
from their names, so addresses are identical on every run and on every node.

The embedded chain has two backends (``Chain(backend=...)``, or the
``SETTLESIM_CHAIN_BACKEND`` environment variable when the argument is not
given):

* ``"pyevm"`` (the default): transactions are applied to one long-lived py-evm
  state (:mod:`settlement._pyevm`): the sender is set, nothing is signed, no
  block is imported, and a receipt's events are decoded when first asked for.
  Gas, fees, logs, status and revert data are those of the eth-tester backend.
* ``"eth-tester"``: web3 over eth-tester's py-evm chain, every transaction
  signed and every block imported with its state root.

On a node, transactions are signed locally and sent raw.

Clock control lets a simulation drive block timestamps:
:meth:`Chain.set_next_block_timestamp` (forward only), :meth:`Chain.mine`, and
:meth:`Chain.set_automine` to collect pending transactions into real blocks.

Reverts: with an explicit gas limit, a reverting transaction is mined with
status 0 and web3 raises nothing. Every receipt is checked here, and a revert
becomes :class:`ContractRevert`, naming the custom error and its arguments
(decoded from the ABIs by selector).

Example::

    >>> chain = Chain()
    >>> alice = chain.account("alice")
    >>> chain.balance_of(alice) > 0
    True
"""

from __future__ import annotations

import ast
import os
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from eth.exceptions import Revert as EvmRevert
from eth_abi import decode as abi_decode
from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.types import Wei

from settlement._blocks import RawBlock as _RawBlock
from settlement._blocks import RawLog
from settlement._blocks import RawTx as _RawTx
from settlement._pyevm import PyEvmBackend, RejectedByChain
from settlement.abi import AbiRegistry, DecodedEvent
from settlement.errors import SettlementInputError, check_int, check_timestamp

# the embedded chain raises its own exception for a reverted call at a past block
_REVERT_EXCEPTIONS = (ContractCustomError, ContractLogicError, ContractPanicError,
                      TransactionFailed)
_ERROR_STRING_SELECTOR = bytes.fromhex("08c379a0")  # Error(string)

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "Chain",
    "ChainError",
    "ClockError",
    "ContractRevert",
    "Log",
    "MinedBlock",
    "PendingTransaction",
    "Receipt",
]

#: Ether each named account receives when first used.
DEFAULT_FUNDING_WEI = 100 * 10**18
DEFAULT_GAS_LIMIT = 1_000_000
PRIORITY_FEE_WEI = 10**9  # 1 gwei tip on the embedded chain
#: the embedded chain's backends: the fast one, and web3 over eth-tester
BACKENDS = ("pyevm", "eth-tester")
#: the embedded chain's backend when neither ``backend=`` nor the environment names one
DEFAULT_BACKEND = "pyevm"
#: environment variable naming the embedded chain's backend (one of :data:`BACKENDS`)
BACKEND_ENV = "SETTLESIM_CHAIN_BACKEND"


class ChainError(RuntimeError):
    """Something about the chain itself went wrong (not a contract revert)."""


class ClockError(ChainError):
    """A request to move the chain's clock backwards or to an invalid instant."""


class InvalidTimestamp(ClockError, SettlementInputError):
    """A timestamp that is not a finite number of UTC seconds a block can hold."""


class UnknownSnapshot(ChainError, SettlementInputError):
    """A snapshot id this chain never gave (or no longer has)."""


class ContractRevert(ChainError):
    """A transaction or call reverted.

    Attributes:
        error: the custom error's name (``Error`` for ``require`` strings,
            ``Panic`` for panics, ``"unknown"`` if it could not be decoded).
        args: the error's arguments by name.
        function: the contract function that was called (``Contract.fn``).
        tx_hash: the hash of the mined, reverted transaction (None for calls).
        gas_used: gas the reverted transaction consumed (None for calls).
    """

    def __init__(
        self,
        error: str,
        args: dict[str, Any],
        *,
        function: str = "",
        tx_hash: str | None = None,
        gas_used: int | None = None,
        raw: bytes = b"",
    ) -> None:
        self.error = error
        self.args_dict = dict(args)
        self.function = function
        self.tx_hash = tx_hash
        self.gas_used = gas_used
        self.raw = raw
        shown = ", ".join(f"{k}={_show(v)}" for k, v in args.items())
        where = f"{function} reverted: " if function else "reverted: "
        super().__init__(f"{where}{error}({shown})")


def _bytes_from_tester_message(arg: Any) -> bytes:
    """eth-tester reports revert data as bytes, or as ``execution reverted: b'...'``."""
    if isinstance(arg, bytes):
        return arg
    text = str(arg)
    start = text.find("b'") if "b'" in text else text.find('b"')
    if start < 0:
        return b""
    try:
        value = ast.literal_eval(text[start:])
    except (ValueError, SyntaxError):
        return b""
    return value if isinstance(value, bytes) else b""


def _show(value: Any) -> str:
    if isinstance(value, bytes):
        return "0x" + value.hex()
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Log:
    """One event log as the chain recorded it."""

    address: str
    topics: tuple[bytes, ...]
    data: bytes


@dataclass(frozen=True)
class Receipt:
    """What a mined transaction did.

    ``fee_wei`` is gas used times the effective gas price actually paid on this
    chain; a simulation prices gas with its own fee market from ``gas_used``.
    :attr:`logs` and :attr:`events` are built from the raw logs when first
    asked for (a simulation that only needs gas never decodes them).
    """

    tx_hash: str
    function: str
    sender: str
    status: int
    gas_used: int
    effective_gas_price: int
    block_number: int
    block_timestamp: int
    contract_address: str | None = None
    raw_logs: tuple[RawLog, ...] = field(default=(), repr=False)
    abis: AbiRegistry | None = field(default=None, repr=False, compare=False)

    @property
    def fee_wei(self) -> int:
        return self.gas_used * self.effective_gas_price

    @cached_property
    def logs(self) -> tuple[Log, ...]:
        """Every log, in order: emitting address, topics (32 bytes each), data."""
        return tuple(Log(to_checksum_address(a), tuple(t.to_bytes(32, "big") for t in topics),
                         bytes(d)) for a, topics, d in self.raw_logs)

    @cached_property
    def events(self) -> tuple[DecodedEvent, ...]:
        """The logs that the known ABIs declare, decoded."""
        if self.abis is None or not self.raw_logs:
            return ()
        return tuple(self.abis.decode_logs(
            {"address": a, "topics": [t.to_bytes(32, "big") for t in topics], "data": d}
            for a, topics, d in self.raw_logs))

    def event(self, name: str) -> DecodedEvent:
        """The single event called ``name`` (raises KeyError if none or several)."""
        found = [e for e in self.events if e.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} {name} events in {self.function} receipt")
        return found[0]


@dataclass
class PendingTransaction:
    """A transaction sent while auto-mining is off; its receipt comes after a block.

    ``raw`` is the signed transaction (eth-tester, a node) or, on the ``pyevm``
    backend, the unsigned transaction and its sender as RLP bytes; either can be
    replayed on a fresh chain of the same backend.
    """

    chain: Chain
    tx_hash: str
    function: str
    sender: str
    call: dict[str, Any]
    raw: bytes = b""
    revert_data: bytes | None = None
    _tx: Any = None
    _receipt: Receipt | None = None
    _revert: ContractRevert | None = None
    _mined: bool = False

    def receipt(self) -> Receipt:
        """The receipt once mined; raises :class:`ContractRevert` if it reverted.

        Raises:
            ChainError: the transaction has not been mined yet.
        """
        if self._receipt is None and self._revert is None:
            if not self._mined and self.chain.embedded:
                raise ChainError(f"{self.function} is pending; mine a block first")
            self.chain._settle(self)
        if self._revert is not None:
            raise self._revert
        assert self._receipt is not None
        return self._receipt

    @property
    def mined(self) -> bool:
        return self._mined or self._receipt is not None or self._revert is not None

    @property
    def reverted(self) -> ContractRevert | None:
        self.receipt_or_none()
        return self._revert

    def receipt_or_none(self) -> Receipt | None:
        try:
            return self.receipt()
        except ContractRevert:
            return None


@dataclass(frozen=True)
class MinedBlock:
    number: int
    timestamp: int
    gas_used: int
    base_fee_per_gas: int
    transactions: tuple[PendingTransaction, ...] = field(default=())


class _Backend:
    """Node-specific clock, mining and snapshot operations."""

    def set_next_timestamp(self, t: int) -> None:
        raise NotImplementedError

    def mine(self) -> None:
        raise NotImplementedError

    def set_automine(self, on: bool) -> None:
        raise NotImplementedError

    def snapshot(self) -> Any:
        raise NotImplementedError

    def revert(self, snap: Any) -> None:
        raise NotImplementedError


class _TesterBackend(_Backend):
    """The embedded chain. Transactions go straight to py-evm, executed in order
    and mined as one block (as a block builder does), so a block can hold any
    number of transactions from one sender and the exact revert data of each is kept.
    eth-tester's own auto-mining stays on; "auto-mine off" is handled by
    :class:`Chain`, which holds transactions until :meth:`Chain.mine`."""

    def __init__(self, w3: Web3, tester: Any) -> None:
        self.w3 = w3
        self.tester = tester

    def set_next_timestamp(self, t: int) -> None:
        backend = self.tester.backend
        backend.chain.header = backend.chain.header.copy(timestamp=t)

    def mine_raw(self, raws: Sequence[bytes]) -> _RawBlock:
        """Execute signed transactions in order and mine them as one block.

        Receipts are taken from py-evm's own results (reading them back through
        eth-tester re-decodes the whole block for every transaction). The
        block's ``prevrandao`` is derived from its number, so runs repeat exactly.

        Raises:
            ChainError: a transaction is invalid (bad nonce, not enough ether for
                gas, over the block gas limit); nothing is mined.
        """
        chain = self.tester.backend.chain
        builder = chain.get_vm().get_transaction_builder()
        number = chain.header.block_number
        try:
            txs = [builder.decode(r) for r in raws]
            result, receipts, computations = chain.mine_all(
                txs, coinbase=b"\x00" * 20, mix_hash=keccak(number.to_bytes(32, "big")),
            )
        except Exception as exc:  # py-evm's ValidationError and friends
            raise ChainError(f"the embedded chain rejected a transaction: {exc}") from None
        header = result.imported_block.header
        base_fee = int(getattr(header, "base_fee_per_gas", 0) or 0)
        out = []
        cumulative = 0
        for tx, rc, comp in zip(txs, receipts, computations, strict=True):
            used = rc.gas_used - cumulative
            cumulative = rc.gas_used
            tip = min(tx.max_priority_fee_per_gas, tx.max_fee_per_gas - base_fee)
            logs = tuple((lg.address, tuple(lg.topics), lg.data) for lg in rc.logs)
            out.append(_RawTx(
                tx_hash="0x" + bytes(tx.hash).hex(),
                status=0 if comp.is_error else 1,
                gas_used=used,
                effective_gas_price=base_fee + tip,
                logs=logs,
                revert=bytes(comp.output) if comp.is_error else None,
                contract_address=(to_checksum_address(comp.msg.storage_address)
                                  if not tx.to and not comp.is_error else None),
            ))
        return _RawBlock(int(header.block_number), int(header.timestamp), int(header.gas_used),
                         base_fee, out)

    def mine(self) -> None:
        self.tester.mine_blocks(1)

    def set_automine(self, on: bool) -> None:
        pass  # handled by Chain

    def snapshot(self) -> Any:
        return self.tester.take_snapshot()

    def revert(self, snap: Any) -> None:
        try:
            self.tester.revert_to_snapshot(snap)
        except Exception:  # noqa: BLE001 - eth-tester's lookup errors, whichever it raises
            raise UnknownSnapshot(f"no snapshot {snap!r} on this chain; take one with "
                                  "chain.snapshot()") from None


class _RpcBackend(_Backend):
    def __init__(self, w3: Web3) -> None:
        self.w3 = w3

    def _rpc(self, method: str, params: list[Any]) -> Any:
        resp = self.w3.provider.make_request(method, params)  # type: ignore[arg-type]
        if "error" in resp:
            raise ChainError(f"{method} failed on the node: {resp['error']}")
        return resp.get("result")

    def set_next_timestamp(self, t: int) -> None:
        self._rpc("evm_setNextBlockTimestamp", [t])

    def mine(self) -> None:
        self._rpc("evm_mine", [])

    def set_automine(self, on: bool) -> None:
        self._rpc("evm_setAutomine", [on])

    def snapshot(self) -> Any:
        return self._rpc("evm_snapshot", [])

    def revert(self, snap: Any) -> None:
        if self._rpc("evm_revert", [snap]) is False:
            raise UnknownSnapshot(f"the node refused to revert to snapshot {snap!r}: not a "
                                  "snapshot it gave (or already reverted to)")


def _address_bytes(address: str) -> bytes:
    """A hex address as 20 bytes (checked: the embedded chain takes no other form).

    Raises:
        ChainError: ``address`` is not a 20-byte hex address.
    """
    text = address[2:] if isinstance(address, str) and address[:2] in ("0x", "0X") else None
    try:
        raw = bytes.fromhex(text) if text is not None else b""
    except ValueError:
        raw = b""
    if len(raw) != 20:
        raise ChainError(f"not an address: {address!r} (expected 0x and 40 hex digits)")
    return raw


def _key_for(name: str) -> bytes:
    return keccak(text=f"settlesim account {name}")


def _backend_name(backend: str | None, rpc_url: str | None) -> str:
    """The embedded chain's backend: the argument, else the environment, else the default."""
    if rpc_url is not None:
        if backend is not None:
            raise ChainError(
                f"backend={backend!r} chooses the embedded chain's backend; with rpc_url "
                "the node at that address runs the transactions (drop one of the two)")
        return "rpc"
    name = backend if backend is not None else os.environ.get(BACKEND_ENV) or DEFAULT_BACKEND
    if name not in BACKENDS:
        origin = "backend=" if backend is not None else f"{BACKEND_ENV}="
        raise ChainError(f"unknown embedded chain backend {origin}{name!r}; choose one of "
                         + ", ".join(repr(b) for b in BACKENDS))
    return name


class Chain:
    """A chain to deploy to and transact on.

    Parameters:
        rpc_url: a JSON-RPC endpoint (``http://127.0.0.1:8545``); None (the
            default) starts the in-process chain (py-evm, Prague).
        genesis_timestamp: UTC seconds of the embedded chain's genesis block,
            so a simulation can start at any instant (default: now). When it
            is given, the chain's clock is *simulated*: a block whose
            timestamp was not set explicitly is stamped one second after its
            parent, never from the wall clock. Ignored for a node, whose clock
            starts where it is.
        gas_limit: the explicit gas limit of every transaction unless given.
        abis: where ABIs for decoding events and errors come from.
        backend: the embedded chain's backend, ``"pyevm"`` (the default: one
            long-lived py-evm state, no signing, no block import) or
            ``"eth-tester"`` (web3 over eth-tester); None reads the
            ``SETTLESIM_CHAIN_BACKEND`` environment variable, else the default.
            Not for a node.

    Raises:
        ChainError: the node at ``rpc_url`` does not answer; an unknown
            backend; a backend given with ``rpc_url``.
    """

    def __init__(
        self,
        rpc_url: str | None = None,
        *,
        genesis_timestamp: int | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        abis: AbiRegistry | None = None,
        backend: str | None = None,
    ) -> None:
        self.backend = _backend_name(backend, rpc_url)
        if genesis_timestamp is not None:
            genesis_timestamp = check_timestamp(genesis_timestamp, "Chain: genesis_timestamp")
        check_int(gas_limit, "Chain: gas_limit", low=21_000, high=2**63 - 1, kind="gas")
        self.abis = abis or AbiRegistry.from_artifacts()
        self.gas_limit = gas_limit
        self.rpc_url = rpc_url
        self.embedded = rpc_url is None
        self._fast: PyEvmBackend | None = None
        self._w3: Web3 | None = None
        self.tester: Any = None
        if self.backend == "pyevm":
            self._fast = PyEvmBackend(genesis_timestamp)
            self._backend: _Backend | PyEvmBackend = self._fast
            self.chain_id: int = self._fast.chain_id
        elif self.backend == "eth-tester":
            from eth_tester import EthereumTester, PyEVMBackend
            from web3 import EthereumTesterProvider

            params = None
            if genesis_timestamp is not None:
                params = PyEVMBackend.generate_genesis_params(
                    overrides={"timestamp": int(genesis_timestamp)}
                )
            tester = EthereumTester(backend=PyEVMBackend(genesis_parameters=params))
            self._w3 = Web3(EthereumTesterProvider(tester))
            self._backend = _TesterBackend(self._w3, tester)
            self.tester = tester
            self.chain_id = self._w3.eth.chain_id
        else:
            self._w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
            try:
                _ = self._w3.eth.chain_id
            except Exception as exc:  # noqa: BLE001 - any transport failure
                raise ChainError(f"no JSON-RPC node answers at {rpc_url}: {exc}") from None
            self._backend = _RpcBackend(self._w3)
            self.chain_id = self._w3.eth.chain_id
        self._sim_clock = self.embedded and genesis_timestamp is not None
        self._accounts: dict[str, LocalAccount] = {}
        self._funded: set[str] = set()
        self._names: dict[str, str] = {}
        self._nonces: dict[str, int] = {}
        self._automine = True
        self._pending: list[PendingTransaction] = []
        self._block_ts: dict[int, int] = {}
        self._ts_explicit = False
        self._next_ts = 0
        self._last_block_seen = 0
        self._last_ts = self.latest_timestamp()
        #: the timestamp of the block being built one transaction at a time, if any
        self._open_block: int | None = None
        if self._sim_clock:
            self._backend.set_next_timestamp(self._last_ts + 1)

    @property
    def w3(self) -> Web3:
        """web3 on this chain (on the ``pyevm`` backend, a read-only view of its state:
        blocks, balances, nonces, code, storage and ``eth_call``)."""
        if self._w3 is None:
            from settlement._pyevm_web3 import PyEvmProvider

            assert self._fast is not None
            self._w3 = Web3(PyEvmProvider(self._fast))
        return self._w3

    # -- accounts ----------------------------------------------------------------

    def account(self, name: str, *, fund_wei: int = DEFAULT_FUNDING_WEI) -> str:
        """The address of the named account, funded with ether on first use.

        Raises:
            ChainError: a new account would need funding while transactions are
                pending (create senders before turning auto-mining off).
        """
        address = self.address_of(name)
        if name not in self._funded:
            if self.balance_of(address) < fund_wei // 2:
                if self._pending or (not self.embedded and not self._automine):
                    raise ChainError(
                        f"account {name!r} needs ether but blocks are being built by hand; "
                        "create sending accounts (chain.account(name)) before set_automine(False)"
                    )
                self._fund(address, fund_wei)
            self._funded.add(name)
        return address

    def address_of(self, name: str) -> str:
        """The named account's address, without funding it (for recipients)."""
        acct = self._accounts.get(name)
        if acct is None:
            acct = Account.from_key(_key_for(name))
            self._accounts[name] = acct
            self._names[acct.address] = name
        return str(acct.address)

    def accounts(self, names: Iterable[str]) -> dict[str, str]:
        return {n: self.account(n) for n in names}

    def name_of(self, address: str) -> str:
        return self._names.get(to_checksum_address(address), address)

    @property
    def named_accounts(self) -> dict[str, str]:
        return {n: a.address for n, a in self._accounts.items()}

    def private_key(self, name: str) -> bytes:
        self.address_of(name)
        return bytes(self._accounts[name].key)

    def _caller(self) -> str:
        """Default ``from`` of read-only calls: the node's first account."""
        caller = getattr(self, "_default_caller", None)
        if caller is None:
            if self._fast is not None:
                caller = to_checksum_address(self._fast.accounts[0])
            else:
                caller = str(self.w3.eth.accounts[0])
            self._default_caller = caller
        return caller

    def _fund(self, address: str, wei: int) -> None:
        """Send ether from the node's first unlocked account, in a block of its own.

        A next-block timestamp set before keeps applying to the block after the
        funding one (which takes the instant one second after the latest block).
        """
        explicit = self._next_ts if self._ts_explicit else None
        if explicit is not None:
            self._ts_explicit = False
            if explicit > self._last_ts + 1:
                self._backend.set_next_timestamp(self._last_ts + 1)
        if self.embedded:
            self._prepare_clock()
        if self._fast is not None:
            try:
                self._fast.fund(bytes.fromhex(address[2:]), wei)
            except RejectedByChain as exc:
                raise ChainError(f"the embedded chain could not fund {address}: {exc}") from None
        else:
            funder = self.w3.eth.accounts[0]
            tx = self.w3.eth.send_transaction(
                {"from": funder, "to": address, "value": Wei(wei)})  # type: ignore[typeddict-item]
            if not self.embedded:
                self.w3.eth.wait_for_transaction_receipt(tx, timeout=30)
        self._after_block()
        if explicit is not None and explicit > self._last_ts:
            self._backend.set_next_timestamp(explicit)
            self._ts_explicit = True
            self._next_ts = explicit

    def balance_of(self, address: str) -> int:
        """Ether balance in wei."""
        if self._fast is not None:
            return self._fast.balance(_address_bytes(address))
        return int(self.w3.eth.get_balance(to_checksum_address(address)))

    def storage_root(self, address: str) -> bytes:
        """The storage trie root of ``address`` in the latest block's state: equal roots
        mean every storage slot is equal (a test's check that nothing changed).

        Raises:
            ChainError: on a node (only the embedded chain is read this way), or
                ``address`` is not an address.
        """
        raw = _address_bytes(address)
        if self._fast is not None:
            return self._fast.storage_root(raw)
        if self.tester is None:
            raise ChainError("storage roots are read on the embedded chain only, not on a node")
        account_db = self.tester.backend.chain.get_vm().state._account_db  # no public getter
        return bytes(account_db._get_storage_root(raw))

    # -- clock and mining ---------------------------------------------------------

    @property
    def automine(self) -> bool:
        return self._automine

    def set_automine(self, on: bool) -> None:
        """Mine each transaction at once (on) or only on :meth:`mine` (off)."""
        if on == self._automine:
            return
        if on and self._pending:
            self.mine()
        self._backend.set_automine(on)
        self._automine = on

    def latest_timestamp(self) -> int:
        if self._fast is not None:
            return self._fast.latest_timestamp
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        if self._fast is not None:
            return self._fast.latest_number
        return int(self.w3.eth.block_number)

    def set_next_block_timestamp(self, timestamp: int | float) -> None:
        """Give the next block this UTC timestamp (seconds).

        Raises:
            ClockError: ``timestamp`` is not after the latest block's; block
                time only moves forward.
        """
        t = check_timestamp(timestamp, "set_next_block_timestamp")
        # the embedded chain's clock is tracked here; a node is asked
        latest = self._last_ts if self.embedded else self.latest_timestamp()
        if t <= latest:
            raise ClockError(
                f"cannot set the next block's timestamp to {t}: the latest block "
                f"(#{self.block_number()}) is already at {latest}; time only moves forward"
            )
        self._backend.set_next_timestamp(t)
        self._ts_explicit = True
        self._next_ts = t

    def _prepare_clock(self) -> None:
        """On a simulated clock, stamp the next block parent + 1 unless it was set."""
        if self._sim_clock and not self._ts_explicit:
            self._backend.set_next_timestamp(self._last_ts + 1)

    def _after_block(self) -> None:
        self._ts_explicit = False
        self._last_ts = self.latest_timestamp()

    def mine(self, timestamp: int | float | None = None) -> MinedBlock:
        """Mine one block with every pending transaction, at ``timestamp`` if given.

        On the embedded chain the pending transactions execute now, in the order
        they were sent, with the block's timestamp.
        """
        if timestamp is not None:
            self.set_next_block_timestamp(timestamp)
        pending, self._pending = self._pending, []
        self._prepare_clock()
        if self.embedded:
            try:
                raw_block = self._mine_raw(pending)
            except ChainError:
                self._nonces.clear()  # nothing was mined: re-read nonces next time
                raise
            self._ts_explicit = False
            self._last_ts = raw_block.timestamp
            for p, rtx in zip(pending, raw_block.txs, strict=True):
                self._settle_raw(p, raw_block, rtx)
            return MinedBlock(raw_block.number, raw_block.timestamp, raw_block.gas_used,
                              raw_block.base_fee_per_gas, tuple(pending))
        assert isinstance(self._backend, _RpcBackend)
        self._backend.mine()
        block = self.w3.eth.get_block("latest")
        self._ts_explicit = False
        self._last_ts = int(block["timestamp"])
        self._block_ts[int(block["number"])] = int(block["timestamp"])
        for p in pending:
            p._mined = True
            self._settle(p)
        return MinedBlock(
            number=int(block["number"]),
            timestamp=int(block["timestamp"]),
            gas_used=int(block["gasUsed"]),
            base_fee_per_gas=int(block.get("baseFeePerGas", 0)),
            transactions=tuple(pending),
        )

    @property
    def block_open(self) -> bool:
        """Whether a block is being built by :meth:`open_block`."""
        return self._open_block is not None

    def open_block(self, timestamp: int | float) -> None:
        """Start a block at ``timestamp`` whose transactions run one at a time as they are
        sent: each :meth:`transact` returns its receipt (or raises its revert) at once,
        calls read the block's state so far at its timestamp and number, and
        :meth:`close_block` seals it. Accounts first used meanwhile are funded inside it.
        The embedded ``pyevm`` backend only.

        Raises:
            ChainError: not the ``pyevm`` backend, a block is already open, or
                transactions are pending; :class:`ClockError`: ``timestamp`` is not after
                the latest block's.
        """
        if self._fast is None:
            raise ChainError("blocks built one transaction at a time need the embedded "
                             "'pyevm' backend")
        if self._open_block is not None or self._pending:
            raise ChainError("cannot open a block: one is open or transactions are pending")
        self.set_next_block_timestamp(timestamp)
        self._fast.open_block()
        self._ts_explicit = False
        self._open_block = int(timestamp)

    def close_block(self) -> MinedBlock:
        """Seal the block :meth:`open_block` started (its transactions' receipts were
        returned as they ran, so the block lists none).

        Raises:
            ChainError: no block is open.
        """
        if self._fast is None or self._open_block is None:
            raise ChainError("no block is open; call open_block(timestamp) first")
        raw = self._fast.close_block()
        self._open_block = None
        self._ts_explicit = False
        self._last_ts = raw.timestamp
        return MinedBlock(raw.number, raw.timestamp, raw.gas_used, raw.base_fee_per_gas, ())

    def _send_in_block(
        self, to: str | None, data: bytes | str, value: int, sender: str, gas: int | None,
        label: str,
    ) -> Receipt:
        assert self._fast is not None
        p = self._send(to, data, value, sender, gas, label)
        try:
            rtx = self._fast.apply_in_block(p._tx)
        except RejectedByChain as exc:
            self._nonces.pop(sender, None)
            raise ChainError(f"the embedded chain rejected {label}: {exc}") from None
        block = self._fast._open
        assert block is not None
        self._settle_raw(p, _RawBlock(block[0].number, block[0].timestamp, 0,
                                      block[0].base_fee, [rtx]), rtx)
        return p.receipt()

    def snapshot(self) -> Any:
        """An id to :meth:`revert` to later (the chain's whole state)."""
        if self._open_block is not None:
            raise ChainError("cannot snapshot with a block open; close_block() first")
        if self._pending:
            raise ChainError("cannot snapshot with pending transactions; mine() first")
        return self._backend.snapshot()

    def revert(self, snap: Any) -> None:
        """Return the chain to a snapshot; later blocks and pending transactions vanish.

        Raises:
            ChainError: ``snap`` is not a snapshot of this chain (``pyevm`` backend, or
                refused by the node).
        """
        if self._fast is not None:
            try:
                self._fast.revert(snap)
            except (KeyError, TypeError):
                raise UnknownSnapshot(f"no snapshot {snap!r} on this chain; take one with "
                                      "chain.snapshot()") from None
        else:
            self._backend.revert(snap)
        self._pending.clear()
        self._open_block = None
        self._nonces.clear()
        self._funded.clear()
        self._block_ts.clear()
        self._ts_explicit = False
        self._last_block_seen = 0
        self._last_ts = self.latest_timestamp()

    # -- transactions ---------------------------------------------------------------

    def deploy(
        self, name: str, bytecode: str, constructor_args: Sequence[Any] = (), *, sender: str,
        gas: int = 6_000_000,
    ) -> Receipt:
        """Deploy ``bytecode`` of contract ``name``; the receipt carries the address."""
        data = bytecode + self.abis.encode_constructor(name, constructor_args).hex()
        return self._send_and_wait(None, data, 0, sender, gas, f"{name}.constructor")

    def transact(
        self,
        address: str,
        contract: str,
        function: str,
        args: Sequence[Any] = (),
        *,
        sender: str,
        value: int = 0,
        gas: int | None = None,
    ) -> Receipt | PendingTransaction:
        """Call ``contract.function(*args)`` at ``address`` as the named ``sender``.

        With auto-mining on, returns the :class:`Receipt`, raising
        :class:`ContractRevert` if the transaction reverted. With it off, returns a
        :class:`PendingTransaction` whose receipt is ready after :meth:`mine`.
        """
        data = self.abis.encode_call(contract, function, args)
        return self.transact_calldata(address, data, f"{contract}.{function}", sender=sender,
                                      value=value, gas=gas)

    def transact_calldata(
        self, address: str, data: bytes, label: str, *, sender: str, value: int = 0,
        gas: int | None = None,
    ) -> Receipt | PendingTransaction:
        """:meth:`transact` with calldata already encoded; ``label`` names the call."""
        check_int(value, f"{label}: value (wei)")
        if gas is not None:
            check_int(gas, f"{label}: gas", low=21_000, high=2**63 - 1, kind="gas")
        if self._open_block is not None:
            return self._send_in_block(address, data, value, sender, gas, label)
        if self._automine:
            return self._send_and_wait(address, data, value, sender, gas, label)
        pending = self._send(address, data, value, sender, gas, label)
        self._pending.append(pending)
        return pending

    def call(
        self, address: str, contract: str, function: str, args: Sequence[Any] = (),
        *, sender: str | None = None,
    ) -> Any:
        """A read-only call; returns the decoded result (a single value unwrapped)."""
        data = self.abis.encode_call(contract, function, args)
        tx: dict[str, Any] = {"to": address, "data": data}
        # an explicit caller saves the node looking up its own accounts on every call
        tx["from"] = self.address_of(sender) if sender is not None else self._caller()
        if self._fast is not None:
            label = f"{contract}.{function}"
            try:
                comp = self._fast.call(_address_bytes(tx["from"]), _address_bytes(address), data)
            except RejectedByChain as exc:
                raise ChainError(f"the embedded chain refused the call {label}: {exc}") from None
            if comp.is_error:
                raise self._call_revert(comp, label)
            return self.abis.decode_result(contract, function, bytes(comp.output))
        try:
            raw = self.w3.eth.call(tx)  # type: ignore[arg-type]
        except _REVERT_EXCEPTIONS as exc:
            raise self._revert_from_exc(exc, f"{contract}.{function}") from None
        return self.abis.decode_result(contract, function, bytes(raw))

    def _call_revert(self, comp: Any, function: str) -> ContractRevert:
        """A failed call on the ``pyevm`` backend, decoded as the eth-tester path decodes it:
        the revert data by selector (``Error(string)`` as its message); no data for a
        failure that is not a revert (out of gas, invalid opcode)."""
        raw = bytes(comp.output) if isinstance(comp.error, EvmRevert) else b""
        if raw[:4] == _ERROR_STRING_SELECTOR:
            try:
                (text,) = abi_decode(["string"], raw[4:])
            except Exception:  # noqa: BLE001 - malformed Error(string) data
                pass
            else:
                return ContractRevert("Error", {"message": text}, function=function, raw=raw)
        name, args = self.abis.decode_error(raw)
        return ContractRevert(name, args, function=function, raw=raw)

    def _send(
        self, to: str | None, data: bytes | str, value: int, sender: str, gas: int | None,
        label: str,
    ) -> PendingTransaction:
        """Sign and submit (``pyevm``: build it unsigned); on the embedded chain the
        transaction is held for a block."""
        self.account(sender)
        acct = self._accounts[sender]
        nonce = self._nonces.get(sender)
        if self._fast is not None:
            return self._send_unsigned(to, data, value, sender, gas, label, nonce)
        if nonce is None:
            nonce = int(self.w3.eth.get_transaction_count(acct.address, "latest"))
        tx: dict[str, Any] = {
            "type": 2,
            "chainId": self.chain_id,
            "nonce": nonce,
            "gas": gas or self.gas_limit,
            "maxFeePerGas": self._max_fee(),
            "maxPriorityFeePerGas": PRIORITY_FEE_WEI,
            "value": value,
            "data": data if isinstance(data, str) else "0x" + data.hex(),
        }
        if to is not None:
            tx["to"] = to
        signed = acct.sign_transaction(tx)
        raw = bytes(signed.raw_transaction)
        if not self.embedded:
            tx_hash = "0x" + bytes(self.w3.eth.send_raw_transaction(raw)).hex()
        else:
            tx_hash = "0x" + bytes(signed.hash).hex()
        self._nonces[sender] = nonce + 1
        call: dict[str, Any] = {k: tx[k] for k in ("data", "value", "gas") if k in tx}
        call["from"] = acct.address
        if to is not None:
            call["to"] = to
        return PendingTransaction(self, tx_hash, label, acct.address, call, raw)

    def _send_unsigned(
        self, to: str | None, data: bytes | str, value: int, sender: str, gas: int | None,
        label: str, nonce: int | None,
    ) -> PendingTransaction:
        """The ``pyevm`` backend's transaction: the sender set, nothing signed."""
        assert self._fast is not None
        address = self._accounts[sender].address
        sender_bytes = bytes.fromhex(address[2:])
        if nonce is None:
            nonce = self._fast.nonce(sender_bytes)
        if isinstance(data, str):
            payload = bytes.fromhex(data[2:] if data.startswith(("0x", "0X")) else data)
        else:
            payload = bytes(data)
        limit = gas or self.gas_limit
        tx, record, tx_hash = self._fast.transaction(
            sender_bytes, nonce, _address_bytes(to) if to is not None else None, value, payload,
            limit, 2 * self._fast.pending_base_fee() + PRIORITY_FEE_WEI, PRIORITY_FEE_WEI)
        self._nonces[sender] = nonce + 1
        call: dict[str, Any] = {"data": payload, "value": value, "gas": limit, "from": address}
        if to is not None:
            call["to"] = to
        return PendingTransaction(self, tx_hash, label, address, call, record, _tx=tx)

    def _mine_raw(self, pending: Sequence[PendingTransaction]) -> _RawBlock:
        """Run ``pending`` in order as the embedded chain's next block."""
        if self._fast is not None:
            try:
                return self._fast.mine_raw([p._tx for p in pending])
            except RejectedByChain as exc:
                raise ChainError(f"the embedded chain rejected a transaction: {exc}") from None
        assert isinstance(self._backend, _TesterBackend)
        return self._backend.mine_raw([p.raw for p in pending])

    def _max_fee(self) -> int:
        # generous cap: twice the latest base fee plus the tip (EIP-1559 headroom)
        base = self._latest_base_fee
        return 2 * base + PRIORITY_FEE_WEI

    @property
    def _latest_base_fee(self) -> int:
        cached = getattr(self, "_base_fee_cache", None)
        if cached is None or cached[0] != self._cache_epoch():
            base = int(self.w3.eth.get_block("pending").get("baseFeePerGas", 10**9))
            self._base_fee_cache = (self._cache_epoch(), base)
            return base
        return int(cached[1])

    def _cache_epoch(self) -> int:
        return int(time.monotonic() // 1)  # refresh the base-fee estimate each second

    def _send_and_wait(
        self, to: str | None, data: bytes | str, value: int, sender: str, gas: int | None,
        label: str,
    ) -> Receipt:
        self.account(sender)
        if not self.embedded:
            p = self._send(to, data, value, sender, gas, label)
            self.w3.eth.wait_for_transaction_receipt(p.tx_hash, timeout=60)  # type: ignore[arg-type]
            p._mined = True
            return p.receipt()
        self._prepare_clock()
        p = self._send(to, data, value, sender, gas, label)
        try:
            raw_block = self._mine_raw([p])
        except ChainError:
            self._nonces.pop(sender, None)  # invalid, not mined: re-read the nonce next time
            raise
        self._ts_explicit = False
        self._last_ts = raw_block.timestamp
        self._settle_raw(p, raw_block, raw_block.txs[0])
        return p.receipt()

    def _settle_raw(self, p: PendingTransaction, block: _RawBlock, rtx: _RawTx) -> None:
        p._mined = True
        p.revert_data = rtx.revert
        if rtx.status != 1:
            if not rtx.revert:
                reason = ("out of gas" if rtx.gas_used >= int(p.call["gas"])
                          else "reverted without data")
                p._revert = ContractRevert("unknown", {"reason": reason}, function=p.function,
                                           tx_hash=p.tx_hash, gas_used=rtx.gas_used)
            else:
                name, args = self.abis.decode_error(rtx.revert)
                p._revert = ContractRevert(name, args, function=p.function, tx_hash=p.tx_hash,
                                           gas_used=rtx.gas_used, raw=rtx.revert)
            return
        p._receipt = Receipt(
            tx_hash=p.tx_hash,
            function=p.function,
            sender=p.sender,
            status=1,
            gas_used=rtx.gas_used,
            effective_gas_price=rtx.effective_gas_price,
            block_number=block.number,
            block_timestamp=block.timestamp,
            contract_address=rtx.contract_address,
            raw_logs=rtx.logs,
            abis=self.abis,
        )

    def _settle(self, p: PendingTransaction) -> None:
        raw = self.w3.eth.get_transaction_receipt(p.tx_hash)  # type: ignore[arg-type]
        number = int(raw["blockNumber"])
        ts = self._block_ts.get(number)
        if ts is None:
            ts = int(self.w3.eth.get_block(number)["timestamp"])
            self._block_ts[number] = ts
        self._last_block_seen = max(self._last_block_seen, number)
        if int(raw["status"]) != 1:
            if p.revert_data == b"":
                gas_used = int(raw["gasUsed"])
                reason = ("out of gas" if gas_used >= int(p.call["gas"])
                          else "reverted without data")
                p._revert = ContractRevert("unknown", {"reason": reason}, function=p.function,
                                           tx_hash=p.tx_hash, gas_used=gas_used)
            elif p.revert_data is not None:
                name, args = self.abis.decode_error(p.revert_data)
                p._revert = ContractRevert(name, args, function=p.function, tx_hash=p.tx_hash,
                                           gas_used=int(raw["gasUsed"]), raw=p.revert_data)
            else:
                p._revert = self._replay_revert(p, number, int(raw["gasUsed"]))
            return
        logs = tuple((bytes.fromhex(str(lg["address"])[2:]),
                      tuple(int.from_bytes(bytes(t), "big") for t in lg["topics"]),
                      bytes(lg["data"])) for lg in raw["logs"])
        address = raw.get("contractAddress")
        p._receipt = Receipt(
            tx_hash=p.tx_hash,
            function=p.function,
            sender=p.sender,
            status=1,
            gas_used=int(raw["gasUsed"]),
            effective_gas_price=int(raw["effectiveGasPrice"]),
            block_number=number,
            block_timestamp=ts,
            contract_address=str(address) if address else None,
            raw_logs=logs,
            abis=self.abis,
        )

    def _replay_revert(self, p: PendingTransaction, block: int, gas_used: int) -> ContractRevert:
        """Decode a mined revert by replaying the call on the parent block's state."""
        try:
            self.w3.eth.call(p.call, block_identifier=block - 1)  # type: ignore[arg-type]
        except _REVERT_EXCEPTIONS as exc:
            rev = self._revert_from_exc(exc, p.function)
        except Exception as exc:  # noqa: BLE001 - a node may refuse historical calls
            rev = ContractRevert("unknown", {"detail": str(exc)}, function=p.function)
        else:
            # The replay succeeded, so the failure depended on this block's ordering
            # or ran out of gas.
            reason = "out of gas" if gas_used >= int(p.call["gas"]) else "state at execution"
            rev = ContractRevert("unknown", {"reason": reason}, function=p.function)
        rev.tx_hash = p.tx_hash
        rev.gas_used = gas_used
        return rev

    def _revert_from_exc(self, exc: Exception, function: str) -> ContractRevert:
        data = getattr(exc, "data", None)
        raw = b""
        if isinstance(data, str) and data.startswith("0x"):
            raw = bytes.fromhex(data[2:])
        elif isinstance(data, bytes):
            raw = data
        elif isinstance(data, dict) and isinstance(data.get("data"), str):
            raw = bytes.fromhex(data["data"][2:])
        elif isinstance(exc, TransactionFailed) and exc.args:
            raw = _bytes_from_tester_message(exc.args[0])
        if not raw and isinstance(exc, ContractLogicError):
            msg = str(exc.args[0]) if exc.args else str(exc)
            prefix = "execution reverted: "
            text = msg[len(prefix):] if msg.startswith(prefix) else msg
            return ContractRevert("Error", {"message": text}, function=function)
        name, args = self.abis.decode_error(raw)
        return ContractRevert(name, args, function=function, raw=raw)
