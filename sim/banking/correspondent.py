"""The correspondent-banking rail: a SimPy process per payment over a :class:`BankNetwork`.

For each bank of the payment's route (ordering bank, intermediaries, beneficiary
bank) the process

1. waits for the bank's operating hours and same-day cut-off in its own calendar
   (``cutoff_wait``; the detail says why: ``"after cut-off; weekend"``,
   ``"holiday: Thanksgiving Day"``...);
2. queues for the bank's processing capacity (``queue``);
3. is screened: automated screening in seconds, and a share of payments held for
   manual review that takes *business* hours, so a Friday-evening hit waits for
   Monday (``screening``); a small share of held payments is rejected and the
   payment is returned with the fees already taken (``return``);
4. is processed (``processing``; the ordering bank's fee or the intermediary's
   lifting fee is its cost), converted where the route changes currency, at the
   bank's spread for the payment's segment (``fx``);
5. and, on the leg to the next bank, waits for nostro liquidity if the account
   to be debited is short (``nostro_wait``, until the next funding window), then
   the message and funds move (``transit``).

At the beneficiary bank the payment is screened (compliance, capital controls),
converted if it arrived in another currency, and credited to the customer
(``credit``): straight through in seconds for a share of payments, otherwise in
batch or manual processing that takes business hours. Published gpi data put
most of the end-to-end time there, and so does the default calibration.

Charges follow the charge option: **OUR** the sender pays everything (the
intermediaries' and beneficiary bank's charges are billed back to the ordering
customer), **SHA** the sender pays its bank's fee and the rest is deducted on the
way, **BEN** every fee is deducted from the amount.

Randomness: every draw of payment ``i`` comes from its own block of a
``SeedSequence(seed)``-derived stream (see :class:`PaymentDraws`), so a payment's
draws do not depend on which other payments run or in which order.

Example
-------
>>> from sim.banking.network import BankNetwork
>>> from sim.banking.workload import Workload
>>> net = BankNetwork.default()
>>> r = run(net, Workload.generate(seed=1, n_payments=20, network=net), seed=1)
>>> len(r.payments), set(r.payments.rail)
(20, {'correspondent'})
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Generator, Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any

import simpy

from sim.balances import BalanceRecorder, load_rates, usd_factors
from sim.banking.network import (
    Account,
    Bank,
    BankNetwork,
    Conversion,
    Leg,
    LogNormal,
    Route,
    RoutingError,
    country_calendars,
    fee_function,
)
from sim.banking.workload import Payment, Workload, arrivals
from sim.calendar import BusinessCalendar, parse_clock
from sim.draws import MAX_BANKS, SLOTS, PaymentDraws
from sim.events import EventSchedule
from sim.money import (
    convert,
    format_minor,
    minor_exponent,
    scaled_rate,
)
from sim.results import Results, ResultsBuilder, close_accounts, paused_gc

__all__ = ["CorrespondentRail", "RAIL", "run"]

RAIL = "correspondent"

# uniform slots
_U_REVIEW, _U_REJECT, _U_STP = 0, 1, 2
_FX_SECONDS = 1.0   # booking a conversion at a dealt rate (modelling choice)
_ORDERING_TEXT = {c: f"ordering bank fee ({c})" for c in ("OUR", "SHA", "BEN")}

class _CreditText(dict):  # type: ignore[type-arg]
    def __missing__(self, key: tuple[str, bool]) -> str:
        how, our = key
        who = "billed to sender (OUR)" if our else "deducted"
        return f"{how}; beneficiary bank fee {who}"


_CREDIT_TEXT = _CreditText()
_LIFTING_TEXT = {"OUR": "lifting fee billed to the ordering customer (OUR)",
                 "SHA": "lifting fee deducted (SHA)", "BEN": "lifting fee deducted (BEN)"}
# normal slots
_Z_SCREEN, _Z_REVIEW, _Z_PROC, _Z_LEG, _Z_CREDIT = 0, 1, 2, 3, 4


class _Processors:
    """A bank's processing capacity, FIFO: the instants at which its processors come free.

    A payment that reaches the bank at ``t`` takes the processor that comes free
    first, at ``max(t, free)``, and holds it until its work ends. Payments reach
    a bank in simulated-time order (each takes a processor at the instant it
    arrives), so this is the FIFO multi-server queue (Kiefer-Wolfowitz recursion),
    without the two events per payment and bank that a ``simpy.Resource`` spends,
    and without waking the payment at the end of its work when nothing else is
    waiting for it there.

    Ties: payments ready at the same instant (typically at a bank's opening,
    after waiting overnight or over a weekend) take processors in the order
    SimPy resumes them, the order in which their waits began (when each last
    touched something shared upstream). That order is deterministic, but it is
    not always the order in which they reached this bank, nor the order of a
    ``simpy.Resource`` requested as payments leave the previous bank; away from
    ties the schedule is that Resource's.
    """

    __slots__ = ("free_at",)

    def __init__(self, capacity: int) -> None:
        self.free_at = [float("-inf")] * capacity   # a heap

    def first_free(self) -> float:
        """When the next processor comes free (``-inf``: one is free now)."""
        return self.free_at[0]

    def hold_until(self, end: float) -> None:
        """Take the processor that comes free first and hold it until ``end``."""
        heapq.heapreplace(self.free_at, end)


class _Nostro:
    """Balance of one limited account and its funding windows (servicer's calendar)."""

    __slots__ = ("account", "balance", "target", "cal", "times", "next_at", "currency",
                 "record", "rid")

    def __init__(self, account: Account, balance: int, cal: BusinessCalendar, t0: float) -> None:
        self.account = account
        self.balance = balance
        self.target = balance
        self.cal = cal
        self.times = [parse_clock(t) for t in account.funding_times]
        self.currency = account.currency
        self.next_at = self.next_window(t0)
        # the balances' record (sim.balances): a funding changes the balance too
        self.record: Callable[[int, float, int, str | None], None] = _no_record
        self.rid = -1

    def next_window(self, t: float) -> float:
        """First funding window strictly after ``t`` (business days of the servicer)."""
        d = self.cal.local_date(t)
        for _ in range(400):
            w = self.cal.day(d)
            if w.reason is None:
                for hm in self.times:
                    ts = self.cal._at(d, hm)
                    if ts > t:
                        return ts
            d = d.fromordinal(d.toordinal() + 1)
        raise RuntimeError(f"no funding window for {self.account.key}")

    def refresh(self, t: float) -> None:
        """Apply funding windows passed since the last look: top up to the target."""
        if self.next_at <= t:
            top = max(self.balance, self.target)
            self.record(self.rid, self.next_at, top - self.balance, None)
            self.balance = top
            self.next_at = self.next_window(t)


@dataclass
class _Money:
    """The running accounts of one payment."""

    value: int
    currency: str
    paid_in: int
    sender_fee_sent: int
    lifting_sent: int = 0
    beneficiary_sent: int = 0
    has_fx: bool = False


@dataclass(frozen=True, slots=True)
class _Stop:
    """What a payment of one route and segment meets at one bank, worked out once."""

    bid: str
    bank: Bank
    cal: BusinessCalendar
    processors: _Processors
    o: int                          # offset of this bank's draws
    is_ben: bool
    stp_share: float                # beneficiary bank: share credited straight through
    stp_any_hours: bool             # ... and at any hour
    screen: tuple[float, float]     # (median, sigma) of the lognormal durations
    review_share: float
    review: tuple[float, float]
    reject_share: float
    processing: tuple[float, float]
    lifting: int | None             # intermediary: lifting fee on the incoming leg
    convs: tuple[tuple[str, str, Decimal, str], ...]  # (source, target, scaled rate, text)
    stp_seconds: tuple[float, float]
    manual_hours: tuple[float, float]
    # the leg to the next bank
    leg: Leg | None
    nostro: _Nostro | None
    transit: tuple[float, float]
    transit_text: str
    account_id: int = -1            # the leg's account in the balances' record


def _ln(d: LogNormal) -> tuple[float, float]:
    return (d.median, d.sigma)


class CorrespondentRail:
    """Runs payments over correspondent relationships in a SimPy environment.

    Parameters
    ----------
    env : simpy.Environment whose clock is POSIX seconds (UTC)
    network : the bank network
    seed : seeds the per-payment draws (:class:`PaymentDraws`)
    builder : where rows go (a :class:`~sim.results.ResultsBuilder`)
    policy, via : routing options passed to :meth:`BankNetwork.route`
    """

    def __init__(self, env: simpy.Environment, network: BankNetwork, seed: int,
                 builder: ResultsBuilder | None = None, *, policy: str = "fewest_hops",
                 via: str | None = None, events: EventSchedule | None = None) -> None:
        self.env = env
        self.events = events or EventSchedule.none()
        # bank sanctions (an on-chain account's alone concern the on-chain rail)
        self._sanctions = any(not e.on_chain_only for e in self.events.of_kind("sanction"))
        self._events_on = bool(self._sanctions or self.events.of_kind("bank_outage"))
        self._down = {e.target for e in self.events.of_kind("bank_outage")}
        self._listed = {e.target for e in self.events.of_kind("sanction") if not e.on_chain_only}
        self.net = network
        self.fx = network.fx
        self.draws = PaymentDraws(seed)
        self.out = builder or ResultsBuilder(RAIL)
        self.bal = open_accounts(self.out, network, float(env.now))
        self.policy, self.via = policy, via
        self.resources = {bid: _Processors(b.capacity)
                          for bid, b in network.banks.items()}
        self.nostros: dict[tuple[str, str, str], _Nostro] = {}
        t0 = float(env.now)
        for key, acc in network.accounts.items():
            bal = network.balance_minor[key]
            if bal is not None:
                self.nostros[key] = nos = _Nostro(acc, bal, network.bank(acc.servicer).calendar,
                                                  t0)
                nos.record, nos.rid = self.bal.change, self.bal.account(account_name(acc))
        self._rates: dict[tuple[str, str, str, str], Decimal] = {}
        self._routes: dict[tuple[str, str, str, str, str],
                           tuple[Route, tuple[_Stop, ...]] | RoutingError] = {}
        self._conversions: dict[tuple[Conversion, str], tuple[Decimal, str]] = {}
        self._fee_fns: dict[tuple[str, str, str, str], Callable[[int], int]] = {}
        self._scaled: dict[tuple[str, str], Decimal] = {}
        self._fee_cache: dict[tuple[int, str, str], int] = {}
        self._amount_texts: dict[tuple[int, str], str] = {}

    # -- helpers ---------------------------------------------------------------
    def _to_sent(self, amount: int, currency: str, sent: str) -> int:
        """Same as :func:`sim.money.convert_for_reporting` at the mid rate, with cached rates."""
        if currency == sent:
            return amount
        sr = self._scaled.get((currency, sent))
        if sr is None:
            sr = self._scaled[(currency, sent)] = self.fx.rate(currency, sent).scaleb(
                minor_exponent(sent) - minor_exponent(currency))
        return int((Decimal(amount) * sr).to_integral_value(rounding=ROUND_HALF_EVEN))

    def _fee_to_sent(self, amount: int, currency: str, sent: str) -> int:
        """:meth:`_to_sent` memoised: fees repeat (the same few fixed amounts)."""
        key = (amount, currency, sent)
        v = self._fee_cache.get(key)
        if v is None:
            v = self._fee_cache[key] = self._to_sent(amount, currency, sent)
        return v

    def _own_amount(self, fee: int, currency: str) -> str:
        """``': 17.40 MXN'``: a fee in its own currency, for a step's detail (memoised:
        fees repeat)."""
        key = (fee, currency)
        text = self._amount_texts.get(key)
        if text is None:
            text = self._amount_texts[key] = f": {format_minor(fee, currency)}"
        return text

    def _customer_rate(self, bank: Bank, source: str, target: str, segment: str) -> Decimal:
        key = (bank.id, source, target, segment)
        r = self._rates.get(key)
        if r is None:
            spread = getattr(bank.fx_spread_percent, segment)
            r = self.fx.rate(source, target) * (Decimal(1) - spread / Decimal(100))
            self._rates[key] = r
        return r

    def _conversion(self, bank: Bank, conv: Conversion, segment: str) -> tuple[Decimal, str]:
        """The customer rate of ``conv`` scaled to minor units, and the fx step's text."""
        key = (conv, segment)
        c = self._conversions.get(key)
        if c is None:
            rate = self._customer_rate(bank, conv.source, conv.target, segment)
            c = self._conversions[key] = (
                scaled_rate(rate, conv.source, conv.target),
                f"{conv.source}->{conv.target} at {rate:.6f} "
                f"(mid {self.fx.rate(conv.source, conv.target):.6f})")
        return c

    def _plan(self, route: Route, segment: str, sent: str) -> tuple[_Stop, ...]:
        """The stops of ``route`` for a payment of ``segment`` sent in ``sent``."""
        net = self.net
        last = len(route.banks) - 1
        stops = []
        currency = sent
        for i, bid in enumerate(route.banks):
            bank = net.banks[bid]
            conv = []
            for c in route.conversions_at(i):
                scaled, text = self._conversion(bank, c, segment)
                conv.append((c.source, c.target, scaled, text))
                currency = c.target
            leg = route.legs[i] if i < last else None
            text = "" if leg is None else (
                f"{leg.sender}->{leg.receiver} {currency} "
                f"({'debit' if leg.debit else 'credit'} of {leg.account.owner}'s "
                f"account at {leg.account.servicer})")
            stops.append(_Stop(
                bid=bid, bank=bank, cal=bank.calendar, processors=self.resources[bid],
                o=SLOTS * (i % MAX_BANKS), is_ben=i == last,
                stp_share=bank.credit.stp_share if i == last else -1.0,
                stp_any_hours=bank.credit.outside_hours,
                screen=_ln(bank.screening_seconds), review_share=bank.review_share,
                review=_ln(bank.review_hours), reject_share=bank.review_reject_share,
                processing=_ln(bank.processing_seconds),
                lifting=(net.lifting_fee_minor[route.legs[i - 1].account.key]
                         if 0 < i < last else None),
                convs=tuple(conv), stp_seconds=_ln(bank.credit.stp_seconds),
                manual_hours=_ln(bank.credit.manual_hours), leg=leg,
                nostro=None if leg is None else self.nostros.get(leg.account.key),
                transit=(1.0, 0.0) if leg is None else _ln(leg.account.processing_seconds),
                transit_text=text,
                account_id=-1 if leg is None else self.bal.account(account_name(leg.account))))
        return tuple(stops)

    def _fee_fn(self, bank: Bank, kind: str, segment: str, currency: str
                ) -> Callable[[int], int]:
        """A bank's fee rule for ``segment`` as a function of the value (minor units of
        ``currency``) giving the fee in minor units of ``currency``, half to even
        (:func:`sim.banking.network.fee_function`, made once per bank, kind, segment and
        currency)."""
        key = (bank.id, kind, segment, currency)
        fn = self._fee_fns.get(key)
        if fn is not None:
            return fn
        fn = self._fee_fns[key] = fee_function(getattr(getattr(bank, kind), segment),
                                               currency, bank.currency, self.fx)
        return fn

    # -- stress events ------------------------------------------------------------
    def _meet_events(self, x: _Stop, plan: tuple[_Stop, ...], start: float, stp: bool,
                     step: Callable[[tuple[Any, ...]], None], S: str
                     ) -> float | tuple[str, str, float]:
        """What the scenario's events do to a payment ready at bank ``x`` at ``start``:
        the instant it can be taken (after the bank's outages, and the operating hours
        after them), or ``(kind, reason, at)`` when it ends here: ``"return"`` (an
        outage longer than its return limit; sanctions screening finding a sanctioned
        bank further on the route) or ``"frozen"`` (the bank itself is sanctioned: the
        funds it holds are frozen; returned when the sanction is lifted)."""
        ev, bid = self.events, x.bid
        outages = ev.outages_of(bid)
        while outages is not None:
            down = next((e for e in outages if e.start <= start < e.end), None)
            if down is None:
                break
            limit = down.return_after_s
            if limit is not None and down.end - start > limit:
                step(("outage", bid, start, start + limit, 0, S, f"{bid} down: {down.label}"))
                return ("return", f"{bid} down for more than {limit / 3600:g} h: "
                        f"{down.label}", start + limit)
            step(("outage", bid, start, down.end, 0, S, f"{bid} down: {down.label}"))
            start = down.end
            if not (stp and x.stp_any_hours):
                t, why = x.cal.next_accepting(start)
                if t > start:
                    step(("cutoff_wait", bid, start, t, 0, S, why))
                    start = t
        if self._sanctions:
            hit = ev.sanction(bid, start)
            if hit is not None:
                if math.isinf(hit.end):
                    return ("frozen", f"funds frozen at {bid}, sanctioned: {hit.label}", start)
                step(("frozen", bid, start, hit.end, 0, S,
                      f"funds frozen at {bid}, sanctioned: {hit.label}"))
                return ("return", f"funds frozen at {bid} until the sanction was lifted: "
                        f"{hit.label}", hit.end)
            if not x.is_ben:
                # sanctions screening: the bank will not send towards a sanctioned bank
                here = next(k for k, y in enumerate(plan) if y is x)
                for later in plan[here + 1:]:
                    hit = ev.sanction(later.bid, start)
                    if hit is not None:
                        return ("return", f"sanctions screening at {bid}: {later.bid} on the "
                                f"route is sanctioned ({hit.label})", start)
        return start

    # -- the process -----------------------------------------------------------
    def submit(self, payments: Iterable[Payment]) -> simpy.Process:
        """Start a source process that releases each payment at its ``created_at``."""
        return self.env.process(self._source(list(payments)))

    def _source(self, payments: list[Payment]) -> Generator[Any, Any, None]:
        return arrivals(self.env, payments, self.process)

    def process(self, p: Payment) -> Generator[Any, Any, None]:  # noqa: C901
        """The SimPy process of one payment; writes its steps and its payments row."""
        env, net, out, pid = self.env, self.net, self.out, p.payment_id
        rows: list[tuple[Any, ...]] = []   # (kind, place, start, end, cost, currency, detail)
        step = rows.append
        exp = math.exp

        S, seg, charge = p.currency_sent, p.segment, p.charge_option
        rkey = (p.sender_bank, p.beneficiary_bank, S, p.currency_delivered, seg)
        found = self._routes.get(rkey)
        if found is None:
            try:
                route = net.route(p.sender_bank, p.beneficiary_bank, S, p.currency_delivered,
                                  policy=self.policy, via=self.via, segment=seg)
                found = (route, self._plan(route, seg, S))
            except RoutingError as exc:
                found = exc
            self._routes[rkey] = found
        if isinstance(found, RoutingError):
            reason = f"unroutable: {found}"
            step(("return", p.sender_bank, env.now, env.now, 0, S, reason))
            out.add_steps(pid, rows)
            out.add_payment(close_accounts(
                pid, RAIL, p.corridor, p.sender_bank, p.beneficiary_bank, charge, 0, S,
                0, p.currency_delivered, p.created_at, None, "failed", reason, 0, {}))
            return
        route, plan = found
        U, Z = self.draws.row(p.index, len(plan))
        sender = plan[0].bank
        f0 = self._fee_fn(sender, "sender_fee", seg, S)(p.amount)
        our = charge == "OUR"
        if charge == "BEN":
            f0 = min(f0, p.amount)  # the bank cannot take more than the amount
            m = _Money(p.amount - f0, S, p.amount, f0)
        else:
            m = _Money(p.amount, S, p.amount + f0, f0)
        hops = len(plan) - 2
        charged = [False]   # whether the ordering bank's processing step (its fee) is written
        record = self.bal.change
        sold: list[float] = []   # the first conversion: (start, principal in S)

        def fail(status: str, reason: str, place: str, refund_rate_bank: Bank | None,
                 at: float, freeze: bool = False) -> None:
            frozen = 0
            if freeze:
                # held by a sanctioned bank: neither delivered nor returned
                refund, back, kind = 0, 0, "frozen"
                frozen = self._to_sent(max(m.value, 0), m.currency, S)
                text = f"{reason}; {format_minor(max(m.value, 0), m.currency)} frozen"
            else:
                kind = "return"
                refund = m.value
                if m.currency != S and refund > 0:
                    assert refund_rate_bank is not None
                    refund = convert(m.value, m.currency, S, self._customer_rate(
                        refund_rate_bank, m.currency, S, seg))
                refund = max(refund, 0)
                # converting the rest back costs the bank's spread: the return step's cost
                back = self._to_sent(m.value, m.currency, S) - refund if m.currency != S else 0
                text = f"{reason}; {format_minor(refund, S)} returned to the ordering customer"
            if not charged[0]:   # returned before its processing: the fee is kept here
                back += m.sender_fee_sent
                text += f"; {_ORDERING_TEXT[charge]} kept"
            step((kind, place, at, at, back, S, text))
            if sold:
                self.bal.risk(pid, int(sold[1]), sold[0], at)
            fees = {"sender_bank": m.sender_fee_sent, "lifting": m.lifting_sent,
                    "beneficiary_bank": m.beneficiary_sent}
            rec = close_accounts(
                pid, RAIL, p.corridor, p.sender_bank, p.beneficiary_bank, charge,
                m.paid_in - refund, S, 0, p.currency_delivered, p.created_at, None, status,
                reason, hops, fees, 0, m.has_fx or m.currency != S, frozen=frozen)
            if m.has_fx:
                _settle_spread(rows, rec.fee_total_sent)
            out.add_steps(pid, rows)
            out.add_payment(rec)

        if m.value <= 0:
            fail("returned", "charges exceed the amount", sender.id, None, env.now)
            return

        def charge_beneficiary(ben: Bank) -> int | None:
            """The beneficiary bank's fee in the value's currency; None if it exceeds it."""
            fee = self._fee_fn(ben, "beneficiary_fee", seg, m.currency)(m.value)
            if not our and fee >= m.value:
                return None
            fee_s = self._fee_to_sent(fee, m.currency, S)
            m.beneficiary_sent = fee_s
            if our:
                m.paid_in += fee_s
            else:
                m.value -= fee
            return fee

        # The process wakes only where it meets other payments: when it reaches a bank
        # (to take a processor in arrival order) and when it moves funds through a
        # limited nostro account. Everything in between is the payment's own and is
        # laid out in simulated time without sleeping through it.
        events = self._events_on
        # whether the route meets a sanctioned bank (only then is it screened for one)
        touched = events and self._sanctions and any(y.bid in self._listed for y in plan)
        arrival = env.now   # when the payment (message and funds) reaches the next bank
        stp = False
        end = arrival
        for x in plan:
            bid, o = x.bid, x.o
            stp = U[o + _U_STP] < x.stp_share
            # 1. operating hours and cut-off (one sleep covers the transit that led here too)
            start = arrival
            if not (stp and x.stp_any_hours):
                start, why = x.cal.next_accepting(arrival)
                if start > arrival:
                    step(("cutoff_wait", bid, arrival, start, 0, S, why))
            if events and (bid in self._down or touched):
                # stress events: the bank down, a sanction (see _meet_events)
                met = self._meet_events(x, plan, start, stp, step, S)
                if isinstance(met, tuple):
                    kind, reason, at = met
                    if kind == "frozen":
                        fail("failed", reason, bid, x.bank, at, freeze=True)
                    else:
                        fail("returned", reason, bid, x.bank, at)
                    return
                start = met
            if start > env.now:
                yield env.timeout(start - env.now)
            # 2. capacity: the first processor to come free, in order of arrival
            t = start
            free = x.processors.free_at[0]
            if free > t:
                step(("queue", bid, t, free, 0, S, ""))
                t = free
            # 3. screening, 4. processing and conversion: the bank works on the payment
            # without interruption while it holds the processor, back to back.
            med, sig = x.screen
            end = t + med * exp(sig * Z[o + _Z_SCREEN])
            if U[o + _U_REVIEW] < x.review_share:
                med, sig = x.review
                hours = med * exp(sig * Z[o + _Z_REVIEW])
                end = x.cal.add_business_seconds(end, hours * 3600.0)
                rejected = U[o + _U_REJECT] < x.reject_share
                verdict = "rejected" if rejected else "released"
                step(("screening", bid, t, end, 0, S,
                      f"manual review ({hours:.1f} business h): {verdict}"))
                if rejected:
                    x.processors.hold_until(end)
                    fail("returned", f"rejected in compliance screening at {bid}", bid, x.bank,
                         end)
                    return
            else:
                step(("screening", bid, t, end, 0, S, "automated"))
            if not x.is_ben:
                med, sig = x.processing
                start, end = end, end + med * exp(sig * Z[o + _Z_PROC])
                if x.lifting is None:       # the ordering bank
                    step(("processing", bid, start, end, f0, S, _ORDERING_TEXT[charge]))
                    charged[0] = True
                else:
                    fee = x.lifting
                    if not our:
                        fee = min(fee, m.value)  # cannot deduct more than is left
                    fee_s = self._fee_to_sent(fee, m.currency, S)
                    m.lifting_sent += fee_s
                    if our:
                        m.paid_in += fee_s
                    else:
                        m.value -= fee
                    text = _LIFTING_TEXT[charge]
                    if m.currency != S:
                        text = text + self._own_amount(fee, m.currency)
                    step(("processing", bid, start, end, fee_s, S, text))
                    if m.value <= 0:
                        x.processors.hold_until(end)
                        fail("returned", f"charges exceed the amount at {bid}", bid, x.bank,
                             end)
                        return
            for source, target, scaled, text in x.convs:
                # convert(): paid out at the customer rate, rounded down
                new = int((Decimal(m.value) * scaled).to_integral_value(rounding=ROUND_FLOOR))
                # its cost: the value's worth in S at the mid rate, less what it becomes
                # (the exact remainder is settled on the last fx step at the close)
                spread = (self._to_sent(m.value, source, S) - self._to_sent(new, target, S))
                if not sold:
                    sold.extend((end, self._to_sent(m.value, source, S)))
                step(("fx", bid, end, end + _FX_SECONDS, spread, S, text))
                end += _FX_SECONDS
                m.value, m.currency, m.has_fx = new, target, True
            if stp:
                # straight-through credit: the same processor credits the account at once
                ben_fee = charge_beneficiary(x.bank)
                if ben_fee is None:
                    x.processors.hold_until(end)
                    fail("returned", "charges exceed the amount at the beneficiary bank",
                         bid, x.bank, end)
                    return
                med, sig = x.stp_seconds
                c_end = end + med * exp(sig * Z[o + _Z_CREDIT])
                text = _CREDIT_TEXT[("straight-through credit", our)]
                if ben_fee and m.currency != S:
                    text = text + self._own_amount(ben_fee, m.currency)
                step(("credit", bid, end, c_end, m.beneficiary_sent, S, text))
                end = c_end
            x.processors.hold_until(end)
            if x.is_ben:
                break
            # 5. nostro liquidity and transit
            leg = x.leg
            assert leg is not None
            nos = x.nostro
            t = end
            if nos is not None:
                # a shared balance: move the funds at their true instant
                if end > env.now:
                    yield env.timeout(end - env.now)
                nos.refresh(t)
                if leg.debit:
                    waited = False
                    while nos.balance < m.value:
                        w = nos.next_window(env.now)
                        yield env.timeout(w - env.now)
                        nos.refresh(env.now)
                        if nos.balance < m.value:
                            # treasury funds the shortfall at the window
                            record(nos.rid, env.now, m.value - nos.balance, None)
                            nos.balance = m.value
                        waited = True
                    if waited:
                        step(("nostro_wait", bid, t, env.now, 0, S,
                              f"nostro of {leg.account.owner} at {leg.account.servicer} "
                              f"({m.currency}) short of {format_minor(m.value, m.currency)}"
                              "; funded at the next window"))
                        t = env.now
                    nos.balance -= m.value
                    record(x.account_id, t, -m.value, pid)
                else:
                    nos.balance += m.value
                    record(x.account_id, t, m.value, pid)
            else:   # an unlimited account: its position moves all the same
                record(x.account_id, t, -m.value if leg.debit else m.value, pid)
            med, sig = x.transit
            arrival = t + med * exp(sig * Z[o + _Z_LEG])
            step(("transit", leg.receiver, t, arrival, 0, S, x.transit_text))

        # beneficiary bank: batch or manual crediting after the processor is released
        x = plan[-1]
        if not stp:
            t = end
            ben_fee = charge_beneficiary(x.bank)
            if ben_fee is None:
                fail("returned", "charges exceed the amount at the beneficiary bank", x.bid,
                     x.bank, t)
                return
            med, sig = x.manual_hours
            hours = med * exp(sig * Z[x.o + _Z_CREDIT])
            end = x.cal.add_business_seconds(t, hours * 3600.0)
            text = _CREDIT_TEXT[(f"batch/manual credit ({hours:.1f} business h)", our)]
            if ben_fee and m.currency != S:
                text = text + self._own_amount(ben_fee, m.currency)
            step(("credit", x.bid, t, end, m.beneficiary_sent, S, text))
        delivered = m.value
        if sold:   # the bought currency is final once it reaches the beneficiary bank
            self.bal.risk(pid, int(sold[1]), sold[0], max(arrival, sold[0] + _FX_SECONDS))
        rec = close_accounts(
            pid, RAIL, p.corridor, p.sender_bank, p.beneficiary_bank, charge,
            m.paid_in, S, delivered, m.currency, p.created_at, end, "credited", None, hops,
            {"sender_bank": m.sender_fee_sent, "lifting": m.lifting_sent,
             "beneficiary_bank": m.beneficiary_sent},
            self._to_sent(delivered, m.currency, S), m.has_fx)
        if m.has_fx:
            _settle_spread(rows, rec.fee_total_sent)
        out.add_steps(pid, rows)
        out.add_payment(rec)


def _settle_spread(rows: list[tuple[Any, ...]], fee_total: int) -> None:
    """Make the steps' costs sum to the payment's ``fee_total_sent``: the FX spread is an
    exact remainder of the accounts (margins and the residues of every conversion), so
    the last ``fx`` step takes what the steps' own estimates leave of it."""
    diff = fee_total - sum([r[4] for r in rows])
    if diff:
        i = max(i for i, r in enumerate(rows) if r[0] == "fx")
        r = rows[i]
        rows[i] = (*r[:4], r[4] + diff, *r[5:])


def account_name(acc: Account) -> str:
    """The balances' name of a nostro account: ``nostro:<owner>@<servicer>:<currency>``."""
    return f"nostro:{acc.owner}@{acc.servicer}:{acc.currency}"


def _currencies(network: BankNetwork, workload: Workload) -> list[str]:
    """Every currency the run's payments and accounts are in."""
    return sorted({a.currency for a in network.accounts.values()}
                  | {p.currency_sent for p in workload} | {p.currency_delivered
                                                           for p in workload})


def _no_record(account: int, t: float, delta: int, payment_id: str | None) -> None:
    """A nostro's record before the rail opens it in the balances."""


def open_accounts(builder: ResultsBuilder, network: BankNetwork, t0: float) -> BalanceRecorder:
    """The builder's balances' record (a switched-off one if it has none), with every
    account of ``network`` open at ``t0``: a limited account at its balance (never
    overdrawn), an unlimited one at zero (its position: it may go below)."""
    rec = builder.balances or BalanceRecorder(RAIL, {}, enabled=False)
    for key, acc in network.accounts.items():
        bal = network.balance_minor[key]
        rec.open(account_name(acc), acc.owner, acc.currency, bal or 0, t0,
                 floor=bal is not None, prefunded=bal is not None)
    return rec


def run(network: BankNetwork | None = None, workload: Workload | None = None, seed: int = 0,
        *, policy: str = "fewest_hops", via: str | None = None,
        events: EventSchedule | None = None, rates: Mapping[str, float] | None = None,
        balances: bool = True) -> Results:
    """Run ``workload`` through the correspondent rail; deterministic given ``seed``.

    Parameters
    ----------
    network : default :meth:`BankNetwork.default`
    workload : default ``Workload.generate(seed=seed, n_payments=1000, network=network)``
    seed : seeds the rail's per-payment draws
    policy, via : routing (``"fewest_hops"`` or ``"cheapest"``; a named intermediary)
    events : stress and failure events (:class:`~sim.events.EventSchedule`; default none)
    rates : opportunity rates per currency (default ``sim/data/rates.toml``)
    balances : record the accounts' balances (``Results.balances``, the liquidity and
        risk columns); ``False`` leaves them out (zeros)

    Returns
    -------
    Results
        ``payments`` ordered by payment index, ``steps`` by payment then ``seq``.
    """
    network = network or BankNetwork.default()
    if workload is None:
        workload = Workload.generate(seed=seed, n_payments=1000, network=network)
    start = min([workload.start] + [p.created_at for p in workload.payments[:1]])
    env = simpy.Environment(initial_time=start)
    builder = ResultsBuilder(RAIL, BalanceRecorder(
        RAIL, load_rates(overrides=rates), enabled=balances, fx=network.fx.rate))
    rail = CorrespondentRail(env, network, seed, builder, policy=policy, via=via,
                             events=events)
    rail.submit(workload)
    with paused_gc():
        env.run()
        for nos in rail.nostros.values():
            rail.bal.expect(nos.rid, nos.balance)
        res = builder.build(order=[p.payment_id for p in workload])
    res.meta.update({"calendars": country_calendars(network), "seed": seed,
                     "network": network.name, "usd_per_minor": usd_factors(
                         _currencies(network, workload), network.fx.rate)})
    return res
