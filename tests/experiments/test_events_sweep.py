"""A sweep of a scenario with events carries what they cost per grid point."""

from __future__ import annotations

import json

from sim.experiments.scenario import load_scenario
from sim.experiments.stress import MEASURES
from sim.experiments.sweep import run_sweep


def test_each_grid_point_of_a_sweep_with_events_carries_its_events_section(tmp_path):
    sc = load_scenario("bank-outage").with_params({"rails": ["correspondent"]})
    res = run_sweep(sc, ["payments=6"], out=tmp_path / "sw",
                    replications=2, workers=1)
    doc = json.loads((tmp_path / "sw" / "sweep_summary.json").read_text())
    assert doc == json.loads(json.dumps(res.summary))
    assert [p["params"] for p in doc["points"]] == [{"payments": 6}]
    for p, n in zip(doc["points"], (6,), strict=True):
        ev = p["events"]
        assert [e["kind"] for e in ev["events"]] == ["bank_outage"]
        k = ev["rails"]["correspondent"]
        assert set(k) == {*MEASURES, "drained_after_s"}
        assert k["payments"]["values"] == [n, n] and k["payments"]["mean"] == n
        assert len(k["drained_after_s"]) == 1 and len(k["drained_after_s"][0]["values"]) == 2
