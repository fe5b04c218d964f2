#!/usr/bin/python3
"""Integrity: a damaged backend gives EIO or a refused mount, never wrong data.

A filesystem holds three files of random (incompressible) data, several
blocks each, written one block at a time with `hoardfs ctrl flushcache`
after each block, so that the test knows which data object (data/XX/<32 hex>
in the storage directory) holds which block of which file. Then, on the
unmounted filesystem, one case at a time (the object is restored after each):

  (a) one byte of a data object flipped,
  (b) a data object truncated,
  (c) the contents of two data objects swapped (names unchanged),

and mounted again with an EMPTY cache (so every block is fetched from the
backend), in the foreground with the daemon's log in a file: reading the
damaged block fails with EIO, every byte a read did return is right, the log
names the damaged object, and the undamaged blocks and files read correctly.
After restoring the object the file reads correctly again.

Metadata (on fresh filesystems):

  (d) rollback: with two metadata versions from two unmounts, the newest
      manifest (meta/v<20 digits>) is deleted from storage; a mount with the
      SAME cache (which remembers the newer version) is refused with a
      message naming the metadata version, rather than using the older one;
      with the manifest put back, the same cache mounts again.
  (e) the newest manifest's bytes are replaced by an older manifest's bytes
      (same name): a mount with an empty cache is refused with one clear line;
      with the right bytes put back, it mounts again.
"""

import errno
import json
import os
import random
import re
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (CLI, MOUNT, Checks, Hoard, is_mounted, log, read_bytes,  # noqa: E402
                         require_environment, wait_until, write_bytes)

FILES = ("alpha.bin", "beta.bin", "gamma.bin")
BLOCKS_PER_FILE = 4
TAIL = 12345  # a partial last block


def data_objects(h):
    """Data object names (backend keys, data/XX/...) currently in storage."""
    root = os.path.join(h.storage, "data")
    names = set()
    for dirpath, _dirs, files in os.walk(root):
        for f in files:
            names.add(os.path.relpath(os.path.join(dirpath, f), h.storage))
    return names


def manifests(h):
    """Metadata manifests, oldest first, as (version, path)."""
    meta = os.path.join(h.storage, "meta")
    found = []
    for name in os.listdir(meta):
        m = re.fullmatch(r"v(\d{20})", name)
        if m:
            found.append((int(m.group(1)), os.path.join(meta, name)))
    return sorted(found)


def block_size(h):
    with open(os.path.join(h.storage, "hoardfs.superblock"), "rb") as f:
        return int(json.load(f)["block_size"])


def flushcache(h):
    r = h.tool([CLI, "ctrl", "flushcache", "--quiet", h.mnt])
    if r.returncode != 0:
        raise AssertionError("hoardfs ctrl flushcache failed: " + r.describe())


def empty_cache(h):
    shutil.rmtree(h.cache)
    os.mkdir(h.cache)


class Fixture:
    """The filesystem with FILES, each block's object known."""

    def __init__(self, h):
        self.h = h
        self.contents = {}   # file name -> bytes
        self.objects = {}    # file name -> [object name of block 0, 1, ...]
        self.bs = 0
        self.fg = None       # the --fg mount process, while mounted
        self.log_path = os.path.join(h.base, "daemon.log")

    def create(self):
        h = self.h
        h.mkfs()
        self.bs = block_size(h)
        h.mount()
        rng = random.Random(4242)
        for name in FILES:
            data = bytearray()
            objs = []
            with open(os.path.join(h.mnt, name), "wb") as f:
                for i in range(BLOCKS_PER_FILE + 1):
                    chunk = rng.randbytes(self.bs if i < BLOCKS_PER_FILE else TAIL)
                    before = data_objects(h)
                    f.write(chunk)
                    f.flush()
                    os.fsync(f.fileno())
                    flushcache(h)
                    new = data_objects(h) - before
                    if not new:
                        raise AssertionError(f"{name} block {i}: no new data object after "
                                             f"flushcache")
                    objs.append(new)
                    data += chunk
            self.contents[name] = bytes(data)
            self.objects[name] = objs
        h.umount()
        # A block uploaded before it was complete has a second, final object;
        # the first one was deleted as garbage after the umount's metadata
        # upload. Each block's object is the one of its uploads still stored.
        stored = data_objects(h)
        for name, objs in self.objects.items():
            for i, new in enumerate(objs):
                kept = new & stored
                if len(kept) != 1:
                    raise AssertionError(f"{name} block {i}: expected one stored object among "
                                         f"its uploads {sorted(new)}, found {sorted(kept)}")
                objs[i] = kept.pop()

    def path(self, rel):
        return os.path.join(self.h.storage, rel)

    def mount_fg(self):
        """Mounts in the foreground with an empty cache and the daemon's log
        (stderr) going to self.log_path."""
        h = self.h
        empty_cache(h)
        with open(self.log_path, "w"):
            pass
        logf = open(self.log_path, "ab")
        try:
            self.fg = subprocess.Popen([MOUNT, "--fg", "--cachedir", h.cache, h.url, h.mnt],
                                       stdin=subprocess.PIPE, stdout=logf, stderr=logf, env=h.env)
        finally:
            logf.close()
        self.fg.stdin.write((h.passphrase + "\n").encode())
        self.fg.stdin.close()
        wait_until(lambda: is_mounted(h.mnt) or self.fg.poll() is not None, 120,
                   "the --fg mount to be live")
        if not is_mounted(h.mnt):
            raise AssertionError(f"mount.hoardfs --fg exited {self.fg.returncode}:\n{self.log()}")
        h.remember_daemon(h.mnt)

    def umount_fg(self):
        self.h.umount()
        try:
            self.fg.wait(timeout=120)
        finally:
            self.fg = None

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def block_range(self, name, i):
        start = i * self.bs
        return start, min(len(self.contents[name]), start + self.bs)

    # --- reads --------------------------------------------------------------

    def pread_block(self, name, i):
        start, end = self.block_range(name, i)
        fd = os.open(os.path.join(self.h.mnt, name), os.O_RDONLY)
        try:
            data = b""
            while len(data) < end - start:
                got = os.pread(fd, end - start - len(data), start + len(data))
                if not got:
                    break
                data += got
            return data
        finally:
            os.close(fd)

    def expect_block_ok(self, name, i):
        start, end = self.block_range(name, i)
        data = self.pread_block(name, i)
        if data != self.contents[name][start:end]:
            raise AssertionError(f"{name} block {i}: read {len(data)} bytes that differ from "
                                 f"what was written")

    def expect_block_eio(self, name, i):
        try:
            data = self.pread_block(name, i)
        except OSError as e:
            if e.errno != errno.EIO:
                raise AssertionError(f"{name} block {i} (damaged object): expected EIO, got "
                                     f"{errno.errorcode.get(e.errno, e.errno)} ({e})")
            return
        start, end = self.block_range(name, i)
        same = data == self.contents[name][start:end]
        raise AssertionError(f"{name} block {i} (damaged object): expected EIO, but the read "
                             f"returned {len(data)} bytes ({'the right' if same else 'WRONG'} "
                             f"bytes)")

    def expect_file_eio_no_wrong_bytes(self, name):
        """Reads the whole file sequentially: must end in EIO, and every byte
        returned before that must be right."""
        want = self.contents[name]
        got = bytearray()
        with open(os.path.join(self.h.mnt, name), "rb", buffering=0) as f:
            while True:
                try:
                    chunk = f.read(128 << 10)
                except OSError as e:
                    if e.errno != errno.EIO:
                        raise AssertionError(f"{name}: sequential read failed with "
                                             f"{errno.errorcode.get(e.errno, e.errno)}, not EIO")
                    break
                if not chunk:
                    raise AssertionError(f"{name}: the whole file ({len(got)} bytes) read "
                                         f"without error although an object is damaged"
                                         + ("" if bytes(got) == want else " (WRONG bytes)"))
                if chunk != want[len(got):len(got) + len(chunk)]:
                    raise AssertionError(f"{name}: bytes {len(got)}..{len(got) + len(chunk)} "
                                         f"returned by read() are wrong")
                got += chunk

    def expect_file_ok(self, name):
        with open(os.path.join(self.h.mnt, name), "rb") as f:
            data = f.read()
        if data != self.contents[name]:
            raise AssertionError(f"{name}: content differs from what was written "
                                 f"({len(data)} vs {len(self.contents[name])} bytes)")

    def expect_logged(self, obj):
        text = self.log()
        lines = [line for line in text.splitlines() if obj in line]
        if not lines:
            raise AssertionError(f"the daemon's log does not name the damaged object {obj}; "
                                 f"log:\n    " + "\n    ".join(text.splitlines()[-20:]))
        log(f"daemon log: {lines[0]}")


def damage_case(fx, damage, victims):
    """damage() changes storage and returns a restore function; victims lists
    (file, block) pairs whose object it damaged."""
    restore = damage()
    try:
        fx.mount_fg()
        try:
            damaged_files = {name for name, _ in victims}
            for name, i in victims:
                fx.expect_block_eio(name, i)
                fx.expect_block_eio(name, i)  # again: no wrong bytes from any cache either
                fx.expect_logged(fx.objects[name][i])
            for name, i in victims:
                for j in range(len(fx.objects[name])):
                    if (name, j) not in victims:
                        fx.expect_block_ok(name, j)
            for name in damaged_files:
                fx.expect_file_eio_no_wrong_bytes(name)
            for name in FILES:
                if name not in damaged_files:
                    fx.expect_file_ok(name)
        finally:
            fx.umount_fg()
    finally:
        restore()
    # Restored: everything reads right again (fetched from storage anew).
    fx.mount_fg()
    try:
        for name in FILES:
            fx.expect_file_ok(name)
    finally:
        fx.umount_fg()


def flip_byte(fx):
    obj = fx.objects["alpha.bin"][1]
    path = fx.path(obj)
    original = read_bytes(path)
    damaged = bytearray(original)
    damaged[len(damaged) // 2] ^= 0x01
    write_bytes(path, bytes(damaged))
    log(f"flipped one byte in {obj} (alpha.bin block 1)")

    def restore():
        write_bytes(path, original)
    damage_case(fx, lambda: restore, [("alpha.bin", 1)])


def truncate_object(fx):
    obj = fx.objects["beta.bin"][2]
    path = fx.path(obj)
    original = read_bytes(path)
    write_bytes(path, original[:len(original) // 3])
    log(f"truncated {obj} (beta.bin block 2) to {len(original) // 3} bytes")

    def restore():
        write_bytes(path, original)
    damage_case(fx, lambda: restore, [("beta.bin", 2)])


def swap_objects(fx):
    a, b = fx.objects["alpha.bin"][0], fx.objects["gamma.bin"][3]
    pa, pb = fx.path(a), fx.path(b)
    da, db = read_bytes(pa), read_bytes(pb)
    write_bytes(pa, db)
    write_bytes(pb, da)
    log(f"swapped the contents of {a} (alpha.bin block 0) and {b} (gamma.bin block 3)")

    def restore():
        write_bytes(pa, da)
        write_bytes(pb, db)
    damage_case(fx, lambda: restore, [("alpha.bin", 0), ("gamma.bin", 3)])


# --- metadata ------------------------------------------------------------------


def two_versions(h):
    """mkfs, then two mount/write/umount cycles; returns the manifests."""
    h.mkfs()
    for i in range(2):
        h.mount()
        with open(os.path.join(h.mnt, f"file{i}"), "wb") as f:
            f.write(os.urandom(100000))
        os.mkdir(os.path.join(h.mnt, f"dir{i}"))
        h.umount()
    found = manifests(h)
    if len(found) < 2:
        raise AssertionError(f"expected at least two metadata versions, found {found}")
    return found


def rollback_refused(h):
    found = two_versions(h)
    newest, path = found[-1]
    saved = read_bytes(path)
    os.unlink(path)
    log(f"deleted the newest manifest {os.path.relpath(path, h.storage)} "
        f"(now newest: v{found[-2][0]})")
    r = h.mount(check=False)
    if r.returncode == 0 or is_mounted(h.mnt):
        h.remember_daemon(h.mnt)
        raise AssertionError("mount with a cache that knows metadata version "
                             f"{newest} succeeded although the backend's newest is now "
                             f"{found[-2][0]} (rolled back):\n  " + r.describe())
    text = r.stderr
    if not any(re.search(rf"version\s+v?0*{n}\b", text, re.I) for n in (newest, found[-2][0])):
        raise AssertionError("the refusal does not name the metadata version:\n  "
                             + r.describe())
    log(f"refused as expected: {r.stderr.strip()!r} (exit {r.returncode})")
    # The refusal lost nothing: with the manifest back, the same cache mounts.
    write_bytes(path, saved)
    h.mount()
    try:
        for i in range(2):
            if not os.path.isdir(os.path.join(h.mnt, f"dir{i}")):
                raise AssertionError(f"dir{i} missing after restoring the manifest")
    finally:
        h.umount()


def replaced_manifest_refused(h):
    found = two_versions(h)
    newest, path = found[-1]
    older = read_bytes(found[-2][1])
    saved = read_bytes(path)
    write_bytes(path, older)
    log(f"replaced {os.path.relpath(path, h.storage)} by the bytes of "
        f"{os.path.relpath(found[-2][1], h.storage)}")
    empty_cache(h)
    r = h.mount(check=False)
    if r.returncode == 0 or is_mounted(h.mnt):
        h.remember_daemon(h.mnt)
        raise AssertionError("mount with a replaced newest manifest succeeded:\n  "
                             + r.describe())
    lines = r.stderr_lines()
    if len(lines) != 1:
        raise AssertionError(f"expected exactly one line on stderr, got {len(lines)}:\n  "
                             + r.describe())
    if not re.search(r"meta|manifest|version", lines[0], re.I):
        raise AssertionError("the message does not say what is wrong (metadata / manifest):\n  "
                             + r.describe())
    log(f"refused as expected: {lines[0]!r} (exit {r.returncode})")
    write_bytes(path, saved)
    empty_cache(h)
    h.mount()
    try:
        for i in range(2):
            if not os.path.isdir(os.path.join(h.mnt, f"dir{i}")):
                raise AssertionError(f"dir{i} missing after restoring the manifest")
    finally:
        h.umount()


def main():
    require_environment()
    checks = Checks("tamper")
    with Hoard("tamper") as h:
        fx = Fixture(h)
        if checks.run("create_filesystem", fx.create):
            checks.run("a_flipped_byte_is_eio", flip_byte, fx)
            checks.run("b_truncated_object_is_eio", truncate_object, fx)
            checks.run("c_swapped_objects_are_eio", swap_objects, fx)
    with Hoard("tamper-rollback") as h:
        checks.run("d_metadata_rollback_refused", rollback_refused, h)
    with Hoard("tamper-manifest") as h:
        checks.run("e_replaced_manifest_refused", replaced_manifest_refused, h)
    checks.finish()


if __name__ == "__main__":
    main()
