"""Outputs: what a run shows. The HTML report (:mod:`~sim.outputs.report`), its
figures (:mod:`~sim.outputs.figures`) and teaching timelines
(:mod:`~sim.outputs.timeline`).

Layer: above the experiments (they receive a run's results and its resolved
components, and never rebuild them), below the command line.
"""
