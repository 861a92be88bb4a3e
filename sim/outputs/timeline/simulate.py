"""Sending one payment down both rails for a timeline (:func:`simulate`).

Picks banks for a corridor (or takes the user's), builds the payment at a local
time of the sender's bank, runs it on the correspondent and on-chain rails of a
scenario's settings, and returns the :class:`~sim.outputs.timeline.model.Timeline`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:

    from sim.banking.network import BankNetwork
    from sim.banking.workload import WorkloadSpec
    from sim.onchain.spec import OnChainSpec

from sim.outputs.timeline.model import (
    RAIL_ORDER,
    Timeline,
    TimelineError,
    _zone,
    from_results,
    mark_events,
)


# ---------------------------------------------------------------------------
# building a payment and running it
# ---------------------------------------------------------------------------
def parse_local_time(text: str, tz: str) -> datetime:
    """``'2026-11-27 16:30'`` in zone ``tz`` (an explicit offset in ``text`` wins).

    >>> parse_local_time("2025-11-21 16:30", "America/New_York").isoformat()
    '2025-11-21T16:30:00-05:00'
    """
    zone = _zone(tz)
    try:
        d = datetime.fromisoformat(text.strip())
        d = d if d.tzinfo is not None else d.replace(tzinfo=zone)
        d.astimezone(UTC)          # far ends of the calendar cannot be placed in UTC
    except (ValueError, OverflowError):
        raise TimelineError(f"bad date/time {text!r}; write it as 'YYYY-MM-DD HH:MM', "
                            "e.g. '2026-11-27 16:30'") from None
    return d


def _check_instant(at: datetime | float, network: BankNetwork, spec: OnChainSpec,
                   rails: Sequence[str]) -> float:
    """POSIX seconds of ``at``, after checking the model can simulate a payment sent
    then: on its clocks, and in years every calendar's holiday data covers."""
    from sim.calendar import (
        SETTLE_MARGIN_DAYS,
        clock_problem,
        holiday_problems,
        to_timestamp,
    )

    if isinstance(at, bool) or not isinstance(at, datetime | int | float):
        raise TimelineError(f"at must be an aware datetime or POSIX seconds, not {at!r}")
    try:
        when = at if isinstance(at, datetime) else datetime.fromtimestamp(float(at), tz=UTC)
        t = to_timestamp(when)
        settled = when + timedelta(days=SETTLE_MARGIN_DAYS)
    except (ValueError, OverflowError, OSError):
        raise TimelineError(f"{at!r} is not an instant the model can represent; give a "
                            "date from 1970 to 2260") from None
    iso = when.isoformat()
    bad = clock_problem(when, settled)
    if bad:
        raise TimelineError(f"--at {iso}: a payment sent then (with {SETTLE_MARGIN_DAYS} days "
                            f"to settle) {bad}")
    places: list[tuple[str | None, str | None, str]] = [
        (b.country, b.subdiv, f"bank {b.id}") for b in network.banks.values()]
    if "onchain" in rails:
        for ccy in sorted(network.fx.per_base):
            try:
                places.append((spec.ramp(ccy).country, None, f"the {ccy} issuer"))
            except ValueError:
                continue
    gaps = holiday_problems(when, when, places)
    if gaps:
        raise TimelineError(f"--at {iso}: {'; '.join(gaps)}; give a date the holidays data "
                            "covers")
    return t


def _top(weights: Mapping[str, float]) -> str:
    """Heaviest weight, ties to the first listed (deterministic)."""
    best = max(weights.values())
    return next(k for k, w in weights.items() if w == best)


def choose_banks(corridor: str | None, network: BankNetwork,
                 workload_spec: WorkloadSpec | None = None, *, sender: str | None = None,
                 beneficiary: str | None = None) -> tuple[str, str, str | None]:
    """``(sender, beneficiary, currency_delivered or None)`` for a corridor like ``US-MX``.

    The corridor's most-weighted sender and beneficiary banks in the workload
    spec (ties to the first listed); for a corridor the spec lacks, the first
    bank of each country in the network. ``sender``/``beneficiary`` override.

    >>> from sim.banking.network import BankNetwork
    >>> choose_banks("US-MX", BankNetwork.default())
    ('RBUSUS66', 'PLMXMXMM', 'MXN')
    """
    if workload_spec is None:
        from sim.banking.workload import WorkloadSpec

        workload_spec = WorkloadSpec.default()
    for what, v in (("corridor", corridor), ("sender", sender), ("beneficiary", beneficiary)):
        if v is not None and not isinstance(v, str):
            raise TimelineError(f"{what} must be text (e.g. 'US-MX', a bank id), not {v!r}")
    for bid in (sender, beneficiary):
        if bid is not None and bid not in network.banks:
            raise TimelineError(f"unknown bank {bid!r}; banks of the network: "
                                f"{', '.join(sorted(network.banks))}")
    if corridor is None:
        if sender is None or beneficiary is None:
            raise TimelineError("give --corridor (e.g. US-MX) or both --sender and "
                                "--beneficiary")
        corridor = f"{network.banks[sender].country}-{network.banks[beneficiary].country}"
    corridor = corridor.strip().upper()
    parts = corridor.split("-")
    if len(parts) != 2 or not all(len(p) == 2 and p.isalpha() for p in parts):
        raise TimelineError(f"corridor {corridor!r}: write it as two country codes, e.g. US-MX")
    sc, rc = parts
    spec_c = next((c for c in workload_spec.corridors if c.name == corridor), None)
    known = ", ".join(c.name for c in workload_spec.corridors)
    if spec_c is not None:
        s = sender or _top(spec_c.senders)
        b = beneficiary or _top(spec_c.beneficiaries)
        ccy: str | None = spec_c.currency_delivered
    else:
        ss, bs = network.banks_in(sc), network.banks_in(rc)
        if (sender is None and not ss) or (beneficiary is None and not bs):
            raise TimelineError(f"unknown corridor {corridor!r}: no bank in "
                                f"{sc if not ss else rc}; corridors: {known}")
        s = sender or ss[0].id
        b = beneficiary or bs[0].id
        ccy = None
    for bid, country, role in ((s, sc, "sender"), (b, rc, "beneficiary")):
        if network.banks[bid].country != country:
            raise TimelineError(f"{role} bank {bid} is in {network.banks[bid].country}, "
                                f"not {country} (corridor {corridor})")
    return s, b, ccy


def _segment(amount: Decimal, currency: str, network: BankNetwork,
             workload_spec: WorkloadSpec) -> str:
    try:
        usd = float(amount) * float(network.fx.rate(currency, "USD"))
    except Exception:  # noqa: BLE001 - no rate: treat as retail
        return "retail"
    segs = workload_spec.segments
    if usd <= float(segs["retail"].max_usd):
        return "retail"
    if usd < float(segs["wholesale"].min_usd):
        return "sme"
    return "wholesale"


def simulate(corridor: str | None, at: datetime | float, *, amount: str | Decimal = "1000",
             currency: str | None = None, sender: str | None = None,
             beneficiary: str | None = None, seed: int = 1, segment: str | None = None,
             charge_option: str = "SHA", network: BankNetwork | None = None,
             spec: OnChainSpec | None = None, workload_spec: WorkloadSpec | None = None,
             chain: Any = None, congestion: Sequence[Any] = (),
             rails: Sequence[str] = RAIL_ORDER, policy: str = "fewest_hops",
             via: str | None = None, payment_id: str = "P0000000",
             events: Any = None) -> Timeline:
    """Send one payment down both rails and return its :class:`Timeline`.

    ``at`` is an aware datetime (or POSIX seconds) from 1970 on, in years the
    ``holidays`` data of every bank and ramp covers; ``amount`` is in major units
    of ``currency`` (default: the sender bank's home currency); the segment
    follows from the amount unless given. The on-chain rail uses the measured
    gas table (``ledger="table"``); ``chain`` is a profile or its name (default:
    the spec's). ``network``, ``spec``, ``workload_spec``, ``congestion``,
    ``policy`` and ``via`` default to the shipped settings (a scenario's, see
    :func:`scenario_settings`). ``events`` (an :class:`~sim.events.EventSchedule`, a
    scenario's) strike both rails as in a run, and the timeline marks the steps they
    delay (:func:`~sim.outputs.timeline.model.mark_events`).

    >>> tl = simulate("US-MX", 1763760600.0, amount="250")
    >>> tl.corridor, tl.amount_sent, [len(r.steps) > 3 for r in tl.rails]
    ('US-MX', 25000, [True, True])
    """
    from sim.banking import correspondent
    from sim.banking.network import BankNetwork
    from sim.banking.workload import Workload, WorkloadSpec, make_payment
    from sim.onchain import rail as onchain
    from sim.onchain.spec import OnChainSpec
    from sim.results import Results

    network = network or BankNetwork.default()
    spec = spec or OnChainSpec.default()
    workload_spec = workload_spec or WorkloadSpec.default()
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise TimelineError(f"seed must be a whole number >= 0, not {seed!r}")
    at = _check_instant(at, network, spec, rails)
    s, b, ccy_d = choose_banks(corridor, network, workload_spec, sender=sender,
                               beneficiary=beneficiary)
    ccy_s = (currency or network.banks[s].currency).upper()
    ccy_d = ccy_d or network.banks[b].currency
    try:
        amt = Decimal(str(amount))
    except ArithmeticError:
        raise TimelineError(f"bad amount {amount!r}; give a number such as 1000") from None
    if not amt.is_finite() or amt <= 0:
        raise TimelineError(f"amount must be positive, not {amount!r}")
    seg = segment or _segment(amt, ccy_s, network, workload_spec)
    p = make_payment(0, at, s, b, amt, ccy_s, ccy_d, network=network, segment=seg,
                     charge_option=charge_option, payment_id=payment_id)
    wl = Workload([p], seed=seed)
    parts = []
    if "correspondent" in rails:
        parts.append(correspondent.run(network, wl, seed=seed, policy=policy, via=via,
                                       events=events))
    if "onchain" in rails:
        parts.append(onchain.run(network, wl, seed=seed, spec=spec, chain=chain,
                                 ledger="table", congestion=tuple(congestion), events=events))
    if not parts:
        raise TimelineError(f"no rail to run among {list(rails)}; use correspondent, onchain")
    name = chain if isinstance(chain, str) else getattr(chain, "name", None)
    tl = from_results(Results.concat(parts), p.payment_id, network=network, spec=spec,
                      chain=(name or spec.chain) if "onchain" in rails else "")
    return mark_events(replace(tl, amount_sent=p.amount), events)


def scenario_settings(name_or_path: str) -> dict[str, Any]:
    """Keyword arguments of :func:`simulate` for a scenario (file or shipped name):
    its network, on-chain settings, workload corridors, chain profile, gas spikes,
    events, routing, rails and seed.

    >>> sorted(scenario_settings("baseline"))[:4]
    ['chain', 'congestion', 'events', 'network']
    """
    from sim.experiments.components import build_components
    from sim.experiments.scenario import load_scenario

    sc = load_scenario(name_or_path)
    comp = build_components(sc)
    return {"network": comp.network, "spec": comp.onchain_spec,
            "workload_spec": comp.workload_spec, "chain": comp.chain,
            "congestion": comp.congestion, "events": comp.events or None,
            "policy": sc.correspondent.policy,
            "via": sc.correspondent.via, "rails": tuple(sc.rails), "seed": sc.seed}
