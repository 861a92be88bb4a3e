"""Scenarios: one validated document naming everything a comparison run needs.

A scenario (a TOML file, or built in code) names the bank network and any
overrides of its banks, the workload (corridors, segments, horizon, number of
payments), the rails and their settings (chain profile and its overrides,
ledger, ramp modes, escrow and FX provider), gas-spike episodes, the seed and
the number of replications, and the question it answers with its sources.

Validation happens at the edge: :func:`load_scenario` and
:meth:`Scenario.with_params` raise :class:`ScenarioError` with one line per
problem, each naming the file, the field path and what is allowed; the pieces
the scenario refers to (network file, workload corridors, chain profile,
on-chain settings) are built and checked too (:meth:`Scenario.check`).

Examples
--------
>>> sc = load_scenario("baseline")
>>> sc.name, sc.rails, sc.onchain.chain
('baseline', ['correspondent', 'onchain'], 'ethereum-l1')
>>> fast = sc.with_params({"onchain.chain": "fast-ledger", "payments": 50})
>>> fast.onchain.chain, fast.payments, sc.payments != 50
('fast-ledger', 50, True)
>>> try:
...     sc.with_params({"onchain.colour": "red"})
... except ScenarioError as e:
...     print(e.problems[0])
onchain.colour: unknown field; allowed: chain, chain_overrides, ledger, release, \
charge_bank_fees, settings, ramps, escrow, fx
>>> Scenario(name="mine", payments=20, rails=["correspondent"]).rails
['correspondent']
"""

from __future__ import annotations

import hashlib
import math
import types
import typing
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from sim.balances import check_rates
from sim.errors import InputError, error_message, read_toml
from sim.events import EVENT_FIELDS
from sim.experiments.components import build_components
from sim.experiments.problems import ScenarioError, field_path, freeze

__all__ = [
    "SCENARIO_DIR",
    "CongestionEpisode",
    "EVENT_FIELDS",
    "EventSpec",
    "PricePoint",
    "Horizon",
    "NetworkSettings",
    "OnChainSettings",
    "Scenario",
    "ScenarioError",
    "TerraSection",
    "WorkloadSettings",
    "load_scenario",
    "shipped_scenarios",
]

SCENARIO_DIR = Path(__file__).parents[1] / "data" / "scenarios"
RailName = Literal["correspondent", "onchain", "onchain-terra"]
#: the default rails (``onchain-terra``, the on-chain rail bridged through a ``[terra]``
#: run's stablecoin, is asked for by name)
_RAILS: tuple[RailName, ...] = ("correspondent", "onchain")
RAILS: tuple[str, ...] = _RAILS
Segment = Literal["retail", "sme", "wholesale"]
RampMode = Literal["wire", "instant", "prefunded"]

#: Bank fields a scenario may override (every bank, or one bank by id).
BANK_OVERRIDABLE: tuple[str, ...] = (
    "opens", "closes", "cutoff", "capacity", "screening_seconds", "review_share",
    "review_hours", "review_reject_share", "processing_seconds", "sender_fee",
    "beneficiary_fee", "fx_spread_percent", "credit",
)


class _M(BaseModel):
    # strict: a boolean is not a number and text is not a number (``payments = true``,
    # ``days = "2"`` are refused, not read as 1 and 2); NaN and infinities are refused
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


#: An aware date-time: a TOML date-time, or ISO text in code (``"2025-11-03T00:00:00Z"``).
Instant = Annotated[AwareDatetime, Field(strict=False)]


def _file_ref(ref: str) -> str:
    if "\x00" in ref:
        raise ValueError("a file path cannot hold a NUL character; allowed: \"default\" or a "
                         "path")
    return ref


#: A file a scenario refers to: ``"default"`` or a path (relative to the scenario's folder).
FileRef = Annotated[str, AfterValidator(_file_ref)]


class Horizon(_M):
    """When payments are created: ``start`` (aware datetime) and ``days`` after it;
    either left out keeps the workload file's."""

    start: Instant | None = Field(
        default=None, description="first instant payments may be created (with zone)")
    days: float | None = Field(default=None, gt=0, le=366,
                               description="length of the creation window in days")


class NetworkSettings(_M):
    """The bank network: a file (``"default"``: the shipped one) and bank overrides.

    ``overrides`` apply to every bank (after its profile); ``banks`` maps a bank
    id to overrides for that bank only. Keys are bank fields (``review_share``,
    ``credit``, ``opens``, ...); tables merge field by field.
    """

    file: FileRef = "default"
    overrides: dict[str, Any] = Field(default_factory=dict)
    banks: dict[str, dict[str, Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _keys(self) -> NetworkSettings:
        bad = [k for k in self.overrides if k not in BANK_OVERRIDABLE]
        for over in self.banks.values():
            bad += [k for k in over if k not in BANK_OVERRIDABLE]
        if bad:
            raise ValueError(f"cannot override bank field(s) {', '.join(sorted(set(bad)))}; "
                             f"allowed: {', '.join(BANK_OVERRIDABLE)}")
        wrong: list[str] = []
        _strict_values(self.overrides, "overrides", wrong)
        for bid, over in self.banks.items():
            _strict_values(over, f"banks.{bid}", wrong)
        if wrong:
            raise ValueError("; ".join(wrong))
        return self


#: the only bank fields (at any depth) that take True or False
_BOOL_BANK_FIELDS = ("outside_hours",)


def _strict_values(value: Any, path: str, wrong: list[str]) -> None:
    """Refuse what the bank network's own (lax) models would coerce: a boolean where a
    number or text is meant (``capacity = true`` read as 1), or a non-finite number."""
    if isinstance(value, Mapping):
        for k, v in value.items():
            _strict_values(v, f"{path}.{k}", wrong)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _strict_values(v, f"{path}[{i}]", wrong)
    elif isinstance(value, bool):
        if path.rsplit(".", 1)[-1] not in _BOOL_BANK_FIELDS:
            wrong.append(f"{path}: {value} is a boolean; this field takes a number or text")
    elif isinstance(value, float) and not math.isfinite(value):
        wrong.append(f"{path}: {value} is not a finite number")


class WorkloadSettings(_M):
    """Which payments: a workload file (``"default"``), a subset of corridors and
    segments, and optional corridor shares (relative weights)."""

    file: FileRef = "default"
    corridors: list[str] | None = None
    segments: list[Segment] | None = None
    shares: dict[str, float] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _check(self) -> WorkloadSettings:
        if self.corridors is not None and not self.corridors:
            raise ValueError("corridors: give at least one corridor, or leave it out for all")
        if self.segments is not None and not self.segments:
            raise ValueError("segments: give at least one segment, or leave it out for all")
        if any(v < 0 for v in self.shares.values()):
            raise ValueError("shares: weights must be >= 0")
        return self


class CorrespondentSettings(_M):
    """Routing on the correspondent rail."""

    policy: Literal["fewest_hops", "cheapest"] = "fewest_hops"
    via: str | None = None


class RampOverrides(_M):
    """Ramp settings applied to every currency's issuer (``None``: keep the file's).

    ``currencies`` adds per-currency overrides (``{"USD": {"cutoff": "17:00"}}``).
    """

    onramp_mode: RampMode | None = None
    offramp_mode: RampMode | None = None
    onramp_fee_bps: int | None = Field(default=None, ge=0, lt=10_000)
    offramp_fee_bps: int | None = Field(default=None, ge=0, lt=10_000)
    review_share: float | None = Field(default=None, ge=0, le=1)
    review_hours: dict[str, float] | None = None
    wire_minutes: dict[str, float] | None = None
    instant_seconds: dict[str, float] | None = None
    opens: str | None = None
    closes: str | None = None
    cutoff: str | None = None
    currencies: dict[str, dict[str, Any]] = Field(default_factory=dict)


class EscrowOverrides(_M):
    fee_bps: int | None = Field(default=None, ge=0, le=1000)
    deadline_hours: float | None = Field(default=None, gt=0)


class FxOverrides(_M):
    spread_bps: dict[Segment, int] | None = None
    inventory_usd: float | None = Field(default=None, ge=0)
    replenish: Literal["wait", "fail"] | None = None
    replenish_usd: float | None = Field(default=None, gt=0)
    quote_seconds: float | None = Field(default=None, ge=0)
    #: the FX route and the AMM pools (``sim.onchain.spec.FxSpec`` checks the values)
    route: Literal["provider", "amm"] | None = None
    max_slippage_bps: int | None = None
    hub: str | None = None
    pools: dict[str, dict[str, Any]] = Field(default_factory=dict)
    arbitrage: dict[str, Any] = Field(default_factory=dict)


class OnChainSettings(_M):
    """The on-chain rail: chain profile (and overrides), ledger, ramps, escrow, FX.

    ``settings`` is the on-chain settings file (``"default"``:
    ``sim/data/onchain.toml``); the other tables override it.
    ``chain_overrides`` go to :meth:`sim.onchain.chains.ChainProfile.with_overrides`
    (e.g. ``{"block_time_s": 6, "fee_market": {"priority_fee_gwei": 3}}``).
    """

    chain: str = "ethereum-l1"
    chain_overrides: dict[str, Any] = Field(default_factory=dict)
    ledger: Literal["contracts", "table"] = "table"
    release: Literal["attestation", "hashlock"] | None = None
    charge_bank_fees: bool | None = None
    settings: FileRef = "default"
    ramps: RampOverrides = RampOverrides()
    escrow: EscrowOverrides = EscrowOverrides()
    fx: FxOverrides = FxOverrides()


class LiquiditySettings(_M):
    """Liquidity costs: ``rates`` overrides the opportunity rates of ``sim/data/rates.toml``
    (currency -> annual rate as a fraction: ``{ USD = 0.045 }`` for 4.5%)."""

    rates: dict[str, Any] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _rates(self) -> LiquiditySettings:
        try:
            check_rates(self.rates, "rates")
        except InputError as exc:
            raise ValueError("; ".join(str(exc).splitlines())) from None
        return self


class CongestionEpisode(_M):
    """A gas spike: background demand at least ``utilisation`` of the block gas limit
    from ``start`` for ``hours`` (1 or more fills the blocks)."""

    start: Instant
    hours: float = Field(gt=0, le=24 * 366)
    utilisation: float = Field(ge=0, le=2)


class PricePoint(_M):
    """One point of a stablecoin's secondary-market price path (USD per token)."""

    at: Instant
    price: float = Field(gt=0, le=2)


class EventSpec(_M):
    """One ``[[events]]`` entry: a stress or failure event (see :mod:`sim.events`).

    Which fields each ``kind`` takes is :data:`sim.events.EVENT_FIELDS`; the component builder
    checks them, and the banks, currencies and chains they name, against the
    scenario's network, chain and horizon.
    """

    kind: Literal["bank_outage", "chain_halt", "issuer_freeze", "sanction",
                  "fx_provider_outage", "congestion"]
    start: Instant | None = None
    at: Instant | None = None
    hours: float | None = Field(default=None, gt=0, le=24 * 366)
    bank: str | None = None
    chain: str | None = None
    currency: str | None = None
    account: str | None = None
    return_after_hours: float | None = Field(default=None, gt=0, le=24 * 366)
    price_path: list[PricePoint] | None = None
    policy: Literal["wait", "sell"] | None = None
    policies: dict[str, Literal["wait", "sell"]] | None = None
    utilisation: float | None = Field(default=None, ge=0, le=2)
    source: str | None = None


class TerraSection(_M):
    """A Terra run beside the payments (``[terra]``): the settings file
    (``"default"``: ``sim/data/terra.toml``), the ledger, and the parameters a sweep
    varies (``None`` keeps the file's). With the rail ``onchain-terra`` in ``rails``, the
    on-chain payments are also settled through the algorithmic stablecoin (a sale more
    than ``max_slippage_bps`` below its purchase reverts), compared with the fiat-backed
    rail and the banks."""

    settings: FileRef = "default"
    ledger: Literal["mirror", "contracts"] = "mirror"
    base_pool_sdr: float | None = Field(default=None, gt=0, strict=False)
    recovery_period: int | None = Field(default=None, gt=0)
    min_spread_bps: int | None = Field(default=None, ge=0, le=10_000)
    reserve_btc: float | None = Field(default=None, ge=0, strict=False)
    contagion_rate: float | None = Field(default=None, ge=0, le=100, strict=False)
    agents: int | None = Field(default=None, ge=10, le=1_000_000)
    scale: float | None = Field(default=None, gt=0, le=1, strict=False)
    step_seconds: int | None = Field(default=None, ge=1, le=86_400)
    recovery_days: float | None = Field(default=None, gt=0, le=60, strict=False)
    #: how long the run lasts from its start (the settings file's ``run.days`` otherwise)
    days: float | None = Field(default=None, gt=0, le=60, strict=False)
    max_slippage_bps: int = Field(default=1000, ge=0, le=10_000)


class Scenario(_M):
    """A validated scenario; load one with :func:`load_scenario` or build it in code.

    ``horizon`` fields left out keep the workload file's window. ``path`` is the file it
    came from (relative ``network.file``, ``workload.file`` and
    ``onchain.settings`` resolve against its folder).

    >>> sc = Scenario(name="two-days", payments=30,
    ...               horizon={"start": "2025-11-03T00:00:00Z", "days": 2})
    >>> sc.horizon.days, sc.onchain.ledger
    (2.0, 'table')
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
    description: str = ""
    question: str = ""
    seed: int = Field(default=1, ge=0)
    replications: int = Field(default=1, ge=1, le=1000)
    payments: int = Field(default=2000, ge=1, le=10_000_000)
    horizon: Horizon = Horizon()
    network: NetworkSettings = NetworkSettings()
    workload: WorkloadSettings = WorkloadSettings()
    rails: list[RailName] = Field(default_factory=lambda: list(_RAILS), min_length=1)
    correspondent: CorrespondentSettings = CorrespondentSettings()
    onchain: OnChainSettings = OnChainSettings()
    congestion: list[CongestionEpisode] = Field(default_factory=list)
    events: list[EventSpec] = Field(default_factory=list)
    liquidity: LiquiditySettings = LiquiditySettings()
    terra: TerraSection | None = None
    sources: dict[str, str] = Field(default_factory=dict)
    path: str = "<code>"

    def __init__(self, /, **data: Any) -> None:
        """Build in code; a problem raises :class:`ScenarioError` (one line each), the
        file being ``path`` (``"<code>"`` by default)."""
        try:
            super().__init__(**data)
        except ValidationError as exc:
            raise ScenarioError(str(data.get("path", "<code>")),
                                [_describe(e) for e in exc.errors()]) from None

    @model_validator(mode="after")
    def _rails(self) -> Scenario:
        if len(set(self.rails)) != len(self.rails):
            raise ValueError("rails: each rail once; allowed: correspondent, onchain")
        if "onchain-terra" in self.rails and (self.terra is None or "onchain" not in self.rails):
            raise ValueError("rails: onchain-terra (payments bridged through the algorithmic "
                             "stablecoin) needs the onchain rail and a [terra] section")
        return self

    # -- derived ----------------------------------------------------------------
    def resolve(self, ref: str, default: Path) -> Path:
        """A file named by the scenario: ``"default"`` or a path relative to its folder."""
        if ref == "default":
            return default
        p = Path(ref).expanduser()
        if not p.is_absolute() and self.path not in ("<code>", "<params>"):
            p = Path(self.path).parent / p
        return p

    def to_dict(self) -> dict[str, Any]:
        """The scenario as plain data (JSON-friendly; datetimes as ISO strings)."""
        return self.model_dump(mode="json")

    def digest(self) -> str:
        """The sha256 (hex) of the scenario's resolved document: what a manifest records,
        the same for the same scenario whatever wrote it (a run, a sweep)."""
        return hashlib.sha256(freeze(self.to_dict()).encode()).hexdigest()

    def with_params(self, params: Mapping[str, Any]) -> Scenario:
        """A validated copy with fields set by dotted path.

        Paths name fields of the scenario (``payments``, ``horizon.days``,
        ``onchain.chain``, ``onchain.ramps.onramp_mode``,
        ``network.overrides.review_share``, ``congestion.0.utilisation``); free
        tables (``network.overrides``, ``onchain.chain_overrides``, ...) accept new
        keys. Unknown paths and invalid values raise :class:`ScenarioError`, and so
        does anything the copy refers to that cannot be built (:meth:`check`: an
        unknown chain profile, a bank that is not in the network, ...).

        >>> sc = Scenario(name="x").with_params({"onchain.ramps.onramp_mode": "instant"})
        >>> sc.onchain.ramps.onramp_mode
        'instant'
        """
        data = self.model_dump(mode="python")
        problems: list[str] = []
        for dotted, value in params.items():
            err = _set_path(type(self), data, str(dotted).split("."), value)
            if err:
                problems.append(err)
        where = f"{self.path} (with params)"
        if problems:
            raise ScenarioError(where, problems)
        try:
            new = Scenario(**data)
        except ScenarioError as exc:
            raise ScenarioError(where, exc.problems) from None
        try:
            new.check()        # what it refers to, too: a bad chain is refused here
        except ScenarioError as exc:
            raise ScenarioError(where, exc.problems) from None
        return new

    def check(self) -> None:
        """Build what the scenario refers to (network, workload, chain, on-chain settings)
        and raise :class:`ScenarioError` listing every problem."""

        build_components(self)

    def summary_line(self) -> str:
        """One line: rails, chain, payments, replications."""
        oc = f" on {self.onchain.chain}" if "onchain" in self.rails else ""
        return (f"{' + '.join(self.rails)}{oc}, {self.payments} payments, "
                f"{self.replications} replication(s), seed {self.seed}")


# ---------------------------------------------------------------------------
# paths and errors
# ---------------------------------------------------------------------------
def _model_of(annotation: Any) -> type[BaseModel] | None:
    """The pydantic model inside an annotation (``X``, ``X | None``, ``list[X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list):
        for a in typing.get_args(annotation):
            m = _model_of(a)
            if m is not None:
                return m
    return None


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    return any(_is_list(a) for a in typing.get_args(annotation)
               if typing.get_origin(annotation) in (typing.Union, types.UnionType))


def _fields(model: type[BaseModel]) -> list[str]:
    return [f for f in model.model_fields if f != "path"]


def _set_path(model: type[BaseModel], data: dict[str, Any], parts: list[str],
              value: Any) -> str | None:
    """Set ``parts`` in ``data`` (a dump of ``model``); an error line or ``None``."""
    done: list[str] = []
    cur: Any = data
    cur_model: type[BaseModel] | None = model
    free = False                       # inside a free-form table: any key allowed
    for i, key in enumerate(parts):
        last = i == len(parts) - 1
        here = ".".join([*done, key])
        if isinstance(cur, list):
            idx = int(key)                 # checked when the list was entered
            if last:
                cur[idx] = value
                return None
            cur = cur[idx]
            done.append(key)
            continue
        if cur_model is not None and not free:
            if key not in _fields(cur_model):
                return (f"{here}: unknown field; allowed: {', '.join(_fields(cur_model))}")
            ann = cur_model.model_fields[key].annotation
            if last:
                cur[key] = value
                return None
            sub = _model_of(ann)
            if _is_list(ann):
                if cur.get(key) is None:
                    cur[key] = []
                cur, cur_model = cur[key], sub
                done.append(key)
                # next part must be an index
                nxt = parts[i + 1]
                if not nxt.isdigit() or int(nxt) >= len(cur):
                    return (f"{here}.{nxt}: no such entry; allowed: indices 0.."
                            f"{len(cur) - 1}" if cur else f"{here}: the list is empty")
                continue
            if sub is None:
                if isinstance(cur.get(key), dict) or cur.get(key) is None:
                    if cur.get(key) is None:
                        cur[key] = {}
                    cur = cur[key]
                    cur_model, free = None, True
                    done.append(key)
                    continue
                return (f"{'.'.join(parts)}: '{here}' is a value, not a table; set '{here}' "
                        "itself")
            if cur.get(key) is None:
                cur[key] = {}
            cur, cur_model = cur[key], sub
            done.append(key)
        else:
            if last:
                cur[key] = value
                return None
            if not isinstance(cur.get(key), dict):
                cur[key] = {}
            cur = cur[key]
            done.append(key)
    return None


def _allowed(loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the model at ``loc`` (for unknown-field messages)."""
    model: type[BaseModel] | None = Scenario
    for part in loc:
        if model is None:
            return None
        if isinstance(part, int):
            continue
        if part not in model.model_fields:
            return _fields(model)
        model = _model_of(model.model_fields[part].annotation)
    return _fields(model) if model is not None else None


_BOUNDS = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}",
           "less_than_equal": "<= {le}", "too_short": "at least {min_length} entr(y/ies)"}
_FIXES = {
    "string_pattern_mismatch": "letters, digits, '-', '_' or '.'",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_parsing": "a number",
    "bool_parsing": "true or false",
    "datetime_parsing": "a date-time with a zone, e.g. 2025-11-07T21:00:00Z",
    "datetime_from_date_parsing": "a date-time with a zone, e.g. 2025-11-07T21:00:00Z",
    "timezone_aware": "a date-time with a zone, e.g. 2025-11-07T21:00:00Z",
    "list_type": "a list, e.g. [\"a\", \"b\"]",
    "dict_type": "a table",
    "model_type": "a table",
    "string_type": "a string",
    "int_type": "a whole number",
    "float_type": "a number",
    "bool_type": "true or false",
    "finite_number": "a finite number",
    "datetime_type": "a date-time with a zone, e.g. 2025-11-07T21:00:00Z",
}
_TYPE_ERRORS = ("int_type", "float_type", "bool_type", "string_type", "list_type",
                "dict_type", "model_type", "datetime_type", "int_from_float", "finite_number")


def _what(value: Any) -> str:
    """What kind of value a document holds, in its author's words."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "not a finite number" if value != value or value in (float("inf"), \
            float("-inf")) else "a decimal number"
    if isinstance(value, str):
        return "text"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, list | tuple):
        return "a list"
    return f"a {type(value).__name__}"


def _describe(err: Mapping[str, Any]) -> str:
    loc = tuple(err["loc"])
    kind = str(err["type"])
    field = field_path(*loc) if loc else "(top level)"
    if kind == "extra_forbidden":
        allowed = _allowed(loc[:-1])
        return f"{field}: unknown field; allowed: {', '.join(allowed or [])}"
    msg = error_message(err)
    if kind == "missing":
        return f"{field}: required; add it"
    fix = _FIXES.get(kind)
    if kind in _BOUNDS:
        try:
            fix = _BOUNDS[kind].format(**err.get("ctx", {}))
        except KeyError:
            fix = None
    if kind.startswith("literal_error"):
        exp = err.get("ctx", {}).get("expected", "")
        return f"{field}: {err.get('input')!r} is not allowed; allowed: {exp}"
    if kind in _TYPE_ERRORS and fix:
        value = err.get("input")
        shown = _shown(value)
        return f"{field}: {shown} is {_what(value)}; allowed: {fix}"
    if fix:
        return f"{field}: {msg}; allowed: {fix}"
    return f"{field}: {msg}"


def _shown(value: Any) -> str:
    """A value as its author wrote it (TOML spelling of booleans), cut short."""
    text = str(value).lower() if isinstance(value, bool) else repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def _validate(raw: Mapping[str, Any], path: str) -> Scenario:
    return Scenario(**{**raw, "path": path})


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------
def shipped_scenarios() -> dict[str, Path]:
    """The scenarios shipped in ``sim/data/scenarios``, by name (sorted).

    >>> 'baseline' in shipped_scenarios(), 'weekend' in shipped_scenarios()
    (True, True)
    """
    return {p.stem: p for p in sorted(SCENARIO_DIR.glob("*.toml"))}


def scenario_comment(path: str | Path) -> str:
    """The leading ``#`` comment block of a scenario file (what question it answers)."""
    lines = []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        if not line.startswith("#"):
            break
        lines.append(line.lstrip("#").strip())
    return "\n".join(lines).strip()


def load_scenario(name_or_path: str | Path, *, check: bool = True) -> Scenario:
    """Load a scenario: a TOML file path, or the name of a shipped scenario.

    ``check`` also builds what it refers to (network, workload, chain profile,
    on-chain settings) so that every problem is reported before anything runs.

    >>> load_scenario("fast-ledger").onchain.chain
    'fast-ledger'
    """
    ref = str(name_or_path)
    if "\x00" in ref:
        raise ScenarioError(ref.replace("\x00", "\\x00"),
                            ["a file path cannot hold a NUL character"])
    shipped = shipped_scenarios()
    if ref in shipped and not Path(ref).exists():
        path = shipped[ref]
    else:
        path = Path(ref)
        if not path.exists():
            hint = f"; shipped scenarios: {', '.join(shipped)}" if shipped else ""
            raise ScenarioError(ref, [f"no such file or shipped scenario{hint}"])
    sc = _validate(read_toml(path, ScenarioError), str(path))
    if check:
        sc.check()
    return sc
