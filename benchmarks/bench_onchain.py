#!/usr/bin/env python3
"""Speed of the on-chain rail, each figure against a baseline measured in the same run.

1. Contracts in the loop: the simulation's wall time against replaying exactly
   the same signed transactions, block by block, on a bare py-evm chain in the
   same state (the EVM's own cost), best of ``--repeat`` runs of each, interleaved.
   Target: the model costs at most 25% on top.
   Raw eth-tester ERC-20 transfers per second are printed for scale.
2. Gas table: payments per second against a bare SimPy skeleton with the same
   events per payment (a timeout per step, a shared block ticker for every
   transaction). Target: within 3x. Measured: the process (CPU) time of the
   gas-table run's ``env.run()`` (``meta["timing"]["simulate_cpu_s"]``: every
   payment from arrival to crediting, the block producer and the fee market
   through the whole horizon, idle blocks included; not the set-up before it
   nor building the result tables after it) against the process time of the
   skeleton's ``env.run()`` on that run's steps. Best of ``--repeat`` runs of
   each, interleaved; the cyclic garbage collector is paused for both (the rail
   pauses it during a gas-table run, ``sim.results.paused_gc``; the skeleton is
   measured alike) and collected before each;
   the ratio of each run to the skeleton run right after it is printed too (on a
   machine whose speed drifts, the pairs are the steadier figure).
   Run for each payment count of ``--table``: the fee market steps through every
   block of the workload's horizon whatever the number of payments, a fixed cost
   that larger workloads amortise. The process time of the whole ``run()`` (set-up
   and the result tables too) is printed beside it, against the same skeleton.
   To show that fixed cost, the fee market alone is timed stepping as many idle
   slots as the run stepped (best of ``--repeat``), and with two or more payment
   counts the marginal ratio is printed: the rail's extra time per extra payment
   between consecutive counts against the skeleton's. Both are breakdowns; the
   target is the whole ratio above.
   The ``--table`` counts all fall in the scenario's 28 days, so they differ in
   load as well as in size (50,000 payments saturate both rails). The counts of
   ``--at-rate`` are run at the workload's own rate instead (its payments a day,
   so N payments over N / rate days): a larger run there is a longer one, with
   as many slots and blocks per payment as a smaller one.

Usage: ``python benchmarks/bench_onchain.py [--contracts 40] [--table 5000,20000,50000]
[--at-rate 20000] [--repeat 3]``

A count of 0 (``--contracts 0``, a 0 in ``--table``) is an empty workload: that
part is skipped, with a line saying so.
"""

from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_chain import bench_raw  # noqa: E402

from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Workload, WorkloadSpec  # noqa: E402
from sim.onchain import rail as onchain  # noqa: E402
from sim.onchain.chains import get_chain_profile  # noqa: E402
from sim.onchain.ledger import measure_rail_gas  # noqa: E402
from sim.onchain.spec import OnChainSpec  # noqa: E402
from sim.results import paused_gc  # noqa: E402


def contracts_vs_evm(n: int, seed: int = 1, repeat: int = 3) -> dict[str, float]:
    """Best of ``repeat`` runs of each side, interleaved, in wall time."""
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=n, network=net)
    sims, evms, mines = [], [], []
    for _ in range(repeat):
        res = onchain.run(net, wl, seed=seed, ledger="contracts", record_blocks=True)
        sims.append(res.meta["timing"]["simulate_s"])
        mines.append(res.meta["timing"]["mine_s"])
        blocks = res.meta["blocks_raw"]
        n_tx = sum(len(raws) for _, raws in blocks)
        # the same transactions on a fresh chain in the same state, nothing else
        led = onchain.contracts_ledger(net, list(wl), OnChainSpec.default(),
                                       int(min(p.created_at for p in wl)))
        backend = led.chain._backend
        t0 = time.perf_counter()
        for ts, raws in blocks:
            backend.set_next_timestamp(ts)
            out = backend.mine_raw(raws)
            assert len(out.txs) == len(raws)
        evms.append(time.perf_counter() - t0)
    sim_s, evm_s = min(sims), min(evms)
    mine_s = mines[sims.index(sim_s)]
    return {"payments": n, "transactions": n_tx, "simulate_s": sim_s, "evm_s": evm_s,
            "mine_s": mine_s, "payments_per_s": n / sim_s, "overhead": sim_s / evm_s - 1,
            "overhead_in_run": sim_s / mine_s - 1}


def _skeleton(res: onchain.Results, block_time: float) -> float:
    """A bare SimPy model with the run's events: one timeout per step, a block ticker.

    Returns the process (CPU) time of its ``env.run()``.
    """
    steps = res.steps
    plans = {}
    t_created = {}
    for pid, g in steps.groupby("payment_id", sort=False):
        d = (g["ended_at"] - g["started_at"]).dt.total_seconds().to_numpy()
        plans[pid] = [(k == "mempool", float(x)) for k, x in zip(g["kind"], d, strict=True)]
    created = res.payments.set_index("payment_id")["created_at"]
    for pid, ts in created.items():
        t_created[pid] = ts.timestamp()
    t0 = min(t_created.values())
    env = simpy.Environment(initial_time=t0)
    pending: list[simpy.Event] = []
    wake: list[simpy.Event] = []

    def ticker():
        while True:
            if not pending:
                ev = env.event()
                wake.append(ev)
                yield ev
            yield env.timeout(block_time - (env.now - t0) % block_time or block_time)
            batch = pending[:]
            pending.clear()
            for e in batch:
                e.succeed()

    def payment(plan):
        for is_tx, dur in plan:
            if is_tx:
                ev = env.event()
                pending.append(ev)
                if wake:
                    wake.pop().succeed()
                yield ev
            else:
                yield env.timeout(dur)

    def source():
        for pid in sorted(plans, key=lambda k: t_created[k]):
            if t_created[pid] > env.now:
                yield env.timeout(t_created[pid] - env.now)
            env.process(payment(plans[pid]))

    env.process(ticker())
    env.process(source())
    gc.collect()
    with paused_gc():      # as the rail's gas-table run pauses it
        start = time.process_time()
        env.run()
        return time.process_time() - start


def _idle_market(slots: int, seed: int, repeat: int) -> float:
    """Process time of the run's fee market (same profile and seed) stepping ``slots``
    slots with none of the rail's gas: the fixed cost of the horizon, best of ``repeat``."""
    profile = get_chain_profile(OnChainSpec.default().chain)
    best = float("inf")
    for _ in range(repeat):
        market = onchain.fee_market(profile, seed)
        gc.collect()
        with paused_gc():
            start = time.process_time()
            market.open_block_capacity(0, 0.0)
            market.close_block(0)      # the blocks in between are stepped as idle slots
            market.open_block_capacity(slots - 1, (slots - 1) * profile.block_time_s)
            market.close_block(0)
            best = min(best, time.process_time() - start)
    return best


def table_vs_skeleton(n: int, days: float, seed: int = 2, repeat: int = 3) -> dict[str, float]:
    """``n`` payments over ``days``: best of ``repeat`` runs of each, interleaved, in process
    time of ``env.run()``."""
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=n, network=net, days=days)
    measure_rail_gas("attestation")  # measured once per process; not part of the run
    sims, wholes, skels = [], [], []
    res = None
    for _ in range(repeat):
        gc.collect()
        t = time.process_time()
        res = onchain.run(net, wl, seed=seed, ledger="table")
        wholes.append(time.process_time() - t)
        sims.append(res.meta["timing"]["simulate_cpu_s"])
        skels.append(_skeleton(res, 12.0))
    sim_s, whole_s, skel_s = min(sims), min(wholes), min(skels)
    # each run against the skeleton run right after it (both see the machine alike)
    paired = sorted(a / b for a, b in zip(sims, skels, strict=True))
    return {"paired_median": statistics.median(paired), "paired_low": paired[0],
            "paired_high": paired[-1], "payments": n, "days": days, "simulate_s": sim_s,
            "run_s": whole_s, "skeleton_s": skel_s,
            "payments_per_s": n / sim_s, "skeleton_per_s": n / skel_s, "ratio": sim_s / skel_s,
            "run_ratio": whole_s / skel_s, "blocks": res.meta["blocks"] if res else 0,
            "slots": res.meta["slots"] if res else 0,
            "idle_market_s": _idle_market(res.meta["slots"], seed, repeat) if res else 0.0}


def _count(text: str) -> int:
    """A payment count >= 0 (0 skips that part), or argparse's one-line error."""
    try:
        n = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"must be at least 0, not {n}")
    return n


def _counts(text: str) -> list[int]:
    """Comma-separated payment counts (``''`` for none)."""
    return [_count(t.strip()) for t in text.split(",") if t.strip()]


def _at_least_one(text: str) -> int:
    n = _count(text)
    if n < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {n}")
    return n


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contracts", type=_count, default=40,
                    help="payments, contracts ledger (0 skips it)")
    ap.add_argument("--table", type=_counts, default="5000,20000,50000",
                    help="payment counts, gas-table ledger (comma-separated; '' for none)")
    ap.add_argument("--at-rate", type=_counts, default="20000",
                    help="payment counts, gas-table ledger, each over as many days as the "
                         "workload's own rate takes (comma-separated; '' for none)")
    ap.add_argument("--repeat", type=_at_least_one, default=3,
                    help="runs of each side, best taken")
    args = ap.parse_args(argv)
    spec = WorkloadSpec.default().workload
    for n in [*args.table, *args.at_rate]:
        if n == 0:
            print("gas table: 0 payments is an empty workload; skipped")
    raw = bench_raw(200)
    c = contracts_vs_evm(args.contracts, repeat=args.repeat) if args.contracts else None
    tables = [table_vs_skeleton(n, spec.days, repeat=args.repeat) for n in args.table if n]
    at_rate = [table_vs_skeleton(n, n / spec.payments_per_day, repeat=args.repeat)
               for n in args.at_rate if n]
    print(f"raw eth-tester ERC-20 transfers (one block each): {raw:.1f} tx/s")
    if c is None:
        print("contracts in the loop: --contracts 0 is an empty workload; skipped")
    else:
        _print_contracts(c)
    _print_tables(tables, at_rate, args.repeat)


def _print_contracts(c: dict[str, float]) -> None:
    print(f"contracts in the loop: {c['payments']} payments, {c['transactions']} transactions "
          f"in {c['simulate_s']:.2f} s ({c['payments_per_s']:.2f} payments/s, "
          f"{c['transactions'] / c['simulate_s']:.1f} tx/s)")
    print(f"  same transactions replayed on the bare EVM: {c['evm_s']:.2f} s -> the model costs "
          f"{c['overhead']:+.1%} on top of the EVM (target <= +25%)")
    print(f"  (within the run, mining took {c['mine_s']:.2f} s of {c['simulate_s']:.2f} s: "
          f"{c['overhead_in_run']:+.1%} on top)")


def _print_tables(tables: list[dict[str, float]], at_rate: list[dict[str, float]],
                  repeat: int) -> None:
    rows = [(t, "") for t in tables] + [(t, " (the workload's rate)") for t in at_rate]
    for t, label in rows:
        print(f"gas table: {t['payments']} payments over {t['days']:.1f} days{label} in "
              f"{t['simulate_s']:.2f} s "
              f"({t['payments_per_s']:.0f} payments/s); bare SimPy skeleton "
              f"{t['skeleton_s']:.2f} s ({t['skeleton_per_s']:.0f}/s) -> {t['ratio']:.2f}x the "
              f"skeleton (target <= 3x; process time, best of {repeat})")
        print(f"  run by run, each against the skeleton run after it: "
              f"{t['paired_low']:.2f}x to {t['paired_high']:.2f}x, median "
              f"{t['paired_median']:.2f}x")
        print(f"  the whole run (set-up, simulation and the payments and steps tables): "
              f"{t['run_s']:.2f} s -> {t['run_ratio']:.2f}x the skeleton")
        print(f"  the fee market stepped through {t['slots']:,} slots, {t['blocks']:,} of them "
              f"blocks with the rail's transactions (the skeleton has no fee market); "
              f"the fee market alone, through as many idle slots: {t['idle_market_s']:.2f} s "
              f"({t['idle_market_s'] / t['simulate_s']:.0%} of the run)")
    for a, b in zip(tables, tables[1:], strict=False):
        dn = b["payments"] - a["payments"]
        rail_us = (b["simulate_s"] - a["simulate_s"]) / dn * 1e6
        skel_us = (b["skeleton_s"] - a["skeleton_s"]) / dn * 1e6
        print(f"marginal, {a['payments']} -> {b['payments']} payments: each extra payment costs "
              f"the rail {rail_us:.0f} us and the skeleton {skel_us:.0f} us -> "
              f"{rail_us / skel_us:.2f}x")


if __name__ == "__main__":
    main()
