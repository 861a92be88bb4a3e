"""``settlesim sweep``: a scenario over a parameter grid x replications, in parallel.

Example
-------
``settlesim sweep baseline --grid onchain.chain=ethereum-l1,fast-ledger
--replications 4 --payments 200 --workers 2 --out out/chains-sweep``
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from sim.cli.args import at_least

__all__ = ["KNOWN_ERRORS", "register"]


def _known() -> tuple[type[BaseException], ...]:
    from sim.experiments.sweep import SweepError

    return (SweepError,)


KNOWN_ERRORS = _known


def _cmd_sweep(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from sim.experiments.scenario import load_scenario
    from sim.experiments.sweep import parse_grid, run_sweep
    from sim.publish import check_output_folder

    grid = parse_grid(args.grid or [])
    scenario = load_scenario(args.scenario)
    out = check_output_folder(Path(args.out) if args.out else
                              Path("out") / f"{scenario.name}-sweep")
    res = run_sweep(scenario, grid, out=out, replications=args.replications,
                    payments=args.payments, ledger=args.ledger, workers=args.workers,
                    scheduler=args.scheduler, retries=args.retries,
                    progress=not args.quiet, collect=args.collect,
                    common_seeds=args.common_seeds)
    console = Console(width=max(120, Console().width))
    if not args.quiet:
        doc = res.summary
        table = Table(title=f"sweep of {doc['scenario']}: {res.tasks} runs "
                            f"({len(doc['points'])} grid points x {doc['replications']} "
                            "replications); mean [95% CI]")
        table.add_column("point", justify="right")
        for p in doc["grid"]:
            table.add_column(p)
        table.add_column("rail")
        table.add_column("p50 latency (h)", justify="right")
        table.add_column("cost % (mean)", justify="right")
        table.add_column("failure rate", justify="right")
        for pt in doc["points"]:
            for rail, e in pt["rails"].items():
                table.add_row(str(pt["grid_point"]), *[str(pt["params"][p]) for p in doc["grid"]],
                              rail, _ci(e["latency_p50_s"], 1 / 3600), _ci(e["cost_pct_mean"]),
                              _ci(e["failure_rate"]))
        console.print(table)
        for pt in doc["points"]:
            if "terra" in pt:   # a [terra] scenario: did the peg come back?
                t = pt["terra"]
                console.print(f"point {pt['grid_point']}: peg back above {t['peg_level']} "
                              f"within {t['within_days']:g} days in "
                              f"{sum(t['peg_back'])} of {len(t['peg_back'])} runs; lowest "
                              f"price {min(t['price_min']):.3f}", highlight=False)
        if doc.get("interval_warning"):
            console.print(f"warning: {doc['interval_warning']}", style="bold yellow")
    for name in res.files:
        console.print(f"wrote {res.out / name}", highlight=False)
    t = res.timing
    console.print(f"{res.tasks} runs in {t.get('total_s', 0):.1f} s "
                  f"(tasks {t.get('tasks_s', 0):.1f} s)", highlight=False)
    return 0


def _ci(e: dict[str, Any], scale: float = 1.0) -> str:
    if e["mean"] is None:
        return "-"
    s = f"{e['mean'] * scale:.3g}"
    if e["low"] is not None:
        s += f" [{e['low'] * scale:.3g}, {e['high'] * scale:.3g}]"
    return s


def register(sub: Any) -> None:
    """Add ``sweep`` to the ``settlesim`` sub-parsers."""
    s = sub.add_parser(
        "sweep", help="run a scenario over a parameter grid x replications, in parallel",
        description="Run SCENARIO at every point of the grid (the product of the --grid "
                    "values) for each replication, on a local pool of worker processes or "
                    "a Dask cluster. Writes payments.parquet, steps.parquet, "
                    "sweep_summary.csv/.json and figures/sensitivity.png to --out. Seeds "
                    "derive from the scenario seed, so results do not depend on the workers.")
    s.add_argument("scenario", metavar="SCENARIO", help="a scenario file or a shipped name")
    s.add_argument("--grid", action="append", metavar="PARAM=V1,V2,...",
                   help="a scenario parameter (dotted path) and its values; repeat for a "
                        "product grid (e.g. --grid onchain.chain=ethereum-l1,fast-ledger)")
    s.add_argument("--replications", type=at_least(1), metavar="R",
                   help="runs per grid point (default: the scenario's)")
    s.add_argument("--payments", type=at_least(1), metavar="N",
                   help="payments per run (default: the scenario's)")
    s.add_argument("--ledger", choices=("table", "contracts"),
                   help="on-chain ledger (default: the scenario's)")
    where = s.add_mutually_exclusive_group()
    where.add_argument("--workers", type=at_least(1), metavar="N",
                       help="local worker processes (default: CPUs; 1 runs in this process)")
    where.add_argument("--scheduler", metavar="tcp://HOST:PORT",
                       help="run on the Dask cluster of this scheduler")
    s.add_argument("--out", metavar="DIR", help="output directory (default out/<scenario>-sweep)")
    s.add_argument("--retries", type=int, default=2, metavar="N",
                   help="re-runs of a task that failed or whose worker died (default 2)")
    s.add_argument("--collect", action=argparse.BooleanOptionalAction, default=None,
                   help="workers send their tables to this process instead of writing part "
                        "files under --out (default: on with --scheduler, whose workers may "
                        "not share this file system)")
    s.add_argument("--common-seeds", action="store_true",
                   help="same seeds (same payments) at every grid point for a replication")
    s.add_argument("--quiet", action="store_true", help="no progress bar or summary table")
    s.set_defaults(func=_cmd_sweep)
