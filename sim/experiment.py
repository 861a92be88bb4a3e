"""Running scenarios: both rails on the same seeded workload, replications, summaries.

:func:`run_scenario` runs one replication of a :class:`~sim.scenario.Scenario`:
it builds the network (with the scenario's bank overrides), draws the workload
from a seed, and replays the *same* payments on every rail of the scenario,
returning one :class:`~sim.results.Results` (the DESIGN.md tables, unchanged).
:func:`run` is the notebook API: it runs the scenario's replications one after
another and returns :class:`ScenarioResults`, whose :meth:`~ScenarioResults.summary`
adds KPIs and, with more than one replication, a 95% confidence interval for
every KPI (across replications).

Seeds. Replication ``r`` of grid point ``g`` of a scenario with seed ``S`` runs
with :func:`replication_seed` ``(S, r, g)``, derived with
:class:`numpy.random.SeedSequence`, so replications are independent streams
and the same ``(S, r, g)`` always gives byte-identical results, whatever runs
them (a sweep's workers or this process).

Example
-------
>>> from sim.scenario import load_scenario
>>> res = run("baseline", payments=20, replications=2)
>>> sorted(set(res.payments.rail)), len(res.payments)
(['correspondent', 'onchain'], 80)
>>> s = res.summary()
>>> s["replications"], "ci95" in s["rails"]["onchain"]
(2, True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sim.errors import InputError
from sim.network import deep_merge
from sim.results import Results
from sim.scenario import Scenario, ScenarioError, freeze, load_scenario

__all__ = [
    "Components",
    "ScenarioResults",
    "build_components",
    "extended_summary",
    "replication_seed",
    "run",
    "run_scenario",
]

#: ``progress(done, total, description)`` after each unit of work.
Progress = Callable[[int, int, str], None]

CI_LEVEL = 0.95
_BOOTSTRAP = 1000
_BOOT_SEED = 20271


def replication_seed(scenario_seed: int, replication: int, grid_index: int = 0) -> int:
    """The seed of replication ``replication`` of grid point ``grid_index``.

    Derived with ``SeedSequence(scenario_seed, spawn_key=(grid_index, replication))``
    (63 bits), so streams are independent and reproducible anywhere.

    >>> replication_seed(1, 0) == replication_seed(1, 0), replication_seed(1, 0) != \
replication_seed(1, 1)
    (True, True)
    >>> replication_seed(1, 2, 3)
    4095065250409260757
    """
    if scenario_seed < 0 or replication < 0 or grid_index < 0:
        raise InputError("seeds, replications and grid indices are >= 0")
    ss = np.random.SeedSequence(scenario_seed, spawn_key=(grid_index, replication))
    hi, lo = (int(x) for x in ss.generate_state(2, dtype=np.uint32))
    return ((hi << 32) | lo) & ((1 << 63) - 1)


# ---------------------------------------------------------------------------
# building what a scenario refers to
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Components:
    """Everything a scenario run needs, built and validated."""

    network: Any            # BankNetwork
    workload_spec: Any      # WorkloadSpec
    onchain_spec: Any       # OnChainSpec
    chain: Any              # ChainProfile
    congestion: tuple[Any, ...]   # Congestion episodes
    start: Any              # datetime or None (workload file's)
    days: float | None


def build_components(scenario: Scenario) -> Components:
    """Build (cached) the network, workload spec, on-chain spec and chain profile of
    ``scenario``; raise :class:`~sim.scenario.ScenarioError` listing every problem.

    >>> from sim.scenario import Scenario
    >>> c = build_components(Scenario(name="x", onchain={"chain": "l2-rollup"}))
    >>> c.chain.name, len(c.network.banks) > 10
    ('l2-rollup', True)
    """
    key = freeze({k: v for k, v in scenario.to_dict().items()
                  if k in ("network", "workload", "onchain", "congestion", "horizon",
                           "correspondent", "path")})
    return _build(key, scenario)


_CACHE: dict[str, Components] = {}


def _build(key: str, sc: Scenario) -> Components:
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    problems: list[str] = []
    net = _network(sc, problems)
    wspec = _workload_spec(sc, net, problems)
    ospec = _onchain_spec(sc, problems)
    chain = _chain(sc, problems)
    cong = _congestion(sc, problems)
    if sc.correspondent.via is not None and net is not None \
            and sc.correspondent.via not in net.banks:
        problems.append(f"correspondent.via: no bank {sc.correspondent.via!r} in the network; "
                        "allowed: a bank id of the network")
    if problems:
        raise ScenarioError(sc.path, problems)
    comp = Components(net, wspec, ospec, chain, cong, sc.horizon.start, sc.horizon.days)
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = comp
    return comp


@lru_cache(maxsize=8)
def _base_network(path: str) -> Any:
    from sim.network import BankNetwork

    return BankNetwork.load(path)


def _network(sc: Scenario, problems: list[str]) -> Any:
    from sim.network import DEFAULT_NETWORK_PATH, BankNetwork, NetworkFileError

    ns = sc.network
    path = sc.resolve(ns.file, DEFAULT_NETWORK_PATH)
    try:
        base = _base_network(str(path))
    except NetworkFileError as exc:
        where = "network.file" if ns.file != "default" else "network (default file)"
        problems += [f"{where}: {path}: {p}" for p in exc.problems]
        return None
    if not ns.overrides and not ns.banks:
        return base
    raw = dict(base.raw)
    ids = [b.get("id") for b in raw.get("banks", [])]
    for bid in ns.banks:
        if bid not in ids:
            problems.append(f"network.banks.{bid}: no such bank in {path}; allowed: "
                            f"{', '.join(str(i) for i in ids)}")
    banks = []
    for entry in raw.get("banks", []):
        over = deep_merge(ns.overrides, ns.banks.get(entry.get("id"), {}))
        if not over:
            banks.append(entry)
            continue
        profile = raw.get("profiles", {}).get(entry.get("profile"), {})
        merged = deep_merge({k: v for k, v in profile.items() if k != "sources"}, entry)
        merged = deep_merge(merged, over)
        merged.pop("profile", None)
        src = dict(merged.get("sources", {}))
        for k in over:
            src[k] = "scenario override (modelling choice)"
        merged["sources"] = src
        banks.append(merged)
    raw["banks"] = banks
    try:
        return BankNetwork.from_dict(raw, path=f"{path} with the overrides of {sc.path}")
    except NetworkFileError as exc:
        import re

        for p in exc.problems:
            m = re.match(r"^banks\[\d+\] \(id '([A-Z0-9]+)'\) field '([^']+)'"
                         r"(?: \([^)]*\))?: (.*)$", p)
            if not m:
                problems.append(f"network.overrides: {p}")
                continue
            bid, field, msg = m.groups()
            top = field.split(".")[0]
            where = (f"network.banks.{bid}.{field}" if top in ns.banks.get(bid, {})
                     else f"network.overrides.{field}")
            msg, _, fix = msg.partition("; fix: ")
            should = re.match(r"Input should be (.*)$", msg)
            allowed = should.group(1) if should else fix
            problems.append(f"{where}: {msg}" + (f"; allowed: {allowed}" if allowed else ""))
        return None


def _workload_spec(sc: Scenario, net: Any, problems: list[str]) -> Any:
    from sim.workload import DEFAULT_WORKLOAD_PATH, WorkloadFileError, WorkloadSpec

    ws = sc.workload
    path = sc.resolve(ws.file, DEFAULT_WORKLOAD_PATH)
    try:
        spec = WorkloadSpec.load(path)
    except WorkloadFileError as exc:
        problems += [f"workload.file: {path}: {p}" for p in exc.problems]
        return None
    names = [c.name for c in spec.corridors]
    n_before = len(problems)
    for i, c in enumerate(ws.corridors or []):
        if c not in names:
            problems.append(f"workload.corridors.{i}: {c!r} is not a corridor of {path}; "
                            f"allowed: {', '.join(names)}")
    for c in ws.shares:
        if c not in names:
            problems.append(f"workload.shares.{c}: not a corridor of {path}; allowed: "
                            f"{', '.join(names)}")
    if len(problems) > n_before:
        return None
    if ws.corridors is not None or ws.shares:
        data = spec.model_dump(mode="python", exclude={"path"})
        keep = set(ws.corridors or names)
        data["corridors"] = [
            {**c, "share": ws.shares.get(c["name"], c["share"])}
            for c in data["corridors"] if c["name"] in keep]
        try:
            spec = WorkloadSpec.from_dict(data, str(path))
        except WorkloadFileError as exc:
            problems += [f"workload: {p}" for p in exc.problems]
            return None
    if ws.segments is not None:
        segs = set(ws.segments)
        if not any(sum(c.segments.get(s, 0.0) for s in segs) > 0 for c in spec.corridors):
            problems.append(f"workload.segments: no corridor carries {', '.join(sorted(segs))}")
    if net is not None:
        try:
            spec.check_against(net)
        except WorkloadFileError as exc:
            problems += [f"workload: {p}" for p in exc.problems]
            return None
    return spec


def _onchain_spec(sc: Scenario, problems: list[str]) -> Any:
    from sim.onchain_spec import DEFAULT_ONCHAIN_PATH, OnChainSpec, OnChainSpecError

    oc = sc.onchain
    path = sc.resolve(oc.settings, DEFAULT_ONCHAIN_PATH)
    try:
        base = OnChainSpec.load(path)
    except OnChainSpecError as exc:
        problems += [f"onchain.settings: {path}: {p}" for p in exc.problems]
        return None
    data = base.model_dump(mode="python")
    data["chain"] = oc.chain
    data["ledger"] = oc.ledger
    if oc.release is not None:
        data["release"] = oc.release
    if oc.charge_bank_fees is not None:
        data["charge_bank_fees"] = oc.charge_bank_fees
    esc = oc.escrow.model_dump(exclude_none=True)
    data["escrow"].update(esc)
    fx = oc.fx.model_dump(exclude_none=True)
    if "spread_bps" in fx:
        fx["spread_bps"] = {**data["fx"]["spread_bps"], **fx["spread_bps"]}
    data["fx"].update(fx)
    ramps = oc.ramps.model_dump(exclude_none=True)
    per_ccy = ramps.pop("currencies", {})
    for k, v in ramps.items():
        cur = data["ramps"]["default"].get(k)
        data["ramps"]["default"][k] = deep_merge(cur, v) if isinstance(v, dict) and \
            isinstance(cur, dict) else v
        for over in data["ramps"]["currencies"].values():
            if k in over:
                over[k] = v
    for ccy, over in per_ccy.items():
        data["ramps"]["currencies"][ccy] = deep_merge(data["ramps"]["currencies"].get(ccy, {}),
                                                      over)
    try:
        return OnChainSpec.from_dict(data, str(path))
    except OnChainSpecError as exc:
        problems += [f"onchain: {p} (after the scenario's overrides)" for p in exc.problems]
        return None


def _chain(sc: Scenario, problems: list[str]) -> Any:
    from sim.chains import ChainProfileError, get_chain_profile, load_chain_profiles

    try:
        prof = get_chain_profile(sc.onchain.chain)
    except (ChainProfileError, LookupError, ValueError):
        problems.append(f"onchain.chain: no chain profile {sc.onchain.chain!r}; allowed: "
                        f"{', '.join(load_chain_profiles())}")
        return None
    if sc.onchain.chain_overrides:
        try:
            prof = prof.with_overrides(**sc.onchain.chain_overrides)
        except (ChainProfileError, ValueError) as exc:
            probs = getattr(exc, "problems", [str(exc)])
            problems += [f"onchain.chain_overrides: {p}" for p in probs]
            return None
    if "onchain" in sc.rails and sc.onchain.ledger == "contracts" and (
            prof.block_time_s < 1 or prof.block_time_s != int(prof.block_time_s)):
        problems.append(f"onchain.ledger: the contracts ledger needs whole-second blocks; "
                        f"{prof.name} has {prof.block_time_s} s; allowed: table")
    return prof


def _congestion(sc: Scenario, problems: list[str]) -> tuple[Any, ...]:
    from sim.calendar import to_timestamp
    from sim.chains import Congestion

    out = []
    for i, ep in enumerate(sc.congestion):
        t0 = to_timestamp(ep.start)
        try:
            out.append(Congestion(t0, t0 + ep.hours * 3600.0, ep.utilisation))
        except ValueError as exc:
            problems.append(f"congestion.{i}: {exc}")
    return tuple(out)


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------
def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def run_scenario(scenario: Scenario, *, payments: int | None = None, seed: int | None = None,
                 replication: int = 0, ledger: str | None = None,
                 progress: Callable[[str], None] | None = None) -> Results:
    """One replication of ``scenario``: every rail on the same seeded workload.

    Parameters
    ----------
    scenario : the scenario
    payments : number of payments (default ``scenario.payments``)
    seed : the seed of this run, used as is for the workload and every rail
        (default :func:`replication_seed` ``(scenario.seed, replication)``)
    replication : which replication (recorded in ``meta``; derives the seed)
    ledger : ``"contracts"`` or ``"table"`` (default ``scenario.onchain.ledger``)
    progress : called with the rail's name after each rail

    Returns
    -------
    Results
        The DESIGN.md tables (columns unchanged; payment ids as drawn) with
        ``meta`` holding ``scenario``, ``replication``, ``seed``,
        ``scenario_seed`` and each rail's own meta.

    >>> from sim.scenario import Scenario
    >>> r = run_scenario(Scenario(name="x", payments=10), seed=3)
    >>> r.meta["seed"], sorted(set(r.payments.rail))
    (3, ['correspondent', 'onchain'])
    """
    from sim import correspondent, onchain
    from sim.workload import Workload

    comp = build_components(scenario)
    s = seed if seed is not None else replication_seed(scenario.seed, replication)
    n = payments if payments is not None else scenario.payments
    if n < 1:
        raise InputError("payments must be at least 1")
    mode = ledger or scenario.onchain.ledger
    if mode not in ("contracts", "table"):
        raise InputError(f"ledger must be 'contracts' or 'table', not {mode!r}")
    wl = Workload.generate(comp.workload_spec, seed=s, n_payments=n, network=comp.network,
                           start=comp.start, days=comp.days,
                           segments=scenario.workload.segments)
    parts = []
    for rail in scenario.rails:
        if rail == "correspondent":
            parts.append(correspondent.run(comp.network, wl, s,
                                           policy=scenario.correspondent.policy,
                                           via=scenario.correspondent.via))
        else:
            parts.append(onchain.run(comp.network, wl, s, spec=comp.onchain_spec,
                                     chain=comp.chain, ledger=mode,
                                     congestion=comp.congestion))
        if progress is not None:
            progress(rail)
    res = Results.concat(parts)
    res.meta.update({"scenario": scenario.name, "replication": replication, "seed": s,
                     "scenario_seed": scenario.seed, "payments": len(wl),
                     "rails": list(scenario.rails), "ledger": mode,
                     "horizon": (wl.start, wl.end)})
    return res


class ScenarioResults(Results):
    """Results of :func:`run`: pooled tables, the replications, and summaries.

    ``payments`` and ``steps`` have exactly the DESIGN.md columns. With more
    than one replication, payment ids are prefixed ``R<r>-`` (``R001-P0000004``)
    so that each row stays unique; ``replications[r]`` keeps each replication's
    own :class:`~sim.results.Results` (ids as drawn) and ``seeds[r]`` its seed.
    """

    def __init__(self, scenario: Scenario, replications: Sequence[Any],
                 seeds: Sequence[int], scenario_seed: int) -> None:
        self.scenario = scenario
        self.replications = list(replications)
        self.seeds = list(seeds)
        self.scenario_seed = scenario_seed
        if len(self.replications) == 1:
            pooled = self.replications[0]
        else:
            parts = []
            for r, res in enumerate(self.replications):
                pay = res.payments.copy()
                st = res.steps.copy()
                pay["payment_id"] = (f"R{r:03d}-" + pay["payment_id"].astype(str)).astype("str")
                st["payment_id"] = (f"R{r:03d}-" + st["payment_id"].astype(str)).astype("str")
                parts.append(Results(pay, st, res.meta))
            pooled = Results.concat(parts)
        meta = dict(pooled.meta)
        meta.update({"scenario": scenario.name, "scenario_seed": scenario_seed,
                     "seeds": list(seeds), "replications": len(self.replications)})
        super().__init__(pooled.payments, pooled.steps, meta)
        self._summary: dict[tuple[Any, ...], dict[str, Any]] = {}

    def save(self, out_dir: str | Path) -> list[Path]:
        """Write the run's folder as ``settlesim run`` does: tables, ``summary.json``,
        ``scenario.json``, ``figures/*.png`` and ``report.html``
        (:func:`sim.report.write_outputs`)."""
        from sim.report import write_outputs

        return write_outputs(self, out_dir)

    def report_html(self) -> str:
        """The HTML report as a string (:func:`sim.report.render_report`)."""
        from sim.report import render_report

        return render_report(self)

    @classmethod
    def concat(cls, parts: Any) -> Results:
        """Merge results (a plain :class:`~sim.results.Results`; see there)."""
        return Results.concat(parts)

    def __repr__(self) -> str:
        return (f"ScenarioResults({self.scenario.name!r}, {len(self.replications)} "
                f"replication(s), {len(self.payments)} payment rows)")

    def summary(self, scenario: str = "", seed: int | None = None,
                calendars: Any = None) -> dict[str, Any]:
        """The ``summary.json`` document, extended (see :func:`extended_summary`)."""
        key = (scenario, seed)
        if key not in self._summary:
            self._summary[key] = extended_summary(
                self.replications, scenario or self.scenario.name,
                self.scenario_seed if seed is None else seed,
                calendars if calendars is not None else self.meta.get("calendars"),
                seeds=self.seeds)
        return self._summary[key]

    def write(self, out_dir: str | Path, *, scenario: str = "", seed: int | None = None,
              formats: Sequence[str] = ("parquet", "csv"), calendars: Any = None
              ) -> dict[str, Path]:
        """Write the tables and the extended ``summary.json`` (atomic files)."""
        return super().write(out_dir, scenario=scenario or self.scenario.name,
                             seed=self.scenario_seed if seed is None else seed,
                             formats=formats, calendars=calendars)


def run(scenario: Scenario | str | Path, *, payments: int | None = None,
        seed: int | None = None, replications: int | None = None, ledger: str | None = None,
        progress: Progress | None = None) -> ScenarioResults:
    """Run a scenario (object, file path or shipped name); replications in sequence.

    ``seed`` replaces the scenario's seed; replication ``r`` runs with
    ``replication_seed(seed, r)``. ``progress(done, total, what)`` is called
    after each rail of each replication.

    >>> res = run("fast-ledger", payments=10)
    >>> res.summary()["rails"]["onchain"]["count"]
    10
    """
    sc = _as_scenario(scenario)
    reps = replications if replications is not None else sc.replications
    if reps < 1:
        raise InputError("replications must be at least 1")
    if payments is not None and payments < 1:
        raise InputError("payments must be at least 1")
    update: dict[str, Any] = {"replications": reps}
    if seed is not None:
        update["seed"] = seed
    if payments is not None:
        update["payments"] = payments
    if ledger is not None:
        update["onchain"] = sc.onchain.model_copy(update={"ledger": ledger})
    sc = sc.model_copy(update=update)
    total = reps * len(sc.rails)
    done = 0
    parts, seeds = [], []
    for r in range(reps):
        s = replication_seed(sc.seed, r)

        def tick(rail: str, r: int = r) -> None:
            nonlocal done
            done += 1
            if progress is not None:
                progress(done, total, f"replication {r + 1}/{reps}: {rail} rail")

        parts.append(run_scenario(sc, payments=payments, seed=s, replication=r, ledger=ledger,
                                  progress=tick))
        seeds.append(s)
    return ScenarioResults(sc, parts, seeds, sc.seed)


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


def _boot_median_ci(x: np.ndarray) -> list[float] | None:
    if len(x) < 2:
        return None
    rng = np.random.default_rng(_BOOT_SEED)
    n = len(x)
    meds = np.empty(_BOOTSTRAP)
    step = max(1, 2_000_000 // n)
    for i in range(0, _BOOTSTRAP, step):
        k = min(step, _BOOTSTRAP - i)
        idx = rng.integers(0, n, size=(k, n))
        meds[i:i + k] = np.median(x[idx], axis=1)
    a = (1 - CI_LEVEL) / 2
    return [float(np.quantile(meds, a)), float(np.quantile(meds, 1 - a))]


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
        out["latency_diff_median_ci95_s"] = _boot_median_ci(dl)
        out["cost_diff_median_ci95_pp"] = _boot_median_ci(dc)
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


def _t975(df: int) -> float:
    table = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306,
             9: 2.262, 10: 2.228, 12: 2.179, 15: 2.131, 20: 2.086, 25: 2.060, 30: 2.042,
             40: 2.021, 60: 2.000, 120: 1.980}
    if df in table:
        return table[df]
    keys = sorted(table)
    for lo, hi in zip(keys, keys[1:], strict=False):
        if lo < df < hi:
            return table[lo] + (table[hi] - table[lo]) * (df - lo) / (hi - lo)
    return 1.96


def _t_interval(vals: list[float]) -> list[float] | None:
    v = np.array([x for x in vals if x is not None and math.isfinite(x)], dtype=float)
    if len(v) < 2:
        return None
    m, sd = float(v.mean()), float(v.std(ddof=1))
    h = _t975(len(v) - 1) * sd / math.sqrt(len(v))
    return [m - h, m + h]


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
            cis[name] = _t_interval(vals)
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

    The DESIGN.md shape (``scenario``, ``seed``, ``rails``, ``corridors``,
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

