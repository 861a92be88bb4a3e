// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {PermitOrAllowance} from "./PermitOrAllowance.sol";

/**
 * @title FxSwap
 * @notice Payment-versus-payment exchange of two ERC-20 tokens between two parties: party A
 * delivers `amountA` of `tokenA` to party B and party B delivers `amountB` of `tokenB` to party
 * A, both or neither. Each party funds its own leg; the first leg waits in this contract, and
 * funding the second leg settles both in the same transaction. A swap whose deadline passes with
 * one leg funded is refunded to that leg's funder.
 * @dev A swap's id is derived from the chain, this contract and its terms. No state exists in
 * which one leg has been delivered and the other has not: settlement moves both legs in one
 * transaction and reverts whole if either transfer fails.
 */
contract FxSwap is ReentrancyGuard, PermitOrAllowance {
    using SafeERC20 for IERC20;

    /// @notice The terms both parties agree on.
    /// @param partyA The party delivering `tokenA`.
    /// @param tokenA The token party A delivers.
    /// @param amountA The amount of `tokenA` delivered to party B.
    /// @param partyB The party delivering `tokenB`.
    /// @param tokenB The token party B delivers.
    /// @param amountB The amount of `tokenB` delivered to party A.
    /// @param deadline Funding is possible strictly before it, refund from it on (unix seconds).
    /// @param salt Distinguishes otherwise identical swaps.
    struct SwapTerms {
        address partyA;
        address tokenA;
        uint256 amountA;
        address partyB;
        address tokenB;
        uint256 amountB;
        uint64 deadline;
        bytes32 salt;
    }

    /// @notice The life cycle of a swap.
    enum SwapState {
        None,
        Open,
        Settled,
        Refunded
    }

    /// @notice A swap as stored.
    struct Swap {
        SwapTerms terms;
        bool fundedA;
        bool fundedB;
        SwapState state;
    }

    mapping(bytes32 swapId => Swap) private _swaps;

    /// @notice The terms are invalid: a zero or shared party, a zero or shared token, or a zero
    /// amount.
    error InvalidSwapTerms();

    /// @notice The deadline is not after the current block's timestamp.
    /// @param deadline The rejected deadline.
    /// @param nowTimestamp The current block's timestamp.
    error DeadlineNotInFuture(uint64 deadline, uint256 nowTimestamp);

    /// @notice The caller is neither party of the swap.
    /// @param swapId The swap's id.
    /// @param caller The caller.
    error NotSwapParty(bytes32 swapId, address caller);

    /// @notice The caller's leg has already been funded.
    /// @param swapId The swap's id.
    /// @param party The caller.
    error LegAlreadyFunded(bytes32 swapId, address party);

    /// @notice The swap's deadline has passed; it can only be refunded.
    /// @param swapId The swap's id.
    /// @param deadline The swap's deadline.
    /// @param nowTimestamp The current block's timestamp.
    error SwapExpired(bytes32 swapId, uint64 deadline, uint256 nowTimestamp);

    /// @notice The swap's deadline has not been reached; it cannot be refunded yet.
    /// @param swapId The swap's id.
    /// @param deadline The swap's deadline.
    /// @param nowTimestamp The current block's timestamp.
    error SwapNotExpired(bytes32 swapId, uint64 deadline, uint256 nowTimestamp);

    /// @notice The swap has already been settled or refunded.
    /// @param swapId The swap's id.
    /// @param state The swap's state.
    error SwapNotOpen(bytes32 swapId, SwapState state);

    /// @notice No swap has this id.
    /// @param swapId The id.
    error SwapNotFound(bytes32 swapId);

    /// @notice A swap was created by the funding of its first leg.
    /// @param swapId The swap's id.
    /// @param partyA Party A.
    /// @param partyB Party B.
    /// @param tokenA The token party A delivers.
    /// @param amountA The amount party A delivers.
    /// @param tokenB The token party B delivers.
    /// @param amountB The amount party B delivers.
    /// @param deadline The deadline.
    event SwapCreated(
        bytes32 indexed swapId,
        address indexed partyA,
        address indexed partyB,
        address tokenA,
        uint256 amountA,
        address tokenB,
        uint256 amountB,
        uint64 deadline
    );

    /// @notice A party funded its leg.
    /// @param swapId The swap's id.
    /// @param party The party.
    /// @param token The token of the leg.
    /// @param amount The amount of the leg.
    event LegFunded(bytes32 indexed swapId, address indexed party, address token, uint256 amount);

    /// @notice Both legs were delivered.
    /// @param swapId The swap's id.
    event SwapSettled(bytes32 indexed swapId);

    /// @notice A funded leg was returned to its funder after the deadline.
    /// @param swapId The swap's id.
    /// @param party The funder.
    /// @param token The token of the leg.
    /// @param amount The amount of the leg.
    event LegRefunded(bytes32 indexed swapId, address indexed party, address token, uint256 amount);

    // ------------------------------------------------------------------ views

    /**
     * @notice The id a swap with these terms has (or would have).
     * @param terms The swap's terms.
     * @return The swap id.
     */
    function swapIdOf(SwapTerms calldata terms) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), terms));
    }

    /**
     * @notice A swap as stored (all fields zero and state `None` for an unknown id).
     * @param swapId The id.
     * @return The swap.
     */
    function getSwap(bytes32 swapId) external view returns (Swap memory) {
        return _swaps[swapId];
    }

    // ---------------------------------------------------------------- funding

    /**
     * @notice Funds the caller's leg (the caller must have approved this contract). The first
     * leg creates the swap and waits here; the second settles both legs at once.
     * @param terms The swap's terms.
     * @return swapId The swap's id.
     */
    function fund(SwapTerms calldata terms) external nonReentrant returns (bytes32 swapId) {
        return _fund(terms);
    }

    /**
     * @notice Approves this contract with an EIP-2612 permit signed by the caller for the
     * caller's leg, then funds it, in one transaction. If the permit fails but the allowance
     * suffices, funding proceeds; otherwise the permit's revert is passed on.
     * @param terms The swap's terms.
     * @param permitDeadline The permit's deadline.
     * @param v Permit signature recovery byte.
     * @param r Permit signature `r`.
     * @param s Permit signature `s`.
     * @return swapId The swap's id.
     */
    function fundWithPermit(
        SwapTerms calldata terms,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (bytes32 swapId) {
        address token;
        uint256 amount;
        if (msg.sender == terms.partyA) {
            (token, amount) = (terms.tokenA, terms.amountA);
        } else if (msg.sender == terms.partyB) {
            (token, amount) = (terms.tokenB, terms.amountB);
        } else {
            revert NotSwapParty(swapIdOf(terms), msg.sender);
        }
        _permit(token, amount, permitDeadline, v, r, s);
        return _fund(terms);
    }

    /**
     * @notice Returns the funded leg of an open swap to its funder once the deadline is reached.
     * Anyone may call it.
     * @param swapId The swap's id.
     */
    function refund(bytes32 swapId) external nonReentrant {
        Swap storage sw = _swaps[swapId];
        SwapState state = sw.state;
        if (state == SwapState.None) revert SwapNotFound(swapId);
        if (state != SwapState.Open) revert SwapNotOpen(swapId, state);
        SwapTerms memory t = sw.terms;
        if (block.timestamp < t.deadline) revert SwapNotExpired(swapId, t.deadline, block.timestamp);

        sw.state = SwapState.Refunded;
        bool fundedA = sw.fundedA;
        bool fundedB = sw.fundedB;
        if (fundedA) emit LegRefunded(swapId, t.partyA, t.tokenA, t.amountA);
        if (fundedB) emit LegRefunded(swapId, t.partyB, t.tokenB, t.amountB);

        if (fundedA) IERC20(t.tokenA).safeTransfer(t.partyA, t.amountA);
        if (fundedB) IERC20(t.tokenB).safeTransfer(t.partyB, t.amountB);
    }

    // --------------------------------------------------------------- internal

    function _fund(SwapTerms calldata terms) private returns (bytes32 swapId) {
        swapId = swapIdOf(terms);
        Swap storage sw = _swaps[swapId];
        SwapState state = sw.state;
        if (state == SwapState.None) {
            _validate(terms);
        } else if (state != SwapState.Open) {
            revert SwapNotOpen(swapId, state);
        } else if (block.timestamp >= terms.deadline) {
            revert SwapExpired(swapId, terms.deadline, block.timestamp);
        }

        bool isA = msg.sender == terms.partyA;
        if (!isA && msg.sender != terms.partyB) revert NotSwapParty(swapId, msg.sender);
        if (isA ? sw.fundedA : sw.fundedB) revert LegAlreadyFunded(swapId, msg.sender);

        if (state == SwapState.None) {
            sw.terms = terms;
            sw.state = SwapState.Open;
            _emitCreated(swapId, terms);
        }

        (address token, uint256 amount) = isA ? (terms.tokenA, terms.amountA) : (terms.tokenB, terms.amountB);
        bool counterpartyFunded;
        if (isA) {
            sw.fundedA = true;
            counterpartyFunded = sw.fundedB;
        } else {
            sw.fundedB = true;
            counterpartyFunded = sw.fundedA;
        }
        emit LegFunded(swapId, msg.sender, token, amount);

        if (!counterpartyFunded) {
            IERC20(token).safeTransferFrom(msg.sender, address(this), amount);
            return swapId;
        }

        sw.state = SwapState.Settled;
        emit SwapSettled(swapId);

        // The caller's leg goes straight to the counterparty; the counterparty's leg, held here
        // since it was funded, goes to the caller. Either transfer failing reverts both.
        if (isA) {
            IERC20(token).safeTransferFrom(msg.sender, terms.partyB, amount);
            IERC20(terms.tokenB).safeTransfer(msg.sender, terms.amountB);
        } else {
            IERC20(token).safeTransferFrom(msg.sender, terms.partyA, amount);
            IERC20(terms.tokenA).safeTransfer(msg.sender, terms.amountA);
        }
    }

    function _validate(SwapTerms calldata terms) private view {
        if (
            terms.partyA == address(0) ||
            terms.partyB == address(0) ||
            terms.partyA == terms.partyB ||
            terms.tokenA == address(0) ||
            terms.tokenB == address(0) ||
            terms.tokenA == terms.tokenB ||
            terms.amountA == 0 ||
            terms.amountB == 0
        ) revert InvalidSwapTerms();
        if (terms.deadline <= block.timestamp) revert DeadlineNotInFuture(terms.deadline, block.timestamp);
    }

    function _emitCreated(bytes32 swapId, SwapTerms calldata terms) private {
        emit SwapCreated(
            swapId,
            terms.partyA,
            terms.partyB,
            terms.tokenA,
            terms.amountA,
            terms.tokenB,
            terms.amountB,
            terms.deadline
        );
    }
}
