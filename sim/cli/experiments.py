"""``settlesim`` commands for experiments: ``run``, ``validate``, ``scenarios``.

SCENARIO is a scenario file path or the name of a shipped scenario (``baseline``).

* ``settlesim run SCENARIO [--payments N] [--seed S] [--replications R]
  [--ledger contracts|table] [--out DIR]`` runs every rail of the scenario on the
  same workload with a progress bar, prints the KPI table and writes to DIR
  ``payments.parquet``, ``steps.parquet`` (and CSV twins), ``summary.json``,
  ``scenario.json``, ``report.html``, ``figures/*.png`` and ``manifest.json``.
  The folder is built beside DIR and swapped in for it in one step
  (:class:`sim.publish.OutputFolder`), so an interrupted or killed run leaves
  DIR as it was (Ctrl-C: exit status 130).
* ``settlesim validate FILE`` checks a scenario without running it: one line per
  problem (file, field path, what is allowed), exit status 2.
* ``settlesim scenarios`` lists the shipped scenarios and the question each answers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from sim.cli.args import at_least

__all__ = ["KNOWN_ERRORS", "register", "run_to_dir"]



def _known() -> tuple[type[BaseException], ...]:
    from sim.experiments.scenario import ScenarioError

    return (ScenarioError,)


KNOWN_ERRORS = _known


def run_to_dir(scenario: Any, out: str | Path, *, payments: int | None = None,
               seed: int | None = None, replications: int | None = None,
               ledger: str | None = None, progress: Any = None) -> tuple[Any, list[Path]]:
    """Run ``scenario`` and write every output to ``out`` (see the module docstring).

    Returns the :class:`~sim.experiments.runner.ScenarioResults` and the paths written.
    ``progress(done, total, what)`` is called as work completes. An exception
    (``KeyboardInterrupt`` included) leaves ``out`` untouched
    (:func:`sim.outputs.report.write_outputs`).
    """
    from sim.experiments.runner import run
    from sim.outputs.report import OUTPUT_STEPS, write_into
    from sim.publish import OutputFolder

    state = {"done": 0, "total": 0}

    def rail_tick(done: int, total: int, what: str) -> None:
        state.update(done=done, total=total + OUTPUT_STEPS)
        if progress is not None:
            progress(done, total + OUTPUT_STEPS, what)

    def tick(what: str) -> None:
        state["done"] += 1
        if progress is not None:
            progress(state["done"], state["total"], what)

    folder = OutputFolder(out)
    with folder as stage:     # made before the run: a folder we cannot write is refused now
        res = run(scenario, payments=payments, seed=seed, replications=replications,
                  ledger=ledger, progress=rail_tick)
        folder.fields.update(res.manifest_fields())
        write_into(res, stage, tick=tick)
    return res, folder.files


def _print_kpis(res: Any, out: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    from sim.outputs.report import event_rows, kpi_rows, paired_rows

    summ = res.summary()
    header, rows = kpi_rows(summ)
    sc = res.scenario
    table = Table(title=f"{sc.name}: {sc.summary_line()}")
    for i, h in enumerate(header):
        table.add_column(h, justify="left" if i == 0 else "right")
    for r in rows:
        table.add_row(*r)
    console = Console(width=max(100, Console().width))
    console.print(table)
    prow = paired_rows(summ)
    if prow:
        pt = Table(title="paired, on-chain minus correspondent (per payment)")
        for h in ("measure", "value", "interval"):
            pt.add_column(h, justify="left" if h == "measure" else "right")
        for r in prow:
            pt.add_row(*r)
        console.print(pt)
    eh, erows = event_rows(summ)
    if erows:
        et = Table(title="what the events cost, against the twin run without them")
        for i, h in enumerate(eh):
            et.add_column(h, justify="left" if i == 0 else "right")
        for r in erows:
            et.add_row(*r)
        console.print(et)
    if summ.get("ci_method"):
        console.print(f"intervals: {summ['ci_method']}", style="dim")
    if summ.get("ci_warning"):
        console.print(f"warning: {summ['ci_warning']}", style="bold yellow")
    if out is not None:
        console.print(f"report: {out / 'report.html'}  (tables, summary.json and figures/ "
                      f"in {out})")


def _cmd_run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

    from sim.errors import InputError
    from sim.experiments.scenario import ScenarioError, load_scenario
    from sim.publish import OutputFolderError, check_output_folder
    from sim.results import conservation_violations

    try:
        sc = load_scenario(args.scenario)
    except ScenarioError as exc:
        print(exc, file=sys.stderr)
        return 2
    out = check_output_folder(Path(args.out) if args.out else Path("out") / sc.name)
    err = Console(stderr=True)
    columns = (TextColumn("[bold]{task.description}"), BarColumn(),
               TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn())
    try:
        with Progress(*columns, console=err, transient=False) as bar:
            task = bar.add_task(f"{sc.name}: starting", total=None)

            def progress(done: int, total: int, what: str) -> None:
                bar.update(task, completed=done, total=total, description=f"{sc.name}: {what}")

            res, _ = run_to_dir(sc, out, payments=args.payments, seed=args.seed,
                                replications=args.replications, ledger=args.ledger,
                                progress=progress)
    except KeyboardInterrupt:
        print(f"settlesim run: interrupted; nothing written to {out}", file=sys.stderr)
        return 130
    except OutputFolderError as exc:    # refused before the run: nothing was simulated
        print(f"settlesim run: {exc}", file=sys.stderr)
        return 2
    except InputError as exc:   # the model refusing what the scenario asks, with why
        print(f"settlesim run: {sc.name}: {exc}; {out} left as it was", file=sys.stderr)
        return 1
    bad = conservation_violations(res.payments)
    _print_kpis(res, out)
    if len(bad):
        print(f"settlesim run: {len(bad)} payment rows break conservation of money",
              file=sys.stderr)
        return 1
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    from sim.experiments.scenario import ScenarioError, load_scenario

    status = 0
    for ref in args.scenario:
        try:
            sc = load_scenario(ref)
        except ScenarioError as exc:
            print(exc, file=sys.stderr)
            status = 2
            continue
        print(f"{sc.path}: ok: {sc.name}: {sc.summary_line()}")
    return status


def _cmd_scenarios(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from sim.experiments.scenario import load_scenario, shipped_scenarios

    table = Table(title="shipped scenarios (settlesim run NAME)", show_lines=True)
    for h in ("name", "runs", "question"):
        table.add_column(h, overflow="fold")
    for name, path in shipped_scenarios().items():
        sc = load_scenario(path, check=False)
        table.add_row(name, sc.summary_line(), sc.question)
        if args.paths:
            table.add_row("", str(path), "")
    Console(width=max(110, Console().width)).print(table)
    return 0


def register(sub: Any) -> None:
    """Add this module's commands to the ``settlesim`` sub-parsers."""
    r = sub.add_parser("run", help="run a scenario on every rail; tables, summary, figures, "
                       "report", description="Run SCENARIO (a file or a shipped name such as "
                       "'baseline') on every rail of it, on the same workload.")
    r.add_argument("scenario", metavar="SCENARIO", help="scenario file or shipped name")
    r.add_argument("--payments", type=at_least(1), default=None, metavar="N",
                   help="payments per replication (default: the scenario's)")
    r.add_argument("--seed", type=at_least(0), default=None, metavar="S",
                   help="scenario seed (default: the scenario's)")
    r.add_argument("--replications", type=at_least(1), default=None, metavar="R",
                   help="replications, each with its own derived seed (default: the "
                   "scenario's); with 2 or more every KPI gets a 95%% interval")
    r.add_argument("--ledger", choices=("contracts", "table"), default=None,
                   help="on-chain ledger: real contracts (slow, ~10 payments/s) or the "
                   "measured gas table (default: the scenario's)")
    r.add_argument("--out", default=None, metavar="DIR",
                   help="output folder (default out/<scenario name>)")
    r.set_defaults(func=_cmd_run)

    v = sub.add_parser("validate", help="check scenario files without running them")
    v.add_argument("scenario", metavar="FILE", nargs="+", help="scenario file or shipped name")
    v.set_defaults(func=_cmd_validate)

    s = sub.add_parser("scenarios", help="list the shipped scenarios")
    s.add_argument("--paths", action="store_true", help="also show each file's path")
    s.set_defaults(func=_cmd_scenarios)
