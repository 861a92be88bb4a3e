"""Running scenarios: both rails on the same seeded workload, replications, summaries.

:func:`run_scenario` runs one replication of a :class:`~sim.experiments.scenario.Scenario`:
it builds the network (with the scenario's bank overrides), draws the workload
from a seed, and replays the *same* payments on every rail of the scenario,
returning one :class:`~sim.results.Results` (the tables of docs/architecture.md, unchanged).
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
>>> from sim.experiments.scenario import load_scenario
>>> res = run("baseline", payments=20, replications=2)
>>> sorted(set(res.payments.rail)), len(res.payments)
(['correspondent', 'onchain'], 80)
>>> s = res.summary()
>>> s["replications"], "ci95" in s["rails"]["onchain"], "too few" in s["ci_warning"]
(2, False, True)
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from sim.errors import InputError, whole_number
from sim.experiments.components import Components, build_components
from sim.experiments.scenario import Scenario, load_scenario
from sim.experiments.statistics import extended_summary
from sim.publish import OutputFolder
from sim.results import Results, atomic_write

__all__ = [
    "ScenarioResults",
    "replication_seed",
    "run",
    "run_scenario",
]

#: ``progress(done, total, description)`` after each unit of work.
Progress = Callable[[int, int, str], None]


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
    whole_number("scenario_seed", scenario_seed, 0)
    whole_number("replication", replication, 0)
    whole_number("grid_index", grid_index, 0)
    ss = np.random.SeedSequence(scenario_seed, spawn_key=(grid_index, replication))
    hi, lo = (int(x) for x in ss.generate_state(2, dtype=np.uint32))
    return ((hi << 32) | lo) & ((1 << 63) - 1)


# ---------------------------------------------------------------------------
# running
# ---------------------------------------------------------------------------
def _as_scenario(scenario: Scenario | str | Path) -> Scenario:
    return scenario if isinstance(scenario, Scenario) else load_scenario(scenario)


def run_scenario(scenario: Scenario, *, payments: int | None = None, seed: int | None = None,
                 replication: int = 0, ledger: str | None = None,
                 progress: Callable[[str], None] | None = None,
                 keep_twin: bool = False) -> Results:
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
    keep_twin : with events, also keep the twin run's :class:`~sim.results.Results` in
        ``meta["twin"]`` (it is never published as the run's tables)

    Returns
    -------
    Results
        The tables of docs/architecture.md (columns unchanged; payment ids as drawn) with
        ``meta`` holding ``scenario``, ``replication``, ``seed``,
        ``scenario_seed`` and each rail's own meta. When the scenario has events
        (``[[events]]``, or ``[[congestion]]`` episodes), every rail also runs the
        *twin*: the same payments and seed without any event, and ``meta["events"]``
        holds what the events cost against it
        (:class:`~sim.experiments.stress.EventCosts`).

    >>> from sim.experiments.scenario import Scenario
    >>> r = run_scenario(Scenario(name="x", payments=10), seed=3)
    >>> r.meta["seed"], sorted(set(r.payments.rail))
    (3, ['correspondent', 'onchain'])
    """
    from sim.banking import correspondent
    from sim.banking.workload import Workload
    from sim.onchain import rail as onchain

    if not isinstance(scenario, Scenario):
        raise InputError(f"scenario must be a Scenario (see load_scenario), not {scenario!r}")
    replication = whole_number("replication", replication, 0)
    if seed is not None:
        whole_number("seed", seed, 0)
    if payments is not None:
        whole_number("payments", payments, 1)
    comp = build_components(scenario)
    s = seed if seed is not None else replication_seed(scenario.seed, replication)
    n = payments if payments is not None else scenario.payments
    mode = ledger or scenario.onchain.ledger
    if mode not in ("contracts", "table"):
        raise InputError(f"ledger must be 'contracts' or 'table', not {mode!r}")
    wl = Workload.generate(comp.workload_spec, seed=s, n_payments=n, network=comp.network,
                           start=comp.start, days=comp.days,
                           segments=scenario.workload.segments)
    events = comp.events if comp.events else None
    rates = dict(scenario.liquidity.rates)

    def rails(events: Any, congestion: Any, progress: Callable[[str], None] | None,
              balances: bool = True) -> list[Results]:
        parts = []
        for rail in scenario.rails:
            if rail == "onchain-terra":
                continue                    # the on-chain rail's payments, bridged below
            if rail == "correspondent":
                parts.append(correspondent.run(comp.network, wl, s,
                                               policy=scenario.correspondent.policy,
                                               via=scenario.correspondent.via,
                                               events=events, rates=rates,
                                               balances=balances))
            else:
                parts.append(onchain.run(comp.network, wl, s, spec=comp.onchain_spec,
                                         chain=comp.chain, ledger=mode,
                                         congestion=congestion, events=events, rates=rates,
                                         balances=balances))
            if progress is not None:
                progress(rail)
        return parts

    parts = rails(events, comp.congestion, progress)
    terra = _terra_run(scenario, comp, s, parts)
    if "onchain-terra" in scenario.rails and progress is not None:
        progress("onchain-terra")
    res = Results.concat(parts)
    if terra is not None:
        res.meta["terra"] = terra
    res.meta.update({"scenario": scenario.name, "replication": replication, "seed": s,
                     "scenario_seed": scenario.seed, "payments": len(wl),
                     "rails": list(scenario.rails), "ledger": mode,
                     "horizon": (wl.start, wl.end)})
    if events:
        # the twin: the same payments (this workload, this seed) without any event
        from sim.events import EventSchedule
        from sim.experiments.stress import event_costs

        twin = Results.concat(rails(EventSchedule.none(), (), None, balances=False))
        res.meta["events"] = event_costs(res, twin, events, comp.network.fx)
        if keep_twin:
            res.meta["twin"] = twin
    return res


def _prefixed(balances: Any, r: int) -> Any:
    """A replication's balances with ``R<r>-`` before its accounts and payment ids, as
    the pooled payments have (None stays None)."""
    if balances is None:
        return None
    b = balances.copy()
    b["account"] = (f"R{r:03d}-" + b["account"].astype(str)).astype("str")
    paid = b["payment_id"].notna()
    ids = b["payment_id"].astype(object)
    ids[paid] = f"R{r:03d}-" + ids[paid].astype(str)
    b["payment_id"] = ids.astype("str")
    return b


def _terra_run(scenario: Scenario, comp: Components, seed: int,
               parts: list[Results]) -> dict[str, Any] | None:
    """The scenario's ``[terra]`` run (seeded like the rails), and with the rail
    ``onchain-terra`` the on-chain payments bridged through its stablecoin appended to
    ``parts``: the run's series, transactions and summary, as plain data."""
    if scenario.terra is None or comp.terra is None:
        return None
    from sim.terra.bridge import PricePath, bridge_results
    from sim.terra.model import run_terra

    run = run_terra(comp.terra, seed=seed, ledger=scenario.terra.ledger)
    if "onchain-terra" in scenario.rails:
        onchain = [p for p in parts if set(p.payments["rail"]) == {"onchain"}]
        if onchain:
            halts = [(h.start.timestamp(), h.start.timestamp() + h.hours * 3600)
                     for h in comp.terra.halts]
            path = PricePath(run.series["time"].tolist(), run.series["price"].tolist(), halts)
            parts.append(bridge_results(onchain[0], path,
                                        max_slippage_bps=scenario.terra.max_slippage_bps))
    return {"series": run.series, "transactions": run.transactions,
            "summary": run.summary(), "ledger": run.ledger}


class ScenarioResults(Results):
    """Results of :func:`run`: pooled tables, the replications, and summaries.

    ``payments`` and ``steps`` have exactly the columns of docs/architecture.md. With more
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
                parts.append(Results(pay, st, res.meta, balances=_prefixed(res.balances, r)))
            pooled = Results.concat(parts)
        meta = dict(pooled.meta)
        meta.update({"scenario": scenario.name, "scenario_seed": scenario_seed,
                     "seeds": list(seeds), "replications": len(self.replications)})
        super().__init__(pooled.payments, pooled.steps, meta, balances=pooled.balances)
        #: what the scenario resolved to (network, workload spec, chain, settings):
        #: the assumptions the outputs show, built once and never rebuilt by them
        self.components: Components = build_components(scenario)
        self._summary: dict[tuple[Any, ...], dict[str, Any]] = {}

    def manifest_fields(self) -> dict[str, Any]:
        """What ``manifest.json`` records of this run: the scenario (name and the
        sha256 of its resolved document), the seeds, replications and payments."""
        return {"scenario": self.scenario.name, "scenario_sha256": self.scenario.digest(),
                "scenario_seed": self.scenario_seed, "seeds": list(self.seeds),
                "replications": len(self.replications),
                "payments": int(self.meta.get("payments", len(self.payments))),
                "ledger": self.meta.get("ledger")}

    def write_data(self, out_dir: str | Path) -> list[Path]:
        """Write the tables (Parquet and CSV), ``summary.json`` and ``scenario.json``
        into ``out_dir`` as they are (each file atomically); return their paths."""
        out = Path(out_dir)
        paths = list(self.write(out).values())
        scen = out / "scenario.json"
        text = json.dumps(self.scenario.to_dict(), indent=2) + "\n"

        def write(tmp: Path) -> None:
            tmp.write_text(text, encoding="utf-8")

        atomic_write(scen, write)
        return [*paths, scen, *self._write_terra(out)]

    def _write_terra(self, out: Path) -> list[Path]:
        """With a ``[terra]`` run: ``terra_series.*``, ``terra_transactions.*`` (every
        replication, a ``replication`` column; amounts as exact decimal text) and
        ``terra_summary.json``."""
        runs = [(r, res.meta["terra"]) for r, res in enumerate(self.replications)
                if isinstance(res.meta.get("terra"), dict)]
        if not runs:
            return []
        import functools

        import pandas as pd

        written = []
        for name in ("series", "transactions"):
            df = pd.concat([t[name].assign(replication=r) for r, t in runs], ignore_index=True)
            for col in ("amount_in", "amount_out"):
                if col in df:
                    df[col] = df[col].astype(str)
            for ext in ("parquet", "csv"):
                path = out / f"terra_{name}.{ext}"
                fn = (functools.partial(_terra_parquet, df) if ext == "parquet"
                      else functools.partial(_terra_csv, df))
                written.append(atomic_write(path, fn))
        doc = json.dumps([{"replication": r, **t["summary"]} for r, t in runs], indent=2)
        path = out / "terra_summary.json"
        written.append(atomic_write(path, functools.partial(_terra_text, doc + "\n")))
        return written

    def save(self, out_dir: str | Path) -> list[Path]:
        """Publish the run's data as the folder ``out_dir``: the tables (Parquet and
        CSV), ``summary.json``, ``scenario.json`` and ``manifest.json``, replacing
        any earlier folder in one step (:class:`sim.publish.OutputFolder`); return
        the paths written.

        The whole folder of ``settlesim run``, with ``figures/*.png`` and
        ``report.html``, is :func:`sim.write_outputs` ``(results, out_dir)`` (the
        outputs layer, which this one does not import).
        """
        folder = OutputFolder(out_dir, call="sim.ScenarioResults.save",
                              fields=self.manifest_fields())
        with folder as stage:
            self.write_data(stage)
        return folder.files

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
    if not isinstance(scenario, Scenario | str | Path):
        raise InputError(f"scenario must be a Scenario, a file path or a shipped name, not "
                         f"{scenario!r}")
    sc = _as_scenario(scenario)
    reps = replications if replications is not None else sc.replications
    # the overrides are checked like the scenario's own fields (types and bounds)
    update: dict[str, Any] = {"replications": reps}
    if seed is not None:
        update["seed"] = seed
    if payments is not None:
        update["payments"] = payments
    if ledger is not None:
        update["onchain.ledger"] = ledger
    sc = sc.with_params(update)
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




def _terra_parquet(df: Any, tmp: Path) -> None:
    df.to_parquet(tmp, index=False)


def _terra_csv(df: Any, tmp: Path) -> None:
    df.to_csv(tmp, index=False)


def _terra_text(text: str, tmp: Path) -> None:
    tmp.write_text(text, encoding="utf-8")
