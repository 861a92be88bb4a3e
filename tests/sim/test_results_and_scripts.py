import doctest
import importlib
import json
from pathlib import Path

import pandas as pd
import pytest

from sim.results import PAYMENT_COLUMNS, STEP_COLUMNS, Results, atomic_write

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mod", ["sim", "sim.errors", "sim.money", "sim.calendar", "sim.draws",
                                 "sim.banking.network", "sim.banking.workload", "sim.results",
                                 "sim.outputs.report", "sim.banking.correspondent", "sim.cli.args",
                                 "sim.onchain.fee_market"])
def test_docstring_examples_run(mod: str) -> None:
    res = doctest.testmod(importlib.import_module(mod), optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 0


def test_atomic_write_leaves_old_file_on_failure(tmp_path: Path) -> None:
    f = tmp_path / "x.txt"
    atomic_write(f, lambda t: t.write_text("old"))

    def boom(t: Path) -> None:
        t.write_text("half")
        raise RuntimeError("disk full")

    with pytest.raises(RuntimeError):
        atomic_write(f, boom)
    assert f.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["x.txt"]


def test_results_refuse_wrong_shape() -> None:
    with pytest.raises(ValueError, match="not the shape"):
        Results(pd.DataFrame({"x": []}), pd.DataFrame(columns=list(STEP_COLUMNS)))


def test_validate_gpi_script_writes_outputs(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("validate_gpi", ROOT / "scripts" /
                                                  "validate_gpi.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    fig = mod.main(["--payments", "60", "--seed", "4", "--out", str(tmp_path)])
    for name in ("payments.parquet", "payments.csv", "steps.parquet", "steps.csv",
                 "summary.json"):
        assert (tmp_path / name).stat().st_size > 0
    p = pd.read_parquet(tmp_path / "payments.parquet")
    assert list(p.columns) == list(PAYMENT_COLUMNS) and len(p) == 60
    assert list(pd.read_csv(tmp_path / "steps.csv").columns) == list(STEP_COLUMNS)
    summ = json.loads((tmp_path / "summary.json").read_text())
    k = summ["rails"]["correspondent"]
    assert set(k) == {"count", "credited", "latency_p50_s", "latency_p90_s", "latency_p99_s",
                      "share_within_1h", "share_within_1bd", "cost_pct_mean", "cost_pct_median",
                      "failure_rate"}
    assert k["count"] == 60 and summ["seed"] == 4 and "US-MX" in summ["corridors"]
    assert 0 <= fig["share_5m"] <= fig["share_30m"] <= fig["share_6h"] <= fig["share_24h"] <= 1
    assert 5 < fig["rpw_cost_pct"] < 25


def test_text_columns_built_through_arrow_equal_pandas_str_arrays() -> None:
    from sim.results import _str_array

    for values in (["a", None, "ü €", ""], [None, None], [], ["x", 3]):
        got, want = _str_array(list(values)), pd.array(list(values), dtype="str")
        assert got.dtype == want.dtype
        assert list(pd.Series(got).fillna("<NA>")) == list(pd.Series(want).fillna("<NA>"))


def test_amounts_too_large_for_the_tables_name_payment_and_column() -> None:
    from sim.results import MoneyOverflowError, ResultsBuilder, close_accounts

    b = ResultsBuilder("test")
    b.add_payment(close_accounts("P1", "test", "US-US", "A", "B", "OUR", 10, "USD", 10, "USD",
                                 0.0, 1.0, "credited", None, 0, {}, 10))
    b.add_payment(close_accounts("P2", "test", "US-US", "A", "B", "OUR", 2**70, "USD", 10,
                                 "USD", 0.0, 1.0, "credited", None, 0, {"gas": 2**70 - 10}, 10))
    b.add_step("P1", 0, "credit", "B", 0.0, 1.0, 0, "USD", "")
    with pytest.raises(MoneyOverflowError,
                       match=r"payment P2: amount_sent of 1\.180e\+21 minor units"):
        b.build()
    b = ResultsBuilder("test")
    b.add_step("P3", 0, "credit", "B", 0.0, 1.0, 2**64, "USD", "")
    with pytest.raises(MoneyOverflowError, match="payment P3: step cost"):
        b.build()


def test_liquidity_study_script_finds_levels_that_avoid_every_wait(capsys) -> None:
    spec = importlib.util.spec_from_file_location("liquidity_study", ROOT / "scripts" /
                                                  "liquidity_study.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    out = mod.main(["--payments", "40", "--seed", "3"])
    text = capsys.readouterr().out
    # at the smallest levels no payment waited, and each level is the smallest: one minor
    # unit less on any nostro would make some debit wait in the same flows
    assert "0 at the smallest" in text.split("2. FX provider")[0]
    assert text.count("0 at the smallest") == 2
    assert out["provider_float_usd"] > 0 and out["nostros"]
    assert all(v >= 0 for v in out["nostros"].values())
    # the sweep: fees alone at 0%, and the all-in cost never falls as the rate rises
    for row in out["sweep"].values():
        for series in row.values():
            assert len(series) == len(mod.RATES)
            assert all(b >= a - 1e-12 for a, b in zip(series, series[1:], strict=False))
        assert row["attributed"][0] == pytest.approx(row["whole_balances"][0])
