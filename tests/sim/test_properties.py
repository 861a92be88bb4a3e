"""Hypothesis properties of the model's invariants."""

from datetime import UTC, datetime

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.banking.correspondent import run
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, make_payment
from sim.calendar import BusinessCalendar
from tests.sim.sim_helpers import local, small_network_dict

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


def _work_at(steps: pd.DataFrame, bank: str) -> pd.DataFrame:
    """Per payment at ``bank``: when it was ready for a processor, and its work interval."""
    at = steps[steps.place == bank]
    out = {}
    for pid, g in at.groupby("payment_id"):
        work = g[g.kind.isin(["screening", "processing", "fx"])
                 | ((g.kind == "credit") & g.detail.str.startswith("straight-through"))]
        waits = g[g.kind.isin(["transit", "cutoff_wait"])]
        ready = waits.ended_at.max() if len(waits) else g.started_at.min()
        out[pid] = (ready, work.started_at.min(), work.ended_at.max())
    return pd.DataFrame.from_dict(out, orient="index", columns=["ready", "start", "end"])


@FAST
@given(capacity=st.integers(1, 3), n=st.integers(2, 30),
       offsets=st.lists(st.integers(0, 600), min_size=30, max_size=30),
       seed=st.integers(0, 2**16), overnight=st.booleans())
def test_bank_capacity_is_a_fifo_work_conserving_queue(capacity: int, n: int,
                                                       offsets: list[int], seed: int,
                                                       overnight: bool) -> None:
    # every payment goes SENDUS33 -> HUBXUS33 -> BENEMXMM; the hub has `capacity`
    # processors and work of random length, so payments queue there. Overnight, the
    # hub is closed when they reach it, so they are all ready at its opening (ties).
    hub: dict[str, object] = {"capacity": capacity,
                              "screening_seconds": {"median": 40, "sigma": 1.0}}
    sender: dict[str, object] = {}
    if overnight:   # the sender works around the clock, the hub from 09:00
        hub.update(opens="09:00", closes="17:00", cutoff="16:00")
        sender.update(opens="00:00", closes="24:00", cutoff="24:00")
    net = BankNetwork.from_dict(small_network_dict(HUBXUS33=hub, SENDUS33=sender))
    t0 = local("America/New_York", 2025, 11, 18, 10)   # a Tuesday, in hours
    if overnight:
        t0 = local("America/New_York", 2025, 11, 17, 20)   # Monday evening
    wl = Workload([make_payment(i, t0 + offsets[i], "SENDUS33", "BENEMXMM", "500", "USD",
                                "MXN", network=net) for i in range(n)])
    w = _work_at(run(net, wl, seed=seed).steps, "HUBXUS33")
    assert len(w) == n
    instants = sorted(set(w.start) | set(w.ready))
    for t in instants:   # never more payments in work than processors
        assert ((w.start <= t) & (t < w.end)).sum() <= capacity
    # first come, first served: nobody starts before someone who was ready earlier
    by_ready = w.sort_values(["ready", "start"])
    assert by_ready.start.is_monotonic_increasing
    for _, x in w[w.start > w.ready].iterrows():
        # a payment only waits while every processor is busy, and starts when one frees
        assert ((w.start <= x.ready) & (x.ready < w.end)).sum() == capacity
        assert (w.end == x.start).any()
    assert (w.start >= w.ready).all()
    if overnight:   # everybody waited for the opening: the first `capacity` start at once
        opening = local("America/New_York", 2025, 11, 18, 9)
        assert (w.ready == w.ready.min()).all() and w.ready.min().timestamp() == opening
        assert (w.start == w.ready).sum() == min(capacity, n)


_BANK_IDS = sorted(NET.banks)
_CCYS = sorted({b.currency for b in NET.banks.values()} | {"USD", "EUR"})


@settings(max_examples=300, deadline=None)
@given(bank=st.sampled_from(_BANK_IDS), kind=st.sampled_from(["sender_fee", "beneficiary_fee"]),
       segment=st.sampled_from(["retail", "sme", "wholesale"]),
       currency=st.sampled_from(_CCYS), value=st.integers(0, 10**13))
def test_rail_fee_functions_equal_the_fee_rule(bank: str, kind: str, segment: str,
                                               currency: str, value: int) -> None:
    # the rail evaluates fee rules through precomputed functions; they must give the
    # rule's own result (sim.banking.network.fee_minor, then back to the value's currency)
    import simpy

    from sim.banking.correspondent import CorrespondentRail
    from sim.money import convert_for_reporting

    b = NET.bank(bank)
    rail = CorrespondentRail(simpy.Environment(initial_time=T0), NET, seed=0)
    expected = convert_for_reporting(b.fee(kind, segment, value, currency, NET.fx),  # type: ignore[arg-type]
                                     b.currency, currency, NET.fx.rate(b.currency, currency))
    assert rail._fee_fn(b, kind, segment, currency)(value) == expected


_CAL_ARGS = [("America/New_York", "US", "09:00", "17:00", "15:00"),
             ("America/Mexico_City", "MX", "08:30", "17:30", "16:00"),
             ("Pacific/Apia", "WS", "08:00", "16:00", None),
             ("Europe/London", "GB", "00:00", "24:00", "23:00")]


@FAST
@given(which=st.integers(0, len(_CAL_ARGS) - 1),
       instants=st.lists(st.floats(T0 + 50 * 86400, T0 + 160 * 86400), min_size=1,
                         max_size=40),
       near=st.lists(st.integers(-7200, 7200), min_size=40, max_size=40))
def test_calendar_answers_do_not_depend_on_what_it_was_asked_before(
        which: int, instants: list[float], near: list[int]) -> None:
    # the calendar keeps its last answers to answer the next question quickly; any
    # sequence of questions must get the answers a fresh calendar gives (dates span
    # the US and UK daylight-saving changes, Christmas and MX holidays)
    tz, country, opens, closes, cutoff = _CAL_ARGS[which]
    shared = BusinessCalendar(tz, country, opens=opens, closes=closes, cutoff=cutoff)
    asked = [t + dt for t, dt in zip(instants * 2, near, strict=False)]
    for t in asked:
        fresh = BusinessCalendar(tz, country, opens=opens, closes=closes, cutoff=cutoff)
        assert shared.next_accepting(t) == fresh.next_accepting(t)
