"""Stress events on the on-chain rail, and both ledgers giving identical tables under them.

In the contracts ledger the contracts themselves enforce the events (the token's
blacklist, its issuer's minter removed); the gas table predicts the same refusals.
"""

from __future__ import annotations

import math
from decimal import ROUND_FLOOR, Decimal

import numpy as np
import pandas as pd
import pytest

from sim.banking.network import BankNetwork
from sim.banking.workload import Workload
from sim.events import Event, EventSchedule
from sim.experiments.components import build_components
from sim.experiments.scenario import Scenario
from sim.onchain import rail as onchain
from sim.onchain.chains import get_chain_profile
from sim.onchain.fee_market import FeeMarket
from sim.results import conservation_violations, step_violations
from tests.onchain.conftest import at, one

H = 3600.0
T0 = at(2025, 11, 4, 15)          # a Tuesday, US morning


def _run(net: BankNetwork, wl: Workload, *events: Event, ledger: str = "table",
         **kw: object) -> tuple[pd.Series, pd.DataFrame]:
    r = onchain.run(net, wl, seed=11, ledger=ledger, events=EventSchedule(events), **kw)
    assert conservation_violations(r.payments).empty
    assert step_violations(r.payments, r.steps).empty
    return r.payments.iloc[0], r.steps


def _mined(steps: pd.DataFrame, what: str) -> float:
    row = steps[(steps.kind == "mempool") & steps.detail.str.startswith(what)].iloc[0]
    return float(row.ended_at.timestamp())


EVERY_KIND = [
    {"kind": "bank_outage", "bank": "GCUSUS33", "start": "2025-11-03T14:00:00Z", "hours": 6,
     "return_after_hours": 4},
    {"kind": "chain_halt", "start": "2025-11-03T15:00:00Z", "hours": 2},
    {"kind": "issuer_freeze", "currency": "MXN", "start": "2025-11-03T16:00:00Z", "hours": 20,
     "price_path": [{"at": "2025-11-03T16:00:00Z", "price": 0.9},
                    {"at": "2025-11-04T12:00:00Z", "price": 0.95}], "policy": "sell"},
    {"kind": "issuer_freeze", "currency": "EUR", "start": "2025-11-03T16:00:00Z", "hours": 20},
    {"kind": "sanction", "bank": "GCGBGB2L", "at": "2025-11-03T18:00:00Z", "hours": 10},
    {"kind": "sanction", "bank": "RBGBGB22", "at": "2025-11-03T17:00:00Z"},
    {"kind": "fx_provider_outage", "start": "2025-11-03T20:00:00Z", "hours": 3},
    {"kind": "congestion", "start": "2025-11-03T19:00:00Z", "hours": 0.5, "utilisation": 0.9},
]


def test_both_ledgers_agree_under_every_kind_of_event() -> None:
    sc = Scenario(name="every-event", horizon={"start": "2025-11-03T12:00:00Z", "days": 1},
                  events=EVERY_KIND)
    c = build_components(sc)
    wl = Workload.generate(c.workload_spec, seed=5, n_payments=40, network=c.network,
                           start=c.start, days=c.days)
    out = {}
    for ledger in ("table", "contracts"):
        out[ledger] = onchain.run(c.network, wl, 5, spec=c.onchain_spec, chain=c.chain,
                                  ledger=ledger, events=c.events, congestion=c.congestion)
    t, k = out["table"], out["contracts"]
    pd.testing.assert_frame_equal(t.payments, k.payments)
    pd.testing.assert_frame_equal(t.steps, k.steps)
    assert all(a == b for a, b in k.meta["supply_check"].values())
    # every kind left its mark (the comparison is not between two sunny days)
    st, pay = t.steps, t.payments
    text = st.detail.astype(str)
    assert text.str.contains("GCUSUS33 down: event 0").any()
    assert text.str.contains("delayed by event 1 \\(chain_halt").any()
    assert text.str.contains("the issuer's ramps closed: event 3").any()
    assert text.str.contains("FX provider not quoting: event 6").any()
    assert (pay.loss > 0).any() and (pay.frozen > 0).any()
    assert pay.failure_reason.str.contains("event 5 \\(sanction RBGBGB22", na=False).any()
    ended = pay[pay.status != "credited"]      # nothing delivered: fees and frozen value
    assert (ended.amount_sent == ended.fee_total_sent + ended.frozen).all()


def test_no_block_is_produced_during_a_halt_and_waiting_transactions_say_why(
        net: BankNetwork) -> None:
    twin, tsteps = _run(net, one(net, T0))
    minted = _mined(tsteps, "mint")
    halt = Event(0, "chain_halt", minted + 1, minted + 2 * H, "ethereum-l1")
    row, steps = _run(net, one(net, T0), halt)
    mem = steps[steps.kind == "mempool"]
    ends = np.array([e.timestamp() for e in mem.ended_at])
    assert not ((ends >= halt.start) & (ends < halt.end)).any()
    held = mem[mem.detail.str.contains("delayed by " + halt.label, regex=False)]
    assert len(held) == 1 and held.ended_at.iloc[0].timestamp() >= halt.end
    assert row.status == "credited" and row.latency_s > twin.latency_s


def test_a_halt_past_the_swaps_deadline_refunds_the_funded_leg(net: BankNetwork) -> None:
    _, tsteps = _run(net, one(net, T0))
    funded = _mined(tsteps, "fund the USDx leg")
    halt = Event(0, "chain_halt", funded + 1, funded + 7 * H, "ethereum-l1")
    row, steps = _run(net, one(net, T0), halt)
    assert row.status == "failed" and row.failure_reason == \
        "PvP swap not completed: SwapExpired"
    assert steps.detail.str.startswith("refund the funded leg").any()


@pytest.mark.parametrize("ledger", ["table", "contracts"])
def test_a_bank_selling_during_a_freeze_bears_the_loss_its_customer_is_paid(
        net: BankNetwork, ledger: str) -> None:
    twin, tsteps = _run(net, one(net, T0), ledger=ledger)
    locked = _mined(tsteps, "lock")
    fz = Event(0, "issuer_freeze", locked, locked + 48 * H, "MXN",
               price_path=((locked, 0.88), (locked + 48 * H, 0.98)), policy="sell")
    row, steps = _run(net, one(net, T0), fz, ledger=ledger)
    assert row.status == "credited"
    assert row.amount_delivered == twin.amount_delivered       # as charged
    sold = steps[steps.detail.str.startswith("sold on the secondary market")].iloc[0]
    price = Decimal(sold.detail.split(" at ")[1].split(" ")[0])
    assert Decimal("0.88") <= price <= Decimal("0.98")
    sale = steps[steps.detail.str.startswith("sell ")].iloc[0]
    minor = int(Decimal(sale.detail.split(" ")[1].replace(",", "")) * 100)   # pesos, cents
    lost = minor - int((Decimal(minor) * price).to_integral_value(rounding=ROUND_FLOOR))
    rate = net.fx.rate("MXN", "USD")
    assert row.loss == int((Decimal(lost) * rate).to_integral_value(rounding="ROUND_HALF_EVEN"))
    assert row.loss > 0
    assert row.latency_s < twin.latency_s + 3600      # no wait for the issuer


def test_a_bank_waiting_for_the_issuer_redeems_when_the_freeze_ends(net: BankNetwork) -> None:
    twin, tsteps = _run(net, one(net, T0))
    locked = _mined(tsteps, "lock")
    fz = Event(0, "issuer_freeze", locked, locked + 30 * H, "MXN", policy="wait")
    row, steps = _run(net, one(net, T0), fz)
    wait = steps[steps.kind == "outage"].iloc[0]
    assert wait.place == "issuer:MXN" and fz.label in wait.detail
    assert wait.ended_at.timestamp() == pytest.approx(fz.end)
    assert row.loss == 0 and row.status == "credited"
    assert row.credited_at.timestamp() > fz.end


def test_the_blacklist_refuses_the_payout_and_a_lifted_sanction_lets_it_be_claimed(
        net: BankNetwork) -> None:
    _, tsteps = _run(net, one(net, T0))
    locked = _mined(tsteps, "lock")
    # the beneficiary bank sanctioned after the lock: its release is proven, not paid
    forever = Event(0, "sanction", locked + 1, math.inf, "PLMXMXMM")
    row, steps = _run(net, one(net, T0), forever)
    assert row.status == "failed" and "payout refused" in row.failure_reason
    assert row.frozen > 0 and (steps.kind == "frozen").any()
    lifted = Event(0, "sanction", locked + 1, locked + 20 * H, "PLMXMXMM")
    row, steps = _run(net, one(net, T0), lifted)
    assert row.status == "credited" and row.frozen == 0
    assert steps.detail.str.startswith("beneficiary bank claims").any()


def test_the_fee_market_waits_through_a_halt() -> None:
    prof = get_chain_profile("ethereum-l1")

    def market(halts: list[tuple[float, float]]) -> FeeMarket:
        return FeeMarket(prof, np.random.default_rng(3), (), halts)

    bt = prof.block_time_s
    halted, plain = market([(10 * bt, 400 * bt)]), market([])
    for m in (halted, plain):
        for n in range(10):
            m.open_block(n, n * bt)
            m.close_block(0)
    before = halted.base_fee_wei
    for m in (halted, plain):
        m.open_block(400, 400 * bt)       # the slots 10..399 skipped at once
    assert halted.base_fee_wei == before != plain.base_fee_wei
    # the demand process took a draw per slot either way: the streams stay aligned
    assert halted._drawn == plain._drawn


def test_a_sanction_of_the_ordering_bank_freezes_what_the_issuer_holds(net: BankNetwork
                                                                      ) -> None:
    sanction = Event(0, "sanction", T0 - H, math.inf, "bank:RBUSUS44", on_chain_only=True)
    row, steps = _run(net, one(net, T0), sanction)
    assert row.status == "failed" and row.frozen > 0
    assert row.failure_reason.startswith("mint to the ordering bank refused")
    assert row.amount_sent == row.frozen + row.fee_total_sent
