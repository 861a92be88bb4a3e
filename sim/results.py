"""The results shape every rail produces: payments and steps tables, KPIs, writers.

The tables follow ``docs/architecture.md`` ("Results shape") exactly; a rail fills them
through a :class:`ResultsBuilder`, which is rail-agnostic: one
:meth:`ResultsBuilder.add_step` per step of a payment and one
:meth:`ResultsBuilder.add_payment` with its :class:`PaymentRecord` (build it with
:func:`close_accounts` so that money is conserved to the minor unit).

Conservation. For every payment, in minor units of ``currency_sent``::

    amount_sent == delivered_in_sent + fee_total_sent + frozen
    fee_total_sent == sum of every fee_* column

``delivered_in_sent`` is ``amount_delivered`` converted back at the mid rate
(half to even). ``fee_fx_spread`` is defined as the exact remainder, so it holds
the FX margin plus the sub-unit residues of conversions; with no conversion it
is exactly zero. For returned or failed payments the principal goes back to the
sender: ``amount_sent`` is what the sender was finally debited (the fees kept),
``amount_delivered`` is zero.

Steps. Every fee of a payment is the cost of one of its steps, and a step's
``cost`` is in minor units of the payment's ``currency_sent`` (its
``cost_currency``, on every step), converted as the fee columns are; so, for
every payment::

    sum of its steps' cost == fee_total_sent

to the minor unit (an amount in another currency, such as a lifting fee taken
in pesos, is named in the step's ``detail``). A payment's steps in ``seq`` order
never overlap or go back in time (each starts at or after the end of the one
before it), and a credited payment's ``credited_at`` is the end of its one
``credit`` step. :meth:`ResultsBuilder.build` checks all of this for every run
and raises :class:`StepAccountsError` if a rail broke it;
:func:`step_violations` checks any pair of tables.

Example
-------
>>> b = ResultsBuilder("correspondent")
>>> rec = close_accounts("P1", "correspondent", "US-MX", "A", "B", "SHA", 0, "USD",
...                      0, "USD", 1.7e9, None, "failed", "unroutable", 0, {})
>>> b.add_payment(rec); r = b.build()
>>> list(r.payments.columns[:4]), int(r.payments.fee_total_sent.iloc[0])
(['payment_id', 'rail', 'corridor', 'sender_bank'], 0)
"""

from __future__ import annotations

import functools
import gc
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from sim.calendar import BusinessCalendar
from sim.errors import InputError

__all__ = [
    "FEE_COMPONENTS",
    "PAYMENT_COLUMNS",
    "STATUSES",
    "STEP_COLUMNS",
    "STEP_KINDS",
    "MoneyOverflowError",
    "StepAccountsError",
    "PaymentRecord",
    "Results",
    "ResultsBuilder",
    "atomic_write",
    "close_accounts",
    "conservation_violations",
    "kpis",
    "paused_gc",
    "step_violations",
    "within_1bd",
]

#: Every fee component any rail may report; every rail emits all of these columns
#: (``fee_<name>``), zero where a component does not apply, so tables concatenate.
FEE_COMPONENTS: tuple[str, ...] = (
    "sender_bank", "lifting", "fx_spread", "beneficiary_bank",
    "gas", "onramp", "offramp", "escrow",
)
FEE_COLUMNS = tuple(f"fee_{c}" for c in FEE_COMPONENTS)
STATUSES: tuple[str, ...] = ("credited", "returned", "failed")
STEP_KINDS: tuple[str, ...] = (
    "queue", "cutoff_wait", "screening", "processing", "nostro_wait", "fx", "transit",
    "credit", "return", "onramp", "mempool", "block", "finality", "offramp", "escrow",
    "outage", "frozen",
)
PAYMENT_COLUMNS: tuple[str, ...] = (
    "payment_id", "rail", "corridor", "sender_bank", "beneficiary_bank", "charge_option",
    "amount_sent", "currency_sent", "amount_delivered", "currency_delivered",
    "created_at", "credited_at", "latency_s", "fee_total_sent", *FEE_COLUMNS,
    "loss", "frozen", "status", "failure_reason", "hops",
)
STEP_COLUMNS: tuple[str, ...] = (
    "payment_id", "rail", "seq", "kind", "place", "started_at", "ended_at", "cost",
    "cost_currency", "detail",
)


@dataclass(slots=True)
class PaymentRecord:
    """One row of the payments table (instants as POSIX seconds, money in minor units)."""

    payment_id: str
    rail: str
    corridor: str
    sender_bank: str
    beneficiary_bank: str
    charge_option: str
    amount_sent: int
    currency_sent: str
    amount_delivered: int
    currency_delivered: str
    created_at: float
    credited_at: float | None
    status: str
    failure_reason: str | None
    hops: int
    fees: dict[str, int] = field(default_factory=dict)
    delivered_in_sent: int = 0
    #: value lost by a holder of the payment's funds in flight (a stablecoin sold below
    #: par during its issuer's freeze), minor units of ``currency_sent``; not the
    #: customer's: the customer's accounts do not include it
    loss: int = 0
    #: the customer's value frozen in flight at the end of the run (funds held by a
    #: sanctioned party), minor units of ``currency_sent``; neither delivered nor returned
    frozen: int = 0

    @property
    def fee_total_sent(self) -> int:
        return sum(self.fees.values())

    def check(self) -> None:
        """Raise ``AssertionError`` if the record breaks an invariant."""
        assert self.status in STATUSES, self.status
        assert set(self.fees) <= set(FEE_COMPONENTS), set(self.fees) - set(FEE_COMPONENTS)
        assert self.amount_sent == self.delivered_in_sent + self.fee_total_sent + self.frozen, \
            f"{self.payment_id}: money not conserved"
        if self.status == "credited":
            assert self.credited_at is not None and self.credited_at >= self.created_at
            assert self.failure_reason is None
        else:
            assert self.credited_at is None and self.failure_reason
            assert self.amount_delivered == 0


def close_accounts(payment_id: str, rail: str, corridor: str, sender_bank: str,
                   beneficiary_bank: str, charge_option: str, amount_sent: int,
                   currency_sent: str, amount_delivered: int, currency_delivered: str,
                   created_at: float, credited_at: float | None, status: str,
                   failure_reason: str | None, hops: int, fees: Mapping[str, int],
                   delivered_in_sent: int = 0, has_fx: bool = False, *, loss: int = 0,
                   frozen: int = 0) -> PaymentRecord:
    """Build a :class:`PaymentRecord` whose FX spread is the exact remainder of its accounts.

    ``fees`` are the non-spread components already in minor units of ``currency_sent``;
    ``delivered_in_sent`` is ``amount_delivered`` converted back at the mid rate.
    ``fee_fx_spread`` := ``amount_sent - delivered_in_sent - frozen - sum(fees)``.
    Without a conversion (``has_fx`` false) that remainder must be zero. ``frozen``
    is the customer's value frozen in flight (neither delivered nor returned),
    ``loss`` a holder's loss in flight (outside the customer's accounts), both in
    minor units of ``currency_sent``.

    Raises
    ------
    ValueError
        If the remainder is negative, or non-zero without a conversion: the rail's
        accounts are wrong.
    """
    f = {k: int(v) for k, v in fees.items() if k != "fx_spread"}
    spread = amount_sent - delivered_in_sent - frozen - sum(f.values())
    if spread < 0 and has_fx:
        # the converting banks' margins cannot be negative beyond reporting residue
        if spread < -len(f) - 2:
            raise ValueError(f"{payment_id}: negative FX spread {spread}; accounts are wrong")
    if spread != 0 and not has_fx:
        raise ValueError(f"{payment_id}: {spread} minor units unaccounted for without a "
                         "currency conversion; accounts are wrong")
    f["fx_spread"] = spread
    rec = PaymentRecord(payment_id, rail, corridor, sender_bank, beneficiary_bank,
                        charge_option, amount_sent, currency_sent, amount_delivered,
                        currency_delivered, created_at, credited_at, status, failure_reason,
                        hops, f, delivered_in_sent, loss, frozen)
    return rec


def _us(t: Sequence[float | None] | np.ndarray) -> pd.Series:
    """POSIX seconds (floats, None for missing) to a UTC microsecond timestamp column.

    Instants are rounded to the microsecond (half to even, numpy's rule)."""
    if isinstance(t, np.ndarray):
        arr = t.astype(float)
    else:
        try:
            arr = np.fromiter(t, dtype=float, count=len(t))
        except TypeError:  # None present
            arr = np.array([np.nan if v is None else v for v in t], dtype=float)
    mask = np.isnan(arr)
    ints = np.where(mask, 0, np.round(arr * 1e6)).astype("int64")
    us = ints.view("datetime64[us]").copy()
    us[mask] = np.datetime64("NaT")
    return pd.Series(pd.DatetimeIndex(us).tz_localize("UTC"))


@contextmanager
def paused_gc() -> Iterator[None]:
    """Pause the cyclic garbage collector for a rail's run and its tables' build.

    A run allocates millions of small objects (events, step rows, payment records)
    that reference counting frees; the cyclic collector's passes over the growing
    rows only cost time (measured: 15-20% of a run, with the same peak memory), so
    rails pause it while they run and restore it after, whatever happens.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


class ResultsBuilder:
    """Collects rows column-wise (cheap per row) and builds :class:`Results` at the end."""

    #: fields of one step row, in the order they are stored
    _STEP_FIELDS = ("payment_id", "seq", "kind", "place", "started_at", "ended_at", "cost",
                    "cost_currency", "detail")

    def __init__(self, rail: str) -> None:
        self.rail = rail
        self._p: list[PaymentRecord] = []
        # step rows stored flat (9 fields per row, no tuple per row): less memory, and
        # each column is one slice at build time
        self._flat: list[Any] = []

    def add_payment(self, rec: PaymentRecord) -> None:
        self._p.append(rec)

    def payments_added(self) -> Sequence[PaymentRecord]:
        """The payment records added so far, in the order they were added."""
        return self._p

    def add_step(self, payment_id: str, seq: int, kind: str, place: str, started_at: float,
                 ended_at: float, cost: int = 0, cost_currency: str | None = None,
                 detail: str = "") -> None:
        self._flat.extend((payment_id, seq, kind, place, started_at, ended_at, cost,
                           cost_currency, detail))

    def step_writer(self) -> Callable[[tuple[Any, ...]], None]:
        """:meth:`add_step` taking the row as one tuple of :attr:`_STEP_FIELDS`
        ``(payment_id, seq, kind, place, started_at, ended_at, cost, cost_currency,
        detail)``: one call less per step, for rails that write many."""
        return self._flat.extend

    def add_steps(self, payment_id: str, rows: Iterable[tuple[Any, ...]]) -> None:
        """Add a payment's steps in order, ``seq`` 0, 1, ...; each row is
        ``(kind, place, started_at, ended_at, cost, cost_currency, detail)``."""
        ext = self._flat.extend
        for seq, r in enumerate(rows):
            ext((payment_id, seq))
            ext(r)

    def build(self, order: Sequence[str] | None = None) -> Results:
        """Build the tables; with ``order`` (payment ids), rows follow that order.

        Steps of a payment stay in ``seq`` order. Without ``order`` payments come in
        the order they were added, steps in the order they were added.
        """
        flat = self._flat
        k = len(self._STEP_FIELDS)
        n = len(flat) // k
        step_pid = flat[0::k]
        step_seq = np.fromiter(flat[1::k], dtype="int64", count=n)
        if order is None:
            p = self._p
            perm = None
        else:
            pos = {pid: i for i, pid in enumerate(order)}
            p = sorted(self._p, key=lambda r: pos[r.payment_id])
            key = np.fromiter((pos[x] for x in step_pid), dtype="int64", count=n)
            perm = np.lexsort((step_seq, key))
        cols: dict[str, Any] = {
            "payment_id": [r.payment_id for r in p],
            "rail": [r.rail for r in p],
            "corridor": [r.corridor for r in p],
            "sender_bank": [r.sender_bank for r in p],
            "beneficiary_bank": [r.beneficiary_bank for r in p],
            "charge_option": [r.charge_option for r in p],
            "amount_sent": _money([r.amount_sent for r in p], "amount_sent", p),
            "currency_sent": [r.currency_sent for r in p],
            "amount_delivered": _money([r.amount_delivered for r in p], "amount_delivered", p),
            "currency_delivered": [r.currency_delivered for r in p],
        }
        created = _us([r.created_at for r in p])
        credited = _us([r.credited_at for r in p])
        cols["created_at"] = created
        cols["credited_at"] = credited
        lat = (credited - created).dt.total_seconds()
        cols["latency_s"] = lat.astype("float64")
        cols["fee_total_sent"] = _money([r.fee_total_sent for r in p], "fee_total_sent", p)
        for c in FEE_COMPONENTS:
            cols[f"fee_{c}"] = _money([r.fees.get(c, 0) for r in p], f"fee_{c}", p)
        cols["loss"] = _money([r.loss for r in p], "loss", p)
        cols["frozen"] = _money([r.frozen for r in p], "frozen", p)
        cols["status"] = [r.status for r in p]
        cols["failure_reason"] = [r.failure_reason for r in p]
        cols["hops"] = np.array([r.hops for r in p], dtype="int64")
        payments = _frame(cols, PAYMENT_COLUMNS)

        def col(j: int) -> Any:
            name = self._STEP_FIELDS[j]
            raw = flat[j::k]
            if name in ("started_at", "ended_at"):
                arr = np.fromiter(raw, dtype=float, count=n)
                return _us(arr if perm is None else arr[perm])
            if name in ("seq", "cost"):
                if name == "seq":
                    arr = step_seq
                else:
                    try:
                        arr = np.fromiter(raw, dtype="int64", count=n)
                    except OverflowError:
                        i = next(i for i, v in enumerate(raw) if not _INT64_MIN <= v <= _INT64_MAX)
                        raise MoneyOverflowError(step_pid[i], "step cost", raw[i]) from None
                return arr if perm is None else arr[perm]
            sa = _str_array(raw)
            return sa if perm is None else sa.take(perm)

        steps_cols: dict[str, Any] = {f: col(j) for j, f in enumerate(self._STEP_FIELDS)}
        steps_cols["rail"] = _str_array([self.rail] * n)
        steps = _frame(steps_cols, STEP_COLUMNS)
        if perm is None:
            pos_of = {r.payment_id: i for i, r in enumerate(p)}
            at = np.fromiter((pos_of.get(x, -1) for x in step_pid), dtype="int64", count=n)
        else:
            at = key[perm]
        bad = _step_violations_at(payments, steps, at)
        if len(bad):
            raise StepAccountsError(self.rail, bad)
        return Results(payments, steps)


_INT64_MIN, _INT64_MAX = -(2**63), 2**63 - 1


class MoneyOverflowError(InputError):
    """An amount too large for the tables' 64-bit integer columns (minor units)."""

    def __init__(self, payment_id: str, column: str, value: int, hint: str = "") -> None:
        self.payment_id, self.column, self.value = payment_id, column, value
        digits = str(abs(value))
        size = f"{'-' if value < 0 else ''}{digits[0]}.{digits[1:4]}e+{len(digits) - 1}"
        super().__init__(f"payment {payment_id}: {column} of {size} minor units does not "
                         "fit a 64-bit integer column (above 9.2e+18)"
                         + (f"; {hint}" if hint else ""))


class StepAccountsError(RuntimeError):
    """A rail wrote steps that break the steps' rules (costs that do not add up to the
    payment's fees, steps out of order, a credit step that is not the crediting): a
    fault of settlesim, never of its input."""

    def __init__(self, rail: str, violations: pd.DataFrame) -> None:
        self.violations = violations
        first = violations.iloc[0]
        super().__init__(f"{rail} rail: {len(violations)} payment(s) break the steps' rules, "
                         f"first {first['payment_id']}: {first['violation']}")


def _money(values: list[int], column: str, records: Sequence[PaymentRecord]) -> np.ndarray:
    """An int64 column of minor units; :class:`MoneyOverflowError` names the first that
    does not fit."""
    try:
        return np.array(values, dtype="int64")
    except OverflowError:
        i = next(i for i, v in enumerate(values) if not _INT64_MIN <= v <= _INT64_MAX)
        raise MoneyOverflowError(records[i].payment_id, column, values[i]) from None


def _frame(cols: Mapping[str, Any], order: Sequence[str]) -> pd.DataFrame:
    """A DataFrame in column ``order``; text columns get pandas' ``str`` dtype (nulls allowed)."""
    out: dict[str, Any] = {}
    for c in order:
        v = cols[c]
        if isinstance(v, pd.Series):
            out[c] = v.reset_index(drop=True)
        elif isinstance(v, np.ndarray | pd.api.extensions.ExtensionArray):
            out[c] = v
        else:
            out[c] = _str_array(list(v))
    return pd.DataFrame(out)


def _to_parquet(df: pd.DataFrame, path: Path) -> None:
    df.to_parquet(path, index=False)


def _to_csv(df: pd.DataFrame, path: Path) -> None:
    df.to_csv(path, index=False, lineterminator="\n")


def _write_text(text: str, path: Path) -> None:
    path.write_text(text)


def _str_array(values: list[Any]) -> Any:
    """pandas' ``str`` array of ``values`` (None is missing), built through Arrow: the
    same array as ``pd.array(values, dtype="str")``, in a third of the time."""
    try:
        arrow = pa.array(values, type=pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return pd.array(values, dtype="str")
    return pd.array(pd.arrays.ArrowStringArray(arrow), dtype="str")


def atomic_write(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Write a file atomically: ``write(tmp)`` in the same directory, then ``os.replace``.

    Readers never see a half-written file, and a failed write leaves the old file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _quantile(x: np.ndarray, q: float) -> float | None:
    return None if len(x) == 0 else float(np.quantile(x, q))


def _deadline_1bd(cal: BusinessCalendar, t: float) -> float:
    """End of the first business day after the local date of ``t``."""
    start = cal.next_business_day_start(t)
    return cal.day(cal.local_date(start)).closes


def within_1bd(payments: pd.DataFrame,
               calendars: Mapping[str, BusinessCalendar] | None = None) -> np.ndarray:
    """Per row: credited by the end of the next business day after creation, in the
    receiving country's calendar (``calendars`` maps a country code to a full-day
    :class:`BusinessCalendar`; default: UTC, Mon-Fri). False where not credited."""
    out = np.zeros(len(payments), dtype=bool)
    cred = (payments["status"] == "credited").to_numpy()
    if not cred.any():
        return out
    sub = payments[cred]
    fallback = BusinessCalendar("UTC", None, opens="00:00", closes="24:00")
    created = sub["created_at"].astype("int64").to_numpy() / 1e6
    credited = sub["credited_at"].astype("int64").to_numpy() / 1e6
    # the deadline depends only on the local date of creation: one look-up per date
    deadlines: dict[tuple[int, object], float] = {}
    flags = []
    for corr, c0, c1 in zip(sub["corridor"], created, credited, strict=True):
        cal = (calendars or {}).get(str(corr).split("-")[-1], fallback)
        key = (id(cal), cal.local_date(float(c0)))
        end = deadlines.get(key)
        if end is None:
            end = deadlines[key] = _deadline_1bd(cal, float(c0))
        flags.append(c1 <= end)
    out[cred] = flags
    return out


def kpis(payments: pd.DataFrame,
         calendars: Mapping[str, BusinessCalendar] | None = None) -> dict[str, Any]:
    """KPIs of a payments table (any subset): the ``K`` of ``summary.json``.

    ``share_within_1bd`` counts payments credited by the end of the next business
    day after creation, in the receiving country's calendar (``calendars`` maps a
    country code to a full-day :class:`BusinessCalendar`; default: UTC, Mon-Fri).
    ``cost_pct_*`` is ``100 * fee_total_sent / amount_sent`` over credited payments.
    Shares and ``failure_rate`` are over all payments.
    """
    n = int(len(payments))
    cred = payments[payments["status"] == "credited"]
    lat = cred["latency_s"].to_numpy(dtype=float)
    out: dict[str, Any] = {"count": n, "credited": int(len(cred))}
    out["latency_p50_s"] = _quantile(lat, 0.5)
    out["latency_p90_s"] = _quantile(lat, 0.9)
    out["latency_p99_s"] = _quantile(lat, 0.99)
    out["share_within_1h"] = float((lat <= 3600).sum() / n) if n else None
    out["share_within_1bd"] = float(within_1bd(cred, calendars).sum() / n) if n else None
    sent = cred["amount_sent"].to_numpy(dtype=float)
    fee = cred["fee_total_sent"].to_numpy(dtype=float)
    pct = np.divide(100 * fee, sent, out=np.zeros_like(fee), where=sent > 0)
    out["cost_pct_mean"] = float(pct.mean()) if len(pct) else None
    out["cost_pct_median"] = float(np.median(pct)) if len(pct) else None
    out["failure_rate"] = float((n - len(cred)) / n) if n else None
    return out


def conservation_violations(payments: pd.DataFrame) -> pd.DataFrame:
    """Rows whose fee columns do not add up to ``fee_total_sent``, or whose delivered
    amount plus fees exceeds what was sent (empty frame: all conserved)."""
    fee_sum = payments[list(FEE_COLUMNS)].sum(axis=1)
    bad = fee_sum != payments["fee_total_sent"]
    bad |= payments["fee_total_sent"] + payments["frozen"] > payments["amount_sent"]
    bad |= (payments["status"] != "credited") & (payments["amount_delivered"] != 0)
    return payments[bad]


def step_violations(payments: pd.DataFrame, steps: pd.DataFrame) -> pd.DataFrame:
    """Payments whose steps break the steps' rules (empty frame: every rule kept).

    The rules (see the module's docstring): every step's ``cost_currency`` is the
    payment's ``currency_sent`` and its steps' costs sum to ``fee_total_sent``
    exactly; in ``seq`` order (distinct) each step has ``started_at <= ended_at``
    and starts at or after the previous step's end; a credited payment has exactly
    one ``credit`` step, which ends at ``credited_at``, and no other payment has one.
    The tables are those of one run or of pooled replications: ``(rail, payment_id)``
    identifies a payment. The result is the offending rows of ``payments`` with a
    ``violation`` column naming the first rule each breaks; a step of no payment in
    ``payments`` raises :class:`~sim.errors.InputError`.

    >>> b = ResultsBuilder("correspondent")
    >>> b.add_payment(close_accounts("P1", "correspondent", "US-MX", "A", "B", "SHA", 500,
    ...     "USD", 0, "USD", 1.7e9, None, "failed", "unroutable", 0, {"sender_bank": 500}))
    >>> b.add_step("P1", 0, "return", "A", 1.7e9, 1.7e9, 500, "USD")
    >>> r = b.build()
    >>> r.steps.loc[0, "cost"] = 400
    >>> step_violations(r.payments, r.steps)["violation"].tolist()
    ['step costs sum to 400, fee_total_sent is 500']
    """
    index = pd.MultiIndex.from_arrays([payments["rail"], payments["payment_id"]])
    if not index.is_unique:
        raise InputError("payments table repeats a (rail, payment_id); check one run at a time")
    at = index.get_indexer(pd.MultiIndex.from_arrays([steps["rail"], steps["payment_id"]]))
    if (at < 0).any():
        i = int(np.flatnonzero(at < 0)[0])
        raise InputError(f"step of payment {steps['payment_id'].iloc[i]!r} "
                         f"({steps['rail'].iloc[i]}) has no row in the payments table")
    return _step_violations_at(payments, steps, at)


def _step_violations_at(payments: pd.DataFrame, steps: pd.DataFrame,
                        at: np.ndarray) -> pd.DataFrame:
    """:func:`step_violations` with each step's payment row position given (``at``)."""
    n = len(payments)
    reason = np.full(n, "", dtype=object)

    def flag(rows: np.ndarray, text: Callable[[int], str]) -> None:
        for i in np.unique(rows):
            if not reason[i]:
                reason[i] = text(int(i))

    keep = at >= 0                    # steps of no payment here are not its accounts
    if not keep.all():
        steps, at = steps[keep], at[keep]
    cost = steps["cost"].to_numpy(dtype="int64")
    total = np.zeros(n, dtype="int64")
    np.add.at(total, at, cost)
    fee = payments["fee_total_sent"].to_numpy(dtype="int64")
    # order by payment then seq (the tables' own order, unless rows were moved)
    seq = steps["seq"].to_numpy(dtype="int64")
    o = np.lexsort((seq, at))
    a, sq = at[o], seq[o]
    t0 = steps["started_at"].to_numpy(dtype="datetime64[us]").view("int64")[o]
    t1 = steps["ended_at"].to_numpy(dtype="datetime64[us]").view("int64")[o]
    # text columns compared as pandas' (Arrow) strings: a missing currency is wrong too
    same_ccy = steps["cost_currency"].array == payments["currency_sent"].array.take(at)
    wrong = ~np.asarray(pd.array(same_ccy, dtype="boolean").fillna(False), dtype=bool)[o]
    sent = payments["currency_sent"]

    def in_ccy(i: int) -> str:
        rows = np.flatnonzero(at == i)
        bad_ccy = steps["cost_currency"].iloc[rows][~np.asarray(
            pd.array(same_ccy[rows], dtype="boolean").fillna(False), dtype=bool)].iloc[0]
        return f"a step's cost is in {bad_ccy}, not the sent currency {sent.iloc[i]}"

    flag(a[wrong], in_ccy)
    odd = total != fee
    flag(np.flatnonzero(odd), lambda i: f"step costs sum to {total[i]}, fee_total_sent "
                                        f"is {fee[i]}")
    back = t1 < t0
    flag(a[back], lambda i: "a step ends before it starts")
    same = np.zeros(len(a), dtype=bool)
    same[1:] = a[1:] == a[:-1]
    dup = same.copy()
    dup[1:] &= sq[1:] == sq[:-1]
    flag(a[dup], lambda i: "two steps share a seq")
    over = same.copy()
    over[1:] &= t0[1:] < t1[:-1]
    flag(a[over], lambda i: "a step starts before the previous step (in seq) ends")
    is_credit = np.asarray(steps["kind"].array == "credit", dtype=bool)[o]
    credits = np.bincount(a[is_credit], minlength=n)
    credited = (payments["status"] == "credited").to_numpy()
    flag(np.flatnonzero(credited != (credits == 1)),
         lambda i: f"{credits[i]} credit steps for a payment {payments['status'].iloc[i]}")
    last_credit_end = np.full(n, np.iinfo("int64").min, dtype="int64")
    np.maximum.at(last_credit_end, a[is_credit], t1[is_credit])
    cat = payments["credited_at"].to_numpy(dtype="datetime64[us]").view("int64")
    late = credited & (credits == 1) & (cat != last_credit_end)
    flag(np.flatnonzero(late), lambda i: "credited_at is not the end of the credit step")
    bad = reason != ""
    out = payments[bad].copy()
    out["violation"] = reason[bad].astype(str)
    return out


class Results:
    """The two tables of a run: ``payments`` and ``steps`` (pandas DataFrames)."""

    def __init__(self, payments: pd.DataFrame, steps: pd.DataFrame,
                 meta: Mapping[str, Any] | None = None) -> None:
        if tuple(payments.columns) != PAYMENT_COLUMNS:
            raise InputError(f"payments columns {list(payments.columns)} are not the shape "
                             f"{list(PAYMENT_COLUMNS)}")
        if tuple(steps.columns) != STEP_COLUMNS:
            raise InputError(f"steps columns {list(steps.columns)} are not {list(STEP_COLUMNS)}")
        self.payments = payments
        self.steps = steps
        self.meta: dict[str, Any] = dict(meta or {})

    def __repr__(self) -> str:
        return f"Results({len(self.payments)} payments, {len(self.steps)} steps)"

    @classmethod
    def concat(cls, parts: Iterable[Results]) -> Results:
        """Merge results of several rails or runs (row order kept)."""
        parts = list(parts)
        meta: dict[str, Any] = {}
        for r in parts:
            meta.update(r.meta)
        return cls(pd.concat([r.payments for r in parts], ignore_index=True),
                   pd.concat([r.steps for r in parts], ignore_index=True), meta)

    def summary(self, scenario: str = "", seed: int | None = None,
                calendars: Mapping[str, BusinessCalendar] | None = None) -> dict[str, Any]:
        """The ``summary.json`` document: KPIs per rail, per corridor and rail, and paired."""
        cal = calendars if calendars is not None else self.meta.get("calendars")
        p = self.payments
        rails = {str(r): kpis(g, cal) for r, g in p.groupby("rail", sort=True)}
        corridors: dict[str, dict[str, Any]] = {}
        for (c, r), g in p.groupby(["corridor", "rail"], sort=True):
            corridors.setdefault(str(c), {})[str(r)] = kpis(g, cal)
        return {"scenario": scenario, "seed": seed, "rails": rails, "corridors": corridors,
                "paired": self._paired()}

    def _paired(self) -> dict[str, Any]:
        rails = sorted(self.payments["rail"].unique())
        if "correspondent" not in rails or "onchain" not in rails:
            return {}
        p = self.payments.set_index(["rail", "payment_id"])
        a, b = p.loc["correspondent"], p.loc["onchain"]
        ids = a.index.intersection(b.index)
        a, b = a.loc[ids], b.loc[ids]
        both = (a["status"] == "credited") & (b["status"] == "credited")
        d = (a["latency_s"] - b["latency_s"])[both]
        return {"count": int(len(ids)), "both_credited": int(both.sum()),
                "onchain_faster_share": float((d > 0).mean()) if len(d) else None,
                "latency_saving_p50_s": float(d.median()) if len(d) else None,
                "fee_saving_sent_median": float((a["fee_total_sent"] - b["fee_total_sent"])[
                    both].median()) if len(d) else None}

    def write(self, out_dir: str | Path, *, scenario: str = "", seed: int | None = None,
              formats: Sequence[str] = ("parquet", "csv"),
              calendars: Mapping[str, BusinessCalendar] | None = None) -> dict[str, Path]:
        """Write ``payments.*``, ``steps.*`` and ``summary.json`` to ``out_dir``, atomically.

        Returns the paths written, keyed ``payments.parquet``, ``steps.csv``, ... .
        """
        out = Path(out_dir)
        written: dict[str, Path] = {}
        for name, df in (("payments", self.payments), ("steps", self.steps)):
            for fmt in formats:
                if fmt == "parquet":
                    written[f"{name}.parquet"] = atomic_write(
                        out / f"{name}.parquet", functools.partial(_to_parquet, df))
                elif fmt == "csv":
                    written[f"{name}.csv"] = atomic_write(
                        out / f"{name}.csv", functools.partial(_to_csv, df))
                else:
                    raise InputError(f"unknown format {fmt!r}; use 'parquet' or 'csv'")
        doc = json.dumps(self.summary(scenario, seed, calendars), indent=2, sort_keys=False)
        written["summary.json"] = atomic_write(out / "summary.json",
                                               functools.partial(_write_text, doc + "\n"))
        return written
