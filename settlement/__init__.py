"""Everything in settlesim that touches the EVM.

Compile the contracts (:mod:`settlement.compile`), run a chain
(:class:`Chain`: the embedded py-evm chain, or any JSON-RPC node), deploy
the stack (:func:`deploy_stack`; the algorithmic stablecoin's:
:func:`deploy_terra`), transact through typed clients, and measure gas (:func:`measure_gas`).

Example::

    >>> from settlement import Chain, deploy_stack
    >>> stack = deploy_stack(Chain(), currencies=("USD", "MXN"))
    >>> stack.tokens["USD"].decimals()
    6
"""

from settlement.abi import AbiRegistry, DecodedEvent
from settlement.chain import (
    BACKENDS,
    DEFAULT_BACKEND,
    Chain,
    ChainError,
    ClockError,
    ContractRevert,
    InvalidTimestamp,
    Log,
    MinedBlock,
    PendingTransaction,
    Receipt,
    UnknownSnapshot,
)
from settlement.clients import (
    EscrowClient,
    FxSwapClient,
    LockState,
    LockTerms,
    StablecoinClient,
    SwapState,
    SwapTerms,
    hashlock_of,
    new_preimage,
)
from settlement.deploy import ROLES, Stack, deploy_stack, minter_name
from settlement.errors import InvalidArgument, SettlementInputError
from settlement.gas import GAS_REPORT_PATH, load_gas_report, measure_gas
from settlement.terra import (
    TERRA_ROLES,
    AlgoStablecoinClient,
    GovTokenClient,
    MarketModuleClient,
    ModuleTokenKind,
    PriceOracleClient,
    StableSwapPoolClient,
    TerraConfig,
    TerraStack,
    deploy_terra,
)

__all__ = [
    "BACKENDS",
    "DEFAULT_BACKEND",
    "GAS_REPORT_PATH",
    "ROLES",
    "TERRA_ROLES",
    "AbiRegistry",
    "AlgoStablecoinClient",
    "Chain",
    "ChainError",
    "ClockError",
    "ContractRevert",
    "InvalidArgument",
    "InvalidTimestamp",
    "DecodedEvent",
    "EscrowClient",
    "FxSwapClient",
    "GovTokenClient",
    "LockState",
    "LockTerms",
    "Log",
    "MarketModuleClient",
    "MinedBlock",
    "ModuleTokenKind",
    "PendingTransaction",
    "PriceOracleClient",
    "Receipt",
    "SettlementInputError",
    "Stack",
    "StableSwapPoolClient",
    "StablecoinClient",
    "SwapState",
    "SwapTerms",
    "TerraConfig",
    "TerraStack",
    "UnknownSnapshot",
    "deploy_stack",
    "deploy_terra",
    "hashlock_of",
    "load_gas_report",
    "measure_gas",
    "minter_name",
    "new_preimage",
]
