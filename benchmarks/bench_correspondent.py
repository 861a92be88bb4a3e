"""Throughput of the correspondent rail against a bare SimPy skeleton, and peak memory.

Both are measured in the same run on the same workload, in CPU time of this process
(``time.process_time``, so other load on the machine distorts the ratio less):

* **rail**: :func:`sim.banking.correspondent.run` on the default network (routing, calendars,
  screening, liquidity, fees, FX, the payments and steps tables);
* **skeleton**: a bare SimPy model of the same route structure written the
  textbook way: the same banks per payment, each bank a ``simpy.Resource`` of the
  same capacity, each visit one request plus one timeout, each leg one timeout;
  no calendars, fees, FX, liquidity or tables.

The rail spends fewer SimPy events than the skeleton: it wakes a payment only
where it meets other payments (taking a bank's processor in arrival order,
moving funds through a limited nostro) and lays out the rest of its steps in
simulated time (see ``_Processors`` in :mod:`sim.banking.correspondent`). The ratio is
therefore the whole cost of the model, tables included, against that textbook
model, not a like-for-like count of events.

The figure reported is the ratio rail / skeleton of payments per second (target:
the rail within 3x of the skeleton). The rail pauses the cyclic garbage collector
while it runs (``sim.results.paused_gc``); the skeleton is timed with it paused too.
``--memory`` adds the peak resident memory (``ru_maxrss`` of a fresh child process)
of a rail run of ``--memory-payments`` payments (default 100,000), workload generation
included, and of the skeleton.

Usage::

    python benchmarks/bench_correspondent.py                 # ~1 minute
    python benchmarks/bench_correspondent.py --memory        # adds 100,000-payment memory
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.banking.correspondent import run  # noqa: E402
from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Payment, Workload  # noqa: E402
from sim.results import paused_gc  # noqa: E402


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
        with paused_gc():   # as the rail pauses it during its run
            t = time.process_time()
            skeleton(net, list(wl), routes, seed)
            best_skel = min(best_skel, time.process_time() - t)
    assert len(r.payments) == n
    return {"payments": n, "rail_pps": n / best_rail, "skeleton_pps": n / best_skel,
            "ratio": best_rail / best_skel, "banks_per_payment": float(np.mean(
                [len(x) for x in routes])), "steps": float(len(r.steps))}


def _child(kind: str, n: int, seed: int) -> None:
    """Run one model in this (fresh) process and print its peak RSS and timings as JSON."""
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=n, network=net)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    t = time.process_time()
    if kind == "rail":
        r = run(net, wl, seed=seed)
        rows = len(r.steps)
    else:
        routes = [net.route(p.sender_bank, p.beneficiary_bank, p.currency_sent,
                            p.currency_delivered).banks for p in wl]
        skeleton(net, list(wl), routes, seed)
        rows = 0
    cpu = time.process_time() - t
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(json.dumps({"kind": kind, "payments": n, "peak_rss_mib": peak / 1024,
                      "before_run_mib": base / 1024, "cpu_s": cpu, "steps": rows}))


def peak_memory(n: int, seed: int) -> dict[str, float]:
    """Peak resident memory of a rail run and of the skeleton, each in a fresh process.

    ``ru_maxrss`` of the child is its high-water mark: workload generation included
    (the same in both), so the difference is what the rail's model and tables add.
    """
    out: dict[str, float] = {"payments": n}
    for kind in ("skeleton", "rail"):
        res = subprocess.run([sys.executable, __file__, "--_child", kind, "--payments", str(n),
                              "--seed", str(seed)], capture_output=True, text=True, check=True)
        d = json.loads(res.stdout.strip().splitlines()[-1])
        out[f"{kind}_peak_mib"] = d["peak_rss_mib"]
        out[f"{kind}_before_mib"] = d["before_run_mib"]
        out[f"{kind}_cpu_s"] = d["cpu_s"]
    out["memory_ratio"] = out["rail_peak_mib"] / out["skeleton_peak_mib"]
    return out


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=20_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--memory", action="store_true", help="also measure peak memory")
    ap.add_argument("--memory-payments", type=int, default=100_000)
    ap.add_argument("--_child", choices=("rail", "skeleton"), help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a._child:
        _child(a._child, a.payments, a.seed)
        return {}
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
        print(f"peak resident memory, {m['payments']} payments (fresh process each, workload "
              f"generation included): rail {m['rail_peak_mib']:.0f} MiB "
              f"(before the run {m['rail_before_mib']:.0f} MiB, run {m['rail_cpu_s']:.0f} s CPU), "
              f"skeleton {m['skeleton_peak_mib']:.0f} MiB (ratio {m['memory_ratio']:.1f}x)")
    return out


if __name__ == "__main__":
    main()
