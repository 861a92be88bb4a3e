"""Typed clients of the AMM contracts: ``AmmPool`` and ``AmmRouter``, and their deployment.

:class:`PoolClient` is a constant-product pool of two stablecoins (Uniswap v2's formulas,
a fee per pool set at creation, liquidity shares as an ERC-20 of the pool, a minimum-out
guard and a deadline on every swap); :class:`RouterClient` swaps through one or two pools
and locks the output in the :class:`~settlement.clients.EscrowClient`'s escrow in the same
transaction, and returns a refunded lock to its payer (:meth:`RouterClient.reclaim`).

Example::

    >>> from settlement import Chain, deploy_stack
    >>> from settlement.amm import deploy_pool
    >>> stack = deploy_stack(Chain(), currencies=("USD", "EUR"))
    >>> pool = deploy_pool(stack.chain, stack.tokens["USD"], stack.tokens["EUR"])
    >>> pool.fee_bps(), pool.get_reserves()
    (30, (0, 0))
"""

from __future__ import annotations

from typing import Any

from settlement.chain import Chain
from settlement.clients import LockTerms, StablecoinClient, TxResult, _Client
from settlement.compile import load_artifact
from settlement.errors import InvalidArgument, check_int

__all__ = [
    "DEFAULT_POOL_FEE_BPS",
    "MINIMUM_LIQUIDITY",
    "PoolClient",
    "RouterClient",
    "deploy_pool",
    "deploy_router",
]

#: ``AmmPool.DEFAULT_FEE_BPS``: Uniswap v2's 0.30% fee on the input
DEFAULT_POOL_FEE_BPS = 30
#: ``AmmPool.MINIMUM_LIQUIDITY``: shares locked for ever by the first deposit
MINIMUM_LIQUIDITY = 1000
_ZERO = "0x" + "00" * 20


class PoolClient(_Client):
    """``AmmPool``: swaps at ``x * y = k`` less the fee, deposits and redemptions of shares."""

    contract = "AmmPool"

    # views
    def token0(self) -> str:
        return str(self._call("token0"))

    def token1(self) -> str:
        return str(self._call("token1"))

    def fee_bps(self) -> int:
        return int(self._call("feeBps"))

    def get_reserves(self) -> tuple[int, int]:
        r0, r1 = self._call("getReserves")
        return int(r0), int(r1)

    def get_amount_out(self, amount_in: int, reserve_in: int, reserve_out: int) -> int:
        return int(self._call("getAmountOut", amount_in, reserve_in, reserve_out))

    def get_amount_in(self, amount_out: int, reserve_in: int, reserve_out: int) -> int:
        return int(self._call("getAmountIn", amount_out, reserve_in, reserve_out))

    def quote(self, token_in: StablecoinClient | str, amount_in: int) -> int:
        return int(self._call("quote", self._token(token_in), amount_in))

    def balance_of(self, who: str) -> int:
        """Liquidity shares held by ``who``."""
        return int(self._call("balanceOf", self._addr(who)))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    # transactions
    def swap(self, token_in: StablecoinClient | str, amount_in: int, min_amount_out: int,
             to: str, deadline: int, *, sender: str) -> TxResult:
        return self._tx("swap", self._token(token_in), amount_in, min_amount_out, self._addr(to),
                        deadline, sender=sender)

    def add_liquidity(self, amount0: int, amount1: int, to: str, deadline: int, *,
                      amount0_min: int = 0, amount1_min: int = 0, sender: str) -> TxResult:
        return self._tx("addLiquidity", amount0, amount1, amount0_min, amount1_min,
                        self._addr(to), deadline, sender=sender)

    def remove_liquidity(self, liquidity: int, to: str, deadline: int, *, amount0_min: int = 0,
                         amount1_min: int = 0, sender: str) -> TxResult:
        return self._tx("removeLiquidity", liquidity, amount0_min, amount1_min, self._addr(to),
                        deadline, sender=sender)

    def _token(self, token: StablecoinClient | str) -> str:
        return token.address if isinstance(token, StablecoinClient) else self._addr(token)


class RouterClient(_Client):
    """``AmmRouter``: a swap through one or two pools and the escrow lock of its output, in
    one transaction; :meth:`reclaim` returns a refunded or rejected lock to its payer.

    The escrow knows the router as the payer of its locks: release and refund them with
    ``payer=router.address`` and the terms whose ``amount`` is the swap's output.
    """

    contract = "AmmRouter"

    def escrow(self) -> str:
        return str(self._call("escrow"))

    def add_pool(self, pool: PoolClient | str, *, sender: str) -> TxResult:
        """Register ``pool`` for swaps (the owner only)."""
        return self._tx("addPool", pool.address if isinstance(pool, PoolClient)
                        else self._addr(pool), sender=sender)

    def is_pool(self, pool: PoolClient | str) -> bool:
        return bool(self._call("isPool", pool.address if isinstance(pool, PoolClient)
                               else self._addr(pool)))

    def payer_of(self, lock_id: bytes) -> str:
        return str(self._call("payerOf", lock_id))

    def swap_and_lock(self, token_in: StablecoinClient | str, amount_in: int,
                      pools: tuple[PoolClient, ...] | list[PoolClient], min_amount_out: int,
                      deadline: int, terms: LockTerms, *, sender: str) -> TxResult:
        """Swap ``amount_in`` through ``pools`` (one or two) and lock the output on ``terms``
        (their ``amount`` is replaced by the output)."""
        if not 1 <= len(pools) <= 2:
            raise InvalidArgument(f"AmmRouter.swapAndLock: pools must be one or two pools, not "
                                  f"{len(pools)}")
        tok = token_in.address if isinstance(token_in, StablecoinClient) else self._addr(token_in)
        second = pools[1].address if len(pools) == 2 else _ZERO
        return self._tx("swapAndLock", tok, amount_in, pools[0].address, second, min_amount_out,
                        deadline, terms.as_abi(), sender=sender)

    def reclaim(self, terms: LockTerms, *, sender: str) -> TxResult:
        return self._tx("reclaim", terms.as_abi(), sender=sender)


def deploy_pool(chain: Chain, token0: StablecoinClient, token1: StablecoinClient,
                fee_bps: int = DEFAULT_POOL_FEE_BPS, *, sender: str = "owner") -> PoolClient:
    """Deploy an ``AmmPool`` of ``token0`` and ``token1`` with ``fee_bps`` (default 30, Uniswap
    v2's); its shares are named after the tokens (``"USDx-EURx AMM share"``).

    Raises:
        InvalidArgument: a fee that is not a whole number from 0 to 9999 basis points.
    """
    check_int(fee_bps, "deploy_pool: fee_bps", high=9_999, kind="basis points below 10000")
    s0, s1 = token0.symbol(), token1.symbol()
    r = chain.deploy("AmmPool", load_artifact("AmmPool")["bytecode"],
                     (token0.address, token1.address, fee_bps, f"{s0}-{s1} AMM share",
                      f"{s0}{s1}-LP"), sender=sender)
    assert r.contract_address, "AmmPool deployment returned no address"
    return PoolClient(chain, str(r.contract_address))


def deploy_router(chain: Chain, escrow: Any, *, sender: str = "owner",
                  owner: str = "owner") -> RouterClient:
    """Deploy an ``AmmRouter`` locking in ``escrow`` (a client or an address), owned by
    ``owner``, who registers its pools (:meth:`RouterClient.add_pool`)."""
    addr = escrow if isinstance(escrow, str) else escrow.address
    r = chain.deploy("AmmRouter", load_artifact("AmmRouter")["bytecode"],
                     (addr, chain.account(owner)), sender=sender)
    assert r.contract_address, "AmmRouter deployment returned no address"
    return RouterClient(chain, str(r.contract_address))
