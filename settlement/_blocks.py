"""What an embedded chain backend hands back after mining a block (internal).

Both embedded backends (:mod:`settlement._pyevm` and the eth-tester one in
:mod:`settlement.chain`) report a block as a :class:`RawBlock` of
:class:`RawTx`, and :class:`settlement.Chain` turns them into receipts. Logs
stay as py-evm gives them, ``(address, topics as integers, data)``, until a
receipt's events or logs are asked for.
"""

from __future__ import annotations

from dataclasses import dataclass

#: one log as py-evm records it: emitting address (20 bytes), topics, data
RawLog = tuple[bytes, tuple[int, ...], bytes]


@dataclass(frozen=True)
class RawTx:
    tx_hash: str
    status: int
    gas_used: int
    effective_gas_price: int
    logs: tuple[RawLog, ...]
    revert: bytes | None
    contract_address: str | None


@dataclass(frozen=True)
class RawBlock:
    number: int
    timestamp: int
    gas_used: int
    base_fee_per_gas: int
    txs: list[RawTx]
