// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";

/**
 * @title StableSwapPool
 * @notice The secondary market of the algorithmic stablecoin: a two-coin Curve StableSwap pool
 * against a fiat-backed stablecoin, as UST traded in Curve's pools in May 2022. StableSwap,
 * not constant product, because that is the market where the run happened: it keeps the price
 * near 1:1 while the pool is near balance (amplification `A`) and slides fast once one side is
 * drained, which is the depeg the model must reproduce. Its invariant (Curve's code form, `Ann
 * = A·n`) is `Ann·Σx + D = Ann·D + D³ / (4·x0·x1)`, solved for `D` and for the bought coin's
 * balance by Newton's method exactly as Curve's 2-coin pool does; a swap pays `x_j − y − 1`
 * less the fee, which stays in the pool, so `D` never falls across a swap.
 * @dev Both coins have the same decimals (6), so no rate scaling. Reserves are the pool's own
 * accounting (tokens sent here outside a swap do not move the price). The pool never mints or
 * burns: it holds real balances of both tokens, seeded once by the admin with {initialize} from
 * what was sent here. No liquidity shares: the model's liquidity is fixed at genesis.
 */
contract StableSwapPool is AccessControl {
    using SafeERC20 for IERC20;

    /// @notice The role that changes the amplification and the fee.
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @notice Curve's largest amplification coefficient.
    uint256 public constant MAX_AMP = 1e6;
    /// @notice The largest fee (50%, Curve's `MAX_FEE`), in basis points.
    uint256 public constant MAX_FEE_BPS = 5_000;

    uint256 private constant BPS = 10_000;
    uint256 private constant ITERATIONS = 255;

    /// @notice Coin 0 (the algorithmic stablecoin).
    IERC20 public immutable coin0;
    /// @notice Coin 1 (the fiat-backed stablecoin).
    IERC20 public immutable coin1;

    /// @notice The amplification coefficient `A`.
    uint256 public amp;
    /// @notice The fee on what a swap buys, in basis points.
    uint256 public feeBps;
    /// @notice The pool's reserve of coin 0.
    uint256 public reserve0;
    /// @notice The pool's reserve of coin 1.
    uint256 public reserve1;

    /// @notice The amplification is zero or above {MAX_AMP}.
    /// @param amp The rejected coefficient.
    error InvalidAmplification(uint256 amp);

    /// @notice The fee is above {MAX_FEE_BPS}.
    /// @param feeBps The rejected fee.
    error InvalidPoolFee(uint256 feeBps);

    /// @notice A zero or shared coin address.
    /// @param coin The rejected address.
    error InvalidCoin(address coin);

    /// @notice The coin index is not 0 or 1.
    /// @param index The rejected index.
    error InvalidCoinIndex(uint256 index);

    /// @notice The amount must be greater than zero.
    /// @param amount The rejected amount.
    error InvalidAmount(uint256 amount);

    /// @notice The swap would buy nothing.
    /// @param amount The amount sold.
    error ZeroSwapOutput(uint256 amount);

    /// @notice The swap buys less than the caller's minimum.
    /// @param out What the swap would buy.
    /// @param minOut The caller's minimum.
    error SlippageExceeded(uint256 out, uint256 minOut);

    /// @notice Newton's method did not converge in 255 iterations.
    /// @param a The first input (a balance).
    /// @param b The second input (a balance, or the invariant).
    error PoolDidNotConverge(uint256 a, uint256 b);

    /// @notice The pool has no reserves yet ({initialize} not called).
    error PoolNotInitialized();

    /// @notice The pool was already seeded, or is seeded with an empty side.
    /// @param reserve0 Coin 0's balance.
    /// @param reserve1 Coin 1's balance.
    error InvalidInitialization(uint256 reserve0, uint256 reserve1);

    /// @notice The pool was seeded.
    /// @param reserve0 Coin 0's reserve.
    /// @param reserve1 Coin 1's reserve.
    event Initialized(uint256 reserve0, uint256 reserve1);

    /// @notice A swap was made.
    /// @param trader The trader.
    /// @param sold The index of the coin sold.
    /// @param amountIn The amount sold.
    /// @param amountOut The amount bought, after the fee.
    event Swapped(address indexed trader, uint256 sold, uint256 amountIn, uint256 amountOut);

    /// @notice The amplification or the fee changed.
    /// @param amp The amplification.
    /// @param feeBps The fee, in basis points.
    event ParamsUpdated(uint256 amp, uint256 feeBps);

    /**
     * @param admin The account that grants roles and seeds the pool.
     * @param governance The first holder of {GOVERNANCE_ROLE}.
     * @param coin0_ Coin 0.
     * @param coin1_ Coin 1.
     * @param amp_ The amplification coefficient (1..{MAX_AMP}).
     * @param feeBps_ The fee, in basis points (0..{MAX_FEE_BPS}).
     */
    constructor(address admin, address governance, IERC20 coin0_, IERC20 coin1_, uint256 amp_, uint256 feeBps_) {
        if (address(coin0_) == address(0) || address(coin0_) == address(coin1_)) revert InvalidCoin(address(coin0_));
        if (address(coin1_) == address(0)) revert InvalidCoin(address(coin1_));
        coin0 = coin0_;
        coin1 = coin1_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, governance);
        _setParams(amp_, feeBps_);
    }

    // ------------------------------------------------------------------ views

    /**
     * @notice The invariant `D` of the current reserves.
     * @return The invariant.
     */
    function invariant() external view returns (uint256) {
        if (reserve0 < 1) return 0; // not seeded yet
        return _getD(reserve0, reserve1);
    }

    /**
     * @notice What selling `dx` of coin `i` would buy now, after the fee.
     * @param i The index of the coin sold (0 or 1).
     * @param dx The amount sold.
     * @return The amount bought.
     */
    function getDy(uint256 i, uint256 dx) public view returns (uint256) {
        if (i > 1) revert InvalidCoinIndex(i);
        (uint256 xIn, uint256 xOut) = i == 0 ? (reserve0, reserve1) : (reserve1, reserve0);
        if (xIn < 1) revert PoolNotInitialized();
        if (dx == 0) revert InvalidAmount(dx);
        uint256 d = _getD(xIn, xOut);
        uint256 y = _getY(xIn + dx, d);
        if (y + 1 >= xOut) revert ZeroSwapOutput(dx);
        uint256 dy = xOut - y - 1;
        uint256 fee = (dy * feeBps) / BPS;
        if (dy <= fee) revert ZeroSwapOutput(dx);
        return dy - fee;
    }

    // ------------------------------------------------------------------ swaps

    /**
     * @notice Sells `dx` of coin `i` (the caller must have approved this pool) for the other.
     * @param i The index of the coin sold (0 or 1).
     * @param dx The amount sold.
     * @param minDy The least the caller accepts.
     * @return dy The amount bought, sent to the caller.
     */
    function exchange(uint256 i, uint256 dx, uint256 minDy) external returns (uint256 dy) {
        dy = getDy(i, dx);
        if (dy < minDy) revert SlippageExceeded(dy, minDy);
        (IERC20 sold, IERC20 bought) = i == 0 ? (coin0, coin1) : (coin1, coin0);
        if (i == 0) {
            reserve0 += dx;
            reserve1 -= dy;
        } else {
            reserve1 += dx;
            reserve0 -= dy;
        }
        emit Swapped(msg.sender, i, dx, dy);
        sold.safeTransferFrom(msg.sender, address(this), dx);
        bought.safeTransfer(msg.sender, dy);
    }

    // ------------------------------------------------------------------ admin

    /**
     * @notice Seeds the reserves from the balances sent to this pool. Once; only the admin.
     */
    function initialize() external onlyRole(DEFAULT_ADMIN_ROLE) {
        uint256 b0 = coin0.balanceOf(address(this));
        uint256 b1 = coin1.balanceOf(address(this));
        if (reserve0 > 0 || b0 < 1 || b1 < 1) revert InvalidInitialization(b0, b1);
        reserve0 = b0;
        reserve1 = b1;
        emit Initialized(b0, b1);
    }

    /**
     * @notice Changes the amplification and the fee, at once (Curve ramps `A` over time; the
     * model sets it). Only governance.
     * @param amp_ The amplification coefficient (1..{MAX_AMP}).
     * @param feeBps_ The fee, in basis points (0..{MAX_FEE_BPS}).
     */
    function setParams(uint256 amp_, uint256 feeBps_) external onlyRole(GOVERNANCE_ROLE) {
        _setParams(amp_, feeBps_);
    }

    // --------------------------------------------------------------- internal

    function _setParams(uint256 amp_, uint256 feeBps_) private {
        if (amp_ == 0 || amp_ > MAX_AMP) revert InvalidAmplification(amp_);
        if (feeBps_ > MAX_FEE_BPS) revert InvalidPoolFee(feeBps_);
        amp = amp_;
        feeBps = feeBps_;
        emit ParamsUpdated(amp_, feeBps_);
    }

    /// Both balances are positive: the pool is seeded with both sides and a swap always
    /// leaves at least 1 of what it pays out.
    function _getD(uint256 x0, uint256 x1) private view returns (uint256) {
        uint256 s = x0 + x1;
        uint256 ann = amp * 2;
        uint256 d = s;
        for (uint256 k = 0; k < ITERATIONS; ++k) {
            // Curve's D_P = D·D/(2·x0)·D/(2·x1), floored at each step as Curve's code does
            uint256 dP = Math.mulDiv(Math.mulDiv(d, d, x0 * 2), d, x1 * 2);
            uint256 prev = d;
            d = ((ann * s + dP * 2) * d) / ((ann - 1) * d + 3 * dP);
            if ((d > prev ? d - prev : prev - d) <= 1) return d;
        }
        revert PoolDidNotConverge(x0, x1);
    }

    function _getY(uint256 x, uint256 d) private view returns (uint256) {
        uint256 ann = amp * 2;
        // Curve's c = D·D/(2·x)·D/(2·Ann), floored at each step
        uint256 c = Math.mulDiv(Math.mulDiv(d, d, x * 2), d, ann * 2);
        uint256 b = x + d / ann;
        uint256 y = d;
        for (uint256 k = 0; k < ITERATIONS; ++k) {
            uint256 prev = y;
            y = (y * y + c) / (2 * y + b - d);
            if ((y > prev ? y - prev : prev - y) <= 1) return y;
        }
        revert PoolDidNotConverge(x, d);
    }
}
