"""Start-up stays light: ``import sim``, ``settlesim --help`` and ``validate`` load
only what they need (the timing itself is ``benchmarks/bench_startup.py``)."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

import pytest

import sim

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "pyarrow", "scipy", "web3", "eth_tester", "matplotlib", "plotly", "dask",
         "distributed", "simpy", "rich.progress")


def _loaded(code: str) -> dict[str, bool]:
    probe = (f"import sys, json\n{code}\n"
             f"print(json.dumps({{m: m in sys.modules for m in {list(HEAVY)!r}}}))")
    out = subprocess.run([sys.executable, "-c", probe], cwd=ROOT, capture_output=True,
                         text=True, check=True, timeout=120).stdout
    return json.loads(out.strip().splitlines()[-1])


def test_import_sim_loads_none_of_the_model() -> None:
    assert not any(_loaded("import sim").values())


def test_help_loads_none_of_the_model() -> None:
    code = ("from sim.cli import main\n"
            "try:\n    main(['--help'])\nexcept SystemExit:\n    pass")
    assert not any(_loaded(code).values())


def test_validate_loads_no_chain_client_no_tables_and_no_plotting() -> None:
    code = ("from sim.cli import main\n"
            "import contextlib, io\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    assert main(['validate', 'sim/data/scenarios/baseline.toml']) == 0")
    loaded = _loaded(code)
    assert not any(loaded[m] for m in ("web3", "eth_tester", "matplotlib", "plotly", "dask",
                                       "distributed", "scipy", "pyarrow")), loaded


def test_lazy_names_match_what_type_checkers_see() -> None:
    tree = ast.parse((ROOT / "sim" / "__init__.py").read_text(encoding="utf-8"))
    typed: dict[str, tuple[str, str]] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            for imp in node.body:
                assert isinstance(imp, ast.ImportFrom) and imp.module
                for a in imp.names:
                    typed[a.asname or a.name] = (imp.module, a.name)
    assert typed == sim._EXPORTS
    assert sorted(typed) == sorted(sim.__all__)


@pytest.mark.parametrize("name", ["Nope", "_EXPORTS_", "banking_"])
def test_an_unknown_name_is_an_attribute_error(name: str) -> None:
    with pytest.raises(AttributeError, match=name):
        getattr(sim, name)
