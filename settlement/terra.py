"""The algorithmic stablecoin's contracts: typed clients and a one-call deployment.

The stack (:func:`deploy_terra`): ``PriceOracle`` (the governance token's USD
price, reported by a reporter role), ``AlgoStablecoin`` and ``GovToken``
(ERC-20s that only the module mints and burns), ``MarketModule`` (Terra's
``x/market`` swap with its virtual constant-product pools, spread floor and
per-block recovery), a fiat-backed USD ``Stablecoin`` (the repo's, with its
issuer roles) and ``StableSwapPool`` (a Curve two-coin pool of the algorithmic
stablecoin against the fiat-backed one). Role holders are named accounts
prefixed ``terra:`` (:data:`TERRA_ROLES`).

Each state-changing client method sends one transaction as a named sender and
returns its :class:`~settlement.chain.Receipt`; a revert raises
:class:`~settlement.chain.ContractRevert` naming the custom error.

Example::

    >>> from settlement import Chain
    >>> from settlement.terra import TerraConfig, deploy_terra
    >>> t = deploy_terra(Chain(), TerraConfig(genesis_time=0))
    >>> t.market.base_pool() == 50_000_000 * 10**6, t.stable.decimals()
    (True, 6)
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum
from typing import Any, ClassVar

import rlp
from eth_utils import keccak, to_canonical_address, to_checksum_address

from settlement.chain import Chain, Receipt
from settlement.clients import StablecoinClient, TxResult, _Client
from settlement.compile import load_artifact
from settlement.errors import check_int

__all__ = [
    "TERRA_ROLES",
    "AlgoStablecoinClient",
    "GovTokenClient",
    "MarketModuleClient",
    "ModuleTokenKind",
    "PriceOracleClient",
    "StableSwapPoolClient",
    "TerraConfig",
    "TerraStack",
    "deploy_terra",
]

#: Named accounts holding the stack's roles: the admin (grants roles, makes the genesis
#: allocation, seeds the pool, owns the fiat-backed token), governance (parameters),
#: the oracle's reporter, and the fiat-backed token's issuer (its minter).
TERRA_ROLES = ("terra:admin", "terra:governance", "terra:reporter", "terra:fiat-issuer")
UINT256_MAX = 2**256 - 1
#: gas of a module call: its recovery loop runs once per elapsed block until the delta settles
MODULE_GAS = 8_000_000


class ModuleTokenKind(IntEnum):
    """``MarketModule.Token``: which token a genesis allocation mints."""

    STABLE = 0
    GOV = 1


class _ModuleTokenClient(_Client):
    def transfer(self, to: str, amount: int, *, sender: str) -> TxResult:
        """An ERC-20 transfer from ``sender``."""
        return self._tx("transfer", self._addr(to), amount, sender=sender)

    def approve(self, spender: str | _Client, amount: int, *, sender: str) -> TxResult:
        """``sender`` lets ``spender`` move ``amount``."""
        return self._tx("approve", self._addr(spender), amount, sender=sender)

    def mint(self, to: str, amount: int, *, sender: str) -> TxResult:
        """Mint (the market module only: any other sender reverts ``CallerNotMarket``)."""
        return self._tx("mint", self._addr(to), amount, sender=sender)

    def burn(self, holder: str, amount: int, *, sender: str) -> TxResult:
        """Burn ``holder``'s tokens (the market module only)."""
        return self._tx("burn", self._addr(holder), amount, sender=sender)

    def balance_of(self, who: str | _Client) -> int:
        """A balance in micro-units."""
        return int(self._call("balanceOf", self._addr(who)))

    def total_supply(self) -> int:
        """The supply in micro-units."""
        return int(self._call("totalSupply"))

    def decimals(self) -> int:
        """6."""
        return int(self._call("decimals"))

    def market(self) -> str:
        """The market module's address."""
        return str(self._call("market"))


class AlgoStablecoinClient(_ModuleTokenClient):
    """``AlgoStablecoin``: the UST-like algorithmic stablecoin."""

    contract: ClassVar[str] = "AlgoStablecoin"


class GovTokenClient(_ModuleTokenClient):
    """``GovToken``: the LUNA-like governance token."""

    contract: ClassVar[str] = "GovToken"


class PriceOracleClient(_Client):
    """``PriceOracle``: the governance token's USD price (WAD), from a reporter."""

    contract: ClassVar[str] = "PriceOracle"

    def set_price(self, price_wad: int, *, sender: str) -> TxResult:
        """Report a price (the reporter only)."""
        return self._tx("setPrice", check_int(price_wad, "setPrice: price"), sender=sender)

    def price(self) -> int:
        """The latest price (WAD)."""
        return int(self._call("price"))

    def updated_at(self) -> int:
        """The block timestamp of the latest report."""
        return int(self._call("updatedAt"))


class MarketModuleClient(_Client):
    """``MarketModule``: the mint-and-burn swap between the two tokens."""

    contract: ClassVar[str] = "MarketModule"

    def swap_to_gov(self, stable_in: int, min_out: int = 0, *, sender: str) -> TxResult:
        """Burn ``stable_in`` of ``sender``'s stablecoin for the governance token."""
        return self._tx("swapToGov", check_int(stable_in, "swapToGov: stableIn"),
                        check_int(min_out, "swapToGov: minOut"), sender=sender, gas=MODULE_GAS)

    def swap_to_stable(self, gov_in: int, min_out: int = 0, *, sender: str) -> TxResult:
        """Burn ``gov_in`` of ``sender``'s governance token for the stablecoin."""
        return self._tx("swapToStable", check_int(gov_in, "swapToStable: govIn"),
                        check_int(min_out, "swapToStable: minOut"), sender=sender,
                        gas=MODULE_GAS)

    def set_params(self, base_pool: int, recovery_period: int, min_spread_bps: int, *,
                   sender: str) -> TxResult:
        """Governance changes the base pool, recovery period and spread floor."""
        return self._tx("setParams", check_int(base_pool, "setParams: basePool"),
                        check_int(recovery_period, "setParams: recoveryPeriod",
                                  high=2**64 - 1, kind="uint64"),
                        check_int(min_spread_bps, "setParams: minSpreadBps", high=2**16 - 1,
                                  kind="uint16"), sender=sender, gas=MODULE_GAS)

    def genesis_mint(self, token: ModuleTokenKind, to: str, amount: int, *,
                     sender: str) -> TxResult:
        """Mint a genesis balance (the admin, before :meth:`seal_genesis`)."""
        return self._tx("genesisMint", int(token), self._addr(to), amount, sender=sender)

    def seal_genesis(self, *, sender: str) -> TxResult:
        """End the genesis allocation (the admin)."""
        return self._tx("sealGenesis", sender=sender)

    def quote_to_gov(self, stable_in: int) -> tuple[int, int]:
        """``(gov_out, spread_wad)`` of a swap now."""
        out, spread = self._call("quoteToGov", check_int(stable_in, "quoteToGov: stableIn"))
        return int(out), int(spread)

    def quote_to_stable(self, gov_in: int) -> tuple[int, int]:
        """``(stable_out, spread_wad)`` of a swap now."""
        out, spread = self._call("quoteToStable", check_int(gov_in, "quoteToStable: govIn"))
        return int(out), int(spread)

    def height(self) -> int:
        """The module's block height now."""
        return int(self._call("height"))

    def pool_delta(self) -> int:
        """The delta now, recovery included (µUSD, signed)."""
        return int(self._call("poolDelta"))

    def delta_at(self, height: int) -> int:
        """The delta at ``height`` with the current recovery period."""
        return int(self._call("deltaAt", check_int(height, "deltaAt: height")))

    def pools(self) -> tuple[int, int]:
        """``(terra_pool, luna_pool)`` now, µUSD."""
        terra, luna = self._call("pools")
        return int(terra), int(luna)

    def base_pool(self) -> int:
        return int(self._call("basePool"))

    def recovery_period(self) -> int:
        return int(self._call("recoveryPeriod"))

    def min_spread_bps(self) -> int:
        return int(self._call("minSpreadBps"))

    def genesis_time(self) -> int:
        return int(self._call("genesisTime"))

    def block_time(self) -> int:
        return int(self._call("blockTime"))


class StableSwapPoolClient(_Client):
    """``StableSwapPool``: the Curve two-coin pool (coin 0 the algorithmic stablecoin)."""

    contract: ClassVar[str] = "StableSwapPool"

    def exchange(self, i: int, dx: int, min_dy: int = 0, *, sender: str) -> TxResult:
        """Sell ``dx`` of coin ``i`` (approved to the pool) for the other coin."""
        return self._tx("exchange", check_int(i, "exchange: i"), check_int(dx, "exchange: dx"),
                        check_int(min_dy, "exchange: minDy"), sender=sender)

    def initialize(self, *, sender: str) -> TxResult:
        """Seed the reserves from the balances sent to the pool (the admin, once)."""
        return self._tx("initialize", sender=sender)

    def set_params(self, amp: int, fee_bps: int, *, sender: str) -> TxResult:
        """Governance changes the amplification and the fee."""
        return self._tx("setParams", check_int(amp, "setParams: amp"),
                        check_int(fee_bps, "setParams: feeBps"), sender=sender)

    def get_dy(self, i: int, dx: int) -> int:
        """What selling ``dx`` of coin ``i`` buys now."""
        return int(self._call("getDy", check_int(i, "getDy: i"), check_int(dx, "getDy: dx")))

    def invariant(self) -> int:
        """The StableSwap invariant ``D`` of the reserves."""
        return int(self._call("invariant"))

    def reserves(self) -> tuple[int, int]:
        """``(reserve0, reserve1)``."""
        return int(self._call("reserve0")), int(self._call("reserve1"))

    def amp(self) -> int:
        return int(self._call("amp"))

    def fee_bps(self) -> int:
        return int(self._call("feeBps"))


@dataclass(frozen=True)
class TerraConfig:
    """The deployment's settings (the chain-side defaults; the model's come from its data).

    Attributes:
        genesis_time: the timestamp of the module's height 0.
        block_time_s: seconds per module block (Terra ~6).
        base_pool: ``BasePool`` in µUSD (Terra, May 2022: 50 M SDR; here 50 M USD).
        recovery_period: ``PoolRecoveryPeriod`` in blocks (36).
        min_spread_bps: ``MinStabilitySpread`` (50 = 0.5%).
        gov_price_wad: the oracle's first price (WAD).
        pool_amp: the pool's amplification coefficient (a modelling choice).
        pool_fee_bps: the pool's fee (Curve's stable pools: 4 bp).
        fiat_allowance: the fiat-backed token's issuer allowance (µUSD).
    """

    genesis_time: int
    block_time_s: int = 6
    base_pool: int = 50_000_000 * 10**6
    recovery_period: int = 36
    min_spread_bps: int = 50
    gov_price_wad: int = 80 * 10**18
    pool_amp: int = 100
    pool_fee_bps: int = 4
    fiat_allowance: int = UINT256_MAX


@dataclass
class TerraStack:
    """The deployed contracts, their clients, and who holds which role."""

    chain: Chain
    stable: AlgoStablecoinClient
    gov: GovTokenClient
    fiat: StablecoinClient
    oracle: PriceOracleClient
    market: MarketModuleClient
    pool: StableSwapPoolClient
    roles: dict[str, str]
    deploy_receipts: dict[str, Receipt] = field(default_factory=dict)

    def token(self, key: str) -> AlgoStablecoinClient | GovTokenClient | StablecoinClient:
        """The token named ``"stable"``, ``"gov"`` or ``"fiat"``."""
        tokens: dict[str, AlgoStablecoinClient | GovTokenClient | StablecoinClient] = {
            "stable": self.stable, "gov": self.gov, "fiat": self.fiat}
        return tokens[key]


def _create_address(sender: str, nonce: int) -> str:
    return str(to_checksum_address(keccak(rlp.encode([to_canonical_address(sender), nonce]))[12:]))


def _deploy(chain: Chain, name: str, args: tuple[Any, ...], sender: str) -> Receipt:
    art = load_artifact(name)
    receipt = chain.deploy(name, art["bytecode"], args, sender=sender)
    assert receipt.contract_address, f"{name} deployment returned no address"
    return receipt


def deploy_terra(chain: Chain, config: TerraConfig) -> TerraStack:
    """Deploy the oracle, both module tokens, the market module, a fiat-backed USD token and
    the pool, roles wired. The tokens name the module as their only minter: its address
    is computed from the admin's nonce before it exists.

    Raises:
        settlement.errors.InvalidArgument: a setting out of its type's range.
        settlement.ContractRevert: a constructor refused a setting (``InvalidBasePool``,
            ``InvalidRecoveryPeriod``, ``InvalidMinSpread``, ``InvalidBlockTime``,
            ``PriceOutOfRange``, ``InvalidAmplification``, ``InvalidPoolFee``).
    """
    check_int(config.genesis_time, "deploy_terra: genesis_time", high=2**64 - 1, kind="uint64")
    check_int(config.block_time_s, "deploy_terra: block_time_s", high=2**32 - 1, kind="uint32")
    check_int(config.recovery_period, "deploy_terra: recovery_period", high=2**64 - 1,
              kind="uint64")
    check_int(config.min_spread_bps, "deploy_terra: min_spread_bps", high=2**16 - 1,
              kind="uint16")
    if chain.automine is False or chain.block_open:
        raise ValueError("deploy_terra needs auto-mining on and no open block")
    roles = chain.accounts(TERRA_ROLES)
    admin = roles["terra:admin"]
    nonce = int(chain.w3.eth.get_transaction_count(to_checksum_address(admin)))
    market_address = _create_address(admin, nonce + 3)
    receipts: dict[str, Receipt] = {}

    def deploy(name: str, *args: Any) -> str:
        r = _deploy(chain, name, args, "terra:admin")
        receipts[name] = r
        return str(r.contract_address)

    oracle = deploy("PriceOracle", admin, roles["terra:reporter"], config.gov_price_wad)
    stable = deploy("AlgoStablecoin", market_address)
    gov = deploy("GovToken", market_address)
    market = deploy("MarketModule", admin, roles["terra:governance"], stable, gov, oracle,
                    config.genesis_time, config.block_time_s, config.base_pool,
                    config.recovery_period, config.min_spread_bps)
    if market != market_address:  # pragma: no cover - the admin sent something in between
        raise AssertionError(f"MarketModule deployed at {market}, not {market_address}")
    fiat = deploy("Stablecoin", "USD Coin (fiat-backed)", "USDx", "USD", admin, admin, admin,
                  admin, admin)
    pool = deploy("StableSwapPool", admin, roles["terra:governance"], stable, fiat,
                  config.pool_amp, config.pool_fee_bps)
    fiat_client = StablecoinClient(chain, fiat)
    fiat_client.configure_minter("terra:fiat-issuer", config.fiat_allowance,
                                 sender="terra:admin")
    return TerraStack(chain, AlgoStablecoinClient(chain, stable), GovTokenClient(chain, gov),
                      fiat_client, PriceOracleClient(chain, oracle),
                      MarketModuleClient(chain, market), StableSwapPoolClient(chain, pool),
                      roles, receipts)
