"""The same Chain class against a real JSON-RPC node: Hardhat's, from node_modules.

No mocks: the node is started on a free loopback port, the stack is deployed
by URL, the demo payment runs, and the node is stopped.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from settlement import Chain, ClockError, ContractRevert, deploy_stack, minter_name
from settlement.demo import run_demo

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
HARDHAT = ROOT / "node_modules" / ".bin" / "hardhat"
UNIT = 10**6


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def node_url(tmp_path_factory) -> Iterator[str]:
    if not HARDHAT.exists():
        pytest.fail("node_modules/.bin/hardhat is missing: run 'npm ci' (make test does)")
    if shutil.which("node") is None:
        pytest.fail("node is not installed")
    port = _free_port()
    log = tmp_path_factory.mktemp("hardhat") / "node.log"
    env = {**os.environ, "HARDHAT_DISABLE_TELEMETRY_PROMPT": "true", "CI": "true"}
    with log.open("w") as fh:
        proc = subprocess.Popen(
            [str(HARDHAT), "node", "--hostname", "127.0.0.1", "--port", str(port)],
            cwd=ROOT, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"hardhat node did not start:\n{log.read_text()[-2000:]}")
                time.sleep(0.3)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_demo_payment_on_a_real_node(node_url: str) -> None:
    lines: list[str] = []
    steps = run_demo(rpc_url=node_url, amount_usd=1_000, out=lines.append)
    assert len(steps) == 9
    assert "chain id 31337" in lines[0]
    assert all(s.receipt.status == 1 and s.receipt.gas_used > 21_000 for s in steps)
    numbers = [s.receipt.block_number for s in steps]
    assert numbers == sorted(numbers)
    assert any("payee received 17,181.05 MXN" in ln for ln in lines)


def test_gas_on_the_node_equals_gas_on_the_embedded_chain(node_url: str) -> None:
    def transfer_gas(chain: Chain) -> tuple[int, int]:
        stack = deploy_stack(chain, ("USD",))
        usd = stack.tokens["USD"]
        mint = usd.mint("alice", 100 * UNIT, sender=minter_name("USD"))
        tr = usd.transfer("bob", 10 * UNIT, sender="alice")
        return mint.gas_used, tr.gas_used

    assert transfer_gas(Chain(node_url)) == transfer_gas(Chain())


def test_clock_mining_snapshot_and_reverts_on_a_real_node(node_url: str) -> None:
    chain = Chain(node_url)
    stack = deploy_stack(chain, ("USD",))
    usd = stack.tokens["USD"]
    usd.mint("alice", 100 * UNIT, sender=minter_name("USD"))
    chain.account("bob")
    snap = chain.snapshot()

    t = chain.latest_timestamp() + 600
    chain.set_automine(False)
    txs = [usd.transfer("bob", 1 * UNIT, sender="alice") for _ in range(3)]
    bad = usd.transfer("carol", 1_000 * UNIT, sender="bob")
    block = chain.mine(timestamp=t)
    assert block.timestamp == t
    receipts = [p.receipt() for p in txs]
    assert {r.block_number for r in receipts} == {block.number}
    with pytest.raises(ContractRevert) as exc:
        bad.receipt()
    assert exc.value.error == "ERC20InsufficientBalance"
    assert exc.value.args_dict["needed"] == 1_000 * UNIT
    chain.set_automine(True)
    assert usd.balance_of("bob") == 3 * UNIT

    with pytest.raises(ClockError):
        chain.set_next_block_timestamp(t - 1)
    with pytest.raises(ContractRevert) as exc:
        usd.mint("bob", 1, sender="bob")
    assert exc.value.error == "CallerNotMinter"

    chain.revert(snap)
    assert usd.balance_of("bob") == 0
    usd.transfer("bob", 2 * UNIT, sender="alice")
    assert usd.balance_of("bob") == 2 * UNIT
