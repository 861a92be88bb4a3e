"""Resolving a scenario into what a run needs: network, workload, chain, settings.

:func:`build_components` builds (and caches) the bank network with the
scenario's overrides, the workload spec, the on-chain settings, the chain profile
and the congestion episodes, and raises :class:`ScenarioError` listing **every**
problem at once, each with its field. :meth:`Scenario.check
<sim.experiments.scenario.Scenario.check>` and every run call it before anything
runs.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from sim.banking.network import deep_merge
from sim.experiments.problems import ScenarioError, field_path, freeze

if TYPE_CHECKING:
    from sim.experiments.scenario import Scenario

__all__ = ["Components", "build_components"]


# ---------------------------------------------------------------------------
# building what a scenario refers to
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Components:
    """Everything a scenario run needs, built and validated."""

    network: Any            # BankNetwork
    workload_spec: Any      # WorkloadSpec
    onchain_spec: Any       # OnChainSpec
    chain: Any              # ChainProfile
    congestion: tuple[Any, ...]   # Congestion episodes
    start: Any              # datetime or None (workload file's)
    days: float | None
    terra: Any = None       # TerraSettings of the scenario's [terra] run, or None


def build_components(scenario: Scenario) -> Components:
    """Build (cached) the network, workload spec, on-chain spec and chain profile of
    ``scenario``; raise :class:`~sim.experiments.scenario.ScenarioError` listing every problem.

    >>> from sim.experiments.scenario import Scenario
    >>> c = build_components(Scenario(name="x", onchain={"chain": "l2-rollup"}))
    >>> c.chain.name, len(c.network.banks) > 10
    ('l2-rollup', True)
    """
    key = freeze({k: v for k, v in scenario.to_dict().items()
                  if k in ("network", "workload", "onchain", "congestion", "horizon",
                           "correspondent", "terra", "path")})
    return _build(key, scenario)


_CACHE: dict[str, Components] = {}


def _build(key: str, sc: Scenario) -> Components:
    hit = _CACHE.get(key)
    if hit is not None:
        return hit
    problems: list[str] = []
    net = _network(sc, problems)
    wspec = _workload_spec(sc, net, problems)
    ospec = _onchain_spec(sc, problems)
    _ramp_currencies(sc, net, problems)
    chain = _chain(sc, problems)
    window = _horizon(sc, wspec, net, ospec, problems)
    cong = _congestion(sc, window, problems)
    terra = _terra(sc, problems)
    if sc.correspondent.via is not None and net is not None \
            and sc.correspondent.via not in net.banks:
        problems.append(f"correspondent.via: no bank {sc.correspondent.via!r} in the network; "
                        "allowed: a bank id of the network")
    if problems:
        raise ScenarioError(sc.path, problems)
    comp = Components(net, wspec, ospec, chain, cong, sc.horizon.start, sc.horizon.days,
                      terra)
    if len(_CACHE) > 32:
        _CACHE.clear()
    _CACHE[key] = comp
    return comp


@lru_cache(maxsize=8)
def _base_network(path: str) -> Any:
    from sim.banking.network import BankNetwork

    return BankNetwork.load(path)


def _network(sc: Scenario, problems: list[str]) -> Any:
    from sim.banking.network import DEFAULT_NETWORK_PATH, BankNetwork, NetworkFileError

    ns = sc.network
    path = sc.resolve(ns.file, DEFAULT_NETWORK_PATH)
    try:
        base = _base_network(str(path))
    except NetworkFileError as exc:
        where = "network.file" if ns.file != "default" else "network (default file)"
        problems += [f"{where}: {path}: {p}" for p in exc.problems]
        return None
    if not ns.overrides and not ns.banks:
        return base
    raw = dict(base.raw)
    ids = [b.get("id") for b in raw.get("banks", [])]
    for bid in ns.banks:
        if bid not in ids:
            problems.append(f"{field_path('network', 'banks', bid)}: no such bank in {path}; "
                            f"allowed: {', '.join(str(i) for i in ids)}")
    banks = []
    for entry in raw.get("banks", []):
        over = deep_merge(ns.overrides, ns.banks.get(entry.get("id"), {}))
        if not over:
            banks.append(entry)
            continue
        profile = raw.get("profiles", {}).get(entry.get("profile"), {})
        merged = deep_merge({k: v for k, v in profile.items() if k != "sources"}, entry)
        merged = deep_merge(merged, over)
        merged.pop("profile", None)
        src = dict(merged.get("sources", {}))
        for k in over:
            src[k] = "scenario override (modelling choice)"
        merged["sources"] = src
        banks.append(merged)
    raw["banks"] = banks
    try:
        return BankNetwork.from_dict(raw, path=f"{path} with the overrides of {sc.path}")
    except NetworkFileError as exc:
        import re

        for p in exc.problems:
            m = re.match(r"^banks\[\d+\] \(id '([A-Z0-9]+)'\) field '([^']+)'"
                         r"(?: \([^)]*\))?: (.*)$", p)
            if not m:
                problems.append(f"network.overrides: {p}")
                continue
            bid, field, msg = m.groups()
            top = field.split(".")[0]
            where = (field_path("network", "banks", bid, *field.split("."))
                     if top in ns.banks.get(bid, {})
                     else field_path("network", "overrides", *field.split(".")))
            msg, _, fix = msg.partition("; fix: ")
            should = re.match(r"Input should be (.*)$", msg)
            allowed = should.group(1) if should else fix
            problems.append(f"{where}: {msg}" + (f"; allowed: {allowed}" if allowed else ""))
        return None


def _workload_spec(sc: Scenario, net: Any, problems: list[str]) -> Any:
    from sim.banking.workload import DEFAULT_WORKLOAD_PATH, WorkloadFileError, WorkloadSpec

    ws = sc.workload
    path = sc.resolve(ws.file, DEFAULT_WORKLOAD_PATH)
    try:
        spec = WorkloadSpec.load(path)
    except WorkloadFileError as exc:
        problems += [f"workload.file: {path}: {p}" for p in exc.problems]
        return None
    names = [c.name for c in spec.corridors]
    n_before = len(problems)
    for i, c in enumerate(ws.corridors or []):
        if c not in names:
            problems.append(f"workload.corridors.{i}: {c!r} is not a corridor of {path}; "
                            f"allowed: {', '.join(names)}")
    for c in ws.shares:
        if c not in names:
            problems.append(f"{field_path('workload', 'shares', c)}: not a corridor of {path}; "
                            f"allowed: {', '.join(names)}")
    if len(problems) > n_before:
        return None
    if ws.corridors is not None or ws.shares:
        data = spec.model_dump(mode="python", exclude={"path"})
        keep = set(ws.corridors or names)
        data["corridors"] = [
            {**c, "share": ws.shares.get(c["name"], c["share"])}
            for c in data["corridors"] if c["name"] in keep]
        if not any(c["share"] > 0 for c in data["corridors"]):
            kept = ", ".join(c["name"] for c in data["corridors"])
            field = "workload.shares" if ws.shares else "workload.corridors"
            problems.append(f"{field}: every corridor kept ({kept}) has share 0, so no "
                            "payment can be drawn; allowed: at least one positive share")
            return None
        try:
            spec = WorkloadSpec.from_dict(data, str(path))
        except WorkloadFileError as exc:
            problems += [f"workload: {p}" for p in exc.problems]
            return None
    if ws.segments is not None:
        segs = set(ws.segments)
        if not any(c.share * sum(c.segments.get(s, 0.0) for s in segs) > 0
                   for c in spec.corridors):
            problems.append(f"workload.segments: no corridor with a positive share carries "
                            f"{', '.join(sorted(segs))}; allowed: a segment one of them carries")
    if net is not None:
        try:
            spec.check_against(net)
        except WorkloadFileError as exc:
            problems += [f"workload: {p}" for p in exc.problems]
            return None
    return spec


def _onchain_spec(sc: Scenario, problems: list[str]) -> Any:
    from sim.onchain.spec import DEFAULT_ONCHAIN_PATH, OnChainSpec, OnChainSpecError

    oc = sc.onchain
    path = sc.resolve(oc.settings, DEFAULT_ONCHAIN_PATH)
    try:
        base = OnChainSpec.load(path)
    except OnChainSpecError as exc:
        problems += [f"onchain.settings: {path}: {p}" for p in exc.problems]
        return None
    data = base.model_dump(mode="python")
    data["chain"] = oc.chain
    data["ledger"] = oc.ledger
    if oc.release is not None:
        data["release"] = oc.release
    if oc.charge_bank_fees is not None:
        data["charge_bank_fees"] = oc.charge_bank_fees
    esc = oc.escrow.model_dump(exclude_none=True)
    data["escrow"].update(esc)
    fx = oc.fx.model_dump(exclude_none=True)
    if "spread_bps" in fx:
        fx["spread_bps"] = {**data["fx"]["spread_bps"], **fx["spread_bps"]}
    data["fx"].update(fx)
    ramps = oc.ramps.model_dump(exclude_none=True)
    per_ccy = ramps.pop("currencies", {})
    for k, v in ramps.items():
        cur = data["ramps"]["default"].get(k)
        data["ramps"]["default"][k] = deep_merge(cur, v) if isinstance(v, dict) and \
            isinstance(cur, dict) else v
        for over in data["ramps"]["currencies"].values():
            if k in over:
                over[k] = v
    for ccy, over in per_ccy.items():
        data["ramps"]["currencies"][ccy] = deep_merge(data["ramps"]["currencies"].get(ccy, {}),
                                                      over)
    try:
        return OnChainSpec.from_dict(data, str(path))
    except OnChainSpecError as exc:
        problems += [f"onchain: {p} (after the scenario's overrides)" for p in exc.problems]
        return None


def _chain(sc: Scenario, problems: list[str]) -> Any:
    from sim.onchain.chains import ChainProfileError, get_chain_profile, load_chain_profiles

    try:
        prof = get_chain_profile(sc.onchain.chain)
    except (ChainProfileError, LookupError, ValueError):
        problems.append(f"onchain.chain: no chain profile {sc.onchain.chain!r}; allowed: "
                        f"{', '.join(load_chain_profiles())}")
        return None
    if sc.onchain.chain_overrides:
        try:
            prof = prof.with_overrides(**sc.onchain.chain_overrides)
        except (ChainProfileError, ValueError) as exc:
            probs = getattr(exc, "problems", [str(exc)])
            problems += [f"onchain.chain_overrides: {p}" for p in probs]
            return None
    if "onchain" in sc.rails and sc.onchain.ledger == "contracts" and (
            prof.block_time_s < 1 or prof.block_time_s != int(prof.block_time_s)):
        problems.append(f"onchain.ledger: the contracts ledger needs whole-second blocks; "
                        f"{prof.name} has {prof.block_time_s} s; allowed: table")
    return prof


def _iso(d: datetime) -> str:
    return d.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _horizon(sc: Scenario, wspec: Any, net: Any, ospec: Any,
             problems: list[str]) -> tuple[datetime, datetime] | None:
    """The creation window ``(start, end)``, after checking the model can simulate it:
    its instants on the model's clocks, and every calendar's holiday data covering it
    (and :data:`~sim.calendar.SETTLE_MARGIN_DAYS` after it, while payments settle)."""
    from sim.calendar import SETTLE_MARGIN_DAYS, clock_problem, holiday_problems

    if wspec is None and (sc.horizon.start is None or sc.horizon.days is None):
        return None
    start = sc.horizon.start or wspec.workload.start
    days = sc.horizon.days if sc.horizon.days is not None else wspec.workload.days
    field = "horizon.start" if sc.horizon.start is not None else \
        "horizon (the workload file's start)"
    try:
        end = start + timedelta(days=days)
        settled = end + timedelta(days=SETTLE_MARGIN_DAYS)
    except OverflowError:
        problems.append(f"{field}: {_iso(start)} + {days} days is past the last date the "
                        "model represents; allowed: a horizon ending before 2261")
        return None
    bad = clock_problem(start, settled)
    if bad:
        problems.append(f"{field}: the horizon (with {SETTLE_MARGIN_DAYS} days to settle) "
                        f"{bad}; allowed: a horizon from 1970 to 2260")
        return None
    places: list[tuple[str | None, str | None, str]] = []
    if net is not None:
        places += [(b.country, b.subdiv, f"bank {b.id}") for b in net.banks.values()]
    if ospec is not None and "onchain" in sc.rails:
        ccys = sorted({c for c in (net.fx.per_base if net is not None else {})}
                      | set(ospec.ramps.currencies))
        for ccy in ccys:
            try:
                ramp = ospec.ramp(ccy)
            except ValueError:
                continue
            places.append((ramp.country, None, f"the {ccy} issuer"))
    gaps = holiday_problems(start, end, places)
    if gaps:
        problems.append(f"{field}: {_iso(start)} + {days:g} days: {'; '.join(gaps)}; allowed: "
                        "a horizon in years the holidays data covers (with "
                        f"{SETTLE_MARGIN_DAYS} days to settle)")
    return start, end


def _ramp_currencies(sc: Scenario, net: Any, problems: list[str]) -> None:
    """Per-currency ramp settings must name a currency of the network."""
    if net is None:
        return
    known = sorted(net.fx.per_base)
    for ccy in sc.onchain.ramps.currencies:
        if ccy not in known:
            where = field_path("onchain", "ramps", "currencies", ccy)
            problems.append(f"{where}: not a currency of the network (its FX rates); "
                            f"allowed: {', '.join(known)}")


def _congestion(sc: Scenario, window: tuple[datetime, datetime] | None,
                problems: list[str]) -> tuple[Any, ...]:
    from sim.calendar import to_timestamp
    from sim.onchain.fee_market import Congestion

    out = []
    for i, ep in enumerate(sc.congestion):
        t0 = to_timestamp(ep.start)
        if window is not None:
            start, end = window
            ends = ep.start + timedelta(hours=ep.hours)
            if ends <= start or ep.start >= end:
                problems.append(f"congestion.{i}.start: the episode {_iso(ep.start)} for "
                                f"{ep.hours:g} h lies outside the horizon {_iso(start)} to "
                                f"{_iso(end)}; allowed: an episode that overlaps the horizon")
                continue
        try:
            out.append(Congestion(t0, t0 + ep.hours * 3600.0, ep.utilisation))
        except ValueError as exc:
            problems.append(f"congestion.{i}: {exc}")
    return tuple(out)




#: ``[terra]`` fields and the Terra settings they set (``None`` keeps the file's)
TERRA_FIELDS = {
    "base_pool_sdr": "market.base_pool_sdr", "recovery_period": "market.recovery_period",
    "min_spread_bps": "market.min_spread_bps", "reserve_btc": "reserve.btc",
    "contagion_rate": "contagion.rate_per_hour", "agents": "run.agents",
    "scale": "run.scale", "step_seconds": "run.step_seconds",
    "recovery_days": "run.recovery_days",
}


def _terra(sc: Scenario, problems: list[str]) -> Any:
    """The Terra settings of the scenario's ``[terra]`` run (the file's, with the
    section's parameters), or ``None`` when it has none."""
    if sc.terra is None:
        return None
    from sim.terra.settings import DEFAULT_TERRA_PATH, TerraSettings, TerraSettingsError

    path = sc.resolve(sc.terra.settings, DEFAULT_TERRA_PATH)
    try:
        base = TerraSettings.load(path)
    except TerraSettingsError as exc:
        problems += [f"terra.settings: {path}: {p}" for p in exc.problems]
        return None
    changes = {dest: getattr(sc.terra, f) for f, dest in TERRA_FIELDS.items()
               if getattr(sc.terra, f) is not None}
    try:
        return base.with_changes(changes, str(path))
    except TerraSettingsError as exc:
        back = {dest: f for f, dest in TERRA_FIELDS.items()}
        for p in exc.problems:
            field, _, msg = p.partition(": ")
            problems.append(f"terra.{back.get(field, field)}: {msg}" if field in back
                            else f"terra: {p}")
        return None
