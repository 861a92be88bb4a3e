"""The Terra settings: the shipped file and the refusals of bad input, one line each."""

from __future__ import annotations

from typing import Any

import pytest

from sim.errors import InputError
from sim.experiments.scenario import ScenarioError, load_scenario
from sim.terra.model import market_params
from sim.terra.settings import TerraSettings, TerraSettingsError


def test_the_shipped_state_of_7_may_2022() -> None:
    s = TerraSettings.default()
    assert s.state.stable_supply_usd == 18.6e9
    assert 80 <= s.state.gov_price_usd <= 86 and s.state.gov_supply == 350e6
    assert 0.70 <= s.state.anchor_share <= 0.75 and s.state.anchor_yield == 0.195
    assert s.reserve.amount("BTC") == 80_000 and s.reserve.amount("USDT") + \
        s.reserve.amount("USDC") == 50e6
    assert (s.market.base_pool_sdr, s.market.recovery_period, s.market.min_spread_bps,
            s.market.block_time_s) == (50e6, 36, 50, 6)
    [p1164] = s.governance
    assert (p1164.base_pool_sdr, p1164.recovery_period) == (100e6, 18)
    assert p1164.at.date().isoformat() in ("2022-05-11", "2022-05-12")
    assert [h.block for h in s.halts] == [7_603_700, 7_607_789]
    assert s.halts[0].hours == 2.0
    # every parameter section has its source or its modelling-choice label
    for key in ("market.base_pool_sdr", "state.stable_supply_usd", "reserve.assets",
                "contagion.graph", "governance", "halts", "published.daily_low"):
        assert s.sources[key]


def test_the_module_parameters_are_scaled_and_converted_from_sdr() -> None:
    s = TerraSettings.default().with_changes({"run.scale": 0.5})
    p = market_params(s)
    assert p.base_pool == int(round(50e6 * s.market.sdr_usd * 0.5 * 10**6))
    assert (p.recovery_period, p.min_spread_bps, p.block_time_s) == (36, 50, 6)


@pytest.mark.parametrize(("change", "field"), [
    ({"state.pool_usd": -1.0}, "state.pool_usd"),
    ({"market.base_pool_sdr": -5.0}, "market.base_pool_sdr"),
    ({"market.recovery_period": 0}, "market.recovery_period"),
    ({"reserve.assets": [{"asset": "ETH", "amount": 10.0}]}, "reserve.assets.0"),
    ({"state.anchor_share": 1.2}, "state.anchor_share"),
    ({"holders.retail.agents_share": 1.5}, "holders.retail.agents_share"),
    ({"holders.large.supply_share": 0.5}, "holders"),
    ({"holders.anchor.agents_share": 0.2}, "holders: agents_share"),
    ({"contagion.graph": "erdos"}, "contagion.graph"),
    ({"run.scale": 0.0}, "run.scale"),
    ({"market.colour": 1}, "market.colour"),
])
def test_bad_settings_are_refused_in_one_line_naming_the_field(change: dict[str, Any],
                                                               field: str) -> None:
    with pytest.raises(TerraSettingsError) as exc:
        TerraSettings.default().with_changes(change)
    assert isinstance(exc.value, InputError)
    text = str(exc.value)
    assert "\n" not in text and field in text and "Traceback" not in text


def test_a_settings_file_that_is_not_toml_is_refused(tmp_path: Any) -> None:
    bad = tmp_path / "terra.toml"
    bad.write_text("[run\nstart = 1", encoding="utf-8")
    with pytest.raises(TerraSettingsError, match="not valid TOML"):
        TerraSettings.load(bad)


def test_the_scenario_section_is_validated_like_the_rest() -> None:
    sc = load_scenario("terra-run")
    assert sc.terra is not None and sc.rails == ["correspondent", "onchain", "onchain-terra"]
    with pytest.raises(ScenarioError, match=r"onchain-terra .* needs the onchain rail"):
        sc.with_params({"rails": ["correspondent", "onchain-terra"]})
    with pytest.raises(ScenarioError, match=r"terra\.recovery_period: .*> 0"):
        sc.with_params({"terra.recovery_period": 0})
    with pytest.raises(ScenarioError, match=r"terra\.reserve_btc"):
        sc.with_params({"terra.reserve_btc": -1.0})
    with pytest.raises(ScenarioError, match=r"terra\.ledger"):
        sc.with_params({"terra.ledger": "paper"})
    ok = sc.with_params({"terra.base_pool_sdr": 100e6, "terra.min_spread_bps": 100,
                         "terra.contagion_rate": 0.5, "terra.reserve_btc": 1e5})
    from sim.experiments.components import build_components

    t = build_components(ok).terra
    assert (t.market.base_pool_sdr, t.market.min_spread_bps, t.contagion.rate_per_hour,
            t.reserve.amount("BTC")) == (100e6, 100, 0.5, 1e5)
