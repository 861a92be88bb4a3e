"""The Python API refuses like the command line: a bad argument to a public function
of ``sim`` raises :class:`sim.InputError` naming it, before anything runs; Ctrl-C
while the command line starts exits 130 in one line; a sweep started from the top
of a script without a ``__main__`` guard is refused in one line; the on-chain
benchmark skips an empty workload."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from datetime import datetime
from pathlib import Path

import pytest

import sim
from sim.cli import main

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("kwargs", "said"), [
    ({"payments": 0}, "payments"), ({"payments": -3}, "payments"),
    ({"payments": True}, "payments: true is a boolean"),
    ({"payments": 2.5}, "payments: 2.5 is a decimal number"),
    ({"payments": 20_000_000}, "payments: Input should be less than or equal to 10000000"),
    ({"replications": 0}, "replications"), ({"replications": 5000}, "replications"),
    ({"replications": "2"}, "replications: '2' is text"),
    ({"seed": -1}, "seed"), ({"seed": 1.5}, "seed"),
    ({"ledger": "sql"}, "onchain.ledger: 'sql' is not allowed"),
])
def test_run_refuses_bad_overrides_before_running(kwargs, said):
    with pytest.raises(sim.InputError) as info:
        sim.run("baseline", **kwargs)
    assert said in str(info.value)


def test_run_refuses_something_that_is_not_a_scenario():
    with pytest.raises(sim.InputError, match="scenario must be a Scenario"):
        sim.run(42)  # type: ignore[arg-type]
    with pytest.raises(sim.InputError, match="scenario must be a Scenario"):
        sim.run_scenario("baseline")  # type: ignore[arg-type]


@pytest.mark.parametrize(("kwargs", "said"), [
    ({"payments": 0}, "payments must be a whole number >= 1"),
    ({"payments": True}, "payments must be a whole number >= 1"),
    ({"seed": -3}, "seed must be a whole number >= 0"),
    ({"seed": "1"}, "seed must be a whole number >= 0"),
    ({"replication": -1}, "replication must be a whole number >= 0"),
])
def test_run_scenario_refuses_bad_arguments(kwargs, said):
    with pytest.raises(sim.InputError, match=said):
        sim.run_scenario(sim.load_scenario("baseline"), **kwargs)


@pytest.mark.parametrize(("kwargs", "said"), [
    ({"seed": -1}, "seed must be a whole number >= 0"),
    ({"seed": 1.5}, "seed must be a whole number >= 0"),
    ({"seed": 1, "n_payments": -1}, "n_payments must be a whole number >= 0"),
    ({"seed": 1, "n_payments": 2.0}, "n_payments must be a whole number >= 0"),
    ({"seed": 1, "days": 0}, r"days must be a number in \(0, 366\]"),
    ({"seed": 1, "days": float("nan")}, "days must be a number"),
    ({"seed": 1, "start": datetime(2025, 11, 3)}, "start must be an aware datetime"),
    ({"seed": 1, "segments": "retail"}, "segments must be a non-empty list"),
    ({"seed": 1, "segments": ["gold"]}, "segments must be a non-empty list"),
])
def test_workload_generate_refuses_bad_arguments(kwargs, said):
    with pytest.raises(sim.InputError, match=said):
        sim.Workload.generate(**kwargs)


def test_simulate_timeline_refuses_bad_arguments():
    with pytest.raises(sim.InputError, match="seed must be a whole number"):
        sim.simulate_timeline("US-MX", 1763760600.0, seed=-1)
    with pytest.raises(sim.InputError, match="before 1970"):
        sim.simulate_timeline("US-MX", -1.0)
    with pytest.raises(sim.InputError, match="amount must be positive"):
        sim.simulate_timeline("US-MX", 1763760600.0, amount="0")


def test_run_sweep_refuses_an_unknown_scheduler_scheme(tmp_path):
    with pytest.raises(sim.InputError, match="--scheduler http://x: cannot reach"):
        sim.run_sweep("baseline", [], out=tmp_path / "s", payments=2, scheduler="http://x")
    assert not (tmp_path / "s").exists()


def test_ctrl_c_while_the_commands_load_is_one_line_and_status_130(monkeypatch, capsys):
    def interrupted() -> object:      # Ctrl-C while the command modules import
        raise KeyboardInterrupt

    monkeypatch.setattr(sys.modules["sim.cli.main"], "_modules", interrupted)
    assert main(["validate", "baseline"]) == 130
    err = capsys.readouterr().err
    assert err == "settlesim: interrupted\n"


def test_ctrl_c_while_arguments_are_parsed_is_one_line_and_status_130(monkeypatch, capsys):
    import argparse

    def interrupted(self: object, *a: object, **k: object) -> object:
        raise KeyboardInterrupt

    monkeypatch.setattr(argparse.ArgumentParser, "parse_args", interrupted)
    assert main(["validate", "baseline"]) == 130
    assert capsys.readouterr().err == "settlesim: interrupted\n"


SWEEP_CALL = ('sim.run_sweep("baseline", ["onchain.chain=ethereum-l1,fast-ledger"], '
              'out={out!r}, payments=2, workers=2)')


def _script(tmp_path: Path, body: str) -> subprocess.CompletedProcess[str]:
    path = tmp_path / "study.py"
    path.write_text(body, encoding="utf-8")
    return subprocess.run([sys.executable, str(path)], capture_output=True, text=True,
                          timeout=300, cwd=tmp_path)


def test_a_sweep_from_the_top_of_a_script_without_a_main_guard_is_refused(tmp_path):
    out = tmp_path / "out"
    done = _script(tmp_path, f"import sim\n{SWEEP_CALL.format(out=str(out))}\n")
    assert done.returncode == 1
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("sim.experiments.sweep.SweepError: ")
    assert f"{tmp_path / 'study.py'}:2: run_sweep starts local worker processes" in last
    assert "if __name__ == \"__main__\":" in last
    assert "Nanny" not in done.stderr and not out.exists()


def test_the_guard_check_lets_guarded_and_in_function_calls_through(monkeypatch):
    from sim.experiments import sweep

    # called from this test (a function, not the top level of __main__): allowed
    assert sweep._unguarded_main_line() is None
    monkeypatch.setitem(sys.modules, "__main__", type(sys)("__main__"))
    assert sweep._unguarded_main_line() is None   # no script file: a notebook, -c


@pytest.mark.slow
def test_a_guarded_script_runs_its_sweep_on_two_workers(tmp_path):
    out = tmp_path / "out"
    done = _script(tmp_path, "import sim\n\nif __name__ == \"__main__\":\n    res = "
                   f"{SWEEP_CALL.format(out=str(out))}\n    print(len(res.files))\n")
    assert done.returncode == 0, done.stderr
    assert (out / "payments.parquet").exists()


def test_the_onchain_benchmark_skips_an_empty_workload(monkeypatch, capsys):
    spec = importlib.util.spec_from_file_location(
        "bench_onchain", ROOT / "benchmarks" / "bench_onchain.py")
    assert spec is not None and spec.loader is not None
    bench = importlib.util.module_from_spec(spec)
    monkeypatch.syspath_prepend(str(ROOT / "benchmarks"))
    spec.loader.exec_module(bench)
    monkeypatch.setattr(bench, "bench_raw", lambda n: 1.0)
    bench.main(["--contracts", "0", "--table", "0", "--at-rate", "", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "contracts in the loop: --contracts 0 is an empty workload; skipped" in out
    assert "gas table: 0 payments is an empty workload; skipped" in out
    with pytest.raises(SystemExit) as info:
        bench.main(["--contracts", "-1"])
    assert info.value.code == 2
    assert "argument --contracts: must be at least 0, not -1" in capsys.readouterr().err


def _api_calls() -> dict[str, object]:
    net = sim.BankNetwork.default()
    wl = sim.Workload.generate(seed=1, n_payments=2, network=net)
    return {
        "run_correspondent seed -1": lambda: sim.run_correspondent(net, wl, seed=-1),
        "run_correspondent seed text": lambda: sim.run_correspondent(net, wl, seed="x"),
        "run_onchain seed -1": lambda: sim.run_onchain(net, wl, seed=-1),
        "replication_seed text": lambda: sim.replication_seed("a", 0),
        "replication_seed fraction": lambda: sim.replication_seed(1.5, 0),
        "make_payment negative amount": lambda: sim.make_payment(
            0, 1.7e9, "RBUSUS44", "PLMXMXMM", "-1", "USD", "MXN", network=net),
        "make_payment NaN instant": lambda: sim.make_payment(
            0, float("nan"), "RBUSUS44", "PLMXMXMM", "1", "USD", "MXN", network=net),
        "run_sweep workers text": lambda: sim.run_sweep("baseline", [], out="unused",
                                                        workers="x"),
        "run_sweep retries text": lambda: sim.run_sweep("baseline", [], out="unused",
                                                        retries="x", workers=1),
        "run_sweep grid not lists": lambda: sim.run_sweep("baseline", {"payments": 3},
                                                          out="unused", workers=1),
        "simulate_timeline corridor number": lambda: sim.simulate_timeline(1, 1.7e9),
        "timeline_from_results not tables": lambda: sim.timeline_from_results(
            (None, None), "P1"),
        "Scenario boolean payments": lambda: sim.Scenario(name="x", payments=True),
        "Workload.generate spec number": lambda: sim.Workload.generate(1, seed=1),
    }


@pytest.mark.parametrize("name", sorted([
    "run_correspondent seed -1", "run_correspondent seed text", "run_onchain seed -1",
    "replication_seed text", "replication_seed fraction", "make_payment negative amount",
    "make_payment NaN instant", "run_sweep workers text", "run_sweep retries text",
    "run_sweep grid not lists", "simulate_timeline corridor number",
    "timeline_from_results not tables", "Scenario boolean payments",
    "Workload.generate spec number"]))
def test_public_functions_refuse_bad_arguments_with_input_error(name, tmp_path,
                                                                monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(sim.InputError):
        _api_calls()[name]()  # type: ignore[operator]
    assert not (tmp_path / "unused").exists()
