"""What ``settlement`` refuses before anything is sent to a chain.

Every refusal of a caller's input is a :class:`SettlementInputError`, a
``ValueError``, raised with one line naming the function, the argument and what
is allowed: an amount that is negative, fractional, a ``bool`` or beyond its
Solidity type (:class:`InvalidArgument`), a bad timestamp
(:class:`InvalidTimestamp`), an unknown snapshot (:class:`UnknownSnapshot`), fee
settings outside what the escrow takes. Faults of the chain itself stay
:class:`~settlement.chain.ChainError` (a ``RuntimeError``); the last two are both.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["InvalidArgument", "SettlementInputError", "check_int", "check_timestamp"]

#: the largest block timestamp an EVM header holds (uint64)
MAX_TIMESTAMP = 2**64 - 1


class SettlementInputError(ValueError):
    """A caller's input that ``settlement`` refuses before sending anything."""


class InvalidArgument(SettlementInputError):
    """An argument of a contract call (or of a settlement function) out of its type or range."""


def _shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _bound(n: int) -> str:
    """A range end as people read it: ``2**256 - 1``, ``-2**255``, else the number."""
    if n >= 2**32 - 1 and (n + 1) & n == 0:
        return f"2**{n.bit_length()} - 1"
    if n <= -(2**31) and (-n) & (-n - 1) == 0:
        return f"-2**{(-n).bit_length() - 1}"
    return f"{n:,}"


def check_int(value: Any, where: str, *, low: int = 0, high: int = 2**256 - 1,
              kind: str = "uint256") -> int:
    """``value`` as an ``int`` in ``[low, high]``, or :class:`InvalidArgument` naming
    ``where``. Booleans, floats (even whole ones), strings are refused: an amount in
    minor units is a whole number, and a silent conversion would hide a bug.

    >>> check_int(5, "mint: amount")
    5
    >>> check_int(-1, "mint: amount")
    Traceback (most recent call last):
    ...
    settlement.errors.InvalidArgument: mint: amount must be a whole number from 0 to \
2**256 - 1 (uint256), not -1
    """
    if isinstance(value, bool) or not isinstance(value, int):
        raise InvalidArgument(f"{where} must be a whole number ({kind}), not "
                              f"{type(value).__name__} {_shown(value)}")
    if not low <= value <= high:
        raise InvalidArgument(f"{where} must be a whole number from {_bound(low)} to "
                              f"{_bound(high)} ({kind}), not {_shown(value)}")
    return value


def check_timestamp(value: Any, where: str) -> int:
    """A block timestamp: a finite number of UTC seconds from 0 to 2**64 - 1, whole
    seconds kept (fractions are dropped, as block headers hold whole seconds)."""
    from settlement.chain import InvalidTimestamp

    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InvalidTimestamp(f"{where}: a timestamp is a number of UTC seconds, not "
                               f"{type(value).__name__} {_shown(value)}")
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidTimestamp(f"{where}: a timestamp is a finite number of seconds, not {value}")
    t = int(value)
    if not 0 <= t <= MAX_TIMESTAMP:
        raise InvalidTimestamp(f"{where}: timestamp {value} is outside 0 .. 2**64 - 1 "
                               "(UTC seconds a block header holds)")
    return t
