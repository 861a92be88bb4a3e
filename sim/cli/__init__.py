"""The ``settlesim`` command line: the top layer.

:mod:`~sim.cli.main` is the entry point (``settlesim = "sim.cli:main"``); each
command group is a module of its own that registers its sub-commands
(:mod:`~sim.cli.experiments`: ``run``, ``validate``, ``scenarios``;
:mod:`~sim.cli.sweep`: ``sweep``; :mod:`~sim.cli.timeline`: ``timeline``;
:mod:`~sim.cli.chain`: ``compile``, ``gas-report``, ``deploy``, ``demo``), and
:mod:`~sim.cli.args` holds the argument types they share.

Layer: may import every other part of ``sim`` and ``settlement``; nothing in
``sim`` imports it. Command modules import what a command needs inside the
command, so ``settlesim --help`` loads none of the model.
"""

from sim.cli.main import main

__all__ = ["main"]
