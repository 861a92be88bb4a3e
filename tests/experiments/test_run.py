"""Running scenarios: every shipped scenario on both rails with few payments, the same
workload on every rail, determinism, replications with intervals, and the paper claim."""

from __future__ import annotations

import doctest
import importlib
import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from sim.experiments.runner import replication_seed, run, run_scenario
from sim.experiments.scenario import Scenario, load_scenario, shipped_scenarios
from sim.results import PAYMENT_COLUMNS, STEP_COLUMNS, conservation_violations

K_FIELDS = {"count", "credited", "latency_p50_s", "latency_p90_s", "latency_p99_s",
            "share_within_1h", "share_within_1bd", "cost_pct_mean", "cost_pct_median",
            "failure_rate"}


@pytest.mark.parametrize("name", sorted(shipped_scenarios()))
def test_each_shipped_scenario_runs_on_both_rails_with_few_payments(name):
    sc = load_scenario(name)
    res = run(sc, payments=12)
    p = res.payments
    assert tuple(p.columns) == PAYMENT_COLUMNS and tuple(res.steps.columns) == STEP_COLUMNS
    assert sorted(set(p["rail"])) == sorted(sc.rails)
    by_rail = {r: g.set_index("payment_id") for r, g in p.groupby("rail")}
    ids = [set(g.index) for g in by_rail.values()]
    assert all(i == ids[0] for i in ids) and len(ids[0]) == 12          # same payments
    a, b = by_rail["correspondent"], by_rail["onchain"].loc[by_rail["correspondent"].index]
    for col in ("corridor", "sender_bank", "beneficiary_bank", "charge_option", "created_at",
                "currency_sent", "currency_delivered"):
        assert (a[col] == b[col]).all(), col
    assert conservation_violations(p).empty
    assert set(p["status"]) <= {"credited", "returned", "failed"}
    if sc.horizon.start is not None:
        t0 = pd.Timestamp(sc.horizon.start)
        t1 = t0 + pd.Timedelta(days=sc.horizon.days)
        assert (p["created_at"] >= t0).all() and (p["created_at"] < t1).all()
    if sc.workload.segments == ["wholesale"]:              # wholesale: USD 50k and more
        usd = p.loc[p["currency_sent"] == "USD", "amount_sent"]
        assert (usd >= 50_000 * 100).all(), usd
    s = res.summary()
    assert s["scenario"] == name and set(s["rails"]) == set(sc.rails)
    for k in s["rails"].values():
        assert K_FIELDS <= set(k)
    assert s["paired"]["count"] == 12


def test_same_scenario_and_seed_give_identical_results():
    sc = load_scenario("fast-ledger")
    a = run_scenario(sc, payments=15, seed=5)
    b = run_scenario(sc, payments=15, seed=5)
    pd.testing.assert_frame_equal(a.payments, b.payments)
    pd.testing.assert_frame_equal(a.steps, b.steps)
    c = run_scenario(sc, payments=15, seed=6)
    assert not a.payments["created_at"].equals(c.payments["created_at"])
    # run() replication r uses replication_seed(scenario seed, r)
    r = run(sc, payments=15, replications=2)
    assert r.seeds == [replication_seed(sc.seed, 0), replication_seed(sc.seed, 1)]
    d = run_scenario(sc, payments=15, replication=1)
    pd.testing.assert_frame_equal(r.replications[1].payments, d.payments)


@pytest.fixture(scope="module")
def five_reps():
    return run("baseline", payments=30, replications=5)


SHARES = ("share_within_1h", "share_within_1bd", "failure_rate", "return_rate", "failed_rate",
          "corridors_cost_above_3pct", "corridors_cost_above_5pct", "onchain_faster_share",
          "onchain_cheaper_share")


def test_replications_give_an_interval_for_every_kpi(five_reps):
    res = five_reps
    p = res.payments
    assert tuple(p.columns) == PAYMENT_COLUMNS
    assert not p.duplicated(["rail", "payment_id"]).any()
    assert p["payment_id"].str.match(r"^R00[0-4]-P\d{7}$").all()
    s = res.summary()
    assert s["replications"] == 5 and len(s["seeds"]) == 5 and "ci_warning" not in s
    assert "cluster bootstrap" in s["ci_method"] and "replications" in s["ci_method"]
    for rail, k in s["rails"].items():
        ci = k["ci95"]
        assert "count" not in ci and "credited" not in ci      # counts are not estimates
        for name, val in k.items():
            if name in ("count", "credited", "ci95") or val is None:
                continue
            assert ci.get(name) is not None, f"{rail}: no interval for {name}"
            lo, hi = ci[name]
            assert lo <= hi, (rail, name)
            if name in SHARES:
                assert 0 <= lo <= hi <= 1, (rail, name, ci[name])
            if name.startswith("latency_p"):
                assert lo >= 0, (rail, name)
    paired = s["paired"]
    assert "both_credited" not in paired["ci95"] and "count" not in paired["ci95"]
    assert paired["ci95"]["latency_diff_median_s"] is not None
    for by_rail in s["corridors"].values():
        for k in by_rail.values():
            assert "ci95" in k


def test_the_cluster_bootstrap_recomputes_each_kpi_exactly(five_reps):
    from sim.experiments.liquidity import liquidity_kpis, replication_exposure
    from sim.experiments.statistics import _Cluster, _extra_kpis
    from sim.results import kpis

    cal = five_reps.meta.get("calendars")
    cl = _Cluster(five_reps.replications, cal)
    cl.W = np.array([[1.0] * 5, [2.0, 0.0, 0.0, 3.0, 0.0]])  # everything once; a resample
    pooled = five_reps.replications
    for b, mult in enumerate(cl.W):
        parts = [r.payments for r, m in zip(pooled, mult, strict=True) for _ in range(int(m))]
        frame = pd.concat(parts, ignore_index=True)
        for rail in ("correspondent", "onchain"):
            sub = frame[frame.rail == rail]
            want = {**kpis(sub, cal), **_extra_kpis(sub), **liquidity_kpis(sub)}
            # exposure: each replication's own, averaged over the replications drawn
            for name in ("exposure_usd_hours", "peak_exposure_usd"):
                want[name] = sum(m * replication_exposure(
                    r.payments[r.payments.rail == rail], r.meta["usd_per_minor"])[name]
                    for r, m in zip(pooled, mult, strict=True)) / len(pooled)
            got = cl.kpis(cl.rail == rail)
            for name, samples in got.items():
                if want[name] is None:
                    assert math.isnan(samples[b])
                else:
                    assert math.isclose(samples[b], want[name], rel_tol=1e-9, abs_tol=1e-9), \
                        (b, rail, name)


def test_too_few_replications_get_a_warning_not_an_interval():
    s = run("baseline", payments=10, replications=2).summary()
    assert "too few" in s["ci_warning"] and "5" in s["ci_warning"]
    assert all("ci95" not in k for k in s["rails"].values())


def test_intervals_agree_with_scipy():
    from sim.experiments.statistics import median_interval, replication_mean_interval

    x = np.random.default_rng(3).lognormal(size=200)
    res = scipy.stats.bootstrap((x,), np.median, n_resamples=1000, method="percentile",
                                rng=np.random.default_rng(20271))
    assert median_interval(x) == pytest.approx([res.confidence_interval.low,
                                                res.confidence_interval.high])
    v = [0.91, 0.95, 0.99, 1.0, 0.97, 0.93]
    res = scipy.stats.bootstrap((np.array(v),), np.mean, n_resamples=1000, method="percentile",
                                rng=np.random.default_rng(20271))
    assert replication_mean_interval(v) == pytest.approx([res.confidence_interval.low,
                                                          res.confidence_interval.high])
    assert replication_mean_interval(v[:4]) is None


def test_summary_keeps_the_design_shape_and_adds_fields(baseline_small):
    s = baseline_small.summary()
    assert list(s)[:5] == ["scenario", "seed", "rails", "corridors", "paired"]
    for k in s["rails"].values():
        assert K_FIELDS <= set(k)
        assert {"return_rate", "failed_rate", "corridors_cost_above_3pct",
                "corridors_cost_above_5pct"} <= set(k)
        assert math.isclose(k["failure_rate"], k["return_rate"] + k["failed_rate"])
    for p in ("count", "both_credited", "onchain_faster_share", "latency_saving_p50_s",
              "latency_diff_median_s", "latency_diff_median_ci95_s", "cost_diff_median_pp"):
        assert p in s["paired"]
    lo, hi = s["paired"]["latency_diff_median_ci95_s"]
    assert lo <= s["paired"]["latency_diff_median_s"] <= hi
    # on-chain minus correspondent is minus the saving DESIGN.md reports
    assert math.isclose(s["paired"]["latency_diff_median_s"], -s["paired"]["latency_saving_p50_s"])


def test_paper_claim_holds_only_under_its_assumptions():
    """'Three days to three minutes': minutes on-chain under the claim's assumptions,
    hours on the baseline for the same payments."""
    claim = run("paper-claim", payments=60).summary()["rails"]["onchain"]
    base = run("baseline", payments=60).summary()["rails"]["onchain"]
    assert claim["latency_p50_s"] < 10 * 60
    assert claim["share_within_1h"] > 0.9
    assert base["latency_p50_s"] > 3600
    assert base["share_within_1h"] < 0.2


def test_overrides_reach_the_rails():
    sc = Scenario(name="no-reviews", payments=40, network={"overrides": {"review_share": 0.0}})
    res = run_scenario(sc, seed=2)
    assert not res.steps["detail"].str.contains("manual review").any()
    base = run_scenario(Scenario(name="b", payments=40), seed=2)
    assert base.payments["payment_id"].tolist() == res.payments["payment_id"].tolist()


def test_run_accepts_a_path_and_a_ledger_override(tmp_path):
    path = shipped_scenarios()["fast-ledger"]
    res = run(path, payments=5, ledger="table", seed=3)
    assert res.scenario.seed == 3 and res.scenario.payments == 5
    with pytest.raises(ValueError):
        run(path, payments=0)


@pytest.mark.parametrize("mod", ["sim.experiments.runner"])
def test_doctests(mod):
    res = doctest.testmod(importlib.import_module(mod), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_compare_rails_script_still_works_and_takes_a_scenario(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "compare_rails.py"
    spec = importlib.util.spec_from_file_location("compare_rails", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    assert mod.main(["--payments", "8", "--out", str(tmp_path / "a")]) == 0
    assert mod.main(["--scenario", "paper-claim", "--payments", "8",
                     "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert out.count("median latency (h)") == 2
    import json
    assert json.loads((tmp_path / "b" / "summary.json").read_text())["scenario"] == "paper-claim"


def test_compare_rails_script_refuses_bad_input_in_one_line(tmp_path, capsys):
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "compare_rails.py"
    spec = importlib.util.spec_from_file_location("compare_rails", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    capsys.readouterr()
    assert mod.main(["--payments", "3", "--chain", "nochain", "--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert err.startswith("compare_rails: ") and "profile 'nochain': unknown" in err
    assert "Traceback" not in err and not (tmp_path / "a").exists()


def test_report_states_the_runs_rate_against_the_workloads_own():
    from sim.outputs.report import assumptions

    sc = Scenario(name="rate", payments=56, rails=["correspondent"],
                  horizon={"start": "2025-11-03T00:00:00Z", "days": 7})
    res = run(sc)
    row = dict((k, v) for k, v, _ in assumptions(res))["payments per replication"]
    # 56 payments in 7 days: 8 a day, 0.02 of the workload file's 400 a day
    assert row.startswith("56: 8 a day, 0.02x the 400 a day the workload draws")
