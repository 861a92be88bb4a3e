from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from sim.banking.correspondent import run
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, make_payment
from sim.money import convert
from sim.results import FEE_COLUMNS, PAYMENT_COLUMNS, STEP_COLUMNS, conservation_violations
from tests.sim.sim_helpers import local, small_network_dict

NY = "America/New_York"


def one(net: BankNetwork, when: float, sender: str = "SENDUS33", ben: str = "BENEMXMM",
        amount: str = "1000", charge: str = "SHA", **kw: object) -> tuple[pd.Series, pd.DataFrame]:
    p = make_payment(0, when, sender, ben, amount, "USD", kw.pop("deliver", "MXN"),  # type: ignore[arg-type]
                     network=net, charge_option=charge, **kw)  # type: ignore[arg-type]
    r = run(net, Workload([p]), seed=1)
    return r.payments.iloc[0], r.steps


MON_10 = local(NY, 2025, 11, 17, 10)


def test_charge_options_split_fees(small: BankNetwork) -> None:
    # route SENDUS33 -> HUBXUS33 -> BENEMXMM; hub lifts USD 12 on BENE's account? no: the
    # incoming leg of the hub is SENDUS33's account (USD 15); conversion at the hub or BENE.
    rows = {c: one(small, MON_10, charge=c)[0] for c in ("OUR", "SHA", "BEN")}
    our, sha, ben = rows["OUR"], rows["SHA"], rows["BEN"]
    assert our.fee_sender_bank == sha.fee_sender_bank == ben.fee_sender_bank == 1000
    assert our.fee_lifting == sha.fee_lifting == 1500
    # OUR: the sender pays principal + every charge; SHA: principal + own bank's fee; BEN: principal
    assert our.amount_sent == 100_000 + our.fee_sender_bank + our.fee_lifting + \
        our.fee_beneficiary_bank
    assert sha.amount_sent == 100_000 + 1000
    assert ben.amount_sent == 100_000
    # what arrives: OUR full principal converted, SHA less lifting and receiving fee, BEN less all
    assert our.amount_delivered > sha.amount_delivered > ben.amount_delivered
    rate = Decimal(20) * (1 - Decimal("0.02"))
    assert our.amount_delivered == convert(100_000, "USD", "MXN", rate)
    for r in rows.values():
        assert r.fee_total_sent == sum(int(r[c]) for c in FEE_COLUMNS)
        assert r.fee_fx_spread > 0 and r.status == "credited"


def test_same_currency_payment_has_no_spread(small: BankNetwork) -> None:
    row, _ = one(small, MON_10, ben="BENEMXMM", deliver="USD")
    assert row.currency_delivered == "USD" and row.fee_fx_spread == 0
    assert row.amount_sent == row.amount_delivered + row.fee_total_sent


def test_friday_screening_hold_waits_for_monday() -> None:
    net = BankNetwork.from_dict(small_network_dict(
        SENDUS33={"review_share": 1.0, "review_hours": {"median": 4, "sigma": 0.0}}))
    row, steps = one(net, local(NY, 2025, 11, 21, 14, 30))      # Friday 14:30, before cut-off
    scr = steps[steps.kind == "screening"].iloc[0]
    assert "manual review" in scr.detail and "released" in scr.detail
    # 2.5 h on Friday (to 17:00) + 1.5 h on Monday from 09:00
    assert scr.ended_at == pd.Timestamp(local(NY, 2025, 11, 24, 10, 30, 10) * 1e9, tz="UTC")
    assert row.status == "credited"
    assert row.credited_at > pd.Timestamp(local(NY, 2025, 11, 24, 10), unit="s", tz="UTC")


def test_rejected_in_screening_is_returned_with_fees() -> None:
    net = BankNetwork.from_dict(small_network_dict(
        HUBXUS33={"review_share": 1.0, "review_reject_share": 1.0}))
    row, steps = one(net, MON_10)
    assert row.status == "returned" and "rejected in compliance screening at HUBXUS33" in \
        row.failure_reason
    assert row.amount_delivered == 0 and pd.isna(row.credited_at) and pd.isna(row.latency_s)
    assert row.fee_sender_bank == 1000 and row.fee_lifting == 0
    assert row.amount_sent == row.fee_total_sent == 1000      # principal refunded
    assert steps.kind.iloc[-1] == "return"


def test_weekend_and_holiday_wait_named_in_steps() -> None:
    # Wednesday before Thanksgiving after cut-off: waits to Friday, the step says why
    net = BankNetwork.from_dict(small_network_dict())
    row, steps = one(net, local(NY, 2025, 11, 26, 16))
    wait = steps[(steps.kind == "cutoff_wait") & (steps.place == "SENDUS33")].iloc[0]
    assert wait.detail == "after cut-off; holiday: Thanksgiving Day"
    assert wait.ended_at == pd.Timestamp(local(NY, 2025, 11, 28, 9), unit="s", tz="UTC")


def test_nostro_shortfall_waits_for_funding_window() -> None:
    d = small_network_dict()
    d["accounts"][0] |= {"balance": "500", "funding_times": ["11:00"]}   # SENDUS33 at HUBXUS33
    net = BankNetwork.from_dict(d)
    row, steps = one(net, MON_10, amount="1000")
    w = steps[steps.kind == "nostro_wait"]
    assert len(w) == 1 and "short of" in w.iloc[0].detail
    assert w.iloc[0].ended_at == pd.Timestamp(local(NY, 2025, 11, 17, 11), unit="s", tz="UTC")
    row2, steps2 = one(net, MON_10, amount="400")
    assert (steps2.kind == "nostro_wait").sum() == 0 and row2.status == "credited"


def test_unroutable_payment_fails_with_reason(small: BankNetwork) -> None:
    p = make_payment(0, MON_10, "LONEDEFF", "BENEMXMM", "100", "EUR", "MXN", network=small)
    r = run(small, Workload([p]), seed=3)
    row = r.payments.iloc[0]
    assert row.status == "failed" and row.failure_reason.startswith("unroutable: no correspondent")
    assert row.amount_sent == 0 and row.fee_total_sent == 0 and row.hops == 0


@pytest.fixture(scope="module")
def default_run(net: BankNetwork):  # type: ignore[no-untyped-def]
    wl = Workload.generate(seed=11, n_payments=400, network=net)
    return wl, run(net, wl, seed=11)


def test_money_conserved_for_every_payment(default_run, net: BankNetwork) -> None:  # type: ignore[no-untyped-def]
    wl, r = default_run
    p = r.payments
    assert len(p) == len(wl) and list(p.columns) == list(PAYMENT_COLUMNS)
    assert list(r.steps.columns) == list(STEP_COLUMNS)
    assert conservation_violations(p).empty
    for row in p.itertuples():
        delivered_in_sent = 0
        if row.status == "credited":
            mid = net.fx.rate(row.currency_delivered, row.currency_sent)
            from sim.money import convert_for_reporting
            delivered_in_sent = convert_for_reporting(row.amount_delivered,
                                                      row.currency_delivered,
                                                      row.currency_sent, mid)
        assert row.amount_sent == delivered_in_sent + row.fee_total_sent, row.payment_id
        if row.currency_sent == row.currency_delivered:
            assert row.fee_fx_spread == 0
    assert set(p.status) <= {"credited", "returned", "failed"}
    assert (p.status == "credited").mean() > 0.9


def test_determinism_same_seed_identical_tables(default_run, net: BankNetwork,  # type: ignore[no-untyped-def]
                                                tmp_path: Path) -> None:
    wl, r1 = default_run
    r2 = run(net, Workload.generate(seed=11, n_payments=400, network=net), seed=11)
    pd.testing.assert_frame_equal(r1.payments, r2.payments)
    pd.testing.assert_frame_equal(r1.steps, r2.steps)
    a, b = r1.write(tmp_path / "a", seed=11), r2.write(tmp_path / "b", seed=11)
    for k in a:
        assert a[k].read_bytes() == b[k].read_bytes(), k
    r3 = run(net, wl, seed=12)
    assert not r3.payments["credited_at"].equals(r1.payments["credited_at"])


def test_subset_replay_gives_same_draws_per_payment(default_run, net: BankNetwork) -> None:  # type: ignore[no-untyped-def]
    wl, r = default_run
    # a payment's draws come from its own sub-stream: running it alone (same index) with no
    # competing traffic gives the same screening outcome and durations of its own steps
    p = next(x for x in wl if x.segment == "retail")
    alone = run(net, Workload(list(wl.payments[: p.index + 1])), seed=11)
    a = alone.steps[alone.steps.payment_id == p.payment_id]
    b = r.steps[r.steps.payment_id == p.payment_id]
    assert list(a.kind) == list(b.kind) or set(a.kind) - {"queue"} == set(b.kind) - {"queue"}
    assert (a.detail[a.kind == "screening"].tolist() == b.detail[b.kind == "screening"].tolist())


def test_payment_across_the_date_line_waits_for_apia_monday(net: BankNetwork) -> None:
    # Friday 15:00 in New York is Saturday 09:00 in Apia: the Samoan bank credits on Monday
    p = make_payment(0, local(NY, 2025, 11, 21, 15), "HCUSUS33", "LCWSWSAP", "300", "USD",
                     "WST", network=net)
    r = run(net, Workload([p]), seed=4)
    row, steps = r.payments.iloc[0], r.steps
    assert row.status == "credited"
    waits = steps[(steps.kind == "cutoff_wait") & (steps.place == "LCWSWSAP")]
    assert len(waits) == 1 and "weekend" in waits.iloc[0].detail
    credited_local = row.credited_at.tz_convert("Pacific/Apia")
    assert credited_local.weekday() == 0 and credited_local.hour >= 8   # Monday in Apia
    assert row.credited_at.tz_convert(NY).weekday() in (6, 0)           # Sunday/Monday in NY
