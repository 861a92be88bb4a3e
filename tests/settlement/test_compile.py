"""Compiler pipeline: artifacts are fresh, errors name file and line."""

from __future__ import annotations

import json
import subprocess

import pytest

from settlement.compile import (
    ARTIFACTS_DIR,
    CONTRACTS,
    WRAPPER,
    CompileError,
    StaleArtifactError,
    check_artifacts,
    compile_contracts,
    load_artifact,
    write_artifacts,
)


@pytest.fixture(scope="module")
def fresh() -> dict:
    return compile_contracts()


def test_committed_artifacts_match_a_fresh_compilation(fresh: dict) -> None:
    for name in CONTRACTS:
        committed = load_artifact(name)
        for key in ("abi", "bytecode", "deployedBytecode", "sourcesSha256", "compiler"):
            assert committed[key] == fresh[name][key], (
                f"{name}: committed artifact's {key} is stale; run 'settlesim compile'"
            )


def test_artifacts_record_compiler_settings_and_compile_without_warnings(fresh: dict) -> None:
    for name, art in fresh.items():
        assert art["compiler"]["version"].startswith("0.8.37+commit.")
        assert art["settings"]["evmVersion"] == "prague"
        assert art["settings"]["optimizer"] == {"enabled": True, "runs": 200}
        assert art["warnings"] == [], f"{name} compiles with warnings: {art['warnings']}"
        assert f"contracts/{name}.sol" in art["sources"]
        assert any(s.startswith("@openzeppelin/contracts/") for s in art["sources"])


def test_stale_artifact_is_reported_by_contract_name(tmp_path, fresh: dict) -> None:
    write_artifacts(fresh, tmp_path)
    tampered = json.loads((tmp_path / "FxSwap.json").read_text())
    tampered["bytecode"] = tampered["bytecode"][:-2] + "00"
    (tmp_path / "FxSwap.json").write_text(json.dumps(tampered))
    with pytest.raises(StaleArtifactError, match=r"FxSwap: bytecode differs") as exc:
        check_artifacts(tmp_path, fresh)
    assert "Stablecoin" not in str(exc.value)
    check_artifacts(ARTIFACTS_DIR, fresh)  # the committed ones are fine


def test_compile_error_names_file_and_line(tmp_path) -> None:
    (tmp_path / "Broken.sol").write_text(
        "// SPDX-License-Identifier: MIT\n"
        "pragma solidity ^0.8.24;\n"
        "contract Broken {\n"
        "    function f() external pure returns (uint256) { return missing; }\n"
        "}\n"
    )
    with pytest.raises(CompileError) as exc:
        compile_contracts(tmp_path, names=("Broken",))
    msg = str(exc.value)
    assert "Undeclared identifier" in msg
    assert "contracts/Broken.sol:4:" in msg


def test_missing_import_is_a_clear_error(tmp_path) -> None:
    (tmp_path / "Imp.sol").write_text(
        'pragma solidity ^0.8.24;\nimport "./Nope.sol";\ncontract Imp {}\n'
    )
    with pytest.raises(CompileError, match=r"import not found: contracts/Nope.sol"):
        compile_contracts(tmp_path, names=("Imp",))


def test_wrapper_speaks_native_solc_version_format() -> None:
    out = subprocess.run([str(WRAPPER), "--version"], capture_output=True, text=True, check=True)
    lines = out.stdout.splitlines()
    assert lines[0] == "solc, the solidity compiler commandline interface"
    assert lines[1].startswith("Version: 0.8.37+commit.")


def test_wrapper_strips_the_smt_notice_from_standard_json_output() -> None:
    std_in = json.dumps({
        "language": "Solidity",
        "sources": {"A.sol": {"content": "// SPDX-License-Identifier: MIT\n"
                              "pragma solidity ^0.8.24; contract A {}"}},
        "settings": {"outputSelection": {"*": {"*": ["abi"]}}},
    })
    out = subprocess.run([str(WRAPPER), "--standard-json"], input=std_in, capture_output=True,
                         text=True, check=True)
    assert json.loads(out.stdout)["contracts"]["A.sol"]["A"]["abi"] == []
