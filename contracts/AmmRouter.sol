// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {AmmPool} from "./AmmPool.sol";
import {SettlementEscrow} from "./SettlementEscrow.sol";

/**
 * @title AmmRouter
 * @notice Converts through one or two {AmmPool}s and locks the output in the
 * {SettlementEscrow} in the same transaction: a payment's FX and its escrow lock cost one
 * transaction, not three (the provider's PvP funding, its settlement and the lock). The lock is
 * made by this router, so the escrow knows the router as its payer; the router records who paid
 * each lock and returns a refunded (or rejected) lock's amount to them through {reclaim}.
 * @dev The router holds no tokens between transactions except the amounts of refunded locks not
 * yet reclaimed. It swaps only through pools its owner registered ({addPool}), which it approves
 * once, without limit, for both their tokens (as it approves the escrow): an {AmmPool} pulls
 * only a swap's own input from its caller, so a registered pool cannot reach those amounts, and
 * no swap pays for an approval (nor its gas refund).
 */
contract AmmRouter is Ownable2Step, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice The escrow the router locks in.
    SettlementEscrow public immutable escrow;

    mapping(bytes32 lockId => address payer) private _payers;
    mapping(AmmPool pool => bool) private _pools;

    /// @notice The escrow is the zero address.
    error InvalidEscrow(address escrow);
    /// @notice An amount that must be positive is zero.
    error ZeroAmount();
    /// @notice The pool is not registered with the router.
    /// @param pool The pool.
    error UnknownPool(address pool);
    /// @notice The pool is registered already.
    /// @param pool The pool.
    error PoolAlreadyAdded(address pool);
    /// @notice The call came at or after its deadline.
    /// @param deadline The deadline (unix seconds).
    /// @param nowTimestamp The block's timestamp.
    error Expired(uint256 deadline, uint256 nowTimestamp);
    /// @notice The conversion would pay less than the caller's minimum.
    /// @param amountOut What the conversion pays.
    /// @param minAmountOut The caller's minimum.
    error SlippageExceeded(uint256 amountOut, uint256 minAmountOut);
    /// @notice The pools do not lead from the input token to the lock's token.
    /// @param tokenIn The token paid in.
    /// @param tokenOut The token the path ends in.
    /// @param lockToken The lock's token.
    error InvalidPath(address tokenIn, address tokenOut, address lockToken);
    /// @notice The router made no lock with this id, or its amount was already reclaimed.
    /// @param lockId The lock id.
    error UnknownLock(bytes32 lockId);
    /// @notice The lock is neither open nor refunded, so it has nothing to return.
    /// @param lockId The lock id.
    /// @param state The lock's state in the escrow.
    error LockNotRefundable(bytes32 lockId, SettlementEscrow.LockState state);

    /// @notice Tokens were swapped and the output locked for the lock's beneficiary.
    /// @param lockId The escrow lock's id (its payer is this router).
    /// @param payer The caller, who paid the input and may reclaim a refunded lock.
    /// @param tokenIn The token paid in.
    /// @param amountIn The input.
    /// @param amountOut The output locked.
    event SwappedAndLocked(
        bytes32 indexed lockId, address indexed payer, address indexed tokenIn, uint256 amountIn, uint256 amountOut
    );
    /// @notice A pool was registered; the router approved it and the escrow for its tokens.
    /// @param pool The pool.
    event PoolAdded(address indexed pool);
    /// @notice A refunded lock's amount was returned to its payer.
    /// @param lockId The lock id.
    /// @param payer Who received it.
    /// @param amount The amount.
    event Reclaimed(bytes32 indexed lockId, address indexed payer, uint256 amount);

    /**
     * @notice Deploys the router for `escrow_`.
     * @param escrow_ The escrow.
     * @param owner_ The owner, who registers the pools.
     */
    constructor(SettlementEscrow escrow_, address owner_) Ownable(owner_) {
        if (address(escrow_) == address(0)) revert InvalidEscrow(address(escrow_));
        escrow = escrow_;
    }

    /**
     * @notice Registers `pool` for swaps, approving it and the escrow, without limit, for both its
     * tokens. Only the owner.
     * @param pool The pool.
     */
    function addPool(AmmPool pool) external onlyOwner {
        if (_pools[pool]) revert PoolAlreadyAdded(address(pool));
        _pools[pool] = true;
        emit PoolAdded(address(pool));

        IERC20[2] memory tokens = [pool.token0(), pool.token1()];
        for (uint256 i = 0; i < 2; ++i) {
            tokens[i].forceApprove(address(pool), type(uint256).max);
            tokens[i].forceApprove(address(escrow), type(uint256).max);
        }
    }

    /**
     * @notice Whether `pool` is registered for swaps.
     * @param pool The pool.
     * @return True once the owner registered it.
     */
    function isPool(AmmPool pool) external view returns (bool) {
        return _pools[pool];
    }

    /**
     * @notice The payer recorded for a lock the router made (zero once reclaimed, or unknown).
     * @param lockId The lock id.
     * @return The payer.
     */
    function payerOf(bytes32 lockId) external view returns (address) {
        return _payers[lockId];
    }

    /**
     * @notice Pulls `amountIn` of `tokenIn` from the caller, swaps it through `pool1` (and then
     * `pool2`, unless that is the zero address) and locks the whole output in the escrow on
     * `terms`, whose `amount` is replaced by the output; reverts, changing nothing, unless the
     * output is at least `minAmountOut` and the block comes before `deadline`.
     * @param tokenIn The token paid in.
     * @param amountIn The input.
     * @param pool1 The first pool (holding `tokenIn`).
     * @param pool2 The second pool, or the zero address for one hop.
     * @param minAmountOut The least output accepted (the slippage guard).
     * @param deadline The conversion is refused from this instant on (unix seconds).
     * @param terms The lock's terms; the path must end in `terms.token`.
     * @return lockId The lock's id (its payer is this router).
     * @return amountOut The output locked.
     */
    function swapAndLock(
        address tokenIn,
        uint256 amountIn,
        AmmPool pool1,
        AmmPool pool2,
        uint256 minAmountOut,
        uint256 deadline,
        SettlementEscrow.LockTerms calldata terms
    ) external nonReentrant returns (bytes32 lockId, uint256 amountOut) {
        if (block.timestamp >= deadline) revert Expired(deadline, block.timestamp);
        if (amountIn == 0) revert ZeroAmount();
        IERC20(tokenIn).safeTransferFrom(msg.sender, address(this), amountIn);
        address tokenOut;
        (amountOut, tokenOut) = _hop(pool1, tokenIn, amountIn, deadline);
        if (address(pool2) != address(0)) {
            (amountOut, tokenOut) = _hop(pool2, tokenOut, amountOut, deadline);
        }
        if (tokenOut != terms.token) revert InvalidPath(tokenIn, tokenOut, terms.token);
        if (amountOut < minAmountOut) revert SlippageExceeded(amountOut, minAmountOut);

        SettlementEscrow.LockTerms memory t = terms;
        t.amount = amountOut;
        lockId = keccak256(abi.encode(block.chainid, address(escrow), address(this), t));
        _payers[lockId] = msg.sender;
        emit SwappedAndLocked(lockId, msg.sender, tokenIn, amountIn, amountOut);

        escrow.lock(t);
    }

    /**
     * @notice Returns a lock's amount to the payer who made it through the router: refunds it
     * from the escrow first if it is still open (which the escrow allows from its deadline on),
     * or passes on what a refund or a rejection already returned. Anyone may call it.
     * @param terms The lock's terms (with the amount locked).
     * @return amount The amount returned.
     */
    function reclaim(SettlementEscrow.LockTerms calldata terms) external nonReentrant returns (uint256 amount) {
        bytes32 lockId = escrow.lockIdOf(address(this), terms);
        address payer = _payers[lockId];
        if (payer == address(0)) revert UnknownLock(lockId);
        SettlementEscrow.LockState state = escrow.getLock(lockId).state;
        if (state != SettlementEscrow.LockState.Open && state != SettlementEscrow.LockState.Refunded) {
            revert LockNotRefundable(lockId, state);
        }
        delete _payers[lockId];
        amount = terms.amount;
        emit Reclaimed(lockId, payer, amount);

        if (state == SettlementEscrow.LockState.Open) escrow.refund(address(this), terms);
        IERC20(terms.token).safeTransfer(payer, amount);
    }

    function _hop(AmmPool pool, address tokenIn, uint256 amountIn, uint256 deadline)
        private
        returns (uint256 amountOut, address tokenOut)
    {
        if (!_pools[pool]) revert UnknownPool(address(pool));
        address t0 = address(pool.token0());
        tokenOut = tokenIn == t0 ? address(pool.token1()) : t0;
        amountOut = pool.swap(tokenIn, amountIn, 0, address(this), deadline);
    }
}
