// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ModuleToken} from "./ModuleToken.sol";

/**
 * @title GovToken
 * @notice The governance token (LUNA-like) that absorbs the stablecoin's volatility: the market
 * module mints it to redeem the stablecoin and burns it to issue the stablecoin.
 */
contract GovToken is ModuleToken {
    /**
     * @param market_ The market module, the only minter and burner.
     */
    constructor(address market_) ModuleToken("Governance Token", "GOV", market_) {}
}
