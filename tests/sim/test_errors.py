"""Refusals of the input (``InputError``) against faults of settlesim, in the API and the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

import sim
from sim.banking.network import NetworkFileError, RoutingError
from sim.banking.workload import WorkloadFileError, make_payment
from sim.calendar import CalendarError
from sim.cli import experiments as cli_experiments
from sim.cli import main
from sim.errors import InputError
from sim.experiments.scenario import ScenarioError
from sim.experiments.sweep import SweepError
from sim.money import MoneyError
from sim.onchain.chains import ChainProfileError
from sim.onchain.fee_market import Congestion
from sim.onchain.spec import OnChainSpecError
from sim.outputs.timeline import TimelineError
from sim.results import MoneyOverflowError


@pytest.mark.parametrize("cls", [CalendarError, ChainProfileError, MoneyError, MoneyOverflowError,
                                 NetworkFileError, OnChainSpecError, RoutingError, ScenarioError,
                                 SweepError, TimelineError, WorkloadFileError])
def test_every_refusal_is_an_input_error_and_still_a_value_error(cls: type) -> None:
    assert issubclass(cls, InputError) and issubclass(cls, ValueError)


def test_an_unknown_bank_is_an_input_error_and_still_a_lookup_error() -> None:
    net = sim.BankNetwork.default()
    with pytest.raises(RoutingError, match="no bank with id 'NOPE'") as exc:
        make_payment(0, 1.7e9, "NOPE", "PLMXMXMM", "200", "USD", "MXN", network=net)
    assert isinstance(exc.value, InputError) and isinstance(exc.value, LookupError)


@pytest.mark.parametrize(("call", "says"), [
    (lambda: Congestion(10.0, 5.0, 0.5), "end 5.0 must be after start 10.0"),
    (lambda: sim.run_onchain(ledger="paper"), "ledger must be 'contracts' or 'table'"),
    (lambda: make_payment(0, 1.7e9, "RBUSUS44", "PLMXMXMM", "200", "USD", "MXN",
                          segment="vip", network=sim.BankNetwork.default()), "segment 'vip'"),
])
def test_bad_arguments_to_the_api_are_input_errors(call, says: str) -> None:
    with pytest.raises(InputError, match=says):
        call()


def test_cli_prints_a_refusal_as_one_line_and_exits_2(monkeypatch, capsys) -> None:
    def refuse(args):
        raise InputError("corridors.0: no bank 'NOPE'; fix: use a bank of the network")

    monkeypatch.setattr(cli_experiments, "_cmd_scenarios", refuse)
    assert main(["scenarios"]) == 2
    err = capsys.readouterr().err
    assert err == ("settlesim scenarios: corridors.0: no bank 'NOPE'; fix: use a bank of the "
                   "network\n")


def test_cli_keeps_the_traceback_of_a_fault(monkeypatch) -> None:
    # a ValueError that is not an InputError is settlesim's own fault: it is not
    # dressed up as a refusal of the input
    def fault(args):
        raise ValueError("accounts are wrong")

    monkeypatch.setattr(cli_experiments, "_cmd_scenarios", fault)
    with pytest.raises(ValueError, match="accounts are wrong"):
        main(["scenarios"])
    monkeypatch.setattr(cli_experiments, "_cmd_scenarios",
                        lambda args: {}["missing"])          # a KeyError: a fault too
    with pytest.raises(KeyError):
        main(["scenarios"])


@pytest.mark.parametrize("raised", [InputError("gas beyond the tables"), ValueError("a bug")])
def test_run_reports_a_refusal_and_raises_a_fault_leaving_earlier_results(
        raised: Exception, monkeypatch, tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    out.mkdir()
    (out / "payments.csv").write_text("earlier\n")

    def run_to_dir(*args, **kwargs):
        raise raised

    monkeypatch.setattr(cli_experiments, "run_to_dir", run_to_dir)
    argv = ["run", "baseline", "--payments", "5", "--out", str(out)]
    if isinstance(raised, InputError):
        assert main(argv) == 1
        err = capsys.readouterr().err
        assert "settlesim run: baseline: gas beyond the tables; " in err
        assert "left as it was" in err
    else:
        with pytest.raises(ValueError, match="a bug"):
            main(argv)
    assert (out / "payments.csv").read_text() == "earlier\n"


def test_cli_names_an_output_folder_it_cannot_make(tmp_path: Path, capsys) -> None:
    blocker = tmp_path / "afile"
    blocker.write_text("not a folder\n")
    for argv in (["run", "baseline"], ["sweep", "baseline", "--grid", "seed=1,2"]):
        out = blocker / "sub" / "run"
        assert main([*argv, "--payments", "3", "--out", str(out)]) in (1, 2)
        err = capsys.readouterr().err
        # refused before any work: no progress bar, one line naming the folder and why
        assert err.startswith(f"settlesim {argv[0]}: ") and err.count("\n") == 1, err
        assert f"output folder {out}: {blocker} is a file, not a folder" in err
        assert blocker.read_text() == "not a folder\n"
