"""Settings of the Terra run model, validated from ``sim/data/terra.toml``.

The state of 7 May 2022 (supplies, prices, pools, the reserve), the market
module's parameters (BasePool in SDR with the SDR/USD rate, recovery period,
spread floor, block time), the holder classes, contagion, arbitrage, the reserve
defender, governance changes, chain halts and the published points the model
is checked against. Sizes are multiplied by ``run.scale`` when the model is
built (:meth:`TerraSettings.market_params` and :mod:`sim.terra.model`); shares
and prices are never scaled.

Bad input is refused with one line per problem naming the file and the field
(:class:`TerraSettingsError`, an :class:`~sim.errors.InputError`).

>>> s = TerraSettings.default()
>>> s.market.base_pool_sdr, s.market.recovery_period, s.run.step_seconds
(50000000.0, 36, 60)
>>> try:
...     TerraSettings.from_dict({**s.to_dict(), "market": {**s.to_dict()["market"],
...                                                    "recovery_period": 0}})
... except TerraSettingsError as exc:
...     print(exc.problems[0])
market.recovery_period: Input should be greater than 0
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.errors import InputError, error_field, error_message, read_toml

__all__ = [
    "DEFAULT_TERRA_PATH",
    "RESERVE_ASSETS",
    "TerraSettings",
    "TerraSettingsError",
]

DEFAULT_TERRA_PATH = Path(__file__).parents[1] / "data" / "terra.toml"
#: Assets a reserve may hold: BTC (sold at ``reserve.btc_price``), USD stablecoins at par.
RESERVE_ASSETS = ("BTC", "USDT", "USDC")


class TerraSettingsError(InputError):
    """A problem in the Terra settings; one line per problem, naming the field."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__(f"{path}: " + "; ".join(problems))


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


Share = float


class RunSettings(_M):
    """Clock, scale and size of a run; the peg-recovery criterion."""

    start: AwareDatetime
    days: float = Field(gt=0, le=60)
    step_seconds: int = Field(ge=1, le=86_400)
    scale: float = Field(gt=0, le=1)
    agents: int = Field(ge=10, le=1_000_000)
    peg_level: float = Field(gt=0, le=1)
    recovery_days: float = Field(gt=0, le=60)


class MarketSettings(_M):
    """The market module (BasePool in SDR) and the secondary pool's fee."""

    base_pool_sdr: float = Field(gt=0)
    sdr_usd: float = Field(gt=0)
    recovery_period: int = Field(gt=0)
    min_spread_bps: int = Field(ge=0, le=10_000)
    block_time_s: int = Field(gt=0, le=3600)
    pool_fee_bps: int = Field(ge=0, le=5_000)
    pool_amp: int = Field(ge=1, le=1_000_000)


class StateSettings(_M):
    """The state of 7 May 2022 (before scaling)."""

    stable_supply_usd: float = Field(gt=0)
    gov_price_usd: float = Field(gt=0)
    gov_supply: float = Field(gt=0)
    pool_usd: float = Field(gt=0)
    anchor_share: Share = Field(ge=0, le=1)
    anchor_yield: float = Field(ge=0, le=1)


class GovMarketSettings(_M):
    """The governance token's own market: a constant-product pool LUNA/USD."""

    depth_usd: float = Field(gt=0)
    holders_sell_below: Share = Field(ge=0, le=1)
    holders_sell_per_hour: Share = Field(ge=0, le=1)


class ReserveAsset(_M):
    asset: str
    amount: float = Field(ge=0)

    @model_validator(mode="after")
    def _known(self) -> ReserveAsset:
        if self.asset not in RESERVE_ASSETS:
            raise ValueError(f"{self.asset!r} is not a reserve asset the model can sell; "
                             f"allowed: {', '.join(RESERVE_ASSETS)}")
        return self


class ReserveSettings(_M):
    """The reserve defender: what it holds, when and how fast it sells."""

    defend_below: float = Field(gt=0, le=1)
    tranche_usd_per_hour: float = Field(gt=0)
    btc_impact: Share = Field(ge=0, lt=1)
    btc_price: list[tuple[AwareDatetime, float]] = Field(min_length=1)
    assets: list[ReserveAsset] = Field(default_factory=list)

    @model_validator(mode="after")
    def _path(self) -> ReserveSettings:
        times = [t for t, _ in self.btc_price]
        if times != sorted(times) or len(set(times)) != len(times):
            raise ValueError("btc_price: instants must be strictly increasing")
        if any(not (p > 0 and math.isfinite(p)) for _, p in self.btc_price):
            raise ValueError("btc_price: prices must be > 0")
        return self

    def amount(self, asset: str) -> float:
        """Units of ``asset`` held (0 when none)."""
        return sum(a.amount for a in self.assets if a.asset == asset)


class HolderClass(_M):
    """One class of holders: its share of the agents (and of UST unless Anchor), its
    panic thresholds (normal, clipped to (0, 1]), attention and how fast it sells."""

    agents_share: Share = Field(ge=0, le=1)
    supply_share: Share | None = Field(default=None, ge=0, le=1)
    threshold_mean: float = Field(gt=0, le=1)
    threshold_sd: float = Field(ge=0, le=1)
    checks_per_hour: float = Field(gt=0, le=3600)
    sell_fraction: Share = Field(gt=0, le=1)
    slippage_bps: int = Field(ge=0, le=10_000)


class Holders(_M):
    anchor: HolderClass
    large: HolderClass
    retail: HolderClass

    def classes(self) -> dict[str, HolderClass]:
        return {"anchor": self.anchor, "large": self.large, "retail": self.retail}


class ContagionSettings(_M):
    graph: Literal["watts_strogatz", "barabasi_albert"]
    degree: int = Field(ge=2, le=200)
    rewire: Share = Field(ge=0, le=1)
    rate_per_hour: float = Field(ge=0, le=100)


class ArbitrageSettings(_M):
    agents: int = Field(ge=0, le=100)
    capital_usd: float = Field(ge=0)
    min_profit_bps: int = Field(ge=0, le=10_000)
    rungs: int = Field(ge=1, le=40)


class GovernanceChange(_M):
    """A change of the module's parameters at an instant (Proposal 1164)."""

    at: AwareDatetime
    base_pool_sdr: float | None = Field(default=None, gt=0)
    recovery_period: int | None = Field(default=None, gt=0)
    min_spread_bps: int | None = Field(default=None, ge=0, le=10_000)


class Halt(_M):
    """A chain halt: no transactions from ``start`` for ``hours``."""

    start: AwareDatetime
    hours: float = Field(gt=0, le=24 * 30)
    block: int | None = Field(default=None, ge=0)


class Shock(_M):
    """A large holder's sale of ``sell_usd`` of UST into the pool at ``at``."""

    at: AwareDatetime
    sell_usd: float = Field(gt=0)


Point = tuple[date, float, float, float]   # day, published, fit band low, high


class Published(_M):
    """The published points the validation compares and the figures overlay."""

    daily_low: list[Point] = Field(default_factory=list)
    gov_supply: list[Point] = Field(default_factory=list)
    reserve_spent_usd: tuple[float, float, float]
    value_lost_usd_3d: tuple[float, float, float]

    @model_validator(mode="after")
    def _bands(self) -> Published:
        for name in ("daily_low", "gov_supply"):
            for i, (_, v, lo, hi) in enumerate(getattr(self, name)):
                if not lo <= v <= hi:
                    raise ValueError(f"{name}.{i}: published {v} outside its band [{lo}, {hi}]")
        for name in ("reserve_spent_usd", "value_lost_usd_3d"):
            v, lo, hi = getattr(self, name)
            if not lo <= v <= hi:
                raise ValueError(f"{name}: published {v} outside its band [{lo}, {hi}]")
        return self


class TerraSettings(_M):
    """Everything the run model needs; load a file or build from a mapping."""

    run: RunSettings
    market: MarketSettings
    state: StateSettings
    gov_market: GovMarketSettings
    reserve: ReserveSettings
    holders: Holders
    contagion: ContagionSettings
    arbitrage: ArbitrageSettings
    governance: list[GovernanceChange] = Field(default_factory=list)
    halts: list[Halt] = Field(default_factory=list)
    shocks: list[Shock] = Field(default_factory=list)
    published: Published
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shares(self) -> TerraSettings:
        problems = []
        agents = sum(c.agents_share for c in self.holders.classes().values())
        if abs(agents - 1.0) > 1e-9:
            problems.append(f"holders: agents_share of anchor, large and retail sum to "
                            f"{agents:g}; allowed: a sum of 1")
        for name in ("large", "retail"):
            if getattr(self.holders, name).supply_share is None:
                problems.append(f"holders.{name}.supply_share: required; add it")
        if self.holders.anchor.supply_share is not None:
            problems.append("holders.anchor.supply_share: Anchor's share is state.anchor_share;"
                            " remove it")
        held = self.state.anchor_share + sum(self.holders.classes()[n].supply_share or 0.0
                                             for n in ("large", "retail"))
        pool_share = self.state.pool_usd / 2 / self.state.stable_supply_usd
        if held + pool_share > 1 + 1e-9:
            problems.append(f"holders: state.anchor_share + large and retail supply_share + "
                            f"the pool's UST ({pool_share:.3f}) = {held + pool_share:.3f}; "
                            "allowed: at most 1 of the UST supply")
        if self.reserve.btc_price[0][0] > self.run.start:
            problems.append("reserve.btc_price: the first instant is after run.start; allowed: "
                            "a path that starts at or before the run")
        times = [h.start for h in self.halts]
        if times != sorted(times):
            problems.append("halts: halts must be in time order")
        if problems:
            raise ValueError(" | ".join(problems))
        return self

    # -- derived ---------------------------------------------------------------
    @property
    def start_ts(self) -> int:
        """The run's first instant, UTC seconds."""
        return int(self.run.start.timestamp())

    @property
    def end_ts(self) -> int:
        """The run's last instant, UTC seconds."""
        return self.start_ts + int(self.run.days * 86_400)

    def to_dict(self) -> dict[str, Any]:
        """The settings as plain data (the shape of the file)."""
        return self.model_dump(mode="python")

    def with_changes(self, changes: Mapping[str, Any], where: str = "<changes>"
                     ) -> TerraSettings:
        """A validated copy with fields set by dotted path (``market.base_pool_sdr``,
        ``reserve.btc``: the BTC held, ``contagion.rate_per_hour``).

        >>> s = TerraSettings.default().with_changes({"market.recovery_period": 18})
        >>> s.market.recovery_period
        18
        """
        data = self.to_dict()
        problems = []
        for dotted, value in changes.items():
            parts = str(dotted).split(".")
            if parts == ["reserve", "btc"]:
                assets = [a for a in data["reserve"]["assets"] if a["asset"] != "BTC"]
                data["reserve"]["assets"] = [{"asset": "BTC", "amount": value}, *assets]
                continue
            cur: Any = data
            for i, key in enumerate(parts):
                if not isinstance(cur, dict) or key not in cur:
                    problems.append(f"{'.'.join(parts[:i + 1])}: no such setting")
                    break
                if i == len(parts) - 1:
                    cur[key] = value
                else:
                    cur = cur[key]
        if problems:
            raise TerraSettingsError(where, problems)
        return TerraSettings.from_dict(data, where)

    @classmethod
    def default(cls) -> TerraSettings:
        """The shipped settings (``sim/data/terra.toml``)."""
        return cls.load(DEFAULT_TERRA_PATH)

    @classmethod
    def load(cls, path: str | Path) -> TerraSettings:
        """Load and validate a settings file."""
        p = Path(path)
        raw = read_toml(p, lambda _p, probs: TerraSettingsError(str(p), probs))
        return cls.from_dict(raw, str(p))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: str = "<dict>") -> TerraSettings:
        """Validate a mapping; :class:`TerraSettingsError` names each bad field."""
        try:
            return cls.model_validate(_dates(dict(raw)))
        except ValidationError as exc:
            problems = []
            for err in exc.errors():
                loc = error_field(err["loc"], brackets=False) or "(top level)"
                msg = error_message(err)
                problems += ([p for p in msg.split(" | ")] if loc == "(top level)"
                             else [f"{loc}: {msg}"])
            raise TerraSettingsError(path, problems) from None


def _dates(raw: dict[str, Any]) -> dict[str, Any]:
    """TOML local dates in the published points stay dates; date-times pass as they are."""
    pub = raw.get("published")
    if isinstance(pub, dict):
        pub = dict(pub)
        for key in ("daily_low", "gov_supply"):
            rows = pub.get(key)
            if isinstance(rows, list):
                pub[key] = [[r[0].date() if isinstance(r[0], datetime) else r[0], *r[1:]]
                            if isinstance(r, list) and r else r for r in rows]
        raw = {**raw, "published": pub}
    return raw
