"""scripts/farmer_income.py: the cooperative's season, its arithmetic on worked numbers,
the instalments, a run on the rails, and refusals of bad parameters in one line."""

from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import math
import sys
import tomllib
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SEASON = ROOT / "sim" / "data" / "cocoa_season.toml"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("farmer_income", ROOT / "scripts" /
                                                  "farmer_income.py")
    mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]
    sys.modules["farmer_income"] = mod
    spec.loader.exec_module(mod)  # type: ignore[union-attr]
    return mod


fi = _load()


# -- arithmetic on worked numbers ----------------------------------------------------
def test_income_transit_cost_and_the_uplift_margin_on_worked_numbers():
    # USD 3 M of cocoa, 60% to farmers and 35% other costs: a 5% margin, USD 150,000
    revenue, m0 = 3_000_000.0, 1 - 0.60 - 0.35
    assert math.isclose(m0 * revenue, 150_000.0)
    # USD 1 M in transit 3 days at 30% a year costs USD 2,465.75
    assert math.isclose(fi.transit_cost(1_000_000, 0.30, 3.0), 2465.7534246575344)
    corr = fi.net_income(revenue, m0, 36_000, 1_000)            # 1.2% payment cost
    chain = fi.net_income(revenue, m0, 16_500, 300)             # 0.55%
    assert math.isclose(corr, 113_000) and math.isclose(chain, 133_200)
    assert math.isclose(fi.change(chain, corr), 20_200 / 113_000)
    # the saving (USD 20,200) is +40% of a profit of USD 50,500: a margin of 1.6833%
    m = fi.margin_for_uplift(20_200, revenue, 0.40)
    assert math.isclose(m, 20_200 / 1_200_000)
    assert math.isclose(0.40 * m * revenue, 20_200)
    # removing all payment costs (USD 37,000) gives +40% at a margin of 3.0833%
    assert math.isclose(fi.margin_for_uplift(37_000, revenue), 37_000 / 1_200_000)
    # at any margin below the threshold the rise is larger, above it smaller
    for margin, above in ((m / 2, True), (2 * m, False)):
        rise = 20_200 / (margin * revenue)
        assert (rise > 0.40) == above
    assert math.isnan(fi.change(1.0, 0.0))


def test_prices_follow_the_forward_share_and_the_living_income_differential():
    spec = fi.SeasonSpec.load(SEASON)
    assert spec.prices.per_tonne() == 2600 + 400             # floor + LID, forward = spot
    p = spec.prices.model_copy(update={"spot_usd_per_t": 3600})
    # 75% forward at 2,600, 25% spot at 3,600, plus 400: 3,250
    assert p.per_tonne() == 3250
    ci, gh = spec.countries["CI"], spec.countries["GH"]
    assert ci.farm_gate_share >= 0.60 and ci.price_basis == "CIF"       # at least 60% of CIF
    assert 0.70 <= gh.farm_gate_share <= 0.80 and gh.price_basis == "net FOB"
    assert math.isclose(ci.margin_before_payments, 0.05)


def test_split_count_keeps_the_total_and_the_proportions():
    for n in (2, 5, 12, 24, 97):
        a, b = fi.split_count(n, [0.8, 0.2])
        assert a + b == n and abs(a - 0.8 * n) < 1


# -- the instalments -------------------------------------------------------------------
@pytest.fixture(scope="module")
def net() -> Any:
    from sim.experiments.components import build_components
    from sim.experiments.scenario import load_scenario

    return build_components(load_scenario("cocoa-defi")).network


def test_the_instalments_follow_the_crops_and_the_buyer_s_business_days(net):
    spec = fi.SeasonSpec.load(SEASON)
    pays = fi.instalments(spec, "CI", 24, net)
    months = [p.created_at_utc.month for p in pays]
    main = [m for m in months if m in (10, 11, 12, 1, 2, 3)]
    assert len(pays) == 24 and len(main) == 19 and len(months) - len(main) == 5
    assert [p.created_at for p in pays] == sorted(p.created_at for p in pays)
    cal = net.bank("RBNLNL2A").calendar
    for p in pays:
        local = cal.local(p.created_at)
        assert cal.is_business_day(local.date()) and (local.hour, local.minute) == (10, 0)
        assert (p.corridor, p.currency_sent, p.currency_delivered) == ("NL-CI", "EUR", "XOF")
        assert (p.segment, p.charge_option) == ("sme", "SHA")
    assert pays[0].created_at_utc.year == 2025 and pays[-1].created_at_utc.year == 2026
    # 1,000 t at USD 3,000 in euros at the mid rate, to a few euros of rounding
    total_eur = sum(p.amount for p in pays) / 100
    assert abs(total_eur - 3_000_000 * 0.945) < 24


@pytest.mark.parametrize("n", [2, 3, 7])
def test_few_instalments_still_carry_both_crops_and_the_whole_tonnage(net, n):
    spec = fi.SeasonSpec.load(SEASON)
    pays = fi.instalments(spec, "GH", n, net)
    months = {p.created_at_utc.month for p in pays}
    assert months & {10, 11, 12, 1, 2, 3} and months & {4, 5, 6, 7, 8, 9}
    assert abs(sum(p.amount for p in pays) / 100 - 3_000_000 * 0.945) < n
    assert {p.corridor for p in pays} == {"NL-GH"}


# -- a run on the rails ------------------------------------------------------------
@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> tuple[int, Path, str]:
    out = tmp_path_factory.mktemp("farmer")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = fi.main(["--payments", "3", "--seed", "2", "--out", str(out)])
    return code, out, printed.getvalue()


def test_the_script_writes_the_season_the_summary_and_the_figure(ran):
    code, out, printed = ran
    assert code == 0
    assert (out / "income_vs_margin.png").read_bytes()[:4] == b"\x89PNG"
    doc = json.loads((out / "farmer_income.json").read_text())
    rows = {r["rail"]: r for r in doc["rails"]}
    assert list(rows) == ["correspondent", "onchain-provider", "onchain-amm"]
    corr, chain = rows["correspondent"], rows["onchain-provider"]
    spec = fi.SeasonSpec.load(SEASON)
    c = spec.countries["CI"]
    # three instalments of ~USD 1 M each move a USD 20 M pool beyond the 1% limit
    amm = rows.pop("onchain-amm")
    assert amm["instalments"] == 3 and amm["credited"] == 0
    assert any("slippage" in why for why in amm["not_credited"])
    assert amm["revenue_usd"] == 0 and math.isnan(amm["margin_for_uplift"])
    for r in rows.values():
        assert r["instalments"] == 3 and r["credited"] == 3 and r["not_credited"] == []
        # income = margin before payments x revenue - the cooperative's costs
        assert math.isclose(r["income_usd"], fi.net_income(
            r["revenue_usd"], c.margin_before_payments, r["payment_cost_usd"],
            r["transit_cost_usd"]))
        assert 0 < r["payment_cost_usd"] <= r["fees_all_usd"] + 1
        assert r["transit_days_mean"] > 0
    assert corr["change_vs_correspondent"] == 0
    saving = (corr["payment_cost_usd"] + corr["transit_cost_usd"]
              - chain["payment_cost_usd"] - chain["transit_cost_usd"])
    assert math.isclose(chain["margin_for_uplift"], saving / (0.4 * corr["revenue_usd"]))
    assert math.isclose(chain["change_vs_correspondent"], saving / corr["income_usd"])
    assert math.isclose(doc["margin_for_uplift_no_costs"],
                        (corr["payment_cost_usd"] + corr["transit_cost_usd"])
                        / (0.4 * corr["revenue_usd"]))
    season = (out / "season.csv").read_text().splitlines()
    assert len(season) == 1 + 3 * 3 and season[0].startswith("rail,payment_id")
    assert "onchain-amm: 3 instalment(s) not credited: AMM slippage" in printed
    for rail in fi.RAILS:
        assert f"\n{rail} " in printed


def test_the_amm_route_carries_a_shipment_a_deep_pool_can_take(net):
    # 24 instalments of ~USD 120,000 through USD 50 M pools: every one credited, paying
    # the pool's 0.30% fee and its price impact on top of the ramps, so dearer than the
    # provider's 0.30% quote
    spec = fi.SeasonSpec.load(SEASON)
    pays = fi.instalments(spec, "CI", 24, net)[:4]
    results, network = fi.run_rails("cocoa-defi", pays, 1, "table",
                                    ["correspondent", "onchain-provider", "onchain-amm"],
                                    pool_depth_usd=50_000_000)
    rows, table = fi.season_table(results, pays, network, spec.countries["CI"], 0.40)
    corr, prov, amm = rows
    assert amm.credited == 4 and amm.not_credited == []
    fx = results["onchain-amm"].steps
    assert fx["detail"].str.contains("AMM swap EUR->XOF through pool EUR-XOF").any()
    assert prov.payment_cost_usd < amm.payment_cost_usd < corr.payment_cost_usd
    assert amm.change_vs_correspondent > 0 and prov.change_vs_correspondent > \
        amm.change_vs_correspondent
    assert math.isclose(amm.margin_for_uplift, amm.saving_usd / (0.40 * amm.revenue_usd))
    assert table["compared"].sum() == 12


# -- refusals ----------------------------------------------------------------------
def _edited(tmp_path: Path, edit: Any) -> Path:
    doc = tomllib.loads(SEASON.read_text(encoding="utf-8"))
    edit(doc)
    lines: list[str] = []

    def emit(table: dict[str, Any], prefix: str) -> None:
        scalars = {k: v for k, v in table.items() if not isinstance(v, dict)}
        if prefix:
            lines.append(f"[{prefix}]")
        for k, v in scalars.items():
            lines.append(f"{k} = {json.dumps(v)}")
        for k, v in table.items():
            if isinstance(v, dict):
                emit(v, f"{prefix}.{k}" if prefix else k)

    emit(doc, "")
    p = tmp_path / "season.toml"
    p.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return p


@pytest.mark.parametrize(("edit", "field"), [
    (lambda d: d["countries"]["CI"].update(farm_gate_share=1.5), "countries.CI.farm_gate_share"),
    (lambda d: d["countries"]["CI"].update(other_costs_share=0.45), "countries.CI"),
    (lambda d: d["season"].update(tonnes=-5), "season.tonnes"),
    (lambda d: d["season"].update(tonnes=1000.5), "season.tonnes"),
    (lambda d: d["season"].update(release_time="25:00"), "season.release_time"),
    (lambda d: d["crops"]["mid"].update(share=0.5), "crops"),
    (lambda d: d["prices"].update(forward_share=True), "prices.forward_share"),
    (lambda d: d["prices"].update(lid_usd_per_t="lots"), "prices.lid_usd_per_t"),
    (lambda d: d["countries"]["CI"].update(finance_rate=0.1), "countries.CI.finance_rate"),
])
def test_bad_season_parameters_are_refused_in_one_line_naming_the_field(tmp_path, capsys, edit,
                                                                          field):
    path = _edited(tmp_path, edit)
    assert fi.main(["--season", str(path), "--payments", "2", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    assert lines[0].startswith(f"farmer_income: {path}: {field}"), lines[0]
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize(("args", "said"), [
    (["--payments", "0"], "--payments must be at least 1"),
    (["--payments", "1"], "--payments: 1 payments cannot carry 2 crops"),
    (["--rails", "onchain-provider"], "--rails: onchain-provider: give each of"),
    (["--season", "/nonexistent.toml"], "/nonexistent.toml: cannot read the file"),
])
def test_bad_arguments_are_refused_in_one_line(tmp_path, capsys, args, said):
    assert fi.main([*args, "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and said in err[0], err
