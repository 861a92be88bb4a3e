"""Payments and the seeded workload that every rail replays.

A :class:`Payment` says nothing about the rail that carries it: who pays whom,
how much, in which currency, when, and who bears the charges. A
:class:`Workload` is a reproducible list of payments drawn from a
:class:`WorkloadSpec` (corridors, segments, arrival profile; a TOML file) with
one seeded :class:`numpy.random.Generator`.

Arrivals are a Poisson process per corridor and sender bank whose intensity
follows an hour-of-day and day-of-week profile **in the sender bank's local
time** (public holidays of the sender's country damped). Given a total count
``n_payments`` the process is drawn conditionally on that count (multinomial
split across corridors and banks, i.i.d. instants from the intensity), which is
exactly a Poisson process conditioned on its total; otherwise the total is
itself Poisson. Amounts are lognormal per segment.

Example
-------
>>> from sim.banking.network import BankNetwork
>>> wl = Workload.generate(seed=7, n_payments=5, network=BankNetwork.default())
>>> len(wl), wl[0].payment_id, wl == Workload.generate(seed=7, n_payments=5)
(5, 'P0000000', True)
"""

from __future__ import annotations

import math
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

import holidays
import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sim.banking.network import SEGMENTS, BankNetwork, ExactDecimal, RoutingError
from sim.calendar import _zone, to_timestamp, utc
from sim.errors import InputError, error_field, error_message, read_toml, whole_number
from sim.money import check_currency, convert_for_reporting, from_minor, minor_exponent, to_minor

__all__ = [
    "CHARGE_OPTIONS",
    "DEFAULT_WORKLOAD_PATH",
    "Payment",
    "Workload",
    "WorkloadFileError",
    "WorkloadSpec",
]

DEFAULT_WORKLOAD_PATH = Path(__file__).parents[1] / "data" / "default_workload.toml"
CHARGE_OPTIONS: tuple[str, ...] = ("OUR", "SHA", "BEN")


class WorkloadFileError(InputError):
    """A workload file with problems; ``problems`` lists each as 'entry: what; fix'."""

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path, self.problems = str(path), problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{self.path}: {len(problems)} problem(s) in the workload:\n{lines}")


@dataclass(frozen=True, slots=True)
class Payment:
    """One payment, independent of the rail that carries it.

    ``amount`` is the principal the sender instructs, in minor units of
    ``currency_sent``; ``created_at`` is POSIX seconds (UTC) when the customer
    instructs it. ``index`` is its position in the workload (used to derive its
    own random sub-stream on each rail).
    """

    payment_id: str
    index: int
    created_at: float
    corridor: str
    sender_bank: str
    beneficiary_bank: str
    amount: int
    currency_sent: str
    currency_delivered: str
    segment: Literal["retail", "sme", "wholesale"]
    charge_option: Literal["OUR", "SHA", "BEN"]

    @property
    def created_at_utc(self) -> datetime:
        return utc(self.created_at)

    def describe(self) -> str:
        return (f"{self.payment_id} {self.corridor} {self.segment} {self.charge_option} "
                f"{from_minor(self.amount, self.currency_sent)} {self.currency_sent} -> "
                f"{self.currency_delivered} {self.sender_bank}->{self.beneficiary_bank} "
                f"at {self.created_at_utc.isoformat()}")


# ---------------------------------------------------------------------------
# spec
# ---------------------------------------------------------------------------
class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SegmentSpec(_M):
    median_usd: ExactDecimal = Field(gt=0)
    sigma: float = Field(ge=0, le=4)
    min_usd: ExactDecimal = Field(gt=0)
    max_usd: ExactDecimal = Field(gt=0)
    round_to: ExactDecimal = Decimal(1)
    charges: dict[Literal["OUR", "SHA", "BEN"], float]
    sources: dict[str, str] = {}

    @model_validator(mode="after")
    def _check(self) -> SegmentSpec:
        if self.min_usd > self.max_usd:
            raise ValueError(f"min_usd {self.min_usd} is above max_usd {self.max_usd}")
        _weights(self.charges, "charges")
        return self


class ProfileSpec(_M):
    hour_weights: tuple[float, ...] = Field(min_length=24, max_length=24)
    dow_weights: tuple[float, ...] = Field(min_length=7, max_length=7)
    holiday_weight: float = Field(default=1.0, ge=0)
    sources: dict[str, str] = {}

    @model_validator(mode="after")
    def _check(self) -> ProfileSpec:
        if min(self.hour_weights) < 0 or min(self.dow_weights) < 0:
            raise ValueError("weights must be >= 0")
        if sum(self.hour_weights) <= 0 or sum(self.dow_weights) <= 0:
            raise ValueError("some hour and some weekday need a positive weight")
        return self


class CorridorSpec(_M):
    name: str = Field(pattern=r"^[A-Z]{2}-[A-Z]{2}$")
    currency_sent: str
    currency_delivered: str
    share: float = Field(ge=0)
    segments: dict[Literal["retail", "sme", "wholesale"], float]
    senders: dict[str, float]
    beneficiaries: dict[str, float]
    sources: dict[str, str] = {}

    @model_validator(mode="after")
    def _check(self) -> CorridorSpec:
        check_currency(self.currency_sent)
        check_currency(self.currency_delivered)
        for f in ("segments", "senders", "beneficiaries"):
            _weights(getattr(self, f), f)
        return self


class RunSpec(_M):
    start: datetime
    days: float = Field(gt=0)
    payments_per_day: float = Field(gt=0)
    sources: dict[str, str] = {}


def _weights(w: Mapping[Any, float], what: str) -> None:
    if any(v < 0 for v in w.values()):
        raise ValueError(f"{what}: weights must be >= 0")
    if sum(w.values()) <= 0:
        raise ValueError(f"{what}: give at least one positive weight")


class WorkloadSpec(_M):
    """Corridors, segments and the arrival profile (validated)."""

    workload: RunSpec
    profile: ProfileSpec
    segments: dict[Literal["retail", "sme", "wholesale"], SegmentSpec]
    corridors: tuple[CorridorSpec, ...] = Field(min_length=1)
    path: str = "<dict>"

    @model_validator(mode="after")
    def _check(self) -> WorkloadSpec:
        missing = [s for s in SEGMENTS if s not in self.segments]
        if missing:
            raise ValueError(f"segments: missing {', '.join(missing)}; define all of "
                             f"{', '.join(SEGMENTS)}")
        if self.workload.start.tzinfo is None:
            raise ValueError("workload.start needs a time zone, e.g. 2025-11-03T00:00:00Z")
        names = [c.name for c in self.corridors]
        if len(set(names)) != len(names):
            raise ValueError("corridors: each corridor name must appear once")
        if sum(c.share for c in self.corridors) <= 0:
            raise ValueError("corridors: every share is 0; give at least one corridor a "
                             "positive share")
        return self

    @classmethod
    def default(cls) -> WorkloadSpec:
        return cls.load(DEFAULT_WORKLOAD_PATH)

    @classmethod
    def load(cls, path: str | Path) -> WorkloadSpec:
        """Load a workload TOML file; raise :class:`WorkloadFileError` naming each problem."""
        path = Path(path)
        return cls.from_dict(read_toml(path, WorkloadFileError), str(path))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: str = "<dict>") -> WorkloadSpec:
        try:
            return cls.model_validate({**raw, "path": path})
        except ValidationError as exc:
            def corridor_name(j: int, i: int) -> str:
                """After ``corridors[i]`` (position 1 of the location): the entry's name."""
                if j != 1:
                    return ""
                try:
                    return f" (name {raw['corridors'][i].get('name')!r})"
                except (KeyError, IndexError, AttributeError, TypeError):
                    return ""

            probs = []
            for e in exc.errors():
                loc = tuple(e["loc"])
                named = corridor_name if loc[:1] == ("corridors",) else None
                probs.append(f"{error_field(loc, label=named) or 'file'}: {error_message(e)}")
            raise WorkloadFileError(path, probs) from None
        except ValueError as exc:
            raise WorkloadFileError(path, [str(exc)]) from None

    def check_against(self, network: BankNetwork) -> None:
        """Check every corridor against ``network``: banks exist, countries match, routable.

        Raises :class:`WorkloadFileError` listing every problem (nothing runs otherwise).
        """
        probs: list[str] = []
        for i, c in enumerate(self.corridors):
            label = f"corridors[{i}] (name {c.name!r})"
            sc, rc = c.name.split("-")
            for role, banks, country, _ccy in (("senders", c.senders, sc, c.currency_sent),
                                              ("beneficiaries", c.beneficiaries, rc,
                                               c.currency_delivered)):
                for bid in banks:
                    b = network.banks.get(bid)
                    if b is None:
                        probs.append(f"{label} field '{role}': no bank {bid!r} in network "
                                     f"{network.path}; fix: use a bank id of the network")
                    elif b.country != country:
                        probs.append(f"{label} field '{role}': bank {bid} is in {b.country}, "
                                     f"not {country}; fix: use a bank of {country}")
            if probs:
                continue
            for s in c.senders:
                for r in c.beneficiaries:
                    try:
                        network.route(s, r, c.currency_sent, c.currency_delivered)
                    except RoutingError as exc:
                        probs.append(f"{label}: {exc}; fix: add a correspondent account or "
                                     "drop the bank from the corridor")
            if c.currency_sent not in network.fx or c.currency_delivered not in network.fx:
                probs.append(f"{label}: no FX mid rate for its currencies in the network")
        if probs:
            raise WorkloadFileError(self.path, probs)


# ---------------------------------------------------------------------------
# workload
# ---------------------------------------------------------------------------
@lru_cache(maxsize=256)
def _hour_bins(tz: str, country: str, start: float, hours: int, hw: tuple[float, ...],
               dw: tuple[float, ...], holiday_weight: float) -> np.ndarray:
    """Intensity weight of each UTC hour of the horizon in the local time of ``tz``."""
    zone = _zone(tz)
    try:
        hol: Any = holidays.country_holidays(country)
    except NotImplementedError:
        hol = {}
    w = np.empty(hours)
    for h in range(hours):
        loc = datetime.fromtimestamp(start + 3600 * h + 1800, tz=zone)
        f = hw[loc.hour] * dw[loc.weekday()]
        if loc.date() in hol:
            f *= holiday_weight
        w[h] = f
    return w


class Workload(Sequence[Payment]):
    """A reproducible, time-ordered tuple of :class:`Payment` (a ``Sequence``).

    Build with :meth:`generate`, or from explicit payments (tests, scenarios).
    """

    def __init__(self, payments: Sequence[Payment], *, seed: int | None = None,
                 start: float | None = None, end: float | None = None,
                 spec: WorkloadSpec | None = None) -> None:
        self.payments: tuple[Payment, ...] = tuple(payments)
        for i, p in enumerate(self.payments):
            if p.index != i:
                raise InputError(f"payment {p.payment_id} has index {p.index}, expected {i}; "
                                 "indices must be 0..n-1 in order")
            if p.sender_bank == p.beneficiary_bank:
                raise InputError(_same_bank(p.payment_id, p.sender_bank))
        self.seed = seed
        self.start = start if start is not None else (
            self.payments[0].created_at if self.payments else 0.0)
        self.end = end if end is not None else (
            self.payments[-1].created_at if self.payments else self.start)
        self.spec = spec

    def __len__(self) -> int:
        return len(self.payments)

    def __getitem__(self, i: Any) -> Any:
        return self.payments[i]

    def __iter__(self) -> Iterator[Payment]:
        return iter(self.payments)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Workload) and self.payments == other.payments

    def __hash__(self) -> int:
        return hash(self.payments)

    def __repr__(self) -> str:
        return f"Workload({len(self)} payments, seed={self.seed})"

    def to_frame(self) -> Any:
        """The payments as a pandas DataFrame (one row per payment)."""
        import pandas as pd

        return pd.DataFrame([{f: getattr(p, f) for f in Payment.__slots__}  # type: ignore[attr-defined]
                             for p in self.payments])

    @classmethod
    def generate(cls, spec: WorkloadSpec | None = None, *, seed: int,
                 n_payments: int | None = None, network: BankNetwork | None = None,
                 start: datetime | None = None, days: float | None = None,
                 segments: Sequence[str] | None = None) -> Workload:
        """Draw a workload; same ``spec``, ``seed`` and arguments give the same payments.

        Parameters
        ----------
        spec : WorkloadSpec, default the shipped one
        seed : int, seeds one :class:`numpy.random.Generator` (``SeedSequence(seed)``)
        n_payments : exact count (Poisson process conditioned on its total); default:
            Poisson with mean ``payments_per_day * days``
        network : the network the corridors are checked against and whose FX mid rates
            convert amounts (default: the shipped network)
        start, days : override the horizon of the spec
        segments : keep only these segments (e.g. ``["retail"]``)
        """
        whole_number("seed", seed, 0)
        if spec is not None and not isinstance(spec, WorkloadSpec):
            raise InputError(f"spec must be a WorkloadSpec, not {spec!r}")
        if network is not None and not isinstance(network, BankNetwork):
            raise InputError(f"network must be a BankNetwork, not {network!r}")
        if n_payments is not None:
            whole_number("n_payments", n_payments, 0)
        if days is not None and (isinstance(days, bool) or not isinstance(days, int | float)
                                 or not 0 < days <= 366):
            raise InputError(f"days must be a number in (0, 366], not {days!r}")
        if start is not None and (not isinstance(start, datetime) or start.tzinfo is None):
            raise InputError(f"start must be an aware datetime, not {start!r}")
        if segments is not None:
            unknown = [s for s in segments if s not in SEGMENTS]
            if isinstance(segments, str) or unknown or not segments:
                raise InputError(f"segments must be a non-empty list of {', '.join(SEGMENTS)}, "
                                 f"not {segments!r}")
        spec = spec or WorkloadSpec.default()
        network = network or BankNetwork.default()
        spec.check_against(network)
        rng = np.random.default_rng(np.random.SeedSequence(seed))
        t0 = to_timestamp(start or spec.workload.start)
        ndays = days if days is not None else spec.workload.days
        hours = max(1, int(math.ceil(ndays * 24)))
        if n_payments is None:
            n_payments = int(rng.poisson(spec.workload.payments_per_day * ndays))
        cors = spec.corridors
        shares = np.array([c.share for c in cors], dtype=float)
        counts = rng.multinomial(n_payments, shares / shares.sum())
        prof = spec.profile
        rows: list[tuple[float, int, int, str, str, int, str, str]] = []
        for ci, (c, nc) in enumerate(zip(cors, counts, strict=True)):
            if nc == 0:
                continue
            sids = list(c.senders)
            sw = np.array([c.senders[s] for s in sids])
            per_sender = rng.multinomial(nc, sw / sw.sum())
            bids = list(c.beneficiaries)
            bw = np.array([c.beneficiaries[b] for b in bids])
            segs = [s for s in SEGMENTS if (segments is None or s in segments)]
            segw = np.array([c.segments.get(s, 0.0) for s in segs])  # type: ignore[call-overload]
            if segw.sum() <= 0:
                continue
            for sid, ns in zip(sids, per_sender, strict=True):
                if ns == 0:
                    continue
                bank = network.banks[sid]
                w = _hour_bins(bank.timezone, bank.country, t0, hours, prof.hour_weights,
                               prof.dow_weights, prof.holiday_weight)
                h = rng.choice(hours, size=ns, p=w / w.sum())
                t = t0 + 3600.0 * h + rng.random(ns) * 3600.0
                t = np.minimum(t, t0 + ndays * 86400.0 - 1e-3)
                bsel = rng.choice(len(bids), size=ns, p=bw / bw.sum())
                ssel = rng.choice(len(segs), size=ns, p=segw / segw.sum())
                z = rng.standard_normal(ns)
                u = rng.random(ns)
                for k in range(ns):
                    seg = segs[ssel[k]]
                    sspec = spec.segments[seg]  # type: ignore[index]
                    amount = _amount(sspec, float(z[k]), c.currency_sent, network)
                    rows.append((round(float(t[k]), 6), ci, len(rows), sid, bids[bsel[k]],
                                 amount, seg, _charge(sspec, float(u[k]))))
        rows.sort(key=lambda r: (r[0], r[1], r[2]))
        payments = [
            Payment(payment_id=f"P{i:07d}", index=i, created_at=r[0], corridor=cors[r[1]].name,
                    sender_bank=r[3], beneficiary_bank=r[4], amount=r[5],
                    currency_sent=cors[r[1]].currency_sent,
                    currency_delivered=cors[r[1]].currency_delivered,
                    segment=r[6], charge_option=r[7])  # type: ignore[arg-type]
            for i, r in enumerate(rows)
        ]
        return cls(payments, seed=seed, start=t0, end=t0 + ndays * 86400.0, spec=spec)


def _amount(s: SegmentSpec, z: float, currency: str, network: BankNetwork) -> int:
    usd = float(s.median_usd) * math.exp(s.sigma * z)
    usd = min(max(usd, float(s.min_usd)), float(s.max_usd))
    cents = int(round(usd * 100))
    minor = convert_for_reporting(cents, "USD", currency, network.fx.rate("USD", currency))
    step = to_minor(s.round_to, currency) if s.round_to >= Decimal(1).scaleb(
        -minor_exponent(currency)) else 1
    step = max(step, 1)
    return max(step, (minor + step // 2) // step * step)


def _charge(s: SegmentSpec, u: float) -> str:
    opts = [o for o in CHARGE_OPTIONS if s.charges.get(o, 0) > 0]  # type: ignore[call-overload]
    w = np.array([s.charges[o] for o in opts])  # type: ignore[index]
    cum = np.cumsum(w / w.sum())
    return opts[min(int(np.searchsorted(cum, u, side="right")), len(opts) - 1)]


def _same_bank(payment_id: str, bank_id: str) -> str:
    return (f"payment {payment_id}: sender and beneficiary are the same bank {bank_id!r}; "
            "a transfer within one bank is a book entry, not a cross-border payment: "
            "use two different banks")


def make_payment(index: int, created_at: datetime | float, sender_bank: str,
                 beneficiary_bank: str, amount: str | int | Decimal, currency_sent: str,
                 currency_delivered: str, *, network: BankNetwork, segment: str = "retail",
                 charge_option: str = "SHA", payment_id: str | None = None) -> Payment:
    """Build one :class:`Payment` by hand (``amount`` in major units); for tests and studies.

    Raises :class:`~sim.errors.InputError` for an unknown bank, segment or charge
    option, and for a payment from a bank to itself (an on-us book transfer, which
    neither rail models; :class:`Workload` refuses one too).

    >>> from sim.banking.network import BankNetwork
    >>> p = make_payment(0, 1.7e9, "RBUSUS44", "PLMXMXMM", "200", "USD", "MXN",
    ...                  network=BankNetwork.default())
    >>> p.amount, p.corridor
    (20000, 'US-MX')
    """
    t = created_at if isinstance(created_at, float | int) else to_timestamp(created_at)
    if isinstance(t, bool) or not math.isfinite(t) or t < 0:
        raise InputError(f"created_at must be an instant from 1970 on, not {created_at!r}")
    sc, rc = network.bank(sender_bank).country, network.bank(beneficiary_bank).country
    if sender_bank == beneficiary_bank:
        raise InputError(_same_bank(payment_id or f"P{index:07d}", sender_bank))
    if segment not in SEGMENTS:
        raise InputError(f"segment {segment!r}: use one of {', '.join(SEGMENTS)}")
    if charge_option not in CHARGE_OPTIONS:
        raise InputError(f"charge_option {charge_option!r}: use OUR, SHA or BEN")
    minor = to_minor(amount, currency_sent)
    if minor <= 0:
        raise InputError(f"amount must be positive, not {amount!r}")
    return Payment(payment_id or f"P{index:07d}", index, float(t), f"{sc}-{rc}", sender_bank,
                   beneficiary_bank, minor, check_currency(currency_sent),
                   check_currency(currency_delivered), segment,  # type: ignore[arg-type]
                   charge_option)  # type: ignore[arg-type]


def arrivals(env: Any, payments: Sequence[Payment],
             start: Callable[[Payment], Any]) -> Generator[Any, Any, None]:
    """A SimPy process body that starts ``start(p)`` as a process at each ``p.created_at``.

    Every rail releases a workload this way, so a payment enters each rail at the
    same instant.
    """
    for p in payments:
        if p.created_at > env.now:
            yield env.timeout(p.created_at - env.now)
        env.process(start(p))
