"""Settings of the on-chain rail, validated from ``sim/data/onchain.toml``.

Ramps (fiat in and out of each currency's stablecoin issuer), the FX liquidity
provider, the escrow, and which chain profile and ledger the rail uses. Errors
name the file, the field path and what is allowed.

>>> spec = OnChainSpec.default()
>>> spec.chain, spec.escrow.fee_bps, spec.ramp("USD").cutoff
('ethereum-l1', 5, '17:30')
"""

from __future__ import annotations

import functools
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.calendar import BusinessCalendar, CalendarError
from sim.errors import InputError, error_field, read_toml

__all__ = [
    "DEFAULT_ONCHAIN_PATH",
    "ArbitrageSpec",
    "Duration",
    "OnChainSpec",
    "OnChainSpecError",
    "PoolSpec",
    "RampSpec",
    "pair_currencies",
]

DEFAULT_ONCHAIN_PATH = Path(__file__).parents[1] / "data" / "onchain.toml"
RampMode = Literal["wire", "instant", "prefunded"]


class OnChainSpecError(InputError):
    """A problem in an on-chain settings file; one line per problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{path}: {len(problems)} problem(s) in the on-chain settings:\n{lines}")


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Duration(_M):
    """A lognormal duration ``median * exp(sigma * z)`` clipped to [low, high]."""

    median: float = Field(gt=0)
    sigma: float = Field(default=0.0, ge=0, le=5)
    low: float = Field(default=0.0, ge=0)
    high: float = Field(default=math.inf, gt=0)

    @model_validator(mode="after")
    def _check(self) -> Duration:
        if not (self.low <= self.median <= self.high):
            raise ValueError(f"median {self.median} must lie in [low {self.low}, high {self.high}]")
        return self

    def sample(self, z: float) -> float:
        return min(self.high, max(self.low, self.median * math.exp(self.sigma * z)))


class EscrowSpec(_M):
    fee_bps: int = Field(ge=0, le=1000, description="escrow fee in bp (contract max 1000)")
    deadline_hours: float = Field(gt=0, le=720, description="lock deadline after the lock is "
                                  "sent (contract max 720 h: the escrow's maximum lock duration)")
    sources: dict[str, str] = Field(default_factory=dict)


class SegmentBps(_M):
    retail: int = Field(ge=0, lt=10_000)
    sme: int = Field(ge=0, lt=10_000)
    wholesale: int = Field(ge=0, lt=10_000)


FxRoute = Literal["provider", "amm"]


def pair_currencies(pair: str) -> tuple[str, str]:
    """The two currencies of a pool's pair key ``"USD-MXN"``; ``ValueError`` naming the
    form otherwise.

    >>> pair_currencies("USD-MXN")
    ('USD', 'MXN')
    """
    parts = pair.split("-")
    if len(parts) != 2 or not all(len(c) == 3 and c.isascii() and c.isalpha() and c.isupper()
                                  for c in parts):
        raise ValueError(f"{pair!r} is not a currency pair such as 'USD-MXN'")
    if parts[0] == parts[1]:
        raise ValueError(f"{pair!r} pairs a currency with itself")
    return parts[0], parts[1]


class PoolSpec(_M):
    """A constant-product pool of two currencies' stablecoins."""

    depth_usd: float = Field(description="USD value of each side's reserve at the mid rate")
    fee_bps: int = Field(default=30, description="the pool's fee on the input, in bp")
    sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("depth_usd")
    @classmethod
    def _depth(cls, v: float) -> float:
        if not (math.isfinite(v) and v > 0):
            raise ValueError(f"depth {v} must be a positive USD amount: a pool with zero "
                             "depth cannot quote")
        return v

    @field_validator("fee_bps")
    @classmethod
    def _fee(cls, v: int) -> int:
        if not 0 <= v < 10_000:
            raise ValueError(f"fee {v} bp is not a fee a pool can charge: it must be at "
                             "least 0 and below 10000 bp (100%)")
        return v


class ArbitrageSpec(_M):
    """Arbitrageurs trading each pool back toward the FX mid."""

    enabled: bool = True
    latency_s: float = Field(default=60.0, ge=0,
                             description="seconds from a pool's move to their trade")
    funding_rate: float = Field(default=0.05, ge=0, le=1,
                                description="annual cost of the inventory they trade with")
    hold_hours: float = Field(default=24.0, ge=0,
                              description="hours their inventory is tied up per trade")
    min_profit_usd: float = Field(default=0.0, ge=0)
    sources: dict[str, str] = Field(default_factory=dict)


class FxSpec(_M):
    spread_bps: SegmentBps
    inventory_usd: float = Field(ge=0)
    replenish: Literal["wait", "fail"] = "wait"
    replenish_usd: float = Field(gt=0)
    quote_seconds: float = Field(ge=0)
    route: FxRoute = "provider"
    max_slippage_bps: int = 100
    hub: str = "USD"
    pools: dict[str, PoolSpec] = Field(default_factory=dict)
    arbitrage: ArbitrageSpec = ArbitrageSpec()
    sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("max_slippage_bps")
    @classmethod
    def _slippage(cls, v: int) -> int:
        if not 0 < v < 10_000:
            raise ValueError(f"slippage limit {v} bp must lie strictly between 0 and "
                             "10000 bp (0% and 100%)")
        return v

    @field_validator("pools")
    @classmethod
    def _pairs(cls, pools: dict[str, PoolSpec]) -> dict[str, PoolSpec]:
        seen: dict[frozenset[str], str] = {}
        for key in pools:
            pair = frozenset(pair_currencies(key))
            if pair in seen:
                raise ValueError(f"{key!r} and {seen[pair]!r} are the same pool; keep one")
            seen[pair] = key
        return pools

    @model_validator(mode="after")
    def _route_pools(self) -> FxSpec:
        if self.route == "amm" and not self.pools:
            raise ValueError("route 'amm' needs at least one pool in fx.pools")
        return self

    def pool_for(self, a: str, b: str) -> tuple[str, PoolSpec] | None:
        """The pool of the pair ``a``/``b`` (either order), with its key; ``None`` if none."""
        for key in (f"{a}-{b}", f"{b}-{a}"):
            pool = self.pools.get(key)
            if pool is not None:
                return key, pool
        return None

    def pool_path(self, source: str, target: str) -> list[tuple[str, str]] | None:
        """The pools a conversion ``source`` -> ``target`` swaps through, as ``(from, to)``
        legs: the direct pool, else two hops through :attr:`hub`; ``None`` if neither."""
        if self.pool_for(source, target) is not None:
            return [(source, target)]
        hub = self.hub
        if hub not in (source, target) and self.pool_for(source, hub) is not None \
                and self.pool_for(hub, target) is not None:
            return [(source, hub), (hub, target)]
        return None

    def check_pools(self, currencies: Iterable[str], path: str = "fx.pools") -> list[str]:
        """Problems (one line each) with the pools against the network's ``currencies``:
        a pair naming a currency it does not have."""
        known = set(currencies)
        problems = []
        for key in self.pools:
            unknown = [c for c in pair_currencies(key) if c not in known]
            if unknown:
                problems.append(f'{path}."{key}": unknown pair: {", ".join(unknown)} is not a '
                                f"currency of the network (known: {', '.join(sorted(known))})")
        return problems


class RampSpec(_M):
    """How fiat reaches or leaves one currency's stablecoin issuer."""

    onramp_mode: RampMode = "wire"
    offramp_mode: RampMode = "wire"
    onramp_fee_bps: int = Field(default=0, ge=0, lt=10_000)
    offramp_fee_bps: int = Field(default=0, ge=0, lt=10_000)
    review_share: float = Field(default=0.0, ge=0, le=1)
    review_hours: Duration = Duration(median=1.0)
    wire_minutes: Duration = Duration(median=30.0)
    instant_seconds: Duration = Duration(median=10.0)
    timezone: str = "UTC"
    country: str | None = None
    opens: str = "09:00"
    closes: str = "17:00"
    cutoff: str | None = None
    sources: dict[str, str] = Field(default_factory=dict)

    def calendar(self) -> BusinessCalendar:
        """The issuer's business calendar; one object per distinct setting, shared by every
        run in the process (a calendar is a pure function of its setting, and it keeps
        the days it has worked out)."""
        return _calendar(self.timezone, self.country, self.opens, self.closes, self.cutoff)


@functools.lru_cache(maxsize=256)
def _calendar(timezone: str, country: str | None, opens: str, closes: str,
              cutoff: str | None) -> BusinessCalendar:
    return BusinessCalendar(timezone, country, opens=opens, closes=closes, cutoff=cutoff)


class RampTable(_M):
    default: RampSpec
    currencies: dict[str, dict[str, Any]] = Field(default_factory=dict)


class OnChainSpec(_M):
    """The on-chain rail's settings; build in code or load a TOML file."""

    chain: str = "ethereum-l1"
    ledger: Literal["contracts", "table"] = "table"
    release: Literal["attestation", "hashlock"] = "attestation"
    charge_bank_fees: bool = True
    escrow: EscrowSpec
    fx: FxSpec
    ramps: RampTable
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _calendars(self) -> OnChainSpec:
        for ccy in ["default", *self.ramps.currencies]:
            try:
                self.ramp(None if ccy == "default" else ccy).calendar()
            except (CalendarError, ValueError) as exc:
                raise ValueError(f"ramps.currencies.{ccy}: {exc}") from None
        return self

    def ramp(self, currency: str | None) -> RampSpec:
        """The ramp of ``currency``: the default with that currency's overrides."""
        over = self.ramps.currencies.get(currency or "", {})
        if not over:
            return self.ramps.default
        merged = self.ramps.default.model_dump()
        merged.update({k: v for k, v in over.items() if k != "sources"})
        merged["sources"] = {**self.ramps.default.sources, **over.get("sources", {})}
        return RampSpec.model_validate(merged)

    def with_overrides(self, **changes: Any) -> OnChainSpec:
        """A validated copy with top-level fields replaced (e.g. ``chain="l2-rollup"``)."""
        data = self.model_dump()
        for key, value in changes.items():
            if key not in data:
                raise OnChainSpecError("<overrides>", [f"{key}: no such setting"])
            data[key] = value
        return OnChainSpec.from_dict(data, "<overrides>")

    @classmethod
    def default(cls) -> OnChainSpec:
        return cls.load(DEFAULT_ONCHAIN_PATH)

    @classmethod
    def load(cls, path: str | Path) -> OnChainSpec:
        p = Path(path)
        return cls.from_dict(read_toml(p, lambda _p, probs: OnChainSpecError(str(p), probs)),
                             str(p))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: str = "<dict>") -> OnChainSpec:
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                loc = error_field(err["loc"], brackets=False) or "(top level)"
                problems.append(f"{loc}: {err['msg'].removeprefix('Value error, ')}")
            raise OnChainSpecError(path, problems) from None
