"""Teaching timelines: one payment's journey on both rails, step by step.

A :class:`Timeline` is the two-rail view of one payment built from the steps
table (``DESIGN.md``): every step with where it happened, what it was (waits
named for what they are: cut-off, weekend, holiday, compliance review, nostro
funding, mempool, finality, on/off-ramp window), how long it took, what it cost
and the local clock of its place at start and end. Renderers:

* :func:`to_html` / :func:`write_html`: one self-contained HTML page (Plotly with
  its JavaScript inlined, no network needed) with the two rails one above the
  other on a shared time axis, a linear/log switch, hover and click details, and
  a steps table;
* :func:`render_terminal`: ``rich`` tables with a proportional bar per step;
* :func:`play`: the same, replayed step by step for live demos.

Build one with :func:`simulate` (send one payment down both rails) or
:func:`from_results` (a payment of a finished run).

Example
-------
>>> from datetime import datetime
>>> from zoneinfo import ZoneInfo
>>> tl = simulate("US-MX", datetime(2025, 11, 21, 16, 30, tzinfo=ZoneInfo("America/New_York")))
>>> [r.rail for r in tl.rails], tl.sender_bank, tl.beneficiary_bank
(['correspondent', 'onchain'], 'RBUSUS66', 'PLMXMXMM')
>>> [s.label for s in tl.rail("onchain").steps if s.is_wait][-1]
'off-ramp window: cut-off + weekend'
"""

from __future__ import annotations

import html
import json
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from sim.errors import InputError
from sim.money import from_minor, minor_exponent

if TYPE_CHECKING:
    from rich.console import Console, RenderableType

    from sim.network import BankNetwork
    from sim.onchain_spec import OnChainSpec
    from sim.results import Results
    from sim.workload import WorkloadSpec

__all__ = [
    "RAIL_TITLES",
    "RailTimeline",
    "StepView",
    "Timeline",
    "TimelineError",
    "choose_banks",
    "city",
    "figure",
    "format_duration",
    "format_money",
    "from_results",
    "iter_steps",
    "label_step",
    "load_run",
    "local_clock",
    "parse_local_time",
    "place_label",
    "place_timezone",
    "play",
    "rail_kinds",
    "render_terminal",
    "scenario_settings",
    "simulate",
    "to_html",
    "write_html",
    "write_page",
]

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
}
CATEGORY_NAMES: dict[str, str] = {
    "closed": "closed: cut-off / weekend / holiday / ramp window",
    "review": "compliance review",
    "liquidity": "liquidity: nostro funding / FX inventory",
    "chain": "chain: mempool / finality",
    "ramp": "on-/off-ramp",
    "work": "work: screening, processing, FX, transit, credit",
    "failure": "return / refund",
}
_TERM_COLORS: dict[str, str] = {
    "closed": "red", "review": "magenta", "liquidity": "yellow", "chain": "blue",
    "ramp": "cyan", "work": "green", "failure": "bright_black",
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
                f"{city(self.sender_tz)}")

    def outcome(self, r: RailTimeline) -> str:
        """``'credited Tue 25 Nov 2025 09:12 Mexico City, after 2 d 17 h; fees 38.80 USD'``."""
        if r.status == "credited" and r.credited_at is not None:
            what = (f"credited {local_clock(r.credited_at, self.beneficiary_tz, with_date=True)}"
                    f" {city(self.beneficiary_tz)}, after "
                    f"{format_duration(r.credited_at - self.created_at)}")
        else:
            what = f"{r.status}" + (f" ({r.failure_reason})" if r.failure_reason else "")
        if r.fee_total_sent is not None:
            what += f"; fees {format_money(r.fee_total_sent, self.currency_sent) or '0'}"
        return what


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


def place_label(place: str, tz: str) -> str:
    """Where a step happened, for people: ``'RBUSUS66 (Los Angeles)'``, ``'USD issuer (...)'``."""
    if place.startswith("issuer:"):
        return f"{place.split(':', 1)[1]} issuer ({city(tz)})"
    if place.startswith("bank:"):
        return f"{place.split(':', 1)[1]} on-chain account"
    if place == "fx_provider":
        return "FX provider (on-chain)"
    if tz == "UTC":
        return f"{place} (chain)" if place else "?"
    return f"{place} ({city(tz)})"


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


def from_results(results: Results | tuple[pd.DataFrame, pd.DataFrame], payment_id: str, *,
                 network: BankNetwork | None = None, spec: OnChainSpec | None = None,
                 chain: str = "") -> Timeline:
    """The timeline of ``payment_id`` from a run's payments and steps tables.

    ``results`` is a :class:`~sim.results.Results` or a ``(payments, steps)`` pair
    (``payments`` may be empty: the creation instant is then the first step's start).

    Raises
    ------
    TimelineError
        If the payment has no steps in the tables.
    """
    if isinstance(results, tuple):
        payments, steps = results
    else:
        payments, steps = results.payments, results.steps
    st = steps[steps["payment_id"] == payment_id]
    if st.empty:
        some = ", ".join(sorted(set(map(str, steps["payment_id"].unique())))[:3])
        raise TimelineError(f"payment {payment_id!r} not found in the steps table"
                            + (f" (ids look like {some})" if some else ""))
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
            t0, t1 = _ts(s["started_at"]), _ts(s["ended_at"])
            assert t0 is not None and t1 is not None
            detail = "" if pd.isna(s["detail"]) else str(s["detail"])
            label, cat, wait = label_step(str(s["kind"]), place, detail)
            ccy = None if pd.isna(s["cost_currency"]) else str(s["cost_currency"])
            views.append(StepView(rail, int(s["seq"]), str(s["kind"]), place,
                                  place_label(place, tz), tz, t0, t1, t0 - created,
                                  t1 - created, int(s["cost"]), ccy, detail, label, cat, wait))
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
        rails=tuple(rails), chain=chain)


# ---------------------------------------------------------------------------
# building a payment and running it
# ---------------------------------------------------------------------------
def parse_local_time(text: str, tz: str) -> datetime:
    """``'2026-11-27 16:30'`` in zone ``tz`` (an explicit offset in ``text`` wins).

    >>> parse_local_time("2025-11-21 16:30", "America/New_York").isoformat()
    '2025-11-21T16:30:00-05:00'
    """
    zone = _zone(tz)
    try:
        d = datetime.fromisoformat(text.strip())
    except ValueError:
        raise TimelineError(f"bad date/time {text!r}; write it as 'YYYY-MM-DD HH:MM', "
                            "e.g. '2026-11-27 16:30'") from None
    return d if d.tzinfo is not None else d.replace(tzinfo=zone)


def _top(weights: Mapping[str, float]) -> str:
    """Heaviest weight, ties to the first listed (deterministic)."""
    best = max(weights.values())
    return next(k for k, w in weights.items() if w == best)


def choose_banks(corridor: str | None, network: BankNetwork,
                 workload_spec: WorkloadSpec | None = None, *, sender: str | None = None,
                 beneficiary: str | None = None) -> tuple[str, str, str | None]:
    """``(sender, beneficiary, currency_delivered or None)`` for a corridor like ``US-MX``.

    The corridor's most-weighted sender and beneficiary banks in the workload
    spec (ties to the first listed); for a corridor the spec lacks, the first
    bank of each country in the network. ``sender``/``beneficiary`` override.

    >>> from sim.network import BankNetwork
    >>> choose_banks("US-MX", BankNetwork.default())
    ('RBUSUS66', 'PLMXMXMM', 'MXN')
    """
    if workload_spec is None:
        from sim.workload import WorkloadSpec

        workload_spec = WorkloadSpec.default()
    for bid in (sender, beneficiary):
        if bid is not None and bid not in network.banks:
            raise TimelineError(f"unknown bank {bid!r}; banks of the network: "
                                f"{', '.join(sorted(network.banks))}")
    if corridor is None:
        if sender is None or beneficiary is None:
            raise TimelineError("give --corridor (e.g. US-MX) or both --sender and "
                                "--beneficiary")
        corridor = f"{network.banks[sender].country}-{network.banks[beneficiary].country}"
    corridor = corridor.strip().upper()
    parts = corridor.split("-")
    if len(parts) != 2 or not all(len(p) == 2 and p.isalpha() for p in parts):
        raise TimelineError(f"corridor {corridor!r}: write it as two country codes, e.g. US-MX")
    sc, rc = parts
    spec_c = next((c for c in workload_spec.corridors if c.name == corridor), None)
    known = ", ".join(c.name for c in workload_spec.corridors)
    if spec_c is not None:
        s = sender or _top(spec_c.senders)
        b = beneficiary or _top(spec_c.beneficiaries)
        ccy: str | None = spec_c.currency_delivered
    else:
        ss, bs = network.banks_in(sc), network.banks_in(rc)
        if (sender is None and not ss) or (beneficiary is None and not bs):
            raise TimelineError(f"unknown corridor {corridor!r}: no bank in "
                                f"{sc if not ss else rc}; corridors: {known}")
        s = sender or ss[0].id
        b = beneficiary or bs[0].id
        ccy = None
    for bid, country, role in ((s, sc, "sender"), (b, rc, "beneficiary")):
        if network.banks[bid].country != country:
            raise TimelineError(f"{role} bank {bid} is in {network.banks[bid].country}, "
                                f"not {country} (corridor {corridor})")
    return s, b, ccy


def _segment(amount: Decimal, currency: str, network: BankNetwork,
             workload_spec: WorkloadSpec) -> str:
    try:
        usd = float(amount) * float(network.fx.rate(currency, "USD"))
    except Exception:  # noqa: BLE001 - no rate: treat as retail
        return "retail"
    segs = workload_spec.segments
    if usd <= float(segs["retail"].max_usd):
        return "retail"
    if usd < float(segs["wholesale"].min_usd):
        return "sme"
    return "wholesale"


def simulate(corridor: str | None, at: datetime | float, *, amount: str | Decimal = "1000",
             currency: str | None = None, sender: str | None = None,
             beneficiary: str | None = None, seed: int = 1, segment: str | None = None,
             charge_option: str = "SHA", network: BankNetwork | None = None,
             spec: OnChainSpec | None = None, workload_spec: WorkloadSpec | None = None,
             chain: Any = None, congestion: Sequence[Any] = (),
             rails: Sequence[str] = RAIL_ORDER, policy: str = "fewest_hops",
             via: str | None = None, payment_id: str = "P0000000") -> Timeline:
    """Send one payment down both rails and return its :class:`Timeline`.

    ``at`` is an aware datetime (or POSIX seconds); ``amount`` is in major units
    of ``currency`` (default: the sender bank's home currency); the segment
    follows from the amount unless given. The on-chain rail uses the measured
    gas table (``ledger="table"``); ``chain`` is a profile or its name (default:
    the spec's). ``network``, ``spec``, ``workload_spec``, ``congestion``,
    ``policy`` and ``via`` default to the shipped settings (a scenario's, see
    :func:`scenario_settings`).

    >>> tl = simulate("US-MX", 1763760600.0, amount="250")
    >>> tl.corridor, tl.amount_sent, [len(r.steps) > 3 for r in tl.rails]
    ('US-MX', 25000, [True, True])
    """
    from sim import correspondent, onchain
    from sim.network import BankNetwork
    from sim.onchain_spec import OnChainSpec
    from sim.results import Results
    from sim.workload import Workload, WorkloadSpec, make_payment

    network = network or BankNetwork.default()
    spec = spec or OnChainSpec.default()
    workload_spec = workload_spec or WorkloadSpec.default()
    s, b, ccy_d = choose_banks(corridor, network, workload_spec, sender=sender,
                               beneficiary=beneficiary)
    ccy_s = (currency or network.banks[s].currency).upper()
    ccy_d = ccy_d or network.banks[b].currency
    try:
        amt = Decimal(str(amount))
    except ArithmeticError:
        raise TimelineError(f"bad amount {amount!r}; give a number such as 1000") from None
    if not amt.is_finite() or amt <= 0:
        raise TimelineError(f"amount must be positive, not {amount!r}")
    seg = segment or _segment(amt, ccy_s, network, workload_spec)
    p = make_payment(0, at, s, b, amt, ccy_s, ccy_d, network=network, segment=seg,
                     charge_option=charge_option, payment_id=payment_id)
    wl = Workload([p], seed=seed)
    parts = []
    if "correspondent" in rails:
        parts.append(correspondent.run(network, wl, seed=seed, policy=policy, via=via))
    if "onchain" in rails:
        parts.append(onchain.run(network, wl, seed=seed, spec=spec, chain=chain,
                                 ledger="table", congestion=tuple(congestion)))
    if not parts:
        raise TimelineError(f"no rail to run among {list(rails)}; use correspondent, onchain")
    name = chain if isinstance(chain, str) else getattr(chain, "name", None)
    tl = from_results(Results.concat(parts), p.payment_id, network=network, spec=spec,
                      chain=(name or spec.chain) if "onchain" in rails else "")
    return replace(tl, amount_sent=p.amount)


def scenario_settings(name_or_path: str) -> dict[str, Any]:
    """Keyword arguments of :func:`simulate` for a scenario (file or shipped name):
    its network, on-chain settings, workload corridors, chain profile, gas spikes,
    routing, rails and seed.

    >>> sorted(scenario_settings("baseline"))[:4]
    ['chain', 'congestion', 'network', 'policy']
    """
    from sim.experiment import build_components
    from sim.scenario import load_scenario

    sc = load_scenario(name_or_path)
    comp = build_components(sc)
    return {"network": comp.network, "spec": comp.onchain_spec,
            "workload_spec": comp.workload_spec, "chain": comp.chain,
            "congestion": comp.congestion, "policy": sc.correspondent.policy,
            "via": sc.correspondent.via, "rails": tuple(sc.rails), "seed": sc.seed}


def load_run(run_dir: str | Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """``(payments, steps)`` of a finished run's output directory (Parquet, else CSV).

    Raises
    ------
    TimelineError
        If the directory or its steps table is missing.
    """
    d = Path(run_dir)
    if not d.is_dir():
        raise TimelineError(f"run directory {str(d)!r} not found; give the --out "
                            "directory of a finished run")

    def read(name: str, required: bool) -> pd.DataFrame:
        pq, csv = d / f"{name}.parquet", d / f"{name}.csv"
        if pq.exists():
            return pd.read_parquet(pq)
        if csv.exists():
            return pd.read_csv(csv, parse_dates=[c for c in ("started_at", "ended_at",
                                                            "created_at", "credited_at")
                                                 if c in _csv_columns(csv)])
        if required:
            raise TimelineError(f"no {name}.parquet or {name}.csv in {str(d)!r}")
        return pd.DataFrame()

    return read("payments", False), read("steps", True)


def _csv_columns(csv: Path) -> list[str]:
    with csv.open(encoding="utf-8") as fh:
        return fh.readline().strip().split(",")


# ---------------------------------------------------------------------------
# HTML (Plotly, inlined)
# ---------------------------------------------------------------------------
_LOG_TICKS = [(1, "1 s"), (10, "10 s"), (60, "1 min"), (600, "10 min"), (3600, "1 h"),
              (6 * 3600, "6 h"), (86400, "1 day"), (3 * 86400, "3 days"),
              (7 * 86400, "1 week"), (30 * 86400, "30 days")]


def _hover(tl: Timeline, s: StepView) -> str:
    e = html.escape
    lines = [f"<b>{e(RAIL_TITLES.get(s.rail, s.rail))} · step {s.seq}: {e(s.label)}</b>",
             f"where: {e(s.where)}",
             f"local clock: {e(s.local_start)} → {e(s.local_end)} ({e(city(s.timezone))})",
             f"took: {format_duration(s.duration_s)}"
             f" (from +{format_duration(s.elapsed_start)} to +{format_duration(s.elapsed_end)})",
             f"cost: {e(s.cost_text) or 'none'}",
             f"kind: {e(s.kind)}"]
    if s.detail:
        det = s.detail if len(s.detail) <= 90 else s.detail[:87] + "..."
        lines.append(f"detail: {e(det)}")
    return "<br>".join(lines)


def _iso(t: float) -> str:
    return datetime.fromtimestamp(t, _zone("UTC")).strftime("%Y-%m-%d %H:%M:%S.%f")


#: The chart's views (buttons): clock time, log of elapsed time, each step in order.
VIEWS: tuple[str, ...] = ("linear", "log", "steps")


def _step_width(seconds: float) -> float:
    """Width of a step in the "each step" view: grows with the log of its duration."""
    return 0.3 + math.log10(1.0 + max(0.0, seconds))


def figure(tl: Timeline) -> Any:
    """The Plotly figure: both rails one above the other on a shared time axis, with
    three views (buttons): clock time (linear), elapsed time (log), each step in order
    (width growing with the log of its duration)."""
    import plotly.graph_objects as go

    fig = go.Figure()
    rows = [RAIL_TITLES.get(r.rail, r.rail) for r in tl.rails]
    lo = 0.5
    for view in VIEWS:
        for r, row in zip(tl.rails, rows, strict=True):
            steps = r.steps
            if view == "linear":
                base: list[Any] = [_iso(s.started_at) for s in steps]
                x = [max(0.0, s.duration_s) * 1000.0 for s in steps]
            elif view == "log":
                base = [max(s.elapsed_start, lo) for s in steps]
                x = [max(s.elapsed_end, lo) - b for s, b in zip(steps, base, strict=True)]
            else:  # each step in order, its width growing with the log of its duration
                x = [_step_width(s.duration_s) for s in steps]
                base = [sum(x[:i]) for i in range(len(x))]
            fig.add_trace(go.Bar(
                name=f"{row}", legendgroup=r.rail, showlegend=False,
                orientation="h", y=[row] * len(steps), base=base, x=x,
                marker={"color": [CATEGORY_COLORS[s.category] for s in steps],
                        "line": {"color": "white", "width": 1}},
                text=[s.label if view == "steps" or (s.is_wait and s.category != "chain")
                      else "" for s in steps],
                textposition="inside", insidetextanchor="middle", textangle=0,
                textfont={"color": "white", "size": 18},
                hovertext=[_hover(tl, s) for s in steps], hoverinfo="text",
                customdata=[[r.rail, s.seq] for s in steps],
                meta=r.rail, visible=(view == "linear"), width=0.5,
                uid=f"{r.rail}-{view}"))
    used = {s.category for r in tl.rails for s in r.steps}
    for cat, color in CATEGORY_COLORS.items():
        if cat in used:
            fig.add_trace(go.Scatter(x=[None], y=[None], mode="markers", name=CATEGORY_NAMES[cat],
                                     marker={"color": color, "size": 16, "symbol": "square"},
                                     hoverinfo="skip", showlegend=True))
    n_key = len(fig.data) - len(VIEWS) * len(tl.rails)

    def visible(view: str) -> list[bool]:
        return [v == view for v in VIEWS for _ in tl.rails] + [True] * n_key

    span = tl.span_s
    rows_of = dict(zip((r.rail for r in tl.rails), rows, strict=True))

    def frac(t: float, view: str) -> float:
        el = max(t - tl.created_at, lo)
        if view == "linear":
            return el / span
        return math.log10(el / lo) / math.log10(span * 1.5 / lo)

    def marks(view: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        def xv(t: float) -> Any:
            return _iso(t) if view == "linear" else max(t - tl.created_at, lo)

        def xa(t: float) -> Any:  # annotations on a log axis take log10 positions
            return xv(t) if view == "linear" else math.log10(xv(t))

        sent = (f"sent {local_clock(tl.created_at, tl.sender_tz)} {city(tl.sender_tz)}"
                f" ({local_clock(tl.created_at, tl.beneficiary_tz)} "
                f"{city(tl.beneficiary_tz)})")
        shapes: list[dict[str, Any]] = [
            {"type": "line", "xref": "x", "yref": "paper", "x0": xv(tl.created_at),
             "x1": xv(tl.created_at), "y0": 0, "y1": 1,
             "line": {"color": "#333333", "width": 2, "dash": "dot"}}]
        notes: list[dict[str, Any]] = [
            {"x": xa(tl.created_at), "xref": "x", "yref": "paper", "y": 1.0,
             "yanchor": "bottom", "text": html.escape(sent), "showarrow": False,
             "xanchor": "left", "font": {"size": 17, "color": "#333333"}}]
        for r in tl.rails:
            if r.credited_at is None:
                continue
            right = frac(r.credited_at, view) > 0.5
            text = (f"credited {local_clock(r.credited_at, tl.beneficiary_tz)} "
                    f"{city(tl.beneficiary_tz)}, after "
                    f"{format_duration(r.credited_at - tl.created_at)}")
            yi = len(rows) - 1 - rows.index(rows_of[r.rail])
            shapes.append({"type": "line", "xref": "x", "yref": "y",
                           "x0": xv(r.credited_at), "x1": xv(r.credited_at),
                           "y0": yi - 0.45, "y1": yi + 0.45,
                           "line": {"color": "#1a7f1a", "width": 3}})
            notes.append({"x": xa(r.credited_at), "y": rows_of[r.rail], "xref": "x",
                          "yref": "y", "yshift": 46, "showarrow": False,
                          "xanchor": "right" if right else "left",
                          "text": "✔ " + html.escape(text),
                          "font": {"size": 17, "color": "#1a7f1a"}})
        return shapes, notes

    lin_shapes, lin_notes = marks("linear")
    log_shapes, log_notes = marks("log")
    ticks = [(v, t) for v, t in _LOG_TICKS if v <= span * 3] or _LOG_TICKS[:3]
    lin_range = [_iso(tl.created_at - 0.02 * span), _iso(tl.created_at + 1.03 * span)]
    log_range = [math.log10(lo), math.log10(span * 1.5)]
    lin_axis = {"xaxis.type": "date", "xaxis.tickvals": None, "xaxis.ticktext": None,
                "xaxis.autorange": False, "xaxis.range": lin_range,
                "xaxis.title.text": "time (UTC)",
                "shapes": lin_shapes, "annotations": lin_notes}
    log_axis = {"xaxis.type": "log", "xaxis.tickvals": [v for v, _ in ticks],
                "xaxis.ticktext": [t for _, t in ticks], "xaxis.autorange": False,
                "xaxis.range": log_range,
                "xaxis.title.text": "time since the payment was sent (log scale)",
                "shapes": log_shapes, "annotations": log_notes}
    widest = max((sum(_step_width(s.duration_s) for s in r.steps) for r in tl.rails),
                 default=1.0)
    step_notes = []
    for r in tl.rails:
        end = sum(_step_width(s.duration_s) for s in r.steps)
        step_notes.append({"x": end, "y": rows_of[r.rail], "xref": "x", "yref": "y",
                           "yshift": 46, "showarrow": False, "xanchor": "right",
                           "text": html.escape(f"{len(r.steps)} steps; "
                                               + tl.outcome(r).split(";")[0]),
                           "font": {"size": 17, "color": "#1a7f1a"}})
    steps_axis = {"xaxis.type": "linear", "xaxis.tickvals": [], "xaxis.ticktext": [],
                  "xaxis.autorange": False, "xaxis.range": [0, widest * 1.01],
                  "xaxis.title.text": "each step in order; its width grows with the log of "
                  "its duration (hover for times)",
                  "shapes": [], "annotations": step_notes}
    fig.update_layout(
        template="plotly_white", barmode="overlay", height=600,
        font={"size": 18}, hoverlabel={"font": {"size": 16}, "align": "left"},
        margin={"l": 230, "r": 40, "t": 110, "b": 60},
        uniformtext={"minsize": 14, "mode": "hide"},
        yaxis={"categoryorder": "array", "categoryarray": rows[::-1],
               "tickfont": {"size": 20}, "ticksuffix": "  "},
        xaxis={"type": "date", "title": {"text": "time (UTC)"}, "gridcolor": "#dddddd",
               "range": lin_range, "autorange": False},
        legend={"orientation": "h", "y": -0.25, "font": {"size": 15}},
        shapes=lin_shapes, annotations=lin_notes,
        updatemenus=[{
            "type": "buttons", "direction": "right", "x": 0, "xanchor": "left",
            "y": 1.12, "yanchor": "bottom", "showactive": True, "font": {"size": 16},
            "buttons": [
                {"label": "clock time (linear)", "method": "update",
                 "args": [{"visible": visible("linear")}, lin_axis]},
                {"label": "elapsed time (log)", "method": "update",
                 "args": [{"visible": visible("log")}, log_axis]},
                {"label": "each step", "method": "update",
                 "args": [{"visible": visible("steps")}, steps_axis]},
            ]}],
    )
    return fig


_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 24px;
       color: #222; font-size: 20px; }}
h1 {{ font-size: 32px; margin: 0 0 8px 0; }}
.sub {{ color: #555; margin-bottom: 12px; }}
.cards {{ display: flex; gap: 24px; flex-wrap: wrap; margin: 12px 0; }}
.card {{ border: 2px solid #ddd; border-radius: 8px; padding: 12px 18px; flex: 1 1 560px; }}
.card h2 {{ font-size: 24px; margin: 0 0 6px 0; }}
.card ul {{ margin: 6px 0 0 0; padding-left: 22px; }}
#step-details {{ min-height: 2.5em; background: #f6f6f6; border-left: 6px solid #1f77b4;
                padding: 10px 16px; margin: 12px 0; white-space: pre-line; }}
table {{ border-collapse: collapse; font-size: 17px; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 5px 8px; text-align: left;
          vertical-align: top; }}
th {{ background: #f0f0f0; }}
td.num {{ text-align: right; white-space: nowrap; }}
tr.wait td {{ font-weight: 600; }}
tr.sel td {{ background: #fff3bf; }}
.swatch {{ display: inline-block; width: 14px; height: 14px; border-radius: 3px;
           margin-right: 6px; vertical-align: middle; }}
.muted {{ color: #666; font-size: 16px; }}
</style></head>
<body>
<h1>{title}</h1>
<div class="sub">{subtitle}</div>
{plot}
<div class="cards">{cards}</div>
<div id="step-details">Hover over a bar for its details; click one to pin them here.</div>
<h2>Every step</h2>
{table}
<p class="muted">{note}</p>
<pre id="drawn-steps" style="display:none"></pre>
<pre id="drawn-views" style="display:none"></pre>
<script>
(function () {{
  var gd = document.getElementById("timeline");
  var steps = {steps_json};
  function count() {{
    var out = {{}};
    gd.querySelectorAll(".barlayer .trace").forEach(function (g) {{
      var d = g.__data__; var tr = d && d[0] && d[0].trace;
      var rail = tr ? tr.meta : "?";
      var n = 0;
      g.querySelectorAll("g.point path").forEach(function (p) {{
        var a = p.getAttribute("d"); if (a && a !== "M0,0Z") n += 1; }});
      out[rail] = (out[rail] || 0) + n;
    }});
    document.getElementById("drawn-steps").textContent = JSON.stringify(out);
    return out;
  }}
  function show(rail, seq) {{
    var s = steps[rail + ":" + seq]; if (!s) return;
    document.getElementById("step-details").textContent = s;
    document.querySelectorAll("tr.sel").forEach(function (r) {{ r.classList.remove("sel"); }});
    var row = document.getElementById("step-" + rail + "-" + seq);
    if (row) row.classList.add("sel");
  }}
  function select(i) {{
    var b = gd.layout.updatemenus[0].buttons[i];
    return Plotly.update(gd, b.args[0], Object.assign({{"updatemenus[0].active": i}},
                                                      b.args[1]));
  }}
  if (gd && gd.on) {{
    gd.on("plotly_afterplot", count);
    gd.on("plotly_click", function (ev) {{
      var p = ev.points && ev.points[0]; if (p) show(p.customdata[0], p.customdata[1]); }});
    count();
    var view = {{"#log": 1, "#steps": 2}}[location.hash];
    if (view) select(view);
    if (location.hash === "#check-views") {{  // every view drawn in turn (browser tests)
      var names = gd.layout.updatemenus[0].buttons.map(function (b) {{ return b.label; }});
      var seen = {{}}, chain = Promise.resolve();
      names.forEach(function (name, i) {{
        chain = chain.then(function () {{ return select(i); }})
                     .then(function () {{ seen[name] = count(); }});
      }});
      chain.then(function () {{ return select(0); }}).then(function () {{
        document.getElementById("drawn-views").textContent = JSON.stringify(seen); }});
    }}
  }}
  document.querySelectorAll("tr[data-rail]").forEach(function (row) {{
    row.addEventListener("click", function () {{
      show(row.getAttribute("data-rail"), row.getAttribute("data-seq")); }});
  }});
}})();
</script>
</body></html>
"""


def _details_text(tl: Timeline, s: StepView) -> str:
    lines = [f"{RAIL_TITLES.get(s.rail, s.rail)}, step {s.seq}: {s.label}",
             f"where: {s.where}",
             f"local clock: {s.local_start} -> {s.local_end} ({city(s.timezone)})",
             f"took {format_duration(s.duration_s)}; cost: {s.cost_text or 'none'}",
             f"kind: {s.kind}; detail: {s.detail or '-'}"]
    return "\n".join(lines)


def to_html(tl: Timeline) -> str:
    """The timeline as one self-contained HTML page (Plotly inlined; works offline).

    >>> page = to_html(simulate("US-MX", 1763760600.0))
    >>> "<script src=\\"http" in page, page.count("<tr class='step-row")
    (False, 24)
    """
    e = html.escape
    fig = figure(tl)
    plot = fig.to_html(full_html=False, include_plotlyjs=True, div_id="timeline",
                       config={"displaylogo": False, "responsive": True,
                               "toImageButtonOptions": {"format": "png", "scale": 2}})
    cards = []
    for r in tl.rails:
        waits = "".join(
            f"<li><span class='swatch' style='background:{CATEGORY_COLORS[s.category]}'>"
            f"</span>{e(s.label)} at {e(s.where)}: {format_duration(s.duration_s)}</li>"
            for s in r.waits() if s.duration_s >= 60)
        cards.append(f"<div class='card'><h2>{e(r.title)}</h2><div>{e(tl.outcome(r))}</div>"
                     f"<div class='muted'>{len(r.steps)} steps</div>"
                     + (f"<ul>{waits}</ul>" if waits else "") + "</div>")
    head = ("<tr><th>rail</th><th>#</th><th>what</th><th>where</th><th>local start</th>"
            "<th>local end</th><th>took</th><th>cost</th><th>detail</th></tr>")
    body = []
    for r in tl.rails:
        for s in r.steps:
            cls = "step-row wait" if s.is_wait else "step-row"
            body.append(
                f"<tr class='{cls}' id='step-{e(s.rail)}-{s.seq}' data-rail='{e(s.rail)}' "
                f"data-seq='{s.seq}'><td>{e(r.title)}</td><td class='num'>{s.seq}</td>"
                f"<td><span class='swatch' style='background:{CATEGORY_COLORS[s.category]}'>"
                f"</span>{e(s.label)}</td><td>{e(s.where)}</td><td>{e(s.local_start)}</td>"
                f"<td>{e(s.local_end)}</td><td class='num'>{format_duration(s.duration_s)}</td>"
                f"<td class='num'>{e(s.cost_text)}</td><td class='muted'>{e(s.detail)}</td>"
                "</tr>")
    table = f"<table><thead>{head}</thead><tbody>{''.join(body)}</tbody></table>"
    steps_json = json.dumps({f"{s.rail}:{s.seq}": _details_text(tl, s)
                             for r in tl.rails for s in r.steps})
    sub = (f"{e(tl.sender_bank)} ({e(city(tl.sender_tz))}) → {e(tl.beneficiary_bank)} "
           f"({e(city(tl.beneficiary_tz))}) · payment {e(tl.payment_id)}"
           + (f" · chain {e(tl.chain)}" if tl.chain else ""))
    note = ("Local clocks are those of each step's place: banks in their own time zone, "
            "stablecoin issuers in their ramp's, the chain and the FX provider in UTC. "
            + e(tl.note))
    return _PAGE.format(title=e(tl.title), subtitle=sub, cards="".join(cards), plot=plot,
                        table=table, note=note,
                        steps_json=steps_json.replace("</", "<\\/"))


def write_html(tl: Timeline, path: str | Path) -> Path:
    """Write :func:`to_html` to ``path`` atomically (temp file + rename)."""
    return write_page(path, to_html(tl))


def write_page(path: str | Path, text: str) -> Path:
    """Write a page atomically (temp file + rename), readable like any file made here."""
    from sim.results import atomic_write

    def write(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o644 & ~umask)  # a page to share, not a private temp file

    return atomic_write(path, write)


# ---------------------------------------------------------------------------
# terminal (rich)
# ---------------------------------------------------------------------------
def _bar(s: StepView, span: float, width: int, log: bool) -> tuple[int, int]:
    def pos(t: float) -> float:
        t = max(0.0, t)
        if log:
            return math.log10(1 + t) / math.log10(1 + span) * width
        return t / span * width

    a = min(width - 1, int(pos(s.elapsed_start)))
    b = max(a + 1, min(width, math.ceil(pos(s.elapsed_end))))
    return a, b


def _bar_width(cols: int) -> int:
    """Bar columns for a console ``cols`` wide: what the table leaves, within [10, 40]."""
    return max(10, min(40, cols - (84 if cols < 120 else 108)))


def _rail_table(tl: Timeline, r: RailTimeline, *, log: bool, bar_width: int,
                upto: int | None = None, span: float | None = None,
                narrow: bool = True) -> Any:
    from rich import box
    from rich.table import Table
    from rich.text import Text

    span = span or tl.span_s
    t = Table(title=f"{r.title}: {tl.outcome(r)}", title_justify="left", box=box.SIMPLE_HEAD,
              title_style="bold", pad_edge=False, expand=False)
    t.add_column("#", justify="right", no_wrap=True)
    t.add_column("where", overflow="fold", max_width=18 if narrow else 30)
    t.add_column("local start", no_wrap=True)
    if not narrow:
        t.add_column("local end", no_wrap=True)
    t.add_column("took", justify="right", no_wrap=True)
    t.add_column("cost", justify="right", no_wrap=True)
    t.add_column("what", overflow="fold", min_width=22)
    t.add_column("time, log" if log else "time", no_wrap=True)

    for s in r.steps[: upto if upto is not None else len(r.steps)]:
        a, b = _bar(s, span, bar_width, log)
        color = _TERM_COLORS[s.category]
        bar = Text("·" * a, style="bright_black")
        bar.append("█" * (b - a), style=color)
        bar.append("·" * (bar_width - b), style="bright_black")
        what = Text(s.label, style=f"bold {color}" if s.is_wait else "")
        clocks = [s.local_start] if narrow else [s.local_start, s.local_end]
        t.add_row(str(s.seq), s.where, *clocks, format_duration(s.duration_s),
                  s.cost_text, what, bar)
    return t


def render_terminal(tl: Timeline, console: Console | None = None, *, log: bool = False,
                    bar_width: int | None = None) -> None:
    """Print the timeline with ``rich``: per rail, a table of steps with a bar each.

    Bars share one time axis from the payment's creation to the last step's end
    (``log``: a log scale, so seconds-long steps stay visible next to weekends).

    >>> import io
    >>> from rich.console import Console
    >>> con = Console(width=100, file=io.StringIO(), color_system=None)
    >>> render_terminal(simulate("US-MX", 1763760600.0), con, log=True)
    >>> "off-ramp window" in con.file.getvalue()
    True
    """
    from rich.console import Console

    console = console or Console()
    width = bar_width or _bar_width(console.width)
    console.print(_header(tl))
    for r in tl.rails:
        console.print(_rail_table(tl, r, log=log, bar_width=width,
                                  narrow=console.width < 120))
    console.print(_scale_note(tl, log))


def _scale_note(tl: Timeline, log: bool) -> Any:
    from rich.text import Text

    return Text(f"bars: one shared axis, {'log-scaled ' if log else ''}time from sending "
                f"(left) to +{format_duration(tl.span_s)} (right); local clocks are each "
                "place's own (chain in UTC)", style="dim")


def _header(tl: Timeline) -> Any:
    from rich.text import Text

    t = Text(tl.title, style="bold")
    t.append(f"\n{tl.sender_bank} ({city(tl.sender_tz)}) -> {tl.beneficiary_bank} "
             f"({city(tl.beneficiary_tz)}); payment {tl.payment_id}"
             + (f"; chain {tl.chain}" if tl.chain else ""), style="dim")
    return t


def play(tl: Timeline, console: Console | None = None, *, speed: float = 1.0,
         log: bool = True, bar_width: int | None = None,
         sleep: Callable[[float], None] = time.sleep, max_pause: float = 2.5) -> bool:
    """Replay the timeline step by step, in time order across both rails.

    Each step appears after a pause proportional to the log of its duration
    (0.15 s for a second-long step, up to ``max_pause`` for a weekend), divided by
    ``speed``. Ctrl-C stops the replay cleanly; returns ``False`` then, else ``True``.

    >>> import io
    >>> from rich.console import Console
    >>> con = Console(width=100, file=io.StringIO(), color_system=None)
    >>> play(simulate("US-MX", 1763760600.0), con, speed=1e6)
    True
    """
    from rich.console import Console, Group
    from rich.live import Live
    from rich.text import Text

    console = console or Console()
    if speed <= 0:
        raise TimelineError("--speed must be positive")
    width = bar_width or _bar_width(console.width)
    order = sorted((s.started_at, RAIL_ORDER.index(s.rail) if s.rail in RAIL_ORDER else 9,
                     s.seq, r.rail) for r in tl.rails for s in r.steps)
    shown = {r.rail: 0 for r in tl.rails}
    span = tl.span_s

    def frame(now: float | None) -> RenderableType:
        clock = Text()
        if now is not None:
            clock.append("now: ", style="bold")
            clock.append(f"{local_clock(now, tl.sender_tz)} {city(tl.sender_tz)} · "
                         f"{local_clock(now, tl.beneficiary_tz)} {city(tl.beneficiary_tz)} · "
                         f"+{format_duration(now - tl.created_at)}")
        parts: list[Any] = [_header(tl), clock]
        parts += [_rail_table(tl, r, log=log, bar_width=width, upto=shown[r.rail], span=span,
                              narrow=console.width < 120) for r in tl.rails]
        parts.append(_scale_note(tl, log))
        return Group(*parts)

    try:
        with Live(frame(tl.created_at), console=console, refresh_per_second=12,
                  transient=False, auto_refresh=False) as live:
            for t0, _, seq, rail in order:
                step = tl.rail(rail).steps[[s.seq for s in tl.rail(rail).steps].index(seq)]
                shown[rail] += 1
                live.update(frame(t0), refresh=True)
                pause = 0.15 + 0.35 * math.log10(1 + max(0.0, step.duration_s))
                sleep(min(max_pause, pause) / speed)
            live.update(frame(max(r.ended_at for r in tl.rails)), refresh=True)
    except KeyboardInterrupt:
        console.line()
        console.print("[dim]replay stopped[/dim]")
        return False
    return True


def rail_kinds(tl: Timeline) -> dict[str, list[str]]:
    """``{rail: [kind, ...]}`` in step order (for checks and summaries)."""
    return {r.rail: [s.kind for s in r.steps] for r in tl.rails}


def iter_steps(tl: Timeline) -> Iterable[StepView]:
    for r in tl.rails:
        yield from r.steps
