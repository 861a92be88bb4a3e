"""Measure the gas of every settlement operation on the embedded chain.

:func:`measure_gas` deploys the stack on a fresh eth-tester chain with a fixed
genesis instant and runs each operation once, in a fixed order, so the figures
are reproducible to the unit. Nothing here is typed in: the table is what the
EVM charged. The on-chain rail's gas-table ledger reads the committed copy
(``settlement/artifacts/gas_report.json``), and a test checks that the copy
matches a fresh measurement.

Example::

    >>> report = measure_gas(batch_size=2)                    # doctest: +SKIP
    >>> report["operations"]["transfer"]["gas"]               # doctest: +SKIP
    51...
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from settlement.chain import Chain, Receipt
from settlement.clients import hashlock_of
from settlement.compile import ARTIFACTS_DIR, COMPILER_SETTINGS, load_artifact
from settlement.deploy import deploy_stack, minter_name

__all__ = ["GAS_REPORT_PATH", "GENESIS", "load_gas_report", "measure_gas"]

GAS_REPORT_PATH = ARTIFACTS_DIR / "gas_report.json"

#: Fixed genesis instant of the measurement chain: 2026-01-01T00:00:00Z.
GENESIS = 1_767_225_600
DAY = 86_400
UNIT = 10**6  # 6 decimals

#: Escrow fee charged in the measurement (basis points), so the fee transfer is counted.
MEASURED_ESCROW_FEE_BPS = 5


def _preimage(label: str) -> bytes:
    return hashlib.sha256(f"settlesim gas report {label}".encode()).digest()


def _salt(i: int) -> bytes:
    return i.to_bytes(32, "big")


def measure_gas(batch_size: int = 10) -> dict[str, Any]:
    """Run every operation once on a fresh embedded chain; return gas per operation.

    Returns:
        ``{"chain", "compiler", "evmVersion", "sourcesSha256", "batch_size",
        "operations": {name: {"gas": int, "description": str}}}``; batch
        operations also give ``"gas_per_item"``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    chain = Chain(genesis_timestamp=GENESIS)
    stack = deploy_stack(chain, ("USD", "MXN"), escrow_fee_bps=MEASURED_ESCROW_FEE_BPS)
    usd, mxn, escrow, fx = stack.tokens["USD"], stack.tokens["MXN"], stack.escrow, stack.fx
    ops: dict[str, dict[str, Any]] = {}

    def rec(name: str, r: Any, description: str, items: int = 1) -> None:
        assert isinstance(r, Receipt)
        entry: dict[str, Any] = {"gas": r.gas_used, "description": description}
        if items > 1:
            entry["gas_per_item"] = r.gas_used // items
        ops[name] = entry

    deadline = GENESIS + 30 * DAY
    m_usd, m_mxn = minter_name("USD"), minter_name("MXN")

    rec("mint", usd.mint("sender_client", 10_000 * UNIT, sender=m_usd),
        "issuer mints to an account that holds none")
    rec("mint_existing", usd.mint("sender_client", 10_000 * UNIT, sender=m_usd),
        "issuer mints to an account that already holds some")
    rec("transfer", usd.transfer("payee", 100 * UNIT, sender="sender_client"),
        "ERC-20 transfer to a new holder")
    rec("transfer_existing", usd.transfer("payee", 100 * UNIT, sender="sender_client"),
        "ERC-20 transfer to an existing holder")
    rec("approve", usd.approve(escrow.address, 1_000 * UNIT, sender="sender_client"),
        "ERC-20 approve of the escrow")
    v, r_, s = usd.sign_permit("payee", escrow.address, 50 * UNIT, deadline)
    rec("permit", usd.permit("payee", escrow.address, 50 * UNIT, deadline, v, r_, s,
                             sender="relayer"),
        "EIP-2612 permit submitted by a relayer")

    agent = chain.account("beneficiary_bank")
    hl = hashlock_of(_preimage("lock"))
    t_hash = escrow.terms(usd, "beneficiary", 100 * UNIT, deadline, hashlock=hl, salt=_salt(1))
    rec("lock", escrow.lock(t_hash, sender="sender_client"),
        "escrow lock with a hashlock (after approve)")
    t_att = escrow.terms(usd, "beneficiary", 100 * UNIT, deadline, agent=agent, salt=_salt(2))
    rec("lock_with_permit", escrow.lock_with_permit(t_att, usd, sender="sender_client"),
        "escrow lock with attestation release, funded by permit in one transaction")
    batch = [escrow.terms(usd, "beneficiary", 10 * UNIT, deadline, agent=agent, salt=_salt(100 + i))
             for i in range(batch_size)]
    usd.approve(escrow.address, 10_000 * UNIT, sender="sender_client")
    rec("lock_batch", escrow.lock_batch(batch, sender="sender_client"),
        f"escrow batch lock of {batch_size}", items=batch_size)
    lock_hash = escrow.lock_id_of("sender_client", t_hash)
    rec("release_preimage", escrow.release(lock_hash, _preimage("lock"), sender="beneficiary"),
        "release of a hashlocked lock with its preimage (fee to the collector)")
    lock_att = escrow.lock_id_of("sender_client", t_att)
    rec("release_attestation", escrow.release(lock_att, sender="beneficiary_bank"),
        "release by the settlement agent's attestation (fee to the collector)")
    ids = [escrow.lock_id_of("sender_client", t) for t in batch]
    rec("release_batch", escrow.release_batch(ids, sender="beneficiary_bank"),
        f"batch release of {batch_size} by attestation", items=batch_size)

    short = chain.latest_timestamp() + 3_600
    t_ref = escrow.terms(usd, "beneficiary", 100 * UNIT, short, agent=agent, salt=_salt(3))
    escrow.lock(t_ref, sender="sender_client")

    # FX: the sender's bank sells USDx for MXNx to a liquidity provider, PvP
    usd.mint("sender_bank", 10_000 * UNIT, sender=m_usd)
    mxn.mint("fx_provider", 1_000_000 * UNIT, sender=m_mxn)
    usd.approve(fx.address, 10_000 * UNIT, sender="sender_bank")
    mxn.approve(fx.address, 1_000_000 * UNIT, sender="fx_provider")
    swap = fx.terms("sender_bank", usd, 1_000 * UNIT, "fx_provider", mxn, 17_000 * UNIT,
                    deadline, salt=_salt(4))
    rec("fx_fund", fx.fund(swap, sender="sender_bank"), "first leg of a PvP swap funded")
    rec("fx_settle", fx.fund(swap, sender="fx_provider"),
        "second leg funded: the swap settles atomically in the same transaction")
    swap2 = fx.terms("sender_bank", usd, 500 * UNIT, "fx_provider", mxn, 8_500 * UNIT, short,
                     salt=_salt(5))
    fx.fund(swap2, sender="sender_bank")

    chain.set_next_block_timestamp(short + 1)
    rec("refund", escrow.refund(escrow.lock_id_of("sender_client", t_ref), sender="sender_client"),
        "escrow refund to the payer after the deadline")
    rec("fx_refund", fx.refund(fx.swap_id_of(swap2), sender="sender_bank"),
        "refund of a swap's funded leg after its deadline")

    usd.transfer(m_usd, 150 * UNIT, sender="payee")
    rec("burn", usd.burn(100 * UNIT, sender=m_usd),
        "issuer burns redeemed stablecoins (off-ramp)")

    art = load_artifact("Stablecoin")
    return {
        "chain": "eth-tester (py-evm), EVM prague",
        "compiler": art["compiler"]["version"],
        "evmVersion": COMPILER_SETTINGS["evmVersion"],
        "optimizer": COMPILER_SETTINGS["optimizer"],
        "sourcesSha256": art["sourcesSha256"],
        "batch_size": batch_size,
        "escrow_fee_bps": MEASURED_ESCROW_FEE_BPS,
        "operations": ops,
    }


def load_gas_report(path: Path | None = None) -> dict[str, Any]:
    """The committed gas report (``settlesim gas-report --write`` refreshes it)."""
    p = path or GAS_REPORT_PATH
    if not p.exists():
        raise FileNotFoundError(f"no gas report at {p}; run 'settlesim gas-report --write'")
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data
