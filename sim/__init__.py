"""settlesim's simulation model: bank networks, workloads, rails and results.

The package is layered; each layer imports only the layers below it (checked by
import-linter, see ``pyproject.toml`` and ``docs/architecture.md``):

* ``sim.cli``: the ``settlesim`` command line;
* ``sim.outputs``: the HTML report, its figures, teaching timelines;
* ``sim.experiments``: scenarios, runs, summaries and sweeps;
* ``sim.onchain``: chain profiles, the fee market, the two ledgers, the on-chain rail;
* ``sim.banking``: the bank network and routing, the workload, the correspondent rail;
* the shared basics at the root: ``sim.results`` (the tables every rail
  writes), ``sim.calendar``, ``sim.money``, ``sim.draws`` and ``sim.errors``.

Public API (re-exported here; the rest is internal):

* :class:`BankNetwork` (``sim.banking.network``): banks and correspondent accounts
  on a networkx graph, loaded from a validated TOML file, with routing;
* :class:`BusinessCalendar` (``sim.calendar``): opening hours, cut-off, weekends and
  holidays of a place, on POSIX-second (UTC) simulation time;
* :class:`Payment`, :class:`Workload`, :class:`WorkloadSpec` (``sim.banking.workload``):
  the rail-independent payments every rail replays;
* :class:`Results`, :class:`ResultsBuilder`, :class:`PaymentRecord`,
  :func:`close_accounts` (``sim.results``): the payments and steps tables;
* :class:`CorrespondentRail` and :func:`run_correspondent` (``sim.banking.correspondent``);
* :class:`OnChainRail`, :func:`run_onchain` (``sim.onchain.rail``), :class:`OnChainSpec`
  (``sim.onchain.spec``), chain profiles (``sim.onchain.chains``) and the fee market
  (``sim.onchain.fee_market``);
* :class:`Scenario`, :func:`load_scenario`, :func:`run`, :func:`run_scenario`
  (``sim.experiments.scenario``, ``sim.experiments.runner``): scenario files and the
  notebook API; :func:`write_outputs`, :func:`write_report` (``sim.outputs.report``);
* :func:`run_sweep` (``sim.experiments.sweep``): a parameter grid x replications on a
  local or Dask pool;
* :class:`Timeline`, :func:`simulate_timeline` (``sim.outputs.timeline``): one
  payment's journey on both rails, for teaching;
* :class:`InputError` (``sim.errors``): the base of every refusal of the input
  (each module's own error: ``ScenarioError``, ``NetworkFileError``, ...).

Example
-------
>>> import sim
>>> net = sim.BankNetwork.default()
>>> res = sim.run_correspondent(net, sim.Workload.generate(seed=2, n_payments=10,
...                                                       network=net), seed=2)
>>> sorted(set(res.payments.status)) <= ["credited", "failed", "returned"]
True
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # the names as type checkers see them; at run time they load on first use
    from sim.banking.correspondent import CorrespondentRail
    from sim.banking.correspondent import run as run_correspondent
    from sim.banking.network import BankNetwork, FxTable, NetworkFileError, Route, RoutingError
    from sim.banking.workload import (
        Payment,
        Workload,
        WorkloadFileError,
        WorkloadSpec,
        make_payment,
    )
    from sim.calendar import BusinessCalendar, CalendarError, to_timestamp, utc
    from sim.draws import PaymentDraws
    from sim.errors import InputError
    from sim.experiments.runner import ScenarioResults, replication_seed, run, run_scenario
    from sim.experiments.scenario import Scenario, ScenarioError, load_scenario, shipped_scenarios
    from sim.experiments.sweep import SweepError, run_sweep
    from sim.money import (
        MoneyError,
        convert,
        convert_for_reporting,
        from_minor,
        minor_exponent,
        percent_of,
        to_minor,
    )
    from sim.onchain.chains import (
        ChainProfile,
        ChainProfileError,
        get_chain_profile,
        load_chain_profiles,
    )
    from sim.onchain.fee_market import Congestion, FeeMarket
    from sim.onchain.rail import OnChainRail
    from sim.onchain.rail import run as run_onchain
    from sim.onchain.spec import OnChainSpec, OnChainSpecError
    from sim.outputs.report import render_report, write_outputs, write_report
    from sim.outputs.timeline import Timeline, TimelineError
    from sim.outputs.timeline import from_results as timeline_from_results
    from sim.outputs.timeline import simulate as simulate_timeline
    from sim.results import (
        FEE_COMPONENTS,
        PAYMENT_COLUMNS,
        STEP_COLUMNS,
        STEP_KINDS,
        PaymentRecord,
        Results,
        ResultsBuilder,
        atomic_write,
        close_accounts,
        conservation_violations,
        kpis,
    )

#: public name -> (module, attribute): ``import sim`` loads nothing else; each name
#: imports its module on first use, so ``settlesim --help`` and ``validate`` start
#: without the rails, the chain client, pandas' writers or the plotting stack.
_EXPORTS: dict[str, tuple[str, str]] = {
    "CorrespondentRail": ("sim.banking.correspondent", "CorrespondentRail"),
    "run_correspondent": ("sim.banking.correspondent", "run"),
    "BankNetwork": ("sim.banking.network", "BankNetwork"),
    "FxTable": ("sim.banking.network", "FxTable"),
    "NetworkFileError": ("sim.banking.network", "NetworkFileError"),
    "Route": ("sim.banking.network", "Route"),
    "RoutingError": ("sim.banking.network", "RoutingError"),
    "Payment": ("sim.banking.workload", "Payment"),
    "Workload": ("sim.banking.workload", "Workload"),
    "WorkloadFileError": ("sim.banking.workload", "WorkloadFileError"),
    "WorkloadSpec": ("sim.banking.workload", "WorkloadSpec"),
    "make_payment": ("sim.banking.workload", "make_payment"),
    "BusinessCalendar": ("sim.calendar", "BusinessCalendar"),
    "CalendarError": ("sim.calendar", "CalendarError"),
    "to_timestamp": ("sim.calendar", "to_timestamp"),
    "utc": ("sim.calendar", "utc"),
    "PaymentDraws": ("sim.draws", "PaymentDraws"),
    "InputError": ("sim.errors", "InputError"),
    "ScenarioResults": ("sim.experiments.runner", "ScenarioResults"),
    "replication_seed": ("sim.experiments.runner", "replication_seed"),
    "run": ("sim.experiments.runner", "run"),
    "run_scenario": ("sim.experiments.runner", "run_scenario"),
    "Scenario": ("sim.experiments.scenario", "Scenario"),
    "ScenarioError": ("sim.experiments.scenario", "ScenarioError"),
    "load_scenario": ("sim.experiments.scenario", "load_scenario"),
    "shipped_scenarios": ("sim.experiments.scenario", "shipped_scenarios"),
    "SweepError": ("sim.experiments.sweep", "SweepError"),
    "run_sweep": ("sim.experiments.sweep", "run_sweep"),
    "MoneyError": ("sim.money", "MoneyError"),
    "convert": ("sim.money", "convert"),
    "convert_for_reporting": ("sim.money", "convert_for_reporting"),
    "from_minor": ("sim.money", "from_minor"),
    "minor_exponent": ("sim.money", "minor_exponent"),
    "percent_of": ("sim.money", "percent_of"),
    "to_minor": ("sim.money", "to_minor"),
    "ChainProfile": ("sim.onchain.chains", "ChainProfile"),
    "ChainProfileError": ("sim.onchain.chains", "ChainProfileError"),
    "get_chain_profile": ("sim.onchain.chains", "get_chain_profile"),
    "load_chain_profiles": ("sim.onchain.chains", "load_chain_profiles"),
    "Congestion": ("sim.onchain.fee_market", "Congestion"),
    "FeeMarket": ("sim.onchain.fee_market", "FeeMarket"),
    "OnChainRail": ("sim.onchain.rail", "OnChainRail"),
    "run_onchain": ("sim.onchain.rail", "run"),
    "OnChainSpec": ("sim.onchain.spec", "OnChainSpec"),
    "OnChainSpecError": ("sim.onchain.spec", "OnChainSpecError"),
    "render_report": ("sim.outputs.report", "render_report"),
    "write_outputs": ("sim.outputs.report", "write_outputs"),
    "write_report": ("sim.outputs.report", "write_report"),
    "Timeline": ("sim.outputs.timeline", "Timeline"),
    "TimelineError": ("sim.outputs.timeline", "TimelineError"),
    "simulate_timeline": ("sim.outputs.timeline", "simulate"),
    "timeline_from_results": ("sim.outputs.timeline", "from_results"),
    "FEE_COMPONENTS": ("sim.results", "FEE_COMPONENTS"),
    "PAYMENT_COLUMNS": ("sim.results", "PAYMENT_COLUMNS"),
    "PaymentRecord": ("sim.results", "PaymentRecord"),
    "Results": ("sim.results", "Results"),
    "ResultsBuilder": ("sim.results", "ResultsBuilder"),
    "STEP_COLUMNS": ("sim.results", "STEP_COLUMNS"),
    "STEP_KINDS": ("sim.results", "STEP_KINDS"),
    "atomic_write": ("sim.results", "atomic_write"),
    "close_accounts": ("sim.results", "close_accounts"),
    "conservation_violations": ("sim.results", "conservation_violations"),
    "kpis": ("sim.results", "kpis"),
}

__all__ = [
    "FEE_COMPONENTS",
    "PAYMENT_COLUMNS",
    "STEP_COLUMNS",
    "STEP_KINDS",
    "BankNetwork",
    "BusinessCalendar",
    "CalendarError",
    "ChainProfile",
    "ChainProfileError",
    "Congestion",
    "FeeMarket",
    "InputError",
    "OnChainRail",
    "OnChainSpec",
    "OnChainSpecError",
    "Scenario",
    "SweepError",
    "run_sweep",
    "Timeline",
    "TimelineError",
    "simulate_timeline",
    "timeline_from_results",
    "ScenarioError",
    "ScenarioResults",
    "get_chain_profile",
    "load_chain_profiles",
    "load_scenario",
    "render_report",
    "replication_seed",
    "run",
    "run_onchain",
    "run_scenario",
    "shipped_scenarios",
    "write_outputs",
    "write_report",
    "CorrespondentRail",
    "FxTable",
    "MoneyError",
    "NetworkFileError",
    "Payment",
    "PaymentDraws",
    "PaymentRecord",
    "Results",
    "ResultsBuilder",
    "Route",
    "RoutingError",
    "Workload",
    "WorkloadFileError",
    "WorkloadSpec",
    "atomic_write",
    "close_accounts",
    "conservation_violations",
    "convert",
    "convert_for_reporting",
    "from_minor",
    "kpis",
    "make_payment",
    "minor_exponent",
    "percent_of",
    "run_correspondent",
    "to_minor",
    "to_timestamp",
    "utc",
]


def __getattr__(name: str) -> Any:
    try:
        module, attr = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'sim' has no attribute {name!r}") from None
    value = getattr(importlib.import_module(module), attr)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
