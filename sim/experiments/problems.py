"""What the experiments layer refuses: :class:`ScenarioError`, and :func:`freeze`,
the stable key of a scenario's resolved parts (both shared by the scenario schema
and the component builder, which must not import each other in a circle)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from sim.errors import InputError

__all__ = ["ScenarioError", "field_path", "freeze", "one_line"]

_BARE = re.compile(r"^[A-Za-z0-9_-]+$")


def field_path(*parts: object) -> str:
    """A dotted field path; keys that are not bare words (empty, with dots, colons,
    spaces or quotes) are quoted as in TOML, so the path reads unambiguously.

    >>> field_path("network", "banks", "RBUSUS66", "cutoff")
    'network.banks.RBUSUS66.cutoff'
    >>> field_path("workload", "shares", "a.b: c", 0)
    'workload.shares."a.b: c".0'
    """
    texts = (str(p) for p in parts)
    return ".".join(t if _BARE.match(t) else json.dumps(t, ensure_ascii=False) for t in texts)


def one_line(text: str) -> str:
    """``text`` with every character that would break or hide a line (newlines, tabs,
    other control and format characters) written as its escape, so a problem naming
    a key such as ``"a\\nb"`` stays on one line.

    >>> print(one_line("network.banks.A\\nB: no such bank"))
    network.banks.A\\nB: no such bank
    """
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii")
                   for c in text)


class ScenarioError(InputError):
    """A scenario with problems: one line per problem (file, field path, what is allowed).

    ``problems`` holds ``"field.path: what is wrong; allowed: ..."`` strings and
    ``path`` the file (or ``"<code>"`` / ``"<params>"``).
    """

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = one_line(str(path))
        self.problems = list(dict.fromkeys(one_line(p) for p in problems))
        lines = "\n".join(f"{self.path}: {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in scenario {self.path}:\n{lines}")


def freeze(obj: Any) -> str:
    """A stable text key of plain data (for caches)."""
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        return str(o)

    return json.dumps(obj, sort_keys=True, default=default)
