"""Grid parsing and validation: every bad parameter or value is named, before anything
runs or is written."""

from __future__ import annotations

import doctest
from pathlib import Path

import pytest

import sim.experiments.sweep
from sim.cli import main
from sim.experiments.scenario import load_scenario
from sim.experiments.sweep import (
    SweepError,
    expand_grid,
    grid_points,
    param_columns,
    parse_grid,
    parse_value,
    run_sweep,
)


@pytest.mark.parametrize(("text", "value"), [
    ("12", 12), ("-3", -3), ("0.25", 0.25), ("1e3", 1000.0), ("true", True), ("False", False),
    ("fast-ledger", "fast-ledger"), ("'12'", "12"), ('"true"', "true"), ("nan", "nan"),
    (" l2-rollup ", "l2-rollup"),
])
def test_parse_value(text: str, value: object) -> None:
    got = parse_value(text)
    assert got == value and type(got) is type(value)


def test_parse_grid_keeps_order_and_promotes_int_float() -> None:
    g = parse_grid(["payments=40,20", "onchain.escrow.fee_bps=1,2.5", "onchain.chain=a,b"])
    assert g == {"payments": [40, 20], "onchain.escrow.fee_bps": [1.0, 2.5],
                 "onchain.chain": ["a", "b"]}
    assert list(g) == ["payments", "onchain.escrow.fee_bps", "onchain.chain"]
    assert all(type(v) is float for v in g["onchain.escrow.fee_bps"])


def test_a_path_part_may_name_a_pool_s_pair_or_a_corridor() -> None:
    g = parse_grid(["onchain.fx.pools.EUR-XOF.depth_usd=5000000,50000000",
                    "workload.shares.US-MX=0,1"])
    assert g == {"onchain.fx.pools.EUR-XOF.depth_usd": [5000000, 50000000],
                 "workload.shares.US-MX": [0, 1]}


@pytest.mark.parametrize(("spec", "message"), [
    ("payments", "expected PARAM=V1,V2"),
    ("=1,2", "is not a parameter path"),
    ("on chain.chain=a", "is not a parameter path"),
    ("onchain..chain=a", "is not a parameter path"),
    ("payments=", "empty value"),
    ("payments=10,,20", "empty value"),
    ("payments=10,10", "value '10' given twice"),
])
def test_parse_grid_errors_name_the_option(spec: str, message: str) -> None:
    with pytest.raises(SweepError, match=message):
        parse_grid([spec])


def test_parameter_given_twice() -> None:
    with pytest.raises(SweepError, match="--grid payments: given twice"):
        parse_grid(["payments=1", "payments=2"])


def test_grid_points_product_first_slowest() -> None:
    pts = grid_points({"a": [1, 2], "b": ["x", "y", "z"]})
    assert [p.index for p in pts] == list(range(6))
    assert [tuple(p.params.values()) for p in pts] == [
        (1, "x"), (1, "y"), (1, "z"), (2, "x"), (2, "y"), (2, "z")]
    assert [p.params for p in grid_points({})] == [{}]


def test_param_columns_avoid_result_columns() -> None:
    assert param_columns({"onchain.chain": [], "hops": [], "replication": []}) == {
        "onchain.chain": "onchain.chain", "hops": "param.hops",
        "replication": "param.replication"}


@pytest.mark.parametrize(("grid", "named"), [
    ({"onchain.colour": ["red"]}, "--grid onchain.colour=red: "),
    ({"onchain.chain": ["ethereum-l1", "no-such-chain"]}, "--grid onchain.chain=no-such-chain"),
    ({"payments": [10, 0]}, "--grid payments=0: "),
    ({"onchain.ledger": ["table", "abacus"]}, "--grid onchain.ledger=abacus"),
])
def test_expand_grid_names_the_bad_parameter_and_value(grid: dict[str, list[object]],
                                                       named: str) -> None:
    with pytest.raises(SweepError) as err:
        expand_grid(load_scenario("baseline"), grid)
    assert str(err.value).startswith(named)


def test_expand_grid_valid() -> None:
    sc = load_scenario("baseline")
    pts = expand_grid(sc, {"onchain.chain": ["ethereum-l1", "fast-ledger"], "payments": [7]})
    assert [(gp.index, s.onchain.chain, s.payments) for gp, s in pts] == [
        (0, "ethereum-l1", 7), (1, "fast-ledger", 7)]


@pytest.mark.parametrize(("args", "message"), [
    (["--grid", "onchain.chain=ethereum-l1,warp-drive"], "onchain.chain=warp-drive"),
    (["--grid", "onchain.colour=red"], "onchain.colour=red"),
    (["--grid", "payments"], "expected PARAM=V1,V2"),
    (["--scheduler", "localhost"], "--scheduler 'localhost'"),
])
def test_cli_bad_grid_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                                 args: list[str], message: str) -> None:
    out = tmp_path / "never"
    code = main(["sweep", "baseline", "--payments", "5", "--out", str(out), "--quiet", *args])
    err = capsys.readouterr().err
    assert code == 2
    assert message in err and "Traceback" not in err
    assert not out.exists()


def test_cli_workers_and_scheduler_are_exclusive(tmp_path: Path) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["sweep", "baseline", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1",
              "--out", str(tmp_path / "x")])
    assert exc.value.code == 2


@pytest.mark.parametrize("kw", [{"replications": 0}, {"payments": -1}, {"workers": 0},
                                {"retries": -1}, {"ledger": "abacus"}])
def test_run_sweep_rejects_bad_options_before_writing(tmp_path: Path, kw: dict[str, object]
                                                      ) -> None:
    with pytest.raises(SweepError):
        run_sweep("baseline", out=tmp_path / "never", **kw)  # type: ignore[arg-type]
    assert not (tmp_path / "never").exists()


def test_doctests() -> None:
    res = doctest.testmod(sim.experiments.sweep, optionflags=doctest.ELLIPSIS)
    assert res.attempted >= 7 and res.failed == 0
