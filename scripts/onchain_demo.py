#!/usr/bin/env python3
"""One USD -> MXN payment through the real contracts on the embedded chain.

The sender bank's issuer mints USDx to its client, the client funds an escrow
with permit, an FX provider swaps USDx for MXNx payment-versus-payment, the
escrow releases on the beneficiary bank's attestation, and the payee redeems.
Each step is printed with its block time, gas and fee.

    python scripts/onchain_demo.py [--amount USD] [--rpc URL]
"""

from __future__ import annotations

import argparse
import sys

from settlement.chain import ChainError
from settlement.demo import run_demo
from sim.cli.args import at_least


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--amount", type=at_least(1), default=1_000,
                   help="USD amount, a whole number (default 1000)")
    p.add_argument("--rpc", default=None, metavar="URL",
                   help="a JSON-RPC node instead of the embedded chain")
    args = p.parse_args(argv)
    try:
        run_demo(rpc_url=args.rpc, amount_usd=args.amount)
    except ChainError as exc:   # a revert or an unreachable node; any other error is a fault
        print(f"onchain_demo: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
