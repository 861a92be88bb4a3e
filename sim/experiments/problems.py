"""What the experiments layer refuses: :class:`ScenarioError`, and :func:`freeze`,
the stable key of a scenario's resolved parts (both shared by the scenario schema
and the component builder, which must not import each other in a circle)."""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

from sim.errors import InputError

__all__ = ["ScenarioError", "freeze"]


class ScenarioError(InputError):
    """A scenario with problems: one line per problem (file, field path, what is allowed).

    ``problems`` holds ``"field.path: what is wrong; allowed: ..."`` strings and
    ``path`` the file (or ``"<code>"`` / ``"<params>"``).
    """

    def __init__(self, path: str | Path, problems: list[str]) -> None:
        self.path = str(path)
        self.problems = list(dict.fromkeys(problems))
        lines = "\n".join(f"{self.path}: {p}" for p in self.problems)
        super().__init__(f"{len(self.problems)} problem(s) in scenario {self.path}:\n{lines}")


def freeze(obj: Any) -> str:
    """A stable text key of plain data (for caches)."""
    def default(o: Any) -> Any:
        if isinstance(o, datetime):
            return o.isoformat()
        return str(o)

    return json.dumps(obj, sort_keys=True, default=default)
