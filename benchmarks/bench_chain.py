#!/usr/bin/env python3
"""Transactions per second on the embedded chain: raw eth-tester vs. settlesim's client.

All rates are ERC-20 ``transfer`` calls of the project's Stablecoin, measured
in the same run on the same machine:

* ``raw eth-tester``: pre-signed transactions handed straight to
  ``EthereumTester.send_raw_transaction`` (one block each), no web3, no
  signing in the timed loop; the floor set by py-evm itself.
* ``client, auto-mine``: ``StablecoinClient.transfer`` on the default
  embedded backend (``pyevm``: ABI encoding, no signing, one block per
  transaction, a receipt whose events decode when asked), so it can beat the
  raw eth-tester rate.
* ``client, 100 per block``: the same calls with auto-mining off and a block
  mined every 100 transactions, as a simulation does.

Usage: ``python benchmarks/bench_chain.py [--n 400]``; prints each rate and its
ratio to the raw rate.
"""

from __future__ import annotations

import argparse
import time

from settlement import Chain, deploy_stack, minter_name

UNIT = 10**6


def _setup(genesis: int = 1_767_225_600, backend: str | None = None):
    chain = Chain(genesis_timestamp=genesis, backend=backend)
    stack = deploy_stack(chain, ("USD",))
    usd = stack.tokens["USD"]
    chain.accounts(["alice", "bob"])
    usd.mint("alice", 10**12, sender=minter_name("USD"))
    usd.transfer("bob", 1, sender="alice")  # bob is an existing holder from now on
    return chain, usd


def bench_raw(n: int) -> float:
    chain, usd = _setup(backend="eth-tester")
    acct = chain._accounts["alice"]
    nonce = int(chain.w3.eth.get_transaction_count(acct.address))
    data = chain.abis.encode_call("Stablecoin", "transfer", [chain.address_of("bob"), 1])
    raws = []
    for i in range(n):
        tx = {"type": 2, "chainId": chain.chain_id, "nonce": nonce + i, "gas": 100_000,
              "maxFeePerGas": 10**11, "maxPriorityFeePerGas": 10**9, "value": 0,
              "to": usd.address, "data": "0x" + data.hex()}
        raws.append("0x" + bytes(acct.sign_transaction(tx).raw_transaction).hex())
    tester = chain.tester
    t0 = time.perf_counter()
    for raw in raws:
        tester.send_raw_transaction(raw)
    dt = time.perf_counter() - t0
    assert usd.balance_of("bob") == 1 + n
    return n / dt


def bench_client(n: int) -> float:
    chain, usd = _setup()
    t0 = time.perf_counter()
    for _ in range(n):
        usd.transfer("bob", 1, sender="alice")
    dt = time.perf_counter() - t0
    assert usd.balance_of("bob") == 1 + n
    return n / dt


def bench_client_blocks(n: int, per_block: int = 100) -> float:
    chain, usd = _setup()
    chain.set_automine(False)
    t0 = time.perf_counter()
    pending = []
    for i in range(n):
        pending.append(usd.transfer("bob", 1, sender="alice"))
        if (i + 1) % per_block == 0:
            chain.mine()
    chain.mine()
    for p in pending:
        p.receipt()
    dt = time.perf_counter() - t0
    chain.set_automine(True)
    assert usd.balance_of("bob") == 1 + n
    return n / dt


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=400, help="transfers per measurement")
    args = p.parse_args()
    bench_client(20)  # warm-up: imports, caches
    raw = bench_raw(args.n)
    client = bench_client(args.n)
    blocks = bench_client_blocks(args.n)
    print(f"ERC-20 transfers on the embedded chain, n={args.n}")
    print(f"  raw eth-tester (pre-signed)  {raw:8.1f} tx/s   1.00x")
    print(f"  client, auto-mine            {client:8.1f} tx/s   {client / raw:.2f}x of raw")
    print(f"  client, 100 per block        {blocks:8.1f} tx/s   {blocks / raw:.2f}x of raw")


if __name__ == "__main__":
    main()
