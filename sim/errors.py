"""What settlesim raises when it refuses its input.

:class:`InputError` is the base of every error that means *the input is wrong*:
a malformed scenario, network, workload or chain-profile file, an unknown bank or
currency, an amount that cannot be represented, a setting the model cannot run.
Its message names what is wrong, where, and the fix when there is one. The
command line prints such an error as one line and exits with status 2; any other
exception is a fault of settlesim itself and keeps its traceback.

``InputError`` is a ``ValueError``, so code that catches ``ValueError`` still
catches it. The file loaders word pydantic's validation errors with the helpers
here (:func:`error_field`, :func:`error_message`, :func:`field_problem`), each in its
own file kind's style.

>>> from sim.errors import InputError
>>> from sim.money import MoneyError, to_minor
>>> try:
...     to_minor("1.001", "USD")   # a cent has no thousandths
... except InputError as exc:
...     print(type(exc).__name__, isinstance(exc, MoneyError))
MoneyError True
"""

from __future__ import annotations

import tomllib
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["InputError", "error_field", "error_message", "field_problem", "not_utf8",
           "whole_number"]


class InputError(ValueError):
    """The input cannot be used as given; the message says what, where and the fix."""


def whole_number(name: str, value: object, minimum: int = 0) -> int:
    """``value`` if it is a whole number of at least ``minimum`` (a boolean is not), else
    an :class:`InputError` naming the argument.

    >>> whole_number("payments", 3, 1)
    3
    >>> whole_number("payments", True, 1)
    Traceback (most recent call last):
    ...
    sim.errors.InputError: payments must be a whole number >= 1, not True
    """
    import numbers

    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise InputError(f"{name} must be a whole number >= {minimum}, not {value!r}")
    return int(value)


def not_utf8(exc: UnicodeDecodeError) -> str:
    """The one-line problem of a file that is not UTF-8 text.

    >>> try:
    ...     b"name = \\"caf\\xe9\\"".decode("utf-8")
    ... except UnicodeDecodeError as exc:
    ...     print(not_utf8(exc))
    not UTF-8 text (byte 0xe9 at offset 11); save the file as UTF-8
    """
    return (f"not UTF-8 text (byte {exc.object[exc.start]:#04x} at offset {exc.start}); "
            "save the file as UTF-8")


def error_field(loc: Sequence[int | str], *, brackets: bool = True,
                label: Callable[[int, int], str] | None = None) -> str:
    """Where a pydantic error is, as a path: ``corridors[0].name`` (``brackets``), or
    ``corridors.0.name``; ``label(position, index)`` may add to a list index's ``[i]``.

    >>> error_field(("corridors", 0, "name")), error_field(("a", 1), brackets=False)
    ('corridors[0].name', 'a.1')
    """
    if not brackets:
        return ".".join(str(p) for p in loc)
    parts: list[str] = []
    for j, p in enumerate(loc):
        if isinstance(p, int):
            parts.append(f"[{p}]" + (label(j, p) if label else ""))
        else:
            parts.append(("." if parts else "") + str(p))
    return "".join(parts)


def error_message(err: Mapping[str, Any]) -> str:
    """A pydantic error's message, without the ``Value error, `` pydantic puts before a
    validator's own words."""
    return str(err["msg"]).removeprefix("Value error, ")


def field_problem(entry: str, err: Mapping[str, Any], fixes: Mapping[str, str],
                  origin: str = "") -> str:
    """``<entry> field '<path>'<origin>: <message>; fix: <hint>``, the hint from ``fixes``
    by the error's type (left out when there is none or the message already says it).

    >>> field_problem("profile 'x'", {"loc": ("block_time_s",), "type": "greater_than",
    ...                               "msg": "Input should be greater than 0"},
    ...               {"greater_than": "give a positive number"})
    "profile 'x' field 'block_time_s': Input should be greater than 0; fix: give a positive number"
    """
    field, msg = error_field(err["loc"]), error_message(err)
    where = f"{entry} field '{field}'" if field else entry
    text = f"{where}{origin}: {msg}"
    fix = fixes.get(str(err["type"]))
    return f"{text}; fix: {fix}" if fix and fix not in msg else text


def read_toml(path: str | Path, error: Callable[[Any, list[str]], Exception]) -> dict[str, Any]:
    """A TOML file's document, or ``error(path, [problem])`` raised with the one-line
    problem: the file cannot be read (missing, a folder, no permission), is not UTF-8
    text, or is not valid TOML. Every file kind (scenario, network, workload, on-chain
    settings, chain profiles) reads its file through this.

    >>> read_toml("/nonexistent.toml", lambda p, probs: InputError(f"{p}: {probs[0]}"))
    Traceback (most recent call last):
    ...
    sim.errors.InputError: /nonexistent.toml: cannot read the file: No such file or directory
    """
    try:
        return tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise error(path, [f"cannot read the file: {exc.strerror or exc}"]) from None
    except UnicodeDecodeError as exc:
        raise error(path, [not_utf8(exc)]) from None
    except tomllib.TOMLDecodeError as exc:
        raise error(path, [f"not valid TOML: {exc}"]) from None
