// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuard} from "@openzeppelin/contracts/utils/ReentrancyGuard.sol";
import {PermitOrAllowance} from "./PermitOrAllowance.sol";

/**
 * @title SettlementEscrow
 * @notice Conditional payments in ERC-20 tokens. A payer locks an amount for a beneficiary until a
 * deadline; before the deadline the lock is released to the beneficiary when its conditions are
 * met (the sha256 preimage of a hashlock, a call by the named settlement agent, or both); from the
 * deadline on, anyone can refund it to the payer. Each lock ends exactly once.
 * @dev A lock's id is derived from the chain, this contract, the payer and the lock's terms, so
 * the same terms locked twice by the same payer need different salts. The escrow fee rate is
 * captured when the lock is made; the fee goes to the fee collector current at release.
 */
contract SettlementEscrow is Ownable2Step, ReentrancyGuard, PermitOrAllowance {
    using SafeERC20 for IERC20;

    /// @notice What a payer asks for when locking.
    /// @param token The ERC-20 token locked.
    /// @param beneficiary Who receives the amount (less the fee) on release.
    /// @param amount The amount locked, in the token's smallest unit.
    /// @param deadline Release is possible strictly before it, refund from it on (unix seconds).
    /// @param hashlock sha256 of the secret preimage that releases the lock; zero for none.
    /// @param agent The settlement agent whose call releases the lock; zero address for none.
    /// @param salt Distinguishes otherwise identical locks by the same payer.
    struct LockTerms {
        address token;
        address beneficiary;
        uint256 amount;
        uint64 deadline;
        bytes32 hashlock;
        address agent;
        bytes32 salt;
    }

    /// @notice The life cycle of a lock.
    enum LockState {
        None,
        Open,
        Released,
        Refunded
    }

    /// @notice A lock as stored.
    struct Lock {
        address payer;
        address token;
        address beneficiary;
        uint256 amount;
        uint64 deadline;
        bytes32 hashlock;
        address agent;
        uint16 feeBps;
        LockState state;
    }

    /// @notice The highest fee rate the owner can set, in basis points (10%).
    uint16 public constant MAX_FEE_BPS = 1000;

    uint256 private constant _BPS_DENOMINATOR = 10_000;

    /// @notice The fee rate applied to new locks, in basis points of the amount.
    uint16 public feeBps;

    /// @notice The account that receives escrow fees on release.
    address public feeCollector;

    mapping(bytes32 lockId => Lock) private _locks;
    mapping(address token => uint256) private _lockedBalances;

    /// @notice The fee rate exceeds the maximum.
    /// @param feeBps The rejected rate.
    /// @param maxFeeBps The maximum rate.
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);

    /// @notice The fee collector cannot be this address (the zero address).
    /// @param feeCollector The rejected address.
    error InvalidFeeCollector(address feeCollector);

    /// @notice The amount to lock is zero.
    error ZeroAmount();

    /// @notice The token cannot be this address (the zero address).
    /// @param token The rejected address.
    error InvalidToken(address token);

    /// @notice The beneficiary cannot be this address (the zero address).
    /// @param beneficiary The rejected address.
    error InvalidBeneficiary(address beneficiary);

    /// @notice The deadline is not after the current block's timestamp.
    /// @param deadline The rejected deadline.
    /// @param nowTimestamp The current block's timestamp.
    error DeadlineNotInFuture(uint64 deadline, uint256 nowTimestamp);

    /// @notice The terms name neither a hashlock nor an agent, so nothing could release the lock.
    error NoReleaseCondition();

    /// @notice A lock with this id already exists (use another salt).
    /// @param lockId The id.
    error LockAlreadyExists(bytes32 lockId);

    /// @notice No lock has this id.
    /// @param lockId The id.
    error LockNotFound(bytes32 lockId);

    /// @notice The lock has already been released or refunded.
    /// @param lockId The id.
    /// @param state The lock's state.
    error LockNotOpen(bytes32 lockId, LockState state);

    /// @notice The lock's deadline has passed; it can only be refunded.
    /// @param lockId The id.
    /// @param deadline The lock's deadline.
    /// @param nowTimestamp The current block's timestamp.
    error LockExpired(bytes32 lockId, uint64 deadline, uint256 nowTimestamp);

    /// @notice The lock's deadline has not been reached; it cannot be refunded yet.
    /// @param lockId The id.
    /// @param deadline The lock's deadline.
    /// @param nowTimestamp The current block's timestamp.
    error LockNotExpired(bytes32 lockId, uint64 deadline, uint256 nowTimestamp);

    /// @notice The preimage does not hash (sha256) to the lock's hashlock.
    /// @param lockId The id.
    error InvalidPreimage(bytes32 lockId);

    /// @notice The lock names a settlement agent and the caller is not it.
    /// @param lockId The id.
    /// @param caller The caller.
    error NotSettlementAgent(bytes32 lockId, address caller);

    /// @notice A batch call was given no items.
    error EmptyBatch();

    /// @notice A batch call was given lists of different lengths.
    /// @param ids The number of lock ids.
    /// @param preimages The number of preimages.
    error BatchLengthMismatch(uint256 ids, uint256 preimages);

    /// @notice The fee rate or collector changed.
    /// @param feeBps The new rate, in basis points.
    /// @param feeCollector The new collector.
    event FeeUpdated(uint16 feeBps, address indexed feeCollector);

    /// @notice Tokens were locked.
    /// @param lockId The lock's id.
    /// @param payer The payer.
    /// @param beneficiary The beneficiary.
    /// @param token The token.
    /// @param amount The amount locked.
    /// @param deadline The deadline.
    /// @param hashlock The hashlock (zero for none).
    /// @param agent The settlement agent (zero address for none).
    event Locked(
        bytes32 indexed lockId,
        address indexed payer,
        address indexed beneficiary,
        address token,
        uint256 amount,
        uint64 deadline,
        bytes32 hashlock,
        address agent
    );

    /// @notice A lock was released to its beneficiary.
    /// @param lockId The lock's id.
    /// @param beneficiary The beneficiary.
    /// @param amountPaid The amount paid to the beneficiary (the amount less the fee).
    /// @param fee The fee paid to the fee collector.
    /// @param preimage The preimage given with the release.
    event Released(
        bytes32 indexed lockId,
        address indexed beneficiary,
        uint256 amountPaid,
        uint256 fee,
        bytes32 preimage
    );

    /// @notice A lock was refunded to its payer.
    /// @param lockId The lock's id.
    /// @param payer The payer.
    /// @param amount The amount refunded.
    event Refunded(bytes32 indexed lockId, address indexed payer, uint256 amount);

    /**
     * @notice Deploys the escrow.
     * @param owner_ The owner, who sets the fee.
     * @param feeCollector_ The account that receives fees.
     * @param feeBps_ The fee rate in basis points, at most {MAX_FEE_BPS}.
     */
    constructor(address owner_, address feeCollector_, uint16 feeBps_) Ownable(owner_) {
        _setFee(feeBps_, feeCollector_);
    }

    // ------------------------------------------------------------------ views

    /**
     * @notice The id a lock with these terms made by `payer` has (or would have).
     * @param payer The payer.
     * @param terms The lock's terms.
     * @return The lock id.
     */
    function lockIdOf(address payer, LockTerms calldata terms) public view returns (bytes32) {
        return keccak256(abi.encode(block.chainid, address(this), payer, terms));
    }

    /**
     * @notice A lock as stored (all fields zero and state `None` for an unknown id).
     * @param lockId The id.
     * @return The lock.
     */
    function getLock(bytes32 lockId) external view returns (Lock memory) {
        return _locks[lockId];
    }

    /**
     * @notice The total amount of `token` held in open locks.
     * @param token The token.
     * @return The sum of the amounts of the open locks of that token.
     */
    function lockedBalance(address token) external view returns (uint256) {
        return _lockedBalances[token];
    }

    // -------------------------------------------------------------- locking

    /**
     * @notice Locks `terms.amount` of `terms.token` from the caller (who must have approved this
     * contract) for `terms.beneficiary`.
     * @param terms The lock's terms.
     * @return lockId The new lock's id.
     */
    function lock(LockTerms calldata terms) external nonReentrant returns (bytes32 lockId) {
        return _lock(terms);
    }

    /**
     * @notice Approves this contract with an EIP-2612 permit signed by the caller, then locks,
     * in one transaction. If the permit fails (for instance because someone already submitted it)
     * but the allowance suffices, the lock proceeds; otherwise the permit's revert is passed on.
     * @param terms The lock's terms.
     * @param permitDeadline The permit's deadline.
     * @param v Permit signature recovery byte.
     * @param r Permit signature `r`.
     * @param s Permit signature `s`.
     * @return lockId The new lock's id.
     */
    function lockWithPermit(
        LockTerms calldata terms,
        uint256 permitDeadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) external nonReentrant returns (bytes32 lockId) {
        _permit(terms.token, terms.amount, permitDeadline, v, r, s);
        return _lock(terms);
    }

    /**
     * @notice Makes several locks in one transaction: all of them or none.
     * @param terms The terms of each lock.
     * @return lockIds The new locks' ids, in the order of `terms`.
     */
    function lockBatch(LockTerms[] calldata terms) external nonReentrant returns (bytes32[] memory lockIds) {
        uint256 n = terms.length;
        if (n == 0) revert EmptyBatch();
        lockIds = new bytes32[](n);
        for (uint256 i = 0; i < n; ++i) {
            lockIds[i] = _lock(terms[i]);
        }
    }

    // ----------------------------------------------------- release, refund

    /**
     * @notice Releases an open lock to its beneficiary before its deadline. Requires the sha256
     * preimage of the hashlock if the lock has one, and the settlement agent as caller if it names
     * one. Pays the amount less the fee to the beneficiary and the fee to the fee collector.
     * @param lockId The id.
     * @param preimage The secret whose sha256 is the hashlock (any value if the lock has none).
     */
    function release(bytes32 lockId, bytes32 preimage) external nonReentrant {
        _release(lockId, preimage);
    }

    /**
     * @notice Releases several locks in one transaction: all of them or none.
     * @param lockIds The ids.
     * @param preimages One preimage per id, in the same order.
     */
    function releaseBatch(bytes32[] calldata lockIds, bytes32[] calldata preimages) external nonReentrant {
        uint256 n = lockIds.length;
        if (n == 0) revert EmptyBatch();
        if (preimages.length != n) revert BatchLengthMismatch(n, preimages.length);
        for (uint256 i = 0; i < n; ++i) {
            _release(lockIds[i], preimages[i]);
        }
    }

    /**
     * @notice Returns an open lock's amount to its payer once the deadline is reached. Anyone may
     * call it.
     * @param lockId The id.
     */
    function refund(bytes32 lockId) external nonReentrant {
        Lock storage l = _openLock(lockId);
        if (block.timestamp < l.deadline) revert LockNotExpired(lockId, l.deadline, block.timestamp);

        l.state = LockState.Refunded;
        address token = l.token;
        address payer = l.payer;
        uint256 amount = l.amount;
        _lockedBalances[token] -= amount;
        emit Refunded(lockId, payer, amount);

        IERC20(token).safeTransfer(payer, amount);
    }

    // ------------------------------------------------------------------ admin

    /**
     * @notice Sets the fee rate for new locks and the fee collector.
     * @param feeBps_ The rate in basis points, at most {MAX_FEE_BPS}.
     * @param feeCollector_ The collector (not the zero address).
     */
    function setFee(uint16 feeBps_, address feeCollector_) external onlyOwner {
        _setFee(feeBps_, feeCollector_);
    }

    // --------------------------------------------------------------- internal

    function _lock(LockTerms calldata terms) private returns (bytes32 lockId) {
        if (terms.amount == 0) revert ZeroAmount();
        if (terms.token == address(0)) revert InvalidToken(terms.token);
        if (terms.beneficiary == address(0)) revert InvalidBeneficiary(terms.beneficiary);
        if (terms.deadline <= block.timestamp) revert DeadlineNotInFuture(terms.deadline, block.timestamp);
        if (terms.hashlock == bytes32(0) && terms.agent == address(0)) revert NoReleaseCondition();

        address payer = msg.sender;
        lockId = lockIdOf(payer, terms);
        Lock storage l = _locks[lockId];
        if (l.state != LockState.None) revert LockAlreadyExists(lockId);

        l.payer = payer;
        l.token = terms.token;
        l.beneficiary = terms.beneficiary;
        l.amount = terms.amount;
        l.deadline = terms.deadline;
        l.hashlock = terms.hashlock;
        l.agent = terms.agent;
        l.feeBps = feeBps;
        l.state = LockState.Open;
        _lockedBalances[terms.token] += terms.amount;
        emit Locked(
            lockId,
            payer,
            terms.beneficiary,
            terms.token,
            terms.amount,
            terms.deadline,
            terms.hashlock,
            terms.agent
        );

        IERC20(terms.token).safeTransferFrom(payer, address(this), terms.amount);
    }

    function _release(bytes32 lockId, bytes32 preimage) private {
        Lock storage l = _openLock(lockId);
        if (block.timestamp >= l.deadline) revert LockExpired(lockId, l.deadline, block.timestamp);
        if (l.hashlock != bytes32(0) && sha256(abi.encodePacked(preimage)) != l.hashlock) {
            revert InvalidPreimage(lockId);
        }
        if (l.agent != address(0) && msg.sender != l.agent) revert NotSettlementAgent(lockId, msg.sender);

        l.state = LockState.Released;
        address token = l.token;
        address beneficiary = l.beneficiary;
        uint256 amount = l.amount;
        uint256 fee = (amount * l.feeBps) / _BPS_DENOMINATOR;
        uint256 amountPaid = amount - fee;
        _lockedBalances[token] -= amount;
        emit Released(lockId, beneficiary, amountPaid, fee, preimage);

        IERC20(token).safeTransfer(beneficiary, amountPaid);
        if (fee != 0) IERC20(token).safeTransfer(feeCollector, fee);
    }

    function _openLock(bytes32 lockId) private view returns (Lock storage l) {
        l = _locks[lockId];
        LockState state = l.state;
        if (state == LockState.None) revert LockNotFound(lockId);
        if (state != LockState.Open) revert LockNotOpen(lockId, state);
    }

    function _setFee(uint16 feeBps_, address feeCollector_) private {
        if (feeBps_ > MAX_FEE_BPS) revert FeeTooHigh(feeBps_, MAX_FEE_BPS);
        if (feeCollector_ == address(0)) revert InvalidFeeCollector(feeCollector_);
        feeBps = feeBps_;
        feeCollector = feeCollector_;
        emit FeeUpdated(feeBps_, feeCollector_);
    }
}
