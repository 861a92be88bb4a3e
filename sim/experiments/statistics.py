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

from sim.results import Results

__all__ = ["CI_LEVEL", "extended_summary", "median_interval", "mean_interval",
           "paired_differences"]

CI_LEVEL = 0.95
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


def _paired_diffs(p: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per payment credited on both rails: on-chain minus correspondent latency (s) and
    cost (percentage points of the amount sent)."""
    rails = set(p["rail"].unique())
    if not {"correspondent", "onchain"} <= rails:
        return np.array([]), np.array([])
    a = p[p["rail"] == "correspondent"].set_index("payment_id")
    b = p[p["rail"] == "onchain"].set_index("payment_id")
    ids = a.index.intersection(b.index)
    a, b = a.loc[ids], b.loc[ids]
    both = ((a["status"] == "credited") & (b["status"] == "credited")).to_numpy()
    dl = (b["latency_s"].to_numpy(float) - a["latency_s"].to_numpy(float))[both]
    ca = 100 * a["fee_total_sent"].to_numpy(float) / a["amount_sent"].to_numpy(float)
    cb = 100 * b["fee_total_sent"].to_numpy(float) / b["amount_sent"].to_numpy(float)
    return dl, (cb - ca)[both]


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
                    bootstrap: bool) -> dict[str, Any]:
    doc = Results.summary(res, scenario, seed, calendars)
    p = res.payments
    for rail, k in doc["rails"].items():
        k.update(_extra_kpis(p[p["rail"] == rail]))
        k.update(_corridor_cost_shares(doc["corridors"], rail))
    for corr, by_rail in doc["corridors"].items():
        for rail, k in by_rail.items():
            k.update(_extra_kpis(p[(p["rail"] == rail) & (p["corridor"] == corr)]))
    doc["paired"].update(_paired_extra(p, bootstrap))
    return doc


def mean_interval(vals: Sequence[float | None]) -> list[float] | None:
    """95% Student-t interval of the mean of ``vals`` (:func:`scipy.stats.t`);
    None below 2 finite values.

    >>> [round(v, 3) for v in mean_interval([1.0, 2.0, 3.0])]
    [-0.484, 4.484]
    """
    v = np.array([x for x in vals if x is not None and math.isfinite(x)], dtype=float)
    if len(v) < 2:
        return None
    m, sem = float(v.mean()), float(stats.sem(v))
    if sem == 0:
        return [m, m]
    lo, hi = stats.t.interval(CI_LEVEL, len(v) - 1, loc=m, scale=sem)
    return [float(lo), float(hi)]


def _add_cis(doc: dict[str, Any], reps: list[dict[str, Any]]) -> None:
    def ci_for(k: dict[str, Any], path: tuple[str, ...]) -> None:
        def get(d: dict[str, Any]) -> Any:
            sub: Any = d
            for part in path:
                sub = sub.get(part) if isinstance(sub, Mapping) else None
            return sub

        cis: dict[str, Any] = {}
        for name, val in k.items():
            if name in ("count", "credited", "ci95") or not isinstance(val, int | float) \
                    or isinstance(val, bool):
                continue
            vals = []
            for d in reps:
                sub = get(d)
                if isinstance(sub, Mapping) and isinstance(sub.get(name), int | float):
                    vals.append(float(sub[name]))
            cis[name] = mean_interval(vals)
        k["ci95"] = cis

    for rail, k in doc["rails"].items():
        ci_for(k, ("rails", rail))
    for corr, by_rail in doc["corridors"].items():
        for rail, k in by_rail.items():
            ci_for(k, ("corridors", corr, rail))
    if doc["paired"]:
        ci_for(doc["paired"], ("paired",))


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
    * with two or more replications, ``ci95`` in every K and in ``paired``: for
      each KPI, a 95% Student-t interval of the mean of its per-replication values
      (``ci_method`` says so); ``replications`` and ``seeds``.
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
    doc = _single_summary(pooled, scenario, seed, calendars, bootstrap=True)
    doc["replications"] = len(reps)
    doc["seeds"] = list(seeds) if seeds is not None else [r.meta.get("seed") for r in reps]
    if len(reps) > 1:
        per = [_single_summary(r, scenario, seed, calendars, bootstrap=False) for r in reps]
        _add_cis(doc, per)
        doc["ci_method"] = (f"across replications: 95% Student-t interval of the mean of the "
                            f"{len(reps)} per-replication values of each KPI; point values "
                            "are pooled over all replications")
    else:
        doc["ci_method"] = ("one replication: no interval for KPIs (run replications for "
                            "them); the paired median has a bootstrap 95% interval over payments")
    doc["paired_ci_method"] = (f"percentile bootstrap of the median over payments credited on "
                               f"both rails, {_BOOTSTRAP} resamples")
    return doc

