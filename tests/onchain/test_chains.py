"""Chain profiles (data and validation) and the EIP-1559 fee market / block space model."""

from __future__ import annotations

import doctest
import os
import tomllib
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import sim.onchain.chains
from sim.onchain.chains import (
    DEFAULT_CHAINS_PATH,
    WEI_PER_NATIVE,
    ChainProfile,
    ChainProfileError,
    get_chain_profile,
    load_chain_profiles,
    required_sources,
)
from sim.onchain.fee_market import Congestion, FeeMarket, next_base_fee

SHIPPED = ("ethereum-l1", "l2-rollup", "fast-ledger", "permissioned-wholesale")
T0 = 1_750_000_000.0  # a POSIX instant (June 2025)


def _quiet(name: str = "ethereum-l1", **changes: object) -> ChainProfile:
    """A shipped profile with no background demand (plus ``changes``)."""
    return get_chain_profile(name).with_overrides(
        background={"mean_utilisation": 0, "volatility": 0, "persistence": 0}, **changes)


def _run(market: FeeMarket, blocks: int, our_gas: int = 0, start: int = 0) -> list:
    dt = market.profile.block_time_s
    out = []
    for n in range(start, start + blocks):
        out.append(market.open_block(n, T0 + n * dt))
        market.close_block(our_gas)
    return out


def _stepped_and_jumped(p: ChainProfile, seed: int, episodes: list[Congestion], gap: int,
                        our_gas: int) -> tuple[FeeMarket, FeeMarket]:
    """Two markets after 3 blocks with our gas: one steps every block up to ``gap``, the
    other jumps to it (skipping blocks 3..gap-1); their block ``gap`` must be the same."""
    dt = p.block_time_s
    stepped = FeeMarket(p, np.random.default_rng(seed), episodes)
    _run(stepped, 3, our_gas=our_gas)
    _run(stepped, gap - 3, start=3)
    jumped = FeeMarket(p, np.random.default_rng(seed), episodes)
    _run(jumped, 3, our_gas=our_gas)
    assert jumped.open_block(gap, T0 + gap * dt) == stepped.open_block(gap, T0 + gap * dt)
    return stepped, jumped


# ---------------------------------------------------------------------------
# shipped profiles
# ---------------------------------------------------------------------------
def test_shipped_profiles_load_with_their_kinds() -> None:
    profiles = load_chain_profiles()
    assert set(profiles) == set(SHIPPED)
    kinds = {n: (p.fee_market.kind, p.finality.kind) for n, p in profiles.items()}
    assert kinds == {
        "ethereum-l1": ("eip1559", "blocks"),
        "l2-rollup": ("eip1559", "seconds"),
        "fast-ledger": ("fixed", "blocks"),
        "permissioned-wholesale": ("none", "seconds"),
    }
    for p in profiles.values():
        assert p.path == str(DEFAULT_CHAINS_PATH)
        assert p.title and p.description and p.native_token


def _numeric_paths(entry: dict, prefix: str = "") -> list[str]:
    """Every figure a profile table gives in the file (numbers and decimal strings)."""
    paths = []
    for key, value in entry.items():
        path = f"{prefix}{key}"
        if key in ("sources", "title", "description", "native_token", "name"):
            continue
        if key == "finality":
            paths.append("finality")
        elif isinstance(value, dict):
            paths += _numeric_paths(value, f"{path}.")
        else:
            paths.append(path)  # numbers, decimal strings and the fee-market kind
    return paths


@pytest.mark.parametrize("name", SHIPPED)
def test_every_figure_in_the_file_cites_a_source_with_a_confidence(name: str) -> None:
    raw = tomllib.loads(DEFAULT_CHAINS_PATH.read_text(encoding="utf-8"))["profiles"][name]
    cited = raw["sources"]
    figures = _numeric_paths(raw)
    assert "block_time_s" in figures and "fee_market.kind" in figures
    missing = [p for p in figures if not cited.get(p, "").strip()]
    assert missing == []
    for p in figures:
        text = cited[p]
        assert "confidence" in text or "modelling choice" in text, (p, text)
    # the loader's own rule asks for at least these
    assert set(required_sources(get_chain_profile(name))) <= set(cited)


def test_shipped_figures_match_calibration() -> None:
    eth, l2, fast, whole = (get_chain_profile(n) for n in SHIPPED)
    assert (eth.block_time_s, eth.finality.value) == (12, 64)
    assert eth.fee_market.max_change_denominator == 8 and eth.fee_market.elasticity == 2
    assert Decimal(1) <= eth.fee_market.initial_base_fee_gwei <= Decimal(50)
    assert eth.background.mean_utilisation == 0.5
    assert eth.block_gas_limit in (30_000_000, 36_000_000, 45_000_000)
    assert l2.block_time_s == 2
    assert Decimal("0.001") <= l2.fee_market.l1_data_fee_usd <= Decimal("0.06")
    assert 3 <= fast.block_time_s <= 5
    assert fast.fee_market.fixed_fee_native == Decimal("0.00001")  # 100 stroops
    assert whole.fee_market.kind == "none" and whole.finality_delay_s() == 0
    for p in (l2, fast, whole):
        assert p.background.mean_utilisation < eth.background.mean_utilisation


@pytest.mark.parametrize(("name", "seconds"), [
    ("ethereum-l1", 768.0),          # 64 slots x 12 s = 12.8 min
    ("l2-rollup", 1500.0),           # batch final on L1: 20-30 min after submission
    ("fast-ledger", 5.0),            # one close
    ("permissioned-wholesale", 0.0),  # BFT: final on commit
])
def test_finality_delay_per_profile(name: str, seconds: float) -> None:
    assert get_chain_profile(name).finality_delay_s() == seconds


def test_finality_in_blocks_scales_with_block_time() -> None:
    p = get_chain_profile("ethereum-l1").with_overrides(block_time_s=6)
    assert p.finality_delay_s() == 384.0


# ---------------------------------------------------------------------------
# malformed files
# ---------------------------------------------------------------------------
def _write_variant(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_CHAINS_PATH.read_text(encoding="utf-8")
    assert old in text, old
    path = tmp_path / "chains.toml"
    path.write_text(text.replace(old, new, 1), encoding="utf-8")
    return path


@pytest.mark.parametrize(("old", "new", "profile", "field"), [
    ('finality = { kind = "blocks", value = 64 }', 'finality = { kind = "epochs", value = 2 }',
     "ethereum-l1", "finality.kind"),
    ("block_time_s = 12\n", "block_time_s = -12\n", "ethereum-l1", "block_time_s"),
    ("block_time_s = 5\n", 'block_time_s = "fast"\n', "fast-ledger", "block_time_s"),
    ('finality = { kind = "blocks", value = 1 }', 'finality = { kind = "blocks", value = 1.5 }',
     "fast-ledger", "finality"),
    ('priority_fee_gwei = "1.5"', "priority_fee_gwei = 1.5", "ethereum-l1",
     "fee_market.priority_fee_gwei"),
    ("max_change_denominator = 250", "max_change_denominator = 0", "l2-rollup",
     "fee_market.max_change_denominator"),
    ('min_base_fee_gwei = "0.001"', 'min_base_fee_gwei = "0.01"', "l2-rollup", "fee_market"),
    ('kind = "none"', 'kind = "none"\nfixed_fee_native = "1"', "permissioned-wholesale",
     "fee_market"),
    ("mean_utilisation = 0.05", "mean_utilisation = 0.05\nburstiness = 2",
     "permissioned-wholesale", "background.burstiness"),
    ("persistence = 0.9\n", "persistence = 1.3\n", "fast-ledger", "background.persistence"),
])
def test_malformed_value_names_file_profile_and_field(tmp_path: Path, old: str, new: str,
                                                      profile: str, field: str) -> None:
    path = _write_variant(tmp_path, old, new)
    with pytest.raises(ChainProfileError) as info:
        load_chain_profiles(path)
    msg = str(info.value)
    assert msg.startswith(str(path))
    hits = [p for p in info.value.problems if f"profile '{profile}'" in p and f"'{field}" in p]
    assert hits, msg
    assert all("fix" in p for p in hits), msg


def test_missing_source_is_reported_with_the_fix(tmp_path: Path) -> None:
    line = '"fee_market.priority_fee_gwei" = "ethers.js v5 getFeeData()'
    text = DEFAULT_CHAINS_PATH.read_text(encoding="utf-8")
    start = text.index(line)
    end = text.index("\n", start) + 1
    path = tmp_path / "chains.toml"
    path.write_text(text[:start] + text[end:], encoding="utf-8")
    with pytest.raises(ChainProfileError) as info:
        load_chain_profiles(path)
    assert info.value.path == str(path)
    assert info.value.problems == [
        "profile 'ethereum-l1' field 'sources.fee_market.priority_fee_gwei': missing citation "
        "for 'fee_market.priority_fee_gwei'; fix: add \"fee_market.priority_fee_gwei\" = "
        "\"<source> (confidence H/M/L)\" or say it is a modelling choice"]


def test_source_without_confidence_and_unknown_source_key(tmp_path: Path) -> None:
    path = _write_variant(
        tmp_path, '"background.persistence" = "modelling choice: AR(1) 0.9 per 5 s close"',
        '"background.persistence" = "we guessed"\n"background.burst" = "x (confidence L)"')
    with pytest.raises(ChainProfileError) as info:
        load_chain_profiles(path)
    probs = info.value.problems
    assert len(probs) == 2
    assert "profile 'fast-ledger' field 'sources.background.persistence': no confidence" in probs[0]
    assert "profile 'fast-ledger' field 'sources.background.burst': cites an unknown field" \
        in probs[1]


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "block_time_s = 12\n", "block_time_s = 0\n")
    text = path.read_text(encoding="utf-8").replace("block_time_s = 5\n", "block_time_s = -5\n")
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ChainProfileError) as info:
        load_chain_profiles(path)
    assert "2 problem(s)" in str(info.value)
    assert any("'ethereum-l1'" in p for p in info.value.problems)
    assert any("'fast-ledger'" in p for p in info.value.problems)


def test_unknown_profile_name_lists_the_known_ones(tmp_path: Path) -> None:
    with pytest.raises(ChainProfileError) as info:
        get_chain_profile("solana")
    assert info.value.problems == [
        "profile 'solana': unknown; fix: use one of ethereum-l1, fast-ledger, l2-rollup, "
        "permissioned-wholesale"]
    assert str(info.value).startswith(str(DEFAULT_CHAINS_PATH))
    path = _write_variant(tmp_path, "[profiles.fast-ledger]\n", "[profiles.fast-ledger]\n")
    with pytest.raises(ChainProfileError, match=str(path)):
        get_chain_profile("fast_ledger", path)


def test_unreadable_bad_toml_and_unknown_tables(tmp_path: Path) -> None:
    with pytest.raises(ChainProfileError, match="cannot read the file"):
        load_chain_profiles(tmp_path / "absent.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[profiles.x\n", encoding="utf-8")
    with pytest.raises(ChainProfileError, match="not valid TOML"):
        load_chain_profiles(bad)
    empty = tmp_path / "empty.toml"
    empty.write_text("[chains]\n", encoding="utf-8")
    with pytest.raises(ChainProfileError) as info:
        load_chain_profiles(empty)
    assert any("top-level table 'chains'" in p for p in info.value.problems)
    assert any("no [profiles.<name>] table" in p for p in info.value.problems)


def test_edited_file_is_reloaded(tmp_path: Path) -> None:
    path = _write_variant(tmp_path, "block_time_s = 5\n", "block_time_s = 4\n")
    assert get_chain_profile("fast-ledger", path).block_time_s == 4
    text = path.read_text(encoding="utf-8").replace("block_time_s = 4\n", "block_time_s = 3\n")
    path.write_text(text, encoding="utf-8")
    st_ = os.stat(path)
    os.utime(path, ns=(st_.st_atime_ns, st_.st_mtime_ns + 1_000_000_000))
    assert get_chain_profile("fast-ledger", path).block_time_s == 3


# ---------------------------------------------------------------------------
# with_overrides
# ---------------------------------------------------------------------------
def test_with_overrides_returns_a_validated_copy_marked_as_override() -> None:
    eth = get_chain_profile("ethereum-l1")
    q = eth.with_overrides(block_time_s=6.0, fee_market={"priority_fee_gwei": 2.5},
                           background__volatility=0.1)
    assert (q.block_time_s, q.fee_market.priority_fee_gwei, q.background.volatility) == \
        (6.0, Decimal("2.5"), 0.1)
    assert q.fee_market.initial_base_fee_gwei == eth.fee_market.initial_base_fee_gwei
    assert (eth.block_time_s, eth.fee_market.priority_fee_gwei) == (12.0, Decimal("1.5"))
    for p in ("block_time_s", "fee_market.priority_fee_gwei", "background.volatility"):
        assert q.sources[p].startswith("override:")
    assert q.sources["finality"] == eth.sources["finality"]
    assert q.path == eth.path


@pytest.mark.parametrize(("changes", "field"), [
    ({"block_time_s": -1}, "block_time_s"),
    ({"finality": {"kind": "epochs"}}, "finality.kind"),
    ({"fee_market__elasticity": 0}, "fee_market.elasticity"),
    ({"gas_limit": 1}, "gas_limit"),
    ({"native_price_usd": 0}, "profile 'ethereum-l1'"),
])
def test_with_overrides_rejects_bad_values(changes: dict, field: str) -> None:
    with pytest.raises(ChainProfileError) as info:
        get_chain_profile("ethereum-l1").with_overrides(**changes)
    assert any("profile 'ethereum-l1'" in p and field in p for p in info.value.problems), \
        info.value.problems


# ---------------------------------------------------------------------------
# EIP-1559 arithmetic
# ---------------------------------------------------------------------------
def test_next_base_fee_hand_computed() -> None:
    limit = 30_000_000                                   # target 15M
    assert next_base_fee(1_000_000_000, limit, limit) == 1_125_000_000      # full: +12.5%
    assert next_base_fee(1_000_000_000, 0, limit) == 875_000_000            # empty: -12.5%
    assert next_base_fee(1_000_000_000, 15_000_000, limit) == 1_000_000_000  # at target
    # 20M used: delta = 1e9 * 5M // 15M // 8 = 333_333_333 // 8 = 41_666_666
    assert next_base_fee(1_000_000_000, 20_000_000, limit) == 1_041_666_666
    # 10M used: delta = 1e9 * 5M // 15M // 8 = 41_666_666
    assert next_base_fee(1_000_000_000, 10_000_000, limit) == 958_333_334
    # above target the increase is at least 1 wei; below it may round to 0
    assert next_base_fee(7, 15_000_001, limit) == 8
    assert next_base_fee(7, 0, limit) == 7
    # OP-Stack parameters: target = limit // 6, denominator 250: a full block is +2%
    assert next_base_fee(1_000_000, 30_000_000, 30_000_000, 250, 6) == 1_020_000
    assert next_base_fee(1_000_000, 0, 30_000_000, 250, 6) == 996_000


def test_fee_market_full_empty_and_target_blocks() -> None:
    fm = FeeMarket(_quiet(), np.random.default_rng(0))
    limit = fm.profile.block_gas_limit
    assert fm.base_fee_wei == 5_000_000_000
    b = fm.open_block(1, T0)
    assert (b.background_gas, b.capacity_gas, b.base_fee_wei) == (0, limit, 5_000_000_000)
    fm.close_block(limit)                                   # full
    assert fm.base_fee_wei == 5_625_000_000
    fm.open_block(2, T0 + 12)
    fm.close_block(limit // 2)                              # at target
    assert fm.base_fee_wei == 5_625_000_000
    fm.open_block(3, T0 + 24)
    fm.close_block(0)                                       # empty
    assert fm.base_fee_wei == 4_921_875_000
    fm.open_block(4, T0 + 36)
    fm.close_block(10 * limit)                              # capped at the limit
    assert fm.base_fee_wei == 5_537_109_375


def test_background_gas_counts_towards_the_update() -> None:
    # a forced episode at exactly the target, our gas on top fills the block
    p = _quiet()
    half = Congestion(T0 - 1, T0 + 1e6, 0.5)
    fm = FeeMarket(p, np.random.default_rng(0), [half])
    b = fm.open_block(0, T0)
    assert b.background_gas == p.block_gas_limit // 2
    assert b.capacity_gas == p.block_gas_limit - b.background_gas
    fm.close_block(0)
    assert fm.base_fee_wei == 5_000_000_000                  # at target: unchanged
    b = fm.open_block(1, T0 + 12)
    fm.close_block(b.capacity_gas)                           # we fill the rest
    assert fm.base_fee_wei == 5_625_000_000


def test_no_background_demand_full_capacity_and_base_fee_decays_to_minimum() -> None:
    fm = FeeMarket(_quiet(fee_market__min_base_fee_gwei="1"), np.random.default_rng(5))
    blocks = _run(fm, 40)
    assert all(b.capacity_gas == fm.profile.block_gas_limit for b in blocks)
    fees = [b.base_fee_wei for b in blocks]
    assert fees[0] == 5_000_000_000 and fees[1] == 4_375_000_000
    assert all(a >= b for a, b in zip(fees, fees[1:], strict=False))
    assert fm.base_fee_wei == 1_000_000_000                  # the floor, reached and kept
    # no floor (Ethereum): the base fee falls until integer rounding stops it (< 8 wei)
    fm0 = FeeMarket(_quiet(), np.random.default_rng(5))
    _run(fm0, 400)
    assert fm0.base_fee_wei <= 7
    # the L2 sits at its 0.001 gwei floor
    l2 = FeeMarket(_quiet("l2-rollup"), np.random.default_rng(5))
    _run(l2, 50)
    assert l2.base_fee_wei == 1_000_000


def test_ethereum_background_averages_its_target_and_base_fee_stays_in_range() -> None:
    p = get_chain_profile("ethereum-l1")
    fm = FeeMarket(p, np.random.default_rng(11))
    blocks = _run(fm, 3 * 7200)                               # three days of slots
    used = np.array([b.background_gas for b in blocks]) / p.block_gas_limit
    fees = np.array([b.base_fee_wei for b in blocks]) / 1e9
    assert 0.45 < used.mean() < 0.55
    assert used.std() > 0.05                                  # it does vary
    assert 1 < np.median(fees) < 50                           # CALIBRATION: ~1 to > 50 gwei
    assert fees.min() > 0.5 and fees.max() < 100


# ---------------------------------------------------------------------------
# congestion
# ---------------------------------------------------------------------------
def test_congestion_episode_raises_fee_cuts_capacity_then_relaxes() -> None:
    p = get_chain_profile("ethereum-l1")
    start, end = T0 + 100 * 12, T0 + 130 * 12                 # blocks 100..129
    calm = _run(FeeMarket(p, np.random.default_rng(2)), 400)
    hot = _run(FeeMarket(p, np.random.default_rng(2), [Congestion(start, end, 1.0)]), 400)
    assert hot[:100] == calm[:100]                            # nothing changes before it
    during = hot[100:130]
    assert all(b.capacity_gas == 0 for b in during)
    assert all(b.background_gas == p.block_gas_limit for b in during)
    for a, b in zip(during, during[1:], strict=False):        # +12.5% per full block
        assert b.base_fee_wei == a.base_fee_wei + a.base_fee_wei // 8
    peak = hot[130].base_fee_wei
    assert peak > 30 * calm[130].base_fee_wei
    assert hot[130].capacity_gas > 0                          # capacity is back at once
    assert hot[399].base_fee_wei < peak / 20                  # and the fee relaxes
    assert hot[399].base_fee_wei < 3 * calm[399].base_fee_wei
    fees_after = [b.base_fee_wei for b in hot[130:160]]
    assert all(a > b for a, b in zip(fees_after, fees_after[1:], strict=False))


def test_partial_congestion_leaves_the_rest_of_the_block() -> None:
    p = _quiet("fast-ledger")
    fm = FeeMarket(p, np.random.default_rng(0), [Congestion(T0, T0 + 50, 0.9)])
    inside, outside = fm.open_block(0, T0), None
    fm.close_block(0)
    outside = fm.open_block(20, T0 + 100)
    assert inside.capacity_gas == p.block_gas_limit // 10
    assert outside.capacity_gas == p.block_gas_limit


def test_congestion_validates_itself() -> None:
    with pytest.raises(ValueError, match="after start"):
        Congestion(10.0, 10.0, 1.0)
    with pytest.raises(ValueError, match="utilisation"):
        Congestion(0.0, 10.0, -0.1)


# ---------------------------------------------------------------------------
# determinism and block protocol
# ---------------------------------------------------------------------------
@pytest.mark.parametrize("name", SHIPPED)
def test_same_seed_same_blocks(name: str) -> None:
    p = get_chain_profile(name)
    a = _run(FeeMarket(p, np.random.default_rng(42)), 300, our_gas=100_000)
    b = _run(FeeMarket(p, np.random.default_rng(42)), 300, our_gas=100_000)
    assert a == b
    if p.background.volatility > 0:
        c = _run(FeeMarket(p, np.random.default_rng(43)), 300, our_gas=100_000)
        assert a != c


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize(("mean", "elasticity"), [(0.5, 0.0), (0.5, 1.0), (0.05, 0.0)])
def test_skipped_blocks_are_produced_as_if_stepped(name: str, mean: float,
                                                   elasticity: float) -> None:
    p = get_chain_profile(name).with_overrides(
        background={"volatility": 0.4, "mean_utilisation": mean,
                    "price_elasticity": elasticity})
    dt = p.block_time_s
    episode = [Congestion(T0 + 20 * dt, T0 + 30 * dt, 1.0),
               Congestion(T0 + 25 * dt, T0 + 60 * dt, 0.7)]
    stepped, jumped = _stepped_and_jumped(p, 9, episode, 80, our_gas=50_000)
    stepped.close_block(0)
    jumped.close_block(0)
    assert _run(jumped, 20, start=81) == _run(stepped, 20, start=81)


def test_block_protocol_errors() -> None:
    fm = FeeMarket(get_chain_profile("ethereum-l1"), np.random.default_rng(0))
    with pytest.raises(ValueError, match="no block is open"):
        fm.close_block(0)
    fm.open_block(5, T0)
    with pytest.raises(ValueError, match="still open"):
        fm.open_block(6, T0 + 12)
    with pytest.raises(ValueError, match="negative"):
        fm.close_block(-1)
    fm.close_block(0)
    with pytest.raises(ValueError, match="must increase"):
        fm.open_block(5, T0)
    assert fm.current_block is None and fm.next_block_number == 6


def test_slots_stepped_counts_from_the_first_block_skipped_slots_included() -> None:
    fm = FeeMarket(get_chain_profile("ethereum-l1"), np.random.default_rng(0))
    assert fm.slots_stepped == 0
    fm.open_block(5, T0)
    assert fm.slots_stepped == 0                 # not until the block is closed
    fm.close_block(0)
    assert fm.slots_stepped == 1                 # slots 0 to 4 came before the first block
    fm.open_block(9, T0 + 4 * 12)                # 6, 7 and 8 are stepped as idle slots
    fm.close_block(21_000)
    assert fm.slots_stepped == 5 and fm.next_block_number == 10


# ---------------------------------------------------------------------------
# fees
# ---------------------------------------------------------------------------
def test_fees_per_kind_hand_computed() -> None:
    eth = FeeMarket(_quiet(), np.random.default_rng(0))
    eth.open_block(0, T0)
    assert eth.fee_wei(21_000) == 21_000 * (5_000_000_000 + 1_500_000_000)
    # 1.365e14 wei x USD 3000 / 1e18 = USD 0.4095
    assert eth.fee_usd(21_000) == Decimal("0.4095")

    l2 = FeeMarket(_quiet("l2-rollup"), np.random.default_rng(0))
    l2.open_block(0, T0)
    assert l2.fee_wei(100_000) == 100_000 * 2_000_000       # 0.001 gwei base + 0.001 tip
    assert l2.fee_usd(100_000) == Decimal("0.0006") + Decimal("0.008")

    fast = FeeMarket(_quiet("fast-ledger"), np.random.default_rng(0))
    fast.open_block(0, T0)
    assert fast.base_fee_wei == 0
    assert fast.fee_wei(50_000) == fast.fee_wei(500_000) == 10**13  # 1e-5 XLM per tx
    assert fast.fee_usd(50_000) == Decimal("0.000003")

    whole = FeeMarket(get_chain_profile("permissioned-wholesale"), np.random.default_rng(0))
    whole.open_block(0, T0)
    assert (whole.fee_wei(80_000), whole.fee_usd(80_000)) == (0, Decimal(0))
    with pytest.raises(ValueError):
        eth.fee_wei(-1)


def test_fee_follows_the_open_blocks_base_fee() -> None:
    fm = FeeMarket(_quiet(), np.random.default_rng(0))
    limit = fm.profile.block_gas_limit
    fm.open_block(0, T0)
    fm.close_block(limit)
    fm.open_block(1, T0 + 12)
    assert fm.fee_wei(1) == 5_625_000_000 + 1_500_000_000
    assert fm.fee_usd(10**6) == Decimal(10**6 * 7_125_000_000) * 3000 / WEI_PER_NATIVE


# ---------------------------------------------------------------------------
# properties
# ---------------------------------------------------------------------------
_episodes = st.lists(
    st.tuples(st.integers(0, 60), st.integers(1, 40), st.floats(0, 1.5)), max_size=3)


@given(name=st.sampled_from(SHIPPED), seed=st.integers(0, 2**32 - 1),
       our=st.lists(st.integers(0, 60_000_000), min_size=1, max_size=80), episodes=_episodes,
       vol=st.floats(0, 2), mean=st.floats(0, 1.5))
def test_base_fee_floor_and_capacity_bounds(name: str, seed: int, our: list[int],
                                            episodes: list, vol: float, mean: float) -> None:
    p = get_chain_profile(name).with_overrides(
        background={"volatility": vol, "mean_utilisation": mean},
        fee_market__min_base_fee_gwei=get_chain_profile(name).fee_market.min_base_fee_gwei)
    dt = p.block_time_s
    eps = [Congestion(T0 + s * dt, T0 + (s + d) * dt, u) for s, d, u in episodes]
    fm = FeeMarket(p, np.random.default_rng(seed), eps)
    floor = int(p.fee_market.min_base_fee_gwei * 10**9)
    for n, gas in enumerate(our):
        b = fm.open_block(n, T0 + n * dt)
        assert 0 <= b.capacity_gas <= p.block_gas_limit
        assert b.capacity_gas + b.background_gas == p.block_gas_limit
        assert b.base_fee_wei >= floor
        fm.close_block(gas)
        assert fm.base_fee_wei >= floor
        if p.fee_market.kind != "eip1559":
            assert fm.base_fee_wei == 0


@given(name=st.sampled_from(SHIPPED), seed=st.integers(0, 1000), blocks=st.integers(0, 30),
       g1=st.integers(0, 10_000_000), g2=st.integers(0, 10_000_000))
def test_fee_monotone_in_gas(name: str, seed: int, blocks: int, g1: int, g2: int) -> None:
    fm = FeeMarket(get_chain_profile(name), np.random.default_rng(seed))
    _run(fm, blocks, our_gas=1_000_000)
    fm.open_block(blocks, T0 + blocks * fm.profile.block_time_s)
    lo, hi = sorted((g1, g2))
    assert 0 <= fm.fee_wei(lo) <= fm.fee_wei(hi)
    assert fm.fee_usd(lo) <= fm.fee_usd(hi)
    assert fm.fee_usd(lo) >= fm.profile.fee_market.l1_data_fee_usd


def test_docstring_examples_run() -> None:
    res = doctest.testmod(sim.onchain.chains, optionflags=doctest.ELLIPSIS)
    assert res.failed == 0 and res.attempted > 10


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize(("mean", "elasticity", "floor"),
                         [(0.5, 1.0, None), (0.5, 0.0, None), (0.6, 0.5, None),
                          (1.5, 1.0, None), (0.05, 2.0, "0.001"), (0.1, 0.0, "0.001"),
                          (0.16, 0.0, "0.001"), (0.3, 0.0, "0.001")])
def test_fast_skip_equals_stepping_and_the_plain_loop(name: str, mean: float, elasticity: float,
                                                      floor: str | None) -> None:
    """The fast loop of ``_skip`` (no episode in the gap) is block-for-block stepping."""
    over: dict[str, object] = {"background": {"volatility": 0.5, "mean_utilisation": mean,
                                              "price_elasticity": elasticity}}
    p = get_chain_profile(name)
    if floor is not None and p.fee_market.kind == "eip1559":
        over["fee_market"] = {"min_base_fee_gwei": floor}
    p = p.with_overrides(**over)
    dt = p.block_time_s
    # an episode well after the gap: the fast loop must not be taken for it
    episode = [Congestion(T0 + 3000 * dt, T0 + 3010 * dt, 1.0)]
    stepped, jumped = _stepped_and_jumped(p, 17, episode, 2500, our_gas=80_000)
    assert (jumped._x, jumped.base_fee_wei) == (stepped._x, stepped.base_fee_wei)
    stepped.close_block(0)
    jumped.close_block(0)
    assert _run(jumped, 600, start=2501) == _run(stepped, 600, start=2501)
    # and the fast loop against the plain one, from the same state
    a = FeeMarket(p, np.random.default_rng(3), episode)
    b = FeeMarket(p, np.random.default_rng(3), episode)
    _run(a, 2, our_gas=1_000_000)
    _run(b, 2, our_gas=1_000_000)
    shocks = b._draw(1500)
    b._skip_reference(shocks, T0 + 1502 * dt)
    a._skip(1500, T0 + 1502 * dt)
    assert (a._x, a.base_fee_wei) == (b._x, b.base_fee_wei)


def test_skip_when_an_empty_block_can_zero_the_base_fee() -> None:
    """Denominator 1: an empty block takes the base fee to 0 (the plain loop handles it)."""
    p = get_chain_profile("ethereum-l1").with_overrides(
        fee_market={"max_change_denominator": 1},
        background={"volatility": 0.3, "mean_utilisation": 1e-9, "price_elasticity": 1.0})
    dt = p.block_time_s
    stepped = FeeMarket(p, np.random.default_rng(2))
    _run(stepped, 50)
    jumped = FeeMarket(p, np.random.default_rng(2))
    _run(jumped, 1)
    assert jumped.open_block(50, T0 + 50 * dt) == stepped.open_block(50, T0 + 50 * dt)
