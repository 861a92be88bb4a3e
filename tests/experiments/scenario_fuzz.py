"""Hypothesis strategies for the scenario fuzzers: the shipped scenario documents,
mutated (values of other types and out of range, missing and unknown keys, unicode,
dates, lists), and written back as TOML text."""

from __future__ import annotations

import contextlib
import copy
import json
import math
import tomllib
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hypothesis import strategies as st

from sim.experiments.scenario import shipped_scenarios

SHIPPED: dict[str, dict[str, Any]] = {
    name: tomllib.loads(path.read_text(encoding="utf-8"))
    for name, path in shipped_scenarios().items()}

#: Field paths a scenario may hold that the shipped files leave out (so the fuzzer
#: reaches them too).
EXTRA_PATHS: tuple[tuple[str, ...], ...] = (
    ("horizon", "start"), ("horizon", "days"), ("workload", "corridors"),
    ("workload", "segments"), ("workload", "shares", "US-MX"), ("workload", "file"),
    ("network", "overrides", "review_share"), ("network", "overrides", "capacity"),
    ("network", "banks", "RBUSUS66", "cutoff"), ("network", "file"),
    ("correspondent", "policy"), ("correspondent", "via"),
    ("onchain", "chain"), ("onchain", "ledger"), ("onchain", "release"),
    ("onchain", "charge_bank_fees"), ("onchain", "settings"),
    ("onchain", "chain_overrides", "block_time_s"),
    ("onchain", "chain_overrides", "fee_market", "priority_fee_gwei"),
    ("onchain", "ramps", "onramp_mode"), ("onchain", "ramps", "review_share"),
    ("onchain", "ramps", "opens"), ("onchain", "ramps", "cutoff"),
    ("onchain", "ramps", "wire_minutes", "median"),
    ("onchain", "ramps", "currencies", "USD", "cutoff"),
    ("onchain", "escrow", "fee_bps"), ("onchain", "escrow", "deadline_hours"),
    ("onchain", "fx", "inventory_usd"), ("onchain", "fx", "replenish"),
    ("onchain", "fx", "spread_bps", "retail"), ("onchain", "fx", "quote_seconds"),
    ("seed",), ("replications",), ("payments",), ("rails",), ("name",), ("sources", "x"),
)

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=12)
_ZONES = (UTC, timezone(timedelta(hours=-5)), timezone(timedelta(hours=5, minutes=30)))
_instants = st.builds(
    lambda y, d, s, z: datetime(y, 1, 1, tzinfo=z) + timedelta(days=d, seconds=s),
    st.sampled_from([1900, 1969, 1970, 1999, 2001, 2024, 2025, 2026, 2035, 2036, 2099,
                     2101, 2150, 2261, 9998]),
    st.integers(0, 364), st.integers(0, 86399), st.sampled_from(_ZONES))


def _near(v: Any) -> st.SearchStrategy[Any]:
    """Values close to ``v``: scaled, negated, off by one, shifted in time."""
    if isinstance(v, bool):
        return st.sampled_from([not v, 0, 1, "true"])
    if isinstance(v, int):
        return st.sampled_from([v + 1, v - 1, 0, -v, v * 1000, float(v), str(v)])
    if isinstance(v, float):
        rounded = [round(v)] if math.isfinite(v) else []
        return st.sampled_from([v * 2, v / 2, 0.0, -v, math.nan, math.inf, *rounded, str(v)])
    if isinstance(v, datetime):
        shifted = []
        for k in (-40000, -365, -30, -1, 1, 30, 365, 40000):
            with contextlib.suppress(OverflowError):
                shifted.append(v + timedelta(days=k))
        return st.sampled_from([*shifted, v.replace(tzinfo=None), v.date()])
    if isinstance(v, str):
        return st.sampled_from([v.upper(), v + "x", "", v[:1], v + " ", "é" + v])
    if isinstance(v, list):
        return st.sampled_from([[], v[:1], v + v[:1], list(reversed(v)), [v]])
    if isinstance(v, dict):
        return st.sampled_from([{}, {"unknown": 1}, {k: None for k in v} if v else {"": 0}])
    return st.just(v)


def values() -> st.SearchStrategy[Any]:
    """Any TOML value, weighted to the kinds a scenario holds."""
    scalars = st.one_of(
        st.booleans(), st.integers(-2**63, 2**63 - 1), st.integers(-3, 30),
        st.floats(allow_nan=True, allow_infinity=True), st.floats(0, 2), _text,
        st.sampled_from(["ethereum-l1", "fast-ledger", "solana", "table", "contracts",
                         "wire", "instant", "prefunded", "wait", "fail", "retail", "sme",
                         "wholesale", "US-MX", "XX-YY", "USD", "XYZ", "09:00", "24:00",
                         "25:61", "correspondent", "onchain", "default", "RBUSUS66",
                         "NOPE1234", "fewest_hops", "cheapest", "attestation", "hashlock",
                         "\x00", "a\nb", "/", ".", "sim/data/chains.toml", "/proc/self"]),
        _instants, st.dates(date(1900, 1, 1), date(2300, 1, 1)))
    return st.one_of(scalars, st.lists(scalars, max_size=3),
                     st.dictionaries(_text, scalars, max_size=2))


def _leaves(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out: list[tuple[Any, ...]] = []
    if isinstance(doc, dict):
        for k, v in doc.items():
            out.append((*prefix, k))
            out += _leaves(v, (*prefix, k))
    elif isinstance(doc, list):
        for i, v in enumerate(doc):
            out.append((*prefix, i))
            out += _leaves(v, (*prefix, i))
    return out


def _get(doc: Any, path: tuple[Any, ...]) -> Any:
    for p in path:
        doc = doc[p]
    return doc


def _set(doc: Any, path: tuple[Any, ...], value: Any) -> None:
    for p in path[:-1]:
        if isinstance(doc, dict):
            if not isinstance(doc.get(p), dict | list):
                doc[p] = {}
            doc = doc[p]
        else:
            doc = doc[p]
    if isinstance(doc, list) and isinstance(path[-1], int):
        doc[path[-1]] = value
    elif isinstance(doc, dict):
        doc[path[-1]] = value


def _delete(doc: Any, path: tuple[Any, ...]) -> None:
    parent = _get(doc, path[:-1])
    if isinstance(parent, dict):
        parent.pop(path[-1], None)
    elif isinstance(parent, list) and isinstance(path[-1], int):
        parent.pop(path[-1])


@st.composite
def mutated(draw: st.DrawFn, max_mutations: int = 3, wild: bool = True) -> dict[str, Any]:
    """A shipped scenario with 1..``max_mutations`` mutations; ``wild`` draws any TOML
    value, otherwise values near the ones there (so more documents stay valid)."""
    doc = copy.deepcopy(SHIPPED[draw(st.sampled_from(sorted(SHIPPED)))])
    for _ in range(draw(st.integers(1, max_mutations))):
        leaves = _leaves(doc)
        op = draw(st.sampled_from(["replace", "replace", "near", "near", "delete", "unknown",
                                   "extra"]))
        if op == "extra" or not leaves:
            path = draw(st.sampled_from(EXTRA_PATHS))
            old = None
            try:
                old = _get(doc, path)
            except (KeyError, IndexError, TypeError):
                pass
            value = draw(_near(old) if old is not None and not wild else
                         st.one_of(values(), _near(old)) if old is not None else values())
            _set(doc, path, value)
        elif op == "delete":
            _delete(doc, draw(st.sampled_from(leaves)))
        elif op == "unknown":
            tables = [p for p in [(), *leaves] if isinstance(_get(doc, p), dict)]
            _set(doc, (*draw(st.sampled_from(tables)), draw(_text) or "x"), draw(values()))
        else:
            path = draw(st.sampled_from(leaves))
            old = _get(doc, path)
            value = draw(_near(old) if op == "near" or not wild else values())
            _set(doc, path, value)
    return doc


# ---------------------------------------------------------------------------
# TOML text
# ---------------------------------------------------------------------------
def _key(k: Any) -> str:
    k = str(k)
    if k and all(c.isascii() and (c.isalnum() or c in "-_") for c in k):
        return k
    return _string(k)


def _string(s: str) -> str:
    return json.dumps(s, ensure_ascii=False).replace("\x7f", "\\u007f")


def toml_value(v: Any) -> str:
    """``v`` as a TOML value (tables inline)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"
        return repr(v)
    if isinstance(v, datetime | date):
        return v.isoformat()
    if isinstance(v, str):
        return _string(v)
    if isinstance(v, list | tuple):
        return "[" + ", ".join(toml_value(x) for x in v) + "]"
    if isinstance(v, dict):
        return "{" + ", ".join(f"{_key(k)} = {toml_value(x)}" for k, x in v.items()) + "}"
    if v is None:
        return '""'
    raise TypeError(type(v))


def to_toml(doc: dict[str, Any]) -> str:
    """A document as TOML text: one ``key = value`` line per top-level key."""
    return "".join(f"{_key(k)} = {toml_value(v)}\n" for k, v in doc.items())
