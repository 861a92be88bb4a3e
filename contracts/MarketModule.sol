// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {ModuleToken} from "./ModuleToken.sol";
import {PriceOracle} from "./PriceOracle.sol";

/**
 * @title MarketModule
 * @notice Terra's market module (`x/market`): swaps the algorithmic stablecoin and the
 * governance token against each other at the oracle price, burning what is offered and minting
 * what is asked, and charges a spread set by two virtual constant-product pools in the peg unit
 * (USD): `cp = basePool²`, `terraPool = basePool + delta`, `lunaPool = cp / terraPool`. An offer
 * of value `v` asks `askPool − cp / (offerPool + v)` of the pools; the spread is
 * `(v − ask) / v`, floored at `minSpreadBps`; the trader receives the offer's oracle value in
 * the asked coin times `(1 − spread)`. The delta rises by the whole offer of a stablecoin →
 * governance swap and falls by what a governance → stablecoin swap pays out; every block it
 * recovers toward zero by `delta / recoveryPeriod` (truncated toward zero), applied lazily for
 * the heights elapsed when the module is next called.
 * @dev The block height is `(block.timestamp − genesisTime) / blockTime`, so a chain with any
 * block interval keeps the module's block clock. Governance may change the base pool, the
 * recovery period and the spread floor during a run (Terra's Proposal 1164); the recovery owed
 * up to the change is applied first, with the old period. Amounts are micro-units (6 decimals);
 * the stablecoin's micro-unit is a micro-USD.
 */
contract MarketModule is AccessControl {
    /// @notice The role that changes the module's parameters.
    bytes32 public constant GOVERNANCE_ROLE = keccak256("GOVERNANCE_ROLE");

    /// @notice The largest base pool accepted (micro-USD).
    uint256 public constant MAX_BASE_POOL = 1e30;

    /// @notice The tokens the module mints at genesis and by swaps.
    enum Token {
        Stable,
        Gov
    }

    uint256 private constant WAD = 1e18;
    uint256 private constant BPS_WAD = 1e14;
    uint256 private constant MAX_SPREAD_BPS = 10_000;

    /// @notice The algorithmic stablecoin.
    ModuleToken public immutable stable;
    /// @notice The governance token.
    ModuleToken public immutable gov;
    /// @notice The oracle of the governance token's price.
    PriceOracle public immutable oracle;
    /// @notice The timestamp of height 0.
    uint64 public immutable genesisTime;
    /// @notice Seconds per module block.
    uint32 public immutable blockTime;

    /// @notice `BasePool`, micro-USD.
    uint256 public basePool;
    /// @notice `PoolRecoveryPeriod`, in blocks.
    uint64 public recoveryPeriod;
    /// @notice `MinStabilitySpread`, in basis points.
    uint16 public minSpreadBps;
    /// @notice Whether the genesis allocation is over.
    bool public genesisSealed;

    int256 private _delta;
    uint64 private _deltaHeight;

    /// @notice The base pool is zero or above {MAX_BASE_POOL}.
    /// @param basePool The rejected base pool.
    error InvalidBasePool(uint256 basePool);

    /// @notice The recovery period is zero.
    /// @param recoveryPeriod The rejected period.
    error InvalidRecoveryPeriod(uint256 recoveryPeriod);

    /// @notice The minimum spread is 100% or more.
    /// @param minSpreadBps The rejected spread, in basis points.
    error InvalidMinSpread(uint256 minSpreadBps);

    /// @notice The block time is zero.
    /// @param blockTime The rejected block time.
    error InvalidBlockTime(uint256 blockTime);

    /// @notice A zero address where a contract is needed.
    /// @param account The rejected address.
    error InvalidAddress(address account);

    /// @notice The amount must be greater than zero.
    /// @param amount The rejected amount.
    error InvalidAmount(uint256 amount);

    /// @notice The swap would pay nothing (an offer worth less than a micro-unit after the spread).
    /// @param amount The offer.
    error ZeroSwapOutput(uint256 amount);

    /// @notice The swap pays less than the caller's minimum.
    /// @param out What the swap would pay.
    /// @param minOut The caller's minimum.
    error SlippageExceeded(uint256 out, uint256 minOut);

    /// @notice The virtual stablecoin pool (`basePool + delta`) is not positive, before or after
    /// the swap.
    /// @param terraPool The pool's size, micro-USD.
    error PoolDepleted(int256 terraPool);

    /// @notice The genesis allocation is over.
    error GenesisSealed();

    /// @notice A stablecoin → governance token swap was made.
    /// @param trader The trader.
    /// @param stableIn The stablecoin burned.
    /// @param govOut The governance token minted.
    /// @param spreadWad The spread charged (WAD).
    /// @param delta The pool delta after the swap.
    event SwappedToGov(address indexed trader, uint256 stableIn, uint256 govOut, uint256 spreadWad, int256 delta);

    /// @notice A governance token → stablecoin swap was made.
    /// @param trader The trader.
    /// @param govIn The governance token burned.
    /// @param stableOut The stablecoin minted.
    /// @param spreadWad The spread charged (WAD).
    /// @param delta The pool delta after the swap.
    event SwappedToStable(address indexed trader, uint256 govIn, uint256 stableOut, uint256 spreadWad, int256 delta);

    /// @notice The parameters changed.
    /// @param basePool The base pool, micro-USD.
    /// @param recoveryPeriod The recovery period, in blocks.
    /// @param minSpreadBps The spread floor, in basis points.
    event ParamsUpdated(uint256 basePool, uint64 recoveryPeriod, uint16 minSpreadBps);

    /// @notice The genesis allocation was closed.
    event GenesisClosed();

    /**
     * @param admin The account that grants roles and makes the genesis allocation.
     * @param governance The first holder of {GOVERNANCE_ROLE}.
     * @param stable_ The algorithmic stablecoin (whose market is this contract).
     * @param gov_ The governance token (whose market is this contract).
     * @param oracle_ The oracle of the governance token's price.
     * @param genesisTime_ The timestamp of height 0.
     * @param blockTime_ Seconds per module block (not zero).
     * @param basePool_ The base pool, micro-USD.
     * @param recoveryPeriod_ The recovery period, in blocks.
     * @param minSpreadBps_ The spread floor, in basis points (below 10,000).
     */
    constructor(
        address admin,
        address governance,
        ModuleToken stable_,
        ModuleToken gov_,
        PriceOracle oracle_,
        uint64 genesisTime_,
        uint32 blockTime_,
        uint256 basePool_,
        uint64 recoveryPeriod_,
        uint16 minSpreadBps_
    ) {
        if (address(stable_) == address(0)) revert InvalidAddress(address(stable_));
        if (address(gov_) == address(0)) revert InvalidAddress(address(gov_));
        if (address(oracle_) == address(0)) revert InvalidAddress(address(oracle_));
        if (blockTime_ == 0) revert InvalidBlockTime(blockTime_);
        stable = stable_;
        gov = gov_;
        oracle = oracle_;
        genesisTime = genesisTime_;
        blockTime = blockTime_;
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(GOVERNANCE_ROLE, governance);
        _setParams(basePool_, recoveryPeriod_, minSpreadBps_);
    }

    // ------------------------------------------------------------------ views

    /**
     * @notice The module's block height now.
     * @return The height.
     */
    function height() public view returns (uint256) {
        return _heightAt(block.timestamp);
    }

    /**
     * @notice The pool delta now, with the recovery owed up to the current height.
     * @return The delta, micro-USD (signed).
     */
    function poolDelta() external view returns (int256) {
        return deltaAt(height());
    }

    /**
     * @notice The pool delta at height `h` with the current recovery period (the stored delta
     * for a height at or before the one it was last brought to).
     * @param h The height.
     * @return The delta, micro-USD (signed).
     */
    function deltaAt(uint256 h) public view returns (int256) {
        return _recovered(_delta, h > _deltaHeight ? h - _deltaHeight : 0);
    }

    /**
     * @notice The virtual pools now.
     * @return terraPool The stablecoin pool, micro-USD.
     * @return lunaPool The governance token pool, micro-USD.
     */
    function pools() external view returns (int256 terraPool, uint256 lunaPool) {
        terraPool = int256(basePool) + deltaAt(height());
        lunaPool = terraPool > 0 ? (basePool * basePool) / uint256(terraPool) : 0;
    }

    /**
     * @notice What {swapToGov} would pay now.
     * @param stableIn The stablecoin offered.
     * @return govOut The governance token paid.
     * @return spreadWad The spread charged (WAD).
     */
    function quoteToGov(uint256 stableIn) external view returns (uint256 govOut, uint256 spreadWad) {
        (govOut, spreadWad, ) = _quoteToGov(stableIn, deltaAt(height()));
    }

    /**
     * @notice What {swapToStable} would pay now.
     * @param govIn The governance token offered.
     * @return stableOut The stablecoin paid.
     * @return spreadWad The spread charged (WAD).
     */
    function quoteToStable(uint256 govIn) external view returns (uint256 stableOut, uint256 spreadWad) {
        (stableOut, spreadWad, ) = _quoteToStable(govIn, deltaAt(height()));
    }

    // ------------------------------------------------------------------ swaps

    /**
     * @notice Burns `stableIn` of the caller's stablecoin and mints the governance token at the
     * oracle price, less the spread.
     * @param stableIn The stablecoin offered (micro-units).
     * @param minOut The least governance token the caller accepts.
     * @return govOut The governance token minted to the caller.
     */
    function swapToGov(uint256 stableIn, uint256 minOut) external returns (uint256 govOut) {
        if (stableIn == 0) revert InvalidAmount(stableIn);
        int256 delta = _recover();
        uint256 spreadWad;
        (govOut, spreadWad, delta) = _quoteToGov(stableIn, delta);
        if (govOut < minOut) revert SlippageExceeded(govOut, minOut);
        _delta = delta;
        emit SwappedToGov(msg.sender, stableIn, govOut, spreadWad, delta);
        stable.burn(msg.sender, stableIn);
        gov.mint(msg.sender, govOut);
    }

    /**
     * @notice Burns `govIn` of the caller's governance token and mints the stablecoin at the
     * oracle price, less the spread.
     * @param govIn The governance token offered (micro-units).
     * @param minOut The least stablecoin the caller accepts.
     * @return stableOut The stablecoin minted to the caller.
     */
    function swapToStable(uint256 govIn, uint256 minOut) external returns (uint256 stableOut) {
        if (govIn == 0) revert InvalidAmount(govIn);
        int256 delta = _recover();
        uint256 spreadWad;
        (stableOut, spreadWad, delta) = _quoteToStable(govIn, delta);
        if (stableOut < minOut) revert SlippageExceeded(stableOut, minOut);
        _delta = delta;
        emit SwappedToStable(msg.sender, govIn, stableOut, spreadWad, delta);
        gov.burn(msg.sender, govIn);
        stable.mint(msg.sender, stableOut);
    }

    // ------------------------------------------------------------- governance

    /**
     * @notice Changes the parameters (as Terra's Proposal 1164 did on 11–12 May 2022). The
     * recovery owed up to now is applied first, with the old period. Only governance.
     * @param basePool_ The base pool, micro-USD (1..{MAX_BASE_POOL}).
     * @param recoveryPeriod_ The recovery period, in blocks (not zero).
     * @param minSpreadBps_ The spread floor, in basis points (below 10,000).
     */
    function setParams(
        uint256 basePool_,
        uint64 recoveryPeriod_,
        uint16 minSpreadBps_
    ) external onlyRole(GOVERNANCE_ROLE) {
        _recover();
        _setParams(basePool_, recoveryPeriod_, minSpreadBps_);
    }

    /**
     * @notice Mints a genesis balance (the state a run starts from). Only the admin, before
     * {sealGenesis}.
     * @param token Which token.
     * @param to The holder.
     * @param amount The amount.
     */
    function genesisMint(Token token, address to, uint256 amount) external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (genesisSealed) revert GenesisSealed();
        if (amount == 0) revert InvalidAmount(amount);
        (token == Token.Stable ? stable : gov).mint(to, amount);
    }

    /**
     * @notice Ends the genesis allocation for good: from now on only swaps mint. Only the admin.
     */
    function sealGenesis() external onlyRole(DEFAULT_ADMIN_ROLE) {
        if (genesisSealed) revert GenesisSealed();
        genesisSealed = true;
        emit GenesisClosed();
    }

    // --------------------------------------------------------------- internal

    function _heightAt(uint256 timestamp) private view returns (uint256) {
        return timestamp > genesisTime ? (timestamp - genesisTime) / blockTime : 0;
    }

    /// Brings the stored delta to the current height; returns it.
    function _recover() private returns (int256 delta) {
        uint256 h = height();
        uint64 last = _deltaHeight;
        delta = _delta;
        if (h > last) {
            delta = _recovered(delta, h - last);
            _delta = delta;
            _deltaHeight = uint64(h);
        }
    }

    function _recovered(int256 delta, uint256 heights) private view returns (int256) {
        int256 period = int256(uint256(recoveryPeriod));
        for (uint256 i = 0; i < heights; ++i) {
            int256 step = delta / period;
            if (step == 0) break;
            delta -= step;
        }
        return delta;
    }

    function _terraPool(int256 delta) private view returns (uint256) {
        int256 terraPool = int256(basePool) + delta;
        if (terraPool <= 0) revert PoolDepleted(terraPool);
        return uint256(terraPool);
    }

    function _spread(uint256 offer, uint256 ask) private view returns (uint256) {
        int256 spread = ((int256(offer) - int256(ask)) * int256(WAD)) / int256(offer);
        int256 floorWad = int256(uint256(minSpreadBps) * BPS_WAD);
        return uint256(spread < floorWad ? floorWad : spread);
    }

    function _quoteToGov(
        uint256 stableIn,
        int256 delta
    ) private view returns (uint256 out, uint256 spreadWad, int256 deltaAfter) {
        if (stableIn == 0) revert InvalidAmount(stableIn);
        uint256 terraPool = _terraPool(delta);
        uint256 cp = basePool * basePool;
        uint256 lunaPool = cp / terraPool;
        uint256 ask = lunaPool - cp / (terraPool + stableIn);
        spreadWad = _spread(stableIn, ask);
        out = Math.mulDiv(stableIn, WAD - spreadWad, oracle.price());
        if (out == 0) revert ZeroSwapOutput(stableIn);
        deltaAfter = delta + int256(stableIn);
    }

    function _quoteToStable(
        uint256 govIn,
        int256 delta
    ) private view returns (uint256 out, uint256 spreadWad, int256 deltaAfter) {
        if (govIn == 0) revert InvalidAmount(govIn);
        uint256 terraPool = _terraPool(delta);
        uint256 offer = Math.mulDiv(govIn, oracle.price(), WAD);
        if (offer == 0) revert ZeroSwapOutput(govIn);
        uint256 cp = basePool * basePool;
        uint256 lunaPool = cp / terraPool;
        uint256 ask = terraPool - cp / (lunaPool + offer);
        spreadWad = _spread(offer, ask);
        out = Math.mulDiv(offer, WAD - spreadWad, WAD);
        if (out == 0) revert ZeroSwapOutput(govIn);
        deltaAfter = delta - int256(out);
        _terraPool(deltaAfter);
    }

    function _setParams(uint256 basePool_, uint64 recoveryPeriod_, uint16 minSpreadBps_) private {
        if (basePool_ == 0 || basePool_ > MAX_BASE_POOL) revert InvalidBasePool(basePool_);
        if (recoveryPeriod_ == 0) revert InvalidRecoveryPeriod(recoveryPeriod_);
        if (minSpreadBps_ >= MAX_SPREAD_BPS) revert InvalidMinSpread(minSpreadBps_);
        basePool = basePool_;
        recoveryPeriod = recoveryPeriod_;
        minSpreadBps = minSpreadBps_;
        emit ParamsUpdated(basePool_, recoveryPeriod_, minSpreadBps_);
    }
}
