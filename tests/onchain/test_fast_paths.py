"""The on-chain rail's fast paths against the straightforward computations they replace."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from sim.ledger import (
    intrinsic_tokens,
    named_address,
    static_calldata,
    static_calldata_tokens,
)

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
    st.tuples(st.booleans(), _uint).map(lambda a: ("Stablecoin", "burn", (a[1],)))))
def test_calldata_tokens_counted_from_the_arguments(args: tuple) -> None:
    contract, function, values = args
    assert static_calldata_tokens(contract, function, values) == intrinsic_tokens(
        static_calldata(contract, function, values))
