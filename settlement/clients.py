"""Typed clients for settlesim's contracts.

Each state-changing method sends one transaction as a *named* sender and
returns a :class:`~settlement.chain.Receipt` (gas used, effective gas price,
block number and timestamp, decoded events), or a
:class:`~settlement.chain.PendingTransaction` when the chain's auto-mining is
off. A revert raises :class:`~settlement.chain.ContractRevert` naming the
custom error. Address arguments take an address or an account name.

Example::

    >>> from settlement import Chain, deploy_stack
    >>> stack = deploy_stack(Chain(), currencies=("USD",))
    >>> usd = stack.tokens["USD"]
    >>> r = usd.mint("alice", 1_000_000, sender="minter_USD")
    >>> usd.balance_of("alice"), r.gas_used > 21_000
    (1000000, True)
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass
from enum import IntEnum
from typing import Any, ClassVar

from settlement.chain import Chain, PendingTransaction, Receipt
from settlement.errors import check_int

__all__ = [
    "PERMIT_TYPES",
    "EscrowClient",
    "FxSwapClient",
    "LockState",
    "LockTerms",
    "MAX_FEE_BPS",
    "StablecoinClient",
    "SwapState",
    "SwapTerms",
    "hashlock_of",
    "new_preimage",
]

TxResult = Receipt | PendingTransaction
ZERO_ADDRESS = "0x" + "00" * 20
ZERO32 = b"\x00" * 32
UINT256_MAX = 2**256 - 1
#: ``SettlementEscrow.MAX_FEE_BPS``: a payer stating it accepts any fee the owner can set
MAX_FEE_BPS = 1000
#: EIP-2612 ``Permit`` typed data (EIP-712 types)
PERMIT_TYPES: dict[str, list[dict[str, str]]] = {
    "Permit": [
        {"name": "owner", "type": "address"},
        {"name": "spender", "type": "address"},
        {"name": "value", "type": "uint256"},
        {"name": "nonce", "type": "uint256"},
        {"name": "deadline", "type": "uint256"},
    ]
}


def hashlock_of(preimage: bytes) -> bytes:
    """The escrow's hashlock for ``preimage``: sha256, as in Bitcoin/Lightning HTLCs."""
    if len(preimage) != 32:
        raise ValueError(f"a preimage is 32 bytes, got {len(preimage)}")
    return hashlib.sha256(preimage).digest()


def new_preimage() -> bytes:
    """A fresh random 32-byte secret (for interactive use; simulations derive theirs)."""
    return os.urandom(32)


class LockState(IntEnum):
    NONE = 0
    OPEN = 1
    RELEASED = 2
    REFUNDED = 3
    #: released before the deadline, payout refused by the token: claimable, never refunded
    PROVEN = 4


class SwapState(IntEnum):
    NONE = 0
    OPEN = 1
    SETTLED = 2
    REFUNDED = 3


@dataclass(frozen=True)
class LockTerms:
    """Terms of an escrow lock; the lock id is derived from them and the payer.

    ``max_fee_bps`` is the highest fee rate the payer accepts (the lock reverts with
    ``FeeAboveMaximum`` above it); in the ABI's order it comes before ``salt``.
    """

    token: str
    beneficiary: str
    amount: int
    deadline: int
    hashlock: bytes = ZERO32
    agent: str = ZERO_ADDRESS
    salt: bytes = ZERO32
    max_fee_bps: int = MAX_FEE_BPS

    def as_abi(self) -> tuple[Any, ...]:
        return (self.token, self.beneficiary, self.amount, self.deadline, self.hashlock,
                self.agent, self.max_fee_bps, self.salt)


@dataclass(frozen=True)
class SwapTerms:
    """Terms of a PvP swap: A pays ``amount_a`` of ``token_a``, B ``amount_b`` of ``token_b``."""

    party_a: str
    token_a: str
    amount_a: int
    party_b: str
    token_b: str
    amount_b: int
    deadline: int
    salt: bytes = ZERO32

    def as_abi(self) -> tuple[Any, ...]:
        return (self.party_a, self.token_a, self.amount_a, self.party_b, self.token_b,
                self.amount_b, self.deadline, self.salt)


class _Client:
    contract: ClassVar[str]

    def __init__(self, chain: Chain, address: str) -> None:
        self.chain = chain
        self.address = address

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.address})"

    def _addr(self, who: str | _Client) -> str:
        """An address from an address, a client (its contract) or an account name.

        Raises:
            ValueError: ``who`` starts with ``0x`` but is not a 20-byte address.
        """
        if isinstance(who, _Client):
            return who.address
        if who.startswith("0x"):
            if len(who) != 42:
                raise ValueError(f"{who!r} is not a 20-byte address")
            return who
        return self.chain.address_of(who)

    def _tx(self, fn: str, *args: Any, sender: str, gas: int | None = None) -> TxResult:
        return self.chain.transact(self.address, self.contract, fn, args, sender=sender, gas=gas)

    def _call(self, fn: str, *args: Any) -> Any:
        return self.chain.call(self.address, self.contract, fn, args)


class StablecoinClient(_Client):
    """A fiat-backed ERC-20 (6 decimals) with Circle-style roles and EIP-2612 permit."""

    contract = "Stablecoin"

    # ERC-20
    def transfer(self, to: str, amount: int, *, sender: str) -> TxResult:
        return self._tx("transfer", self._addr(to), amount, sender=sender)

    def approve(self, spender: str, amount: int, *, sender: str) -> TxResult:
        return self._tx("approve", self._addr(spender), amount, sender=sender)

    def transfer_from(self, owner: str, to: str, amount: int, *, sender: str) -> TxResult:
        return self._tx("transferFrom", self._addr(owner), self._addr(to), amount, sender=sender)

    def balance_of(self, who: str) -> int:
        return int(self._call("balanceOf", self._addr(who)))

    def allowance(self, owner: str, spender: str) -> int:
        return int(self._call("allowance", self._addr(owner), self._addr(spender)))

    def total_supply(self) -> int:
        return int(self._call("totalSupply"))

    def name(self) -> str:
        return str(self._call("name"))

    def symbol(self) -> str:
        return str(self._call("symbol"))

    def decimals(self) -> int:
        return int(self._call("decimals"))

    def currency(self) -> str:
        return str(self._call("currency"))

    # EIP-2612
    def nonces(self, owner: str) -> int:
        return int(self._call("nonces", self._addr(owner)))

    def domain_separator(self) -> bytes:
        return bytes(self._call("DOMAIN_SEPARATOR"))

    def sign_permit(
        self, owner: str, spender: str, value: int, deadline: int, *, nonce: int | None = None
    ) -> tuple[int, bytes, bytes]:
        """Sign an EIP-2612 permit with the named ``owner``'s key; returns ``(v, r, s)``."""
        from eth_account import Account

        owner_addr = self.chain.account(owner)
        message = {
            "owner": owner_addr,
            "spender": self._addr(spender),
            "value": value,
            "nonce": self.nonces(owner_addr) if nonce is None else nonce,
            "deadline": deadline,
        }
        domain = {
            "name": self.name(),
            "version": "1",
            "chainId": self.chain.chain_id,
            "verifyingContract": self.address,
        }
        signed = Account.sign_typed_data(self.chain.private_key(owner), domain, PERMIT_TYPES,
                                         message)
        return signed.v, signed.r.to_bytes(32, "big"), signed.s.to_bytes(32, "big")

    def permit(
        self, owner: str, spender: str, value: int, deadline: int, v: int, r: bytes, s: bytes,
        *, sender: str,
    ) -> TxResult:
        return self._tx("permit", self._addr(owner), self._addr(spender), value, deadline, v, r,
                        s, sender=sender)

    # issuance
    def configure_minter(self, minter: str, allowance: int, *, sender: str) -> TxResult:
        return self._tx("configureMinter", self._addr(minter), allowance, sender=sender)

    def remove_minter(self, minter: str, *, sender: str) -> TxResult:
        return self._tx("removeMinter", self._addr(minter), sender=sender)

    def mint(self, to: str, amount: int, *, sender: str) -> TxResult:
        return self._tx("mint", self._addr(to), amount, sender=sender)

    def burn(self, amount: int, *, sender: str) -> TxResult:
        return self._tx("burn", amount, sender=sender)

    def is_minter(self, who: str) -> bool:
        return bool(self._call("isMinter", self._addr(who)))

    def minter_allowance(self, who: str) -> int:
        return int(self._call("minterAllowance", self._addr(who)))

    # controls
    def pause(self, *, sender: str) -> TxResult:
        return self._tx("pause", sender=sender)

    def unpause(self, *, sender: str) -> TxResult:
        return self._tx("unpause", sender=sender)

    def paused(self) -> bool:
        return bool(self._call("paused"))

    def blacklist(self, who: str, *, sender: str) -> TxResult:
        return self._tx("blacklist", self._addr(who), sender=sender)

    def un_blacklist(self, who: str, *, sender: str) -> TxResult:
        return self._tx("unBlacklist", self._addr(who), sender=sender)

    def is_blacklisted(self, who: str) -> bool:
        return bool(self._call("isBlacklisted", self._addr(who)))

    def rescue_erc20(self, token: str, to: str, amount: int, *, sender: str) -> TxResult:
        return self._tx("rescueERC20", self._addr(token), self._addr(to), amount, sender=sender)

    # roles
    def update_master_minter(self, who: str, *, sender: str) -> TxResult:
        return self._tx("updateMasterMinter", self._addr(who), sender=sender)

    def update_pauser(self, who: str, *, sender: str) -> TxResult:
        return self._tx("updatePauser", self._addr(who), sender=sender)

    def update_blacklister(self, who: str, *, sender: str) -> TxResult:
        return self._tx("updateBlacklister", self._addr(who), sender=sender)

    def update_rescuer(self, who: str, *, sender: str) -> TxResult:
        return self._tx("updateRescuer", self._addr(who), sender=sender)

    def transfer_ownership(self, who: str, *, sender: str) -> TxResult:
        return self._tx("transferOwnership", self._addr(who), sender=sender)

    def accept_ownership(self, *, sender: str) -> TxResult:
        return self._tx("acceptOwnership", sender=sender)

    def owner(self) -> str:
        return str(self._call("owner"))

    def master_minter(self) -> str:
        return str(self._call("masterMinter"))

    def pauser(self) -> str:
        return str(self._call("pauser"))

    def blacklister(self) -> str:
        return str(self._call("blacklister"))

    def rescuer(self) -> str:
        return str(self._call("rescuer"))


class EscrowClient(_Client):
    """``SettlementEscrow``: hashlock and/or attestation release, rejection by the agent,
    refund after the deadline, pull fees, surplus rescue.

    A lock is stored as its state and fee rate only: every call after :meth:`lock` names the
    lock by its payer and its terms again (the id the contract computes from them).
    """

    contract = "SettlementEscrow"

    def terms(
        self, token: StablecoinClient | str, beneficiary: str, amount: int, deadline: int, *,
        hashlock: bytes = ZERO32, agent: str | None = None, salt: bytes = ZERO32,
        max_fee_bps: int | None = None,
    ) -> LockTerms:
        """Build :class:`LockTerms`, resolving account names to addresses; ``max_fee_bps``
        defaults to the escrow's current rate (the payer accepts the fee it sees)."""
        tok = token.address if isinstance(token, StablecoinClient) else self._addr(token)
        return LockTerms(tok, self._addr(beneficiary), amount, int(deadline), hashlock,
                         self._addr(agent) if agent else ZERO_ADDRESS, salt,
                         self.fee_bps() if max_fee_bps is None else check_int(
                             max_fee_bps, "EscrowClient.terms: max_fee_bps", high=MAX_FEE_BPS,
                             kind="basis points"))

    def lock(self, terms: LockTerms, *, sender: str) -> TxResult:
        return self._tx("lock", terms.as_abi(), sender=sender)

    def lock_with_permit(
        self, terms: LockTerms, token: StablecoinClient, *, sender: str,
        permit_deadline: int | None = None,
    ) -> TxResult:
        """Approve by EIP-2612 permit (signed here by ``sender``) and lock, in one transaction."""
        dl = permit_deadline if permit_deadline is not None else terms.deadline
        v, r, s = token.sign_permit(sender, self.address, terms.amount, dl)
        return self._tx("lockWithPermit", terms.as_abi(), dl, v, r, s, sender=sender)

    def lock_batch(self, terms: list[LockTerms], *, sender: str, gas: int | None = None
                   ) -> TxResult:
        gas = gas or 250_000 + 200_000 * len(terms)
        return self._tx("lockBatch", [t.as_abi() for t in terms], sender=sender, gas=gas)

    def release(self, payer: str, terms: LockTerms, preimage: bytes = ZERO32, *, sender: str
                ) -> TxResult:
        """Release the lock ``payer`` made with ``terms`` (preimage and/or agent as sender)."""
        return self._tx("release", self._addr(payer), terms.as_abi(), preimage, sender=sender)

    def release_batch(
        self, payers: list[str], terms: list[LockTerms], preimages: list[bytes] | None = None,
        *, sender: str, gas: int | None = None,
    ) -> TxResult:
        pre = preimages if preimages is not None else [ZERO32] * len(terms)
        gas = gas or 250_000 + 150_000 * len(terms)
        return self._tx("releaseBatch", [self._addr(p) for p in payers],
                        [t.as_abi() for t in terms], pre, sender=sender, gas=gas)

    def claim(self, payer: str, terms: LockTerms, *, sender: str) -> TxResult:
        """Pay out a ``PROVEN`` lock (released before its deadline, payout refused then)."""
        return self._tx("claim", self._addr(payer), terms.as_abi(), sender=sender)

    def refund(self, payer: str, terms: LockTerms, *, sender: str) -> TxResult:
        return self._tx("refund", self._addr(payer), terms.as_abi(), sender=sender)

    def reject(self, payer: str, terms: LockTerms, *, sender: str) -> TxResult:
        """The lock's settlement agent rejects it: the payer is refunded at once."""
        return self._tx("reject", self._addr(payer), terms.as_abi(), sender=sender)

    def withdraw_fees(self, token: StablecoinClient | str, *, sender: str) -> TxResult:
        return self._tx("withdrawFees", self._token(token), sender=sender)

    def set_fee(self, fee_bps: int, fee_collector: str, *, sender: str) -> TxResult:
        """Set the fee rate (0 to :data:`MAX_FEE_BPS` basis points, refused here before
        anything is sent) and its collector."""
        check_int(fee_bps, "EscrowClient.set_fee: fee_bps", high=MAX_FEE_BPS, kind="basis points")
        return self._tx("setFee", fee_bps, self._addr(fee_collector), sender=sender)

    def set_max_lock_duration(self, seconds: int, *, sender: str) -> TxResult:
        return self._tx("setMaxLockDuration", seconds, sender=sender)

    def update_rescuer(self, who: str, *, sender: str) -> TxResult:
        return self._tx("updateRescuer", self._addr(who), sender=sender)

    def rescue_erc20(self, token: StablecoinClient | str, to: str, amount: int, *, sender: str
                     ) -> TxResult:
        return self._tx("rescueERC20", self._token(token), self._addr(to), amount,
                        sender=sender)

    def lock_id_of(self, payer: str, terms: LockTerms) -> bytes:
        return bytes(self._call("lockIdOf", self._addr(payer), terms.as_abi()))

    def get_lock(self, lock_id: bytes) -> dict[str, Any]:
        """The lock as stored: ``{"state": LockState, "feeBps": int}``."""
        lock = dict(self._call("getLock", lock_id))
        lock["state"] = LockState(lock["state"])
        return lock

    def locked_balance(self, token: StablecoinClient | str) -> int:
        return int(self._call("lockedBalance", self._token(token)))

    def accrued_fees(self, token: StablecoinClient | str) -> int:
        return int(self._call("accruedFees", self._token(token)))

    def owed_balance(self, token: StablecoinClient | str) -> int:
        return int(self._call("owedBalance", self._token(token)))

    def fee_bps(self) -> int:
        return int(self._call("feeBps"))

    def fee_collector(self) -> str:
        return str(self._call("feeCollector"))

    def max_lock_duration(self) -> int:
        return int(self._call("maxLockDuration"))

    def rescuer(self) -> str:
        return str(self._call("rescuer"))

    def owner(self) -> str:
        return str(self._call("owner"))

    def _token(self, token: StablecoinClient | str) -> str:
        return token.address if isinstance(token, StablecoinClient) else self._addr(token)


class FxSwapClient(_Client):
    """``FxSwap``: payment-versus-payment exchange of two tokens; both legs or neither."""

    contract = "FxSwap"

    def terms(
        self, party_a: str, token_a: StablecoinClient, amount_a: int, party_b: str,
        token_b: StablecoinClient, amount_b: int, deadline: int, *, salt: bytes = ZERO32,
    ) -> SwapTerms:
        return SwapTerms(self._addr(party_a), token_a.address, amount_a, self._addr(party_b),
                         token_b.address, amount_b, int(deadline), salt)

    def fund(self, terms: SwapTerms, *, sender: str) -> TxResult:
        return self._tx("fund", terms.as_abi(), sender=sender)

    def fund_with_permit(
        self, terms: SwapTerms, token: StablecoinClient, *, sender: str,
        permit_deadline: int | None = None,
    ) -> TxResult:
        me = self.chain.account(sender)
        amount = terms.amount_a if me == terms.party_a else terms.amount_b
        dl = permit_deadline if permit_deadline is not None else terms.deadline
        v, r, s = token.sign_permit(sender, self.address, amount, dl)
        return self._tx("fundWithPermit", terms.as_abi(), dl, v, r, s, sender=sender)

    def refund(self, terms: SwapTerms, *, sender: str) -> TxResult:
        """Return the funded leg of the swap with ``terms`` after its deadline."""
        return self._tx("refund", terms.as_abi(), sender=sender)

    def set_max_swap_duration(self, seconds: int, *, sender: str) -> TxResult:
        return self._tx("setMaxSwapDuration", seconds, sender=sender)

    def update_rescuer(self, who: str, *, sender: str) -> TxResult:
        return self._tx("updateRescuer", self._addr(who), sender=sender)

    def rescue_erc20(self, token: StablecoinClient | str, to: str, amount: int, *, sender: str
                     ) -> TxResult:
        tok = token.address if isinstance(token, StablecoinClient) else self._addr(token)
        return self._tx("rescueERC20", tok, self._addr(to), amount, sender=sender)

    def held_balance(self, token: StablecoinClient | str) -> int:
        tok = token.address if isinstance(token, StablecoinClient) else self._addr(token)
        return int(self._call("heldBalance", tok))

    def max_swap_duration(self) -> int:
        return int(self._call("maxSwapDuration"))

    def rescuer(self) -> str:
        return str(self._call("rescuer"))

    def owner(self) -> str:
        return str(self._call("owner"))

    def swap_id_of(self, terms: SwapTerms) -> bytes:
        return bytes(self._call("swapIdOf", terms.as_abi()))

    def get_swap(self, swap_id: bytes) -> dict[str, Any]:
        """The swap as stored: ``{"state": SwapState, "fundedA": bool, "fundedB": bool}``."""
        swap = dict(self._call("getSwap", swap_id))
        swap["state"] = SwapState(swap["state"])
        return swap


def terms_dict(terms: LockTerms | SwapTerms) -> dict[str, Any]:
    return asdict(terms)
