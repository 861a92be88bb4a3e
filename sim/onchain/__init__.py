"""The on-chain rail: chains, the fee market, the two ledgers, and the rail.

* :mod:`~sim.onchain.chains`: chain profiles (block time, gas limit, finality,
  fee rules, background demand), validated from ``sim/data/chains.toml``;
* :mod:`~sim.onchain.fee_market`: EIP-1559 base fees, blocks and congestion;
* :mod:`~sim.onchain.spec`: ramp, FX provider and route, AMM pools and escrow
  settings (``sim/data/onchain.toml``);
* :mod:`~sim.onchain.amm`: the AMM pools' exact integer mirror and the paths of
  conversions through them;
* :mod:`~sim.onchain.arbitrage`: the AMM FX route's transactions (swap and lock in
  one) and the arbitrageurs trading the pools back to the mid;
* :mod:`~sim.onchain.ledger`: the two ledgers, the real contracts on a chain
  (through :mod:`settlement`) and the gas table measured from them;
* :mod:`~sim.onchain.rail`: the on-chain rail (SimPy): screening, on-ramp, FX by
  PvP (or the AMM pools), escrow lock and release, finality, off-ramp.

Layer: above banking (the ramps and sender fees are the bank network's), below
the experiments; may import ``sim.banking.network``, ``sim.banking.workload``,
the shared basics and ``settlement``; never the correspondent rail.
"""
