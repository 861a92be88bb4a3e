"""What settlesim raises when it refuses its input.

:class:`InputError` is the base of every error that means *the input is wrong*:
a malformed scenario, network, workload or chain-profile file, an unknown bank or
currency, an amount that cannot be represented, a setting the model cannot run.
Its message names what is wrong, where, and the fix when there is one. The
command line prints such an error as one line and exits with status 2; any other
exception is a fault of settlesim itself and keeps its traceback.

``InputError`` is a ``ValueError``, so code that catches ``ValueError`` still
catches it.

>>> from sim.errors import InputError
>>> from sim.money import MoneyError, to_minor
>>> try:
...     to_minor("1.001", "USD")   # a cent has no thousandths
... except InputError as exc:
...     print(type(exc).__name__, isinstance(exc, MoneyError))
MoneyError True
"""

from __future__ import annotations

__all__ = ["InputError"]


class InputError(ValueError):
    """The input cannot be used as given; the message says what, where and the fix."""
