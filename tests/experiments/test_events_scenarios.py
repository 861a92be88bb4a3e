"""The shipped stress scenarios: each opens with its question, cites its sources and
every event's, validates, and runs (with its twin) at a few payments."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sim.cli import main
from sim.experiments.components import build_components
from sim.experiments.runner import run_scenario
from sim.experiments.scenario import load_scenario, shipped_scenarios

STRESS = {"svb-weekend": "issuer_freeze", "chain-halt": "chain_halt",
          "bank-outage": "bank_outage", "sanctions-freeze": "sanction"}


@pytest.mark.parametrize(("name", "kind"), sorted(STRESS.items()))
def test_a_stress_scenario_asks_its_question_and_cites_every_event(name, kind):
    assert name in shipped_scenarios()
    sc = load_scenario(name)
    text = Path(sc.path).read_text(encoding="utf-8")
    opening = text.split("\n\n")[0]
    assert opening.startswith(f"# {name}: ") and "?" in opening
    doc = tomllib.loads(text)
    assert doc["sources"] and sc.question.endswith("?")
    assert [e.kind for e in sc.events] == [kind]
    assert all(e.source for e in sc.events)
    events = build_components(sc).events
    assert [e.kind for e in events.events] == [kind]


@pytest.mark.parametrize("name", sorted(STRESS))
def test_a_stress_scenario_runs_with_its_twin_at_a_few_payments(name):
    res = run_scenario(load_scenario(name), payments=4, seed=3)
    costs = res.meta["events"]
    assert set(costs.rails) == {"correspondent", "onchain"}
    assert all(m["payments"] == 4 for m in costs.rails.values())


def test_the_svb_weekend_freeze_follows_the_published_price_path():
    (e,) = build_components(load_scenario("svb-weekend")).events.events
    assert e.target == "USD" and (e.end - e.start) / 3600 == 63
    assert min(p for _, p in e.price_path) < 0.90                  # Sat 11 Mar
    assert e.price_at(e.end) == pytest.approx(0.99)                 # Mon 13 Mar
    assert {e.policy_of("RBUSUS44"), e.policy_of("GCUSUS33")} == {"sell", "wait"}


def test_settlesim_run_runs_a_stress_scenario_by_name(tmp_path, capsys):
    out = tmp_path / "o"
    assert main(["run", "chain-halt", "--payments", "5", "--out", str(out)]) == 0
    assert (out / "summary.json").exists() and (out / "report.html").exists()
