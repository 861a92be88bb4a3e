"""The on-chain rail: ramps and calendars, congestion, FX inventory, escrow deadline,
finality, determinism, conservation, and the two ledgers agreeing payment by payment."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, make_payment
from sim.money import convert_for_reporting
from sim.onchain import rail as onchain
from sim.onchain.chains import get_chain_profile, load_chain_profiles
from sim.onchain.fee_market import Congestion
from sim.onchain.spec import OnChainSpec, OnChainSpecError
from sim.results import FEE_COLUMNS, MoneyOverflowError, conservation_violations

from .conftest import at, one


def quiet(spec: OnChainSpec, **ramp: object) -> OnChainSpec:
    """No issuer reviews; ramp modes as given."""
    d = spec.model_dump()
    d["ramps"]["default"].update({"review_share": 0.0, **ramp})
    for over in d["ramps"]["currencies"].values():
        over.pop("review_share", None)
    return OnChainSpec.from_dict(d)


def quiet_network() -> BankNetwork:
    """The default network with no manual reviews and straight-through crediting."""
    net = BankNetwork.default()
    for bid, b in list(net.banks.items()):
        credit = b.credit.model_copy(update={"stp_share": 1.0, "outside_hours": True})
        net.banks[bid] = b.model_copy(update={"review_share": 0.0, "credit": credit})
    return net


def utc(ts: pd.Timestamp) -> datetime:
    return ts.to_pydatetime().astimezone(UTC)


def steps_of(res, kind: str, place: str | None = None) -> pd.DataFrame:
    s = res.steps
    s = s[s["kind"] == kind]
    return s if place is None else s[s["place"] == place]


# -- ramps across weekends and holidays ----------------------------------------------

def test_wire_onramp_after_friday_cutoff_waits_for_monday(spec) -> None:
    net = quiet_network()
    fri_evening = at(2025, 11, 21, 23, 0)  # 18:00 in New York, after the 17:30 wire window
    r = onchain.run(net, one(net, fri_evening), seed=1, spec=quiet(spec), ledger="table")
    cw = steps_of(r, "cutoff_wait", "issuer:USD")
    assert len(cw) == 1
    assert utc(cw.iloc[0]["ended_at"]) == datetime(2025, 11, 24, 14, 0, tzinfo=UTC)  # 09:00 ET
    assert "after closing; weekend" in cw.iloc[0]["detail"]
    assert r.payments.iloc[0]["status"] == "credited"


def test_wire_onramp_on_thanksgiving_eve_waits_past_the_holiday(spec) -> None:
    net = quiet_network()
    wed_evening = at(2025, 11, 26, 23, 0)  # 18:00 ET; Thursday 27 Nov 2025 is Thanksgiving
    r = onchain.run(net, one(net, wed_evening), seed=1, spec=quiet(spec), ledger="table")
    cw = steps_of(r, "cutoff_wait", "issuer:USD").iloc[0]
    assert utc(cw["ended_at"]) == datetime(2025, 11, 28, 14, 0, tzinfo=UTC)  # Fri 09:00 ET
    assert "Thanksgiving" in cw["detail"]


@pytest.mark.parametrize("mode", ["instant", "prefunded"])
def test_instant_and_prefunded_onramps_ignore_the_weekend(spec, mode: str) -> None:
    net = quiet_network()
    fri_evening = at(2025, 11, 21, 23, 0)
    r = onchain.run(net, one(net, fri_evening), seed=1, spec=quiet(spec, onramp_mode=mode),
                    ledger="table")
    assert steps_of(r, "cutoff_wait", "issuer:USD").empty
    on = steps_of(r, "onramp").iloc[0]
    took = (on["ended_at"] - on["started_at"]).total_seconds()
    assert (took == 0) if mode == "prefunded" else (0 < took <= 60)
    mint = steps_of(r, "mempool").iloc[0]
    assert (mint["ended_at"] - on["ended_at"]).total_seconds() <= 12  # the next slot


def test_wire_offramp_waits_over_a_mexican_holiday(spec) -> None:
    net = quiet_network()
    # Friday 14 Nov 2025, 17:00 in Mexico City: after the issuer's cut-off; Monday 17 Nov is
    # Revolution Day, so the payout wire goes on Tuesday 09:00 local (15:00 UTC)
    fri = at(2025, 11, 14, 23, 0)
    r = onchain.run(net, one(net, fri), seed=1, spec=quiet(spec, onramp_mode="instant"),
                    ledger="table")
    cw = steps_of(r, "cutoff_wait", "issuer:MXN").iloc[0]
    assert utc(cw["ended_at"]) == datetime(2025, 11, 18, 15, 0, tzinfo=UTC)
    assert "weekend" in cw["detail"] and "Revolution" in cw["detail"]
    instant = onchain.run(net, one(net, fri), seed=1,
                          spec=quiet(spec, onramp_mode="instant", offramp_mode="instant"),
                          ledger="table")
    assert steps_of(instant, "cutoff_wait").empty
    assert instant.payments.iloc[0]["latency_s"] < 3600 < r.payments.iloc[0]["latency_s"]


# -- the chain: congestion, finality --------------------------------------------------

def test_congestion_raises_the_base_fee_and_the_delay(spec) -> None:
    net = quiet_network()
    t = at(2025, 11, 18, 15, 0)
    sp = quiet(spec, onramp_mode="prefunded", offramp_mode="prefunded")
    calm = onchain.run(net, one(net, t), seed=2, spec=sp, ledger="table")
    spike = onchain.run(net, one(net, t), seed=2, spec=sp, ledger="table",
                        congestion=[Congestion(t, t + 1800, 1.0)])
    wait = {n: steps_of(x, "mempool").eval("ended_at - started_at").sum().total_seconds()
            for n, x in (("calm", calm), ("spike", spike))}
    assert wait["spike"] > wait["calm"] + 1500  # nothing fits until the episode ends
    assert spike.payments.iloc[0]["fee_gas"] > 2 * calm.payments.iloc[0]["fee_gas"]
    assert spike.payments.iloc[0]["status"] == calm.payments.iloc[0]["status"] == "credited"


def test_the_fee_market_steps_through_every_slot_up_to_the_last_block(spec) -> None:
    net = quiet_network()
    r = onchain.run(net, one(net, at(2025, 11, 18, 15, 0)), seed=1, spec=quiet(spec),
                    ledger="table")
    slots = steps_of(r, "mempool")["detail"].str.extract(r"slot (\d+)")[0].astype(int)
    first, last = int(slots.min()), int(slots.max())
    assert first > 0           # the slots before the first block are not stepped
    assert r.meta["slots"] == last + 1 - first > r.meta["blocks"] == 7


@pytest.mark.parametrize("name", ["ethereum-l1", "fast-ledger"])
def test_every_transaction_waits_for_a_later_slot(name: str) -> None:
    """No transaction is in a block produced at the instant it was sent (on Ethereum the
    finality wait ends on a slot instant, and the redeem is sent then)."""
    net = BankNetwork.default()
    r = onchain.run(net, Workload.generate(seed=8, n_payments=400, network=net), seed=8,
                    chain=name, ledger="table")
    waits = steps_of(r, "mempool").eval("ended_at - started_at").dt.total_seconds()
    assert waits.min() > 0


@pytest.mark.parametrize("name", sorted(load_chain_profiles()))
def test_finality_follows_the_chain_profile(spec, name: str) -> None:
    net = quiet_network()
    profile = get_chain_profile(name)
    r = onchain.run(net, one(net, at(2025, 11, 18, 15, 0)), seed=1, spec=quiet(spec),
                    chain=name, ledger="table")
    fin = steps_of(r, "finality").iloc[0]
    assert (fin["ended_at"] - fin["started_at"]).total_seconds() == pytest.approx(
        profile.finality_delay_s())
    gaps = steps_of(r, "mempool").eval("ended_at - started_at").dt.total_seconds()
    assert gaps.max() <= profile.block_time_s + 1e-6


# -- FX liquidity ------------------------------------------------------------------

def _two_payments(net: BankNetwork) -> Workload:
    t = at(2025, 11, 18, 15, 0)
    return Workload([
        make_payment(0, t, "RBUSUS44", "PLMXMXMM", "30000", "USD", "MXN", network=net,
                     segment="wholesale"),
        make_payment(1, t + 60, "RBUSUS44", "PLMXMXMM", "30000", "USD", "MXN", network=net,
                     segment="wholesale"),
    ])


def test_fx_inventory_exhaustion_fails_the_payment_when_configured(spec) -> None:
    net = quiet_network()
    d = quiet(spec).model_dump()
    d["fx"].update({"inventory_usd": 40_000, "replenish": "fail"})
    r = onchain.run(net, _two_payments(net), seed=1, spec=OnChainSpec.from_dict(d),
                    ledger="table")
    assert list(r.payments["status"]) == ["credited", "failed"]
    assert "out of MXN inventory" in r.payments.iloc[1]["failure_reason"]
    assert r.payments.iloc[1]["amount_delivered"] == 0
    assert conservation_violations(r.payments).empty


def test_fx_inventory_exhaustion_waits_for_replenishment(spec) -> None:
    net = quiet_network()
    d = quiet(spec).model_dump()
    d["fx"].update({"inventory_usd": 40_000, "replenish": "wait", "replenish_usd": 100_000})
    r = onchain.run(net, _two_payments(net), seed=1, spec=OnChainSpec.from_dict(d),
                    ledger="table")
    assert list(r.payments["status"]) == ["credited", "credited"]
    waits = steps_of(r, "fx")
    waits = waits[waits["detail"].str.contains("replenish")]
    assert list(waits["payment_id"]) == ["P0000001"]
    assert len(r.meta["replenishments"]) == 1
    assert r.payments.iloc[1]["latency_s"] > r.payments.iloc[0]["latency_s"]


def _provider_queue_case(spec: OnChainSpec) -> tuple[BankNetwork, Workload, OnChainSpec]:
    """Opening inventory and top-ups of USD 10,000; USD 25,000 then four of USD 6,000."""
    net = quiet_network()
    d = quiet(spec).model_dump()
    d["fx"].update({"inventory_usd": 10_000, "replenish": "wait", "replenish_usd": 10_000})
    t = at(2025, 11, 18, 15, 0)
    amounts = ["25000", "6000", "6000", "6000", "6000"]
    wl = Workload([make_payment(i, t + 60 * i, "RBUSUS44", "PLMXMXMM", a, "USD", "MXN",
                                network=net, segment="wholesale")
                   for i, a in enumerate(amounts)])
    return net, wl, OnChainSpec.from_dict(d)


def test_payments_wait_for_the_provider_in_line_with_one_step_each(spec) -> None:
    """Opening inventory and top-ups of USD 10,000 (MXN 174,000): one payment of USD
    25,000 (MXN 434,565 at the dealt rate) and four of USD 6,000 (MXN 104,295).

    With seed 1 they reach the provider in the order P0, P3, P4, P2, P1. P0 waits; P3
    is covered at once by what is left (a larger payment waiting does not hold up a
    smaller one); P4 and P2 wait, and the first top-up covers both (69,705 + 174,000),
    not P0; P1, which came after the first top-up was asked for, waits for the second;
    P0 for the fourth. Each wait is one step, ending at the top-up that served it and
    naming how many top-ups it waited through."""
    net, wl, sp = _provider_queue_case(spec)
    r = onchain.run(net, wl, seed=1, spec=sp, ledger="table")
    assert set(r.payments["status"]) == {"credited"}
    tops = [ts for ccy, ts, _ in r.meta["replenishments"] if ccy == "MXN"]
    assert len(tops) == 4
    fx = steps_of(r, "fx")
    quotes = fx[fx["detail"].str.startswith("PvP quote")].sort_values("started_at")
    assert list(quotes["payment_id"]) == ["P0000000", "P0000003", "P0000004", "P0000002",
                                          "P0000001"]
    waits = fx[fx["detail"].str.contains("replenish")].set_index("payment_id")
    assert waits.index.is_unique and "P0000003" not in waits.index
    served = {pid: tops.index(w["ended_at"].timestamp()) + 1 for pid, w in waits.iterrows()}
    assert served == {"P0000000": 4, "P0000004": 1, "P0000002": 1, "P0000001": 2}
    for pid, w in waits.iterrows():
        n = sum(1 for ts in tops if w["started_at"].timestamp() < ts <= w["ended_at"].timestamp())
        assert w["detail"].endswith(f"({n} top-up{'s' if n != 1 else ''})"), (pid, w["detail"])
    assert waits.loc["P0000001", "detail"].endswith("(2 top-ups)")


def test_the_providers_line_on_the_real_contracts_matches_the_table(spec) -> None:
    """The same queue with every top-up a real mint and every swap on the contracts: the
    same payments as the table ledger, and balances equal to total supply at the end."""
    net, wl, sp = _provider_queue_case(spec)
    table = onchain.run(net, wl, seed=1, spec=sp, ledger="table")
    real = onchain.run(net, wl, seed=1, spec=sp, ledger="contracts")
    cols = ["payment_id", "status", "latency_s", "fee_gas", "amount_delivered", "hops"]
    pd.testing.assert_frame_equal(real.payments[cols], table.payments[cols])
    assert real.meta["replenishments"] == table.meta["replenishments"]
    assert all(bal == supply for bal, supply in real.meta["supply_check"].values())


# -- the escrow deadline, enforced by the contract ---------------------------------------

def test_release_after_the_deadline_reverts_in_the_evm_and_the_lock_is_refunded(spec) -> None:
    from sim.banking.network import LogNormal

    net = quiet_network()
    ben = net.banks["PLMXMXMM"]  # holds every payment for a 2-business-hour review
    net.banks["PLMXMXMM"] = ben.model_copy(update={
        "review_share": 1.0, "review_reject_share": 0.0,
        "review_hours": LogNormal(median=2.0, sigma=0.0)})
    d = quiet(spec, onramp_mode="instant").model_dump()
    d["escrow"]["deadline_hours"] = 0.5  # the attestation comes after the lock's deadline
    sp = OnChainSpec.from_dict(d)
    wl = one(net, at(2025, 11, 18, 15, 0))  # 09:00 in Mexico City
    real = onchain.run(net, wl, seed=1, spec=sp, ledger="contracts")
    pay = real.payments.iloc[0]
    assert pay["status"] == "returned"
    assert "LockExpired" in pay["failure_reason"]
    details = list(steps_of(real, "mempool")["detail"])
    assert any("releases the escrow" in x and "reverted: LockExpired" in x for x in details)
    assert any("refunds the lock" in x for x in details)
    assert pay["amount_delivered"] == 0 and conservation_violations(real.payments).empty
    for total, supply in real.meta["supply_check"].values():
        assert total == supply
    mirror = onchain.run(net, wl, seed=1, spec=sp, ledger="table")
    pd.testing.assert_frame_equal(real.payments, mirror.payments)
    pd.testing.assert_frame_equal(real.steps, mirror.steps)
    # a lock whose deadline passes before it is mined is refused by the contract too
    d["escrow"]["deadline_hours"] = 0.002  # 7 s, shorter than a 12 s slot
    early = onchain.run(net, wl, seed=1, spec=OnChainSpec.from_dict(d), ledger="contracts")
    assert "DeadlineNotInFuture" in early.payments.iloc[0]["failure_reason"]


# -- both ledgers, determinism, conservation --------------------------------------------

def test_contracts_and_gas_table_ledgers_agree_payment_by_payment(net, spec) -> None:
    wl = Workload.generate(seed=5, n_payments=14, network=net)
    real = onchain.run(net, wl, seed=5, ledger="contracts")
    table = onchain.run(net, wl, seed=5, ledger="table")
    pd.testing.assert_frame_equal(real.payments, table.payments)
    pd.testing.assert_frame_equal(real.steps, table.steps)  # same gas, slots, latency, status
    assert real.meta["blocks"] == table.meta["blocks"]
    assert real.meta["gas_total"] == table.meta["gas_total"]
    for ccy, (total, supply) in real.meta["supply_check"].items():
        assert total == supply, ccy


def test_same_seed_same_tables_and_another_seed_differs(net) -> None:
    wl = Workload.generate(seed=7, n_payments=60, network=net)
    a = onchain.run(net, wl, seed=7, ledger="table")
    b = onchain.run(net, wl, seed=7, ledger="table")
    pd.testing.assert_frame_equal(a.payments, b.payments)
    pd.testing.assert_frame_equal(a.steps, b.steps)
    c = onchain.run(net, wl, seed=8, ledger="table")
    assert not a.payments["latency_s"].equals(c.payments["latency_s"])


def test_money_is_conserved_for_every_payment(net) -> None:
    wl = Workload.generate(seed=11, n_payments=250, network=net)
    r = onchain.run(net, wl, seed=11, ledger="table")
    p = r.payments
    assert conservation_violations(p).empty
    assert (p[list(FEE_COLUMNS)].sum(axis=1) == p["fee_total_sent"]).all()
    assert (p["fee_gas"] > 0).all() and (p["fee_fx_spread"] >= -2).all()
    for row in p[p["status"] == "credited"].itertuples():
        back = convert_for_reporting(row.amount_delivered, row.currency_delivered,
                                     row.currency_sent, net.fx.rate(row.currency_delivered,
                                                                    row.currency_sent))
        assert row.amount_sent == back + row.fee_total_sent, row.payment_id
    assert set(p["charge_option"]) == {"OUR", "SHA", "BEN"}


def test_our_delivers_the_principal_at_the_dealt_rate(spec) -> None:
    net = quiet_network()
    t = at(2025, 11, 18, 15, 0)
    res = {c: onchain.run(net, one(net, t, charge=c), seed=1, spec=quiet(spec), ledger="table")
           .payments.iloc[0] for c in ("OUR", "SHA", "BEN")}
    assert res["OUR"]["amount_delivered"] > res["SHA"]["amount_delivered"] \
        > res["BEN"]["amount_delivered"]
    assert res["OUR"]["amount_sent"] > res["SHA"]["amount_sent"] > res["BEN"]["amount_sent"]
    assert res["BEN"]["amount_sent"] == 100_000 + res["BEN"]["fee_gas"]  # gas is billed on top


def test_bad_settings_name_the_field(spec) -> None:
    d = spec.model_dump()
    d["escrow"]["fee_bps"] = 5000
    d["fx"]["replenish"] = "sometimes"
    with pytest.raises(OnChainSpecError) as exc:
        OnChainSpec.from_dict(d, "my_onchain.toml")
    msg = str(exc.value)
    assert "my_onchain.toml" in msg and "escrow.fee_bps" in msg and "fx.replenish" in msg
    with pytest.raises(ValueError, match="ledger must be"):
        onchain.run(ledger="paper")


@settings(max_examples=25)
@given(hours=st.integers(0, 24 * 21 - 1), minute=st.integers(0, 59),
       charge=st.sampled_from(["OUR", "SHA", "BEN"]), amount=st.integers(20, 2_000_000),
       corridor=st.sampled_from([("RBUSUS44", "PLMXMXMM", "USD", "MXN"),
                                 ("RBGBGB22", "PLNGNGLA", "GBP", "NGN"),
                                 ("RBSGSGSX", "PLIDIDJA", "SGD", "IDR"),
                                 ("RBUSUS44", "PLKEKENA", "USD", "KES")]))
def test_property_time_moves_forward_and_money_is_conserved(net, hours, minute, charge,
                                                            amount, corridor) -> None:
    s, b, cs, cd = corridor
    t = at(2025, 11, 3, 0, 0) + hours * 3600 + minute * 60
    wl = Workload([make_payment(0, t, s, b, str(amount), cs, cd, network=net,
                                charge_option=charge)])
    r = onchain.run(net, wl, seed=hours, ledger="table")
    p, steps = r.payments.iloc[0], r.steps
    assert (steps["ended_at"] >= steps["started_at"]).all()
    assert (steps["started_at"] >= p["created_at"]).all()
    assert list(steps["seq"]) == list(range(len(steps)))
    assert steps["started_at"].is_monotonic_increasing
    if p["status"] == "credited":
        assert p["credited_at"] >= p["created_at"]
        assert steps["ended_at"].max() <= p["credited_at"] or steps.iloc[-1]["kind"] == "credit"
    assert conservation_violations(r.payments).empty


def test_gas_table_cache_holds_a_fresh_measurement(tmp_path, monkeypatch) -> None:
    from sim.onchain import ledger

    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    ledger._cached.cache_clear()
    try:
        cached = ledger.measure_rail_gas("attestation")
        path = ledger._cache_file("attestation")
        assert path.parent == tmp_path / "settlesim" and path.exists()
        assert cached == ledger.measure_rail_gas("attestation", use_cache=False)
        ledger._cached.cache_clear()
        path.write_text("{not json")  # a damaged cache is measured again, not trusted
        assert ledger.measure_rail_gas("attestation") == cached
    finally:
        ledger._cached.cache_clear()


def test_unbounded_base_fee_is_a_clear_error_not_a_crash(net: BankNetwork) -> None:
    # a day of full blocks compounds the base fee 12.5% a block (~10^368); gas then
    # exceeds any amount the tables can hold: the run says so, naming the episode
    wl = Workload.generate(seed=1, n_payments=30, network=net, days=2)
    t0 = wl.start
    with pytest.raises(ValueError, match=r"payment P\d+: .* does not fit a 64-bit integer "
                                         r"column .*congestion .* 100% .* for 24 h"):
        onchain.run(net, wl, seed=1, ledger="table",
                    congestion=[Congestion(t0, t0 + 86_400, 1.0)])


def test_an_amount_too_large_for_the_tables_is_blamed_on_the_amount_not_gas(
        net: BankNetwork) -> None:
    # USD 10^17 is 10^19 cents, past int64: the error names the payment and says the
    # amount, not the fee market, is the problem (even with a congestion episode set)
    t0 = at(2025, 11, 18, 15)
    p = make_payment(0, t0, "RBUSUS44", "RBUSUS66", "100000000000000000", "USD", "USD",
                     network=net)
    with pytest.raises(MoneyOverflowError, match=r"payment P0000000: amount_sent .* does "
                                                 r"not fit .*; the payment's own amounts"):
        onchain.run(net, Workload([p]), seed=1, ledger="table",
                    congestion=[Congestion(t0, t0 + 600, 0.9)])


def test_a_payment_no_provider_inventory_could_fund_fails_at_once(net: BankNetwork) -> None:
    # USD 50 trillion to MXN needs millions of USD 5 mn top-ups: it fails with the reason
    # (and the rest of the run goes on), instead of waiting without end
    t0 = at(2025, 11, 18, 15)
    huge = make_payment(0, t0, "RBUSUS44", "PLMXMXMM", "50000000000000", "USD", "MXN",
                        network=net)
    small = make_payment(1, t0 + 60, "RBUSUS44", "PLMXMXMM", "200", "USD", "MXN", network=net)
    res = onchain.run(net, Workload([huge, small]), seed=1, ledger="table")
    p = res.payments.set_index("payment_id")
    assert p.loc["P0000000", "status"] == "failed"
    assert "cannot fund" in p.loc["P0000000", "failure_reason"]
    assert p.loc["P0000001", "status"] == "credited"
    assert not len(conservation_violations(res.payments))
