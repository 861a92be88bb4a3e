"""Stablecoin: every external function, its happy path and each of its reverts.

Each test compares the token's whole state (supply, counters, roles, balances, allowances,
minters, blacklist, nonces) after an action with the state expected from the one before it.
Role checks for every account are in ``test_access_control.py``.
"""

from __future__ import annotations

import pytest
from eth_account import Account
from eth_account.messages import encode_typed_data
from eth_utils import keccak

from settlement import Chain, ContractRevert
from settlement.compile import load_artifact
from tests.contracts.contract_world import (
    CUSTOMERS,
    INITIAL_BALANCE,
    MAX_UINT,
    MINTER_ALLOWANCE,
    NAMED,
    SPENDER_ALLOWANCE,
    ZERO32,
    ZERO_ADDRESS,
    World,
    changed,
)

USD = "USD"


def bal(who: str) -> tuple[str, str, str]:
    return (USD, "balanceOf", who)


def allowance(owner: str, spender: str) -> tuple[str, str, str, str]:
    return (USD, "allowance", owner, spender)


# ------------------------------------------------------------------------ deployment, views

def test_base_state_is_what_the_deployment_and_setup_made(world: World) -> None:
    state = world.token_state()
    expected: dict[tuple[str, ...], object] = {
        (USD, "totalSupply"): 3 * INITIAL_BALANCE,
        (USD, "paused"): False,
        (USD, "owner"): "owner",
        (USD, "pendingOwner"): "zero",
        (USD, "masterMinter"): "master_minter",
        (USD, "pauser"): "pauser",
        (USD, "blacklister"): "blacklister",
        (USD, "rescuer"): "rescuer",
    }
    for who in [*NAMED, "escrow", "fx", "USD", "MXN"]:
        expected[bal(who)] = INITIAL_BALANCE if who in CUSTOMERS else 0
        expected[(USD, "isBlacklisted", who)] = False
    for who in ("minter_USD", "minter_MXN", *CUSTOMERS, "outsider"):
        expected[(USD, "isMinter", who)] = who == "minter_USD"
        expected[(USD, "minterAllowance", who)] = (
            MINTER_ALLOWANCE - 3 * INITIAL_BALANCE if who == "minter_USD" else 0
        )
    for owner in CUSTOMERS:
        expected[(USD, "nonces", owner)] = 0
        for spender in (*CUSTOMERS, "escrow", "fx"):
            if spender != owner:
                expected[allowance(owner, spender)] = (
                    SPENDER_ALLOWANCE if spender in ("escrow", "fx") else 0
                )
    assert state == expected


def test_metadata(world: World) -> None:
    usd = world.usd
    assert (usd.name(), usd.symbol(), usd.currency(), usd.decimals()) == (
        "USD Stablecoin", "USDx", "USD", 6,
    )
    assert world.mxn.currency() == "MXN"


def test_domain_separator_is_eip712_with_the_token_name_and_version_1(world: World) -> None:
    type_hash = keccak(text="EIP712Domain(string name,string version,uint256 chainId,"
                            "address verifyingContract)")
    expected = keccak(
        type_hash + keccak(text="USD Stablecoin") + keccak(text="1")
        + world.chain.chain_id.to_bytes(32, "big")
        + bytes(12) + bytes.fromhex(world.usd.address[2:])
    )
    assert world.usd.domain_separator() == expected


def test_eip5267_domain_describes_the_permit_domain(world: World) -> None:
    fields, name, version, chain_id, contract, salt, extensions = world.chain.call(
        world.usd.address, "Stablecoin", "eip712Domain")
    assert (fields, name, version, chain_id, contract, salt, extensions) == (
        b"\x0f", "USD Stablecoin", "1", world.chain.chain_id, world.usd.address, ZERO32, [],
    )


ROLE_ARGS = ("owner", "master_minter", "pauser", "blacklister", "rescuer")


@pytest.mark.parametrize(
    ("zero_role", "error", "args"),
    [
        ("owner", "OwnableInvalidOwner", {"owner": "zero"}),
        ("master_minter", "InvalidRoleAddress", {"account": "zero"}),
        ("pauser", "InvalidRoleAddress", {"account": "zero"}),
        ("blacklister", "InvalidRoleAddress", {"account": "zero"}),
        ("rescuer", "InvalidRoleAddress", {"account": "zero"}),
    ],
)
def test_constructor_rejects_a_zero_role(
    world: World, zero_role: str, error: str, args: dict[str, str]
) -> None:
    roles = [ZERO_ADDRESS if r == zero_role else world.address(r) for r in ROLE_ARGS]
    bytecode = load_artifact("Stablecoin")["bytecode"]
    with pytest.raises(ContractRevert) as info:
        world.chain.deploy("Stablecoin", bytecode, ["X", "X", "XXX", *roles], sender="owner")
    assert (info.value.error, world.named(info.value.args_dict)) == (error, args)


def test_constructor_emits_role_events(world: World) -> None:
    receipt = world.stack.deploy_receipts["Stablecoin:USD"]
    assert [(e, a) for _, e, a in world.events(receipt)] == [
        ("OwnershipTransferred", {"previousOwner": "zero", "newOwner": "owner"}),
        ("MasterMinterChanged", {"newMasterMinter": "master_minter"}),
        ("PauserChanged", {"newPauser": "pauser"}),
        ("BlacklisterChanged", {"newBlacklister": "blacklister"}),
        ("RescuerChanged", {"newRescuer": "rescuer"}),
    ]


# ----------------------------------------------------------------------------- transfer

def test_transfer_moves_balance(world: World) -> None:
    before = world.token_state()
    r = world.usd.transfer("bob", 123_456, sender="alice")
    assert world.token_state() == changed(before, {
        bal("alice"): INITIAL_BALANCE - 123_456,
        bal("bob"): INITIAL_BALANCE + 123_456,
    })
    assert world.events(r) == [
        ("USD", "Transfer", {"from": "alice", "to": "bob", "value": 123_456}),
    ]


def test_transfer_of_whole_balance_to_a_new_holder(world: World) -> None:
    before = world.token_state()
    world.usd.transfer("outsider", INITIAL_BALANCE, sender="alice")
    assert world.token_state() == changed(before, {
        bal("alice"): 0, bal("outsider"): INITIAL_BALANCE,
    })


def test_transfer_more_than_balance_reverts(world: World) -> None:
    world.reverts(
        lambda: world.usd.transfer("bob", INITIAL_BALANCE + 1, sender="alice"),
        "ERC20InsufficientBalance",
        {"sender": "alice", "balance": INITIAL_BALANCE, "needed": INITIAL_BALANCE + 1},
    )


def test_transfer_to_zero_address_reverts(world: World) -> None:
    world.reverts(
        lambda: world.usd.transfer(ZERO_ADDRESS, 1, sender="alice"),
        "ERC20InvalidReceiver", {"receiver": "zero"},
    )


def test_transfer_while_paused_reverts(world: World) -> None:
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.transfer("bob", 1, sender="alice"),
                  "EnforcedPause")


@pytest.mark.parametrize("blacklisted", ["alice", "bob"])
def test_transfer_from_or_to_a_blacklisted_account_reverts(world: World, blacklisted: str) -> None:
    world.usd.blacklist(blacklisted, sender="blacklister")
    world.reverts(lambda: world.usd.transfer("bob", 1, sender="alice"),
                  "AccountBlacklisted", {"account": blacklisted})


# ------------------------------------------------------------------------------ approve

def test_approve_sets_allowance(world: World) -> None:
    before = world.token_state()
    r = world.usd.approve("bob", 5_000, sender="alice")
    assert world.token_state() == changed(before, {allowance("alice", "bob"): 5_000})
    assert world.events(r) == [
        ("USD", "Approval", {"owner": "alice", "spender": "bob", "value": 5_000}),
    ]


def test_approve_replaces_rather_than_adds(world: World) -> None:
    world.usd.approve("bob", 5_000, sender="alice")
    before = world.token_state()
    world.usd.approve("bob", 7, sender="alice")
    assert world.token_state() == changed(before, {allowance("alice", "bob"): 7})


def test_approve_zero_spender_reverts(world: World) -> None:
    world.reverts(lambda: world.usd.approve(ZERO_ADDRESS, 1, sender="alice"),
                  "ERC20InvalidSpender", {"spender": "zero"})


def test_approve_while_paused_reverts(world: World) -> None:
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.approve("bob", 1, sender="alice"),
                  "EnforcedPause")


@pytest.mark.parametrize("blacklisted", ["alice", "bob"])
def test_approve_by_or_for_a_blacklisted_account_reverts(world: World, blacklisted: str) -> None:
    world.usd.blacklist(blacklisted, sender="blacklister")
    world.reverts(lambda: world.usd.approve("bob", 1, sender="alice"),
                  "AccountBlacklisted", {"account": blacklisted})


# -------------------------------------------------------------------------- transferFrom

def test_transfer_from_spends_allowance(world: World) -> None:
    world.usd.approve("bob", 1_000, sender="alice")
    before = world.token_state()
    r = world.usd.transfer_from("alice", "carol", 600, sender="bob")
    assert world.token_state() == changed(before, {
        bal("alice"): INITIAL_BALANCE - 600,
        bal("carol"): INITIAL_BALANCE + 600,
        allowance("alice", "bob"): 400,
    })
    assert world.events(r) == [
        ("USD", "Transfer", {"from": "alice", "to": "carol", "value": 600}),
    ]


def test_transfer_from_with_infinite_allowance_leaves_it_infinite(world: World) -> None:
    world.usd.approve("bob", MAX_UINT, sender="alice")
    before = world.token_state()
    world.usd.transfer_from("alice", "bob", 600, sender="bob")
    assert world.token_state() == changed(before, {
        bal("alice"): INITIAL_BALANCE - 600, bal("bob"): INITIAL_BALANCE + 600,
    })


def test_transfer_from_beyond_allowance_reverts(world: World) -> None:
    world.usd.approve("bob", 599, sender="alice")
    world.reverts(
        lambda: world.usd.transfer_from("alice", "bob", 600, sender="bob"),
        "ERC20InsufficientAllowance", {"spender": "bob", "allowance": 599, "needed": 600},
    )


def test_transfer_from_beyond_balance_reverts(world: World) -> None:
    world.usd.approve("bob", MAX_UINT, sender="alice")
    world.reverts(
        lambda: world.usd.transfer_from("alice", "bob", INITIAL_BALANCE + 1, sender="bob"),
        "ERC20InsufficientBalance",
        {"sender": "alice", "balance": INITIAL_BALANCE, "needed": INITIAL_BALANCE + 1},
    )


def test_transfer_from_while_paused_reverts(world: World) -> None:
    world.usd.approve("bob", 1_000, sender="alice")
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.transfer_from("alice", "carol", 1, sender="bob"),
                  "EnforcedPause")


@pytest.mark.parametrize("blacklisted", ["alice", "bob", "carol"])
def test_transfer_from_with_a_blacklisted_owner_spender_or_receiver_reverts(
    world: World, blacklisted: str
) -> None:
    # bob spends alice's infinite allowance for carol: the spender is checked even though
    # an infinite allowance is never written back.
    world.usd.approve("bob", MAX_UINT, sender="alice")
    world.usd.blacklist(blacklisted, sender="blacklister")
    world.reverts(lambda: world.usd.transfer_from("alice", "carol", 1, sender="bob"),
                  "AccountBlacklisted", {"account": blacklisted})


# ------------------------------------------------------------------------------- permit

def _permit_digest(world: World, owner: str, spender: str, value: int, nonce: int,
                   deadline: int):
    domain = {"name": "USD Stablecoin", "version": "1", "chainId": world.chain.chain_id,
              "verifyingContract": world.usd.address}
    types = {"Permit": [
        {"name": "owner", "type": "address"}, {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"}, {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]}
    message = {"owner": world.address(owner), "spender": world.address(spender),
               "value": value, "nonce": nonce, "deadline": deadline}
    return encode_typed_data(domain, types, message)


def test_permit_sets_allowance_and_uses_a_nonce(world: World) -> None:
    deadline = world.now() + 3_600
    v, r, s = world.usd.sign_permit("alice", "bob", 9_999, deadline)
    before = world.token_state()
    receipt = world.usd.permit("alice", "bob", 9_999, deadline, v, r, s, sender="carol")
    assert world.token_state() == changed(before, {
        allowance("alice", "bob"): 9_999, (USD, "nonces", "alice"): 1,
    })
    assert world.events(receipt) == [
        ("USD", "Approval", {"owner": "alice", "spender": "bob", "value": 9_999}),
    ]


def test_permit_on_its_deadline_is_still_valid(world: World) -> None:
    deadline = world.now() + 10
    v, r, s = world.usd.sign_permit("alice", "bob", 1, deadline)
    world.at(deadline)
    world.usd.permit("alice", "bob", 1, deadline, v, r, s, sender="bob")
    assert world.usd.allowance("alice", "bob") == 1


def test_permit_after_its_deadline_reverts(world: World) -> None:
    deadline = world.now() + 10
    v, r, s = world.usd.sign_permit("alice", "bob", 1, deadline)
    world.at(deadline + 1)
    world.reverts(lambda: world.usd.permit("alice", "bob", 1, deadline, v, r, s, sender="bob"),
                  "ERC2612ExpiredSignature", {"deadline": deadline})


def test_permit_signed_by_someone_else_reverts(world: World) -> None:
    deadline = world.now() + 3_600
    # bob signs a permit that claims to come from alice
    v, r, s = world.usd.sign_permit("bob", "bob", 1, deadline)
    digest = _permit_digest(world, "alice", "bob", 1, 0, deadline)
    signer = Account.recover_message(digest, vrs=(v, r, s))
    world.reverts(lambda: world.usd.permit("alice", "bob", 1, deadline, v, r, s, sender="bob"),
                  "ERC2612InvalidSigner", {"signer": world.name(signer), "owner": "alice"})


def test_permit_cannot_be_replayed(world: World) -> None:
    deadline = world.now() + 3_600
    v, r, s = world.usd.sign_permit("alice", "bob", 5, deadline)
    world.usd.permit("alice", "bob", 5, deadline, v, r, s, sender="bob")
    world.usd.approve("bob", 0, sender="alice")
    # replayed, the signature is checked against nonce 1 and recovers some other address
    digest = _permit_digest(world, "alice", "bob", 5, 1, deadline)
    signer = Account.recover_message(digest, vrs=(v, r, s))
    assert signer != world.address("alice")
    world.reverts(lambda: world.usd.permit("alice", "bob", 5, deadline, v, r, s, sender="bob"),
                  "ERC2612InvalidSigner", {"signer": world.name(signer), "owner": "alice"})


def test_permit_while_paused_reverts(world: World) -> None:
    deadline = world.now() + 3_600
    v, r, s = world.usd.sign_permit("alice", "bob", 1, deadline)
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.permit("alice", "bob", 1, deadline, v, r, s, sender="bob"),
                  "EnforcedPause")


@pytest.mark.parametrize("blacklisted", ["alice", "bob"])
def test_permit_by_or_for_a_blacklisted_account_reverts(world: World, blacklisted: str) -> None:
    deadline = world.now() + 3_600
    v, r, s = world.usd.sign_permit("alice", "bob", 1, deadline)
    world.usd.blacklist(blacklisted, sender="blacklister")
    world.reverts(lambda: world.usd.permit("alice", "bob", 1, deadline, v, r, s, sender="carol"),
                  "AccountBlacklisted", {"account": blacklisted})


# ----------------------------------------------------------------------- configureMinter

def test_configure_minter_adds_a_minter(world: World) -> None:
    before = world.token_state()
    r = world.usd.configure_minter("alice", 500, sender="master_minter")
    assert world.token_state() == changed(before, {
        (USD, "isMinter", "alice"): True, (USD, "minterAllowance", "alice"): 500,
    })
    assert world.events(r) == [
        ("USD", "MinterConfigured", {"minter": "alice", "minterAllowedAmount": 500}),
    ]


def test_configure_minter_resets_an_existing_allowance(world: World) -> None:
    before = world.token_state()
    world.usd.configure_minter("minter_USD", 42, sender="master_minter")
    assert world.token_state() == changed(before, {(USD, "minterAllowance", "minter_USD"): 42})


def test_configure_minter_zero_address_reverts(world: World) -> None:
    world.reverts(lambda: world.usd.configure_minter(ZERO_ADDRESS, 1, sender="master_minter"),
                  "InvalidRoleAddress", {"account": "zero"})


def test_configure_minter_while_paused_reverts(world: World) -> None:
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.configure_minter("alice", 1, sender="master_minter"),
                  "EnforcedPause")


# -------------------------------------------------------------------------- removeMinter

def test_remove_minter_zeroes_allowance_and_revokes_minting(world: World) -> None:
    before = world.token_state()
    r = world.usd.remove_minter("minter_USD", sender="master_minter")
    assert world.token_state() == changed(before, {
        (USD, "isMinter", "minter_USD"): False, (USD, "minterAllowance", "minter_USD"): 0,
    })
    assert world.events(r) == [("USD", "MinterRemoved", {"minter": "minter_USD"})]
    world.reverts(lambda: world.usd.mint("alice", 1, sender="minter_USD"),
                  "CallerNotMinter", {"caller": "minter_USD"})


def test_remove_minter_works_while_paused(world: World) -> None:
    world.usd.pause(sender="pauser")
    world.usd.remove_minter("minter_USD", sender="master_minter")
    assert world.usd.is_minter("minter_USD") is False


@pytest.mark.parametrize("who", ["alice", "minter_MXN"])
def test_remove_minter_of_a_non_minter_reverts(world: World, who: str) -> None:
    world.reverts(lambda: world.usd.remove_minter(who, sender="master_minter"),
                  "NotAMinter", {"minter": who})


# ---------------------------------------------------------------------------------- mint

def test_mint_credits_receiver_and_spends_minter_allowance(world: World) -> None:
    before = world.token_state()
    r = world.usd.mint("outsider", 250_000, sender="minter_USD")
    assert world.token_state() == changed(before, {
        bal("outsider"): 250_000,
        (USD, "totalSupply"): before[(USD, "totalSupply")] + 250_000,
        (USD, "minterAllowance", "minter_USD"):
            before[(USD, "minterAllowance", "minter_USD")] - 250_000,
    })
    assert world.events(r) == [
        ("USD", "Transfer", {"from": "zero", "to": "outsider", "value": 250_000}),
        ("USD", "Minted", {"minter": "minter_USD", "to": "outsider", "amount": 250_000}),
    ]


def test_mint_up_to_exactly_the_allowance_then_no_more(world: World) -> None:
    world.usd.configure_minter("carol", 1_000, sender="master_minter")
    before = world.token_state()
    world.usd.mint("bob", 1_000, sender="carol")
    after = world.token_state()
    assert after == changed(before, {
        bal("bob"): INITIAL_BALANCE + 1_000,
        (USD, "totalSupply"): before[(USD, "totalSupply")] + 1_000,
        (USD, "minterAllowance", "carol"): 0,
    })
    world.reverts(lambda: world.usd.mint("bob", 1, sender="carol"),
                  "MinterAllowanceExceeded", {"minter": "carol", "allowance": 0, "needed": 1})


def test_mint_beyond_allowance_reverts(world: World) -> None:
    world.usd.configure_minter("carol", 1_000, sender="master_minter")
    world.reverts(lambda: world.usd.mint("bob", 1_001, sender="carol"),
                  "MinterAllowanceExceeded",
                  {"minter": "carol", "allowance": 1_000, "needed": 1_001})


def test_mint_zero_reverts(world: World) -> None:
    world.reverts(lambda: world.usd.mint("bob", 0, sender="minter_USD"),
                  "InvalidAmount", {"amount": 0})


def test_mint_to_zero_address_reverts(world: World) -> None:
    world.reverts(lambda: world.usd.mint(ZERO_ADDRESS, 1, sender="minter_USD"),
                  "ERC20InvalidReceiver", {"receiver": "zero"})


def test_mint_while_paused_reverts(world: World) -> None:
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.mint("bob", 1, sender="minter_USD"),
                  "EnforcedPause")


@pytest.mark.parametrize("blacklisted", ["minter_USD", "bob"])
def test_mint_by_or_to_a_blacklisted_account_reverts(world: World, blacklisted: str) -> None:
    world.usd.blacklist(blacklisted, sender="blacklister")
    world.reverts(lambda: world.usd.mint("bob", 1, sender="minter_USD"),
                  "AccountBlacklisted", {"account": blacklisted})


# ---------------------------------------------------------------------------------- burn

def test_redemption_transfer_to_minter_then_burn(world: World) -> None:
    before = world.token_state()
    world.usd.transfer("minter_USD", 300_000, sender="alice")
    r = world.usd.burn(300_000, sender="minter_USD")
    assert world.token_state() == changed(before, {
        bal("alice"): INITIAL_BALANCE - 300_000,
        (USD, "totalSupply"): before[(USD, "totalSupply")] - 300_000,
        # a burn does not give back minting allowance
    })
    assert world.events(r) == [
        ("USD", "Transfer", {"from": "minter_USD", "to": "zero", "value": 300_000}),
        ("USD", "Burned", {"burner": "minter_USD", "amount": 300_000}),
    ]


def test_burn_more_than_balance_reverts(world: World) -> None:
    world.usd.transfer("minter_USD", 10, sender="alice")
    world.reverts(lambda: world.usd.burn(11, sender="minter_USD"),
                  "ERC20InsufficientBalance", {"sender": "minter_USD", "balance": 10,
                                               "needed": 11})


def test_burn_zero_reverts(world: World) -> None:
    world.usd.transfer("minter_USD", 10, sender="alice")
    world.reverts(lambda: world.usd.burn(0, sender="minter_USD"),
                  "InvalidAmount", {"amount": 0})


def test_burn_while_paused_reverts(world: World) -> None:
    world.usd.transfer("minter_USD", 10, sender="alice")
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.burn(10, sender="minter_USD"),
                  "EnforcedPause")


def test_burn_by_a_blacklisted_minter_reverts(world: World) -> None:
    world.usd.transfer("minter_USD", 10, sender="alice")
    world.usd.blacklist("minter_USD", sender="blacklister")
    world.reverts(lambda: world.usd.burn(10, sender="minter_USD"),
                  "AccountBlacklisted", {"account": "minter_USD"})


# --------------------------------------------------------------------------- pause

def test_pause_and_unpause(world: World) -> None:
    before = world.token_state()
    r = world.usd.pause(sender="pauser")
    paused = changed(before, {(USD, "paused"): True})
    assert world.token_state() == paused
    assert world.events(r) == [("USD", "Paused", {"account": "pauser"})]
    r = world.usd.unpause(sender="pauser")
    assert world.token_state() == before
    assert world.events(r) == [("USD", "Unpaused", {"account": "pauser"})]
    world.usd.transfer("bob", 1, sender="alice")  # transfers work again


def test_pause_when_paused_reverts(world: World) -> None:
    world.usd.pause(sender="pauser")
    world.reverts(lambda: world.usd.pause(sender="pauser"), "EnforcedPause")


def test_unpause_when_not_paused_reverts(world: World) -> None:
    world.reverts(lambda: world.usd.unpause(sender="pauser"), "ExpectedPause")


def test_controls_other_than_paused_ones_work_while_paused(world: World) -> None:
    world.usd.pause(sender="pauser")
    before = world.token_state()
    world.usd.blacklist("carol", sender="blacklister")
    world.usd.remove_minter("minter_USD", sender="master_minter")
    world.usd.update_rescuer("outsider", sender="owner")
    world.usd.transfer_ownership("carol", sender="owner")
    assert world.token_state() == changed(before, {
        (USD, "isBlacklisted", "carol"): True,
        (USD, "isMinter", "minter_USD"): False,
        (USD, "minterAllowance", "minter_USD"): 0,
        (USD, "rescuer"): "outsider",
        (USD, "pendingOwner"): "carol",
    })


# ----------------------------------------------------------------------------- blacklist

def test_blacklist_and_unblacklist(world: World) -> None:
    before = world.token_state()
    r = world.usd.blacklist("bob", sender="blacklister")
    assert world.token_state() == changed(before, {(USD, "isBlacklisted", "bob"): True})
    assert world.events(r) == [("USD", "Blacklisted", {"account": "bob"})]
    r = world.usd.un_blacklist("bob", sender="blacklister")
    assert world.token_state() == before
    assert world.events(r) == [("USD", "UnBlacklisted", {"account": "bob"})]
    world.usd.transfer("alice", 1, sender="bob")  # bob can send again


def test_blacklisting_keeps_the_balance_frozen_not_seized(world: World) -> None:
    before = world.token_state()
    world.usd.blacklist("bob", sender="blacklister")
    assert world.token_state() == changed(before, {(USD, "isBlacklisted", "bob"): True})
    # bob's approval of the escrow stands, but the escrow cannot pull from him either
    world.reverts(
        lambda: world.chain.transact(world.usd.address, "Stablecoin", "transferFrom",
                                     (world.address("bob"), world.address("escrow"), 1),
                                     sender="alice"),
        "ERC20InsufficientAllowance", {"spender": "alice", "allowance": 0, "needed": 1},
    )


# ------------------------------------------------------------------------ role updates

ROLE_UPDATES = [
    ("update_master_minter", "masterMinter", "MasterMinterChanged", "newMasterMinter"),
    ("update_pauser", "pauser", "PauserChanged", "newPauser"),
    ("update_blacklister", "blacklister", "BlacklisterChanged", "newBlacklister"),
    ("update_rescuer", "rescuer", "RescuerChanged", "newRescuer"),
]


@pytest.mark.parametrize(("method", "view", "event", "arg"), ROLE_UPDATES)
def test_owner_updates_a_role(world: World, method: str, view: str, event: str,
                              arg: str) -> None:
    before = world.token_state()
    r = getattr(world.usd, method)("carol", sender="owner")
    assert world.token_state() == changed(before, {(USD, view): "carol"})
    assert world.events(r) == [("USD", event, {arg: "carol"})]


@pytest.mark.parametrize(("method", "view", "event", "arg"), ROLE_UPDATES)
def test_role_update_to_zero_address_reverts(world: World, method: str, view: str, event: str,
                                             arg: str) -> None:
    world.reverts(lambda: getattr(world.usd, method)(ZERO_ADDRESS, sender="owner"),
                  "InvalidRoleAddress", {"account": "zero"})


def test_new_master_minter_takes_over_and_old_one_is_out(world: World) -> None:
    world.usd.update_master_minter("carol", sender="owner")
    world.usd.configure_minter("bob", 5, sender="carol")
    world.reverts(lambda: world.usd.configure_minter("bob", 6, sender="master_minter"),
                  "CallerNotMasterMinter", {"caller": "master_minter"})
    assert world.usd.minter_allowance("bob") == 5


def test_new_pauser_takes_over_and_old_one_is_out(world: World) -> None:
    world.usd.update_pauser("carol", sender="owner")
    world.reverts(lambda: world.usd.pause(sender="pauser"),
                  "CallerNotPauser", {"caller": "pauser"})
    world.usd.pause(sender="carol")
    assert world.usd.paused() is True


def test_new_blacklister_takes_over_and_old_one_is_out(world: World) -> None:
    world.usd.update_blacklister("carol", sender="owner")
    world.reverts(lambda: world.usd.blacklist("bob", sender="blacklister"),
                  "CallerNotBlacklister", {"caller": "blacklister"})
    world.usd.blacklist("bob", sender="carol")
    assert world.usd.is_blacklisted("bob") is True


# ----------------------------------------------------------------------------- rescue

def test_rescue_tokens_sent_to_the_token_contract_by_mistake(world: World) -> None:
    world.mxn.transfer(world.address("USD"), 70_000, sender="alice")  # MXN sent to the USD contract
    before = world.token_state("MXN")
    r = world.usd.rescue_erc20(world.mxn.address, "alice", 70_000, sender="rescuer")
    assert world.token_state("MXN") == changed(before, {
        ("MXN", "balanceOf", "USD"): 0,
        ("MXN", "balanceOf", "alice"): INITIAL_BALANCE,
    })
    assert world.events(r) == [
        ("USD", "Rescued", {"token": "MXN", "to": "alice", "amount": 70_000}),
        ("MXN", "Transfer", {"from": "USD", "to": "alice", "value": 70_000}),
    ]


def test_rescue_of_its_own_token(world: World) -> None:
    world.usd.transfer(world.address("USD"), 5, sender="alice")
    before = world.token_state()
    world.usd.rescue_erc20(world.usd.address, "bob", 5, sender="rescuer")
    assert world.token_state() == changed(before, {
        bal("USD"): 0, bal("bob"): INITIAL_BALANCE + 5,
    })


def test_rescue_to_zero_address_reverts(world: World) -> None:
    world.mxn.transfer(world.address("USD"), 10, sender="alice")
    world.reverts(lambda: world.usd.rescue_erc20(world.mxn.address, ZERO_ADDRESS, 10,
                                                 sender="rescuer"),
                  "ERC20InvalidReceiver", {"receiver": "zero"})


def test_rescue_more_than_held_reverts(world: World) -> None:
    world.mxn.transfer(world.address("USD"), 10, sender="alice")
    world.reverts(lambda: world.usd.rescue_erc20(world.mxn.address, "alice", 11,
                                                 sender="rescuer"),
                  "ERC20InsufficientBalance", {"sender": "USD", "balance": 10, "needed": 11},
                  state=lambda: world.token_state("MXN"))


# ------------------------------------------------------------------- ownership (2-step)

def test_ownership_transfer_takes_two_steps(world: World) -> None:
    before = world.token_state()
    r = world.usd.transfer_ownership("carol", sender="owner")
    pending = changed(before, {(USD, "pendingOwner"): "carol"})
    assert world.token_state() == pending
    assert world.events(r) == [
        ("USD", "OwnershipTransferStarted", {"previousOwner": "owner", "newOwner": "carol"}),
    ]
    r = world.usd.accept_ownership(sender="carol")
    assert world.token_state() == changed(before, {(USD, "owner"): "carol"})
    assert world.events(r) == [
        ("USD", "OwnershipTransferred", {"previousOwner": "owner", "newOwner": "carol"}),
    ]
    world.reverts(lambda: world.usd.update_pauser("bob", sender="owner"),
                  "OwnableUnauthorizedAccount", {"account": "owner"})
    world.usd.update_pauser("bob", sender="carol")


def test_accept_ownership_by_someone_other_than_the_pending_owner_reverts(world: World) -> None:
    world.usd.transfer_ownership("carol", sender="owner")
    world.reverts(lambda: world.usd.accept_ownership(sender="bob"),
                  "OwnableUnauthorizedAccount", {"account": "bob"})


def test_renounce_ownership_leaves_no_owner(world: World) -> None:
    before = world.token_state()
    world.chain.transact(world.usd.address, "Stablecoin", "renounceOwnership", (),
                         sender="owner")
    assert world.token_state() == changed(before, {(USD, "owner"): "zero"})


# ---------------------------------------------------------------------- cross-checks

def test_balances_always_sum_to_supply_through_a_mixed_sequence(world: World) -> None:
    usd = world.usd
    usd.mint("outsider", 77, sender="minter_USD")
    usd.transfer("minter_USD", 500, sender="bob")
    usd.burn(123, sender="minter_USD")
    usd.approve("carol", 50, sender="alice")
    usd.transfer_from("alice", "agent", 50, sender="carol")
    state = world.token_state()  # token_state checks sum(balances) == supply
    assert state[(USD, "totalSupply")] == 3 * INITIAL_BALANCE + 77 - 123
    assert state[bal("minter_USD")] == 377


def test_tokens_are_independent(world: World) -> None:
    before = world.token_state("MXN")
    world.usd.pause(sender="pauser")
    world.usd.blacklist("alice", sender="blacklister")
    assert world.token_state("MXN") == before
    world.mxn.transfer("bob", 1, sender="alice")  # alice still moves MXN


def test_chain_fixture_is_isolated_between_tests(world: World) -> None:
    # the previous tests paused and blacklisted; every test starts from the base state
    assert world.usd.paused() is False
    assert world.usd.is_blacklisted("alice") is False
    assert isinstance(world.chain, Chain)
