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

__all__ = [
    "GAS_REPORT_PATH",
    "GENESIS",
    "PREVIOUS_BASELINE_PAYMENT_GAS",
    "load_gas_report",
    "measure_gas",
]

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
    """Run every operation on a fresh embedded chain; return gas per operation.

    Each row's description starts with ``first-time`` (the operation also creates storage
    that later ones find in place: a new holder's balance, a contract's first balance of a
    token, a first allowance or nonce, a first fee accrued) or ``steady state`` (as every
    later payment pays it). ``baseline_payment`` sums the transactions of one payment of the
    on-chain rail's baseline (mint, FX fund, FX settle, lock, release by attestation, redeem,
    burn), each in the steady state, beside the figure of the previous contracts (commit d872d0c).

    Returns:
        ``{"chain", "compiler", "evmVersion", "sourcesSha256", "batch_size",
        "operations": {name: {"gas": int, "description": str}}, "baseline_payment": {...}}``;
        batch operations also give ``"gas_per_item"``.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, got {batch_size}")
    chain = Chain(genesis_timestamp=GENESIS)
    stack = deploy_stack(chain, ("USD", "MXN"), escrow_fee_bps=MEASURED_ESCROW_FEE_BPS)
    usd, mxn, escrow, fx = stack.tokens["USD"], stack.tokens["MXN"], stack.escrow, stack.fx
    ops: dict[str, dict[str, Any]] = {}

    def rec(name: str, r: Any, description: str, items: int = 1) -> int:
        assert isinstance(r, Receipt)
        assert description.startswith(("first-time: ", "steady state: ")), description
        entry: dict[str, Any] = {"gas": r.gas_used, "description": description}
        if items > 1:
            entry["gas_per_item"] = r.gas_used // items
        ops[name] = entry
        return r.gas_used

    deadline = GENESIS + 20 * DAY
    m_usd, m_mxn = minter_name("USD"), minter_name("MXN")
    agent = chain.account("beneficiary_bank")

    # -- the stablecoin
    rec("mint", usd.mint("sender_client", 10_000 * UNIT, sender=m_usd),
        "first-time: issuer mints to an account that holds none")
    rec("mint_existing", usd.mint("sender_client", 10_000 * UNIT, sender=m_usd),
        "steady state: issuer mints to an account that already holds some")
    rec("transfer", usd.transfer("payee", 100 * UNIT, sender="sender_client"),
        "first-time: ERC-20 transfer to a new holder")
    rec("transfer_existing", usd.transfer("payee", 100 * UNIT, sender="sender_client"),
        "steady state: ERC-20 transfer to an existing holder")
    rec("approve", usd.approve(escrow.address, 1_000 * UNIT, sender="sender_client"),
        "first-time: ERC-20 approve of the escrow (allowance from zero)")
    v, r_, s = usd.sign_permit("payee", escrow.address, 50 * UNIT, deadline)
    rec("permit", usd.permit("payee", escrow.address, 50 * UNIT, deadline, v, r_, s,
                             sender="relayer"),
        "first-time: EIP-2612 permit submitted by a relayer (the signer's first nonce, "
        "allowance from zero)")

    # -- the escrow
    hl = hashlock_of(_preimage("lock"))
    t_hash = escrow.terms(usd, "beneficiary", 100 * UNIT, deadline, hashlock=hl, salt=_salt(1))
    rec("lock", escrow.lock(t_hash, sender="sender_client"),
        "first-time: the escrow's first lock of the token (its balance and locked total from "
        "zero), hashlock")
    t_att = escrow.terms(usd, "beneficiary", 100 * UNIT, deadline, agent=agent, salt=_salt(2))
    rec("lock_attestation", escrow.lock(t_att, sender="sender_client"),
        "steady state: escrow lock released by the settlement agent's attestation (after "
        "approve)")
    usd.transfer("permit_payer", 500 * UNIT, sender="sender_client")
    t_prm = escrow.terms(usd, "beneficiary", 100 * UNIT, deadline, agent=agent, salt=_salt(3))
    rec("lock_with_permit", escrow.lock_with_permit(t_prm, usd, sender="permit_payer"),
        "steady state: escrow lock funded by the payer's permit in the same transaction (no "
        "allowance before)")
    batch = [escrow.terms(usd, "beneficiary", 10 * UNIT, deadline, agent=agent, salt=_salt(100 + i))
             for i in range(batch_size)]
    usd.approve(escrow.address, 100_000 * UNIT, sender="sender_client")
    rec("lock_batch", escrow.lock_batch(batch, sender="sender_client"),
        f"steady state: escrow batch lock of {batch_size}", items=batch_size)
    rec("release_preimage", escrow.release("sender_client", t_hash, _preimage("lock"),
                                           sender="beneficiary"),
        "first-time: release of a hashlocked lock with its preimage to a new holder; the "
        "token's first fee accrues (from zero)")
    rec("release_attestation", escrow.release("sender_client", t_att, sender="beneficiary_bank"),
        "steady state: release by the settlement agent's attestation; the fee accrues for "
        "the collector")
    rec("release_batch", escrow.release_batch(["sender_client"] * batch_size, batch,
                                              sender="beneficiary_bank"),
        f"steady state: batch release of {batch_size} by attestation", items=batch_size)
    rec("reject", escrow.reject("permit_payer", t_prm, sender="beneficiary_bank"),
        "steady state: the settlement agent rejects a lock; the payer is refunded at once")
    rec("withdraw_fees", escrow.withdraw_fees(usd, sender="fee_collector"),
        "first-time: the fee collector withdraws the token's accrued fees (its first balance)")

    short = chain.latest_timestamp() + 3_600
    t_ref = escrow.terms(usd, "beneficiary", 100 * UNIT, short, agent=agent, salt=_salt(4))
    escrow.lock(t_ref, sender="sender_client")

    # -- the FX swap: the sender's bank sells USDx for MXNx to a liquidity provider, PvP
    usd.mint("sender_bank", 10_000 * UNIT, sender=m_usd)
    mxn.mint("sender_bank", 1 * UNIT, sender=m_mxn)
    mxn.mint("fx_provider", 1_000_000 * UNIT, sender=m_mxn)
    usd.mint("fx_provider", 1 * UNIT, sender=m_usd)
    usd.approve(fx.address, 2**256 - 1, sender="sender_bank")
    mxn.approve(fx.address, 2**256 - 1, sender="fx_provider")
    swap = fx.terms("sender_bank", usd, 1_000 * UNIT, "fx_provider", mxn, 17_000 * UNIT,
                    chain.latest_timestamp() + DAY, salt=_salt(5))
    rec("fx_fund", fx.fund(swap, sender="sender_bank"),
        "first-time: first leg of a PvP swap funded; the swap's first held leg of the token "
        "(its balance and held total from zero)")
    swap2 = fx.terms("sender_bank", usd, 500 * UNIT, "fx_provider", mxn, 8_500 * UNIT, short,
                     salt=_salt(6))
    rec("fx_fund_steady", fx.fund(swap2, sender="sender_bank"),
        "steady state: first leg of a PvP swap funded while others are held")
    rec("fx_settle", fx.fund(swap, sender="fx_provider"),
        "steady state: second leg funded: the swap settles atomically in the same transaction")

    chain.set_next_block_timestamp(short + 1)
    rec("refund", escrow.refund("sender_client", t_ref, sender="sender_client"),
        "steady state: escrow refund to the payer after the deadline")
    rec("fx_refund", fx.refund(swap2, sender="sender_bank"),
        "steady state: refund of a swap's funded leg after its deadline")

    usd.transfer(m_usd, 150 * UNIT, sender="payee")
    rec("burn", usd.burn(100 * UNIT, sender=m_usd),
        "steady state: issuer burns redeemed stablecoins (off-ramp)")

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
        "baseline_payment": _baseline_payment(),
    }


#: Gas of one baseline payment of the on-chain rail (all seven transactions, steady state) on
#: the previous contracts (7-slot locks, 9-slot swaps, fees pushed to the collector),
#: as ``sim.onchain.ledger.measure_rail_gas`` measured it at commit d872d0c: mint 55,621, FX fund
#: 262,315, FX settle 87,662, lock 201,169, release 84,608, redeem 41,286, burn 47,349.
PREVIOUS_BASELINE_PAYMENT_GAS = 780_010


def _baseline_payment() -> dict[str, Any]:
    """One payment of the rail's baseline through the contracts, every transaction in the
    steady state: a bank that already holds both tokens buys MXNx for USDx by PvP, locks it
    for the beneficiary bank (attestation release, 5 bps fee), which releases it, redeems it
    with the issuer, who burns it. The contracts already hold each token, for open locks,
    held legs and accrued fees (as in the rail's warm-up)."""
    chain = Chain(genesis_timestamp=GENESIS)
    stack = deploy_stack(chain, ("USD", "MXN"), escrow_fee_bps=MEASURED_ESCROW_FEE_BPS)
    usd, mxn, escrow, fx = stack.tokens["USD"], stack.tokens["MXN"], stack.escrow, stack.fx
    m_usd, m_mxn = minter_name("USD"), minter_name("MXN")
    bank, ben, lp = "bank_S", "bank_B", "fx_provider"
    for tok, m in ((usd, m_usd), (mxn, m_mxn)):
        for who in (bank, ben, lp, "sentinel", m):
            tok.mint(who, 1_000_000 * UNIT, sender=m)
            tok.approve(escrow.address, 2**256 - 1, sender=who)
            tok.approve(fx.address, 2**256 - 1, sender=who)
    # standing state: an open lock and an accrued fee per token, a held swap leg per token
    now = chain.latest_timestamp()
    far = now + 20 * DAY
    for tok, other in ((usd, mxn), (mxn, usd)):
        t = escrow.terms(tok, "sentinel", UNIT, far, agent="sentinel", salt=_salt(7))
        escrow.lock(t, sender="sentinel")
        t = escrow.terms(tok, "sentinel", UNIT, far, agent="sentinel", salt=_salt(8))
        escrow.lock(t, sender="sentinel")
        escrow.release("sentinel", t, sender="sentinel")
        fx.fund(fx.terms("sentinel", tok, UNIT, lp, other, UNIT, now + DAY, salt=_salt(9)),
                sender="sentinel")
    a_usd, a_mxn = 1234 * UNIT + 567_891, 21_345 * UNIT + 678_912
    gas: dict[str, int] = {}
    gas["mint"] = _gas(usd.mint(bank, a_usd, sender=m_usd))
    now = chain.latest_timestamp()
    sw = fx.terms(bank, usd, a_usd, lp, mxn, a_mxn, now + 3_600, salt=_salt(10))
    gas["fx_fund"] = _gas(fx.fund(sw, sender=bank))
    gas["fx_settle"] = _gas(fx.fund(sw, sender=lp))
    t = escrow.terms(mxn, ben, a_mxn, now + 3 * DAY, agent=ben, salt=_salt(10))
    gas["lock"] = _gas(escrow.lock(t, sender=bank))
    gas["release"] = _gas(escrow.release(bank, t, sender=ben))
    paid = a_mxn - a_mxn * MEASURED_ESCROW_FEE_BPS // 10_000
    gas["redeem"] = _gas(mxn.transfer(m_mxn, paid, sender=ben))
    gas["burn"] = _gas(mxn.burn(paid, sender=m_mxn))
    total = sum(gas.values())
    return {
        "description": "steady state: one baseline payment of the on-chain rail, all its "
                       "transactions (mint, FX fund, FX settle, lock, release by attestation, "
                       "redeem, burn)",
        "operations": gas,
        "gas": total,
        "previous_gas": PREVIOUS_BASELINE_PAYMENT_GAS,
        "reduction": round(1 - total / PREVIOUS_BASELINE_PAYMENT_GAS, 4),
    }


def _gas(r: Any) -> int:
    assert isinstance(r, Receipt)
    return r.gas_used


def load_gas_report(path: Path | None = None) -> dict[str, Any]:
    """The committed gas report (``settlesim gas-report --write`` refreshes it)."""
    p = path or GAS_REPORT_PATH
    if not p.exists():
        raise FileNotFoundError(f"no gas report at {p}; run 'settlesim gas-report --write'")
    data: dict[str, Any] = json.loads(p.read_text(encoding="utf-8"))
    return data
