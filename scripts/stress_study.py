"""What each shipped stress event costs, on each rail: the four stress scenarios against
their twins (the same payments and seed without the event), in one table.

Runs ``svb-weekend``, ``chain-halt``, ``bank-outage`` and ``sanctions-freeze`` (or the
scenarios given), each once with its events and once as its twin, and prints one
row per scenario and rail: payments affected, the extra latency of those credited in
both runs (median and p90), payments returned and failed because of the events,
the value held up in flight (peak and value-hours), the value lost to a depeg and
still frozen, the extra fees, and the longest time after an event until its backlog
drained (see :mod:`sim.experiments.stress` for every definition). Writes the table
as ``stress_study.csv`` and, with each scenario's ``events`` section of
``summary.json``, ``stress_study.json`` to ``--out``.

Usage::

    python scripts/stress_study.py                       # 300 payments per scenario
    python scripts/stress_study.py --payments 2000 --out out/stress
    python scripts/stress_study.py --scenario bank-outage --scenario my-outage.toml
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import pandas as pd  # noqa: E402

from sim.errors import InputError  # noqa: E402
from sim.results import atomic_write  # noqa: E402

SCENARIOS = ("svb-weekend", "chain-halt", "bank-outage", "sanctions-freeze")

#: (column, header, format) of the printed table
COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("scenario", "scenario", "s"), ("rail", "rail", "s"),
    ("payments", "pay", "n"), ("affected", "hit", "n"),
    ("extra_latency_p50_s", "+p50 h", "h"), ("extra_latency_p90_s", "+p90 h", "h"),
    ("returned", "ret", "n"), ("failed", "fail", "n"),
    ("value_in_flight_peak_usd", "held peak $", "usd"), ("value_hours_usd", "held $·h", "usd"),
    ("loss_usd", "lost $", "usd"), ("frozen_usd", "frozen $", "usd"),
    ("extra_fees_usd", "+fees $", "usd"), ("drained_after_s", "drain h", "h"),
)


def _fmt(v: Any, how: str) -> str:
    if v is None or (isinstance(v, float) and v != v):
        return "-"
    if how == "n":
        return f"{int(v):,}"
    if how == "h":
        return f"{float(v) / 3600:.2f}"
    if how == "usd":
        return f"{float(v):,.0f}"
    return str(v)


def study(scenarios: tuple[str, ...] = SCENARIOS, payments: int = 300,
          seed: int | None = None) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Run each scenario with its twin; the table (one row per scenario and rail) and
    each scenario's ``events`` section of ``summary.json``."""
    from sim.experiments.runner import run

    rows, sections = [], {}
    for name in scenarios:
        res = run(name, payments=payments, seed=seed)
        ev = res.summary().get("events")
        if ev is None:
            raise InputError(f"scenario {name!r} has no events: nothing to measure; give a "
                             "scenario with [[events]] or [[congestion]]")
        sections[res.scenario.name] = ev
        for rail, k in ev["rails"].items():
            drains = [e["drained_after_s"] for e in k["events"]
                      if e["drained_after_s"] is not None]
            rows.append({"scenario": res.scenario.name, "rail": rail,
                         **{c: k.get(c) for c, _, _ in COLUMNS[2:-1]},
                         "drained_after_s": max(drains) if drains else None})
    return pd.DataFrame(rows, columns=[c for c, _, _ in COLUMNS]), sections


def render(table: pd.DataFrame) -> str:
    """The table as aligned text (hours and whole US dollars)."""
    cells = [[h for _, h, _ in COLUMNS]]
    for _, row in table.iterrows():
        cells.append([_fmt(row[c], how) for c, _, how in COLUMNS])
    widths = [max(len(r[i]) for r in cells) for i in range(len(COLUMNS))]
    lines = []
    for j, r in enumerate(cells):
        lines.append("  ".join(v.ljust(w) if i < 2 else v.rjust(w)
                               for i, (v, w) in enumerate(zip(r, widths, strict=True))))
        if j == 0:
            lines.append("  ".join("-" * w for w in widths))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=300,
                    help="payments per scenario (default 300)")
    ap.add_argument("--seed", type=int, default=None,
                    help="seed (default: each scenario's own)")
    ap.add_argument("--scenario", action="append", default=None, metavar="NAME|FILE",
                    help="a scenario with events (repeat; default: the four shipped ones)")
    ap.add_argument("--out", default="out/stress_study")
    args = ap.parse_args(argv)
    if args.payments < 1:
        print("stress_study: --payments must be at least 1", file=sys.stderr)
        return 2
    if args.seed is not None and args.seed < 0:
        print("stress_study: --seed must be 0 or more", file=sys.stderr)
        return 2
    try:
        table, sections = study(tuple(args.scenario or SCENARIOS), args.payments, args.seed)
    except (InputError, OSError) as exc:   # a refusal of the input; any other error is a fault
        print(f"stress_study: {exc}", file=sys.stderr)
        return 2
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "stress_study.csv", lambda t: table.to_csv(t, index=False))
    doc = {"payments": args.payments, "seed": args.seed, "scenarios": sections}
    text = json.dumps(doc, indent=2) + "\n"

    def put(tmp: Path) -> None:
        tmp.write_text(text, encoding="utf-8")

    atomic_write(out / "stress_study.json", put)
    print(f"what the events cost against the twin runs (same payments and seed without "
          f"them), {args.payments} payments per scenario; $: US dollars at mid rates")
    print(render(table))
    print(f"wrote stress_study.csv, stress_study.json to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
