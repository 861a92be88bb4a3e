"""summary.json's ``events`` section: the events as the schedule describes them and, per
rail, what they cost against the twin runs, with intervals from five replications."""

from __future__ import annotations

import json

import pytest

from sim.experiments.runner import run
from sim.experiments.scenario import load_scenario
from sim.experiments.stress import COUNT_MEASURES, MEAN_MEASURES, MEASURES

RAIL_KEYS = {*MEASURES, "events"}


@pytest.fixture(scope="module")
def outage5():
    # the correspondent rail alone: five replications stay quick
    sc = load_scenario("bank-outage").with_params({"rails": ["correspondent"]})
    return run(sc, payments=20, replications=5)


def test_the_events_section_lists_the_events_and_the_measures_per_rail(outage5):
    doc = json.loads(json.dumps(outage5.summary()))          # what summary.json holds
    ev = doc["events"]
    assert set(ev) == {"events", "method", "rails"}
    (e,) = ev["events"]
    assert e == outage5.components.events.describe()[0]
    assert (e["kind"], e["target"], e["hours"]) == ("bank_outage", "GCUSUS33", 6.0)
    assert e["source"].startswith("modelling choice")
    assert set(ev["rails"]) == {"correspondent"}
    for rail, k in ev["rails"].items():
        assert set(k) == RAIL_KEYS | {"ci95"}, rail
        # counts are pooled like the other KPIs' counts, no interval
        assert k["payments"] == doc["rails"][rail]["count"] == 100
        assert not set(COUNT_MEASURES) & set(k["ci95"])
        assert set(k["ci95"]) == {"affected_share", "extra_latency_p50_s",
                                  "extra_latency_p90_s", *MEAN_MEASURES}
        share = k["ci95"]["affected_share"]
        assert share is not None and 0 <= share[0] <= share[1] <= 1
        (per,) = k["events"]
        assert set(per) == {"index", "label", "in_flight", "still_frozen",
                            "drained_after_s", "ci95"}
        assert per["label"] == e["label"]


def test_the_pooled_counts_are_the_replications_sums(outage5):
    k = outage5.summary()["events"]["rails"]["correspondent"]
    reps = [r.meta["events"].rails["correspondent"] for r in outage5.replications]
    assert k["affected"] == sum(r["affected"] for r in reps)
    assert k["returned"] == sum(r["returned"] for r in reps)
    assert k["value_hours_usd"] == pytest.approx(sum(r["value_hours_usd"] for r in reps) / 5)


def test_a_run_without_events_has_no_events_section(baseline_small):
    assert "events" not in baseline_small.summary()


def test_few_replications_give_no_interval():
    k = run("chain-halt", payments=10).summary()["events"]["rails"]["onchain"]
    assert "ci95" not in k and k["payments"] == 10
