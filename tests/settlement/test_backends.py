"""The embedded chain's two backends: the same workload gives the same chain, transaction by
transaction, and the same rail tables; bad input is refused alike.

Every transaction mined on the embedded chain is recorded as the chain reports it (gas,
effective gas price, status, revert data, logs, block and timestamp) and the records of the
two backends are compared whole. Transaction hashes differ by design (``pyevm`` signs nothing).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
import pytest
from web3.exceptions import MethodUnavailable

from settlement import (
    BACKENDS,
    Chain,
    ChainError,
    ClockError,
    ContractRevert,
    LockState,
    deploy_stack,
    hashlock_of,
    minter_name,
)
from settlement._pyevm import PyEvmBackend
from settlement.chain import BACKEND_ENV, DEFAULT_BACKEND

GENESIS = 1_767_225_600  # 2026-01-01T00:00:00Z
UNIT = 10**6


@pytest.fixture
def mined(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[Any, ...]]]:
    """Every transaction the embedded chain mines while the test runs, as it reported it."""
    seen: list[tuple[Any, ...]] = []
    settle = Chain._settle_raw

    def recording(self: Chain, p: Any, block: Any, rtx: Any) -> None:
        settle(self, p, block, rtx)
        seen.append((self.backend, p.function, p.sender, block.number, block.timestamp,
                     block.base_fee_per_gas, rtx.status, rtx.gas_used, rtx.effective_gas_price,
                     rtx.revert, rtx.logs, rtx.contract_address))

    monkeypatch.setattr(Chain, "_settle_raw", recording)
    yield seen


def by_backend(records: list[tuple[Any, ...]]) -> dict[str, list[tuple[Any, ...]]]:
    out: dict[str, list[tuple[Any, ...]]] = {b: [] for b in BACKENDS}
    for r in records:
        out[r[0]].append(r[1:])
    return out


def chain_workload(backend: str) -> dict[str, Any]:
    """Deployment, auto-mined and hand-built blocks, reverts of every kind, a snapshot and
    a revert, an out-of-gas transaction; returns what the chain says at the end."""
    chain = Chain(genesis_timestamp=GENESIS, backend=backend)
    stack = deploy_stack(chain, ("USD", "MXN"), escrow_fee_bps=10)
    usd, mxn, escrow = stack.tokens["USD"], stack.tokens["MXN"], stack.escrow
    chain.accounts(["alice", "bob", "carol"])
    usd.mint("alice", 1_000 * UNIT, sender=minter_name("USD"))
    mxn.mint("bob", 5_000 * UNIT, sender=minter_name("MXN"))
    reverts = []
    for action in (lambda: usd.mint("bob", 1, sender="bob"),               # custom error
                   lambda: usd.transfer("bob", 10**12, sender="alice"),    # ERC-6093 error
                   lambda: chain.transact(usd.address, "Stablecoin", "transfer",  # out of gas
                                          [chain.account("bob"), 1], sender="alice", gas=30_000)):
        with pytest.raises(ContractRevert) as info:
            action()
        reverts.append((info.value.error, info.value.args_dict, info.value.gas_used,
                        info.value.raw))
    snap = chain.snapshot()
    usd.transfer("carol", 7 * UNIT, sender="alice")
    chain.revert(snap)
    chain.set_automine(False)
    t = chain.latest_timestamp() + 3_600
    deadline = t + 86_400
    preimage = b"\x42" * 32
    terms = escrow.terms(usd, "bob", 100 * UNIT, deadline, hashlock=hashlock_of(preimage))
    sent = [usd.approve(escrow.address, 100 * UNIT, sender="alice"),
            escrow.lock(terms, sender="alice"),
            usd.transfer("carol", 2 * UNIT, sender="alice"),
            usd.transfer("alice", 1 * UNIT, sender="carol")]   # carol holds 2 by then
    chain.mine(timestamp=t)
    lock_id = sent[1].receipt().event("Locked")["lockId"]
    late = [escrow.release("alice", terms, preimage, sender="bob"),  # at the deadline: too late
            usd.transfer("bob", 5 * UNIT, sender="carol")]         # carol holds 1: reverts
    chain.mine(timestamp=deadline)
    chain.set_automine(True)
    refund = escrow.refund("alice", terms, sender="alice")
    return {
        "reverts": reverts,
        "late": [(p.reverted.error if p.reverted else None) for p in late],
        "refund_events": [(e.name, dict(e.args)) for e in refund.events],
        "lock": escrow.get_lock(lock_id)["state"],
        "balances": {n: (usd.balance_of(n), mxn.balance_of(n), chain.balance_of(chain.account(n)))
                     for n in ("alice", "bob", "carol")},
        "supply": (usd.total_supply(), mxn.total_supply()),
        "block": (chain.block_number(), chain.latest_timestamp()),
        "coinbase": chain.balance_of("0x" + "00" * 20),
        "state_root": bytes(chain.w3.eth.get_block("latest")["stateRoot"]),
    }


@pytest.mark.parametrize("persist_every", [2048, 3])
def test_same_transactions_same_chain_on_both_backends(
        mined, monkeypatch: pytest.MonkeyPatch, persist_every: int) -> None:
    # persisting every 3 blocks puts persists (and their state roots) mid-workload
    monkeypatch.setattr(PyEvmBackend, "persist_every", persist_every)
    ends = {b: chain_workload(b) for b in BACKENDS}
    fast, tester = by_backend(mined)["pyevm"], by_backend(mined)["eth-tester"]
    assert len(fast) == len(tester) > 15
    for a, b in zip(fast, tester, strict=True):
        assert a == b, f"{a[0]} differs"
    assert {r[5] for r in fast} == {0, 1}, "the workload has reverted transactions"
    assert any(r[9] for r in fast), "and transactions with logs"
    assert ends["pyevm"] == ends["eth-tester"]
    end = ends["pyevm"]
    assert [r[0] for r in end["reverts"]] == ["CallerNotMinter", "ERC20InsufficientBalance",
                                              "unknown"]
    assert end["late"] == ["LockExpired", "ERC20InsufficientBalance"]
    assert end["lock"] is LockState.REFUNDED
    assert end["balances"]["carol"][0] == 1 * UNIT and end["balances"]["alice"][0] == 999 * UNIT


def test_contracts_ledger_gives_the_same_rail_tables_and_transactions(
        mined, monkeypatch: pytest.MonkeyPatch) -> None:
    from sim.banking.network import BankNetwork
    from sim.banking.workload import Workload
    from sim.onchain import rail as onchain
    from sim.onchain.spec import OnChainSpec

    net = BankNetwork.default()
    wl = Workload.generate(seed=3, n_payments=30, network=net)
    d = OnChainSpec.default().model_dump()
    d["escrow"]["deadline_hours"] = 2.0  # some attestations come after the deadline
    spec = OnChainSpec.from_dict(d)
    # the rail's gas table, measured (on a chain of its own) if no cache holds it yet:
    # not part of the runs compared
    from sim.onchain.ledger import measure_rail_gas

    measure_rail_gas(spec.release)
    mined.clear()
    runs = {}
    for backend in BACKENDS:
        monkeypatch.setenv(BACKEND_ENV, backend)
        runs[backend] = onchain.run(net, wl, seed=3, spec=spec, ledger="contracts")
    fast, tester = runs["pyevm"], runs["eth-tester"]
    pd.testing.assert_frame_equal(fast.payments, tester.payments)
    pd.testing.assert_frame_equal(fast.steps, tester.steps)
    assert fast.meta["supply_check"] == tester.meta["supply_check"]
    assert set(fast.payments["status"]) == {"credited", "returned"}
    txs = by_backend(mined)
    assert len(txs["pyevm"]) == len(txs["eth-tester"]) > 300
    for a, b in zip(txs["pyevm"], txs["eth-tester"], strict=True):
        assert a == b, f"{a[0]} in block {a[2]} differs"
    reverted = [r for r in txs["pyevm"] if r[5] == 0]
    assert reverted and all(r[8] for r in reverted)  # each with its revert data
    assert all(r[8] is None for r in txs["pyevm"] if r[5] == 1)


# -- choosing a backend ----------------------------------------------------------------

def test_the_default_backend_is_pyevm_and_the_environment_can_choose(
        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(BACKEND_ENV, raising=False)
    assert DEFAULT_BACKEND == "pyevm"
    fast = Chain()
    assert (fast.backend, fast.tester, fast.embedded) == ("pyevm", None, True)
    monkeypatch.setenv(BACKEND_ENV, "eth-tester")
    tester = Chain()
    assert tester.backend == "eth-tester" and tester.tester is not None
    assert Chain(backend="pyevm").backend == "pyevm"  # the argument wins over the environment
    assert fast.chain_id == tester.chain_id
    assert fast.account("alice") == tester.account("alice")
    assert fast.balance_of(fast.account("alice")) == tester.balance_of(tester.account("alice"))


def test_an_unknown_backend_or_one_with_a_node_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ChainError, match=r"unknown embedded chain backend backend='evm'; "
                                         r"choose one of 'pyevm', 'eth-tester'"):
        Chain(backend="evm")
    monkeypatch.setenv(BACKEND_ENV, "tester")
    with pytest.raises(ChainError, match=rf"{BACKEND_ENV}='tester'"):
        Chain()
    with pytest.raises(ChainError, match="chooses the embedded chain's backend; with rpc_url"):
        Chain("http://127.0.0.1:9", backend="pyevm")


# -- bad input, refused alike ------------------------------------------------------------

@pytest.fixture(scope="module", params=BACKENDS)
def stack(request: pytest.FixtureRequest) -> Any:
    chain = Chain(genesis_timestamp=GENESIS, backend=request.param)
    s = deploy_stack(chain, ("USD",))
    chain.accounts(["alice", "bob"])
    s.tokens["USD"].mint("alice", 1_000 * UNIT, sender=minter_name("USD"))
    return s


@pytest.fixture
def chain(stack: Any) -> Iterator[Chain]:
    snap = stack.chain.snapshot()
    yield stack.chain
    stack.chain.set_automine(True)
    stack.chain.revert(snap)


def test_more_gas_than_a_block_holds_is_refused_and_nothing_is_mined(chain, stack) -> None:
    usd = stack.tokens["USD"]
    number, before = chain.block_number(), usd.balance_of("bob")
    with pytest.raises(ChainError, match=r"^the embedded chain rejected a transaction: "
                                         r"Transaction exceeds gas limit"):
        chain.transact(usd.address, "Stablecoin", "transfer", [chain.account("bob"), 1],
                       sender="alice", gas=31_000_000)
    assert chain.block_number() == number
    usd.transfer("bob", 1, sender="alice")  # the nonce was not used up
    assert usd.balance_of("bob") == before + 1


def test_a_refused_block_undoes_the_transactions_before_the_refused_one(chain, stack) -> None:
    usd = stack.tokens["USD"]
    usd.transfer("bob", 3 * UNIT, sender="alice")  # mined after the snapshot: it stays
    usd.transfer("alice", 1 * UNIT, sender="bob")
    number = chain.block_number()
    start = (usd.balance_of("alice"), usd.balance_of("bob"), chain.balance_of(chain.account("bob")))
    chain.set_automine(False)
    usd.transfer("bob", 5 * UNIT, sender="alice")
    chain.transact(usd.address, "Stablecoin", "transfer", [chain.account("alice"), UNIT],
                   sender="bob", gas=29_990_000)  # more than the block has left
    with pytest.raises(ChainError, match="Transaction exceeds gas limit"):
        chain.mine()
    assert chain.block_number() == number
    assert (usd.balance_of("alice"), usd.balance_of("bob"),
            chain.balance_of(chain.account("bob"))) == start
    assert start[1] == 2 * UNIT  # the two blocks before the refused one are still there
    usd.transfer("bob", 5 * UNIT, sender="alice")  # nonces re-read: the same transfer again
    block = chain.mine()
    assert block.number == number + 1 and usd.balance_of("bob") == start[1] + 5 * UNIT


def test_a_sender_without_ether_for_gas_is_refused(chain, stack) -> None:
    chain.account("pauper", fund_wei=10)
    with pytest.raises(ChainError,
                       match=r"rejected a transaction: Sender .* cannot afford txn gas"):
        stack.tokens["USD"].transfer("bob", 1, sender="pauper")


def test_time_only_moves_forward_on_either_backend(chain) -> None:
    t = chain.latest_timestamp()
    with pytest.raises(ClockError, match=f"already at {t}; time only moves forward"):
        chain.set_next_block_timestamp(t)


def test_a_reverted_call_names_its_error_on_either_backend(chain, stack) -> None:
    usd = stack.tokens["USD"]
    with pytest.raises(ContractRevert) as info:
        chain.call(usd.address, "Stablecoin", "mint", [chain.account("bob"), 1], sender="bob")
    assert (info.value.error, info.value.args_dict) == (
        "CallerNotMinter", {"caller": chain.account("bob")})
    bob = chain.account("bob")
    assert str(info.value) == f"Stablecoin.mint reverted: CallerNotMinter(caller='{bob}')"


def test_reverting_to_an_unknown_snapshot_is_refused(chain) -> None:
    with pytest.raises(ChainError, match="no snapshot 999 on this chain"):
        chain.revert(999)


def test_receipts_decode_their_events_only_when_asked(chain, stack, monkeypatch) -> None:
    calls = []
    decode = chain.abis.decode_logs
    monkeypatch.setattr(chain.abis, "decode_logs", lambda logs: calls.append(1) or decode(logs))
    r = stack.tokens["USD"].transfer("bob", 1, sender="alice")
    assert calls == []
    assert r.event("Transfer")["value"] == 1 and calls == [1]
    assert r.events is r.events and calls == [1]  # decoded once
    (log,) = r.logs
    assert log.address == stack.tokens["USD"].address and len(log.topics) == 3
    assert int.from_bytes(log.data, "big") == 1


def test_the_web3_view_of_the_pyevm_backend_reads_what_eth_tester_reads() -> None:
    views = {}
    for backend in BACKENDS:
        chain = Chain(genesis_timestamp=GENESIS, backend=backend)
        usd = deploy_stack(chain, ("USD",)).tokens["USD"]
        alice = chain.account("alice")
        usd.mint("alice", 5 * UNIT, sender=minter_name("USD"))
        w3 = chain.w3
        latest, pending = w3.eth.get_block("latest"), w3.eth.get_block("pending")
        data = "0x" + chain.abis.encode_call("Stablecoin", "balanceOf", [alice]).hex()
        views[backend] = {
            "latest": {k: latest[k] for k in ("number", "timestamp", "gasUsed", "gasLimit",
                                              "baseFeePerGas", "stateRoot")},
            "pending_base_fee": pending["baseFeePerGas"],
            "block_number": w3.eth.block_number, "chain_id": w3.eth.chain_id,
            "accounts": list(w3.eth.accounts),
            "balance": w3.eth.get_balance(alice),
            "nonce": w3.eth.get_transaction_count(chain.account(minter_name("USD"))),
            "code": bytes(w3.eth.get_code(usd.address)),
            "call": int.from_bytes(w3.eth.call({"from": alice, "to": usd.address,
                                                "data": data}), "big"),
        }
    assert views["pyevm"] == views["eth-tester"]
    assert views["pyevm"]["call"] == 5 * UNIT and views["pyevm"]["code"]
    fast = Chain(backend="pyevm")
    with pytest.raises(MethodUnavailable, match="eth_getLogs is not served by the pyevm backend"):
        fast.w3.eth.get_logs({})
