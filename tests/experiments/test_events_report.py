"""The report of a run with events: a section listing the events with their sources and
what they cost per rail, and the figure of value in flight with the windows shaded."""

from __future__ import annotations

import json
import re

import pytest

from sim.cli import main
from sim.outputs.figures import event_figures
from sim.outputs.report import _events_section, event_rows


@pytest.fixture(scope="module")
def outage_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run") / "bank-outage"
    capture = pytest.MonkeyPatch()
    import io
    import sys

    buf = io.StringIO()
    capture.setattr(sys, "stdout", buf)
    try:
        assert main(["run", "bank-outage", "--payments", "24", "--out", str(out)]) == 0
    finally:
        capture.undo()
    return out, buf.getvalue()


@pytest.fixture(scope="module")
def outage_folder(outage_run):
    return outage_run[0]


def test_settlesim_run_prints_what_the_events_cost(outage_run):
    text = outage_run[1]
    assert "what the events cost, against the twin run without them" in text
    assert "returned because of the events" in text


def test_settlesim_run_of_a_stress_scenario_writes_the_events_section(outage_folder):
    html = (outage_folder / "report.html").read_text(encoding="utf-8")
    assert '<h2 id="events">Events and what they cost</h2>' in html
    listed = re.search(r'<table class="events" id="events-list">(.*?)</table>', html, re.S)
    assert listed and "bank_outage" in listed.group(1) and "GCUSUS33" in listed.group(1)
    assert "modelling choice: a 6 h processing outage" in listed.group(1)
    costs = re.search(r'<table class="event-costs" id="event-costs">(.*?)</table>', html, re.S)
    assert costs is not None
    head = re.findall(r"<th>(.*?)</th>", costs.group(1))
    assert head == ["measure", "correspondent", "onchain"]
    summary = json.loads((outage_folder / "summary.json").read_text())
    k = summary["events"]["rails"]["correspondent"]
    row = re.search(r"<td>returned because of the events</td><td[^>]*>([^<]*)</td>",
                    costs.group(1))
    assert row and row.group(1) == f"{k['returned']:,}"
    assert "event 0: after it" in costs.group(1)
    assert 'id="fig-value_in_flight"' in html
    png = outage_folder / "figures" / "value_in_flight.png"
    assert png.read_bytes()[:4] == b"\x89PNG" and png.stat().st_size > 10_000
    manifest = json.loads((outage_folder / "manifest.json").read_text())
    assert "figures/value_in_flight.png" in json.dumps(manifest)


def test_the_twin_s_tables_are_not_published(outage_folder):
    import pandas as pd

    p = pd.read_parquet(outage_folder / "payments.parquet")
    s = pd.read_parquet(outage_folder / "steps.parquet")
    # one row per payment and rail: the twin's rows are not among them
    assert len(p) == 48 and not p.duplicated(["rail", "payment_id"]).any()
    assert set(s["payment_id"]) == set(p["payment_id"])
    assert p.groupby("rail").size().to_dict() == {"correspondent": 24, "onchain": 24}


def test_a_run_without_events_has_no_events_section_nor_figure(baseline_small):
    assert _events_section(baseline_small.summary()) == []
    assert event_figures(baseline_small) == {}
    assert event_rows(baseline_small.summary()) == (["measure"], [])
