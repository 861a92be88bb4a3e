"""``Chain``: web3 over the embedded eth-tester chain, or any JSON-RPC node.

One class serves both so that a simulation, a test and a deployment script run
the same code against the in-process PyEVM chain (the default) and a real node
such as Hardhat's. Transactions are signed locally by *named* accounts whose
keys derive from their names, so addresses are identical on every run and on
every node.

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
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from eth_account import Account
from eth_account.signers.local import LocalAccount
from eth_tester.exceptions import TransactionFailed
from eth_utils import keccak, to_checksum_address
from web3 import Web3
from web3.exceptions import ContractCustomError, ContractLogicError, ContractPanicError
from web3.types import Wei

from settlement.abi import AbiRegistry, DecodedEvent

# the embedded chain raises its own exception for a reverted call at a past block
_REVERT_EXCEPTIONS = (ContractCustomError, ContractLogicError, ContractPanicError,
                      TransactionFailed)

__all__ = [
    "Chain",
    "ChainError",
    "ClockError",
    "ContractRevert",
    "MinedBlock",
    "PendingTransaction",
    "Receipt",
]

#: Ether each named account receives when first used.
DEFAULT_FUNDING_WEI = 100 * 10**18
DEFAULT_GAS_LIMIT = 1_000_000
PRIORITY_FEE_WEI = 10**9  # 1 gwei tip on the embedded chain


class ChainError(RuntimeError):
    """Something about the chain itself went wrong (not a contract revert)."""


class ClockError(ChainError):
    """A request to move the chain's clock backwards or to an invalid instant."""


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
class Receipt:
    """What a mined transaction did.

    ``fee_wei`` is gas used times the effective gas price actually paid on this
    chain; a simulation prices gas with its own fee market from ``gas_used``.
    """

    tx_hash: str
    function: str
    sender: str
    status: int
    gas_used: int
    effective_gas_price: int
    block_number: int
    block_timestamp: int
    events: tuple[DecodedEvent, ...] = ()
    contract_address: str | None = None

    @property
    def fee_wei(self) -> int:
        return self.gas_used * self.effective_gas_price

    def event(self, name: str) -> DecodedEvent:
        """The single event called ``name`` (raises KeyError if none or several)."""
        found = [e for e in self.events if e.name == name]
        if len(found) != 1:
            raise KeyError(f"{len(found)} {name} events in {self.function} receipt")
        return found[0]


@dataclass
class PendingTransaction:
    """A transaction sent while auto-mining is off; its receipt comes after a block."""

    chain: Chain
    tx_hash: str
    function: str
    sender: str
    call: dict[str, Any]
    raw: bytes = b""
    revert_data: bytes | None = None
    _receipt: Receipt | None = None
    _revert: ContractRevert | None = None
    _mined: bool = False

    def receipt(self) -> Receipt:
        """The receipt once mined; raises :class:`ContractRevert` if it reverted.

        Raises:
            ChainError: the transaction has not been mined yet.
        """
        if self._receipt is None and self._revert is None:
            if not self._mined and self.chain.tester is not None:
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


@dataclass(frozen=True)
class _RawTx:
    tx_hash: str
    status: int
    gas_used: int
    effective_gas_price: int
    logs: list[dict[str, Any]]
    revert: bytes | None
    contract_address: str | None


@dataclass(frozen=True)
class _RawBlock:
    number: int
    timestamp: int
    gas_used: int
    base_fee_per_gas: int
    txs: list[_RawTx]


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
        txs = [builder.decode(r) for r in raws]
        number = chain.header.block_number
        try:
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
            logs = [{"address": lg.address, "topics": [t.to_bytes(32, "big") for t in lg.topics],
                     "data": lg.data} for lg in rc.logs]
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
        self.tester.revert_to_snapshot(snap)


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
            raise ChainError(f"the node refused to revert to snapshot {snap}")


def _key_for(name: str) -> bytes:
    return keccak(text=f"settlesim account {name}")


class Chain:
    """A chain to deploy to and transact on.

    Parameters:
        rpc_url: a JSON-RPC endpoint (``http://127.0.0.1:8545``); None (the
            default) starts the in-process eth-tester chain (PyEVM, Prague).
        genesis_timestamp: UTC seconds of the embedded chain's genesis block,
            so a simulation can start at any instant (default: now). When it
            is given, the chain's clock is *simulated*: a block whose
            timestamp was not set explicitly is stamped one second after its
            parent, never from the wall clock. Ignored for a node, whose clock
            starts where it is.
        gas_limit: the explicit gas limit of every transaction unless given.
        abis: where ABIs for decoding events and errors come from.

    Raises:
        ChainError: the node at ``rpc_url`` does not answer.
    """

    def __init__(
        self,
        rpc_url: str | None = None,
        *,
        genesis_timestamp: int | None = None,
        gas_limit: int = DEFAULT_GAS_LIMIT,
        abis: AbiRegistry | None = None,
    ) -> None:
        self.abis = abis or AbiRegistry.from_artifacts()
        self.gas_limit = gas_limit
        self.rpc_url = rpc_url
        if rpc_url is None:
            from eth_tester import EthereumTester, PyEVMBackend
            from web3 import EthereumTesterProvider

            params = None
            if genesis_timestamp is not None:
                params = PyEVMBackend.generate_genesis_params(
                    overrides={"timestamp": int(genesis_timestamp)}
                )
            tester = EthereumTester(backend=PyEVMBackend(genesis_parameters=params))
            self.w3 = Web3(EthereumTesterProvider(tester))
            self._backend: _Backend = _TesterBackend(self.w3, tester)
            self.tester: Any = tester
            self._sim_clock = genesis_timestamp is not None
        else:
            self.w3 = Web3(Web3.HTTPProvider(rpc_url, request_kwargs={"timeout": 30}))
            try:
                _ = self.w3.eth.chain_id
            except Exception as exc:  # noqa: BLE001 - any transport failure
                raise ChainError(f"no JSON-RPC node answers at {rpc_url}: {exc}") from None
            self._backend = _RpcBackend(self.w3)
            self.tester = None
            self._sim_clock = False
        self.chain_id: int = self.w3.eth.chain_id
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
        if self._sim_clock:
            self._backend.set_next_timestamp(self._last_ts + 1)

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
                if self._pending or (self.tester is None and not self._automine):
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
            caller = self._default_caller = str(self.w3.eth.accounts[0])
        return caller

    def _fund(self, address: str, wei: int) -> None:
        """Send ether from the node's first unlocked account, in a block of its own.

        A next-block timestamp set before keeps applying to the block after the
        funding one (which takes the instant one second after the latest block).
        """
        funder = self.w3.eth.accounts[0]
        explicit = self._next_ts if self._ts_explicit else None
        if explicit is not None:
            self._ts_explicit = False
            if explicit > self._last_ts + 1:
                self._backend.set_next_timestamp(self._last_ts + 1)
        if self.tester is not None:
            self._prepare_clock()
        tx = self.w3.eth.send_transaction(
            {"from": funder, "to": address, "value": Wei(wei)})  # type: ignore[typeddict-item]
        if self.tester is None:
            self.w3.eth.wait_for_transaction_receipt(tx, timeout=30)
        self._after_block()
        if explicit is not None and explicit > self._last_ts:
            self._backend.set_next_timestamp(explicit)
            self._ts_explicit = True
            self._next_ts = explicit

    def balance_of(self, address: str) -> int:
        """Ether balance in wei."""
        return int(self.w3.eth.get_balance(to_checksum_address(address)))

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
        return int(self.w3.eth.get_block("latest")["timestamp"])

    def block_number(self) -> int:
        return int(self.w3.eth.block_number)

    def set_next_block_timestamp(self, timestamp: int | float) -> None:
        """Give the next block this UTC timestamp (seconds).

        Raises:
            ClockError: ``timestamp`` is not after the latest block's; block
                time only moves forward.
        """
        t = int(timestamp)
        # the embedded chain's clock is tracked here; a node is asked
        latest = self._last_ts if self.tester is not None else self.latest_timestamp()
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
        if isinstance(self._backend, _TesterBackend):
            try:
                raw_block = self._backend.mine_raw([p.raw for p in pending])
            except ChainError:
                self._nonces.clear()  # nothing was mined: re-read nonces next time
                raise
            self._ts_explicit = False
            self._last_ts = raw_block.timestamp
            for p, rtx in zip(pending, raw_block.txs, strict=True):
                self._settle_raw(p, raw_block, rtx)
            return MinedBlock(raw_block.number, raw_block.timestamp, raw_block.gas_used,
                              raw_block.base_fee_per_gas, tuple(pending))
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

    def snapshot(self) -> Any:
        """An id to :meth:`revert` to later (the chain's whole state)."""
        if self._pending:
            raise ChainError("cannot snapshot with pending transactions; mine() first")
        return self._backend.snapshot()

    def revert(self, snap: Any) -> None:
        """Return the chain to a snapshot; later blocks and pending transactions vanish."""
        self._backend.revert(snap)
        self._pending.clear()
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
        try:
            raw = self.w3.eth.call(tx)  # type: ignore[arg-type]
        except _REVERT_EXCEPTIONS as exc:
            raise self._revert_from_exc(exc, f"{contract}.{function}") from None
        return self.abis.decode_result(contract, function, bytes(raw))

    def _send(
        self, to: str | None, data: bytes | str, value: int, sender: str, gas: int | None,
        label: str,
    ) -> PendingTransaction:
        """Sign and submit; on the embedded chain the raw transaction is held for a block."""
        self.account(sender)
        acct = self._accounts[sender]
        nonce = self._nonces.get(sender)
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
        if self.tester is None:
            tx_hash = "0x" + bytes(self.w3.eth.send_raw_transaction(raw)).hex()
        else:
            tx_hash = "0x" + bytes(signed.hash).hex()
        self._nonces[sender] = nonce + 1
        call: dict[str, Any] = {k: tx[k] for k in ("data", "value", "gas") if k in tx}
        call["from"] = acct.address
        if to is not None:
            call["to"] = to
        return PendingTransaction(self, tx_hash, label, acct.address, call, raw)

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
        if self.tester is None:
            p = self._send(to, data, value, sender, gas, label)
            self.w3.eth.wait_for_transaction_receipt(p.tx_hash, timeout=60)  # type: ignore[arg-type]
            p._mined = True
            return p.receipt()
        self._prepare_clock()
        p = self._send(to, data, value, sender, gas, label)
        assert isinstance(self._backend, _TesterBackend)
        try:
            raw_block = self._backend.mine_raw([p.raw])
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
            events=tuple(self.abis.decode_logs(rtx.logs)),
            contract_address=rtx.contract_address,
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
        events = tuple(self.abis.decode_logs(raw["logs"]))
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
            events=events,
            contract_address=str(address) if address else None,
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
