"""Balances over time: every account a rail keeps, its changes, their cost and the FX risk.

Both rails record here every change of the balances they hold: the nostro accounts
of the bank network (correspondent), and on-chain the FX provider's inventory per
currency, each bank's stablecoin holdings and the funds locked in open swaps and in
escrow. A :class:`BalanceRecorder` takes each account's opening balance
(:meth:`~BalanceRecorder.open`) and each change with its instant and the payment
that made it (:meth:`~BalanceRecorder.change`; none for a funding: a treasury
top-up, a provider's replenishment), stored flat (four fields a change, no row
object), and builds at the end of the run:

* the **balances** table (:data:`BALANCE_COLUMNS`): per account its opening row
  and one row per change, in time order, with the balance after it;
* each payment's **liquidity cost**: an account's cost is its positive balance
  integrated over the run times the currency's opportunity rate (annual, simple,
  actual/365; :func:`load_rates`), in its minor units; it is shared among the
  payments that used the account in proportion to *value x time held*
  (:func:`_weights`), and converted to each payment's sent currency at the mid
  rate (rounded half to even);
* each FX payment's **settlement risk**: the principal paid in the sold currency
  before the bought currency is final (minor units of the sent currency), from
  when and for how long (:meth:`~BalanceRecorder.risk`).

Conservation per account. For every account, its balance after each change is the
opening balance plus the changes so far, and its end balance must equal the balance
the rail itself holds at the end (:meth:`~BalanceRecorder.expect`), to the minor
unit; an account that cannot be overdrawn (a limited nostro, the provider's
inventory, a lock) never goes below zero. :meth:`BalanceRecorder.build` checks both
and raises :class:`BalanceAccountsError` (a fault of settlesim, like
:class:`~sim.results.StepAccountsError`); :func:`balance_violations` checks any
balances table.

Example
-------
>>> rec = BalanceRecorder("correspondent")
>>> a = rec.open("nostro:A@B:USD", "A", "USD", 1_000, 0.0)
>>> rec.change(a, 10.0, -400, "P1"); rec.change(a, 20.0, 400, None)
>>> rec.expect(a, 1_000)
>>> t = rec.build(t_end=30.0).table
>>> t["balance"].tolist(), t["change"].tolist()
([1000, 600, 1000], [0, -400, 400])
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from sim.errors import InputError, read_toml
from sim.money import MINOR_EXPONENTS

if TYPE_CHECKING:        # pandas (and with it Arrow) loads only when a table is built
    import pandas as pd

__all__ = [
    "BALANCE_COLUMNS",
    "DEFAULT_RATES_PATH",
    "MAX_RATE",
    "BalanceAccountsError",
    "BalanceRecorder",
    "BuiltBalances",
    "balance_violations",
    "check_rates",
    "load_rates",
    "usd_factors",
]

#: the columns of ``balances.parquet``: one row per account's opening and per change
BALANCE_COLUMNS: tuple[str, ...] = (
    "rail", "account", "owner", "currency", "time", "balance", "change", "payment_id",
)
DEFAULT_RATES_PATH = Path(__file__).parent / "data" / "rates.toml"
#: an opportunity rate above this (a year, as a fraction) is refused as absurd
MAX_RATE = 1.0
_YEAR_S = 365.0 * 86400.0
#: separates accounts in a (account, time) search key: above any span of POSIX seconds
_KEY = 1e10


class BalanceAccountsError(RuntimeError):
    """A rail's balance changes do not add up: an account's end balance is not its
    opening plus its changes as the rail holds it, or an account that cannot be
    overdrawn went below zero. A fault of settlesim, never of its input."""

    def __init__(self, rail: str, problems: Sequence[str]) -> None:
        self.problems = list(problems)
        super().__init__(f"{rail} rail: {len(problems)} account(s) break the balances' "
                         f"rules, first {problems[0]}")


# ---------------------------------------------------------------------------- rates
def check_rates(rates: Mapping[str, Any], where: str) -> dict[str, float]:
    """``rates`` (currency -> annual rate as a fraction) checked, or :class:`InputError`
    with one line per problem naming ``where`` and the currency: an unknown currency
    code, a rate that is not a number, negative, or above :data:`MAX_RATE` (100% a
    year; a rate is a fraction: 4.5% is 0.045).

    >>> check_rates({"USD": 0.045}, "x.toml [liquidity] rates")
    {'USD': 0.045}
    >>> try:
    ...     check_rates({"USD": -1}, "x.toml [liquidity] rates")
    ... except InputError as exc:
    ...     print(exc)
    x.toml [liquidity] rates field 'USD': -1 is negative; give an annual rate >= 0 (0.045 for 4.5%)
    """
    problems, out = [], {}
    for code, v in rates.items():
        name = f"{where} field '{code}'"
        if code not in MINOR_EXPONENTS:
            problems.append(f"{name}: unknown currency {code!r}; use an ISO 4217 code")
            continue
        if isinstance(v, bool) or not isinstance(v, int | float):
            problems.append(f"{name}: {v!r} is not a number; give an annual rate such as 0.045")
            continue
        f = float(v)
        if not np.isfinite(f):
            problems.append(f"{name}: {v!r} is not a finite number")
        elif f < 0:
            problems.append(f"{name}: {v!r} is negative; give an annual rate >= 0 "
                            "(0.045 for 4.5%)")
        elif f > MAX_RATE:
            problems.append(f"{name}: {v!r} is above {MAX_RATE:g} (100% a year); a rate is a "
                            "fraction: 4.5% is 0.045")
        else:
            out[code] = f
    if problems:
        raise InputError("\n".join(problems))
    return out


def load_rates(path: str | Path = DEFAULT_RATES_PATH,
               overrides: Mapping[str, float] | None = None) -> dict[str, float]:
    """The opportunity rates of ``path`` (default ``sim/data/rates.toml``: each
    currency's policy rate with its source and date), with ``overrides`` on top.

    >>> r = load_rates(overrides={"USD": 0.05})
    >>> r["USD"], r["EUR"]
    (0.05, 0.02)
    """
    doc = read_toml(path, lambda p, probs: InputError(f"{p}: {probs[0]}"))
    table = doc.get("rates")
    if not isinstance(table, dict):
        raise InputError(f"{path}: no [rates] table of currency = annual rate")
    sources = doc.get("sources", {})
    missing = sorted(set(table) - set(sources))
    if missing:
        raise InputError(f"{path}: rate(s) {', '.join(missing)} without a [sources] entry")
    out = check_rates(table, f"{path} [rates]")
    out.update(dict(overrides or {}))
    return out


# ---------------------------------------------------------------------------- recorder
@dataclass
class BuiltBalances:
    """What :meth:`BalanceRecorder.build` gives: the balances table, and per payment id
    its liquidity cost per currency (minor units of that currency, unrounded) and its
    settlement risk ``(principal in minor units of the sent currency, start, seconds)``."""

    table: pd.DataFrame
    cost: dict[str, dict[str, float]]
    risk: dict[str, tuple[int, float, float]]


class BalanceRecorder:
    """Records the balances of one rail's run: accounts, changes, FX risk.

    Parameters
    ----------
    rail : the rail's name (the ``rail`` column)
    rates : currency -> annual opportunity rate (default :func:`load_rates`)
    enabled : ``False`` records nothing (the rail's results then have no balances
        table and zero liquidity columns): the benchmark's baseline
    fx : the mid rate ``fx(source, target)`` (a :class:`~decimal.Decimal` per major
        unit) that converts a cost to a payment's sent currency (default: none, every
        cost must be in the sent currency)
    """

    def __init__(self, rail: str, rates: Mapping[str, float] | None = None,
                 enabled: bool = True,
                 fx: Callable[[str, str], Decimal] | None = None) -> None:
        self.rail = rail
        self.rates = dict(rates) if rates is not None else load_rates()
        self.enabled = enabled
        self._fx = fx
        self._factors: dict[tuple[str, str], float] = {}
        self._names: list[str] = []
        self._owners: list[str] = []
        self._ccys: list[str] = []
        self._open: list[int] = []
        self._opened_at: list[float] = []
        self._floor: list[bool] = []       # True: never below zero
        self._prefunded: list[bool] = []
        self._index: dict[str, int] = {}
        self._expect: dict[int, int] = {}
        self._flat: list[Any] = []         # (account, time, change, payment_id) flat
        self._risk: dict[str, tuple[int, float, float]] = {}
        #: after :meth:`build`: each account's cost over the run (minor units of its
        #: currency), and what of it no payment's use accounts for (an idle balance)
        self.account_cost: dict[str, float] = {}
        self.idle: dict[str, float] = {}
        #: :meth:`change` itself, or a no-op when recording is off
        self.change: Callable[[int, float, int, str | None], None] = (
            self._change if enabled else _ignore)

    # -- accounts ------------------------------------------------------------------
    def open(self, name: str, owner: str, currency: str, balance: int, t: float, *,
             floor: bool = True, prefunded: bool = False) -> int:
        """Open account ``name`` (once; later calls return the same id) with its opening
        ``balance`` (minor units of ``currency``) at ``t``. ``floor``: the account can
        never be overdrawn (checked). ``prefunded``: a balance held ready for payments
        and topped up by fundings (a limited nostro): a payment's draw on it weighs the
        time since it was last funded (see :func:`_weights`)."""
        i = self._index.get(name)
        if i is not None:
            return i
        i = self._index[name] = len(self._names)
        self._names.append(name)
        self._owners.append(owner)
        self._ccys.append(currency)
        self._open.append(int(balance))
        self._opened_at.append(float(t))
        self._floor.append(floor)
        self._prefunded.append(prefunded)
        return i

    def factor(self, source: str, target: str) -> float:
        """Minor units of ``target`` per minor unit of ``source`` at the mid rate."""
        key = (source, target)
        f = self._factors.get(key)
        if f is None:
            if self._fx is None:
                raise RuntimeError(f"{self.rail}: a cost in {source} for a payment sent in "
                                   f"{target}, and no FX rates to convert it")
            f = self._factors[key] = float(self._fx(source, target).scaleb(
                MINOR_EXPONENTS[target] - MINOR_EXPONENTS[source]))
        return f

    def account(self, name: str) -> int:
        """The id of the open account ``name`` (``KeyError`` if it is not open)."""
        return self._index[name]

    def _change(self, account: int, t: float, delta: int, payment_id: str | None) -> None:
        """``account``'s balance changes by ``delta`` (minor units) at ``t``, made by
        ``payment_id`` (None: a funding)."""
        if delta:
            self._flat.extend((account, t, delta, payment_id))

    def expect(self, account: int, balance: int) -> None:
        """The rail holds ``balance`` on ``account`` at the end of the run: the recorded
        changes must add up to it."""
        self._expect[account] = int(balance)

    def risk(self, payment_id: str, principal_sent: int, start: float, end: float) -> None:
        """Payment ``payment_id`` paid ``principal_sent`` (minor units of its sent
        currency) of the sold currency at ``start`` and had the bought currency final
        at ``end``."""
        if self.enabled:
            self._risk[payment_id] = (int(principal_sent), float(start),
                                      max(0.0, float(end) - float(start)))

    # -- the end of the run ---------------------------------------------------------
    def build(self, t_end: float) -> BuiltBalances:
        """The balances table, checked (:class:`BalanceAccountsError`), each payment's
        liquidity cost per currency up to ``t_end`` (the run's last instant), and the
        FX risks."""
        n_acc = len(self._names)
        flat = self._flat
        k = len(flat) // 4
        acc = np.fromiter(flat[0::4], dtype="int64", count=k)
        t = np.fromiter(flat[1::4], dtype="float64", count=k)
        d = np.fromiter(flat[2::4], dtype="int64", count=k)
        pid = np.array(flat[3::4], dtype=object)
        order = np.lexsort((np.arange(k), t, acc))      # per account, in time order
        acc, t, d, pid = acc[order], t[order], d[order], pid[order]
        opening = np.array(self._open, dtype="int64")
        cum = np.cumsum(d)
        start_of = np.searchsorted(acc, np.arange(n_acc), side="left")
        end_of = np.searchsorted(acc, np.arange(n_acc), side="right")
        before = np.concatenate([[0], cum])[start_of]   # cum before each account's rows
        bal = opening[acc] + cum - before[acc] if k else np.zeros(0, dtype="int64")
        self._check(acc, bal, start_of, end_of, opening)
        t_end = max([float(t_end), *(t[-1:] if k else [])])
        cost = self._costs(acc, t, d, pid, bal, opening, start_of, end_of, t_end)
        # the table: each account's opening row, then its changes (the tables' own
        # builders, imported here: validating a scenario's rates loads no Arrow)
        import pandas as pd

        from sim.results import _str_array, _us

        rows = n_acc + k
        pos = np.arange(k) + 1 + acc                     # after its account's earlier rows
        open_pos = start_of + np.arange(n_acc)
        col_acc = np.empty(rows, dtype="int64")
        col_t = np.empty(rows, dtype="float64")
        col_bal = np.empty(rows, dtype="int64")
        col_d = np.zeros(rows, dtype="int64")
        col_pid = np.full(rows, None, dtype=object)
        col_acc[open_pos], col_t[open_pos], col_bal[open_pos] = (
            np.arange(n_acc), np.array(self._opened_at, dtype=float), opening)
        col_acc[pos], col_t[pos], col_bal[pos], col_d[pos], col_pid[pos] = acc, t, bal, d, pid
        names = np.array(self._names, dtype=object)
        table = pd.DataFrame({
            "rail": _str_array([self.rail] * rows),
            "account": _str_array(list(names[col_acc])) if rows else _str_array([]),
            "owner": _str_array(list(np.array(self._owners, dtype=object)[col_acc]))
            if rows else _str_array([]),
            "currency": _str_array(list(np.array(self._ccys, dtype=object)[col_acc]))
            if rows else _str_array([]),
            "time": _us(col_t),
            "balance": col_bal,
            "change": col_d,
            "payment_id": _str_array(list(col_pid)),
        })
        return BuiltBalances(table, cost, dict(self._risk))

    def _check(self, acc: np.ndarray, bal: np.ndarray, start_of: np.ndarray,
               end_of: np.ndarray, opening: np.ndarray) -> None:
        problems = []
        for i, name in enumerate(self._names):
            lo, hi = start_of[i], end_of[i]
            end = int(bal[hi - 1]) if hi > lo else int(opening[i])
            want = self._expect.get(i)
            if self.enabled and want is not None and end != want:
                problems.append(f"{name}: opening {opening[i]} plus its changes ends at {end}, "
                                f"the rail holds {want}")
            if self._floor[i] and hi > lo and int(bal[lo:hi].min()) < 0:
                problems.append(f"{name}: overdrawn to {int(bal[lo:hi].min())}")
        if problems:
            raise BalanceAccountsError(self.rail, problems)

    def _costs(self, acc: np.ndarray, t: np.ndarray, d: np.ndarray, pid: np.ndarray,
               bal: np.ndarray, opening: np.ndarray, start_of: np.ndarray,
               end_of: np.ndarray, t_end: float) -> dict[str, dict[str, float]]:
        """Each account's cost shared among its payments by value x time held."""
        n_acc = len(self._names)
        k = len(acc)
        if not k:
            return {}
        t0 = np.array(self._opened_at, dtype=float)
        # the balance held over each interval: the opening until the first change, each
        # balance until the next change (or t_end)
        nxt = np.empty(k)
        nxt[:-1] = t[1:]
        last = end_of[end_of > start_of] - 1
        nxt[last] = t_end
        rates = np.array([self.rates.get(c, np.nan) for c in self._ccys], dtype=float)
        if np.isnan(rates).any():
            missing = sorted({c for c, r in zip(self._ccys, rates, strict=True) if np.isnan(r)})
            raise InputError(f"no opportunity rate for {', '.join(missing)}; add it to "
                             f"[liquidity] rates (an annual rate, e.g. {missing[0]} = 0.04)")
        held = np.maximum(bal, 0).astype(float) * (nxt - t)
        first_t = np.where(end_of > start_of, t[np.minimum(start_of, k - 1)], t_end)
        acc_cost = (np.bincount(acc, weights=held, minlength=n_acc)
                    + np.maximum(opening, 0) * (first_t - t0)) * (rates / _YEAR_S)
        w = _weights(acc, t, d, pid, t0, np.array(self._prefunded, dtype=bool))
        # each payment's own use costs its value x time held x the rate; the payments'
        # uses of an account never cost more than its balance did (the rest is idle)
        used = w * (rates / _YEAR_S)[acc]
        used_sum = np.bincount(acc, weights=used, minlength=n_acc)
        scale = np.divide(acc_cost, used_sum, out=np.ones(n_acc), where=used_sum > acc_cost)
        share = used * scale[acc]
        self.idle = {name: float(c - u) for name, c, u in
                     zip(self._names, acc_cost, np.minimum(used_sum, acc_cost), strict=True)}
        self.account_cost = {name: float(c) for name, c in zip(self._names, acc_cost,
                                                               strict=True)}
        out: dict[str, dict[str, float]] = {}
        ccys = self._ccys
        for i in np.flatnonzero(share > 0):
            p = pid[i]
            by = out.setdefault(p, {})
            c = ccys[acc[i]]
            by[c] = by.get(c, 0.0) + float(share[i])
        return out


def _weights(acc: np.ndarray, t: np.ndarray, d: np.ndarray, pid: np.ndarray,
             t0: np.ndarray, prefunded: np.ndarray) -> np.ndarray:
    """Per change (rows sorted by account and time): the *value x time held* (minor
    units x seconds) it stands for, the payment's own use of the account's balance.

    A payment's own holding on an account (what its changes there add up to so far)
    counts for as long as it lasts: funds a payment puts in and takes out (a lock, a
    swap leg, a stablecoin holding between mint and swap) weigh their amount times
    the time between. What a payment leaves drawn on a pre-funded account (a limited
    nostro) weighs its amount times the time since the account was last funded (or
    opened): the balance held ready for it until it was used. What a payment leaves
    on any other account (a credit to a correspondent's account, the sent currency a
    provider receives in exchange for what it delivers) is no longer the payment's
    and weighs nothing; nor do fundings (no payment).
    """
    k = len(acc)
    w = np.zeros(k)
    is_p = np.array([p is not None for p in pid], dtype=bool)
    if not is_p.any():
        return w
    idx = np.flatnonzero(is_p)
    import pandas as pd

    pcode, _codes = pd.factorize(pid[idx])
    o = np.lexsort((np.arange(len(idx)), t[idx], pcode, acc[idx]))
    rows = idx[o]
    g_acc, g_p = acc[rows], pcode[o]
    new = np.ones(len(rows), dtype=bool)
    new[1:] = (g_acc[1:] != g_acc[:-1]) | (g_p[1:] != g_p[:-1])
    cum = np.cumsum(d[rows])
    grp = np.cumsum(new) - 1
    start_cum = (cum - d[rows])[new]
    own = cum - start_cum[grp]                  # the payment's own holding after the row
    last = np.ones(len(rows), dtype=bool)
    last[:-1] = new[1:]
    tr = t[rows]
    nxt = np.empty(len(rows))
    nxt[:-1] = tr[1:]
    nxt[last] = tr[last]
    w_rows = np.abs(own).astype(float) * (nxt - tr)
    # what is left drawn at the payment's last change on a pre-funded account: the
    # last funding before it found by key (account, time), rows in account-time order
    fund = ~is_p
    f_acc, f_t = acc[fund], t[fund]
    f_key = f_acc * _KEY + (f_t - t[0])
    j = np.flatnonzero(last & (own < 0) & prefunded[g_acc])
    if len(j):
        a, tj = g_acc[j], tr[j]
        since = t0[a].copy()
        if len(f_key):
            i_prev = np.searchsorted(f_key, a * _KEY + (tj - t[0]), side="right") - 1
            ok = (i_prev >= 0) & (f_acc[np.maximum(i_prev, 0)] == a)
            since = np.where(ok, f_t[np.maximum(i_prev, 0)], since)
        w_rows[j] += np.abs(own[j]).astype(float) * np.maximum(0.0, tj - since)
    w[rows] = w_rows
    return w


def _ignore(account: int, t: float, delta: int, payment_id: str | None) -> None:
    """:meth:`BalanceRecorder.change` with recording off."""


def balance_violations(balances: pd.DataFrame) -> pd.DataFrame:
    """Rows of ``balances`` whose balance is not the previous row's (of the same rail and
    account, in time order) plus their change (empty frame: every account conserved to
    the minor unit; an account's first row is its opening).

    >>> rec = BalanceRecorder("x")
    >>> a = rec.open("acc", "o", "USD", 10, 0.0); rec.change(a, 1.0, -3, "P")
    >>> t = rec.build(2.0).table
    >>> len(balance_violations(t))
    0
    >>> t.loc[1, "balance"] = 8
    >>> balance_violations(t)["account"].tolist()
    ['acc']
    """
    if balances.empty:
        return balances
    b = balances.reset_index(drop=True)
    key = b["rail"].astype(str) + "\x00" + b["account"].astype(str)
    o = np.lexsort((np.arange(len(b)), b["time"].to_numpy(dtype="datetime64[us]"),
                    key.to_numpy()))
    s = b.iloc[o]
    k = key.to_numpy()[o]
    bal = s["balance"].to_numpy(dtype="int64")
    ch = s["change"].to_numpy(dtype="int64")
    same = np.zeros(len(s), dtype=bool)
    same[1:] = k[1:] == k[:-1]
    prev = np.concatenate([[0], bal[:-1]])
    bad = same & (bal != prev + ch)
    return s[bad]


def usd_factors(currencies: Sequence[str], rate: Callable[[str, str], Decimal]
                ) -> dict[str, float]:
    """USD per minor unit of each currency at the mid rate (for exposure in USD)."""
    return {c: float(rate(c, "USD") / (Decimal(10) ** MINOR_EXPONENTS[c])) for c in currencies}
