"""Every benchmark still runs, at a tiny size, and prints the ratio it exists for.

These check that the scripts work (imports, arguments, the figures they print),
not how fast anything is: the figures themselves are the benchmarks' own output.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("script", "args", "prints"), [
    ("bench_startup.py", ["--repeat", "1"], "x the baseline (target <= 3)"),
    ("bench_correspondent.py", ["--payments", "300", "--repeat", "1"],
     "x slower than the skeleton"),
    ("bench_onchain.py", ["--contracts", "3", "--table", "200", "--at-rate", "", "--repeat", "1"],
     "pyevm against eth-tester"),
    ("bench_chain.py", ["--n", "10"], "tx/s"),
    ("bench_terra_ledger.py", ["--ops", "20"], "x the contracts ledger"),
    ("bench_balances.py", ["--payments", "200", "--repeat", "1"],
     "x the payments/s without it (target >= 0.85)"),
    ("bench_amm.py", ["--payments", "60", "--repeat", "1"],
     "x the provider route's payments/s"),
    ("bench_events.py", ["--payments", "40", "--repeat", "1", "--scenario", "chain-halt"],
     "of the payments/s without events (target >= 0.90"),
    ("bench_terra_run.py", ["--agents", "20", "--days", "0.03", "--step", "600"],
     "mirror / contracts"),
])
def test_benchmark_runs(script: str, args: list[str], prints: str) -> None:
    done = subprocess.run([sys.executable, str(ROOT / "benchmarks" / script), *args], cwd=ROOT,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    assert prints in done.stdout, done.stdout[-2000:]
