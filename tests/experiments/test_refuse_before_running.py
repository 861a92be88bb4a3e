"""Everything a run can fail on is refused before it starts: by ``settlesim validate``,
by :func:`load_scenario`, by :meth:`Scenario.with_params` and by ``settlesim run``,
one line per problem naming the file and the field, exit status 2, no traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.banking.workload import WorkloadSpec
from sim.cli import main
from sim.experiments.scenario import Scenario, ScenarioError, load_scenario

CORRIDORS = [c.name for c in WorkloadSpec.default().corridors]


def _problems(params: dict) -> list[str]:
    with pytest.raises(ScenarioError) as info:
        load_scenario("baseline").with_params(params)
    return info.value.problems


def _validate(tmp_path: Path, text: str, capsys: pytest.CaptureFixture[str]
              ) -> tuple[int, list[str]]:
    path = tmp_path / "s.toml"
    path.write_text(text, encoding="utf-8")
    code = main(["validate", str(path)])
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = [ln for ln in err.splitlines() if ln.startswith(str(path) + ": ")]
    return code, lines


@pytest.mark.parametrize(("start", "why"), [
    ("1969-12-31T00:00:00Z", "before 1970-01-01T00:00:00Z"),
    ("1900-01-01T00:00:00Z", "before 1970-01-01T00:00:00Z"),
    ("2262-01-01T00:00:00Z", "the last instant the model represents"),
])
def test_a_horizon_the_model_clocks_cannot_hold_is_refused(start, why):
    (p,) = _problems({"horizon.start": start})
    assert p.startswith("horizon.start: ") and why in p


@pytest.mark.parametrize(("start", "days", "country", "year"), [
    ("1999-06-01T00:00:00Z", 7, "IN", "1999"),       # Indian lunar holidays: 2001..2035
    ("2035-12-20T00:00:00Z", 3, "IN", "2036"),       # settling runs into 2036
    ("2150-01-01T00:00:00Z", 7, "US", "2150"),       # past every country's data
])
def test_a_horizon_the_holidays_data_does_not_cover_is_refused(start, days, country, year):
    (p,) = _problems({"horizon.start": start, "horizon.days": days})
    assert p.startswith("horizon.start: ")
    assert f"holidays data of {country} covers" in p and f"not {year}" in p


def test_the_workload_file_s_own_window_is_checked_too(tmp_path):
    text = Path(WorkloadSpec.default().path).read_text(encoding="utf-8")
    text = text.replace("2025-11-03", "1975-11-03")
    assert "1975-11-03" in text
    wl = tmp_path / "old.toml"
    wl.write_text(text, encoding="utf-8")
    with pytest.raises(ScenarioError) as info:
        Scenario(name="old", workload={"file": str(wl)}).check()
    assert any(p.startswith("horizon (the workload file's start): ") and "IN" in p
               for p in info.value.problems)


def test_corridor_shares_that_are_all_zero_are_refused():
    (p,) = _problems({"workload.shares": {c: 0.0 for c in CORRIDORS}})
    assert p.startswith("workload.shares: every corridor kept")
    (p,) = _problems({"workload.corridors": ["US-MX"], "workload.shares": {"US-MX": 0}})
    assert p.startswith("workload.shares: ") and "(US-MX)" in p


def test_a_workload_file_with_every_share_zero_is_refused():
    data = WorkloadSpec.default().model_dump(mode="python", exclude={"path"})
    data["corridors"] = [{**c, "share": 0.0} for c in data["corridors"]]
    with pytest.raises(ValueError, match="every share is 0"):
        WorkloadSpec.from_dict(data)


def test_segments_only_zero_share_corridors_carry_are_refused():
    spec = WorkloadSpec.default()
    no_wholesale = [c.name for c in spec.corridors if c.segments.get("wholesale", 0) == 0]
    wholesale = [c.name for c in spec.corridors if c.segments.get("wholesale", 0) > 0]
    if not no_wholesale or not wholesale:
        pytest.skip("the default workload has no corridor without wholesale")
    probs = _problems({"workload.shares": {c: 0.0 for c in wholesale},
                       "workload.segments": ["wholesale"]})
    assert any(p.startswith("workload.segments: no corridor with a positive share")
               for p in probs)


def test_a_congestion_episode_outside_the_horizon_is_refused():
    (p,) = _problems({"congestion": [
        {"start": "2025-11-04T14:30:00Z", "hours": 0.5, "utilisation": 0.7},
        {"start": "2024-01-01T00:00:00Z", "hours": 1, "utilisation": 0.7}]})
    assert p.startswith("congestion.1.start: ") and "outside the horizon" in p
    # ending exactly when the horizon starts does not overlap it
    (p,) = _problems({"congestion": [
        {"start": "2025-11-02T23:00:00Z", "hours": 1, "utilisation": 0.7}]})
    assert p.startswith("congestion.0.start: ")


def test_an_unknown_currency_under_the_ramps_settings_is_refused():
    (p,) = _problems({"onchain.ramps.currencies": {"XYZ": {"cutoff": "16:00"},
                                                    "USD": {"cutoff": "16:00"}}})
    assert p.startswith("onchain.ramps.currencies.XYZ: not a currency") and "USD" in p


def test_with_params_refuses_an_unknown_chain_at_once():
    (p,) = _problems({"onchain.chain": "solana"})
    assert p.startswith("onchain.chain: no chain profile 'solana'; allowed: ethereum-l1")


@pytest.mark.parametrize(("line", "field", "said"), [
    ("payments = true", "payments", "true is a boolean; allowed: a whole number"),
    ('payments = "5"', "payments", "'5' is text; allowed: a whole number"),
    ("payments = 5.0", "payments", "5.0 is a decimal number; allowed: a whole number"),
    ("seed = false", "seed", "false is a boolean"),
    ("replications = 1.5", "replications", "1.5 is a decimal number"),
])
def test_scenario_numbers_are_not_coerced(tmp_path, capsys, line, field, said):
    code, lines = _validate(tmp_path, f'name = "x"\n{line}\n', capsys)
    assert code == 2
    assert len(lines) == 1 and f": {field}: {said}" in lines[0], lines


@pytest.mark.parametrize(("table", "line", "field", "said"), [
    ("horizon", 'days = "2"', "horizon.days", "'2' is text; allowed: a number"),
    ("horizon", "days = nan", "horizon.days", "nan is not a finite number"),
    ("horizon", "days = inf", "horizon.days", "inf is not a finite number"),
    ("horizon", "days = true", "horizon.days", "true is a boolean"),
    ("onchain", 'charge_bank_fees = "yes"', "onchain.charge_bank_fees", "'yes' is text"),
    ("onchain", "charge_bank_fees = 1", "onchain.charge_bank_fees", "1 is a whole number"),
    ("onchain.escrow", "fee_bps = true", "onchain.escrow.fee_bps", "true is a boolean"),
    ("onchain.ramps", "review_share = nan", "onchain.ramps.review_share", "nan is not a"),
    ("workload", "shares = { US-MX = true }", "workload.shares.US-MX", "true is a boolean"),
    ("workload", 'corridors = "US-MX"', "workload.corridors", "'US-MX' is text"),
])
def test_scenario_tables_are_strict_too(tmp_path, capsys, table, line, field, said):
    code, lines = _validate(tmp_path, f'name = "x"\n[{table}]\n{line}\n', capsys)
    assert code == 2
    assert len(lines) == 1 and f": {field}: {said}" in lines[0], lines


def test_toml_date_times_and_iso_text_in_code_still_work():
    sc = load_scenario("congestion")
    assert sc.horizon.start is not None and sc.congestion[0].start.tzinfo is not None
    sc = Scenario(name="x", horizon={"start": "2025-11-03T00:00:00Z", "days": 2})
    assert sc.horizon.days == 2.0
    assert sc.with_params({"horizon.start": "2025-11-04T00:00:00Z"}).horizon.start.day == 4


def test_a_scenario_file_that_is_not_utf8_is_refused_in_one_line(tmp_path, capsys):
    path = tmp_path / "latin1.toml"
    path.write_bytes('name = "x"\nquestion = "café?"\n'.encode("latin-1"))
    assert main(["validate", str(path)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"{path}: not UTF-8 text (byte 0xe9 at offset 26); save the file as UTF-8" in err
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 2
    assert "not UTF-8" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize("key", ["network", "workload", "settings"])
def test_a_referenced_file_that_is_not_utf8_is_refused_in_one_line(tmp_path, key):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(b"x = \"\xff\"\n")
    table = "onchain" if key == "settings" else key
    field = "settings" if key == "settings" else "file"
    with pytest.raises(ScenarioError) as info:
        Scenario(name="x", **{table: {field: str(bad)}}).check()
    assert any("not UTF-8 text (byte 0xff" in p for p in info.value.problems)


def test_run_refuses_before_running_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "s.toml"
    path.write_text('name = "x"\n[horizon]\nstart = 1960-01-01T00:00:00Z\n', encoding="utf-8")
    out = tmp_path / "out"
    assert main(["run", str(path), "--payments", "3", "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{path}: horizon.start: " in err
    assert not out.exists()
    assert main(["sweep", str(path), "--payments", "3", "--workers", "1", "--quiet",
                 "--out", str(out)]) == 2
    assert "horizon.start" in capsys.readouterr().err and not out.exists()


@pytest.mark.parametrize(("table", "field"), [("network", "file"), ("workload", "file"),
                                              ("onchain", "settings")])
def test_a_file_reference_with_a_nul_character_is_refused(tmp_path, capsys, table, field):
    code, lines = _validate(tmp_path, f'name = "x"\n[{table}]\n{field} = "a\\u0000b"\n',
                            capsys)
    assert code == 2
    assert len(lines) == 1 and f": {table}.{field}: a file path cannot hold a NUL" in lines[0]


@pytest.mark.parametrize("ref", ["/", "sim/data/chains.toml", "/proc/self"])
def test_a_file_reference_that_is_no_such_file_is_refused(tmp_path, capsys, ref):
    code, lines = _validate(tmp_path, f'name = "x"\n[workload]\nfile = "{ref}"\n', capsys)
    assert code == 2 and len(lines) >= 1
    assert all(": workload." in ln or ": workload:" in ln for ln in lines), lines


@pytest.mark.parametrize(("params", "says"), [
    ({"network.overrides.capacity": True}, "overrides.capacity: True is a boolean"),
    ({"network.banks.RBUSUS44": {"review_share": False}},
     "banks.RBUSUS44.review_share: False is a boolean"),
    ({"network.overrides.review_share": float("inf")},
     "overrides.review_share: inf is not a finite"),
])
def test_bank_overrides_are_not_coerced(params, says) -> None:
    from sim.experiments.problems import ScenarioError
    from sim.experiments.scenario import load_scenario

    with pytest.raises(ScenarioError) as info:
        load_scenario("baseline").with_params(params)
    assert any(says in p for p in info.value.problems), info.value.problems


def test_a_boolean_bank_field_still_takes_a_boolean() -> None:
    from sim.experiments.scenario import load_scenario

    sc = load_scenario("baseline").with_params({"network.overrides.credit.outside_hours": True})
    assert sc.network.overrides["credit"]["outside_hours"] is True
