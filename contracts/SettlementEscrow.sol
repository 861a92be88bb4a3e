// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";
import {Math} from "@openzeppelin/contracts/utils/math/Math.sol";
import {PermitOrAllowance} from "./PermitOrAllowance.sol";

/**
 * @title SettlementEscrow
 * @notice Conditional payments in ERC-20 tokens. A payer locks an amount for a beneficiary until a
 * deadline; before the deadline the lock is released to the beneficiary when its conditions are
 * met (the sha256 preimage of a hashlock, a call by the named settlement agent, or both); the
 * settlement agent can instead reject it, refunding the payer at once; from the deadline on,
 * anyone can refund it to the payer. Each lock ends exactly once.
 *
 * Pause and blacklist rule: a release whose conditions are proven before the deadline is never
 * turned into a refund by the token refusing the payout (paused, or the beneficiary
 * blacklisted). The lock is then recorded as `Proven`: it can no longer be refunded or rejected,
 * and anyone can {claim} it for the beneficiary, after the deadline too, once the token allows
 * the transfer. A lock that no release reached before its deadline is refunded.
 *
 * Fees: the rate is fixed when the lock is made, and the lock is refused if the rate exceeds the
 * maximum the payer states in its terms. Fees accrue in this contract and the fee collector
 * withdraws them ({withdrawFees}); no release ever transfers to the collector.
 *
 * @dev A lock's id commits to the chain, this contract, the payer and every term, so a lock is
 * stored as one slot (its state and fee rate): every later call passes the payer and the terms
 * again, and the id computed from them selects the record. The terms are in the {Locked} event.
 * The contract tracks what it owes per token (open and proven locks, unwithdrawn fees); only the
 * surplus above it can be rescued.
 */
contract SettlementEscrow is Ownable2Step, ReentrancyGuardTransient, PermitOrAllowance {
    using SafeERC20 for IERC20;

    /// @notice What a payer asks for when locking.
    /// @param token The ERC-20 token locked.
    /// @param beneficiary Who receives the amount (less the fee) on release.
    /// @param amount The amount locked, in the token's smallest unit.
    /// @param deadline Release is possible strictly before it, refund from it on (unix seconds).
    /// @param hashlock sha256 of the secret preimage that releases the lock; zero for none.
    /// @param agent The settlement agent whose call releases (or rejects) the lock; zero for none.
    /// @param maxFeeBps The highest fee rate the payer accepts, in basis points.
    /// @param salt Distinguishes otherwise identical locks by the same payer.
    struct LockTerms {
        address token;
        address beneficiary;
        uint256 amount;
        uint64 deadline;
        bytes32 hashlock;
        address agent;
        uint16 maxFeeBps;
        bytes32 salt;
    }

    /// @notice The life cycle of a lock. `Proven`: released before the deadline, payout pending.
    enum LockState {
        None,
        Open,
        Released,
        Refunded,
        Proven
    }

    /// @notice A lock as stored: one slot; the terms are passed again by every call.
    /// @param state The lock's state.
    /// @param feeBps The fee rate fixed when the lock was made.
    struct Lock {
        LockState state;
        uint16 feeBps;
    }

    /// @notice The highest fee rate the owner can set, in basis points (10%).
    uint16 public constant MAX_FEE_BPS = 1000;

    uint256 private constant _BPS_DENOMINATOR = 10_000;

    /// @notice The fee rate applied to new locks, in basis points of the amount.
    uint16 public feeBps;

    /// @notice The longest a new lock may run: its deadline is at most this many seconds ahead.
    uint64 public maxLockDuration;

    /// @notice The account that withdraws the accrued fees.
    address public feeCollector;

    /// @notice The account that can return tokens sent here by mistake (the surplus only).
    address public rescuer;

    mapping(bytes32 lockId => Lock) private _locks;
    mapping(address token => uint256) private _lockedBalances;
    mapping(address token => uint256) private _accruedFees;

    /// @notice The fee rate exceeds the maximum.
    /// @param feeBps The rejected rate.
    /// @param maxFeeBps The maximum rate.
    error FeeTooHigh(uint16 feeBps, uint16 maxFeeBps);

    /// @notice The current fee rate exceeds the maximum the payer accepts in the lock's terms.
    /// @param feeBps The current rate.
    /// @param maxFeeBps The payer's maximum.
    error FeeAboveMaximum(uint16 feeBps, uint16 maxFeeBps);

    /// @notice The fee collector cannot be this address (the zero address).
    /// @param feeCollector The rejected address.
    error InvalidFeeCollector(address feeCollector);

    /// @notice The rescuer cannot be this address (the zero address).
    /// @param rescuer The rejected address.
    error InvalidRescuer(address rescuer);

    /// @notice The maximum lock duration cannot be zero.
    /// @param duration The rejected duration.
    error InvalidLockDuration(uint64 duration);

    /// @notice The amount to lock is zero.
    error ZeroAmount();

    /// @notice The token cannot be this address (the zero address).
    /// @param token The rejected address.
    error InvalidToken(address token);

    /// @notice The beneficiary cannot be this address (the zero address or the escrow).
    /// @param beneficiary The rejected address.
    error InvalidBeneficiary(address beneficiary);

    /// @notice The deadline is not after the current block's timestamp.
    /// @param deadline The rejected deadline.
    /// @param nowTimestamp The current block's timestamp.
    error DeadlineNotInFuture(uint64 deadline, uint256 nowTimestamp);

    /// @notice The deadline is further ahead than {maxLockDuration} allows.
    /// @param deadline The rejected deadline.
    /// @param maxDeadline The latest deadline allowed now.
    error DeadlineTooFar(uint64 deadline, uint256 maxDeadline);

    /// @notice The terms name neither a hashlock nor an agent, so nothing could release the lock.
    error NoReleaseCondition();

    /// @notice The token delivered less than the amount (a fee-on-transfer or rebasing token).
    /// @param token The token.
    /// @param expected The amount that should have arrived.
    /// @param received The amount that arrived.
    error TokenShortDelivered(address token, uint256 expected, uint256 received);

    /// @notice A lock with this id already exists (use another salt).
    /// @param lockId The id.
    error LockAlreadyExists(bytes32 lockId);

    /// @notice No lock has this id (no lock was made with these payer and terms).
    /// @param lockId The id.
    error LockNotFound(bytes32 lockId);

    /// @notice The lock is not in the state the call needs.
    /// @param lockId The id.
    /// @param state The lock's state.
    error LockNotOpen(bytes32 lockId, LockState state);

    /// @notice The lock is not a proven release waiting for its payout.
    /// @param lockId The id.
    /// @param state The lock's state.
    error LockNotProven(bytes32 lockId, LockState state);

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

    /// @notice The lock names a settlement agent and the caller is not it (or it names none).
    /// @param lockId The id.
    /// @param caller The caller.
    error NotSettlementAgent(bytes32 lockId, address caller);

    /// @notice The caller is not the fee collector.
    /// @param caller The caller.
    error CallerNotFeeCollector(address caller);

    /// @notice The caller is not the rescuer.
    /// @param caller The caller.
    error CallerNotRescuer(address caller);

    /// @notice The amount to rescue exceeds what this contract holds above what it owes.
    /// @param token The token.
    /// @param surplus The balance above the open and proven locks and the accrued fees.
    /// @param needed The amount asked for.
    error RescueExceedsSurplus(address token, uint256 surplus, uint256 needed);

    /// @notice A batch call was given no items.
    error EmptyBatch();

    /// @notice A batch call was given lists of different lengths.
    /// @param terms The number of terms.
    /// @param other The length of the other list.
    error BatchLengthMismatch(uint256 terms, uint256 other);

    /// @notice The fee rate or collector changed.
    /// @param feeBps The new rate, in basis points.
    /// @param feeCollector The new collector.
    event FeeUpdated(uint16 feeBps, address indexed feeCollector);

    /// @notice The maximum lock duration changed.
    /// @param maxLockDuration The new maximum, in seconds.
    event MaxLockDurationUpdated(uint64 maxLockDuration);

    /// @notice The rescuer role was given to a new account.
    /// @param newRescuer The new rescuer.
    event RescuerChanged(address indexed newRescuer);

    /// @notice Tokens were locked; the event carries every term the later calls pass again.
    /// @param lockId The lock's id.
    /// @param token The token.
    /// @param beneficiary The beneficiary.
    /// @param payer The payer.
    /// @param amount The amount locked.
    /// @param deadline The deadline.
    /// @param hashlock The hashlock (zero for none).
    /// @param agent The settlement agent (zero address for none).
    /// @param maxFeeBps The payer's maximum fee rate.
    /// @param salt The salt.
    /// @param feeBps The fee rate fixed for this lock.
    event Locked(
        bytes32 indexed lockId,
        address indexed token,
        address indexed beneficiary,
        address payer,
        uint256 amount,
        uint64 deadline,
        bytes32 hashlock,
        address agent,
        uint16 maxFeeBps,
        bytes32 salt,
        uint16 feeBps
    );

    /// @notice A lock was paid out to its beneficiary.
    /// @param lockId The lock's id.
    /// @param token The token.
    /// @param beneficiary The beneficiary.
    /// @param amountPaid The amount paid to the beneficiary (the amount less the fee).
    /// @param fee The fee, accrued for the fee collector.
    /// @param preimage The preimage given with the release (zero when paid out by {claim}).
    event Released(
        bytes32 indexed lockId,
        address indexed token,
        address indexed beneficiary,
        uint256 amountPaid,
        uint256 fee,
        bytes32 preimage
    );

    /// @notice A release was proven before the deadline but the token refused the payout (paused,
    /// or an account blacklisted); the lock stays claimable for the beneficiary.
    /// @param lockId The lock's id.
    /// @param token The token.
    /// @param beneficiary The beneficiary.
    /// @param preimage The preimage given with the release.
    event ReleaseProven(
        bytes32 indexed lockId,
        address indexed token,
        address indexed beneficiary,
        bytes32 preimage
    );

    /// @notice A lock was refunded to its payer after its deadline.
    /// @param lockId The lock's id.
    /// @param token The token.
    /// @param payer The payer.
    /// @param amount The amount refunded.
    event Refunded(bytes32 indexed lockId, address indexed token, address indexed payer, uint256 amount);

    /// @notice The settlement agent rejected a lock; its amount went back to the payer at once.
    /// @param lockId The lock's id.
    /// @param token The token.
    /// @param payer The payer.
    /// @param amount The amount refunded.
    event Rejected(bytes32 indexed lockId, address indexed token, address indexed payer, uint256 amount);

    /// @notice The fee collector withdrew the accrued fees of a token.
    /// @param token The token.
    /// @param feeCollector The collector.
    /// @param amount The amount withdrawn.
    event FeesWithdrawn(address indexed token, address indexed feeCollector, uint256 amount);

    /// @notice Tokens held above what the contract owes were sent out by the rescuer.
    /// @param token The token rescued.
    /// @param to The receiver.
    /// @param amount The amount rescued.
    event Rescued(address indexed token, address indexed to, uint256 amount);

    modifier onlyRescuer() {
        if (msg.sender != rescuer) revert CallerNotRescuer(msg.sender);
        _;
    }

    /**
     * @notice Deploys the escrow.
     * @param owner_ The owner, who sets the fee, the maximum lock duration and the rescuer.
     * @param feeCollector_ The account that withdraws fees.
     * @param feeBps_ The fee rate in basis points, at most {MAX_FEE_BPS}.
     * @param maxLockDuration_ The longest a lock may run, in seconds (not zero).
     * @param rescuer_ The rescuer.
     */
    constructor(
        address owner_,
        address feeCollector_,
        uint16 feeBps_,
        uint64 maxLockDuration_,
        address rescuer_
    ) Ownable(owner_) {
        _setFee(feeBps_, feeCollector_);
        _setMaxLockDuration(maxLockDuration_);
        _setRescuer(rescuer_);
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
     * @notice A lock as stored (state `None` and fee zero for an unknown id).
     * @param lockId The id.
     * @return The lock's state and fee rate.
     */
    function getLock(bytes32 lockId) external view returns (Lock memory) {
        return _locks[lockId];
    }

    /**
     * @notice The total amount of `token` held for open and proven locks.
     * @param token The token.
     * @return The sum of the amounts of the open and proven locks of that token.
     */
    function lockedBalance(address token) external view returns (uint256) {
        return _lockedBalances[token];
    }

    /**
     * @notice The fees of `token` accrued and not yet withdrawn by the fee collector.
     * @param token The token.
     * @return The accrued fees.
     */
    function accruedFees(address token) external view returns (uint256) {
        return _accruedFees[token];
    }

    /**
     * @notice What this contract owes in `token`: open and proven locks plus accrued fees.
     * @param token The token.
     * @return The amount owed; only the balance above it can be rescued.
     */
    function owedBalance(address token) public view returns (uint256) {
        return _lockedBalances[token] + _accruedFees[token];
    }

    // -------------------------------------------------------------- locking

    /**
     * @notice Locks `terms.amount` of `terms.token` from the caller (who must have approved this
     * contract) for `terms.beneficiary`, at the current fee rate.
     * @param terms The lock's terms.
     * @return lockId The new lock's id.
     */
    function lock(LockTerms calldata terms) external nonReentrant returns (bytes32 lockId) {
        return _lock(terms);
    }

    /**
     * @notice Approves this contract with an EIP-2612 permit signed by the caller, then locks,
     * in one transaction. An existing allowance that covers the amount is left alone (the permit
     * is not used); if the permit fails (for instance because someone already submitted it) but
     * the allowance suffices, the lock proceeds; otherwise the permit's revert is passed on.
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

    // --------------------------------------------- release, claim, refund, reject

    /**
     * @notice Releases an open lock to its beneficiary before its deadline. Requires the sha256
     * preimage of the hashlock if the lock has one, and the settlement agent as caller if it names
     * one. Pays the amount less the fee to the beneficiary; the fee accrues for the collector. If
     * the token refuses the payout, the lock becomes `Proven` ({ReleaseProven}) and stays
     * claimable ({claim}).
     * @param payer The lock's payer.
     * @param terms The lock's terms.
     * @param preimage The secret whose sha256 is the hashlock (any value if the lock has none).
     */
    function release(address payer, LockTerms calldata terms, bytes32 preimage) external nonReentrant {
        _release(payer, terms, preimage);
    }

    /**
     * @notice Releases several locks in one transaction: all of them or none.
     * @param payers The payer of each lock.
     * @param terms The terms of each lock, in the same order.
     * @param preimages One preimage per lock, in the same order.
     */
    function releaseBatch(
        address[] calldata payers,
        LockTerms[] calldata terms,
        bytes32[] calldata preimages
    ) external nonReentrant {
        uint256 n = terms.length;
        if (n == 0) revert EmptyBatch();
        if (payers.length != n) revert BatchLengthMismatch(n, payers.length);
        if (preimages.length != n) revert BatchLengthMismatch(n, preimages.length);
        for (uint256 i = 0; i < n; ++i) {
            _release(payers[i], terms[i], preimages[i]);
        }
    }

    /**
     * @notice Pays out a `Proven` lock (a release proven before its deadline whose payout the
     * token refused) to its beneficiary, at any time. Anyone may call it; it reverts, changing
     * nothing, while the token still refuses the transfer.
     * @param payer The lock's payer.
     * @param terms The lock's terms.
     */
    function claim(address payer, LockTerms calldata terms) external nonReentrant {
        bytes32 lockId = lockIdOf(payer, terms);
        Lock storage l = _locks[lockId];
        LockState state = l.state;
        if (state != LockState.Proven) revert LockNotProven(lockId, state);

        (uint256 amountPaid, uint256 fee) = _settle(l, terms);
        emit Released(lockId, terms.token, terms.beneficiary, amountPaid, fee, bytes32(0));

        IERC20(terms.token).safeTransfer(terms.beneficiary, amountPaid);
    }

    /**
     * @notice Returns an open lock's amount to its payer once the deadline is reached. Anyone may
     * call it. A `Proven` lock is never refunded.
     * @param payer The lock's payer.
     * @param terms The lock's terms.
     */
    function refund(address payer, LockTerms calldata terms) external nonReentrant {
        bytes32 lockId = lockIdOf(payer, terms);
        Lock storage l = _openLock(lockId);
        if (block.timestamp < terms.deadline) revert LockNotExpired(lockId, terms.deadline, block.timestamp);

        l.state = LockState.Refunded;
        _lockedBalances[terms.token] -= terms.amount;
        emit Refunded(lockId, terms.token, payer, terms.amount);

        IERC20(terms.token).safeTransfer(payer, terms.amount);
    }

    /**
     * @notice The lock's settlement agent rejects an open lock (for instance after its compliance
     * review), returning the amount to the payer at once, before or after the deadline.
     * @param payer The lock's payer.
     * @param terms The lock's terms.
     */
    function reject(address payer, LockTerms calldata terms) external nonReentrant {
        bytes32 lockId = lockIdOf(payer, terms);
        Lock storage l = _openLock(lockId);
        if (terms.agent == address(0) || msg.sender != terms.agent) revert NotSettlementAgent(lockId, msg.sender);

        l.state = LockState.Refunded;
        _lockedBalances[terms.token] -= terms.amount;
        emit Rejected(lockId, terms.token, payer, terms.amount);

        IERC20(terms.token).safeTransfer(payer, terms.amount);
    }

    // ------------------------------------------------------------------ fees

    /**
     * @notice Sends the accrued fees of `token` to the caller, the fee collector.
     * @param token The token.
     * @return amount The amount withdrawn.
     */
    function withdrawFees(address token) external nonReentrant returns (uint256 amount) {
        if (msg.sender != feeCollector) revert CallerNotFeeCollector(msg.sender);
        amount = _accruedFees[token];
        _accruedFees[token] = 0;
        emit FeesWithdrawn(token, msg.sender, amount);

        if (amount != 0) IERC20(token).safeTransfer(msg.sender, amount);
    }

    // ------------------------------------------------------------------ admin

    /**
     * @notice Sets the fee rate for new locks and the fee collector (who withdraws all fees
     * accrued and not yet withdrawn). Existing locks keep the rate they were made with.
     * @param feeBps_ The rate in basis points, at most {MAX_FEE_BPS}.
     * @param feeCollector_ The collector (not the zero address).
     */
    function setFee(uint16 feeBps_, address feeCollector_) external onlyOwner {
        _setFee(feeBps_, feeCollector_);
    }

    /**
     * @notice Sets the longest a new lock may run. Existing locks keep their deadlines.
     * @param maxLockDuration_ The maximum, in seconds (not zero).
     */
    function setMaxLockDuration(uint64 maxLockDuration_) external onlyOwner {
        _setMaxLockDuration(maxLockDuration_);
    }

    /**
     * @notice Gives the rescuer role to a new account.
     * @param newRescuer The new rescuer (not the zero address).
     */
    function updateRescuer(address newRescuer) external onlyOwner {
        _setRescuer(newRescuer);
    }

    /**
     * @notice Sends out tokens sent to this contract by mistake: at most the balance above what
     * the contract owes ({owedBalance}), never locked amounts or accrued fees.
     * @param token The token to rescue.
     * @param to The receiver.
     * @param amount The amount.
     */
    function rescueERC20(IERC20 token, address to, uint256 amount) external onlyRescuer nonReentrant {
        uint256 balance = token.balanceOf(address(this));
        uint256 owed = owedBalance(address(token));
        uint256 surplus = balance > owed ? balance - owed : 0;
        if (amount > surplus) revert RescueExceedsSurplus(address(token), surplus, amount);
        emit Rescued(address(token), to, amount);

        token.safeTransfer(to, amount);
    }

    // --------------------------------------------------------------- internal

    function _lock(LockTerms calldata terms) private returns (bytes32 lockId) {
        if (terms.amount == 0) revert ZeroAmount();
        if (terms.token == address(0)) revert InvalidToken(terms.token);
        if (terms.beneficiary == address(0) || terms.beneficiary == address(this)) {
            revert InvalidBeneficiary(terms.beneficiary);
        }
        if (terms.deadline <= block.timestamp) revert DeadlineNotInFuture(terms.deadline, block.timestamp);
        uint256 maxDeadline = block.timestamp + maxLockDuration;
        if (terms.deadline > maxDeadline) revert DeadlineTooFar(terms.deadline, maxDeadline);
        if (terms.hashlock == bytes32(0) && terms.agent == address(0)) revert NoReleaseCondition();
        uint16 rate = feeBps;
        if (rate > terms.maxFeeBps) revert FeeAboveMaximum(rate, terms.maxFeeBps);

        address payer = msg.sender;
        lockId = lockIdOf(payer, terms);
        Lock storage l = _locks[lockId];
        if (l.state != LockState.None) revert LockAlreadyExists(lockId);

        l.state = LockState.Open;
        l.feeBps = rate;
        _lockedBalances[terms.token] += terms.amount;
        _emitLocked(lockId, payer, terms, rate);

        IERC20 token = IERC20(terms.token);
        uint256 before = token.balanceOf(address(this));
        token.safeTransferFrom(payer, address(this), terms.amount);
        uint256 received = token.balanceOf(address(this)) - before;
        if (received < terms.amount) revert TokenShortDelivered(terms.token, terms.amount, received);
    }

    function _emitLocked(bytes32 lockId, address payer, LockTerms calldata terms, uint16 rate) private {
        emit Locked(
            lockId,
            terms.token,
            terms.beneficiary,
            payer,
            terms.amount,
            terms.deadline,
            terms.hashlock,
            terms.agent,
            terms.maxFeeBps,
            terms.salt,
            rate
        );
    }

    function _release(address payer, LockTerms calldata terms, bytes32 preimage) private {
        bytes32 lockId = lockIdOf(payer, terms);
        Lock storage l = _openLock(lockId);
        if (block.timestamp >= terms.deadline) revert LockExpired(lockId, terms.deadline, block.timestamp);
        if (terms.hashlock != bytes32(0) && sha256(abi.encodePacked(preimage)) != terms.hashlock) {
            revert InvalidPreimage(lockId);
        }
        if (terms.agent != address(0) && msg.sender != terms.agent) revert NotSettlementAgent(lockId, msg.sender);

        (uint256 amountPaid, uint256 fee) = _settle(l, terms);
        if (IERC20(terms.token).trySafeTransfer(terms.beneficiary, amountPaid)) {
            emit Released(lockId, terms.token, terms.beneficiary, amountPaid, fee, preimage);
        } else {
            // The token refused the payout: the release stays proven and owed (see the rule above).
            l.state = LockState.Proven;
            _lockedBalances[terms.token] += terms.amount;
            if (fee != 0) _accruedFees[terms.token] -= fee;
            emit ReleaseProven(lockId, terms.token, terms.beneficiary, preimage);
        }
    }

    /// @dev Marks `l` released and books its amount out of the locked balance, its fee into the
    /// accrued fees; returns what the beneficiary is paid and the fee.
    function _settle(Lock storage l, LockTerms calldata terms) private returns (uint256 amountPaid, uint256 fee) {
        fee = Math.mulDiv(terms.amount, l.feeBps, _BPS_DENOMINATOR);
        amountPaid = terms.amount - fee;
        l.state = LockState.Released;
        _lockedBalances[terms.token] -= terms.amount;
        if (fee != 0) _accruedFees[terms.token] += fee;
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

    function _setMaxLockDuration(uint64 duration) private {
        if (duration == 0) revert InvalidLockDuration(duration);
        maxLockDuration = duration;
        emit MaxLockDurationUpdated(duration);
    }

    function _setRescuer(address account) private {
        if (account == address(0)) revert InvalidRescuer(account);
        rescuer = account;
        emit RescuerChanged(account);
    }
}
