"""``settlesim timeline``: one payment's journey on both rails, for a class.

Send one payment down both rails (or pick a payment of a finished run) and show
the two timelines one above the other on a shared time axis: in the terminal
(``rich`` tables with a bar per step, ``--play`` to replay it step by step) and,
with ``--out``, as one self-contained HTML page (works offline).

Examples::

    settlesim timeline --corridor US-MX --at "2026-11-27 16:30" --out friday.html
    settlesim timeline baseline --corridor US-MX --at "2026-11-25 10:00" \\
        --tz America/New_York --amount 250 --play --speed 2
    settlesim timeline --payment P0000042 --run out/baseline --out p42.html

Wrong input (unknown corridor, bank or time zone, bad date, missing run folder,
unknown payment id) prints one line and exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from sim.cli.args import at_least, positive_number

__all__ = ["KNOWN_ERRORS", "register"]


def _known() -> tuple[type[BaseException], ...]:
    from sim.outputs.timeline import TimelineError

    errs: list[type[BaseException]] = [TimelineError]
    try:
        from sim.experiments.scenario import ScenarioError

        errs.append(ScenarioError)
    except ImportError:  # scenarios not installed: nothing to add
        pass
    return tuple(errs)


KNOWN_ERRORS = _known


def _settings(scenario: str | None) -> dict[str, Any]:
    if scenario is None:
        return {}
    from sim.outputs.timeline import TimelineError, scenario_settings

    try:
        from sim.experiments.scenario import ScenarioError
    except ImportError:
        ScenarioError = ValueError  # type: ignore[misc,assignment]  # noqa: N806
    try:
        return scenario_settings(scenario)
    except ScenarioError as exc:
        problems = getattr(exc, "problems", None) or [str(exc)]
        raise TimelineError(f"scenario {scenario!r}: " + "; ".join(
            " ".join(str(p).split()) for p in problems)) from None
    except ImportError:
        raise TimelineError(f"scenario {scenario!r}: scenarios are not available in this "
                            "installation; leave SCENARIO out for the shipped settings") from None


def _run_scenario_name(run_dir: Path) -> str | None:
    """The scenario a run folder was made with (from its summary.json), if any."""
    try:
        doc = json.loads((run_dir / "summary.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    name = doc.get("scenario") if isinstance(doc, dict) else None
    return str(name) if name else None


def _from_run(args: argparse.Namespace) -> Any:
    from sim.outputs.timeline import TimelineError, from_results, load_run

    if args.run is None:
        raise TimelineError("--payment needs --run DIR, the output folder of a finished run")
    run_dir = Path(args.run)
    payments, steps = load_run(run_dir)
    settings: dict[str, Any] = {}
    name = args.scenario or _run_scenario_name(run_dir)
    if name:
        try:
            settings = _settings(name)
        except Exception:  # noqa: BLE001 - time zones fall back to the shipped network
            if args.scenario:
                raise
    if "network" not in settings:
        from sim.banking.network import BankNetwork
        from sim.onchain.spec import OnChainSpec

        settings = {"network": BankNetwork.default(), "spec": OnChainSpec.default()}
    chain = settings.get("chain")
    return from_results((payments, steps), args.payment, network=settings["network"],
                        spec=settings.get("spec"),
                        chain=getattr(chain, "name", chain or "") or "",
                        grid_point=args.grid_point, replication=args.replication,
                        events=settings.get("events"))


def _simulated(args: argparse.Namespace) -> Any:
    from sim.banking.network import BankNetwork
    from sim.banking.workload import WorkloadSpec
    from sim.outputs.timeline import TimelineError, choose_banks, parse_local_time, simulate

    if args.at is None:
        raise TimelineError('give --at "YYYY-MM-DD HH:MM" (local time of --tz), or '
                            "--payment ID --run DIR")
    settings = _settings(args.scenario)
    net = settings.get("network") or BankNetwork.default()
    wspec = settings.get("workload_spec") or WorkloadSpec.default()
    corridor = args.corridor
    if corridor is None and (args.sender is None or args.beneficiary is None):
        corridor = "US-MX"
    sender, _, _ = choose_banks(corridor, net, wspec, sender=args.sender,
                                beneficiary=args.beneficiary)
    tz = args.tz or net.banks[sender].timezone
    at = parse_local_time(args.at, tz)
    settings.update(network=net, workload_spec=wspec)
    if args.seed is not None:
        settings["seed"] = args.seed
    if args.chain is not None:
        settings["chain"] = args.chain
    return simulate(corridor, at, amount=args.amount, currency=args.currency,
                    sender=args.sender, beneficiary=args.beneficiary, segment=args.segment,
                    charge_option=args.charge, **settings)


def _cmd_timeline(args: argparse.Namespace) -> int:
    from rich.console import Console

    from sim.outputs.timeline import TimelineError, play, render_terminal, write_html

    if args.speed <= 0:
        raise TimelineError("--speed must be positive, e.g. 1 or 0.5")
    tl = _from_run(args) if args.payment is not None else _simulated(args)
    console = Console(width=args.width) if args.width else Console()
    if args.out:
        path = write_html(tl, args.out)
    if args.play:
        finished = play(tl, console, speed=args.speed, log=not args.linear)
        if not finished:
            return 130
    elif not args.quiet:
        render_terminal(tl, console, log=args.log)
    if args.out:
        print(f"wrote {path}", file=sys.stderr if args.quiet else sys.stdout)
    return 0


def register(sub: Any) -> None:
    """Add the ``timeline`` command to the ``settlesim`` sub-parsers."""
    t = sub.add_parser(
        "timeline", help="one payment on both rails, step by step (terminal and HTML)",
        description="Send one payment down both rails (or take one from a finished run) and "
        "show every step on a shared time axis: where, what, how long, what it cost, and the "
        "local clock of each bank or ramp. Waits are named for what they are (cut-off, "
        "weekend, holiday, compliance review, nostro funding, mempool, finality, ramp "
        "windows).",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n"
        '  settlesim timeline --corridor US-MX --at "2026-11-27 16:30" --out friday.html\n'
        '  settlesim timeline --corridor US-MX --at "2026-11-25 17:45" --play --speed 2\n'
        "  settlesim timeline --payment P0000042 --run out/baseline --out p42.html")
    t.add_argument("scenario", metavar="SCENARIO", nargs="?", default=None,
                   help="scenario file or shipped name (default: the shipped network, "
                   "corridors and on-chain settings)")
    g = t.add_argument_group("the payment")
    g.add_argument("--corridor", default=None, metavar="XX-YY",
                   help="sender and receiver countries (default US-MX); the corridor's "
                   "most-used banks are chosen")
    g.add_argument("--sender", default=None, metavar="BANK", help="ordering bank id")
    g.add_argument("--beneficiary", default=None, metavar="BANK", help="beneficiary bank id")
    g.add_argument("--at", default=None, metavar='"YYYY-MM-DD HH:MM"',
                   help="when the customer sends it, local time of --tz")
    g.add_argument("--tz", default=None, metavar="ZONE",
                   help="IANA time zone of --at (default: the sender bank's)")
    g.add_argument("--amount", default="1000", help="amount in --currency (default 1000)")
    g.add_argument("--currency", default=None, metavar="CCY",
                   help="currency sent (default: the sender bank's home currency)")
    g.add_argument("--segment", choices=("retail", "sme", "wholesale"), default=None,
                   help="customer segment (default: from the amount)")
    g.add_argument("--charge", choices=("OUR", "SHA", "BEN"), default="SHA",
                   help="who bears the charges (default SHA)")
    g.add_argument("--seed", type=at_least(0), default=None,
                   help="seed of the rails' draws (default: the scenario's, else 1)")
    g.add_argument("--chain", default=None, metavar="PROFILE",
                   help="chain profile for the on-chain rail (default: the settings')")
    r = t.add_argument_group("or a payment of a finished run")
    r.add_argument("--payment", default=None, metavar="ID", help="payment id, e.g. P0000042")
    r.add_argument("--run", default=None, metavar="DIR",
                   help="output folder of the run or sweep (steps.parquet, payments.parquet)")
    r.add_argument("--grid-point", type=at_least(0), default=None, metavar="G",
                   help="with a sweep's folder: the grid point of the run (needed when the "
                   "payment ran at several)")
    r.add_argument("--replication", type=at_least(0), default=None, metavar="R",
                   help="with a sweep's folder: the replication of the run (needed when the "
                   "payment ran in several)")
    o = t.add_argument_group("output")
    o.add_argument("--out", default=None, metavar="FILE.html",
                   help="also write a self-contained HTML page (works offline)")
    o.add_argument("--log", action="store_true",
                   help="terminal bars on a log time scale (seconds next to weekends)")
    o.add_argument("--play", action="store_true",
                   help="replay the steps one by one in time order (Ctrl-C stops)")
    o.add_argument("--speed", type=positive_number, default=1.0, metavar="X",
                   help="replay speed factor (default 1; 2 is twice as fast)")
    o.add_argument("--linear", action="store_true",
                   help="with --play: linear bars (default log)")
    o.add_argument("--width", type=at_least(40), default=None, metavar="COLS",
                   help="terminal width to render for (default: the terminal's)")
    o.add_argument("--quiet", action="store_true",
                   help="no terminal rendering (with --out: just write the page)")
    t.set_defaults(func=_cmd_timeline)
