// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";

/**
 * @title ModuleToken
 * @notice An ERC-20 token of an algorithmic stablecoin system (6 decimals, like Terra's `uusd`
 * and `uluna`) that only its market module mints and burns: the supply changes by the module's
 * swaps (and its genesis allocation), nothing else.
 * @dev The module's address is fixed at deployment (the deployer computes it from its nonce);
 * every balance change flows through OpenZeppelin's `_update`. The events are named apart
 * from the fiat-backed `Stablecoin`'s `Minted`/`Burned`, whose signatures differ in meaning.
 */
abstract contract ModuleToken is ERC20 {
    /// @notice The market module, the only account that can mint and burn.
    address public immutable market;

    /// @notice The caller is not the market module.
    /// @param caller The account that made the call.
    error CallerNotMarket(address caller);

    /// @notice The market module cannot be this address (the zero address).
    /// @param market The rejected address.
    error InvalidMarket(address market);

    /// @notice Tokens were minted by the market module.
    /// @param to The receiver.
    /// @param amount The amount minted.
    event MintedByMarket(address indexed to, uint256 amount);

    /// @notice Tokens were burned by the market module.
    /// @param from The holder whose tokens were burned.
    /// @param amount The amount burned.
    event BurnedByMarket(address indexed from, uint256 amount);

    /**
     * @param name_ The token's name.
     * @param symbol_ The token's symbol.
     * @param market_ The market module (not the zero address).
     */
    constructor(string memory name_, string memory symbol_, address market_) ERC20(name_, symbol_) {
        if (market_ == address(0)) revert InvalidMarket(market_);
        market = market_;
    }

    modifier onlyMarket() {
        if (msg.sender != market) revert CallerNotMarket(msg.sender);
        _;
    }

    /**
     * @notice Micro-units: 6 decimals.
     * @return 6.
     */
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /**
     * @notice Mints `amount` to `to`. Only the market module.
     * @param to The receiver.
     * @param amount The amount.
     */
    function mint(address to, uint256 amount) external onlyMarket {
        _mint(to, amount);
        emit MintedByMarket(to, amount);
    }

    /**
     * @notice Burns `amount` of `from`'s tokens. Only the market module, for a swap `from`
     * itself sent to the module (the module's caller is always `from`).
     * @param from The holder.
     * @param amount The amount.
     */
    function burn(address from, uint256 amount) external onlyMarket {
        _burn(from, amount);
        emit BurnedByMarket(from, amount);
    }
}
