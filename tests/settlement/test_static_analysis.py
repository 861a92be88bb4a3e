"""Slither over contracts/ (through the project's solc wrapper): every finding triaged.

The analysis takes about ten seconds. Slither lives in its own environment (``make slither``,
which ``make test`` and ``make lint`` run); without it the suite's static-analysis test is
skipped locally and fails in CI (``CI`` set), where ``make test`` installs it.
"""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from settlement.compile import WRAPPER
from settlement.static_analysis import (
    Finding,
    TriageError,
    check,
    load_triage,
    run_slither,
    slither_executable,
)


@pytest.fixture(scope="module")
def findings() -> list[Finding]:
    if slither_executable() is None:
        if os.environ.get("CI"):
            pytest.fail("slither is not installed: 'make slither' installs it")
        pytest.skip("slither is not installed: run 'make slither'")
    return run_slither()


def test_every_slither_finding_is_triaged(findings: list[Finding]) -> None:
    check(findings)   # raises TriageError naming each untriaged finding or stale entry


def test_an_untriaged_finding_fails_the_check(findings: list[Finding]) -> None:
    extra = Finding("reentrancy-eth", "High", "Medium", "Reentrancy in FxSwap.refund(...)")
    with pytest.raises(TriageError, match="untriaged .*reentrancy-eth"):
        check([*findings, extra])
    with pytest.raises(TriageError, match="stale triage entry"):
        check(findings[1:])


def test_no_finding_of_high_or_medium_impact_is_accepted() -> None:
    impacts = {entry["impact"] for entry in load_triage().values()}
    assert impacts <= {"Low", "Informational", "Optimization"}


def test_the_wrapper_compiles_standard_json_that_names_sources_by_path() -> None:
    # slither's invocation: sources by path, the OpenZeppelin remapping, read by solcjs's
    # import callback from the base path and the project's node_modules
    std_in = json.dumps({
        "language": "Solidity",
        "sources": {"contracts/FxSwap.sol": {"urls": ["contracts/FxSwap.sol"]}},
        "settings": {"remappings": ["@openzeppelin/=node_modules/@openzeppelin/"],
                     "outputSelection": {"*": {"": ["ast"]}}},
    })
    out = subprocess.run([str(WRAPPER), "--standard-json", "--allow-paths", "."],
                         input=std_in, capture_output=True, text=True, check=True,
                         cwd=WRAPPER.parents[2])
    result = json.loads(out.stdout)
    errors = [e for e in result.get("errors", []) if e["severity"] == "error"]
    assert not errors, errors
    assert "node_modules/@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol" in result[
        "sources"]


def test_the_wrapper_refuses_combined_json_naming_the_mode_to_use() -> None:
    out = subprocess.run([str(WRAPPER), "--combined-json", "abi", "contracts/FxSwap.sol"],
                         capture_output=True, text=True, check=False)
    assert out.returncode == 2
    assert "--solc-standard-json" in out.stderr
