// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";

/**
 * @title PriceOracle
 * @notice The price of the governance token in USD, as a WAD (1e18 = USD 1 per whole token),
 * reported by a reporter role (Terra's validators voted exchange rates; here the model reports
 * the price of the governance token's own market).
 */
contract PriceOracle is AccessControl {
    /// @notice The role that reports prices.
    bytes32 public constant REPORTER_ROLE = keccak256("REPORTER_ROLE");

    /// @notice The largest price accepted: USD 1e18 per whole token.
    uint256 public constant MAX_PRICE = 1e36;

    /// @notice The latest price (WAD).
    uint256 public price;

    /// @notice When the latest price was reported (block timestamp).
    uint256 public updatedAt;

    /// @notice A price of zero, or above {MAX_PRICE}.
    /// @param price The rejected price.
    error PriceOutOfRange(uint256 price);

    /// @notice A new price was reported.
    /// @param price The price (WAD).
    /// @param timestamp The block timestamp of the report.
    event PriceReported(uint256 price, uint256 timestamp);

    /**
     * @param admin The account that grants and revokes roles.
     * @param reporter The first reporter.
     * @param initialPrice The price at deployment (WAD).
     */
    constructor(address admin, address reporter, uint256 initialPrice) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(REPORTER_ROLE, reporter);
        _setPrice(initialPrice);
    }

    /**
     * @notice Reports a new price. Only a reporter.
     * @param newPrice The price (WAD), in 1..{MAX_PRICE}.
     */
    function setPrice(uint256 newPrice) external onlyRole(REPORTER_ROLE) {
        _setPrice(newPrice);
    }

    function _setPrice(uint256 newPrice) private {
        if (newPrice == 0 || newPrice > MAX_PRICE) revert PriceOutOfRange(newPrice);
        price = newPrice;
        updatedAt = block.timestamp;
        emit PriceReported(newPrice, block.timestamp);
    }
}
