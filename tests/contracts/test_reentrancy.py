"""The escrow and the swap accept any ERC-20, so their state-changing functions must reject a
token that calls back into them mid-transfer (``ReentrancyGuardReentrantCall``) and leave
every lock and swap as it was.

The hostile token is ``solidity/ReentrantToken.sol`` (test-only); its compiled artifact is
committed beside it so these tests need no compiler. After editing the source, regenerate it
with ``python -m tests.contracts.test_reentrancy``.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest

from settlement import AbiRegistry, hashlock_of
from settlement.clients import LockTerms, SwapTerms
from tests.contracts.contract_world import ZERO32, World

HERE = Path(__file__).resolve().parent / "solidity"
SOURCE = HERE / "ReentrantToken.sol"
ARTIFACT = HERE / "ReentrantToken.json"
PREIMAGE = b"\x21" * 32
AMOUNT = 5_000
OPEN, PROVEN = 1, 4


def _source_sha256() -> str:
    return hashlib.sha256(SOURCE.read_bytes()).hexdigest()


def regenerate() -> None:
    """Compile the test token with the project's pinned compiler and write its artifact."""
    from settlement.compile import compile_contracts

    art = compile_contracts(HERE, ("ReentrantToken",))["ReentrantToken"]
    assert not art["warnings"], art["warnings"]
    out = {"abi": art["abi"], "bytecode": art["bytecode"], "compiler": art["compiler"],
           "sourceSha256": _source_sha256()}
    ARTIFACT.write_text(json.dumps(out, indent=1, sort_keys=True) + "\n", encoding="utf-8")


@pytest.fixture(scope="module")
def artifact() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(ARTIFACT.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def rent(world: World, artifact: dict[str, Any]) -> str:
    """A deployed ReentrantToken; alice and bob hold some and approved the escrow and swap."""
    chain = world.chain
    if "ReentrantToken" not in chain.abis.abis:
        chain.abis = AbiRegistry({**chain.abis.abis, "ReentrantToken": artifact["abi"]})
    address = chain.deploy("ReentrantToken", artifact["bytecode"], (), sender="owner")
    token = str(address.contract_address)
    world.names[token] = "RENT"
    for who in ("alice", "bob"):
        chain.transact(token, "ReentrantToken", "mint", (world.address(who), 10 * AMOUNT),
                       sender=who)
        for spender in ("escrow", "fx"):
            chain.transact(token, "ReentrantToken", "approve",
                           (world.address(spender), 10 * AMOUNT), sender=who)
    return token


def arm(world: World, token: str, target: str, contract: str, fn: str,
        args: tuple[Any, ...]) -> None:
    data = world.chain.abis.encode_call(contract, fn, args)
    world.chain.transact(token, "ReentrantToken", "arm", (world.address(target), data),
                         sender="outsider")


def rent_balance(world: World, token: str, who: str) -> int:
    return int(world.chain.call(token, "ReentrantToken", "balanceOf", (world.address(who),)))


def test_artifact_is_compiled_from_the_current_source(artifact: dict[str, Any]) -> None:
    assert artifact["sourceSha256"] == _source_sha256(), (
        "ReentrantToken.sol changed: run python -m tests.contracts.test_reentrancy")


def lock_rent(world: World, token: str, deadline_in: int = 3_600) -> tuple[bytes, LockTerms]:
    t = LockTerms(token, world.address("bob"), AMOUNT, world.now() + deadline_in,
                  hashlock_of(PREIMAGE), max_fee_bps=25)
    receipt = world.receipt(world.escrow.lock(t, sender="alice"))
    return receipt.event("Locked")["lockId"], t


def test_an_unarmed_hostile_token_settles_normally(world: World, rent: str) -> None:
    _, t = lock_rent(world, rent)
    world.escrow.release("alice", t, PREIMAGE, sender="bob")
    fee = AMOUNT * 25 // 10_000
    assert rent_balance(world, rent, "bob") == 10 * AMOUNT + AMOUNT - fee


@pytest.mark.parametrize("reenter", ["release", "refund"])
def test_release_cannot_be_reentered(world: World, rent: str, reenter: str) -> None:
    # the payout is attempted (a refused payout would leave the release proven): the token's
    # call back into the escrow reverts the whole transfer with the guard's error, and the
    # release is recorded as proven, not paid twice
    lock_id, t = lock_rent(world, rent)
    payer = world.address("alice")
    args = (payer, t.as_abi(), PREIMAGE) if reenter == "release" else (payer, t.as_abi())
    arm(world, rent, "escrow", "SettlementEscrow", reenter, args)
    r = world.receipt(world.escrow.release("alice", t, PREIMAGE, sender="bob"))
    assert [e.name for e in r.events] == ["ReleaseProven"]
    assert world.escrow.get_lock(lock_id)["state"] == PROVEN
    assert rent_balance(world, rent, "bob") == 10 * AMOUNT
    # still armed (the token's disarming was undone with its failed transfer): a claim
    # re-enters too, and reverts whole
    world.reverts(lambda: world.escrow.claim("alice", t, sender="bob"),
                  "ReentrancyGuardReentrantCall")
    arm(world, rent, "zero", "SettlementEscrow", reenter, args)   # disarm
    world.escrow.claim("alice", t, sender="bob")
    assert rent_balance(world, rent, "bob") == 11 * AMOUNT - AMOUNT * 25 // 10_000


def test_refund_cannot_be_reentered(world: World, rent: str) -> None:
    lock_id, t = lock_rent(world, rent, deadline_in=60)
    arm(world, rent, "escrow", "SettlementEscrow", "refund",
        (world.address("alice"), t.as_abi()))
    world.at(t.deadline)
    world.reverts(lambda: world.escrow.refund("alice", t, sender="alice"),
                  "ReentrancyGuardReentrantCall")
    assert world.escrow.get_lock(lock_id)["state"] == OPEN


def test_lock_cannot_be_reentered(world: World, rent: str) -> None:
    t = LockTerms(rent, world.address("bob"), AMOUNT, world.now() + 3_600,
                  hashlock_of(PREIMAGE))
    other = LockTerms(rent, world.address("bob"), AMOUNT, t.deadline, hashlock_of(PREIMAGE),
                      salt=b"\x01" * 32, max_fee_bps=25)
    arm(world, rent, "escrow", "SettlementEscrow", "lock", (other.as_abi(),))
    world.reverts(lambda: world.escrow.lock(t, sender="alice"), "ReentrancyGuardReentrantCall")


def test_swap_settlement_cannot_be_reentered(world: World, rent: str) -> None:
    t = SwapTerms(world.address("alice"), rent, AMOUNT, world.address("bob"),
                  world.mxn.address, 80_000, world.now() + 3_600, ZERO32)
    world.fx.fund(t, sender="alice")
    sid = world.swap_id(t)
    # settling sends alice's held RENT leg to bob, which calls back into the swap
    arm(world, rent, "fx", "FxSwap", "refund", (t.as_abi(),))
    world.reverts(lambda: world.fx.fund(t, sender="bob"), "ReentrancyGuardReentrantCall")
    swap = world.fx.get_swap(sid)
    assert (swap["fundedA"], swap["fundedB"], swap["state"]) == (True, False, OPEN)


def test_swap_refund_cannot_be_reentered(world: World, rent: str) -> None:
    t = SwapTerms(world.address("alice"), rent, AMOUNT, world.address("bob"),
                  world.mxn.address, 80_000, world.now() + 60, ZERO32)
    world.fx.fund(t, sender="alice")
    sid = world.swap_id(t)
    arm(world, rent, "fx", "FxSwap", "fund", (t.as_abi(),))
    world.at(t.deadline)
    world.reverts(lambda: world.fx.refund(t, sender="alice"), "ReentrancyGuardReentrantCall")
    assert world.fx.get_swap(sid)["state"] == OPEN


if __name__ == "__main__":
    regenerate()
    print(f"wrote {ARTIFACT}")
