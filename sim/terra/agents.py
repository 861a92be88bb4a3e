"""The agents of a run: holders, their social graph, arbitrageurs, the reserve defender,
and the governance token's own market.

Every agent acts through a :class:`~sim.terra.ledger.TerraLedger` (swaps,
redemptions, transfers) via :class:`Tx`, which records each call in the run's
transaction table, successful or reverted. Decisions come from quotes of the
same ledger and from the agents' own seeded draws, so the same run on the
mirror and on the contracts takes the same decisions.

* :class:`Holders`: yield-seeking Anchor depositors, large holders and retail, each
  agent with a panic threshold drawn from its class's normal distribution (at most
  :data:`MAX_THRESHOLD`); an agent looks at the market at its class's hourly rate and
  panics when it sees the price below its threshold, or by contagion at
  ``rate_per_hour`` times the share of its neighbours (a networkx graph) who have
  exited. A panicked agent, each time it looks, sells a fraction of what it holds
  into the secondary pool (an Anchor depositor first
  withdraws it: a transfer from Anchor), with a slippage limit against the price it
  saw; a sale that would breach it reverts and is tried again next step.
* :class:`Arbitrageurs`: buy the stablecoin in the pool when it is below the peg,
  redeem it through the market module for the governance token, sell that in its own
  market (and the reverse above the peg); the size is the most profitable of a ladder
  of sizes, quoted on the ledger.
* :class:`Defender`: sells a finite reserve (USD stablecoins first, then BTC at a
  price path with its own linear price impact) to buy the stablecoin while its price
  is below ``defend_below``, at most a tranche an hour.
* :class:`GovMarket`: the governance token's own market, a constant-product pool
  (its reserves are the ``gov_market`` account's balances); it feeds the oracle.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import networkx as nx
import numpy as np
import scipy.sparse as sp

from sim.terra import market
from sim.terra.ledger import TerraRevert
from sim.terra.pool import quote_pool_out

if TYPE_CHECKING:
    from sim.terra.ledger import TerraLedger, TerraState
    from sim.terra.settings import HolderClass, TerraSettings

__all__ = [
    "CLASSES",
    "Arbitrageurs",
    "Defender",
    "GovMarket",
    "Holders",
    "Tx",
    "revert_reason",
    "social_graph",
]

#: No holder panics at a price above this (modelling choice: within 50 bp of the peg is
#: the pool's ordinary noise, and the pool's own fee keeps a seller 4 bp below par).
MAX_THRESHOLD = 0.995
#: Holder classes, in the order they act within a block (the sophisticated first).
CLASSES = ("large", "anchor", "retail")
MICRO = 10**6
WAD = 10**18
ANCHOR = "anchor"
GOV_MARKET = "gov_market"
DEFENDER = "defender"
BTC_DESK = "btc_desk"


@dataclass
class Tx:
    """The ledger as the agents see it: every state-changing call recorded as a row."""

    ledger: TerraLedger
    rows: list[tuple[Any, ...]] = field(default_factory=list)
    now: int = 0
    height: int = 0

    def _call(self, kind: str, agent: str, tin: str, amount: int, tout: str,
              fn: Callable[[], int | None]) -> int | None:
        try:
            out = fn()
        except TerraRevert as exc:
            self.rows.append((self.now, self.height, kind, agent, tin, amount, tout, 0,
                              "reverted", revert_reason(exc)))
            return None
        self.rows.append((self.now, self.height, kind, agent, tin, amount, tout,
                          int(out or 0) if tout else 0, "ok", ""))
        return int(out or 0)

    def transfer(self, token: str, src: str, dst: str, amount: int) -> bool:
        """``amount`` of ``token`` from ``src`` to ``dst``; False if it reverted."""
        def go() -> int:
            self.ledger.transfer(token, src, dst, amount)
            return amount
        return self._call("transfer", f"{src}>{dst}", token, amount, token, go) is not None

    def pool_swap(self, agent: str, sell: str, amount: int, min_out: int = 0) -> int | None:
        """Sell in the secondary pool; what came out, or None if it reverted."""
        buy = "fiat" if sell == "stable" else "stable"
        return self._call("pool_swap", agent, sell, amount, buy,
                          lambda: self.ledger.pool_swap(agent, sell, amount, min_out))

    def swap_to_gov(self, agent: str, amount: int, min_out: int = 0) -> int | None:
        """Redeem the stablecoin through the market module."""
        return self._call("swap_to_gov", agent, "stable", amount, "gov",
                          lambda: self.ledger.swap_to_gov(agent, amount, min_out))

    def swap_to_stable(self, agent: str, amount: int, min_out: int = 0) -> int | None:
        """Mint the stablecoin through the market module."""
        return self._call("swap_to_stable", agent, "gov", amount, "stable",
                          lambda: self.ledger.swap_to_stable(agent, amount, min_out))


def revert_reason(exc: TerraRevert) -> str:
    """A revert's reason as text: the custom error's name and arguments."""
    name, args = exc.reason
    return f"{name}({', '.join(str(a) for a in args)})"


def social_graph(kind: str, n: int, degree: int, rewire: float,
                 rng: np.random.Generator) -> sp.csr_matrix:
    """The holders' social graph as a row-normalised adjacency matrix (row ``i``: the
    weights ``1/deg(i)`` of ``i``'s neighbours), seeded from ``rng``.

    >>> g = social_graph("watts_strogatz", 20, 4, 0.1, np.random.default_rng(1))
    >>> g.shape, round(float(g.sum(axis=1).max()), 6)
    ((20, 20), 1.0)
    """
    seed = int(rng.integers(0, 2**31 - 1))
    if kind == "watts_strogatz":
        g = nx.connected_watts_strogatz_graph(n, min(degree, n - 1), rewire, seed=seed)
    elif kind == "barabasi_albert":
        g = nx.barabasi_albert_graph(n, max(1, min(degree // 2, n - 1)), seed=seed)
    else:
        raise ValueError(f"contagion.graph: {kind!r}; allowed: watts_strogatz, barabasi_albert")
    a = nx.to_scipy_sparse_array(g, nodelist=range(n), format="csr", dtype=float)
    deg = np.asarray(a.sum(axis=1)).ravel()
    deg[deg == 0] = 1.0
    return sp.csr_matrix(sp.diags(1.0 / deg) @ a)


class GovMarket:
    """The governance token's market: a constant product over the ``gov_market``
    account's ledger balances (no fee; a modelling choice)."""

    def __init__(self, ledger: TerraLedger) -> None:
        self.ledger = ledger
        self._reserves: tuple[int, int] | None = None

    def refresh(self) -> None:
        """Read the reserves from the ledger again (after anything else moved them)."""
        self._reserves = None

    def reserves(self) -> tuple[int, int]:
        """(gov, fiat) held by the market (read once from the ledger, then kept up to
        date by this market's own trades)."""
        if self._reserves is None:
            self._reserves = (self.ledger.balance("gov", GOV_MARKET),
                              self.ledger.balance("fiat", GOV_MARKET))
        return self._reserves

    def price_wad(self) -> int:
        """USD per whole governance token, WAD (at least 1)."""
        g, f = self.reserves()
        return max(1, f * WAD // max(g, 1))

    def sell_quote(self, gov_in: int) -> int:
        """Fiat out for ``gov_in`` sold."""
        g, f = self.reserves()
        return f * gov_in // (g + gov_in) if gov_in > 0 else 0

    def buy_quote(self, fiat_in: int) -> int:
        """Gov out for ``fiat_in`` paid."""
        g, f = self.reserves()
        return g * fiat_in // (f + fiat_in) if fiat_in > 0 else 0

    def sell(self, tx: Tx, agent: str, gov_in: int) -> int:
        """``agent`` sells ``gov_in``: two transfers; the fiat received."""
        out = self.sell_quote(gov_in)
        if out <= 0 or not tx.transfer("gov", agent, GOV_MARKET, gov_in):
            return 0
        tx.transfer("fiat", GOV_MARKET, agent, out)
        self.refresh()
        return out

    def buy(self, tx: Tx, agent: str, fiat_in: int) -> int:
        """``agent`` buys with ``fiat_in``: two transfers; the gov received."""
        out = self.buy_quote(fiat_in)
        if out <= 0 or not tx.transfer("fiat", agent, GOV_MARKET, fiat_in):
            return 0
        tx.transfer("gov", GOV_MARKET, agent, out)
        self.refresh()
        return out


class Holders:
    """The holders of the stablecoin (vectorised): balances, thresholds, panic, exits.

    ``deposit[i]`` is what agent ``i`` holds in Anchor (the ``anchor`` account holds
    their sum on the ledger), ``wallet[i]`` what it holds itself.
    """

    def __init__(self, settings: TerraSettings, rng: np.random.Generator,
                 stable_micro: dict[str, int]) -> None:
        n = settings.run.agents
        classes = settings.holders.classes()
        counts = _counts(n, [classes[c].agents_share for c in CLASSES])
        self.n = n
        self.cls = np.repeat(np.arange(len(CLASSES)), counts)
        self.names = [f"h{i}" for i in range(n)]
        th = np.empty(n)
        checks = np.empty(n)
        sell = np.empty(n)
        slip = np.empty(n, dtype=np.int64)
        self.deposit = [0] * n
        self.wallet = [0] * n
        for k, name in enumerate(CLASSES):
            hc: HolderClass = classes[name]
            idx = np.flatnonzero(self.cls == k)
            th[idx] = np.clip(rng.normal(hc.threshold_mean, hc.threshold_sd, idx.size),
                              1e-6, MAX_THRESHOLD)
            checks[idx] = hc.checks_per_hour
            sell[idx] = hc.sell_fraction
            slip[idx] = hc.slippage_bps
            total = stable_micro[name]
            if idx.size == 0:
                continue
            # a class's UST split by lognormal weights (modelling choice: sigma 1)
            w = rng.lognormal(0.0, 1.0, idx.size)
            parts = _split(total, w)
            for i, v in zip(idx.tolist(), parts, strict=True):
                if name == "anchor":
                    self.deposit[i] = v
                else:
                    self.wallet[i] = v
        self.threshold, self.checks_per_hour, self.sell_fraction = th, checks, sell
        self.slippage_bps = slip
        self.graph = social_graph(settings.contagion.graph, n, settings.contagion.degree,
                                  settings.contagion.rewire, rng)
        self.rate = settings.contagion.rate_per_hour
        self.panicked = np.zeros(n, dtype=bool)
        self.checking = np.zeros(n, dtype=bool)
        self.exited = np.zeros(n, dtype=bool)
        self.rng = rng
        self.initial = np.array([d + w for d, w in zip(self.deposit, self.wallet,
                                                       strict=True)], dtype=float)

    def genesis_balances(self) -> dict[tuple[str, str], int]:
        """The holders' ledger balances at genesis (wallets, and Anchor's total)."""
        out = {("stable", self.names[i]): v for i, v in enumerate(self.wallet) if v}
        out[("stable", ANCHOR)] = sum(self.deposit)
        return out

    def decide(self, price: float, dt_h: float) -> None:
        """Who panics this step: a check of the price below one's threshold, or contagion
        from exited neighbours. Two uniform draws per agent per step, always made."""
        u_check = self.rng.random(self.n)
        u_cont = self.rng.random(self.n)
        p_check = 1.0 - np.exp(-self.checks_per_hour * dt_h)
        self.checking = u_check < p_check
        seen = self.checking & (price < self.threshold)
        share_gone = self.graph @ self.exited.astype(float)
        p_cont = 1.0 - np.exp(-self.rate * share_gone * dt_h)
        caught = u_cont < p_cont
        self.panicked |= (seen | caught) & ~self.exited

    def exit_step(self, tx: Tx, price: float, order: np.ndarray | None = None) -> int:
        """Panicked agents who look at the market this step sell; the sales made."""
        sales = 0
        idx = np.flatnonzero(self.panicked & ~self.exited & self.checking)
        # the sophisticated first (class order), then by index
        idx = idx[np.argsort(self.cls[idx], kind="stable")]
        for i in idx.tolist():
            held = self.deposit[i] + self.wallet[i]
            if held <= 0:
                self.exited[i] = True
                continue
            amt = held if self.sell_fraction[i] >= 1.0 else max(
                1, math.ceil(held * float(self.sell_fraction[i])))
            amt = min(amt, held)
            name = self.names[i]
            if self.wallet[i] < amt:
                take = min(self.deposit[i], amt - self.wallet[i])
                if tx.transfer("stable", ANCHOR, name, take):
                    self.deposit[i] -= take
                    self.wallet[i] += take
                amt = min(amt, self.wallet[i])
            if amt <= 0:
                continue
            min_out = int(amt * price * (10_000 - int(self.slippage_bps[i])) / 10_000)
            out = tx.pool_swap(name, "stable", amt, min_out)
            if out is not None:
                sales += 1
                self.wallet[i] -= amt
                if self.deposit[i] + self.wallet[i] == 0:
                    self.exited[i] = True
        return sales

    def exited_share(self) -> float:
        """Share of holder agents who have sold everything."""
        return float(self.exited.mean())

    def exited_value_share(self) -> float:
        """Share of the holders' 7 May UST that has been sold."""
        left = np.array([d + w for d, w in zip(self.deposit, self.wallet, strict=True)],
                        dtype=float)
        tot = self.initial.sum()
        return float(1.0 - left.sum() / tot) if tot > 0 else 0.0


class Arbitrageurs:
    """Arbitrage between the secondary pool and the market module, through the
    governance token's market."""

    def __init__(self, settings: TerraSettings, capital_micro: int) -> None:
        self.names = [f"arb{j}" for j in range(settings.arbitrage.agents)]
        self.capital = capital_micro
        self.min_profit_bps = settings.arbitrage.min_profit_bps
        self.rungs = settings.arbitrage.rungs

    def genesis_balances(self) -> dict[tuple[str, str], int]:
        """Each arbitrageur's fiat."""
        return {("fiat", a): self.capital for a in self.names if self.capital}

    # quotes from one read of the ledger's state, by the contracts' own integer arithmetic
    # (the mirror's functions, proven equal to the contracts by the differential tests):
    # the same decisions on either ledger, without a call to the chain per rung
    @staticmethod
    def _down(st: TerraState, gm: GovMarket, s: int) -> tuple[int, int, int]:
        p = st.params
        try:
            q = quote_pool_out(st.pool_fiat, st.pool_stable, s, amp=p.pool_amp,
                               fee_bps=p.pool_fee_bps)
            g = market.quote_to_gov(q, delta=st.delta, base_pool=p.base_pool,
                                    min_spread_bps=p.min_spread_bps,
                                    price_wad=st.gov_price_wad).out
        except TerraRevert:
            return 0, 0, -s
        return q, g, gm.sell_quote(g) - s

    @staticmethod
    def _up(st: TerraState, gm: GovMarket, s: int) -> tuple[int, int, int]:
        p = st.params
        g = gm.buy_quote(s)
        try:
            q = market.quote_to_stable(g, delta=st.delta, base_pool=p.base_pool,
                                       min_spread_bps=p.min_spread_bps,
                                       price_wad=st.gov_price_wad).out
            f = quote_pool_out(st.pool_stable, st.pool_fiat, q, amp=p.pool_amp,
                               fee_bps=p.pool_fee_bps)
        except TerraRevert:
            return 0, 0, -s
        return g, q, f - s

    def act(self, tx: Tx, gm: GovMarket, price: float) -> int:
        """Each arbitrageur takes its most profitable size, if any; the trades made."""
        led = tx.ledger
        trades = 0
        down = price < 1.0
        quote = self._down if down else self._up
        for a in self.names:
            cap = led.balance("fiat", a)
            if cap <= 0:
                continue
            sizes = [cap >> k for k in range(self.rungs - 1, -1, -1) if cap >> k > 0]
            best: tuple[int, int, int, int] | None = None
            st = led.state()
            gm.refresh()
            for s in sizes:           # smallest first: profit is concave in the size
                x, y, profit = quote(st, gm, s)
                if profit * 10_000 < s * self.min_profit_bps or x <= 0 or y <= 0:
                    break
                if best is None or profit > best[3]:
                    best = (s, x, y, profit)
            if best is None:
                continue
            s, x, y, _ = best
            if down:
                q = tx.pool_swap(a, "fiat", s, x)
                if q is None:
                    continue
                g = tx.swap_to_gov(a, q, y)
                if g is None:
                    continue
                gm.sell(tx, a, g)
            else:
                g = gm.buy(tx, a, s)
                if g <= 0:
                    continue
                q = tx.swap_to_stable(a, g, x)
                if q is None:
                    continue
                tx.pool_swap(a, "stable", q, y)
            trades += 1
        return trades


class Defender:
    """The reserve defender (the Luna Foundation Guard): sells its reserve to buy the
    stablecoin in the pool while the price is below ``defend_below``."""

    def __init__(self, settings: TerraSettings) -> None:
        r = settings.reserve
        scale = settings.run.scale
        self.below = r.defend_below
        self.tranche_per_h = int(r.tranche_usd_per_hour * scale * MICRO)
        self.btc_total = r.amount("BTC") * scale
        self.btc_left = self.btc_total
        self.usd_stables = int((r.amount("USDT") + r.amount("USDC")) * scale * MICRO)
        self.impact = r.btc_impact
        self.path_t = np.array([t.timestamp() for t, _ in r.btc_price])
        self.path_p = np.array([p for _, p in r.btc_price])
        self.spent = 0          # µUSD spent buying the stablecoin
        self.bought = 0         # µ stablecoin bought

    def genesis_balances(self) -> dict[tuple[str, str], int]:
        """The defender's USD stablecoins, and the BTC buyers' fiat (enough for all of it
        at twice its dearest price)."""
        desk = int(self.btc_total * float(self.path_p.max()) * 2 * MICRO)
        out = {}
        if self.usd_stables:
            out[("fiat", DEFENDER)] = self.usd_stables
        if desk:
            out[("fiat", BTC_DESK)] = desk
        return out

    def btc_price(self, t: float) -> float:
        """USD per BTC at ``t``: the path, less the defender's own impact so far."""
        base = float(np.interp(t, self.path_t, self.path_p))
        sold = 1.0 - self.btc_left / self.btc_total if self.btc_total > 0 else 0.0
        return base * (1.0 - self.impact * sold)

    def reserve_usd(self, t: float, fiat: int) -> float:
        """What is left, in µUSD: its fiat and its BTC at today's price."""
        return fiat + self.btc_left * self.btc_price(t) * MICRO

    def act(self, tx: Tx, price: float, dt_h: float) -> int:
        """Buy with at most a tranche this step; µUSD spent."""
        if price >= self.below:
            return 0
        budget = int(self.tranche_per_h * dt_h)
        fiat = tx.ledger.balance("fiat", DEFENDER)
        if fiat < budget and self.btc_left > 0:
            px = self.btc_price(tx.now)
            need = budget - fiat
            btc = min(self.btc_left, need / (px * MICRO))
            usd = int(btc * px * MICRO)
            if usd > 0 and tx.transfer("fiat", BTC_DESK, DEFENDER, usd):
                self.btc_left -= btc
                if self.btc_left * px < 1.0:    # less than a dollar's worth: all sold
                    self.btc_left = 0.0
                fiat += usd
        spend = min(budget, fiat)
        if spend <= 0:
            return 0
        out = tx.pool_swap(DEFENDER, "fiat", spend, 0)
        if out is None:
            return 0
        self.spent += spend
        self.bought += out
        return spend


def _counts(n: int, shares: list[float]) -> list[int]:
    """``n`` split by ``shares`` (largest remainders)."""
    raw = [n * s for s in shares]
    base = [int(math.floor(x)) for x in raw]
    rest = n - sum(base)
    order = sorted(range(len(raw)), key=lambda k: (base[k] - raw[k], k))
    for k in order[:rest]:
        base[k] += 1
    return base


def _split(total: int, weights: np.ndarray) -> list[int]:
    """``total`` split in proportion to ``weights``, exactly (the remainder to the last)."""
    w = weights / weights.sum()
    parts = [int(total * float(x)) for x in w]
    parts[-1] += total - sum(parts)
    return parts
