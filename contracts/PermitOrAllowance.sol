// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {IERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/IERC20Permit.sol";

/**
 * @title PermitOrAllowance
 * @notice The allowance step of the `...WithPermit` functions of `SettlementEscrow` and `FxSwap`:
 * the caller's EIP-2612 permit lets the contract pull `amount` of `token` in the same transaction.
 * @dev An allowance that already covers `amount` is left alone: the permit is not submitted, so
 * it neither overwrites a larger allowance nor spends the signer's nonce. A signed permit is
 * public once it is in the mempool, and anyone may submit it first. The caller's own transaction
 * would then revert on the spent nonce, although the allowance it asked for is in place. So a
 * failed permit is accepted when the allowance then covers `amount`; otherwise the permit's own
 * revert reason is raised again, unchanged.
 */
abstract contract PermitOrAllowance {
    function _permit(address token, uint256 amount, uint256 deadline, uint8 v, bytes32 r, bytes32 s) internal {
        if (IERC20(token).allowance(msg.sender, address(this)) >= amount) return;
        try IERC20Permit(token).permit(msg.sender, address(this), amount, deadline, v, r, s) {
            // Allowance set.
        } catch (bytes memory reason) {
            if (IERC20(token).allowance(msg.sender, address(this)) < amount) {
                assembly ("memory-safe") {
                    revert(add(reason, 0x20), mload(reason))
                }
            }
        }
    }
}
