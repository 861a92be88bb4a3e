"""``settlesim`` commands for contract developers: compile, gas-report, deploy, demo."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from sim.cli.args import at_least

__all__ = ["KNOWN_ERRORS", "register"]


def _known() -> tuple[type[BaseException], ...]:
    from settlement.chain import ChainError
    from settlement.compile import CompileError, StaleArtifactError

    return (ChainError, CompileError, StaleArtifactError)


KNOWN_ERRORS = _known


def _cmd_compile(args: argparse.Namespace) -> int:
    from settlement.compile import ARTIFACTS_DIR, compile_contracts, write_artifacts

    artifacts = compile_contracts()
    paths = write_artifacts(artifacts)
    for name, art in artifacts.items():
        size = (len(art["deployedBytecode"]) - 2) // 2
        print(f"{name:<18} {size:>6} bytes runtime  -> {ARTIFACTS_DIR.name}/{name}.json")
        for w in art["warnings"]:
            print(f"  warning: {w.strip()}", file=sys.stderr)
    version = next(iter(artifacts.values()))["compiler"]["version"]
    print(f"wrote {len(paths)} artifacts (solc {version})")
    return 0


def _cmd_gas_report(args: argparse.Namespace) -> int:
    from settlement.compile import _atomic_write
    from settlement.gas import GAS_REPORT_PATH, measure_gas

    report = measure_gas(batch_size=args.batch_size)
    if args.write:
        _atomic_write(GAS_REPORT_PATH, json.dumps(report, indent=1, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title=f"Gas per operation ({report['chain']}, solc {report['compiler']})")
    table.add_column("operation")
    table.add_column("gas", justify="right")
    table.add_column("per item", justify="right")
    table.add_column("what")
    for name, op in report["operations"].items():
        per = op.get("gas_per_item")
        table.add_row(name, f"{op['gas']:,}", f"{per:,}" if per else "", op["description"])
    Console(width=max(100, Console().width)).print(table)
    pay = report["baseline_payment"]
    parts = ", ".join(f"{k} {v:,}" for k, v in pay["operations"].items())
    print(f"one baseline on-chain payment, all its transactions, steady state: "
          f"{pay['gas']:,} gas ({parts}); previous contracts: {pay['previous_gas']:,} "
          f"({pay['reduction']:.1%} less)")
    if args.write:
        print(f"wrote {GAS_REPORT_PATH}")
    return 0


def _currencies(text: str) -> list[str]:
    """``USD,eur, MXN`` -> ``["USD", "EUR", "MXN"]``, checked as the deployment checks them
    (:func:`settlement.deploy.check_currencies`)."""
    from settlement.deploy import check_currencies

    codes = [c.strip().upper() for c in text.split(",") if c.strip()]
    if not codes:
        raise argparse.ArgumentTypeError(
            f"{text!r}: give ISO 4217 codes such as USD,EUR,MXN, comma-separated")
    try:
        check_currencies(codes)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return codes


def _cmd_deploy(args: argparse.Namespace) -> int:
    from settlement import Chain, deploy_stack

    chain = Chain(args.rpc)
    stack = deploy_stack(chain, args.currencies, escrow_fee_bps=args.escrow_fee_bps)
    print(json.dumps(stack.addresses(), indent=1))
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    from settlement.demo import run_demo

    run_demo(rpc_url=args.rpc, amount_usd=args.amount)
    return 0


def register(sub: Any) -> None:
    """Add this module's commands to the ``settlesim`` sub-parsers."""
    c = sub.add_parser("compile", help="compile contracts/ into settlement/artifacts/")
    c.set_defaults(func=_cmd_compile)

    g = sub.add_parser("gas-report", help="measure gas per operation on the embedded chain")
    g.add_argument("--json", action="store_true", help="print JSON instead of a table")
    g.add_argument("--write", action="store_true",
                   help="also refresh settlement/artifacts/gas_report.json")
    g.add_argument("--batch-size", type=at_least(1), default=10, metavar="N",
                   help="locks per batch operation (default 10)")
    g.set_defaults(func=_cmd_gas_report)

    d = sub.add_parser("deploy", help="deploy the stack and print the addresses as JSON")
    d.add_argument("--rpc", metavar="URL", default=None,
                   help="JSON-RPC node (default: the embedded eth-tester chain)")
    d.add_argument("--currencies", type=_currencies, default="USD,EUR,MXN",
                   help="stablecoins to deploy, comma-separated (default USD,EUR,MXN)")
    d.add_argument("--escrow-fee-bps", type=int, default=0, metavar="BPS")
    d.set_defaults(func=_cmd_deploy)

    m = sub.add_parser("demo", help="one USD->MXN payment through the contracts, step by step")
    m.add_argument("--rpc", metavar="URL", default=None)
    m.add_argument("--amount", type=at_least(1), default=1_000,
                   help="USD amount, a whole number (default 1000)")
    m.set_defaults(func=_cmd_demo)
