"""Argument types the command modules share."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

__all__ = ["at_least", "positive_number"]


def at_least(minimum: int) -> Callable[[str], int]:
    """An argparse ``type``: a whole number of at least ``minimum``, or argparse's
    one-line error naming the option.

    >>> at_least(1)("3")
    3
    >>> at_least(1)("0")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be at least 1, not 0
    """
    def whole(text: str) -> int:
        try:
            v = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if v < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}, not {v}")
        return v

    return whole


def positive_number(text: str) -> float:
    """An argparse ``type``: a finite number above 0, or argparse's one-line error.

    >>> positive_number("0.5")
    0.5
    >>> positive_number("nan")
    Traceback (most recent call last):
    ...
    argparse.ArgumentTypeError: must be a finite number above 0, not 'nan'
    """
    try:
        v = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not math.isfinite(v) or v <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number above 0, not {text!r}")
    return v
