#!/usr/bin/python3
"""The AEAD of new objects, and reading them on a CPU without AES-NI.

On a CPU with AES-NI and PCLMUL (what this test needs, or it SKIPs), a mount
writes its objects with AES-256-GCM (encryption byte 2 of the object header,
doc/format.md): twice XChaCha20-Poly1305's speed there. Such a filesystem must
stay readable on a machine without AES-NI, where libsodium cannot run
AES-GCM and OpenSSL does it in software. The test stands in for that machine
by masking AES-NI and PCLMUL from OpenSSL (OPENSSL_ia32cap, which `openssl
version -c` confirms is honoured): with an empty cache, so that every block
is fetched and decrypted, the files read back right through a mount, and
`hoardfs verify --data` authenticates every object. A filesystem of older
XChaCha20-Poly1305 objects (fixtures/revision1-storage) gets AES-256-GCM
objects for what is written to it now, and reads both (test_block_hash.py).
"""

import os
import random
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import CLI, Checks, Hoard, check_eq, read_bytes, require_environment, skip, write_bytes  # noqa: E402

KiB = 1024
MiB = 1024 * KiB
# Bit 57 (AES-NI, CPUID.1:ECX.25) and bit 33 (PCLMULQDQ, CPUID.1:ECX.1) of
# OpenSSL's first capability word, cleared.
NO_AESNI = "~0x200000200000000"
AES_256_GCM = 2  # encryption byte (doc/format.md)


def cpu_has_aes():
    with open("/proc/cpuinfo") as f:
        flags = next((line.split(":", 1)[1].split() for line in f if line.startswith("flags")), [])
    return "aes" in flags and "pclmulqdq" in flags


def files():
    rng = random.Random(7)
    return {
        "big.bin": rng.randbytes(3 * MiB + 4321),  # several blocks, incompressible
        "small.txt": b"a small file, packed with others\n" * 40,
        "tiny": b"x",
    }


def objects(h, prefix):
    root = os.path.join(h.storage, prefix)
    return [os.path.join(d, f) for d, _dirs, names in os.walk(root) for f in names]


def encryption_bytes(paths):
    found = set()
    for path in paths:
        with open(path, "rb") as f:
            header = f.read(8)
        if header[:4] != b"HRDF":
            raise AssertionError(f"{path} does not start with HRDF: {header!r}")
        found.add(header[6])
    return found


def writes_aes(h):
    h.mkfs()
    h.mount()
    for name, data in files().items():
        write_bytes(os.path.join(h.mnt, name), data)
    h.umount()
    data = objects(h, "data")
    if not data:
        raise AssertionError("no data object in the storage")
    check_eq(encryption_bytes(data), {AES_256_GCM}, "encryption bytes of the data objects")
    check_eq(encryption_bytes(objects(h, "meta/seg")), {AES_256_GCM}, "encryption bytes of the metadata segments")


def mask_is_honoured():
    env = dict(os.environ, OPENSSL_ia32cap=NO_AESNI)
    out = subprocess.run(["openssl", "version", "-c"], env=env, capture_output=True, text=True, check=True).stdout
    if f"env:{NO_AESNI}" not in out:
        raise AssertionError(f"openssl version -c does not show the mask: {out!r}")


def reads_without_aesni(h):
    h.env["OPENSSL_ia32cap"] = NO_AESNI
    os.rename(h.cache, h.cache + ".old")  # every block comes from the backend
    os.mkdir(h.cache)
    h.mount()
    for name, data in files().items():
        if read_bytes(os.path.join(h.mnt, name)) != data:
            raise AssertionError(f"{name} reads back wrong without AES-NI")
    h.umount()
    r = h.tool([CLI, "verify", "--data", "--cachedir", h.cache, h.url], stdin_text=h.passphrase + "\n")
    check_eq(r.returncode, 0, "exit status of hoardfs verify --data without AES-NI: " + r.describe())


def main():
    require_environment()
    if not cpu_has_aes():
        skip("this CPU has no AES-NI/PCLMUL: mounts write XChaCha20-Poly1305, so there is no AES-GCM to test")
    checks = Checks("cipher")
    with Hoard("cipher") as h:
        if checks.run("mount_writes_aes_256_gcm", writes_aes, h) and checks.run("openssl_mask", mask_is_honoured):
            checks.run("reads_and_verifies_without_aesni", reads_without_aesni, h)
    checks.finish()


if __name__ == "__main__":
    main()
