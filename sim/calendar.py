"""Business calendars: when a bank (or a ramp) is open, in its own time zone.

Simulation time everywhere in :mod:`sim` is **POSIX seconds in UTC** (a ``float``,
seconds since 1970-01-01T00:00Z), so a SimPy ``Environment`` can start at the
workload's first instant and every place converts to its own wall clock through
:mod:`zoneinfo` only when it needs to. This makes daylight-saving changes and the
date line a matter of the IANA database, not of the model: a Friday 16:00 in
New York is Saturday 10:00 in Apia, and that place is closed for the weekend.

A :class:`BusinessCalendar` knows a place's opening hours, its same-day cut-off,
its weekend and its public holidays (from the ``holidays`` package, by country;
weekends come from the same package and can depend on the date, e.g. the UAE
rested Friday–Saturday until 2021 and Saturday–Sunday from 1 January 2022).

Examples
--------
>>> from datetime import datetime, timezone
>>> ny = BusinessCalendar("America/New_York", "US", opens="09:00", closes="18:00", cutoff="17:00")
>>> thu = to_timestamp(datetime(2025, 11, 27, 15, 0, tzinfo=UTC))  # Thanksgiving
>>> start, why = ny.next_accepting(thu)
>>> utc(start).isoformat(), why
('2025-11-28T14:00:00+00:00', 'holiday: Thanksgiving Day')
"""

from __future__ import annotations

import difflib
import re
import warnings
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

import holidays

from sim.errors import InputError

__all__ = [
    "EARLIEST",
    "LATEST",
    "SETTLE_MARGIN_DAYS",
    "BusinessCalendar",
    "CalendarError",
    "DayWindow",
    "clock_problem",
    "holiday_coverage",
    "holiday_problems",
    "parse_clock",
    "to_timestamp",
    "utc",
]

_MAX_SCAN_DAYS = 400


#: The first instant the model's clocks represent: POSIX second 0 (block timestamps
#: of the chain are unsigned).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
#: The last: the tables' nanosecond timestamps end in April 2262, and a year is left
#: for the last payments to settle.
LATEST = datetime(2261, 1, 1, tzinfo=UTC)
#: Days after a horizon's end its payments may still be settling; the holiday data
#: must cover them too.
SETTLE_MARGIN_DAYS = 31


class CalendarError(InputError):
    """A calendar that cannot be built or has no business day to offer."""


def clock_problem(start: datetime, end: datetime) -> str | None:
    """Why the instants ``start``..``end`` cannot be simulated, or ``None``.

    >>> print(clock_problem(datetime(1969, 12, 31, tzinfo=UTC), datetime(1970, 1, 2, tzinfo=UTC)))
    starts 1969-12-31T00:00:00Z, before 1970-01-01T00:00:00Z, the first instant the model represents
    >>> clock_problem(datetime(2025, 1, 1, tzinfo=UTC), datetime(2025, 1, 8, tzinfo=UTC)) is None
    True
    """
    def iso(d: datetime) -> str:
        return d.astimezone(UTC).isoformat().replace("+00:00", "Z")

    if start < EARLIEST:
        return (f"starts {iso(start)}, before {iso(EARLIEST)}, the first instant the model "
                "represents")
    if end > LATEST:
        return (f"ends {iso(end)}, after {iso(LATEST)}, the last instant the model "
                "represents")
    return None


@lru_cache(maxsize=128)
def _holidays_range(country: str, subdiv: str | None) -> tuple[int, int] | None:
    try:
        h = holidays.country_holidays(country, subdiv=subdiv)
    except NotImplementedError:
        return None
    return int(h.start_year), int(h.end_year)


@lru_cache(maxsize=2048)
def _year_warning(country: str, subdiv: str | None, year: int) -> str | None:
    """The warning ``holidays`` gives for ``year`` (some of its data, such as lunar
    holidays, covers fewer years than the country), or ``None``."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            holidays.country_holidays(country, subdiv=subdiv, years=year)
        except NotImplementedError:
            return None
    return str(caught[0].message) if caught else None


def holiday_coverage(country: str, subdiv: str | None = None,
                     years: Iterable[int] = ()) -> tuple[tuple[int, int] | None, list[int]]:
    """``((first, last), uncovered)``: the years the ``holidays`` data of ``country``
    covers, and which of ``years`` fall outside (``(None, [])`` for a country the
    package does not know, which :class:`BusinessCalendar` refuses on its own).

    >>> holiday_coverage("US", years=[2025, 2150])
    ((1777, 2100), [2150])
    >>> holiday_coverage("IN", years=[1999, 2030])
    ((2001, 2035), [1999])
    """
    rng = _holidays_range(country, subdiv)
    if rng is None:
        return None, []
    first, last = rng
    # a narrower range (e.g. lunar holidays) shows only in a warning for a year outside it
    for probe in (rng[0], rng[1]):
        m = re.search(r"from (\d{4}) to (\d{4})", _year_warning(country, subdiv, probe) or "")
        if m:
            first, last = max(first, int(m.group(1))), min(last, int(m.group(2)))
    bad = [y for y in sorted(set(years))
           if not first <= y <= last or _year_warning(country, subdiv, y) is not None]
    return (first, last), bad


def holiday_problems(start: datetime, end: datetime,
                     places: Iterable[tuple[str | None, str | None, str]]) -> list[str]:
    """One line per country whose holiday data does not cover ``start``..``end`` (plus
    :data:`SETTLE_MARGIN_DAYS`), for ``places`` given as ``(country, subdiv, who)``.

    >>> holiday_problems(datetime(2150, 1, 1, tzinfo=UTC), datetime(2150, 1, 8, tzinfo=UTC),
    ...                  [("US", None, "bank X")])
    ['the holidays data of US covers 1777..2100, not 2150 (bank X)']
    """
    last = min(end + timedelta(days=SETTLE_MARGIN_DAYS), LATEST)
    years = range(start.astimezone(UTC).year, last.astimezone(UTC).year + 1)
    who: dict[tuple[str, str | None], list[str]] = {}
    for country, subdiv, name in places:
        if country:
            who.setdefault((country, subdiv or None), []).append(name)
    out = []
    for (country, subdiv), names in who.items():
        rng, bad = holiday_coverage(country, subdiv, years)
        if not bad or rng is None:
            continue
        label = f"{country}-{subdiv}" if subdiv else country
        shown = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
        span = f"{bad[0]}" if len(bad) == 1 else f"{bad[0]}..{bad[-1]}"
        out.append(f"the holidays data of {label} covers {rng[0]}..{rng[1]}, not {span} "
                   f"({shown})")
    return out


def utc(t: float) -> datetime:
    """POSIX seconds to an aware UTC datetime.

    >>> utc(0).isoformat()
    '1970-01-01T00:00:00+00:00'
    """
    return datetime.fromtimestamp(t, tz=UTC)


def to_timestamp(dt: datetime) -> float:
    """Aware datetime to POSIX seconds; naive datetimes are refused (they are ambiguous).

    >>> to_timestamp(datetime(1970, 1, 2, tzinfo=UTC))
    86400.0
    """
    if dt.tzinfo is None:
        raise CalendarError(f"{dt.isoformat()} has no time zone; give an aware datetime (UTC)")
    return dt.timestamp()


def parse_clock(text: str, what: str = "time") -> tuple[int, int]:
    """Parse ``"HH:MM"`` (``"24:00"`` allowed for end of day) into ``(hour, minute)``.

    >>> parse_clock("17:30"), parse_clock("24:00")
    ((17, 30), (24, 0))
    """
    try:
        hh, mm = text.split(":")
        h, m = int(hh), int(mm)
    except (ValueError, AttributeError) as exc:
        raise CalendarError(f"{what}: {text!r} is not HH:MM (e.g. \"17:30\")") from exc
    if not (0 <= h <= 24 and 0 <= m < 60) or (h == 24 and m != 0):
        raise CalendarError(f"{what}: {text!r} is not a time of day between 00:00 and 24:00")
    return h, m


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        close = difflib.get_close_matches(name, sorted(available_timezones()), n=3, cutoff=0.7)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        raise CalendarError(
            f"unknown time zone {name!r}: use an IANA name such as 'Europe/London'{hint}"
        ) from exc


@dataclass(frozen=True, slots=True)
class DayWindow:
    """One local date of a calendar, its instants in POSIX seconds (UTC).

    ``reason`` is ``None`` on a business day, otherwise why the place is closed
    (``"weekend"`` or ``"holiday: <name>"``); the instants are then those the
    day would have had.
    """

    day: date
    opens: float
    cutoff: float
    closes: float
    reason: str | None

    @property
    def is_business_day(self) -> bool:
        return self.reason is None


class BusinessCalendar:
    """Opening hours, same-day cut-off, weekend and holidays of one place.

    Parameters
    ----------
    timezone:
        IANA time zone name, e.g. ``"Asia/Manila"``.
    country:
        ISO 3166 alpha-2 code for the ``holidays`` package (``None``: no public
        holidays, Saturday–Sunday weekend).
    opens, closes:
        Local opening hours, ``"HH:MM"``; ``closes`` may be ``"24:00"``. A place
        open ``"00:00"``–``"24:00"`` on business days runs round the clock on
        those days.
    cutoff:
        Local time after which new work waits for the next business day
        (default: ``closes``).
    subdiv:
        Optional subdivision for ``holidays`` (e.g. ``"NY"``).
    extra_closed:
        Extra closed dates (e.g. bank-specific closures), as ``date`` objects.

    Raises
    ------
    CalendarError
        Unknown time zone or country, or hours that do not make sense.
    """

    def __init__(
        self,
        timezone: str,
        country: str | None = None,
        *,
        opens: str = "09:00",
        closes: str = "17:00",
        cutoff: str | None = None,
        subdiv: str | None = None,
        extra_closed: Iterable[date] = (),
    ) -> None:
        self.timezone = timezone
        self.tz = _zone(timezone)
        self.country = country
        o, c = parse_clock(opens, "opens"), parse_clock(closes, "closes")
        k = parse_clock(cutoff, "cutoff") if cutoff is not None else c
        if o == (24, 0):
            raise CalendarError("opens: 24:00 is not an opening time; use 00:00")
        if not (o < c):
            raise CalendarError(f"opens {opens} must be before closes {closes}")
        if not (o < k <= c):
            raise CalendarError(f"cutoff {cutoff} must be after opens {opens} and not after "
                                f"closes {closes}")
        self.opens, self.closes, self.cutoff = opens, closes, cutoff or closes
        self._o, self._c, self._k = o, c, k
        self._extra_closed = frozenset(extra_closed)
        if country is None:
            self._hol: holidays.HolidayBase | None = None
        else:
            try:
                self._hol = holidays.country_holidays(country, subdiv=subdiv)
            except NotImplementedError as exc:
                raise CalendarError(
                    f"no holiday calendar for country {country!r}"
                    f"{' subdivision ' + repr(subdiv) if subdiv else ''}: use an ISO 3166 "
                    "alpha-2 code supported by the 'holidays' package"
                ) from exc
        self._days: dict[date, DayWindow] = {}
        self._hot: DayWindow | None = None  # last business day seen: fast path
        # last wait worked out: (from, until, start, why), valid for instants in [from, until)
        self._cold: tuple[float, float, float, str] | None = None

    def __repr__(self) -> str:
        return (f"BusinessCalendar({self.timezone!r}, {self.country!r}, opens={self.opens!r}, "
                f"closes={self.closes!r}, cutoff={self.cutoff!r})")

    # -- days -----------------------------------------------------------------
    def local_date(self, t: float) -> date:
        """The local calendar date at instant ``t``."""
        return datetime.fromtimestamp(t, tz=self.tz).date()

    def local(self, t: float) -> datetime:
        """Instant ``t`` as an aware local datetime."""
        return datetime.fromtimestamp(t, tz=self.tz)

    def _at(self, d: date, hm: tuple[int, int]) -> float:
        if hm == (24, 0):
            return datetime.combine(d + timedelta(days=1), time(0, 0), tzinfo=self.tz).timestamp()
        return datetime.combine(d, time(*hm), tzinfo=self.tz).timestamp()

    def closure_reason(self, d: date) -> str | None:
        """Why local date ``d`` is not a business day, or ``None`` if it is one.

        >>> cal = BusinessCalendar("Asia/Dubai", "AE")
        >>> cal.closure_reason(date(2021, 12, 24)), cal.closure_reason(date(2022, 1, 7))
        ('weekend', None)
        """
        if d in self._extra_closed:
            return "closed: bank closure"
        if self._hol is None:
            return "weekend" if d.weekday() >= 5 else None
        name = self._hol.get(d)
        if name is not None:
            if d in self._hol.weekend_workdays:
                return None
            return f"holiday: {name}"
        if self._hol.is_weekend(d) and d not in self._hol.weekend_workdays:
            return "weekend"
        return None

    def day(self, d: date) -> DayWindow:
        """The :class:`DayWindow` of local date ``d`` (cached)."""
        w = self._days.get(d)
        if w is None:
            w = DayWindow(d, self._at(d, self._o), self._at(d, self._k), self._at(d, self._c),
                          self.closure_reason(d))
            self._days[d] = w
        return w

    def is_business_day(self, d: date) -> bool:
        """Whether local date ``d`` is a business day."""
        return self.day(d).reason is None

    # -- instants -------------------------------------------------------------
    def is_open(self, t: float) -> bool:
        """Whether the place is within opening hours of a business day at ``t``."""
        w = self.day(self.local_date(t))
        return w.reason is None and w.opens <= t < w.closes

    def accepts(self, t: float) -> bool:
        """Whether work arriving at ``t`` is taken the same day (open and before cut-off)."""
        w = self.day(self.local_date(t))
        return w.reason is None and w.opens <= t < w.cutoff

    def _windows_from(self, t: float) -> Iterable[DayWindow]:
        # Opening hours lie within one local date (closes at most 24:00), so no
        # window of an earlier date can still be open at t.
        d = self.local_date(t)
        for _ in range(_MAX_SCAN_DAYS):
            yield self.day(d)
            d += timedelta(days=1)
        raise CalendarError(f"{self!r} has no business day within {_MAX_SCAN_DAYS} days")

    def next_open(self, t: float) -> float:
        """Earliest instant ``>= t`` at which the place is open.

        >>> cal = BusinessCalendar("Europe/London", "GB", opens="08:00", closes="18:00")
        >>> sat = to_timestamp(datetime(2025, 11, 29, 12, tzinfo=UTC))
        >>> utc(cal.next_open(sat)).isoformat()
        '2025-12-01T08:00:00+00:00'
        """
        hot = self._hot
        if hot is not None and hot.opens <= t < hot.closes:
            return t
        for w in self._windows_from(t):
            if w.reason is None and t < w.closes:
                return max(t, w.opens)
        raise AssertionError("unreachable")

    def next_accepting(self, t: float) -> tuple[float, str]:
        """Earliest instant ``>= t`` at which new work is accepted, and why it had to wait.

        The reason is ``""`` when work is accepted at once; otherwise a ``"; "``-joined
        account such as ``"after cut-off; weekend; holiday: Labour Day"``.

        >>> cal = BusinessCalendar("Asia/Manila", "PH", opens="09:00", closes="17:00",
        ...                        cutoff="15:00")
        >>> fri = to_timestamp(datetime(2025, 11, 28, 8, tzinfo=UTC))  # 16:00 local
        >>> start, why = cal.next_accepting(fri)
        >>> utc(start).isoformat(), why
        ('2025-12-01T01:00:00+00:00', 'after cut-off; weekend; holiday: Bonifacio Day')
        """
        hot = self._hot
        if hot is not None and hot.opens <= t < hot.cutoff:
            return t, ""
        cold = self._cold
        if cold is not None and cold[0] <= t < cold[1]:
            return cold[2], cold[3]
        reasons: list[str] = []
        first = True
        for w in self._windows_from(t):
            if w.reason is not None:
                if w.reason not in reasons:
                    reasons.append(w.reason)
            elif t < w.opens:
                if first:
                    reasons.append("before opening")
                return self._remember_wait(t, w.opens, "; ".join(reasons))
            elif t < w.cutoff:
                self._hot = w
                return t, "; ".join(reasons)
            else:
                reasons.append("after cut-off" if t < w.closes else "after closing")
            first = False
        raise AssertionError("unreachable")

    def _remember_wait(self, t: float, start: float, why: str) -> tuple[float, str]:
        """Keep the answer for the rest of ``t``'s part of its local day: before opening,
        between cut-off and closing, after closing (or the whole of a closed day), where
        every instant waits for the same opening for the same reasons."""
        d = self.local_date(t)
        w = self.day(d)
        until = self._at(d, (24, 0))
        for edge in (w.opens, w.cutoff, w.closes):
            if t < edge < until:
                until = edge
        self._cold = (t, until, start, why)
        return start, why

    def next_business_day_start(self, t: float) -> float:
        """Opening instant of the first business day after the local date of ``t``."""
        today = self.local_date(t)
        for w in self._windows_from(t):
            if w.day > today and w.reason is None:
                return w.opens
        raise AssertionError("unreachable")

    def add_business_seconds(self, t: float, seconds: float) -> float:
        """Instant at which ``seconds`` of opening hours have elapsed after ``t``.

        Time outside opening hours (nights, weekends, holidays) does not count, so
        four business hours starting Friday 16:00 in a 09:00–17:00 place end on
        Monday 12:00 (or Tuesday, if Monday is a holiday).

        >>> cal = BusinessCalendar("America/New_York", "US", opens="09:00", closes="17:00")
        >>> fri = to_timestamp(datetime(2025, 11, 21, 21, tzinfo=UTC))  # 16:00 EST
        >>> utc(cal.add_business_seconds(fri, 4 * 3600)).isoformat()
        '2025-11-24T17:00:00+00:00'
        """
        if seconds < 0:
            raise CalendarError(f"cannot add a negative duration ({seconds} s)")
        remaining = float(seconds)
        hot = self._hot     # a business day: within its hours, t is on that local date
        if hot is not None and hot.opens <= t < hot.closes and remaining <= hot.closes - t:
            return t + remaining
        for w in self._windows_from(t):
            if w.reason is not None or w.closes <= t:
                continue
            start = max(t, w.opens)
            available = w.closes - start
            if remaining <= available:
                self._hot = w
                return start + remaining
            remaining -= available
            t = w.closes
        raise AssertionError("unreachable")

    def business_seconds_between(self, a: float, b: float) -> float:
        """Opening-hours seconds between instants ``a <= b``."""
        if b < a:
            raise CalendarError("business_seconds_between needs a <= b")
        total = 0.0
        for w in self._windows_from(a):
            if w.opens >= b:
                return total
            if w.reason is None:
                lo, hi = max(a, w.opens), min(b, w.closes)
                if hi > lo:
                    total += hi - lo
        raise AssertionError("unreachable")
