"""Timelines mark the stress events of a scenario: the waits they caused are named for
the event, a band covers the steps each one delayed (HTML) and the bars are hatched
(terminal); ``settlesim timeline SCENARIO`` runs the payment with the scenario's events."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from rich.console import Console

from sim.cli import main
from sim.outputs.timeline import (
    figure,
    label_step,
    mark_events,
    parse_local_time,
    render_terminal,
    scenario_settings,
    simulate,
    to_html,
)

LABEL = "event 0 (bank_outage GCUSUS33, 2025-11-03 14:00Z, 6 h)"


@pytest.fixture(scope="module")
def outage_tl():
    """GCUSUS33 orders a US-MX payment at 10:00 New York, an hour into its own outage."""
    settings = scenario_settings("bank-outage")
    return simulate("US-MX", parse_local_time("2025-11-03 10:00", "America/New_York"),
                    sender="GCUSUS33", **settings)


def test_an_event_s_waits_are_named_for_it():
    assert label_step("outage", "GCUSUS33", f"GCUSUS33 down: {LABEL}") == (
        f"GCUSUS33 down: {LABEL}", "event", True)
    halt = "event 1 (chain_halt fast-ledger, 2025-11-04 14:00Z, 2 h)"
    label, cat, wait = label_step("mempool", "fast-ledger",
                                  f"mint 1.00 USD as USDx: 55,621 gas; delayed by {halt}")
    assert label == f"mempool (block): mint, delayed by {halt}" and (cat, wait) == ("event", True)
    assert label_step("outage", "issuer:USD", "ramps closed: event 2 (issuer_freeze USD, "
                      "2023-03-10 22:00Z, 63 h)")[0].startswith("issuer frozen: event 2")
    assert label_step("frozen", "LCMXMXGD", "funds frozen at LCMXMXGD, sanctioned: event 0 "
                      "(sanction LCMXMXGD, 2025-11-04 15:00Z, until the end)")[0] == (
        "funds frozen: event 0 (sanction LCMXMXGD, 2025-11-04 15:00Z, until the end)")


def test_the_timeline_lists_the_event_and_the_steps_it_delayed(outage_tl):
    (mark,) = outage_tl.events
    assert mark.label == LABEL and mark.title == "event 0: bank outage GCUSUS33"
    delayed = [s for r in outage_tl.rails for s in r.steps if s.event]
    assert {(s.rail, s.seq) for s in delayed} == set(mark.steps)
    assert {s.rail for s in delayed} == {"correspondent", "onchain"}
    wait = next(s for s in delayed if s.kind == "outage")
    assert wait.label == f"GCUSUS33 down: {LABEL}" and wait.duration_s == 4 * 3600
    # every delayed step overlaps the outage's window
    assert all(s.started_at < mark.end and s.ended_at >= mark.start for s in delayed)


def test_the_html_page_shades_the_delayed_steps_and_names_the_event(outage_tl):
    fig = figure(outage_tl)
    bands = [sh for sh in fig.layout.shapes if sh.type == "rect"]
    assert len(bands) == 2 and all(b.name == LABEL for b in bands)    # one per rail
    assert any("event 0: bank outage GCUSUS33" in a.text for a in fig.layout.annotations)
    page = to_html(outage_tl)
    assert "id='events'" in page and "Stress events" in page and LABEL in page
    assert page.count(f"GCUSUS33 down: {LABEL}") >= 2


def test_the_terminal_hatches_the_delayed_bars_and_names_the_event(outage_tl):
    con = Console(width=160, file=io.StringIO(), color_system=None)
    render_terminal(outage_tl, con)
    out = con.file.getvalue()
    assert "▓" in out and f"{LABEL} delayed: correspondent #0" in out
    assert "GCUSUS33 down: event 0" in out


def test_a_timeline_without_events_is_unchanged(outage_tl):
    assert mark_events(outage_tl, None) is outage_tl
    plain = simulate("US-MX", parse_local_time("2025-11-03 10:00", "America/New_York"),
                     sender="GCUSUS33")
    assert plain.events == () and not any(s.event for r in plain.rails for s in r.steps)
    assert all(s.kind != "outage" for r in plain.rails for s in r.steps)


def test_settlesim_timeline_on_a_scenario_with_events_shows_them(tmp_path: Path, capsys):
    out = tmp_path / "outage.html"
    assert main(["timeline", "bank-outage", "--sender", "GCUSUS33", "--corridor", "US-MX",
                 "--at", "2025-11-03 10:00", "--tz", "America/New_York", "--width", "160",
                 "--out", str(out)]) == 0
    text = capsys.readouterr().out
    assert "GCUSUS33 down: event 0" in text and f"▓ {LABEL} delayed:" in text
    assert LABEL in out.read_text(encoding="utf-8")
