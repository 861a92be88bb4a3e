"""AmmPool and AmmRouter by worked example: Uniswap v2's numbers, the locked minimum
liquidity, pro-rata redemption, every custom error a caller can meet, and the swap and lock
of its output in the escrow in one transaction (then its release, or its reclaim)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from settlement import ContractRevert
from settlement.amm import MINIMUM_LIQUIDITY, deploy_pool
from sim.onchain.amm import PoolMirror
from tests.contracts.amm_world import BALANCE, AmmWorld

E18 = 10**18


@pytest.fixture(scope="module")
def amm_world() -> AmmWorld:
    return AmmWorld()


@pytest.fixture
def w(amm_world: AmmWorld) -> Iterator[AmmWorld]:
    snap = amm_world.chain.snapshot()
    try:
        yield amm_world
    finally:
        amm_world.chain.revert(snap)


# Uniswap v2-core test/UniswapV2Pair.spec.ts, "getInputPrice": (swap, reserve in, reserve out,
# output), in units of 1e18, at the 0.30% fee
UNISWAP_CASES = [
    (1, 5, 10, 1662497915624478906),
    (1, 10, 5, 453305446940074565),
    (2, 5, 10, 2851015155847869602),
    (2, 10, 5, 831248957812239453),
    (1, 10, 10, 906610893880149131),
    (1, 100, 100, 987158034397061298),
    (1, 1000, 1000, 996006981039903216),
]


@pytest.mark.parametrize(("swap", "r_in", "r_out", "out"), UNISWAP_CASES)
def test_get_amount_out_gives_uniswap_v2s_numbers(w: AmmWorld, swap: int, r_in: int, r_out: int,
                                                  out: int) -> None:
    assert w.pool.get_amount_out(swap * E18, r_in * E18, r_out * E18) == out
    assert PoolMirror(30).get_amount_out(swap * E18, r_in * E18, r_out * E18) == out


def test_get_amount_in_and_out_on_the_routers_worked_numbers(w: AmmWorld) -> None:
    # UniswapV2Router02 spec: getAmountOut(2, 100, 100) = 1, getAmountIn(1, 100, 100) = 2
    assert w.pool.get_amount_out(2, 100, 100) == 1
    assert w.pool.get_amount_in(1, 100, 100) == 2
    # the least input buying an output buys at least it; one less buys less
    a_in = w.pool.get_amount_in(10**6, 5 * 10**9, 7 * 10**9)
    assert w.pool.get_amount_out(a_in, 5 * 10**9, 7 * 10**9) >= 10**6
    assert w.pool.get_amount_out(a_in - 1, 5 * 10**9, 7 * 10**9) < 10**6


def test_first_deposit_locks_the_minimum_liquidity_and_swap_moves_the_reserves(w: AmmWorld) -> None:
    r = w.pool.add_liquidity(1 * E18, 4 * E18, "alice", w.later(), sender="alice")
    ev = [e for e in r.events if e.name == "LiquidityAdded"][0]
    assert ev.args["liquidity"] == 2 * E18 - MINIMUM_LIQUIDITY   # sqrt(1e18 * 4e18) - 1000
    assert w.pool.balance_of("alice") == 2 * E18 - MINIMUM_LIQUIDITY
    assert w.pool.balance_of("0x000000000000000000000000000000000000dEaD") == MINIMUM_LIQUIDITY
    assert w.pool.total_supply() == 2 * E18
    assert w.pool.get_reserves() == (1 * E18, 4 * E18)

    w.pool.remove_liquidity(2 * E18 - MINIMUM_LIQUIDITY, "alice", w.later(), sender="alice")
    assert w.pool.balance_of("alice") == 0
    # what stays is the locked shares' part, pro rata: 1000/2e18 of each reserve
    assert w.pool.get_reserves() == (500, 2000)

    w2 = deploy_pool(w.chain, w.usd, w.eur)
    w.usd.approve(w2.address, 2**256 - 1, sender="bob")
    w.eur.approve(w2.address, 2**256 - 1, sender="bob")
    w2.add_liquidity(5 * E18, 10 * E18, "bob", w.later(), sender="bob")
    before_usd, before_eur = w.usd.balance_of("carol"), w.eur.balance_of("carol")
    r = w2.swap(w.usd, 1 * E18, 1662497915624478906, "carol", w.later(), sender="bob")
    assert [e.name for e in r.events if e.address == w2.address][-1] == "Swapped"
    assert w2.get_reserves() == (6 * E18, 10 * E18 - 1662497915624478906)
    assert w.eur.balance_of("carol") - before_eur == 1662497915624478906
    assert w.usd.balance_of("carol") == before_usd
    assert w.usd.balance_of(w2.address) == 6 * E18


def test_later_deposit_in_proportion_and_pro_rata_redemption(w: AmmWorld) -> None:
    w.pool.add_liquidity(3_000_000, 6_000_000, "alice", w.later(), sender="alice")
    # bob offers 1,000,000 USD and up to 5,000,000 EUR: the pool takes 2,000,000 EUR
    r = w.pool.add_liquidity(1_000_000, 5_000_000, "bob", w.later(), sender="bob")
    ev = [e for e in r.events if e.name == "LiquidityAdded"][0]
    supply0 = 4_242_640   # isqrt(3e6 * 6e6)
    assert (ev.args["amount0"], ev.args["amount1"]) == (1_000_000, 2_000_000)
    assert ev.args["liquidity"] == 1_000_000 * supply0 // 3_000_000
    shares = w.pool.balance_of("bob")
    supply = w.pool.total_supply()
    r0, r1 = w.pool.get_reserves()
    e0, e1 = w.usd.balance_of("bob"), w.eur.balance_of("bob")
    w.pool.remove_liquidity(shares, "bob", w.later(), sender="bob")
    assert w.usd.balance_of("bob") - e0 == shares * r0 // supply
    assert w.eur.balance_of("bob") - e1 == shares * r1 // supply


def _error(call: object) -> ContractRevert:
    with pytest.raises(ContractRevert) as info:
        call()  # type: ignore[operator]
    return info.value


def test_reverts_name_their_custom_errors(w: AmmWorld) -> None:
    w.pool.add_liquidity(10**9, 10**9, "alice", w.later(), sender="alice")
    q = w.pool.quote(w.usd, 10**6)
    e = _error(lambda: w.pool.swap(w.usd, 10**6, q + 1, "bob", w.later(), sender="bob"))
    assert (e.error, e.args_dict) == ("SlippageExceeded", {"amountOut": q, "minAmountOut": q + 1})
    now = w.now()
    w.chain.set_next_block_timestamp(now + 10)
    e = _error(lambda: w.pool.swap(w.usd, 10**6, 0, "bob", now + 10, sender="bob"))
    assert e.error == "Expired" and e.args_dict == {"deadline": now + 10, "nowTimestamp": now + 10}
    assert _error(lambda: w.pool.swap(w.usd, 0, 0, "bob", w.later(), sender="bob")).error \
        == "ZeroAmount"
    assert _error(lambda: w.pool.swap(w.usd, 1, 0, "bob", w.later(), sender="bob")).error \
        == "InsufficientOutputAmount"
    e = _error(lambda: w.pool.swap(w.stack.escrow.address, 5, 0, "bob", w.later(), sender="bob"))
    assert e.error == "UnknownToken"
    assert _error(lambda: w.pool.add_liquidity(0, 5, "bob", w.later(), sender="bob")).error \
        == "ZeroAmount"
    e = _error(lambda: w.pool.remove_liquidity(10**6, "bob", w.later(), sender="bob"))
    assert e.error == "ERC20InsufficientBalance"      # bob holds no shares
    e = _error(lambda: w.pool.add_liquidity(10**6, 10**6, "bob", w.later(), amount0_min=0,
                                            amount1_min=10**6 + 1, sender="bob"))
    assert e.error == "InsufficientAmount"
    assert w.pool.get_reserves() == (10**9, 10**9)    # nothing changed


@pytest.mark.parametrize("fee", [10_000, 10_001, 65_535])
def test_a_fee_of_100_percent_or_more_is_refused(w: AmmWorld, fee: int) -> None:
    from settlement.compile import load_artifact

    e = _error(lambda: w.chain.deploy("AmmPool", load_artifact("AmmPool")["bytecode"],
                                      (w.usd.address, w.eur.address, fee, "x", "x"),
                                      sender="owner"))
    assert (e.error, e.args_dict) == ("InvalidFee", {"feeBps": fee, "limit": 10_000})


def test_fee_set_per_pool_at_creation(w: AmmWorld) -> None:
    cheap = deploy_pool(w.chain, w.usd, w.eur, 5)
    assert cheap.fee_bps() == 5
    assert cheap.get_amount_out(10**6, 10**9, 10**9) == 10**6 * 9995 * 10**9 // (
        10**9 * 10_000 + 10**6 * 9995)
    assert w.pool.fee_bps() == 30


def test_swap_and_lock_in_one_transaction_then_release(w: AmmWorld) -> None:
    w.pool.add_liquidity(10**12, 9 * 10**11, "alice", w.later(), sender="alice")
    esc = w.stack.escrow
    q = w.pool.quote(w.usd, 10**9)
    terms = esc.terms(w.eur, "carol", 0, w.now() + 86_400, agent="carol", salt=b"\x01" * 32)
    usd0 = w.usd.balance_of("bob")
    r = w.router.swap_and_lock(w.usd, 10**9, [w.pool], q, w.later(), terms, sender="bob")
    names = [e.name for e in r.events]
    assert "Swapped" in names and "Locked" in names and names[-1] != "Reclaimed"
    locked = [e for e in r.events if e.name == "SwappedAndLocked"][0].args
    assert locked["amountOut"] == q and locked["amountIn"] == 10**9
    assert w.usd.balance_of("bob") == usd0 - 10**9
    assert esc.locked_balance(w.eur) == q
    assert w.eur.balance_of(w.router.address) == 0
    real = esc.terms(w.eur, "carol", q, terms.deadline, agent="carol", salt=terms.salt)
    eur0 = w.eur.balance_of("carol")
    esc.release(w.router.address, real, sender="carol")
    assert w.eur.balance_of("carol") - eur0 == q - q * 5 // 10_000


def test_swap_and_lock_slippage_reverts_whole_and_refund_is_reclaimed(w: AmmWorld) -> None:
    w.pool.add_liquidity(10**12, 10**12, "alice", w.later(), sender="alice")
    esc = w.stack.escrow
    q = w.pool.quote(w.usd, 10**9)
    deadline = w.now() + 3_600
    terms = esc.terms(w.eur, "carol", 0, deadline, agent="carol", salt=b"\x02" * 32)
    e = _error(lambda: w.router.swap_and_lock(w.usd, 10**9, [w.pool], q + 1, w.later(), terms,
                                              sender="bob"))
    assert (e.error, e.args_dict) == ("SlippageExceeded", {"amountOut": q, "minAmountOut": q + 1})
    assert w.pool.get_reserves() == (10**12, 10**12)
    usd0, eur0 = w.usd.balance_of("bob"), w.eur.balance_of("bob")
    w.router.swap_and_lock(w.usd, 10**9, [w.pool], q, w.later(), terms, sender="bob")
    real = esc.terms(w.eur, "carol", q, deadline, agent="carol", salt=terms.salt)
    assert _error(lambda: w.router.reclaim(real, sender="bob")).error == "LockNotExpired"
    w.chain.set_next_block_timestamp(deadline)
    w.router.reclaim(real, sender="alice")            # anyone may; the payer is paid
    assert w.eur.balance_of("bob") == eur0 + q and w.usd.balance_of("bob") == usd0 - 10**9
    assert _error(lambda: w.router.reclaim(real, sender="bob")).error == "UnknownLock"


def test_two_hops_through_a_hub_pool(w: AmmWorld) -> None:
    from settlement import minter_name

    # a third token reached through USD: EUR -> USD -> GBP-like token (a second USD pool)
    gbp_pool = deploy_pool(w.chain, w.usd, w.eur, 30)   # same tokens, the path check matters
    w.pool.add_liquidity(10**12, 10**12, "alice", w.later(), sender="alice")
    w.usd.approve(gbp_pool.address, 2**256 - 1, sender="alice")
    w.eur.approve(gbp_pool.address, 2**256 - 1, sender="alice")
    gbp_pool.add_liquidity(10**12, 2 * 10**12, "alice", w.later(), sender="alice")
    esc = w.stack.escrow
    terms = esc.terms(w.usd, "carol", 0, w.now() + 86_400, agent="carol")
    e = _error(lambda: w.router.swap_and_lock(w.usd, 10**8, [w.pool, gbp_pool], 0, w.later(),
                                              terms, sender="bob"))
    assert (e.error, e.args_dict) == ("UnknownPool", {"pool": gbp_pool.address})
    assert _error(lambda: w.router.add_pool(gbp_pool, sender="bob")).error \
        == "OwnableUnauthorizedAccount"
    w.router.add_pool(gbp_pool, sender="owner")
    assert w.router.is_pool(gbp_pool)
    assert _error(lambda: w.router.add_pool(gbp_pool, sender="owner")).error \
        == "PoolAlreadyAdded"
    # USD -> EUR (pool) -> USD (gbp_pool): ends in USD
    m1 = w.pool.quote(w.usd, 10**8)
    m2 = gbp_pool.get_amount_out(m1, 2 * 10**12, 10**12)
    terms = esc.terms(w.usd, "carol", 0, w.now() + 86_400, agent="carol")
    r = w.router.swap_and_lock(w.usd, 10**8, [w.pool, gbp_pool], m2, w.later(), terms,
                               sender="bob")
    assert [e for e in r.events if e.name == "SwappedAndLocked"][0].args["amountOut"] == m2
    bad = esc.terms(w.eur, "carol", 0, w.now() + 86_400, agent="carol", salt=b"\x03" * 32)
    e = _error(lambda: w.router.swap_and_lock(w.usd, 10**8, [w.pool, gbp_pool], 0, w.later(),
                                              bad, sender="bob"))
    assert e.error == "InvalidPath"
    assert minter_name("USD") == "minter_USD" and BALANCE > 0
