"""Deploy the whole settlement stack in one call, roles wired.

One ``Stablecoin`` per currency (``USDx``, ``MXNx``, ...), one
``SettlementEscrow`` and one ``FxSwap``. Role holders are named accounts
(``owner``, ``master_minter``, ``pauser``, ``blacklister``, ``rescuer``,
``fee_collector``) and each currency gets an issuer minter ``minter_<CCY>``
with a mint allowance. The ``rescuer`` is the rescuer of the tokens, the escrow
and the swap alike; the escrow and the swap refuse deadlines further ahead than
their maximum durations (``max_lock_duration``, ``max_swap_duration``).

Example::

    >>> from settlement import Chain, deploy_stack
    >>> stack = deploy_stack(Chain(), currencies=("USD", "MXN"))
    >>> sorted(stack.tokens), stack.tokens["MXN"].symbol()
    (['MXN', 'USD'], 'MXNx')
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from settlement.chain import Chain, Receipt
from settlement.clients import MAX_FEE_BPS, EscrowClient, FxSwapClient, StablecoinClient
from settlement.compile import load_artifact
from settlement.errors import check_int

__all__ = [
    "DEFAULT_MAX_LOCK_DURATION",
    "DEFAULT_MAX_SWAP_DURATION",
    "ROLES",
    "Stack",
    "check_currencies",
    "deploy_stack",
    "minter_name",
]

#: Named accounts holding the stack's roles.
ROLES = ("owner", "master_minter", "pauser", "blacklister", "rescuer", "fee_collector")

#: Default mint allowance per issuer minter: 10^9 currency units (6 decimals).
DEFAULT_MINTER_ALLOWANCE = 10**9 * 10**6
#: Default longest escrow lock: its deadline at most 30 days ahead (the owner can change it).
DEFAULT_MAX_LOCK_DURATION = 30 * 86_400
#: Default longest PvP swap: its deadline at most 7 days ahead (the owner can change it).
DEFAULT_MAX_SWAP_DURATION = 7 * 86_400


def minter_name(currency: str) -> str:
    """The named account that mints and redeems ``currency``'s stablecoin."""
    return f"minter_{currency}"


@dataclass
class Stack:
    """The deployed contracts, their clients, and who holds which role."""

    chain: Chain
    tokens: dict[str, StablecoinClient]
    escrow: EscrowClient
    fx: FxSwapClient
    roles: dict[str, str]
    deploy_receipts: dict[str, Receipt] = field(default_factory=dict)

    def addresses(self) -> dict[str, Any]:
        """Addresses as JSON-ready data (what ``settlesim deploy`` prints)."""
        return {
            "chainId": self.chain.chain_id,
            "tokens": {c: t.address for c, t in sorted(self.tokens.items())},
            "SettlementEscrow": self.escrow.address,
            "FxSwap": self.fx.address,
            "roles": dict(self.roles),
            "minters": {c: self.chain.account(minter_name(c)) for c in sorted(self.tokens)},
        }


def _deploy(chain: Chain, name: str, args: Sequence[Any], sender: str) -> Receipt:
    art = load_artifact(name)
    receipt = chain.deploy(name, art["bytecode"], args, sender=sender)
    assert receipt.contract_address, f"{name} deployment returned no address"
    return receipt


def check_currencies(currencies: Sequence[str]) -> None:
    """``ValueError`` unless every code is three upper-case ASCII letters (ISO 4217's form)
    and none repeats.

    >>> check_currencies(["USD", "usd"])
    Traceback (most recent call last):
    ...
    ValueError: currency 'usd' is not an ISO 4217 code such as 'USD'
    """
    for c in currencies:
        if len(c) != 3 or not c.isascii() or not c.isalpha() or not c.isupper():
            raise ValueError(f"currency {c!r} is not an ISO 4217 code such as 'USD'")
    if len(set(currencies)) != len(currencies):
        raise ValueError(f"currencies repeat: {list(currencies)}")


def deploy_stack(
    chain: Chain,
    currencies: Sequence[str] = ("USD", "EUR", "MXN"),
    *,
    escrow_fee_bps: int = 0,
    minter_allowance: int = DEFAULT_MINTER_ALLOWANCE,
    max_lock_duration: int = DEFAULT_MAX_LOCK_DURATION,
    max_swap_duration: int = DEFAULT_MAX_SWAP_DURATION,
) -> Stack:
    """Deploy stablecoins for ``currencies``, the escrow and the FX swap.

    Raises:
        ValueError: a currency code is not three upper-case letters, or repeats
            (:func:`check_currencies`); :class:`~settlement.errors.InvalidArgument`: a fee
            outside 0..``MAX_FEE_BPS``, a negative allowance or a duration under 1 s.
        settlement.ContractRevert: a constructor or role set-up reverted.
    """
    check_currencies(currencies)
    check_int(escrow_fee_bps, "deploy_stack: escrow_fee_bps", high=MAX_FEE_BPS,
              kind="basis points")
    check_int(minter_allowance, "deploy_stack: minter_allowance")
    check_int(max_lock_duration, "deploy_stack: max_lock_duration", low=1, high=2**64 - 1,
              kind="seconds")
    check_int(max_swap_duration, "deploy_stack: max_swap_duration", low=1, high=2**64 - 1,
              kind="seconds")
    if chain.automine is False:
        raise ValueError("deploy_stack needs auto-mining on; call chain.set_automine(True)")
    roles = chain.accounts(ROLES)
    receipts: dict[str, Receipt] = {}
    tokens: dict[str, StablecoinClient] = {}
    for ccy in currencies:
        r = _deploy(chain, "Stablecoin", (
            f"{ccy} Stablecoin", f"{ccy}x", ccy, roles["owner"], roles["master_minter"],
            roles["pauser"], roles["blacklister"], roles["rescuer"],
        ), "owner")
        receipts[f"Stablecoin:{ccy}"] = r
        token = StablecoinClient(chain, str(r.contract_address))
        token.configure_minter(minter_name(ccy), minter_allowance, sender="master_minter")
        tokens[ccy] = token
    r = _deploy(chain, "SettlementEscrow",
                (roles["owner"], roles["fee_collector"], escrow_fee_bps, max_lock_duration,
                 roles["rescuer"]), "owner")
    receipts["SettlementEscrow"] = r
    escrow = EscrowClient(chain, str(r.contract_address))
    r = _deploy(chain, "FxSwap", (roles["owner"], roles["rescuer"], max_swap_duration), "owner")
    receipts["FxSwap"] = r
    fx = FxSwapClient(chain, str(r.contract_address))
    return Stack(chain, tokens, escrow, fx, roles, receipts)
