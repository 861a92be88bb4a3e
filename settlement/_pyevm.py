"""The fast embedded chain: transactions applied to one long-lived py-evm state (internal).

:class:`PyEvmBackend` is the ``"pyevm"`` backend of :class:`settlement.Chain`.
It starts from exactly the genesis eth-tester builds (same accounts, balances,
chain id, gas limit, base fee, timestamp) and then runs each block the way
py-evm's ``MiningChain.mine_all`` does (the path of the ``"eth-tester"``
backend), transaction by transaction through the same py-evm code
(``validate_transaction_against_header``, ``lock_changes``,
``state.apply_transaction``, ``finalize_gas_used``, the EIP-1559 base fee of
each block from its parent), minus what a simulation never looks at:

* no signatures: a transaction is py-evm's unsigned EIP-1559 transaction with
  its sender set (``SpoofTransaction``), so nothing is signed or recovered;
* no block import: no header, transaction and receipt tries, no bloom filters,
  no state root per block. The state is persisted to its database (which
  computes a state root) only every :attr:`PyEvmBackend.persist_every` blocks
  and at each snapshot;
* the block's number, timestamp, base fee and ``prevrandao`` are set on the
  state's execution context, block by block;
* the jump-destination analysis of a contract's code (a pure function of the
  code) is kept from one call of that code to the next instead of redone.

Gas used, refunds, fees charged (base fee and tip), logs, status and revert
data are those of the eth-tester backend (``tests/settlement/test_backends.py``
checks it on the rail's whole workload). What differs: transaction hashes (no
signature to hash), ``BLOCKHASH`` (there are no block hashes: it returns zero)
and ``prevrandao`` of the blocks that fund accounts (eth-tester draws them at
random).

A block that py-evm refuses (a bad nonce, a sender that cannot pay for its gas,
more gas than the block has left) leaves the state as it was: the state goes
back to the last persisted root and the blocks since are applied again.
"""

from __future__ import annotations

import itertools
import time
from collections.abc import Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, ClassVar, cast

import rlp
from eth.vm.code_stream import CodeStream
from eth.vm.execution_context import ExecutionContext
from eth.vm.forks import PragueVM
from eth.vm.forks.frontier.validation import validate_frontier_transaction_against_header
from eth.vm.forks.london.headers import calculate_expected_base_fee_per_gas
from eth.vm.forks.london.transactions import UnsignedDynamicFeeTransaction
from eth.vm.forks.prague.computation import PragueComputation
from eth.vm.forks.prague.state import PragueState
from eth.vm.spoof import SpoofTransaction
from eth_typing import Address, BlockNumber, Hash32
from eth_utils import keccak, to_checksum_address

from settlement._blocks import RawBlock, RawTx

__all__ = ["PyEvmBackend", "RejectedByChain"]

ZERO_ADDRESS = b"\x00" * 20
#: what eth-tester fills in for a transaction that names no fees (calls, funding)
TESTER_DEFAULT_FEE = 10**9
#: the gas web3 gives an ether transfer on eth-tester (21,000 estimated + its 100,000 buffer)
FUNDING_GAS = 121_000


class RejectedByChain(Exception):
    """py-evm refused a transaction or a call before running it (internal)."""


class _AnalysedCode(CodeStream):
    """py-evm's code stream, with its memo of valid and invalid jump destinations shared
    by every run of the same code (the memo depends on the code bytes alone)."""

    __slots__ = ()
    _memo: ClassVar[dict[bytes, tuple[set[int], set[int]]]] = {}

    def __init__(self, code_bytes: bytes) -> None:
        super().__init__(code_bytes)
        memo = self._memo.get(code_bytes)
        if memo is None:
            if len(self._memo) >= 4096:
                self._memo.clear()
            memo = self._memo[code_bytes] = (self.valid_positions, self.invalid_positions)
        self.valid_positions, self.invalid_positions = memo


class _Computation(PragueComputation):
    """Prague's computation, running its code through :class:`_AnalysedCode`."""

    def __init__(self, state: Any, message: Any, transaction_context: Any) -> None:
        super().__init__(state, message, transaction_context)
        self.code = _AnalysedCode(message.code)


class _State(PragueState):
    """Prague's state with :class:`_Computation`."""

    computation_class = _Computation


@dataclass(frozen=True)
class _Block:
    number: int
    timestamp: int
    gas_used: int
    base_fee: int


@dataclass(frozen=True)
class _Snapshot:
    root: bytes
    blocks: tuple[_Block, ...]


class PyEvmBackend:
    """One py-evm Prague state, transactions applied to it block by block.

    Parameters:
        genesis_timestamp: UTC seconds of the genesis block (None: now, as
            eth-tester does).
    """

    name = "pyevm"
    #: blocks between two persists of the state (bounds a refused block's replay; each
    #: persist computes a state root, which is what the eth-tester backend does every block)
    persist_every = 2048

    def __init__(self, genesis_timestamp: int | None = None) -> None:
        from eth_tester.backends.pyevm.main import get_default_genesis_params, setup_tester_chain

        overrides = {"timestamp": int(genesis_timestamp)} if genesis_timestamp is not None else None
        keys, chain = setup_tester_chain(get_default_genesis_params(overrides=overrides))
        genesis = chain.get_canonical_head()
        self.chain_id: int = int(chain.chain_id)
        #: eth-tester's funded genesis accounts (the first one funds named accounts)
        self.accounts: list[bytes] = [k.public_key.to_canonical_address() for k in keys]
        self.gas_limit: int = int(genesis.gas_limit)
        self._db = chain.chaindb.db
        self._state_class = _State
        self._finalize_gas_used = PragueVM.finalize_gas_used
        self._blocks: list[_Block] = [_Block(0, int(genesis.timestamp), int(genesis.gas_used),
                                             int(genesis.base_fee_per_gas))]
        # py-evm's StateAPI, typed loosely: it is handed spoofed transactions and plain bytes
        self._state: Any = self._state_class(self._db, self._context(self._blocks[0]),
                                             genesis.state_root)
        self._base_root: bytes = bytes(genesis.state_root)
        self._since_base: list[tuple[_Block, list[Any]]] = []
        self._snapshots: dict[int, _Snapshot] = {}
        self._snapshot_ids = itertools.count(1)
        self._next_ts = self._default_next_timestamp()
        #: the block being built one transaction at a time (:meth:`open_block`), if any
        self._open: tuple[_Block, SimpleNamespace, list[Any]] | None = None

    # -- blocks --------------------------------------------------------------------

    @property
    def latest_number(self) -> int:
        return self._blocks[-1].number

    @property
    def latest_timestamp(self) -> int:
        return self._blocks[-1].timestamp

    def block(self, number: int) -> _Block | None:
        """A mined block's number, timestamp, gas used and base fee (None if not mined)."""
        if 0 <= number < len(self._blocks) and self._blocks[number].number == number:
            return self._blocks[number]
        return None

    def pending_base_fee(self) -> int:
        """The next block's base fee (EIP-1559, from the latest block)."""
        parent = self._blocks[-1]
        return int(calculate_expected_base_fee_per_gas(cast(Any, SimpleNamespace(
            gas_limit=self.gas_limit, gas_used=parent.gas_used,
            base_fee_per_gas=parent.base_fee))))

    def set_next_timestamp(self, t: int) -> None:
        self._next_ts = int(t)

    def _default_next_timestamp(self) -> int:
        # as py-evm stamps a new header: now, but at least one second after its parent
        return max(int(time.time()), self.latest_timestamp + 1)

    def _context(self, block: _Block) -> ExecutionContext:
        return ExecutionContext(
            coinbase=Address(ZERO_ADDRESS), timestamp=block.timestamp,
            block_number=BlockNumber(block.number),
            difficulty=0, mix_hash=Hash32(keccak(block.number.to_bytes(32, "big"))),
            gas_limit=self.gas_limit, prev_hashes=(), chain_id=self.chain_id,
            base_fee_per_gas=block.base_fee, excess_blob_gas=0,
        )

    # -- transactions ------------------------------------------------------------------

    def transaction(self, sender: bytes, nonce: int, to: bytes | None, value: int, data: bytes,
                    gas: int, max_fee: int, tip: int) -> tuple[Any, bytes, str]:
        """An unsigned EIP-1559 transaction from ``sender``: ``(tx, record, hash)``.

        ``record`` is the transaction as bytes (sender and unsigned payload, RLP)
        for :meth:`mine_raw` to replay; ``hash`` is its keccak (there is no
        signature, so it is not the hash eth-tester would give).
        """
        utx = UnsignedDynamicFeeTransaction(self.chain_id, nonce, tip, max_fee, gas, to or b"",
                                            value, data, ())
        record = rlp.encode([sender, rlp.encode(utx)])
        return SpoofTransaction(utx, from_=sender), record, "0x" + keccak(record).hex()

    def _from_record(self, record: bytes) -> Any:
        sender, payload = rlp.decode(record)
        return SpoofTransaction(rlp.decode(payload, sedes=UnsignedDynamicFeeTransaction),
                                from_=bytes(sender))

    def mine_raw(self, txs: Sequence[Any]) -> RawBlock:
        """Run ``txs`` in order as the next block (transactions or their byte records).

        Raises:
            RejectedByChain: py-evm refused one of them; nothing is mined.
        """
        if self._open is not None:
            raise RejectedByChain("a block is open; close it before mining another")
        items = [self._from_record(bytes(t)) if isinstance(t, bytes | bytearray) else t
                 for t in txs]
        block = _Block(self.latest_number + 1, self._next_ts, 0, self.pending_base_fee())
        try:
            gas_used, results = self._run_block(block, items)
        except Exception as exc:  # py-evm's ValidationError and friends
            self._restore()
            raise RejectedByChain(str(exc)) from None
        block = _Block(block.number, block.timestamp, gas_used, block.base_fee)
        self._blocks.append(block)
        self._since_base.append((block, items))
        if len(self._since_base) >= self.persist_every:
            self._persist()
        self._next_ts = self._default_next_timestamp()
        out = [_raw_tx(block, tx, comp, used) for tx, comp, used in results]
        return RawBlock(block.number, block.timestamp, gas_used, block.base_fee, out)

    # -- a block built one transaction at a time ---------------------------------------

    @property
    def block_open(self) -> bool:
        """Whether a block is being built (:meth:`open_block`)."""
        return self._open is not None

    def open_block(self) -> None:
        """Start the next block, at the next timestamp: :meth:`apply_in_block` then runs
        transactions into it one at a time, each result known at once; calls read the
        block's state so far in its context; :meth:`close_block` seals it.

        Raises:
            RejectedByChain: a block is already open.
        """
        if self._open is not None:
            raise RejectedByChain("a block is already open; close it first")
        block = _Block(self.latest_number + 1, self._next_ts, 0, self.pending_base_fee())
        self._open = (block, SimpleNamespace(gas_used=0, gas_limit=self.gas_limit), [])

    def apply_in_block(self, tx: Any) -> RawTx:
        """Run ``tx`` (a transaction or its byte record) into the open block.

        Raises:
            RejectedByChain: no block is open, or py-evm refused the transaction (the
                state is as it was before it).
        """
        if self._open is None:
            raise RejectedByChain("no block is open")
        block, header, items = self._open
        if isinstance(tx, bytes | bytearray):
            tx = self._from_record(bytes(tx))
        state = self._state
        state.execution_context = self._context(block)
        state.lock_changes()
        snap = state.snapshot()
        try:
            validate_frontier_transaction_against_header(cast(Any, None), cast(Any, header), tx)
            comp = state.apply_transaction(tx)
        except Exception as exc:  # py-evm's ValidationError and friends
            state.revert(snap)
            raise RejectedByChain(str(exc)) from None
        used = self._finalize_gas_used(tx, comp)
        header.gas_used += used
        items.append(tx)
        return _raw_tx(block, tx, comp, used)

    def close_block(self) -> RawBlock:
        """Seal the open block (its transactions' results were returned as they ran).

        Raises:
            RejectedByChain: no block is open.
        """
        if self._open is None:
            raise RejectedByChain("no block is open")
        block, header, items = self._open
        self._open = None
        self._state.delta_balance(ZERO_ADDRESS, 0)   # as _run_block's finalize
        block = _Block(block.number, block.timestamp, header.gas_used, block.base_fee)
        self._blocks.append(block)
        self._since_base.append((block, items))
        if len(self._since_base) >= self.persist_every:
            self._persist()
        self._next_ts = self._default_next_timestamp()
        return RawBlock(block.number, block.timestamp, header.gas_used, block.base_fee, [])

    def _run_block(self, block: _Block, txs: Sequence[Any]) -> tuple[int, list[Any]]:
        """What py-evm's ``mine_all`` does to the state, without building the block."""
        state = self._state
        state.execution_context = self._context(block)
        header = SimpleNamespace(gas_used=0, gas_limit=self.gas_limit)
        results = []
        for tx in txs:
            validate_frontier_transaction_against_header(cast(Any, None), cast(Any, header), tx)
            state.lock_changes()
            comp = state.apply_transaction(tx)
            used = self._finalize_gas_used(tx, comp)
            header.gas_used += used
            results.append((tx, comp, used))
        # finalize_block's (zero) block reward touches the coinbase, as on eth-tester
        state.delta_balance(ZERO_ADDRESS, 0)
        return header.gas_used, results

    def _persist(self) -> None:
        self._state.persist()
        self._base_root = bytes(self._state.state_root)
        self._since_base.clear()

    def _restore(self) -> None:
        """Back to the state after the latest block: the persisted base, blocks re-applied."""
        self._state = self._state_class(self._db, self._context(self._blocks[-1]),
                                        Hash32(self._base_root))
        for block, items in self._since_base:
            self._run_block(block, items)

    def fund(self, address: bytes, wei: int) -> RawBlock:
        """Send ``wei`` from eth-tester's first account in a block of its own, as web3 does."""
        funder = self.accounts[0]
        tx, _, _ = self.transaction(funder, self._state.get_nonce(funder), address, wei, b"",
                                    FUNDING_GAS, TESTER_DEFAULT_FEE, TESTER_DEFAULT_FEE)
        if self._open is not None:
            raw = self.apply_in_block(tx)
            block = self._open[0]
            return RawBlock(block.number, block.timestamp, raw.gas_used, block.base_fee, [raw])
        return self.mine_raw([tx])

    # -- reading state ---------------------------------------------------------------------

    def call(self, sender: bytes, to: bytes | None, data: bytes, value: int = 0,
             gas: int | None = None) -> Any:
        """Run a call on the latest block's state and undo it; returns py-evm's computation.

        As eth-tester's ``eth_call``: the latest block's context, the block's
        whole gas limit, and eth-tester's default fees.

        Raises:
            RejectedByChain: py-evm refused the call (e.g. the caller cannot pay
                for its gas at the call's price).
        """
        state = self._state
        utx = UnsignedDynamicFeeTransaction(
            self.chain_id, state.get_nonce(sender), TESTER_DEFAULT_FEE, TESTER_DEFAULT_FEE,
            gas if gas is not None else self.gas_limit, to or b"", value, data, ())
        block = self._open[0] if self._open is not None else self._blocks[-1]
        state.execution_context = self._context(block)
        state.lock_changes()
        snap = state.snapshot()
        try:
            return state.apply_transaction(SpoofTransaction(utx, from_=sender))
        except Exception as exc:  # py-evm's ValidationError and friends
            raise RejectedByChain(str(exc)) from None
        finally:
            state.revert(snap)

    def balance(self, address: bytes) -> int:
        return int(self._state.get_balance(address))

    def nonce(self, address: bytes) -> int:
        return int(self._state.get_nonce(address))

    def code(self, address: bytes) -> bytes:
        return bytes(self._state.get_code(address))

    def storage(self, address: bytes, slot: int) -> int:
        return int(self._state.get_storage(address, slot))

    def state_root(self) -> bytes:
        """The state root of the latest block's state (computed now)."""
        return bytes(self._state.make_state_root())

    def storage_root(self, address: bytes) -> bytes:
        """The storage trie root of ``address`` in the latest block's state."""
        self._state.make_state_root()
        return bytes(self._state._account_db._get_storage_root(address))  # no public getter

    # -- snapshots -------------------------------------------------------------------------

    def snapshot(self) -> int:
        if self._open is not None:
            raise RejectedByChain("a block is open; close it before a snapshot")
        self._persist()
        sid = next(self._snapshot_ids)
        self._snapshots[sid] = _Snapshot(self._base_root, tuple(self._blocks))
        return sid

    def revert(self, sid: Any) -> None:
        """Back to snapshot ``sid``; the blocks after it vanish.

        Raises:
            KeyError: no such snapshot.
        """
        snap = self._snapshots[sid]
        self._open = None
        self._blocks = list(snap.blocks)
        self._base_root = snap.root
        self._since_base.clear()
        self._state = self._state_class(self._db, self._context(self._blocks[-1]),
                                        Hash32(snap.root))
        self._next_ts = self._default_next_timestamp()

    def set_automine(self, on: bool) -> None:
        pass  # Chain holds transactions until it mines a block


def _raw_tx(block: _Block, tx: Any, comp: Any, used: int) -> RawTx:
    """What one applied transaction did, as :class:`settlement.Chain` reads it."""
    error = comp.is_error
    return RawTx(
        tx_hash="",
        status=0 if error else 1,
        gas_used=used,
        effective_gas_price=block.base_fee + min(tx.max_priority_fee_per_gas,
                                                 tx.max_fee_per_gas - block.base_fee),
        logs=() if error else tuple(comp.get_log_entries()),
        revert=bytes(comp.output) if error else None,
        contract_address=(to_checksum_address(comp.msg.storage_address)
                          if not tx.to and not error else None),
    )
