from collections import Counter
from pathlib import Path

import pytest

from sim.banking.network import BankNetwork
from sim.banking.workload import Workload, WorkloadFileError, WorkloadSpec


def test_deterministic_and_exact_count(net: BankNetwork) -> None:
    a = Workload.generate(seed=5, n_payments=300, network=net)
    b = Workload.generate(seed=5, n_payments=300, network=net)
    c = Workload.generate(seed=6, n_payments=300, network=net)
    assert a == b and a != c and len(a) == 300
    assert [p.index for p in a] == list(range(300))
    assert all(x.created_at <= y.created_at for x, y in zip(a, a[1:], strict=False))


def test_payments_are_rail_independent_and_sane(net: BankNetwork) -> None:
    wl = Workload.generate(seed=1, n_payments=500, network=net)
    for p in wl:
        assert p.amount > 0 and p.charge_option in ("OUR", "SHA", "BEN")
        s, r = p.corridor.split("-")
        assert net.bank(p.sender_bank).country == s and net.bank(p.beneficiary_bank).country == r
        assert wl.start <= p.created_at < wl.end
    assert set(Counter(p.segment for p in wl)) == {"retail", "sme", "wholesale"}
    med = {s: sorted(p.amount for p in wl if p.segment == s and p.currency_sent == "USD")
           for s in ("retail", "wholesale")}
    assert med["retail"][len(med["retail"]) // 2] < med["wholesale"][len(med["wholesale"]) // 2]


def test_arrivals_follow_sender_local_business_hours(net: BankNetwork) -> None:
    wl = Workload.generate(seed=2, n_payments=1500, network=net)
    local_hours = [net.calendar(p.sender_bank).local(p.created_at) for p in wl]
    day = sum(9 <= t.hour < 17 for t in local_hours) / len(wl)
    weekend = sum(t.weekday() >= 5 for t in local_hours) / len(wl)
    assert day > 0.6 and weekend < 0.12


def test_poisson_count_without_n(net: BankNetwork) -> None:
    wl = Workload.generate(seed=3, network=net, days=2)
    assert 600 < len(wl) < 1000        # 400/day for 2 days


def test_bad_workload_file_names_entry_and_problem(tmp_path: Path, net: BankNetwork) -> None:
    p = tmp_path / "wl.toml"
    text = Path(WorkloadSpec.default().path).read_text().replace("RBSGSGSX = ", "NOBANK99 = ")
    p.write_text(text.replace('round_to = "100"', 'round_to = 100.5'))
    with pytest.raises(WorkloadFileError) as e:
        WorkloadSpec.load(p)
    assert "segments.wholesale.round_to" in str(e.value) and str(p) in str(e.value)
    p.write_text(text)
    with pytest.raises(WorkloadFileError) as e:
        Workload.generate(WorkloadSpec.load(p), seed=1, n_payments=5, network=net)
    assert "corridors[" in str(e.value) and "name 'SG-ID'" in str(e.value)
    assert "no bank 'NOBANK99'" in str(e.value) and "fix:" in str(e.value)


def test_every_default_workload_parameter_cites_a_source() -> None:
    import tomllib

    from sim.banking.workload import DEFAULT_WORKLOAD_PATH

    raw = tomllib.loads(DEFAULT_WORKLOAD_PATH.read_text())
    tables = [("workload", raw["workload"]), ("profile", raw["profile"])]
    tables += [(f"segments.{k}", v) for k, v in raw["segments"].items()]
    for name, t in tables:
        missing = set(t) - {"sources"} - set(t.get("sources", {}))
        assert not missing, f"{name} lacks sources for {missing}"
    for c in raw["corridors"]:
        missing = set(c) - {"name", "currency_sent", "currency_delivered", "sources"} - set(
            c["sources"])
        assert not missing, f"corridor {c['name']} lacks sources for {missing}"
