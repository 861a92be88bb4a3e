"""Fuzzing scenario files: the shipped scenarios, mutated by hypothesis, are either
refused by ``settlesim validate`` (exit status 2, no traceback, every problem on its
own line naming the file and its field) or run to completion at a few payments.

The validate-only fuzzer draws any mutation (most are refused quickly); the run
fuzzer draws values near the shipped ones, so more of its documents are valid and
run (three payments, the gas-table ledger, in this process).
"""

from __future__ import annotations

import contextlib
import io
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from sim.cli import main
from sim.experiments.runner import run
from sim.experiments.scenario import Scenario, ScenarioError, load_scenario
from sim.results import conservation_violations

from .scenario_fuzz import mutated, to_toml

#: Problems about the file as a whole (no field to name).
FILE_LEVEL = ("not valid TOML", "not UTF-8 text", "cannot read the file")
#: Fields named by what they stand for when the scenario leaves them out.
IMPLIED = ("(top level)", "horizon (the workload file's start)", "network (default file)")
#: A dotted field path: bare keys or TOML-quoted ones (``workload.shares."a b"``).
PART = r'(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*")'
PATH = rf"{PART}(?:\.{PART})*"
FIELDS = tuple(f for f in Scenario.model_fields if f != "path")
#: 500 examples under the CI profile (200 there), proportionally fewer in dev.
VALIDATE_PROFILE = settings(max_examples=settings().max_examples * 5 // 2)
RUN_PROFILE = settings(max_examples=max(20, settings().max_examples // 2),
                       suppress_health_check=[HealthCheck.too_slow,
                                              HealthCheck.data_too_large,
                                              HealthCheck.filter_too_much])


@pytest.fixture(scope="module")
def doc_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz") / "fuzzed.toml"


@pytest.fixture(scope="module")
def warm() -> None:
    """One run first: the gas table is measured (and web3 loaded) once, outside the
    examples."""
    run("baseline", payments=1)


def validate(path: Path) -> tuple[int, str, str]:
    """``settlesim validate PATH`` in this process: (status, stdout, stderr). Any
    exception other than a refusal propagates (a traceback: the fuzzer fails)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["validate", str(path)])
    return code, out.getvalue(), err.getvalue()


def assert_refusal_names_fields(path: Path, err: str) -> None:
    lines = err.splitlines()
    assert lines, "a refusal says why"
    assert re.fullmatch(r"\d+ problem\(s\) in scenario .*:", lines[0]), lines[0]
    assert "Traceback" not in err
    for line in lines[1:]:
        assert line.startswith(f"{path}: "), f"not one line per problem: {line!r}"
        rest = line[len(f"{path}: "):]
        if rest.startswith(FILE_LEVEL) or rest.startswith(IMPLIED):
            continue
        m = re.match(rf"({PATH}): \S", rest)
        assert m, f"no 'field: what' in {line!r}"
        field = re.match(rf"{PART}", m.group(1)).group(0)  # type: ignore[union-attr]
        unknown = rest[m.end(1):].startswith(": unknown field; allowed: ")
        assert field in FIELDS or unknown, f"problem does not name its field: {line!r}"


def check_document(path: Path, text: str | bytes) -> int:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text, encoding="utf-8")
    code, out, err = validate(path)
    assert code in (0, 2), (code, err)
    if code == 2:
        assert_refusal_names_fields(path, err)
    else:
        assert f"{path}: ok: " in out and not err
    return code


@VALIDATE_PROFILE
@given(doc=mutated(max_mutations=3, wild=True), damage=st.sampled_from(
    ["none"] * 12 + ["truncate", "latin-1", "nul"]), cut=st.floats(0, 1))
def test_mutated_scenarios_are_refused_one_field_per_line_or_accepted(doc_path, doc, damage,
                                                                      cut):
    text = to_toml(doc)
    data: str | bytes = text
    if damage == "truncate":
        data = text[: int(len(text) * cut)]
    elif damage == "latin-1":
        data = text.replace('"', '"\xe9', 1).encode("latin-1", errors="replace")
    elif damage == "nul":
        data = text.encode() + b"\x00\xff"
    event("accepted" if check_document(doc_path, data) == 0 else "refused")


@RUN_PROFILE
@given(doc=mutated(max_mutations=2, wild=False))
def test_mutated_scenarios_that_validate_run_to_completion(doc_path, warm, doc):
    if check_document(doc_path, to_toml(doc)) != 0:
        event("refused by validate")
        return
    event("ran")
    sc = load_scenario(doc_path)
    res = run(sc, payments=3, replications=1, ledger="table")
    assert len(res.payments) == 3 * len(sc.rails)
    assert set(res.payments.status) <= {"credited", "returned", "failed"}
    assert conservation_violations(res.payments).empty


def test_the_fuzzers_reach_valid_documents():
    """The run fuzzer's strategy gives valid documents often enough to mean something."""
    from hypothesis import find

    def valid(doc: dict) -> bool:
        try:
            # the project's own constructor: a refusal is a ScenarioError (pydantic's
            # model_validate would raise its ValidationError for every invalid draw)
            Scenario(**{**doc, "path": "<fuzz>"}).check()
        except ScenarioError:
            return False
        return True

    assert valid(find(mutated(max_mutations=2, wild=False), valid))
