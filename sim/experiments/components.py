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
    events: Any = None      # EventSchedule (every event, congestion episodes included)
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
                  if k in ("network", "workload", "onchain", "congestion", "events",
                           "horizon", "correspondent", "terra", "path", "rails")})
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
    if ospec is not None and net is not None:
        problems += [f"onchain.{p}" for p in ospec.fx.check_pools(net.fx.per_base)]
    chain = _chain(sc, problems)
    window = _horizon(sc, wspec, net, ospec, problems)
    cong = _congestion(sc, window, problems)
    events, cong_events = _events(sc, net, chain, window, problems)
    cong = cong + cong_events
    terra = _terra(sc, problems)
    if sc.correspondent.via is not None and net is not None \
            and sc.correspondent.via not in net.banks:
        problems.append(f"correspondent.via: no bank {sc.correspondent.via!r} in the network; "
                        "allowed: a bank id of the network")
    if problems:
        raise ScenarioError(sc.path, problems)
    comp = Components(net, wspec, ospec, chain, cong, sc.horizon.start, sc.horizon.days,
                      events, terra)
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
    # pools and arbitrage merge into the file's, pool by pool
    for pair, over in fx.pop("pools", {}).items():
        data["fx"]["pools"][pair] = deep_merge(data["fx"]["pools"].get(pair, {}), over)
    data["fx"]["arbitrage"] = deep_merge(data["fx"]["arbitrage"], fx.pop("arbitrage", {}))
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
        # the issuers of the network's currencies: a ramp the settings file defines for
        # a currency the network does not have serves no payment, so its calendar
        # cannot hold one up
        ccys = sorted(net.fx.per_base) if net is not None else sorted(ospec.ramps.currencies)
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




def _events(sc: Scenario, net: Any, chain: Any, window: tuple[datetime, datetime] | None,
            problems: list[str]) -> tuple[Any, tuple[Any, ...]]:
    """The scenario's events (``[[events]]``, with the ``[[congestion]]`` short forms)
    as an :class:`~sim.events.EventSchedule`, and the congestion episodes among them
    for the fee market; every problem named by its index and field."""
    import math

    from sim.calendar import to_timestamp
    from sim.events import EVENT_FIELDS, Event, EventSchedule, policies_table
    from sim.onchain.fee_market import Congestion

    out: list[Any] = []
    episodes: list[Any] = []
    banks = sorted(net.banks) if net is not None else None
    ccys = sorted(net.fx.per_base) if net is not None else None
    n0 = len(problems)
    for i, ev in enumerate(sc.events):
        here = f"events.{i}"
        req, opt = EVENT_FIELDS[ev.kind]
        given = {k for k, v in ev.model_dump(exclude={"kind", "source"}).items()
                 if v is not None}
        bad = False
        for f in req:
            if f not in given:
                problems.append(f"{here}.{f}: required for a {ev.kind} event; add it")
                bad = True
        for f in sorted(given - set(req) - set(opt)):
            problems.append(f"{here}.{f}: not a field of a {ev.kind} event; allowed: "
                            f"{', '.join([*req, *opt, 'source'])}")
            bad = True
        if bad:
            continue
        begin = ev.at if ev.kind == "sanction" else ev.start
        assert begin is not None
        when = "at" if ev.kind == "sanction" else "start"
        if window is not None:
            w0, w1 = window
            if not (w0 <= begin <= w1):
                problems.append(f"{here}.{when}: {_iso(begin)} is outside the horizon "
                                f"{_iso(w0)} to {_iso(w1)}; allowed: an instant in it")
                continue
        t0 = to_timestamp(begin)
        t1 = t0 + ev.hours * 3600.0 if ev.hours is not None else math.inf
        target = ""
        extra: dict[str, Any] = {}
        if ev.kind in ("bank_outage", "sanction") and ev.bank is not None:
            if banks is not None and ev.bank not in banks:
                problems.append(f"{here}.bank: no bank {ev.bank!r} in the network; allowed: a "
                                "bank id of the network")
                continue
            target = ev.bank
        if ev.kind == "sanction":
            if (ev.bank is None) == (ev.account is None):
                problems.append(f"{here}: a sanction names either a bank or an on-chain "
                                "account; allowed: bank = \"<id>\" or account = \"bank:<id>\"")
                continue
            if ev.account is not None:
                acc = ev.account
                # a bank's on-chain account (the rail's other accounts, the provider's and
                # the issuers', are not sanctioned in this model)
                ok = acc.startswith("bank:") and (banks is None or acc[5:] in banks)
                if not ok:
                    problems.append(f"{here}.account: {acc!r} is not a bank's on-chain "
                                    "account; allowed: \"bank:<id>\" of a bank of the "
                                    "network")
                    continue
                target = acc
                extra["on_chain_only"] = True
        if ev.kind == "sanction" and sc.onchain.fx.route == "amm":
            problems.append(f"{here}: a sanction on the AMM route is not modelled (the pool "
                            "swap-and-lock's blacklist refusals are not in the gas table); "
                            "allowed: onchain.fx.route = \"provider\" with sanctions")
            continue
        if ev.kind == "bank_outage" and ev.return_after_hours is not None:
            extra["return_after_s"] = ev.return_after_hours * 3600.0
        if ev.kind in ("chain_halt", "congestion"):
            name = ev.chain if ev.chain is not None else sc.onchain.chain
            if chain is not None and name != chain.name:
                from sim.onchain.chains import load_chain_profiles

                known = name in load_chain_profiles()
                why = (f"not the scenario's chain {chain.name!r}" if known
                       else "no such chain profile")
                problems.append(f"{here}.chain: {name!r}: {why}; allowed: "
                                f"{chain.name!r} (onchain.chain)")
                continue
            target = name
        if ev.kind == "congestion":
            assert ev.utilisation is not None
            extra["utilisation"] = ev.utilisation
        if ev.kind == "issuer_freeze":
            assert ev.currency is not None
            if ccys is not None and ev.currency not in ccys:
                problems.append(f"{here}.currency: {ev.currency!r} is not a currency of the "
                                f"network; allowed: {', '.join(ccys)}")
                continue
            target = ev.currency
            pts = ev.price_path or []
            last = None
            for j, pt in enumerate(pts):
                tp = to_timestamp(pt.at)
                if not (t0 <= tp <= t1):
                    problems.append(f"{here}.price_path.{j}.at: {_iso(pt.at)} is outside the "
                                    "freeze; allowed: an instant from its start to its end")
                    bad = True
                elif last is not None and tp <= last:
                    problems.append(f"{here}.price_path.{j}.at: not after the point before "
                                    "it; allowed: points in time order")
                    bad = True
                last = tp
            for b in sorted(ev.policies or {}):
                if banks is not None and b not in banks:
                    problems.append(f"{field_path('events', i, 'policies', b)}: no such bank in "
                                    "the network; allowed: a bank id of the network")
                    bad = True
            if bad:
                continue
            extra["price_path"] = tuple((to_timestamp(p.at), p.price) for p in pts)
            extra["policy"] = ev.policy or "wait"
            extra["policies"] = policies_table(ev.policies or {})
        out.append(Event(i, ev.kind, t0, t1, target, ev.source or "", **extra))
    base = len(sc.events)
    for j, ep in enumerate(sc.congestion):
        t0 = to_timestamp(ep.start)
        out.append(Event(base + j, "congestion", t0, t0 + ep.hours * 3600.0, sc.onchain.chain,
                         "", utilisation=ep.utilisation,
                         label=f"congestion {j} ({sc.onchain.chain}, {_iso(ep.start)}, "
                               f"{ep.hours:g} h at {ep.utilisation:.0%})"))
    if len(problems) > n0:
        return EventSchedule(()), ()
    # one kind on one target twice at once means nothing (a bank cannot be down twice)
    seen: dict[tuple[str, str], list[Any]] = {}
    for e in out:
        if e.kind == "congestion":
            continue
        for other in seen.get((e.kind, e.target), []):
            if e.start < other.end and other.start < e.end:
                what = f" on {e.target}" if e.target else ""
                problems.append(f"events.{e.index}: overlaps events.{other.index}, another "
                                f"{e.kind}{what}; allowed: events of one kind on one target "
                                "that do not overlap (merge them into one)")
        seen.setdefault((e.kind, e.target), []).append(e)
    for e in out:
        if e.kind == "congestion" and e.index < base:
            try:
                episodes.append(Congestion(e.start, e.end, e.utilisation))
            except ValueError as exc:
                problems.append(f"events.{e.index}: {exc}")
    if len(problems) > n0:
        return EventSchedule(()), ()
    return EventSchedule(out), tuple(episodes)


#: ``[terra]`` fields and the Terra settings they set (``None`` keeps the file's)
TERRA_FIELDS = {
    "base_pool_sdr": "market.base_pool_sdr", "recovery_period": "market.recovery_period",
    "min_spread_bps": "market.min_spread_bps", "reserve_btc": "reserve.btc",
    "contagion_rate": "contagion.rate_per_hour", "agents": "run.agents",
    "scale": "run.scale", "step_seconds": "run.step_seconds",
    "recovery_days": "run.recovery_days", "days": "run.days",
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
