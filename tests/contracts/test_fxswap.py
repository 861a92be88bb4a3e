"""FxSwap: every external function, its happy path and each of its reverts, and the
payment-versus-payment invariant over every ordering of funding, expiry and refund.

After each action the whole swap state is compared with the one expected: both tokens'
supplies and every account's balances, the parties' allowances to the swap contract, and
the record of every swap involved (its state and funded legs: the terms are passed again by
each call), and the legs held per token. A reverted transaction must leave every contract's
storage untouched. The contract's own settings (deadline horizon, rescue, short-delivering
tokens) are tested at the end.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest

from settlement import ContractRevert
from settlement.clients import SwapTerms
from tests.contracts.contract_world import (
    INITIAL_BALANCE,
    ZERO32,
    ZERO_ADDRESS,
    Read,
    World,
    changed,
)

AMOUNT_A = 1_000_000  # alice delivers 1.00 USDx
AMOUNT_B = 17_250_000  # bob delivers 17.25 MXNx
HOUR = 3_600
OPEN, SETTLED, REFUNDED = 1, 2, 3
MAX_SWAP = 7 * 86_400


def swap_terms(
    world: World, *, party_a: str = "alice", token_a: str = "USD", amount_a: int = AMOUNT_A,
    party_b: str = "bob", token_b: str = "MXN", amount_b: int = AMOUNT_B,
    deadline: int | None = None, salt: bytes = ZERO32,
) -> SwapTerms:
    return SwapTerms(
        world.address(party_a), world.address(token_a), amount_a, world.address(party_b),
        world.address(token_b), amount_b,
        deadline if deadline is not None else world.now() + HOUR, salt,
    )


def empty_swap() -> dict[str, Any]:
    return {"fundedA": False, "fundedB": False, "state": 0}


def after_first_leg(world: World, before: dict[Any, Any], t: SwapTerms, sid: bytes,
                    party: str) -> dict[Any, Any]:
    is_a = world.address(party) == t.party_a
    token, amount = (t.token_a, t.amount_a) if is_a else (t.token_b, t.amount_b)
    ccy = world.name(token)
    return changed(before, {("swap", sid): world.swap_struct(t, is_a, not is_a, "OPEN")},
                   plus={
        (ccy, "balanceOf", party): -amount,
        (ccy, "balanceOf", "fx"): amount,
        (ccy, "allowance", party, "fx"): -amount,
        ("fx", "heldBalance", ccy): amount,
    })


def after_settlement(world: World, before: dict[Any, Any], t: SwapTerms, sid: bytes,
                     second: str) -> dict[Any, Any]:
    """From the state with one leg held, after ``second`` funds the other and both settle."""
    a, b = world.name(t.party_a), world.name(t.party_b)
    ccy_a, ccy_b = world.name(t.token_a), world.name(t.token_b)
    if second == b:
        plus = {(ccy_b, "balanceOf", b): -t.amount_b, (ccy_b, "balanceOf", a): t.amount_b,
                (ccy_b, "allowance", b, "fx"): -t.amount_b,
                (ccy_a, "balanceOf", "fx"): -t.amount_a, (ccy_a, "balanceOf", b): t.amount_a,
                ("fx", "heldBalance", ccy_a): -t.amount_a}
    else:
        plus = {(ccy_a, "balanceOf", a): -t.amount_a, (ccy_a, "balanceOf", b): t.amount_a,
                (ccy_a, "allowance", a, "fx"): -t.amount_a,
                (ccy_b, "balanceOf", "fx"): -t.amount_b, (ccy_b, "balanceOf", a): t.amount_b,
                ("fx", "heldBalance", ccy_b): -t.amount_b}
    return changed(before, {("swap", sid): world.swap_struct(t, True, True, "SETTLED")},
                   plus=plus)


def fund_with_permit_raw(world: World, t: SwapTerms, permit_deadline: int,
                         sender: str) -> object:
    is_a = world.address(sender) == t.party_a
    token = world.tokens[world.name(t.token_a if is_a else t.token_b)]
    amount = t.amount_a if is_a else t.amount_b
    v, r, s = token.sign_permit(sender, world.fx.address, amount, permit_deadline)
    return world.chain.transact(world.fx.address, "FxSwap", "fundWithPermit",
                                (t.as_abi(), permit_deadline, v, r, s), sender=sender)


# ------------------------------------------------------------------------------ swapIdOf

def test_swap_id_is_derived_from_chain_contract_and_terms(world: World) -> None:
    t = swap_terms(world)
    assert world.fx.swap_id_of(t) == world.swap_id(t)
    assert world.fx.swap_id_of(swap_terms(world, salt=b"\x01" * 32)) != world.swap_id(t)


def test_get_swap_of_unknown_id_is_empty(world: World) -> None:
    assert world.fx_state([b"\x01" * 32])[("swap", b"\x01" * 32)] == empty_swap()


# -------------------------------------------------------------------------------- fund

@pytest.mark.parametrize("first", ["alice", "bob"])
def test_first_leg_creates_the_swap_and_waits_in_the_contract(world: World,
                                                              first: str) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    before = world.fx_state([sid])
    assert before[("swap", sid)] == empty_swap()
    r = world.fx.fund(t, sender=first)
    assert world.fx_state([sid]) == after_first_leg(world, before, t, sid, first)
    token, amount = ("USD", AMOUNT_A) if first == "alice" else ("MXN", AMOUNT_B)
    assert world.events(r) == [
        ("fx", "SwapCreated", {"swapId": sid, "partyA": "alice", "partyB": "bob",
                               "tokenA": "USD", "amountA": AMOUNT_A, "tokenB": "MXN",
                               "amountB": AMOUNT_B, "deadline": t.deadline, "salt": ZERO32}),
        ("fx", "LegFunded", {"swapId": sid, "party": first, "token": token,
                             "amount": amount}),
        (token, "Transfer", {"from": first, "to": "fx", "value": amount}),
    ]


@pytest.mark.parametrize(("first", "second"), [("alice", "bob"), ("bob", "alice")])
def test_second_leg_settles_both_in_the_same_transaction(world: World, first: str,
                                                         second: str) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    world.fx.fund(t, sender=first)
    before = world.fx_state([sid])
    r = world.fx.fund(t, sender=second)
    after = world.fx_state([sid])
    assert after == after_settlement(world, before, t, sid, second)
    # the contract keeps nothing; each party got exactly the other's leg
    assert (after[("USD", "balanceOf", "fx")], after[("MXN", "balanceOf", "fx")]) == (0, 0)
    assert after[("MXN", "balanceOf", "alice")] == INITIAL_BALANCE + AMOUNT_B
    assert after[("USD", "balanceOf", "bob")] == INITIAL_BALANCE + AMOUNT_A
    token, amount = ("MXN", AMOUNT_B) if second == "bob" else ("USD", AMOUNT_A)
    held, held_amount = ("USD", AMOUNT_A) if second == "bob" else ("MXN", AMOUNT_B)
    assert world.events(r) == [
        ("fx", "LegFunded", {"swapId": sid, "party": second, "token": token,
                             "amount": amount}),
        ("fx", "SwapSettled", {"swapId": sid}),
        (token, "Transfer", {"from": second, "to": first, "value": amount}),
        (held, "Transfer", {"from": "fx", "to": second, "value": held_amount}),
    ]


def test_second_leg_one_second_before_the_deadline_settles(world: World) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.at(t.deadline - 1)
    world.fx.fund(t, sender="bob")
    assert world.fx.get_swap(world.swap_id(t))["state"] == SETTLED


def test_same_token_pairs_between_other_parties_are_separate_swaps(world: World) -> None:
    t1 = swap_terms(world)
    t2 = swap_terms(world, party_a="carol", amount_a=5, amount_b=80)
    world.fx.fund(t1, sender="alice")
    world.fx.fund(t2, sender="carol")
    world.fx.fund(t2, sender="bob")
    state = world.fx_state([world.swap_id(t1), world.swap_id(t2)])
    assert state[("swap", world.swap_id(t1))]["state"] == OPEN
    assert state[("swap", world.swap_id(t2))]["state"] == SETTLED
    assert state[("USD", "balanceOf", "fx")] == AMOUNT_A  # only t1's leg is held


INVALID_TERMS = {
    "zero party A": {"party_a": "zero"},
    "zero party B": {"party_b": "zero"},
    "same parties": {"party_b": "alice"},
    "party A is the swap contract": {"party_a": "fx"},
    "party B is the swap contract": {"party_b": "fx"},
    "zero token A": {"token_a": "zero"},
    "zero token B": {"token_b": "zero"},
    "same tokens": {"token_b": "USD"},
    "zero amount A": {"amount_a": 0},
    "zero amount B": {"amount_b": 0},
}


@pytest.mark.parametrize("change", INVALID_TERMS.values(), ids=INVALID_TERMS.keys())
def test_fund_with_invalid_terms_reverts(world: World, change: dict[str, Any]) -> None:
    t = swap_terms(world, **change)
    world.reverts(lambda: world.fx.fund(t, sender="alice"), "InvalidSwapTerms")


@pytest.mark.parametrize("offset", [0, -1])
def test_fund_with_deadline_not_after_now_reverts(world: World, offset: int) -> None:
    at = world.now() + 100
    t = swap_terms(world, deadline=at + offset)
    world.at(at)
    world.reverts(lambda: world.fx.fund(t, sender="alice"),
                  "DeadlineNotInFuture", {"deadline": at + offset, "nowTimestamp": at})


def test_fund_by_outsider_of_a_new_swap_reverts(world: World) -> None:
    t = swap_terms(world)
    world.reverts(lambda: world.fx.fund(t, sender="carol"),
                  "NotSwapParty", {"swapId": world.swap_id(t), "caller": "carol"})


def test_fund_by_outsider_of_an_open_swap_reverts(world: World) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.reverts(lambda: world.fx.fund(t, sender="carol"),
                  "NotSwapParty", {"swapId": world.swap_id(t), "caller": "carol"})


def test_fund_same_leg_twice_reverts(world: World) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.reverts(lambda: world.fx.fund(t, sender="alice"),
                  "LegAlreadyFunded", {"swapId": world.swap_id(t), "party": "alice"})


def test_fund_second_leg_at_the_deadline_reverts(world: World) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.at(t.deadline)
    world.reverts(lambda: world.fx.fund(t, sender="bob"),
                  "SwapExpired",
                  {"swapId": world.swap_id(t), "deadline": t.deadline,
                   "nowTimestamp": t.deadline})


@pytest.mark.parametrize("caller", ["alice", "bob"])
def test_fund_a_settled_swap_reverts(world: World, caller: str) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.fx.fund(t, sender="bob")
    world.reverts(lambda: world.fx.fund(t, sender=caller),
                  "SwapNotOpen", {"swapId": world.swap_id(t), "state": SETTLED})


def test_fund_a_refunded_swap_reverts(world: World) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.at(t.deadline)
    world.fx.refund(t, sender="alice")
    world.reverts(lambda: world.fx.fund(t, sender="bob"),
                  "SwapNotOpen", {"swapId": world.swap_id(t), "state": REFUNDED})


def test_first_leg_beyond_allowance_reverts(world: World) -> None:
    world.usd.approve(world.fx.address, AMOUNT_A - 1, sender="alice")
    world.reverts(lambda: world.fx.fund(swap_terms(world), sender="alice"),
                  "ERC20InsufficientAllowance",
                  {"spender": "fx", "allowance": AMOUNT_A - 1, "needed": AMOUNT_A})


def test_second_leg_beyond_balance_reverts_and_first_leg_stays_held(world: World) -> None:
    t = swap_terms(world, amount_b=INITIAL_BALANCE + 1)
    world.fx.fund(t, sender="alice")
    world.reverts(lambda: world.fx.fund(t, sender="bob"),
                  "ERC20InsufficientBalance",
                  {"sender": "bob", "balance": INITIAL_BALANCE, "needed": INITIAL_BALANCE + 1})
    swap = world.fx.get_swap(world.swap_id(t))
    assert (swap["fundedA"], swap["fundedB"], swap["state"]) == (True, False, OPEN)


@pytest.mark.parametrize(
    ("ccy", "blacklisted"),
    [("USD", "bob"), ("MXN", "alice"), ("MXN", "bob")],
    ids=["B cannot receive A's leg", "A cannot receive B's leg", "B cannot send"],
)
def test_settlement_that_cannot_deliver_a_leg_delivers_neither(world: World, ccy: str,
                                                               blacklisted: str) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.tokens[ccy].blacklist(blacklisted, sender="blacklister")
    world.reverts(lambda: world.fx.fund(t, sender="bob"),
                  "AccountBlacklisted", {"account": blacklisted})


def test_fund_while_a_token_is_paused_reverts(world: World) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.usd.pause(sender="pauser")  # A's leg, held by the contract, cannot be delivered
    world.reverts(lambda: world.fx.fund(t, sender="bob"), "EnforcedPause")


# ------------------------------------------------------------------------ fundWithPermit

def test_fund_with_permit_settles_without_prior_approval(world: World) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    world.mxn.approve(world.fx.address, 0, sender="bob")
    world.fx.fund(t, sender="alice")
    before = world.fx_state([sid])
    r = world.fx.fund_with_permit(t, world.mxn, sender="bob")
    expected = after_settlement(world, before, t, sid, "bob")
    expected[("MXN", "allowance", "bob", "fx")] = 0  # permit for exactly the leg, all spent
    assert world.fx_state([sid]) == expected
    assert world.mxn.nonces("bob") == 1
    assert [n for _, n, _ in world.events(r)] == [
        "Approval", "LegFunded", "SwapSettled", "Transfer", "Transfer",
    ]


def test_fund_with_permit_leaves_a_sufficient_allowance_alone(world: World) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    before = world.fx_state([sid])
    world.fx.fund_with_permit(t, world.usd, sender="alice")
    assert world.fx_state([sid]) == after_first_leg(world, before, t, sid, "alice")
    assert world.usd.nonces("alice") == 0   # the permit was not submitted


def test_fund_with_permit_proceeds_when_the_permit_was_front_run(world: World) -> None:
    t = swap_terms(world)
    world.usd.approve(world.fx.address, 0, sender="alice")
    v, r, s = world.usd.sign_permit("alice", world.fx.address, AMOUNT_A, t.deadline)
    world.usd.permit("alice", world.fx.address, AMOUNT_A, t.deadline, v, r, s, sender="carol")
    sid = world.swap_id(t)
    before = world.fx_state([sid])
    world.chain.transact(world.fx.address, "FxSwap", "fundWithPermit",
                         (t.as_abi(), t.deadline, v, r, s), sender="alice")
    assert world.fx_state([sid]) == after_first_leg(world, before, t, sid, "alice")


def test_fund_with_permit_by_outsider_reverts(world: World) -> None:
    t = swap_terms(world)
    world.reverts(lambda: fund_with_permit_raw(world, t, t.deadline, "carol"),
                  "NotSwapParty", {"swapId": world.swap_id(t), "caller": "carol"})


def test_fund_with_failed_permit_and_no_allowance_passes_the_permit_error_on(
    world: World
) -> None:
    t = swap_terms(world)
    world.usd.approve(world.fx.address, 0, sender="alice")
    expired = world.now() - 1
    world.reverts(lambda: fund_with_permit_raw(world, t, expired, "alice"),
                  "ERC2612ExpiredSignature", {"deadline": expired})


# -------------------------------------------------------------------------------- refund

@pytest.mark.parametrize(("funder", "ccy", "amount"), [("alice", "USD", AMOUNT_A),
                                                       ("bob", "MXN", AMOUNT_B)])
def test_refund_after_the_deadline_returns_the_funded_leg(world: World, funder: str,
                                                          ccy: str, amount: int) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    world.fx.fund(t, sender=funder)
    before = world.fx_state([sid])
    world.at(t.deadline)
    r = world.fx.refund(t, sender="outsider")
    refunded = dict(before[("swap", sid)], state=REFUNDED)
    assert world.fx_state([sid]) == changed(before, {("swap", sid): refunded}, plus={
        (ccy, "balanceOf", "fx"): -amount, (ccy, "balanceOf", funder): amount,
        ("fx", "heldBalance", ccy): -amount,
    })
    assert world.events(r) == [
        ("fx", "LegRefunded", {"swapId": sid, "party": funder, "token": ccy,
                               "amount": amount}),
        (ccy, "Transfer", {"from": "fx", "to": funder, "value": amount}),
    ]


def test_refund_before_the_deadline_reverts(world: World) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    world.fx.fund(t, sender="alice")
    world.at(t.deadline - 1)
    world.reverts(lambda: world.fx.refund(t, sender="alice"),
                  "SwapNotExpired",
                  {"swapId": sid, "deadline": t.deadline, "nowTimestamp": t.deadline - 1})


def test_refund_unknown_swap_reverts(world: World) -> None:
    t = swap_terms(world)
    world.reverts(lambda: world.fx.refund(t, sender="alice"),
                  "SwapNotFound", {"swapId": world.swap_id(t)})


def test_refund_settled_swap_reverts(world: World) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    world.fx.fund(t, sender="alice")
    world.fx.fund(t, sender="bob")
    world.at(t.deadline)
    world.reverts(lambda: world.fx.refund(t, sender="alice"),
                  "SwapNotOpen", {"swapId": sid, "state": SETTLED})


def test_refund_twice_reverts(world: World) -> None:
    t = swap_terms(world)
    sid = world.swap_id(t)
    world.fx.fund(t, sender="alice")
    world.at(t.deadline)
    world.fx.refund(t, sender="alice")
    world.reverts(lambda: world.fx.refund(t, sender="alice"),
                  "SwapNotOpen", {"swapId": sid, "state": REFUNDED})


def test_refund_to_a_funder_blacklisted_since_reverts_and_the_leg_stays_held(
    world: World
) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    world.usd.blacklist("alice", sender="blacklister")
    world.at(t.deadline)
    world.reverts(lambda: world.fx.refund(t, sender="outsider"),
                  "AccountBlacklisted", {"account": "alice"})
    world.usd.un_blacklist("alice", sender="blacklister")
    world.fx.refund(t, sender="outsider")
    assert world.usd.balance_of("alice") == INITIAL_BALANCE


# ------------------------------------------------------- payment versus payment, exhaustively

STEPS = ("fund_a", "fund_b", "expire", "refund")


@pytest.mark.parametrize("order", list(itertools.permutations(STEPS)),
                         ids=lambda order: "-".join(order))
def test_no_ordering_delivers_one_leg_without_the_other(world: World,
                                                        order: tuple[str, ...]) -> None:
    """Whatever the order of the two fundings, the deadline passing and a refund attempt
    (each may revert), after every step either nothing moved, one leg is held by the
    contract, both legs were delivered, or the held leg went back: never one leg delivered
    and the other not."""
    t = swap_terms(world)
    sid = world.swap_id(t)
    reads = [Read((ccy, who), ccy, "balanceOf", (who,))
             for ccy in ("USD", "MXN") for who in ("alice", "bob", "fx")]
    reads.append(Read(("swap",), "fx", "getSwap", (sid,)))
    i = INITIAL_BALANCE
    nothing = {("USD", "alice"): i, ("USD", "bob"): i, ("USD", "fx"): 0,
               ("MXN", "alice"): i, ("MXN", "bob"): i, ("MXN", "fx"): 0}
    a_held = changed(nothing, {("USD", "alice"): i - AMOUNT_A, ("USD", "fx"): AMOUNT_A})
    b_held = changed(nothing, {("MXN", "bob"): i - AMOUNT_B, ("MXN", "fx"): AMOUNT_B})
    settled = changed(nothing, {("USD", "alice"): i - AMOUNT_A, ("USD", "bob"): i + AMOUNT_A,
                                ("MXN", "alice"): i + AMOUNT_B, ("MXN", "bob"): i - AMOUNT_B})
    allowed = {  # swap state, fundedA, fundedB -> balances
        (0, False, False): nothing,
        (OPEN, True, False): a_held,
        (OPEN, False, True): b_held,
        (SETTLED, True, True): settled,
        (REFUNDED, True, False): nothing,
        (REFUNDED, False, True): nothing,
    }
    for step in order:
        try:
            if step == "fund_a":
                world.fx.fund(t, sender="alice")
            elif step == "fund_b":
                world.fx.fund(t, sender="bob")
            elif step == "expire":
                world.chain.mine(timestamp=t.deadline)
            else:
                world.fx.refund(t, sender="outsider")
        except ContractRevert:
            pass
        state = world.read(reads)
        swap = state.pop(("swap",))
        key = (swap["state"], swap["fundedA"], swap["fundedB"])
        assert key in allowed, f"unexpected swap state {key} after {step}"
        assert state == allowed[key], f"balances do not match swap state {key} after {step}"
    pos = {step: n for n, step in enumerate(order)}
    funded_in_time = [f for f in ("fund_a", "fund_b") if pos[f] < pos["expire"]]
    if len(funded_in_time) == 2:
        expected = SETTLED
    elif not funded_in_time:
        expected = 0  # nothing was funded before the deadline: the swap never existed
    else:
        expected = REFUNDED if pos["refund"] > pos["expire"] else OPEN
    assert world.fx.get_swap(sid)["state"] == expected


def test_zero_address_party_terms_cannot_be_funded(world: World) -> None:
    t = SwapTerms(ZERO_ADDRESS, world.usd.address, 1, world.address("bob"),
                  world.mxn.address, 1, world.now() + HOUR)
    world.reverts(lambda: world.fx.fund(t, sender="bob"), "InvalidSwapTerms")


# ------------------------------------------------ horizon, rescue, short-delivering tokens

def test_deployment_settings(world: World) -> None:
    state = world.fx_state()
    assert {k: v for k, v in state.items() if k[0] == "fx"} == {
        ("fx", "owner"): "owner", ("fx", "maxSwapDuration"): MAX_SWAP, ("fx", "rescuer"): "rescuer",
        ("fx", "heldBalance", "USD"): 0, ("fx", "heldBalance", "MXN"): 0,
    }


def test_swap_deadline_at_most_the_maximum_duration_ahead(world: World) -> None:
    at = world.now() + 100
    world.at(at)
    world.fx.fund(swap_terms(world, deadline=at + MAX_SWAP), sender="alice")
    world.at(at + 1)
    t = swap_terms(world, deadline=at + 2 + MAX_SWAP)
    world.reverts(lambda: world.fx.fund(t, sender="alice"), "DeadlineTooFar",
                  {"deadline": at + 2 + MAX_SWAP, "maxDeadline": at + 1 + MAX_SWAP})
    world.fx.set_max_swap_duration(2 * MAX_SWAP, sender="owner")
    assert world.fx.max_swap_duration() == 2 * MAX_SWAP
    world.fx.fund(t, sender="alice")
    world.reverts(lambda: world.fx.set_max_swap_duration(0, sender="owner"),
                  "InvalidSwapDuration", {"duration": 0})


def test_the_rescuer_returns_only_the_surplus_above_the_held_legs(world: World) -> None:
    t = swap_terms(world)
    world.fx.fund(t, sender="alice")                        # AMOUNT_A of USD held
    world.usd.transfer(world.fx.address, 900, sender="carol")  # sent by mistake
    world.reverts(lambda: world.fx.rescue_erc20(world.usd, "carol", 901, sender="rescuer"),
                  "RescueExceedsSurplus", {"token": "USD", "surplus": 900, "needed": 901},
                  state=lambda: world.fx_state(surplus=True))
    before = world.fx_state(surplus=True)
    r = world.fx.rescue_erc20(world.usd, "carol", 900, sender="rescuer")
    assert world.fx_state() == changed(before, plus={
        ("USD", "balanceOf", "fx"): -900, ("USD", "balanceOf", "carol"): 900})
    assert world.events(r)[0] == ("fx", "Rescued", {"token": "USD", "to": "carol",
                                                    "amount": 900})
    # the held leg is still delivered in full
    world.fx.fund(t, sender="bob")
    assert world.usd.balance_of("bob") == INITIAL_BALANCE + AMOUNT_A


@pytest.fixture
def short_token(world: World) -> str:
    import json
    from pathlib import Path

    from settlement import AbiRegistry

    art = json.loads((Path(__file__).resolve().parent / "solidity" / "ShortToken.json")
                     .read_text(encoding="utf-8"))
    chain = world.chain
    if "ShortToken" not in chain.abis.abis:
        chain.abis = AbiRegistry({**chain.abis.abis, "ShortToken": art["abi"]})
    token = str(chain.deploy("ShortToken", art["bytecode"], (), sender="owner").contract_address)
    world.names[token] = "SHRT"
    for who in ("alice", "bob"):
        chain.transact(token, "ShortToken", "mint", (world.address(who), 10 * AMOUNT_B),
                       sender=who)
        chain.transact(token, "ShortToken", "approve", (world.fx.address, 10 * AMOUNT_B),
                       sender=who)
    chain.transact(token, "ShortToken", "setFeeBps", (100,), sender="owner")
    return token


def test_a_short_delivering_first_leg_is_refused(world: World, short_token: str) -> None:
    t = SwapTerms(world.address("alice"), short_token, AMOUNT_A, world.address("bob"),
                  world.mxn.address, AMOUNT_B, world.now() + HOUR)
    world.reverts(lambda: world.fx.fund(t, sender="alice"), "TokenShortDelivered",
                  {"token": "SHRT", "expected": AMOUNT_A, "received": AMOUNT_A - AMOUNT_A // 100})


def test_a_short_delivering_second_leg_is_refused_and_the_first_stays_held(
    world: World, short_token: str
) -> None:
    t = SwapTerms(world.address("alice"), world.usd.address, AMOUNT_A, world.address("bob"),
                  short_token, AMOUNT_B, world.now() + HOUR)
    world.fx.fund(t, sender="alice")
    world.reverts(lambda: world.fx.fund(t, sender="bob"), "TokenShortDelivered",
                  {"token": "SHRT", "expected": AMOUNT_B, "received": AMOUNT_B - AMOUNT_B // 100})
    assert world.fx.get_swap(world.swap_id(t)) == {"state": OPEN, "fundedA": True,
                                                   "fundedB": False}


def test_a_swap_is_stored_in_one_storage_slot(world: World) -> None:
    from eth_utils import keccak

    t = swap_terms(world)
    world.fx.fund(t, sender="alice")
    # `_swaps` is storage slot 3 (after owner, pending owner, the packed duration and rescuer)
    slot = int.from_bytes(keccak(world.swap_id(t) + (3).to_bytes(32, "big")), "big")

    def word(at: int) -> int:
        return int.from_bytes(bytes(world.chain.w3.eth.get_storage_at(world.fx.address, at)),
                              "big")

    assert (word(slot), word(slot + 1)) == (OPEN | (1 << 8), 0)   # state Open, leg A funded
