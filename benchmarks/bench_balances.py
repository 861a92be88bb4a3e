"""What recording balances costs: the table ledger's payments/s with it and without it.

Both are measured in the same run on the same workload, in CPU time of this process
(``time.process_time``), alternating, best of ``--repeat``:

* **with**: :func:`sim.onchain.rail.run` with the table ledger as every run does it:
  each balance change of the provider's inventory, the banks' stablecoin holdings,
  swap legs and escrow locks recorded (:mod:`sim.balances`), the balances table
  built and checked, each payment's liquidity cost and FX risk worked out;
* **without**: the same call with ``balances=False`` (the recorder switched off:
  no changes kept, no table, zero liquidity columns).

The figure reported is the ratio with / without of payments per second (target:
at least 0.85). The correspondent rail's ratio is printed beside it.

Usage::

    python benchmarks/bench_balances.py                    # ~1 minute
    python benchmarks/bench_balances.py --payments 20000
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.banking import correspondent  # noqa: E402
from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Workload  # noqa: E402
from sim.onchain import rail as onchain  # noqa: E402


def best(fn: Callable[[], object], repeat: int) -> float:
    """The least CPU seconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        t = time.process_time()
        fn()
        times.append(time.process_time() - t)
    return min(times)


def measure(payments: int, repeat: int, seed: int = 1) -> dict[str, float]:
    """Payments per CPU second of both rails with and without balances, and the ratios."""
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=payments, network=net)
    out: dict[str, float] = {}

    def run_onchain(b: bool) -> object:
        return onchain.run(net, wl, seed, ledger="table", balances=b)

    def run_correspondent(b: bool) -> object:
        return correspondent.run(net, wl, seed, balances=b)

    runs: dict[str, Callable[[bool], object]] = {"onchain": run_onchain,
                                                 "correspondent": run_correspondent}
    for rail, go in runs.items():
        go(True)                                     # warm: caches, gas table, imports
        with_s, without_s = [], []
        for _ in range(repeat):                      # alternate, so load hits both alike
            with_s.append(best(functools.partial(go, True), 1))
            without_s.append(best(functools.partial(go, False), 1))
        out[f"{rail}_with_pps"] = payments / min(with_s)
        out[f"{rail}_without_pps"] = payments / min(without_s)
        out[f"{rail}_ratio"] = out[f"{rail}_with_pps"] / out[f"{rail}_without_pps"]
    return out


def main(argv: list[str] | None = None) -> dict[str, float]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=3000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args(argv)
    r = measure(args.payments, args.repeat)
    print(f"{args.payments} payments, best of {args.repeat} (CPU time)")
    for rail in ("onchain", "correspondent"):
        print(f"  {rail:14s} with balances {r[f'{rail}_with_pps']:9.0f} payments/s, without "
              f"{r[f'{rail}_without_pps']:9.0f} payments/s")
    print(f"table ledger with balance recording: {r['onchain_ratio']:.3f} x the payments/s "
          f"without it (target >= 0.85)")
    print(f"correspondent rail with balance recording: {r['correspondent_ratio']:.3f} x")
    return r


if __name__ == "__main__":
    main()
