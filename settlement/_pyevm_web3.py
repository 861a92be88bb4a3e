"""web3 over the ``pyevm`` backend: a read-only provider of its latest state (internal).

``Chain.w3`` on the ``pyevm`` backend is ``Web3(PyEvmProvider(backend))``, so code
written against web3 keeps reading the chain: chain id, block number, the
latest and pending blocks, balances, nonces, code, storage and ``eth_call``.
Transactions go through :class:`settlement.Chain`; a method this provider does
not serve is answered with a JSON-RPC error naming it.
"""

from __future__ import annotations

from typing import Any, cast

from eth.exceptions import Revert as EvmRevert
from eth_utils import keccak, to_checksum_address
from web3.providers.base import BaseProvider
from web3.types import RPCEndpoint, RPCResponse

from settlement._pyevm import PyEvmBackend, RejectedByChain

__all__ = ["PyEvmProvider"]


class _Unsupported(Exception):
    pass


def _hex(n: int) -> str:
    return hex(int(n))


def _address(value: Any) -> bytes:
    text = str(value)
    raw = bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)
    if len(raw) != 20:
        raise _Unsupported(f"not an address: {value!r}")
    return raw


def _data(value: Any) -> bytes:
    if value is None:
        return b""
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    text = str(value)
    return bytes.fromhex(text[2:] if text[:2] in ("0x", "0X") else text)


def _int(value: Any, default: int = 0) -> int:
    if value is None:
        return default
    if isinstance(value, int):
        return value
    return int(str(value), 16)


class PyEvmProvider(BaseProvider):
    """Answers web3's JSON-RPC requests from a :class:`PyEvmBackend`'s latest state."""

    def __init__(self, backend: PyEvmBackend) -> None:
        super().__init__()
        self.backend = backend

    def is_connected(self, show_traceback: bool = False) -> bool:
        return True

    def make_request(self, method: RPCEndpoint, params: Any) -> RPCResponse:
        handler = getattr(self, "_" + str(method), None)
        if handler is None:
            return self._error(-32601, f"{method} is not served by the pyevm backend's web3 "
                                       "view (Chain(backend='eth-tester') serves every method)")
        try:
            return cast(RPCResponse, {"jsonrpc": "2.0", "id": 0, "result": handler(*params)})
        except _Unsupported as exc:
            return self._error(-32602, f"{method}: {exc}")
        except _CallFailed as exc:
            return cast(RPCResponse, {"jsonrpc": "2.0", "id": 0, "error": exc.error})

    @staticmethod
    def _error(code: int, message: str) -> RPCResponse:
        return cast(RPCResponse, {"jsonrpc": "2.0", "id": 0,
                                  "error": {"code": code, "message": message}})

    def _latest_only(self, block: Any) -> None:
        if block in (None, "latest", "pending", "safe", "finalized"):
            return
        if isinstance(block, str) and block.startswith("0x") and \
                int(block, 16) == self.backend.latest_number:
            return
        raise _Unsupported(f"only the latest state is kept, not block {block!r}")

    # -- endpoints (one method per JSON-RPC method, named after it) ---------------------

    def _web3_clientVersion(self) -> str:
        return "settlesim/pyevm"

    def _eth_chainId(self) -> str:
        return _hex(self.backend.chain_id)

    def _net_version(self) -> str:
        return str(self.backend.chain_id)

    def _eth_blockNumber(self) -> str:
        return _hex(self.backend.latest_number)

    def _eth_accounts(self) -> list[str]:
        return [to_checksum_address(a) for a in self.backend.accounts]

    def _eth_gasPrice(self) -> str:
        return _hex(self.backend.pending_base_fee() + 10**9)

    def _eth_maxPriorityFeePerGas(self) -> str:
        return _hex(10**9)

    def _eth_getBalance(self, address: Any, block: Any = "latest") -> str:
        self._latest_only(block)
        return _hex(self.backend.balance(_address(address)))

    def _eth_getTransactionCount(self, address: Any, block: Any = "latest") -> str:
        self._latest_only(block)
        return _hex(self.backend.nonce(_address(address)))

    def _eth_getCode(self, address: Any, block: Any = "latest") -> str:
        self._latest_only(block)
        return "0x" + self.backend.code(_address(address)).hex()

    def _eth_getStorageAt(self, address: Any, slot: Any, block: Any = "latest") -> str:
        self._latest_only(block)
        value = self.backend.storage(_address(address), _int(slot))
        return "0x" + value.to_bytes(32, "big").hex()

    def _eth_call(self, tx: dict[str, Any], block: Any = "latest") -> str:
        self._latest_only(block)
        sender = _address(tx["from"]) if tx.get("from") else self.backend.accounts[0]
        to = _address(tx["to"]) if tx.get("to") else None
        gas = _int(tx.get("gas"), self.backend.gas_limit)
        try:
            comp = self.backend.call(sender, to, _data(tx.get("data", tx.get("input"))),
                                     _int(tx.get("value")), gas)
        except RejectedByChain as exc:
            raise _CallFailed({"code": -32000, "message": str(exc)}) from None
        if comp.is_error:
            if isinstance(comp.error, EvmRevert):
                raise _CallFailed({"code": 3, "message": "execution reverted",
                                   "data": "0x" + bytes(comp.output).hex()})
            raise _CallFailed({"code": -32000, "message": str(comp.error)})
        return "0x" + bytes(comp.output).hex()

    def _eth_getBlockByNumber(self, block: Any, full: bool = False) -> dict[str, Any] | None:
        b = self.backend
        if block == "pending":
            number, timestamp, gas_used, base_fee = (b.latest_number + 1, b._next_ts, 0,
                                                     b.pending_base_fee())
        else:
            n = b.latest_number if block in ("latest", "safe", "finalized") else (
                0 if block == "earliest" else _int(block))
            mined = b.block(n)
            if mined is None:
                return None
            number, timestamp, gas_used, base_fee = (mined.number, mined.timestamp,
                                                     mined.gas_used, mined.base_fee)
        zero32 = "0x" + "00" * 32
        out: dict[str, Any] = {
            "number": _hex(number),
            # there are no block hashes on this backend: a stand-in derived from the number
            "hash": "0x" + keccak(b"settlesim pyevm block" + number.to_bytes(32, "big")).hex(),
            "parentHash": zero32, "nonce": "0x" + "00" * 8, "sha3Uncles": zero32,
            "logsBloom": "0x" + "00" * 256, "transactionsRoot": zero32, "receiptsRoot": zero32,
            "miner": "0x" + "00" * 20, "difficulty": "0x0", "totalDifficulty": "0x0",
            "extraData": "0x", "size": "0x0", "gasLimit": _hex(b.gas_limit),
            "gasUsed": _hex(gas_used), "timestamp": _hex(timestamp),
            "transactions": [], "uncles": [], "baseFeePerGas": _hex(base_fee),
            "mixHash": "0x" + keccak(number.to_bytes(32, "big")).hex(),
        }
        if block != "pending" and number == b.latest_number:
            out["stateRoot"] = "0x" + b.state_root().hex()
        return out


class _CallFailed(Exception):
    def __init__(self, error: dict[str, Any]) -> None:
        super().__init__(error.get("message", ""))
        self.error = error
