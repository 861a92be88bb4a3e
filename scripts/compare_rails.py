"""One seeded workload on both rails: correspondent banks vs. on-chain, payment by payment.

Runs the default network and workload through the correspondent rail and the
on-chain rail (chain profile, ledger and ramps from ``sim/data/onchain.toml``
unless given), writes ``payments`` and ``steps`` (Parquet and CSV) and
``summary.json`` to ``--out``, and prints the KPIs side by side.

With ``--scenario NAME|FILE`` the network, workload and rail settings come from a
scenario instead (as in ``settlesim run``, which also draws figures and a report).

Usage::

    python scripts/compare_rails.py --payments 500 --seed 1 --ledger table --out out/compare
    python scripts/compare_rails.py --payments 20 --ledger contracts   # real contracts
    python scripts/compare_rails.py --scenario paper-claim --payments 200
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.banking import correspondent  # noqa: E402
from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Workload  # noqa: E402
from sim.errors import InputError  # noqa: E402
from sim.onchain import rail as onchain  # noqa: E402
from sim.onchain.spec import OnChainSpec  # noqa: E402
from sim.results import Results, conservation_violations  # noqa: E402

ROWS = [
    ("payments", "count", "{:.0f}"),
    ("credited", "credited", "{:.0f}"),
    ("median latency (h)", "latency_p50_s", "h"),
    ("p90 latency (h)", "latency_p90_s", "h"),
    ("p99 latency (h)", "latency_p99_s", "h"),
    ("credited within 1 h", "share_within_1h", "{:.1%}"),
    ("credited within 1 business day", "share_within_1bd", "{:.1%}"),
    ("mean cost (% of amount)", "cost_pct_mean", "{:.2f}"),
    ("median cost (% of amount)", "cost_pct_median", "{:.2f}"),
    ("failure or return rate", "failure_rate", "{:.1%}"),
]


def _fmt(v: Any, how: str) -> str:
    if v is None:
        return "-"
    if how == "h":
        return f"{v / 3600:.2f}"
    return how.format(v)


def compare(payments: int, seed: int, ledger: str, chain: str | None = None,
            spec: OnChainSpec | None = None) -> Results:
    """Both rails on one workload; the merged results."""
    net = BankNetwork.default()
    wl = Workload.generate(seed=seed, n_payments=payments, network=net)
    a = correspondent.run(net, wl, seed=seed)
    b = onchain.run(net, wl, seed=seed, spec=spec, chain=chain, ledger=ledger)
    return Results.concat([a, b])


def compare_scenario(scenario: str, payments: int, seed: int, ledger: str) -> Results:
    """Both rails of a scenario (file or shipped name) on one workload drawn with ``seed``."""
    from sim.experiments.runner import run_scenario
    from sim.experiments.scenario import load_scenario

    return run_scenario(load_scenario(scenario), payments=payments, seed=seed, ledger=ledger)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=500)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ledger", choices=("contracts", "table"), default="table")
    ap.add_argument("--chain", default=None, help="chain profile (default: the spec's)")
    ap.add_argument("--onchain", default=None, metavar="FILE",
                    help="on-chain settings file (default: sim/data/onchain.toml)")
    ap.add_argument("--scenario", default=None, metavar="NAME|FILE",
                    help="take network, workload and rail settings from a scenario")
    ap.add_argument("--out", default="out/compare_rails")
    args = ap.parse_args(argv)
    if args.payments < 1:
        print("compare_rails: --payments must be at least 1", file=sys.stderr)
        return 2
    try:
        if args.scenario:
            res = compare_scenario(args.scenario, args.payments, args.seed, args.ledger)
        else:
            spec = OnChainSpec.load(args.onchain) if args.onchain else None
            res = compare(args.payments, args.seed, args.ledger, args.chain, spec)
    except (InputError, OSError) as exc:   # a refusal of the input; any other error is a fault
        print(f"compare_rails: {exc}", file=sys.stderr)
        return 2
    bad = conservation_violations(res.payments)
    if len(bad):
        print(f"compare_rails: {len(bad)} payments break conservation of money", file=sys.stderr)
        return 1
    name = res.meta.get("scenario", "compare_rails")
    written = res.write(args.out, scenario=name, seed=args.seed)
    summ = res.summary(name, args.seed)
    rails = summ["rails"]
    chain = res.meta.get("chain", "")
    print(f"{args.payments} payments, seed {args.seed}, on-chain: {chain} ({args.ledger} ledger)")
    print(f"{'':34}{'correspondent':>15}{'onchain':>12}")
    for label, key, how in ROWS:
        a = rails.get("correspondent", {}).get(key)
        b = rails.get("onchain", {}).get(key)
        print(f"{label:34}{_fmt(a, how):>15}{_fmt(b, how):>12}")
    paired = summ["paired"]
    if paired.get("both_credited"):
        print(f"paired: on-chain faster for {paired['onchain_faster_share']:.1%} of "
              f"{paired['both_credited']} payments credited on both rails; median saving "
              f"{paired['latency_saving_p50_s'] / 3600:.2f} h")
    print(f"wrote {', '.join(sorted(written))} to {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
