"""One cocoa cooperative's season paid through correspondent banks or on-chain: its income.

A cooperative in Cote d'Ivoire or Ghana sells its season's cocoa to a European
buyer, who pays each shipment in euros (main crop October-March, mid crop
April-September; forward-sold and spot tonnage; the Living Income Differential on
top). The same payments run through the correspondent rail, the on-chain rail with
FX by the provider's PvP quote, and the on-chain rail with FX through AMM pools
(``onchain.fx.route = "amm"``), on the network and settings of the ``cocoa-defi``
scenario. For each rail it prints the payment costs (all parties', and the part the
cooperative bears), the days the money is in transit, the cooperative's net income
for the season and its change against correspondent banking, and the profit margin
at which that rail's saving would raise the cooperative's profit by 40% (the claim
under test, which has no source). It writes a figure of income against margin per
rail with the +40% line.

The arithmetic, for the instalments credited on every rail (revenue ``R`` their
invoice value at the mid rate):

* the cooperative's payment cost ``C``: invoice value less the value that reaches
  it, both at the mid rate (the fees and spreads deducted on its side);
* the cost of money in transit ``F``: value received x ``financing_rate`` x days in
  transit / 365;
* net income ``pi = m0 R - C - F``, with ``m0 = 1 - farm_gate_share -
  other_costs_share`` the margin before payment costs;
* a rail saving ``S = (C + F)_correspondent - (C + F)_rail`` raises the profit by
  ``S / pi_correspondent``, so by ``u`` (0.40) exactly when the profit margin with
  correspondent banking, ``pi_correspondent / R``, is ``S / (u R)``; removing every
  payment cost (``S = (C + F)_correspondent``) gives ``+u`` at a margin of
  ``(C + F)_correspondent / (u R)``. Below that margin the claim holds; above it,
  it does not.

Parameters (tonnage, crops, prices, farm-gate rule, costs, financing rate) come from
``sim/data/cocoa_season.toml``, each with its source; ``--season FILE`` takes another.

Usage::

    python scripts/farmer_income.py --country CI --payments 24 --out out/farmer_income
    python scripts/farmer_income.py --country GH --payments 24 --ledger contracts
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime, time, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from pathlib import Path
from typing import Annotated, Any, Literal

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pydantic import (  # noqa: E402
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from sim.banking.network import BankNetwork  # noqa: E402
from sim.banking.workload import Payment, Workload, make_payment  # noqa: E402
from sim.calendar import parse_clock  # noqa: E402
from sim.errors import InputError, error_field, error_message, read_toml  # noqa: E402
from sim.money import minor_exponent  # noqa: E402
from sim.results import Results, atomic_write, conservation_violations  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_SEASON = ROOT / "sim" / "data" / "cocoa_season.toml"
SCENARIO = "cocoa-defi"
#: The rails of the study, in the order they are printed.
RAILS: tuple[str, ...] = ("correspondent", "onchain-provider", "onchain-amm")


class SeasonError(InputError):
    """A season file or study argument with problems; one line per problem."""

    def __init__(self, path: str, problems: list[str]) -> None:
        self.path, self.problems = path, problems
        super().__init__("\n".join(f"{path}: {p}" for p in problems))


# ---------------------------------------------------------------------------
# the season's parameters
# ---------------------------------------------------------------------------
def _decimal_text(v: Any) -> Any:
    """A money amount is written as a decimal string (``"2600"``) or a whole number, so
    it stays exact; a float or a boolean is refused."""
    if isinstance(v, bool) or isinstance(v, float):
        raise ValueError(f"give {v!r} as a decimal string, e.g. \"2600\"")
    if isinstance(v, int):
        return Decimal(v)
    if isinstance(v, str):
        try:
            d = Decimal(v)
        except ArithmeticError:
            raise ValueError(f"{v!r} is not a decimal number") from None
        if not d.is_finite():
            raise ValueError(f"{v!r} is not a finite number")
        return d
    return v


Amount = Annotated[Decimal, BeforeValidator(_decimal_text)]


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True, allow_inf_nan=False)


class SeasonSettings(_M):
    """The season as a whole: its year, tonnage, the payments' segment and charges."""

    crop_year: int = Field(ge=1998, le=2098, description="the main crop starts in this year")
    tonnes: Amount = Field(gt=0, le=1_000_000)
    segment: Literal["retail", "sme", "wholesale"] = "sme"
    charge_option: Literal["OUR", "SHA", "BEN"] = "SHA"
    release_time: str = "10:00"
    uplift: float = Field(default=0.40, gt=0, le=10)
    sources: dict[str, str] = Field(default_factory=dict)

    @field_validator("release_time")
    @classmethod
    def _clock(cls, v: str) -> str:
        try:
            parse_clock(v, "a release time")
        except InputError as exc:
            raise ValueError(str(exc)) from None
        if v == "24:00":
            raise ValueError("24:00 is the end of a day; give a time before it")
        return v


class Crop(_M):
    """A crop: its first month, how many months it runs, its share of the tonnage."""

    first_month: int = Field(ge=1, le=12)
    months: int = Field(ge=1, le=12)
    share: float = Field(ge=0, le=1)


class Crops(_M):
    main: Crop
    mid: Crop
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _shares(self) -> Crops:
        total = self.main.share + self.mid.share
        if not math.isclose(total, 1.0, abs_tol=1e-9):
            raise ValueError(f"main.share + mid.share is {total:g}; the two crops carry the "
                             "whole season: give shares that sum to 1")
        if self.main.months + self.mid.months > 12:
            raise ValueError("main.months + mid.months is more than 12; the crops of one "
                             "season cannot overlap")
        return self


class Prices(_M):
    """Price per tonne in USD: forward-sold share, forward and spot prices, the LID."""

    forward_share: float = Field(ge=0, le=1)
    forward_usd_per_t: Amount = Field(ge=0)
    spot_usd_per_t: Amount = Field(ge=0)
    lid_usd_per_t: Amount = Field(ge=0)
    sources: dict[str, str] = Field(default_factory=dict)

    def per_tonne(self) -> Decimal:
        """The season's average export price per tonne (forward and spot, plus the LID)."""
        f = Decimal(str(self.forward_share))
        return f * self.forward_usd_per_t + (1 - f) * self.spot_usd_per_t + self.lid_usd_per_t

    @model_validator(mode="after")
    def _positive(self) -> Prices:
        if self.per_tonne() <= 0:
            raise ValueError("the export price per tonne is 0; give a positive price")
        return self


class Country(_M):
    """One country's banks, farm-gate rule, other costs and financing rate."""

    buyer_bank: str
    cooperative_bank: str
    farm_gate_share: float = Field(ge=0, lt=1)
    price_basis: str = ""
    other_costs_share: float = Field(ge=0, lt=1)
    financing_rate: float = Field(ge=0, le=2)
    sources: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _margin(self) -> Country:
        m = 1 - self.farm_gate_share - self.other_costs_share
        if m <= 0:
            raise ValueError(f"farm_gate_share + other_costs_share is "
                             f"{self.farm_gate_share + self.other_costs_share:g}, leaving no "
                             "margin; give shares that sum to less than 1")
        return self

    @property
    def margin_before_payments(self) -> float:
        """The margin on revenue before payment costs: ``1 - farm_gate - other costs``."""
        return 1 - self.farm_gate_share - self.other_costs_share


class SeasonSpec(_M):
    """A validated season file (see ``sim/data/cocoa_season.toml``)."""

    season: SeasonSettings
    crops: Crops
    prices: Prices
    countries: dict[str, Country] = Field(min_length=1)

    @classmethod
    def load(cls, path: str | Path) -> SeasonSpec:
        """Load and validate a season file; :class:`SeasonError` lists every problem."""
        raw = read_toml(path, lambda p, probs: SeasonError(str(p), probs))
        return cls.from_dict(raw, str(path))

    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], path: str = "<dict>") -> SeasonSpec:
        try:
            return cls.model_validate(dict(raw))
        except ValidationError as exc:
            problems = []
            for e in exc.errors():
                where = error_field(e["loc"], brackets=False) or "(top level)"
                msg = error_message(e)
                if e["type"] == "extra_forbidden":
                    msg = "unknown field; remove it or check its spelling"
                problems.append(f"{where}: {msg}")
            raise SeasonError(path, problems) from None


# ---------------------------------------------------------------------------
# the instalments
# ---------------------------------------------------------------------------
def split_count(n: int, shares: Sequence[float]) -> list[int]:
    """``n`` split by ``shares`` (largest remainder; ties to the earlier entry).

    >>> split_count(24, [0.8, 0.2]), split_count(5, [0.8, 0.2]), split_count(3, [1.0, 0.0])
    ([19, 5], [4, 1], [3, 0])
    """
    total = sum(shares)
    exact = [n * s / total for s in shares]
    out = [math.floor(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - out[i]), i))
    for i in order[: n - sum(out)]:
        out[i] += 1
    return out


def _crop_start(spec: SeasonSpec, crop: Crop) -> date:
    main = spec.crops.main
    year = spec.season.crop_year + (0 if crop.first_month >= main.first_month else 1)
    return date(year, crop.first_month, 1)


def _add_months(d: date, months: int) -> date:
    m = d.month - 1 + months
    return date(d.year + m // 12, m % 12 + 1, 1)


def instalments(spec: SeasonSpec, country: str, n: int, network: BankNetwork
                ) -> list[Payment]:
    """The season's ``n`` export payments from the buyer's bank to the cooperative's.

    Each crop gets payments in proportion to its share of the tonnage, spread evenly
    over its months and released at ``release_time`` (the buyer bank's local time) on
    the buyer bank's next business day; each carries its crop's tonnage divided
    equally, at the season's price per tonne, converted to the buyer's currency at
    the mid rate and rounded to whole units.
    """
    c = spec.countries[country]
    buyer, coop = network.bank(c.buyer_bank), network.bank(c.cooperative_bank)
    crops = [spec.crops.main, spec.crops.mid]
    need = sum(1 for crop in crops if crop.share > 0)
    if n < need:
        raise SeasonError("--payments", [f"{n} payments cannot carry {need} crops; give at "
                                         f"least {need}"])
    counts = split_count(n, [k.share for k in crops])
    for i, crop in enumerate(crops):    # every crop with tonnage gets a payment
        if crop.share > 0 and counts[i] == 0:
            donor = max(range(len(counts)), key=lambda j: counts[j])
            counts[donor] -= 1
            counts[i] += 1
    price = spec.prices.per_tonne()
    rate = network.fx.rate("USD", buyer.currency)
    unit = Decimal(1)
    cal = buyer.calendar
    hh, mm = parse_clock(spec.season.release_time)
    rows: list[tuple[float, Decimal]] = []
    for crop, k in zip(crops, counts, strict=True):
        if k == 0:
            continue
        start = _crop_start(spec, crop)
        days = (_add_months(start, crop.months) - start).days
        tonnes = spec.season.tonnes * Decimal(str(crop.share)) / k
        for j in range(k):
            d = start + timedelta(days=int((j + 0.5) * days / k))
            while not cal.is_business_day(d):
                d += timedelta(days=1)
            at = datetime.combine(d, time(hh, mm), tzinfo=cal.tz).timestamp()
            amount = (tonnes * price * rate).quantize(unit, rounding=ROUND_HALF_EVEN)
            rows.append((at, amount))
    rows.sort(key=lambda r: r[0])
    return [make_payment(i, at, c.buyer_bank, c.cooperative_bank, str(amount), buyer.currency,
                         coop.currency, network=network, segment=spec.season.segment,
                         charge_option=spec.season.charge_option)
            for i, (at, amount) in enumerate(rows)]


# ---------------------------------------------------------------------------
# the arithmetic
# ---------------------------------------------------------------------------
def transit_cost(value: float, rate: float, days: float) -> float:
    """What money in transit costs: ``value x rate x days / 365``.

    >>> round(transit_cost(100_000, 0.30, 3.0), 2)
    246.58
    """
    return value * rate * days / 365.0


def net_income(revenue: float, margin_before: float, payment_cost: float,
               transit: float) -> float:
    """The season's net income: ``margin_before x revenue - payment cost - transit cost``.

    >>> net_income(3_000_000, 0.05, 36_000, 1_000)
    113000.0
    """
    return margin_before * revenue - payment_cost - transit


def margin_for_uplift(saving: float, revenue: float, uplift: float = 0.40) -> float:
    """The profit margin (net income / revenue, with the costs of the rail compared
    against) at which ``saving`` raises the profit by ``uplift``: ``saving / (uplift x
    revenue)``. Below it the rise is larger, above it smaller.

    >>> margin_for_uplift(20_200, 3_000_000)   # a saving of 0.67% of revenue: 1.68%
    0.016833333333333332
    """
    return saving / (uplift * revenue)


def change(income: float, reference: float) -> float:
    """Relative change of ``income`` against ``reference`` (``nan`` when it is not positive).

    >>> round(change(133_200, 113_000), 4)
    0.1788
    """
    return (income - reference) / reference if reference > 0 else math.nan


@dataclass(frozen=True)
class RailSeason:
    """One rail's season for the cooperative (money in USD at the mid rate)."""

    rail: str
    instalments: int
    credited: int
    revenue_usd: float
    fees_all_usd: float
    payment_cost_usd: float
    transit_days_mean: float
    transit_days_max: float
    transit_cost_usd: float
    income_usd: float
    change_vs_correspondent: float
    margin_for_uplift: float
    saving_usd: float
    not_credited: list[str]


def _usd(minor: Any, ccy: str, network: BankNetwork) -> Any:
    return minor / 10 ** minor_exponent(ccy) * float(network.fx.rate(ccy, "USD"))


def season_table(results: Mapping[str, Results], payments: Sequence[Payment],
                 network: BankNetwork, country: Country, uplift: float
                 ) -> tuple[list[RailSeason], Any]:
    """Per rail: the cooperative's costs, days in transit and income, and the
    per-instalment table.

    The correspondent rail's row counts the instalments it credited; every other
    rail's row counts those both it and the correspondent rail credited
    (``compared``), and compares its costs with the correspondent rail's on those
    same instalments. An instalment a rail fails or returns is left out of its row
    (and named in ``not_credited``).
    """
    import pandas as pd

    principal = {p.payment_id: p for p in payments}
    frames = []
    for rail, res in results.items():
        t = res.payments.copy()
        t["rail"] = rail
        frames.append(t)
    tab = pd.concat(frames, ignore_index=True)
    tab["invoice_usd"] = [_usd(principal[i].amount, principal[i].currency_sent, network)
                          for i in tab["payment_id"]]
    tab["received_usd"] = [_usd(a, c, network) for a, c in
                           zip(tab["amount_delivered"], tab["currency_delivered"], strict=True)]
    tab["fees_all_usd"] = [_usd(a, c, network) for a, c in
                           zip(tab["fee_total_sent"], tab["currency_sent"], strict=True)]
    credited = tab["status"] == "credited"
    tab.loc[~credited, "received_usd"] = 0.0
    tab["cooperative_cost_usd"] = tab["invoice_usd"] - tab["received_usd"]
    tab["days_in_transit"] = tab["latency_s"] / 86400.0
    # transit_cost, row by row (a payment not credited has no days and costs nothing)
    tab["transit_cost_usd"] = (tab["received_usd"] * country.financing_rate
                               * tab["days_in_transit"] / 365.0).fillna(0.0)
    ref_ok = set(tab.loc[(tab["rail"] == "correspondent") & credited, "payment_id"])
    tab["compared"] = credited & tab["payment_id"].isin(ref_ok)
    ref = tab[tab["rail"] == "correspondent"].set_index("payment_id")
    out: list[RailSeason] = []
    m0 = country.margin_before_payments
    for rail in results:
        mine = tab["rail"] == rail
        g = tab[mine & tab["compared"]]
        revenue = float(g["invoice_usd"].sum())
        cost = float(g["cooperative_cost_usd"].sum())
        fcost = float(g["transit_cost_usd"].sum())
        income = net_income(revenue, m0, cost, fcost)
        r = ref.loc[list(g["payment_id"])]
        ref_k = float(r["cooperative_cost_usd"].sum() + r["transit_cost_usd"].sum())
        ref_income = net_income(revenue, m0, float(r["cooperative_cost_usd"].sum()),
                                float(r["transit_cost_usd"].sum()))
        saving = ref_k - (cost + fcost)
        lost = tab[mine & (tab["status"] != "credited")]
        out.append(RailSeason(
            rail=rail, instalments=int(mine.sum()), credited=int((mine & credited).sum()),
            revenue_usd=revenue, fees_all_usd=float(g["fees_all_usd"].sum()),
            payment_cost_usd=cost,
            transit_days_mean=float(g["days_in_transit"].mean()) if len(g) else math.nan,
            transit_days_max=float(g["days_in_transit"].max()) if len(g) else math.nan,
            transit_cost_usd=fcost, income_usd=income,
            change_vs_correspondent=change(income, ref_income) if len(g) else math.nan,
            # a rail that saves nothing gives no rise at any margin
            margin_for_uplift=(margin_for_uplift(saving, revenue, uplift)
                               if rail != "correspondent" and revenue > 0 and saving > 0
                               else math.nan),
            saving_usd=saving if len(g) else math.nan,
            not_credited=sorted({str(x) for x in lost["failure_reason"].fillna(lost["status"])})))
    cols = ["rail", "payment_id", "created_at", "status", "failure_reason", "amount_sent",
            "currency_sent", "amount_delivered", "currency_delivered", "invoice_usd",
            "received_usd", "fees_all_usd", "cooperative_cost_usd", "days_in_transit",
            "transit_cost_usd", "compared"]
    return out, tab[cols]


# ---------------------------------------------------------------------------
# running the rails
# ---------------------------------------------------------------------------
def _scenario(name: str, route: str | None, pool_depth_usd: float | None = None) -> Any:
    """The scenario, with its FX route set (``None``: its own) and, given a depth, every
    pool the scenario itself defines (the cocoa pairs) at that depth."""
    from sim.experiments.scenario import load_scenario

    sc = load_scenario(name)
    params: dict[str, Any] = {}
    if route is not None:
        params["onchain.fx.route"] = route
    if pool_depth_usd is not None:
        for pair in sc.onchain.fx.pools:
            params[f"onchain.fx.pools.{pair}.depth_usd"] = pool_depth_usd
    return sc.with_params(params) if params else sc


def run_rails(scenario: str, payments: Sequence[Payment], seed: int, ledger: str,
              rails: Sequence[str] = RAILS, pool_depth_usd: float | None = None
              ) -> tuple[dict[str, Results], BankNetwork]:
    """The same payments through the correspondent rail and the on-chain rail with FX
    by the provider and by AMM pools (those of ``rails``), on the scenario's network and
    settings."""
    from sim.banking import correspondent
    from sim.experiments.components import build_components
    from sim.onchain import rail as onchain

    base = build_components(_scenario(scenario, None))
    wl = Workload(payments)
    out = {"correspondent": correspondent.run(base.network, wl, seed)}
    for rail, route in (("onchain-provider", "provider"), ("onchain-amm", "amm")):
        if rail not in rails:
            continue
        comp = build_components(_scenario(scenario, route,
                                          pool_depth_usd if route == "amm" else None))
        out[rail] = onchain.run(comp.network, wl, seed, spec=comp.onchain_spec,
                                chain=comp.chain, ledger=ledger, congestion=comp.congestion)
    return out, base.network


# ---------------------------------------------------------------------------
# the figure
# ---------------------------------------------------------------------------
def income_figure(rows: Sequence[RailSeason], own_margin: float, uplift: float) -> Any:
    """Net income against the profit margin with correspondent banking, per rail, with
    the +``uplift`` line and the margins where each rail reaches it."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    ref = rows[0]
    revenue = ref.revenue_usd
    k_ref = ref.payment_cost_usd + ref.transit_cost_usd
    marks = [r.margin_for_uplift for r in rows[1:] if math.isfinite(r.margin_for_uplift)]
    top = max([own_margin * 1.5, 0.02, *(2 * m for m in marks),
               2 * k_ref / (uplift * revenue)])
    x = np.linspace(0.0, top, 200)
    fig, ax = plt.subplots(figsize=(7.5, 4.6))
    colours = {"correspondent": "#1f4e79", "onchain-provider": "#c0392b",
               "onchain-amm": "#e67e22"}
    for r in rows:
        if not r.revenue_usd > 0:            # nothing it credited to compare
            continue
        # the rail's saving as a share of the revenue it carried, on the season's revenue
        saving = r.saving_usd / r.revenue_usd * revenue
        ax.plot(100 * x, (x * revenue + saving) / 1e3, color=colours.get(r.rail, "grey"),
                label=r.rail if r.credited == r.instalments else
                f"{r.rail} ({r.credited} of {r.instalments} credited)")
        if r.rail != "correspondent" and math.isfinite(r.margin_for_uplift):
            m = r.margin_for_uplift
            ax.plot([100 * m], [(1 + uplift) * m * revenue / 1e3], "o",
                    color=colours.get(r.rail, "grey"))
    ax.plot(100 * x, (x * revenue + k_ref) / 1e3, ":", color="grey",
            label="no payment costs at all")
    ax.plot(100 * x, (1 + uplift) * x * revenue / 1e3, "--", color="black",
            label=f"+{uplift:.0%} on correspondent banking")
    ax.axvline(100 * own_margin, color="grey", lw=0.8)
    ax.annotate("the cooperative's margin", (100 * own_margin, 0), rotation=90,
                xytext=(3, 6), textcoords="offset points", fontsize=8, color="grey")
    ax.set_xlabel("profit margin with correspondent banking (% of export revenue)")
    ax.set_ylabel("net income for the season (USD thousand)")
    ax.set_title("Cocoa cooperative: season income by payment rail")
    ax.set_xlim(0, 100 * top)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


# ---------------------------------------------------------------------------
# command line
# ---------------------------------------------------------------------------
def _money(v: float) -> str:
    return "-" if not math.isfinite(v) else f"{v:,.0f}"


def _pct(v: float, signed: bool = False) -> str:
    if not math.isfinite(v):
        return "-"
    return f"{100 * v:+.2f}%" if signed else f"{100 * v:.2f}%"


def study(spec: SeasonSpec, country: str, payments: int, seed: int, ledger: str,
          scenario: str = SCENARIO, rails: Sequence[str] = RAILS,
          pool_depth_usd: float | None = None) -> dict[str, Any]:
    """Run the season on ``rails`` (the correspondent rail first, the reference); the
    rows, the per-instalment table, the network, the payments and the country."""
    unknown = [r for r in rails if r not in RAILS]
    if unknown or "correspondent" not in rails or len(set(rails)) != len(rails):
        raise SeasonError("--rails", [f"{', '.join(rails) or '(none)'}: give each of "
                                      f"{', '.join(RAILS)} at most once, correspondent (the "
                                      "reference) among them"])
    rails = [r for r in RAILS if r in rails]
    from sim.experiments.components import build_components

    net = build_components(_scenario(scenario, None)).network
    pays = instalments(spec, country, payments, net)
    results, net = run_rails(scenario, pays, seed, ledger, rails, pool_depth_usd)
    for rail, res in results.items():
        bad = conservation_violations(res.payments)
        if len(bad):
            raise RuntimeError(f"{rail}: {len(bad)} payments break conservation of money")
    c = spec.countries[country]
    rows, table = season_table(results, pays, net, c, spec.season.uplift)
    return {"rows": rows, "table": table, "network": net, "payments": pays,
            "country": c}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--country", choices=("CI", "GH"), default="CI")
    ap.add_argument("--payments", type=int, default=12,
                    help="export payments over the season (split between the crops)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--ledger", choices=("contracts", "table"), default="table")
    ap.add_argument("--season", default=str(DEFAULT_SEASON), metavar="FILE",
                    help="season parameters (default: sim/data/cocoa_season.toml)")
    ap.add_argument("--scenario", default=SCENARIO, metavar="NAME|FILE",
                    help="network and rail settings (default: cocoa-defi)")
    ap.add_argument("--rails", default=",".join(RAILS),
                    help=f"comma-separated rails to run (default: {','.join(RAILS)})")
    ap.add_argument("--pool-depth", type=float, default=None, metavar="USD",
                    help="depth (USD a side) of the scenario's own AMM pools for the "
                         "onchain-amm rail (default: the scenario's; a modelling choice to "
                         "sweep, 0.5-50 M)")
    ap.add_argument("--out", default="out/farmer_income")
    args = ap.parse_args(argv)
    if args.payments < 1:
        print("farmer_income: --payments must be at least 1", file=sys.stderr)
        return 2
    if args.seed < 0:
        print("farmer_income: --seed must be a whole number >= 0", file=sys.stderr)
        return 2
    try:
        spec = SeasonSpec.load(args.season)
        if args.country not in spec.countries:
            raise SeasonError(args.season, [f"countries.{args.country}: missing; add the "
                                            f"country's table (has: "
                                            f"{', '.join(sorted(spec.countries))})"])
        rails = [r.strip() for r in args.rails.split(",") if r.strip()]
        res = study(spec, args.country, args.payments, args.seed, args.ledger, args.scenario,
                    rails, args.pool_depth)
    except (InputError, OSError) as exc:   # a refusal of the input; any other error is a fault
        for line in str(exc).splitlines():
            print(f"farmer_income: {line}", file=sys.stderr)
        return 2
    rows: list[RailSeason] = res["rows"]
    if not rows[0].revenue_usd > 0:
        print("farmer_income: the correspondent rail credited no instalment, so there is "
              "nothing to compare against", file=sys.stderr)
        return 1
    c: Country = res["country"]
    net: BankNetwork = res["network"]
    s = spec.season
    ref = rows[0]
    revenue = ref.revenue_usd
    k_ref = ref.payment_cost_usd + ref.transit_cost_usd
    own = ref.income_usd / revenue if revenue > 0 else math.nan
    coop = net.bank(c.cooperative_bank)
    buyer = net.bank(c.buyer_bank)
    price = spec.prices.per_tonne()
    print(f"cooperative in {args.country} ({coop.id}, {coop.city}), paid by a buyer banking "
          f"with {buyer.id} ({buyer.city}): {s.tonnes} t in {len(res['payments'])} payments, "
          f"{s.crop_year}/{(s.crop_year + 1) % 100:02d} season, seed {args.seed}, "
          f"{args.ledger} ledger")
    print(f"price USD {price:.0f}/t ({spec.prices.forward_share:.0%} forward at "
          f"{spec.prices.forward_usd_per_t}, spot {spec.prices.spot_usd_per_t}, LID "
          f"{spec.prices.lid_usd_per_t}); farm-gate {c.farm_gate_share:.0%} of "
          f"{c.price_basis or 'the export price'}, other costs {c.other_costs_share:.0%}: "
          f"margin before payment costs {c.margin_before_payments:.2%}; money in transit "
          f"costs {c.financing_rate:.2%} a year")
    print(f"export revenue USD {_money(revenue)} over the {ref.credited} of "
          f"{ref.instalments} instalments the correspondent rail credited (each other rail "
          "is compared on those it credited too); farm-gate payments USD "
          f"{_money(c.farm_gate_share * revenue)}")
    head = (f"{'rail':18}{'credited':>9}{'fees, all':>12}{'cooperative':>13}{'cost':>8}"
            f"{'days in transit':>17}{'transit':>9}{'net income':>12}{'vs corr.':>10}"
            f"{'margin +40%':>13}")
    print(head)
    print(f"{'':18}{'':>9}{'USD':>12}{'bears, USD':>13}{'%':>8}{'mean / max':>17}"
          f"{'USD':>9}{'USD':>12}{'':>10}{'below':>13}")
    for r in rows:
        days = (f"{r.transit_days_mean:.2f} / {r.transit_days_max:.2f}"
                if r.revenue_usd > 0 else "-")
        never = r.rail != "correspondent" and not math.isfinite(r.margin_for_uplift)
        needs = "never" if never else _pct(r.margin_for_uplift)
        print(f"{r.rail:18}{r.credited:>5}/{r.instalments:<3}{_money(r.fees_all_usd):>12}"
              f"{_money(r.payment_cost_usd):>13}"
              f"{_pct(r.payment_cost_usd / r.revenue_usd if r.revenue_usd else math.nan):>8}"
              f"{days:>17}"
              f"{_money(r.transit_cost_usd):>9}{_money(r.income_usd):>12}"
              f"{_pct(r.change_vs_correspondent, True):>10}"
              f"{needs:>13}")
    for r in rows:
        if r.not_credited:
            print(f"{r.rail}: {r.instalments - r.credited} instalment(s) not credited: "
                  f"{'; '.join(r.not_credited)}")
    full = margin_for_uplift(k_ref, revenue, s.uplift) if revenue > 0 else math.nan
    print(f"the cooperative's profit margin with correspondent banking: {_pct(own)}; removing "
          f"every payment cost and day in transit would raise its profit by "
          f"{_pct(k_ref / ref.income_usd if ref.income_usd > 0 else math.nan)} "
          f"(+{s.uplift:.0%} at a margin of {_pct(full)} or below)")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    table = res["table"]
    def write_csv(t: Path) -> None:
        table.to_csv(t, index=False)

    atomic_write(out / "season.csv", write_csv)
    doc = {"country": args.country, "seed": args.seed, "ledger": args.ledger,
           "season": json.loads(spec.model_dump_json()), "rails": [asdict(r) for r in rows],
           "profit_margin_correspondent": own, "margin_for_uplift_no_costs": full}
    text = json.dumps(doc, indent=2, default=str, allow_nan=True) + "\n"
    def write_json(t: Path) -> None:
        t.write_text(text, encoding="utf-8")

    atomic_write(out / "farmer_income.json", write_json)
    fig = income_figure(rows, own, s.uplift)
    atomic_write(out / "income_vs_margin.png", lambda t: fig.savefig(t, format="png", dpi=120))
    print(f"wrote season.csv, farmer_income.json, income_vs_margin.png to {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
