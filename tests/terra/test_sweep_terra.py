"""``settlesim sweep terra-run --grid terra.…``: each grid point says whether the peg held."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from sim.cli.main import main
from sim.experiments.scenario import load_scenario


def test_a_sweep_over_the_reserve_says_where_the_peg_came_back(tmp_path: Path) -> None:
    # terra-run cut down: two payments on the banks only (the bridge has its own tests),
    # the run over 7-8 May at 300 agents in 15-minute steps
    path = tmp_path / "terra-tiny.toml"
    text = Path(load_scenario("terra-run", check=False).path).read_text(encoding="utf-8")
    text = text.replace("payments = 300", "payments = 2").replace("days = 7", "days = 1.5")
    text = text.replace('rails = ["correspondent", "onchain", "onchain-terra"]',
                        'rails = ["correspondent"]')
    text = text.replace("agents = 1000\nstep_seconds = 120",
                        "agents = 300\nstep_seconds = 900\nrecovery_days = 1.0")
    path.write_text(text, encoding="utf-8")
    out = tmp_path / "sweep"
    code = main(["sweep", str(path), "--grid", "terra.reserve_btc=0,2000000",
                 "--workers", "1", "--out", str(out), "--quiet"])
    assert code == 0
    doc = json.loads((out / "sweep_summary.json").read_text(encoding="utf-8"))
    pts = {p["params"]["terra.reserve_btc"]: p["terra"] for p in doc["points"]}
    assert set(pts) == {0, 2000000}
    assert pts[0]["within_days"] == 1.0 and pts[0]["peg_level"] == 0.98
    # without a reserve the run breaks the peg for good; a huge one buys it back
    assert pts[0]["peg_back"] == [False]
    assert min(pts[2000000]["price_min"]) > min(pts[0]["price_min"])
    csv = pd.read_csv(out / "sweep_summary.csv")
    assert {"terra_peg_back_share", "terra_within_days"} <= set(csv.columns)
