"""Access control: for every privileged function of every contract, every named account that
lacks the role is rejected with the role's error and changes nothing, and the holder is
accepted.

Named accounts: the role holders (owner, master minter, pauser, blacklister, rescuer, fee
collector), both issuers' minters, three customers, a settlement agent and an outsider.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pytest

from settlement import Receipt, hashlock_of
from settlement.clients import SwapTerms
from tests.contracts.contract_world import NAMED, ZERO32, World

Action = Callable[[World, str], object]


def usd(fn: str, *args: str | int) -> Action:
    """A call of the USD token's ``fn``; string arguments are account or contract names."""
    def act(world: World, sender: str) -> object:
        values = [world.address(a) if isinstance(a, str) else a for a in args]
        return world.chain.transact(world.usd.address, "Stablecoin", fn, values, sender=sender)
    return act


def escrow(fn: str, *args: str | int) -> Action:
    def act(world: World, sender: str) -> object:
        values = [world.address(a) if isinstance(a, str) else a for a in args]
        return world.chain.transact(world.escrow.address, "SettlementEscrow", fn, values,
                                    sender=sender)
    return act


def fx(fn: str, *args: str | int) -> Action:
    def act(world: World, sender: str) -> object:
        values = [world.address(a) if isinstance(a, str) else a for a in args]
        return world.chain.transact(world.fx.address, "FxSwap", fn, values, sender=sender)
    return act


def usd_at_escrow(world: World) -> None:
    world.usd.transfer(world.address("escrow"), 10, sender="alice")


def usd_at_fx(world: World) -> None:
    world.usd.transfer(world.address("fx"), 10, sender="alice")


def fx_pending_owner(world: World) -> None:
    world.chain.transact(world.fx.address, "FxSwap", "transferOwnership",
                         (world.address("carol"),), sender="owner")


def pause_usd(world: World) -> None:
    world.usd.pause(sender="pauser")


def usd_pending_owner(world: World) -> None:
    world.usd.transfer_ownership("carol", sender="owner")


def escrow_pending_owner(world: World) -> None:
    world.chain.transact(world.escrow.address, "SettlementEscrow", "transferOwnership",
                                (world.address("carol"),), sender="owner")


def mxn_at_usd_contract(world: World) -> None:
    world.mxn.transfer(world.address("USD"), 10, sender="alice")


def minter_holds_usd(world: World) -> None:
    world.usd.transfer("minter_USD", 10, sender="alice")


@dataclass(frozen=True)
class Privileged:
    name: str
    holders: tuple[str, ...]
    action: Action
    error: str
    arg: str  # the error's argument naming the rejected caller
    setup: Callable[[World], None] | None = None


OWNABLE = ("OwnableUnauthorizedAccount", "account")

PRIVILEGED = [
    Privileged("USD.configureMinter", ("master_minter",), usd("configureMinter", "alice", 5),
               "CallerNotMasterMinter", "caller"),
    Privileged("USD.removeMinter", ("master_minter",), usd("removeMinter", "minter_USD"),
               "CallerNotMasterMinter", "caller"),
    Privileged("USD.mint", ("minter_USD",), usd("mint", "alice", 5), "CallerNotMinter",
               "caller"),
    Privileged("USD.burn", ("minter_USD",), usd("burn", 1), "CallerNotMinter", "caller",
               setup=minter_holds_usd),
    Privileged("USD.pause", ("pauser",), usd("pause"), "CallerNotPauser", "caller"),
    Privileged("USD.unpause", ("pauser",), usd("unpause"), "CallerNotPauser", "caller",
               setup=pause_usd),
    Privileged("USD.blacklist", ("blacklister",), usd("blacklist", "carol"),
               "CallerNotBlacklister", "caller"),
    Privileged("USD.unBlacklist", ("blacklister",), usd("unBlacklist", "carol"),
               "CallerNotBlacklister", "caller"),
    Privileged("USD.rescueERC20", ("rescuer",), usd("rescueERC20", "MXN", "alice", 10),
               "CallerNotRescuer", "caller", setup=mxn_at_usd_contract),
    Privileged("USD.updateMasterMinter", ("owner",), usd("updateMasterMinter", "carol"),
               *OWNABLE),
    Privileged("USD.updatePauser", ("owner",), usd("updatePauser", "carol"), *OWNABLE),
    Privileged("USD.updateBlacklister", ("owner",), usd("updateBlacklister", "carol"),
               *OWNABLE),
    Privileged("USD.updateRescuer", ("owner",), usd("updateRescuer", "carol"), *OWNABLE),
    Privileged("USD.transferOwnership", ("owner",), usd("transferOwnership", "carol"),
               *OWNABLE),
    Privileged("USD.renounceOwnership", ("owner",), usd("renounceOwnership"), *OWNABLE),
    Privileged("USD.acceptOwnership", ("carol",), usd("acceptOwnership"), *OWNABLE,
               setup=usd_pending_owner),
    Privileged("escrow.setFee", ("owner",), escrow("setFee", 10, "carol"), *OWNABLE),
    Privileged("escrow.transferOwnership", ("owner",), escrow("transferOwnership", "carol"),
               *OWNABLE),
    Privileged("escrow.renounceOwnership", ("owner",), escrow("renounceOwnership"),
               *OWNABLE),
    Privileged("escrow.acceptOwnership", ("carol",), escrow("acceptOwnership"), *OWNABLE,
               setup=escrow_pending_owner),
    Privileged("escrow.setMaxLockDuration", ("owner",), escrow("setMaxLockDuration", 86_400),
               *OWNABLE),
    Privileged("escrow.updateRescuer", ("owner",), escrow("updateRescuer", "carol"), *OWNABLE),
    Privileged("escrow.rescueERC20", ("rescuer",), escrow("rescueERC20", "USD", "alice", 10),
               "CallerNotRescuer", "caller", setup=usd_at_escrow),
    Privileged("escrow.withdrawFees", ("fee_collector",), escrow("withdrawFees", "USD"),
               "CallerNotFeeCollector", "caller"),
    Privileged("fx.setMaxSwapDuration", ("owner",), fx("setMaxSwapDuration", 86_400),
               *OWNABLE),
    Privileged("fx.updateRescuer", ("owner",), fx("updateRescuer", "carol"), *OWNABLE),
    Privileged("fx.rescueERC20", ("rescuer",), fx("rescueERC20", "USD", "alice", 10),
               "CallerNotRescuer", "caller", setup=usd_at_fx),
    Privileged("fx.transferOwnership", ("owner",), fx("transferOwnership", "carol"),
               *OWNABLE),
    Privileged("fx.renounceOwnership", ("owner",), fx("renounceOwnership"), *OWNABLE),
    Privileged("fx.acceptOwnership", ("carol",), fx("acceptOwnership"), *OWNABLE,
               setup=fx_pending_owner),
]

CASES = [(p, who) for p in PRIVILEGED for who in NAMED if who not in p.holders]


@pytest.mark.parametrize(("fn", "caller"), CASES,
                         ids=[f"{p.name}-{who}" for p, who in CASES])
def test_caller_without_the_role_is_rejected(world: World, fn: Privileged,
                                             caller: str) -> None:
    if fn.setup:
        fn.setup(world)
    world.reverts(lambda: fn.action(world, caller), fn.error, {fn.arg: caller})


@pytest.mark.parametrize("fn", PRIVILEGED, ids=[p.name for p in PRIVILEGED])
def test_the_role_holder_is_accepted(world: World, fn: Privileged) -> None:
    if fn.setup:
        fn.setup(world)
    receipt = fn.action(world, fn.holders[0])
    assert isinstance(receipt, Receipt) and receipt.status == 1


def test_every_named_account_is_tried() -> None:
    assert len(NAMED) == len(set(NAMED)) == 13
    for p in PRIVILEGED:
        rejected = [who for q, who in CASES if q is p]
        assert sorted(rejected + list(p.holders)) == sorted(NAMED), p.name


def test_minter_of_another_currency_cannot_mint_this_one(world: World) -> None:
    world.reverts(lambda: world.usd.mint("alice", 1, sender="minter_MXN"),
                  "CallerNotMinter", {"caller": "minter_MXN"})


# ---------------------------------------------------------- restricted by the payment's terms

AGENT_LOCK_CALLERS = [who for who in NAMED if who != "agent"]


@pytest.mark.parametrize("caller", AGENT_LOCK_CALLERS)
def test_only_the_named_agent_releases_an_agent_lock(world: World, caller: str) -> None:
    preimage = b"\x11" * 32
    t = world.escrow.terms(world.usd, "bob", 1_000, world.now() + 3_600,
                           hashlock=hashlock_of(preimage), agent="agent")
    lock_id = world.receipt(world.escrow.lock(t, sender="alice")).event("Locked")["lockId"]
    world.reverts(lambda: world.escrow.release("alice", t, preimage, sender=caller),
                  "NotSettlementAgent", {"lockId": lock_id, "caller": caller})


@pytest.mark.parametrize("caller", AGENT_LOCK_CALLERS)
def test_only_the_named_agent_rejects_an_agent_lock(world: World, caller: str) -> None:
    t = world.escrow.terms(world.usd, "bob", 1_000, world.now() + 3_600, agent="agent")
    lock_id = world.receipt(world.escrow.lock(t, sender="alice")).event("Locked")["lockId"]
    world.reverts(lambda: world.escrow.reject("alice", t, sender=caller),
                  "NotSettlementAgent", {"lockId": lock_id, "caller": caller})


SWAP_OUTSIDERS = [who for who in NAMED if who not in ("alice", "bob")]


@pytest.mark.parametrize("caller", SWAP_OUTSIDERS)
def test_only_the_two_parties_fund_a_swap(world: World, caller: str) -> None:
    t = SwapTerms(world.address("alice"), world.usd.address, 1_000, world.address("bob"),
                  world.mxn.address, 17_000, world.now() + 3_600, ZERO32)
    sid = world.swap_id(t)
    world.reverts(lambda: world.fx.fund(t, sender=caller),
                  "NotSwapParty", {"swapId": sid, "caller": caller})
