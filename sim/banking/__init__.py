"""Banking: the bank network, the payments drawn between its banks, and the
correspondent rail.

* :mod:`~sim.banking.network`: banks, nostro accounts, fee rules, FX mid rates,
  loaded from a validated TOML file, and routing over the correspondent
  relationships (fewest legs, cheapest, or via a named intermediary);
* :mod:`~sim.banking.workload`: the rail-independent payments every rail replays,
  drawn between the network's banks;
* :mod:`~sim.banking.correspondent`: the correspondent-banking rail (SimPy).

Layer: below the on-chain rail, the experiments, the outputs and the command
line; may import only the shared basics (``sim.errors``, ``sim.money``,
``sim.calendar``, ``sim.draws``, ``sim.results``). Inside, the rail stands on
the workload, which stands on the network. The on-chain rail uses
the network and the workload (its ramps are bank accounts), never the
correspondent rail.
"""
