"""Stateful property test: the settlement contracts against a Python mirror.

A Hypothesis state machine drives random sequences of mints, burns, minter
configuration, transfers (also to the escrow and the swap contract, by mistake),
approvals, EIP-2612 permits, escrow locks (plain and with permit), releases,
claims of proven releases, rejections by the settlement agent, refunds, fee
withdrawals, rescues, FX swap fundings (plain and with permit), settlements and
refunds, blacklisting, pausing, fee changes and clock advances through the real
contracts on the embedded chain.
The stack is deployed once per module on a chain with a fixed genesis instant;
every example starts by reverting to the same snapshot.

Every rule predicts from the mirror whether its transaction must succeed or
revert, and with which custom error (the contracts' checks in their order),
sends it, asserts the outcome, and updates the mirror only on success. After a
success, the ERC-20 ``Transfer`` events of the receipt must be exactly the
balance moves the mirror predicted: nothing else moved.

After every step, the ``chain_matches_mirror`` invariant checks:

* the storage of every contract the step was not meant to change is unchanged
  (storage trie roots): after a revert, or a clock advance, that is every
  contract, so a blacklisted or paused actor's attempt, a wrong preimage, a
  wrong agent, a late release or an early refund provably changed nothing;
* after a success, every value the step may have changed (balances of the
  parties and of the escrow, FX contract and fee collector, allowances, nonces,
  supplies, the minter allowance, ``lockedBalance``, ``accruedFees``,
  ``heldBalance``, lock and swap records, flags), read in one batched call, is
  what the mirror says; the minter allowance never rose unless
  ``configureMinter`` ran.

At the end of every example a sweep reads the whole tracked state (every
balance, the supplies, every lock and swap), compares it with the mirror and
checks the identities that must hold on the chain by itself:

* per token, the tracked balances sum to ``totalSupply``;
* the escrow holds ``lockedBalance`` (the amounts of its open and proven locks)
  plus ``accruedFees`` plus what was sent to it by mistake and not rescued; the
  FX contract holds ``heldBalance`` (the funded legs of its open swaps) plus its
  own such surplus: a rescue never takes what either owes.

The mirror itself is checked after every step for the same identities, and for
the life-cycle rules: a lock ends exactly once and never reopens (a release
proven during a pause is not an end: it is paid by a claim, never refunded),
fees are pulled, never pushed by a release, an open swap has exactly one funded
leg, a settled swap delivered both.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from eth_abi import encode
from eth_account import Account
from eth_utils import keccak, to_checksum_address
from hypothesis import event
from hypothesis import strategies as st
from hypothesis.stateful import (
    Bundle,
    RuleBasedStateMachine,
    initialize,
    invariant,
    multiple,
    rule,
)

from settlement import (
    Chain,
    ContractRevert,
    EscrowClient,
    FxSwapClient,
    LockState,
    LockTerms,
    Receipt,
    StablecoinClient,
    SwapState,
    SwapTerms,
    deploy_stack,
    hashlock_of,
    minter_name,
)
from settlement.clients import PERMIT_TYPES

#: Fixed genesis instant (2026-01-01T00:00:00Z), so every run sees the same chain.
GENESIS = 1_767_225_600
CCYS = ("USD", "EUR")
#: Escrow fee at deployment; ``set_fee`` changes it for later locks.
FEE_BPS = 30
MAX_FEE_BPS = 1_000

CLIENTS = tuple(f"client_{i}" for i in range(4))
FX_PROVIDER = "fx_provider"
AGENT = "settlement_agent"
RELAYER = "relayer"
OBSERVER = "observer"
FEE_COLLECTOR = "fee_collector"
#: Holder keys that stand for something other than a named account.
MINTER = "minter"  # the currency's issuer, minter_<CCY>
ESCROW = "escrow"
FX = "fx"
#: Accounts that hold funds, approve, lock and fund swaps.
PARTIES = (*CLIENTS, FX_PROVIDER)
#: Every holder whose balance is tracked; together they hold the whole supply.
HOLDERS = (*PARTIES, AGENT, FEE_COLLECTOR, MINTER, ESCROW, FX)
BLACKLISTABLE = (*PARTIES, MINTER, FEE_COLLECTOR, ESCROW, FX)

INITIAL_BALANCE = 10_000_000
INITIAL_ALLOWANCE = 10**13
MAX_UINT = 2**256 - 1
ZERO_ADDRESS = to_checksum_address("0x" + "00" * 20)
ZERO32 = b"\x00" * 32
SECRETS = tuple(hashlib.sha256(f"settlesim property secret {i}".encode()).digest()
                for i in range(2))
WRONG_PREIMAGE = hashlib.sha256(b"settlesim property wrong preimage").digest()

LOCK_TERMS_ABI = "(address,address,uint256,uint64,bytes32,address,uint16,bytes32)"
SWAP_TERMS_ABI = "(address,address,uint256,address,address,uint256,uint64,bytes32)"

Key = tuple[Any, ...]
Move = tuple[str, str | None, str | None, int]  # (ccy, from, to, amount); None: mint/burn side


def contract_of(key: Key) -> str:
    """The contract whose storage holds the value ``key`` reads."""
    if key[0] in ("fee", "lock", "locked", "fees"):
        return ESCROW
    if key[0] in ("swap", "held"):
        return FX
    return str(key[1])


# ---------------------------------------------------------------------- the chain


def _assemble_reader() -> bytes:
    """EVM init code that STATICCALLs each record appended to it and returns the results.

    Sent as a contract-creating ``eth_call``, it reads a few dozen views for the price of
    one call. A record is ``target | calldata length | return size`` (32-byte words) and
    then the calldata. The result is a zero word (so the returned "code" never starts with
    0xEF) followed by each view's return data; the call reverts if a view reverts or
    returns another size than declared.
    """
    code: list[int | str] = []
    labels: dict[str, int] = {}

    def op(*items: int | str) -> None:
        code.extend(items)

    def label(name: str) -> None:
        labels[name] = sum(2 if isinstance(x, str) else 1 for x in code)

    # stack comments list the top first
    op(0x61, "@records")                # PUSH2 records             [L]
    op(0x80, 0x38, 0x03)                # DUP1 CODESIZE SUB         [end L]
    op(0x80, 0x91, 0x60, 0x00, 0x39)    # CODECOPY(0, L, end)       [end]
    op(0x60, 0x00)                      # p = 0                     [p end]
    op(0x81, 0x60, 0x20, 0x01)          # o = end + 32              [o p end]
    label("loop")
    op(0x5B)                            # JUMPDEST
    op(0x82, 0x82, 0x10, 0x15)          # p < end ?
    op(0x61, "@done", 0x57)             # no: done
    op(0x81, 0x60, 0x40, 0x01, 0x51)    # size = mload(p + 64)      [size o p end]
    op(0x81)                            # out offset                [o size o p end]
    op(0x83, 0x60, 0x20, 0x01, 0x51)    # len = mload(p + 32)
    op(0x84, 0x60, 0x60, 0x01)          # args at p + 96
    op(0x85, 0x51)                      # target = mload(p)
    op(0x5A, 0xFA)                      # STATICCALL(gas, ...)      [ok o p end]
    op(0x15, 0x61, "@fail", 0x57)       # reverted: fail            [o p end]
    op(0x81, 0x60, 0x40, 0x01, 0x51)    # size                      [size o p end]
    op(0x80, 0x3D, 0x14, 0x15)          # returndatasize != size ?
    op(0x61, "@fail", 0x57)             # yes: fail                 [size o p end]
    op(0x01, 0x90)                      # o += size; SWAP1          [p o end]
    op(0x80, 0x60, 0x20, 0x01, 0x51)    # len                       [len p o end]
    op(0x01, 0x60, 0x60, 0x01)          # p += len + 96             [p o end]
    op(0x90, 0x61, "@loop", 0x56)       # SWAP1; JUMP loop          [o p end]
    label("done")
    op(0x5B, 0x82, 0x81, 0x03)          # JUMPDEST; o - end         [n o p end]
    op(0x83, 0xF3)                      # RETURN(end, n)
    label("fail")
    op(0x5B, 0x60, 0x00, 0x80, 0xFD)    # JUMPDEST; REVERT(0, 0)
    label("records")
    out = bytearray()
    for x in code:
        out += labels[x[1:]].to_bytes(2, "big") if isinstance(x, str) else bytes([x])
    return bytes(out)


READER = _assemble_reader()


def _static_size(item: dict[str, Any]) -> int:
    """Bytes a static ABI value takes (a view's return value)."""
    if item["type"] == "tuple":
        return sum(_static_size(c) for c in item["components"])
    if item["type"] in ("string", "bytes") or item["type"].endswith("]"):
        return -1  # dynamic: not read through the reader
    return 32



@dataclass
class World:
    """The stack deployed once, the snapshot every example starts from, and addresses."""

    chain: Chain
    snapshot: Any
    start_timestamp: int
    token_address: dict[str, str]
    escrow_address: str
    fx_address: str
    address: dict[tuple[str, str], str]  # (ccy, holder) -> address
    holder_of: dict[tuple[str, str], str]  # (ccy, address) -> holder
    ccy_of: dict[str, str]  # token address -> ccy
    keys: dict[str, bytes]
    minter_allowance: int
    tokens: dict[str, StablecoinClient]
    escrow: EscrowClient
    fx: FxSwapClient
    observer: str
    contracts: dict[str, str]  # "USD", "EUR", "escrow", "fx" -> address
    return_size: dict[tuple[str, str], int]  # (contract, view) -> bytes returned

    def addr(self, ccy: str, holder: str) -> str:
        return self.address[(ccy, holder)]

    def call_of(self, key: Key) -> tuple[str, str, str, tuple[Any, ...]]:
        """``(address, contract, function, args)`` of the view that reads ``key``."""
        kind = key[0]
        if kind == "fee":
            return self.escrow_address, "SettlementEscrow", "feeBps", ()
        if kind == "lock":
            return self.escrow_address, "SettlementEscrow", "getLock", (key[1],)
        if kind == "swap":
            return self.fx_address, "FxSwap", "getSwap", (key[1],)
        ccy = key[1]
        if kind == "locked":
            return self.escrow_address, "SettlementEscrow", "lockedBalance", (
                self.token_address[ccy],)
        if kind == "fees":
            return self.escrow_address, "SettlementEscrow", "accruedFees", (
                self.token_address[ccy],)
        if kind == "held":
            return self.fx_address, "FxSwap", "heldBalance", (self.token_address[ccy],)
        fn, args = {
            "supply": ("totalSupply", ()),
            "paused": ("paused", ()),
            "mallow": ("minterAllowance", (MINTER,)),
            "is_minter": ("isMinter", (MINTER,)),
            "bal": ("balanceOf", key[2:]),
            "allow": ("allowance", key[2:]),
            "nonce": ("nonces", key[2:]),
            "bl": ("isBlacklisted", key[2:]),
        }[kind]
        return (self.token_address[ccy], "Stablecoin", fn,
                tuple(self.addr(ccy, holder) for holder in args))

    def read(self, keys: Iterable[Key]) -> dict[Key, Any]:
        """Read the views behind ``keys`` in one ``eth_call`` (see :func:`_assemble_reader`)."""
        keys = list(keys)
        if not keys:
            return {}
        abis = self.chain.abis
        data = bytearray(READER)
        calls = []
        for key in keys:
            address, contract, fn, args = self.call_of(key)
            calldata = abis.encode_call(contract, fn, args)
            size = self.return_size[(contract, fn)]
            data += encode(["address", "uint256", "uint256"], [address, len(calldata), size])
            data += calldata
            calls.append((contract, fn, size))
        raw = bytes(self.chain.w3.eth.call({  # type: ignore[typeddict-item]
            "from": self.observer, "data": "0x" + data.hex()}))
        assert len(raw) == 32 + sum(size for _, _, size in calls), "the reader misread"
        out: dict[Key, Any] = {}
        pos = 32
        for key, (contract, fn, size) in zip(keys, calls, strict=True):
            value = abis.decode_result(contract, fn, raw[pos:pos + size])
            out[key] = dict(value) if isinstance(value, dict) else value
            pos += size
        return out

    def storage_roots(self) -> dict[str, bytes]:
        """Each contract's storage trie root: the same root is the same storage, slot by slot."""
        return {name: self.chain.storage_root(address)
                for name, address in self.contracts.items()}

    def sign_permit(self, ccy: str, signer: str, owner: str, spender: str, value: int,
                    nonce: int, deadline: int) -> tuple[int, bytes, bytes]:
        domain = {"name": f"{ccy} Stablecoin", "version": "1", "chainId": self.chain.chain_id,
                  "verifyingContract": self.token_address[ccy]}
        message = {"owner": self.addr(ccy, owner), "spender": self.addr(ccy, spender),
                   "value": value, "nonce": nonce, "deadline": deadline}
        signed = Account.sign_typed_data(self.keys[signer], domain, PERMIT_TYPES, message)
        return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    def lock_id(self, payer: str, terms: LockTerms) -> bytes:
        return keccak(encode(["uint256", "address", "address", LOCK_TERMS_ABI],
                             [self.chain.chain_id, self.escrow_address, payer, terms.as_abi()]))

    def swap_id(self, terms: SwapTerms) -> bytes:
        return keccak(encode(["uint256", "address", SWAP_TERMS_ABI],
                             [self.chain.chain_id, self.fx_address, terms.as_abi()]))


@cache
def world() -> World:
    chain = Chain(genesis_timestamp=GENESIS)
    stack = deploy_stack(chain, CCYS, escrow_fee_bps=FEE_BPS)
    names = (*PARTIES, AGENT, RELAYER, OBSERVER)
    chain.accounts(names)  # created and funded with ether before the snapshot
    address: dict[tuple[str, str], str] = {}
    for ccy in CCYS:
        for holder in HOLDERS:
            if holder == ESCROW:
                address[(ccy, holder)] = stack.escrow.address
            elif holder == FX:
                address[(ccy, holder)] = stack.fx.address
            elif holder == MINTER:
                address[(ccy, holder)] = chain.account(minter_name(ccy))
            else:
                address[(ccy, holder)] = chain.account(holder)
    for ccy, token in stack.tokens.items():
        token.mint(minter_name(ccy), INITIAL_BALANCE, sender=minter_name(ccy))  # float to burn
        for party in PARTIES:
            token.mint(party, INITIAL_BALANCE, sender=minter_name(ccy))
            token.approve(stack.escrow.address, INITIAL_ALLOWANCE, sender=party)
            token.approve(stack.fx.address, INITIAL_ALLOWANCE, sender=party)
    minter_allowance = stack.tokens[CCYS[0]].minter_allowance(minter_name(CCYS[0]))
    w = World(
        chain=chain,
        snapshot=chain.snapshot(),
        start_timestamp=chain.latest_timestamp(),
        token_address={ccy: t.address for ccy, t in stack.tokens.items()},
        escrow_address=stack.escrow.address,
        fx_address=stack.fx.address,
        address=address,
        holder_of={(ccy, a): h for (ccy, h), a in address.items()},
        ccy_of={to_checksum_address(t.address): ccy for ccy, t in stack.tokens.items()},
        keys={n: chain.private_key(n) for n in PARTIES},
        minter_allowance=minter_allowance,
        tokens=stack.tokens,
        escrow=stack.escrow,
        fx=stack.fx,
        observer=chain.account(OBSERVER),
        contracts={**{ccy: t.address for ccy, t in stack.tokens.items()},
                   ESCROW: stack.escrow.address, FX: stack.fx.address},
        return_size={(contract, item["name"]): sum(_static_size(o) for o in item["outputs"])
                     for contract, abi in chain.abis.abis.items() for item in abi
                     if item.get("type") == "function"
                     and item.get("stateMutability") in ("view", "pure")},
    )
    sweep(w, Mirror.initial(w))  # the snapshot is what the mirror starts from
    return w


# --------------------------------------------------------------------- the mirror


@dataclass
class TokenMirror:
    balances: dict[str, int]
    minted: int
    burned: int
    minter_allowance: int
    is_minter: bool = True
    paused: bool = False
    blacklisted: set[str] = field(default_factory=set)
    allowances: dict[tuple[str, str], int] = field(default_factory=dict)
    nonces: dict[str, int] = field(default_factory=dict)


@dataclass(eq=False)
class LockMirror:
    lock_id: bytes
    terms: LockTerms
    payer: str
    ccy: str
    beneficiary: str
    amount: int
    deadline: int
    secret: int | None
    with_agent: bool
    fee_bps: int
    state: LockState = LockState.OPEN
    ends: int = 0  # successful releases and refunds: must end up at most 1

    def __repr__(self) -> str:
        return (f"Lock({self.payer}->{self.beneficiary} {self.amount} {self.ccy}, "
                f"deadline {self.deadline})")


@dataclass(eq=False)
class SwapMirror:
    swap_id: bytes
    terms: SwapTerms
    party_a: str
    ccy_a: str
    amount_a: int
    party_b: str
    ccy_b: str
    amount_b: int
    deadline: int
    funded_a: bool = False
    funded_b: bool = False
    state: SwapState = SwapState.NONE

    def __repr__(self) -> str:
        return (f"Swap({self.party_a} {self.amount_a} {self.ccy_a} <-> {self.party_b} "
                f"{self.amount_b} {self.ccy_b}, deadline {self.deadline})")

    def leg(self, party: str) -> tuple[str, int, bool]:
        """``(ccy, amount, funded)`` of ``party``'s leg."""
        if party == self.party_a:
            return self.ccy_a, self.amount_a, self.funded_a
        return self.ccy_b, self.amount_b, self.funded_b


@dataclass
class Mirror:
    """What the chain's state must be."""

    w: World
    tokens: dict[str, TokenMirror]
    locks: dict[bytes, LockMirror] = field(default_factory=dict)
    swaps: dict[bytes, SwapMirror] = field(default_factory=dict)
    fee_bps: int = FEE_BPS
    #: escrow fees accrued and not withdrawn, per currency
    fees: dict[str, int] = field(default_factory=lambda: dict.fromkeys(CCYS, 0))
    #: tokens sent to the escrow or the FX contract by mistake and not rescued: (ccy, holder)
    stray: Counter[tuple[str, str]] = field(default_factory=Counter)

    @classmethod
    def initial(cls, w: World) -> Mirror:
        tokens = {}
        for ccy in CCYS:
            balances = dict.fromkeys(HOLDERS, 0)
            allowances = {}
            for party in (*PARTIES, MINTER):
                balances[party] = INITIAL_BALANCE
            for party in PARTIES:
                allowances[(party, ESCROW)] = INITIAL_ALLOWANCE
                allowances[(party, FX)] = INITIAL_ALLOWANCE
            minted = INITIAL_BALANCE * (len(PARTIES) + 1)
            tokens[ccy] = TokenMirror(balances, minted, 0, w.minter_allowance,
                                      allowances=allowances, nonces=dict.fromkeys(PARTIES, 0))
        return cls(w, tokens)

    def locked(self, ccy: str) -> int:
        return sum(lk.amount for lk in self.locks.values()
                   if lk.ccy == ccy and lk.state in (LockState.OPEN, LockState.PROVEN))

    def owed(self, ccy: str, holder: str) -> int:
        """What the escrow or the FX contract owes in ``ccy`` (the rest is surplus)."""
        return self.locked(ccy) + self.fees[ccy] if holder == ESCROW else self.held_by_fx(ccy)

    def held_by_fx(self, ccy: str) -> int:
        total = 0
        for sw in self.swaps.values():
            if sw.state == SwapState.OPEN:
                total += sw.amount_a if sw.funded_a and sw.ccy_a == ccy else 0
                total += sw.amount_b if sw.funded_b and sw.ccy_b == ccy else 0
        return total

    def expect(self, key: Key) -> Any:
        kind = key[0]
        if kind == "fee":
            return self.fee_bps
        if kind == "lock":
            return self._lock_record(self.locks[key[1]])
        if kind == "swap":
            return self._swap_record(self.swaps[key[1]])
        t = self.tokens[key[1]]
        if kind == "bal":
            return t.balances[key[2]]
        if kind == "allow":
            return t.allowances.get((key[2], key[3]), 0)
        if kind == "nonce":
            return t.nonces[key[2]]
        if kind == "bl":
            return key[2] in t.blacklisted
        return {
            "supply": t.minted - t.burned,
            "mallow": t.minter_allowance,
            "is_minter": t.is_minter,
            "paused": t.paused,
            "locked": self.locked(key[1]),
            "fees": self.fees[key[1]],
            "held": self.held_by_fx(key[1]),
        }[kind]

    def _lock_record(self, lk: LockMirror) -> dict[str, Any]:
        """A lock as stored: its state and fee rate (the payer and terms select it)."""
        return {"state": int(lk.state), "feeBps": lk.fee_bps}

    def _swap_record(self, sw: SwapMirror) -> dict[str, Any]:
        """A swap as stored: its state and funded legs (the terms select it)."""
        return {"state": int(sw.state), "fundedA": sw.funded_a, "fundedB": sw.funded_b}

    def all_keys(self) -> list[Key]:
        keys: list[Key] = [("fee",)]
        for ccy in CCYS:
            keys += [("bal", ccy, h) for h in HOLDERS]
            keys += [(k, ccy) for k in ("supply", "mallow", "is_minter", "paused", "locked",
                                        "fees", "held")]
        keys += [("lock", i) for i in self.locks]
        keys += [("swap", i) for i in self.swaps]
        return keys

    def check_identities(self) -> None:
        """The identities the mirror itself must keep (it is the oracle, after all)."""
        for ccy, t in self.tokens.items():
            assert sum(t.balances.values()) == t.minted - t.burned, ccy
            for holder in (ESCROW, FX):
                assert t.balances[holder] == self.owed(ccy, holder) + self.stray[(ccy, holder)]
                assert self.stray[(ccy, holder)] >= 0, (ccy, holder)
        for lk in self.locks.values():
            assert lk.ends == (0 if lk.state in (LockState.OPEN, LockState.PROVEN) else 1), lk
        for sw in self.swaps.values():
            if sw.state == SwapState.OPEN:
                assert sw.funded_a != sw.funded_b, sw
            elif sw.state == SwapState.SETTLED:
                assert sw.funded_a and sw.funded_b, sw


def sweep(w: World, mirror: Mirror) -> None:
    """Read the whole tracked state; compare it with the mirror and check its identities."""
    seen = w.read(mirror.all_keys())
    wrong = {key: (seen[key], mirror.expect(key)) for key in seen
             if seen[key] != mirror.expect(key)}
    assert not wrong, f"chain differs from the mirror (chain, mirror): {wrong}"
    for ccy in CCYS:
        balances = [seen[("bal", ccy, h)] for h in HOLDERS]
        assert sum(balances) == seen[("supply", ccy)], ccy
        token = w.token_address[ccy]
        # the records hold no terms: the terms each id was made from come from the mirror
        owed_locks = sum(mirror.locks[key[1]].terms.amount for key, lk in seen.items()
                         if key[0] == "lock" and mirror.locks[key[1]].terms.token == token
                         and lk["state"] in (LockState.OPEN, LockState.PROVEN))
        assert seen[("locked", ccy)] == owed_locks, ccy
        assert seen[("bal", ccy, ESCROW)] >= seen[("locked", ccy)] + seen[("fees", ccy)], ccy
        legs = 0
        for key, sw in seen.items():
            if key[0] == "swap" and sw["state"] == SwapState.OPEN:
                t = mirror.swaps[key[1]].terms
                legs += t.amount_a if sw["fundedA"] and t.token_a == token else 0
                legs += t.amount_b if sw["fundedB"] and t.token_b == token else 0
        assert seen[("held", ccy)] == legs and seen[("bal", ccy, FX)] >= legs, ccy


# -------------------------------------------------------------------- predictions


@dataclass(frozen=True)
class Err:
    """A predicted revert: the custom error's name and the arguments we can predict."""

    name: str
    args: tuple[tuple[str, Any], ...] = ()


def err(name: str, **args: Any) -> Err:
    return Err(name, tuple(args.items()))


# ------------------------------------------------------------------ state machine


amounts = st.integers(min_value=0, max_value=12_000_000)
positive = st.integers(min_value=1, max_value=6_000_000)
ccys = st.sampled_from(CCYS)
parties = st.sampled_from(PARTIES)
ttls = st.integers(min_value=0, max_value=40)
#: Lock and swap lifetimes: about half expire within an example, half last it out.
lifetimes = st.one_of(st.integers(min_value=1, max_value=12),
                      st.integers(min_value=13, max_value=120))
#: Now and then, terms with a zero amount, a deadline that is not in the future or (locks)
#: a maximum fee below the escrow's rate.
flaws = st.sampled_from((None,) * 8 + ("zero_amount", "past_deadline", "low_max_fee"))


class SettlementMachine(RuleBasedStateMachine):
    """Random operations on the stack; every outcome predicted from the mirror."""

    locks = Bundle("locks")
    swaps = Bundle("swaps")

    def __init__(self) -> None:
        super().__init__()
        self.w = world()
        self.w.chain.revert(self.w.snapshot)
        self.m = Mirror.initial(self.w)
        self.now = self.w.start_timestamp  # the latest block's timestamp
        self.next_ts = self.now + 1  # the timestamp the next transaction's block gets
        self.salt = 0
        self.touched: set[Key] = set()
        self.mallow_seen = {ccy: self.m.tokens[ccy].minter_allowance for ccy in CCYS}
        self.mallow_raised = dict.fromkeys(CCYS, False)
        self.roots = self.w.storage_roots()
        self.consistent = True  # False from a transaction until its step's checks passed

    # ----------------------------------------------------------------- helpers

    def _salt(self) -> bytes:
        self.salt += 1
        return self.salt.to_bytes(32, "big")

    def _addr(self, ccy: str, holder: str) -> str:
        return self.w.addr(ccy, holder)

    def _attempt(self, expected: Err | None, send: Callable[[], Any],
                 touched: Iterable[Key]) -> Receipt | None:
        """Send a transaction predicted to succeed (``expected`` None) or to revert.

        On success, ``touched`` are the values it may change: they are read and compared
        with the mirror after the step, and the storage of every contract none of them
        belongs to must be unchanged. On a revert, all storage must be unchanged.
        """
        self.consistent = False
        block_ts = self.next_ts
        self.now, self.next_ts = block_ts, block_ts + 1
        try:
            receipt = send()
        except ContractRevert as exc:
            assert expected is not None, f"predicted success, but {exc}"
            assert exc.error == expected.name, f"predicted {expected}, got {exc}"
            for name, value in expected.args:
                assert exc.args_dict[name] == value, f"predicted {expected}, got {exc}"
            event(f"{exc.function}: {exc.error}")
            return None
        assert isinstance(receipt, Receipt)
        assert expected is None, f"predicted {expected}, but {receipt.function} succeeded"
        assert receipt.block_timestamp == block_ts
        event(f"{receipt.function}: ok")
        self.touched.update(touched)
        return receipt

    def _apply(self, receipt: Receipt, moves: list[Move]) -> None:
        """Apply predicted balance moves; the receipt's Transfer events must be exactly them."""
        for ccy, src, dst, amount in moves:
            bal = self.m.tokens[ccy].balances
            if src is None:
                self.m.tokens[ccy].minted += amount
            else:
                bal[src] -= amount
                assert bal[src] >= 0, (ccy, src)
            if dst is None:
                self.m.tokens[ccy].burned += amount
            else:
                bal[dst] += amount
        actual: Counter[Move] = Counter()
        for ev in receipt.events:
            if ev.name == "Transfer" and ev.address in self.w.ccy_of:
                ccy = self.w.ccy_of[ev.address]
                src = None if ev["from"] == ZERO_ADDRESS else self.w.holder_of.get(
                    (ccy, ev["from"]), ev["from"])
                dst = None if ev["to"] == ZERO_ADDRESS else self.w.holder_of.get(
                    (ccy, ev["to"]), ev["to"])
                actual[(ccy, src, dst, ev["value"])] += 1
        assert actual == Counter(moves), f"moved {dict(actual)}, predicted {moves}"

    def _update_error(self, ccy: str, src: str | None, dst: str | None,
                      amount: int) -> Err | None:
        """``Stablecoin._update``: blacklisted sender, blacklisted receiver, balance."""
        t = self.m.tokens[ccy]
        if src is not None and src in t.blacklisted:
            return err("AccountBlacklisted", account=self._addr(ccy, src))
        if dst is not None and dst in t.blacklisted:
            return err("AccountBlacklisted", account=self._addr(ccy, dst))
        if src is not None and t.balances[src] < amount:
            return err("ERC20InsufficientBalance", sender=self._addr(ccy, src),
                       balance=t.balances[src], needed=amount)
        return None

    def _transfer_error(self, ccy: str, src: str, dst: str, amount: int) -> Err | None:
        """``transfer`` called by ``src``."""
        if self.m.tokens[ccy].paused:
            return err("EnforcedPause")
        return self._update_error(ccy, src, dst, amount)

    def _transfer_from_error(self, ccy: str, spender: str, src: str, dst: str, amount: int,
                             allowance: int | None = None) -> Err | None:
        """``transferFrom`` called by ``spender`` (the escrow or the FX contract)."""
        t = self.m.tokens[ccy]
        if t.paused:
            return err("EnforcedPause")
        if spender in t.blacklisted:
            return err("AccountBlacklisted", account=self._addr(ccy, spender))
        if allowance is None:
            allowance = t.allowances.get((src, spender), 0)
        if allowance != MAX_UINT and allowance < amount:
            return err("ERC20InsufficientAllowance", spender=self._addr(ccy, spender),
                       allowance=allowance, needed=amount)
        return self._update_error(ccy, src, dst, amount)

    def _spend_allowance(self, ccy: str, owner: str, spender: str, amount: int) -> None:
        allowances = self.m.tokens[ccy].allowances
        if allowances[(owner, spender)] != MAX_UINT:
            allowances[(owner, spender)] -= amount

    def _permit_error(self, ccy: str, owner: str, spender: str, deadline: int,
                      signer_ok: bool, signer: str | None = None) -> Err | None:
        t = self.m.tokens[ccy]
        if t.paused:
            return err("EnforcedPause")
        for who in (owner, spender):
            if who in t.blacklisted:
                return err("AccountBlacklisted", account=self._addr(ccy, who))
        if self.next_ts > deadline:
            return err("ERC2612ExpiredSignature", deadline=deadline)
        if not signer_ok:
            if signer is None:  # recovered from a signature over other data: unpredictable
                return err("ERC2612InvalidSigner", owner=self._addr(ccy, owner))
            return err("ERC2612InvalidSigner", signer=self._addr(ccy, signer),
                       owner=self._addr(ccy, owner))
        return None

    # ----------------------------------------------------- initial positions

    @initialize(target=locks, ccy=ccys, payer=parties, beneficiary=parties, amount=positive,
                ttl=lifetimes, secret=st.sampled_from((None, 0, 1)), with_agent=st.booleans())
    def open_lock(self, ccy: str, payer: str, beneficiary: str, amount: int, ttl: int,
                  secret: int | None, with_agent: bool) -> Any:
        """Every example starts with a lock (if its terms are valid) for the rules to work on."""
        return self.lock(ccy, payer, beneficiary, amount, ttl, secret, with_agent, False)

    @initialize(target=swaps, party_a=st.sampled_from(CLIENTS), party_b=parties, ccy_a=ccys,
                amount_a=positive, amount_b=positive, ttl=lifetimes)
    def open_swap(self, party_a: str, party_b: str, ccy_a: str, amount_a: int, amount_b: int,
                  ttl: int) -> Any:
        """... and with a swap whose first leg is funded (if its terms are valid)."""
        return self.fx_open(party_a, party_b, ccy_a, False, amount_a, amount_b, ttl, "A")

    # ------------------------------------------------------------ issuance

    @rule(ccy=ccys, to=st.sampled_from((*PARTIES, MINTER)), amount=amounts,
          by_minter=st.sampled_from((True, True, True, False)))
    def mint(self, ccy: str, to: str, amount: int, by_minter: bool) -> None:
        t = self.m.tokens[ccy]
        caller = MINTER if by_minter else CLIENTS[0]
        sender = minter_name(ccy) if by_minter else CLIENTS[0]
        expected: Err | None
        if not (by_minter and t.is_minter):
            expected = err("CallerNotMinter", caller=self._addr(ccy, caller))
        elif t.paused:
            expected = err("EnforcedPause")
        elif caller in t.blacklisted or to in t.blacklisted:
            who = caller if caller in t.blacklisted else to
            expected = err("AccountBlacklisted", account=self._addr(ccy, who))
        elif amount == 0:
            expected = err("InvalidAmount", amount=0)
        elif amount > t.minter_allowance:
            expected = err("MinterAllowanceExceeded", minter=self._addr(ccy, MINTER),
                           allowance=t.minter_allowance, needed=amount)
        else:
            expected = self._update_error(ccy, None, to, amount)
        receipt = self._attempt(
            expected,
            lambda: self.w.tokens[ccy].mint(self._addr(ccy, to), amount, sender=sender),
            [("bal", ccy, to), ("supply", ccy), ("mallow", ccy)])
        if receipt is not None:
            t.minter_allowance -= amount
            self._apply(receipt, [(ccy, None, to, amount)])

    @rule(ccy=ccys, amount=amounts, by_minter=st.sampled_from((True, True, True, False)))
    def burn(self, ccy: str, amount: int, by_minter: bool) -> None:
        t = self.m.tokens[ccy]
        caller = MINTER if by_minter else CLIENTS[0]
        sender = minter_name(ccy) if by_minter else CLIENTS[0]
        expected: Err | None
        if not (by_minter and t.is_minter):
            expected = err("CallerNotMinter", caller=self._addr(ccy, caller))
        elif t.paused:
            expected = err("EnforcedPause")
        elif MINTER in t.blacklisted:
            expected = err("AccountBlacklisted", account=self._addr(ccy, MINTER))
        elif amount == 0:
            expected = err("InvalidAmount", amount=0)
        else:
            expected = self._update_error(ccy, MINTER, None, amount)
        receipt = self._attempt(
            expected,
            lambda: self.w.tokens[ccy].burn(amount, sender=sender),
            [("bal", ccy, MINTER), ("supply", ccy), ("mallow", ccy)])
        if receipt is not None:
            self._apply(receipt, [(ccy, MINTER, None, amount)])

    @rule(ccy=ccys, allowance=st.sampled_from((None, 0, 1_000_000, 20_000_000, 10**15)))
    def configure_minter(self, ccy: str, allowance: int | None) -> None:
        """The master minter sets the issuer's allowance, or removes it (``None``)."""
        t = self.m.tokens[ccy]
        minter = self._addr(ccy, MINTER)
        expected: Err | None = None
        if allowance is None:
            if not t.is_minter:
                expected = err("NotAMinter", minter=minter)
        elif t.paused:
            expected = err("EnforcedPause")
        token = self.w.tokens[ccy]
        receipt = self._attempt(
            expected,
            lambda: (token.remove_minter(minter, sender="master_minter") if allowance is None
                     else token.configure_minter(minter, allowance, sender="master_minter")),
            [("mallow", ccy), ("is_minter", ccy)])
        if receipt is not None:
            t.is_minter = allowance is not None
            t.minter_allowance = allowance or 0
            self.mallow_raised[ccy] = allowance is not None

    # ----------------------------------------------------------- ERC-20 surface

    @rule(ccy=ccys, src=st.sampled_from((*PARTIES, MINTER)),
          dst=st.sampled_from((*PARTIES, MINTER, AGENT, FEE_COLLECTOR, ESCROW, FX)),
          amount=amounts)
    def transfer(self, ccy: str, src: str, dst: str, amount: int) -> None:
        """A transfer; to the escrow or the FX contract it is a mistake the rescuer undoes."""
        sender = minter_name(ccy) if src == MINTER else src
        receipt = self._attempt(
            self._transfer_error(ccy, src, dst, amount),
            lambda: self.w.tokens[ccy].transfer(self._addr(ccy, dst), amount, sender=sender),
            [("bal", ccy, src), ("bal", ccy, dst)])
        if receipt is not None:
            self._apply(receipt, [(ccy, src, dst, amount)])
            if dst in (ESCROW, FX):
                self.m.stray[(ccy, dst)] += amount

    @rule(ccy=ccys, owner=parties, spender=st.sampled_from((ESCROW, FX)),
          value=st.one_of(amounts, st.just(MAX_UINT)))
    def approve(self, ccy: str, owner: str, spender: str, value: int) -> None:
        t = self.m.tokens[ccy]
        expected: Err | None = None
        if t.paused:
            expected = err("EnforcedPause")
        elif owner in t.blacklisted or spender in t.blacklisted:
            who = owner if owner in t.blacklisted else spender
            expected = err("AccountBlacklisted", account=self._addr(ccy, who))
        receipt = self._attempt(
            expected,
            lambda: self.w.tokens[ccy].approve(self._addr(ccy, spender), value, sender=owner),
            [("allow", ccy, owner, spender)])
        if receipt is not None:
            t.allowances[(owner, spender)] = value

    @rule(ccy=ccys, owner=parties, spender=st.sampled_from((ESCROW, FX)), value=amounts,
          ttl=ttls, flaw=st.sampled_from((None, None, "expired", "wrong_signer", "old_nonce")))
    def permit(self, ccy: str, owner: str, spender: str, value: int, ttl: int,
               flaw: str | None) -> None:
        """An EIP-2612 permit signed by ``owner`` and submitted by a relayer."""
        t = self.m.tokens[ccy]
        nonce = t.nonces[owner]
        deadline = self.next_ts - 1 if flaw == "expired" else self.next_ts + ttl
        signer = owner
        if flaw == "wrong_signer":
            signer = PARTIES[(PARTIES.index(owner) + 1) % len(PARTIES)]
        if flaw == "old_nonce":
            nonce = nonce - 1 if nonce else nonce + 1
        v, r, s = self.w.sign_permit(ccy, signer, owner, spender, value, nonce, deadline)
        expected = self._permit_error(
            ccy, owner, spender, deadline, signer_ok=flaw in (None, "expired"),
            signer=signer if flaw == "wrong_signer" else None)
        receipt = self._attempt(
            expected,
            lambda: self.w.tokens[ccy].permit(self._addr(ccy, owner), self._addr(ccy, spender),
                                              value, deadline, v, r, s, sender=RELAYER),
            [("allow", ccy, owner, spender), ("nonce", ccy, owner)])
        if receipt is not None:
            t.allowances[(owner, spender)] = value
            t.nonces[owner] += 1

    # ------------------------------------------------------------------ escrow

    @rule(target=locks, ccy=ccys, payer=parties, beneficiary=parties, amount=positive,
          ttl=lifetimes, secret=st.sampled_from((None, 0, 1)),
          with_agent=st.sampled_from((False, True, True)),
          with_permit=st.sampled_from((False, False, True)), flaw=flaws)
    def lock(self, ccy: str, payer: str, beneficiary: str, amount: int, ttl: int,
             secret: int | None, with_agent: bool, with_permit: bool,
             flaw: str | None = None) -> Any:
        """Lock with a hashlock, an agent, both or (invalid) neither; plain or with permit."""
        t = self.m.tokens[ccy]
        ts = self.next_ts
        amount = 0 if flaw == "zero_amount" else amount
        deadline = ts - (ttl % 3) if flaw == "past_deadline" else ts + ttl
        max_fee = self.m.fee_bps - 1 if flaw == "low_max_fee" and self.m.fee_bps else (
            self.m.fee_bps if payer != CLIENTS[0] else MAX_FEE_BPS)
        terms = LockTerms(
            self.w.token_address[ccy], self._addr(ccy, beneficiary), amount, deadline,
            ZERO32 if secret is None else hashlock_of(SECRETS[secret]),
            self._addr(ccy, AGENT) if with_agent else ZERO_ADDRESS, self._salt(), max_fee)
        payer_addr = self._addr(ccy, payer)
        lock_id = self.w.lock_id(payer_addr, terms)
        allowance = t.allowances.get((payer, ESCROW), 0)
        permitted = False
        expected: Err | None = None
        if with_permit and allowance < amount:
            # lockWithPermit: a sufficient allowance is left alone (no permit); a failed
            # permit is tolerated if the allowance then suffices (it cannot here)
            permit_error = self._permit_error(ccy, payer, ESCROW, deadline, signer_ok=True)
            if permit_error is None:
                allowance, permitted = amount, True
            else:
                expected = permit_error
        if expected is not None:
            pass
        elif amount == 0:
            expected = err("ZeroAmount")
        elif deadline <= ts:
            expected = err("DeadlineNotInFuture", deadline=deadline, nowTimestamp=ts)
        elif secret is None and not with_agent:
            expected = err("NoReleaseCondition")
        elif self.m.fee_bps > max_fee:
            expected = err("FeeAboveMaximum", feeBps=self.m.fee_bps, maxFeeBps=max_fee)
        else:
            expected = self._transfer_from_error(ccy, ESCROW, payer, ESCROW, amount, allowance)

        touched: list[Key] = [("bal", ccy, payer), ("bal", ccy, ESCROW),
                              ("allow", ccy, payer, ESCROW), ("locked", ccy)]
        if with_permit:
            touched.append(("nonce", ccy, payer))

        def send() -> Any:
            if with_permit:  # the client signs the permit (nonce read from the chain)
                return self.w.escrow.lock_with_permit(terms, self.w.tokens[ccy], sender=payer)
            return self.w.escrow.lock(terms, sender=payer)

        receipt = self._attempt(expected, send, touched)
        if receipt is None:
            return multiple()
        assert receipt.event("Locked")["lockId"] == lock_id
        if permitted:
            t.allowances[(payer, ESCROW)] = amount
            t.nonces[payer] += 1
        self._spend_allowance(ccy, payer, ESCROW, amount)
        lk = LockMirror(lock_id, terms, payer, ccy, beneficiary, amount, deadline, secret,
                        with_agent, self.m.fee_bps)
        self.m.locks[lock_id] = lk
        self._apply(receipt, [(ccy, payer, ESCROW, amount)])
        self.touched.add(("lock", lock_id))
        return lk

    @rule(lk=locks)
    def lock_same_terms_again(self, lk: LockMirror) -> None:
        """The same payer locking the same terms again never reopens or duplicates a lock."""
        ts = self.next_ts
        if lk.deadline <= ts:
            expected = err("DeadlineNotInFuture", deadline=lk.deadline, nowTimestamp=ts)
        elif self.m.fee_bps > lk.terms.max_fee_bps:
            expected = err("FeeAboveMaximum", feeBps=self.m.fee_bps,
                           maxFeeBps=lk.terms.max_fee_bps)
        else:
            expected = err("LockAlreadyExists", lockId=lk.lock_id)
        self._attempt(
            expected,
            lambda: self.w.escrow.lock(lk.terms, sender=lk.payer),
            [("lock", lk.lock_id), ("bal", lk.ccy, lk.payer), ("bal", lk.ccy, ESCROW)])

    @rule(lk=locks, right_preimage=st.sampled_from((True, True, True, False)),
          caller=st.sampled_from(("authorised", "authorised", "beneficiary", "payer", AGENT)))
    def release(self, lk: LockMirror, right_preimage: bool, caller: str) -> None:
        ts = self.next_ts
        ccy = lk.ccy
        authorised = AGENT if lk.with_agent else lk.beneficiary
        who = {"beneficiary": lk.beneficiary, "payer": lk.payer,
               "authorised": authorised}.get(caller, caller)
        preimage = WRONG_PREIMAGE
        if right_preimage and lk.secret is not None:
            preimage = SECRETS[lk.secret]
        fee = lk.amount * lk.fee_bps // 10_000
        paid = lk.amount - fee
        expected: Err | None
        if lk.state != LockState.OPEN:
            expected = err("LockNotOpen", lockId=lk.lock_id, state=int(lk.state))
        elif ts >= lk.deadline:
            expected = err("LockExpired", lockId=lk.lock_id, deadline=lk.deadline,
                           nowTimestamp=ts)
        elif lk.secret is not None and not right_preimage:
            expected = err("InvalidPreimage", lockId=lk.lock_id)
        elif lk.with_agent and who != AGENT:
            expected = err("NotSettlementAgent", lockId=lk.lock_id,
                           caller=self._addr(ccy, who))
        else:
            expected = None
        # a payout the token refuses (paused, escrow or beneficiary blacklisted) does not
        # revert the release: it is proven, and paid by a later claim
        refused = expected is None and self._transfer_error(ccy, ESCROW, lk.beneficiary,
                                                            paid) is not None
        receipt = self._attempt(
            expected,
            lambda: self.w.escrow.release(self._addr(ccy, lk.payer), lk.terms, preimage,
                                          sender=who),
            [("lock", lk.lock_id), ("locked", ccy), ("fees", ccy), ("bal", ccy, ESCROW),
             ("bal", ccy, lk.beneficiary)])
        if receipt is None:
            return
        if refused:
            event("SettlementEscrow.release: proven, payout refused")
            assert receipt.event("ReleaseProven")["lockId"] == lk.lock_id
            lk.state = LockState.PROVEN
            self._apply(receipt, [])
        else:
            self._pay_out(lk, receipt)

    def _pay_out(self, lk: LockMirror, receipt: Receipt) -> None:
        fee = lk.amount * lk.fee_bps // 10_000
        paid = lk.amount - fee
        released = receipt.event("Released")
        assert (released["amountPaid"], released["fee"]) == (paid, fee), (
            f"Released paid {released['amountPaid']} and fee {released['fee']}, "
            f"predicted {paid} and {fee}")
        lk.state, lk.ends = LockState.RELEASED, lk.ends + 1
        self.m.fees[lk.ccy] += fee     # pulled later by the collector, never pushed
        self._apply(receipt, [(lk.ccy, ESCROW, lk.beneficiary, paid)])

    @rule(lk=locks)
    def release_while_paused(self, lk: LockMirror) -> None:
        """The pause rule's case: the token is paused (if it was not) when the authorised
        caller releases; before the deadline, the release is proven, not refunded later."""
        if not self.m.tokens[lk.ccy].paused:
            self.set_paused(lk.ccy, True)
        self.release(lk, True, "authorised")

    @rule(lk=locks, caller=st.sampled_from((CLIENTS[3], "beneficiary")))
    def claim(self, lk: LockMirror, caller: str) -> None:
        """Pay out a proven release (anyone may call it), after the deadline too."""
        ccy = lk.ccy
        paid = lk.amount - lk.amount * lk.fee_bps // 10_000
        expected: Err | None
        if lk.state != LockState.PROVEN:
            expected = err("LockNotProven", lockId=lk.lock_id, state=int(lk.state))
        else:
            expected = self._transfer_error(ccy, ESCROW, lk.beneficiary, paid)
        sender = lk.beneficiary if caller == "beneficiary" else caller
        receipt = self._attempt(
            expected,
            lambda: self.w.escrow.claim(self._addr(ccy, lk.payer), lk.terms, sender=sender),
            [("lock", lk.lock_id), ("locked", ccy), ("fees", ccy), ("bal", ccy, ESCROW),
             ("bal", ccy, lk.beneficiary)])
        if receipt is not None:
            self._pay_out(lk, receipt)

    @rule(lk=locks, caller=st.sampled_from((AGENT, AGENT, "beneficiary")))
    def reject(self, lk: LockMirror, caller: str) -> None:
        """The settlement agent rejects an open lock: the payer is refunded at once."""
        ccy = lk.ccy
        who = lk.beneficiary if caller == "beneficiary" else caller
        expected: Err | None
        if lk.state != LockState.OPEN:
            expected = err("LockNotOpen", lockId=lk.lock_id, state=int(lk.state))
        elif not lk.with_agent or who != AGENT:
            expected = err("NotSettlementAgent", lockId=lk.lock_id, caller=self._addr(ccy, who))
        else:
            expected = self._transfer_error(ccy, ESCROW, lk.payer, lk.amount)
        receipt = self._attempt(
            expected,
            lambda: self.w.escrow.reject(self._addr(ccy, lk.payer), lk.terms, sender=who),
            [("lock", lk.lock_id), ("locked", ccy), ("bal", ccy, ESCROW), ("bal", ccy, lk.payer)])
        if receipt is not None:
            assert receipt.event("Rejected")["lockId"] == lk.lock_id
            lk.state, lk.ends = LockState.REFUNDED, lk.ends + 1
            self._apply(receipt, [(ccy, ESCROW, lk.payer, lk.amount)])

    @rule(ccy=ccys, caller=st.sampled_from((FEE_COLLECTOR, FEE_COLLECTOR, AGENT)))
    def withdraw_fees(self, ccy: str, caller: str) -> None:
        fees = self.m.fees[ccy]
        expected: Err | None = None
        if caller != FEE_COLLECTOR:
            expected = err("CallerNotFeeCollector", caller=self._addr(ccy, caller))
        elif fees:
            expected = self._transfer_error(ccy, ESCROW, FEE_COLLECTOR, fees)
        receipt = self._attempt(
            expected,
            lambda: self.w.escrow.withdraw_fees(self.w.tokens[ccy], sender=caller),
            [("fees", ccy), ("bal", ccy, ESCROW), ("bal", ccy, FEE_COLLECTOR)])
        if receipt is not None:
            self.m.fees[ccy] = 0
            self._apply(receipt, [(ccy, ESCROW, FEE_COLLECTOR, fees)] if fees else [])

    @rule(ccy=ccys, holder=st.sampled_from((ESCROW, FX)), extra=st.integers(-2, 2))
    def rescue(self, ccy: str, holder: str, extra: int) -> None:
        """The rescuer asks for the surplus above what the contract owes, give or take: never
        more is paid out, so no lock, fee or held leg is ever touched."""
        surplus = self.m.tokens[ccy].balances[holder] - self.m.owed(ccy, holder)
        amount = max(surplus + extra, 0)
        expected: Err | None
        if amount > surplus:
            expected = err("RescueExceedsSurplus", token=self.w.token_address[ccy],
                           surplus=surplus, needed=amount)
        else:
            expected = self._transfer_error(ccy, holder, AGENT, amount)
        client = self.w.escrow if holder == ESCROW else self.w.fx
        receipt = self._attempt(
            expected,
            lambda: client.rescue_erc20(self.w.tokens[ccy], self._addr(ccy, AGENT), amount,
                                        sender="rescuer"),
            [("bal", ccy, holder), ("bal", ccy, AGENT)])
        if receipt is not None:
            self.m.stray[(ccy, holder)] -= amount
            self._apply(receipt, [(ccy, holder, AGENT, amount)])

    @rule(lk=locks)
    def release_as_authorised(self, lk: LockMirror) -> None:
        """The happy path: the right preimage, sent by the agent or else the beneficiary."""
        self.release(lk, True, "authorised")

    @rule(lk=locks, caller=st.sampled_from(("payer", AGENT, CLIENTS[3])),
          unknown=st.sampled_from((False,) * 7 + (True,)))
    def refund(self, lk: LockMirror, caller: str, unknown: bool) -> None:
        """Refund a lock (or, now and then, an id no lock has)."""
        ts = self.next_ts
        ccy = lk.ccy
        sender = lk.payer if caller == "payer" else caller
        payer = self._addr(ccy, lk.payer)
        if unknown:   # the lock's terms with another salt name no lock
            terms = LockTerms(*lk.terms.as_abi()[:6], self._salt(), lk.terms.max_fee_bps)
            self._attempt(
                err("LockNotFound", lockId=self.w.lock_id(payer, terms)),
                lambda: self.w.escrow.refund(payer, terms, sender=sender),
                [])
            return
        expected: Err | None
        if lk.state != LockState.OPEN:
            expected = err("LockNotOpen", lockId=lk.lock_id, state=int(lk.state))
        elif ts < lk.deadline:
            expected = err("LockNotExpired", lockId=lk.lock_id, deadline=lk.deadline,
                           nowTimestamp=ts)
        else:
            expected = self._transfer_error(ccy, ESCROW, lk.payer, lk.amount)
        receipt = self._attempt(
            expected,
            lambda: self.w.escrow.refund(payer, lk.terms, sender=sender),
            [("lock", lk.lock_id), ("locked", ccy), ("bal", ccy, ESCROW),
             ("bal", ccy, lk.payer)])
        if receipt is not None:
            lk.state, lk.ends = LockState.REFUNDED, lk.ends + 1
            self._apply(receipt, [(ccy, ESCROW, lk.payer, lk.amount)])

    @rule(bps=st.sampled_from((0, 1, FEE_BPS, 999, MAX_FEE_BPS, MAX_FEE_BPS + 1)))
    def set_fee(self, bps: int) -> None:
        expected = None
        if bps > MAX_FEE_BPS:
            expected = err("FeeTooHigh", feeBps=bps, maxFeeBps=MAX_FEE_BPS)
        esc = self.w.escrow
        # past the client, which refuses a rate above the maximum before sending: the
        # contract's own check is what this rule exercises
        receipt = self._attempt(
            expected,
            lambda: esc.chain.transact(esc.address, "SettlementEscrow", "setFee",
                                       [bps, esc.chain.address_of(FEE_COLLECTOR)],
                                       sender="owner"),
            [("fee",)])
        if receipt is not None:
            self.m.fee_bps = bps

    # --------------------------------------------------------------------- FX

    def _fund(self, sw: SwapMirror, caller: str, with_permit: bool = False) -> Receipt | None:
        """Predict, send and check ``FxSwap.fund`` (or ``fundWithPermit``) by ``caller``."""
        ts = self.next_ts
        caller_addr = self._addr(CCYS[0], caller)
        ccy, amount, funded = sw.leg(caller)
        other = sw.party_b if caller == sw.party_a else sw.party_a
        other_ccy, other_amount, other_funded = sw.leg(other)
        is_party = caller in (sw.party_a, sw.party_b)
        allowance = self.m.tokens[ccy].allowances.get((caller, FX), 0)
        permitted = False
        expected: Err | None = None
        if with_permit:
            # fundWithPermit: only a party gets as far as the permit step, which leaves a
            # sufficient allowance alone; a failed permit is tolerated if the allowance then
            # suffices (it cannot here)
            if not is_party:
                expected = err("NotSwapParty", swapId=sw.swap_id, caller=caller_addr)
            elif allowance < amount:
                permit_error = self._permit_error(ccy, caller, FX, sw.deadline, signer_ok=True)
                if permit_error is None:
                    allowance, permitted = amount, True
                else:
                    expected = permit_error
        if expected is not None:
            pass
        elif sw.state == SwapState.NONE:
            if (sw.party_a == sw.party_b or sw.ccy_a == sw.ccy_b or sw.amount_a == 0
                    or sw.amount_b == 0):
                expected = err("InvalidSwapTerms")
            elif sw.deadline <= ts:
                expected = err("DeadlineNotInFuture", deadline=sw.deadline, nowTimestamp=ts)
        elif sw.state != SwapState.OPEN:
            expected = err("SwapNotOpen", swapId=sw.swap_id, state=int(sw.state))
        elif ts >= sw.deadline:
            expected = err("SwapExpired", swapId=sw.swap_id, deadline=sw.deadline,
                           nowTimestamp=ts)
        moves: list[Move] = []
        touched: list[Key] = [("swap", sw.swap_id)]
        if with_permit and is_party:
            touched.append(("nonce", ccy, caller))
        touched += [("held", ccy), ("held", other_ccy)]
        if expected is None:
            if not is_party:
                expected = err("NotSwapParty", swapId=sw.swap_id, caller=caller_addr)
            elif funded:
                expected = err("LegAlreadyFunded", swapId=sw.swap_id, party=caller_addr)
            elif not other_funded:
                expected = self._transfer_from_error(ccy, FX, caller, FX, amount, allowance)
                moves = [(ccy, caller, FX, amount)]
                touched += [("bal", ccy, caller), ("bal", ccy, FX), ("allow", ccy, caller, FX)]
            else:
                # settlement: the caller's leg goes to the counterparty, the held leg to the caller
                expected = self._transfer_from_error(ccy, FX, caller, other, amount, allowance)
                if expected is None:
                    expected = self._transfer_error(other_ccy, FX, caller, other_amount)
                moves = [(ccy, caller, other, amount), (other_ccy, FX, caller, other_amount)]
                touched += [("bal", ccy, caller), ("bal", ccy, other), ("bal", other_ccy, FX),
                            ("bal", other_ccy, caller), ("allow", ccy, caller, FX)]

        def send() -> Any:
            if with_permit:  # the client signs the permit (nonce read from the chain)
                return self.w.fx.fund_with_permit(sw.terms, self.w.tokens[ccy], sender=caller)
            return self.w.fx.fund(sw.terms, sender=caller)

        receipt = self._attempt(expected, send, touched)
        if receipt is None:
            return None
        if permitted:
            self.m.tokens[ccy].allowances[(caller, FX)] = amount
            self.m.tokens[ccy].nonces[caller] += 1
        self._spend_allowance(ccy, caller, FX, amount)
        if caller == sw.party_a:
            sw.funded_a = True
        else:
            sw.funded_b = True
        if sw.state == SwapState.NONE:
            assert receipt.event("SwapCreated")["swapId"] == sw.swap_id
            sw.state = SwapState.OPEN
            self.m.swaps[sw.swap_id] = sw
        if other_funded:
            event("FxSwap.fund: settled")
            assert receipt.event("SwapSettled")["swapId"] == sw.swap_id
            sw.state = SwapState.SETTLED
        self._apply(receipt, moves)
        return receipt

    @rule(target=swaps, party_a=st.sampled_from(CLIENTS),
          party_b=st.sampled_from((FX_PROVIDER,) * 5 + PARTIES), ccy_a=ccys,
          same_token=st.sampled_from((False,) * 7 + (True,)), amount_a=positive,
          amount_b=positive, ttl=lifetimes, funder=st.sampled_from(("A", "B", "A", "B", AGENT)),
          flaw=flaws, with_permit=st.sampled_from((False, False, True)))
    def fx_open(self, party_a: str, party_b: str, ccy_a: str, same_token: bool,
                amount_a: int, amount_b: int, ttl: int, funder: str,
                flaw: str | None = None, with_permit: bool = False) -> Any:
        """Agree on a swap and fund its first leg (or try to, as an outsider)."""
        ccy_b = ccy_a if same_token else next(c for c in CCYS if c != ccy_a)
        amount_b = 0 if flaw == "zero_amount" else amount_b
        deadline = self.next_ts - (ttl % 3) if flaw == "past_deadline" else self.next_ts + ttl
        terms = SwapTerms(self._addr(ccy_a, party_a), self.w.token_address[ccy_a], amount_a,
                          self._addr(ccy_b, party_b), self.w.token_address[ccy_b], amount_b,
                          deadline, self._salt())
        sw = SwapMirror(self.w.swap_id(terms), terms, party_a, ccy_a, amount_a, party_b,
                        ccy_b, amount_b, deadline)
        caller = {"A": party_a, "B": party_b}.get(funder, funder)
        if self._fund(sw, caller, with_permit) is None:
            return multiple()
        return sw

    @rule(sw=swaps, who=st.sampled_from(("other", "other", "other", "same", AGENT)),
          with_permit=st.sampled_from((False, False, True)))
    def fx_fund(self, sw: SwapMirror, who: str, with_permit: bool = False) -> None:
        """Fund a leg of an existing swap: the second leg settles both."""
        funded = sw.party_a if sw.funded_a else sw.party_b
        other = sw.party_b if funded == sw.party_a else sw.party_a
        self._fund(sw, {"same": funded, "other": other}.get(who, who), with_permit)

    @rule(sw=swaps)
    def settle_swap(self, sw: SwapMirror) -> None:
        """The happy path: the party whose leg is not funded yet funds it."""
        self.fx_fund(sw, "other")

    @rule(sw=swaps, caller=st.sampled_from(("A", "B", AGENT)))
    def fx_refund(self, sw: SwapMirror, caller: str) -> None:
        ts = self.next_ts
        funder = sw.party_a if sw.funded_a else sw.party_b
        ccy, amount, _ = sw.leg(funder)
        expected: Err | None
        if sw.state != SwapState.OPEN:
            expected = err("SwapNotOpen", swapId=sw.swap_id, state=int(sw.state))
        elif ts < sw.deadline:
            expected = err("SwapNotExpired", swapId=sw.swap_id, deadline=sw.deadline,
                           nowTimestamp=ts)
        else:
            expected = self._transfer_error(ccy, FX, funder, amount)
        sender = {"A": sw.party_a, "B": sw.party_b}.get(caller, caller)
        receipt = self._attempt(
            expected,
            lambda: self.w.fx.refund(sw.terms, sender=sender),
            [("swap", sw.swap_id), ("held", ccy), ("bal", ccy, FX), ("bal", ccy, funder)])
        if receipt is not None:
            sw.state = SwapState.REFUNDED
            self._apply(receipt, [(ccy, FX, funder, amount)])

    # --------------------------------------------------------------- controls

    @rule(ccy=ccys, who=st.sampled_from(BLACKLISTABLE), lift=st.booleans(), data=st.data())
    def blacklist(self, ccy: str, who: str, lift: bool, data: st.DataObject) -> None:
        """Blacklist an account, or lift a blacklisting (mostly one that is in force)."""
        listed = sorted((c, w) for c, t in self.m.tokens.items() for w in t.blacklisted)
        if lift and listed:
            ccy, who = data.draw(st.sampled_from(listed))
        receipt = self._attempt(
            None,
            lambda: (self.w.tokens[ccy].un_blacklist if lift else self.w.tokens[ccy].blacklist)(
                self._addr(ccy, who), sender="blacklister"),
            [("bl", ccy, who)])
        assert receipt is not None
        if lift:
            self.m.tokens[ccy].blacklisted.discard(who)
        else:
            self.m.tokens[ccy].blacklisted.add(who)

    @rule(ccy=ccys, pause=st.sampled_from((True, False, False)))
    def set_paused(self, ccy: str, pause: bool) -> None:
        """Pause a token, or lift a pause (of a paused token if there is one)."""
        paused = [c for c in CCYS if self.m.tokens[c].paused]
        if not pause and paused and ccy not in paused:
            ccy = paused[0]
        t = self.m.tokens[ccy]
        expected = None
        if pause and t.paused:
            expected = err("EnforcedPause")
        elif not pause and not t.paused:
            expected = err("ExpectedPause")
        receipt = self._attempt(
            expected,
            lambda: (self.w.tokens[ccy].pause if pause else self.w.tokens[ccy].unpause)(
                sender="pauser"),
            [("paused", ccy)])
        if receipt is not None:
            t.paused = pause

    @rule(seconds=st.integers(min_value=1, max_value=45))
    def advance_time(self, seconds: int) -> None:
        self.next_ts += seconds
        self.w.chain.set_next_block_timestamp(self.next_ts)

    # ------------------------------------------------------------- invariants

    @invariant(check_during_init=True)
    def chain_matches_mirror(self) -> None:
        """What the last step may have changed is what the mirror says; nothing else changed."""
        self.m.check_identities()
        touched, self.touched = self.touched, set()
        roots = self.w.storage_roots()
        may_change = {contract_of(key) for key in touched}
        touched |= {("supply", c) for c in CCYS if c in may_change}
        unchanged = {c for c in roots if c not in may_change and roots[c] != self.roots[c]}
        assert not unchanged, f"storage of {sorted(unchanged)} changed"
        self.roots = roots
        seen = self.w.read(sorted(touched, key=repr))
        for ccy in CCYS:
            if ("mallow", ccy) in seen:
                # the minter allowance never rises except through configureMinter
                assert seen[("mallow", ccy)] <= self.mallow_seen[ccy] or self.mallow_raised[ccy]
                self.mallow_seen[ccy] = seen[("mallow", ccy)]
                self.mallow_raised[ccy] = False
        wrong = {key: (value, self.m.expect(key)) for key, value in seen.items()
                 if value != self.m.expect(key)}
        assert not wrong, f"chain differs from the mirror (chain, mirror): {wrong}"
        self.consistent = True

    def teardown(self) -> None:
        if self.consistent:  # after a failed step, its own error is the one to report
            sweep(self.w, self.m)


TestSettlementStateMachine = SettlementMachine.TestCase
