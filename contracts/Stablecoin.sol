// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {ERC20} from "@openzeppelin/contracts/token/ERC20/ERC20.sol";
import {IERC20} from "@openzeppelin/contracts/token/ERC20/IERC20.sol";
import {ERC20Permit} from "@openzeppelin/contracts/token/ERC20/extensions/ERC20Permit.sol";
import {SafeERC20} from "@openzeppelin/contracts/token/ERC20/utils/SafeERC20.sol";
import {Ownable} from "@openzeppelin/contracts/access/Ownable.sol";
import {Ownable2Step} from "@openzeppelin/contracts/access/Ownable2Step.sol";
import {Pausable} from "@openzeppelin/contracts/utils/Pausable.sol";

/**
 * @title Stablecoin
 * @notice A fiat-backed stablecoin (one per currency) with the role design of a regulated issuer:
 * an owner who appoints the other roles, a master minter who configures minters and their
 * minting allowances, a pauser, a blacklister and a rescuer.
 * @dev Every balance change flows through {_update}, which enforces the blacklist for senders and
 * receivers. `approve`, `permit` and `transferFrom` additionally check the approving owner, the
 * spender and the caller. A burn does not restore the minter's allowance; the master minter
 * tops it up with {configureMinter}. The amounts minted and burned are in the {Minted} and
 * {Burned} events; no cumulative counters are stored (the supply is {totalSupply}).
 */
contract Stablecoin is ERC20, ERC20Permit, Ownable2Step, Pausable {
    using SafeERC20 for IERC20;

    string private _currency;
    address private _masterMinter;
    address private _pauser;
    address private _blacklister;
    address private _rescuer;

    mapping(address account => bool) private _minters;
    mapping(address minter => uint256) private _minterAllowances;
    mapping(address account => bool) private _blacklisted;

    /// @notice The caller is not the master minter.
    /// @param caller The account that made the call.
    error CallerNotMasterMinter(address caller);

    /// @notice The caller is not a configured minter.
    /// @param caller The account that made the call.
    error CallerNotMinter(address caller);

    /// @notice The caller is not the pauser.
    /// @param caller The account that made the call.
    error CallerNotPauser(address caller);

    /// @notice The caller is not the blacklister.
    /// @param caller The account that made the call.
    error CallerNotBlacklister(address caller);

    /// @notice The caller is not the rescuer.
    /// @param caller The account that made the call.
    error CallerNotRescuer(address caller);

    /// @notice The account is blacklisted and may not send, receive, approve or spend.
    /// @param account The blacklisted account.
    error AccountBlacklisted(address account);

    /// @notice A role (or a minter) cannot be given to this address (the zero address).
    /// @param account The rejected address.
    error InvalidRoleAddress(address account);

    /// @notice The amount must be greater than zero.
    /// @param amount The rejected amount.
    error InvalidAmount(uint256 amount);

    /// @notice The account is not a configured minter.
    /// @param minter The account that was expected to be a minter.
    error NotAMinter(address minter);

    /// @notice The minter's remaining allowance is lower than the amount to mint.
    /// @param minter The minter.
    /// @param allowance The minter's remaining allowance.
    /// @param needed The amount the minter tried to mint.
    error MinterAllowanceExceeded(address minter, uint256 allowance, uint256 needed);

    /// @notice A minter was configured (added, or its allowance reset).
    /// @param minter The minter.
    /// @param minterAllowedAmount The minter's new allowance.
    event MinterConfigured(address indexed minter, uint256 minterAllowedAmount);

    /// @notice A minter was removed; its allowance is now zero.
    /// @param minter The former minter.
    event MinterRemoved(address indexed minter);

    /// @notice Tokens were minted.
    /// @param minter The minter who minted them.
    /// @param to The receiver of the new tokens.
    /// @param amount The amount minted.
    event Minted(address indexed minter, address indexed to, uint256 amount);

    /// @notice Tokens were burned from a minter's own balance.
    /// @param burner The minter who burned them.
    /// @param amount The amount burned.
    event Burned(address indexed burner, uint256 amount);

    /// @notice An account was blacklisted.
    /// @param account The account.
    event Blacklisted(address indexed account);

    /// @notice An account was removed from the blacklist.
    /// @param account The account.
    event UnBlacklisted(address indexed account);

    /// @notice The master minter role was given to a new account.
    /// @param newMasterMinter The new master minter.
    event MasterMinterChanged(address indexed newMasterMinter);

    /// @notice The pauser role was given to a new account.
    /// @param newPauser The new pauser.
    event PauserChanged(address indexed newPauser);

    /// @notice The blacklister role was given to a new account.
    /// @param newBlacklister The new blacklister.
    event BlacklisterChanged(address indexed newBlacklister);

    /// @notice The rescuer role was given to a new account.
    /// @param newRescuer The new rescuer.
    event RescuerChanged(address indexed newRescuer);

    /// @notice Tokens held by this contract were sent out by the rescuer.
    /// @param token The token rescued.
    /// @param to The receiver.
    /// @param amount The amount rescued.
    event Rescued(address indexed token, address indexed to, uint256 amount);

    modifier onlyMasterMinter() {
        if (_msgSender() != _masterMinter) revert CallerNotMasterMinter(_msgSender());
        _;
    }

    modifier onlyMinters() {
        if (!_minters[_msgSender()]) revert CallerNotMinter(_msgSender());
        _;
    }

    modifier onlyPauser() {
        if (_msgSender() != _pauser) revert CallerNotPauser(_msgSender());
        _;
    }

    modifier onlyBlacklister() {
        if (_msgSender() != _blacklister) revert CallerNotBlacklister(_msgSender());
        _;
    }

    modifier onlyRescuer() {
        if (_msgSender() != _rescuer) revert CallerNotRescuer(_msgSender());
        _;
    }

    modifier notBlacklisted(address account) {
        if (_blacklisted[account]) revert AccountBlacklisted(account);
        _;
    }

    /**
     * @notice Deploys the token and appoints its roles.
     * @param name_ The token name (also the EIP-712 domain name).
     * @param symbol_ The token symbol.
     * @param currency_ The ISO 4217 code of the fiat currency backing the token.
     * @param owner_ The owner, who can reassign every other role.
     * @param masterMinter_ The master minter.
     * @param pauser_ The pauser.
     * @param blacklister_ The blacklister.
     * @param rescuer_ The rescuer.
     */
    constructor(
        string memory name_,
        string memory symbol_,
        string memory currency_,
        address owner_,
        address masterMinter_,
        address pauser_,
        address blacklister_,
        address rescuer_
    ) ERC20(name_, symbol_) ERC20Permit(name_) Ownable(owner_) {
        _currency = currency_;
        _setMasterMinter(masterMinter_);
        _setPauser(pauser_);
        _setBlacklister(blacklister_);
        _setRescuer(rescuer_);
    }

    // ------------------------------------------------------------------ views

    /// @notice Number of decimals of the token's smallest unit.
    /// @return Always 6.
    function decimals() public pure override returns (uint8) {
        return 6;
    }

    /// @notice The fiat currency backing the token.
    /// @return The ISO 4217 currency code.
    function currency() external view returns (string memory) {
        return _currency;
    }

    /// @notice The master minter.
    /// @return The master minter's address.
    function masterMinter() external view returns (address) {
        return _masterMinter;
    }

    /// @notice The pauser.
    /// @return The pauser's address.
    function pauser() external view returns (address) {
        return _pauser;
    }

    /// @notice The blacklister.
    /// @return The blacklister's address.
    function blacklister() external view returns (address) {
        return _blacklister;
    }

    /// @notice The rescuer.
    /// @return The rescuer's address.
    function rescuer() external view returns (address) {
        return _rescuer;
    }

    /// @notice Whether an account is a minter.
    /// @param account The account.
    /// @return True if the account is a configured minter.
    function isMinter(address account) external view returns (bool) {
        return _minters[account];
    }

    /// @notice A minter's remaining minting allowance.
    /// @param minter The minter.
    /// @return The amount the minter may still mint (zero for a non-minter).
    function minterAllowance(address minter) external view returns (uint256) {
        return _minterAllowances[minter];
    }

    /// @notice Whether an account is blacklisted.
    /// @param account The account.
    /// @return True if the account is blacklisted.
    function isBlacklisted(address account) external view returns (bool) {
        return _blacklisted[account];
    }

    // --------------------------------------------------------- ERC-20 surface

    /**
     * @notice Moves tokens from the caller to `to`.
     * @dev Reverts with `EnforcedPause` when paused and `AccountBlacklisted` if either side is
     * blacklisted.
     * @param to The receiver.
     * @param value The amount.
     * @return True on success.
     */
    function transfer(address to, uint256 value) public override whenNotPaused returns (bool) {
        return super.transfer(to, value);
    }

    /**
     * @notice Moves tokens from `from` to `to` using the caller's allowance.
     * @dev Reverts with `AccountBlacklisted` if the caller, `from` or `to` is blacklisted.
     * @param from The owner of the tokens.
     * @param to The receiver.
     * @param value The amount.
     * @return True on success.
     */
    function transferFrom(
        address from,
        address to,
        uint256 value
    ) public override whenNotPaused notBlacklisted(_msgSender()) returns (bool) {
        return super.transferFrom(from, to, value);
    }

    /**
     * @notice Sets the caller's allowance for `spender`.
     * @dev Reverts with `AccountBlacklisted` if the caller or the spender is blacklisted.
     * @param spender The spender.
     * @param value The allowance.
     * @return True on success.
     */
    function approve(
        address spender,
        uint256 value
    ) public override whenNotPaused notBlacklisted(_msgSender()) notBlacklisted(spender) returns (bool) {
        return super.approve(spender, value);
    }

    /**
     * @notice Sets `owner`'s allowance for `spender` from an EIP-2612 signature.
     * @dev Reverts with `AccountBlacklisted` if the owner or the spender is blacklisted.
     * @param owner The token owner who signed.
     * @param spender The spender.
     * @param value The allowance.
     * @param deadline The last timestamp at which the signature is valid.
     * @param v Signature recovery byte.
     * @param r Signature `r`.
     * @param s Signature `s`.
     */
    function permit(
        address owner,
        address spender,
        uint256 value,
        uint256 deadline,
        uint8 v,
        bytes32 r,
        bytes32 s
    ) public override whenNotPaused notBlacklisted(owner) notBlacklisted(spender) {
        super.permit(owner, spender, value, deadline, v, r, s);
    }

    // ------------------------------------------------------ minting, burning

    /**
     * @notice Adds a minter, or resets an existing minter's allowance.
     * @param minter The minter.
     * @param minterAllowedAmount The minter's new allowance (replaces the old one).
     */
    function configureMinter(address minter, uint256 minterAllowedAmount) external onlyMasterMinter whenNotPaused {
        if (minter == address(0)) revert InvalidRoleAddress(minter);
        _minters[minter] = true;
        _minterAllowances[minter] = minterAllowedAmount;
        emit MinterConfigured(minter, minterAllowedAmount);
    }

    /**
     * @notice Removes a minter and zeroes its allowance.
     * @param minter The minter to remove.
     */
    function removeMinter(address minter) external onlyMasterMinter {
        if (!_minters[minter]) revert NotAMinter(minter);
        _minters[minter] = false;
        _minterAllowances[minter] = 0;
        emit MinterRemoved(minter);
    }

    /**
     * @notice Mints `amount` new tokens to `to`, spending the caller's minter allowance.
     * @param to The receiver.
     * @param amount The amount, greater than zero and at most the caller's allowance.
     */
    function mint(
        address to,
        uint256 amount
    ) external onlyMinters whenNotPaused notBlacklisted(_msgSender()) notBlacklisted(to) {
        if (to == address(0)) revert ERC20InvalidReceiver(to);
        if (amount == 0) revert InvalidAmount(amount);
        address minter = _msgSender();
        uint256 allowance_ = _minterAllowances[minter];
        if (amount > allowance_) revert MinterAllowanceExceeded(minter, allowance_, amount);
        unchecked {
            _minterAllowances[minter] = allowance_ - amount;
        }
        _mint(to, amount);
        emit Minted(minter, to, amount);
    }

    /**
     * @notice Burns `amount` from the caller's own balance (redemption). Does not restore the
     * caller's minter allowance.
     * @param amount The amount, greater than zero and at most the caller's balance.
     */
    function burn(uint256 amount) external onlyMinters whenNotPaused notBlacklisted(_msgSender()) {
        if (amount == 0) revert InvalidAmount(amount);
        _burn(_msgSender(), amount);
        emit Burned(_msgSender(), amount);
    }

    // ------------------------------------------------------ pause, blacklist

    /// @notice Pauses transfers, approvals, permits, mints, burns and minter configuration.
    function pause() external onlyPauser {
        _pause();
    }

    /// @notice Lifts the pause.
    function unpause() external onlyPauser {
        _unpause();
    }

    /**
     * @notice Blacklists an account: it can no longer send, receive, approve, be approved or spend.
     * @param account The account.
     */
    function blacklist(address account) external onlyBlacklister {
        _blacklisted[account] = true;
        emit Blacklisted(account);
    }

    /**
     * @notice Removes an account from the blacklist.
     * @param account The account.
     */
    function unBlacklist(address account) external onlyBlacklister {
        _blacklisted[account] = false;
        emit UnBlacklisted(account);
    }

    // ------------------------------------------------------------------ roles

    /**
     * @notice Gives the master minter role to a new account.
     * @param newMasterMinter The new master minter (not the zero address).
     */
    function updateMasterMinter(address newMasterMinter) external onlyOwner {
        _setMasterMinter(newMasterMinter);
    }

    /**
     * @notice Gives the pauser role to a new account.
     * @param newPauser The new pauser (not the zero address).
     */
    function updatePauser(address newPauser) external onlyOwner {
        _setPauser(newPauser);
    }

    /**
     * @notice Gives the blacklister role to a new account.
     * @param newBlacklister The new blacklister (not the zero address).
     */
    function updateBlacklister(address newBlacklister) external onlyOwner {
        _setBlacklister(newBlacklister);
    }

    /**
     * @notice Gives the rescuer role to a new account.
     * @param newRescuer The new rescuer (not the zero address).
     */
    function updateRescuer(address newRescuer) external onlyOwner {
        _setRescuer(newRescuer);
    }

    /**
     * @notice Sends out ERC-20 tokens that were sent to this contract by mistake.
     * @param token The token to rescue.
     * @param to The receiver.
     * @param amount The amount.
     */
    function rescueERC20(IERC20 token, address to, uint256 amount) external onlyRescuer {
        emit Rescued(address(token), to, amount);
        token.safeTransfer(to, amount);
    }

    // --------------------------------------------------------------- internal

    /// @dev The single hook through which every balance change flows: enforces the blacklist.
    function _update(address from, address to, uint256 value) internal override {
        if (from != address(0) && _blacklisted[from]) revert AccountBlacklisted(from);
        if (to != address(0) && _blacklisted[to]) revert AccountBlacklisted(to);
        super._update(from, to, value);
    }

    function _setMasterMinter(address account) private {
        if (account == address(0)) revert InvalidRoleAddress(account);
        _masterMinter = account;
        emit MasterMinterChanged(account);
    }

    function _setPauser(address account) private {
        if (account == address(0)) revert InvalidRoleAddress(account);
        _pauser = account;
        emit PauserChanged(account);
    }

    function _setBlacklister(address account) private {
        if (account == address(0)) revert InvalidRoleAddress(account);
        _blacklister = account;
        emit BlacklisterChanged(account);
    }

    function _setRescuer(address account) private {
        if (account == address(0)) revert InvalidRoleAddress(account);
        _rescuer = account;
        emit RescuerChanged(account);
    }
}
