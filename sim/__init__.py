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
