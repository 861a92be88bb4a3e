"""``python -m sim.cli``: the ``settlesim`` command."""

from sim.cli.main import main

raise SystemExit(main())
