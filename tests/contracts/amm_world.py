"""A deployed AMM world for the pool and router tests: two stablecoins, the escrow, one pool
of them and the router, traders with balances and approvals, on a fixed-genesis chain."""

from __future__ import annotations

from settlement import Chain, deploy_stack, minter_name
from settlement.amm import PoolClient, RouterClient, deploy_pool, deploy_router

GENESIS = 1_767_225_600
TRADERS = ("alice", "bob", "carol")
#: each trader's opening balance of each token (large enough for Uniswap v2's 1e18 numbers)
BALANCE = 10**30
CURRENCIES = ("USD", "EUR")


class AmmWorld:
    """The contracts and accounts; tests revert to a snapshot of it."""

    def __init__(self, fee_bps: int = 30) -> None:
        self.chain = Chain(genesis_timestamp=GENESIS)
        self.stack = deploy_stack(self.chain, CURRENCIES, escrow_fee_bps=5,
                                  minter_allowance=2**200)
        self.usd, self.eur = self.stack.tokens["USD"], self.stack.tokens["EUR"]
        self.pool: PoolClient = deploy_pool(self.chain, self.usd, self.eur, fee_bps)
        self.router: RouterClient = deploy_router(self.chain, self.stack.escrow)
        self.router.add_pool(self.pool, sender="owner")
        for ccy, tok in self.stack.tokens.items():
            for who in TRADERS:
                tok.mint(who, BALANCE, sender=minter_name(ccy))
                tok.approve(self.pool.address, 2**256 - 1, sender=who)
                tok.approve(self.router.address, 2**256 - 1, sender=who)

    def now(self) -> int:
        return self.chain.latest_timestamp()

    def later(self) -> int:
        """A deadline an hour ahead of the latest block."""
        return self.now() + 3_600
