"""How much pre-funding is needed? The baseline's nostro balances and provider float.

For the shipped ``baseline`` scenario (one replication, its seed), this prints:

1. **Nostro balances**: for every limited nostro account of the bank network, the
   smallest balance (the opening balance and the level its funding windows top it
   up to) that would have avoided every ``nostro_wait``, beside the network's own.
   Found without guessing: the correspondent rail is run once with those accounts
   unconstrained, which gives the payments' flows through each account as they
   happen when nobody waits; a balance avoids every wait exactly when replaying
   those flows with the rail's own funding rule (top up to the level at each
   window, a debit waits if the balance is short) never comes up short, and as no
   payment then waits the flows are the same. The smallest such level is found by
   bisection, to the minor unit, then checked by a run at those levels (no wait).
2. **Provider float**: likewise the smallest ``fx.inventory_usd`` (one figure for
   every currency, as the setting is) that would have avoided every wait for the
   FX provider's replenishment: the largest drawdown of any currency's inventory
   in a run with an unbounded float, in USD at the mid rate, rounded up to the
   dollar, checked by a run at that level.
3. **Liquidity cost per payment** at the baseline levels and at those smallest
   levels, per rail, at the policy rates: the payments' attributed cost (their own
   use of balances, value x time held, the ``liquidity_cost`` column), and what the
   rail's balances cost as a whole (idle pre-funding included) per payment and as %
   of all amounts sent: the figure pre-funding levels move (it is the balances' whole
   cost over only the payments this run carries, so it falls as a run carries more
   of the flows the balances serve).
4. **A sweep of the opportunity rate** from 0 to 6% (the same rate for every
   currency) of each rail's mean all-in cost (% of the amount sent) at both levels:
   fees + attributed liquidity cost, and fees + the whole balances' cost. Liquidity
   cost is linear in the rate (balance x time x rate), so each rail is run once at
   1% for each level and scaled; each payment's cost is rounded to the minor unit as
   in the tables.

Usage::

    python scripts/liquidity_study.py --payments 2000 --seed 1
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Mapping, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.balances import load_rates  # noqa: E402
from sim.banking import correspondent  # noqa: E402
from sim.banking.correspondent import _Nostro, account_name  # noqa: E402
from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Workload  # noqa: E402
from sim.experiments.components import build_components  # noqa: E402
from sim.experiments.liquidity import all_in_pct, balance_costs  # noqa: E402
from sim.experiments.runner import replication_seed  # noqa: E402
from sim.experiments.scenario import load_scenario  # noqa: E402
from sim.money import MINOR_EXPONENTS, format_minor  # noqa: E402
from sim.onchain import rail as onchain  # noqa: E402
from sim.onchain.spec import OnChainSpec  # noqa: E402

#: the opportunity rates swept (a year, the same for every currency)
RATES = (0.0, 0.01, 0.02, 0.03, 0.04, 0.05, 0.06)


def _flows(balances: pd.DataFrame, account: str) -> list[tuple[float, int]]:
    """``(time, change)`` of one account's payments, in the rail's order."""
    b = balances[(balances["account"] == account) & balances["payment_id"].notna()]
    t = b["time"].to_numpy(dtype="datetime64[us]").astype("int64") / 1e6
    return list(zip(t.tolist(), b["change"].astype(int).tolist(), strict=True))


def _short(network: BankNetwork, key: tuple[str, str, str], level: int,
           flows: Sequence[tuple[float, int]], t0: float) -> bool:
    """Whether replaying ``flows`` on the account at ``level`` (opening and target) would
    make a debit wait, under the rail's own funding rule (:class:`_Nostro`)."""
    acc = network.accounts[key]
    nos = _Nostro(acc, level, network.bank(acc.servicer).calendar, t0)
    for t, d in flows:
        nos.refresh(t)
        if d < 0 and nos.balance < -d:
            return True
        nos.balance += d
    return False


def smallest_nostros(network: BankNetwork, wl: Workload, seed: int
                     ) -> dict[tuple[str, str, str], int]:
    """Per limited nostro account, the smallest level (minor units) avoiding every wait."""
    limited = {k: v for k, v in network.balance_minor.items() if v is not None}
    saved = dict(network.balance_minor)
    try:                                 # the limited accounts unconstrained for one run
        for k in limited:
            network.balance_minor[k] = None
        res = correspondent.run(network, wl, seed)
    finally:
        network.balance_minor.update(saved)
    assert res.balances is not None
    t0 = float(res.balances["time"].min().timestamp())
    out = {}
    for key in limited:
        flows = _flows(res.balances, account_name(network.accounts[key]))
        hi = max(1, sum(-d for _, d in flows if d < 0))
        lo = 0
        if not _short(network, key, 0, flows, t0):
            out[key] = 0
            continue
        while hi - lo > 1:              # _short(lo) and not _short(hi)
            mid = (lo + hi) // 2
            if _short(network, key, mid, flows, t0):
                lo = mid
            else:
                hi = mid
        out[key] = hi
    return out


def smallest_float(network: BankNetwork, wl: Workload, seed: int, spec: OnChainSpec,
                   comp: Any) -> int:
    """The smallest ``fx.inventory_usd`` (whole USD) avoiding every wait for the provider."""
    # more than every payment's amount together: a float no payment can find short
    total = sum(Decimal(p.amount) * network.fx.rate(p.currency_sent, "USD")
                / (Decimal(10) ** MINOR_EXPONENTS[p.currency_sent]) for p in wl)
    big = spec.model_copy(update={"fx": spec.fx.model_copy(
        update={"inventory_usd": float(2 * total) + 1e6})})
    res = onchain.run(network, wl, seed, spec=big, chain=comp.chain, ledger="table",
                      congestion=comp.congestion)
    assert res.balances is not None
    b = res.balances[res.balances["account"].str.startswith("provider:")]
    need = 0.0
    for ccy, g in b.groupby("currency"):
        drawdown = -min(0, int(np.cumsum(g["change"].to_numpy(dtype=object)).min()))
        usd = Decimal(drawdown) * network.fx.rate(str(ccy), "USD") / (
            Decimal(10) ** MINOR_EXPONENTS[str(ccy)])
        need = max(need, float(usd))
    return int(math.ceil(need)) + 1       # the rail rounds the float to its minor units


def _waits(steps: pd.DataFrame, kind: str, text: str) -> int:
    s = steps[(steps["kind"] == kind) & steps["detail"].str.contains(text, regex=False)]
    return int(s["payment_id"].nunique())


def _mean_pct(p: pd.DataFrame) -> tuple[float, float]:
    cred = p[p["status"] == "credited"]
    liq, allin = all_in_pct(cred)
    return float(liq.mean()), float(allin.mean())


def _sent_usd(p: pd.DataFrame, usd: Mapping[str, float]) -> float:
    """The credited payments' amounts sent, together, in USD."""
    cred = p[p["status"] == "credited"]
    f = cred["currency_sent"].astype(str).map(usd).to_numpy(dtype=float)
    return float((cred["amount_sent"].to_numpy(dtype=float) * f).sum())


def _sweep(p1: pd.DataFrame) -> list[float]:
    """Mean all-in cost (% of amount) at each of :data:`RATES`, from a run at 1%."""
    cred = p1[p1["status"] == "credited"]
    sent = cred["amount_sent"].to_numpy(dtype=float)
    fee = cred["fee_total_sent"].to_numpy(dtype=float)
    liq1 = cred["liquidity_cost"].to_numpy(dtype=float)
    return [float((100 * (fee + np.rint(liq1 * r / 0.01)) / sent).mean()) for r in RATES]


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=2000)
    ap.add_argument("--seed", type=int, default=None,
                    help="run seed (default: the baseline's first replication's)")
    args = ap.parse_args(argv)
    sc = load_scenario("baseline")
    comp = build_components(sc)
    seed = args.seed if args.seed is not None else replication_seed(sc.seed, 0)
    net = comp.network
    wl = Workload.generate(comp.workload_spec, seed=seed, n_payments=args.payments,
                           network=net, start=comp.start, days=comp.days,
                           segments=sc.workload.segments)
    spec = comp.onchain_spec
    print(f"baseline, {len(wl)} payments, seed {seed}")

    # 1. nostro balances
    nostros = smallest_nostros(net, wl, seed)
    base_c = correspondent.run(net, wl, seed, rates=dict.fromkeys(MINOR_EXPONENTS, 0.01))
    saved = dict(net.balance_minor)
    try:
        net.balance_minor.update(nostros)
        min_c = correspondent.run(net, wl, seed, rates=dict.fromkeys(MINOR_EXPONENTS, 0.01))
    finally:
        net.balance_minor.update(saved)
    text = "nostro of"
    print("\n1. nostro balances that avoid every nostro wait")
    print(f"   {'account':42s} {'network':>22s} {'smallest':>22s}")
    for key, level in nostros.items():
        acc = net.accounts[key]
        print(f"   {account_name(acc):42s} {format_minor(saved[key] or 0, acc.currency):>22s} "
              f"{format_minor(level, acc.currency):>22s}")
    print(f"   payments that waited: {_waits(base_c.steps, 'nostro_wait', text)} at the "
          f"network's balances, {_waits(min_c.steps, 'nostro_wait', text)} at the smallest")

    # 2. provider float
    inv = smallest_float(net, wl, seed, spec, comp)
    small = spec.model_copy(update={"fx": spec.fx.model_copy(update={"inventory_usd": inv})})
    kw = {"chain": comp.chain, "ledger": "table", "congestion": comp.congestion,
          "rates": dict.fromkeys(MINOR_EXPONENTS, 0.01)}
    base_o = onchain.run(net, wl, seed, spec=spec, **kw)
    min_o = onchain.run(net, wl, seed, spec=small, **kw)
    provider = "waiting for the provider"
    print("\n2. FX provider float that avoids every provider wait (per currency, USD)")
    print(f"   network: USD {spec.fx.inventory_usd:,.0f}; smallest: USD {inv:,.0f}")
    print(f"   payments that waited: {_waits(base_o.steps, 'fx', provider)} at the spec's "
          f"float, {_waits(min_o.steps, 'fx', provider)} at the smallest")

    # 3. liquidity cost per payment at the policy rates
    rates = load_rates(overrides=sc.liquidity.rates)
    at = {"correspondent": {"baseline levels": correspondent.run(net, wl, seed, rates=rates)}}
    try:
        net.balance_minor.update(nostros)
        at["correspondent"]["smallest levels"] = correspondent.run(net, wl, seed, rates=rates)
    finally:
        net.balance_minor.update(saved)
    kw_r = dict(kw, rates=rates)
    at["onchain"] = {"baseline levels": onchain.run(net, wl, seed, spec=spec, **kw_r),
                     "smallest levels": onchain.run(net, wl, seed, spec=small, **kw_r)}
    print("\n3. liquidity cost per payment at the policy rates (sim/data/rates.toml), credited "
          "payments:\n   attributed = each payment's own use of balances (value x time held "
          "x rate), mean;\n   whole balances = what every balance of the rail cost, per "
          "payment, and as % of all amounts sent")
    out: dict[str, Any] = {"nostros": {account_name(net.accounts[k]): v
                                       for k, v in nostros.items()},
                           "provider_float_usd": inv, "cost": {}, "sweep": {}}
    whole: dict[tuple[str, str], float] = {}
    for rail, by in at.items():
        for lev, res in by.items():
            liq, allin = _mean_pct(res.payments)
            usd = res.meta["usd_per_minor"]
            costs = balance_costs(res.balances, rates, usd)
            sent_usd = _sent_usd(res.payments, usd)
            whole[(rail, lev)] = float(costs["cost_usd"].sum()) / sent_usd / 0.01 if \
                sent_usd else 0.0   # per 1% of rate: scaled in the sweep
            per = float(costs["cost_usd"].sum()) / max(len(res.payments), 1)
            out["cost"][f"{rail}, {lev}"] = {"attributed_pct": liq, "all_in_pct": allin,
                                               "whole_usd_per_payment": per}
            print(f"   {rail:14s} {lev:16s} attributed {100 * liq:7.3f} bp; whole balances "
                  f"USD {per:12,.2f} a payment "
                  f"({100 * float(costs['cost_usd'].sum()) / sent_usd:.4f}% of amounts)")
    # the whole balances' cost at 1% for every currency (the sweep scales it)
    for rk in whole:
        res = at[rk[0]][rk[1]]
        usd = res.meta["usd_per_minor"]
        c1 = balance_costs(res.balances, dict.fromkeys(MINOR_EXPONENTS, 0.01), usd)
        whole[rk] = 100 * float(c1["cost_usd"].sum()) / _sent_usd(res.payments, usd)

    # 4. the rate sweep
    print("\n4. mean all-in cost (% of amount) by opportunity rate (every currency): fees + "
          "attributed liquidity cost,\n   and fees + the whole balances' cost (as % of all "
          "amounts sent)")
    print("   " + f"{'rail, levels':48s}" + "".join(f"{100 * r:>8.0f}%" for r in RATES))
    for name, res, rk in (("correspondent, baseline levels", base_c,
                            ("correspondent", "baseline levels")),
                           ("correspondent, smallest levels", min_c,
                            ("correspondent", "smallest levels")),
                           ("onchain, baseline levels", base_o, ("onchain", "baseline levels")),
                           ("onchain, smallest levels", min_o, ("onchain", "smallest levels"))):
        row = _sweep(res.payments)
        fees = row[0]
        row_whole = [fees + whole[rk] * r / 0.01 for r in RATES]
        out["sweep"][name] = {"attributed": row, "whole_balances": row_whole}
        print(f"   {name + ', attributed':48s}" + "".join(f"{v:>9.3f}" for v in row))
        print(f"   {name + ', whole balances':48s}" + "".join(f"{v:>9.3f}" for v in row_whole))
    return out


if __name__ == "__main__":
    main()
