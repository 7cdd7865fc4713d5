#!/usr/bin/env python3
"""ext4 native encryption (fscrypt v2 policies) for the cluster's local volumes, by ioctl.

  fscrypt.py add-key <mountpoint> <keyfile>        prints the key identifier (hex)
  fscrypt.py set-policy <empty-dir> <identifier>   encrypts everything later created under it
  fscrypt.py remove-key <mountpoint> <identifier>  the files become unreadable ciphertext
  fscrypt.py status <dir>                          prints "encrypted" or "plain"

The kernel's structures (linux/fscrypt.h): fscrypt_add_key_arg, fscrypt_policy_v2,
fscrypt_remove_key_arg. AES-256-XTS for contents, AES-256-CTS for names.
"""
import fcntl
import os
import struct
import sys

FS_IOC_ADD_ENCRYPTION_KEY = 0xC0506617
FS_IOC_REMOVE_ENCRYPTION_KEY = 0xC0406618
FS_IOC_SET_ENCRYPTION_POLICY = 0x800C6613
FS_IOC_GET_ENCRYPTION_POLICY_EX = 0xC0096616
KEY_SPEC_TYPE_IDENTIFIER = 2
POLICY_V2 = 2
MODE_AES_256_XTS = 1
MODE_AES_256_CTS = 4
POLICY_FLAGS_PAD_32 = 0x03


def key_spec(identifier: bytes) -> bytes:
    return struct.pack("<II32s", KEY_SPEC_TYPE_IDENTIFIER, 0, identifier)


def add_key(mountpoint: str, keyfile: str) -> None:
    with open(keyfile, "rb") as f:
        raw = f.read()
    if len(raw) != 64:
        sys.exit(f"fscrypt: {keyfile} must hold 64 random bytes, has {len(raw)}")
    arg = bytearray(key_spec(b"") + struct.pack("<II32x", len(raw), 0) + raw)
    fd = os.open(mountpoint, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, FS_IOC_ADD_ENCRYPTION_KEY, arg)
    finally:
        os.close(fd)
    print(bytes(arg[8:24]).hex())


def set_policy(directory: str, identifier: str) -> None:
    policy = struct.pack("<BBBB4x16s", POLICY_V2, MODE_AES_256_XTS, MODE_AES_256_CTS, POLICY_FLAGS_PAD_32, bytes.fromhex(identifier))
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, FS_IOC_SET_ENCRYPTION_POLICY, policy)
    finally:
        os.close(fd)


def remove_key(mountpoint: str, identifier: str) -> None:
    arg = bytearray(key_spec(bytes.fromhex(identifier)) + struct.pack("<I20x", 0))
    fd = os.open(mountpoint, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, FS_IOC_REMOVE_ENCRYPTION_KEY, arg)
    finally:
        os.close(fd)
    flags = struct.unpack_from("<I", arg, 40)[0]
    if flags & 0x1:
        sys.exit("fscrypt: some files under the key are still open; the key stays until they are closed")


def status(directory: str) -> None:
    arg = bytearray(struct.pack("<Q", 24) + bytes(24))
    fd = os.open(directory, os.O_RDONLY)
    try:
        fcntl.ioctl(fd, FS_IOC_GET_ENCRYPTION_POLICY_EX, arg)
        print("encrypted")
    except OSError as error:
        if error.errno in (61, 95):  # ENODATA: no policy; EOPNOTSUPP: filesystem without encryption
            print("plain")
        else:
            raise
    finally:
        os.close(fd)


COMMANDS = {"add-key": add_key, "set-policy": set_policy, "remove-key": remove_key, "status": status}

if __name__ == "__main__":
    if len(sys.argv) < 3 or sys.argv[1] not in COMMANDS:
        sys.exit(__doc__)
    COMMANDS[sys.argv[1]](*sys.argv[2:])
