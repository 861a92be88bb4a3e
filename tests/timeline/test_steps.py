"""The timeline's steps are the model's steps, labelled and clocked for a class."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

from sim.banking import correspondent
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, make_payment
from sim.onchain import rail as onchain
from sim.onchain.spec import OnChainSpec
from sim.outputs.timeline import (
    Timeline,
    TimelineError,
    choose_banks,
    from_results,
    label_step,
    load_run,
    parse_local_time,
    place_timezone,
    rail_kinds,
    simulate,
    to_html,
)
from sim.results import Results

CORR_KINDS = ["screening", "processing", "transit", "screening", "processing", "transit",
              "screening", "fx", "credit"]
CHAIN_KINDS = ["screening", "onramp", "mempool", "fx", "mempool", "mempool", "mempool",
               "screening", "mempool", "escrow", "finality", "mempool", "mempool",
               "cutoff_wait", "offramp", "credit"]


def test_known_friday_payment_step_sequence(friday_ny: Timeline) -> None:
    """16:30 New York is 13:30 at the Los Angeles sender: the correspondent rail goes
    straight through (via HCUSUS33) the same afternoon; on-chain, the payout at the MXN
    issuer misses Friday's window and waits for Monday."""
    tl = friday_ny
    assert (tl.sender_bank, tl.beneficiary_bank, tl.corridor) == ("RBUSUS66", "PLMXMXMM",
                                                                  "US-MX")
    assert rail_kinds(tl) == {"correspondent": CORR_KINDS, "onchain": CHAIN_KINDS}
    corr, chain = tl.rail("correspondent"), tl.rail("onchain")
    assert [s.place for s in corr.steps] == ["RBUSUS66"] * 2 + ["HCUSUS33"] * 3 + \
        ["PLMXMXMM"] * 4
    assert corr.status == chain.status == "credited"
    assert [s.label for s in corr.waits()] == []
    assert corr.credited_at is not None and corr.credited_at - tl.created_at < 600
    wait = chain.steps[13]
    assert (wait.kind, wait.place, wait.label) == (
        "cutoff_wait", "issuer:MXN", "off-ramp window: cut-off + weekend")
    assert (wait.local_start, wait.local_end) == ("16:02 Fri", "09:00 Mon")
    assert wait.timezone == "America/Mexico_City"
    assert chain.steps[10].label == "finality"
    assert chain.steps[9].label == "escrow fee"
    assert [s.label for s in chain.steps if s.kind == "mempool"] == [
        "mempool (block): mint", "mempool (block): fund FX leg", "mempool (block): PvP swap",
        "mempool (block): escrow lock", "mempool (block): escrow release",
        "mempool (block): redeem", "mempool (block): burn"]
    assert tl.outcome(chain).startswith("credited Mon 24 Nov 2025 09:52 Mexico City")


def test_after_cut_off_on_friday_waits_the_weekend_on_both_rails(friday_late: Timeline) -> None:
    corr, chain = friday_late.rail("correspondent"), friday_late.rail("onchain")
    assert [s.kind for s in corr.steps] == ["cutoff_wait", *CORR_KINDS]
    first = corr.steps[0]
    assert (first.place, first.label, first.local_start, first.local_end) == (
        "RBUSUS66", "cut-off + weekend", "17:30 Fri", "08:00 Mon")
    assert first.detail == "after cut-off; weekend"
    assert [s.kind for s in chain.steps][:3] == ["screening", "cutoff_wait", "onramp"]
    assert chain.steps[1].label == "on-ramp window: after hours + weekend"
    assert (chain.steps[1].local_start, chain.steps[1].local_end) == ("20:30 Fri", "09:00 Mon")
    assert chain.steps[1].where == "USD issuer (New York)"
    assert [s.label for s in chain.waits() if s.category == "closed"] == [
        "on-ramp window: after hours + weekend", "off-ramp window: before opening"]


def test_timeline_is_the_rails_steps_table(tl_net: BankNetwork, tl_spec: OnChainSpec,
                                          friday_ny: Timeline) -> None:
    """Same steps, same order, same instants and costs as the rails' own tables."""
    p = make_payment(0, parse_local_time("2025-11-21 16:30", "America/New_York"), "RBUSUS66",
                     "PLMXMXMM", "1000", "USD", "MXN", network=tl_net)
    wl = Workload([p], seed=1)
    res = Results.concat([correspondent.run(tl_net, wl, seed=1),
                          onchain.run(tl_net, wl, seed=1, spec=tl_spec, ledger="table")])
    for rail in ("correspondent", "onchain"):
        st = res.steps[res.steps.rail == rail]
        views = friday_ny.rail(rail).steps
        assert [s.seq for s in views] == list(st.seq)
        assert [s.kind for s in views] == list(st.kind)
        assert [s.place for s in views] == list(st.place)
        assert [s.cost for s in views] == list(st.cost)
        assert [round(s.started_at, 6) for s in views] == [
            round(t.value / 1e9, 6) for t in st.started_at]
        for a, b in zip(views, views[1:], strict=False):
            assert a.ended_at <= b.started_at + 1e-6
            assert a.started_at <= a.ended_at


@pytest.mark.parametrize(("kind", "place", "detail", "label", "wait"), [
    ("cutoff_wait", "RBUSUS66", "after cut-off; weekend", "cut-off + weekend", True),
    ("cutoff_wait", "PLMXMXMM", "holiday: Revolution Day", "holiday: Revolution Day", True),
    ("cutoff_wait", "HCUSUS33", "after cut-off; holiday: Thanksgiving Day",
     "cut-off + holiday: Thanksgiving Day", True),
    ("cutoff_wait", "PLIDIDJA", "before opening", "before opening", True),
    ("cutoff_wait", "issuer:USD", "on-ramp wire window: holiday: Thanksgiving Day",
     "on-ramp window: holiday: Thanksgiving Day", True),
    ("cutoff_wait", "issuer:MXN", "off-ramp wire window: weekend", "off-ramp window: weekend",
     True),
    ("screening", "PLIDIDJA", "manual review (0.9 business h): released", "compliance review",
     True),
    ("screening", "RBUSUS44", "automated", "screening", False),
    ("screening", "PLMXMXMM", "automated screening; attestation", "screening", False),
    ("nostro_wait", "GCUSUS33", "nostro of X at Y (USD) short of 5.00 USD; funded at the next "
     "window", "nostro funding", True),
    ("mempool", "ethereum-l1", "lock 5228.52 MXN as MXNx in escrow: 201,133 gas",
     "mempool (block): escrow lock", True),
    ("finality", "ethereum-l1", "64 blocks to finality", "finality", True),
    ("onramp", "issuer:USD", "domestic wire to the issuer; on-ramp fee",
     "on-ramp (fiat to issuer)", False),
    ("credit", "PLMXMXMM", "straight-through credit", "credit to beneficiary", False),
])
def test_waits_are_named_for_what_they_are(kind: str, place: str, detail: str, label: str,
                                           wait: bool) -> None:
    got, _, is_wait = label_step(kind, place, detail)
    assert (got, is_wait) == (label, wait)


def test_local_clock_of_each_place(tl_net: BankNetwork, tl_spec: OnChainSpec) -> None:
    assert place_timezone("RBUSUS66", tl_net, tl_spec) == "America/Los_Angeles"
    assert place_timezone("bank:PLMXMXMM", tl_net, tl_spec) == "America/Mexico_City"
    assert place_timezone("issuer:USD", tl_net, tl_spec) == tl_spec.ramp("USD").timezone
    assert place_timezone("issuer:MXN", tl_net, tl_spec) == tl_spec.ramp("MXN").timezone
    assert place_timezone("ethereum-l1", tl_net, tl_spec) == "UTC"
    assert place_timezone("fx_provider", tl_net, tl_spec) == "UTC"


def test_bank_choice_and_input_errors(tl_net: BankNetwork) -> None:
    assert choose_banks("us-mx", tl_net) == ("RBUSUS66", "PLMXMXMM", "MXN")
    assert choose_banks("US-MX", tl_net, sender="GCUSUS33")[0] == "GCUSUS33"
    assert choose_banks(None, tl_net, sender="RBGBGB22", beneficiary="PLNGNGLA")[:2] == (
        "RBGBGB22", "PLNGNGLA")
    with pytest.raises(TimelineError, match="unknown corridor"):
        choose_banks("XX-MX", tl_net)
    with pytest.raises(TimelineError, match="two country codes"):
        choose_banks("USMX", tl_net)
    with pytest.raises(TimelineError, match="is in GB, not US"):
        choose_banks("US-MX", tl_net, sender="RBGBGB22")
    with pytest.raises(TimelineError, match="unknown bank"):
        choose_banks("US-MX", tl_net, sender="NOPE1234")
    with pytest.raises(TimelineError, match="unknown time zone"):
        parse_local_time("2026-11-27 16:30", "Mars/Olympus")
    with pytest.raises(TimelineError, match="bad date"):
        parse_local_time("27/11/2026", "UTC")


def test_from_a_run_folder(tmp_path: Path, tl_net: BankNetwork, tl_spec: OnChainSpec) -> None:
    wl = Workload.generate(seed=4, n_payments=6, network=tl_net)
    res = Results.concat([correspondent.run(tl_net, wl, seed=4),
                          onchain.run(tl_net, wl, seed=4, spec=tl_spec, ledger="table")])
    res.write(tmp_path / "run", formats=("parquet",))
    payments, steps = load_run(tmp_path / "run")
    pid = wl[3].payment_id
    tl = from_results((payments, steps), pid, network=tl_net, spec=tl_spec)
    assert tl.sender_bank == wl[3].sender_bank and tl.created_at == pytest.approx(
        wl[3].created_at, abs=1e-6)
    for rail in ("correspondent", "onchain"):
        assert len(tl.rail(rail).steps) == int(((steps.payment_id == pid)
                                                & (steps.rail == rail)).sum())
    # pooled replications repeat ids: the first run of the payment is shown
    import pandas as pd

    doubled = (pd.concat([payments, payments]), pd.concat([steps, steps]))
    again = from_results(doubled, pid, network=tl_net, spec=tl_spec)
    assert rail_kinds(again) == rail_kinds(tl)
    with pytest.raises(TimelineError, match="not found"):
        from_results((payments, steps), "P9999999", network=tl_net)
    with pytest.raises(TimelineError, match="not found"):
        load_run(tmp_path / "missing")


def test_docstring_examples_run() -> None:
    failed = attempted = 0
    for mod in ("", ".model", ".simulate", ".html", ".terminal"):
        res = doctest.testmod(importlib.import_module("sim.outputs.timeline" + mod),
                              optionflags=doctest.ELLIPSIS)
        failed, attempted = failed + res.failed, attempted + res.attempted
    assert failed == 0 and attempted > 10


def test_banks_are_shown_in_their_own_city(tl_net: BankNetwork, tl_spec: OnChainSpec) -> None:
    """US-IN: the Mumbai bank (zone Asia/Kolkata) is labelled Mumbai in every view."""
    tl = simulate("US-IN", parse_local_time("2025-11-18 10:00", "America/Chicago"), seed=1,
                  network=tl_net, spec=tl_spec, sender="RBUSUS44", beneficiary="PLININBB")
    assert (tl.beneficiary_bank, tl.beneficiary_tz) == ("PLININBB", "Asia/Kolkata")
    assert tl.beneficiary_place == "Mumbai"
    for r in tl.rails:
        for s in r.steps:
            if s.place in tl_net.banks:
                assert s.where == f"{s.place} ({tl_net.banks[s.place].city})"
                assert s.place_city == tl_net.banks[s.place].city
        assert "Kolkata" not in tl.outcome(r)
    page = to_html(tl)
    assert "PLININBB (Mumbai)" in page and "PLININBB (Kolkata)" not in page
