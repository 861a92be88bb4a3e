"""The algorithmic stablecoin's stack deployed for the contract tests (a helper, not a test).

One deployment per test module (a few seconds); each test reverts to the snapshot taken
after the genesis allocation. Genesis: ``alice`` holds 5 M of the stablecoin, ``bob``
200,000 of the governance token and 500,000 of the stablecoin, ``carol`` 2 M of the
fiat-backed token; the pool holds 500 M of each side; the oracle says USD 80.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from settlement import Chain
from settlement.terra import ModuleTokenKind, TerraConfig, TerraStack, deploy_terra

M = 10**6
WAD = 10**18
T0 = 1_651_881_600          # 2022-05-07 00:00 UTC: the module's height 0
HOLDERS = ("alice", "bob", "carol")
GENESIS = {("stable", "alice"): 5_000_000 * M, ("gov", "bob"): 200_000 * M,
           ("stable", "bob"): 500_000 * M, ("fiat", "carol"): 2_000_000 * M}
POOL_SIDE = 500_000_000 * M


@dataclass
class TerraWorld:
    chain: Chain
    t: TerraStack
    snap: Any

    def at_height(self, height: int, offset: int = 0) -> None:
        """The next block at the module's ``height``."""
        self.chain.set_next_block_timestamp(T0 + 6 * height + offset)

    def supplies(self) -> tuple[int, int, int]:
        return (self.t.stable.total_supply(), self.t.gov.total_supply(),
                self.t.fiat.total_supply())


def build() -> TerraWorld:
    chain = Chain(genesis_timestamp=T0 - 2_000)
    t = deploy_terra(chain, TerraConfig(genesis_time=T0))
    chain.accounts(HOLDERS)
    kinds = {"stable": ModuleTokenKind.STABLE, "gov": ModuleTokenKind.GOV}
    for (token, holder), amount in GENESIS.items():
        if token == "fiat":
            t.fiat.mint(holder, amount, sender="terra:fiat-issuer")
        else:
            t.market.genesis_mint(kinds[token], holder, amount, sender="terra:admin")
    t.market.genesis_mint(ModuleTokenKind.STABLE, t.pool.address, POOL_SIDE,
                          sender="terra:admin")
    t.fiat.mint(t.pool.address, POOL_SIDE, sender="terra:fiat-issuer")
    t.pool.initialize(sender="terra:admin")
    t.market.seal_genesis(sender="terra:admin")
    for holder in HOLDERS:
        t.stable.approve(t.pool, 2**256 - 1, sender=holder)
        t.fiat.approve(t.pool.address, 2**256 - 1, sender=holder)
    return TerraWorld(chain, t, chain.snapshot())
