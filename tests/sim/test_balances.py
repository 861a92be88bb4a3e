"""Balances over time, liquidity cost, FX settlement risk: by worked example and on runs."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.balances import (
    BALANCE_COLUMNS,
    BalanceAccountsError,
    BalanceRecorder,
    balance_violations,
    check_rates,
    load_rates,
)
from sim.banking import correspondent
from sim.banking.network import BankNetwork
from sim.banking.workload import Workload
from sim.errors import InputError
from sim.experiments.liquidity import balance_costs, replication_exposure
from sim.experiments.scenario import Scenario
from sim.money import MINOR_EXPONENTS
from sim.onchain import rail as onchain
from sim.results import LIQUIDITY_COLUMNS, PAYMENT_COLUMNS

YEAR = 365 * 86400.0


# ----------------------------------------------------------------- worked examples
def test_table_is_opening_then_each_change_in_time_order() -> None:
    rec = BalanceRecorder("x", {"USD": 0.05})
    a = rec.open("nostro:A@B:USD", "A", "USD", 1_000, 0.0, prefunded=True)
    b = rec.open("escrow:A:USDx", "A", "USD", 0, 0.0)
    rec.change(a, 20.0, 500, None)          # recorded out of time order on purpose
    rec.change(a, 10.0, -700, "P1")
    rec.change(b, 5.0, 300, "P2")
    rec.change(b, 8.0, -300, "P2")
    rec.expect(a, 800)
    rec.expect(b, 0)
    t = rec.build(t_end=30.0).table
    assert tuple(t.columns) == BALANCE_COLUMNS
    got = list(zip(t["account"], t["time"].astype("int64") // 10**6, t["balance"], t["change"],
                   t["payment_id"].fillna("-"), strict=True))
    assert got == [("nostro:A@B:USD", 0, 1000, 0, "-"), ("nostro:A@B:USD", 10, 300, -700, "P1"),
                   ("nostro:A@B:USD", 20, 800, 500, "-"), ("escrow:A:USDx", 0, 0, 0, "-"),
                   ("escrow:A:USDx", 5, 300, 300, "P2"), ("escrow:A:USDx", 8, 0, -300, "P2")]
    assert balance_violations(t).empty


def test_end_balance_must_be_what_the_rail_holds() -> None:
    rec = BalanceRecorder("x", {"USD": 0.05})
    a = rec.open("provider:USD", "fx_provider", "USD", 100, 0.0)
    rec.change(a, 1.0, -40, "P1")
    rec.expect(a, 61)                        # the rail holds one unit more than recorded
    with pytest.raises(BalanceAccountsError, match="ends at 60, the rail holds 61"):
        rec.build(t_end=2.0)


def test_an_account_that_cannot_be_overdrawn_never_goes_below_zero() -> None:
    rec = BalanceRecorder("x", {"USD": 0.05})
    a = rec.open("escrow:A:USDx", "A", "USD", 0, 0.0)
    rec.change(a, 1.0, -1, "P1")
    with pytest.raises(BalanceAccountsError, match="overdrawn to -1"):
        rec.build(t_end=2.0)
    # an unlimited account's position may go below zero
    ok = BalanceRecorder("x", {"USD": 0.05})
    ok.change(ok.open("nostro:A@B:USD", "A", "USD", 0, 0.0, floor=False), 1.0, -1, "P1")
    assert ok.build(t_end=2.0).table["balance"].tolist() == [0, -1]


def test_balance_violations_finds_a_row_that_does_not_add_up() -> None:
    rec = BalanceRecorder("x", {"USD": 0.05})
    a = rec.open("acc", "o", "USD", 10, 0.0)
    rec.change(a, 1.0, -3, "P")
    rec.change(a, 2.0, 5, "Q")
    t = rec.build(3.0).table
    t.loc[2, "balance"] = 13                 # 7 + 5 is 12
    assert balance_violations(t)["payment_id"].tolist() == ["Q"]


def test_liquidity_cost_is_value_times_time_held_times_rate() -> None:
    rec = BalanceRecorder("x", {"USD": 0.10})
    lock = rec.open("escrow:A:USDx", "A", "USD", 0, 0.0)
    rec.change(lock, 0.0, 1_000_000, "P1")
    rec.change(lock, YEAR / 10, -1_000_000, "P1")   # held a tenth of a year
    built = rec.build(t_end=YEAR / 5)
    assert built.cost["P1"]["USD"] == pytest.approx(10_000.0)   # 1e6 x 0.1 x 0.1
    assert rec.account_cost["escrow:A:USDx"] == pytest.approx(10_000.0)
    assert rec.idle["escrow:A:USDx"] == pytest.approx(0.0)


def test_draw_on_prefunded_account_weighs_time_since_funding_and_rest_is_idle() -> None:
    rec = BalanceRecorder("x", {"USD": 0.10})
    n = rec.open("nostro:A@B:USD", "A", "USD", 5_000_000, 0.0, prefunded=True)
    rec.change(n, YEAR / 20, 0, None)               # no change: nothing recorded
    rec.change(n, YEAR / 10, 1, None)               # funded a tenth of a year in
    rec.change(n, YEAR / 5, -1_000_000, "P1")       # drawn a tenth of a year after that
    built = rec.build(t_end=YEAR / 5)
    # the payment's own use: 1e6 held ready for a tenth of a year at 10%
    assert built.cost["P1"]["USD"] == pytest.approx(10_000.0)
    # the balance itself cost 5e6 x 0.1 x 0.2 (and the unit): the rest is idle
    whole = 5_000_000 * 0.1 * 0.2 + 1 * 0.1 * 0.1
    assert rec.account_cost["nostro:A@B:USD"] == pytest.approx(whole)
    assert rec.idle["nostro:A@B:USD"] == pytest.approx(whole - 10_000.0)


def test_payments_never_cost_more_than_the_balance_did() -> None:
    rec = BalanceRecorder("x", {"USD": 0.10})
    n = rec.open("nostro:A@B:USD", "A", "USD", 100, 0.0, prefunded=True)
    rec.change(n, YEAR, -100, "P1")                 # drew the whole balance after a year
    built = rec.build(t_end=YEAR)
    assert built.cost["P1"]["USD"] == pytest.approx(rec.account_cost["nostro:A@B:USD"])
    assert built.cost["P1"]["USD"] == pytest.approx(10.0)
    # an unlimited account's position below zero holds no balance: it costs nothing,
    # however long a payment's own move on it lasts
    rec = BalanceRecorder("x", {"USD": 0.10})
    u = rec.open("nostro:C@D:USD", "C", "USD", 0, 0.0, floor=False)
    rec.change(u, 0.0, -100, "P1")
    rec.change(u, YEAR, 100, "P1")
    assert rec.build(t_end=YEAR).cost.get("P1", {}).get("USD", 0.0) == 0.0


def test_recording_switched_off_keeps_nothing() -> None:
    rec = BalanceRecorder("x", {"USD": 0.05}, enabled=False)
    a = rec.open("acc", "o", "USD", 10, 0.0)
    rec.change(a, 1.0, -3, "P")
    rec.risk("P", 5, 0.0, 1.0)
    assert rec.build(2.0).table["balance"].tolist() == [10]


def test_balance_costs_of_a_table() -> None:
    rec = BalanceRecorder("x", {"EUR": 0.02})
    a = rec.open("nostro:A@B:EUR", "A", "EUR", 365_000, 0.0)
    rec.change(a, 86400.0, -365_000, "P")
    c = balance_costs(rec.build(2 * 86400.0).table, {"EUR": 0.02}, {"EUR": 0.011})
    assert c["cost"].tolist() == [pytest.approx(20.0)]            # 365000 x 2% x 1 day
    assert c["cost_usd"].tolist() == [pytest.approx(0.22)]


def test_peak_exposure_counts_what_is_open_at_once() -> None:
    p = pd.DataFrame({"risk_principal_sent": [100, 200, 50], "currency_sent": ["USD"] * 3,
                      "risk_start": pd.to_datetime([0, 10, 30], unit="s", utc=True),
                      "risk_s": [20.0, 20.0, 5.0]})
    e = replication_exposure(p, {"USD": 0.01})
    assert e["peak_exposure_usd"] == pytest.approx(3.0)          # 100 + 200 at 10-20 s
    assert e["exposure_usd_hours"] == pytest.approx((1 * 20 + 2 * 20 + 0.5 * 5) / 3600)


# ----------------------------------------------------------------- rates
def test_default_rates_cover_the_network_and_cite_sources() -> None:
    rates = load_rates()
    net = BankNetwork.default()
    assert {a.currency for a in net.accounts.values()} <= set(rates)
    assert all(0 <= r <= 0.3 for r in rates.values())
    assert rates["USD"] == pytest.approx(0.03875) and rates["EUR"] == pytest.approx(0.02)


@pytest.mark.parametrize(("rates", "says"), [
    ({"XYZ": 0.01}, "field 'XYZ': unknown currency 'XYZ'"),
    ({"USD": -0.01}, "field 'USD': -0.01 is negative"),
    ({"USD": 4.5}, "field 'USD': 4.5 is above 1 (100% a year)"),
    ({"USD": "4%"}, "field 'USD': '4%' is not a number"),
    ({"USD": True}, "field 'USD': True is not a number"),
])
def test_bad_rates_are_refused_in_one_line_naming_the_field(rates: dict, says: str) -> None:
    with pytest.raises(InputError) as exc:
        check_rates(rates, "s.toml [liquidity] rates")
    assert str(exc.value).count("\n") == 0 and says in str(exc.value)
    assert str(exc.value).startswith("s.toml [liquidity] rates")


def test_scenario_refuses_bad_rates_and_takes_good_ones() -> None:
    with pytest.raises(InputError, match=r"liquidity: rates field 'USD': -1 is negative"):
        Scenario(name="x", liquidity={"rates": {"USD": -1}})
    sc = Scenario(name="x").with_params({"liquidity.rates.MXN": 0.09})
    assert sc.liquidity.rates == {"MXN": 0.09}


# ----------------------------------------------------------------- the rails
@pytest.fixture(scope="module")
def world() -> tuple[BankNetwork, Workload]:
    net = BankNetwork.default()
    return net, Workload.generate(seed=5, n_payments=80, network=net)


def test_correspondent_run_conserves_every_account(world) -> None:
    net, wl = world
    r = correspondent.run(net, wl, seed=5)
    b = r.balances
    assert b is not None and balance_violations(b).empty
    assert set(b["account"]) == {correspondent.account_name(a) for a in net.accounts.values()}
    # limited nostros are never overdrawn, and each payment's moves sum per account as
    # its own: every payment that moved funds left a row naming it
    limited = {correspondent.account_name(a) for k, a in net.accounts.items()
               if net.balance_minor[k] is not None}
    assert (b[b["account"].isin(limited)]["balance"] >= 0).all()
    moved = set(b["payment_id"].dropna())
    credited = set(r.payments.loc[r.payments["status"] == "credited", "payment_id"])
    assert credited <= moved


def test_correspondent_fx_payments_carry_principal_at_risk(world) -> None:
    net, wl = world
    p = correspondent.run(net, wl, seed=5).payments
    assert tuple(p.columns) == PAYMENT_COLUMNS and set(LIQUIDITY_COLUMNS) <= set(p.columns)
    fx = p["currency_sent"] != p["currency_delivered"]
    cred = p["status"] == "credited"
    risky = p[fx & cred]
    assert len(risky) and (risky["risk_principal_sent"] > 0).all() and (risky["risk_s"] > 0).all()
    # at risk from inside the payment's life, never before it was created or after credit
    assert (risky["risk_start"] >= risky["created_at"]).all()
    end = risky["risk_start"] + pd.to_timedelta(risky["risk_s"], unit="s")
    assert (end <= risky["credited_at"]).all()
    same = p[~fx]
    assert (same["risk_principal_sent"] == 0).all() and same["risk_start"].isna().all()
    assert (p["liquidity_cost"] >= 0).all()


def test_a_higher_rate_costs_more_and_zero_costs_nothing(world) -> None:
    net, wl = world
    lo = correspondent.run(net, wl, seed=5, rates=dict.fromkeys(MINOR_EXPONENTS, 0.0))
    hi = correspondent.run(net, wl, seed=5, rates=dict.fromkeys(MINOR_EXPONENTS, 0.06))
    assert (lo.payments["liquidity_cost"] == 0).all()
    assert hi.payments["liquidity_cost"].sum() > 0
    cols = [c for c in PAYMENT_COLUMNS if c != "liquidity_cost"]
    pd.testing.assert_frame_equal(lo.payments[cols], hi.payments[cols])


def test_recording_changes_nothing_else(world) -> None:
    net, wl = world
    on = correspondent.run(net, wl, seed=5)
    off = correspondent.run(net, wl, seed=5, balances=False)
    cols = [c for c in PAYMENT_COLUMNS if c not in LIQUIDITY_COLUMNS]
    pd.testing.assert_frame_equal(on.payments[cols], off.payments[cols])
    pd.testing.assert_frame_equal(on.steps, off.steps)
    assert off.balances is None and (off.payments["liquidity_cost"] == 0).all()


def test_onchain_table_run_conserves_every_inventory(world) -> None:
    net, wl = world
    r = onchain.run(net, wl, seed=5, ledger="table")
    b = r.balances
    assert b is not None and balance_violations(b).empty
    kinds = {a.split(":")[0] for a in b["account"]}
    assert kinds == {"provider", "holdings", "swap", "escrow"}
    # every lock and swap leg ends settled, released or refunded
    last = b.groupby("account")["balance"].last()
    assert (last[[a.startswith(("swap:", "escrow:")) for a in last.index]] == 0).all()
    # and no lock or swap leg ever holds less than nothing
    assert (b["balance"][b["account"].str.startswith(("swap:", "escrow:"))] >= 0).all()


# ----------------------------------------------------------------- properties
_change = st.tuples(st.integers(0, 2), st.floats(0, 1e6, allow_nan=False),
                    st.integers(-10**6, 10**6), st.sampled_from([None, "P1", "P2", "P3"]))


@settings(max_examples=40, deadline=None)
@given(openings=st.lists(st.integers(0, 10**7), min_size=3, max_size=3),
       changes=st.lists(_change, max_size=40),
       rate=st.floats(0, 0.3, allow_nan=False))
def test_any_changes_add_up_and_payments_never_cost_more_than_balances(
        openings: list[int], changes: list[tuple[int, float, int, str | None]],
        rate: float) -> None:
    rec = BalanceRecorder("x", {"USD": rate})
    ids = [rec.open(f"acc{i}", "o", "USD", b, 0.0, floor=False, prefunded=i == 0)
           for i, b in enumerate(openings)]
    for a, t, d, pid in changes:
        rec.change(ids[a], t, d, pid)
    built = rec.build(t_end=2e6)
    table = built.table
    assert balance_violations(table).empty
    for i, b in enumerate(openings):
        rows = table[table["account"] == f"acc{i}"]
        assert rows["balance"].iloc[-1] == b + sum(d for a, _, d, _ in changes if a == i)
        assert rows["balance"].iloc[0] == b and rows["change"].iloc[0] == 0
    charged = sum(v for by in built.cost.values() for v in by.values())
    assert charged <= sum(rec.account_cost.values()) * (1 + 1e-9) + 1e-9
    assert all(v >= 0 for by in built.cost.values() for v in by.values())
    assert all(v >= -1e-6 for v in rec.idle.values())
