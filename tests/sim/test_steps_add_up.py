"""The steps' rules on both rails: every fee is a step's cost (in the sent currency)
and the costs add up to ``fee_total_sent``; steps in ``seq`` order never overlap;
``credited_at`` is the end of the credit step; a payment from a bank to itself is
refused. Checked over every shipped scenario and over random workloads and settings.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.banking import correspondent
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, make_payment
from sim.errors import InputError
from sim.experiments.runner import run_scenario
from sim.experiments.scenario import load_scenario
from sim.onchain import rail as onchain
from sim.results import (
    ResultsBuilder,
    StepAccountsError,
    close_accounts,
    step_violations,
)

SCENARIOS = sorted(p.stem for p in (Path(__file__).resolve().parents[2] / "sim" / "data" /
                                    "scenarios").glob("*.toml"))
T0 = 1_763_971_200.0   # Mon 24 Nov 2025 08:00 UTC

#: which step kinds carry each fee column (docs/architecture.md, "Steps and fees")
CARRIERS = {
    "correspondent": {"fee_sender_bank": ("processing", "return"),
                      "fee_lifting": ("processing",), "fee_beneficiary_bank": ("credit",)},
    "onchain": {"fee_gas": ("mempool",), "fee_onramp": ("onramp",),
                "fee_offramp": ("offramp",), "fee_escrow": ("escrow",),
                "fee_beneficiary_bank": ("credit",), "fee_sender_bank": ("screening",)},
}


def _check_tables(payments: pd.DataFrame, steps: pd.DataFrame) -> None:
    """Every rule, asserted on the tables themselves (beside step_violations)."""
    assert step_violations(payments, steps).empty
    s = steps.merge(payments[["rail", "payment_id", "currency_sent", "status",
                              "credited_at"]], on=["rail", "payment_id"], validate="m:1")
    assert (s["cost_currency"] == s["currency_sent"]).all()
    by = s.groupby(["rail", "payment_id"])
    total = by["cost"].sum()
    p = payments.set_index(["rail", "payment_id"])
    assert (total.reindex(p.index, fill_value=0) == p["fee_total_sent"]).all()
    s = s.sort_values(["rail", "payment_id", "seq"])
    prev_end = s.groupby(["rail", "payment_id"])["ended_at"].shift()
    assert not (s["started_at"] < prev_end).any()
    assert (s["started_at"] <= s["ended_at"]).all()
    credit = s[s["kind"] == "credit"]
    assert (credit["status"] == "credited").all()
    assert (credit["ended_at"] == credit["credited_at"]).all()
    assert len(credit) == int((payments["status"] == "credited").sum())
    # each fee column is exactly the cost of the steps that carry it, on credited
    # payments (a return also carries the spread of converting back)
    ok = s[s["status"] == "credited"]
    for rail, carriers in CARRIERS.items():
        rs = ok[ok["rail"] == rail]
        if rs.empty:
            continue
        rp = p.loc[rail]
        rp = rp[rp["status"] == "credited"]
        kinds: dict[str, float] = {}
        for column, carried_by in carriers.items():
            kinds.setdefault(carried_by[0], 0)
            kinds[carried_by[0]] += float(rp[column].sum())
        for kind, expected in kinds.items():
            assert rs.loc[rs["kind"] == kind, "cost"].sum() == expected, (rail, kind)


@pytest.mark.parametrize("name", SCENARIOS)
def test_every_shipped_scenario_keeps_the_steps_rules(name: str) -> None:
    """Before: the on-chain steps missed the sender bank fee, the spread and the escrow
    fee; the quote overlapped the replenishment wait (baseline and others); in
    wholesale-pvp the credit ended after the redeem and burn that follow it."""
    res = run_scenario(load_scenario(name), payments=300)
    _check_tables(res.payments, res.steps)


def test_wholesale_pvp_credit_then_redemption() -> None:
    """Paid out of the pre-funded float: the bank credits its customer, then redeems
    the stablecoin (transfer and burn) to restore its float, in that order in time."""
    res = run_scenario(load_scenario("wholesale-pvp"), payments=40)
    s = res.steps[res.steps["rail"] == "onchain"]
    p = res.payments.set_index(["rail", "payment_id"]).loc["onchain"]
    for pid, g in s.groupby("payment_id"):
        if p.loc[pid, "status"] != "credited":
            continue
        kinds = list(g.sort_values("seq")["kind"])
        i = kinds.index("credit")
        assert kinds[i - 1] == "offramp" and kinds[i + 1:] == ["mempool", "mempool"], kinds
        redeem = g[g["seq"] > g.loc[g["kind"] == "credit", "seq"].iloc[0]]
        assert (redeem["started_at"] >= p.loc[pid, "credited_at"]).all()


@settings(max_examples=12)
@given(name=st.sampled_from(SCENARIOS), seed=st.integers(0, 2**32),
       payments=st.integers(5, 90), escrow_bps=st.sampled_from([0, 7, 50, 1000]),
       onramp=st.sampled_from(["wire", "instant", "prefunded"]),
       offramp=st.sampled_from(["wire", "instant", "prefunded"]),
       inventory=st.sampled_from([None, 0.0, 20_000.0]),
       replenish=st.sampled_from(["wait", "fail"]),
       review=st.sampled_from([None, 0.3]))
def test_random_workloads_and_settings_keep_the_steps_rules(
        name: str, seed: int, payments: int, escrow_bps: int, onramp: str, offramp: str,
        inventory: float | None, replenish: str, review: float | None) -> None:
    params: dict[str, object] = {
        "onchain.escrow.fee_bps": escrow_bps, "onchain.ramps.onramp_mode": onramp,
        "onchain.ramps.offramp_mode": offramp, "onchain.fx.replenish": replenish}
    if inventory is not None:
        params["onchain.fx.inventory_usd"] = inventory
    if review is not None:   # more reviews, more rejections: returns on both rails
        params["network.overrides.review_share"] = review
        params["network.overrides.review_reject_share"] = 0.5
    sc = load_scenario(name).with_params(params)
    res = run_scenario(sc, payments=payments, seed=seed)
    _check_tables(res.payments, res.steps)


@pytest.mark.parametrize("charge", ["OUR", "SHA", "BEN"])
@pytest.mark.parametrize("amount,sent,delivered,beneficiary", [
    ("10", "USD", "MXN", "PLMXMXMM"), ("250000", "USD", "INR", "PLININBB"),
    ("900", "USD", "USD", "RBUSUS66")])
def test_hand_made_payments_on_both_rails(charge: str, amount: str, sent: str,
                                          delivered: str, beneficiary: str) -> None:
    """Tiny amounts (fees above the amount under BEN), large ones, no conversion."""
    net = BankNetwork.default()
    wl = Workload([make_payment(i, T0 + 3600 * i, "RBUSUS44", beneficiary, amount, sent,
                                delivered, network=net, segment=seg, charge_option=charge)
                   for i, seg in enumerate(("retail", "sme", "wholesale"))])
    for r in (correspondent.run(net, wl, seed=5), onchain.run(net, wl, seed=5, ledger="table")):
        _check_tables(r.payments, r.steps)


# -- the check in every run ---------------------------------------------------------------
def _one(steps: list[tuple[str, float, float, int]], status: str = "credited",
         credited_at: float | None = 110.0) -> ResultsBuilder:
    b = ResultsBuilder("correspondent")
    b.add_payment(close_accounts("P1", "correspondent", "US-GB", "A", "B", "SHA", 1_000,
                                 "USD", 900 if status == "credited" else 0, "USD", 0.0,
                                 credited_at, status, None if status == "credited" else "x",
                                 0, {"sender_bank": 100} if status == "credited"
                                 else {"sender_bank": 1_000},
                                 900 if status == "credited" else 0))
    b.add_steps("P1", [(k, "A", t0, t1, c, "USD", "") for k, t0, t1, c in steps])
    return b


def test_a_run_whose_steps_add_up_builds() -> None:
    r = _one([("processing", 0, 10, 100), ("credit", 10, 110, 0)]).build()
    assert step_violations(r.payments, r.steps).empty


@pytest.mark.parametrize("steps,status,credited_at,why", [
    ([("processing", 0, 10, 90), ("credit", 10, 110, 0)], "credited", 110.0,
     "step costs sum to 90, fee_total_sent is 100"),
    ([("processing", 0, 20, 100), ("credit", 10, 110, 0)], "credited", 110.0,
     "starts before the previous step"),
    ([("processing", 0, 10, 100), ("credit", 10, 110, 0)], "credited", 120.0,
     "credited_at is not the end of the credit step"),
    ([("processing", 0, 10, 100)], "credited", 10.0, "0 credit steps"),
    ([("processing", 0, 10, 100), ("credit", 10, 5, 0)], "credited", 5.0,
     "ends before it starts"),
    ([("return", 0, 0, 1_000), ("credit", 0, 1, 0)], "failed", None, "1 credit steps"),
])
def test_a_run_whose_steps_break_a_rule_is_a_fault(steps: list[tuple[str, float, float, int]],
                                                   status: str, credited_at: float | None,
                                                   why: str) -> None:
    with pytest.raises(StepAccountsError, match=why) as exc:
        _one(steps, status, credited_at).build()
    assert not isinstance(exc.value, InputError)   # a fault of settlesim, not of input
    assert list(exc.value.violations["payment_id"]) == ["P1"]


def test_step_violations_names_a_cost_in_another_currency() -> None:
    r = _one([("processing", 0, 10, 100), ("credit", 10, 110, 0)]).build()
    steps = r.steps.copy()
    steps.loc[1, "cost_currency"] = "MXN"
    assert "not the sent currency USD" in step_violations(r.payments, steps)["violation"].iloc[0]
    with pytest.raises(InputError, match="no row in the payments table"):
        step_violations(r.payments.iloc[:0], r.steps)


# -- a payment from a bank to itself ------------------------------------------------------
def test_a_payment_from_a_bank_to_itself_is_refused() -> None:
    net = BankNetwork.default()
    with pytest.raises(InputError, match="same bank 'RBUSUS44'"):
        make_payment(0, T0, "RBUSUS44", "RBUSUS44", "200", "USD", "USD", network=net)
    good = make_payment(0, T0, "RBUSUS44", "PLMXMXMM", "200", "USD", "MXN", network=net)
    with pytest.raises(InputError, match="same bank"):
        Workload([dataclasses.replace(good, beneficiary_bank="RBUSUS44")])


def test_both_rails_fail_a_self_payment_that_slips_through_alike() -> None:
    """A hand-made Payment given straight to the rails: before, the correspondent rail
    failed it and the on-chain rail credited it with fees."""
    net = BankNetwork.default()
    good = make_payment(0, T0, "RBUSUS44", "PLMXMXMM", "200", "USD", "MXN", network=net)
    wl = Workload([good])
    wl.payments = (dataclasses.replace(good, beneficiary_bank="RBUSUS44"),)
    rows = [r.payments.iloc[0] for r in (correspondent.run(net, wl, seed=1),
                                         onchain.run(net, wl, seed=1, ledger="table"))]
    for row in rows:
        assert row["status"] == "failed" and row["fee_total_sent"] == 0
        assert row["failure_reason"] == ("unroutable: sender and beneficiary are the same "
                                         "bank 'RBUSUS44'")
