"""Stress and failure events: what breaks, where and when, as both rails read it.

A scenario's ``[[events]]`` (validated and resolved by
:mod:`sim.experiments.components`) become :class:`Event` objects on the model's
clock (POSIX seconds), gathered in an :class:`EventSchedule` that each rail asks,
at the instants it matters, whether something it depends on is down:

``bank_outage``
    the bank processes nothing from ``start`` for ``hours``; payments wait at its
    door and, after the event's ``return_after_hours``, are returned with the reason;
``chain_halt``
    the chain produces no blocks; transactions wait in the mempool and deadlines
    may pass (the contracts then decide: refunds);
``issuer_freeze``
    a stablecoin's issuer stops minting and redeeming (its ramps close and its
    minter is removed, so the token contract itself refuses mint and burn); the
    token's secondary-market price follows ``price_path``; a bank holding it in
    flight waits for the issuer or sells at that price (``policy`` per bank);
``sanction``
    from ``at`` a bank (or an on-chain account) is sanctioned: the stablecoins
    blacklist its account (the contracts refuse every transfer from or to it)
    and the correspondent rail freezes the funds it holds; upstream screening
    returns payments routed to it;
``fx_provider_outage``
    the on-chain FX provider stops quoting;
``congestion``
    a gas spike (the short form ``[[congestion]]`` of scenario files is one).

Instants are ``start <= t < end``. The schedule answers in constant time when no
event concerns the bank, chain or currency asked about (the rails' hot paths ask
often), so a scenario's events cost nothing where they do not apply.

>>> e = Event(0, "bank_outage", 100.0, 200.0, "GCUSUS33")
>>> s = EventSchedule([e])
>>> s.outage("GCUSUS33", 150.0) is e, s.outage("GCUSUS33", 200.0), s.outage("X", 150.0)
(True, None, None)
"""

from __future__ import annotations

import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime

__all__ = ["EVENT_FIELDS", "EVENT_KINDS", "Event", "EventSchedule", "policies_table"]

#: Every kind of event a scenario may hold, in the order the docs list them.
EVENT_KINDS: tuple[str, ...] = ("bank_outage", "chain_halt", "issuer_freeze", "sanction",
                                "fx_provider_outage", "congestion")


#: what each event kind takes besides ``kind`` and ``source`` (required, then optional)
EVENT_FIELDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "bank_outage": (("bank", "start", "hours"), ("return_after_hours",)),
    "chain_halt": (("start", "hours"), ("chain",)),
    "issuer_freeze": (("currency", "start", "hours"), ("price_path", "policy", "policies")),
    "sanction": (("at",), ("bank", "account", "hours")),
    "fx_provider_outage": (("start", "hours"), ()),
    "congestion": (("start", "hours", "utilisation"), ("chain",)),
}



def _utc(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%MZ")


@dataclass(frozen=True, slots=True)
class Event:
    """One event on the model's clock (POSIX seconds, ``start <= t < end``).

    ``target`` is what it strikes: a bank id (``bank_outage``, ``sanction`` of a
    bank), a chain profile's name (``chain_halt``, ``congestion``), a currency
    (``issuer_freeze``), an on-chain account name (``sanction`` of an account,
    ``bank:<id>``) or ``""`` (``fx_provider_outage``). ``end`` is
    ``math.inf`` for a sanction that is not lifted.
    """

    index: int
    kind: str
    start: float
    end: float
    target: str = ""
    source: str = ""
    return_after_s: float | None = None
    price_path: tuple[tuple[float, float], ...] = ()
    policy: str = "wait"
    policies: tuple[tuple[str, str], ...] = ()
    utilisation: float = 0.0
    on_chain_only: bool = False
    label: str = field(default="", compare=False)

    def __post_init__(self) -> None:
        if not self.label:
            hours = "until the end" if math.isinf(self.end) else \
                f"{(self.end - self.start) / 3600:g} h"
            what = f"{self.kind} {self.target}".strip()
            object.__setattr__(self, "label",
                               f"event {self.index} ({what}, {_utc(self.start)}, {hours})")

    def active(self, t: float) -> bool:
        """Whether the event is on at ``t``."""
        return self.start <= t < self.end

    def policy_of(self, bank_id: str) -> str:
        """``"wait"`` or ``"sell"``: what ``bank_id`` does with the frozen stablecoin."""
        for b, p in self.policies:
            if b == bank_id:
                return p
        return self.policy

    def price_at(self, t: float) -> float:
        """The stablecoin's secondary-market price at ``t`` (USD per token, 1 at par):
        linear between the path's points, the nearest point's price before the first and
        after the last, and par with no path.

        >>> e = Event(0, "issuer_freeze", 0.0, 100.0, "USD",
        ...           price_path=((0.0, 0.9), (50.0, 0.8), (100.0, 1.0)))
        >>> e.price_at(25.0), e.price_at(75.0), e.price_at(200.0)
        (0.85, 0.9, 1.0)
        """
        path = self.price_path
        if not path:
            return 1.0
        if t <= path[0][0]:
            return path[0][1]
        if t >= path[-1][0]:
            return path[-1][1]
        i = bisect_right([p[0] for p in path], t)
        (t0, p0), (t1, p1) = path[i - 1], path[i]
        return p0 + (p1 - p0) * (t - t0) / (t1 - t0)


def _index(events: Iterable[Event]) -> dict[str, tuple[Event, ...]]:
    out: dict[str, list[Event]] = {}
    for e in events:
        out.setdefault(e.target, []).append(e)
    return {k: tuple(sorted(v, key=lambda e: e.start)) for k, v in out.items()}


def _covering(events: tuple[Event, ...] | None, t: float) -> Event | None:
    if events is None:
        return None
    for e in events:
        if e.start <= t < e.end:
            return e
    return None


class EventSchedule:
    """A scenario's events, indexed for the rails' questions (see the module's doc).

    ``EventSchedule(())`` (or :meth:`none`) has no events; it is falsy.
    """

    __slots__ = ("_fx", "_freezes", "_halts", "_outages", "_sanctions", "events")

    def __init__(self, events: Iterable[Event] = ()) -> None:
        self.events: tuple[Event, ...] = tuple(sorted(events, key=lambda e: e.index))
        by = {k: [e for e in self.events if e.kind == k] for k in EVENT_KINDS}
        self._outages = _index(by["bank_outage"])
        self._halts = _index(by["chain_halt"])
        self._freezes = _index(by["issuer_freeze"])
        self._sanctions = _index(by["sanction"])
        self._fx = tuple(sorted(by["fx_provider_outage"], key=lambda e: e.start))

    @classmethod
    def none(cls) -> EventSchedule:
        """The schedule without events (a twin run's)."""
        return cls(())

    def __bool__(self) -> bool:
        return bool(self.events)

    def __len__(self) -> int:
        return len(self.events)

    def of_kind(self, *kinds: str) -> tuple[Event, ...]:
        """The events of these kinds, in index order."""
        return tuple(e for e in self.events if e.kind in kinds)

    # -- the rails' questions -----------------------------------------------------
    def outages_of(self, bank_id: str) -> tuple[Event, ...] | None:
        """The bank's outages by start (``None``: it has none): rails keep this per stop."""
        return self._outages.get(bank_id)

    def outage(self, bank_id: str, t: float) -> Event | None:
        """The outage of ``bank_id`` at ``t``, if any."""
        return _covering(self._outages.get(bank_id), t)

    def halt(self, chain: str, t: float) -> Event | None:
        """The halt of chain profile ``chain`` at ``t``, if any."""
        return _covering(self._halts.get(chain), t)

    def halts_of(self, chain: str) -> tuple[Event, ...]:
        """Every halt of ``chain``, by start."""
        return self._halts.get(chain, ())

    def freeze(self, currency: str, t: float) -> Event | None:
        """The freeze of ``currency``'s stablecoin issuer at ``t``, if any."""
        return _covering(self._freezes.get(currency), t)

    def freezes_of(self, currency: str) -> tuple[Event, ...]:
        """Every freeze of ``currency``'s issuer, by start."""
        return self._freezes.get(currency, ())

    def fx_outage(self, t: float) -> Event | None:
        """The FX provider's outage at ``t``, if any."""
        return _covering(self._fx or None, t)

    def sanction(self, party: str, t: float) -> Event | None:
        """The sanction on ``party`` (a bank id, or an on-chain account name) in force
        at ``t``, if any."""
        return _covering(self._sanctions.get(party), t)

    def sanctions_of(self, party: str) -> tuple[Event, ...]:
        """Every sanction on ``party``, by start."""
        return self._sanctions.get(party, ())

    def sanctioned_parties(self) -> tuple[str, ...]:
        """Every party a sanction names."""
        return tuple(sorted(self._sanctions))

    def describe(self) -> list[dict[str, object]]:
        """The events as plain data (``summary.json``'s ``events`` list)."""
        out: list[dict[str, object]] = []
        for e in self.events:
            d: dict[str, object] = {
                "index": e.index, "kind": e.kind, "target": e.target,
                "start": _utc(e.start), "end": None if math.isinf(e.end) else _utc(e.end),
                "hours": None if math.isinf(e.end) else (e.end - e.start) / 3600,
                "label": e.label, "source": e.source}
            out.append(d)
        return out


def policies_table(policies: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A bank -> policy mapping as the sorted pairs :class:`Event` keeps (hashable)."""
    return tuple(sorted(policies.items()))
