"""A small gallery of teaching timelines: the same corridor sent at three telling moments.

The same US-MX payment (the corridor's most-used banks, 1,000 USD) sent on a
Tuesday morning, on a Friday evening, on the eve of a US holiday (the
Wednesday before Thanksgiving) and on the Friday before a Mexican holiday
Monday, each on both rails (times are the sender bank's local time). Writes one self-contained
HTML timeline per case (Plotly inlined, works offline) and an ``index.html``
linking them with each rail's outcome, to ``--out``.

Usage::

    python scripts/timeline_gallery.py --out out/timelines
    python scripts/timeline_gallery.py --out out/timelines --scenario baseline --amount 250
"""

from __future__ import annotations

import argparse
import html
import sys
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.banking.network import BankNetwork  # noqa: E402
from sim.errors import InputError  # noqa: E402
from sim.outputs.timeline import (  # noqa: E402
    Timeline,
    choose_banks,
    format_duration,
    parse_local_time,
    scenario_settings,
    simulate,
    write_html,
    write_page,
)


@dataclass(frozen=True)
class Case:
    slug: str
    title: str
    at: str  # local time of the sender bank
    why: str


CASES: tuple[Case, ...] = (
    Case("tuesday-morning", "Tuesday morning", "2026-11-17 09:30",
         "an ordinary business day, well before every cut-off"),
    Case("friday-evening", "Friday evening", "2026-11-20 17:30",
         "after the sender's cut-off, with a weekend ahead"),
    Case("holiday-eve", "Eve of a US holiday", "2026-11-25 17:30",
         "the Wednesday before Thanksgiving (Thursday 26 Nov 2026), then a Friday"),
    Case("friday-before-mx-holiday", "Friday before a Mexican holiday", "2026-11-13 17:30",
         "a weekend, then Revolution Day (Monday 16 Nov 2026) at the receiving end"),
)


def build(out: Path, *, corridor: str = "US-MX", amount: str = "1000", seed: int = 1,
          scenario: str | None = None) -> list[tuple[Case, Timeline, Path]]:
    """Write the gallery to ``out``; return each case with its timeline and page."""
    settings = scenario_settings(scenario) if scenario else {}
    settings.setdefault("seed", seed)
    net = settings.get("network") or BankNetwork.default()
    sender, _, _ = choose_banks(corridor, net, settings.get("workload_spec"))
    tz = net.banks[sender].timezone
    made = []
    for case in CASES:
        tl = simulate(corridor, parse_local_time(case.at, tz), amount=amount, **settings)
        page = write_html(tl, out / f"{corridor.lower()}-{case.slug}.html")
        made.append((case, tl, page))
    _index(out, corridor, made)
    return made


def _index(out: Path, corridor: str, made: list[tuple[Case, Timeline, Path]]) -> Path:
    e = html.escape
    rows = []
    for case, tl, page in made:
        cells = "".join(f"<td>{e(tl.outcome(r))}</td>" for r in tl.rails)
        rows.append(f"<tr><td><a href='{e(page.name)}'>{e(case.title)}</a><br>"
                    f"<span class='m'>{e(tl.title)}</span><br><span class='m'>{e(case.why)}"
                    f"</span> · <a href='{e(page.name)}#log'>log view</a></td>{cells}</tr>")
    heads = "".join(f"<th>{e(r.title)}</th>" for r in made[0][1].rails) if made else ""
    doc = f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{e(corridor)} timelines</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 32px; font-size: 22px; color: #222; }}
table {{ border-collapse: collapse; width: 100%; }}
th, td {{ border-bottom: 1px solid #ddd; padding: 12px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; }}
.m {{ color: #666; font-size: 17px; }}
</style></head><body>
<h1>{e(corridor)}: the same payment at four moments, on both rails</h1>
<p>Each page shows both rails one above the other on a shared time axis; switch to the
log view to see the seconds-long steps next to the weekends. Every file works offline.</p>
<table><thead><tr><th>sent</th>{heads}</tr></thead><tbody>{''.join(rows)}</tbody></table>
</body></html>
"""
    return write_page(out / "index.html", doc)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default="out/timelines", help="output folder")
    ap.add_argument("--corridor", default="US-MX")
    ap.add_argument("--amount", default="1000", help="amount in the sender's currency")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--scenario", default=None, help="scenario file or shipped name")
    args = ap.parse_args(argv)
    t0 = time.perf_counter()
    try:
        made = build(Path(args.out), corridor=args.corridor, amount=args.amount,
                     seed=args.seed, scenario=args.scenario)
    except (InputError, OSError) as exc:   # a refusal of the input; any other error is a fault
        print(f"timeline_gallery: {' '.join(str(exc).split())}", file=sys.stderr)
        return 2
    for case, tl, page in made:
        lat = [format_duration(r.credited_at - tl.created_at) if r.credited_at else r.status
               for r in tl.rails]
        print(f"{case.title:<22} " + "  ".join(f"{r.rail}: {v:<10}"
                                               for r, v in zip(tl.rails, lat, strict=True))
              + f"  -> {page}")
    print(f"wrote {Path(args.out) / 'index.html'} ({time.perf_counter() - t0:.1f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
