"""Hypothesis properties of the model's invariants."""

from datetime import UTC, datetime

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.calendar import BusinessCalendar
from sim.correspondent import run
from sim.network import BankNetwork
from sim.workload import Workload, make_payment
from tests.sim.sim_helpers import small_network_dict

NET = BankNetwork.default()
SMALL = BankNetwork.from_dict(small_network_dict())
T0 = datetime(2025, 11, 3, tzinfo=UTC).timestamp()
FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


@FAST
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 25))
def test_steps_forward_and_credit_after_creation(seed: int, n: int) -> None:
    wl = Workload.generate(seed=seed, n_payments=n, network=NET)
    r = run(NET, wl, seed=seed)
    s, p = r.steps, r.payments
    assert (s["ended_at"] >= s["started_at"]).all()
    cred = p[p.status == "credited"]
    assert (cred["credited_at"] >= cred["created_at"]).all()
    assert (cred["latency_s"] >= 0).all()
    # steps of a payment are contiguous in time and never start before its creation
    first = s.groupby("payment_id")["started_at"].min()
    created = p.set_index("payment_id")["created_at"]
    assert (first >= created.loc[first.index]).all()
    assert (p.fee_total_sent <= p.amount_sent).all()


@FAST
@given(t=st.floats(T0, T0 + 60 * 86400), hours=st.floats(0, 200))
def test_calendar_never_goes_back(t: float, hours: float) -> None:
    for tz, c in (("Asia/Kolkata", "IN"), ("Pacific/Apia", "WS"), ("America/Sao_Paulo", "BR")):
        cal = BusinessCalendar(tz, c, opens="09:00", closes="17:00", cutoff="15:00")
        start, _ = cal.next_accepting(t)
        assert start >= t and cal.accepts(start)
        end = cal.add_business_seconds(t, hours * 3600)
        assert end >= t
        assert abs(cal.business_seconds_between(t, end) - hours * 3600) < 1e-3


@FAST
@given(amount=st.integers(50, 5_000_000), day=st.integers(0, 20), hour=st.integers(0, 23),
       segment=st.sampled_from(["retail", "sme", "wholesale"]))
def test_extra_intermediary_never_lowers_fee_under_our(amount: int, day: int, hour: int,
                                                       segment: str) -> None:
    t = T0 + day * 86400 + hour * 3600
    p = make_payment(0, t, "RBUSUS44", "PLMXMXMM", str(amount), "USD", "MXN", network=NET,
                     segment=segment, charge_option="OUR")
    direct = run(NET, Workload([p]), seed=5).payments.iloc[0]
    longer = run(NET, Workload([p]), seed=5, via="HCUSUS33").payments.iloc[0]
    if direct.status == longer.status == "credited":
        assert longer.hops > direct.hops
        assert longer.fee_total_sent - longer.fee_fx_spread >= \
            direct.fee_total_sent - direct.fee_fx_spread
        assert longer.fee_lifting >= direct.fee_lifting


@FAST
@given(amount=st.integers(1, 100_000), charge=st.sampled_from(["OUR", "SHA", "BEN"]))
def test_conservation_any_amount_and_charge(amount: int, charge: str) -> None:
    p = make_payment(0, T0 + 14 * 3600, "SENDUS33", "TIERMXMM", str(amount), "USD", "MXN",
                     network=SMALL, charge_option=charge)
    row = run(SMALL, Workload([p]), seed=2).payments.iloc[0]
    fees = sum(int(row[c]) for c in row.index if c.startswith("fee_") and c != "fee_total_sent")
    assert fees == row.fee_total_sent
    if row.status == "credited":
        assert row.amount_delivered > 0
    else:
        assert row.amount_delivered == 0 and row.amount_sent == row.fee_total_sent
    assert not pd.isna(row.amount_sent)
