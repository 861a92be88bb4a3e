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
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.calendar import BusinessCalendar, CalendarError
from sim.errors import InputError, error_field, read_toml

__all__ = [
    "DEFAULT_ONCHAIN_PATH",
    "Duration",
    "OnChainSpec",
    "OnChainSpecError",
    "RampSpec",
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


class FxSpec(_M):
    spread_bps: SegmentBps
    inventory_usd: float = Field(ge=0)
    replenish: Literal["wait", "fail"] = "wait"
    replenish_usd: float = Field(gt=0)
    quote_seconds: float = Field(ge=0)
    sources: dict[str, str] = Field(default_factory=dict)


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
                problems.append(f"{loc}: {err['msg']}")
            raise OnChainSpecError(path, problems) from None
