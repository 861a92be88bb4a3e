// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/**
 * @title AmmPool
 * @notice A constant-product pool (x * y = k) of two ERC-20 stablecoins, in the manner of a
 * Uniswap v2 pair: a swap of `amountIn` pays `amountIn * (10000 - feeBps) * reserveOut /
 * (reserveIn * 10000 + amountIn * (10000 - feeBps))`, the fee staying in the pool for its
 * liquidity providers. Liquidity shares are this contract's own ERC-20; the first deposit locks
 * {MINIMUM_LIQUIDITY} shares for ever, so the share price can never be pushed to a value no one
 * can afford to deposit at.
 * @dev The pool keeps its reserves as accounting, not as its balances: a swap or a deposit
 * pulls its input and checks the balance rose by the whole amount (a token that delivers less is
 * refused), and tokens sent to the pool outside its functions stay outside the reserves. Every
 * function is guarded by a transient reentrancy lock, and every state change precedes the
 * transfers that follow it.
 */
contract AmmPool is ERC20, ReentrancyGuardTransient {
    using SafeERC20 for IERC20;

    /// @notice Basis points in one (100%).
    uint256 public constant BPS = 10_000;
    /// @notice The fee of a pool created without a reason to differ: 0.30%, as in Uniswap v2.
    uint16 public constant DEFAULT_FEE_BPS = 30;
    /// @notice Shares minted to {LOCKED_LIQUIDITY_HOLDER} by the first deposit, never redeemable.
    uint256 public constant MINIMUM_LIQUIDITY = 1000;
    /// @notice Holder of the locked minimum liquidity (no key is known for it).
    address public constant LOCKED_LIQUIDITY_HOLDER = address(0xdEaD);

    /// @notice The pool's first token.
    IERC20 public immutable token0;
    /// @notice The pool's second token.
    IERC20 public immutable token1;
    /// @notice The fee on a swap's input, in basis points (below 10000).
    uint16 public immutable feeBps;

    uint256 private _reserve0;
    uint256 private _reserve1;

    /// @notice The fee is 100% or more: the pool would give nothing for any input.
    /// @param feeBps The fee asked for.
    /// @param limit The lowest fee refused (10000 bp).
    error InvalidFee(uint256 feeBps, uint256 limit);
    /// @notice A token is the zero address, or both tokens are the same.
    /// @param token0 The first token.
    /// @param token1 The second token.
    error InvalidTokens(address token0, address token1);
    /// @notice The token is not one of the pool's two.
    /// @param token The token.
    error UnknownToken(address token);
    /// @notice An amount that must be positive is zero.
    error ZeroAmount();
    /// @notice The call came at or after its deadline.
    /// @param deadline The deadline (unix seconds).
    /// @param nowTimestamp The block's timestamp.
    error Expired(uint256 deadline, uint256 nowTimestamp);
    /// @notice The swap would pay less than the caller's minimum.
    /// @param amountOut What the swap would pay.
    /// @param minAmountOut The caller's minimum.
    error SlippageExceeded(uint256 amountOut, uint256 minAmountOut);
    /// @notice The reserves cannot serve the request (empty, or asked for all of one side).
    /// @param reserveIn The input side's reserve.
    /// @param reserveOut The output side's reserve.
    error InsufficientLiquidity(uint256 reserveIn, uint256 reserveOut);
    /// @notice The input is too small to buy one unit of the output.
    /// @param amountIn The input.
    error InsufficientOutputAmount(uint256 amountIn);
    /// @notice A deposit too small to mint a share, or a redemption too small to pay a unit.
    /// @param liquidity The shares the deposit or redemption comes to.
    error InsufficientLiquidityAmount(uint256 liquidity);
    /// @notice A deposit or a redemption below the caller's minimum of a token.
    /// @param token The token.
    /// @param amount What the call would move.
    /// @param minAmount The caller's minimum.
    error InsufficientAmount(address token, uint256 amount, uint256 minAmount);
    /// @notice The recipient is the zero address or the pool itself.
    /// @param to The recipient.
    error InvalidRecipient(address to);
    /// @notice A token delivered less than the amount pulled.
    /// @param token The token.
    /// @param expected The amount pulled.
    /// @param received What the pool's balance rose by.
    error TokenShortDelivered(address token, uint256 expected, uint256 received);

    /// @notice A swap was made.
    /// @param sender The caller, who paid the input.
    /// @param tokenIn The token paid in.
    /// @param amountIn The input.
    /// @param amountOut The output, in the other token.
    /// @param to The output's recipient.
    event Swapped(address indexed sender, address indexed tokenIn, uint256 amountIn, uint256 amountOut, address indexed to);
    /// @notice Liquidity was deposited.
    /// @param provider The caller, who paid both tokens.
    /// @param amount0 The deposit of token0.
    /// @param amount1 The deposit of token1.
    /// @param liquidity The shares minted to `to`.
    /// @param to The shares' recipient.
    event LiquidityAdded(address indexed provider, uint256 amount0, uint256 amount1, uint256 liquidity, address indexed to);
    /// @notice Liquidity was redeemed.
    /// @param provider The caller, whose shares were burnt.
    /// @param amount0 The token0 paid out.
    /// @param amount1 The token1 paid out.
    /// @param liquidity The shares burnt.
    /// @param to The tokens' recipient.
    event LiquidityRemoved(address indexed provider, uint256 amount0, uint256 amount1, uint256 liquidity, address indexed to);

    /**
     * @notice Creates the pool of `token0_` and `token1_`.
     * @param token0_ The first token.
     * @param token1_ The second token.
     * @param feeBps_ The fee on a swap's input in basis points ({DEFAULT_FEE_BPS} for Uniswap v2's);
     * 10000 (100%) or more is refused.
     * @param name_ The share token's name.
     * @param symbol_ The share token's symbol.
     */
    constructor(address token0_, address token1_, uint16 feeBps_, string memory name_, string memory symbol_)
        ERC20(name_, symbol_)
    {
        if (feeBps_ >= BPS) revert InvalidFee(feeBps_, BPS);
        if (token0_ == address(0) || token1_ == address(0) || token0_ == token1_) {
            revert InvalidTokens(token0_, token1_);
        }
        token0 = IERC20(token0_);
        token1 = IERC20(token1_);
        feeBps = feeBps_;
    }

    // ------------------------------------------------------------------ views

    /**
     * @notice The pool's reserves.
     * @return reserve0 The reserve of token0.
     * @return reserve1 The reserve of token1.
     */
    function getReserves() external view returns (uint256 reserve0, uint256 reserve1) {
        return (_reserve0, _reserve1);
    }

    /**
     * @notice What a swap of `amountIn` pays against reserves `reserveIn` and `reserveOut`, at
     * this pool's fee: `amountIn * (10000 - feeBps) * reserveOut / (reserveIn * 10000 + amountIn *
     * (10000 - feeBps))`, rounded down.
     * @param amountIn The input.
     * @param reserveIn The input side's reserve.
     * @param reserveOut The output side's reserve.
     * @return The output.
     */
    function getAmountOut(uint256 amountIn, uint256 reserveIn, uint256 reserveOut) public view returns (uint256) {
        if (amountIn == 0) revert ZeroAmount();
        if (reserveIn == 0 || reserveOut == 0) revert InsufficientLiquidity(reserveIn, reserveOut);
        uint256 inWithFee = amountIn * (BPS - feeBps);
        return (inWithFee * reserveOut) / (reserveIn * BPS + inWithFee);
    }

    /**
     * @notice The least input that buys `amountOut` against reserves `reserveIn` and `reserveOut`,
     * at this pool's fee: `reserveIn * amountOut * 10000 / ((reserveOut - amountOut) * (10000 -
     * feeBps)) + 1`.
     * @param amountOut The output wanted (less than `reserveOut`).
     * @param reserveIn The input side's reserve.
     * @param reserveOut The output side's reserve.
     * @return The input.
     */
    function getAmountIn(uint256 amountOut, uint256 reserveIn, uint256 reserveOut) public view returns (uint256) {
        if (amountOut == 0) revert ZeroAmount();
        if (reserveIn == 0 || amountOut >= reserveOut) revert InsufficientLiquidity(reserveIn, reserveOut);
        return (reserveIn * amountOut * BPS) / ((reserveOut - amountOut) * (BPS - feeBps)) + 1;
    }

    /**
     * @notice What a swap of `amountIn` of `tokenIn` would pay now.
     * @param tokenIn The token paid in (one of the pool's two).
     * @param amountIn The input.
     * @return The output, in the other token.
     */
    function quote(address tokenIn, uint256 amountIn) external view returns (uint256) {
        (uint256 reserveIn, uint256 reserveOut,) = _sides(tokenIn);
        return getAmountOut(amountIn, reserveIn, reserveOut);
    }

    // ------------------------------------------------------------------ swaps

    /**
     * @notice Swaps `amountIn` of `tokenIn` (pulled from the caller, who must have approved this
     * pool) for the other token, paid to `to`; reverts unless the output is at least
     * `minAmountOut` and the block comes before `deadline`.
     * @param tokenIn The token paid in.
     * @param amountIn The input.
     * @param minAmountOut The least output accepted (the slippage guard).
     * @param to The output's recipient.
     * @param deadline The swap is refused from this instant on (unix seconds).
     * @return amountOut The output.
     */
    function swap(address tokenIn, uint256 amountIn, uint256 minAmountOut, address to, uint256 deadline)
        external
        nonReentrant
        returns (uint256 amountOut)
    {
        if (block.timestamp >= deadline) revert Expired(deadline, block.timestamp);
        if (to == address(0) || to == address(this)) revert InvalidRecipient(to);
        (uint256 reserveIn, uint256 reserveOut, bool zeroIn) = _sides(tokenIn);
        amountOut = getAmountOut(amountIn, reserveIn, reserveOut);
        if (amountOut < minAmountOut) revert SlippageExceeded(amountOut, minAmountOut);
        if (amountOut == 0) revert InsufficientOutputAmount(amountIn);

        IERC20 tokenOut;
        if (zeroIn) {
            (_reserve0, _reserve1) = (reserveIn + amountIn, reserveOut - amountOut);
            tokenOut = token1;
        } else {
            (_reserve1, _reserve0) = (reserveIn + amountIn, reserveOut - amountOut);
            tokenOut = token0;
        }
        emit Swapped(msg.sender, tokenIn, amountIn, amountOut, to);

        _pull(IERC20(tokenIn), amountIn);
        tokenOut.safeTransfer(to, amountOut);
    }

    // -------------------------------------------------------------- liquidity

    /**
     * @notice Deposits both tokens in the pool's current proportion (any proportion for the first
     * deposit) and mints shares to `to`: at most the desired amounts, at least the minimums.
     * The first deposit mints `sqrt(amount0 * amount1)` shares, {MINIMUM_LIQUIDITY} of them
     * locked; a later one `min(amount0 * supply / reserve0, amount1 * supply / reserve1)`.
     * @param amount0Desired The most token0 to deposit.
     * @param amount1Desired The most token1 to deposit.
     * @param amount0Min The least token0 to deposit.
     * @param amount1Min The least token1 to deposit.
     * @param to The shares' recipient.
     * @param deadline The deposit is refused from this instant on (unix seconds).
     * @return amount0 The token0 deposited.
     * @return amount1 The token1 deposited.
     * @return liquidity The shares minted to `to`.
     */
    function addLiquidity(
        uint256 amount0Desired,
        uint256 amount1Desired,
        uint256 amount0Min,
        uint256 amount1Min,
        address to,
        uint256 deadline
    ) external nonReentrant returns (uint256 amount0, uint256 amount1, uint256 liquidity) {
        if (block.timestamp >= deadline) revert Expired(deadline, block.timestamp);
        if (to == address(0) || to == address(this)) revert InvalidRecipient(to);
        if (amount0Desired == 0 || amount1Desired == 0) revert ZeroAmount();
        (uint256 r0, uint256 r1) = (_reserve0, _reserve1);
        uint256 supply = totalSupply();
        if (supply == 0) {
            (amount0, amount1) = (amount0Desired, amount1Desired);
        } else {
            if (r0 == 0 || r1 == 0) revert InsufficientLiquidity(r0, r1);
            uint256 amount1Optimal = (amount0Desired * r1) / r0;
            if (amount1Optimal <= amount1Desired) {
                (amount0, amount1) = (amount0Desired, amount1Optimal);
            } else {
                (amount0, amount1) = ((amount1Desired * r0) / r1, amount1Desired);
            }
        }
        if (amount0 < amount0Min) revert InsufficientAmount(address(token0), amount0, amount0Min);
        if (amount1 < amount1Min) revert InsufficientAmount(address(token1), amount1, amount1Min);
        if (supply == 0) {
            liquidity = Math.sqrt(amount0 * amount1);
            if (liquidity <= MINIMUM_LIQUIDITY) revert InsufficientLiquidityAmount(liquidity);
            liquidity -= MINIMUM_LIQUIDITY;
            _mint(LOCKED_LIQUIDITY_HOLDER, MINIMUM_LIQUIDITY);
        } else {
            liquidity = Math.min((amount0 * supply) / r0, (amount1 * supply) / r1);
            if (liquidity == 0) revert InsufficientLiquidityAmount(0);
        }
        (_reserve0, _reserve1) = (r0 + amount0, r1 + amount1);
        _mint(to, liquidity);
        emit LiquidityAdded(msg.sender, amount0, amount1, liquidity, to);

        _pull(token0, amount0);
        _pull(token1, amount1);
    }

    /**
     * @notice Burns `liquidity` of the caller's shares and pays `to` their pro-rata part of both
     * reserves (`liquidity * reserve / supply`, rounded down), at least the minimums.
     * @param liquidity The shares to redeem.
     * @param amount0Min The least token0 accepted.
     * @param amount1Min The least token1 accepted.
     * @param to The tokens' recipient.
     * @param deadline The redemption is refused from this instant on (unix seconds).
     * @return amount0 The token0 paid.
     * @return amount1 The token1 paid.
     */
    function removeLiquidity(uint256 liquidity, uint256 amount0Min, uint256 amount1Min, address to, uint256 deadline)
        external
        nonReentrant
        returns (uint256 amount0, uint256 amount1)
    {
        if (block.timestamp >= deadline) revert Expired(deadline, block.timestamp);
        if (to == address(0) || to == address(this)) revert InvalidRecipient(to);
        if (liquidity == 0) revert ZeroAmount();
        uint256 supply = totalSupply();
        (uint256 r0, uint256 r1) = (_reserve0, _reserve1);
        amount0 = (liquidity * r0) / supply;
        amount1 = (liquidity * r1) / supply;
        if (amount0 == 0 || amount1 == 0) revert InsufficientLiquidityAmount(liquidity);
        if (amount0 < amount0Min) revert InsufficientAmount(address(token0), amount0, amount0Min);
        if (amount1 < amount1Min) revert InsufficientAmount(address(token1), amount1, amount1Min);
        _burn(msg.sender, liquidity);
        (_reserve0, _reserve1) = (r0 - amount0, r1 - amount1);
        emit LiquidityRemoved(msg.sender, amount0, amount1, liquidity, to);

        token0.safeTransfer(to, amount0);
        token1.safeTransfer(to, amount1);
    }

    // --------------------------------------------------------------- internal

    function _sides(address tokenIn) private view returns (uint256 reserveIn, uint256 reserveOut, bool zeroIn) {
        if (tokenIn == address(token0)) return (_reserve0, _reserve1, true);
        if (tokenIn == address(token1)) return (_reserve1, _reserve0, false);
        revert UnknownToken(tokenIn);
    }

    function _pull(IERC20 token, uint256 amount) private {
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(msg.sender, address(this), amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received < amount) revert TokenShortDelivered(address(token), amount, received);
    }
}
