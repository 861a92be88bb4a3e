"""The shipped stress scenarios: each opens with its question, cites its sources and
every event's, and validates (``tests/experiments/test_events_study.py`` runs each of
them with its twin at a few payments)."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from sim.experiments.components import build_components
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


def test_the_svb_weekend_freeze_follows_the_published_price_path():
    (e,) = build_components(load_scenario("svb-weekend")).events.events
    assert e.target == "USD" and (e.end - e.start) / 3600 == 63
    assert min(p for _, p in e.price_path) < 0.90                  # Sat 11 Mar
    assert e.price_at(e.end) == pytest.approx(0.99)                 # Mon 13 Mar
    assert {e.policy_of("PLMXMXMM"), e.policy_of("PLPHPHMM")} == {"sell", "wait"}

