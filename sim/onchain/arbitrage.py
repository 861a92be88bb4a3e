"""The AMM FX route as the rail meets it: payments' swaps and the arbitrageurs' trades.

With ``fx.route = "amm"`` a payment converts in constant-product pools
(:mod:`sim.onchain.amm`) instead of with the quoting provider: it quotes the pools
(its ``fx`` step), then sends one transaction to ``AmmRouter.swapAndLock``, which swaps
through the direct pool of its pair, or through two pools by the hub currency when the
pair has none, and locks the whole output in the escrow for the beneficiary bank. The
transaction reverts (``SlippageExceeded``) when the pools pay less than the quote less
the payment's slippage limit (``fx.max_slippage_bps``): the payment fails with that
reason and the ordering bank still holds what it swapped (the revert left it).

Each swap moves its pools' price away from the FX mid. :class:`AmmMarket` runs
arbitrageurs as a SimPy process: ``fx.arbitrage.latency_s`` after a pool moves they look
at it and, when trading it back to the mid rate (the network's) pays more than their gas
(the fee market's at that moment) and the funding of their inventory for
``hold_hours`` at ``funding_rate``, they swap the amount that brings the pool's marginal
rate after the fee to the mid, with a minimum-out at their break-even. Their swaps are
transactions like any other, in the same blocks; in the contracts ledger real pool swaps.

The mirrors of the pools follow every swap in block order (:attr:`TxOp.apply`), so both
ledgers see the same reserves, outputs and reverts.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal
from typing import Any

import simpy

from sim.errors import InputError
from sim.money import minor_exponent
from sim.onchain.amm import BPS, TOKEN_DECIMALS, AmmPools, Leg
from sim.onchain.ledger import ZERO_ADDRESS, PoolSetup, TxOp, amm_kind, named_address
from sim.onchain.spec import FxSpec

__all__ = ["ARBITRAGEUR", "AmmMarket", "ArbitrageTrade", "SwapOrder"]

#: the named account of the arbitrageurs
ARBITRAGEUR = "arbitrageur"
#: an arbitrageur's swap is refused by its pool this long after it is sent
_ARB_DEADLINE_S = 600
#: a payment's swap-and-lock is refused this long after it is sent (as the PvP swap's)
_SWAP_DEADLINE_S = 6 * 3600
_SECONDS_PER_YEAR = Decimal(365 * 86_400)
_WEI = Decimal(10) ** 18


@dataclass(slots=True)
class SwapOrder:
    """A payment's conversion in the pools: what it pays in, what the pools quoted, the
    least it accepts, and (once mined) what it got."""

    legs: tuple[Leg, ...]
    amount_in: int                 # token units of the sent currency
    quoted: int                    # token units of the delivered currency, at the quote
    min_out: int
    mid: Decimal                   # amount_in at the mid rate, token units delivered
    out: int = 0
    error: str | None = None

    def describe(self, fee_text: str, limit_bps: int) -> str:
        """The ``fx`` step's detail: path, fee, the rate got against the mid."""
        path = " then ".join(f"pool {leg.pool}" for leg in self.legs)
        got = self.out or self.quoted
        rate = Decimal(got) / Decimal(self.amount_in)
        mid = self.mid / Decimal(self.amount_in)
        cost_bps = (1 - Decimal(got) / self.mid) * BPS if self.mid else Decimal(0)
        return (f"AMM swap {self.legs[0].source}->{self.legs[-1].target} through {path} "
                f"({fee_text}): {rate:.6g} {self.legs[-1].target}/{self.legs[0].source} "
                f"(mid {mid:.6g}; fee and price impact {cost_bps:.1f} bp; limit {limit_bps} bp)")


@dataclass(frozen=True, slots=True)
class ArbitrageTrade:
    """One arbitrage swap, as mined."""

    at: float
    pool: str
    zero_in: bool
    amount_in: int
    amount_out: int
    expected_profit_usd: float
    ok: bool


class AmmMarket:
    """The pools of the payments' conversions, their mirrors, the transactions that swap in
    them and the arbitrageurs who trade them back to the mid.

    Parameters
    ----------
    fx : the rail's FX settings (``route = "amm"``)
    rate : the network's mid rate function, ``rate(source, target)``
    pairs : the (sent, delivered) currency pairs the payments convert
    """

    def __init__(self, fx: FxSpec, rate: Callable[[str, str], Decimal],
                 pairs: Sequence[tuple[str, str]]) -> None:
        self.fx, self.rate = fx, rate
        everything = AmmPools(fx.pools, rate, fx.hub)
        everything.check_paths(pairs)
        used = sorted({leg.pool for s, d in pairs if s != d
                       for leg in everything.path(s, d) or ()})
        self.pools = AmmPools({k: fx.pools[k] for k in used}, rate, fx.hub)
        self.pools.seed("amm_liquidity_provider", 0)
        self.setups = [PoolSetup(k, fx.pools[k].fee_bps, *self.pools.initial_reserves(k))
                       for k in used]
        self.limit_bps = fx.max_slippage_bps
        self.trades: list[ArbitrageTrade] = []
        self._router = ""
        self._addresses: dict[str, str] = {}
        self._env: simpy.Environment | None = None
        self._producer: Any = None
        self._market: Any = None
        self._profile: Any = None
        self._watching: set[str] = set()
        self._fee_text: dict[tuple[Leg, ...], str] = {}
        self._dealt: dict[tuple[str, str], Decimal] = {}

    def currencies(self) -> set[str]:
        """Every currency a used pool holds (the chain needs their tokens)."""
        return self.pools.currencies()

    def attach(self, env: simpy.Environment, addresses: Any, producer: Any, market: Any,
               profile: Any) -> None:
        """Join the rail's environment, its contracts' addresses and its block producer."""
        self._env, self._producer, self._market, self._profile = env, producer, market, profile
        self._router = addresses["amm_router"] if self.setups else ZERO_ADDRESS
        self._addresses = {k: v for k, v in addresses.by_key.items()}

    @property
    def router(self) -> str:
        """The router's address: the escrow's payer of every lock it made."""
        return self._router

    # -- the payments' side ----------------------------------------------------
    def dealt_rate(self, source: str, target: str) -> Decimal:
        """The rate a small payment gets: the mid less every leg's fee (no price impact);
        what the ``OUR`` gross-up aims at before the swap's own price is known."""
        key = (source, target)
        d = self._dealt.get(key)
        if d is None:
            legs = self.pools.path(source, target)
            if legs is None:
                raise InputError(f"fx.pools: no pool converts {source} to {target}")
            d = self._dealt[key] = self.rate(source, target) * self.pools.fee_factor(legs)
        return d

    def order(self, source: str, target: str, amount_in: int) -> SwapOrder:
        """A payment's quote: the pools' output now, and the least output it accepts: the
        mid rate less the pools' fees and the slippage limit (so a price impact, or a move
        of the pools before the swap is mined, beyond the limit is refused)."""
        legs = self.pools.path(source, target)
        assert legs is not None, "paths are checked when the market is built"
        quoted = self.pools.quote(legs, amount_in)
        mid = self.pools.mid_out(legs, amount_in)
        least = mid * self.pools.fee_factor(legs) * (BPS - self.limit_bps) / BPS
        min_out = int(least.to_integral_value(rounding=ROUND_FLOOR))
        return SwapOrder(legs, amount_in, quoted, max(min_out, 1), mid)

    def refused(self, order: SwapOrder) -> str | None:
        """Why a payment does not send its swap: the quote is already below its least
        acceptable output (``None``: it sends it)."""
        if order.quoted >= order.min_out:
            return None
        return (f"AMM slippage beyond the limit: the pools' price impact exceeds the "
                f"{self.limit_bps} bp slippage limit")

    def fee_text(self, legs: tuple[Leg, ...]) -> str:
        t = self._fee_text.get(legs)
        if t is None:
            fees = [self.pools.mirrors[leg.pool].fee_bps for leg in legs]
            t = self._fee_text[legs] = "pool fee " + " + ".join(f"{f} bp" for f in fees)
        return t

    def lock_op(self, order: SwapOrder, sender: str, token_in: str,
                terms: tuple[Any, ...], payment_id: str, now: float) -> TxOp:
        """The payment's ``AmmRouter.swapAndLock`` transaction (``terms``: the lock's, their
        amount replaced by the output)."""
        legs = order.legs
        pool1 = self._addresses[f"pool:{legs[0].pool}"]
        pool2 = self._addresses[f"pool:{legs[1].pool}"] if len(legs) == 2 else ZERO_ADDRESS
        deadline = int(now) + _SWAP_DEADLINE_S
        op = TxOp(amm_kind("amm_lock", [leg.zero_in for leg in legs]), sender, "AmmRouter",
                  "amm_router", "swapAndLock",
                  (token_in, order.amount_in, pool1, pool2, order.min_out, deadline, terms),
                  payment_id)

        def apply(timestamp: int) -> str | None:
            out, error = self.pools.swap(legs, order.amount_in, order.min_out, timestamp,
                                         deadline)
            order.out, order.error = out, error
            if error is None:
                for leg in legs:
                    self._poke(leg.pool)
            return error

        op.apply = apply
        return op

    def reclaim_op(self, sender: str, terms: tuple[Any, ...], payment_id: str) -> TxOp:
        """The ordering bank's ``AmmRouter.reclaim`` of a lock past its deadline."""
        return TxOp("amm_reclaim", sender, "AmmRouter", "amm_router", "reclaim", (terms,),
                    payment_id)

    # -- the arbitrageurs -------------------------------------------------------
    def _poke(self, pool: str) -> None:
        """A pool moved: the arbitrageurs look at it after their latency."""
        arb = self.fx.arbitrage
        if not arb.enabled or pool in self._watching or self._env is None:
            return
        self._watching.add(pool)
        self._env.process(self._arbitrage(pool))

    def _gas_usd(self, gas: int) -> Decimal:
        p, m = self._profile, self._market
        fm = p.fee_market
        per_gas = m.base_fee_wei + m.tip_wei if fm.kind == "eip1559" else 0
        native = Decimal(int(gas) * per_gas) + Decimal(fm.fixed_fee_native) * _WEI
        return native / _WEI * Decimal(p.native_price_usd) + Decimal(fm.l1_data_fee_usd)

    def _usd(self, ccy: str, tokens: Decimal) -> Decimal:
        return tokens / Decimal(10**TOKEN_DECIMALS) * self.rate(ccy, "USD")

    def _arbitrage(self, key: str) -> Generator[Any, Any, None]:
        env, arb = self._env, self.fx.arbitrage
        assert env is not None
        yield env.timeout(arb.latency_s)
        self._watching.discard(key)
        trade = self.best_trade(key)
        if trade is None:
            return
        zero_in, amount_in, out, ccy_in, ccy_out = trade
        mirror = self.pools.mirrors[key]
        op = TxOp(amm_kind("amm_swap", [zero_in]), ARBITRAGEUR, "AmmPool", f"pool:{key}",
                  "swap", (self._addresses[f"token:{ccy_in}"], amount_in, 0,
                           named_address(ARBITRAGEUR), int(env.now) + _ARB_DEADLINE_S))
        gas_usd = self._gas_usd(self._producer.ledger.estimate(op))
        # profit at the mid, less the funding of what they put in
        value_in = self._usd(ccy_in, Decimal(amount_in))
        funding = value_in * Decimal(str(arb.funding_rate)) * Decimal(str(arb.hold_hours)) \
            * 3600 / _SECONDS_PER_YEAR
        gross = self._usd(ccy_out, Decimal(out)) - value_in
        profit = gross - gas_usd - funding
        if profit <= Decimal(str(arb.min_profit_usd)):
            return
        # break-even: the least output that still covers the input, gas and funding
        need_usd = value_in + gas_usd + funding
        min_out = int((need_usd / self.rate(ccy_out, "USD") * 10**TOKEN_DECIMALS)
                      .to_integral_value(rounding=ROUND_FLOOR)) + 1
        args = list(op.args)
        args[2] = min(min_out, out)
        op = TxOp(op.kind, op.sender, op.contract, op.target, op.function, tuple(args))
        deadline = int(args[4])
        result: dict[str, Any] = {}

        def apply(timestamp: int) -> str | None:
            try:
                got = mirror.swap(zero_in, amount_in, int(args[2]), timestamp, deadline)
            except Exception as exc:   # PoolRevert: the contract's error
                result["out"] = 0
                return str(getattr(exc, "error", exc))
            result["out"] = got
            return None

        op.apply = apply
        yield self._producer.submit(op)
        r, _fee, _about = op.outcome
        self.trades.append(ArbitrageTrade(float(env.now), key, zero_in, amount_in,
                                          int(result.get("out", 0)), float(profit), r.ok))

    def best_trade(self, key: str) -> tuple[bool, int, int, str, str] | None:
        """The swap bringing pool ``key``'s marginal rate after its fee back to the mid:
        ``(zero_in, amount in, output, currency in, currency out)``, or ``None`` when the
        pool is within its fee of the mid (no trade pays)."""
        m = self.pools.mirrors[key]
        a, b = self.pools.tokens[key]
        gamma = 1 - Decimal(m.fee_bps) / BPS
        mid = self.rate(a, b)            # tokens of b per token of a (both 6 decimals)
        for zero_in in (True, False):
            x, y = (m.reserve0, m.reserve1) if zero_in else (m.reserve1, m.reserve0)
            price = mid if zero_in else 1 / mid
            if gamma * Decimal(y) / Decimal(x) <= price:
                continue
            root = (gamma * Decimal(x) * Decimal(y) / price).sqrt()
            amount = int(((root - Decimal(x)) / gamma).to_integral_value(rounding=ROUND_FLOOR))
            if amount <= 0:
                return None
            out = m.quote(zero_in, amount)
            if out <= 0:
                return None
            return (zero_in, amount, out, a if zero_in else b, b if zero_in else a)
        return None


def token_units(minor: int, ccy: str) -> int:
    """Token units (6 decimals) of ``minor`` minor units of ``ccy``."""
    return minor * 10 ** (TOKEN_DECIMALS - minor_exponent(ccy))
