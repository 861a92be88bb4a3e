"""The bank network: banks, correspondent accounts, FX mid rates, and routing.

A network file (TOML) holds banks (nodes) and the nostro accounts between them
(edges), with reusable parameter *profiles* whose every figure cites a source.
:meth:`BankNetwork.load` validates the whole file with pydantic and reports
**every** problem with the file, the entry and what to fix; nothing runs on an
invalid network.

Graph semantics. An account ``owner -> servicer`` in currency ``c`` is a nostro
account of ``owner`` held at ``servicer``. A payment can cross it both ways:

* ``owner -> servicer`` (**debit leg**): the owner instructs the servicer to debit
  its account and pay onward; the owner needs funds there (nostro liquidity);
* ``servicer -> owner`` (**credit leg**): the servicer credits the owner's account
  (no liquidity needed from the servicer).

Routing runs on a derived state graph whose nodes are ``(bank, currency)``:
crossing an account keeps the currency, converting at a bank that deals in both
currencies (its ``fx_currencies``) changes it. The default policy takes the fewest
inter-bank legs; ``"cheapest"`` minimises lifting fees plus FX spread for a
reference amount; ``via=`` forces a named intermediary.

Example
-------
>>> net = BankNetwork.default()
>>> r = net.route("RBUSUS44", "PLMXMXMM", "USD", "MXN")
>>> r.banks, r.intermediaries
(('RBUSUS44', 'GCUSUS33', 'PLMXMXMM'), 1)
"""

from __future__ import annotations

import copy
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from functools import cached_property
from pathlib import Path
from typing import Annotated, Any, Literal

import networkx as nx
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.calendar import BusinessCalendar, CalendarError, parse_clock
from sim.errors import InputError, field_problem, read_toml
from sim.money import (
    MoneyError,
    check_currency,
    convert_for_reporting,
    percent_of,
    scaled_rate,
    to_minor,
)

__all__ = [
    "Account",
    "Bank",
    "BankNetwork",
    "Conversion",
    "FeeRule",
    "FxTable",
    "Leg",
    "LogNormal",
    "NetworkFileError",
    "Route",
    "RoutingError",
    "SEGMENTS",
    "DEFAULT_NETWORK_PATH",
    "fee_function",
    "country_calendars",
    "fee_minor",
]

DEFAULT_NETWORK_PATH = Path(__file__).parents[1] / "data" / "default_network.toml"
SEGMENTS: tuple[str, ...] = ("retail", "sme", "wholesale")
Segment = Literal["retail", "sme", "wholesale"]


class NetworkFileError(InputError):
    """A network file with problems; ``problems`` lists each as 'entry: what; fix'."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.path}: {len(problems)} problem(s) in the bank network:\n{lines}")


class RoutingError(InputError, LookupError):
    """No correspondent path exists for a payment; the message says why."""


# ---------------------------------------------------------------------------
# pydantic schema
# ---------------------------------------------------------------------------
def _no_float(v: Any) -> Any:
    if isinstance(v, float):
        raise ValueError(f"give {v!r} as a string (\"{v}\") so it stays an exact decimal")
    return v


ExactDecimal = Annotated[Decimal, BeforeValidator(_no_float)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LogNormal(_Model):
    """A lognormal duration: ``median * exp(sigma * z)`` with ``z`` standard normal."""

    median: float = Field(gt=0)
    sigma: float = Field(default=0.0, ge=0, le=5)

    def sample(self, z: float) -> float:
        return self.median * math.exp(self.sigma * z)


class FeeRule(_Model):
    """A fee in major units of the charging bank's currency: fixed + percent, clamped."""

    fixed: ExactDecimal = Decimal(0)
    percent: ExactDecimal = Decimal(0)
    minimum: ExactDecimal = Decimal(0)
    maximum: ExactDecimal | None = None
    currency: str | None = Field(default=None, description="currency of fixed/minimum/maximum "
                                 "(default: the charging bank's); converted at the mid rate")

    @model_validator(mode="after")
    def _check(self) -> FeeRule:
        if self.currency is not None:
            check_currency(self.currency)
        for name in ("fixed", "percent", "minimum"):
            if getattr(self, name) < 0:
                raise ValueError(f"{name} is negative ({getattr(self, name)}); fees are >= 0")
        if self.maximum is not None and self.maximum < self.minimum:
            raise ValueError(f"maximum {self.maximum} is below minimum {self.minimum}")
        return self


class SegmentFees(_Model):
    retail: FeeRule = FeeRule()
    sme: FeeRule = FeeRule()
    wholesale: FeeRule = FeeRule()


class SegmentPercent(_Model):
    retail: ExactDecimal = Decimal(0)
    sme: ExactDecimal = Decimal(0)
    wholesale: ExactDecimal = Decimal(0)

    @model_validator(mode="after")
    def _check(self) -> SegmentPercent:
        for s in SEGMENTS:
            v = getattr(self, s)
            if not (0 <= v < 100):
                raise ValueError(f"{s} = {v}: a spread is a percent in [0, 100)")
        return self


class Crediting(_Model):
    """How the beneficiary bank credits its customer."""

    stp_share: float = Field(ge=0, le=1)
    stp_seconds: LogNormal
    manual_hours: LogNormal
    outside_hours: bool = False


def _clock(v: str) -> str:
    parse_clock(v)
    return v


Clock = Annotated[str, BeforeValidator(lambda v: _clock(v) if isinstance(v, str) else v)]


class Bank(_Model):
    """A bank (node). Fees are in major units of ``currency``; hours are local."""

    id: str = Field(pattern=r"^[A-Z0-9]{8}([A-Z0-9]{3})?$")
    name: str
    country: str = Field(pattern=r"^[A-Z]{2}$")
    currency: str
    timezone: str
    city: str = Field(description="where the bank is, as timelines and the report show it")
    subdiv: str | None = None
    opens: Clock
    closes: Clock
    cutoff: Clock
    capacity: int = Field(ge=1)
    screening_seconds: LogNormal
    review_share: float = Field(ge=0, le=1)
    review_hours: LogNormal
    review_reject_share: float = Field(ge=0, le=1)
    processing_seconds: LogNormal
    sender_fee: SegmentFees
    beneficiary_fee: SegmentFees
    fx_spread_percent: SegmentPercent
    credit: Crediting
    fx_currencies: tuple[str, ...] = ()
    profile: str | None = None
    sources: dict[str, str] = Field(default_factory=dict, description="citation per override")

    @field_validator("currency")
    @classmethod
    def _ccy(cls, v: str) -> str:
        return check_currency(v)

    @field_validator("city")
    @classmethod
    def _city(cls, v: str) -> str:
        text = v.strip()
        if not text or len(text) > 60 or not text.isprintable():
            raise ValueError("give the city the bank is in as plain text of 1 to 60 "
                             "characters, e.g. \"Mumbai\"")
        return text

    @field_validator("fx_currencies")
    @classmethod
    def _ccys(cls, v: tuple[str, ...]) -> tuple[str, ...]:
        for c in v:
            check_currency(c)
        return v

    @model_validator(mode="after")
    def _calendar(self) -> Bank:
        # building the calendar checks the zone, the country and the hours together
        self.calendar  # noqa: B018
        return self

    @cached_property
    def calendar(self) -> BusinessCalendar:
        """The bank's :class:`~sim.calendar.BusinessCalendar` (built once)."""
        try:
            return BusinessCalendar(self.timezone, self.country, opens=self.opens,
                                    closes=self.closes, cutoff=self.cutoff, subdiv=self.subdiv)
        except CalendarError as exc:
            raise InputError(str(exc)) from None

    def fee(self, kind: Literal["sender_fee", "beneficiary_fee"], segment: str,
            amount: int, amount_currency: str, fx: FxTable) -> int:
        """Fee in minor units of the bank's currency for a payment of ``amount``."""
        rule: FeeRule = getattr(getattr(self, kind), segment)
        return fee_minor(rule, amount, amount_currency, self.currency, fx)


class Account(_Model):
    """A nostro account of ``owner`` at ``servicer`` (an edge). Amounts in major units."""

    owner: str
    servicer: str
    currency: str
    lifting_fee: ExactDecimal = Field(description="charged by an intermediary receiving the "
                                                  "payment over this account")
    processing_seconds: LogNormal
    balance: ExactDecimal | None = Field(default=None, description="None: not constrained")
    funding_times: tuple[Clock, ...] = ()
    lifting_fee_currency: str | None = Field(default=None, description="currency of lifting_fee"
                                             " (default: the account's); converted at mid")
    balance_currency: str | None = Field(default=None, description="currency of balance "
                                         "(default: the account's); converted at mid")
    profile: str | None = None
    sources: dict[str, str] = Field(default_factory=dict, description="citation per override")

    @field_validator("currency")
    @classmethod
    def _ccy(cls, v: str) -> str:
        return check_currency(v)

    @model_validator(mode="after")
    def _check(self) -> Account:
        if self.lifting_fee < 0:
            raise ValueError(f"lifting_fee is negative ({self.lifting_fee}); give a fee >= 0")
        if self.balance is not None:
            if self.balance < 0:
                raise ValueError(f"balance is negative ({self.balance}); give a balance >= 0")
            if not self.funding_times:
                raise ValueError("a limited balance needs funding_times (e.g. [\"09:00\"]) "
                                 "at which the owner refunds the account")
            to_minor(self.balance, self.balance_currency or self.currency)
        to_minor(self.lifting_fee, self.lifting_fee_currency or self.currency)
        for c in (self.lifting_fee_currency, self.balance_currency):
            if c is not None:
                check_currency(c)
        if self.owner == self.servicer:
            raise ValueError(f"owner and servicer are both {self.owner!r}")
        return self

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.owner, self.servicer, self.currency)



class FxFile(_Model):
    base: str = "USD"
    as_of: str
    source: str
    rates: dict[str, ExactDecimal]

    @model_validator(mode="after")
    def _check(self) -> FxFile:
        check_currency(self.base)
        for c, r in self.rates.items():
            check_currency(c)
            if r <= 0:
                raise ValueError(f"rates.{c} = {r}: a rate must be > 0")
        return self


def fee_minor(rule: FeeRule, amount: int, amount_currency: str, fee_currency: str,
              fx: FxTable) -> int:
    """Evaluate ``rule`` on ``amount`` (minor units); result in minor units of ``fee_currency``.

    The percent part applies to the amount converted to the fee currency at the mid
    rate; the sum is clamped to [minimum, maximum] and rounded half to even.
    """
    base = convert_for_reporting(amount, amount_currency, fee_currency,
                                 fx.rate(amount_currency, fee_currency))
    rc = rule.currency or fee_currency
    r = fx.rate(rc, fee_currency)

    def major(v: Decimal) -> int:
        return convert_for_reporting(to_minor(v, rc), rc, fee_currency, r)

    fee = major(rule.fixed) + percent_of(base, rule.percent)
    fee = max(fee, major(rule.minimum))
    if rule.maximum is not None:
        fee = min(fee, major(rule.maximum))
    return fee


def fee_function(rule: FeeRule, currency: str, fee_currency: str, fx: FxTable
                 ) -> Callable[[int], int]:
    """``rule`` as a function of a value in minor units of ``currency`` giving the fee in
    minor units of ``currency`` (half to even): :func:`fee_minor` in ``fee_currency``
    (the bank's own) followed by :func:`~sim.money.convert_for_reporting` back, with the
    rule's constants and the scaled rates worked out once. The rails call it for
    every payment a bank handles.

    >>> fx = FxTable("USD", {"USD": Decimal(1), "MXN": Decimal("18.5")})
    >>> rule = FeeRule(fixed=Decimal(5), percent=Decimal("0.1"))
    >>> f = fee_function(rule, "MXN", "USD", fx)
    >>> fee_minor(rule, 1_850_000, "MXN", "USD", fx)   # on MXN 18,500 (USD 1,000): USD 6.00
    600
    >>> f(1_850_000)                                     # the same fee, in MXN
    11100
    """
    own = fee_currency
    if rule.percent == 0:       # the fee does not depend on the value
        fee = fee_minor(rule, 0, currency, own, fx)
        const = convert_for_reporting(fee, own, currency, fx.rate(own, currency))
        return lambda value: const
    rc = rule.currency or own

    def major(v: Decimal) -> int:   # as in fee_minor: a rule amount in own minor units
        return convert_for_reporting(to_minor(v, rc), rc, own, fx.rate(rc, own))

    fixed, minimum = major(rule.fixed), major(rule.minimum)
    ceiling = None if rule.maximum is None else major(rule.maximum)
    pct = rule.percent
    to_own = None if own == currency else scaled_rate(fx.rate(currency, own), currency, own)
    back = None if own == currency else scaled_rate(fx.rate(own, currency), own, currency)

    def fee_of(value: int) -> int:
        base = value if to_own is None else int(
            (Decimal(value) * to_own).to_integral_value(rounding=ROUND_HALF_EVEN))
        fee = fixed + percent_of(base, pct)
        if fee < minimum:
            fee = minimum
        if ceiling is not None and fee > ceiling:
            fee = ceiling
        if back is None:
            return fee
        return int((Decimal(fee) * back).to_integral_value(rounding=ROUND_HALF_EVEN))

    return fee_of


class FxTable:
    """Mid-market rates, each currency quoted as units per one ``base`` unit.

    Cross rates are exact decimal quotients (28 significant digits, Python's
    default decimal context), so they are deterministic.

    >>> fx = FxTable("USD", {"USD": Decimal(1), "MXN": Decimal("18.5")})
    >>> fx.rate("USD", "MXN"), fx.rate("MXN", "MXN")
    (Decimal('18.5'), Decimal('1'))
    """

    def __init__(self, base: str, per_base: Mapping[str, Decimal], as_of: str = "",
                 source: str = "") -> None:
        self.base = base
        self.per_base = dict(per_base)
        self.per_base.setdefault(base, Decimal(1))
        self.as_of, self.source = as_of, source
        self._cache: dict[tuple[str, str], Decimal] = {}

    def rate(self, source: str, target: str) -> Decimal:
        """Mid rate: units of ``target`` per unit of ``source``."""
        if source == target:
            return Decimal(1)
        key = (source, target)
        r = self._cache.get(key)
        if r is None:
            try:
                r = self.per_base[target] / self.per_base[source]
            except KeyError as exc:
                raise RoutingError(f"no FX mid rate for {exc.args[0]}; add it to [fx.rates]") \
                    from None
            self._cache[key] = r
        return r

    def __contains__(self, currency: str) -> bool:
        return currency in self.per_base


# ---------------------------------------------------------------------------
# routes
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Leg:
    """One inter-bank step of a route: ``sender`` passes the payment to ``receiver``."""

    sender: str
    receiver: str
    currency: str
    account: Account
    debit: bool  # True: sender's nostro at receiver is debited (needs liquidity)


@dataclass(frozen=True, slots=True)
class Conversion:
    """A currency conversion at ``banks[position]`` of a route."""

    position: int
    bank: str
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class Route:
    """A path from ordering bank to beneficiary bank with its legs and conversions."""

    banks: tuple[str, ...]
    legs: tuple[Leg, ...]
    conversions: tuple[Conversion, ...]

    @property
    def intermediaries(self) -> int:
        return len(self.banks) - 2

    def conversions_at(self, position: int) -> tuple[Conversion, ...]:
        return tuple(c for c in self.conversions if c.position == position)


# ---------------------------------------------------------------------------
# loading
# ---------------------------------------------------------------------------
def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    """``over`` merged into a copy of ``base`` (tables field by field)."""
    out = copy.deepcopy(dict(base))
    for k, v in over.items():
        if isinstance(v, Mapping) and isinstance(out.get(k), Mapping):
            out[k] = deep_merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _with_profile(entry: Mapping[str, Any], profiles: Mapping[str, Mapping[str, Any]],
                  label: str, kind: str, problems: list[str]
                  ) -> tuple[dict[str, Any], str] | None:
    """``entry`` merged over its named profile, and how to say where a field came from.

    None (with the problem recorded) when the profile does not exist.
    """
    name = entry.get("profile")
    if name is None:
        return dict(entry), ""
    if name not in profiles:
        problems.append(f"{label} field 'profile': no {kind} {name!r}; fix: use one of "
                        f"{', '.join(sorted(profiles)) or '(none)'}")
        return None
    prof = {k: v for k, v in profiles[name].items() if k != "sources"}
    return deep_merge(prof, entry), f" ({kind} '{name}' or the entry)"


_FIXES = {
    "missing": "add this field (to the entry or to its profile)",
    "extra_forbidden": "remove it or check its spelling",
    "greater_than": "give a positive number",
    "greater_than_equal": "give a number that is not negative",
    "less_than_equal": "give a smaller number",
    "string_pattern_mismatch": "use the expected format",
    "int_parsing": "give a whole number",
    "decimal_parsing": "give a decimal number as a string, e.g. \"12.50\"",
}


class BankNetwork:
    """Banks and correspondent accounts on a :class:`networkx.DiGraph`, with routing.

    Build with :meth:`load` (a TOML file) or :meth:`default` (the shipped network).
    Node ``bank_id`` carries ``bank=<Bank>``; edge ``owner -> servicer`` carries
    ``accounts={currency: Account}``.
    """

    def __init__(self, banks: Iterable[Bank], accounts: Iterable[Account], fx: FxTable, *,
                 name: str = "", path: str = "", sources: Mapping[str, str] | None = None,
                 raw: Mapping[str, Any] | None = None) -> None:
        self.name, self.path = name, path
        self.fx = fx
        self.sources = dict(sources or {})
        self.raw = raw or {}
        self.graph: nx.DiGraph = nx.DiGraph()
        self.banks: dict[str, Bank] = {}
        for b in banks:
            self.banks[b.id] = b
            self.graph.add_node(b.id, bank=b)
        self.accounts: dict[tuple[str, str, str], Account] = {}
        for a in accounts:
            self.accounts[a.key] = a
            if not self.graph.has_edge(a.owner, a.servicer):
                self.graph.add_edge(a.owner, a.servicer, accounts={})
            self.graph.edges[a.owner, a.servicer]["accounts"][a.currency] = a
        self.lifting_fee_minor: dict[tuple[str, str, str], int] = {}
        for key, a in self.accounts.items():
            fc = a.lifting_fee_currency or a.currency
            self.lifting_fee_minor[key] = convert_for_reporting(
                to_minor(a.lifting_fee, fc), fc, a.currency, fx.rate(fc, a.currency))
        self.balance_minor: dict[tuple[str, str, str], int | None] = {}
        for key, a in self.accounts.items():
            if a.balance is None:
                self.balance_minor[key] = None
            else:
                bc = a.balance_currency or a.currency
                self.balance_minor[key] = convert_for_reporting(
                    to_minor(a.balance, bc), bc, a.currency, fx.rate(bc, a.currency))
        self._state = self._state_graph()
        self._routes: dict[tuple[Any, ...], Route] = {}

    # -- loading ---------------------------------------------------------------
    @classmethod
    def default(cls) -> BankNetwork:
        """The shipped default network (``sim/data/default_network.toml``)."""
        return cls.load(DEFAULT_NETWORK_PATH)

    @classmethod
    def load(cls, path: str | Path) -> BankNetwork:
        """Load and validate a network file; raise :class:`NetworkFileError` listing every problem.

        >>> import tempfile, os
        >>> with tempfile.NamedTemporaryFile("w", suffix=".toml", delete=False) as f:
        ...     _ = f.write('[fx]\\nas_of="2025"\\nsource="x"\\nrates={USD="1"}\\n'
        ...                 '[[banks]]\\nid="BADBANK1"\\n')
        >>> try:
        ...     BankNetwork.load(f.name)
        ... except NetworkFileError as e:
        ...     print(e.problems[0][:50])
        banks[0] (id 'BADBANK1') field 'name': Field requi
        >>> os.unlink(f.name)
        """
        path = Path(path)
        return cls.from_dict(read_toml(path, NetworkFileError), path=str(path))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: str = "<dict>") -> BankNetwork:
        """Validate a parsed network document (see :meth:`load`)."""
        problems: list[str] = []
        allowed = {"network", "sources", "fx", "profiles", "account_profiles", "banks",
                   "accounts"}
        for k in raw:
            if k not in allowed:
                problems.append(f"top-level table '{k}': unknown; fix: use one of "
                                f"{', '.join(sorted(allowed))}")
        meta = raw.get("network", {})
        profiles = raw.get("profiles", {})
        aprofiles = raw.get("account_profiles", {})

        fx: FxTable | None = None
        try:
            fxf = FxFile.model_validate(raw.get("fx", {}))
            fx = FxTable(fxf.base, fxf.rates, fxf.as_of, fxf.source)
        except ValidationError as exc:
            problems += [field_problem("fx", e, _FIXES) for e in exc.errors()]
        except MoneyError as exc:
            problems.append(f"fx: {exc}")

        banks: list[Bank] = []
        seen: dict[str, int] = {}
        for i, entry in enumerate(raw.get("banks", [])):
            label = f"banks[{i}] (id {entry.get('id')!r})"
            merged = _with_profile(entry, profiles, label, "profile", problems)
            if merged is None:
                continue
            data, origin = merged
            try:
                bank = Bank.model_validate(data)
            except ValidationError as exc:
                problems += [field_problem(label, e, _FIXES, origin) for e in exc.errors()]
                continue
            except (MoneyError, ValueError) as exc:
                problems.append(f"{label}: {exc}")
                continue
            if bank.id in seen:
                problems.append(f"{label}: duplicate bank id (also banks[{seen[bank.id]}]); "
                                "fix: give each bank a unique id")
                continue
            seen[bank.id] = i
            banks.append(bank)

        accounts: list[Account] = []
        keys: dict[tuple[str, str, str], int] = {}
        known = set(seen) | {e.get("id") for e in raw.get("banks", [])}
        for i, entry in enumerate(raw.get("accounts", [])):
            label = (f"accounts[{i}] ({entry.get('owner')} at {entry.get('servicer')}, "
                     f"{entry.get('currency')})")
            merged = _with_profile(entry, aprofiles, label, "account profile", problems)
            if merged is None:
                continue
            data, origin = merged
            try:
                acc = Account.model_validate(data)
            except ValidationError as exc:
                problems += [field_problem(label, e, _FIXES, origin) for e in exc.errors()]
                continue
            except (MoneyError, ValueError) as exc:
                problems.append(f"{label}: {exc}")
                continue
            bad = False
            for role in ("owner", "servicer"):
                bid = getattr(acc, role)
                if bid not in known:
                    problems.append(f"{label} field '{role}': no bank with id {bid!r}; fix: add "
                                    "the bank to [[banks]] or correct the id")
                    bad = True
            if acc.key in keys:
                problems.append(f"{label}: duplicate account (also accounts[{keys[acc.key]}]); "
                                "fix: keep one account per owner, servicer and currency")
                bad = True
            if not bad:
                keys[acc.key] = i
                accounts.append(acc)

        # currencies with no path: every bank must be able to move its home currency
        by_bank: dict[str, set[str]] = {b.id: set() for b in banks}
        for a in accounts:
            for bid in (a.owner, a.servicer):
                if bid in by_bank:
                    by_bank[bid].add(a.currency)
        for b in banks:
            usable = by_bank[b.id]
            if not usable:
                problems.append(f"banks[{seen[b.id]}] (id {b.id!r}): has no correspondent "
                                "account; fix: add an [[accounts]] entry with this bank as "
                                "owner or servicer")
            elif b.currency not in usable and not (usable & set(b.fx_currencies)):
                problems.append(
                    f"banks[{seen[b.id]}] (id {b.id!r}): home currency {b.currency} has no path "
                    f"(accounts only in {', '.join(sorted(usable))}, no conversion); fix: add an "
                    f"account in {b.currency} or list "
                    f"{sorted(usable)[0]} in fx_currencies (home currency is implied)")
            if fx is not None:
                for kind in ("sender_fee", "beneficiary_fee"):
                    for seg in SEGMENTS:
                        rc = getattr(getattr(b, kind), seg).currency
                        if rc is not None and rc not in fx:
                            problems.append(
                                f"banks[{seen[b.id]}] (id {b.id!r}) field '{kind}.{seg}.currency'"
                                f": {rc} has no FX mid rate; fix: add {rc} to [fx.rates]")
                for c in sorted({b.currency, *b.fx_currencies}):
                    if c not in fx:
                        problems.append(f"banks[{seen[b.id]}] (id {b.id!r}): currency {c} has "
                                        f"no FX mid rate; fix: add {c} to [fx.rates]")
        if fx is not None:
            for a in accounts:
                for c in sorted({a.currency, a.lifting_fee_currency or a.currency,
                                 a.balance_currency or a.currency}):
                    if c not in fx:
                        problems.append(f"accounts[{keys[a.key]}]: currency {c} has no FX "
                                        f"mid rate; fix: add {c} to [fx.rates]")
        for name, prof in list(profiles.items()) + list(aprofiles.items()):
            if not isinstance(prof, Mapping):
                problems.append(f"profile '{name}': must be a table")
        if not banks and not problems:
            problems.append("no [[banks]] entries; fix: add at least two banks")
        if problems:
            raise NetworkFileError(path, sorted(set(problems), key=problems.index))
        assert fx is not None
        return cls(banks, accounts, fx, name=str(meta.get("name", "")), path=path,
                   sources=raw.get("sources", {}), raw=raw)

    # -- queries ---------------------------------------------------------------
    def bank(self, bank_id: str) -> Bank:
        try:
            return self.banks[bank_id]
        except KeyError:
            raise RoutingError(f"no bank with id {bank_id!r} in network {self.name!r}") from None

    def banks_in(self, country: str) -> list[Bank]:
        """Banks of ``country``, in file order."""
        return [b for b in self.banks.values() if b.country == country]

    def calendar(self, bank_id: str) -> BusinessCalendar:
        return self.bank(bank_id).calendar

    def countries(self) -> set[str]:
        return {b.country for b in self.banks.values()}

    def time_zones(self) -> set[str]:
        return {b.timezone for b in self.banks.values()}

    # -- routing ---------------------------------------------------------------
    def _state_graph(self) -> nx.DiGraph:
        g = nx.DiGraph()
        for (owner, servicer, ccy), acc in self.accounts.items():
            g.add_edge((owner, ccy), (servicer, ccy), kind="leg", account=acc, debit=True)
            g.add_edge((servicer, ccy), (owner, ccy), kind="leg", account=acc, debit=False)
        for b in self.banks.values():
            ccys = sorted({b.currency, *b.fx_currencies})
            for c1 in ccys:
                for c2 in ccys:
                    if c1 != c2:
                        g.add_edge((b.id, c1), (b.id, c2), kind="fx", bank=b)
        return g

    def _weight(self, policy: str, segment: str, ref_usd: Decimal) -> Any:
        if policy == "fewest_hops":
            def w(u: Any, v: Any, d: Mapping[str, Any]) -> float:
                if d["kind"] == "leg":
                    return 1.0
                # conversions cost no hop; ties go to the tighter wholesale spread
                return 1e-4 * (1.0 + float(d["bank"].fx_spread_percent.wholesale))
            return w
        if policy == "cheapest":
            fx = self.fx

            def c(u: Any, v: Any, d: Mapping[str, Any]) -> float:
                if d["kind"] == "leg":
                    acc: Account = d["account"]
                    fee_usd = acc.lifting_fee * fx.rate(acc.lifting_fee_currency
                                                        or acc.currency, "USD")
                    return float(fee_usd) + 1e-3
                spread = getattr(d["bank"].fx_spread_percent, segment)
                return float(ref_usd * spread / 100) + 1e-4
            return c
        raise RoutingError(f"unknown routing policy {policy!r}; use 'fewest_hops' or 'cheapest'")

    def _path(self, src: tuple[str, str], dst_bank: str, dst_ccy: str | None,
              weight: Any, avoid: set[str]) -> tuple[list[tuple[str, str]], float]:
        g = self._state
        if avoid:
            g = nx.restricted_view(g, [n for n in g if n[0] in avoid and n != src], [])
        targets = [(dst_bank, dst_ccy)] if dst_ccy else [n for n in g if n[0] == dst_bank]
        best: tuple[list[tuple[str, str]], float] | None = None
        if src not in g:
            raise nx.NetworkXNoPath
        dist, paths = nx.single_source_dijkstra(g, src, weight=weight)
        for t in targets:
            if t in dist and (best is None or dist[t] < best[1]):
                best = (paths[t], dist[t])
        if best is None:
            raise nx.NetworkXNoPath
        return best

    def route(self, sender: str, beneficiary: str, currency_sent: str, currency_delivered: str,
              *, policy: str = "fewest_hops", via: str | None = None,
              segment: str = "retail", reference_amount_usd: Decimal = Decimal(1000)) -> Route:
        """Route a payment; raise :class:`RoutingError` with the reason if there is none.

        Parameters
        ----------
        sender, beneficiary : bank ids
        currency_sent, currency_delivered : ISO 4217 codes
        policy : ``"fewest_hops"`` (default) or ``"cheapest"`` (lifting fees + spread on
            ``reference_amount_usd`` for ``segment``)
        via : a bank the route must pass through as an intermediary
        """
        key = (sender, beneficiary, currency_sent, currency_delivered, policy, via, segment,
               reference_amount_usd if policy == "cheapest" else None)
        cached = self._routes.get(key)
        if cached is not None:
            return cached
        for bid in (sender, beneficiary) + ((via,) if via else ()):
            self.bank(bid)
        if sender == beneficiary:
            raise RoutingError(f"sender and beneficiary are the same bank {sender!r}")
        weight = self._weight(policy, segment, reference_amount_usd)
        src = (sender, currency_sent)
        try:
            if via is None:
                states, _ = self._path(src, beneficiary, currency_delivered, weight, set())
            else:
                if via in (sender, beneficiary):
                    raise RoutingError(f"via {via!r} must differ from sender and beneficiary")
                first, _ = self._path(src, via, None, weight, {beneficiary})
                used = {s[0] for s in first[:-1]}
                second, _ = self._path(first[-1], beneficiary, currency_delivered, weight,
                                       used)
                states = first + second[1:]
        except nx.NetworkXNoPath:
            reach = sorted({c for (b, c) in self._state if b == beneficiary})
            how = f" via {via}" if via else ""
            raise RoutingError(
                f"no correspondent path{how} from {sender} in {currency_sent} to {beneficiary} "
                f"in {currency_delivered} (the beneficiary bank deals in "
                f"{', '.join(reach) or 'nothing'})") from None
        r = self._build_route(states)
        self._routes[key] = r
        return r

    def _build_route(self, states: list[tuple[str, str]]) -> Route:
        banks: list[str] = [states[0][0]]
        legs: list[Leg] = []
        convs: list[Conversion] = []
        for a, b in zip(states, states[1:], strict=False):
            d = self._state.edges[a, b]
            if d["kind"] == "leg":
                legs.append(Leg(a[0], b[0], a[1], d["account"], d["debit"]))
                banks.append(b[0])
            else:
                convs.append(Conversion(len(banks) - 1, a[0], a[1], b[1]))
        if len(set(banks)) != len(banks):
            raise RoutingError(f"route {' -> '.join(banks)} visits a bank twice")
        return Route(tuple(banks), tuple(legs), tuple(convs))

    def summary(self) -> dict[str, Any]:
        """Counts of banks, countries, time zones and accounts (for reports)."""
        return {"banks": len(self.banks), "countries": len(self.countries()),
                "time_zones": len(self.time_zones()), "accounts": len(self.accounts),
                "currencies": sorted({a.currency for a in self.accounts.values()})}


def country_calendars(network: BankNetwork) -> dict[str, BusinessCalendar]:
    """A full-day business calendar per country (time zone of its first bank), for KPIs."""
    out: dict[str, BusinessCalendar] = {}
    for b in network.banks.values():
        if b.country not in out:
            out[b.country] = BusinessCalendar(b.timezone, b.country, opens="00:00",
                                              closes="24:00")
    return out
