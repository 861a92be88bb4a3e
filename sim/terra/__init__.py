"""An algorithmic stablecoin and its run (Terra, May 2022).

The market module's mint-and-burn swap between the stablecoin and its
governance token, the secondary-market pool, the oracle, and the agents whose
exits make a run. Its layer is above the on-chain rail and below the
experiments: the rail never imports it; a run's price path reaches the rail as
data.
"""
