"""Liquidity and settlement-risk KPIs of a run: all-in cost, exposure, busiest accounts.

The rails record every balance and each payment's ``liquidity_cost`` and FX risk
(:mod:`sim.balances`); this module turns them into what ``summary.json`` and the
report show:

* per rail and corridor (:func:`liquidity_kpis`): ``liquidity_cost_pct_mean`` and the
  **all-in cost** ``all_in_cost_pct_mean`` / ``_median``: ``100 x (fee_total_sent +
  liquidity_cost) / amount_sent`` over credited payments, and ``fx_at_risk_share``,
  the share of payments that paid a sold currency before the bought one was final;
* settlement-risk **exposure** (:func:`exposure_kpis`), in USD at the mid rate:
  ``exposure_usd_hours`` (principal at risk x hours, summed) and
  ``peak_exposure_usd`` (the most at risk at any instant), per replication and
  averaged over replications; per rail, corridor and ordering bank (the bank whose
  customer's principal was paid away: :func:`bank_exposure`);
* the exposure over time (:func:`exposure_series`) and the balance series of the
  busiest accounts (:func:`busiest_accounts`) for the report's figures;
* what each account's whole balance cost over the run (:func:`balance_costs`): the
  payments' liquidity cost is their own use of it, the rest is idle pre-funding.

Example
-------
>>> import pandas as pd
>>> p = pd.DataFrame({"status": ["credited"], "amount_sent": [10_000],
...                   "fee_total_sent": [200], "liquidity_cost": [5],
...                   "risk_principal_sent": [0]})
>>> liquidity_kpis(p)["all_in_cost_pct_mean"]
2.05
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "EXPOSURE_KPIS",
    "LIQUIDITY_KPIS",
    "all_in_pct",
    "balance_costs",
    "bank_exposure",
    "busiest_accounts",
    "exposure_kpis",
    "exposure_series",
    "liquidity_kpis",
    "replication_exposure",
]

#: KPIs over payments (in every K of ``summary.json``)
LIQUIDITY_KPIS: tuple[str, ...] = ("liquidity_cost_pct_mean", "all_in_cost_pct_mean",
                                   "all_in_cost_pct_median", "fx_at_risk_share")
#: KPIs of exposure, per replication then averaged (in every K)
EXPOSURE_KPIS: tuple[str, ...] = ("exposure_usd_hours", "peak_exposure_usd")


def _pct(num: np.ndarray, sent: np.ndarray) -> np.ndarray:
    return np.divide(100 * num, sent, out=np.zeros_like(num, dtype=float), where=sent > 0)


def all_in_pct(p: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per row: the liquidity cost and the all-in cost (fees + liquidity cost) in % of
    ``amount_sent``."""
    sent = p["amount_sent"].to_numpy(dtype=float)
    liq = p["liquidity_cost"].to_numpy(dtype=float)
    fee = p["fee_total_sent"].to_numpy(dtype=float)
    return _pct(liq, sent), _pct(fee + liq, sent)


def liquidity_kpis(p: pd.DataFrame) -> dict[str, Any]:
    """:data:`LIQUIDITY_KPIS` of a payments table (any subset); cost KPIs over credited
    payments (None without any), the risk share over all."""
    n = len(p)
    cred = p[p["status"] == "credited"]
    liq, allin = all_in_pct(cred)
    return {
        "liquidity_cost_pct_mean": float(liq.mean()) if len(cred) else None,
        "all_in_cost_pct_mean": float(allin.mean()) if len(cred) else None,
        "all_in_cost_pct_median": float(np.median(allin)) if len(cred) else None,
        "fx_at_risk_share": float((p["risk_principal_sent"] > 0).sum() / n) if n else None,
    }


def _risk_usd(p: pd.DataFrame, usd: Mapping[str, float]) -> np.ndarray:
    """Per row: the principal at risk in USD at the mid rate."""
    f = p["currency_sent"].astype(str).map(lambda c: usd.get(c, np.nan)).to_numpy(dtype=float)
    return p["risk_principal_sent"].to_numpy(dtype=float) * f


def _intervals(p: pd.DataFrame, usd: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray,
                                                                     np.ndarray]:
    """``(start, end, usd)`` of each payment's exposure (POSIX s), rows with risk only."""
    at = (p["risk_principal_sent"] > 0).to_numpy()
    q = p[at]
    start = q["risk_start"].to_numpy(dtype="datetime64[us]").astype("int64") / 1e6
    end = start + q["risk_s"].to_numpy(dtype=float)
    return start, end, _risk_usd(q, usd)


def _peak(start: np.ndarray, end: np.ndarray, value: np.ndarray) -> float:
    """The largest sum of ``value`` over intervals open at one instant (an interval
    ending at an instant is closed before one starting then opens)."""
    if not len(start):
        return 0.0
    t = np.concatenate([start, end])
    v = np.concatenate([value, -value])
    o = np.lexsort((v, t))                 # at equal instants the ends (negative) first
    return float(max(0.0, np.cumsum(v[o]).max()))


def replication_exposure(p: pd.DataFrame, usd: Mapping[str, float]) -> dict[str, float]:
    """:data:`EXPOSURE_KPIS` of one replication's payments (any subset)."""
    start, end, value = _intervals(p, usd)
    return {"exposure_usd_hours": float((value * (end - start)).sum() / 3600.0),
            "peak_exposure_usd": _peak(start, end, value)}


def _usd(res: Any) -> dict[str, float]:
    return dict(res.meta.get("usd_per_minor", {}))


def exposure_kpis(reps: Sequence[Any], select: Any = None) -> dict[str, Any]:
    """:data:`EXPOSURE_KPIS` averaged over replications (each a
    :class:`~sim.results.Results`); ``select(payments)`` picks the rows (a boolean
    mask; default all). ``None`` where a replication has no FX rates to convert."""
    vals = exposure_values(reps, select)
    return {k: (float(np.mean(v)) if len(v) and not np.isnan(v).any() else None)
            for k, v in vals.items()}


def exposure_values(reps: Sequence[Any], select: Any = None) -> dict[str, np.ndarray]:
    """Per replication, each of :data:`EXPOSURE_KPIS` (arrays of length R)."""
    out: dict[str, list[float]] = {k: [] for k in EXPOSURE_KPIS}
    for res in reps:
        p = res.payments
        if select is not None:
            p = p[select(p)]
        usd = _usd(res)
        if not usd:
            for k in EXPOSURE_KPIS:
                out[k].append(np.nan)
            continue
        for k, v in replication_exposure(p, usd).items():
            out[k].append(v)
    return {k: np.array(v, dtype=float) for k, v in out.items()}


def bank_exposure(reps: Sequence[Any]) -> dict[str, dict[str, dict[str, Any]]]:
    """Per ordering bank and rail (banks with any exposure on some rail), the
    :data:`EXPOSURE_KPIS` averaged over replications."""
    banks: set[tuple[str, str]] = set()
    for res in reps:
        p = res.payments
        risky = p[p["risk_principal_sent"] > 0]
        banks |= set(zip(risky["sender_bank"].astype(str), risky["rail"].astype(str),
                         strict=True))
    out: dict[str, dict[str, dict[str, Any]]] = {}
    rails = sorted({str(r) for res in reps for r in res.payments["rail"].unique()})
    for bank in sorted({b for b, _ in banks}):
        for rail in rails:
            out.setdefault(bank, {})[rail] = exposure_kpis(
                reps, lambda p, b=bank, r=rail: (p["sender_bank"] == b) & (p["rail"] == r))
    return out


def exposure_series(payments: pd.DataFrame, usd: Mapping[str, float]) -> pd.DataFrame:
    """The principal at risk (USD) over time per rail: columns ``rail``, ``time``
    (UTC), ``exposure_usd`` (after each change), in time order."""
    frames = []
    for rail, g in payments.groupby("rail", sort=True):
        start, end, value = _intervals(g, usd)
        if not len(start):
            continue
        t = np.concatenate([start, end])
        v = np.concatenate([value, -value])
        o = np.lexsort((v, t))
        frames.append(pd.DataFrame({
            "rail": str(rail), "time": pd.to_datetime(t[o], unit="s", utc=True),
            "exposure_usd": np.maximum(np.cumsum(v[o]), 0.0)}))
    if not frames:
        return pd.DataFrame({"rail": pd.Series([], dtype="str"),
                             "time": pd.Series([], dtype="datetime64[us, UTC]"),
                             "exposure_usd": pd.Series([], dtype=float)})
    return pd.concat(frames, ignore_index=True)


def busiest_accounts(balances: pd.DataFrame, n: int = 4) -> list[tuple[str, str]]:
    """The ``(rail, account)`` of the ``n`` accounts with the most changes per rail
    (ties by name): whose balance series the report draws."""
    if balances is None or balances.empty:
        return []
    moved = balances[balances["change"] != 0]
    counts = moved.groupby(["rail", "account"], sort=True).size().reset_index(name="n")
    out: list[tuple[str, str]] = []
    for _rail, g in counts.groupby("rail", sort=True):
        g = g.sort_values(["n", "account"], ascending=[False, True]).head(n)
        out += [(str(r), str(a)) for r, a in zip(g["rail"], g["account"], strict=True)]
    return out


def balance_costs(balances: pd.DataFrame, rates: Mapping[str, float],
                  usd: Mapping[str, float], t_end: float | None = None) -> pd.DataFrame:
    """What each account's whole balance cost over the run: its positive balance
    integrated over time (until ``t_end``, default the table's last instant) times its
    currency's annual rate (actual/365), in minor units of its currency and in USD at
    the mid rate. Columns ``rail``, ``account``, ``currency``, ``cost``, ``cost_usd``.

    >>> b = pd.DataFrame({"rail": ["x", "x"], "account": ["a", "a"],
    ...                   "currency": ["USD", "USD"], "balance": [36500, 0],
    ...                   "time": pd.to_datetime([0, 86400], unit="s", utc=True)})
    >>> round(float(balance_costs(b, {"USD": 0.1}, {"USD": 0.01})["cost"].iloc[0]), 6)
    10.0
    """
    cols = ["rail", "account", "currency", "cost", "cost_usd"]
    if balances is None or balances.empty:
        return pd.DataFrame({c: [] for c in cols})
    b = balances.copy()
    b["_t"] = b["time"].to_numpy(dtype="datetime64[us]").astype("int64") / 1e6
    end = float(b["_t"].max()) if t_end is None else float(t_end)
    rows = []
    for (rail, account), g in b.groupby(["rail", "account"], sort=True):
        g = g.sort_values("_t", kind="stable")
        t = g["_t"].to_numpy(dtype=float)
        bal = np.maximum(g["balance"].to_numpy(dtype=float), 0.0)
        nxt = np.append(t[1:], max(end, t[-1]))
        ccy = str(g["currency"].iloc[0])
        cost = float((bal * (nxt - t)).sum()) * rates.get(ccy, 0.0) / (365.0 * 86400.0)
        rows.append([str(rail), str(account), ccy, cost, cost * usd.get(ccy, np.nan)])
    return pd.DataFrame(rows, columns=cols)
