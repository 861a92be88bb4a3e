// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title ShortToken
 * @notice Test-only ERC-20 that can deliver less than the amount of a transfer (a fee-on-transfer
 * token: the receiver gets the amount less `feeBps`, the rest is burned), to check that the
 * escrow and the swap refuse short deliveries. With a zero fee it is a plain token anyone can
 * mint, in any amount. Not deployed by settlesim.
 */
contract ShortToken is ERC20 {
    uint16 public feeBps;

    constructor() ERC20("Short", "SHRT") {}

    /// @notice Mints `amount` to `to` (anyone may call: test token).
    /// @param to The receiver.
    /// @param amount The amount.
    function mint(address to, uint256 amount) external {
        _mint(to, amount);
    }

    /// @notice Sets the share of every later transfer that is burned instead of delivered.
    /// @param feeBps_ The share, in basis points.
    function setFeeBps(uint16 feeBps_) external {
        feeBps = feeBps_;
    }

    function _update(address from, address to, uint256 value) internal override {
        uint256 fee = from == address(0) || to == address(0) ? 0 : (value / 10_000) * feeBps;
        if (fee != 0) super._update(from, address(0), fee);
        super._update(from, to, value - fee);
    }
}
