// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModuleToken} from "./ModuleToken.sol";

/**
 * @title AlgoStablecoin
 * @notice An algorithmic stablecoin pegged to USD (UST-like): no reserve backs it; its market
 * module swaps it for the governance token at the oracle price, one USD of stablecoin for one
 * USD of governance token less a spread, minting one and burning the other.
 */
contract AlgoStablecoin is ModuleToken {
    /**
     * @param market_ The market module, the only minter and burner.
     */
    constructor(address market_) ModuleToken("Algorithmic USD", "AUSD", market_) {}
}
