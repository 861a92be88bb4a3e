"""Gas report (measured, reproducible, committed) and the settlesim commands."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from settlement.gas import load_gas_report, measure_gas
from sim.cli import main

OPERATIONS = {
    "mint", "transfer", "permit", "lock", "lock_batch", "release_preimage",
    "release_attestation", "refund", "fx_fund", "fx_settle", "burn",
}


@pytest.fixture(scope="module")
def measured() -> dict:
    return measure_gas()


def test_gas_report_covers_every_operation_the_issue_names(measured: dict) -> None:
    assert OPERATIONS <= set(measured["operations"])
    for name, op in measured["operations"].items():
        assert 21_000 < op["gas"] < 3_000_000, name
        assert op["description"], name


def test_committed_gas_report_matches_a_fresh_measurement(measured: dict) -> None:
    committed = load_gas_report()
    assert committed["operations"] == measured["operations"], (
        "settlement/artifacts/gas_report.json is stale: run 'settlesim gas-report --write'"
    )
    assert committed["sourcesSha256"] == measured["sourcesSha256"]


def test_gas_figures_have_the_expected_shape(measured: dict) -> None:
    ops = measured["operations"]
    # writing a new storage slot costs more than updating one (EIP-2929/3529 pricing)
    assert ops["transfer"]["gas"] > ops["transfer_existing"]["gas"]
    assert ops["mint"]["gas"] > ops["mint_existing"]["gas"]
    # a batch amortises the 21,000 base cost and calldata overhead of each lock
    assert ops["lock_batch"]["gas_per_item"] < ops["lock"]["gas"]
    assert ops["release_batch"]["gas_per_item"] < ops["release_attestation"]["gas"]
    # settling moves two legs on top of funding one
    assert ops["fx_settle"]["gas"] > ops["transfer_existing"]["gas"]


def test_each_row_says_whether_it_is_a_first_time_or_a_steady_state_figure(
    measured: dict
) -> None:
    kinds = {op["description"].split(":")[0] for op in measured["operations"].values()}
    assert kinds == {"first-time", "steady state"}
    ops = measured["operations"]
    # a first lock of a token pays for the escrow's first balance and locked total
    assert ops["lock"]["description"].startswith("first-time")
    assert ops["lock"]["gas"] > ops["lock_attestation"]["gas"]
    assert ops["fx_fund"]["gas"] > ops["fx_fund_steady"]["gas"]


def test_a_baseline_payment_costs_at_least_35_percent_less_gas_than_before(
    measured: dict
) -> None:
    pay = measured["baseline_payment"]
    assert set(pay["operations"]) == {"mint", "fx_fund", "fx_settle", "lock", "release",
                                      "redeem", "burn"}
    assert pay["gas"] == sum(pay["operations"].values())
    assert pay["previous_gas"] == 780_010
    assert pay["gas"] <= 0.65 * pay["previous_gas"], pay
    # the lean records: a lock and a first swap leg each write one new slot, not 7 and 9
    assert pay["operations"]["lock"] < 100_000 and pay["operations"]["fx_fund"] < 100_000


def test_batch_size_changes_batch_figures_only() -> None:
    small = measure_gas(batch_size=2)["operations"]
    assert small["lock_batch"]["gas"] < measure_gas(batch_size=4)["operations"]["lock_batch"]["gas"]
    with pytest.raises(ValueError, match="batch_size"):
        measure_gas(batch_size=0)


def test_gas_report_json_command(capsys) -> None:
    assert main(["gas-report", "--json", "--batch-size", "3"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["batch_size"] == 3
    assert OPERATIONS <= set(report["operations"])


def test_gas_report_table_command(capsys) -> None:
    assert main(["gas-report", "--batch-size", "2"]) == 0
    out = capsys.readouterr().out
    for op in ("release_attestation", "fx_settle", "lock_batch"):
        assert op in out
    assert "one baseline on-chain payment, all its transactions, steady state:" in out
    assert "previous contracts: 780,010" in out


def test_deploy_command_prints_addresses(capsys) -> None:
    assert main(["deploy", "--currencies", "USD,eur"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert set(data["tokens"]) == {"USD", "EUR"}
    addresses = [*data["tokens"].values(), data["SettlementEscrow"], data["FxSwap"]]
    assert len(set(addresses)) == 4 and all(a.startswith("0x") and len(a) == 42 for a in addresses)
    assert set(data["roles"]) >= {"owner", "master_minter", "pauser", "blacklister"}


@pytest.mark.parametrize(("argv", "says"), [
    (["deploy", "--currencies", "US"], "currency 'US' is not an ISO 4217 code such as 'USD'"),
    (["deploy", "--currencies", "USD,mxn,usd"], "currencies repeat: ['USD', 'MXN', 'USD']"),
    (["deploy", "--currencies", " , "], "' , ': give ISO 4217 codes such as USD,EUR,MXN"),
    (["demo", "--amount", "0"], "--amount: must be at least 1, not 0"),
    (["gas-report", "--batch-size", "x"], "--batch-size: 'x' is not a whole number"),
])
def test_chain_commands_refuse_bad_arguments_before_touching_a_chain(argv, says, capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main(argv)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert f"settlesim {argv[0]}: error: argument" in err and says in err
    assert "Traceback" not in err


def test_demo_runs_the_payment_end_to_end() -> None:
    out = subprocess.run([sys.executable, "scripts/onchain_demo.py", "--amount", "250"],
                         capture_output=True, text=True, check=True).stdout
    lines = out.splitlines()
    steps = [ln for ln in lines if ln[:3].strip().rstrip(".").isdigit()]
    assert len(steps) == 9
    assert "on-ramp" in steps[0] and "burns" in steps[-1]
    assert any("both legs settle atomically" in s for s in steps)
    # 250 x 17.25 = 4,312.50 less the 30 bp spread = 4,299.5625, less the 10 bp escrow fee
    assert "payee received 4,295.26 MXN" in out


def test_an_amm_payment_spends_two_transactions_and_less_gas_than_the_provider_route(
    measured: dict
) -> None:
    amm, base = measured["amm_payment"], measured["baseline_payment"]
    assert set(amm["operations"]) == {"mint", "swap_and_lock", "release", "redeem", "burn"}
    assert amm["transactions"] == len(base["operations"]) - 2 == 5
    assert amm["gas"] == sum(amm["operations"].values()) < base["gas"]
    # one transaction does what the PvP funding, its settlement and the lock did in three
    assert amm["operations"]["swap_and_lock"] < (base["operations"]["fx_fund"]
                                                 + base["operations"]["fx_settle"]
                                                 + base["operations"]["lock"])
    ops = measured["operations"]
    assert ops["amm_swap_and_lock"]["gas"] < ops["amm_swap_and_lock_2hops"]["gas"]
    assert ops["amm_add_liquidity_first"]["gas"] > ops["amm_add_liquidity"]["gas"]
