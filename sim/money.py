"""Money as integers in minor units, exchange rates as exact decimals.

Every amount in the model is an ``int`` counting the minor unit of its currency
(cents for USD, yen for JPY, fils for BHD): the exponent comes from ISO 4217.
Rates are :class:`decimal.Decimal` values parsed from strings, never floats.

Rounding rules (one rule per kind of operation, so that results are exact and
reproducible):

* **Currency conversion paid out to a customer or a bank** (:func:`convert`)
  rounds *down* (``ROUND_FLOOR``): a converting bank never pays out a fraction of
  a minor unit it did not receive; the residue stays with it and is counted as
  part of the FX spread.
* **Percentage fees** (:func:`percent_of`) and **conversions made only to report
  a figure in another currency** (:func:`convert_for_reporting`) round half to
  even (``ROUND_HALF_EVEN``, banker's rounding), which is unbiased over many
  payments.
* The FX spread reported for a payment is the exact remainder of its accounts
  (see :mod:`sim.results`), so "sent = delivered + fees + spread" holds to the
  minor unit for every payment.

Examples
--------
>>> to_minor("1234.5", "JPY")
Traceback (most recent call last):
...
sim.money.MoneyError: 1234.5 JPY has more decimals than JPY allows (0); give at most 0 decimals
>>> to_minor("12.34", "USD"), to_minor("1.234", "BHD"), to_minor("500", "JPY")
(1234, 1234, 500)
>>> convert(10_000, "USD", "MXN", Decimal("17.1234"))   # USD 100.00 -> MXN 1712.34
171234
>>> format_minor(171234, "MXN")
'1712.34 MXN'
"""

from __future__ import annotations

from decimal import ROUND_FLOOR, ROUND_HALF_EVEN, Decimal, InvalidOperation

from sim.errors import InputError

__all__ = [
    "MINOR_EXPONENTS",
    "MoneyError",
    "check_currency",
    "convert",
    "convert_for_reporting",
    "format_minor",
    "from_minor",
    "minor_exponent",
    "parse_decimal",
    "percent_of",
    "to_minor",
]

#: ISO 4217 minor-unit exponents of the currencies the model knows.
#: Source: ISO 4217 currency code list (SIX Financial Information, list one).
MINOR_EXPONENTS: dict[str, int] = {
    "AED": 2, "AUD": 2, "BDT": 2, "BHD": 3, "BRL": 2, "CAD": 2, "CHF": 2, "CLP": 0,
    "CNY": 2, "COP": 2, "EGP": 2, "EUR": 2, "GBP": 2, "GHS": 2, "HKD": 2, "IDR": 2,
    "INR": 2, "JOD": 3, "JPY": 0, "KES": 2, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2,
    "NGN": 2, "NPR": 2, "NZD": 2, "OMR": 3, "PEN": 2, "PHP": 2, "PKR": 2, "QAR": 2,
    "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TND": 3, "TRY": 2, "UGX": 0, "USD": 2,
    "VND": 0, "WST": 2, "XAF": 0, "XOF": 0, "ZAR": 2,
}  # fmt: skip


class MoneyError(InputError):
    """An amount, currency or rate that cannot be represented exactly."""


def check_currency(code: str) -> str:
    """Return ``code`` if it is a known ISO 4217 currency, else raise :class:`MoneyError`.

    >>> check_currency("USD")
    'USD'
    """
    if code not in MINOR_EXPONENTS:
        known = ", ".join(sorted(MINOR_EXPONENTS))
        raise MoneyError(
            f"unknown currency {code!r}; use an ISO 4217 code, one of: {known} "
            "(or add its exponent to sim.money.MINOR_EXPONENTS)"
        )
    return code


def minor_exponent(currency: str) -> int:
    """Number of decimals of ``currency``'s minor unit (ISO 4217).

    >>> minor_exponent("JPY"), minor_exponent("USD"), minor_exponent("BHD")
    (0, 2, 3)
    """
    return MINOR_EXPONENTS[check_currency(currency)]


def parse_decimal(value: str | int | Decimal, what: str = "value") -> Decimal:
    """Parse an exact decimal from a string or int (floats are refused: they are inexact).

    >>> parse_decimal("17.1234")
    Decimal('17.1234')
    """
    if isinstance(value, float):
        raise MoneyError(f"{what}: give {value!r} as a string (e.g. \"{value}\"), not a float")
    try:
        d = Decimal(value)
    except (InvalidOperation, TypeError) as exc:
        raise MoneyError(f"{what}: {value!r} is not a decimal number") from exc
    if not d.is_finite():
        raise MoneyError(f"{what}: {value!r} is not a finite number")
    return d


def to_minor(amount: str | int | Decimal, currency: str) -> int:
    """Major-unit amount (exact decimal) to integer minor units; refuses extra decimals.

    >>> to_minor("200", "USD")
    20000
    """
    d = parse_decimal(amount, f"amount in {currency}")
    exp = minor_exponent(currency)
    scaled = d.scaleb(exp)
    if scaled != scaled.to_integral_value():
        raise MoneyError(
            f"{d} {currency} has more decimals than {currency} allows ({exp}); "
            f"give at most {exp} decimals"
        )
    return int(scaled)


def from_minor(amount: int, currency: str) -> Decimal:
    """Integer minor units to an exact major-unit decimal.

    >>> from_minor(171234, "MXN")
    Decimal('1712.34')
    """
    return Decimal(amount).scaleb(-minor_exponent(currency))


def format_minor(amount: int, currency: str) -> str:
    """Human-readable amount, e.g. ``'1712.34 MXN'`` (the major units of
    :func:`from_minor` with every decimal of the minor unit, in integer arithmetic).

    >>> format_minor(171234, "MXN"), format_minor(-5, "USD"), format_minor(1500, "JPY")
    ('1712.34 MXN', '-0.05 USD', '1500 JPY')
    """
    exp = minor_exponent(currency)
    if not exp:
        return f"{amount} {currency}"
    whole, part = divmod(-amount if amount < 0 else amount, 10 ** exp)
    return f"{'-' if amount < 0 else ''}{whole}.{part:0{exp}d} {currency}"


def scaled_rate(rate: Decimal, source: str, target: str) -> Decimal:
    """``rate`` (target per source, major units) as target minor units per source minor unit.

    >>> scaled_rate(Decimal("149.5"), "USD", "JPY")
    Decimal('1.495')
    """
    return rate.scaleb(minor_exponent(target) - minor_exponent(source))


def convert(amount: int, source: str, target: str, rate: Decimal) -> int:
    """Convert ``amount`` minor units of ``source`` at ``rate`` (target per source), rounding down.

    Rounding down (``ROUND_FLOOR``) is the rule for money actually paid out: the
    converting bank keeps the sub-unit residue, which the payment records as part
    of its FX spread.

    >>> convert(100, "JPY", "USD", Decimal("0.0067"))   # JPY 100 -> USD 0.67
    67
    >>> convert(1, "USD", "JPY", Decimal("149.5"))      # USD 0.01 -> JPY 1.495 -> 1
    1
    """
    if source == target:
        return amount
    value = Decimal(amount) * scaled_rate(rate, source, target)
    return int(value.to_integral_value(rounding=ROUND_FLOOR))


def convert_for_reporting(amount: int, source: str, target: str, rate: Decimal) -> int:
    """Convert minor units at ``rate`` rounding half to even; for reporting, not for paying.

    >>> convert_for_reporting(171234, "MXN", "USD", Decimal(1) / Decimal("17.1234"))
    10000
    """
    if source == target:
        return amount
    value = Decimal(amount) * scaled_rate(rate, source, target)
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


def percent_of(amount: int, percent: Decimal) -> int:
    """``percent`` % of ``amount`` (minor units), rounded half to even.

    >>> percent_of(20000, Decimal("0.5")), percent_of(25, Decimal("10"))
    (100, 2)
    """
    value = Decimal(amount) * percent / _HUNDRED
    return int(value.to_integral_value(rounding=ROUND_HALF_EVEN))


_HUNDRED = Decimal(100)
