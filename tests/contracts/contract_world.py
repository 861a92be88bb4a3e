"""The deployed stack the contract unit tests share, and whole-state snapshots of it.

One :class:`World` per test session: a simulated-clock eth-tester chain, the stack from
:func:`settlement.deploy_stack` (USD and MXN stablecoins, the escrow with a 25 bps fee, the
FX swap), every named account created and funded up front, and a base state in which the
customers ``alice``, ``bob`` and ``carol`` each hold :data:`INITIAL_BALANCE` of both tokens
and have approved the escrow and the swap for :data:`SPENDER_ALLOWANCE`. Each test runs
against a chain snapshot that is reverted afterwards (see ``conftest.py``).

State is compared whole, in the style of Circle's token tests: :meth:`World.token_state`,
:meth:`World.escrow_state` and :meth:`World.fx_state` return flat dicts (``(currency,
"balanceOf", "alice") -> 1_000_000_000``) of every balance, allowance, role, counter and
lock/swap struct that the contracts can touch, with addresses shown as account names. A test
takes the state before an action, derives the expected state from it, and compares the whole
dict after. The reads are batched into one ``eth_call``: a few dozen view calls run one by one
through web3 would cost more than the transactions under test.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from eth_abi import encode as abi_encode
from eth_utils import keccak, to_checksum_address

from settlement import ROLES, Chain, ContractRevert, Receipt, deploy_stack
from settlement.clients import LockTerms, SwapTerms
from settlement.deploy import DEFAULT_MINTER_ALLOWANCE

__all__ = [
    "CURRENCIES",
    "CUSTOMERS",
    "ESCROW_FEE_BPS",
    "GENESIS",
    "INITIAL_BALANCE",
    "MAX_UINT",
    "MINTERS",
    "NAMED",
    "SPENDER_ALLOWANCE",
    "USERS",
    "ZERO_ADDRESS",
    "ZERO32",
    "World",
    "changed",
]

#: 2026-01-01T00:00:00Z; with a genesis timestamp the chain's clock is simulated (+1 s a block).
GENESIS = 1_767_225_600
CURRENCIES = ("USD", "MXN")
ESCROW_FEE_BPS = 25
MINTERS = ("minter_USD", "minter_MXN")
USERS = ("alice", "bob", "carol", "agent", "outsider")
#: Every named account: role holders, issuer minters, customers, a settlement agent, an outsider.
NAMED: tuple[str, ...] = tuple(ROLES) + MINTERS + USERS
CUSTOMERS = ("alice", "bob", "carol")
INITIAL_BALANCE = 1_000 * 10**6
SPENDER_ALLOWANCE = 10**12
MINTER_ALLOWANCE = DEFAULT_MINTER_ALLOWANCE
MAX_UINT = 2**256 - 1
ZERO_ADDRESS = "0x" + "00" * 20
ZERO32 = b"\x00" * 32

_CONTRACT_OF = {"USD": "Stablecoin", "MXN": "Stablecoin", "escrow": "SettlementEscrow",
                "fx": "FxSwap"}


def changed(
    before: Mapping[Any, Any],
    updates: Mapping[Any, Any] | None = None,
    *,
    plus: Mapping[Any, int] | None = None,
) -> dict[Any, Any]:
    """``before`` with ``updates`` set and the amounts in ``plus`` added (negative to take
    away); every key must already be in the state."""
    updates = dict(updates or {})
    plus = dict(plus or {})
    unknown = [k for k in (*updates, *plus) if k not in before]
    assert not unknown, f"keys not in the state: {unknown}"
    out = dict(before)
    out.update(updates)
    for key, amount in plus.items():
        out[key] = out[key] + amount
    return out


# ---------------------------------------------------------------------------- batched reads

def _assemble_reader() -> bytes:
    """EVM init code that STATICCALLs each record appended to it and returns the results.

    A record is ``target (32-byte word) | calldata length (word) | return size (word) |
    calldata``. The returned bytes are a zero word (so the "deployed code" never starts with
    0xEF) followed by each call's return data, of exactly the declared size; the whole call
    reverts if any view reverts or returns another size.
    """
    code: list[int | str] = []
    labels: dict[str, int] = {}

    def op(*items: int | str) -> None:
        code.extend(items)

    def label(name: str) -> None:
        labels[name] = sum(2 if isinstance(x, str) else 1 for x in code)

    # memory[0:size] = appended records; stack: [end]
    op(0x61, "@codelen")            # PUSH2 code length
    op(0x80, 0x38, 0x03)            # DUP1 CODESIZE SUB -> size
    op(0x80, 0x91, 0x60, 0x00)      # DUP1 SWAP2 PUSH1 0
    op(0x39)                        # CODECOPY(0, codelen, size)
    op(0x60, 0x00)                  # p = 0
    op(0x81, 0x60, 0x20, 0x01)      # o = end + 32           [o p end]
    label("loop")
    op(0x5B)                        # JUMPDEST
    op(0x82, 0x82, 0x10, 0x15)      # !(p < end)
    op(0x61, "@done", 0x57)         # JUMPI done
    op(0x81, 0x60, 0x40, 0x01, 0x51)  # r = mload(p + 64)    [r o p end]
    op(0x81)                        # retOffset = o          [o r o p end]
    op(0x83, 0x60, 0x20, 0x01, 0x51)  # len = mload(p + 32)  [len o r o p end]
    op(0x84, 0x60, 0x60, 0x01)      # args = p + 96          [a len o r o p end]
    op(0x85, 0x51)                  # target = mload(p)
    op(0x5A, 0xFA)                  # GAS STATICCALL         [ok o p end]
    op(0x15, 0x61, "@fail", 0x57)   # JUMPI fail if !ok
    op(0x81, 0x60, 0x40, 0x01, 0x51)  # r                    [r o p end]
    op(0x80, 0x3D, 0x14, 0x15)      # returndatasize != r
    op(0x61, "@fail", 0x57)
    op(0x01)                        # o += r                 [o p end]
    op(0x90)                        # SWAP1                  [p o end]
    op(0x80, 0x60, 0x20, 0x01, 0x51)  # len
    op(0x01, 0x60, 0x60, 0x01)      # p += len + 96          [p o end]
    op(0x90, 0x61, "@loop", 0x56)   # SWAP1 JUMP loop        [o p end]
    label("done")
    op(0x5B, 0x82, 0x80, 0x82, 0x03)  # JUMPDEST DUP3 DUP1 DUP3 SUB -> [o-end end ...]
    op(0x90, 0xF3)                  # SWAP1 RETURN(end, o - end)
    label("fail")
    op(0x5B, 0x60, 0x00, 0x80, 0xFD)  # JUMPDEST REVERT(0, 0)
    label("codelen")
    out = bytearray()
    for x in code:
        if isinstance(x, str):
            out += labels[x[1:]].to_bytes(2, "big")
        else:
            out.append(x)
    return bytes(out)


_READER = _assemble_reader()


def _static_size(item: Mapping[str, Any]) -> int:
    t = item["type"]
    if t == "tuple":
        return sum(_static_size(c) for c in item["components"])
    if t in ("string", "bytes") or t.endswith("]"):
        raise ValueError(f"cannot batch-read a dynamic return type {t}")
    return 32


@dataclass(frozen=True)
class Read:
    """One view call of a state snapshot: its key in the state dict and what to call."""

    key: tuple[Any, ...]
    target: str  # "USD", "MXN", "escrow" or "fx"
    function: str
    args: tuple[Any, ...] = ()


# ---------------------------------------------------------------------------------- world

class World:
    """The shared chain, stack and named accounts, with state snapshots and revert checks."""

    def __init__(self) -> None:
        self.chain = Chain(genesis_timestamp=GENESIS)
        self.stack = deploy_stack(self.chain, CURRENCIES, escrow_fee_bps=ESCROW_FEE_BPS)
        self.chain.accounts(NAMED)  # fund every account now, not inside a snapshot
        self.tokens = self.stack.tokens
        self.usd = self.tokens["USD"]
        self.mxn = self.tokens["MXN"]
        self.escrow = self.stack.escrow
        self.fx = self.stack.fx
        self.addresses: dict[str, str] = {n: self.chain.account(n) for n in NAMED}
        self.addresses.update(USD=self.usd.address, MXN=self.mxn.address,
                              escrow=self.escrow.address, fx=self.fx.address)
        self.names: dict[str, str] = {
            to_checksum_address(a): n for n, a in self.addresses.items()
        }
        self.names[ZERO_ADDRESS] = "zero"
        self._cache: dict[tuple[bytes, tuple[Read, ...]], dict[tuple[Any, ...], Any]] = {}
        self._outputs = {
            (contract, item["name"]): item["outputs"]
            for contract, abi in self.chain.abis.abis.items()
            for item in abi if item.get("type") == "function"
        }
        for ccy, token in self.tokens.items():
            for who in CUSTOMERS:
                token.mint(who, INITIAL_BALANCE, sender=f"minter_{ccy}")
                token.approve(self.escrow.address, SPENDER_ALLOWANCE, sender=who)
                token.approve(self.fx.address, SPENDER_ALLOWANCE, sender=who)

    # -- accounts and time --------------------------------------------------------

    def address(self, who: str) -> str:
        """Address of a named account or contract (``"escrow"``, ``"USD"``), or ``"zero"``."""
        if who == "zero":
            return ZERO_ADDRESS
        if who.startswith("0x"):
            return to_checksum_address(who)
        return self.addresses[who]

    def name(self, value: Any) -> Any:
        """An address shown as its account name (unknown addresses unchanged)."""
        if isinstance(value, str) and value.startswith("0x") and len(value) == 42:
            return self.names.get(to_checksum_address(value), value)
        return value

    def named(self, args: Mapping[str, Any]) -> dict[str, Any]:
        return {k: self.name(v) for k, v in args.items()}

    def now(self) -> int:
        return self.chain.latest_timestamp()

    def at(self, timestamp: int) -> None:
        """Make the next transaction's block carry ``timestamp``."""
        self.chain.set_next_block_timestamp(timestamp)

    # -- reading --------------------------------------------------------------------

    def read(self, reads: Sequence[Read]) -> dict[tuple[Any, ...], Any]:
        """Run every view in ``reads`` in one ``eth_call``; values keyed by ``Read.key``.

        Results are memoised by the latest block's state root: the same root is the same
        state (every test starts from the same base, so its first snapshot is usually cached).
        """
        root = bytes(self.chain.w3.eth.get_block("latest")["stateRoot"])
        cache_key = (root, tuple(reads))
        cached = self._cache.get(cache_key)
        if cached is not None:
            return dict(cached)
        abis = self.chain.abis
        data = bytearray(_READER)
        sizes = []
        for r in reads:
            contract = _CONTRACT_OF[r.target]
            calldata = abis.encode_call(contract, r.function, [
                self.address(a) if isinstance(a, str) and not a.startswith("0x") else a
                for a in r.args
            ])
            size = sum(_static_size(o) for o in self._outputs[(contract, r.function)])
            sizes.append(size)
            data += abi_encode(["address", "uint256", "uint256"],
                               [self.address(r.target), len(calldata), size]) + calldata
        raw = bytes(self.chain.w3.eth.call(
            {"from": self.address("outsider"), "data": "0x" + data.hex()}  # type: ignore[typeddict-item]
        ))
        assert len(raw) == 32 + sum(sizes), "state reader returned an unexpected size"
        out: dict[tuple[Any, ...], Any] = {}
        pos = 32
        for r, size in zip(reads, sizes, strict=True):
            value = abis.decode_result(_CONTRACT_OF[r.target], r.function, raw[pos:pos + size])
            pos += size
            out[r.key] = self._display(value)
        self._cache[cache_key] = dict(out)
        return out

    def _display(self, value: Any) -> Any:
        if isinstance(value, dict):
            return {k: self._display(v) for k, v in value.items()}
        return self.name(value)

    def token_reads(self, ccy: str, *, holders: Iterable[str] | None = None) -> list[Read]:
        """Every piece of ``ccy``'s token state the tests look at."""
        holders = list(holders) if holders is not None else [*NAMED, "escrow", "fx", *CURRENCIES]
        reads = [Read((ccy, fn), ccy, fn) for fn in (
            "totalSupply", "paused", "owner", "pendingOwner",
            "masterMinter", "pauser", "blacklister", "rescuer",
        )]
        reads += [Read((ccy, "balanceOf", h), ccy, "balanceOf", (h,)) for h in holders]
        reads += [Read((ccy, "isBlacklisted", h), ccy, "isBlacklisted", (h,)) for h in holders]
        for who in (*MINTERS, *CUSTOMERS, "outsider"):
            reads.append(Read((ccy, "isMinter", who), ccy, "isMinter", (who,)))
            reads.append(Read((ccy, "minterAllowance", who), ccy, "minterAllowance", (who,)))
        for owner in CUSTOMERS:
            reads.append(Read((ccy, "nonces", owner), ccy, "nonces", (owner,)))
            for spender in (*CUSTOMERS, "escrow", "fx"):
                if spender != owner:
                    reads.append(Read((ccy, "allowance", owner, spender), ccy, "allowance",
                                      (owner, spender)))
        return reads

    def balance_reads(self, spender: str) -> list[Read]:
        """Both tokens' supplies, every account's balances, and allowances to ``spender``."""
        reads = []
        for ccy in CURRENCIES:
            reads.append(Read((ccy, "totalSupply"), ccy, "totalSupply"))
            reads += [Read((ccy, "balanceOf", h), ccy, "balanceOf", (h,))
                      for h in (*NAMED, "escrow", "fx", *CURRENCIES)]
            reads += [Read((ccy, "allowance", c, spender), ccy, "allowance", (c, spender))
                      for c in CUSTOMERS]
        return reads

    def token_state(self, ccy: str = "USD") -> dict[tuple[Any, ...], Any]:
        state = self.read(self.token_reads(ccy))
        self.check_supply(state, ccy)
        return state

    def escrow_state(self, lock_ids: Iterable[bytes] = (), *, surplus: bool = False
                     ) -> dict[tuple[Any, ...], Any]:
        """Balances and allowances to the escrow in both tokens, the escrow's settings, the
        locked balance and accrued fees per token, and each lock in ``lock_ids``.

        Unless ``surplus`` (a test sent tokens to the escrow directly), the escrow holds
        exactly what it owes: its open and proven locks and its accrued fees."""
        reads = self.balance_reads("escrow")
        reads += [Read(("escrow", fn), "escrow", fn)
                  for fn in ("owner", "pendingOwner", "feeBps", "feeCollector", "maxLockDuration",
                             "rescuer")]
        reads += [Read(("escrow", fn, c), "escrow", fn, (c,))
                  for c in CURRENCIES for fn in ("lockedBalance", "accruedFees")]
        reads += [Read(("lock", lid), "escrow", "getLock", (lid,)) for lid in lock_ids]
        state = self.read(reads)
        for ccy in CURRENCIES:
            self.check_supply(state, ccy)
            owed = state[("escrow", "lockedBalance", ccy)] + state[("escrow", "accruedFees", ccy)]
            if surplus:
                assert state[(ccy, "balanceOf", "escrow")] >= owed
            else:
                assert state[(ccy, "balanceOf", "escrow")] == owed
        return state

    def fx_state(self, swap_ids: Iterable[bytes] = (), *, surplus: bool = False
                 ) -> dict[tuple[Any, ...], Any]:
        """Balances and allowances to the swap contract in both tokens, the legs it holds per
        token, and each swap; unless ``surplus``, it holds exactly its funded legs."""
        reads = self.balance_reads("fx")
        reads += [Read(("fx", fn), "fx", fn) for fn in ("owner", "maxSwapDuration", "rescuer")]
        reads += [Read(("fx", "heldBalance", c), "fx", "heldBalance", (c,)) for c in CURRENCIES]
        reads += [Read(("swap", sid), "fx", "getSwap", (sid,)) for sid in swap_ids]
        state = self.read(reads)
        for ccy in CURRENCIES:
            self.check_supply(state, ccy)
            held = state[("fx", "heldBalance", ccy)]
            if surplus:
                assert state[(ccy, "balanceOf", "fx")] >= held
            else:
                assert state[(ccy, "balanceOf", "fx")] == held
        return state

    @staticmethod
    def check_supply(state: Mapping[tuple[Any, ...], Any], ccy: str) -> None:
        """Balances of every account sum to the total supply (all holders are tracked)."""
        balances = sum(v for k, v in state.items() if k[:2] == (ccy, "balanceOf"))
        assert balances == state[(ccy, "totalSupply")], f"{ccy} balances != total supply"

    # -- structs as the contracts return them ------------------------------------------

    EMPTY_LOCK: dict[str, Any] = {"state": 0, "feeBps": 0}

    def lock_struct(self, payer: str, terms: LockTerms, state: str = "OPEN",
                    fee_bps: int = ESCROW_FEE_BPS) -> dict[str, Any]:
        """A lock as stored: its state and the fee rate fixed when it was made (the payer and
        terms are not stored; they select the record through the id)."""
        states = {"NONE": 0, "OPEN": 1, "RELEASED": 2, "REFUNDED": 3, "PROVEN": 4}
        return {"state": states[state], "feeBps": fee_bps}

    def swap_struct(self, terms: SwapTerms, funded_a: bool, funded_b: bool,
                    state: str) -> dict[str, Any]:
        """A swap as stored: its state and which legs are funded (the terms select it)."""
        states = {"NONE": 0, "OPEN": 1, "SETTLED": 2, "REFUNDED": 3}
        return {"state": states[state], "fundedA": funded_a, "fundedB": funded_b}

    def lock_id(self, payer: str, terms: LockTerms) -> bytes:
        """The lock id computed here, independently of the contract."""
        encoded = abi_encode(
            ["uint256", "address", "address",
             "(address,address,uint256,uint64,bytes32,address,uint16,bytes32)"],
            [self.chain.chain_id, self.escrow.address, self.address(payer), terms.as_abi()],
        )
        return keccak(encoded)

    def swap_id(self, terms: SwapTerms) -> bytes:
        """The swap id computed here, independently of the contract."""
        encoded = abi_encode(
            ["uint256", "address",
             "(address,address,uint256,address,address,uint256,uint64,bytes32)"],
            [self.chain.chain_id, self.fx.address, terms.as_abi()],
        )
        return keccak(encoded)

    # -- events ---------------------------------------------------------------------

    @staticmethod
    def receipt(result: object) -> Receipt:
        """A client call's result as the :class:`Receipt` it is with auto-mining on."""
        assert isinstance(result, Receipt), f"expected a mined receipt, got {result!r}"
        return result

    def events(self, result: object) -> list[tuple[str, str, dict[str, Any]]]:
        """``(emitter, event, args)`` of every log, addresses shown as names, in order."""
        return [(self.name(e.address), e.name, self.named(e.args))
                for e in self.receipt(result).events]

    # -- reverts --------------------------------------------------------------------

    def reverts(
        self,
        action: Callable[[], object],
        error: str,
        args: Mapping[str, Any] | None = None,
        *,
        state: Callable[[], Mapping[Any, Any]] | None = None,
    ) -> ContractRevert:
        """Send ``action``'s transaction, expect it mined and reverted with ``error(args)``
        (addresses in ``args`` as account names), and nothing changed: every storage slot of
        every contract of the stack (compared through their storage roots), and ``state``
        when given.
        """
        before = (self.storage_roots(), state() if state else None)
        with pytest.raises(ContractRevert) as info:
            action()
        exc = info.value
        assert exc.tx_hash is not None, "expected a mined, reverted transaction"
        assert (exc.error, self.named(exc.args_dict)) == (error, dict(args or {}))
        after = (self.storage_roots(), state() if state else None)
        assert after == before, "a reverted transaction changed the state"
        return exc

    def storage_roots(self) -> dict[str, bytes]:
        """The storage trie root of each contract of the stack in the latest block's state:
        equal roots mean every storage slot is unchanged."""
        return {name: self.chain.storage_root(self.address(name))
                for name in ("USD", "MXN", "escrow", "fx")}
