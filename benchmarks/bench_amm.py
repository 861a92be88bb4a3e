#!/usr/bin/env python3
"""Speed of the on-chain rail's AMM FX route against the provider route, in the same run.

The table ledger runs the same workload (the default network's, ``--payments`` payments
over its 28 days) through the rail twice per round: once with ``fx.route = "provider"``
(the quoting provider by PvP swap) and once with ``fx.route = "amm"`` (the pools' mirrors,
the router's swap and lock, the arbitrageurs). Measured: the process (CPU) time of each
run's simulation (``meta["timing"]["simulate_cpu_s"]``: every payment from arrival to
crediting, the block producer and the fee market; not the set-up nor the result tables),
which other processes on a shared machine disturb far less than wall time. Best of
``--repeat`` rounds, the two routes interleaved; each round's ratio is printed too.

Target: the AMM route at least 0.80x the provider route's payments per second.

The pools are ``--depth-usd`` deep each side (default USD 1 bn, far deeper than the shipped
modelling choice), so that both routes credit the same payments and the figure compares the
same work: with the shipped depths most large payments fail at their quote (slippage beyond
the limit) and the AMM route's run would be shorter for that alone. The counts credited and
the arbitrageurs' trades are printed beside the figures.

Usage: ``python benchmarks/bench_amm.py [--payments 5000] [--repeat 3] [--depth-usd 1e9]``
"""

from __future__ import annotations

import argparse
import gc
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Workload  # noqa: E402
from sim.onchain import rail as onchain  # noqa: E402
from sim.onchain.spec import OnChainSpec  # noqa: E402

TARGET = 0.80


def _spec(route: str, depth_usd: float) -> OnChainSpec:
    spec = OnChainSpec.default()
    fx = spec.fx.model_dump()
    fx["route"] = route
    for pool in fx["pools"].values():
        pool["depth_usd"] = depth_usd
    return spec.with_overrides(fx=fx)


def _run(net: BankNetwork, wl: Workload, spec: OnChainSpec, seed: int) -> tuple[float, int, int]:
    """(simulation CPU seconds, payments credited, arbitrage trades) of one table run."""
    gc.collect()
    r = onchain.run(net, wl, seed=seed, spec=spec, ledger="table")
    credited = int((r.payments["status"] == "credited").sum())
    return float(r.meta["timing"]["simulate_cpu_s"]), credited, len(r.meta.get("arbitrage", []))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--payments", type=int, default=5000, help="payments in the workload")
    ap.add_argument("--repeat", type=int, default=3, help="rounds (best of them is reported)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--depth-usd", type=float, default=1e9,
                    help="each pool's depth per side (USD)")
    args = ap.parse_args(argv)
    if args.payments < 1 or args.repeat < 1:
        ap.error("--payments and --repeat must be at least 1")
    net = BankNetwork.default()
    wl = Workload.generate(seed=args.seed, n_payments=args.payments, network=net)
    provider, amm = _spec("provider", args.depth_usd), _spec("amm", args.depth_usd)
    _run(net, Workload(list(wl)[:20]), amm, args.seed)      # warm: gas table, caches
    best = {"provider": float("inf"), "amm": float("inf")}
    facts = {}
    print(f"table ledger, {args.payments} payments, best of {args.repeat} (CPU s of the "
          "simulation):")
    for i in range(args.repeat):
        p_s, p_ok, _ = _run(net, wl, provider, args.seed)
        a_s, a_ok, trades = _run(net, wl, amm, args.seed)
        best["provider"], best["amm"] = min(best["provider"], p_s), min(best["amm"], a_s)
        facts = {"provider credited": p_ok, "amm credited": a_ok, "arbitrage trades": trades}
        print(f"  round {i + 1}: provider {args.payments / p_s:,.0f} payments/s, amm "
              f"{args.payments / a_s:,.0f} payments/s, ratio {p_s / a_s:.2f}")
    ratio = best["provider"] / best["amm"]
    print(f"provider route: {args.payments / best['provider']:,.0f} payments/s")
    print(f"amm route:      {args.payments / best['amm']:,.0f} payments/s "
          f"({', '.join(f'{k} {v}' for k, v in facts.items())})")
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"amm route at {ratio:.2f}x the provider route's payments/s "
          f"(target >= {TARGET:.2f}: {verdict} it)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
