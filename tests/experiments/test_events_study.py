"""``scripts/stress_study.py`` runs the four shipped stress scenarios with their twins and
prints one table: scenario x rail x the measures; bad options are refused in one line."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def study():
    spec = importlib.util.spec_from_file_location("stress_study",
                                                  ROOT / "scripts" / "stress_study.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


def test_the_study_prints_one_table_of_every_scenario_and_rail(study, tmp_path, capsys):
    assert study.main(["--payments", "4", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    lines = out.splitlines()
    head = next(i for i, ln in enumerate(lines) if ln.startswith("scenario "))
    assert lines[head].split()[:4] == ["scenario", "rail", "pay", "hit"]
    body = lines[head + 2: head + 10]
    assert [ln.split()[:3] for ln in body] == [
        [s, r, "4"] for s in study.SCENARIOS for r in ("correspondent", "onchain")]
    table = pd.read_csv(tmp_path / "stress_study.csv")
    assert list(table.columns) == [c for c, _, _ in study.COLUMNS] and len(table) == 8
    assert (table["affected"] <= table["payments"]).all()
    doc = json.loads((tmp_path / "stress_study.json").read_text())
    assert sorted(doc["scenarios"]) == sorted(study.SCENARIOS)
    assert doc["scenarios"]["svb-weekend"]["events"][0]["kind"] == "issuer_freeze"


def test_the_study_refuses_bad_options_in_one_line(study, tmp_path, capsys):
    assert study.main(["--payments", "0", "--out", str(tmp_path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    assert study.main(["--scenario", "baseline", "--payments", "3",
                       "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err
    assert "has no events" in err and err.count("\n") == 1
