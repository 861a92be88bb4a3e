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
>>> from sim.network import BankNetwork
>>> from sim.workload import Workload
>>> net = BankNetwork.default()
>>> r = run(net, Workload.generate(seed=1, n_payments=20, network=net), seed=1)
>>> len(r.payments), set(r.payments.rail)
(20, {'correspondent'})
"""

from __future__ import annotations

import gc
from collections import deque
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import simpy

from sim.calendar import BusinessCalendar, parse_clock
from sim.money import convert, convert_for_reporting, format_minor, minor_exponent
from sim.network import Account, Bank, BankNetwork, Conversion, Route, RoutingError
from sim.results import Results, ResultsBuilder, close_accounts
from sim.workload import Payment, Workload, arrivals

__all__ = ["CorrespondentRail", "PaymentDraws", "RAIL", "country_calendars", "run"]

RAIL = "correspondent"
_SLOTS = 8          # draws per bank of a route, per kind (uniform, normal)
_MAX_BANKS = 8      # routes longer than this reuse draws cyclically
_CHUNK = 2048       # payments per block of draws
_STREAM = 0x5357    # spawn key separating this rail's draws from other uses of the seed

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


class PaymentDraws:
    """Per-payment random sub-streams: payment ``i`` always gets the same numbers.

    Draws are made in blocks of ``_CHUNK`` payments from
    ``SeedSequence(seed, spawn_key=(stream, block))``; a payment reads its own row.
    """

    def __init__(self, seed: int, stream: int = _STREAM) -> None:
        self.seed, self.stream = seed, stream
        self._cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}

    def _block(self, b: int) -> tuple[np.ndarray, np.ndarray]:
        blk = self._cache.get(b)
        if blk is None:
            if len(self._cache) >= 4:
                self._cache.pop(next(iter(self._cache)))
            ss = np.random.SeedSequence(self.seed, spawn_key=(self.stream, b))
            g = np.random.Generator(np.random.PCG64(ss))
            width = _SLOTS * _MAX_BANKS
            blk = (g.random((_CHUNK, width)), g.standard_normal((_CHUNK, width)))
            self._cache[b] = blk
        return blk

    def row(self, i: int, banks: int = _MAX_BANKS) -> tuple[list[float], list[float]]:
        """Uniforms and standard normals of payment ``i`` for a route of ``banks`` banks."""
        u, z = self._block(i // _CHUNK)
        w = _SLOTS * min(banks, _MAX_BANKS)
        r = i % _CHUNK
        return u[r, :w].tolist(), z[r, :w].tolist()


class _Processors:
    """A bank's processing capacity: taken at once while a processor is free, else
    a FIFO queue. Cheaper than a ``simpy.Resource``, which spends two events per
    payment and bank even when nobody waits."""

    __slots__ = ("env", "free", "waiting")

    def __init__(self, env: simpy.Environment, capacity: int) -> None:
        self.env = env
        self.free = capacity
        self.waiting: deque[simpy.Event] = deque()

    def acquire(self) -> simpy.Event | None:
        """None when a processor was free and is now taken; else the event of one's turn."""
        if self.free > 0 and not self.waiting:
            self.free -= 1
            return None
        turn = self.env.event()
        self.waiting.append(turn)
        return turn

    def release(self) -> None:
        """Hand the processor to the first payment waiting, or free it."""
        if self.waiting:
            self.waiting.popleft().succeed()
        else:
            self.free += 1


class _Nostro:
    """Balance of one limited account and its funding windows (servicer's calendar)."""

    __slots__ = ("account", "balance", "target", "cal", "times", "next_at", "currency")

    def __init__(self, account: Account, balance: int, cal: BusinessCalendar, t0: float) -> None:
        self.account = account
        self.balance = balance
        self.target = balance
        self.cal = cal
        self.times = [parse_clock(t) for t in account.funding_times]
        self.currency = account.currency
        self.next_at = self.next_window(t0)

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
            self.balance = max(self.balance, self.target)
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


def country_calendars(network: BankNetwork) -> dict[str, BusinessCalendar]:
    """A full-day business calendar per country (time zone of its first bank), for KPIs."""
    out: dict[str, BusinessCalendar] = {}
    for b in network.banks.values():
        if b.country not in out:
            out[b.country] = BusinessCalendar(b.timezone, b.country, opens="00:00",
                                              closes="24:00")
    return out


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
                 via: str | None = None) -> None:
        self.env = env
        self.net = network
        self.fx = network.fx
        self.draws = PaymentDraws(seed)
        self.out = builder or ResultsBuilder(RAIL)
        self.policy, self.via = policy, via
        self.resources = {bid: _Processors(env, b.capacity)
                          for bid, b in network.banks.items()}
        self.nostros: dict[tuple[str, str, str], _Nostro] = {}
        t0 = float(env.now)
        for key, acc in network.accounts.items():
            bal = network.balance_minor[key]
            if bal is not None:
                self.nostros[key] = _Nostro(acc, bal, network.bank(acc.servicer).calendar, t0)
        self._rates: dict[tuple[str, str, str, str], Decimal] = {}
        self._fixed_fee: dict[tuple[str, str, str, str], int | None] = {}
        self._text: dict[Any, str] = {}
        self._scaled: dict[tuple[str, str], Decimal] = {}
        self._fee_cache: dict[tuple[int, str, str], int] = {}
        self._conv_cache: dict[int, tuple[Route, tuple[tuple[Conversion, ...], ...]]] = {}

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

    def _convs(self, route: Route) -> tuple[tuple[Conversion, ...], ...]:
        """Conversions of ``route`` by position (cached per route object)."""
        c = self._conv_cache.get(id(route))
        if c is None or c[0] is not route:
            c = self._conv_cache[id(route)] = (route, tuple(
                route.conversions_at(i) for i in range(len(route.banks))))
        return c[1]

    def _customer_rate(self, bank: Bank, source: str, target: str, segment: str) -> Decimal:
        key = (bank.id, source, target, segment)
        r = self._rates.get(key)
        if r is None:
            spread = getattr(bank.fx_spread_percent, segment)
            r = self.fx.rate(source, target) * (Decimal(1) - spread / Decimal(100))
            self._rates[key] = r
        return r

    def _fee_in(self, bank: Bank, kind: str, p: Payment, value: int, currency: str) -> int:
        """A bank's fee for this payment, in minor units of ``currency`` (half to even)."""
        key = (bank.id, kind, p.segment, currency)
        fixed = self._fixed_fee.get(key, -1)
        if fixed is None or fixed == -1:
            rule = getattr(getattr(bank, kind), p.segment)
            if fixed == -1 and rule.percent == 0:
                # amount-independent: compute once
                fixed = self._fixed_fee[key] = self._fee_in_uncached(bank, kind, p, value,
                                                                     currency)
                return fixed
            self._fixed_fee[key] = None
            return self._fee_in_uncached(bank, kind, p, value, currency)
        return fixed

    def _fee_in_uncached(self, bank: Bank, kind: str, p: Payment, value: int,
                         currency: str) -> int:
        fee_bank_ccy = bank.fee(kind, p.segment, value, currency, self.fx)  # type: ignore[arg-type]
        return convert_for_reporting(fee_bank_ccy, bank.currency, currency,
                                     self.fx.rate(bank.currency, currency))

    # -- the process -----------------------------------------------------------
    def submit(self, payments: Iterable[Payment]) -> simpy.Process:
        """Start a source process that releases each payment at its ``created_at``."""
        return self.env.process(self._source(list(payments)))

    def _source(self, payments: list[Payment]) -> Iterator[Any]:
        return arrivals(self.env, payments, self.process)

    def process(self, p: Payment) -> Generator[Any, Any, None]:  # noqa: C901
        """The SimPy process of one payment; writes its steps and its payments row."""
        env, net, out, pid = self.env, self.net, self.out, p.payment_id
        rows: list[tuple[Any, ...]] = []   # (kind, place, start, end, cost, currency, detail)
        step = rows.append

        S = p.currency_sent
        try:
            route: Route = net.route(p.sender_bank, p.beneficiary_bank, S, p.currency_delivered,
                                     policy=self.policy, via=self.via, segment=p.segment)
        except RoutingError as exc:
            reason = f"unroutable: {exc}"
            step(("return", p.sender_bank, env.now, env.now, 0, S, reason))
            out.add_steps(pid, rows)
            out.add_payment(close_accounts(
                pid, RAIL, p.corridor, p.sender_bank, p.beneficiary_bank, p.charge_option, 0, S,
                0, p.currency_delivered, p.created_at, None, "failed", reason, 0, {}))
            return
        banks = route.banks
        U, Z = self.draws.row(p.index, len(banks))
        convs = self._convs(route)
        last = len(banks) - 1
        sender = net.banks[banks[0]]
        f0 = self._fee_in(sender, "sender_fee", p, p.amount, S)
        if p.charge_option == "BEN":
            f0 = min(f0, p.amount)  # the bank cannot take more than the amount
            m = _Money(p.amount - f0, S, p.amount, f0)
        else:
            m = _Money(p.amount, S, p.amount + f0, f0)
        hops = route.intermediaries

        def fail(status: str, reason: str, place: str, refund_rate_bank: Bank | None) -> None:
            refund = m.value
            if m.currency != S and refund > 0:
                assert refund_rate_bank is not None
                refund = convert(m.value, m.currency, S, self._customer_rate(
                    refund_rate_bank, m.currency, S, p.segment))
            refund = max(refund, 0)
            step(("return", place, env.now, env.now, refund, S,
                  f"{reason}; {format_minor(refund, S)} returned to the ordering customer"))
            out.add_steps(pid, rows)
            fees = {"sender_bank": m.sender_fee_sent, "lifting": m.lifting_sent,
                    "beneficiary_bank": m.beneficiary_sent}
            out.add_payment(close_accounts(
                pid, RAIL, p.corridor, p.sender_bank, p.beneficiary_bank, p.charge_option,
                m.paid_in - refund, S, 0, p.currency_delivered, p.created_at, None, status,
                reason, hops, fees, 0, m.has_fx or m.currency != S))

        if m.value <= 0:
            fail("returned", "charges exceed the amount", banks[0], None)
            return

        def charge_beneficiary(ben: Bank) -> int | None:
            """The beneficiary bank's fee in the value's currency; None if it exceeds it."""
            fee = self._fee_in(ben, "beneficiary_fee", p, m.value, m.currency)
            if p.charge_option != "OUR" and fee >= m.value:
                return None
            fee_s = self._fee_to_sent(fee, m.currency, S)
            m.beneficiary_sent = fee_s
            if p.charge_option == "OUR":
                m.paid_in += fee_s
            else:
                m.value -= fee
            return fee

        arrival = env.now   # when the payment (message and funds) reaches the next bank
        stp = False
        for i, bid in enumerate(banks):
            bank = net.banks[bid]
            cal = bank.calendar
            o = _SLOTS * (i % _MAX_BANKS)
            is_ben = i == last
            stp = is_ben and U[o + _U_STP] < bank.credit.stp_share
            # 1. operating hours and cut-off (one sleep covers the transit that led here too)
            start = arrival
            if not (stp and bank.credit.outside_hours):
                start, why = cal.next_accepting(arrival)
                if start > arrival:
                    step(("cutoff_wait", bid, arrival, start, 0, None, why))
            if start > env.now:
                yield env.timeout(start - env.now)
            # 2. capacity
            t = env.now
            processors = self.resources[bid]
            turn = processors.acquire()
            if turn is not None:
                yield turn
            try:
                if env.now > t:
                    step(("queue", bid, t, env.now, 0, None, ""))
                # 3. screening, 4. processing and conversion: the bank works on the payment
                # without interruption while it holds a processor, so the steps are laid out
                # back to back and the process sleeps once until the last one ends.
                t = env.now
                end = t + bank.screening_seconds.sample(Z[o + _Z_SCREEN])
                if U[o + _U_REVIEW] < bank.review_share:
                    hours = bank.review_hours.sample(Z[o + _Z_REVIEW])
                    end = cal.add_business_seconds(end, hours * 3600.0)
                    rejected = U[o + _U_REJECT] < bank.review_reject_share
                    verdict = "rejected" if rejected else "released"
                    step(("screening", bid, t, end, 0, None,
                          f"manual review ({hours:.1f} business h): {verdict}"))
                    if rejected:
                        yield env.timeout(end - t)
                        fail("returned", f"rejected in compliance screening at {bid}", bid, bank)
                        return
                else:
                    step(("screening", bid, t, end, 0, None, "automated"))
                if not is_ben:
                    start, end = end, end + bank.processing_seconds.sample(Z[o + _Z_PROC])
                    if i == 0:
                        step(("processing", bid, start, end, f0, S,
                              _ORDERING_TEXT[p.charge_option]))
                    else:
                        leg_in = route.legs[i - 1]
                        fee = net.lifting_fee_minor[leg_in.account.key]
                        if p.charge_option != "OUR":
                            fee = min(fee, m.value)  # cannot deduct more than is left
                        fee_s = self._fee_to_sent(fee, m.currency, S)
                        m.lifting_sent += fee_s
                        if p.charge_option == "OUR":
                            m.paid_in += fee_s
                        else:
                            m.value -= fee
                        step(("processing", bid, start, end, fee, m.currency,
                              _LIFTING_TEXT[p.charge_option]))
                        if m.value <= 0:
                            yield env.timeout(end - t)
                            fail("returned", f"charges exceed the amount at {bid}", bid, bank)
                            return
                for conv in convs[i]:
                    rate = self._customer_rate(bank, conv.source, conv.target, p.segment)
                    new = convert(m.value, conv.source, conv.target, rate)
                    back = self._to_sent(new, conv.target, conv.source)
                    text = self._text.get((conv, p.segment))
                    if text is None:
                        text = self._text[(conv, p.segment)] = (
                            f"{conv.source}->{conv.target} at {rate:.6f} "
                            f"(mid {self.fx.rate(conv.source, conv.target):.6f})")
                    step(("fx", bid, end, end + _FX_SECONDS, m.value - back, conv.source, text))
                    end += _FX_SECONDS
                    m.value, m.currency, m.has_fx = new, conv.target, True
                if stp:
                    # straight-through credit: the same processor credits the account at once
                    fee = charge_beneficiary(bank)
                    if fee is None:
                        yield env.timeout(end - t)
                        fail("returned", "charges exceed the amount at the beneficiary bank",
                             bid, bank)
                        return
                    c_end = end + bank.credit.stp_seconds.sample(Z[o + _Z_CREDIT])
                    step(("credit", bid, end, c_end, fee, m.currency,
                          _CREDIT_TEXT[("straight-through credit", p.charge_option == "OUR")]))
                    end = c_end
                yield env.timeout(end - t)
            finally:
                processors.release()
            if is_ben:
                break
            # 5. nostro liquidity and transit
            leg = route.legs[i]
            key = leg.account.key
            nos = self.nostros.get(key)
            if nos is not None:
                t = env.now
                nos.refresh(t)
                if leg.debit:
                    waited = False
                    while nos.balance < m.value:
                        w = nos.next_window(env.now)
                        yield env.timeout(w - env.now)
                        nos.refresh(env.now)
                        if nos.balance < m.value:
                            nos.balance = m.value  # treasury funds the shortfall at the window
                        waited = True
                    if waited:
                        step(("nostro_wait", bid, t, env.now, 0, None,
                              f"nostro of {leg.account.owner} at {leg.account.servicer} "
                              f"({m.currency}) short of {format_minor(m.value, m.currency)}"
                              "; funded at the next window"))
                    nos.balance -= m.value
                else:
                    nos.balance += m.value
            t = env.now
            arrival = t + leg.account.processing_seconds.sample(Z[o + _Z_LEG])
            tkey = (leg.sender, leg.receiver, leg.currency, leg.debit)
            text = self._text.get(tkey)
            if text is None:
                text = self._text[tkey] = (
                    f"{leg.sender}->{leg.receiver} {m.currency} "
                    f"({'debit' if leg.debit else 'credit'} of {leg.account.owner}'s "
                    f"account at {leg.account.servicer})")
            step(("transit", leg.receiver, t, arrival, 0, None, text))

        # beneficiary bank: batch or manual crediting after release of the processor
        ben = net.banks[banks[last]]
        if not stp:
            t = env.now
            fee = charge_beneficiary(ben)
            if fee is None:
                fail("returned", "charges exceed the amount at the beneficiary bank", ben.id, ben)
                return
            o = _SLOTS * (last % _MAX_BANKS)
            hours = ben.credit.manual_hours.sample(Z[o + _Z_CREDIT])
            end = ben.calendar.add_business_seconds(t, hours * 3600.0)
            yield env.timeout(end - t)
            step(("credit", ben.id, t, end, fee, m.currency,
                  _CREDIT_TEXT[(f"batch/manual credit ({hours:.1f} business h)",
                                p.charge_option == "OUR")]))
        delivered = m.value
        out.add_steps(pid, rows)
        out.add_payment(close_accounts(
            pid, RAIL, p.corridor, p.sender_bank, p.beneficiary_bank, p.charge_option,
            m.paid_in, S, delivered, m.currency, p.created_at, env.now, "credited", None, hops,
            {"sender_bank": m.sender_fee_sent, "lifting": m.lifting_sent,
             "beneficiary_bank": m.beneficiary_sent},
            self._to_sent(delivered, m.currency, S), m.has_fx))


def run(network: BankNetwork | None = None, workload: Workload | None = None, seed: int = 0,
        *, policy: str = "fewest_hops", via: str | None = None) -> Results:
    """Run ``workload`` through the correspondent rail; deterministic given ``seed``.

    Parameters
    ----------
    network : default :meth:`BankNetwork.default`
    workload : default ``Workload.generate(seed=seed, n_payments=1000, network=network)``
    seed : seeds the rail's per-payment draws
    policy, via : routing (``"fewest_hops"`` or ``"cheapest"``; a named intermediary)

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
    builder = ResultsBuilder(RAIL)
    rail = CorrespondentRail(env, network, seed, builder, policy=policy, via=via)
    rail.submit(workload)
    # The run allocates millions of small objects that refcounting frees; the cyclic
    # collector's passes over the growing result rows only cost time (measured: same
    # peak memory with it paused), so it is paused for the run and restored after.
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        env.run()
    finally:
        if was_enabled:
            gc.enable()
    res = builder.build(order=[p.payment_id for p in workload])
    res.meta.update({"calendars": country_calendars(network), "seed": seed,
                     "network": network.name})
    return res
