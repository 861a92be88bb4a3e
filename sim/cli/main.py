"""The ``settlesim`` command line.

Commands come from modules that each register their own sub-commands:

* :mod:`sim.cli.chain`: ``compile``, ``gas-report``, ``deploy``, ``demo``
* :mod:`sim.cli.experiments`: ``run``, ``validate``, ``scenarios``
* :mod:`sim.cli.sweep`: ``sweep``
* :mod:`sim.cli.timeline`: ``timeline``

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

__all__ = ["main"]

COMMAND_MODULES = ("sim.cli.chain", "sim.cli.experiments", "sim.cli.sweep", "sim.cli.timeline")


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
    """Entry point of the ``settlesim`` console script.

    Ctrl-C at any point (loading the commands, parsing, running) exits with status
    130 and one line, without a traceback.
    """
    try:
        return _main(argv)
    except KeyboardInterrupt:
        print("settlesim: interrupted", file=sys.stderr)
        return 130


def _main(argv: Sequence[str] | None) -> int:
    mods = _modules()
    args = _parser(mods).parse_args(argv)
    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
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
