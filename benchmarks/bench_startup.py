#!/usr/bin/env python3
"""Start-up time of the command line against ``python -c "import pandas"``.

Each command runs as a fresh process (the way a user starts it), ``--repeat``
times, interleaved with the baseline so that load on the machine falls on both;
the best wall time of each is kept. Printed: each command's time and its ratio
to the baseline, measured in the same run (target: ``settlesim --help`` and
``settlesim validate FILE`` within 3x).

Usage: ``python benchmarks/bench_startup.py [--repeat 7]``
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "sim" / "data" / "scenarios" / "baseline.toml"
TARGET = 3.0

COMMANDS: dict[str, list[str]] = {
    "python -c 'import pandas'": [sys.executable, "-c", "import pandas"],
    "settlesim --help": [sys.executable, "-m", "sim.cli", "--help"],
    "settlesim validate baseline.toml": [sys.executable, "-m", "sim.cli", "validate",
                                         str(SCENARIO)],
}


def _wall(cmd: list[str]) -> float:
    t0 = time.perf_counter()
    done = subprocess.run(cmd, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                          text=True, check=False)
    elapsed = time.perf_counter() - t0
    if done.returncode != 0:
        raise SystemExit(f"bench_startup: {' '.join(cmd)} failed: {done.stderr.strip()}")
    return elapsed


def measure(repeat: int) -> dict[str, float]:
    """Best wall time (s) of each command over ``repeat`` interleaved rounds."""
    best = {name: float("inf") for name in COMMANDS}
    for _ in range(repeat):
        for name, cmd in COMMANDS.items():
            best[name] = min(best[name], _wall(cmd))
    return best


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=7, help="rounds; the best of each is kept")
    args = ap.parse_args(argv)
    if args.repeat < 1:
        ap.error("--repeat must be at least 1")
    best = measure(args.repeat)
    base_name = next(iter(COMMANDS))
    base = best[base_name]
    print(f"start-up, best of {args.repeat} fresh processes each")
    print(f"  {base_name:<34} {base:6.3f} s   (baseline)")
    worst = 0.0
    for name, t in best.items():
        if name == base_name:
            continue
        ratio = t / base
        worst = max(worst, ratio)
        print(f"  {name:<34} {t:6.3f} s   {ratio:5.2f} x the baseline (target <= {TARGET:g})")
    print(f"  {'met' if worst <= TARGET else 'MISSED'}: worst ratio {worst:.2f} x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
