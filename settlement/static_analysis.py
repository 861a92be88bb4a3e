"""Slither over ``contracts/``, checked against the triage file of accepted findings.

`Slither <https://github.com/crytic/slither>`_ compiles the contracts through the project's
solc wrapper (``settlement/bin/solc``) in standard-JSON mode, with the OpenZeppelin
remapping, and runs every detector; findings in OpenZeppelin's own sources are filtered out.
Each finding is named by its detector and its first line without source locations (so a
line shift does not rename it), e.g. ``timestamp: FxSwap.refund(FxSwap.SwapTerms) uses
timestamp for comparisons``. ``contracts/slither-triage.json`` lists every accepted finding
with its justification; :func:`check` fails on any finding that is not listed, and on any
listed finding slither no longer reports (a stale entry would hide a new one).

Slither lives in its own environment (``make slither`` makes ``.venv/slither``; see the
``slither`` dependency group in ``pyproject.toml``): :func:`slither_executable` finds it.

Example::

    $ python -m settlement.static_analysis        # what `make lint` runs
    slither: 13 findings, all triaged (contracts/slither-triage.json)
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from settlement.compile import CONTRACTS_DIR, PROJECT_ROOT, WRAPPER

__all__ = [
    "TRIAGE_PATH",
    "Finding",
    "SlitherError",
    "TriageError",
    "check",
    "load_triage",
    "run_slither",
    "slither_executable",
]

TRIAGE_PATH = CONTRACTS_DIR / "slither-triage.json"
#: how slither resolves the contracts' imports (the wrapper's include path finds node_modules)
REMAPPING = "@openzeppelin/=node_modules/@openzeppelin/"
_LOCATION = re.compile(r"\s*\([^()]*#\d+(?:-\d+)?\)")


class SlitherError(RuntimeError):
    """Slither is missing, or did not run to the end (its output is in the message)."""


class TriageError(AssertionError):
    """Slither reported findings the triage file does not accept, or the file is stale."""


@dataclass(frozen=True)
class Finding:
    """One slither result: its detector, impact, confidence and location-free description."""

    check: str
    impact: str
    confidence: str
    description: str

    @property
    def key(self) -> str:
        return f"{self.check}: {self.description}"


def slither_executable() -> str | None:
    """``$SETTLESIM_SLITHER``, else ``.venv/slither/bin/slither``, else ``slither`` on PATH."""
    env = os.environ.get("SETTLESIM_SLITHER")
    if env:
        return env
    local = PROJECT_ROOT / ".venv" / "slither" / "bin" / "slither"
    if local.exists():
        return str(local)
    return shutil.which("slither")


def _finding(result: dict[str, Any]) -> Finding:
    first = result["description"].strip().splitlines()[0]
    text = _LOCATION.sub("", first).strip().rstrip(":").strip()
    return Finding(result["check"], result["impact"], result["confidence"], text)


def run_slither(executable: str | None = None) -> list[Finding]:
    """Run slither over ``contracts/`` and return its findings in our sources, sorted.

    Raises:
        SlitherError: no slither found (run ``make slither``), or it failed.
    """
    exe = executable or slither_executable()
    if exe is None:
        raise SlitherError("slither not found: run 'make slither' (it installs the pinned "
                           "slither-analyzer into .venv/slither)")
    with tempfile.TemporaryDirectory(prefix="settlesim-slither-") as tmp:
        out = Path(tmp) / "slither.json"
        cmd = [exe, str(CONTRACTS_DIR.relative_to(PROJECT_ROOT)), "--solc", str(WRAPPER),
               "--solc-standard-json", "--solc-remaps", REMAPPING,
               "--filter-paths", "node_modules", "--json", str(out)]
        proc = subprocess.run(cmd, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=600, check=False)
        try:
            report = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            raise SlitherError(f"slither wrote no report (exit {proc.returncode}):\n"
                               f"{proc.stderr[-4000:]}") from None
    if not report.get("success"):
        raise SlitherError(f"slither failed: {report.get('error')}\n{proc.stderr[-4000:]}")
    results = report.get("results", {}).get("detectors", [])
    return sorted({_finding(r) for r in results}, key=lambda f: f.key)


def load_triage(path: Path | None = None) -> dict[str, dict[str, str]]:
    """The accepted findings by key, each with its ``justification`` (and impact)."""
    data = json.loads((path or TRIAGE_PATH).read_text(encoding="utf-8"))
    accepted: dict[str, dict[str, str]] = {}
    for entry in data["accepted"]:
        if not entry.get("justification", "").strip():
            raise TriageError(f"triage entry without a justification: {entry['finding']}")
        accepted[f"{entry['check']}: {entry['finding']}"] = entry
    return accepted


def check(findings: list[Finding] | None = None, triage: Path | None = None) -> list[Finding]:
    """Every finding must be in the triage file and every entry of it still reported.

    Returns:
        The findings (all triaged).

    Raises:
        TriageError: naming each untriaged finding and each stale entry.
    """
    findings = run_slither() if findings is None else findings
    accepted = load_triage(triage)
    keys = {f.key for f in findings}
    new = [f for f in findings if f.key not in accepted]
    stale = sorted(k for k in accepted if k not in keys)
    if new or stale:
        lines = [f"untriaged ({f.impact}, {f.confidence} confidence): {f.key}" for f in new]
        lines += [f"stale triage entry (slither no longer reports it): {k}" for k in stale]
        raise TriageError(f"slither findings differ from {TRIAGE_PATH.name}:\n  "
                          + "\n  ".join(lines))
    return findings


def main() -> int:
    try:
        findings = check()
    except (SlitherError, TriageError) as exc:
        print(f"slither: {exc}", file=sys.stderr)
        return 1
    print(f"slither: {len(findings)} findings, all triaged "
          f"({TRIAGE_PATH.relative_to(PROJECT_ROOT)})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
