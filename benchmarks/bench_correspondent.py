"""Throughput of the correspondent rail against a bare SimPy skeleton, and peak memory.

Both are measured in the same run on the same workload, in CPU time of this process
(``time.process_time``, so other load on the machine distorts the ratio less):

* **rail**: :func:`sim.correspondent.run` on the default network (routing, calendars,
  screening, liquidity, fees, FX, the payments and steps tables);
* **skeleton**: a bare SimPy model with the same number of banks per payment,
  where each bank is a ``simpy.Resource`` of the same capacity, each visit one
  request plus one timeout, and each leg one timeout: the floor any SimPy model of
  this route structure pays.

The figure reported is the ratio rail / skeleton of payments per second (target:
the rail within 3x of the skeleton). ``--memory`` adds the peak traced memory
(``tracemalloc``) of a rail run of ``--memory-payments`` payments (default
100,000), workload generation included, and the ratio of that to the skeleton's.

Usage::

    python benchmarks/bench_correspondent.py                 # ~1 minute
    python benchmarks/bench_correspondent.py --memory        # adds 100,000-payment memory
"""

from __future__ import annotations

import argparse
import gc
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.correspondent import run  # noqa: E402
from sim.network import BankNetwork  # noqa: E402
from sim.workload import Payment, Workload  # noqa: E402


def skeleton(network: BankNetwork, payments: list[Payment], routes: list[tuple[str, ...]],
             seed: int) -> int:
    """Bare SimPy: same banks per payment, one resource request + timeout each, leg timeouts."""
    env = simpy.Environment(initial_time=payments[0].created_at if payments else 0.0)
    res = {b: simpy.Resource(env, capacity=bank.capacity) for b, bank in network.banks.items()}
    rng = np.random.default_rng(seed)
    dur = rng.lognormal(np.log(30.0), 0.8, size=(len(payments), 16)).tolist()
    done = 0

    def pay(i: int, banks: tuple[str, ...]) -> Any:
        nonlocal done
        d = dur[i]
        for k, b in enumerate(banks):
            with res[b].request() as req:
                yield req
                yield env.timeout(d[2 * k % 16])
            if k < len(banks) - 1:
                yield env.timeout(d[(2 * k + 1) % 16])
        done += 1

    def source() -> Any:
        for i, (p, r) in enumerate(zip(payments, routes, strict=True)):
            if p.created_at > env.now:
                yield env.timeout(p.created_at - env.now)
            env.process(pay(i, r))

    env.process(source())
    env.run()
    return done


def measure(n: int, seed: int, repeat: int) -> dict[str, float]:
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=n, network=net)
    routes = [net.route(p.sender_bank, p.beneficiary_bank, p.currency_sent,
                        p.currency_delivered).banks for p in wl]
    best_rail, best_skel = float("inf"), float("inf")
    for _ in range(repeat):  # interleave so both see the same machine state
        gc.collect()
        t = time.process_time()
        r = run(net, wl, seed=seed)
        best_rail = min(best_rail, time.process_time() - t)
        gc.collect()
        t = time.process_time()
        skeleton(net, list(wl), routes, seed)
        best_skel = min(best_skel, time.process_time() - t)
    assert len(r.payments) == n
    return {"payments": n, "rail_pps": n / best_rail, "skeleton_pps": n / best_skel,
            "ratio": best_rail / best_skel, "banks_per_payment": float(np.mean(
                [len(x) for x in routes])), "steps": float(len(r.steps))}


def peak_memory(n: int, seed: int) -> dict[str, float]:
    net = BankNetwork.default()
    gc.collect()
    tracemalloc.start()
    wl = Workload.generate(seed=seed, n_payments=n, network=net)
    routes = [net.route(p.sender_bank, p.beneficiary_bank, p.currency_sent,
                        p.currency_delivered).banks for p in wl]
    tracemalloc.reset_peak()
    skeleton(net, list(wl), routes, seed)
    _, skel_peak = tracemalloc.get_traced_memory()
    tracemalloc.reset_peak()
    t = time.process_time()
    r = run(net, wl, seed=seed)
    elapsed = time.process_time() - t
    _, rail_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {"payments": n, "rail_peak_mib": rail_peak / 2**20,
            "skeleton_peak_mib": skel_peak / 2**20, "memory_ratio": rail_peak / skel_peak,
            "rail_seconds_traced": elapsed, "steps": float(len(r.steps))}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memory", action="store_true", help="also measure peak memory")
    ap.add_argument("--memory-payments", type=int, default=100_000)
    a = ap.parse_args(argv)
    out: dict[str, Any] = {"throughput": measure(a.payments, a.seed, a.repeat)}
    t = out["throughput"]
    print(f"correspondent rail vs bare SimPy skeleton, {t['payments']} payments, "
          f"{t['banks_per_payment']:.2f} banks/payment, best of {a.repeat}")
    print(f"  skeleton  {t['skeleton_pps']:10.0f} payments/s")
    print(f"  rail      {t['rail_pps']:10.0f} payments/s   ({t['steps'] / t['payments']:.1f} "
          "step rows/payment)")
    print(f"  ratio     {t['ratio']:10.2f} x slower than the skeleton (target <= 3)")
    if a.memory:
        m = peak_memory(a.memory_payments, a.seed)
        out["memory"] = m
        print(f"peak traced memory, {m['payments']} payments: rail {m['rail_peak_mib']:.0f} MiB, "
              f"skeleton {m['skeleton_peak_mib']:.0f} MiB (ratio {m['memory_ratio']:.1f}x)")
    return out


if __name__ == "__main__":
    main()
