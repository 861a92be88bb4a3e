"""Chain profiles: the ledgers the on-chain rail can run on.

A :class:`ChainProfile` describes a ledger as the rail sees it: how often it
produces blocks, how much gas a block holds, when an included transaction is
final, how fees are charged, and how much of each block other users take. The
shipped profiles live in ``sim/data/chains.toml``; every figure there cites its
source with a confidence (H primary/official, M reputable secondary or vendor,
L market data or blog) or says it is a modelling choice.
:func:`load_chain_profiles` validates a file and reports **every** problem with
the file, the profile, the field and the fix.

The block-space market built on a profile (:class:`~sim.onchain.fee_market.FeeMarket`)
lives in :mod:`sim.onchain.fee_market`.

Units. Fees are integers in the smallest unit of the chain's native token,
counted as **10**18 units per native token** on every chain ("wei"; for Stellar's
XLM, whose own smallest unit is the stroop = 1e-7 XLM, one stroop is 10**11 of
these units). Gas prices in the profiles are in gwei (1e9 units). USD figures are
:class:`~decimal.Decimal`.

Example
-------
>>> import numpy as np
>>> eth = get_chain_profile("ethereum-l1")
>>> eth.block_time_s, eth.finality_delay_s()
(12.0, 768.0)
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    model_validator,
)

from sim.errors import InputError, field_problem, read_toml

__all__ = [
    "DEFAULT_CHAINS_PATH",
    "WEI_PER_GWEI",
    "WEI_PER_NATIVE",
    "ChainProfile",
    "ChainProfileError",
    "DemandSpec",
    "FeeMarketSpec",
    "FinalityRule",
    "get_chain_profile",
    "load_chain_profiles",
    "required_sources",
]

DEFAULT_CHAINS_PATH = Path(__file__).parents[1] / "data" / "chains.toml"
#: Smallest fee units per native token, on every chain (wei per ether).
WEI_PER_NATIVE = 10**18
#: Smallest fee units per gwei.
WEI_PER_GWEI = 10**9
_WEI_PER_NATIVE_D = Decimal(WEI_PER_NATIVE)   # the same divisor, converted once
#: Cap on the background demand, as a share of the block gas limit, before the
#: block is filled (demand above the limit only means the block is full).
_MAX_UTILISATION = 2.0
_LOG_MAX_UTILISATION = math.log(_MAX_UTILISATION)
#: standard normals the fee market draws ahead at a time
_DRAW_AHEAD = 4096
_CONFIDENCE = re.compile(r"confidence [HML]\b|modelling choice", re.IGNORECASE)


class ChainProfileError(InputError):
    """A chain-profile file (or override) with problems.

    ``problems`` lists each as ``"profile 'name' field 'f': what; fix: how"``;
    the message starts with the file.
    """

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path, self.problems = str(path), problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.path}: {len(problems)} problem(s) in the chain profiles:\n"
                         f"{lines}")


# ---------------------------------------------------------------------------
# schema
# ---------------------------------------------------------------------------
def _no_float(v: Any) -> Any:
    if isinstance(v, float):
        raise ValueError(f"{v!r} is a float, which is not exact; fix: give it as a string "
                         f"(\"{v}\")")
    return v


ExactDecimal = Annotated[Decimal, BeforeValidator(_no_float)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class FinalityRule(_Model):
    """When an included transaction is final: after ``value`` more blocks, or seconds.

    ``blocks`` counts block intervals after the including block (``value`` whole);
    ``seconds`` is a fixed delay from inclusion (e.g. a rollup whose batch must be
    final on L1). ``0`` means final on inclusion (BFT).
    """

    kind: Literal["blocks", "seconds"]
    value: float = Field(ge=0, allow_inf_nan=False)

    @model_validator(mode="after")
    def _whole(self) -> FinalityRule:
        if self.kind == "blocks" and self.value != int(self.value):
            raise ValueError(f"value {self.value} is not a whole number of blocks; fix: give "
                             "an integer or use kind = \"seconds\"")
        return self


class FeeMarketSpec(_Model):
    """How a chain charges our transactions.

    * ``eip1559``: ``gas * (base fee + priority_fee_gwei)``, the base fee moving per
      EIP-1559 with ``max_change_denominator`` and ``elasticity`` (gas target =
      limit // elasticity), never below ``min_base_fee_gwei``;
    * ``fixed``: ``fixed_fee_native`` per transaction whatever its gas;
    * ``none``: no fee (a permissioned ledger).

    ``l1_data_fee_usd`` is added per transaction on any kind (a rollup's L1 data /
    blob fee, modelled flat).
    """

    kind: Literal["eip1559", "fixed", "none"]
    initial_base_fee_gwei: ExactDecimal = Field(default=Decimal(0), ge=0)
    min_base_fee_gwei: ExactDecimal = Field(default=Decimal(0), ge=0)
    max_change_denominator: int = Field(default=8, ge=1)
    elasticity: int = Field(default=2, ge=1)
    priority_fee_gwei: ExactDecimal = Field(default=Decimal(0), ge=0)
    fixed_fee_native: ExactDecimal = Field(default=Decimal(0), ge=0)
    l1_data_fee_usd: ExactDecimal = Field(default=Decimal(0), ge=0)

    @model_validator(mode="after")
    def _consistent(self) -> FeeMarketSpec:
        if self.kind == "eip1559" and self.initial_base_fee_gwei < self.min_base_fee_gwei:
            raise ValueError(f"initial_base_fee_gwei {self.initial_base_fee_gwei} is below "
                             f"min_base_fee_gwei {self.min_base_fee_gwei}; fix: raise the initial "
                             "fee or lower the minimum")
        gas_fields = ("initial_base_fee_gwei", "min_base_fee_gwei", "priority_fee_gwei")
        if self.kind != "eip1559":
            used = [f for f in gas_fields if getattr(self, f) != 0]
            if used:
                raise ValueError(f"{', '.join(used)} set but kind is {self.kind!r}; fix: remove "
                                 "them or use kind = \"eip1559\"")
        if self.kind != "fixed" and self.fixed_fee_native != 0:
            raise ValueError(f"fixed_fee_native set but kind is {self.kind!r}; fix: remove it or "
                             "use kind = \"fixed\"")
        return self


class DemandSpec(_Model):
    """Background (non-settlesim) demand for block space, as a share of the gas limit.

    Per block ``u = mean_utilisation * exp(x - volatility**2 / 2) * (b0 / b)**price_elasticity``
    where ``x`` is a stationary AR(1) in log space with standard deviation
    ``volatility`` and coefficient ``persistence`` per block, ``b`` the current and
    ``b0`` the initial base fee (price-elastic demand keeps an EIP-1559 base fee
    stationary around ``b0``; with elasticity 0 it is a random walk). The block's
    background gas is ``min(limit, u * limit)``.
    """

    mean_utilisation: float = Field(ge=0, le=_MAX_UTILISATION, allow_inf_nan=False)
    volatility: float = Field(ge=0, le=3, allow_inf_nan=False)
    persistence: float = Field(ge=0, le=1, allow_inf_nan=False)
    price_elasticity: float = Field(default=0.0, ge=0, le=10, allow_inf_nan=False)


class ChainProfile(_Model):
    """A chain as the on-chain rail sees it (see the module docstring for units).

    ``sources`` maps a field path (``block_time_s``, ``fee_market.priority_fee_gwei``,
    ``background.volatility``, ...) to its citation; :func:`required_sources` says
    which paths a file must cite.

    >>> p = get_chain_profile("l2-rollup")
    >>> p.fee_market.kind, p.finality.kind, p.finality_delay_s() > 600
    ('eip1559', 'seconds', True)
    """

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    title: str
    description: str
    block_time_s: float = Field(gt=0, le=3600, allow_inf_nan=False)
    block_gas_limit: int = Field(ge=1)
    finality: FinalityRule
    fee_market: FeeMarketSpec
    background: DemandSpec
    native_token: str = Field(min_length=1)
    native_price_usd: ExactDecimal = Field(ge=0)
    sources: dict[str, str] = Field(default_factory=dict)
    _path: str = PrivateAttr(default="<dict>")

    @model_validator(mode="after")
    def _target(self) -> ChainProfile:
        fm = self.fee_market
        if fm.kind == "eip1559" and self.block_gas_limit < fm.elasticity:
            raise ValueError(f"block_gas_limit {self.block_gas_limit} is below the elasticity "
                             f"{fm.elasticity}: the gas target would be 0; fix: raise the limit")
        if fm.kind != "none" and self.native_price_usd == 0:
            raise ValueError("native_price_usd is 0 but the chain charges fees in its native "
                             "token; fix: give the token's price")
        return self

    @property
    def path(self) -> str:
        """The file the profile was loaded from (``"<dict>"`` if built in code)."""
        return self._path

    def finality_delay_s(self) -> float:
        """Seconds from inclusion in a block to finality.

        >>> get_chain_profile("permissioned-wholesale").finality_delay_s()
        0.0
        """
        if self.finality.kind == "blocks":
            return float(self.finality.value * self.block_time_s)
        return float(self.finality.value)

    def with_overrides(self, **changes: Any) -> ChainProfile:
        """A validated copy with some fields changed (e.g. for a sweep).

        Nested models take a dict of the fields to change (merged with the current
        ones) or ``section__field=value``. Floats for decimal fields are accepted
        (converted through ``str``). Each changed field's source becomes
        ``"override: ..."`` so the copy never claims a citation it does not have.
        Raises :class:`ChainProfileError` naming the profile and field.

        >>> p = get_chain_profile("ethereum-l1")
        >>> q = p.with_overrides(block_time_s=6, fee_market__priority_fee_gwei=2.5)
        >>> q.block_time_s, q.fee_market.priority_fee_gwei, p.block_time_s
        (6.0, Decimal('2.5'), 12.0)
        """
        data = self.model_dump(mode="python")
        nested = {"finality", "fee_market", "background"}
        problems: list[str] = []
        changed: list[str] = []
        label = f"profile {self.name!r}"
        for key, value in changes.items():
            section, _, sub = key.partition("__")
            fields = [f for f in type(self).model_fields if f not in ("sources", "name")]
            if section not in fields:
                problems.append(f"{label} field '{key}': not a profile field you can override; "
                                f"fix: use one of {', '.join(fields)}")
                continue
            if sub:
                if section not in nested:
                    problems.append(f"{label} field '{key}': '{section}' has no sub-fields")
                    continue
                data[section][sub] = _decimal_friendly(value)
                changed.append(f"{section}.{sub}")
            elif section in nested and isinstance(value, Mapping | BaseModel):
                items = value.model_dump() if isinstance(value, BaseModel) else dict(value)
                for k, v in items.items():
                    data[section][k] = _decimal_friendly(v)
                    changed.append(f"{section}.{k}")
            else:
                data[section] = _decimal_friendly(value)
                changed.append(section)
        if problems:
            raise ChainProfileError(self._path, problems)
        sources = dict(self.sources)
        for path in changed:
            sources[path] = "override: study parameter set with with_overrides (modelling choice)"
        data["sources"] = sources
        return _validate_profile(self.name, data, self._path)


def _decimal_friendly(v: Any) -> Any:
    return Decimal(str(v)) if isinstance(v, float) else v


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------
_FIXES = {
    "missing": "add this field to the profile",
    "extra_forbidden": "remove it or check its spelling",
    "greater_than": "give a positive number",
    "greater_than_equal": "give a number that is not negative",
    "less_than_equal": "give a smaller number",
    "literal_error": "use one of the allowed values",
    "int_parsing": "give a whole number",
    "int_from_float": "give a whole number",
    "float_parsing": "give a number",
    "decimal_parsing": "give a decimal number as a string, e.g. \"0.001\"",
    "string_pattern_mismatch": "use lower-case letters, digits and '-'",
}


def _validate_profile(name: str, data: Mapping[str, Any], path: str) -> ChainProfile:
    try:
        prof = ChainProfile.model_validate(dict(data))
    except ValidationError as exc:
        raise ChainProfileError(path, [field_problem(f"profile {name!r}", e, _FIXES)
                                       for e in exc.errors()]) from None
    prof._path = path
    return prof


def required_sources(profile: ChainProfile) -> list[str]:
    """Field paths a profile file must cite: every figure the profile sets.

    That is the top-level figures, the finality rule, every background-demand
    parameter, the fee-market kind and every fee-market figure the file gives
    explicitly (left at its default, a figure is unused by its kind).

    >>> "fee_market.priority_fee_gwei" in required_sources(get_chain_profile("ethereum-l1"))
    True
    """
    paths = ["block_time_s", "block_gas_limit", "finality", "native_price_usd",
             "fee_market.kind"]
    paths += [f"background.{f}" for f in DemandSpec.model_fields]
    paths += [f"fee_market.{f}" for f in FeeMarketSpec.model_fields
              if f != "kind" and f in profile.fee_market.model_fields_set]
    return paths


def _known_paths() -> set[str]:
    paths = {f for f in ChainProfile.model_fields if f != "sources"}
    for section, model in (("finality", FinalityRule), ("fee_market", FeeMarketSpec),
                           ("background", DemandSpec)):
        paths |= {f"{section}.{f}" for f in model.model_fields}
    return paths


def _check_sources(prof: ChainProfile) -> list[str]:
    label = f"profile {prof.name!r}"
    probs: list[str] = []
    for p in required_sources(prof):
        if not prof.sources.get(p, "").strip():
            probs.append(f"{label} field 'sources.{p}': missing citation for '{p}'; fix: add "
                         f"\"{p}\" = \"<source> (confidence H/M/L)\" or say it is a modelling "
                         "choice")
    known = _known_paths()
    for p, text in prof.sources.items():
        if p not in known:
            probs.append(f"{label} field 'sources.{p}': cites an unknown field; fix: use a "
                         "field path such as 'block_time_s' or 'fee_market.priority_fee_gwei'")
        elif text.strip() and not _CONFIDENCE.search(text):
            probs.append(f"{label} field 'sources.{p}': no confidence given; fix: end the "
                         "citation with '(confidence H)', 'M' or 'L', or say 'modelling choice'")
    return probs


def load_chain_profiles(path: str | Path | None = None) -> dict[str, ChainProfile]:
    """Load and validate a chain-profile file (default: the shipped ``chains.toml``).

    The file has one table ``[profiles.<name>]`` per chain; each profile cites a
    source for every figure in its ``sources`` table. Raises
    :class:`ChainProfileError` listing every problem.

    >>> sorted(load_chain_profiles())
    ['ethereum-l1', 'fast-ledger', 'l2-rollup', 'permissioned-wholesale']
    """
    p = Path(path) if path is not None else DEFAULT_CHAINS_PATH
    try:
        stamp = os.stat(p).st_mtime_ns
    except OSError as exc:
        raise ChainProfileError(p, [f"cannot read the file: {exc.strerror}"]) from None
    return dict(_load_cached(str(p), stamp))


@lru_cache(maxsize=32)
def _load_cached(path: str, _stamp: int) -> dict[str, ChainProfile]:
    return profiles_from_dict(read_toml(path, ChainProfileError), path)


def profiles_from_dict(raw: Mapping[str, Any], path: str = "<dict>") -> dict[str, ChainProfile]:
    """Validate a parsed chain-profile document (see :func:`load_chain_profiles`)."""
    problems: list[str] = []
    for k in raw:
        if k != "profiles":
            problems.append(f"top-level table '{k}': unknown; fix: put each chain under "
                            "[profiles.<name>]")
    profiles = raw.get("profiles")
    if not isinstance(profiles, Mapping) or not profiles:
        problems.append("no [profiles.<name>] table; fix: define at least one chain profile")
        raise ChainProfileError(path, problems)
    out: dict[str, ChainProfile] = {}
    for name, entry in profiles.items():
        label = f"profile {name!r}"
        if not isinstance(entry, Mapping):
            problems.append(f"{label}: not a table; fix: write it as [profiles.{name}]")
            continue
        if "name" in entry and entry["name"] != name:
            problems.append(f"{label} field 'name': {entry['name']!r} differs from the table "
                            f"name; fix: remove 'name' or make it {name!r}")
            continue
        try:
            prof = _validate_profile(name, {**entry, "name": name}, path)
        except ChainProfileError as exc:
            problems += exc.problems
            continue
        problems += _check_sources(prof)
        out[name] = prof
    if problems:
        raise ChainProfileError(path, problems)
    return out


def get_chain_profile(name: str, path: str | Path | None = None) -> ChainProfile:
    """The profile called ``name`` (from ``path``, default the shipped file).

    >>> get_chain_profile("fast-ledger").fee_market.kind
    'fixed'
    >>> get_chain_profile("solana")
    Traceback (most recent call last):
    ...
    sim.onchain.chains.ChainProfileError: ...: 1 problem(s) in the chain profiles:
      - profile 'solana': unknown; fix: use one of ethereum-l1, fast-ledger, l2-rollup, ...
    """
    profiles = load_chain_profiles(path)
    if name not in profiles:
        where = path if path is not None else DEFAULT_CHAINS_PATH
        raise ChainProfileError(where, [f"profile {name!r}: unknown; fix: use one of "
                                        f"{', '.join(sorted(profiles))}"])
    return profiles[name]
