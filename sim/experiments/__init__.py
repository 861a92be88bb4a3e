"""Experiments: scenarios, runs, summaries and sweeps.

* :mod:`~sim.experiments.scenario`: the scenario schema, loading and
  ``with_params``; :mod:`~sim.experiments.problems`: :class:`ScenarioError`;
* :mod:`~sim.experiments.components`: a scenario resolved into its network,
  workload, chain and settings, every problem reported at once;
* :mod:`~sim.experiments.runner`: :func:`run_scenario` (one replication, both
  rails on the same payments) and :func:`run` (replications);
* :mod:`~sim.experiments.statistics`: ``summary.json``: KPIs, paired
  differences and intervals (``scipy.stats``);
* :mod:`~sim.experiments.sweep`: parameter grids x replications on a local or
  Dask pool.

Layer: above the rails, below the outputs and the command line. Data flows one
way: scenario -> components -> run -> results; the outputs receive the results
(with the run's resolved components) and this package never imports them.
"""
