"""Calibration check: the Terra run model against what was published for 7-13 May 2022.

Starts from the state of 7 May 2022 (``sim/data/terra.toml``), runs the model on the
exact mirror of the contracts (or the contracts with ``--ledger contracts``), and
prints model against published: the UST pool price's daily lows, LUNA's supply, the
reserve the Luna Foundation Guard spent and the market value lost within three
days; for each the band counted as a fit and whether the model is inside, then a
note on what misses. Writes ``terra_series.csv`` and ``terra_transactions.csv``
with ``--out``.

Usage::

    python scripts/validate_terra.py --seed 1
    python scripts/validate_terra.py --agents 500 --days 2 --out out/validate_terra
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.errors import InputError  # noqa: E402
from sim.terra.model import run_terra  # noqa: E402
from sim.terra.settings import DEFAULT_TERRA_PATH, TerraSettings  # noqa: E402
from sim.terra.validation import compare, format_table, notes  # noqa: E402


def main(argv: list[str] | None = None) -> dict[str, Any]:
    """Run, print the comparison; return ``{"rows", "notes", "wall_s", "run"}``."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--settings", type=Path, default=DEFAULT_TERRA_PATH)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--agents", type=int, default=None, help="holder agents (file's: 2000)")
    ap.add_argument("--days", type=float, default=None, help="days from 7 May (file's: 7)")
    ap.add_argument("--scale", type=float, default=None, help="size scale (file's: 0.01)")
    ap.add_argument("--step-seconds", type=int, default=None, help="seconds per step (60)")
    ap.add_argument("--ledger", choices=("mirror", "contracts"), default="mirror")
    ap.add_argument("--out", type=Path, default=None)
    a = ap.parse_args(argv)
    try:
        s = TerraSettings.load(a.settings)
        changes = {k: v for k, v in (("run.agents", a.agents), ("run.days", a.days),
                                     ("run.scale", a.scale),
                                     ("run.step_seconds", a.step_seconds)) if v is not None}
        s = s.with_changes(changes, str(a.settings)) if changes else s
        clock = time.perf_counter()
        run = run_terra(s, seed=a.seed, ledger=a.ledger)
        wall = time.perf_counter() - clock
    except InputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise SystemExit(2) from None
    rows = compare(run)
    why = notes(run, rows)
    print(f"Terra run model vs published, 7-13 May 2022 ({a.ledger} ledger, seed {a.seed}, "
          f"{s.run.agents} agents, scale {s.run.scale:g}, {s.run.days:g} days in "
          f"{s.run.step_seconds} s steps; {len(run.transactions):,} transactions; "
          f"{wall:.1f} s)")
    print(format_table(rows))
    fits = sum(1 for r in rows if r["fit"])
    print(f"\n{fits} of {sum(1 for r in rows if r['fit'] is not None)} figures inside their "
          "bands.")
    print("Note:")
    for n in why:
        print(f"  - {n}")
    if a.out is not None:
        a.out.mkdir(parents=True, exist_ok=True)
        run.series.to_csv(a.out / "terra_series.csv", index=False)
        run.transactions.to_csv(a.out / "terra_transactions.csv", index=False)
    return {"rows": rows, "notes": why, "wall_s": wall, "run": run}


if __name__ == "__main__":
    main()
