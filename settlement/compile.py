"""Compile the Solidity sources in ``contracts/`` into committed JSON artifacts.

The compiler is the npm ``solc`` package (solcjs) pinned in ``package.json``,
driven through py-solc-x's ``compile_standard`` with the small wrapper
``settlement/bin/solc`` that makes solcjs look like native solc. Every imported
file (OpenZeppelin from ``node_modules``) is inlined into the standard JSON
input, so compilation does not depend on the compiler's import callbacks.

Artifacts (one ``<Contract>.json`` per contract in ``settlement/artifacts``)
hold the ABI, creation and runtime bytecode, compiler version, settings and a
sha256 of every source, so that running the simulator needs Python alone.

Example::

    >>> from settlement.compile import compile_contracts   # doctest: +SKIP
    >>> out = compile_contracts()                            # doctest: +SKIP
    >>> sorted(out)                                          # doctest: +SKIP
    ['FxSwap', 'SettlementEscrow', 'Stablecoin']
"""

from __future__ import annotations

import hashlib
import json
import os
import posixpath
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

__all__ = [
    "ARTIFACTS_DIR",
    "COMPILER_SETTINGS",
    "CONTRACTS",
    "CompileError",
    "StaleArtifactError",
    "check_artifacts",
    "compile_contracts",
    "load_artifact",
    "write_artifacts",
]

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
CONTRACTS_DIR = PROJECT_ROOT / "contracts"
ARTIFACTS_DIR = PACKAGE_DIR / "artifacts"
WRAPPER = PACKAGE_DIR / "bin" / "solc"

#: The contracts settlesim deploys, each in ``contracts/<Name>.sol``.
CONTRACTS = ("Stablecoin", "SettlementEscrow", "FxSwap",
             "AlgoStablecoin", "GovToken", "PriceOracle", "MarketModule", "StableSwapPool")

#: Compiler settings: optimizer on; the EVM version is explicit because
#: py-evm (the embedded chain) implements up to Prague, not Osaka.
COMPILER_SETTINGS: dict[str, Any] = {
    "optimizer": {"enabled": True, "runs": 200},
    "evmVersion": "prague",
    "outputSelection": {
        "*": {"*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"]},
    },
}

_IMPORT_RE = re.compile(r"""^\s*import\s+(?:[^"';]*?\bfrom\s+)?["']([^"']+)["']""", re.M)


class CompileError(RuntimeError):
    """Solidity did not compile; the message is solc's, with file and line."""


class StaleArtifactError(RuntimeError):
    """A committed artifact no longer matches what the sources compile to."""


@dataclass(frozen=True)
class _Sources:
    units: dict[str, str]  # source unit name -> content

    @property
    def sha256(self) -> str:
        h = hashlib.sha256()
        for name in sorted(self.units):
            h.update(name.encode())
            h.update(b"\0")
            h.update(self.units[name].encode())
            h.update(b"\0")
        return h.hexdigest()


def _node_modules(start: Path) -> Path:
    for d in (start, *start.parents):
        if (d / "node_modules").is_dir():
            return d / "node_modules"
    raise CompileError(
        f"no node_modules found above {start}; run 'npm ci' in the project root "
        "(package.json pins solc and @openzeppelin/contracts)"
    )


def _resolve(importer: str, target: str) -> str:
    if target.startswith("./") or target.startswith("../"):
        return posixpath.normpath(posixpath.join(posixpath.dirname(importer), target))
    return target


def _read_unit(name: str, contracts_dir: Path) -> str:
    if name.startswith("contracts/"):
        path = contracts_dir / name[len("contracts/") :]
    else:
        path = _node_modules(contracts_dir) / name
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise CompileError(f"import not found: {name} (looked at {path})") from None


def _collect_sources(contracts_dir: Path, names: tuple[str, ...]) -> _Sources:
    units: dict[str, str] = {}
    todo = [f"contracts/{n}.sol" for n in names]
    while todo:
        name = todo.pop()
        if name in units:
            continue
        content = _read_unit(name, contracts_dir)
        units[name] = content
        for target in _IMPORT_RE.findall(content):
            todo.append(_resolve(name, target))
    return _Sources(units)


#: solc warns (2394) at every ``tstore``; OpenZeppelin's ``TransientSlot`` is the one use here,
#: behind ``ReentrancyGuardTransient``, a guard cleared at the end of each call (which the
#: warning itself names as safe).
_KNOWN_WARNINGS = {("2394", "@openzeppelin/contracts/utils/TransientSlot.sol")}


def _known_warning(error: dict[str, Any]) -> bool:
    where = (error.get("sourceLocation") or {}).get("file", "")
    return (str(error.get("errorCode")), where) in _KNOWN_WARNINGS


def compiler_version() -> str:
    """The full version of the pinned solcjs, e.g. ``0.8.37+commit.f401782d``."""
    import solcx.wrapper

    return solcx.wrapper.get_version_str_from_solc_binary(WRAPPER)


def compile_contracts(
    contracts_dir: Path | None = None, names: tuple[str, ...] = CONTRACTS
) -> dict[str, dict[str, Any]]:
    """Compile ``names`` from ``contracts_dir`` and return one artifact dict each.

    Raises:
        CompileError: solc reported an error; the message names file and line.
    """
    import solcx
    from solcx.exceptions import SolcError

    contracts_dir = (contracts_dir or CONTRACTS_DIR).resolve()
    sources = _collect_sources(contracts_dir, names)
    std_input = {
        "language": "Solidity",
        "sources": {n: {"content": c} for n, c in sorted(sources.units.items())},
        "settings": COMPILER_SETTINGS,
    }
    try:
        output = solcx.compile_standard(std_input, solc_binary=WRAPPER)
    except SolcError as exc:
        raise CompileError(f"solc failed to compile contracts:\n{exc.message}") from None
    warnings = [
        e["formattedMessage"]
        for e in output.get("errors", [])
        if e.get("severity") == "warning" and not _known_warning(e)
    ]
    version = compiler_version()
    artifacts: dict[str, dict[str, Any]] = {}
    for name in names:
        unit = f"contracts/{name}.sol"
        try:
            out = output["contracts"][unit][name]
        except KeyError:
            raise CompileError(f"{unit} does not define a contract named {name}") from None
        artifacts[name] = {
            "contractName": name,
            "sourceName": unit,
            "abi": out["abi"],
            "bytecode": "0x" + out["evm"]["bytecode"]["object"],
            "deployedBytecode": "0x" + out["evm"]["deployedBytecode"]["object"],
            "compiler": {"name": "solc (npm solcjs)", "version": version},
            "settings": {k: v for k, v in COMPILER_SETTINGS.items() if k != "outputSelection"},
            "sourcesSha256": sources.sha256,
            "sources": sorted(sources.units),
            "warnings": warnings,
        }
    return artifacts


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_artifacts(
    artifacts: dict[str, dict[str, Any]], out_dir: Path | None = None
) -> list[Path]:
    """Write each artifact to ``<out_dir>/<Contract>.json`` atomically."""
    out_dir = out_dir or ARTIFACTS_DIR
    paths = []
    for name, art in artifacts.items():
        path = out_dir / f"{name}.json"
        _atomic_write(path, json.dumps(art, indent=1, sort_keys=True) + "\n")
        paths.append(path)
    return paths


def load_artifact(name: str, artifacts_dir: Path | None = None) -> dict[str, Any]:
    """Load a committed artifact by contract name.

    Raises:
        FileNotFoundError: with the command that creates it.
    """
    path = (artifacts_dir or ARTIFACTS_DIR) / f"{name}.json"
    if not path.exists():
        raise FileNotFoundError(f"no artifact for {name} at {path}; run 'settlesim compile'")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def check_artifacts(
    artifacts_dir: Path | None = None, fresh: dict[str, dict[str, Any]] | None = None
) -> None:
    """Recompile (unless ``fresh`` artifacts are given) and compare with the committed ones.

    Raises:
        StaleArtifactError: naming every contract whose committed artifact
            differs (sources, ABI or bytecode) from a fresh compilation.
    """
    fresh = fresh if fresh is not None else compile_contracts()
    stale = []
    for name, art in fresh.items():
        try:
            committed = load_artifact(name, artifacts_dir)
        except FileNotFoundError:
            stale.append(f"{name}: no committed artifact")
            continue
        for key in ("sourcesSha256", "abi", "bytecode", "deployedBytecode", "compiler"):
            if committed.get(key) != art[key]:
                stale.append(f"{name}: {key} differs")
                break
    if stale:
        raise StaleArtifactError(
            "stale contract artifacts (run 'settlesim compile' and commit them): "
            + "; ".join(stale)
        )
