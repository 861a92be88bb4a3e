"""An algorithmic stablecoin and its run (Terra, May 2022).

The market module's mint-and-burn swap between the stablecoin and its
governance token, the secondary-market pool, the oracle, and the agents whose
exits make a run. Its layer is above the on-chain rail and below the
experiments: the rail never imports it; a run's price path reaches the rail as
data.

Modules: ``market`` and ``pool`` (the module's and the pool's exact integer
arithmetic), ``ledger`` (the :class:`TerraLedger` interface, its mirror and the
contracts), ``settings`` (``sim/data/terra.toml``, validated), ``agents`` (holders,
their social graph, arbitrageurs, the reserve defender, LUNA's market), ``model``
(the SimPy run: :func:`run_terra`), ``validation`` (the run against 7-13 May 2022),
``bridge`` (payments bridged through the stablecoin).
"""

from sim.terra.bridge import PricePath, bridge_pairs, bridge_results
from sim.terra.ledger import MarketParams, MirrorLedger, TerraLedger, TerraRevert, TerraState
from sim.terra.model import TerraRun, peg_recovery, run_terra
from sim.terra.settings import TerraSettings, TerraSettingsError

__all__ = [
    "MarketParams",
    "MirrorLedger",
    "PricePath",
    "TerraLedger",
    "TerraRevert",
    "TerraRun",
    "TerraSettings",
    "TerraSettingsError",
    "TerraState",
    "bridge_pairs",
    "bridge_results",
    "peg_recovery",
    "run_terra",
]
