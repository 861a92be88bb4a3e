"""One USD -> MXN payment through the real contracts, step by step.

The payment is conditional end to end: a single hashlock ties the payer's
USDx lock to the payee's MXNx lock (HTLC-style), the currency is exchanged
payment-versus-payment, and the beneficiary bank's compliance attestation
releases the funds.

1. On-ramp: the USD issuer mints USDx to the sender's client against a deposit.
2. The client locks USDx in the escrow for the sender bank with EIP-2612
   permit (one transaction), hashlock H.
3. PvP: the sender bank swaps USDx for MXNx with an FX liquidity provider
   (each funds its leg; the second funding settles both atomically).
4. The sender bank locks the MXNx for the payee under the same hashlock H,
   releasable only with the beneficiary bank's attestation.
5. The beneficiary bank attests (its compliance release) with the preimage;
   the payee receives MXNx, less the escrow fee.
6. The sender bank claims the client's USDx with the now public preimage.
7. Off-ramp: the payee redeems MXNx with the MXN issuer, who burns it.

The two locks stay atomic even if a token is paused (or an account blacklisted)
across their deadlines: a release proven before its deadline is recorded as
``Proven`` and paid by a later ``claim``, never refunded (the escrow's pause
rule), so the preimage the payee's release reveals always lets the sender bank
claim the client's USDx. Fees accrue in the escrow for the fee collector to
withdraw.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal

from settlement.chain import Chain, Receipt
from settlement.clients import hashlock_of
from settlement.deploy import deploy_stack, minter_name

__all__ = ["DemoStep", "run_demo"]

UNIT = 10**6
#: Indicative USD/MXN rate and spread for the demo only (not a model default).
DEMO_RATE = Decimal("17.25")
DEMO_SPREAD_BPS = 30


@dataclass(frozen=True)
class DemoStep:
    n: int
    what: str
    receipt: Receipt


def run_demo(
    rpc_url: str | None = None,
    amount_usd: int = 1_000,
    out: Callable[[str], None] = print,
) -> list[DemoStep]:
    """Run the demo payment and print each step; returns the steps with their receipts.

    Raises:
        ValueError: the amount is not positive.
        settlement.ContractRevert: a step reverted (the message names the error).
    """
    if amount_usd <= 0:
        raise ValueError(f"--amount must be a positive number of USD, got {amount_usd}")
    chain = Chain(rpc_url)
    stack = deploy_stack(chain, ("USD", "MXN"), escrow_fee_bps=10)
    usd, mxn, escrow, fx = stack.tokens["USD"], stack.tokens["MXN"], stack.escrow, stack.fx
    where = rpc_url or "embedded eth-tester chain"
    out(f"settlesim demo: USD {amount_usd:,} -> MXN on {where} (chain id {chain.chain_id})")
    out(f"  USDx {usd.address}  MXNx {mxn.address}")
    out(f"  escrow {escrow.address}  fx {fx.address}")

    amount = amount_usd * UNIT
    mxn_amount = int(Decimal(amount) * DEMO_RATE * (1 - Decimal(DEMO_SPREAD_BPS) / 10_000))
    preimage = hashlib.sha256(b"settlesim demo payment reference").digest()
    lock_hash = hashlock_of(preimage)
    now = chain.latest_timestamp()
    steps: list[DemoStep] = []

    def step(what: str, r: object) -> None:
        assert isinstance(r, Receipt)
        steps.append(DemoStep(len(steps) + 1, what, r))
        fee_eth = Decimal(r.fee_wei) / Decimal(10**18)
        out(f"{len(steps):>2}. block {r.block_number:>4} t={r.block_timestamp}  "
            f"gas {r.gas_used:>7,}  fee {fee_eth:.6f} ETH  {what}")

    # liquidity the banks hold before the payment (set-up, not part of the payment)
    usd.mint("sender_bank", 100_000 * UNIT, sender=minter_name("USD"))
    mxn.mint("fx_provider", 10_000_000 * UNIT, sender=minter_name("MXN"))
    usd.approve(fx.address, 2**256 - 1, sender="sender_bank")
    mxn.approve(fx.address, 2**256 - 1, sender="fx_provider")
    mxn.approve(escrow.address, 2**256 - 1, sender="sender_bank")

    step(f"on-ramp: issuer mints {amount_usd:,} USDx to the client",
         usd.mint("client", amount, sender=minter_name("USD")))
    t_usd = escrow.terms(usd, "sender_bank", amount, now + 2 * 86_400, hashlock=lock_hash)
    step("client locks USDx for the sender bank (permit + lock, hashlock H)",
         escrow.lock_with_permit(t_usd, usd, sender="client"))
    swap = fx.terms("sender_bank", usd, amount, "fx_provider", mxn, mxn_amount, now + 3_600)
    step("PvP: sender bank funds its USDx leg", fx.fund(swap, sender="sender_bank"))
    step(f"PvP: FX provider funds {mxn_amount / UNIT:,.2f} MXNx; both legs settle atomically",
         fx.fund(swap, sender="fx_provider"))
    t_mxn = escrow.terms(mxn, "payee", mxn_amount, now + 86_400, hashlock=lock_hash,
                         agent="beneficiary_bank")
    step("sender bank locks MXNx for the payee (hashlock H + beneficiary bank's attestation)",
         escrow.lock(t_mxn, sender="sender_bank"))
    r = escrow.release("sender_bank", t_mxn, preimage, sender="beneficiary_bank")
    step("beneficiary bank attests (compliance release); payee credited", r)
    step("sender bank claims the client's USDx with the revealed preimage",
         escrow.release("client", t_usd, preimage, sender="sender_bank"))
    received = mxn.balance_of("payee")
    step("off-ramp: payee returns MXNx to the issuer",
         mxn.transfer(minter_name("MXN"), received, sender="payee"))
    step("off-ramp: issuer burns it and pays out pesos",
         mxn.burn(received, sender=minter_name("MXN")))

    total_gas = sum(s.receipt.gas_used for s in steps)
    assert isinstance(r, Receipt)
    fee = r.event("Released")["fee"]
    span = steps[-1].receipt.block_timestamp - steps[0].receipt.block_timestamp
    out(f"payee received {received / UNIT:,.2f} MXN (escrow fee {fee / UNIT:,.2f} MXNx); "
        f"{len(steps)} transactions, {total_gas:,} gas, {span} s of block time on this chain")
    out(f"supply after: USDx {usd.total_supply() / UNIT:,.2f}  "
        f"MXNx {mxn.total_supply() / UNIT:,.2f}")
    return steps
