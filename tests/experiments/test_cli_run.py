"""``settlesim run``: every output file, atomic publication, interruption (Ctrl-C)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

import sim
import sim.experiments.runner
import sim.onchain.rail
import sim.outputs.figures
import sim.publish as sim_publish
from sim.cli import main
from sim.results import PAYMENT_COLUMNS, STEP_COLUMNS

EXPECTED = {"payments.parquet", "payments.csv", "steps.parquet", "steps.csv", "summary.json",
            "scenario.json", "report.html", "figures/latency_ecdf.png",
            "figures/cost_breakdown.png", "figures/latency_heatmap.png",
            "figures/paired_differences.png", "manifest.json",
            "balances.parquet", "balances.csv", "figures/all_in_cost.png",
            "figures/exposure_over_time.png", "figures/busiest_balances.png"}


def _files(d: Path) -> set[str]:
    return {str(p.relative_to(d)) for p in d.rglob("*") if p.is_file()}


def _leftovers(parent: Path) -> list[Path]:
    return [p for p in parent.rglob("*") if ".partial-" in p.name or p.name.endswith(".tmp")
            or ".stage-" in p.name or ".old-" in p.name]


def test_run_writes_every_output(tmp_path, capsys):
    out = tmp_path / "run"
    assert main(["run", "baseline", "--payments", "25", "--seed", "4", "--out", str(out)]) == 0
    assert _files(out) == EXPECTED
    assert not _leftovers(tmp_path)
    pay = pd.read_parquet(out / "payments.parquet")
    steps = pd.read_parquet(out / "steps.parquet")
    assert tuple(pay.columns) == PAYMENT_COLUMNS and tuple(steps.columns) == STEP_COLUMNS
    assert len(pay) == 50 and len(pd.read_csv(out / "payments.csv")) == 50
    assert len(pd.read_csv(out / "steps.csv")) == len(steps)
    summ = json.loads((out / "summary.json").read_text())
    assert summ["scenario"] == "baseline" and summ["seed"] == 4
    assert set(summ["rails"]) == {"correspondent", "onchain"}
    assert json.loads((out / "scenario.json").read_text())["payments"] == 25
    for png in (out / "figures").iterdir():
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (out / "report.html").read_text()
    assert html.count("data:image/png;base64,") == 7 and "http://" not in html
    assert (out / "report.html").stat().st_mode & 0o044     # readable by others, like any file
    text = capsys.readouterr()
    assert "median latency" in text.out and "report.html" in text.out
    assert "5/5" in text.err                                # the progress bar, complete


@pytest.mark.parametrize("where", ["simulation", "figures"])
def test_ctrl_c_leaves_the_output_folder_as_it_was(tmp_path, monkeypatch, capsys, where):
    out = tmp_path / "run"
    out.mkdir()
    (out / "summary.json").write_text('{"old": true}\n')

    def interrupt(*a, **k):
        raise KeyboardInterrupt

    if where == "simulation":
        monkeypatch.setattr(sim.onchain.rail, "run", interrupt)
    else:
        monkeypatch.setattr(sim.outputs.figures, "render_figures", interrupt)
    assert main(["run", "baseline", "--payments", "10", "--out", str(out)]) == 130
    assert _files(out) == {"summary.json"}
    assert (out / "summary.json").read_text() == '{"old": true}\n'
    assert not _leftovers(tmp_path), _leftovers(tmp_path)
    assert "interrupted; nothing written" in capsys.readouterr().err


def test_a_write_cut_short_leaves_no_complete_looking_file(tmp_path, monkeypatch):
    """Kill the report write half way: the tables already staged are not published."""
    import sim.outputs.report

    out = tmp_path / "run"
    real = sim.outputs.report.render_report

    def half(results, figures=None):
        text = real(results, figures)
        raise KeyboardInterrupt(text[: len(text) // 2])

    monkeypatch.setattr(sim.outputs.report, "render_report", half)
    assert main(["run", "fast-ledger", "--payments", "8", "--out", str(out)]) == 130
    assert not out.exists() or _files(out) == set()
    assert not _leftovers(tmp_path)


def test_bad_scenario_and_bad_arguments_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('name = "x"\npayments = -3\n')
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert f"{bad}: payments: Input should be greater than or equal to 1" in err
    assert not (tmp_path / "o").exists()
    with pytest.raises(SystemExit) as ei:
        main(["run", "baseline", "--payments", "0"])
    assert ei.value.code == 2
    with pytest.raises(SystemExit):
        main(["run", "baseline", "--ledger", "sql"])


def test_replications_flag_puts_intervals_in_the_summary(tmp_path):
    out = tmp_path / "reps"
    assert main(["run", "fast-ledger", "--payments", "8", "--replications", "5",
                 "--out", str(out)]) == 0
    summ = json.loads((out / "summary.json").read_text())
    assert summ["replications"] == 5 and "ci_warning" not in summ
    assert summ["rails"]["onchain"]["ci95"]["share_within_1bd"] is not None
    assert "[" in (out / "report.html").read_text().split('id="kpis"')[1].split("</table>")[0]


def test_too_few_replications_are_flagged_in_the_report(tmp_path, capsys):
    out = tmp_path / "reps"
    assert main(["run", "fast-ledger", "--payments", "8", "--replications", "2",
                 "--out", str(out)]) == 0
    assert "too few" in json.loads((out / "summary.json").read_text())["ci_warning"]
    assert 'id="ci-warning"' in (out / "report.html").read_text()
    assert "warning: only 2 replication(s)" in capsys.readouterr().out


def test_notebook_write_outputs_writes_the_same_folder(baseline_small, tmp_path):
    paths = sim.write_outputs(baseline_small, tmp_path / "nb")
    assert _files(tmp_path / "nb") == EXPECTED
    assert {str(p.relative_to(tmp_path / "nb")) for p in paths} == EXPECTED
    assert not sim_publish.verify_manifest(tmp_path / "nb")
    manifest = json.loads((tmp_path / "nb" / "manifest.json").read_text())
    assert manifest["scenario_sha256"] == baseline_small.scenario.digest()
    assert not _leftovers(tmp_path)
    assert sim.render_report(baseline_small).startswith("<!DOCTYPE html>")


def test_notebook_save_writes_the_data_only(baseline_small, tmp_path):
    paths = baseline_small.save(tmp_path / "data")
    data = {f for f in EXPECTED if not f.startswith("figures/") and f != "report.html"}
    assert "manifest.json" in data
    assert _files(tmp_path / "data") == data
    assert {p.name for p in paths} == data
    assert json.loads((tmp_path / "data" / "scenario.json").read_text())["name"] == "baseline"
    assert not _leftovers(tmp_path)


def test_run_refused_by_the_model_says_why_and_keeps_earlier_results(tmp_path, capsys):
    # a day of full blocks drives gas beyond what the tables hold: the command names
    # the payment and the episode, exits 1 and leaves an earlier run's files untouched
    out = tmp_path / "run"
    assert main(["run", "baseline", "--payments", "10", "--seed", "1", "--out", str(out)]) == 0
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    src = Path(sim.__file__).parent / "data" / "scenarios" / "congestion.toml"
    text = src.read_text().replace("hours = 0.5", "hours = 24").replace(
        "utilisation = 0.7", "utilisation = 1.0").replace('name = "congestion"',
                                                           'name = "runaway-fees"')
    bad = tmp_path / "runaway.toml"
    bad.write_text(text)
    capsys.readouterr()
    assert main(["run", str(bad), "--payments", "30", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert "runaway-fees" in err and "does not fit a 64-bit integer column" in err
    assert "100% of the gas limit for 24 h" in err and "left as it was" in err
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    assert not _leftovers(tmp_path)


def test_an_unwritable_out_is_refused_before_the_run(monkeypatch, capsys):
    def must_not_run(*a, **k):
        raise AssertionError("the run started")

    monkeypatch.setattr(sim.experiments.runner, "run", must_not_run)
    assert main(["run", "baseline", "--payments", "5", "--out", "/proc/settlesim-out"]) == 2
    err = capsys.readouterr().err
    refusals = [line for line in err.splitlines() if line.startswith("settlesim run:")]
    assert len(refusals) == 1 and "output folder /proc/settlesim-out" in refusals[0]
    assert "Traceback" not in err
