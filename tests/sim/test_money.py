from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.money import (
    MoneyError,
    convert,
    convert_for_reporting,
    format_minor,
    from_minor,
    minor_exponent,
    percent_of,
    to_minor,
)


def test_iso_exponents() -> None:
    assert [minor_exponent(c) for c in ("JPY", "USD", "BHD", "KWD", "IDR")] == [0, 2, 3, 3, 2]
    assert to_minor("1.234", "BHD") == 1234
    assert to_minor("150", "JPY") == 150


def test_refuses_extra_decimals_floats_and_unknown_currency() -> None:
    with pytest.raises(MoneyError, match="more decimals than JPY"):
        to_minor("1.5", "JPY")
    with pytest.raises(MoneyError, match="not a float"):
        to_minor(1.5, "USD")  # type: ignore[arg-type]
    with pytest.raises(MoneyError, match="unknown currency 'XXY'"):
        minor_exponent("XXY")


def test_convert_rounds_down_and_reporting_rounds_half_even() -> None:
    # USD 0.05 at 149.5 JPY/USD = 7.475 JPY -> 7 paid, 7 reported (half-even on .475 -> 7)
    assert convert(5, "USD", "JPY", Decimal("149.5")) == 7
    assert convert(5, "USD", "JPY", Decimal("149.9")) == 7          # 7.495 floors
    assert convert_for_reporting(5, "USD", "JPY", Decimal("149.9")) == 7
    assert convert_for_reporting(5, "USD", "JPY", Decimal("150.0")) == 8  # 7.5 -> 8 (even)
    assert convert_for_reporting(5, "USD", "JPY", Decimal("130.0")) == 6  # 6.5 -> 6 (even)
    assert convert(12_345, "USD", "USD", Decimal("2")) == 12_345


def test_percent_half_even_and_format() -> None:
    assert percent_of(250, Decimal("1")) == 2      # 2.5 -> 2
    assert percent_of(350, Decimal("1")) == 4      # 3.5 -> 4
    assert format_minor(1234, "BHD") == "1.234 BHD"


@given(amount=st.integers(-10**27, 10**27), currency=st.sampled_from(["USD", "JPY", "BHD", "MXN"]))
def test_format_minor_is_the_decimal_amount_with_every_minor_digit(amount: int,
                                                                     currency: str) -> None:
    # within the 28 digits of the decimal context, where from_minor is exact
    exp = minor_exponent(currency)
    assert format_minor(amount, currency) == f"{from_minor(amount, currency):.{exp}f} {currency}"
