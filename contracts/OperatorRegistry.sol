// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title OperatorRegistry
/// @notice The operator set of a kms-node network. Nodes read `getOperators()` at a
/// boundary block, so every node sees the same set for the same session.
/// @dev Registration is gated by an owner-managed allowlist: the set decides who holds
/// shares of the master secret, so a permissionless registry would let anyone join the
/// key set at the next reshare. Removing an address from the allowlist also removes its
/// registration, which is how the owner evicts an operator.
contract OperatorRegistry {
    struct Operator {
        address operator;
        string socketUrl;
        bytes signingPublicKey;
        address signingAddress;
    }

    uint256 public constant MAX_SOCKET_URL_BYTES = 256;
    uint256 public constant SIGNING_PUBLIC_KEY_BYTES = 64;
    /// @dev secp256k1 field prime; used to check that a signing key is a curve point.
    uint256 private constant SECP256K1_P = 0xFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFEFFFFFC2F;

    address public owner;
    mapping(address => bool) public isAllowed;

    Operator[] private operators;
    /// @dev 1-based position in `operators`; 0 = not registered.
    mapping(address => uint256) private positionOf;
    /// @dev signing address => operator using it, so two operators cannot share a key.
    mapping(address => address) private signingKeyOwner;

    event OwnershipTransferred(address indexed previousOwner, address indexed newOwner);
    event AllowlistUpdated(address indexed operator, bool allowed);
    event Registered(address indexed operator, string socketUrl, bytes signingPublicKey, address signingAddress);
    event Updated(address indexed operator, string socketUrl, bytes signingPublicKey, address signingAddress);
    event Deregistered(address indexed operator);

    error NotOwner(address caller);
    error ZeroAddress();
    error NotAllowed(address operator);
    error AlreadyRegistered(address operator);
    error NotRegistered(address operator);
    error InvalidSocketUrl(uint256 length);
    error InvalidSigningPublicKey();
    error SigningKeyInUse(address signingAddress, address usedBy);

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @param initialAllowed operator addresses permitted to register from the start.
    constructor(address[] memory initialAllowed) {
        owner = msg.sender;
        emit OwnershipTransferred(address(0), msg.sender);
        for (uint256 i = 0; i < initialAllowed.length; i++) {
            _setAllowed(initialAllowed[i], true);
        }
    }

    function transferOwnership(address newOwner) external onlyOwner {
        if (newOwner == address(0)) revert ZeroAddress();
        emit OwnershipTransferred(owner, newOwner);
        owner = newOwner;
    }

    /// @notice Permit or revoke an operator. Revoking a registered operator deregisters it.
    function setAllowed(address operator, bool allowed) external onlyOwner {
        _setAllowed(operator, allowed);
    }

    /// @notice Join the set as msg.sender.
    /// @param signingPublicKey the node's uncompressed secp256k1 message-signing key, x‖y (64 bytes, no 0x04).
    function register(string calldata socketUrl, bytes calldata signingPublicKey) external {
        if (!isAllowed[msg.sender]) revert NotAllowed(msg.sender);
        if (positionOf[msg.sender] != 0) revert AlreadyRegistered(msg.sender);
        address signingAddress = _validate(socketUrl, signingPublicKey);
        signingKeyOwner[signingAddress] = msg.sender;
        operators.push(Operator(msg.sender, socketUrl, signingPublicKey, signingAddress));
        positionOf[msg.sender] = operators.length;
        emit Registered(msg.sender, socketUrl, signingPublicKey, signingAddress);
    }

    /// @notice Change msg.sender's socket URL and/or signing key.
    function update(string calldata socketUrl, bytes calldata signingPublicKey) external {
        uint256 position = positionOf[msg.sender];
        if (position == 0) revert NotRegistered(msg.sender);
        Operator storage entry = operators[position - 1];
        delete signingKeyOwner[entry.signingAddress];
        address signingAddress = _validate(socketUrl, signingPublicKey);
        signingKeyOwner[signingAddress] = msg.sender;
        entry.socketUrl = socketUrl;
        entry.signingPublicKey = signingPublicKey;
        entry.signingAddress = signingAddress;
        emit Updated(msg.sender, socketUrl, signingPublicKey, signingAddress);
    }

    /// @notice Leave the set.
    function deregister() external {
        if (positionOf[msg.sender] == 0) revert NotRegistered(msg.sender);
        _remove(msg.sender);
    }

    /// @notice The current set, in no particular order (readers sort by address).
    function getOperators() external view returns (Operator[] memory) {
        return operators;
    }

    function operatorCount() external view returns (uint256) {
        return operators.length;
    }

    function isRegistered(address operator) external view returns (bool) {
        return positionOf[operator] != 0;
    }

    function _setAllowed(address operator, bool allowed) private {
        if (operator == address(0)) revert ZeroAddress();
        isAllowed[operator] = allowed;
        emit AllowlistUpdated(operator, allowed);
        if (!allowed && positionOf[operator] != 0) _remove(operator);
    }

    function _remove(address operator) private {
        uint256 index = positionOf[operator] - 1;
        uint256 last = operators.length - 1;
        delete signingKeyOwner[operators[index].signingAddress];
        if (index != last) {
            operators[index] = operators[last];
            positionOf[operators[index].operator] = index + 1;
        }
        operators.pop();
        delete positionOf[operator];
        emit Deregistered(operator);
    }

    /// @dev Checks the inputs and returns the key's Ethereum-style address.
    function _validate(string calldata socketUrl, bytes calldata key) private view returns (address signingAddress) {
        uint256 urlLength = bytes(socketUrl).length;
        if (urlLength == 0 || urlLength > MAX_SOCKET_URL_BYTES) revert InvalidSocketUrl(urlLength);
        if (key.length != SIGNING_PUBLIC_KEY_BYTES) revert InvalidSigningPublicKey();
        uint256 x = uint256(bytes32(key[0:32]));
        uint256 y = uint256(bytes32(key[32:64]));
        // A key off the curve could never verify a signature; reject it here rather than
        // let every peer discover it at the next session.
        if (x >= SECP256K1_P || y >= SECP256K1_P) revert InvalidSigningPublicKey();
        uint256 rhs = addmod(mulmod(mulmod(x, x, SECP256K1_P), x, SECP256K1_P), 7, SECP256K1_P);
        if (mulmod(y, y, SECP256K1_P) != rhs) revert InvalidSigningPublicKey();
        signingAddress = address(uint160(uint256(keccak256(key))));
        address usedBy = signingKeyOwner[signingAddress];
        if (usedBy != address(0) && usedBy != msg.sender) revert SigningKeyInUse(signingAddress, usedBy);
    }
}
