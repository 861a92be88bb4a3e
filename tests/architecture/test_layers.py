"""The architecture is enforced: import-linter's contracts in ``pyproject.toml``
hold, and they fail when a lower layer imports a higher one."""

from __future__ import annotations

import importlib
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")


def _lint(root: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([str(LINT), "--no-cache", "--config", str(root / "pyproject.toml")],
                          cwd=root, env=env, capture_output=True, text=True, timeout=120)


def test_the_contracts_hold_on_the_tree() -> None:
    res = _lint(ROOT)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "0 broken" in res.stdout


def _copy(tmp_path: Path) -> Path:
    dst = tmp_path / "repo"
    for name in ("sim", "settlement"):
        shutil.copytree(ROOT / name, dst / name,
                        ignore=shutil.ignore_patterns("__pycache__", "artifacts", "data"))
    shutil.copy(ROOT / "pyproject.toml", dst / "pyproject.toml")
    return dst


@pytest.mark.parametrize(("module", "line", "contract"), [
    ("sim/banking/network.py", "import sim.outputs.report", "sim is layered"),
    ("sim/results.py", "from sim.experiments import runner", "sim is layered"),
    ("sim/experiments/runner.py", "import sim.outputs.figures", "sim is layered"),
    ("sim/onchain/rail.py", "import sim.banking.correspondent", "never on the correspondent"),
    ("settlement/chain.py", "import sim.results", "never imports the simulation model"),
    ("sim/banking/network.py", "import sim.banking.workload", "banking:"),
])
def test_a_lower_layer_importing_a_higher_one_breaks_a_contract(
        tmp_path: Path, module: str, line: str, contract: str) -> None:
    repo = _copy(tmp_path)
    path = repo / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    res = _lint(repo)
    assert res.returncode != 0
    broken = " ".join(res.stdout.split("Broken contracts", 1)[-1].split())
    assert contract in broken, res.stdout


@pytest.mark.parametrize("package", ["sim", "settlement"])
def test_every_public_name_imports(package: str) -> None:
    mod = importlib.import_module(package)
    missing = [name for name in mod.__all__ if not hasattr(mod, name)]
    assert not missing
    assert len(set(mod.__all__)) == len(mod.__all__)


def test_no_module_of_sim_outside_a_sub_package_but_the_shared_basics() -> None:
    top = sorted(p.stem for p in (ROOT / "sim").glob("*.py"))
    assert top == ["__init__", "calendar", "draws", "errors", "events", "money", "publish",
                   "results"]
    packages = sorted(p.parent.name for p in (ROOT / "sim").glob("*/__init__.py"))
    assert packages == ["banking", "cli", "experiments", "onchain", "outputs", "terra"]
    for pkg in packages:
        doc = importlib.import_module(f"sim.{pkg}").__doc__ or ""
        assert "layer" in doc.lower(), f"sim.{pkg} does not say its layer"
