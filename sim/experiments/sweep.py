"""Sweeps: one scenario over a grid of parameters times replications, in parallel.

A sweep expands ``--grid PARAM=V1,V2,...`` options into the Cartesian product of
their values (the first parameter varies slowest), applies each grid point to the
scenario with :meth:`Scenario.with_params` (every point is validated before
anything runs), and runs one task per (grid point, replication) through
:func:`sim.experiments.runner.run_scenario`. Each task's seed is
``replication_seed(scenario.seed, replication, grid_index)``, so the tables are
byte-identical whatever the number of workers or where the tasks ran.

Tasks run on a Dask cluster: a :class:`~distributed.LocalCluster` of worker
processes by default, or any running cluster given its scheduler address; the
code path is the same. A task that fails, or whose worker dies, is run again
(``retries``). With one local worker and no scheduler the tasks run in the
calling process, through the same task function.

Each task writes its payments, steps and balances as Parquet part files
(atomically); when every task is done the parts are streamed, in (grid point,
replication) order, into ``payments.parquet``, ``steps.parquet`` and
``balances.parquet``, so memory stays bounded by one part whatever the sweep's size.
The tables keep the columns of ``docs/architecture.md`` and append ``grid_point``,
one column per swept parameter and ``replication``.

Files written to the output directory (each atomically):

* ``payments.parquet``, ``steps.parquet``, ``balances.parquet``: every run's tables;
* ``sweep_summary.csv``, ``sweep_summary.json``: KPIs per grid point and rail, as
  the mean across replications with a 95% percentile-bootstrap interval of that
  mean (inside the replications' range, so shares stay in [0, 1]; no interval
  with fewer than 5 replications, and ``interval_warning`` says so);
* ``figures/sensitivity.png``: each KPI against each swept parameter, one line per rail.

When the scenario has events, every run also runs its twin (the same payments
without them, :func:`sim.experiments.runner.run_scenario`), and each grid point of
``sweep_summary.json`` gains ``events``: the events, and per rail every measure of
:mod:`sim.experiments.stress` per replication with its mean and interval (as the
KPIs), and ``drained_after_s`` per event likewise.

Example
-------
>>> grid = parse_grid(["onchain.chain=ethereum-l1,fast-ledger", "payments=20,40"])
>>> grid
{'onchain.chain': ['ethereum-l1', 'fast-ledger'], 'payments': [20, 40]}
>>> [p.params for p in grid_points(grid)][:2]
[{'onchain.chain': 'ethereum-l1', 'payments': 20}, {'onchain.chain': 'ethereum-l1', 'payments': 40}]
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import json
import math
import os
import re
import shutil
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from sim.balances import BALANCE_COLUMNS
from sim.errors import InputError
from sim.experiments.statistics import MIN_REPLICATIONS, replication_mean_interval
from sim.publish import OutputFolder
from sim.results import PAYMENT_COLUMNS, STEP_COLUMNS, atomic_write, kpis

if TYPE_CHECKING:
    from sim.experiments.scenario import Scenario

__all__ = [
    "INTERVAL",
    "KPI_NAMES",
    "GridPoint",
    "SweepError",
    "SweepResult",
    "SweepTask",
    "TaskOutput",
    "combine_parts",
    "expand_grid",
    "grid_points",
    "param_columns",
    "parse_grid",
    "parse_value",
    "run_sweep",
    "run_task",
    "sensitivity_figure",
    "summarize",
    "summary_frame",
]

#: KPIs summarised and plotted per grid point (the ``K`` of ``summary.json`` less counts).
KPI_NAMES: tuple[str, ...] = (
    "latency_p50_s", "latency_p90_s", "latency_p99_s", "share_within_1h",
    "share_within_1bd", "cost_pct_mean", "cost_pct_median", "failure_rate",
)

#: How ``sweep_summary`` states the across-replication interval.
INTERVAL = ("95% percentile-bootstrap interval of the mean across replications "
            "(scipy.stats.bootstrap, 1000 resamples, fixed seed), within the range of the "
            f"replications' values; null with fewer than {MIN_REPLICATIONS} replications "
            "with a value")

_EXTRA = ("grid_point", "replication")
#: the tables each task writes as part files and the sweep streams into one file each
_TABLES = ("payments", "steps", "balances")
#: dotted names; a part after the first may hold hyphens (a pool's pair, a corridor:
#: ``onchain.fx.pools.EUR-XOF.depth_usd``, ``workload.shares.US-MX``)
_PARAM_RE = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_-]*)*$")
_ADDRESS_RE = re.compile(r"^[a-z][a-z0-9+]*://\S+$")


class SweepError(InputError):
    """A sweep's grid, options or one of its tasks is wrong; the message names which."""


# --------------------------------------------------------------------------- grid


def parse_value(text: str) -> int | float | bool | str:
    """One grid value from its text: bool, int, finite float, or else the string.

    Quotes force a string.

    >>> [parse_value(v) for v in ["true", "12", "0.5", "fast-ledger", "'7'", "1e3"]]
    [True, 12, 0.5, 'fast-ledger', '7', 1000.0]
    """
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "'\"":
        return t[1:-1]
    if t.lower() in ("true", "false"):
        return t.lower() == "true"
    with contextlib.suppress(ValueError):
        return int(t)
    with contextlib.suppress(ValueError):
        f = float(t)
        if math.isfinite(f):
            return f
    return t


def parse_grid(specs: Sequence[str]) -> dict[str, list[Any]]:
    """Parse ``PARAM=V1,V2,...`` options into ``{param: [values]}`` (order kept).

    Values are parsed by :func:`parse_value`; a parameter with both int and float
    values gets floats throughout.

    Raises
    ------
    SweepError
        Naming the option: no ``=``, a malformed parameter path, an empty value,
        a value given twice, or a parameter given twice.

    >>> parse_grid(["payments=20,40", "onchain.fx.spread_bps=1,2.5"])
    {'payments': [20, 40], 'onchain.fx.spread_bps': [1.0, 2.5]}
    """
    grid: dict[str, list[Any]] = {}
    for spec in specs:
        name, sep, rhs = spec.partition("=")
        name = name.strip()
        if not sep:
            raise SweepError(f"--grid {spec!r}: expected PARAM=V1,V2,... "
                             "(e.g. onchain.chain=ethereum-l1,fast-ledger)")
        if not _PARAM_RE.match(name):
            raise SweepError(f"--grid {spec!r}: {name!r} is not a parameter path "
                             "(dotted names, e.g. onchain.chain)")
        if name in grid:
            raise SweepError(f"--grid {name}: given twice; list all its values in one option")
        raw = [v.strip() for v in rhs.split(",")]
        if not rhs.strip() or any(not v for v in raw):
            raise SweepError(f"--grid {spec!r}: empty value; give V1,V2,... without blanks")
        values = [parse_value(v) for v in raw]
        kinds = {type(v) for v in values}
        if kinds == {int, float}:
            values = [float(v) for v in values]
        seen: list[Any] = []
        for raw_v, v in zip(raw, values, strict=True):
            if any(type(v) is type(s) and v == s for s in seen):
                raise SweepError(f"--grid {name}: value {raw_v!r} given twice")
            seen.append(v)
        grid[name] = values
    return grid


@dataclass(frozen=True)
class GridPoint:
    """One point of the grid: its index (in product order) and parameter values."""

    index: int
    params: dict[str, Any]


def grid_points(grid: Mapping[str, Sequence[Any]]) -> list[GridPoint]:
    """The Cartesian product of ``grid``, first parameter slowest; ``[GridPoint(0, {})]``
    for an empty grid.

    >>> [p.params for p in grid_points({"a": [1, 2], "b": ["x"]})]
    [{'a': 1, 'b': 'x'}, {'a': 2, 'b': 'x'}]
    """
    names = list(grid)
    combos = itertools.product(*(grid[n] for n in names))
    return [GridPoint(i, dict(zip(names, c, strict=True))) for i, c in enumerate(combos)]


def expand_grid(scenario: Scenario, grid: Mapping[str, Sequence[Any]]
                ) -> list[tuple[GridPoint, Scenario]]:
    """Every grid point with its scenario, validated before anything runs.

    Each (parameter, value) is first applied alone, so an error names it; then
    each whole point is applied (values can be valid alone and not together).
    Applying means :meth:`Scenario.with_params` and then :meth:`Scenario.check`
    (the chain profile, network and workload it names are built).

    Raises
    ------
    SweepError
        Naming the parameter and value, or the grid point, and the scenario's reason.
    """
    from sim.experiments.scenario import ScenarioError

    for name, values in grid.items():
        for v in values:
            try:
                _checked(scenario.with_params({name: v}))
            except (ScenarioError, ValueError, TypeError, LookupError) as exc:
                raise SweepError(f"--grid {name}={_text(v)}: {exc}") from None
    out: list[tuple[GridPoint, Scenario]] = []
    for gp in grid_points(grid):
        try:
            out.append((gp, _checked(scenario.with_params(gp.params)) if gp.params
                        else scenario))
        except (ScenarioError, ValueError, TypeError, LookupError) as exc:
            where = ", ".join(f"{k}={_text(v)}" for k, v in gp.params.items())
            raise SweepError(f"grid point {gp.index} ({where}): {exc}") from None
    return out


def _checked(scenario: Scenario) -> Scenario:
    """``scenario`` after building what it refers to (chain profile, network, ...)."""
    check = getattr(scenario, "check", None)
    if check is not None:
        check()
    return scenario


def _text(v: Any) -> str:
    return str(v).lower() if isinstance(v, bool) else str(v)


def param_columns(grid: Mapping[str, Sequence[Any]]) -> dict[str, str]:
    """Column name of each swept parameter in the tables: its path, or ``param.<path>``
    when that would clash with a results column.

    >>> param_columns({"payments": [1], "rail": ["x"]})
    {'payments': 'payments', 'rail': 'param.rail'}
    """
    taken = set(PAYMENT_COLUMNS) | set(STEP_COLUMNS) | set(BALANCE_COLUMNS) | set(_EXTRA)
    return {n: (f"param.{n}" if n in taken else n) for n in grid}


def _column_value(values: Sequence[Any], v: Any) -> Any:
    """A parameter's value as stored in its column: as is if the parameter's values
    share one type, else its text (so every part has the same column type)."""
    return v if len({type(x) for x in values}) == 1 else _text(v)


# --------------------------------------------------------------------------- tasks


@dataclass(frozen=True)
class SweepTask:
    """What one worker needs for one (grid point, replication) run."""

    grid_point: int
    replication: int
    seed: int
    scenario: Any
    columns: tuple[tuple[str, Any], ...]
    payments: int | None = None
    ledger: str | None = None
    part_dir: str | None = None


@dataclass
class TaskOutput:
    """A finished task: where its part files are (or their bytes), counts and KPIs."""

    grid_point: int
    replication: int
    seed: int
    n_payments: int
    n_steps: int
    kpis: dict[str, dict[str, Any]]
    elapsed_s: float
    cpu_s: float = 0.0
    pid: int = 0
    payments_path: str | None = None
    steps_path: str | None = None
    payments_bytes: bytes | None = None
    steps_bytes: bytes | None = None
    balances_path: str | None = None
    balances_bytes: bytes | None = None
    #: with events: the run's costs against its twin (``{"events": [...], "rails":
    #: {rail: {measure: value, "drained_after_s": [per event]}}}``)
    events: dict[str, Any] | None = None
    terra: dict[str, Any] | None = None    # the [terra] run's summary, if any


def _part_name(g: int, r: int, table: str) -> str:
    return f"g{g:06d}-r{r:06d}.{table}.parquet"


def _with_columns(df: pd.DataFrame, task: SweepTask) -> pa.Table:
    df = df.copy(deep=False)
    df["grid_point"] = np.full(len(df), task.grid_point, dtype="int64")
    for col, v in task.columns:
        df[col] = pd.Series([v] * len(df), dtype=_dtype(v))
    df["replication"] = np.full(len(df), task.replication, dtype="int64")
    return pa.Table.from_pandas(df, preserve_index=False)


def _dtype(v: Any) -> str:
    if isinstance(v, bool):
        return "bool"
    if isinstance(v, int):
        return "int64"
    if isinstance(v, float):
        return "float64"
    return "str"


def _write_table(table: pa.Table, path: Path) -> None:
    pq.write_table(table, path)


def _write_bytes(data: bytes, path: Path) -> None:
    path.write_bytes(data)


def _parquet_bytes(table: pa.Table) -> bytes:
    sink = pa.BufferOutputStream()
    pq.write_table(table, sink)
    return bytes(sink.getvalue().to_pybytes())


def run_task(task: SweepTask) -> TaskOutput:
    """Run one (grid point, replication) and write its tables (the function a worker runs).

    With ``task.part_dir`` the tables go to part files there (atomically); without
    it they come back as Parquet bytes. KPIs per rail come back either way.
    """
    from sim.experiments.runner import run_scenario

    clock = time.perf_counter()
    cpu = time.process_time()
    res = run_scenario(task.scenario, payments=task.payments, seed=task.seed,
                       replication=task.replication, ledger=task.ledger)
    cal = res.meta.get("calendars")
    k = {str(rail): kpis(g, cal) for rail, g in res.payments.groupby("rail", sort=True)}
    out = TaskOutput(task.grid_point, task.replication, task.seed, len(res.payments),
                     len(res.steps), k, 0.0)
    costs = res.meta.get("events")
    if costs is not None:
        out.events = {"events": costs.events, "rails": {
            rail: {**{m: v for m, v in c.items() if m != "events"},
                   "drained_after_s": [e["drained_after_s"] for e in c["events"]]}
            for rail, c in costs.rails.items()}}
    if isinstance(res.meta.get("terra"), dict):
        out.terra = dict(res.meta["terra"]["summary"])
    tables = [("payments", res.payments), ("steps", res.steps)]
    if res.balances is not None:
        tables.append(("balances", res.balances))
    for name, df in tables:
        table = _with_columns(df, task)
        if task.part_dir is None:
            setattr(out, f"{name}_bytes", _parquet_bytes(table))
        else:
            path = Path(task.part_dir) / _part_name(task.grid_point, task.replication, name)
            atomic_write(path, functools.partial(_write_table, table))
            setattr(out, f"{name}_path", str(path))
        del table
    del res
    out.elapsed_s = time.perf_counter() - clock
    out.cpu_s = time.process_time() - cpu
    out.pid = os.getpid()
    return out


# --------------------------------------------------------------------------- summary


def _interval(values: Sequence[float | None]) -> dict[str, Any]:
    xs = [float(v) for v in values if v is not None]
    if not xs:
        return {"mean": None, "low": None, "high": None, "n": 0}
    ci = replication_mean_interval(xs)
    return {"mean": float(np.mean(xs)), "low": ci[0] if ci else None,
            "high": ci[1] if ci else None, "n": len(xs)}


def summarize(scenario: Scenario, grid: Mapping[str, Sequence[Any]],
              points: Sequence[GridPoint], outputs: Mapping[tuple[int, int], TaskOutput],
              replications: int, payments: int | None) -> dict[str, Any]:
    """The ``sweep_summary.json`` document (see the module docstring)."""
    doc: dict[str, Any] = {
        "scenario": scenario.name, "seed": scenario.seed, "replications": replications,
        "payments_per_run": payments if payments is not None else scenario.payments,
        "grid": {k: list(v) for k, v in grid.items()}, "interval": INTERVAL, "points": [],
    }
    if replications < MIN_REPLICATIONS:
        doc["interval_warning"] = (f"only {replications} replication(s) per grid point: too few "
                                   f"for intervals (at least {MIN_REPLICATIONS}); the means are "
                                   "point values")
    for gp in points:
        outs = [outputs[(gp.index, r)] for r in range(replications)]
        rails = sorted({rail for o in outs for rail in o.kpis})
        by_rail: dict[str, Any] = {}
        for rail in rails:
            ks = [o.kpis.get(rail) for o in outs]
            entry: dict[str, Any] = {
                "count": sum(int(k["count"]) for k in ks if k),
                "credited": sum(int(k["credited"]) for k in ks if k),
            }
            for name in KPI_NAMES:
                vals = [k.get(name) if k else None for k in ks]
                entry[name] = {**_interval(vals), "values": vals}
            by_rail[rail] = entry
        point: dict[str, Any] = {"grid_point": gp.index, "params": gp.params,
                                 "seeds": [o.seed for o in outs], "rails": by_rail}
        if any(o.events is not None for o in outs):
            point["events"] = _events_point(outs)
        if any(o.terra is not None for o in outs):
            point["terra"] = _terra_point(scenario, [o.terra for o in outs])
        doc["points"].append(point)
    return doc


def _events_point(outs: Sequence[TaskOutput]) -> dict[str, Any]:
    """A grid point's ``events``: the events, and per rail each measure of
    :mod:`sim.experiments.stress` per replication with the mean and its interval (as the
    KPIs), the drain time per event likewise."""
    from sim.experiments.stress import MEASURES

    evs = [o.events for o in outs if o.events is not None]
    rails: dict[str, Any] = {}
    for rail in sorted({r for e in evs for r in e["rails"]}):
        ms = [e["rails"].get(rail) for e in evs]
        entry: dict[str, Any] = {}
        for name in MEASURES:
            vals = [m.get(name) if m else None for m in ms]
            entry[name] = {**_interval(vals), "values": vals}
        n_ev = len(evs[0]["events"])
        entry["drained_after_s"] = []
        for j in range(n_ev):
            vals = [m["drained_after_s"][j] if m else None for m in ms]
            entry["drained_after_s"].append({**_interval(vals), "values": vals})
        rails[rail] = entry
    return {"events": evs[0]["events"], "rails": rails}


def _terra_point(scenario: Scenario, runs: Sequence[dict[str, Any] | None]
                 ) -> dict[str, Any]:
    """Per grid point of a ``[terra]`` scenario: was the peg back above the level within
    N days (per replication, and the share of replications), and the run's lows."""
    rs = [r for r in runs if r is not None]
    back = [bool(r["peg_back"]) for r in rs]
    return {"peg_level": rs[0].get("peg_level") if rs else None,
            "within_days": rs[0].get("recovery_days") if rs else None,
            "peg_back": back, "peg_back_share": float(np.mean(back)) if back else None,
            "peg_held": all(back) if back else None,
            "price_min": [float(r["price_min"]) for r in rs],
            "price_final": [float(r["price_final"]) for r in rs],
            "days_below": [float(r["days_below"]) for r in rs],
            "reserve_spent_usd": [float(r["reserve_spent_usd"]) for r in rs]}


def summary_frame(doc: Mapping[str, Any]) -> pd.DataFrame:
    """``sweep_summary.csv``: one row per (grid point, rail); per KPI its mean, low, high."""
    params = list(doc["grid"])
    cols = param_columns(doc["grid"])
    rows = []
    for pt in doc["points"]:
        for rail, e in pt["rails"].items():
            row: dict[str, Any] = {"grid_point": pt["grid_point"]}
            row.update({cols[p]: pt["params"][p] for p in params})
            row.update({"rail": rail, "replications": doc["replications"],
                        "payments": e["count"], "credited": e["credited"]})
            for name in KPI_NAMES:
                for part in ("mean", "low", "high"):
                    row[f"{name}_{part}"] = e[name][part]
            if "terra" in pt:
                t = pt["terra"]
                row.update({"terra_peg_back_share": t["peg_back_share"],
                            "terra_within_days": t["within_days"],
                            "terra_price_min_mean": float(np.mean(t["price_min"]))})
            rows.append(row)
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- figure


_KPI_LABELS = {
    "latency_p50_s": "latency p50 (h)", "latency_p90_s": "latency p90 (h)",
    "latency_p99_s": "latency p99 (h)", "share_within_1h": "share within 1 h",
    "share_within_1bd": "share within 1 business day", "cost_pct_mean": "cost, mean (%)",
    "cost_pct_median": "cost, median (%)", "failure_rate": "failure rate",
}


def _load_plotting() -> None:
    """Import what :func:`sensitivity_figure` needs (a second or two, once per process)."""
    import matplotlib.backends.backend_agg  # noqa: F401
    import matplotlib.figure  # noqa: F401


def sensitivity_figure(doc: Mapping[str, Any], path: str | Path) -> Path | None:
    """Write ``figures/sensitivity.png``: a panel per (KPI, swept parameter), one line
    per rail. Latencies are shown in hours.

    With one swept parameter the error bars are the across-replication interval;
    with several, a point is the mean over the other parameters' values and the
    band their range. Returns ``None`` (nothing written) without a swept parameter.
    """
    params = list(doc["grid"])
    if not params:
        return None
    from matplotlib.figure import Figure

    rails = sorted({r for pt in doc["points"] for r in pt["rails"]})
    one = len(params) == 1
    nrows, ncols = (2, 4) if one else (len(KPI_NAMES), len(params))
    fig = Figure(figsize=(3.4 * ncols + 0.4, 2.6 * nrows + 0.5), dpi=100, layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for j, p in enumerate(params):
        values = doc["grid"][p]
        numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in values)
        xs = [float(v) for v in values] if numeric else list(range(len(values)))
        for i, kpi in enumerate(KPI_NAMES):
            ax = axes[i // ncols][i % ncols] if one else axes[i][j]
            scale = 1 / 3600 if kpi.startswith("latency") else 1.0
            for rail in rails:
                ys, lo, hi = [], [], []
                for v in values:
                    pts = [pt["rails"][rail][kpi] for pt in doc["points"]
                           if pt["params"][p] == v and rail in pt["rails"]]
                    means = [e["mean"] for e in pts if e["mean"] is not None]
                    if not means:
                        ys.append(np.nan)
                        lo.append(np.nan)
                        hi.append(np.nan)
                        continue
                    ys.append(float(np.mean(means)) * scale)
                    if len(params) == 1:
                        e = pts[0]
                        lo.append((e["low"] if e["low"] is not None else e["mean"]) * scale)
                        hi.append((e["high"] if e["high"] is not None else e["mean"]) * scale)
                    else:
                        lo.append(min(means) * scale)
                        hi.append(max(means) * scale)
                order = np.argsort(xs, kind="stable")
                x = np.array(xs)[order]
                y, lo_a, hi_a = (np.array(a)[order] for a in (ys, lo, hi))
                line = ax.plot(x, y, marker="o", label=rail)[0]
                if len(params) == 1:
                    ax.errorbar(x, y, yerr=[y - lo_a, hi_a - y], fmt="none",
                                ecolor=line.get_color(), capsize=3)
                else:
                    ax.fill_between(x, lo_a, hi_a, color=line.get_color(), alpha=0.15)
            if not numeric:
                ax.set_xticks(xs, [_text(v) for v in values], rotation=20, fontsize=7)
            if one:
                ax.set_title(_KPI_LABELS[kpi], fontsize=9)
                ax.set_xlabel(p, fontsize=8)
            else:
                if i == len(KPI_NAMES) - 1:
                    ax.set_xlabel(p)
                if j == 0:
                    ax.set_ylabel(_KPI_LABELS[kpi], fontsize=8)
            ax.tick_params(labelsize=7)
            ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7)
    band = ("error bars: 95% CI of the mean across replications" if one else
            "points: mean over the other parameters' values; band: their range")
    fig.suptitle(f"sweep of {doc['scenario']}, {doc['replications']} replication(s)\n{band}",
                 fontsize=9)
    return atomic_write(path, lambda t: fig.savefig(t, format="png"))


# --------------------------------------------------------------------------- combine


def combine_parts(paths: Sequence[str | Path], dest: str | Path,
                  batch_rows: int = 262_144) -> int:
    """Stream Parquet part files, in the order given, into one file (atomically).

    Memory stays bounded by a batch; column types are unified across parts (a
    column that is all null in one part takes the others' type). Returns rows written.
    """
    schemas = [pq.read_schema(p) for p in paths]
    schema = pa.unify_schemas(schemas, promote_options="permissive")
    rows = 0

    def write(tmp: Path) -> None:
        nonlocal rows
        with pq.ParquetWriter(tmp, schema) as w:
            for p in paths:
                f = pq.ParquetFile(p)
                for batch in f.iter_batches(batch_size=batch_rows):
                    t = pa.Table.from_batches([batch])
                    w.write_table(t.cast(schema) if t.schema != schema else t)
                    rows += t.num_rows
                f.close()

    atomic_write(dest, write)
    return rows


# --------------------------------------------------------------------------- driver


@dataclass
class SweepResult:
    """What :func:`run_sweep` did: files written, the summary document and timings.

    ``timing`` (seconds): ``startup_s`` (validation, cluster start), ``tasks_s`` (until
    the last task finished), ``combine_s`` (tables, summary, figure), ``total_s``, and
    ``task_sum_s`` (the tasks' own run times added up). ``task_times`` has, per task,
    its grid point, replication, worker process id, wall and CPU seconds.
    """

    out: Path
    files: dict[str, Path]
    summary: dict[str, Any]
    tasks: int
    workers: int | None
    timing: dict[str, float] = field(default_factory=dict)
    task_times: list[dict[str, Any]] = field(default_factory=list)

    def payments(self) -> pd.DataFrame:
        """The sweep's payments table (read from ``payments.parquet``)."""
        return pd.read_parquet(self.files["payments.parquet"])

    def steps(self) -> pd.DataFrame:
        """The sweep's steps table (read from ``steps.parquet``)."""
        return pd.read_parquet(self.files["steps.parquet"])

    def balances(self) -> pd.DataFrame:
        """The sweep's balances table (read from ``balances.parquet``)."""
        return pd.read_parquet(self.files["balances.parquet"])


def _unguarded_main_line() -> tuple[str, int] | None:
    """``(script, line)`` when this call comes from the top level of the ``__main__``
    script outside an ``if __name__ == "__main__":`` block, else ``None``.

    Local worker processes start by *spawning*: each re-runs the main script, so
    an unguarded call would start the sweep again inside every worker, which then
    fails to start.
    """
    import ast
    import sys

    main = sys.modules.get("__main__")
    script = getattr(main, "__file__", None)
    if main is None or not script:
        return None              # interactive, a notebook, python -c: nothing re-runs
    frame = sys._getframe(1)
    while frame is not None and not (frame.f_globals is vars(main)
                                     and frame.f_code.co_name == "<module>"):
        frame = frame.f_back     # type: ignore[assignment]
    if frame is None:
        return None              # called from a function of the script, or elsewhere
    line = frame.f_lineno
    try:
        tree = ast.parse(Path(script).read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and _is_main_test(node.test):
            end = node.end_lineno or node.lineno
            if node.lineno <= line <= end:
                return None
    return str(script), line


def _is_main_test(test: Any) -> bool:
    import ast

    if not (isinstance(test, ast.Compare) and len(test.ops) == 1
            and isinstance(test.ops[0], ast.Eq)):
        return False
    sides = [test.left, *test.comparators]
    return (any(isinstance(s, ast.Name) and s.id == "__name__" for s in sides)
            and any(isinstance(s, ast.Constant) and s.value == "__main__" for s in sides))


def _check_main_guard() -> None:
    where = _unguarded_main_line()
    if where is not None:
        script, line = where
        raise SweepError(f"{script}:{line}: run_sweep starts local worker processes, which "
                         "re-run the main script; call it under 'if __name__ == \"__main__\":' "
                         "(or with workers=1, or a scheduler)")


@contextlib.contextmanager
def _dask_client(workers: int, scheduler: str | None, retries: int) -> Iterator[Any]:
    """A Dask client on a new local cluster of ``workers`` processes, or on ``scheduler``."""
    import logging

    import dask
    from distributed import Client, LocalCluster

    cluster = None
    client = None
    with dask.config.set({"distributed.scheduler.allowed-failures": max(retries, 0) + 1}):
        try:
            if scheduler is None:
                cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                       dashboard_address=":0", silence_logs=logging.ERROR)
                client = Client(cluster)
            else:
                try:
                    client = Client(scheduler, timeout="60s")
                except (OSError, TimeoutError, ValueError) as exc:  # ValueError: scheme
                    raise SweepError(f"--scheduler {scheduler}: cannot reach the Dask "
                                     f"scheduler ({exc})") from None
            yield client
        finally:
            if client is not None:
                with contextlib.suppress(Exception):
                    client.close()
            if cluster is not None:
                with contextlib.suppress(Exception):
                    cluster.close()


def _progress(enabled: bool, total: int) -> Any:
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeElapsedColumn,
        TimeRemainingColumn,
    )

    return Progress(TextColumn("sweep"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), TimeRemainingColumn(),
                    console=Console(stderr=True), disable=not enabled, transient=False)


def run_sweep(scenario: Scenario | str | Path, grid: Mapping[str, Sequence[Any]]
              | Sequence[str] | None = None, *, out: str | Path,
              replications: int | None = None, payments: int | None = None,
              ledger: str | None = None, workers: int | None = None,
              scheduler: str | None = None, retries: int = 2, progress: bool = False,
              in_process: bool | None = None, collect: bool | None = None,
              common_seeds: bool = False,
              task_fn: Callable[[SweepTask], TaskOutput] = run_task,
              call: str | None = None) -> SweepResult:
    """Run ``scenario`` over ``grid`` x ``replications`` and write the sweep's files to ``out``.

    Parameters
    ----------
    scenario : a :class:`~sim.experiments.scenario.Scenario`, a shipped name or a path
    grid : ``{param: [values]}`` or ``["PARAM=V1,V2", ...]`` (dotted scenario paths)
    out : output directory (created; files replaced atomically)
    replications, payments : override the scenario's (per grid point; per run)
    ledger : on-chain ledger override (``"table"`` or ``"contracts"``)
    workers : local worker processes (default: CPUs, at most one per task)
    scheduler : a Dask scheduler address (``tcp://host:port``) instead of a local cluster
    retries : times a task is re-run after it raised, or after its worker died
    progress : show a progress bar (stderr)
    in_process : run the tasks in this process; default when one local worker
    collect : tasks return their tables to the client instead of writing part
        files in ``out`` (default with ``scheduler``, whose workers may not share
        this file system)
    call : what ``manifest.json`` records as the command (default: this
        process's command line)
    common_seeds : every grid point uses the same seeds per replication (common
        random numbers: the same payments at every point) instead of
        ``replication_seed(seed, r, grid_index)``
    task_fn : the function run per task (default :func:`run_task`; for wrappers)

    Raises
    ------
    SweepError
        A bad grid, option or scheduler address (before anything runs or is
        written), or a task that failed after its retries.

    Example
    -------
    >>> res = run_sweep("baseline", ["onchain.chain=ethereum-l1,fast-ledger"], out=tmp,
    ...                 replications=2, payments=20, ledger="table")  # doctest: +SKIP
    >>> sorted(res.files)  # doctest: +SKIP
    ['figures/sensitivity.png', 'payments.parquet', 'steps.parquet', ...]
    """
    from sim.experiments.runner import replication_seed
    from sim.experiments.scenario import Scenario, load_scenario

    clock = time.perf_counter()
    scen = scenario if isinstance(scenario, Scenario) else load_scenario(scenario)
    if grid is None:
        grid = {}
    elif not isinstance(grid, Mapping):
        grid = parse_grid(list(grid))
    else:
        if any(isinstance(v, str) or not isinstance(v, Sequence) for v in grid.values()):
            raise SweepError("grid: give each parameter a list of values, e.g. "
                             "{'payments': [20, 40]}")
        grid = {k: list(v) for k, v in grid.items()}
        for k, v in grid.items():
            if not v:
                raise SweepError(f"--grid {k}: no values")
    reps = scen.replications if replications is None else replications
    for name, value in (("--replications", reps), ("--payments", payments),
                        ("--workers", workers)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int)
                                  or value < 1):
            raise SweepError(f"{name} must be a positive integer, not {value!r}")
    if isinstance(retries, bool) or not isinstance(retries, int) or retries < 0:
        raise SweepError(f"--retries must be >= 0, not {retries}")
    if ledger is not None and ledger not in ("table", "contracts"):
        raise SweepError(f"--ledger must be 'table' or 'contracts', not {ledger!r}")
    if scheduler is not None:
        if workers is not None:
            raise SweepError("give --workers or --scheduler, not both")
        if not _ADDRESS_RE.match(scheduler):
            raise SweepError(f"--scheduler {scheduler!r}: expected an address such as "
                             "tcp://127.0.0.1:8786")
    points = expand_grid(scen, grid)
    cols = param_columns(grid)

    tasks: list[SweepTask] = []
    for gp, s in points:
        colvals = tuple((cols[p], _column_value(grid[p], v)) for p, v in gp.params.items())
        for r in range(reps):
            seed = replication_seed(scen.seed, r, 0 if common_seeds else gp.index)
            tasks.append(SweepTask(gp.index, r, seed, s, colvals, payments, ledger))
    n_workers = None if scheduler else (workers or max(1, min(os.cpu_count() or 1, len(tasks))))
    local = scheduler is None and (in_process if in_process is not None else n_workers == 1)
    ship = collect if collect is not None else scheduler is not None

    if not local and scheduler is None:
        _check_main_guard()        # before anything is written
    out_dir = Path(out)
    folder = OutputFolder(out_dir, call=call, fields={
        "scenario": scen.name, "scenario_sha256": scen.digest(),
        "scenario_seed": scen.seed, "grid": {k: [_text(v) for v in vs] for k, vs in grid.items()},
        "replications": reps, "payments": payments, "ledger": ledger,
        "common_seeds": common_seeds,
        "seeds": [{"grid_point": t.grid_point, "replication": t.replication, "seed": t.seed}
                  for t in tasks]})
    # the stage is made now, so an unwritable --out is refused before any task; it is
    # swapped in for --out only once everything is written, and dropped on any exception
    with folder as stage:
        parts = stage / ".sweep-parts"
        parts.mkdir()
        if not ship:
            tasks = [SweepTask(t.grid_point, t.replication, t.seed, t.scenario, t.columns,
                               t.payments, t.ledger, str(parts)) for t in tasks]
        outputs: dict[tuple[int, int], TaskOutput] = {}
        timing: dict[str, float] = {}

        def keep(o: TaskOutput) -> None:
            for name in _TABLES:
                data = getattr(o, f"{name}_bytes")
                if data is not None:
                    path = parts / _part_name(o.grid_point, o.replication, name)
                    atomic_write(path, functools.partial(_write_bytes, data))
                    setattr(o, f"{name}_path", str(path))
                    setattr(o, f"{name}_bytes", None)
            outputs[(o.grid_point, o.replication)] = o

        with _progress(progress, len(tasks)) as bar:
            job = bar.add_task("sweep", total=len(tasks))
            if local:
                timing["startup_s"] = time.perf_counter() - clock
                for t in tasks:
                    keep(_guarded(task_fn, t, retries))
                    bar.advance(job)
            else:
                with _dask_client(n_workers or 0, scheduler, retries) as client:
                    from distributed import as_completed

                    timing["startup_s"] = time.perf_counter() - clock
                    if cols:
                        # this process only waits while the workers run: load the
                        # plotting library meanwhile, not after the last task
                        threading.Thread(target=_load_plotting, daemon=True).start()
                    token = uuid.uuid4().hex[:12]
                    futures = [client.submit(task_fn, t, key=f"sweep-{token}-g{t.grid_point}"
                                             f"-r{t.replication}", retries=retries, pure=False)
                               for t in tasks]
                    owner = {f.key: t for f, t in zip(futures, tasks, strict=True)}
                    try:
                        for fut in as_completed(futures):
                            t = owner[fut.key]
                            try:
                                o = fut.result()
                            except Exception as exc:
                                raise _task_error(t, exc) from exc
                            keep(o)
                            fut.release()
                            bar.advance(job)
                    finally:
                        client.cancel(futures)
        timing["tasks_s"] = time.perf_counter() - clock - timing["startup_s"]
        t_comb = time.perf_counter()
        files: dict[str, Path] = {}
        order = sorted(outputs)
        doc = summarize(scen, grid, [gp for gp, _ in points], outputs, reps, payments)
        # the figure needs only the summary: draw it while the tables are combined
        # (pyarrow's writer releases the GIL, and the workers have finished)
        with ThreadPoolExecutor(max_workers=1) as pool:
            drawn = pool.submit(sensitivity_figure, doc, stage / "figures" / "sensitivity.png")
            for name in _TABLES:
                paths = [getattr(outputs[k], f"{name}_path") for k in order]
                if any(p is None for p in paths):
                    continue             # a table a run does not record (balances off)
                combine_parts(paths, stage / f"{name}.parquet")
                files[f"{name}.parquet"] = out_dir / f"{name}.parquet"
            fig = drawn.result()
        frame = summary_frame(doc)
        atomic_write(stage / "sweep_summary.csv",
                     lambda t: frame.to_csv(t, index=False, lineterminator="\n"))
        files["sweep_summary.csv"] = out_dir / "sweep_summary.csv"
        text = json.dumps(doc, indent=2) + "\n"
        atomic_write(stage / "sweep_summary.json", functools.partial(_write_bytes, text.encode()))
        files["sweep_summary.json"] = out_dir / "sweep_summary.json"
        if fig is not None:
            files["figures/sensitivity.png"] = out_dir / "figures" / "sensitivity.png"
        shutil.rmtree(parts)
        files["manifest.json"] = out_dir / "manifest.json"
        timing["combine_s"] = time.perf_counter() - t_comb
        timing["task_sum_s"] = sum(o.elapsed_s for o in outputs.values())
        timing["total_s"] = time.perf_counter() - clock
    times = [{"grid_point": g, "replication": r, "pid": o.pid, "elapsed_s": o.elapsed_s,
              "cpu_s": o.cpu_s} for (g, r), o in sorted(outputs.items())]
    return SweepResult(out_dir, files, doc, len(tasks), n_workers, timing, times)


def _task_error(t: SweepTask, exc: BaseException) -> SweepError:
    where = ", ".join(f"{c}={_text(v)}" for c, v in t.columns)
    point = f"grid point {t.grid_point}" + (f" ({where})" if where else "")
    return SweepError(f"{point}, replication {t.replication} (seed {t.seed}) failed: "
                      f"{type(exc).__name__}: {exc}")


def _guarded(fn: Callable[[SweepTask], TaskOutput], t: SweepTask, retries: int) -> TaskOutput:
    """Run a task in this process, re-running it up to ``retries`` times if it raises."""
    for attempt in range(retries + 1):
        try:
            return fn(t)
        except Exception as exc:
            if attempt == retries:
                raise _task_error(t, exc) from exc
    raise AssertionError("unreachable")
