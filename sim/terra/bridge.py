"""Payments bridged through the algorithmic stablecoin during a run.

The on-chain rail (:mod:`sim.onchain.rail`) settles each payment in fiat-backed
stablecoins and never sees Terra. :func:`bridge_results` takes that rail's tables
and a run's price path and halts (plain data) and gives the same payments as they
would have gone with the algorithmic stablecoin as the bridge currency (rail
:data:`RAIL`): after the on-ramp's mint the ordering bank buys the bridge coin at
its secondary price then, and at the release (the end of finality) the beneficiary
bank sells it at the price then. So a payment in flight while the peg breaks
delivers ``min(1, p_sell / p_buy)`` of what the fiat-backed rail delivered (a gain
is kept by the banks: the customer is owed the agreed amount, a modelling choice),
the loss carried by an ``fx`` step at the sale and counted in ``fee_fx_spread``.
A purchase or a sale that falls in a chain halt waits for the chain to resume (a
``block`` step; the payment's later steps move by the wait, a stated
approximation: banking hours are not re-applied to them). A sale losing more than
``max_slippage_bps`` reverts: the payment fails, its bridge coin sold back at the
sender's side at the same price and the proceeds returned (a ``return`` step).

Money stays conserved to the minor unit and each payment's steps still add up to
its fees (:func:`sim.results.step_violations`).

:func:`bridge_pairs` lines the three rails up payment by payment.

>>> import pandas as pd
>>> price = PricePath([0, 100], [1.0, 0.5], [])
>>> price.at(50), price.at(150), price.resume(120)
(1.0, 0.5, 120)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sim.results import FEE_COLUMNS, Results

__all__ = ["RAIL", "PricePath", "bridge_pairs", "bridge_results"]

#: The rail name of payments bridged through the algorithmic stablecoin.
RAIL = "onchain-terra"
_US = 1_000_000


@dataclass(frozen=True)
class PricePath:
    """A run's secondary price as a step function of time, and its chain halts.

    ``times`` (UTC seconds, increasing) and ``prices`` (USD per coin); ``halts`` as
    ``(start, end)`` UTC seconds. Before the first instant the first price holds.
    """

    times: Sequence[float]
    prices: Sequence[float]
    halts: Sequence[tuple[float, float]]

    def at(self, t: float) -> float:
        """The price at ``t``: the last recorded at or before it."""
        i = int(np.searchsorted(np.asarray(self.times, dtype=float), t, side="right")) - 1
        return float(self.prices[max(i, 0)])

    def resume(self, t: float) -> float:
        """``t``, or the end of the halt it falls in."""
        for a, b in self.halts:
            if a <= t < b:
                return b
        return t


def _ts(col: pd.Series) -> np.ndarray:
    return col.to_numpy(dtype="datetime64[us]").view("int64") / _US


def bridge_results(onchain: Results, path: PricePath, *, max_slippage_bps: int = 1000
                   ) -> Results:
    """The on-chain rail's payments with the algorithmic stablecoin as the bridge.

    ``onchain`` holds the fiat-backed rail's tables (other rails' rows are ignored);
    the result has the same columns with ``rail`` :data:`RAIL`.
    """
    pay = onchain.payments[onchain.payments["rail"] == "onchain"]
    steps = onchain.steps[onchain.steps["rail"] == "onchain"]
    by_pid = {pid: g for pid, g in steps.groupby("payment_id", sort=False)}
    out_p: list[dict[str, object]] = []
    out_s: list[pd.DataFrame] = []
    limit = 1.0 - max_slippage_bps / 10_000
    for row in pay.to_dict("records"):
        st = by_pid.get(row["payment_id"])
        rec = dict(row)
        rec["rail"] = RAIL
        if st is None or row["status"] != "credited":
            out_p.append(rec)
            if st is not None:
                out_s.append(st.assign(rail=RAIL))
            continue
        st = st.sort_values("seq").reset_index(drop=True)
        t0, t1 = _ts(st["started_at"]), _ts(st["ended_at"])
        kinds = st["kind"].tolist()
        mint = kinds.index("mempool") if "mempool" in kinds else 0
        fin = kinds.index("finality") if "finality" in kinds else len(kinds) - 1
        shift = np.zeros(len(st))
        new_rows: list[tuple[int, float, float, str, str, int]] = []   # after, start, end, ...
        t_buy = float(t1[mint])
        t_buy2 = path.resume(t_buy)
        if t_buy2 > t_buy:
            new_rows.append((mint, t_buy, t_buy2, "block", "the stablecoin's chain halted: "
                             f"the purchase waits {(t_buy2 - t_buy) / 3600:.1f} h", 0))
            shift[mint + 1:] += t_buy2 - t_buy
        p_buy = path.at(t_buy2)
        new_rows.append((mint, t_buy2, t_buy2, "fx", f"bridge: bought the algorithmic "
                         f"stablecoin at {p_buy:.4f}", 0))
        t_sell = float(t1[fin]) + shift[fin]
        t_sell2 = path.resume(t_sell)
        if t_sell2 > t_sell:
            new_rows.append((fin, t_sell, t_sell2, "block", "the stablecoin's chain halted: "
                             f"the sale waits {(t_sell2 - t_sell) / 3600:.1f} h", 0))
            shift[fin + 1:] += t_sell2 - t_sell
        p_sell = path.at(t_sell2)
        r = min(1.0, p_sell / p_buy) if p_buy > 0 else 0.0
        fees_old = int(row["fee_total_sent"])
        dis_old = int(row["amount_sent"]) - fees_old      # delivered, in the sent currency
        fail = r < limit
        if not fail:
            dis_new = int(dis_old * r)
            loss = dis_old - dis_new
            rec["amount_delivered"] = int(int(row["amount_delivered"]) * r)
            rec["fee_fx_spread"] = int(row["fee_fx_spread"]) + loss
            rec["fee_total_sent"] = fees_old + loss
            cat = _ts(pd.Series([row["credited_at"]]))[0] + shift[-1]
            rec["credited_at"] = pd.Timestamp(cat * _US, unit="us", tz="UTC")
            rec["latency_s"] = float(cat - _ts(pd.Series([row["created_at"]]))[0])
            new_rows.append((fin, t_sell2, t_sell2, "fx", f"bridge: sold at {p_sell:.4f}, "
                             f"{(1 - r) * 100:.2f}% below the purchase", loss))
            keep = len(st)
        else:
            keep = fin + 1
            kept = st.iloc[:keep]
            off, ben = int(row["fee_offramp"]), int(row["fee_beneficiary_bank"])
            refund = int((dis_old + off + ben) * r)
            gas_kept = int(kept.loc[kept["kind"] == "mempool", "cost"].sum())
            k_cost = int(kept["cost"].sum())
            sent = int(row["amount_sent"]) - refund
            cost = sent - k_cost
            rec.update({"amount_sent": sent, "amount_delivered": 0, "credited_at": pd.NaT,
                        "latency_s": np.nan, "status": "failed",
                        "failure_reason": f"bridge sale reverted: {(1 - r) * 100:.1f}% below "
                        f"the purchase, beyond the {max_slippage_bps} bp slippage limit",
                        "fee_offramp": 0, "fee_beneficiary_bank": 0, "fee_gas": gas_kept,
                        "fee_fx_spread": int(row["fee_fx_spread"]) + cost,
                        "fee_total_sent": sent})
            new_rows.append((fin, t_sell2, t_sell2, "fx", f"bridge: sold back at the sender's "
                             f"side at {p_sell:.4f}", cost))
            new_rows.append((fin, t_sell2, t_sell2, "return", f"{rec['failure_reason']}; "
                             "proceeds returned to the ordering customer", 0))
        # the tables, with the new steps after the step they follow
        parts = []
        ccy = row["currency_sent"]
        for i in range(keep):
            parts.append((st.iloc[i]["kind"], st.iloc[i]["place"], t0[i] + shift[i],
                          t1[i] + shift[i], int(st.iloc[i]["cost"]), st.iloc[i]["detail"]))
            for after, a, b, kind, detail, c in new_rows:
                if after == i:
                    parts.append((kind, "bridge", a, b, c, detail))
        out_s.append(pd.DataFrame({
            "payment_id": row["payment_id"], "rail": RAIL, "seq": np.arange(len(parts)),
            "kind": [x[0] for x in parts], "place": [x[1] for x in parts],
            "started_at": pd.to_datetime(np.array([x[2] for x in parts]) * _US, unit="us",
                                         utc=True),
            "ended_at": pd.to_datetime(np.array([x[3] for x in parts]) * _US, unit="us",
                                       utc=True),
            "cost": np.array([x[4] for x in parts], dtype="int64"), "cost_currency": ccy,
            "detail": [x[5] for x in parts]}))
        rec["hops"] = int(row["hops"]) + 2
        out_p.append(rec)
    payments = pd.DataFrame(out_p, columns=list(pay.columns))
    for c, dt in pay.dtypes.items():      # instants (all missing ones too) stay UTC-aware
        if isinstance(dt, pd.DatetimeTZDtype):
            payments[c] = pd.to_datetime(payments[c], utc=True)
    payments = payments.astype(pay.dtypes.to_dict())
    payments["fee_total_sent"] = payments[list(FEE_COLUMNS)].sum(axis=1).astype("int64")
    steps_df = (pd.concat(out_s, ignore_index=True) if out_s
                else steps.iloc[:0].assign(rail=RAIL))
    steps_df = steps_df[list(steps.columns)].astype(steps.dtypes.to_dict())
    return Results(payments.reset_index(drop=True), steps_df.reset_index(drop=True),
                   {"rail": RAIL})


def bridge_pairs(payments: pd.DataFrame) -> pd.DataFrame:
    """Payment by payment: status, delivered amount (minor units of the delivered
    currency) and latency on the banks, the fiat-backed on-chain rail and the bridge,
    and the bridge's shortfall against the fiat-backed rail (% of its delivery)."""
    keys = ["payment_id"]
    cols = ["status", "amount_delivered", "latency_s", "currency_delivered", "corridor",
            "created_at"]
    out = None
    for rail, tag in (("correspondent", "bank"), ("onchain", "fiat"), (RAIL, "terra")):
        sub = payments.loc[payments["rail"] == rail, keys + cols].set_index(keys)
        sub = sub.rename(columns={c: f"{c}_{tag}" for c in cols})
        out = sub if out is None else out.join(sub, how="outer")
    assert out is not None
    fiat = out["amount_delivered_fiat"].astype(float)
    terra = out["amount_delivered_terra"].astype(float)
    out["terra_shortfall_pct"] = np.where(fiat > 0, 100 * (fiat - terra) / fiat, np.nan)
    return out.reset_index()
