"""settlesim's simulation model: bank networks, workloads, rails and results.

Public API (the rest is internal):

* :class:`BankNetwork` (``sim.network``): banks and correspondent accounts on a
  networkx graph, loaded from a validated TOML file, with routing;
* :class:`BusinessCalendar` (``sim.calendar``): opening hours, cut-off, weekends and
  holidays of a place, on POSIX-second (UTC) simulation time;
* :class:`Payment`, :class:`Workload`, :class:`WorkloadSpec` (``sim.workload``): the
  rail-independent payments every rail replays;
* :class:`Results`, :class:`ResultsBuilder`, :class:`PaymentRecord`,
  :func:`close_accounts` (``sim.results``): the payments and steps tables;
* :class:`CorrespondentRail` and :func:`run_correspondent` (``sim.correspondent``);
* :class:`OnChainRail`, :func:`run_onchain` (``sim.onchain``), :class:`OnChainSpec`
  (``sim.onchain_spec``), chain profiles and the fee market (``sim.chains``);
* :class:`Scenario`, :func:`load_scenario`, :func:`run`, :func:`run_scenario`
  (``sim.scenario``, ``sim.experiment``): scenario files and the notebook API;
  :func:`write_report` (``sim.report``);
* :func:`run_sweep` (``sim.sweep``): a parameter grid x replications on a local
  or Dask pool;
* :class:`Timeline`, :func:`simulate_timeline` (``sim.timeline``): one payment's
  journey on both rails, for teaching;
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

from sim.calendar import BusinessCalendar, CalendarError, to_timestamp, utc
from sim.chains import (
    ChainProfile,
    ChainProfileError,
    Congestion,
    FeeMarket,
    get_chain_profile,
    load_chain_profiles,
)
from sim.correspondent import CorrespondentRail, PaymentDraws
from sim.correspondent import run as run_correspondent
from sim.errors import InputError
from sim.experiment import ScenarioResults, replication_seed, run, run_scenario
from sim.money import (
    MoneyError,
    convert,
    convert_for_reporting,
    from_minor,
    minor_exponent,
    percent_of,
    to_minor,
)
from sim.network import BankNetwork, FxTable, NetworkFileError, Route, RoutingError
from sim.onchain import OnChainRail
from sim.onchain import run as run_onchain
from sim.onchain_spec import OnChainSpec, OnChainSpecError
from sim.report import render_report, write_outputs, write_report
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
from sim.scenario import Scenario, ScenarioError, load_scenario, shipped_scenarios
from sim.sweep import SweepError, run_sweep
from sim.timeline import Timeline, TimelineError
from sim.timeline import from_results as timeline_from_results
from sim.timeline import simulate as simulate_timeline
from sim.workload import Payment, Workload, WorkloadFileError, WorkloadSpec, make_payment

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
