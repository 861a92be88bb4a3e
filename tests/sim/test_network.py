import tomllib
from pathlib import Path

import pytest

from sim.banking.network import (
    DEFAULT_NETWORK_PATH,
    BankNetwork,
    NetworkFileError,
    RoutingError,
)
from tests.sim.sim_helpers import small_network_dict


def test_default_network_size(net: BankNetwork) -> None:
    s = net.summary()
    assert s["banks"] >= 30 and s["countries"] >= 10 and s["time_zones"] >= 7
    for c in ("US", "GB", "DE", "JP", "MX", "IN", "PH", "NG", "KE", "ID", "BR", "CN"):
        assert net.banks_in(c), c
    assert net.graph.number_of_nodes() == s["banks"]


def test_every_default_parameter_cites_a_source() -> None:
    raw = tomllib.loads(DEFAULT_NETWORK_PATH.read_text())
    identity = {"id", "name", "country", "currency", "timezone", "city", "profile",
                "sources"}
    for table in ("profiles", "account_profiles"):
        for name, prof in raw[table].items():
            missing = set(prof) - {"sources"} - set(prof.get("sources", {}))
            assert not missing, f"{table}.{name} lacks sources for {missing}"
    for b in raw["banks"]:
        missing = set(b) - identity - set(b.get("sources", {}))
        assert not missing, f"bank {b['id']} overrides {missing} without a source"
    assert raw["fx"]["source"]
    for name in raw["sources"].values():
        assert len(name) > 20


def test_fewest_hops_route_and_conversion(small: BankNetwork) -> None:
    r = small.route("SENDUS33", "TIERMXMM", "USD", "MXN")
    assert r.banks == ("SENDUS33", "HUBXUS33", "BENEMXMM", "TIERMXMM")
    assert r.intermediaries == 2
    assert [(c.source, c.target) for c in r.conversions] == [("USD", "MXN")]
    assert [leg.currency for leg in r.legs][0] == "USD" and r.legs[-1].currency == "MXN"
    assert [leg.debit for leg in r.legs] == [True, False, False]


def test_multi_currency_path_jpy_to_mxn(small: BankNetwork) -> None:
    r = small.route("BANKJPJT", "BENEMXMM", "JPY", "MXN")
    assert r.banks == ("BANKJPJT", "HUBXUS33", "BENEMXMM")
    convs = [(c.bank, c.source, c.target) for c in r.conversions]
    assert convs[0][1] == "JPY" and convs[-1][2] == "MXN"
    currencies = [leg.currency for leg in r.legs]
    assert currencies[0] == "JPY"


def test_via_named_intermediary_and_cheapest(net: BankNetwork) -> None:
    direct = net.route("RBUSUS44", "PLMXMXMM", "USD", "MXN")
    via = net.route("RBUSUS44", "PLMXMXMM", "USD", "MXN", via="HCUSUS33")
    assert "HCUSUS33" in via.banks[1:-1] and len(via.banks) > len(direct.banks)
    cheap = net.route("RBUSUS44", "PLMXMXMM", "USD", "MXN", policy="cheapest")
    assert cheap.banks[0] == "RBUSUS44" and cheap.banks[-1] == "PLMXMXMM"


def test_unroutable_raises_with_reason(small: BankNetwork) -> None:
    with pytest.raises(RoutingError, match="no correspondent path from LONEDEFF in EUR to "
                                           "BENEMXMM in MXN"):
        small.route("LONEDEFF", "BENEMXMM", "EUR", "MXN")
    with pytest.raises(RoutingError, match="unknown routing policy"):
        small.route("SENDUS33", "BENEMXMM", "USD", "MXN", policy="fastest")


def _problems(d: dict, tmp_path: Path) -> list[str]:
    import json

    # write as TOML-equivalent via from_dict; path is what messages must name
    with pytest.raises(NetworkFileError) as ei:
        BankNetwork.from_dict(d, str(tmp_path / "mine.toml"))
    assert str(tmp_path / "mine.toml") in str(ei.value)
    json.dumps(ei.value.problems)
    return ei.value.problems


def test_invalid_network_reports_every_problem_with_entry_and_fix(tmp_path: Path) -> None:
    d = small_network_dict(SENDUS33={"timezone": "America/New_Yrok"})
    d["accounts"][1]["servicer"] = "NOSUCHB1"
    d["accounts"][0]["lifting_fee"] = "-5"
    d["banks"][4]["currency"] = "XXQ"
    probs = _problems(d, tmp_path)
    text = "\n".join(probs)
    assert "banks[0] (id 'SENDUS33')" in text and "unknown time zone 'America/New_Yrok'" in text
    assert "America/New_York" in text                      # suggestion
    assert "accounts[1]" in text and "no bank with id 'NOSUCHB1'" in text and "fix:" in text
    assert "accounts[0]" in text and "lifting_fee is negative" in text
    assert "banks[4] (id 'BANKJPJT')" in text and "unknown currency 'XXQ'" in text
    assert len(probs) >= 4


def test_currency_with_no_path_is_reported(tmp_path: Path) -> None:
    d = small_network_dict()
    d["accounts"] = [a for a in d["accounts"] if a["owner"] != "TIERMXMM"]
    d["accounts"].append({"owner": "TIERMXMM", "servicer": "HUBXUS33", "currency": "USD",
                          "lifting_fee": "1", "processing_seconds": {"median": 5}})
    text = "\n".join(_problems(d, tmp_path))
    assert "home currency MXN has no path" in text and "fix:" in text


def test_load_reads_file_and_reports_toml_errors(tmp_path: Path) -> None:
    p = tmp_path / "bad.toml"
    p.write_text("[[banks]\n")
    with pytest.raises(NetworkFileError, match="(?s)bad.toml.*not valid TOML"):
        BankNetwork.load(p)
    with pytest.raises(NetworkFileError, match="cannot read"):
        BankNetwork.load(tmp_path / "missing.toml")


def test_negative_bank_fee_and_float_amount_are_reported(tmp_path: Path) -> None:
    d = small_network_dict(SENDUS33={"sender_fee": {"retail": {"fixed": "-5"}}},
                           BENEMXMM={"fx_spread_percent": {"retail": 2.5}})
    text = "\n".join(_problems(d, tmp_path))
    assert "banks[0] (id 'SENDUS33') field 'sender_fee.retail'" in text
    assert "fixed is negative (-5)" in text
    assert "banks[2] (id 'BENEMXMM') field 'fx_spread_percent.retail'" in text
    assert 'as a string ("2.5")' in text


def test_cheapest_takes_a_longer_but_cheaper_path() -> None:
    from tests.sim.sim_helpers import _BANK

    d = small_network_dict()
    d["banks"].append(dict(_BANK) | {"id": "CHEAPUS3", "name": "cheap", "country": "US",
                                     "currency": "USD", "timezone": "America/New_York",
                                     "city": "New York"})
    d["accounts"][0]["lifting_fee"] = "40"                  # SENDUS33 at HUBXUS33
    d["accounts"] += [
        {"owner": "SENDUS33", "servicer": "CHEAPUS3", "currency": "USD", "lifting_fee": "1",
         "processing_seconds": {"median": 20}},
        {"owner": "CHEAPUS3", "servicer": "HUBXUS33", "currency": "USD", "lifting_fee": "1",
         "processing_seconds": {"median": 20}},
    ]
    net = BankNetwork.from_dict(d)
    fewest = net.route("SENDUS33", "BENEMXMM", "USD", "MXN")
    cheapest = net.route("SENDUS33", "BENEMXMM", "USD", "MXN", policy="cheapest")
    assert fewest.banks == ("SENDUS33", "HUBXUS33", "BENEMXMM")
    assert cheapest.banks == ("SENDUS33", "CHEAPUS3", "HUBXUS33", "BENEMXMM")
    fee_fewest, fee_cheapest = (sum(net.lifting_fee_minor[leg.account.key] for leg in r.legs[:-1])
                                for r in (fewest, cheapest))
    assert fee_cheapest == 200 < fee_fewest == 4000


def test_fee_currency_without_rate_is_reported(tmp_path: Path) -> None:
    d = small_network_dict(SENDUS33={"sender_fee": {"retail": {"fixed": "5", "currency": "GBP"}}})
    d["accounts"][0]["lifting_fee_currency"] = "GBP"
    text = "\n".join(_problems(d, tmp_path))
    assert "field 'sender_fee.retail.currency': GBP has no FX mid rate" in text
    assert "accounts[0]: currency GBP has no FX mid rate; fix: add GBP to [fx.rates]" in text


def test_every_bank_has_its_own_city() -> None:
    """Each bank's city is the one it is in (its name says so), not its time zone's:
    the Mumbai bank is in Mumbai, though its zone is Asia/Kolkata."""
    net = BankNetwork.default()
    assert net.banks["PLININBB"].city == "Mumbai"
    assert net.banks["PLININBB"].timezone == "Asia/Kolkata"
    for b in net.banks.values():
        assert b.city and (b.city in b.name or b.name.startswith(b.city)), b.id
    away = [b.id for b in net.banks.values() if b.city != b.timezone.rsplit("/", 1)[-1]
            .replace("_", " ")]
    assert len(away) == 15   # Frankfurt, Abu Dhabi, Houston, ... shown as their zone's city before


@pytest.mark.parametrize("city", [None, "", "   ", "Mum\nbai", "x" * 61, 7])
def test_a_bank_without_a_usable_city_is_refused(city: object) -> None:
    over = {} if city is None else {"city": city}
    d = small_network_dict(SENDUS33=over)
    if city is None:
        del d["banks"][0]["city"]
    with pytest.raises(NetworkFileError) as exc:
        BankNetwork.from_dict(d, path="net.toml")
    text = str(exc.value)
    assert "banks[0] (id 'SENDUS33') field 'city'" in text and "net.toml" in text
    assert text.count("field 'city'") == 1


def test_city_is_stripped() -> None:
    net = BankNetwork.from_dict(small_network_dict(SENDUS33={"city": " Boston "}))
    assert net.banks["SENDUS33"].city == "Boston"
