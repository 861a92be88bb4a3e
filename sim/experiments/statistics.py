"""Summaries of a run: KPIs per rail and corridor, paired differences, intervals.

``summary.json`` is :func:`extended_summary` of a run's replications: the
docs/architecture.md shape (``rails``, ``corridors``, ``paired``) with extra KPIs, the paired
on-chain minus correspondent differences with a bootstrap interval of their
median, and, with two or more replications, a 95% interval for every KPI across
replications. Intervals come from :mod:`scipy.stats`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from sim.experiments.liquidity import (
    EXPOSURE_KPIS,
    all_in_pct,
    bank_exposure,
    exposure_kpis,
    liquidity_kpis,
    replication_exposure,
)
from sim.results import Results, within_1bd

__all__ = ["CI_LEVEL", "MIN_REPLICATIONS", "events_summary", "extended_summary",
           "median_interval", "paired_differences", "replication_mean_interval"]

CI_LEVEL = 0.95
#: fewer replications than this get no interval across replications, and a warning
MIN_REPLICATIONS = 5
#: counts are design quantities, not estimates: no interval
_COUNTS = ("count", "credited", "both_credited", "ci95")
#: resamples of the paired medians' bootstrap, and its fixed seed (reproducible)
_BOOTSTRAP = 1000
_BOOT_SEED = 20271
#: values resampled at once (bounds the bootstrap's memory for large runs)
_BOOT_BATCH_VALUES = 2_000_000

# ---------------------------------------------------------------------------
# summaries
# ---------------------------------------------------------------------------
def _extra_kpis(p: pd.DataFrame) -> dict[str, Any]:
    n = len(p)
    out: dict[str, Any] = {
        "return_rate": float((p["status"] == "returned").sum() / n) if n else None,
        "failed_rate": float((p["status"] == "failed").sum() / n) if n else None,
    }
    return out


def _corridor_cost_shares(corr: Mapping[str, Mapping[str, Any]], rail: str) -> dict[str, Any]:
    vals = [k[rail]["cost_pct_mean"] for k in corr.values()
            if rail in k and k[rail].get("cost_pct_mean") is not None]
    if not vals:
        return {"corridors_cost_above_3pct": None, "corridors_cost_above_5pct": None}
    a = np.array(vals)
    return {"corridors_cost_above_3pct": float((a > 3).mean()),
            "corridors_cost_above_5pct": float((a > 5).mean())}


def _pairs(p: pd.DataFrame, keys: Sequence[str] = ("payment_id",)
           ) -> tuple[pd.Index, dict[str, np.ndarray]]:
    """Payments credited on both rails, matched on ``keys``: their index, and per payment
    ``latency`` (s) and ``cost`` (percentage points of the amount sent), on-chain minus
    correspondent, and ``fee_saving`` (correspondent minus on-chain fee, minor units)."""
    empty = np.array([])
    rails = set(p["rail"].unique())
    if not {"correspondent", "onchain"} <= rails:
        return pd.Index([]), {"latency": empty, "cost": empty, "fee_saving": empty}
    a = p[p["rail"] == "correspondent"].set_index(list(keys))
    b = p[p["rail"] == "onchain"].set_index(list(keys))
    ids = a.index.intersection(b.index)
    a, b = a.loc[ids], b.loc[ids]
    both = ((a["status"] == "credited") & (b["status"] == "credited")).to_numpy()
    dl = (b["latency_s"].to_numpy(float) - a["latency_s"].to_numpy(float))[both]
    ca = 100 * a["fee_total_sent"].to_numpy(float) / a["amount_sent"].to_numpy(float)
    cb = 100 * b["fee_total_sent"].to_numpy(float) / b["amount_sent"].to_numpy(float)
    dfee = (a["fee_total_sent"].to_numpy(float) - b["fee_total_sent"].to_numpy(float))[both]
    return ids[both], {"latency": dl, "cost": (cb - ca)[both], "fee_saving": dfee}


def _paired_diffs(p: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per payment credited on both rails: on-chain minus correspondent latency (s) and
    cost (percentage points of the amount sent)."""
    _, d = _pairs(p)
    return d["latency"], d["cost"]


def median_interval(x: np.ndarray) -> list[float] | None:
    """Percentile-bootstrap 95% interval of the median of ``x``
    (:func:`scipy.stats.bootstrap`, 1000 resamples, fixed seed); None below 2 values.

    >>> lo, hi = median_interval(np.arange(101.0))
    >>> bool(lo < 50 < hi)
    True
    """
    x = np.asarray(x, dtype=float)
    if len(x) < 2:
        return None
    if np.all(x == x[0]):
        return [float(x[0]), float(x[0])]
    res = stats.bootstrap((x,), np.median, n_resamples=_BOOTSTRAP, method="percentile",
                          confidence_level=CI_LEVEL, vectorized=True,
                          batch=max(1, _BOOT_BATCH_VALUES // len(x)),
                          rng=np.random.default_rng(_BOOT_SEED))
    ci = res.confidence_interval
    return [float(ci.low), float(ci.high)]


def paired_differences(payments: pd.DataFrame) -> pd.DataFrame:
    """Per payment credited on both rails: ``latency_diff_s`` and ``cost_diff_pp``
    (on-chain minus correspondent; negative: on-chain faster or cheaper)."""
    dl, dc = _paired_diffs(payments)
    return pd.DataFrame({"latency_diff_s": dl, "cost_diff_pp": dc})


def _paired_extra(p: pd.DataFrame, bootstrap: bool) -> dict[str, Any]:
    dl, dc = _paired_diffs(p)
    if not len(dl):
        return {}
    out: dict[str, Any] = {
        "latency_diff_median_s": float(np.median(dl)),
        "latency_diff_p10_s": float(np.quantile(dl, 0.1)),
        "latency_diff_p90_s": float(np.quantile(dl, 0.9)),
        "cost_diff_median_pp": float(np.median(dc)),
        "cost_diff_p10_pp": float(np.quantile(dc, 0.1)),
        "cost_diff_p90_pp": float(np.quantile(dc, 0.9)),
        "onchain_cheaper_share": float((dc < 0).mean()),
    }
    if bootstrap:
        out["latency_diff_median_ci95_s"] = median_interval(dl)
        out["cost_diff_median_ci95_pp"] = median_interval(dc)
    return out


def _single_summary(res: Any, scenario: str, seed: int | None, calendars: Any,
                    bootstrap: bool, reps: Sequence[Any] | None = None) -> dict[str, Any]:
    doc = Results.summary(res, scenario, seed, calendars)
    p = res.payments
    reps = [res] if reps is None else reps
    for rail, k in doc["rails"].items():
        k.update(_extra_kpis(p[p["rail"] == rail]))
        k.update(_corridor_cost_shares(doc["corridors"], rail))
        k.update(liquidity_kpis(p[p["rail"] == rail]))
        k.update(exposure_kpis(reps, lambda q, r=rail: q["rail"] == r))
    for corr, by_rail in doc["corridors"].items():
        for rail, k in by_rail.items():
            k.update(_extra_kpis(p[(p["rail"] == rail) & (p["corridor"] == corr)]))
            k.update(liquidity_kpis(p[(p["rail"] == rail) & (p["corridor"] == corr)]))
            k.update(exposure_kpis(reps, lambda q, r=rail, c=corr: (q["rail"] == r)
                                   & (q["corridor"] == c)))
    doc["paired"].update(_paired_extra(p, bootstrap))
    doc["banks"] = bank_exposure(reps)
    return doc


def replication_mean_interval(vals: Sequence[float | None]) -> list[float] | None:
    """Percentile-bootstrap 95% interval of the mean of per-replication values
    (:func:`scipy.stats.bootstrap`, fixed seed); None with fewer than
    :data:`MIN_REPLICATIONS` values. It lies within the values' range, so a share's
    interval stays in [0, 1] and a latency's is never negative.

    >>> replication_mean_interval([0.9, 1.0, 1.0]) is None
    True
    >>> lo, hi = replication_mean_interval([0.90, 0.95, 1.0, 1.0, 0.97])
    >>> bool(0.9 <= lo <= hi <= 1.0)
    True
    """
    v = np.array([x for x in vals if x is not None and math.isfinite(x)], dtype=float)
    if len(v) < MIN_REPLICATIONS:
        return None
    if np.all(v == v[0]):
        return [float(v[0]), float(v[0])]
    res = stats.bootstrap((v,), np.mean, n_resamples=_BOOTSTRAP, method="percentile",
                          confidence_level=CI_LEVEL, vectorized=True,
                          rng=np.random.default_rng(_BOOT_SEED))
    return [float(res.confidence_interval.low), float(res.confidence_interval.high)]


# ---------------------------------------------------------------------------
# intervals across replications: a cluster bootstrap
# ---------------------------------------------------------------------------
def _wquantiles(values: np.ndarray, reps: np.ndarray, weights: np.ndarray,
                qs: Sequence[float]) -> np.ndarray:
    """``np.quantile`` (linear) of the pooled rows of each resample, ``(B, len(qs))``.

    Row ``i`` (value ``values[i]``, replication ``reps[i]``) appears
    ``weights[b, reps[i]]`` times in resample ``b``: the quantile is that of the
    expanded sample, found without expanding it, by a binary search (all resamples
    at once) over the sorted rows' cumulative counts per replication.
    """
    n_b = weights.shape[0]
    out = np.full((n_b, len(qs)), np.nan)
    if len(values) == 0:
        return out
    order = np.argsort(values, kind="stable")
    x, r = values[order], reps[order]
    counts = np.zeros((len(x), weights.shape[1]))
    counts[np.arange(len(x)), r] = 1.0
    cum = np.cumsum(counts, axis=0)                     # (n, R): rows of each rep so far
    total = cum[-1] @ weights.T                         # (B,): size of each resample

    def first_above(k: np.ndarray) -> np.ndarray:
        """Per resample, the first sorted row whose cumulative weight exceeds ``k``."""
        lo = np.zeros(n_b, dtype=np.int64)
        hi = np.full(n_b, len(x) - 1, dtype=np.int64)
        while np.any(lo < hi):
            mid = (lo + hi) // 2
            above = np.einsum("br,br->b", cum[mid], weights) > k
            hi = np.where(above, mid, hi)
            lo = np.where(above, lo, mid + 1)
        return lo

    ok = total > 0
    for j, q in enumerate(qs):
        h = (total - 1) * q
        f = np.floor(h)
        v_lo = x[first_above(f)]
        v_hi = x[first_above(np.minimum(f + 1, total - 1))]
        out[:, j] = np.where(ok, v_lo + (h - f) * (v_hi - v_lo), np.nan)
    return out


def _pct_interval(samples: np.ndarray) -> list[float] | None:
    good = samples[np.isfinite(samples)]
    if len(good) < 0.9 * len(samples) or not len(good):
        return None      # the KPI is undefined in too many resamples (too few payments)
    a = (1 - CI_LEVEL) / 2
    lo, hi = np.quantile(good, [a, 1 - a])
    return [float(lo), float(hi)]


class _Cluster:
    """Per-payment arrays of all replications, and the bootstrap weights: resample
    ``B`` times whole replications with replacement (rows of a replication move
    together, so the dependence between a run's payments is kept)."""

    def __init__(self, reps: Sequence[Any], calendars: Any) -> None:
        frames = []
        for r, res in enumerate(reps):
            f = res.payments[["payment_id", "rail", "corridor", "status", "latency_s",
                              "fee_total_sent", "amount_sent", "liquidity_cost",
                              "risk_principal_sent", "risk_start", "risk_s", "currency_sent",
                              "sender_bank"]].copy()
            f["within_1bd"] = within_1bd(res.payments, calendars)
            f["rep"] = r
            frames.append(f)
        p = pd.concat(frames, ignore_index=True)
        self.p = p
        self.R = len(reps)
        self.rep = p["rep"].to_numpy()
        self.rail = p["rail"].astype(str).to_numpy()
        self.corridor = p["corridor"].astype(str).to_numpy()
        st = p["status"].astype(str).to_numpy()
        self.cred = st == "credited"
        self.ret = st == "returned"
        self.fail = st == "failed"
        lat = p["latency_s"].to_numpy(dtype=float)
        self.lat = np.where(self.cred, lat, np.nan)
        sent = p["amount_sent"].to_numpy(dtype=float)
        fee = p["fee_total_sent"].to_numpy(dtype=float)
        pct = np.divide(100 * fee, sent, out=np.zeros_like(fee), where=sent > 0)
        self.pct = np.where(self.cred, pct, np.nan)
        self.w1h = self.cred & (lat <= 3600)
        self.w1bd = p["within_1bd"].to_numpy(dtype=bool) & self.cred
        liq, allin = all_in_pct(p)
        self.liq = np.where(self.cred, liq, np.nan)
        self.allin = np.where(self.cred, allin, np.nan)
        self.risky = p["risk_principal_sent"].to_numpy() > 0
        self.usd = [dict(res.meta.get("usd_per_minor", {})) for res in reps]
        self.sender = p["sender_bank"].astype(str).to_numpy()
        rng = np.random.default_rng(_BOOT_SEED)
        self.W = rng.multinomial(self.R, np.full(self.R, 1 / self.R),
                                 size=_BOOTSTRAP).astype(float)

    def _sum(self, flags: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.W @ np.bincount(self.rep[mask], weights=flags[mask].astype(float),
                                    minlength=self.R)

    def kpis(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """Each KPI of the rows in ``mask``, per resample (length ``B``)."""
        ones = np.ones(len(mask), dtype=bool)
        with np.errstate(invalid="ignore", divide="ignore"):
            n = self._sum(ones, mask)
            cred = self._sum(self.cred, mask)
            out = {"share_within_1h": self._sum(self.w1h, mask) / n,
                   "share_within_1bd": self._sum(self.w1bd, mask) / n,
                   "failure_rate": 1 - cred / n,
                   "return_rate": self._sum(self.ret, mask) / n,
                   "failed_rate": self._sum(self.fail, mask) / n,
                   "cost_pct_mean": (self.W @ np.bincount(
                       self.rep[mask & self.cred], weights=self.pct[mask & self.cred],
                       minlength=self.R)) / cred}
        c = mask & self.cred
        lq = _wquantiles(self.lat[c], self.rep[c], self.W, (0.5, 0.9, 0.99))
        out["latency_p50_s"], out["latency_p90_s"], out["latency_p99_s"] = lq.T
        out["cost_pct_median"] = _wquantiles(self.pct[c], self.rep[c], self.W, (0.5,))[:, 0]
        with np.errstate(invalid="ignore", divide="ignore"):
            for name, x in (("liquidity_cost_pct_mean", self.liq),
                            ("all_in_cost_pct_mean", self.allin)):
                out[name] = (self.W @ np.bincount(self.rep[c], weights=x[c],
                                                  minlength=self.R)) / cred
            out["fx_at_risk_share"] = self._sum(self.risky, mask) / n
        out["all_in_cost_pct_median"] = _wquantiles(self.allin[c], self.rep[c], self.W,
                                                    (0.5,))[:, 0]
        out.update(self.exposure(mask))
        return out

    def exposure(self, mask: np.ndarray) -> dict[str, np.ndarray]:
        """:data:`EXPOSURE_KPIS` of the rows in ``mask``: each replication's value, and per
        resample the mean over the replications it draws."""
        vals: dict[str, list[float]] = {k: [] for k in EXPOSURE_KPIS}
        for r in range(self.R):
            rows = mask & (self.rep == r)
            v = (replication_exposure(self.p[rows], self.usd[r]) if self.usd[r]
                 else dict.fromkeys(EXPOSURE_KPIS, np.nan))
            for k in EXPOSURE_KPIS:
                vals[k].append(v[k])
        return {k: self.W @ np.array(v, dtype=float) / self.R for k, v in vals.items()}

    def paired(self) -> dict[str, np.ndarray]:
        """The paired KPIs (on-chain minus correspondent, both credited), per resample."""
        ids, d = _pairs(self.p, ("rep", "payment_id"))
        if not len(ids):
            return {}
        rep = np.asarray(ids.get_level_values(0))
        dl, dc, dfee = d["latency"], d["cost"], d["fee_saving"]
        with np.errstate(invalid="ignore", divide="ignore"):
            m = self.W @ np.bincount(rep, minlength=self.R).astype(float)
            out = {"onchain_faster_share": (self.W @ np.bincount(
                       rep, weights=(dl < 0).astype(float), minlength=self.R)) / m,
                   "onchain_cheaper_share": (self.W @ np.bincount(
                       rep, weights=(dc < 0).astype(float), minlength=self.R)) / m}
        lq = _wquantiles(dl, rep, self.W, (0.5, 0.1, 0.9))
        out["latency_diff_median_s"], out["latency_diff_p10_s"], out["latency_diff_p90_s"] = lq.T
        out["latency_saving_p50_s"] = -lq[:, 0]
        cq = _wquantiles(dc, rep, self.W, (0.5, 0.1, 0.9))
        out["cost_diff_median_pp"], out["cost_diff_p10_pp"], out["cost_diff_p90_pp"] = cq.T
        out["fee_saving_sent_median"] = _wquantiles(dfee, rep, self.W, (0.5,))[:, 0]
        return out


def _add_cis(doc: dict[str, Any], reps: Sequence[Any], calendars: Any) -> None:
    """``ci95`` in every K and in ``paired``: 95% percentile intervals of a cluster
    bootstrap over replications (see :class:`_Cluster`)."""
    cl = _Cluster(reps, calendars)

    def put(k: dict[str, Any], samples: Mapping[str, np.ndarray]) -> None:
        k["ci95"] = {name: (_pct_interval(samples[name])
                            if name in samples and k.get(name) is not None else None)
                     for name, val in k.items()
                     if name not in _COUNTS and isinstance(val, int | float | None)
                     and not isinstance(val, bool)}

    corr_means: dict[str, list[np.ndarray]] = {}
    for corr, by_rail in doc["corridors"].items():
        for rail, k in by_rail.items():
            s = cl.kpis((cl.corridor == corr) & (cl.rail == rail))
            corr_means.setdefault(rail, []).append(s["cost_pct_mean"])
            put(k, s)
    for rail, k in doc["rails"].items():
        s = cl.kpis(cl.rail == rail)
        if corr_means.get(rail):
            means = np.vstack(corr_means[rail])           # (corridors, B)
            with np.errstate(invalid="ignore"):
                for pct in (3, 5):
                    s[f"corridors_cost_above_{pct}pct"] = np.where(
                        np.isnan(means).all(axis=0), np.nan,
                        np.nansum(means > pct, axis=0) / np.maximum(
                            (~np.isnan(means)).sum(axis=0), 1))
        put(k, s)
    if doc["paired"]:
        put(doc["paired"], cl.paired())
    for bank, by_rail in doc.get("banks", {}).items():
        for rail, k in by_rail.items():
            put(k, cl.exposure((cl.sender == bank) & (cl.rail == rail)))


# ---------------------------------------------------------------------------
# what the events cost (sim.experiments.stress), pooled over replications
# ---------------------------------------------------------------------------
#: how ``summary.json``'s ``events`` section pools the replications
EVENTS_METHOD = ("each replication against its twin (the same payments and seed without "
                 "any event); counts summed over replications, affected_share and the "
                 "extra-latency quantiles over the pooled payments, the USD values and "
                 "drain times the mean over replications; ci95 (5 or more replications): "
                 "the cluster bootstrap over replications of the other KPIs for shares and "
                 "quantiles, the bootstrap of the mean over replications for the rest")


def _mean(vals: Sequence[float | None]) -> float | None:
    xs = [float(v) for v in vals if v is not None]
    return float(np.mean(xs)) if xs else None


def events_summary(replications: Sequence[Any]) -> dict[str, Any] | None:
    """``summary.json``'s ``events`` section, or None when the run had no events.

    ``{"events": [...], "method": ..., "rails": {rail: E}}``: the events as
    :meth:`~sim.events.EventSchedule.describe` lists them, and per rail the measures
    of :mod:`sim.experiments.stress` over every replication (``meta["events"]``):
    the counts (``payments``, ``affected``, ``returned``, ``failed``) summed,
    ``affected_share`` and ``extra_latency_p50_s`` / ``_p90_s`` over the pooled
    payments, the USD values the mean over replications, ``events`` per event
    (``in_flight`` and ``still_frozen`` summed, ``drained_after_s`` the mean over
    the replications where it is defined); with :data:`MIN_REPLICATIONS` or more
    replications a ``ci95`` of each measure but the counts, in E and in each event.
    """
    from sim.experiments.stress import MEAN_MEASURES

    costs = [r.meta.get("events") for r in replications]
    if not costs or any(c is None for c in costs):
        return None
    n_r = len(costs)
    with_ci = n_r >= MIN_REPLICATIONS
    weights = np.random.default_rng(_BOOT_SEED).multinomial(
        n_r, np.full(n_r, 1 / n_r), size=_BOOTSTRAP).astype(float) if with_ci else None
    rails: dict[str, Any] = {}
    for rail in sorted({r for c in costs for r in c.rails}):
        ms = [c.rails.get(rail) for c in costs]
        got = [m for m in ms if m is not None]
        e: dict[str, Any] = {k: sum(int(m[k]) for m in got)
                             for k in ("payments", "affected")}
        e["affected_share"] = e["affected"] / e["payments"] if e["payments"] else None
        lat, rep = [], []
        for r, c in enumerate(costs):
            a = c.affected
            x = a.loc[a["rail"] == rail, "extra_latency_s"].to_numpy(dtype=float)
            x = x[np.isfinite(x)]
            lat.append(x)
            rep.append(np.full(len(x), r))
        lat_all = np.concatenate(lat) if lat else np.array([])
        rep_all = np.concatenate(rep).astype(np.int64) if rep else np.array([], np.int64)
        e["extra_latency_p50_s"] = float(np.quantile(lat_all, 0.5)) if len(lat_all) else None
        e["extra_latency_p90_s"] = float(np.quantile(lat_all, 0.9)) if len(lat_all) else None
        for k in ("returned", "failed"):
            e[k] = sum(int(m[k]) for m in got)
        for k in MEAN_MEASURES:
            e[k] = _mean([m[k] for m in got])
        per_event = []
        for j, ev in enumerate(got[0]["events"]):
            rows = [m["events"][j] for m in got]
            drained = [x["drained_after_s"] for x in rows]
            item: dict[str, Any] = {
                "index": ev["index"], "label": ev["label"],
                "in_flight": sum(x["in_flight"] for x in rows),
                "still_frozen": sum(x["still_frozen"] for x in rows),
                "drained_after_s": _mean(drained)}
            if with_ci:
                item["ci95"] = {"drained_after_s": replication_mean_interval(drained)}
            per_event.append(item)
        if weights is not None:
            aff = np.array([m["affected"] if m else 0 for m in ms], dtype=float)
            pay = np.array([m["payments"] if m else 0 for m in ms], dtype=float)
            with np.errstate(invalid="ignore", divide="ignore"):
                share = (weights @ aff) / (weights @ pay)
            q = _wquantiles(lat_all, rep_all, weights, (0.5, 0.9))
            ci: dict[str, Any] = {
                "affected_share": _pct_interval(share),
                "extra_latency_p50_s": _pct_interval(q[:, 0]) if len(lat_all) else None,
                "extra_latency_p90_s": _pct_interval(q[:, 1]) if len(lat_all) else None}
            for k in MEAN_MEASURES:
                ci[k] = replication_mean_interval([m[k] for m in got])
            e["ci95"] = ci
        e["events"] = per_event
        rails[rail] = e
    return {"events": list(costs[0].events), "method": EVENTS_METHOD, "rails": rails}


def extended_summary(replications: Sequence[Any], scenario: str, seed: int | None,
                     calendars: Any = None, *, seeds: Sequence[int] | None = None
                     ) -> dict[str, Any]:
    """``summary.json`` of one or more replications (each a :class:`~sim.results.Results`).

    The shape of docs/architecture.md (``scenario``, ``seed``, ``rails``, ``corridors``,
    ``paired``, each K with its fields), computed over all replications pooled,
    plus:

    * in every K: ``return_rate`` and ``failed_rate`` (``failure_rate`` is their
      sum); in each rail's K: ``corridors_cost_above_3pct`` / ``_5pct``, the share
      of corridors whose mean cost exceeds 3% / 5% of the amount (FSB targets);
    * in ``paired``: the per-payment difference on-chain minus correspondent, for
      payments credited on both rails: latency (``latency_diff_*_s``) and cost in
      percentage points (``cost_diff_*_pp``), median, 10th and 90th percentiles,
      and a bootstrap 95% interval of the median (``*_median_ci95_*``; 1000
      resamples of payments, fixed seed);
    * with :data:`MIN_REPLICATIONS` (5) or more replications, ``ci95`` in every K
      and in ``paired``: for each KPI but the counts, a 95% percentile interval of
      a cluster bootstrap over replications (the KPI recomputed on the pooled
      payments of replications resampled whole), so a share's interval lies in
      [0, 1] and every interval is in its KPI's unit; with fewer, ``ci_warning``
      says there are too few for an interval; ``ci_method``, ``replications``
      and ``seeds`` always;
    * in every K the liquidity and settlement-risk KPIs of
      :mod:`sim.experiments.liquidity` (all-in cost, exposure), and ``banks``: per
      ordering bank and rail, its exposure (with ``ci95`` as above).
    * when the scenario has events, ``events``: what they cost against the twin runs
      (:func:`events_summary`).
    """
    reps = list(replications)
    if len(reps) == 1:
        pooled = reps[0]
    else:
        parts = []
        for r, res in enumerate(reps):
            pay = res.payments.copy()
            pay["payment_id"] = (f"R{r:03d}-" + pay["payment_id"].astype(str)).astype("str")
            parts.append(Results(pay, res.steps, res.meta))
        pooled = Results.concat(parts)
    doc = _single_summary(pooled, scenario, seed, calendars, bootstrap=True, reps=reps)
    doc["replications"] = len(reps)
    doc["seeds"] = list(seeds) if seeds is not None else [r.meta.get("seed") for r in reps]
    if len(reps) >= MIN_REPLICATIONS:
        _add_cis(doc, reps, calendars)
        doc["ci_method"] = (f"across replications: 95% percentile interval of a cluster "
                            f"bootstrap that resamples the {len(reps)} replications whole "
                            f"({_BOOTSTRAP} resamples, fixed seed), each KPI recomputed on "
                            "the pooled payments; point values are pooled over all "
                            "replications")
    else:
        doc["ci_method"] = (f"{len(reps)} replication(s): no interval for KPIs (intervals "
                            f"across replications need at least {MIN_REPLICATIONS}); the "
                            "paired medians have a bootstrap 95% interval over payments")
        doc["ci_warning"] = (f"only {len(reps)} replication(s): too few for intervals across "
                             f"replications (at least {MIN_REPLICATIONS}); the KPIs are point "
                             f"values; run --replications {MIN_REPLICATIONS} or more")
    doc["paired_ci_method"] = (f"percentile bootstrap of the median over payments credited on "
                               f"both rails, {_BOOTSTRAP} resamples")
    ev = events_summary(reps)
    if ev is not None:
        doc["events"] = ev
    return doc

