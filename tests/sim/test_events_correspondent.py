"""Stress events on the correspondent rail: outages, return limits, sanctions."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import pytest

from sim.banking import correspondent
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, make_payment
from sim.events import Event, EventSchedule
from sim.results import conservation_violations, step_violations

H = 3600.0


def at(y: int, mo: int, d: int, h: int, mi: int = 0) -> float:
    return datetime(y, mo, d, h, mi, tzinfo=UTC).timestamp()


#: Tuesday 4 November 2025, 15:00 UTC: the US banks' morning
T0 = at(2025, 11, 4, 15)


def _one(net: BankNetwork, t: float, sender: str = "RBUSUS44", ben: str = "PLMXMXMM",
         sent: str = "USD", delivered: str = "MXN") -> Workload:
    return Workload([make_payment(0, t, sender, ben, "1000", sent, delivered, network=net,
                                  segment="sme", charge_option="SHA")])


def _run(net: BankNetwork, wl: Workload, *events: Event) -> tuple:
    r = correspondent.run(net, wl, seed=7, events=EventSchedule(events))
    assert conservation_violations(r.payments).empty
    assert step_violations(r.payments, r.steps).empty
    return r.payments.iloc[0], r.steps


def test_a_payment_waits_out_an_intermediarys_outage(net: BankNetwork) -> None:
    twin, _ = _run(net, _one(net, T0))
    down = Event(0, "bank_outage", T0 - H, T0 + 6 * H, "GCUSUS33")
    row, steps = _run(net, _one(net, T0), down)
    assert row.status == "credited"
    out = steps[steps.kind == "outage"]
    assert len(out) == 1 and out.place.iloc[0] == "GCUSUS33"
    assert out.ended_at.iloc[0].timestamp() == pytest.approx(T0 + 6 * H)
    assert down.label in out.detail.iloc[0]
    assert row.latency_s > twin.latency_s      # it cannot be faster than without the outage


def test_past_the_return_limit_the_payment_is_returned_with_the_reason(net: BankNetwork
                                                                      ) -> None:
    down = Event(0, "bank_outage", T0 - H, T0 + 6 * H, "GCUSUS33", return_after_s=2 * H)
    row, steps = _run(net, _one(net, T0), down)
    assert row.status == "returned"
    assert "GCUSUS33 down for more than 2 h" in row.failure_reason
    assert down.label in row.failure_reason
    out = steps[steps.kind == "outage"].iloc[0]
    back = steps[steps.kind == "return"].iloc[0]
    assert back.started_at == out.ended_at          # returned when the limit runs out
    assert (out.ended_at - out.started_at).total_seconds() == pytest.approx(2 * H)


def test_an_outage_elsewhere_changes_nothing(net: BankNetwork) -> None:
    twin, tsteps = _run(net, _one(net, T0))
    row, steps = _run(net, _one(net, T0), Event(0, "bank_outage", T0, T0 + 6 * H, "GCJPJPJT"))
    assert row.equals(twin) and steps.equals(tsteps)


def _arrival(net: BankNetwork, bank: str) -> float:
    """When the payment (as the twin runs it) reaches ``bank``: after the ordering bank
    has screened it and sent it, so a sanction from then on meets it in flight."""
    _, steps = _run(net, _one(net, T0))
    leg = steps[(steps.kind == "transit") & (steps.place == bank)].iloc[0]
    return float(leg.ended_at.timestamp())


def test_funds_reaching_a_sanctioned_bank_are_frozen_not_returned(net: BankNetwork) -> None:
    sanction = Event(0, "sanction", _arrival(net, "GCUSUS33") - 1, math.inf, "GCUSUS33")
    row, steps = _run(net, _one(net, T0), sanction)
    assert row.status == "failed" and sanction.label in row.failure_reason
    assert row.frozen > 0 and row.amount_delivered == 0
    # the customer paid the amount and the fee; the frozen value is the amount less the
    # fees already taken (no conversion yet: in USD)
    assert row.amount_sent == row.frozen + row.fee_total_sent
    assert (steps.kind == "frozen").sum() == 1 and not (steps.kind == "return").any()


def test_a_lifted_sanction_returns_the_funds_when_it_is_lifted(net: BankNetwork) -> None:
    sanction = Event(0, "sanction", _arrival(net, "GCUSUS33") - 1, T0 + 30 * H, "GCUSUS33")
    row, steps = _run(net, _one(net, T0), sanction)
    assert row.status == "returned" and row.frozen == 0
    frozen = steps[steps.kind == "frozen"].iloc[0]
    assert frozen.ended_at.timestamp() == pytest.approx(T0 + 30 * H)
    assert steps[steps.kind == "return"].iloc[0].started_at == frozen.ended_at


def test_sanctions_screening_returns_a_payment_routed_to_a_sanctioned_bank(net: BankNetwork
                                                                         ) -> None:
    # RBUSUS44 -> GCUSUS33 -> GCGBGB2L -> RBGBGB22: the ordering bank will not send it
    wl = _one(net, T0, ben="RBGBGB22", delivered="GBP")
    sanction = Event(0, "sanction", T0 - H, math.inf, "GCGBGB2L")
    row, steps = _run(net, wl, sanction)
    assert row.status == "returned" and row.frozen == 0
    assert row.failure_reason.startswith("sanctions screening at RBUSUS44: GCGBGB2L")
    assert steps[steps.kind == "return"].iloc[0].place == "RBUSUS44"


def test_an_on_chain_account_sanction_leaves_the_correspondent_rail_alone(net: BankNetwork
                                                                        ) -> None:
    twin, _ = _run(net, _one(net, T0))
    only = Event(0, "sanction", T0 - H, math.inf, "bank:GCUSUS33", on_chain_only=True)
    row, _ = _run(net, _one(net, T0), only)
    assert row.equals(twin)
