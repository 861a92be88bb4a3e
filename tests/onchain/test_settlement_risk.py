"""On-chain FX settlement risk, read from the contracts: PvP settles both legs in one
transaction (no principal at risk); a swap refunded after its deadline puts its first leg
at risk for as long as it was funded.

The rail runs on the contracts ledger (real FxSwap and Stablecoin contracts on the
embedded chain); every transaction the ledger sends is kept (a spy on the chain
client's ``transact_calldata``, which still sends it) so its receipt can be read.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import pytest

from settlement.chain import Chain
from sim.balances import balance_violations
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload
from sim.money import MINOR_EXPONENTS
from sim.onchain import rail as onchain
from sim.onchain.ledger import TOKEN_DECIMALS


@pytest.fixture
def sent(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str, Any]]:
    """Every transaction the contracts ledger sends: ``(label, sender, pending)``."""
    out: list[tuple[str, str, Any]] = []
    real = Chain.transact_calldata

    def keep(self: Chain, address: str, data: bytes, label: str, **kw: Any) -> Any:
        pending = real(self, address, data, label, **kw)
        out.append((label, kw["sender"], pending))
        return pending

    monkeypatch.setattr(Chain, "transact_calldata", keep)
    return out


def _fx_payments(n: int, seed: int) -> tuple[BankNetwork, Workload]:
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=n, network=net)
    assert any(p.currency_sent != p.currency_delivered for p in wl)
    return net, wl


@pytest.mark.slow
def test_pvp_settles_both_legs_in_one_transaction_so_nothing_is_at_risk(sent) -> None:
    net, wl = _fx_payments(8, 2)
    r = onchain.run(net, wl, seed=2, ledger="contracts")
    settles = [(s, p) for label, s, p in sent
               if label == "FxSwap.fund" and s == onchain.LP]
    fx = r.payments[r.payments["currency_sent"] != r.payments["currency_delivered"]]
    assert len(settles) == len(fx) > 0
    for _sender, pending in settles:
        rc = pending.receipt()
        names = [e.name for e in rc.events]
        assert "SwapSettled" in names            # the swap settled in this transaction
        # ... and both tokens moved in it: the sold currency to the provider, the bought
        # one to the bank
        movers = {e.address for e in rc.events if e.name == "Transfer"}
        assert len(movers) == 2
    credited = fx[fx["status"] == "credited"]
    assert len(credited) and (credited["risk_principal_sent"] == 0).all()
    assert credited["risk_start"].isna().all() and (credited["risk_s"] == 0).all()
    assert r.balances is not None and balance_violations(r.balances).empty
    # both ledgers agree on the balances and on what they cost, as on everything else
    t = onchain.run(net, wl, seed=2, ledger="table")
    pd.testing.assert_frame_equal(r.balances, t.balances)
    pd.testing.assert_frame_equal(r.payments, t.payments)


@pytest.mark.slow
def test_swap_refunded_after_its_deadline_counts_the_time_its_leg_was_funded(
        sent, monkeypatch: pytest.MonkeyPatch) -> None:
    # a deadline the provider's leg cannot meet: it is mined a block after the bank's
    monkeypatch.setattr(onchain, "_FX_DEADLINE_S", 14)
    net, wl = _fx_payments(4, 2)
    r = onchain.run(net, wl, seed=2, ledger="contracts")
    p = r.payments.set_index("payment_id")
    funds = {}
    for label, s, pending in sent:
        if label == "FxSwap.fund" and s != onchain.LP:
            funds[s] = funds.get(s, []) + [pending.receipt()]
    refunds = [pending.receipt() for label, _s, pending in sent if label == "FxSwap.refund"]
    fx = p[p["currency_sent"] != p["currency_delivered"]]
    assert len(refunds) == len(fx) > 0
    assert (fx["failure_reason"] == "PvP swap not completed: SwapExpired").all()
    for rc in refunds:
        back = rc.event("LegRefunded")
        # the funding of the same leg: its LegFunded event has the same swap id
        funded = [f for fs in funds.values() for f in fs
                  if any(e.name == "LegFunded" and e["swapId"] == back["swapId"]
                         for e in f.events)]
        assert len(funded) == 1
        f = funded[0]
        # the payment whose principal at risk is that leg, in its sent currency's units
        unit = fx["currency_sent"].map(lambda c: 10 ** (TOKEN_DECIMALS - MINOR_EXPONENTS[c]))
        row = fx[fx["risk_principal_sent"] * unit == back["amount"]]
        assert len(row) == 1, (back["amount"], fx["risk_principal_sent"].tolist())
        # at risk from the leg's funding block to its refund block, as the chain dated them
        assert row["risk_s"].iloc[0] == pytest.approx(rc.block_timestamp - f.block_timestamp)
        assert row["risk_start"].iloc[0].timestamp() == pytest.approx(f.block_timestamp)
    assert (fx["risk_s"] > 0).all()
