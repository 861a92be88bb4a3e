"""What an event costs (sim.experiments.stress), on hand-built tables with known answers,
and the twin of a real run: the same payments, without the events."""

from __future__ import annotations

import doctest
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from sim.banking.network import FxTable
from sim.events import Event, EventSchedule
from sim.experiments.runner import run_scenario
from sim.experiments.scenario import load_scenario
from sim.experiments.stress import TwinMismatchError, event_costs, usd_total
from sim.results import FEE_COLUMNS, PAYMENT_COLUMNS, STEP_COLUMNS, Results

FX = FxTable("USD", {"USD": Decimal(1), "MXN": Decimal(20)})
T0 = 1_762_128_000.0                    # Mon 3 Nov 2025 00:00 UTC
H = 3600.0
OUTAGE = Event(0, "bank_outage", T0 + 2 * H, T0 + 5 * H, "HUB")
EVENTS = EventSchedule([OUTAGE])


def _ts(x: float | None) -> pd.Timestamp:
    return pd.NaT if x is None else pd.Timestamp(int(round(x * 1e6)), unit="us", tz="UTC")


def _tables(rows: list[dict]) -> Results:
    """Payments (and one step per payment ending at its end) from short descriptions:
    ``id``, ``created`` and ``end`` (hours after T0), ``status``, ``amount`` (USD cents
    unless ``ccy``), optional ``fee``, ``loss``, ``frozen``, ``rail``."""
    pays, steps = [], []
    for r in rows:
        created, end = T0 + r["created"] * H, T0 + r["end"] * H
        cred = r.get("status", "credited") == "credited"
        fee = r.get("fee", 0)
        pay = {c: 0 for c in FEE_COLUMNS}
        pay.update({
            "payment_id": r["id"], "rail": r.get("rail", "correspondent"), "corridor": "US-MX",
            "sender_bank": "A", "beneficiary_bank": "B", "charge_option": "SHA",
            "amount_sent": r["amount"], "currency_sent": r.get("ccy", "USD"),
            "amount_delivered": 0, "currency_delivered": "MXN",
            "created_at": _ts(created), "credited_at": _ts(end if cred else None),
            "latency_s": (end - created) if cred else np.nan, "fee_total_sent": fee,
            "fee_sender_bank": fee, "loss": r.get("loss", 0), "frozen": r.get("frozen", 0),
            "status": r.get("status", "credited"),
            "failure_reason": None if cred else "event 0 (bank_outage HUB)", "hops": 1,
            "liquidity_cost": 0, "risk_principal_sent": 0, "risk_start": pd.NaT, "risk_s": 0.0})
        pays.append(pay)
        steps.append({"payment_id": r["id"], "rail": pay["rail"], "seq": 0,
                      "kind": "credit" if cred else "return", "place": "B",
                      "started_at": _ts(created), "ended_at": _ts(end), "cost": fee,
                      "cost_currency": pay["currency_sent"], "detail": ""})
    p = pd.DataFrame(pays)[list(PAYMENT_COLUMNS)]
    s = pd.DataFrame(steps)[list(STEP_COLUMNS)]
    return Results(p, s)


def test_a_payment_delayed_three_hours_counts_three_hours_and_nothing_else_moves():
    twin = _tables([{"id": "P1", "created": 1, "end": 3, "amount": 100_00},
                    {"id": "P2", "created": 1, "end": 2, "amount": 50_00}])
    hit = _tables([{"id": "P1", "created": 1, "end": 6, "amount": 100_00},
                   {"id": "P2", "created": 1, "end": 2, "amount": 50_00}])
    m = event_costs(hit, twin, EVENTS, FX).rails["correspondent"]
    assert (m["payments"], m["affected"], m["returned"], m["failed"]) == (2, 1, 0, 0)
    assert m["affected_share"] == 0.5
    assert m["extra_latency_p50_s"] == m["extra_latency_p90_s"] == 3 * H
    # USD 100 held 3 h longer: a step of 100 from +3 h to +6 h
    assert m["value_in_flight_peak_usd"] == 100.0
    assert m["value_hours_usd"] == pytest.approx(300.0, abs=1e-9)
    assert (m["loss_usd"], m["frozen_usd"], m["extra_fees_usd"]) == (0.0, 0.0, 0.0)
    (ev,) = m["events"]
    # the delayed payment was in flight during the outage (2 h to 5 h) and ended at 6 h
    assert ev["in_flight"] == 1 and ev["drained_after_s"] == 1 * H
    assert ev["label"] == OUTAGE.label


def test_a_payment_returned_because_of_the_event_counts_once():
    twin = _tables([{"id": "P1", "created": 1, "end": 8, "amount": 100_00}])
    hit = _tables([{"id": "P1", "created": 1, "end": 6, "amount": 100_00,
                    "status": "returned", "fee": 500}])
    m = event_costs(hit, twin, EventSchedule([OUTAGE, Event(
        1, "fx_provider_outage", T0 + 3 * H, T0 + 4 * H)]), FX).rails["correspondent"]
    assert (m["affected"], m["returned"], m["failed"]) == (1, 1, 0)
    # not credited in both: no extra latency to measure
    assert m["extra_latency_p50_s"] is None
    # returned 2 h before the twin credits it: 2 h less in flight
    assert m["value_hours_usd"] == pytest.approx(-200.0)
    assert m["value_in_flight_peak_usd"] == 0.0
    assert m["extra_fees_usd"] == 5.0
    assert [e["in_flight"] for e in m["events"]] == [1, 1]


def test_value_hours_of_a_known_step_function_in_two_currencies():
    # event run: A (USD 200) ends 4 h late; B (MXN 2,000 = USD 100) 2 h late, overlapping
    twin = _tables([{"id": "A", "created": 0, "end": 1, "amount": 200_00},
                    {"id": "B", "created": 0, "end": 2, "amount": 2000_00, "ccy": "MXN"}])
    hit = _tables([{"id": "A", "created": 0, "end": 5, "amount": 200_00},
                   {"id": "B", "created": 0, "end": 4, "amount": 2000_00, "ccy": "MXN"}])
    m = event_costs(hit, twin, EVENTS, FX).rails["correspondent"]
    # difference: 200 on [1, 2), 300 on [2, 4), 200 on [4, 5)
    assert m["value_in_flight_peak_usd"] == pytest.approx(300.0)
    assert m["value_hours_usd"] == pytest.approx(200 + 600 + 200)
    assert m["extra_latency_p50_s"] == pytest.approx(3 * H)


def test_loss_and_frozen_in_usd_and_a_frozen_payment_never_drains():
    twin = _tables([{"id": "P1", "created": 1, "end": 3, "amount": 100_00},
                    {"id": "P2", "created": 1, "end": 3, "amount": 4000_00, "ccy": "MXN"}])
    hit = _tables([{"id": "P1", "created": 1, "end": 3, "amount": 100_00, "loss": 1250},
                   {"id": "P2", "created": 1, "end": 4, "amount": 4000_00, "ccy": "MXN",
                    "status": "failed", "frozen": 4000_00}])
    m = event_costs(hit, twin, EVENTS, FX).rails["correspondent"]
    assert m["loss_usd"] == 12.5 and m["frozen_usd"] == 200.0
    assert (m["affected"], m["failed"]) == (2, 1)
    (ev,) = m["events"]
    assert ev["in_flight"] == 2 and ev["still_frozen"] == 1
    # the unfrozen one ended at 3 h, before the outage ended (5 h): drained at once
    assert ev["drained_after_s"] == 0.0
    # the frozen USD 200 stays in flight from 3 h to the series' end (4 h)
    assert m["value_hours_usd"] == pytest.approx(200.0)


def test_an_event_no_affected_payment_met_and_a_sanction_never_lifted_have_no_drain_time():
    twin = _tables([{"id": "P1", "created": 10, "end": 11, "amount": 100_00}])
    hit = _tables([{"id": "P1", "created": 10, "end": 12, "amount": 100_00}])
    sanction = Event(1, "sanction", T0 + 9 * H, float("inf"), "B")
    m = event_costs(hit, twin, EventSchedule([OUTAGE, sanction]), FX).rails["correspondent"]
    outage, sanct = m["events"]
    assert outage["in_flight"] == 0 and outage["drained_after_s"] is None
    assert sanct["in_flight"] == 1 and sanct["drained_after_s"] is None


def test_a_twin_with_other_payments_is_refused():
    twin = _tables([{"id": "P1", "created": 1, "end": 3, "amount": 100_00}])
    other = _tables([{"id": "P9", "created": 1, "end": 3, "amount": 100_00}])
    with pytest.raises(TwinMismatchError):
        event_costs(other, twin, EVENTS, FX)


def test_usd_totals_are_exact_per_currency():
    # 3 x MXN 0.10 = MXN 0.30 = USD 0.015 -> 0.02 (half to even, once), not 3 x 0.005 -> 0
    assert usd_total(np.array([10, 10, 10]), np.array(["MXN"] * 3), FX) == 0.02


def test_the_twin_holds_the_same_payments_without_the_events():
    res = run_scenario(load_scenario("bank-outage"), payments=30, seed=5, keep_twin=True)
    twin = res.meta["twin"]
    cols = ["payment_id", "rail", "currency_sent", "created_at", "corridor", "sender_bank",
            "beneficiary_bank", "charge_option"]
    pd.testing.assert_frame_equal(res.payments[cols], twin.payments[cols])
    # the workload's amounts: what a SHA payment credited on both runs sent through the
    # banks (a returned payment's amount sent is what its sender was finally debited)
    same = ((twin.payments["charge_option"] == "SHA") & (twin.payments["status"] == "credited")
            & (res.payments["status"] == "credited") & (res.payments["rail"] == "correspondent"))
    assert same.sum() > 10
    assert (res.payments.loc[same, "amount_sent"] == twin.payments.loc[same, "amount_sent"]).all()
    # and the events did something to this run that the twin did not meet
    assert (res.steps["kind"] == "outage").any() and not (twin.steps["kind"] == "outage").any()
    assert "twin" not in run_scenario(load_scenario("bank-outage"), payments=30,
                                      seed=5).meta
    costs = res.meta["events"]
    assert set(costs.rails) == {"correspondent", "onchain"}
    assert [e["kind"] for e in costs.events] == ["bank_outage"]


def test_a_scenario_without_events_runs_no_twin():
    res = run_scenario(load_scenario("baseline"), payments=10, seed=2, keep_twin=True)
    assert "events" not in res.meta and "twin" not in res.meta


def test_the_module_s_examples_run():
    import sim.experiments.stress as stress

    res = doctest.testmod(stress, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted >= 2
