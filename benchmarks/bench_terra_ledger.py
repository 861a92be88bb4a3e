#!/usr/bin/env python3
"""Operations per second of the algorithmic stablecoin's two ledgers on the same sequence.

Both ledgers run the same seeded sequence of :func:`sim.terra.ledger.random_operations`
(swaps both ways through the market module, pool swaps, transfers, oracle moves,
parameter changes and block advances of 1 to 5000 heights, some of them reverting),
measured in the same run on the same machine:

* ``mirror``: :class:`~sim.terra.ledger.MirrorLedger`, exact Python integers;
* ``contracts``: :class:`~sim.terra.ledger.ContractLedger`, every operation a real
  transaction on the embedded chain (its deployment and genesis are not timed).

The contracts ledger is the baseline: the figure printed is the mirror's speed-up over it.
Both must end in the same state, which the script checks.

Usage: ``python benchmarks/bench_terra_ledger.py [--ops 400] [--seed 1]``.
"""

from __future__ import annotations

import argparse
import time

from sim.terra.ledger import (
    ContractLedger,
    MirrorLedger,
    TerraLedger,
    apply_operation,
    demo_genesis,
    random_operations,
)


def run(ledger: TerraLedger, ops: list[tuple[object, ...]]) -> tuple[float, list[object]]:
    """Seconds to apply ``ops`` to ``ledger`` (after its genesis), and their results."""
    demo_genesis(ledger)
    t0 = time.perf_counter()
    results = [apply_operation(ledger, op) for op in ops]
    return time.perf_counter() - t0, results


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--ops", type=int, default=400, help="operations in the sequence")
    p.add_argument("--seed", type=int, default=1, help="seed of the sequence")
    a = p.parse_args()
    ops = random_operations(a.seed, a.ops)
    mirror, contracts = MirrorLedger(), ContractLedger()
    dt_mirror, out_mirror = run(mirror, ops)
    dt_contracts, out_contracts = run(contracts, ops)
    if out_mirror != out_contracts or mirror.state() != contracts.state():
        raise SystemExit("the two ledgers disagree on this sequence")
    reverted = sum(1 for r in out_mirror if isinstance(r, tuple) and r[:1] == ("revert",))
    print(f"{a.ops} operations (seed {a.seed}, {reverted} reverted), same results and state")
    print(f"  contracts ledger: {a.ops / dt_contracts:10,.0f} ops/s  (baseline)")
    print(f"  mirror ledger:    {a.ops / dt_mirror:10,.0f} ops/s  "
          f"{dt_contracts / dt_mirror:,.0f}x the contracts ledger")


if __name__ == "__main__":
    main()
