"""The run model: a SimPy clock driving the agents of :mod:`sim.terra.agents` block by block
on a :class:`~sim.terra.ledger.TerraLedger`.

From the state of 7 May 2022 (:class:`~sim.terra.settings.TerraSettings`, sizes times
``run.scale``), every ``run.step_seconds`` the model opens a block at that instant
(unless the chain is halted: then nothing happens but the clock), applies any
governance change due (Proposal 1164), feeds the oracle the governance token's price
from its own market, and lets the agents act in a fixed order: the shocks due (the
first large withdrawals of 7 May), the holders (panic by price and by contagion, then
sales), the reserve defender, the arbitrageurs, and the governance token's holders.
Then it closes the block and records one row of the time series.

:func:`run_terra` returns a :class:`TerraRun`: ``series`` (one row per step: time,
height, halted, the pool price, both supplies, the pool's reserves and imbalance, the
module's delta, the oracle price, the reserve left and spent, the share of holders
who have exited), ``transactions`` (one row per state-changing ledger call, with its
status and revert reason) and the run's figures (:meth:`TerraRun.figures`).

The same settings and seed give identical tables on the mirror and on the contracts.

>>> from sim.terra.settings import TerraSettings
>>> s = TerraSettings.default().with_changes({"run.days": 0.25, "run.agents": 50,
...                                           "run.step_seconds": 600})
>>> r = run_terra(s, seed=1)
>>> len(r.series), bool(r.series["price"].iloc[0] > 0.99)
(37, True)
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import simpy

from sim.errors import InputError
from sim.terra.agents import (
    DEFENDER,
    GOV_MARKET,
    MICRO,
    WAD,
    Arbitrageurs,
    Defender,
    GovMarket,
    Holders,
    Tx,
)
from sim.terra.ledger import MarketParams, TerraLedger, TerraRevert
from sim.terra.pool import quote_pool_out
from sim.terra.settings import TerraSettings

__all__ = [
    "SERIES_COLUMNS",
    "TX_COLUMNS",
    "TerraRun",
    "make_ledger",
    "market_params",
    "peg_recovery",
    "run_terra",
]

SERIES_COLUMNS = (
    "time", "height", "halted", "price", "stable_supply", "gov_supply", "fiat_supply",
    "pool_stable", "pool_fiat", "pool_imbalance", "delta", "gov_price", "reserve_usd",
    "reserve_spent_usd", "btc_left", "exited_share", "exited_value_share", "sales",
    "arbitrage_trades")
TX_COLUMNS = ("time", "height", "kind", "agent", "token_in", "amount_in", "token_out",
              "amount_out", "status", "reason")
GOV_HOLDERS = "gov_holders"
WHALE = "whale"


def market_params(s: TerraSettings, *, base_pool_sdr: float | None = None,
                  recovery_period: int | None = None,
                  min_spread_bps: int | None = None) -> MarketParams:
    """The module's parameters in µUSD (BasePool SDR × SDR/USD × scale)."""
    m = s.market
    sdr = m.base_pool_sdr if base_pool_sdr is None else base_pool_sdr
    return MarketParams(
        base_pool=max(1, int(round(sdr * m.sdr_usd * s.run.scale * MICRO))),
        recovery_period=m.recovery_period if recovery_period is None else recovery_period,
        min_spread_bps=m.min_spread_bps if min_spread_bps is None else min_spread_bps,
        block_time_s=m.block_time_s,
        pool_fee_bps=m.pool_fee_bps, pool_amp=m.pool_amp)


def make_ledger(kind: str) -> TerraLedger:
    """A fresh ledger: ``"mirror"`` (exact Python mirror) or ``"contracts"`` (the real
    contracts on the embedded chain)."""
    from sim.terra import ledger as terra_ledger

    if kind == "mirror":
        return terra_ledger.MirrorLedger()
    if kind == "contracts":
        cls = getattr(terra_ledger, "ContractLedger", None)
        if cls is None:
            raise InputError("terra ledger 'contracts': the contracts ledger is not built "
                             "in this version; allowed: mirror")
        return cls()  # type: ignore[no-any-return]
    raise InputError(f"terra ledger {kind!r}; allowed: mirror, contracts")


@dataclass
class TerraRun:
    """A run's tables and what it ran with."""

    settings: TerraSettings
    seed: int
    ledger: str
    series: pd.DataFrame
    transactions: pd.DataFrame
    meta: dict[str, Any] = field(default_factory=dict)

    def daily(self) -> pd.DataFrame:
        """Per UTC day: the pool price's low and close, the governance token's supply
        and price at the close, the reserve spent by then (unscaled USD)."""
        s = self.series
        day = pd.to_datetime(s["time"], unit="s", utc=True).dt.date
        g = s.groupby(day)
        return pd.DataFrame({
            "price_low": g["price"].min(), "price_close": g["price"].last(),
            "gov_supply": g["gov_supply"].last(), "gov_price": g["gov_price"].last(),
            "reserve_spent_usd": g["reserve_spent_usd"].last(),
            "exited_share": g["exited_share"].last()})

    def market_value(self) -> pd.Series:
        """UST plus LUNA market value (unscaled USD) at each step."""
        s = self.series
        return s["stable_supply"] * s["price"] + s["gov_supply"] * s["gov_price"]

    def value_lost_3d(self) -> float:
        """The largest fall of the market value over any three days (unscaled USD)."""
        v = self.market_value().to_numpy()
        t = self.series["time"].to_numpy()
        best = 0.0
        j = 0
        peak_idx: list[int] = []
        # a running maximum over the trailing three-day window (monotone deque)
        for i in range(len(v)):
            while peak_idx and v[peak_idx[-1]] <= v[i]:
                peak_idx.pop()
            peak_idx.append(i)
            while t[i] - t[j] > 3 * 86_400:
                j += 1
            while peak_idx[0] < j:
                peak_idx.pop(0)
            best = max(best, float(v[peak_idx[0]] - v[i]))
        return best

    def recovery(self) -> dict[str, Any]:
        """Whether the peg was back above ``run.peg_level`` within ``run.recovery_days``
        (see :func:`peg_recovery`)."""
        r = self.settings.run
        return peg_recovery(self.series["time"].to_numpy(), self.series["price"].to_numpy(),
                            r.peg_level, r.recovery_days)

    def summary(self) -> dict[str, Any]:
        """The run's headline figures (unscaled USD)."""
        s = self.series
        last = s.iloc[-1]
        return {"ledger": self.ledger, "seed": self.seed, "steps": len(s),
                "transactions": len(self.transactions),
                "reverted": int((self.transactions["status"] == "reverted").sum())
                if len(self.transactions) else 0,
                "price_min": float(s["price"].min()), "price_final": float(last["price"]),
                "gov_supply_final": float(last["gov_supply"]),
                "gov_price_final": float(last["gov_price"]),
                "reserve_spent_usd": float(last["reserve_spent_usd"]),
                "exited_share": float(last["exited_share"]),
                "value_lost_3d_usd": self.value_lost_3d(),
                "peg_level": self.settings.run.peg_level,
                "recovery_days": self.settings.run.recovery_days, **self.recovery()}


def peg_recovery(times: Sequence[float] | np.ndarray, prices: Sequence[float] | np.ndarray,
                 level: float, days: float) -> dict[str, Any]:
    """Was the price back at or above ``level`` ``days`` after it first fell below it?

    The price counted is the last step's at or before ``first break + days`` (a brief
    touch of the level in between does not count as back). Returns ``peg_broken`` (it
    fell below at all), ``peg_back`` (True when it never broke, or was back by then;
    False also when the run ends before then), ``peg_broken_at`` (UTC seconds or
    None), ``first_back_at`` (the first step back at the level after the break, or
    None), ``days_below`` (time below ``level``, days).

    >>> peg_recovery([0, 86400, 2 * 86400, 3 * 86400], [1.0, 0.9, 0.99, 0.99], 0.98, 1.5)
    ... # doctest: +ELLIPSIS
    {'peg_broken': True, 'peg_back': True, 'peg_broken_at': 86400.0, ...}
    >>> peg_recovery([0, 86400, 2 * 86400, 5 * 86400], [1.0, 0.9, 0.99, 0.5], 0.98, 4)[
    ...     "peg_back"]
    False
    """
    t = np.asarray(times, dtype=float)
    p = np.asarray(prices, dtype=float)
    below = p < level
    dt = np.diff(t, append=t[-1] if len(t) else 0.0)
    days_below = float((dt * below).sum() / 86_400)
    if not below.any():
        return {"peg_broken": False, "peg_back": True, "peg_broken_at": None,
                "first_back_at": None, "days_below": days_below}
    i0 = int(np.flatnonzero(below)[0])
    t0 = float(t[i0])
    after = np.flatnonzero((~below) & (t > t0))
    first_back = float(t[after[0]]) if len(after) else None
    due = t0 + days * 86_400
    if len(t) == 0 or t[-1] < due:
        back = False                      # the run ends before the window does
    else:
        j = int(np.searchsorted(t, due, side="right")) - 1
        back = bool(p[j] >= level)
    return {"peg_broken": True, "peg_back": back, "peg_broken_at": t0,
            "first_back_at": first_back, "days_below": days_below}


class _Model:
    """One run's state: the ledger, the agents, and the recorders."""

    def __init__(self, s: TerraSettings, seed: int, ledger: TerraLedger) -> None:
        self.s, self.ledger = s, ledger
        self.rng = np.random.default_rng(np.random.SeedSequence(seed))
        scale = s.run.scale
        st = s.state

        def micro(usd: float) -> int:
            return int(round(usd * scale * MICRO))

        supply = micro(st.stable_supply_usd)
        pool_side = micro(st.pool_usd / 2)
        shock_total = sum(micro(x.sell_usd) for x in s.shocks)
        large = micro(st.stable_supply_usd * (s.holders.large.supply_share or 0.0))
        shares = {
            "anchor": micro(st.stable_supply_usd * st.anchor_share),
            "large": max(0, large - shock_total),
            "retail": micro(st.stable_supply_usd * (s.holders.retail.supply_share or 0.0)),
        }
        self.holders = Holders(s, self.rng, shares)
        self.arbs = Arbitrageurs(s, micro(s.arbitrage.capital_usd))
        self.defender = Defender(s)
        self.gm = GovMarket(ledger)
        gov_price_wad = int(round(st.gov_price_usd * WAD))
        gov_total = int(round(st.gov_supply * scale * MICRO))
        gm_fiat = micro(s.gov_market.depth_usd)
        gm_gov = min(gov_total, gm_fiat * WAD // gov_price_wad)
        balances: dict[tuple[str, str], int] = {}
        balances.update(self.holders.genesis_balances())
        if shock_total:
            balances[("stable", WHALE)] = shock_total
        held = sum(v for (tok, _), v in balances.items() if tok == "stable")
        idle = supply - pool_side - held
        if idle < 0:
            raise InputError("terra settings: the holders' UST and the pool's exceed the "
                             "supply; lower holders.*.supply_share or state.anchor_share")
        if idle:
            balances[("stable", "idle")] = idle
        balances.update(self.arbs.genesis_balances())
        balances.update(self.defender.genesis_balances())
        balances[("fiat", GOV_MARKET)] = gm_fiat
        balances[("gov", GOV_MARKET)] = gm_gov
        if gov_total - gm_gov:
            balances[("gov", GOV_HOLDERS)] = gov_total - gm_gov
        self.gov_price0 = self.oracle_price = gov_price_wad
        self.start, self.end, self.step = s.start_ts, s.end_ts, s.run.step_seconds
        ledger.genesis(balances, pool_side, pool_side, gov_price_wad, market_params(s),
                       self.start)
        self.tx = Tx(ledger)
        self.rows: list[tuple[Any, ...]] = []
        self.halts = [(int(h.start.timestamp()), int(h.start.timestamp() + h.hours * 3600))
                      for h in s.halts]
        self.changes = sorted(s.governance, key=lambda c: c.at)
        self.shocks = sorted(s.shocks, key=lambda x: x.at)
        self.scale = scale
        self.price = self._price()

    # -- observations ------------------------------------------------------------
    def _price(self) -> float:
        """USD per stablecoin a small seller gets from the pool now (fee included): the
        pool's own quote, worked out from the ledger's reserves and parameters."""
        st = self.ledger.state()
        probe = max(MICRO, st.pool_stable // 100_000)
        try:
            out = quote_pool_out(st.pool_stable, st.pool_fiat, probe, amp=st.params.pool_amp,
                                 fee_bps=st.params.pool_fee_bps)
        except TerraRevert:   # a drained pool quotes nothing
            return 0.0
        return out / probe

    def halted(self, t: int) -> bool:
        return any(a <= t < b for a, b in self.halts)

    def record(self, t: int, halted: bool, sales: int, trades: int) -> None:
        st = self.ledger.state()
        k = 1.0 / (self.scale * MICRO)
        fiat_def = self.ledger.balance("fiat", DEFENDER)
        self.rows.append((
            t, st.height, halted, self.price, st.stable_supply * k, st.gov_supply * k,
            st.fiat_supply * k, st.pool_stable * k, st.pool_fiat * k,
            st.pool_stable / max(1, st.pool_stable + st.pool_fiat), st.delta * k,
            st.gov_price_wad / WAD, self.defender.reserve_usd(t, fiat_def) * k,
            self.defender.spent * k, self.defender.btc_left / self.scale,
            self.holders.exited_share(), self.holders.exited_value_share(), sales, trades))

    # -- one block ---------------------------------------------------------------
    def block(self, t: int) -> tuple[int, int]:
        led, tx = self.ledger, self.tx
        dt_h = self.step / 3600.0
        led.begin_block(t)
        self.gm.refresh()
        st = led.state()
        tx.now, tx.height = t, st.height
        while self.changes and int(self.changes[0].at.timestamp()) <= t:
            c = self.changes.pop(0)
            p = market_params(self.s, base_pool_sdr=c.base_pool_sdr,
                              recovery_period=c.recovery_period,
                              min_spread_bps=c.min_spread_bps)
            led.set_params(p)
            tx.rows.append((t, st.height, "set_params", "governance", "", p.base_pool, "",
                            p.recovery_period, "ok", ""))
        self._oracle()
        price = self.price
        while self.shocks and int(self.shocks[0].at.timestamp()) <= t:
            x = self.shocks.pop(0)
            amt = min(int(round(x.sell_usd * self.scale * MICRO)), led.balance("stable", WHALE))
            if amt > 0:
                tx.pool_swap(WHALE, "stable", amt, 0)
        self.holders.decide(price, dt_h)
        sales = self.holders.exit_step(tx, price)
        self.defender.act(tx, self._price(), dt_h)
        self._oracle()
        trades = self.arbs.act(tx, self.gm, self._price())
        self._gov_holders(tx, dt_h)
        self._oracle()
        led.end_block()
        self.price = self._price()
        return sales, trades

    def _oracle(self) -> None:
        """Feed the oracle the governance token's market price, when it has moved."""
        price = self.gm.price_wad()
        if price != self.oracle_price:
            self.ledger.set_oracle_price(price)
            self.oracle_price = price

    def _gov_holders(self, tx: Tx, dt_h: float) -> None:
        g = self.s.gov_market
        if g.holders_sell_per_hour <= 0:
            return
        if self.gm.price_wad() >= self.gov_price0 * g.holders_sell_below:
            return
        held = self.ledger.balance("gov", GOV_HOLDERS)
        amt = int(held * (1.0 - np.exp(-g.holders_sell_per_hour * dt_h)))
        if amt > 0:
            self.gm.sell(tx, GOV_HOLDERS, amt)

    def process(self, env: simpy.Environment) -> Any:
        t = self.start
        self.record(t, False, 0, 0)
        while True:
            yield env.timeout(self.step)
            t = int(env.now)
            if t > self.end:
                return
            if self.halted(t):
                self.record(t, True, 0, 0)
                continue
            sales, trades = self.block(t)
            self.record(t, False, sales, trades)


def run_terra(settings: TerraSettings, *, seed: int = 1, ledger: str | TerraLedger = "mirror"
              ) -> TerraRun:
    """Run the model from the settings' 7 May state to its end.

    Parameters
    ----------
    settings : the run's settings (:meth:`TerraSettings.default` for 7-13 May 2022)
    seed : seeds every draw (thresholds, sizes, the graph, panics)
    ledger : ``"mirror"``, ``"contracts"`` or a fresh :class:`TerraLedger`

    Returns
    -------
    TerraRun
        ``series`` (columns :data:`SERIES_COLUMNS`; money and supplies in unscaled
        USD and whole tokens) and ``transactions`` (:data:`TX_COLUMNS`; amounts in
        scaled micro-units, as the ledger saw them).
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise InputError(f"seed must be a whole number >= 0, not {seed!r}")
    name = ledger if isinstance(ledger, str) else type(ledger).__name__
    led = make_ledger(ledger) if isinstance(ledger, str) else ledger
    clock = time.perf_counter()
    m = _Model(settings, seed, led)
    env = simpy.Environment(initial_time=m.start)
    env.process(m.process(env))
    env.run()
    wall = time.perf_counter() - clock
    series = pd.DataFrame(m.rows, columns=list(SERIES_COLUMNS))
    txs = pd.DataFrame(m.tx.rows, columns=list(TX_COLUMNS))
    for col in ("amount_in", "amount_out"):
        txs[col] = txs[col].astype(object)   # exact integers (may exceed int64)
    return TerraRun(settings, seed, name, series, txs,
                    {"wall_s": wall, "agents": settings.run.agents,
                     "scale": settings.run.scale, "blocks": int((~series["halted"]).sum()) - 1})
