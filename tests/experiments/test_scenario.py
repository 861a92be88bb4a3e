"""Scenario files: validation (one line per problem, file and field path), shipped
scenarios, dotted-path parameters, seeds, and the ``validate``/``scenarios`` commands."""

from __future__ import annotations

import doctest
import importlib

import pytest

from sim.cli import main
from sim.experiments.runner import replication_seed
from sim.experiments.scenario import (
    Scenario,
    ScenarioError,
    load_scenario,
    scenario_comment,
    shipped_scenarios,
)

SHIPPED = ("baseline", "fast-ledger", "wholesale-pvp", "weekend", "congestion", "paper-claim",
           "cocoa-defi", "svb-weekend", "chain-halt", "bank-outage", "sanctions-freeze",
           "terra-run")

BAD_SHAPE = """
name = "bad one"
seed = -1
payments = "many"
rails = ["correspondent", "blockchain"]
colour = "red"
[horizon]
start = 2025-11-07T17:00:00
days = 0
[onchain]
ledger = "sql"
[onchain.ramps]
onramp_mode = "teleport"
"""

BAD_REFERENCES = """
name = "bad-refs"
[onchain]
chain = "solana"
[network.overrides]
review_share = 2.0
credit = { stp_share = 3 }
[network.banks.NOPE1234]
review_share = 0.1
[workload]
corridors = ["US-MX", "XX-YY"]
"""


def test_every_shipped_scenario_is_listed_validates_and_says_what_it_answers():
    assert set(shipped_scenarios()) == set(SHIPPED)
    for name, path in shipped_scenarios().items():
        sc = load_scenario(name)
        assert sc.name == name and sc.path == str(path)
        assert sc.question and sc.description
        assert len(scenario_comment(path)) > 80, f"{name}: needs a comment saying its question"
        assert sc.sources, f"{name}: cite the sources of its assumptions"


def test_shipped_scenarios_set_what_they_claim():
    sc = {n: load_scenario(n) for n in SHIPPED}
    assert sc["baseline"].onchain.chain == "ethereum-l1"
    assert sc["baseline"].rails == ["correspondent", "onchain"]
    assert sc["baseline"].workload.corridors is None
    assert sc["fast-ledger"].onchain.chain == "fast-ledger"
    assert sc["wholesale-pvp"].workload.segments == ["wholesale"]
    assert sc["wholesale-pvp"].onchain.chain == "permissioned-wholesale"
    start = sc["weekend"].horizon.start
    assert start.weekday() == 4 and start.hour >= 16          # Friday evening (UTC)
    assert sc["congestion"].congestion and all(
        e.utilisation > 0.5 for e in sc["congestion"].congestion)
    pc = sc["paper-claim"]
    assert pc.onchain.ramps.onramp_mode in ("instant", "prefunded")
    assert pc.onchain.ramps.offramp_mode in ("instant", "prefunded")
    assert pc.network.overrides["review_share"] == 0
    assert pc.network.overrides["credit"]["outside_hours"] is True


def test_bad_shape_gives_one_line_per_problem_with_file_and_field(write_scenario):
    path = write_scenario(BAD_SHAPE)
    with pytest.raises(ScenarioError) as ei:
        load_scenario(path)
    err = ei.value
    fields = [p.split(":")[0] for p in err.problems]
    assert fields == ["name", "seed", "payments", "horizon.start", "horizon.days", "rails.1",
                      "onchain.ledger", "onchain.ramps.onramp_mode", "colour"]
    lines = str(err).splitlines()[1:]
    assert len(lines) == len(err.problems) == 9
    assert all(line.startswith(f"{path}: ") for line in lines)
    by = dict(zip(fields, err.problems, strict=True))
    assert "allowed: 'contracts' or 'table'" in by["onchain.ledger"]
    assert "'wire', 'instant' or 'prefunded'" in by["onchain.ramps.onramp_mode"]
    assert "allowed: >= 0" in by["seed"]
    assert "zone" in by["horizon.start"]
    assert "unknown field; allowed: name, description" in by["colour"]
    assert "Traceback" not in str(err)


def test_bad_references_are_all_reported_together(write_scenario):
    path = write_scenario(BAD_REFERENCES)
    with pytest.raises(ScenarioError) as ei:
        load_scenario(path)
    probs = ei.value.problems
    assert [p.split(":")[0] for p in probs] == [
        "network.banks.NOPE1234", "network.overrides.review_share",
        "network.overrides.credit.stp_share", "workload.corridors.1", "onchain.chain"]
    assert "allowed: ethereum-l1, l2-rollup, fast-ledger, permissioned-wholesale" in probs[-1]
    assert "allowed: US-MX" in probs[3]


def test_toml_syntax_error_and_missing_file(write_scenario):
    with pytest.raises(ScenarioError, match="not valid TOML"):
        load_scenario(write_scenario("name = \n"))
    with pytest.raises(ScenarioError, match="no such file or shipped scenario; shipped"):
        load_scenario("no-such-scenario")


def test_relative_files_resolve_against_the_scenario_folder(write_scenario, tmp_path):
    from sim.banking.workload import DEFAULT_WORKLOAD_PATH

    (tmp_path / "wl.toml").write_text(DEFAULT_WORKLOAD_PATH.read_text())
    sc = load_scenario(write_scenario('name = "rel"\n[workload]\nfile = "wl.toml"\n'))
    assert sc.resolve(sc.workload.file, DEFAULT_WORKLOAD_PATH) == tmp_path / "wl.toml"
    with pytest.raises(ScenarioError, match="workload.file"):
        load_scenario(write_scenario('name = "rel"\n[workload]\nfile = "none.toml"\n', "b.toml"))


def test_with_params_sets_dotted_paths_and_validates():
    sc = load_scenario("baseline")
    out = sc.with_params({"onchain.chain": "fast-ledger", "onchain.ramps.onramp_mode": "instant",
                          "payments": 500, "horizon.days": 3,
                          "network.overrides.review_share": 0.0,
                          "onchain.chain_overrides.block_time_s": 6})
    assert out.onchain.chain == "fast-ledger" and out.payments == 500
    assert out.onchain.ramps.onramp_mode == "instant" and out.horizon.days == 3
    assert out.network.overrides == {"review_share": 0.0}
    assert out.onchain.chain_overrides == {"block_time_s": 6}
    assert sc.onchain.chain == "ethereum-l1" and sc.payments == 2000      # unchanged
    out.check()
    cong = load_scenario("congestion").with_params({"congestion.1.utilisation": 0.9})
    assert cong.congestion[1].utilisation == 0.9


@pytest.mark.parametrize(("params", "needle"), [
    ({"onchain.colour": "red"}, "onchain.colour: unknown field; allowed: chain,"),
    ({"nothing": 1}, "nothing: unknown field; allowed: name,"),
    ({"payments.x": 1}, "payments.x"),
    ({"onchain.ledger": "sql"}, "onchain.ledger: 'sql' is not allowed"),
    ({"payments": 0}, "payments: Input should be greater than or equal to 1"),
    ({"congestion.7.hours": 1}, "congestion"),
])
def test_with_params_rejects_unknown_paths_and_bad_values(params, needle):
    with pytest.raises(ScenarioError) as ei:
        load_scenario("congestion").with_params(params)
    assert any(needle in p for p in ei.value.problems), ei.value.problems


def test_scenarios_are_buildable_in_code():
    sc = Scenario(name="mine", payments=10, rails=["onchain"],
                  onchain={"chain": "l2-rollup", "ramps": {"onramp_mode": "prefunded"}})
    sc.check()
    assert sc.onchain.ramps.onramp_mode == "prefunded"
    with pytest.raises(Exception, match="each rail once"):
        Scenario(name="x", rails=["onchain", "onchain"])


def test_replication_seeds_are_deterministic_and_distinct():
    seeds = {replication_seed(7, r, g) for r in range(20) for g in range(5)}
    assert len(seeds) == 100
    assert replication_seed(7, 3, 2) == replication_seed(7, 3, 2)
    assert replication_seed(7, 3) != replication_seed(8, 3)
    assert all(0 <= s < 2**63 for s in seeds)
    with pytest.raises(ValueError):
        replication_seed(-1, 0)


def test_validate_command(write_scenario, capsys):
    assert main(["validate", "baseline", "paper-claim"]) == 0
    out = capsys.readouterr().out
    assert "ok: baseline" in out and "ok: paper-claim" in out
    bad = write_scenario(BAD_SHAPE)
    assert main(["validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert err.count(f"{bad}: ") == 9 and "Traceback" not in err


def test_scenarios_command_lists_every_shipped_scenario(capsys):
    assert main(["scenarios"]) == 0
    out = capsys.readouterr().out
    for name in SHIPPED:
        assert name in out


@pytest.mark.parametrize("mod", ["sim.experiments.scenario", "sim.experiments.components",
                                 "sim.experiments.statistics", "sim.outputs.report",
                                 "sim.outputs.figures"])
def test_doctests(mod):
    res = doctest.testmod(importlib.import_module(mod), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0
