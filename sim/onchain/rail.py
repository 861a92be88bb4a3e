"""The on-chain rail: the same payments through ramps, PvP FX, escrow and finality.

Each payment of a :class:`~sim.banking.workload.Workload`, on-chain:

1. **Screening** at the ordering bank, as on the correspondent rail (the bank's
   own screening and manual-review share, in its business hours).
2. **On-ramp**: fiat reaches the sent currency's stablecoin issuer by domestic
   wire (banking hours, cut-off: same business day before it, next after it),
   by an instant rail (24/7) or from a pre-funded float; the issuer holds a share
   of payments for compliance review (business hours). The issuer then mints
   the stablecoin to the ordering bank's on-chain account (a transaction).
3. **FX** by payment-versus-payment swap with a liquidity provider quoting a
   spread per segment from a finite inventory per currency; when it runs out
   the payment fails, or waits in line for the provider's replenishments (wires
   to the issuer, so in banking hours), as configured: each top-up serves the
   waiting payments in the order they came, each it covers. Two transactions: the
   bank funds its leg, the provider funds the other and both settle atomically.
4. **Escrow lock** of the delivered-currency stablecoin for the beneficiary
   bank, releasable on its attestation (or with a hashlock preimage), with a
   deadline (a transaction).
5. **Release** after the beneficiary bank's compliance review (the same
   parameters as on the correspondent rail: a share held for manual review in
   its business hours, a share rejected). A release after the deadline reverts
   (``LockExpired``) and the ordering bank refunds the lock: the payment is
   returned. The contract, not Python, decides that in the contracts ledger.
6. **Finality**: the beneficiary bank waits for the chain profile's finality.
7. **Off-ramp**: the beneficiary bank redeems the stablecoin with its issuer
   (transfer + burn) and is paid fiat by wire in banking hours, by an instant
   rail, or pays out of a pre-funded float at once; then it credits its
   customer as it does any incoming payment (its own crediting parameters).
   From a float, the redemption follows the credit (it restores the float).

Steps follow each other in time (none overlaps the one before it in ``seq``)
and every fee is the cost of a step, in the sent currency: the ordering bank's
fee on its screening, the spread on the PvP quote (written last, when the
accounts' exact remainder is known, at its own ``seq``), the gas on each
transaction's mempool step, the escrow fee on an ``escrow`` step at the release
(``docs/architecture.md``, "Steps and fees").

Why FX comes before the lock: the escrow must hold the currency it delivers,
so the bank converts first and the lock is a single-currency conditional
payment to the beneficiary bank.

Every transaction waits in the mempool for a block of the chain profile
(block time, gas limit, EIP-1559 base fee driven by background demand and
congestion episodes, see :mod:`sim.onchain.fee_market`) and pays gas x (base fee + tip) at
the native token's price. Fees (minor units of the sent currency): the banks'
own fees (``charge_bank_fees``), ``onramp``, ``gas``, ``fx_spread`` (the
provider's spread and rounding residues), ``escrow``, ``offramp``. Gas cannot
be deducted from a transfer in flight, so it is billed to the ordering
customer under every charge option; OUR bills every other fee to the sender
too (the escrow amount is grossed up), SHA deducts the receiving side's fees,
BEN deducts all.

Two ledgers (:mod:`sim.onchain.ledger`): ``contracts`` runs every transaction on the
real contracts on the embedded chain, blocks mined at their simulated instants;
``table`` takes each transaction's gas from the measured gas table. Both give
the same gas, latency and status for every payment.

Example
-------
>>> from sim.banking.network import BankNetwork
>>> from sim.banking.workload import Workload
>>> net = BankNetwork.default()
>>> wl = Workload.generate(seed=1, n_payments=10, network=net)
>>> r = run(net, wl, seed=1, ledger="table")
>>> len(r.payments), set(r.payments.rail)
(10, {'onchain'})
"""

from __future__ import annotations

import contextlib
import hashlib
import math
import time
from collections import defaultdict
from collections.abc import Callable, Generator, Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Decimal
from typing import Any, cast

import numpy as np
import simpy
from simpy.events import Event, Timeout

from sim.balances import BalanceRecorder, load_rates, usd_factors
from sim.banking.network import Bank, BankNetwork, country_calendars, fee_function
from sim.banking.workload import Payment, Workload, arrivals
from sim.draws import PaymentDraws
from sim.errors import InputError, whole_number
from sim.events import Event as EventOf
from sim.events import EventSchedule
from sim.money import (
    convert,
    format_minor,
    minor_exponent,
    percent_of,
)
from sim.onchain.arbitrage import AmmMarket, SwapOrder
from sim.onchain.chains import ChainProfile, get_chain_profile
from sim.onchain.fee_market import Congestion, FeeMarket
from sim.onchain.ledger import (
    STANDING_TOKENS,
    TOKEN_DECIMALS,
    UINT256_MAX,
    ZERO32,
    ZERO_ADDRESS,
    ContractLedger,
    GasTableLedger,
    Ledger,
    TxOp,
    TxResult,
    keccak256,
    measure_rail_gas,
    named_address,
)
from sim.onchain.spec import OnChainSpec, RampSpec
from sim.results import (
    _INT64_MAX,
    MoneyOverflowError,
    Results,
    ResultsBuilder,
    close_accounts,
    paused_gc,
)

__all__ = ["RAIL", "OnChainRail", "contracts_ledger", "fee_market", "run"]

RAIL = "onchain"
_STREAM = 0x4F4E       # separates this rail's draws from the correspondent rail's
_FX_DEADLINE_S = 6 * 3600
#: a payment needing more top-ups of the provider's inventory than this fails at once
_MAX_REPLENISHMENTS = 1000
_WEI_PER_GWEI = Decimal(10**9)
_PRICE_STEP = Decimal("0.0001")
LP = "fx_provider"
_ORDERING_TEXT = {c: f"ordering bank fee ({c})" for c in ("OUR", "SHA", "BEN")}

# uniform slots
_U_S_REVIEW, _U_S_REJECT, _U_ON_REVIEW, _U_B_REVIEW, _U_B_REJECT, _U_STP = 0, 1, 2, 3, 4, 5
# normal slots
(_Z_S_SCREEN, _Z_S_REVIEW, _Z_ON_WIRE, _Z_ON_REVIEW, _Z_B_SCREEN, _Z_B_REVIEW,
 _Z_OFF_WIRE, _Z_CREDIT) = range(8)


def bank_account(bank_id: str) -> str:
    """The on-chain account (named) of a bank."""
    return f"bank:{bank_id}"


def _minter(ccy: str) -> str:
    return f"minter_{ccy}"


class BlockProducer:
    """Mines a block at each slot instant while transactions wait; FIFO by submission.

    A transaction is for the first block whose slot instant is strictly after it
    was sent (sent at a slot instant, it misses that block, whatever the order in
    which SimPy processes the instant's events), and is included when its
    estimated gas fits in what the background demand leaves of the block (strict
    FIFO, so each sender's nonces stay in order).

    Every transaction waiting in the mempool waits on one shared event, the next
    block's: :meth:`submit` returns it, and the caller yields it at once, so its
    callbacks are in mempool order. A block fires it for the transactions it
    includes, from the slot's own event (their processes resume at once, in that
    order, as they would on one event each; see :class:`_Block` for ties), and
    hands the others' callbacks to the next block's event. Each included
    transaction's ``(TxResult, fee in USD, what its step says of the block)`` is in
    ``op.outcome``.
    """

    def __init__(self, env: simpy.Environment, ledger: Ledger, market: FeeMarket,
                 profile: ChainProfile, t0: float,
                 halts: Sequence[EventOf] = ()) -> None:
        self.env, self.ledger, self.market, self.profile = env, ledger, market, profile
        #: chain halts (events): no block in them; what waited through one says so
        self.halts = tuple(sorted(halts, key=lambda e: e.start))
        self.t0 = float(t0)
        self.bt = float(profile.block_time_s)
        self.mempool: list[TxOp] = []
        self._next_block = _Block(env)
        self._asleep = True
        self.blocks = 0
        self.gas_total = 0
        self._slot, self._slot_at = 0, 0.0
        self._on_slot = self._produce      # one bound method for every slot's callback

    def submit(self, op: TxOp) -> simpy.Event:
        env = self.env
        op.submitted_at = float(env.now)
        est = op.est_gas = self.ledger.estimate(op)
        if est > self.profile.block_gas_limit:
            raise InputError(f"{op.kind} needs {op.est_gas} gas, more than the block gas limit "
                             f"{self.profile.block_gas_limit} of {self.profile.name}")
        self.mempool.append(op)
        if self._asleep:
            self._arm()
        return self._next_block

    # The producer is driven by event callbacks, not a process: asleep while the
    # mempool is empty, armed by the first transaction submitted (for the next slot
    # strictly after that instant), and otherwise re-armed after each block.
    def _arm(self) -> None:
        """Wait for the next slot strictly after now (the first a transaction sent now
        can be in)."""
        self._asleep = False
        now = self.env.now
        self._slot = int((now - self.t0) // self.bt)    # the slot now is in, or begins
        self._rearm(now)

    def _rearm(self, now: float) -> None:
        """Wait for the slot after :attr:`_slot` (the one just produced, or now's)."""
        k = self._slot = self._slot + 1
        t = self._slot_at = self.t0 + k * self.bt
        Timeout(self.env, t - now).callbacks.append(self._on_slot)

    def _produce(self, _event: Any) -> None:
        """Produce the slot's block: FIFO while the estimates fit what demand leaves."""
        market, mempool, k, t = self.market, self.mempool, self._slot, self._slot_at
        halt = None
        if self.halts:
            for h in self.halts:
                if h.start <= t < h.end:
                    # no block while the chain is halted: the transactions wait for the
                    # first slot at or after its end (the fee market skips these slots)
                    self._slot = math.ceil((h.end - self.t0) / self.bt) - 1
                    self._rearm(self.env.now)
                    return
                if h.end <= t:
                    halt = h            # the latest halt before this block
        room = market.open_block_capacity(k, t)
        n = 0
        for op in mempool:
            # a transaction sent at the slot instant itself is for the next block,
            # whatever the order in which the instant's events are processed
            if op.submitted_at >= t:
                break
            room -= op.est_gas
            if room < 0:
                break
            n += 1
        if not n:
            market.close_block(0)
            self._rearm(self.env.now)
            return
        block = self._next_block
        waiting = block.callbacks
        later = self._next_block = _Block(self.env)
        if n == len(mempool):
            chosen = mempool
            self.mempool = mempool = []
        else:
            chosen = mempool[:n]
            del mempool[:n]
        if len(waiting) != n + len(mempool):
            raise RuntimeError("a submitted transaction was not waited for at once")
        if mempool:
            later.callbacks, waiting = waiting[n:], waiting[:n]
        # what the steps say of the block: its base fee in gwei (3 significant digits)
        # and its slot
        about = f" gas, base fee {Decimal(market.base_fee_wei) / _WEI_PER_GWEI:.3g} gwei, slot {k}"
        results = self.ledger.execute_block(chosen, int(t))
        gas = []
        for r in results:
            gas.append(r.gas_used)
        fees = market.close_block_fees(gas)
        self.blocks += 1
        self.gas_total += sum(gas)
        if halt is None:
            for op, r, fee in zip(chosen, results, fees, strict=True):
                op.outcome = (r, fee, about)
        else:
            held = f"{about}; delayed by {halt.label}"
            for op, r, fee in zip(chosen, results, fees, strict=True):
                op.outcome = (r, fee, held if op.submitted_at < halt.end else about)
        if mempool:
            self._rearm(self.env.now)
        else:
            self._asleep = True
        block.fire(waiting)


class _Block(Event):
    """The event of the next block, which every transaction in the mempool waits on.

    The producer fires it from the slot's own event, resuming the included
    transactions' processes at once, in mempool order (one scheduler step per
    block, not two). So at a slot instant the block's transactions resume before
    any other wait ending at that instant that was scheduled after the slot was
    armed (a block event of its own, scheduled when the block is made, would come
    after those too).
    """

    def fire(self, callbacks: list[Callable[[Event], None]]) -> None:
        """Trigger the event and run ``callbacks`` now (``callbacks`` replace the event's):
        what ``succeed()`` and then :meth:`simpy.Environment.step` do for a scheduled
        event, in SimPy 4's event protocol (``_ok``, ``_value``, ``callbacks``; SimPy is
        pinned, and ``tests/onchain/test_fast_paths.py`` checks the order it gives)."""
        self._ok, self._value = True, None
        self.callbacks = None  # type: ignore[assignment]  # processed, as SimPy marks it
        for callback in callbacks:
            callback(self)


@dataclass(slots=True)
class _Ccy:
    """A currency's constants on the rail."""

    code: str
    exp: int                       # minor-unit exponent
    tok: int                       # token units per minor unit
    key: str                       # its token's address key
    token: str                     # its token's address
    minter: str                    # the issuer's account
    minter_address: str
    issuer: str                    # the issuer as a step's place
    ramp: RampSpec
    cal: Any                       # the issuer's calendar
    onramp_pct: Decimal
    offramp_pct: Decimal
    redeem_text: str               # the redemption's transactions, as the steps name them
    burn_text: str


@dataclass(slots=True)
class _Pair:
    """The provider's terms for a currency pair and segment."""

    dealt: Decimal                 # mid less the spread
    scaled: Decimal                # dealt, per minor unit (money.convert's scaled rate)
    detail: str                    # the fx step's detail


@dataclass(slots=True)
class _Route:
    """What a payment between two banks, in a currency pair and segment, meets on the
    rail, worked out once: the banks, their on-chain accounts, the currencies'
    constants, the provider's terms and the texts of the steps."""

    sender: Bank
    ben: Bank
    s_acc: str                     # named on-chain accounts and their addresses
    b_acc: str
    s_addr: str
    b_addr: str
    cS: _Ccy
    cD: _Ccy
    pair: _Pair | None             # None: no conversion
    fund_text: str
    settle_text: str
    lock_text: str                 # after the amount
    release_text: str


@dataclass(slots=True)
class _Acct:
    """Running accounts of one payment (minor units)."""

    paid_in: int = 0               # what the sender has paid so far, in the sent currency
    sender_bank: int = 0
    onramp: int = 0
    gas_usd: Decimal = Decimal(0)
    gas_sent: int = 0              # gas_usd in the sent currency (rounded once, as a whole)
    steps_cost: int = 0            # the costs of the steps written so far
    loss: int = 0                  # a holder's loss in flight (sent currency): a sale
                                   # below par during an issuer's freeze


class OnChainRail:
    """Runs payments through the on-chain path in a SimPy environment (clock: POSIX s).

    A payment waits once through a stretch that touches nothing shared (the
    ordering bank's screening, the on-ramp and the issuer's review), and not at
    all through the payout and the crediting that end it: the steps of such a
    stretch are recorded, with their own times, as it starts, and a payment's row
    when its last shared step (the burn) is done, so the tables are complete once
    the environment has run out of events (as :func:`run` runs it), not at every
    instant before.
    """

    def __init__(self, env: simpy.Environment, network: BankNetwork, spec: OnChainSpec,
                 profile: ChainProfile, ledger: Ledger, market: FeeMarket, seed: int,
                 builder: ResultsBuilder | None = None, amm: AmmMarket | None = None, *,
                 events: EventSchedule | None = None) -> None:
        self.env, self.net, self.spec, self.profile = env, network, spec, profile
        self.events = events or EventSchedule.none()
        self.fx = network.fx
        self.ledger = ledger
        self.producer = BlockProducer(env, ledger, market, profile, env.now,
                                      self.events.halts_of(profile.name))
        #: the AMM FX route (``fx.route = "amm"``): the pools, their swaps, the arbitrageurs
        self.amm = amm
        if amm is not None:
            amm.attach(env, ledger.addresses, self.producer, market, profile)
        self.draws = PaymentDraws(seed, stream=_STREAM)
        self.out = builder or ResultsBuilder(RAIL)
        self.seed = seed
        self.bal = self.out.balances or BalanceRecorder(RAIL, {}, enabled=False)
        self._t0 = float(env.now)
        self._bal_ids: dict[tuple[str, str, str], int] = {}
        self._dust: dict[tuple[str, str], int] = {}
        self._ramps: dict[str, RampSpec] = {}
        self._cals: dict[str, Any] = {}
        usd = Decimal(str(spec.fx.inventory_usd))
        self.inventory: dict[str, int] = {}
        self._inv_usd = usd
        # per currency: the payments waiting for the provider's inventory, in the order
        # they came ((amount, event to succeed once it is set aside for them)); a
        # currency is here exactly while a replenishment of it is on its way
        self._fx_waiting: dict[str, list[tuple[int, simpy.Event]]] = {}
        self._top_ups: dict[str, int] = {}      # replenishments so far, per currency
        self.replenishments: list[tuple[str, float, int]] = []
        self._usd_factors: dict[str, tuple[Decimal, Decimal]] = {}
        self._fee_rules: dict[tuple[str, str, str, str], Callable[[int], int]] = {}
        self._ccys: dict[str, _Ccy] = {}
        self._pairs: dict[tuple[str, str, str], _Pair] = {}
        self._backs: dict[tuple[str, str], Decimal] = {}
        self._routes: dict[tuple[str, str, str, str, str], _Route] = {}
        self._gas_text: dict[int, str] = {}   # "262,339": few distinct gas figures, many steps
        self._lp_address = named_address(LP)
        self._markets: dict[str, str] = {}
        #: funds a sanction froze in a swap or a lock (balances' key -> minor units)
        self._stuck: defaultdict[tuple[str, str, str], int] = defaultdict(int)
        self._finality_s = profile.finality_delay_s()
        self._fee_texts: dict[tuple[int, str], str] = {}
        ev = self.events
        self._outages = bool(ev.of_kind("bank_outage"))
        self._freezes = bool(ev.of_kind("issuer_freeze"))
        self._fx_outages = bool(ev.of_kind("fx_provider_outage"))
        self._sanctions = bool(ev.of_kind("sanction"))
        if ev:
            self._schedule_admin()
        self._escrow_text = f"escrow fee ({spec.escrow.fee_bps:g} bp) kept at release"
        self._finality_text = f"{profile.finality.value:g} {profile.finality.kind} to finality"

    # -- stress events -------------------------------------------------------------
    def _schedule_admin(self) -> None:
        """The administrative transactions of the scenario's events, each mined like any
        other at its instant: a sanction blacklists the account on every token (and
        unblacklists it when lifted); an issuer's freeze removes its minter, so its
        token refuses mint and burn (``CallerNotMinter``), and configures it again at
        the end. The contracts, not this rail, then refuse what the events forbid."""
        deployed = self.ledger.addresses.currencies
        for e in self.events.of_kind("sanction"):
            who = e.target if e.on_chain_only else bank_account(e.target)
            addr = named_address(who)
            for ccy in deployed:
                self._admin(e.start, TxOp("blacklist", "blacklister", "Stablecoin",
                                          f"token:{ccy}", "blacklist", (addr,)))
                if not math.isinf(e.end):
                    self._admin(e.end, TxOp("unblacklist", "blacklister", "Stablecoin",
                                            f"token:{ccy}", "unBlacklist", (addr,)))
        for e in self.events.of_kind("issuer_freeze"):
            if e.target not in deployed:
                continue
            minter = named_address(_minter(e.target))
            self._admin(e.start, TxOp("remove_minter", "master_minter", "Stablecoin",
                                      f"token:{e.target}", "removeMinter", (minter,)))
            self._admin(e.end, TxOp("configure_minter", "master_minter", "Stablecoin",
                                    f"token:{e.target}", "configureMinter",
                                    (minter, UINT256_MAX // 4)))

    def _admin(self, at: float, op: TxOp) -> None:
        def send() -> Generator[Any, Any, None]:
            if at > self.env.now:
                yield self.env.timeout(at - self.env.now)
            yield self.producer.submit(op)
        self.env.process(send())

    # -- helpers -----------------------------------------------------------------
    def ramp(self, ccy: str) -> RampSpec:
        r = self._ramps.get(ccy)
        if r is None:
            r = self.spec.ramp(ccy)
            self._ramps[ccy] = r
            self._cals[ccy] = r.calendar()
        return r

    def ramp_calendar(self, ccy: str) -> Any:
        self.ramp(ccy)
        return self._cals[ccy]

    def _usd_factor(self, ccy: str) -> tuple[Decimal, Decimal]:
        f = self._usd_factors.get(ccy)
        if f is None:
            f = self._usd_factors[ccy] = (self.fx.rate("USD", ccy),
                                          Decimal(10) ** minor_exponent(ccy))
        return f

    def _usd_to(self, usd: Decimal, ccy: str) -> int:
        rate, scale = self._usd_factor(ccy)
        return int((usd * rate * scale).to_integral_value())

    def _top_up(self, ccy: str) -> int:
        """What one replenishment adds to the provider's ``ccy`` inventory (minor units)."""
        return self._usd_to(Decimal(str(self.spec.fx.replenish_usd)), ccy)

    def _inv(self, ccy: str) -> int:
        if ccy not in self.inventory:
            self.inventory[ccy] = self._usd_to(self._inv_usd, ccy)
            self.bal.open(f"provider:{ccy}", LP, ccy, self.inventory[ccy], self._t0)
        return self.inventory[ccy]

    def holding(self, kind: str, bank: str, ccy: str) -> int:
        """The balances' id of a bank's ``kind`` of on-chain funds in ``ccy``:
        ``holdings`` (its stablecoin), ``swap`` (its leg funded in an open swap) or
        ``escrow`` (locked for a beneficiary bank); ``provider``: the FX provider's
        inventory (``bank`` ignored)."""
        key = (kind, bank, ccy)
        i = self._bal_ids.get(key)
        if i is None:
            if kind == "provider":
                self._inv(ccy)
                i = self.bal.account(f"provider:{ccy}")
            else:
                i = self.bal.open(f"{kind}:{bank}:{ccy}x", bank, ccy, 0, self._t0)
            self._bal_ids[key] = i
        return i

    @staticmethod
    def tok(minor: int, ccy: str) -> int:
        return minor * 10 ** (TOKEN_DECIMALS - minor_exponent(ccy))

    def _bank_fee(self, bank: Bank, kind: str, p: Payment, value: int, ccy: str) -> int:
        """``bank.fee`` (:func:`sim.banking.network.fee_minor`) on ``value`` ``ccy``, reported in
        ``ccy`` (:func:`sim.banking.network.fee_function`, made once per bank, kind, segment and
        currency)."""
        if not self.spec.charge_bank_fees:
            return 0
        key = (bank.id, kind, p.segment, ccy)
        fn = self._fee_rules.get(key)
        if fn is None:
            fn = self._fee_rules[key] = fee_function(getattr(getattr(bank, kind), p.segment),
                                                     ccy, bank.currency, self.fx)
        return fn(value)

    def _dealt_rate(self, source: str, target: str, segment: str) -> Decimal:
        """The provider's rate: mid less its spread for the segment."""
        spread = getattr(self.spec.fx.spread_bps, segment)
        return self.fx.rate(source, target) * (1 - Decimal(spread) / Decimal(10_000))

    def submit(self, payments: Iterable[Payment]) -> simpy.Process:
        return self.env.process(self._source(list(payments)))

    def _source(self, payments: list[Payment]) -> Generator[Any, Any, None]:
        return cast(Generator[Any, Any, None], arrivals(self.env, payments, self.process))

    def _fiat_leg(self, ccy: str, mode: str, spec: RampSpec, z: float, leg: str, step: Any,
                  S: str, t: float) -> tuple[float, float, str]:
        """Fiat moving to (on-ramp) or from (off-ramp) ``ccy``'s issuer from ``t``:
        ``(start, end, how)``.

        A wire waits for the issuer's banking day and cut-off (a ``cutoff_wait``
        step naming why) and takes business minutes; an instant payment takes
        seconds, 24/7; a pre-funded float takes no time. Nothing shared is touched
        on the way, so the caller waits once, for the end.
        """
        if mode == "wire":
            cal = self.ramp_calendar(ccy)
            start, why = cal.next_accepting(t)
            if start > t:
                step("cutoff_wait", f"issuer:{ccy}", t, start, 0, S, f"{leg} wire window: {why}")
                t = start
            end = cal.add_business_seconds(t, spec.wire_minutes.sample(z) * 60)
            how = "domestic wire"
        elif mode == "instant":
            end = t + spec.instant_seconds.sample(z)
            how = "instant payment"
        else:
            end = t
            how = "pre-funded float"
        return t, end, how

    # -- liquidity provider ---------------------------------------------------------
    def _replenish(self, ccy: str) -> Generator[Any, Any, None]:
        """The provider tops up ``ccy`` by a wire to the issuer, in the issuer's hours."""
        env = self.env
        cal = self.ramp_calendar(ccy)
        start, _why = cal.next_accepting(env.now)
        minutes = self.ramp(ccy).wire_minutes.median
        t = cal.add_business_seconds(start, minutes * 60)
        yield env.timeout(max(0.0, t - env.now))
        amount = self._top_up(ccy)
        op = TxOp("mint", _minter(ccy), "Stablecoin", f"token:{ccy}", "mint",
                  (named_address(LP), self.tok(amount, ccy)))
        yield self.producer.submit(op)
        inventory = self._inv(ccy) + amount
        self.bal.change(self.holding("provider", LP, ccy), env.now, amount, None)
        self.replenishments.append((ccy, float(env.now), amount))
        self._top_ups[ccy] = self._top_ups.get(ccy, 0) + 1
        # serve the waiting payments in the order they came, each the inventory now covers
        # (one too large for it waits on, and does not hold up smaller ones behind it)
        still = []
        for x, ev in self._fx_waiting.pop(ccy):
            if x <= inventory:
                inventory -= x
                ev.succeed()
            else:
                still.append((x, ev))
        self.inventory[ccy] = inventory
        if still:
            self._fx_waiting[ccy] = still
            env.process(self._replenish(ccy))

    def _ccy(self, ccy: str) -> _Ccy:
        """Constants of ``ccy`` on the rail (computed once)."""
        c = self._ccys.get(ccy)
        if c is None:
            exp = minor_exponent(ccy)
            ramp = self.ramp(ccy)
            key = f"token:{ccy}"
            minter = _minter(ccy)
            c = self._ccys[ccy] = _Ccy(
                ccy, exp, 10 ** (TOKEN_DECIMALS - exp), key,
                self.ledger.addresses[key], minter, named_address(minter), f"issuer:{ccy}",
                ramp, self._cals[ccy], Decimal(ramp.onramp_fee_bps) / Decimal(100),
                Decimal(ramp.offramp_fee_bps) / Decimal(100), f"redeem {ccy}x with the issuer",
                f"issuer burns the redeemed {ccy}x")
        return c

    def _back(self, source: str, target: str) -> Decimal:
        """The mid rate ``source`` -> ``target`` per minor unit (money's scaled rate)."""
        key = (source, target)
        b = self._backs.get(key)
        if b is None:
            b = self._backs[key] = self.fx.rate(source, target).scaleb(
                minor_exponent(target) - minor_exponent(source))
        return b

    def _pair(self, source: str, target: str, segment: str) -> _Pair:
        """The provider's terms for ``source`` -> ``target`` in ``segment`` (computed once)."""
        key = (source, target, segment)
        q = self._pairs.get(key)
        if q is None and self.amm is not None:
            # the pools' rate for a small amount (mid less the fees): the OUR gross-up's aim
            dealt = self.amm.dealt_rate(source, target)
            q = self._pairs[key] = _Pair(
                dealt, dealt.scaleb(minor_exponent(target) - minor_exponent(source)), "")
        if q is None:
            dealt = self._dealt_rate(source, target, segment)
            rate = self.fx.rate(source, target)
            spread = getattr(self.spec.fx.spread_bps, segment)
            q = self._pairs[key] = _Pair(
                dealt, dealt.scaleb(minor_exponent(target) - minor_exponent(source)),
                f"PvP quote {dealt:.6g} {target}/{source} (mid {rate:.6g}, spread {spread} bp)")
        return q

    def _route(self, p: Payment) -> _Route:
        """The constants of ``p``'s route (computed once per banks, currencies and
        segment); ``LookupError`` for an unknown bank."""
        S, D = p.currency_sent, p.currency_delivered
        key = (p.sender_bank, p.beneficiary_bank, S, D, p.segment)
        r = self._routes.get(key)
        if r is None:
            sender, ben = self.net.bank(p.sender_bank), self.net.bank(p.beneficiary_bank)
            s_acc, b_acc = bank_account(sender.id), bank_account(ben.id)
            hours = self.spec.escrow.deadline_hours
            r = self._routes[key] = _Route(
                sender, ben, s_acc, b_acc, named_address(s_acc), named_address(b_acc),
                self._ccy(S), self._ccy(D), self._pair(S, D, p.segment) if S != D else None,
                f"fund the {S}x leg of the PvP swap",
                f"provider funds the {D}x leg; both legs settle",
                f"as {D}x in escrow for {ben.id} (deadline +{hours:g} h)",
                "beneficiary bank releases the escrow (attestation)"
                if self.spec.release == "attestation"
                else "beneficiary bank releases the escrow (preimage)")
        return r

    # -- one payment -------------------------------------------------------------
    def process(self, p: Payment) -> Generator[Any, Any, None]:  # noqa: C901
        env, out, pid = self.env, self.out, p.payment_id
        spec, profile = self.spec, self.profile
        S, D = p.currency_sent, p.currency_delivered
        U, Z = self.draws.row(p.index, 1)   # the first bank's slots: all this rail reads
        seq = 0
        chain_place = profile.name
        put = out.step_writer()

        acct = _Acct()
        n_tx = 0
        record, hold = self.bal.change, self.holding
        sb, bb = p.sender_bank, p.beneficiary_bank
        quote: tuple[int, float, float] | None = None   # the PvP quote's (seq, start, end)
        swap: SwapOrder | None = None                   # the AMM route's conversion
        fx_place = LP

        def step(kind: str, place: str, start: float, end: float, cost: int = 0,
                 ccy: str | None = None, detail: str = "") -> None:
            # every step's cost is in the sent currency (docs/architecture.md)
            nonlocal seq
            put((pid, seq, kind, place, start, end, cost, S, detail))
            acct.steps_cost += cost
            seq += 1

        submit, gas_text = self.producer.submit, self._gas_text
        usd_rate, usd_scale = self._usd_factor(S)
        usd_to_sent = usd_rate * usd_scale   # exact: the scale is a power of ten

        def mined(op: TxOp, what: str) -> TxResult:
            """Account for ``op`` once its block is in (the caller yielded ``submit(op)``):
            its gas, and its ``mempool`` step from submission to inclusion."""
            nonlocal n_tx, seq
            r, fee_usd, about = op.outcome
            n_tx += 1
            acct.gas_usd += fee_usd
            # the step's share of the payment's gas in the sent currency: the total is
            # rounded once, so each step takes the rounded total's increase
            before = acct.gas_sent   # (_usd_to(acct.gas_usd, S), in one multiplication)
            cost = acct.gas_sent = int((acct.gas_usd * usd_to_sent).to_integral_value())
            cost -= before
            acct.steps_cost += cost
            gas = gas_text.get(r.gas_used)
            if gas is None:
                gas = gas_text[r.gas_used] = f"{r.gas_used:,}"
            # the fee in the sent currency: _usd_to(fee_usd, S)
            put((pid, seq, "mempool", chain_place, op.submitted_at, env.now, cost, S,
                 f"{what}: {gas}{about}" if r.ok else f"{what}: {gas}{about}; reverted: {r.error}"))
            seq += 1
            return r  # type: ignore[no-any-return]

        def close(status: str, reason: str | None, delivered: int, refund: int,
                  fees: dict[str, int], credited_at: float | None, has_fx: bool,
                  delivered_in_sent: int = 0, frozen: int = 0) -> None:
            fees = dict(fees)
            fees["gas"] = acct.gas_sent
            paid = acct.paid_in + fees["gas"] + fees.pop("_billed", 0)
            rec = close_accounts(
                pid, RAIL, p.corridor, p.sender_bank, p.beneficiary_bank, p.charge_option,
                paid - refund, S, delivered, D, p.created_at, credited_at, status, reason,
                n_tx, fees, delivered_in_sent, has_fx, loss=acct.loss, frozen=frozen)
            if quote is not None:
                # the quote's cost is the FX spread: the exact remainder of the accounts
                # (the provider's margin and every conversion's residue), so the steps'
                # costs sum to the fees
                assert route.pair is not None
                put((pid, quote[0], "fx", fx_place, quote[1], quote[2],
                     rec.fee_total_sent - acct.steps_cost, S,
                     route.pair.detail if swap is None else self._amm_detail(swap)))
            out.add_payment(rec)

        def give_back(reason: str, status: str, value: int, value_ccy: str, place: str) -> None:
            """End the payment: ``value`` (in ``value_ccy``) goes back to the sender."""
            refund = value
            back = 0
            if value_ccy != S:
                refund = convert(value, value_ccy, S, self._dealt_rate(value_ccy, S, p.segment))
                # converting back costs the provider's spread again: the return's cost
                worth = Decimal(value) * self._back(value_ccy, S)
                back = int(worth.to_integral_value(rounding=ROUND_HALF_EVEN)) - refund
            step("return", place, env.now, env.now, back, S,
                 f"{reason}; {format_minor(refund, S)} returned to the ordering customer")
            close(status, reason, 0, refund, {"sender_bank": acct.sender_bank,
                                             "onramp": acct.onramp}, None,
                  has_fx=value_ccy != S)

        def freeze_out(reason: str, value: int, value_ccy: str, place: str) -> None:
            """End the payment: ``value`` (in ``value_ccy``) is frozen where it is (held by
            or for a sanctioned account): neither delivered nor returned."""
            frozen = value if value_ccy == S else int(
                (Decimal(value) * self._back(value_ccy, S)).to_integral_value(
                    rounding=ROUND_HALF_EVEN))
            step("frozen", place, env.now, env.now, 0, S,
                 f"{reason}; {format_minor(value, value_ccy)} frozen")
            close("failed", reason, 0, 0, {"sender_bank": acct.sender_bank,
                                          "onramp": acct.onramp}, None,
                  has_fx=value_ccy != S, frozen=frozen)

        events = self.events
        if p.sender_bank == p.beneficiary_bank:
            # as on the correspondent rail: not a cross-border payment (Workload and
            # make_payment refuse it; a hand-made Payment fails here)
            reason = f"unroutable: sender and beneficiary are the same bank {p.sender_bank!r}"
            step("return", p.sender_bank, env.now, env.now, 0, S, reason)
            close("failed", reason, 0, 0, {}, None, False)
            return
        try:
            route = self._route(p)
        except (KeyError, LookupError) as exc:
            reason = f"unknown bank: {exc}"
            step("return", p.sender_bank, env.now, env.now, 0, S, reason)
            close("failed", reason, 0, 0, {}, None, False)
            return
        sender, ben, s_acc, b_acc = route.sender, route.ben, route.s_acc, route.b_acc
        s_addr, b_addr, cS, cD = route.s_addr, route.b_addr, route.cS, route.cD

        # 1. the ordering bank's screening (as on the correspondent rail)
        t = env.now
        if self._outages:
            down = events.outage(sender.id, t)
            if down is not None:
                limit = down.return_after_s
                text = f"{sender.id} down: {down.label}"
                if limit is not None and down.end - t > limit:
                    step("outage", sender.id, t, t + limit, 0, S, text)
                    yield env.timeout(limit)
                    acct.paid_in = p.amount
                    give_back(f"{sender.id} down for more than {limit / 3600:g} h: "
                              f"{down.label}", "returned", p.amount, S, sender.id)
                    return
                step("outage", sender.id, t, down.end, 0, S, text)
                yield env.timeout(down.end - t)
                t = env.now
        end = t + sender.screening_seconds.sample(Z[_Z_S_SCREEN])
        detail = "automated screening"
        if U[_U_S_REVIEW] < sender.review_share:
            hours = sender.review_hours.sample(Z[_Z_S_REVIEW])
            end = sender.calendar.add_business_seconds(end, hours * 3600)
            detail = f"held for manual review ({hours:.1f} business h)"
        # the screening, the on-ramp and the issuer's review touch nothing shared:
        # the payment waits once, until it asks for the mint (or is returned)

        # amounts: what is minted and converted
        amount = p.amount
        f_bank = self._bank_fee(sender, "sender_fee", p, amount, S)
        onramp_spec = cS.ramp
        f_on = percent_of(amount, cS.onramp_pct)
        ben_pays = p.charge_option == "BEN"
        y = amount - f_bank - f_on if ben_pays else amount
        rejected = (U[_U_S_REVIEW] < sender.review_share
                    and U[_U_S_REJECT] < sender.review_reject_share)
        listed = None
        if self._sanctions and not rejected:
            # sanctions screening: the beneficiary bank (or its on-chain account) sanctioned
            listed = events.sanction(ben.id, t) or events.sanction(b_acc, t)
            rejected = listed is not None
        if rejected or y <= 0:
            # returned before the on-ramp: the ordering bank keeps its fee (no more than
            # the amount), and no fiat reached the issuer, so there is no on-ramp fee
            f_bank = acct.sender_bank = min(f_bank, amount) if ben_pays else f_bank
            acct.paid_in = amount if ben_pays else amount + f_bank
            step("screening", sender.id, t, end, f_bank, S,
                 f"{detail}; {_ORDERING_TEXT[p.charge_option]}")
            yield env.timeout(end - t)
            why = (f"sanctions screening: beneficiary bank {ben.id} is sanctioned "
                   f"({listed.label})" if listed is not None
                   else "rejected in the ordering bank's compliance review" if rejected
                   else "charges exceed the amount")
            give_back(why, "returned", acct.paid_in - f_bank, S, sender.id)
            return
        step("screening", sender.id, t, end, f_bank, S,
             f"{detail}; {_ORDERING_TEXT[p.charge_option]}")
        acct.sender_bank, acct.onramp = f_bank, f_on
        acct.paid_in = amount if ben_pays else amount + f_bank + f_on

        escrow_bps = spec.escrow.fee_bps
        tok_d = cD.tok
        scale_d = tok_d
        pair = route.pair
        if pair is not None:
            scaled = pair.scaled
            # convert(v, S, D, dealt), with the scaled rate computed once
            target = int((Decimal(amount) * scaled).to_integral_value(rounding=ROUND_FLOOR))
        else:
            target = amount
        if p.charge_option == "OUR":
            # gross up: the beneficiary gets the principal at the dealt rate
            lock = -(-target * 10_000 // (10_000 - escrow_bps))
            while (lock * tok_d - lock * tok_d * escrow_bps // 10_000) // scale_d < target:
                lock += 1
            if S != D:
                y = int((Decimal(lock) / scaled).to_integral_value(rounding=ROUND_CEILING))
                while int((Decimal(y) * scaled).to_integral_value(rounding=ROUND_FLOOR)) < lock:
                    y += 1
            else:
                y = lock
            acct.paid_in = y + f_bank + f_on
        x = int((Decimal(y) * scaled).to_integral_value(rounding=ROUND_FLOOR)) if S != D else y

        # 2. on-ramp
        if self._freezes:
            fz = events.freeze(S, end)
            if fz is not None:
                step("outage", cS.issuer, end, fz.end, 0, S,
                     f"the issuer's ramps closed: {fz.label}")
                end = fz.end
        t, end, how = self._fiat_leg(S, onramp_spec.onramp_mode, onramp_spec, Z[_Z_ON_WIRE],
                                     "on-ramp", step, S, end)
        step("onramp", cS.issuer, t, end, f_on, S, f"{how} to the issuer; on-ramp fee")
        if U[_U_ON_REVIEW] < onramp_spec.review_share:
            t = end
            hours = onramp_spec.review_hours.sample(Z[_Z_ON_REVIEW])
            end = cS.cal.add_business_seconds(t, hours * 3600)
            step("screening", cS.issuer, t, end, 0, S,
                 f"issuer compliance review ({hours:.1f} business h)")
        yield env.timeout(end - env.now)
        mint_text = f"mint {format_minor(y, S)} as {S}x to the ordering bank"
        while True:
            op = TxOp("mint", cS.minter, "Stablecoin", cS.key, "mint", (s_addr, y * cS.tok),
                      pid, parties=(s_addr,))
            yield submit(op)
            r = mined(op, mint_text)
            if r.ok or r.error != "CallerNotMinter":
                break
            # the issuer's minter was removed (its freeze): mint once it is configured again
            yield from self._await_issuer(S, cS.issuer, "mint refused", step, S)
        if not r.ok:
            if r.error == "AccountBlacklisted":
                freeze_out(f"mint to the ordering bank refused, its account blacklisted "
                           f"({self._listed(s_acc)})", y, S, cS.issuer)
                return
            give_back(f"mint reverted: {r.error}", "failed", y, S, chain_place)
            return
        record(hold("holdings", sb, S), env.now, y, pid)

        # 3. FX by PvP
        salt = keccak256(f"settlesim {self.seed} {pid}".encode())
        amm = self.amm if pair is not None else None
        if amm is not None:
            # the AMM route: quote the pools; the swap goes with the lock (4.), one transaction
            t = env.now
            yield env.timeout(spec.fx.quote_seconds)
            swap = amm.order(S, D, y * cS.tok)
            fx_place = f"amm:{'+'.join(leg.pool for leg in swap.legs)}"
            quote = (seq, t, env.now)   # the quote, written at the close with its cost
            seq += 1
            refusal = amm.refused(swap)
            if refusal is not None:
                give_back(refusal, "failed", y, S, fx_place)
                return
        if pair is not None and amm is None:
            if self._fx_outages:
                off = events.fx_outage(env.now)
                if off is not None:
                    step("outage", LP, env.now, off.end, 0, S,
                         f"FX provider not quoting: {off.label}")
                    yield env.timeout(off.end - env.now)
            t = env.now
            yield env.timeout(spec.fx.quote_seconds)
            short = x - self._inv(D)
            if short > 0 and spec.fx.replenish == "wait" and \
                    short > _MAX_REPLENISHMENTS * self._top_up(D):
                # waiting would never end in any horizon worth simulating
                reason = (f"FX liquidity provider cannot fund {format_minor(x, D)}: more than "
                          f"{_MAX_REPLENISHMENTS} replenishments of USD "
                          f"{spec.fx.replenish_usd:,.0f} short")
                step("fx", LP, t, env.now, 0, S, reason)
                give_back(reason, "failed", y, S, LP)
                return
            if self._inv(D) < x:
                if spec.fx.replenish == "fail":
                    step("fx", LP, t, env.now, 0, S,
                         f"liquidity provider out of {D} inventory")
                    give_back(f"FX liquidity provider out of {D} inventory", "failed", y, S,
                              LP)
                    return
                # wait in line until a replenishment covers the amount (the provider
                # sets it aside then)
                served = env.event()
                waiting = self._fx_waiting.setdefault(D, [])
                waiting.append((x, served))
                if len(waiting) == 1:        # the first in line sends for a replenishment
                    env.process(self._replenish(D))
                quote = (seq, t, env.now)   # the quote, written at the close with its cost
                seq += 1
                w0, n0 = env.now, self._top_ups.get(D, 0)
                yield served
                record(hold("provider", LP, D), env.now, -x, pid)   # set aside for it
                n = self._top_ups[D] - n0
                step("fx", LP, w0, env.now, 0, S,
                     f"waiting for the provider to replenish {D} inventory "
                     f"({n} top-up{'s' if n != 1 else ''})")
            else:
                self.inventory[D] -= x
                record(hold("provider", LP, D), env.now, -x, pid)
                quote = (seq, t, env.now)   # the quote, written at the close with its cost
                seq += 1
            self.inventory[S] = self._inv(S) + y
            record(hold("provider", LP, S), env.now, y, pid)
            fx_deadline = int(env.now) + _FX_DEADLINE_S
            terms = (s_addr, cS.token, y * cS.tok, self._lp_address, cD.token, x * tok_d,
                     fx_deadline, salt)
            fund = TxOp("fx_fund", s_acc, "FxSwap", "fx", "fund", (terms,), pid,
                        parties=(s_addr,))
            yield submit(fund)
            r = mined(fund, route.fund_text)
            if not r.ok:
                self.inventory[D] += x
                record(hold("provider", LP, D), env.now, x, pid)
                if r.error == "AccountBlacklisted":
                    freeze_out(f"FX funding refused, the ordering bank's account blacklisted "
                               f"({self._listed(s_acc)})", y, S, s_acc)
                    return
                give_back(f"FX funding reverted: {r.error}", "failed", y, S, chain_place)
                return
            funded_at = env.now
            record(hold("holdings", sb, S), funded_at, -y, pid)
            record(hold("swap", sb, S), funded_at, y, pid)
            op = TxOp("fx_settle", LP, "FxSwap", "fx", "fund", (terms,), pid, fx_deadline,
                      "SwapExpired", tokens=fund.tokens,   # the same call data as the funding
                      parties=(self._lp_address, s_addr))
            yield submit(op)
            r = mined(op, route.settle_text)
            if not r.ok:
                self.inventory[D] += x
                record(hold("provider", LP, D), env.now, x, pid)
                if env.now < fx_deadline:
                    yield env.timeout(fx_deadline - env.now)
                op = TxOp("fx_refund", s_acc, "FxSwap", "fx", "refund", (terms,), pid,
                          parties=(s_addr,))
                yield submit(op)
                r2 = mined(op, "refund the funded leg after the swap's deadline")
                # the first leg was funded and at risk until it came back (or for good)
                self.bal.risk(pid, y, funded_at, env.now)
                if not r2.ok and r2.error == "AccountBlacklisted":
                    self._stuck[("swap", sb, S)] += y
                    freeze_out(f"PvP swap not completed ({r.error}) and its refund refused, "
                               f"the ordering bank's account blacklisted "
                               f"({self._listed(s_acc)})", y, S, "fx")
                    return
                record(hold("swap", sb, S), env.now, -y, pid)
                record(hold("holdings", sb, S), env.now, y, pid)
                give_back(f"PvP swap not completed: {r.error}", "failed", y, S, chain_place)
                return

            # both legs settled in one transaction (PvP): nothing was at risk
            record(hold("swap", sb, S), env.now, -y, pid)
            record(hold("holdings", sb, D), env.now, x, pid)

        # 4. escrow lock for the beneficiary bank
        if spec.release == "hashlock":
            preimage = keccak256(f"settlesim preimage {self.seed} {pid}".encode())
            hashlock = hashlib.sha256(preimage).digest()
        else:
            preimage = hashlock = ZERO32
        agent = b_addr if spec.release == "attestation" else ZERO_ADDRESS
        deadline = int(env.now + spec.escrow.deadline_hours * 3600)
        lock_tok = x * tok_d
        lock_terms = (cD.token, b_addr, lock_tok, deadline, hashlock, agent, escrow_bps, salt)
        payer = s_addr
        if swap is not None:
            assert amm is not None
            lock_terms = (cD.token, b_addr, 0, deadline, hashlock, agent, escrow_bps, salt)
            op = amm.lock_op(swap, s_acc, cS.token, lock_terms, pid, env.now)
            yield submit(op)
            r = mined(op, f"swap {format_minor(y, S)} in the pools and lock the output "
                          f"{route.lock_text}")
            if not r.ok:   # the swap reverted whole: the bank still holds what it sent
                give_back(self._amm_failure(swap, r.error), "failed", y, S, chain_place)
                return
            lock_tok, payer = swap.out, amm.router
            x = lock_tok // tok_d
            lock_terms = (cD.token, b_addr, lock_tok, deadline, hashlock, agent, escrow_bps, salt)
            record(hold("holdings", sb, S), env.now, -y, pid)
            record(hold("escrow", sb, D), env.now, x, pid)
        else:
            op = TxOp("lock", s_acc, "SettlementEscrow", "escrow", "lock", (lock_terms,), pid,
                      deadline, "DeadlineNotInFuture", parties=(s_addr,))
            yield submit(op)
            r = mined(op, f"lock {format_minor(x, D)} {route.lock_text}")
            if not r.ok:
                if r.error == "AccountBlacklisted":
                    freeze_out(f"escrow lock refused, the ordering bank's account blacklisted "
                               f"({self._listed(s_acc)})", x, D, s_acc)
                    return
                give_back(f"escrow lock reverted: {r.error}", "failed", x, D, chain_place)
                return
            record(hold("holdings", sb, D), env.now, -x, pid)
            record(hold("escrow", sb, D), env.now, x, pid)

        if S != D:
            back = self._back(D, S)

            def report(v: int) -> int:   # convert_for_reporting(v, D, S, mid rate D -> S)
                return int((Decimal(v) * back).to_integral_value(rounding=ROUND_HALF_EVEN))
        else:
            def report(v: int) -> int:
                return v

        # 5. the beneficiary bank's compliance review, then the release
        t = env.now
        if self._outages:
            down = events.outage(ben.id, t)
            if down is not None:
                # the lock waits; its deadline may pass (the contract then refunds)
                step("outage", ben.id, t, down.end, 0, S, f"{ben.id} down: {down.label}")
                yield env.timeout(down.end - t)
                t = env.now
        end = t + ben.screening_seconds.sample(Z[_Z_B_SCREEN])
        detail = "automated screening; attestation"
        held = U[_U_B_REVIEW] < ben.review_share
        if held:
            hours = ben.review_hours.sample(Z[_Z_B_REVIEW])
            end = ben.calendar.add_business_seconds(end, hours * 3600)
            detail = f"held for manual review ({hours:.1f} business h); attestation"
        yield env.timeout(end - t)
        step("screening", ben.id, t, end, 0, S, detail)
        rejected = held and U[_U_B_REJECT] < ben.review_reject_share
        released = False
        if not rejected:
            pre = preimage if spec.release == "hashlock" else ZERO32
            op = TxOp("release", b_acc, "SettlementEscrow", "escrow", "release",
                      (payer, lock_terms, pre),
                      pid, deadline, "LockExpired", parties=(b_addr,))
            yield submit(op)
            r = mined(op, route.release_text)
            released = r.ok
            why = f"escrow release reverted: {r.error}" if not r.ok else ""
            if r.ok and r.note == "ReleaseProven":
                # the token refused the payout (the beneficiary's account blacklisted): the
                # lock is owed, not paid, until the account is cleared and the payout claimed
                listed = self._sanction_on(b_acc, ben.id)
                if listed is None or math.isinf(listed.end):
                    self._stuck[("escrow", sb, D)] += x
                    freeze_out(f"escrow release proven but its payout refused, the "
                               f"beneficiary bank's account blacklisted "
                               f"({listed.label if listed else 'sanction'})", x, D, "escrow")
                    return
                t = env.now
                yield env.timeout(max(0.0, listed.end - env.now))
                step("frozen", "escrow", t, env.now, 0, S,
                     f"release proven, payout owed until the sanction is lifted: "
                     f"{listed.label}")
                op = TxOp("claim", b_acc, "SettlementEscrow", "escrow", "claim",
                          (payer, lock_terms), pid, parties=(b_addr,))
                yield submit(op)
                r = mined(op, "beneficiary bank claims the owed payout")
                if not r.ok:
                    freeze_out(f"escrow payout claim reverted: {r.error}", x, D, "escrow")
                    return
        else:
            why = "rejected in the beneficiary bank's compliance review"
        if released and escrow_bps:
            # the escrow keeps its fee out of the release
            paid_tok = lock_tok - lock_tok * escrow_bps // 10_000
            fee_escrow = x - paid_tok // scale_d
            r_esc = report(fee_escrow)
            step("escrow", chain_place, env.now, env.now, r_esc, S, self._escrow_text)
        if not released:
            if env.now < deadline:
                t = env.now
                yield env.timeout(deadline - env.now)
                step("escrow", chain_place, t, env.now, 0, S,
                     "waiting for the lock's deadline to refund it")
            op = TxOp("refund", s_acc, "SettlementEscrow", "escrow", "refund",
                      (s_addr, lock_terms), pid, parties=(s_addr,)) if swap is None else \
                self.amm.reclaim_op(s_acc, lock_terms, pid)  # type: ignore[union-attr]
            yield submit(op)
            r = mined(op, "ordering bank refunds the lock after its deadline")
            if not r.ok and r.error == "AccountBlacklisted":
                self._stuck[("escrow", sb, D)] += x
                freeze_out(f"{why}; the refund refused, the ordering bank's account "
                           f"blacklisted ({self._listed(s_acc)})", x, D, "escrow")
                return
            record(hold("escrow", sb, D), env.now, -x, pid)
            record(hold("holdings", sb, D), env.now, x, pid)
            if lock_tok % tok_d:   # a pool's output below a minor unit comes back too
                self._dust[(sb, D)] = self._dust.get((sb, D), 0) + lock_tok % tok_d
            give_back(why, "returned", x, D, chain_place)
            return
        # released: the beneficiary bank holds what the escrow paid out (less its fee)
        record(hold("escrow", sb, D), env.now, -x, pid)
        paid_tok = lock_tok - lock_tok * escrow_bps // 10_000
        record(hold("holdings", bb, D), env.now, paid_tok // scale_d, pid)
        # token units below a minor unit stay with the bank (the tables count whole units)
        self._dust[(bb, D)] = self._dust.get((bb, D), 0) + paid_tok % scale_d

        # 6. finality
        t = env.now
        fin = self._finality_s
        if fin > 0:
            yield env.timeout(fin)
        step("finality", chain_place, t, env.now, 0, S, self._finality_text)

        # 7. off-ramp and crediting
        paid_tok = lock_tok - lock_tok * escrow_bps // 10_000
        paid = paid_tok // scale_d
        fee_escrow = x - paid
        off_spec = cD.ramp
        f_off = percent_of(paid, cD.offramp_pct)
        f_ben = self._bank_fee(ben, "beneficiary_fee", p, paid, D)
        if p.charge_option != "OUR" and f_off + f_ben > paid:
            # deducted fees cannot take more than arrived (the accounts stay exact)
            f_off = min(f_off, paid)
            f_ben = paid - f_off
        omode = off_spec.offramp_mode
        redeem_args = (cD.minter_address, paid * scale_d)
        r_off, r_ben = report(f_off), report(f_ben)
        if omode == "prefunded":
            # the bank pays its customer out of its own float at once, and redeems the
            # stablecoin to restore the float once the customer is credited (below)
            t = env.now
            step("offramp", b_acc, t, t, r_off, S,
                 "paid out of the bank's pre-funded float; off-ramp fee")
        else:
            got, loss_d, sold = yield from self._redeem(D, redeem_args, b_acc, pid, mined,
                                                        step, S, b_addr, ben.id)
            if got == "blacklisted":
                freeze_out(f"redemption refused, the beneficiary bank's account blacklisted "
                           f"({self._listed(b_acc)})", paid, D, b_acc)
                return
            if sold:
                # sold on the secondary market during the issuer's freeze: paid at once,
                # the bank bears the loss; its customer is credited as charged
                acct.loss = report(loss_d)
                t = env.now
                step("offramp", f"market:{D}", t, t, r_off, S, f"{sold}; off-ramp fee")
            else:
                t, end, how = self._fiat_leg(D, omode, off_spec, Z[_Z_OFF_WIRE], "off-ramp",
                                             step, S, env.now)
                step("offramp", cD.issuer, t, end, r_off, S,
                     f"issuer pays out by {how}; off-ramp fee")
                t = end
        # crediting at the beneficiary bank, as it credits any incoming payment
        credit = ben.credit
        if self._outages:
            down = events.outage(ben.id, t)
            if down is not None:
                step("outage", ben.id, t, down.end, 0, S, f"{ben.id} down: {down.label}")
                t = down.end
        if U[_U_STP] < credit.stp_share:
            c_end = t + credit.stp_seconds.sample(Z[_Z_CREDIT])
            if not credit.outside_hours:
                c_start = ben.calendar.next_open(t)
                c_end = c_start + (c_end - t)
            how = "straight-through credit"
        else:
            hours = credit.manual_hours.sample(Z[_Z_CREDIT])
            c_end = ben.calendar.add_business_seconds(ben.calendar.next_open(t), hours * 3600)
            how = f"batch/manual credit ({hours:.1f} business h)"
        if S != D and f_ben:   # the fee in its own currency (fixed fees: a few texts)
            fee_text = self._fee_texts.get((f_ben, D))
            if fee_text is None:
                fee_text = self._fee_texts[(f_ben, D)] = (
                    f"; beneficiary bank fee {format_minor(f_ben, D)}")
            how += fee_text
        # the payout and the crediting touch nothing shared: laid out, not slept through
        step("credit", ben.id, t, c_end, r_ben, S, how)
        credited_at = c_end
        if omode == "prefunded":
            # the redemption after the credit; its gas is part of this payment's cost
            yield env.timeout(c_end - env.now)
            got, loss_d, _sold = yield from self._redeem(D, redeem_args, b_acc, pid, mined,
                                                         step, S, b_addr, ben.id)
            acct.loss = report(loss_d)   # the bank's, restoring its float below par
            if got == "blacklisted":
                # the customer was paid out of the float; the bank's stablecoin is frozen
                step("frozen", b_acc, env.now, env.now, 0, S,
                     f"the bank's {format_minor(paid, D)} as {D}x frozen, its account "
                     f"blacklisted ({self._listed(b_acc)})")
        fees = {"sender_bank": f_bank, "onramp": f_on,
                "escrow": report(fee_escrow), "offramp": r_off, "beneficiary_bank": r_ben}
        if p.charge_option == "OUR":
            delivered = paid
            fees["_billed"] = fees["offramp"] + fees["beneficiary_bank"]
        else:
            delivered = paid - f_off - f_ben
        close("credited", None, delivered, 0, fees, credited_at, S != D,
              report(delivered))

    def _amm_detail(self, swap: SwapOrder) -> str:
        assert self.amm is not None
        return swap.describe(self.amm.fee_text(swap.legs), self.amm.limit_bps)

    def _amm_failure(self, swap: SwapOrder, error: str | None) -> str:
        if error == "SlippageExceeded":
            return (f"AMM slippage beyond the limit: the swap reverted (SlippageExceeded), the "
                    f"pools having moved past the {self.spec.fx.max_slippage_bps} bp slippage "
                    "limit before it was mined")
        return f"AMM swap reverted: {error}"

    def _redeem(self, ccy: str, args: tuple[Any, ...], who: str, pid: str,
                mined: Callable[[TxOp, str], TxResult], step: Callable[..., None], S: str,
                who_addr: str, bank_id: str) -> Generator[Any, Any, tuple[str, int, str]]:
        """The beneficiary bank returns the stablecoin to the issuer, who burns it;
        ``mined`` accounts for each transaction in the payment's steps.

        During the issuer's freeze the bank waits for it to end (policy ``wait``) or
        sells on the secondary market at the freeze's price (``sell``). Returns
        ``(outcome, loss, sold)``: ``"ok"`` or ``"blacklisted"`` (the token refused the
        bank's transfer), the loss of a sale below par (minor units of ``ccy``) and,
        after a sale, what the off-ramp step says of it (``""`` otherwise)."""
        c = self._ccy(ccy)
        submit = self.producer.submit
        if self._freezes:
            fz = self.events.freeze(ccy, self.env.now)
            if fz is not None:
                if fz.policy_of(bank_id) == "sell":
                    return (yield from self._sell(c, int(args[1]), who, pid, mined, who_addr))
                yield from self._await_issuer(ccy, c.issuer, "redemption paused", step, S)
        op = TxOp("redeem", who, "Stablecoin", c.key, "transfer", args, pid,
                  parties=(who_addr,))
        yield submit(op)
        r = mined(op, c.redeem_text)
        if not r.ok:
            return ("blacklisted" if r.error == "AccountBlacklisted" else "reverted", 0, "")
        self.bal.change(self.holding("holdings", who.removeprefix("bank:"), ccy),
                        self.env.now, -(int(args[1]) // c.tok), pid)
        while True:
            op = TxOp("burn", c.minter, "Stablecoin", c.key, "burn", (int(args[1]),), pid)
            yield submit(op)
            r = mined(op, c.burn_text)
            if r.ok or r.error != "CallerNotMinter":
                return ("ok", 0, "")
            # the freeze began after the transfer: the issuer burns once it can again
            yield from self._await_issuer(ccy, c.issuer, "burn refused", step, S)

    def _sell(self, c: _Ccy, amount_tok: int, who: str, pid: str,
              mined: Callable[[TxOp, str], TxResult], who_addr: str
              ) -> Generator[Any, Any, tuple[str, int, str]]:
        """Sell ``amount_tok`` of ``c``'s stablecoin to the secondary market (a transfer to
        its account) at the freeze's price when the transfer is mined; see :meth:`_redeem`."""
        market = self._market_address(c.code)
        op = TxOp("sell", who, "Stablecoin", c.key, "transfer", (market, amount_tok), pid,
                  parties=(who_addr,))
        yield self.producer.submit(op)
        minor = amount_tok // c.tok
        r = mined(op, f"sell {format_minor(minor, c.code)} as {c.code}x on the secondary "
                      "market")
        if not r.ok:
            return ("blacklisted" if r.error == "AccountBlacklisted" else "reverted", 0, "")
        self.bal.change(self.holding("holdings", who.removeprefix("bank:"), c.code),
                        self.env.now, -minor, pid)
        fz = self.events.freeze(c.code, self.env.now)
        # quoted to four decimals (USD per token), as the price path's sources give it
        price = (Decimal(repr(fz.price_at(self.env.now))).quantize(_PRICE_STEP)
                 if fz is not None else Decimal(1))
        proceeds = int((Decimal(minor) * price).to_integral_value(rounding=ROUND_FLOOR))
        loss = minor - proceeds
        label = fz.label if fz is not None else "after the freeze"
        return ("ok", loss, f"sold on the secondary market at {price:.4f} USD per token, "
                            f"the issuer's redemption paused ({label}); loss "
                            f"{format_minor(loss, c.code)}")

    def _market_address(self, ccy: str) -> str:
        a = self._markets.get(ccy)
        if a is None:
            a = self._markets[ccy] = named_address(market_account(ccy))
        return a

    def _await_issuer(self, ccy: str, place: str, what: str, step: Callable[..., None],
                      S: str) -> Generator[Any, Any, None]:
        """Wait for the end of ``ccy``'s issuer's freeze (an ``outage`` step)."""
        env = self.env
        fz = self.events.freeze(ccy, env.now)
        if fz is None:
            return
        t = env.now
        yield env.timeout(fz.end - t)
        step("outage", place, t, env.now, 0, S, f"{what}: {fz.label}")

    def _sanction_on(self, account: str, bank_id: str) -> EventOf | None:
        """The sanction in force now on a bank or its on-chain account, if any."""
        now = self.env.now
        return self.events.sanction(bank_id, now) or self.events.sanction(account, now)

    def _listed(self, account: str) -> str:
        """The label of the sanction that blacklisted ``account`` (a bank's)."""
        hit = self._sanction_on(account, account[5:] if account.startswith("bank:") else "")
        if hit is None:     # blacklisted by a sanction whose instant has just passed
            cands = [e for e in self.events.of_kind("sanction")
                     if e.target in (account, account[5:])]
            hit = cands[-1] if cands else None
        return hit.label if hit is not None else "sanctioned"


def market_account(ccy: str) -> str:
    """The on-chain account of ``ccy``'s stablecoin's secondary market (where banks sell
    it during its issuer's freeze)."""
    return f"market:{ccy}"


def _holders(workload: Sequence[Payment], events: EventSchedule | None = None
             ) -> list[tuple[str, str]]:
    pairs = set()
    if events:
        pairs |= {(market_account(e.target), e.target)
                  for e in events.of_kind("issuer_freeze")}
    for p in workload:
        s, b = bank_account(p.sender_bank), bank_account(p.beneficiary_bank)
        pairs |= {(s, p.currency_sent), (s, p.currency_delivered), (b, p.currency_delivered),
                  (LP, p.currency_sent), (LP, p.currency_delivered)}
    return sorted(pairs)


def run(network: BankNetwork | None = None, workload: Workload | None = None, seed: int = 0,
        *, spec: OnChainSpec | None = None, chain: str | ChainProfile | None = None,
        ledger: str | None = None, congestion: Sequence[Congestion] = (),
        record_blocks: bool = False, events: EventSchedule | None = None,
        rates: Mapping[str, float] | None = None, balances: bool = True) -> Results:
    """Run ``workload`` through the on-chain rail; deterministic given ``seed``.

    Parameters
    ----------
    network : default :meth:`BankNetwork.default`
    workload : default ``Workload.generate(seed=seed, n_payments=200, network=network)``
    seed : seeds the rail's per-payment draws and the fee market
    spec : on-chain settings (default ``sim/data/onchain.toml``)
    chain : a chain profile or its name (default: the spec's)
    ledger : ``"contracts"`` (real contracts on the embedded chain) or ``"table"``
        (measured gas table); default: the spec's
    congestion : episodes of forced background demand (gas spikes)
    events : stress and failure events (:class:`~sim.events.EventSchedule`; default none);
        its congestion episodes are those of ``congestion``
    record_blocks : keep every block's signed transactions in ``meta["blocks_raw"]``
        (contracts ledger; for replaying them on the bare EVM)
    rates : opportunity rates per currency (default ``sim/data/rates.toml``)
    balances : record the on-chain balances (``Results.balances``, the liquidity and
        risk columns); ``False`` leaves them out (zeros)

    Returns
    -------
    Results
        ``payments`` ordered by payment index, ``steps`` by payment then ``seq``;
        ``meta`` has the gas table, blocks mined (``blocks``), every slot the fee
        market stepped through (``slots``), the provider's replenishments and, with
        contracts, the check of balances against total supply.
    """
    network = network or BankNetwork.default()
    spec = spec or OnChainSpec.default()
    if workload is None:
        workload = Workload.generate(seed=seed, n_payments=200, network=network)
    profile = chain if isinstance(chain, ChainProfile) else get_chain_profile(
        chain or spec.chain)
    mode = ledger or spec.ledger
    if mode not in ("contracts", "table"):
        raise InputError(f"ledger must be 'contracts' or 'table', not {mode!r}")
    payments = list(workload)
    start = float(min([workload.start] + [p.created_at for p in payments[:1]]))
    t0 = int(start)
    currencies = sorted({p.currency_sent for p in payments} | {p.currency_delivered
                                                                for p in payments} or {"USD"})
    clock = time.perf_counter()
    table = measure_rail_gas(spec.release)
    amm = amm_market(network, payments, spec)
    if amm is not None:
        currencies = sorted(set(currencies) | amm.currencies())
    led: Ledger
    if mode == "contracts":
        if profile.block_time_s < 1 or profile.block_time_s != int(profile.block_time_s):
            raise InputError(f"the contracts ledger needs whole-second blocks; {profile.name} "
                             f"has {profile.block_time_s} s (use ledger='table')")
        led = contracts_ledger(network, payments, spec, t0, amm, events)
        if record_blocks:
            led.record = []
    else:
        led = GasTableLedger(currencies, table, amm.setups if amm is not None else ())
    env = simpy.Environment(initial_time=t0)
    events = events or EventSchedule.none()
    market = fee_market(profile, seed, congestion,
                        [(h.start, h.end) for h in events.halts_of(profile.name)])
    builder = ResultsBuilder(RAIL, BalanceRecorder(
        RAIL, load_rates(overrides=rates), enabled=balances, fx=network.fx.rate))
    rail = OnChainRail(env, network, spec, profile, led, market, seed, builder, amm,
                       events=events)
    rail.submit(payments)
    setup_s = time.perf_counter() - clock
    # the EVM's objects are its own affair: the collector runs as usual with contracts
    with paused_gc() if mode == "table" else contextlib.nullcontext():
        cpu = time.process_time()
        env.run()
        simulate_cpu_s = time.process_time() - cpu
        simulate_s = time.perf_counter() - clock - setup_s
        _expect_balances(rail, led)
        try:
            res = builder.build(order=[p.payment_id for p in payments])
        except MoneyOverflowError as exc:
            gas = max((r.fees.get("gas", 0) for r in builder.payments_added()
                       if r.payment_id == exc.payment_id), default=0)
            hint = (_overflow_hint(profile, congestion) if gas > _INT64_MAX else
                    "the payment's own amounts are too large for the tables; check the "
                    "workload's amounts")
            raise MoneyOverflowError(exc.payment_id, exc.column, exc.value, hint) from exc
    meta: dict[str, Any] = {
        "calendars": country_calendars(network), "seed": seed, "network": network.name,
        "chain": profile.name, "ledger": mode, "gas_table": dict(table.exec_gas),
        "blocks": rail.producer.blocks, "gas_total": rail.producer.gas_total,
        # every slot of the chain the fee market stepped through (blocks with the rail's
        # transactions and without), from the first block on
        "slots": market.slots_stepped,
        "replenishments": list(rail.replenishments),
        "usd_per_minor": usd_factors(currencies, network.fx.rate),
        "timing": {"setup_s": setup_s, "simulate_s": simulate_s,
                   "simulate_cpu_s": simulate_cpu_s},
    }
    if amm is not None:
        meta["arbitrage"] = list(amm.trades)
        meta["amm_pools"] = {k: (m.reserve0, m.reserve1) for k, m in amm.pools.mirrors.items()}
    if isinstance(led, ContractLedger):
        meta["supply_check"] = led.check_supply()
        meta["timing"]["mine_s"] = led.mine_s
        if led.record is not None:
            meta["blocks_raw"] = led.record
    return Results(res.payments, res.steps, meta, balances=res.balances)


def _expect_balances(rail: OnChainRail, led: Ledger) -> None:
    """What the rail's balances must end at: the provider's inventory as the rail holds
    it; every swap leg and lock settled, released or refunded (zero); with the contracts
    ledger, each bank's stablecoin holding as the token contract holds it."""
    bal = rail.bal
    for ccy, amount in rail.inventory.items():
        bal.expect(rail.holding("provider", LP, ccy), amount)
    for (kind, bank, ccy), i in rail._bal_ids.items():
        if kind in ("swap", "escrow"):
            # settled, released or refunded; or frozen there by a sanction
            bal.expect(i, rail._stuck.get((kind, bank, ccy), 0))
        elif kind == "holdings" and isinstance(led, ContractLedger):
            # less the standing balance the ledger's warm-up gave every holder
            held = (led.stack.tokens[ccy].balance_of(bank_account(bank)) - STANDING_TOKENS
                    - rail._dust.get((bank, ccy), 0))
            unit = OnChainRail.tok(1, ccy)
            bal.expect(i, held // unit if held % unit == 0 else -1 - abs(held))


def fee_market(profile: ChainProfile, seed: int, congestion: Sequence[Congestion] = (),
               halts: Sequence[tuple[float, float]] = ()) -> FeeMarket:
    """The fee market :func:`run` steps for ``seed``: its own random stream, apart from
    the payments' draws."""
    seed = whole_number("seed", seed, 0)
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0xFEE,))))
    return FeeMarket(profile, rng, congestion, halts)


def _overflow_hint(profile: ChainProfile, congestion: Sequence[Congestion]) -> str:
    """Why a payment's gas can outgrow the tables, and what to change."""
    if not congestion:
        return (f"check the fee market of chain profile {profile.name!r} (initial base fee, "
                "native-token price)")
    longest = max(congestion, key=lambda e: e.end - e.start)
    return (f"on {profile.name}, congestion holding blocks at {longest.utilisation:.0%} of "
            f"the gas limit for {(longest.end - longest.start) / 3600:g} h raises the EIP-1559 "
            "base fee by up to 1/max_change_denominator a block for as long as it lasts, "
            "without bound, and gas with it; shorten the episodes or lower their utilisation")


def amm_market(network: BankNetwork, payments: Sequence[Payment],
               spec: OnChainSpec) -> AmmMarket | None:
    """The pools (seeded) and arbitrageurs of the AMM route for these payments; ``None`` with
    the provider route. ``InputError`` for a pool naming a currency the network lacks, or a
    conversion no pool path serves."""
    if spec.fx.route != "amm":
        return None
    problems = spec.fx.check_pools(network.fx.per_base)
    if problems:
        raise InputError(problems[0])
    pairs = sorted({(p.currency_sent, p.currency_delivered) for p in payments})
    return AmmMarket(spec.fx, network.fx.rate, pairs)


def contracts_ledger(network: BankNetwork, payments: Sequence[Payment], spec: OnChainSpec,
                     t0: int, amm: AmmMarket | None = None,
                     events: EventSchedule | None = None) -> ContractLedger:
    """The contracts ledger ``run`` builds for these payments (deployed, warm, funded; with
    the AMM route, the router and the pools too)."""
    currencies = sorted({p.currency_sent for p in payments} | {p.currency_delivered
                                                                for p in payments} or {"USD"})
    if amm is not None:
        currencies = sorted(set(currencies) | amm.currencies())
    led = ContractLedger(currencies, _holders(payments, events), t0 - 3_600,
                         spec.escrow.fee_bps, measure_rail_gas(spec.release),
                         amm.setups if amm is not None else ())
    _fund_provider(led, payments, spec, network)
    return led


def _fund_provider(led: ContractLedger, payments: Sequence[Payment], spec: OnChainSpec,
                   network: BankNetwork) -> None:
    """Mint the provider's opening inventory on the chain (mirrors the rail's accounts)."""
    chain, stack = led.chain, led.stack
    chain.set_automine(False)
    usd = Decimal(str(spec.fx.inventory_usd))
    for ccy in sorted({p.currency_delivered for p in payments} | {p.currency_sent
                                                                 for p in payments}):
        minor = int((usd * network.fx.rate("USD", ccy)
                     * (Decimal(10) ** minor_exponent(ccy))).to_integral_value())
        stack.tokens[ccy].mint(LP, OnChainRail.tok(minor, ccy), sender=_minter(ccy))
    chain.mine()
