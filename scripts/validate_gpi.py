"""Calibration check: the default correspondent network against published gpi and RPW figures.

Runs the shipped baseline (default network and workload), writes the run's
``payments``, ``steps`` (Parquet and CSV) and ``summary.json`` to ``--out``, and
prints the model's figures side by side with the published ones.

gpi figures are measured the way Swift measures them: from the moment the
ordering bank sends the payment (here: the start of its first inter-bank
``transit`` step) to the credit of the beneficiary's account; "reach the
beneficiary bank" ends when the last ``transit`` step ends. The cost of a USD 200
remittance is measured on probe payments: USD 200 (equivalent), retail, SHA,
sent on a weekday over every sender/beneficiary pair of every corridor, weighted
like the workload, as ``100 * fee_total_sent / 200``.

Usage::

    python scripts/validate_gpi.py --payments 2000 --seed 1 --out out/validate_gpi
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from sim.banking.correspondent import run  # noqa: E402
from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Payment, Workload, WorkloadSpec  # noqa: E402
from sim.calendar import to_timestamp  # noqa: E402
from sim.money import convert_for_reporting  # noqa: E402

PUBLISHED: list[tuple[str, str, float | None, str]] = [
    ("credited within 5 min", "share_5m", 0.40, "Swift press release, 28 Feb 2019"),
    ("credited within 30 min", "share_30m", 0.50, "Swift press release, 28 Feb 2019"),
    ("credited within 1 h", "share_1h", 0.43, "Swift, Oct 2024 (end customer, all)"),
    ("credited within 6 h", "share_6h", 0.75, "Swift press release, 28 Feb 2019"),
    ("credited within 24 h", "share_24h", 1.00, "Swift press release, 28 Feb 2019 (~100%)"),
    ("median time to credit (h)", "median_h", 2.0, "BIS/CPMI 2022: median < 2 h"),
    ("reach beneficiary bank within 1 h", "reach_bank_1h", 0.895, "Swift, Aug 2023; Oct 2024"),
    ("mean intermediaries", "mean_intermediaries", 1.05, "BIS/CPMI 2022: just over one"),
    ("direct or one intermediary", "share_le1_intermediary", 0.85, "Swift, Aug 2023 (84-86%)"),
    ("cost of USD 200 via banks (%)", "rpw_cost_pct", 11.48, "World Bank RPW issue 47"),
]


#: Why a figure can stay away from its published value (printed when it is more than
#: five points, or 5% of the value, away).
NOTES: dict[str, str] = {
    "share_1h": "Swift's 43% (2024, all payments) measures to the end customer across all "
                "of gpi; Swift 2019's 50% within 30 min is a different sample and year. The "
                "model follows the 2019 curve (5 min / 30 min / 6 h), so it cannot also match "
                "43% at 1 h: the two published figures are not consistent with each other.",
    "share_24h": "Payments released on a Friday evening (or before a local holiday) reach "
                 "beneficiary banks that credit only in business hours after the weekend; the "
                 "model keeps that tail (weekends and holidays in each bank's calendar), "
                 "whereas gpi's ~100% within 24 h is dominated by large banks that credit "
                 "straight through around the clock.",
    "median_h": "Published as an upper bound (< 2 h); the 2019 curve (50% within 30 min) "
                "puts it at about 30 min; the model's median lies below both bounds.",
}


def gpi_figures(payments: pd.DataFrame, steps: pd.DataFrame) -> dict[str, float]:
    """gpi-style figures from a run's tables (see module docstring)."""
    tr = steps[steps["kind"] == "transit"]
    release = tr.groupby("payment_id")["started_at"].min()
    arrive = tr.groupby("payment_id")["ended_at"].max()
    p = payments.set_index("payment_id")
    sent = p.index.intersection(release.index)
    cred = p.loc[sent]
    ok = cred["status"] == "credited"
    gpi = (cred["credited_at"] - release.loc[sent]).dt.total_seconds()
    gpi = gpi.where(ok)
    n = len(sent)
    out: dict[str, float] = {}
    for key, secs in (("share_5m", 300), ("share_30m", 1800), ("share_1h", 3600),
                      ("share_6h", 6 * 3600), ("share_24h", 86400)):
        out[key] = float((gpi <= secs).sum() / n) if n else float("nan")
    out["median_h"] = float(np.nanmedian(gpi.to_numpy(dtype=float)) / 3600) if n else float("nan")
    reach = (arrive.loc[sent] - release.loc[sent]).dt.total_seconds()
    out["reach_bank_1h"] = float((reach <= 3600).mean()) if n else float("nan")
    routed = payments[payments["failure_reason"].fillna("").str.startswith("unroutable") == False]  # noqa: E712
    out["mean_intermediaries"] = float(routed["hops"].mean())
    out["share_le1_intermediary"] = float((routed["hops"] <= 1).mean())
    e2e = payments.loc[payments["status"] == "credited", "latency_s"]
    out["e2e_median_h"] = float(e2e.median() / 3600) if len(e2e) else float("nan")
    return out


def remittance_probe(network: BankNetwork, spec: WorkloadSpec, seed: int,
                     amount_usd: int = 200) -> float:
    """Weighted mean cost (%) of a USD ``amount_usd`` retail SHA transfer through banks."""
    t = to_timestamp(datetime(2025, 11, 12, 15, 0, tzinfo=UTC))  # a Wednesday
    payments: list[Payment] = []
    weights: list[float] = []
    principal: list[int] = []
    for c in spec.corridors:
        if c.segments.get("retail", 0) <= 0:
            continue
        st = sum(c.senders.values())
        bt = sum(c.beneficiaries.values())
        amt = convert_for_reporting(amount_usd * 100, "USD", c.currency_sent,
                                    network.fx.rate("USD", c.currency_sent))
        for s, ws in c.senders.items():
            for b, wb in c.beneficiaries.items():
                i = len(payments)
                payments.append(Payment(f"R{i:05d}", i, t + i, c.name, s, b, amt, c.currency_sent,
                                        c.currency_delivered, "retail", "SHA"))
                weights.append(c.share * c.segments["retail"] * ws / st * wb / bt)
                principal.append(amt)
    res = run(network, Workload(payments), seed=seed)
    p = res.payments.set_index("payment_id").loc[[x.payment_id for x in payments]]
    fee = p["fee_total_sent"].to_numpy(dtype=float)
    pct = 100 * fee / np.array(principal, dtype=float)
    w = np.array(weights)
    return float((pct * w).sum() / w.sum())


def main(argv: list[str] | None = None) -> dict[str, Any]:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--payments", type=int, default=2000, help="payments in the run")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--out", type=Path, default=Path("out/validate_gpi"))
    args = ap.parse_args(argv)
    if args.payments < 1:
        ap.error("--payments must be at least 1")
    network = BankNetwork.default()
    spec = WorkloadSpec.default()
    wl = Workload.generate(spec, seed=args.seed, n_payments=args.payments, network=network)
    res = run(network, wl, seed=args.seed)
    written = res.write(args.out, scenario="default baseline (validate_gpi)", seed=args.seed)
    fig = gpi_figures(res.payments, res.steps)
    fig["rpw_cost_pct"] = remittance_probe(network, spec, args.seed)
    print(f"settlesim correspondent baseline: {len(wl)} payments, seed {args.seed}, "
          f"network {network.name} ({network.summary()['banks']} banks)")
    print(f"{'figure':36s} {'model':>8s} {'published':>10s}  source")
    for label, key, pub, src in PUBLISHED:
        v = fig[key]
        if key.startswith("share") or key == "reach_bank_1h":
            mv, pv = f"{100 * v:7.1f}%", f"{100 * pub:8.1f}%" if pub is not None else ""
        else:
            mv, pv = f"{v:8.2f}", f"{pub:10.2f}" if pub is not None else ""
            if key == "median_h":
                pv = f"< {pub:.2f}"
        print(f"{label:36s} {mv:>8s} {pv:>10s}  {src}")
    print(f"{'(end to end, customer to credit) median h':36s} {fig['e2e_median_h']:8.2f}")
    for _label, key, pub, _src in PUBLISHED:
        if pub is not None and key in NOTES:
            v = fig[key]
            far = (abs(v - pub) > 0.05) if pub <= 1 else (abs(v - pub) > 0.05 * pub)
            if far or key == "median_h":
                print(f"note on {key}: {NOTES[key]}")
    print("written: " + ", ".join(str(p) for p in written.values()))
    return fig


if __name__ == "__main__":
    main()
