"""``settlement`` refuses bad input with its own ``ValueError`` subclasses, in one line
naming the function and argument, before anything reaches the chain."""

from __future__ import annotations

import math

import pytest

from settlement import (
    Chain,
    ChainError,
    ClockError,
    InvalidArgument,
    InvalidTimestamp,
    SettlementInputError,
    UnknownSnapshot,
    deploy_stack,
    minter_name,
)


@pytest.fixture(scope="module")
def stack():
    chain = Chain(genesis_timestamp=1_767_225_600)
    s = deploy_stack(chain, ("USD",))
    chain.accounts(["alice", "bob"])
    return s


def _one_line(exc: BaseException) -> str:
    text = str(exc)
    assert "\n" not in text and text
    return text


@pytest.mark.parametrize(("amount", "says"), [
    (-1, "from 0 to 2**256 - 1"), (2**256, "from 0 to 2**256 - 1"), (1.5, "not float 1.5"),
    (10.0, "not float 10.0"), (True, "not bool True"), ("100", "not str '100'"),
    (None, "not NoneType"),
])
def test_bad_amounts_are_refused_before_sending(stack, amount, says) -> None:
    usd, chain = stack.tokens["USD"], stack.chain
    block, nonce = chain.block_number(), chain.w3.eth.get_transaction_count(
        chain.address_of(minter_name("USD")))
    with pytest.raises(InvalidArgument) as info:
        usd.mint("alice", amount, sender=minter_name("USD"))
    text = _one_line(info.value)
    assert "Stablecoin.mint: amount" in text and says in text
    assert isinstance(info.value, ValueError) and isinstance(info.value, SettlementInputError)
    assert chain.block_number() == block          # nothing was sent or mined
    assert chain.w3.eth.get_transaction_count(chain.address_of(minter_name("USD"))) == nonce


def test_struct_fields_are_named(stack) -> None:
    chain = stack.chain
    good = {"token": stack.tokens["USD"].address, "beneficiary": chain.address_of("bob"),
            "amount": 5, "deadline": 10**6, "hashlock": b"\0" * 32,
            "agent": chain.address_of("bob"), "maxFeeBps": 0, "salt": b"\0" * 32}
    chain.abis.encode_call("SettlementEscrow", "lock", [good])        # accepted as it is
    for field, bad, says in [("hashlock", b"\x01", "exactly 32 bytes"),
                             ("deadline", 2**64, "0 to 2**64 - 1 (uint64)"),
                             ("maxFeeBps", 70_000, "0 to 65,535 (uint16)"),
                             ("amount", -5, "2**256 - 1")]:
        with pytest.raises(InvalidArgument) as info:
            chain.abis.encode_call("SettlementEscrow", "lock", [{**good, field: bad}])
        text = _one_line(info.value)
        assert f"SettlementEscrow.lock: terms.{field}" in text and says in text


def test_a_bad_address_and_a_negative_value_are_refused(stack) -> None:
    with pytest.raises(InvalidArgument, match="20-byte hex address"):
        stack.chain.abis.encode_call("Stablecoin", "transfer", ["0x1234", 1])
    with pytest.raises(InvalidArgument, match=r"Stablecoin.transfer: value .* \(uint256\), not -3"):
        stack.chain.abis.encode_call("Stablecoin", "transfer",
                                     [stack.chain.address_of("bob"), -3])


@pytest.mark.parametrize("t", [math.nan, math.inf, -1, 2**64, "tomorrow", True, None])
def test_bad_timestamps_are_refused(t) -> None:
    chain = Chain(genesis_timestamp=1_767_225_600)
    with pytest.raises(InvalidTimestamp) as info:
        chain.set_next_block_timestamp(t)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ClockError)
    _one_line(info.value)
    if t is not None:                              # None: the default genesis
        with pytest.raises(InvalidTimestamp):
            Chain(genesis_timestamp=t)


def test_time_going_backwards_is_still_a_clock_error_not_an_input_type() -> None:
    chain = Chain(genesis_timestamp=1_767_225_600)
    with pytest.raises(ClockError, match="time only moves forward") as info:
        chain.set_next_block_timestamp(1_000)
    assert not isinstance(info.value, InvalidTimestamp)


@pytest.mark.parametrize("backend", ["pyevm", "eth-tester"])
@pytest.mark.parametrize("snap", [10**9, "nope", None, -1])
def test_an_unknown_snapshot_is_refused(backend, snap) -> None:
    chain = Chain(genesis_timestamp=1_767_225_600, backend=backend)
    chain.snapshot()
    with pytest.raises(UnknownSnapshot, match="no snapshot") as info:
        chain.revert(snap)
    assert isinstance(info.value, ValueError) and isinstance(info.value, ChainError)
    _one_line(info.value)


@pytest.mark.parametrize(("kw", "says"), [
    ({"escrow_fee_bps": 1001}, "escrow_fee_bps must be a whole number from 0 to 1,000"),
    ({"escrow_fee_bps": -1}, "escrow_fee_bps"), ({"escrow_fee_bps": 2.5}, "not float"),
    ({"max_lock_duration": 0}, "max_lock_duration"),
    ({"minter_allowance": -10}, "minter_allowance"),
])
def test_bad_fee_settings_are_refused_at_deployment(kw, says) -> None:
    chain = Chain(genesis_timestamp=1_767_225_600)
    with pytest.raises(InvalidArgument, match=says):
        deploy_stack(chain, ("USD",), **kw)
    assert chain.block_number() == 0               # nothing deployed


def test_a_bad_fee_rate_is_refused_by_the_client(stack) -> None:
    with pytest.raises(InvalidArgument, match="set_fee: fee_bps .* 0 to 1,000"):
        stack.escrow.set_fee(5000, "fee_collector", sender="owner")
    with pytest.raises(InvalidArgument, match="value"):
        stack.chain.transact(stack.tokens["USD"].address, "Stablecoin", "transfer",
                             [stack.chain.address_of("bob"), 1], sender="alice", value=-1)
