"""The on-chain rail's fast paths against the straightforward computations they replace."""

from __future__ import annotations

from decimal import Decimal
from types import SimpleNamespace

import numpy as np
import pytest
import simpy
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.banking.network import SEGMENTS, BankNetwork
from sim.money import convert_for_reporting
from sim.onchain import rail as onchain
from sim.onchain.chains import get_chain_profile, load_chain_profiles
from sim.onchain.fee_market import FeeMarket
from sim.onchain.ledger import (
    GasTableLedger,
    TxOp,
    intrinsic_tokens,
    keccak256,
    measure_rail_gas,
    named_address,
    static_calldata,
    static_calldata_tokens,
)
from sim.onchain.spec import OnChainSpec

# load the ABI registry (web3 raises the recursion limit on import) before hypothesis runs
static_calldata("Stablecoin", "burn", (1,))

_uint = st.one_of(st.integers(0, 2**256 - 1), st.integers(0, 2**64), st.sampled_from(
    [0, 1, 255, 256, 2**255, 10**24, 0x0100_0000_0000_0001]))
_addr = st.one_of(st.sampled_from(["bank:A", "bank:B", "fx_provider"]).map(named_address),
                  st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex()))
_b32 = st.one_of(st.binary(min_size=32, max_size=32), st.just(b"\x00" * 32),
                 st.binary(min_size=0, max_size=31))
_terms = st.tuples(_addr, _addr, _uint, _uint, _b32, _addr, _b32)


@settings(max_examples=300, deadline=None)
@given(args=st.one_of(
    st.tuples(_addr, _uint).map(lambda a: ("Stablecoin", "mint", a)),
    st.tuples(_uint).map(lambda a: ("Stablecoin", "burn", a)),
    st.tuples(_b32.filter(lambda b: len(b) == 32), _b32).map(
        lambda a: ("SettlementEscrow", "release", a)),
    st.tuples(_terms).map(lambda a: ("SettlementEscrow", "lock", a)),
    st.tuples(st.tuples(_addr, _addr, _uint, _addr, _addr, _uint, _uint, _b32)).map(
        lambda a: ("FxSwap", "fund", a)),
    st.tuples(_addr, _uint).map(lambda a: ("Stablecoin", "transfer", a)),
    st.tuples(_b32.filter(lambda b: len(b) == 32)).map(
        lambda a: ("SettlementEscrow", "refund", a))))
def test_calldata_tokens_counted_from_the_arguments(args: tuple) -> None:
    contract, function, values = args
    assert static_calldata_tokens(contract, function, values) == intrinsic_tokens(
        static_calldata(contract, function, values))


def test_keccak256_is_eth_keccak() -> None:
    from eth_utils import keccak

    for data in (b"", b"settlesim 1 P0000001", bytes(range(256)) * 5):
        assert keccak256(data) == keccak(data)


@pytest.mark.parametrize("name", sorted(load_chain_profiles()))
def test_block_fees_are_each_transactions_fee(name: str) -> None:
    profile = get_chain_profile(name)
    fm, market = FeeMarket(profile, np.random.default_rng(4)), profile.fee_market
    for n in range(5):
        fm.open_block(n, 1_750_000_000.0 + 12 * n)
        gas = [21_000, 0, 123_456, 1_000_000 * (n + 1)]
        if market.kind == "eip1559":   # gas x (base fee + tip), in native units, at its price
            wei = [g * (fm.base_fee_wei + fm.tip_wei) for g in gas]
        elif market.kind == "fixed":   # the same fee whatever the gas
            wei = [int(market.fixed_fee_native * 10**18)] * len(gas)
        else:
            wei = [0] * len(gas)
        want = [Decimal(w) / Decimal(10**18) * profile.native_price_usd
                + market.l1_data_fee_usd for w in wei]
        assert fm.fees_usd(gas) == want
        assert [fm.fee_usd(g) for g in gas] == want
        fm.close_block(sum(gas))


@pytest.mark.parametrize("name", sorted(load_chain_profiles()))
def test_closing_a_block_with_its_fees_is_fees_then_close(name: str) -> None:
    """The producer's one call per block gives each transaction's fee and leaves the base
    fee where ``fees_usd`` then ``close_block(sum)`` leave it, full blocks and empty ones."""
    profile = get_chain_profile(name)
    one, two = (FeeMarket(profile, np.random.default_rng(5)) for _ in range(2))
    limit = profile.block_gas_limit
    for n, gas in enumerate([[21_000], [], [limit], [limit // 3, limit // 3], [0, 50_000]] * 3):
        t = 1_750_000_000.0 + profile.block_time_s * 3 * n
        assert one.open_block_capacity(3 * n, t) == two.open_block_capacity(3 * n, t)
        want = one.fees_usd(gas)
        one.close_block(sum(gas))
        assert two.close_block_fees(gas) == want
        assert two.base_fee_wei == one.base_fee_wei
        assert two.next_block_number == one.next_block_number == 3 * n + 1
    with pytest.raises(ValueError, match="no block is open"):
        two.close_block_fees([1])


def test_a_blocks_transactions_resume_within_the_slots_own_event() -> None:
    """A payment whose transaction is in the block at slot 12 s resumes when the slot's
    event is processed, before a wait ending at that instant that began after the slot
    was armed (a separate event for the block would come after it)."""
    profile = get_chain_profile("ethereum-l1")
    env = simpy.Environment(initial_time=0)
    led = GasTableLedger(["USD"], measure_rail_gas("attestation"))
    producer = onchain.BlockProducer(env, led, FeeMarket(profile, np.random.default_rng(0)),
                                     profile, 0)
    order: list[tuple[str, float]] = []

    def sender():
        yield env.timeout(1)
        op = TxOp("burn", "minter_USD", "Stablecoin", "token:USD", "burn", (5,), "P1")
        yield producer.submit(op)            # the producer arms slot 1 (12 s) now
        order.append(("included", env.now))

    def other():
        yield env.timeout(2)
        yield env.timeout(10)                # ends at 12 s too, scheduled after the slot
        order.append(("other", env.now))

    env.process(sender())
    env.process(other())
    env.run()
    assert order == [("included", 12), ("other", 12)]
    assert producer.blocks == 1


def test_a_transaction_sent_at_a_slot_instant_is_for_the_next_block() -> None:
    """The producer is armed for the slot at 12 s; a transaction sent at 12 s exactly, by a
    process whose wait was scheduled before the slot (so it runs first at that instant),
    still goes into the block at 24 s, not into the one at 12 s with no wait."""
    profile = get_chain_profile("ethereum-l1")
    env = simpy.Environment(initial_time=0)
    led = GasTableLedger(["USD"], measure_rail_gas("attestation"))
    producer = onchain.BlockProducer(env, led, FeeMarket(profile, np.random.default_rng(0)),
                                     profile, 0)
    mined: dict[str, float] = {}

    def send(name: str, at: float):
        yield env.timeout(at)
        yield producer.submit(TxOp("burn", "minter_USD", "Stablecoin", "token:USD", "burn",
                                   (5,), name))
        mined[name] = env.now

    env.process(send("at the instant", 12))   # its wait is scheduled first
    env.process(send("before", 1))            # arms the slot at 12 s
    env.run()
    assert mined == {"before": 12, "at the instant": 24}
    assert producer.blocks == 2


def test_bank_fees_from_cached_rules_equal_the_banks_own() -> None:
    net = BankNetwork.default()
    spec = OnChainSpec.default()
    env = simpy.Environment(initial_time=1_750_000_000)
    led = GasTableLedger(["USD"], measure_rail_gas(spec.release))
    market = FeeMarket(get_chain_profile(spec.chain), np.random.default_rng(0))
    rail = onchain.OnChainRail(env, net, spec, get_chain_profile(spec.chain), led, market, 1)
    ccys = sorted(net.fx.per_base)
    rng = np.random.default_rng(8)
    for bank_id in net.banks:
        bank = net.bank(bank_id)
        for kind in ("sender_fee", "beneficiary_fee"):
            for segment in SEGMENTS:
                for ccy in ccys[:6] + [bank.currency]:
                    p = SimpleNamespace(segment=segment)
                    for amount in [0, 1, 99, 10_000, *rng.integers(1, 10**9, 5).tolist()]:
                        own = bank.fee(kind, segment, amount, ccy, net.fx)
                        want = convert_for_reporting(own, bank.currency, ccy,
                                                     net.fx.rate(bank.currency, ccy))
                        assert rail._bank_fee(bank, kind, p, amount, ccy) == want
