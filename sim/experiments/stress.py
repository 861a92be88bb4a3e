"""What a scenario's events cost: the run with them against its twin without them.

The *twin* of a run is the same scenario run on the same payments (same seed,
same workload, the same rails and settings) with no event at all
(:meth:`~sim.events.EventSchedule.none` and no congestion episode). Every
difference between the two runs is then the events' doing, payment by payment.
:func:`event_costs` measures it per rail:

``payments``
    payments of the rail (in both runs: the twin holds the same ones);
``affected``
    payments whose outcome differs in anything: ``status``, ``credited_at``,
    ``fee_total_sent``, ``loss`` or ``frozen``; ``affected_share`` of ``payments``;
``extra_latency_p50_s``, ``extra_latency_p90_s``
    over the affected payments credited in both runs: event-run latency minus the
    twin's (a payment delayed 3 h counts 3 h); ``None`` without such payments;
``returned``, ``failed``
    payments returned (failed) in the event run that the twin credited: each
    counts once, whatever the number of events it met;
``value_in_flight_peak_usd``, ``value_hours_usd``
    the value *held up in flight*: the event run's value in flight minus the
    twin's, over time. A payment is in flight from its creation to its end
    (``credited_at``, else the end of its last step), for its ``amount_sent`` *in the
    twin* (on both runs: an ``OUR`` payment's amount sent includes fees an event may
    change, and only its time in flight should count) in USD at the network's mid
    rates; a payment still frozen at the end of the run (``frozen > 0``) keeps its
    frozen value in flight to the end of the series (the last end on either run).
    The peak is the largest difference (0 if the events never held more in flight
    than the twin), the value-hours its signed integral (USD x hours: a payment
    returned sooner than the twin credits it counts against);
``loss_usd``, ``frozen_usd``, ``extra_fees_usd``
    the ``loss`` column (a holder's loss in flight, e.g. a stablecoin sold below
    par), the ``frozen`` column (the customer's value frozen at the end) and the
    fees charged beyond the twin's (event run minus twin, e.g. gas in a spike),
    in USD at the mid rates, summed exactly per currency in minor units and
    converted once per currency (half to even, to the cent);
``events``
    per event, in index order: ``in_flight``, the affected payments whose span in
    the event run (creation to end) overlaps the event's window ``[start, end)``;
    ``still_frozen``, those of them frozen at the end; and ``drained_after_s``,
    the **time after the event ends until its backlog has drained**: the latest
    end, in the event run, of those payments (less the still-frozen ones, which
    never drain) minus the event's end, at least 0. ``None`` when no affected
    payment was in flight during the event on this rail (the rail did not feel
    it) or when the event does not end (a sanction never lifted).

All of it is exact integer arithmetic on the tables (minor units, microsecond
instants) where it can be, vectorised with pandas and numpy, and deterministic.

Example
-------
>>> from sim.experiments.runner import run_scenario
>>> from sim.experiments.scenario import load_scenario
>>> res = run_scenario(load_scenario("bank-outage"), payments=40, seed=1)
>>> m = res.meta["events"].rails["correspondent"]
>>> m["payments"], m["affected"] <= m["payments"]
(40, True)
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from sim.money import convert_for_reporting, scaled_rate

if TYPE_CHECKING:
    from sim.events import EventSchedule
    from sim.results import Results

__all__ = ["COUNT_MEASURES", "MEAN_MEASURES", "MEASURES", "QUANTILE_MEASURES", "EventCosts",
           "TwinMismatchError", "event_costs", "usd_total"]

#: counts: summed over replications in ``summary.json``
COUNT_MEASURES: tuple[str, ...] = ("payments", "affected", "returned", "failed")
#: quantiles of the extra latency, over the pooled affected payments
QUANTILE_MEASURES: tuple[str, ...] = ("extra_latency_p50_s", "extra_latency_p90_s")
#: values per run: their mean over replications in ``summary.json``
MEAN_MEASURES: tuple[str, ...] = ("value_in_flight_peak_usd", "value_hours_usd", "loss_usd",
                                  "frozen_usd", "extra_fees_usd")
#: every scalar measure of a rail, in the order tables show them
MEASURES: tuple[str, ...] = ("payments", "affected", "affected_share", *QUANTILE_MEASURES,
                             "returned", "failed", *MEAN_MEASURES)
#: at most this many instants of the value-in-flight series are kept for the figure
SERIES_POINTS = 4000


class TwinMismatchError(RuntimeError):
    """The twin run does not hold the same payments as the event run (a fault)."""


@dataclass
class EventCosts:
    """The measures of one run against its twin (see the module's docstring).

    ``rails[rail]`` holds the scalar measures and ``events`` (per event);
    ``affected`` one row per affected payment (``rail``, ``payment_id``,
    ``extra_latency_s`` (NaN unless credited in both), ``returned``, ``failed``);
    ``flight`` the value in flight over time (``rail``, ``t`` in POSIX seconds,
    ``event_usd``, ``twin_usd``), at most :data:`SERIES_POINTS` instants per rail.
    """

    rails: dict[str, dict[str, Any]]
    affected: pd.DataFrame
    flight: pd.DataFrame
    events: list[dict[str, Any]] = field(default_factory=list)


# ---------------------------------------------------------------------------
# money in USD
# ---------------------------------------------------------------------------
def usd_total(amounts: np.ndarray | pd.Series, currencies: np.ndarray | pd.Series,
              fx: Any) -> float:
    """The sum of ``amounts`` (minor units of each row's currency) in USD at ``fx``'s mid
    rates: summed exactly per currency, converted once per currency (half to even, to
    the cent).

    >>> from decimal import Decimal
    >>> from sim.banking.network import FxTable
    >>> fx = FxTable("USD", {"MXN": Decimal("20")})
    >>> usd_total(np.array([1000, 1000, 50]), np.array(["MXN", "MXN", "USD"]), fx)
    1.5
    """
    a = np.asarray(amounts, dtype=np.int64)
    c = np.asarray(currencies).astype(str)
    cents = 0
    for ccy in sorted(set(c.tolist())):
        total = int(a[c == ccy].astype(object).sum())
        cents += convert_for_reporting(total, ccy, "USD", fx.rate(ccy, "USD"))
    return cents / 100


# ---------------------------------------------------------------------------
# the tables
# ---------------------------------------------------------------------------
_KEY = ["rail", "payment_id"]


def _seconds(col: pd.Series) -> np.ndarray:
    """UTC timestamps (microseconds) as float POSIX seconds; NaN where missing."""
    if col.dtype.kind == "M":
        v = col.astype("int64").to_numpy().astype(float) / 1e6
        return np.where(col.isna().to_numpy(), np.nan, v)
    return col.to_numpy(dtype=float)


def _frame(res: Results) -> pd.DataFrame:
    """Per (rail, payment): what the comparison reads, with ``end`` (credited_at, else
    the end of the payment's last step) in POSIX seconds."""
    p = res.payments
    f = pd.DataFrame({
        "rail": p["rail"].astype(str).to_numpy(),
        "payment_id": p["payment_id"].astype(str).to_numpy(),
        "created": _seconds(p["created_at"]), "credited": _seconds(p["credited_at"]),
        "latency": p["latency_s"].to_numpy(dtype=float),
        "status": p["status"].astype(str).to_numpy(),
        "amount": p["amount_sent"].to_numpy(dtype=np.int64),
        "ccy": p["currency_sent"].astype(str).to_numpy(),
        "fee": p["fee_total_sent"].to_numpy(dtype=np.int64),
        "loss": p["loss"].to_numpy(dtype=np.int64),
        "frozen": p["frozen"].to_numpy(dtype=np.int64)})
    s = res.steps
    last = pd.DataFrame({"rail": s["rail"].astype(str).to_numpy(),
                         "payment_id": s["payment_id"].astype(str).to_numpy(),
                         "e": _seconds(s["ended_at"])}).groupby(_KEY, sort=False)["e"].max()
    f = f.join(last, on=_KEY)
    f["end"] = np.where(np.isnan(f["credited"]), f["e"], f["credited"])
    f["end"] = np.where(np.isnan(f["end"]), f["created"], f["end"])
    return f.drop(columns="e")


def _same_payments(a: pd.DataFrame, b: pd.DataFrame) -> None:
    ka = a[[*_KEY, "created", "ccy"]].sort_values(_KEY, ignore_index=True)
    kb = b[[*_KEY, "created", "ccy"]].sort_values(_KEY, ignore_index=True)
    if len(ka) != len(kb) or not ka.equals(kb):
        raise TwinMismatchError("the twin run does not hold the same payments as the run "
                                "with events (ids, rails, creation instants, currencies)")


# ---------------------------------------------------------------------------
# value in flight
# ---------------------------------------------------------------------------
def _levels(f: pd.DataFrame, times: np.ndarray, ccys: list[str], t_end: float) -> np.ndarray:
    """Value in flight (minor units, per currency: ``(len(times), len(ccys))``) just after
    each instant of ``times``: exact int64 running sums of the payments' changes."""
    frozen = f["frozen"].to_numpy()
    t = np.concatenate([f["created"].to_numpy(), f["end"].to_numpy(),
                        np.where(frozen > 0, t_end, np.inf)])
    amt = f["amount"].to_numpy()
    d = np.concatenate([amt, -(amt - frozen), -frozen])
    c = np.tile(f["ccy"].to_numpy(), 3)
    keep = np.isfinite(t) & (d != 0)
    t, d, c = t[keep], d[keep], c[keep]
    out = np.zeros((len(times), len(ccys)), dtype=np.int64)
    pos = np.searchsorted(times, t)
    for j, ccy in enumerate(ccys):
        sel = c == ccy
        np.add.at(out[:, j], pos[sel], d[sel])
    return np.cumsum(out, axis=0)


def _flight(ev: pd.DataFrame, tw: pd.DataFrame, fx: Any
            ) -> tuple[float, float, pd.DataFrame]:
    """Peak and value-hours (USD) of the event run's value in flight minus the twin's, and
    the two series (sampled to at most :data:`SERIES_POINTS` instants)."""
    if ev.empty:
        return 0.0, 0.0, pd.DataFrame({"t": [], "event_usd": [], "twin_usd": []})
    t_end = float(max(ev["end"].max(), tw["end"].max()))
    times = np.unique(np.concatenate([ev["created"], ev["end"], tw["created"], tw["end"],
                                      [t_end]]))
    ccys = sorted(set(ev["ccy"]) | set(tw["ccy"]))
    rate = np.array([float(scaled_rate(fx.rate(c, "USD"), c, "USD")) / 100 for c in ccys])
    le, lt = _levels(ev, times, ccys, t_end), _levels(tw, times, ccys, t_end)
    diff = le - lt                                     # exact, minor units per currency
    dt = np.diff(times)                                # seconds each level holds
    held = diff[:-1].astype(float)                     # the level after the last is moot
    value_hours = float((held * dt[:, None]).sum(axis=0) @ rate) / 3600
    usd_diff = diff.astype(float) @ rate
    peak = max(0.0, float(usd_diff.max()))
    if len(times) > SERIES_POINTS:
        grid = np.linspace(times[0], times[-1], SERIES_POINTS)
        idx = np.searchsorted(times, grid, side="right") - 1
    else:
        grid, idx = times, np.arange(len(times))
    series = pd.DataFrame({"t": grid, "event_usd": (le[idx].astype(float) @ rate),
                           "twin_usd": (lt[idx].astype(float) @ rate)})
    return peak, value_hours, series


# ---------------------------------------------------------------------------
# the measures
# ---------------------------------------------------------------------------
def _quantile(x: np.ndarray, q: float) -> float | None:
    return float(np.quantile(x, q)) if len(x) else None


def _per_event(a: pd.DataFrame, events: EventSchedule) -> list[dict[str, Any]]:
    out = []
    created, end, frozen = (a["created"].to_numpy(), a["end"].to_numpy(),
                            a["frozen"].to_numpy())
    for e in events.events:
        during = (created < e.end) & (end > e.start)
        still = during & (frozen > 0)
        drains = end[during & ~still]
        if not during.any() or math.isinf(e.end):
            after: float | None = None
        else:
            after = max(0.0, float(drains.max()) - e.end) if len(drains) else None
        out.append({"index": e.index, "label": e.label, "in_flight": int(during.sum()),
                    "still_frozen": int(still.sum()), "drained_after_s": after})
    return out


def event_costs(with_events: Results, twin: Results, events: EventSchedule,
                fx: Any) -> EventCosts:
    """The cost of ``events``: the run ``with_events`` against its ``twin`` (the same
    payments without them), per rail (see the module's docstring for each measure).

    ``fx`` is the network's mid rates (:class:`~sim.banking.network.FxTable`), which
    put values in USD.

    Raises
    ------
    TwinMismatchError
        If the two runs do not hold the same payments (a fault of the caller).
    """
    ev, tw = _frame(with_events), _frame(twin)
    _same_payments(ev, tw)
    m = ev.merge(tw, on=_KEY, suffixes=("", "_t"), validate="one_to_one")
    same_credit = (m["credited"] == m["credited_t"]) | (m["credited"].isna()
                                                        & m["credited_t"].isna())
    hit = ((m["status"] != m["status_t"]) | ~same_credit | (m["fee"] != m["fee_t"])
           | (m["loss"] != m["loss_t"]) | (m["frozen"] != m["frozen_t"]))
    both = (m["status"] == "credited") & (m["status_t"] == "credited")
    extra = np.where(both, m["latency"] - m["latency_t"], np.nan)
    m["extra_latency_s"] = extra
    m["returned"] = (m["status"] == "returned") & (m["status_t"] == "credited")
    m["failed"] = (m["status"] == "failed") & (m["status_t"] == "credited")
    affected = m[hit]
    rails: dict[str, dict[str, Any]] = {}
    series = []
    for rail in sorted(set(m["rail"])):
        g = m[m["rail"] == rail]
        a = affected[affected["rail"] == rail]
        lat = a["extra_latency_s"].to_numpy()
        lat = lat[np.isfinite(lat)]
        # a payment's value is its amount sent in the twin, on both runs (an OUR payment's
        # amount sent holds its fees, which events may change): only time in flight differs
        value = g["amount_t"].to_numpy()
        e_run = pd.DataFrame({"created": g["created"].to_numpy(), "end": g["end"].to_numpy(),
                              "ccy": g["ccy"].to_numpy(), "amount": value,
                              "frozen": np.minimum(g["frozen"].to_numpy(), value)})
        t_run = pd.DataFrame({"created": g["created_t"].to_numpy(),
                              "end": g["end_t"].to_numpy(), "ccy": g["ccy"].to_numpy(),
                              "amount": value, "frozen": np.minimum(g["frozen_t"].to_numpy(),
                                                                    value)})
        peak, vh, s = _flight(e_run, t_run, fx)
        s.insert(0, "rail", rail)
        series.append(s)
        fee_diff = (a["fee"] - a["fee_t"]).to_numpy()
        rails[rail] = {
            "payments": int(len(g)), "affected": int(len(a)),
            "affected_share": float(len(a) / len(g)) if len(g) else None,
            "extra_latency_p50_s": _quantile(lat, 0.5),
            "extra_latency_p90_s": _quantile(lat, 0.9),
            "returned": int(a["returned"].sum()), "failed": int(a["failed"].sum()),
            "value_in_flight_peak_usd": peak, "value_hours_usd": vh,
            "loss_usd": usd_total(g["loss"].to_numpy(), g["ccy"].to_numpy(), fx),
            "frozen_usd": usd_total(g["frozen"].to_numpy(), g["ccy"].to_numpy(), fx),
            "extra_fees_usd": usd_total(fee_diff, a["ccy"].to_numpy(), fx),
            "events": _per_event(a, events)}
    table = affected[[*_KEY, "extra_latency_s", "returned", "failed"]].reset_index(drop=True)
    flight = pd.concat(series, ignore_index=True) if series else pd.DataFrame(
        {"rail": [], "t": [], "event_usd": [], "twin_usd": []})
    return EventCosts(rails, table, flight, events.describe())

