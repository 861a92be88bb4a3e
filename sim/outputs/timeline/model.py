"""The model of a teaching timeline: one payment's steps on both rails, labelled.

A :class:`Timeline` is the two-rail view of one payment built from the steps
table: every step with where it happened, what it was (waits named for what they
are: cut-off, weekend, holiday, compliance review, nostro funding, mempool,
finality, on/off-ramp window), how long it took, what it cost and the local clock
of its place at start and end. :func:`from_results` builds one from a finished
run (or a run folder read by :func:`load_run`); renderers live beside this module
(:mod:`~sim.outputs.timeline.html`, :mod:`~sim.outputs.timeline.terminal`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from sim.errors import InputError
from sim.money import from_minor, minor_exponent

if TYPE_CHECKING:

    from sim.banking.network import BankNetwork
    from sim.onchain.spec import OnChainSpec
    from sim.results import Results

RAIL_ORDER: tuple[str, ...] = ("correspondent", "onchain")
RAIL_TITLES: dict[str, str] = {"correspondent": "Correspondent banking",
                               "onchain": "On-chain"}

#: Colour of each step category (chart bars, terminal bars).
CATEGORY_COLORS: dict[str, str] = {
    "closed": "#d62728",      # cut-off, weekend, holiday, ramp windows
    "review": "#9467bd",      # compliance review
    "liquidity": "#8c564b",   # nostro funding, FX inventory
    "chain": "#1f77b4",       # mempool, finality, blocks
    "ramp": "#17becf",        # on-/off-ramp wires
    "work": "#2ca02c",        # screening, processing, FX, transit, credit
    "failure": "#7f7f7f",     # returns and refunds
    "event": "#ff7f0e",       # stress events: a bank down, a freeze, a halt, a sanction
}
CATEGORY_NAMES: dict[str, str] = {
    "closed": "closed: cut-off / weekend / holiday / ramp window",
    "review": "compliance review",
    "liquidity": "liquidity: nostro funding / FX inventory",
    "chain": "chain: mempool / finality",
    "ramp": "on-/off-ramp",
    "work": "work: screening, processing, FX, transit, credit",
    "failure": "return / refund",
    "event": "stress event: outage / freeze / halt / sanction",
}
_TERM_COLORS: dict[str, str] = {
    "closed": "red", "review": "magenta", "liquidity": "yellow", "chain": "blue",
    "ramp": "cyan", "work": "green", "failure": "bright_black", "event": "dark_orange",
}


class TimelineError(InputError):
    """Wrong input for a timeline (corridor, bank, time, run directory, payment id)."""



# ---------------------------------------------------------------------------
# labels, durations, clocks
# ---------------------------------------------------------------------------
_CLOSED_PARTS = {"after cut-off": "cut-off", "after closing": "after hours",
                 "before opening": "before opening", "weekend": "weekend"}


def _closed_reasons(detail: str) -> str:
    parts = []
    for raw in detail.split(";"):
        p = raw.strip()
        if not p:
            continue
        p = _CLOSED_PARTS.get(p, p)
        if p not in parts:
            parts.append(p)
    return " + ".join(parts) or "closed"


_TX_NAMES = (("mint", "mint"), ("fund the", "fund FX leg"), ("provider funds", "PvP swap"),
             ("lock", "escrow lock"), ("beneficiary bank releases", "escrow release"),
             ("redeem", "redeem"), ("issuer burns", "burn"), ("refund", "escrow refund"))


def _tx_name(what: str) -> str:
    for prefix, name in _TX_NAMES:
        if what.startswith(prefix):
            return name
    return " ".join(what.split()[:3])


_EVENT_RE = re.compile(r"(?:event|congestion) \d+ \([^()]*\)")


def event_named(detail: str) -> str:
    """The label of the stress event a step's detail names (``''`` if none).

    >>> event_named("GCUSUS33 down: event 0 (bank_outage GCUSUS33, 2025-11-03 14:00Z, 6 h)")
    'event 0 (bank_outage GCUSUS33, 2025-11-03 14:00Z, 6 h)'
    """
    m = _EVENT_RE.search(detail or "")
    return m.group(0) if m else ""


def label_step(kind: str, place: str, detail: str = "") -> tuple[str, str, bool]:
    """What a step is, for a class: ``(label, category, is_wait)``.

    Waits are named for what they are, from the step kind and its detail.

    >>> label_step("cutoff_wait", "RBUSUS66", "after cut-off; weekend")
    ('cut-off + weekend', 'closed', True)
    >>> label_step("cutoff_wait", "PLMXMXMM", "holiday: Revolution Day")
    ('holiday: Revolution Day', 'closed', True)
    >>> label_step("cutoff_wait", "issuer:MXN", "off-ramp wire window: weekend")
    ('off-ramp window: weekend', 'closed', True)
    >>> label_step("screening", "PLMXMXMM", "manual review (0.9 business h): released")
    ('compliance review', 'review', True)
    >>> label_step("mempool", "ethereum-l1", "mint 1.00 USD as USDx: 55,621 gas")[:2]
    ('mempool (block): mint', 'chain')
    """
    detail = detail or ""
    if kind == "outage":
        what = "issuer frozen" if place.startswith("issuer:") else \
            "FX provider not quoting" if place == "fx_provider" else f"{place} down"
        ev = event_named(detail)
        return (f"{what}: {ev}" if ev else what), "event", True
    if kind == "frozen":
        ev = event_named(detail)
        return (f"funds frozen: {ev}" if ev else "funds frozen"), "event", True
    if kind == "mempool" and "delayed by" in detail:
        what = _tx_name(detail.split(":")[0].strip())
        return f"mempool (block): {what}, delayed by {event_named(detail)}", "event", True
    if kind == "cutoff_wait":
        if place.startswith("issuer:"):
            head, _, rest = detail.partition(":")
            side = "off-ramp" if head.strip().startswith("off") else "on-ramp"
            why = _closed_reasons(rest) if rest else "closed"
            return f"{side} window: {why}", "closed", True
        return _closed_reasons(detail), "closed", True
    if kind == "screening":
        if "review" in detail and "automated" not in detail:
            return "compliance review", "review", True
        return "screening", "work", False
    if kind == "nostro_wait":
        return "nostro funding", "liquidity", True
    if kind == "queue":
        return "queue", "work", True
    if kind == "mempool":
        what = _tx_name(detail.split(":")[0].strip())
        return (f"mempool (block): {what}" if what else "mempool (block)"), "chain", True
    if kind == "block":
        return "block", "chain", True
    if kind == "finality":
        return "finality", "chain", True
    if kind == "onramp":
        return "on-ramp (fiat to issuer)", "ramp", False
    if kind == "offramp":
        return "off-ramp (issuer pays out)", "ramp", False
    if kind == "fx":
        if "inventory" in detail or "replenish" in detail:
            return "FX liquidity wait", "liquidity", True
        return "FX conversion", "work", False
    if kind == "transit":
        return "message in transit", "work", False
    if kind == "processing":
        return "processing", "work", False
    if kind == "credit":
        return "credit to beneficiary", "work", False
    if kind == "return":
        return "return to sender", "failure", False
    if kind == "escrow":
        if detail.startswith("escrow fee"):
            return "escrow fee", "chain", False
        return "escrow refund", "failure", False
    return kind.replace("_", " "), "work", False


def format_duration(seconds: float) -> str:
    """A short human duration.

    >>> [format_duration(s) for s in (0.4, 42, 750, 3 * 3600 + 720, 2.6 * 86400)]
    ['0.4 s', '42 s', '12 min', '3 h 12 min', '2 d 14 h']
    """
    s = max(0.0, float(seconds))
    if s < 10:
        return f"{s:.1f} s"
    if s < 60:
        return f"{s:.0f} s"
    if s < 3600:
        return f"{s / 60:.0f} min"
    if s < 86400:
        h, m = divmod(int(round(s / 60)), 60)
        return f"{h} h {m:02d} min" if m else f"{h} h"
    d, h = divmod(int(round(s / 3600)), 24)
    return f"{d} d {h} h" if h else f"{d} d"


def format_money(minor: int, currency: str | None) -> str:
    """``'1,234.50 USD'`` from minor units; ``''`` for no cost.

    >>> format_money(123450, "USD"), format_money(0, "USD")
    ('1,234.50 USD', '')
    """
    if not minor or not currency:
        return ""
    exp = minor_exponent(currency)
    return f"{from_minor(int(minor), currency):,.{exp}f} {currency}"


@lru_cache(maxsize=64)
def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise TimelineError(f"unknown time zone {name!r}; use an IANA name such as "
                            "America/New_York") from None


def city(tz: str) -> str:
    """The city of an IANA zone name (``'America/Los_Angeles'`` -> ``'Los Angeles'``)."""
    return tz.rsplit("/", 1)[-1].replace("_", " ")


def local_clock(t: float, tz: str, *, with_date: bool = False) -> str:
    """``HH:MM ddd`` of POSIX instant ``t`` in ``tz`` (``with_date``: ``ddd DD Mon HH:MM``).

    >>> local_clock(1763760600.0, "America/New_York")
    '16:30 Fri'
    """
    d = datetime.fromtimestamp(t, _zone(tz))
    return d.strftime("%a %d %b %Y %H:%M") if with_date else d.strftime("%H:%M %a")


# ---------------------------------------------------------------------------
# the data
# ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class StepView:
    """One step of one rail, ready to draw (instants are POSIX seconds)."""

    rail: str
    seq: int
    kind: str
    place: str
    where: str
    timezone: str
    started_at: float
    ended_at: float
    elapsed_start: float
    elapsed_end: float
    cost: int
    cost_currency: str | None
    detail: str
    label: str
    category: str
    is_wait: bool
    city: str = ""       # the city of the place (a bank's own; else its zone's)
    event: str = ""      # the label of the stress event this step waited through, if any

    @property
    def place_city(self) -> str:
        """The city the step's local clock is read in."""
        return self.city or city(self.timezone)

    @property
    def duration_s(self) -> float:
        return self.ended_at - self.started_at

    @property
    def local_start(self) -> str:
        return local_clock(self.started_at, self.timezone)

    @property
    def local_end(self) -> str:
        return local_clock(self.ended_at, self.timezone)

    @property
    def cost_text(self) -> str:
        return format_money(self.cost, self.cost_currency)


@dataclass(frozen=True, slots=True)
class RailTimeline:
    """One rail's steps of the payment and its outcome."""

    rail: str
    steps: tuple[StepView, ...]
    status: str = "credited"
    credited_at: float | None = None
    fee_total_sent: int | None = None
    failure_reason: str | None = None

    @property
    def title(self) -> str:
        return RAIL_TITLES.get(self.rail, self.rail)

    @property
    def ended_at(self) -> float:
        ends = [s.ended_at for s in self.steps]
        return self.credited_at if self.credited_at is not None else max(ends, default=0.0)

    def waits(self) -> list[StepView]:
        return [s for s in self.steps if s.is_wait]


@dataclass(frozen=True, slots=True)
class Timeline:
    """One payment on both rails: what a class sees on the projector."""

    payment_id: str
    corridor: str
    sender_bank: str
    beneficiary_bank: str
    amount_sent: int
    currency_sent: str
    currency_delivered: str
    created_at: float
    sender_tz: str
    beneficiary_tz: str
    rails: tuple[RailTimeline, ...]
    chain: str = ""
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)
    sender_city: str = ""        # the banks' own cities (default: their zones' cities)
    beneficiary_city: str = ""
    #: the stress events that delayed a step of the payment (see :func:`mark_events`)
    events: tuple[EventMark, ...] = ()

    @property
    def sender_place(self) -> str:
        """The sending bank's city, e.g. ``'Mumbai'`` (its zone is Asia/Kolkata)."""
        return self.sender_city or city(self.sender_tz)

    @property
    def beneficiary_place(self) -> str:
        return self.beneficiary_city or city(self.beneficiary_tz)

    def rail(self, name: str) -> RailTimeline:
        for r in self.rails:
            if r.rail == name:
                return r
        raise KeyError(name)

    @property
    def span_s(self) -> float:
        """Seconds from creation to the last step's end on any rail."""
        ends = [s.elapsed_end for r in self.rails for s in r.steps]
        done = [r.credited_at - self.created_at for r in self.rails if r.credited_at]
        return max([1.0, *ends, *done])

    @property
    def title(self) -> str:
        return (f"{self.corridor}: {format_money(self.amount_sent, self.currency_sent)} -> "
                f"{self.currency_delivered}, sent "
                f"{local_clock(self.created_at, self.sender_tz, with_date=True)} "
                f"{self.sender_place}")

    def outcome(self, r: RailTimeline) -> str:
        """``'credited Tue 25 Nov 2025 09:12 Mexico City, after 2 d 17 h; fees 38.80 USD'``."""
        if r.status == "credited" and r.credited_at is not None:
            what = (f"credited {local_clock(r.credited_at, self.beneficiary_tz, with_date=True)}"
                    f" {self.beneficiary_place}, after "
                    f"{format_duration(r.credited_at - self.created_at)}")
        else:
            what = f"{r.status}" + (f" ({r.failure_reason})" if r.failure_reason else "")
        if r.fee_total_sent is not None:
            what += f"; fees {format_money(r.fee_total_sent, self.currency_sent) or '0'}"
        return what


@dataclass(frozen=True, slots=True)
class EventMark:
    """A stress event as a timeline shows it: its window and the steps it delayed."""

    index: int
    kind: str
    target: str
    label: str
    start: float
    end: float
    #: ``(rail, seq)`` of every step it delayed
    steps: tuple[tuple[str, int], ...]

    @property
    def title(self) -> str:
        """``'event 0: bank outage GCUSUS33'``."""
        return f"event {self.index}: {self.kind.replace('_', ' ')}" + (
            f" {self.target}" if self.target else "")


def mark_events(tl: Timeline, events: Sequence[Any] | Any) -> Timeline:
    """``tl`` with the stress events (:class:`~sim.events.Event` objects, or an
    :class:`~sim.events.EventSchedule`) that delayed its steps marked: a step is
    delayed by an event when it names the event (an ``outage`` or ``frozen`` step, a
    transaction held by a halt) or is a wait overlapping the event's window while the
    event strikes its place (its bank, chain or issuer). Marked steps carry the
    event's label (:attr:`StepView.event`); the timeline lists the events that
    delayed something (:attr:`Timeline.events`)."""
    evs = list(getattr(events, "events", events) or ())
    if not evs:
        return tl
    marks: dict[int, list[tuple[str, int]]] = {}
    rails = []
    for r in tl.rails:
        views = []
        for v in r.steps:
            hit = None
            named = event_named(v.detail)
            for e in evs:
                if named and named == e.label:
                    hit = e
                    break
                places = {e.target, f"issuer:{e.target}", f"bank:{e.target}"}
                if not named and v.is_wait and e.target and v.place in places and \
                        v.started_at < e.end and v.ended_at > e.start:
                    hit = e
                    break
            if hit is not None:
                marks.setdefault(hit.index, []).append((r.rail, v.seq))
                v = replace(v, event=hit.label)
            views.append(v)
        rails.append(replace(r, steps=tuple(views)))
    found = tuple(EventMark(e.index, e.kind, e.target, e.label, e.start, e.end,
                            tuple(marks[e.index])) for e in evs if e.index in marks)
    return replace(tl, rails=tuple(rails), events=found)


def place_timezone(place: str, network: BankNetwork | None,
                   spec: OnChainSpec | None) -> str:
    """Time zone of a step's place: banks from the network, issuers from the on-chain
    spec, everything on the chain (and unknown places) in UTC."""
    bank_id = place.removeprefix("bank:")
    if network is not None and bank_id in network.banks:
        return network.banks[bank_id].timezone
    if place.startswith("issuer:") and spec is not None:
        try:
            return spec.ramp(place.split(":", 1)[1]).timezone
        except Exception:  # noqa: BLE001 - an unknown currency is shown in UTC
            return "UTC"
    return "UTC"


def place_city(place: str, network: BankNetwork | None) -> str:
    """The city of a step's place: a bank's own ``city`` from the network file
    (``''`` for issuers, the chain and unknown places: their zone's city is shown)."""
    bank = network.banks.get(place) if network is not None else None
    return bank.city if bank is not None else ""


def place_label(place: str, tz: str, where: str = "") -> str:
    """Where a step happened, for people: ``'PLININBB (Mumbai)'``, ``'USD issuer (...)'``.

    ``where`` is the place's city (a bank's own, :func:`place_city`); without it,
    the city of the time zone ``tz``.

    >>> place_label("PLININBB", "Asia/Kolkata", "Mumbai"), place_label("X", "Asia/Tokyo")
    ('PLININBB (Mumbai)', 'X (Tokyo)')
    """
    if place.startswith("issuer:"):
        return f"{place.split(':', 1)[1]} issuer ({city(tz)})"
    if place.startswith("bank:"):
        return f"{place.split(':', 1)[1]} on-chain account"
    if place == "fx_provider":
        return "FX provider (on-chain)"
    if tz == "UTC":
        return f"{place} (chain)" if place else "?"
    return f"{place} ({where or city(tz)})"


def _ts(v: Any) -> float | None:
    if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, int | float):
        return float(v)
    t = pd.Timestamp(v)
    if pd.isna(t):
        return None
    if t.tzinfo is None:
        t = t.tz_localize("UTC")
    return t.value / 1e9


def _first_block(rs: pd.DataFrame) -> pd.DataFrame:
    """The rows of one run of a payment on a rail: pooled replications repeat the id
    with ``seq`` starting again at 0; keep the first run."""
    seq = rs["seq"].to_numpy()
    restart = [i for i in range(1, len(seq)) if seq[i] <= seq[i - 1]]
    return (rs.iloc[: restart[0]] if restart else rs).sort_values("seq")


#: Columns that tell the runs of a sweep apart (its tables repeat each payment id).
RUN_KEYS: tuple[str, ...] = ("grid_point", "replication")


def _one_run(payments: pd.DataFrame, st: pd.DataFrame, payment_id: str,
             chosen: dict[str, int | None]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The rows of ``payment_id`` in one run of a sweep: those of the grid point and
    replication ``chosen``, or of the only run the payment has; else refuse."""
    keys = [k for k in RUN_KEYS if k in st.columns]
    for k, v in chosen.items():
        if v is not None and k not in keys:
            raise TimelineError(f"--{k.replace('_', '-')} applies to a sweep's folder; "
                                f"these tables have no {k} column")
    if not keys:
        return payments, st
    for k in keys:
        v = chosen.get(k)
        if v is None:
            continue
        have = sorted({int(x) for x in st[k].dropna()})
        st = st[st[k] == v]
        if st.empty:
            raise TimelineError(f"payment {payment_id!r} has no run with --"
                                f"{k.replace('_', '-')} {v}; allowed: "
                                f"{', '.join(map(str, have))}")
    runs = sorted({tuple(int(x) for x in row) for row in st[keys].itertuples(index=False)})
    if len(runs) > 1:
        opts = " ".join(f"--{k.replace('_', '-')} N" for k in keys)
        shown = ", ".join("(" + ", ".join(f"{k} {v}" for k, v in zip(keys, r, strict=True))
                          + ")" for r in runs[:4]) + (" ..." if len(runs) > 4 else "")
        raise TimelineError(f"payment {payment_id!r} ran in {len(runs)} runs of this sweep "
                            f"({shown}); choose one with {opts}")
    pick = dict(zip(keys, runs[0], strict=True))
    st = st[(st[keys] == pd.Series(pick)).all(axis=1)]
    if len(payments) and all(k in payments.columns for k in keys):
        payments = payments[(payments[keys] == pd.Series(pick)).all(axis=1)]
    return payments, st


def from_results(results: Results | tuple[pd.DataFrame, pd.DataFrame], payment_id: str, *,
                 network: BankNetwork | None = None, spec: OnChainSpec | None = None,
                 chain: str = "", grid_point: int | None = None,
                 replication: int | None = None, events: Any = None) -> Timeline:
    """The timeline of ``payment_id`` from a run's payments and steps tables.

    ``results`` is a :class:`~sim.results.Results` or a ``(payments, steps)`` pair
    (``payments`` may be empty: the creation instant is then the first step's start).
    A sweep's tables (with ``grid_point`` and ``replication`` columns) repeat each
    payment id once per run: ``grid_point`` and ``replication`` pick one run, and
    may be left out when the payment is in only one; header and steps always come
    from the same run. ``events`` (the run's :class:`~sim.events.EventSchedule`) marks
    the steps they delayed (:func:`mark_events`).

    Raises
    ------
    TimelineError
        If the payment has no steps in the tables, is in several runs of a sweep and
        none was chosen, or its rows hold values a timeline cannot show.
    """
    if isinstance(results, tuple) and len(results) == 2 and all(
            isinstance(t, pd.DataFrame) for t in results):
        payments, steps = results
    elif isinstance(getattr(results, "steps", None), pd.DataFrame):
        payments, steps = results.payments, results.steps  # type: ignore[union-attr]
    else:
        raise TimelineError("results must be a run's Results or a (payments, steps) pair of "
                            f"DataFrames, not {type(results).__name__}")
    for col in ("payment_id", "rail", "seq"):
        if col not in steps.columns:
            raise TimelineError(f"the steps table has no {col!r} column; give a run's steps")
    for what, v in (("grid_point", grid_point), ("replication", replication)):
        if v is not None and (isinstance(v, bool) or not isinstance(v, int) or v < 0):
            raise TimelineError(f"{what} must be a whole number >= 0, not {v!r}")
    st = steps[steps["payment_id"] == payment_id]
    if st.empty:
        some = ", ".join(sorted(set(map(str, steps["payment_id"].unique())))[:3])
        raise TimelineError(f"payment {payment_id!r} not found in the steps table"
                            + (f" (ids look like {some})" if some else ""))
    payments, st = _one_run(payments, st, payment_id,
                            {"grid_point": grid_point, "replication": replication})
    try:
        return mark_events(_timeline(payments, st, payment_id, network, spec, chain),
                           events)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise TimelineError(f"payment {payment_id!r}: the run's tables hold values a "
                            f"timeline cannot show ({type(exc).__name__}: {exc}); run it "
                            "again") from None


def _timeline(payments: pd.DataFrame, st: pd.DataFrame, payment_id: str,
              network: BankNetwork | None, spec: OnChainSpec | None, chain: str) -> Timeline:
    pay = payments[payments["payment_id"] == payment_id] if len(payments) else payments
    prow = {str(r["rail"]): r for _, r in pay.iterrows()} if len(pay) else {}
    first = next(iter(prow.values()), None)
    starts = [_ts(v) for v in st["started_at"]]
    created = _ts(first["created_at"]) if first is not None else None
    created = created if created is not None else min(s for s in starts if s is not None)

    def bank_of(role: str) -> str:
        if first is not None:
            return str(first[role])
        return ""

    rails_present = [r for r in RAIL_ORDER if r in set(st["rail"])]
    rails_present += sorted(set(map(str, st["rail"])) - set(RAIL_ORDER))
    rails: list[RailTimeline] = []
    for rail in rails_present:
        rs = _first_block(st[st["rail"] == rail])
        views = []
        for _, s in rs.iterrows():
            place = str(s["place"])
            tz = place_timezone(place, network, spec)
            where = place_city(place, network)
            t0, t1 = _ts(s["started_at"]), _ts(s["ended_at"])
            if t0 is None or t1 is None:
                raise ValueError(f"step {s['seq']} on {rail} has no start or end")
            detail = "" if pd.isna(s["detail"]) else str(s["detail"])
            label, cat, wait = label_step(str(s["kind"]), place, detail)
            ccy = None if pd.isna(s["cost_currency"]) else str(s["cost_currency"])
            views.append(StepView(rail, int(s["seq"]), str(s["kind"]), place,
                                  place_label(place, tz, where), tz, t0, t1, t0 - created,
                                  t1 - created, int(s["cost"]), ccy, detail, label, cat, wait,
                                  where))
        p = prow.get(rail)
        if p is not None:
            fr = p["failure_reason"]
            rails.append(RailTimeline(rail, tuple(views), str(p["status"]),
                                      _ts(p["credited_at"]), int(p["fee_total_sent"]),
                                      None if fr is None or pd.isna(fr) else str(fr)))
        else:
            rails.append(RailTimeline(rail, tuple(views), "unknown", None, None))
    sender = bank_of("sender_bank")
    benef = bank_of("beneficiary_bank")
    if not sender:  # steps only: the first and last bank places
        banks = [s.place for r in rails for s in r.steps
                 if network is not None and s.place in network.banks]
        sender, benef = (banks[0], banks[-1]) if banks else ("?", "?")

    def tz_of(b: str) -> str:
        return network.banks[b].timezone if network is not None and b in network.banks else "UTC"

    if not chain:  # the chain profile is where the on-chain transactions waited
        chain = next((s.place for r in rails for s in r.steps
                      if s.kind in ("mempool", "finality", "block")), "")
    return Timeline(
        payment_id=payment_id,
        corridor=str(first["corridor"]) if first is not None else "",
        sender_bank=sender, beneficiary_bank=benef,
        amount_sent=int(first["amount_sent"]) if first is not None else 0,
        currency_sent=str(first["currency_sent"]) if first is not None else "",
        currency_delivered=str(first["currency_delivered"]) if first is not None else "",
        created_at=float(created), sender_tz=tz_of(sender), beneficiary_tz=tz_of(benef),
        rails=tuple(rails), chain=chain, sender_city=place_city(sender, network),
        beneficiary_city=place_city(benef, network))


#: The columns a timeline reads from a run's tables, and how each must parse.
_NEEDED: dict[str, dict[str, str]] = {
    "steps": {"payment_id": "text", "rail": "text", "seq": "number", "kind": "text",
              "place": "text", "started_at": "time", "ended_at": "time",
              "cost": "number", "cost_currency": "text", "detail": "text"},
    "payments": {"payment_id": "text", "rail": "text", "corridor": "text",
                 "sender_bank": "text", "beneficiary_bank": "text", "amount_sent": "number",
                 "currency_sent": "text", "currency_delivered": "text", "created_at": "time",
                 "credited_at": "time", "fee_total_sent": "number", "status": "text",
                 "failure_reason": "text"},
}
_READ_ERRORS: tuple[type[BaseException], ...] = (OSError, ValueError, TypeError, KeyError,
                                                 IndexError)


def _arrow_errors() -> tuple[type[BaseException], ...]:
    try:
        import pyarrow as pa
    except ImportError:  # pandas reads CSV without it
        return ()
    return (pa.ArrowException,)


def load_run(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(payments, steps)`` of a finished run's output directory (Parquet, else CSV).

    Raises
    ------
    TimelineError
        If the directory or its steps table is missing, or a table cannot be read,
        lacks a column a timeline needs, or holds a value of the wrong kind (one line
        naming the file).
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise TimelineError(f"run directory {str(d)!r} not found; give the --out "
                            "directory of a finished run")
    errors = _READ_ERRORS + _arrow_errors()

    def read(name: str, required: bool) -> pd.DataFrame:
        pq, csv = d / f"{name}.parquet", d / f"{name}.csv"
        src = pq if pq.exists() else csv if csv.exists() else None
        if src is None:
            if required:
                raise TimelineError(f"no {name}.parquet or {name}.csv in {str(d)!r}")
            return pd.DataFrame()
        try:
            df = pd.read_parquet(src) if src == pq else pd.read_csv(src)
        except errors as exc:
            why = " ".join(str(exc).split())[:120] or type(exc).__name__
            raise TimelineError(f"{src}: cannot be read as the {name} table of a run "
                                f"({why}); run it again") from None
        return _checked_table(df, name, src)

    return read("payments", False), read("steps", True)


def _checked_table(df: pd.DataFrame, name: str, src: Path) -> pd.DataFrame:
    """``df`` with its times as UTC timestamps and its numbers numeric, or a one-line
    :class:`TimelineError` naming the file and the column."""
    need = _NEEDED[name]
    missing = [c for c in need if c not in df.columns]
    if missing:
        raise TimelineError(f"{src}: not the {name} table of a run: no column(s) "
                            f"{', '.join(missing)}")
    df = df.copy()
    for col, kind in need.items():
        try:
            if kind == "time":
                df[col] = pd.to_datetime(df[col], utc=True, errors="raise")
            elif kind == "number":
                df[col] = pd.to_numeric(df[col], errors="raise")
        except (ValueError, TypeError, OverflowError) as exc:
            why = " ".join(str(exc).split())[:80]
            raise TimelineError(f"{src}: column {col!r} holds a value that is not a "
                                f"{'date-time' if kind == 'time' else 'number'} ({why})") \
                from None
    return df


def rail_kinds(tl: Timeline) -> dict[str, list[str]]:
    """``{rail: [kind, ...]}`` in step order (for checks and summaries)."""
    return {r.rail: [s.kind for s in r.steps] for r in tl.rails}


def iter_steps(tl: Timeline) -> Iterable[StepView]:
    for r in tl.rails:
        yield from r.steps
