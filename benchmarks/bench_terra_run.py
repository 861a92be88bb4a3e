#!/usr/bin/env python3
"""The Terra run model on its two ledgers: the exact mirror against the real contracts.

The same settings and seed run once on :class:`~sim.terra.ledger.MirrorLedger` and
once on :class:`~sim.terra.ledger.ContractLedger` (every swap, redemption and
transfer a transaction on the embedded chain, one block per model step), in the same
process on the same machine. Prints each run's rate in model steps and in ledger
transactions per second of wall time, the ratio mirror / contracts, and checks that
both runs gave identical tables.

Usage: ``python benchmarks/bench_terra_run.py [--agents 500] [--days 1] [--step 600]``
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.terra.model import run_terra  # noqa: E402
from sim.terra.settings import TerraSettings  # noqa: E402


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--agents", type=int, default=500)
    ap.add_argument("--days", type=float, default=1.0)
    ap.add_argument("--step", type=int, default=600, help="seconds per model step")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args(argv)
    s = TerraSettings.default().with_changes(
        {"run.agents": a.agents, "run.days": a.days, "run.step_seconds": a.step})
    rates = {}
    runs = {}
    for kind in ("mirror", "contracts"):
        t0 = time.perf_counter()
        r = run_terra(s, seed=a.seed, ledger=kind)
        wall = time.perf_counter() - t0
        runs[kind] = r
        steps, txs = len(r.series), len(r.transactions)
        rates[kind] = steps / wall
        print(f"{kind:>9}: {steps:,} steps, {txs:,} transactions in {wall:.2f} s: "
              f"{steps / wall:,.1f} steps/s, {txs / wall:,.1f} tx/s")
    pd.testing.assert_frame_equal(runs["mirror"].series, runs["contracts"].series)
    pd.testing.assert_frame_equal(runs["mirror"].transactions, runs["contracts"].transactions)
    print(f"mirror / contracts: {rates['mirror'] / rates['contracts']:,.0f}x faster "
          f"({a.agents} agents, {a.days:g} days, {a.step} s steps); tables identical")


if __name__ == "__main__":
    main()
