#!/usr/bin/env python3
"""Speed of the on-chain rail, each figure against a baseline measured in the same run.

1. Contracts in the loop, on each embedded chain backend (``pyevm``, the
   default, and ``eth-tester``): the contracts ledger's payments per second on
   each, runs of the two interleaved, best of ``--repeat`` each, and their ratio,
   in process (CPU) time of the simulation (``meta["timing"]["simulate_cpu_s"]``),
   which other processes on a shared machine disturb far less than wall time
   (the wall-time ratio is printed beside it). Target: ``pyevm`` at least 2.5x
   ``eth-tester`` (40 payments or more). The run by run ratios (each ``pyevm``
   run against the ``eth-tester`` run after it) are printed too, and the two
   backends' payments and steps tables are checked equal.
   On each backend, the simulation's wall time is set against replaying exactly
   the same transactions, block by block, on a bare chain of that backend in the
   same state (the EVM's own cost). Target: the model costs at most 25% on top
   on eth-tester (on ``pyevm`` the bare chain is itself much cheaper, so the
   model's share is larger).
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
3. Gas of one baseline payment, all seven transactions (mint, FX fund, FX settle, lock,
   release, redeem, burn), in the steady state: the gas report's measurement
   (``settlement.gas``) and the mean over the credited cross-currency payments of a
   gas-table run of the rail, beside the figure of the previous contracts (commit d872d0c).

Usage: ``python benchmarks/bench_onchain.py [--contracts 40] [--table 5000,20000,50000]
[--at-rate 20000] [--repeat 3]``

A count of 0 (``--contracts 0``, a 0 in ``--table``) is an empty workload: that
part is skipped, with a line saying so.
"""

from __future__ import annotations

import argparse
import gc
import os
import re
import statistics
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pandas as pd
import simpy

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_chain import bench_raw  # noqa: E402

from settlement.chain import BACKEND_ENV, BACKENDS  # noqa: E402
from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Workload, WorkloadSpec  # noqa: E402
from sim.onchain import rail as onchain  # noqa: E402
from sim.onchain.chains import get_chain_profile  # noqa: E402
from sim.onchain.ledger import measure_rail_gas  # noqa: E402
from sim.onchain.spec import OnChainSpec  # noqa: E402
from sim.results import paused_gc  # noqa: E402


@contextmanager
def chain_backend(name: str) -> Iterator[None]:
    """Run the block with the embedded chain on backend ``name`` (as the environment says)."""
    before = os.environ.get(BACKEND_ENV)
    os.environ[BACKEND_ENV] = name
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(BACKEND_ENV, None)
        else:
            os.environ[BACKEND_ENV] = before


def contracts_vs_evm(n: int, seed: int = 1, repeat: int = 3) -> dict[str, dict[str, float]]:
    """The contracts ledger on each backend: best of ``repeat`` runs, interleaved, in wall time.

    Returns, per backend, the simulation and the bare replay of its transactions; under
    ``"ratio"`` the payments per second of ``pyevm`` over ``eth-tester``.
    """
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=n, network=net)
    sims: dict[str, list[float]] = {b: [] for b in BACKENDS}
    cpus: dict[str, list[float]] = {b: [] for b in BACKENDS}
    evms: dict[str, list[float]] = {b: [] for b in BACKENDS}
    mines: dict[str, list[float]] = {b: [] for b in BACKENDS}
    tables: dict[str, tuple[pd.DataFrame, pd.DataFrame]] = {}
    n_tx = 0
    for _ in range(repeat):
        for backend in ("pyevm", "eth-tester"):
            with chain_backend(backend):
                gc.collect()
                res = onchain.run(net, wl, seed=seed, ledger="contracts", record_blocks=True)
                sims[backend].append(res.meta["timing"]["simulate_s"])
                cpus[backend].append(res.meta["timing"]["simulate_cpu_s"])
                mines[backend].append(res.meta["timing"]["mine_s"])
                tables[backend] = (res.payments, res.steps)
                blocks = res.meta["blocks_raw"]
                n_tx = sum(len(raws) for _, raws in blocks)
                # the same transactions on a fresh chain in the same state, nothing else
                led = onchain.contracts_ledger(net, list(wl), OnChainSpec.default(),
                                               int(min(p.created_at for p in wl)))
            chain_impl = led.chain._backend
            t0 = time.perf_counter()
            for ts, raws in blocks:
                chain_impl.set_next_timestamp(ts)
                out = chain_impl.mine_raw(raws)
                assert len(out.txs) == len(raws)
            evms[backend].append(time.perf_counter() - t0)
    for a, b in zip(tables["pyevm"], tables["eth-tester"], strict=True):
        pd.testing.assert_frame_equal(a, b)  # the backends agree, table by table
    out: dict[str, dict[str, float]] = {}
    for backend in BACKENDS:
        sim_s, evm_s, cpu_s = min(sims[backend]), min(evms[backend]), min(cpus[backend])
        mine_s = mines[backend][sims[backend].index(sim_s)]
        out[backend] = {"payments": n, "transactions": n_tx, "simulate_s": sim_s,
                        "simulate_cpu_s": cpu_s, "payments_per_cpu_s": n / cpu_s,
                        "evm_s": evm_s, "mine_s": mine_s, "payments_per_s": n / sim_s,
                        "overhead": sim_s / evm_s - 1, "overhead_in_run": sim_s / mine_s - 1}
    paired = sorted(t / f for f, t in zip(cpus["pyevm"], cpus["eth-tester"], strict=True))
    out["ratio"] = {"best": out["pyevm"]["payments_per_cpu_s"]
                    / out["eth-tester"]["payments_per_cpu_s"],
                    "wall": out["pyevm"]["payments_per_s"] / out["eth-tester"]["payments_per_s"],
                    "paired_low": paired[0], "paired_high": paired[-1],
                    "paired_median": statistics.median(paired)}
    return out


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


_GAS = re.compile(r": ([\d,]+) gas, ")


def payment_gas(n: int = 300, seed: int = 3) -> dict[str, float]:
    """Gas of one baseline payment: the gas report's figure, and the mean of the credited
    cross-currency payments (seven transactions each) of a gas-table run of ``n`` payments."""
    from settlement.gas import PREVIOUS_BASELINE_PAYMENT_GAS, measure_gas

    report = measure_gas(batch_size=2)["baseline_payment"]
    net = BankNetwork.default()
    res = onchain.run(net, Workload.generate(seed=seed, n_payments=n, network=net), seed=seed,
                      ledger="table")
    pays = res.payments
    fx_ok = set(pays.loc[(pays["status"] == "credited")
                         & (pays["currency_sent"] != pays["currency_delivered"]), "payment_id"])
    txs = res.steps[(res.steps["kind"] == "mempool") & res.steps["payment_id"].isin(fx_ok)]
    gas = txs["detail"].map(lambda d: int(_GAS.search(d).group(1).replace(",", "")))
    per_payment = gas.groupby(txs["payment_id"]).agg(["sum", "count"])
    per_payment = per_payment[per_payment["count"] == 7]
    return {"report": report["gas"], "previous": PREVIOUS_BASELINE_PAYMENT_GAS,
            "rail_mean": float(per_payment["sum"].mean()), "rail_payments": len(per_payment)}


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
    gas = payment_gas()
    raw = bench_raw(200)
    c = contracts_vs_evm(args.contracts, repeat=args.repeat) if args.contracts else None
    tables = [table_vs_skeleton(n, spec.days, repeat=args.repeat) for n in args.table if n]
    at_rate = [table_vs_skeleton(n, n / spec.payments_per_day, repeat=args.repeat)
               for n in args.at_rate if n]
    print(f"gas of one baseline payment, all 7 transactions, steady state: previous contracts "
          f"{gas['previous']:,}; now {gas['report']:,} by the gas report "
          f"({1 - gas['report'] / gas['previous']:.1%} less) and {gas['rail_mean']:,.0f} on "
          f"average over {gas['rail_payments']} credited cross-currency payments of a "
          f"gas-table run ({1 - gas['rail_mean'] / gas['previous']:.1%} less)")
    print(f"raw eth-tester ERC-20 transfers (one block each): {raw:.1f} tx/s")
    if c is None:
        print("contracts in the loop: --contracts 0 is an empty workload; skipped")
    else:
        _print_contracts(c, args.repeat)
    _print_tables(tables, at_rate, args.repeat)


def _print_contracts(c: dict[str, dict[str, float]], repeat: int) -> None:
    for backend in BACKENDS:
        b = c[backend]
        print(f"contracts in the loop, {backend} backend: {b['payments']} payments, "
              f"{b['transactions']} transactions in {b['simulate_s']:.2f} s "
              f"({b['payments_per_s']:.2f} payments/s, "
              f"{b['transactions'] / b['simulate_s']:.1f} tx/s)")
        target = " (target <= +25%)" if backend == "eth-tester" else ""
        print(f"  same transactions replayed on a bare {backend} chain: {b['evm_s']:.2f} s -> "
              f"the model costs {b['overhead']:+.1%} on top of the EVM{target}")
        print(f"  (within the run, mining took {b['mine_s']:.2f} s of {b['simulate_s']:.2f} s: "
              f"{b['overhead_in_run']:+.1%} on top)")
    r = c["ratio"]
    print(f"contracts ledger, pyevm against eth-tester: "
          f"{c['pyevm']['payments_per_cpu_s']:.2f} vs {c['eth-tester']['payments_per_cpu_s']:.2f} "
          f"payments per CPU second -> {r['best']:.2f}x (target >= 2.5x; process time, best of "
          f"{repeat} each, same run); run by run {r['paired_low']:.2f}x to "
          f"{r['paired_high']:.2f}x, median {r['paired_median']:.2f}x; in wall time "
          f"{c['pyevm']['payments_per_s']:.2f} vs {c['eth-tester']['payments_per_s']:.2f} "
          f"payments/s -> {r['wall']:.2f}x; payments and steps tables identical")


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
