// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {PermitOrAllowance} from "./PermitOrAllowance.sol";

/**
 * @title FxSwap
 * @notice Payment-versus-payment exchange of two ERC-20 tokens between two parties: party A
 * delivers `amountA` of `tokenA` to party B and party B delivers `amountB` of `tokenB` to party
 * A, both or neither. Each party funds its own leg; the first leg waits in this contract, and
 * funding the second leg settles both in the same transaction. A swap whose deadline passes with
 * one leg funded is refunded to that leg's funder. A token that delivers less than a leg's
 * amount is refused.
 * @dev A swap's id commits to the chain, this contract and every term, so a swap is stored as
 * one slot (its state and which legs are funded): every later call passes the terms again, and
 * the id computed from them selects the record; the terms are in the {SwapCreated} event. No
 * state exists in which one leg has been delivered and the other has not: settlement moves both
 * legs in one transaction and reverts whole if either transfer fails or falls short. The contract
 * tracks the funded legs it holds per token; only the surplus above them can be rescued.
 */
contract FxSwap is Ownable2Step, ReentrancyGuardTransient, PermitOrAllowance {
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

    /// @notice A swap as stored: one slot; the terms are passed again by every call.
    /// @param state The swap's state.
    /// @param fundedA Whether party A's leg is funded.
    /// @param fundedB Whether party B's leg is funded.
    struct Swap {
        SwapState state;
        bool fundedA;
        bool fundedB;
    }

    /// @notice The longest a new swap may run: its deadline is at most this many seconds ahead.
    uint64 public maxSwapDuration;

    /// @notice The account that can return tokens sent here by mistake (the surplus only).
    address public rescuer;

    mapping(bytes32 swapId => Swap) private _swaps;
    mapping(address token => uint256) private _heldBalances;

    /// @notice The terms are invalid: a zero or shared party, a party that is this contract, a
    /// zero or shared token, or a zero amount.
    error InvalidSwapTerms();

    /// @notice The deadline is not after the current block's timestamp.
    /// @param deadline The rejected deadline.
    /// @param nowTimestamp The current block's timestamp.
    error DeadlineNotInFuture(uint64 deadline, uint256 nowTimestamp);

    /// @notice The deadline is further ahead than {maxSwapDuration} allows.
    /// @param deadline The rejected deadline.
    /// @param maxDeadline The latest deadline allowed now.
    error DeadlineTooFar(uint64 deadline, uint256 maxDeadline);

    /// @notice The maximum swap duration cannot be zero.
    /// @param duration The rejected duration.
    error InvalidSwapDuration(uint64 duration);

    /// @notice The rescuer cannot be this address (the zero address).
    /// @param rescuer The rejected address.
    error InvalidRescuer(address rescuer);

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

    /// @notice No swap has this id (no leg was funded with these terms).
    /// @param swapId The id.
    error SwapNotFound(bytes32 swapId);

    /// @notice A token delivered less than the leg's amount (a fee-on-transfer or rebasing token).
    /// @param token The token.
    /// @param expected The amount that should have arrived.
    /// @param received The amount that arrived.
    error TokenShortDelivered(address token, uint256 expected, uint256 received);

    /// @notice The caller is not the rescuer.
    /// @param caller The caller.
    error CallerNotRescuer(address caller);

    /// @notice The amount to rescue exceeds what this contract holds above the funded legs.
    /// @param token The token.
    /// @param surplus The balance above the funded legs held.
    /// @param needed The amount asked for.
    error RescueExceedsSurplus(address token, uint256 surplus, uint256 needed);

    /// @notice A swap was created by the funding of its first leg; the event carries every term.
    /// @param swapId The swap's id.
    /// @param partyA Party A.
    /// @param partyB Party B.
    /// @param tokenA The token party A delivers.
    /// @param amountA The amount party A delivers.
    /// @param tokenB The token party B delivers.
    /// @param amountB The amount party B delivers.
    /// @param deadline The deadline.
    /// @param salt The salt.
    event SwapCreated(
        bytes32 indexed swapId,
        address indexed partyA,
        address indexed partyB,
        address tokenA,
        uint256 amountA,
        address tokenB,
        uint256 amountB,
        uint64 deadline,
        bytes32 salt
    );

    /// @notice A party funded its leg.
    /// @param swapId The swap's id.
    /// @param party The party.
    /// @param token The token of the leg.
    /// @param amount The amount of the leg.
    event LegFunded(bytes32 indexed swapId, address indexed party, address indexed token, uint256 amount);

    /// @notice Both legs were delivered.
    /// @param swapId The swap's id.
    event SwapSettled(bytes32 indexed swapId);

    /// @notice A funded leg was returned to its funder after the deadline.
    /// @param swapId The swap's id.
    /// @param party The funder.
    /// @param token The token of the leg.
    /// @param amount The amount of the leg.
    event LegRefunded(bytes32 indexed swapId, address indexed party, address indexed token, uint256 amount);

    /// @notice The maximum swap duration changed.
    /// @param maxSwapDuration The new maximum, in seconds.
    event MaxSwapDurationUpdated(uint64 maxSwapDuration);

    /// @notice The rescuer role was given to a new account.
    /// @param newRescuer The new rescuer.
    event RescuerChanged(address indexed newRescuer);

    /// @notice Tokens held above the funded legs were sent out by the rescuer.
    /// @param token The token rescued.
    /// @param to The receiver.
    /// @param amount The amount rescued.
    event Rescued(address indexed token, address indexed to, uint256 amount);

    /**
     * @notice Deploys the swap contract.
     * @param owner_ The owner, who sets the maximum swap duration and the rescuer.
     * @param rescuer_ The rescuer.
     * @param maxSwapDuration_ The longest a swap may run, in seconds (not zero).
     */
    constructor(address owner_, address rescuer_, uint64 maxSwapDuration_) Ownable(owner_) {
        _setRescuer(rescuer_);
        _setMaxSwapDuration(maxSwapDuration_);
    }

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
     * @notice A swap as stored (state `None`, nothing funded, for an unknown id).
     * @param swapId The id.
     * @return The swap's state and funded legs.
     */
    function getSwap(bytes32 swapId) external view returns (Swap memory) {
        return _swaps[swapId];
    }

    /**
     * @notice The total amount of `token` held for funded legs of open swaps.
     * @param token The token.
     * @return The amount held; only the balance above it can be rescued.
     */
    function heldBalance(address token) external view returns (uint256) {
        return _heldBalances[token];
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
     * caller's leg, then funds it, in one transaction. An existing allowance that covers the leg
     * is left alone; if the permit fails but the allowance suffices, funding proceeds; otherwise
     * the permit's revert is passed on.
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
        bool isA = msg.sender == terms.partyA;
        if (!isA && msg.sender != terms.partyB) revert NotSwapParty(swapIdOf(terms), msg.sender);
        (address token, uint256 amount) = isA ? (terms.tokenA, terms.amountA) : (terms.tokenB, terms.amountB);
        _permit(token, amount, permitDeadline, v, r, s);
        return _fund(terms);
    }

    /**
     * @notice Returns the funded leg of an open swap to its funder once the deadline is reached.
     * Anyone may call it.
     * @param terms The swap's terms.
     */
    function refund(SwapTerms calldata terms) external nonReentrant {
        bytes32 swapId = swapIdOf(terms);
        Swap storage sw = _swaps[swapId];
        SwapState state = sw.state;
        if (state == SwapState.None) revert SwapNotFound(swapId);
        if (state != SwapState.Open) revert SwapNotOpen(swapId, state);
        if (block.timestamp < terms.deadline) revert SwapNotExpired(swapId, terms.deadline, block.timestamp);

        sw.state = SwapState.Refunded;
        // An open swap has exactly one funded leg (funding the second settles it).
        (address party, address token, uint256 amount) = sw.fundedA
            ? (terms.partyA, terms.tokenA, terms.amountA)
            : (terms.partyB, terms.tokenB, terms.amountB);
        _heldBalances[token] -= amount;
        emit LegRefunded(swapId, party, token, amount);

        IERC20(token).safeTransfer(party, amount);
    }

    // ------------------------------------------------------------------ admin

    /**
     * @notice Sets the longest a new swap may run. Existing swaps keep their deadlines.
     * @param maxSwapDuration_ The maximum, in seconds (not zero).
     */
    function setMaxSwapDuration(uint64 maxSwapDuration_) external onlyOwner {
        _setMaxSwapDuration(maxSwapDuration_);
    }

    /**
     * @notice Gives the rescuer role to a new account.
     * @param newRescuer The new rescuer (not the zero address).
     */
    function updateRescuer(address newRescuer) external onlyOwner {
        _setRescuer(newRescuer);
    }

    /**
     * @notice Sends out tokens sent to this contract by mistake: at most the balance above the
     * funded legs it holds ({heldBalance}), never a funded leg.
     * @param token The token to rescue.
     * @param to The receiver.
     * @param amount The amount.
     */
    function rescueERC20(IERC20 token, address to, uint256 amount) external nonReentrant {
        if (msg.sender != rescuer) revert CallerNotRescuer(msg.sender);
        uint256 balance = token.balanceOf(address(this));
        uint256 held = _heldBalances[address(token)];
        uint256 surplus = balance > held ? balance - held : 0;
        if (amount > surplus) revert RescueExceedsSurplus(address(token), surplus, amount);
        emit Rescued(address(token), to, amount);

        token.safeTransfer(to, amount);
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
        (address token, uint256 amount, address counterparty) = isA
            ? (terms.tokenA, terms.amountA, terms.partyB)
            : (terms.tokenB, terms.amountB, terms.partyA);

        if (state == SwapState.None) {
            // First leg: it waits here.
            sw.state = SwapState.Open;
            if (isA) sw.fundedA = true;
            else sw.fundedB = true;
            _heldBalances[token] += amount;
            _emitCreated(swapId, terms);
            emit LegFunded(swapId, msg.sender, token, amount);

            _pull(IERC20(token), msg.sender, address(this), amount);
            return swapId;
        }

        // Second leg: an open swap has one funded leg; if it is the caller's, refuse.
        if (isA ? sw.fundedA : sw.fundedB) revert LegAlreadyFunded(swapId, msg.sender);
        (address heldToken, uint256 heldAmount) = isA ? (terms.tokenB, terms.amountB) : (terms.tokenA, terms.amountA);
        sw.state = SwapState.Settled;
        if (isA) sw.fundedA = true;
        else sw.fundedB = true;
        _heldBalances[heldToken] -= heldAmount;
        emit LegFunded(swapId, msg.sender, token, amount);
        emit SwapSettled(swapId);

        // The caller's leg goes straight to the counterparty; the counterparty's leg, held here
        // since it was funded, goes to the caller. Either transfer failing reverts both.
        _pull(IERC20(token), msg.sender, counterparty, amount);
        IERC20(heldToken).safeTransfer(msg.sender, heldAmount);
    }

    /// @dev Moves `amount` of `token` from `from` to `to` and checks that `to` received it all.
    function _pull(IERC20 token, address from, address to, uint256 amount) private {
        uint256 before = token.balanceOf(to);
        token.safeTransferFrom(from, to, amount);
        uint256 received = token.balanceOf(to) - before;
        if (received < amount) revert TokenShortDelivered(address(token), amount, received);
    }

    function _validate(SwapTerms calldata terms) private view {
        if (
            terms.partyA == address(0) ||
            terms.partyB == address(0) ||
            terms.partyA == terms.partyB ||
            terms.partyA == address(this) ||
            terms.partyB == address(this) ||
            terms.tokenA == address(0) ||
            terms.tokenB == address(0) ||
            terms.tokenA == terms.tokenB ||
            terms.amountA == 0 ||
            terms.amountB == 0
        ) revert InvalidSwapTerms();
        if (terms.deadline <= block.timestamp) revert DeadlineNotInFuture(terms.deadline, block.timestamp);
        uint256 maxDeadline = block.timestamp + maxSwapDuration;
        if (terms.deadline > maxDeadline) revert DeadlineTooFar(terms.deadline, maxDeadline);
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
            terms.deadline,
            terms.salt
        );
    }

    function _setMaxSwapDuration(uint64 duration) private {
        if (duration == 0) revert InvalidSwapDuration(duration);
        maxSwapDuration = duration;
        emit MaxSwapDurationUpdated(duration);
    }

    function _setRescuer(address account) private {
        if (account == address(0)) revert InvalidRescuer(account);
        rescuer = account;
        emit RescuerChanged(account);
    }
}
