"""The ``settlesim`` command line.

Commands come from modules that each register their own sub-commands:

* :mod:`sim.cli_chain`: ``compile``, ``gas-report``, ``deploy``, ``demo``
* :mod:`sim.cli_experiments`: ``run``, ``validate``, ``scenarios``
* :mod:`sim.cli_sweep`: ``sweep``
* :mod:`sim.cli_timeline`: ``timeline``

Each command prints a clear error (no traceback) and exits with status 2 when its
input is wrong (:class:`sim.errors.InputError`), a file cannot be read or written
(``OSError``: missing, not a folder, no permission) or a contract call reverts.
Any other exception is a fault of settlesim, not of the input: it keeps its
traceback, so that it can be reported and mended rather than read as a refusal.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from sim.errors import InputError

__all__ = ["at_least", "main"]

COMMAND_MODULES = ("sim.cli_chain", "sim.cli_experiments", "sim.cli_sweep", "sim.cli_timeline")


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


def _modules() -> list[object]:
    mods: list[object] = []
    for name in COMMAND_MODULES:
        try:
            mods.append(importlib.import_module(name))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
    return mods


def _parser(mods: list[object]) -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="settlesim",
        description="Cross-border settlement simulator: correspondent banks vs. on-chain.",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for m in mods:
        m.register(sub)  # type: ignore[attr-defined]
    return p


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``settlesim`` console script."""
    mods = _modules()
    args = _parser(mods).parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except KeyboardInterrupt:
        print("settlesim: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # noqa: BLE001 - refusals of the input as one line; faults raise
        known: tuple[type[BaseException], ...] = (InputError, OSError)
        for m in mods:
            errs = getattr(m, "KNOWN_ERRORS", None)
            if errs is not None:
                known += tuple(errs())
        if isinstance(exc, known):
            print(f"settlesim {args.command}: {exc}", file=sys.stderr)
            return 2
        raise


if __name__ == "__main__":
    raise SystemExit(main())
