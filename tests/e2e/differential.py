#!/usr/bin/python3
"""Randomized differential test: hoardfs mount versus a plain directory.

Long random sequences of filesystem operations (create, write at random
offsets including past EOF, truncate, rename with and without
RENAME_NOREPLACE/RENAME_EXCHANGE, link, unlink, mkdir, rmdir, symlink,
mkfifo, xattrs, chmod, chown, utimens with nanoseconds, reads, stats,
readdir, and operations through open file descriptors that outlive unlink
and rename) are applied to a directory on the mount and to a directory on
the local filesystem. Every result (return value or errno) must be the same.
At a third and two thirds of the run the filesystem is unmounted and mounted
again (the second time with the cache directory deleted), and at each of
those points and at the end the two trees must be identical: types, sizes,
contents, modes, owners, link counts, symlink targets, xattrs, and the
nanosecond mtimes of every entry whose mtime was last set explicitly.

The seed is always printed; replay a failure with --seed SEED (and the same
--ops). On a mismatch the seed, the operation index, the operation and the
preceding operations are printed.

Usage: differential.py [--seed S | --seeds K] [--ops N] [--blocksize SIZE]
                       [--cachesize SIZE] [--skip-op NAME ...]
"""

import argparse
import ctypes
import errno
import hashlib
import os
import random
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (Hoard, assert_same_tree, diff_snapshots, log, require_environment, scratch_dir,  # noqa: E402
                         snapshot)

KiB, MiB = 1 << 10, 1 << 20
AT_FDCWD = -100
RENAME_NOREPLACE, RENAME_EXCHANGE = 1, 2
NAMES = ["a", "b", "c", "d", "e", "file", "dir", "x y", "ü", "long-name-" + "n" * 40]
XATTR_NAMES = ["user.a", "user.b", "user.checksum", "user.mime_type"]
UIDS = [0, 1, 1000, 65534, 123456]
MAX_DEPTH = 3

libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]


class Mismatch(Exception):
    pass


# --- operations ----------------------------------------------------------------
#
# An operation is a tuple (name, *args). Paths are relative to the side's
# root; data is described by (kind, length, seed) and generated on demand so
# that operations print compactly.


def make_data(spec):
    kind, length, seed = spec
    r = random.Random(seed)
    if kind == "zeros":
        return bytes(length)
    if kind == "pattern":
        chunk = r.randbytes(r.choice([1, 7, 4096, 65536]))
        return (chunk * (length // len(chunk) + 1))[:length]
    return r.randbytes(length)


def renameat2(old, new, flags):
    if libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def pread_all(fd, size, offset):
    out = []
    got = 0
    while got < size:
        chunk = os.pread(fd, size - got, offset + got)
        if not chunk:
            break
        out.append(chunk)
        got += len(chunk)
    return b"".join(out)


def stat_tuple(st):
    t = stat.S_IFMT(st.st_mode)
    return (t, stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_nlink,
            None if t == stat.S_IFDIR else st.st_size,
            st.st_rdev if t in (stat.S_IFCHR, stat.S_IFBLK) else None)


class Side:
    """One of the two trees, with its open file descriptors (slots)."""

    def __init__(self, name, root):
        self.name = name
        self.root = root
        self.fds = {}

    def p(self, rel):
        return os.path.join(self.root, rel)

    def close_all(self):
        for fd in self.fds.values():
            os.close(fd)
        self.fds.clear()

    def execute(self, op):
        """Runs one operation; returns ("ok", value) or ("err", errno name)."""
        try:
            return ("ok", getattr(self, "op_" + op[0])(*op[1:]))
        except OSError as e:
            return ("err", errno.errorcode.get(e.errno, str(e.errno)))

    def _open(self, rel, flags, mode=0o644):
        return os.open(self.p(rel), flags | os.O_NONBLOCK, mode)

    def op_create(self, rel, extra, mode):
        os.close(self._open(rel, os.O_CREAT | os.O_WRONLY | extra, mode))

    def op_write(self, rel, offset, data, append):
        fd = self._open(rel, os.O_WRONLY | (os.O_APPEND if append else 0))
        try:
            return os.pwrite(fd, make_data(data), offset)
        finally:
            os.close(fd)

    def op_truncate(self, rel, size):
        os.truncate(self.p(rel), size)

    def op_read(self, rel, offset, length):
        fd = self._open(rel, os.O_RDONLY)
        try:
            return pread_all(fd, length, offset)
        finally:
            os.close(fd)

    def op_stat(self, rel, follow):
        return os.stat(self.p(rel), follow_symlinks=follow)

    def op_rename(self, a, b, flags):
        if flags:
            renameat2(self.p(a), self.p(b), flags)
        else:
            os.rename(self.p(a), self.p(b))

    def op_link(self, a, b, follow):
        os.link(self.p(a), self.p(b), follow_symlinks=follow)

    def op_unlink(self, rel):
        os.unlink(self.p(rel))

    def op_mkdir(self, rel, mode):
        os.mkdir(self.p(rel), mode)

    def op_rmdir(self, rel):
        os.rmdir(self.p(rel))

    def op_symlink(self, target, rel):
        os.symlink(target, self.p(rel))

    def op_readlink(self, rel):
        return os.readlink(self.p(rel))

    def op_mkfifo(self, rel, mode):
        os.mkfifo(self.p(rel), mode)

    def op_setxattr(self, rel, name, value, flags):
        os.setxattr(self.p(rel), name, value, flags)

    def op_removexattr(self, rel, name):
        os.removexattr(self.p(rel), name)

    def op_getxattr(self, rel, name):
        return os.getxattr(self.p(rel), name)

    def op_listxattr(self, rel):
        return sorted(os.listxattr(self.p(rel)))

    def op_chmod(self, rel, mode):
        os.chmod(self.p(rel), mode)

    def op_chown(self, rel, uid, gid, follow):
        os.chown(self.p(rel), uid, gid, follow_symlinks=follow)

    def op_utime(self, rel, ns, follow):
        if ns is None:
            os.utime(self.p(rel), follow_symlinks=follow)
        else:
            os.utime(self.p(rel), ns=ns, follow_symlinks=follow)

    def op_readdir(self, rel):
        return sorted(os.listdir(self.p(rel)))

    def op_fsync(self, rel):
        fd = self._open(rel, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def op_open(self, slot, rel, flags):
        if slot in self.fds:
            os.close(self.fds.pop(slot))
        self.fds[slot] = self._open(rel, flags)

    def _fd(self, slot):
        if slot not in self.fds:
            raise OSError(errno.EBADF, "slot not open")
        return self.fds[slot]

    def op_fdwrite(self, slot, offset, data):
        return os.pwrite(self._fd(slot), make_data(data), offset)

    def op_fdread(self, slot, offset, length):
        return pread_all(self._fd(slot), length, offset)

    def op_fdtruncate(self, slot, size):
        os.ftruncate(self._fd(slot), size)

    def op_fdstat(self, slot):
        return os.fstat(self._fd(slot))

    def op_fdfsync(self, slot):
        os.fsync(self._fd(slot))

    def op_close(self, slot):
        os.close(self.fds.pop(slot))


PATH_ARGS = {"create": [0], "write": [0], "truncate": [0], "read": [0], "stat": [0],
             "rename": [0, 1], "link": [0, 1], "unlink": [0], "mkdir": [0], "rmdir": [0],
             "symlink": [1], "readlink": [0], "mkfifo": [0], "setxattr": [0],
             "removexattr": [0], "getxattr": [0], "listxattr": [0], "chmod": [0], "chown": [0],
             "utime": [0], "readdir": [0], "fsync": [0], "open": [1]}
SLOT_OPS = {"fdwrite", "fdread", "fdtruncate", "fdstat", "fdfsync", "close"}
READ_ONLY = {"read", "stat", "readlink", "getxattr", "listxattr", "readdir", "fsync", "fdread",
             "fdstat", "fdfsync", "close"}

WEIGHTS = {
    "create": 8, "write": 14, "truncate": 5, "read": 8, "stat": 6, "rename": 8, "link": 4,
    "unlink": 5, "mkdir": 5, "rmdir": 3, "symlink": 3, "readlink": 2, "mkfifo": 1,
    "setxattr": 5, "removexattr": 2, "getxattr": 2, "listxattr": 2, "chmod": 3, "chown": 2,
    "utime": 5, "readdir": 3, "fsync": 1, "open": 3, "fdwrite": 5, "fdread": 3,
    "fdtruncate": 2, "fdstat": 2, "fdfsync": 1, "close": 3,
}


def describe(op):
    parts = []
    for a in op[1:]:
        if isinstance(a, tuple) and len(a) == 3 and a[0] in ("rand", "zeros", "pattern"):
            parts.append(f"<{a[1]} bytes {a[0]} seed={a[2]}>")
        elif isinstance(a, bytes) and len(a) > 40:
            parts.append(f"<{len(a)} bytes sha256={hashlib.sha256(a).hexdigest()[:16]}>")
        elif isinstance(a, int) and op[0] in ("chmod", "mkdir", "create", "mkfifo", "open") \
                and a > 7:
            parts.append(oct(a))
        else:
            parts.append(repr(a))
    return f"{op[0]}({', '.join(parts)})"


def describe_result(result):
    kind, value = result
    if isinstance(value, bytes) and len(value) > 64:
        return f"{kind} <{len(value)} bytes sha256={hashlib.sha256(value).hexdigest()[:16]}>"
    return f"{kind} {value!r}"


# --- generator -------------------------------------------------------------------


class Generator:
    """Chooses operations from the state of the reference tree (so the same
    seed always gives the same sequence)."""

    def __init__(self, rng, ref, skip):
        self.rng = rng
        self.ref = ref
        self.ops = [o for o in WEIGHTS if o not in skip]
        self.weights = [WEIGHTS[o] for o in self.ops]
        self.seq = 0

    def scan(self):
        entries = []  # (rel, type, size)
        for dirpath, dirnames, filenames in os.walk(self.ref.root):
            dirnames.sort()
            for name in sorted(dirnames + filenames):
                path = os.path.join(dirpath, name)
                st = os.lstat(path)
                entries.append((os.path.relpath(path, self.ref.root), stat.S_IFMT(st.st_mode),
                                st.st_size))
        self.entries = entries
        self.with_xattrs = []  # (rel, [names])
        for rel, kind, _size in entries:
            if kind in (stat.S_IFREG, stat.S_IFDIR):
                names = sorted(os.listxattr(self.ref.p(rel), follow_symlinks=False))
                if names:
                    self.with_xattrs.append((rel, names))
        self.dirs = [""] + [e[0] for e in entries if e[1] == stat.S_IFDIR
                            and e[0].count("/") < MAX_DEPTH - 1]
        self.files = [e for e in entries if e[1] == stat.S_IFREG]

    def depth(self, rel):
        return rel.count("/") + 1 if rel else 0

    def new_path(self):
        r = self.rng.random()
        if r < 0.03 and self.files:
            parent = self.rng.choice(self.files)[0]  # a file as a directory: ENOTDIR
        elif r < 0.08:
            links = [e[0] for e in self.entries if e[1] == stat.S_IFLNK]
            parent = self.rng.choice(links) if links else ""
        elif r < 0.10:
            parent = "missing-dir"
        else:
            parent = self.rng.choice(self.dirs)
        return os.path.join(parent, self.rng.choice(NAMES))

    def any_path(self, existing=0.8, kind=None):
        if self.entries and self.rng.random() < existing:
            pool = [e for e in self.entries if kind is None or e[1] == kind] or self.entries
            return self.rng.choice(pool)[0]
        return self.new_path()

    def file_path(self):
        if self.files and self.rng.random() < 0.85:
            return self.rng.choice(self.files)[0]
        return self.any_path()

    def size_of(self, rel):
        for e in self.files:
            if e[0] == rel:
                return e[2]
        return 0

    def data(self):
        r = self.rng.random()
        if r < 0.5:
            n = self.rng.randint(1, 4 * KiB)
        elif r < 0.85:
            n = self.rng.randint(4 * KiB + 1, 256 * KiB)
        elif r < 0.97:
            n = self.rng.randint(256 * KiB, 3 * MiB // 2)
        else:
            n = self.rng.randint(3 * MiB // 2, 4 * MiB)
        kind = self.rng.choices(["rand", "zeros", "pattern"], [70, 15, 15])[0]
        self.seq += 1
        return (kind, n, self.rng.getrandbits(32))

    def offset(self, size):
        r = self.rng.random()
        if size == 0 or r < 0.2:
            return 0
        if r < 0.55:
            return self.rng.randrange(size + 1)
        if r < 0.75:
            return size
        if r < 0.98:
            return size + self.rng.randrange(1, 2 * MiB)
        return self.rng.randrange(24 * MiB)

    def new_size(self, size):
        r = self.rng.random()
        if r < 0.15:
            return 0
        if r < 0.5:
            return self.rng.randrange(size + 1)
        if r < 0.8:
            return size + self.rng.randrange(1, 3 * MiB)
        k = self.rng.randrange(0, 40)
        return max(0, k * 64 * KiB + self.rng.choice([-1, 0, 1]))

    def mode(self, bits=0o7777):
        if self.rng.random() < 0.7:
            return self.rng.choice([0o644, 0o600, 0o755, 0o700, 0o444, 0o777])
        return self.rng.randrange(bits + 1)

    def symlink_target(self, link):
        r = self.rng.random()
        base = os.path.dirname(link)
        if r < 0.6 and self.entries:
            target = self.rng.choice(self.entries)[0]
            if base and not target.startswith(base + "/"):
                return self.rng.choice(NAMES)
            return os.path.relpath(target, base or ".")
        if r < 0.8:
            return self.rng.choice(NAMES)
        if r < 0.9:
            return "/nonexistent-hoardfs-differential/" + self.rng.choice(NAMES)
        return os.path.basename(link)  # a loop

    def time_ns(self):
        if self.rng.random() < 0.1:
            return self.rng.choice([0, 1, 999_999_999, 10**9])
        return self.rng.randrange(-(2**31), 2**33) * 10**9 + self.rng.randrange(10**9)

    def next_op(self):
        self.scan()
        rng = self.rng
        while True:
            name = rng.choices(self.ops, self.weights)[0]
            if name in SLOT_OPS and not self.ref.fds:
                continue
            break
        slot = rng.choice(sorted(self.ref.fds)) if name in SLOT_OPS else None
        if name == "create":
            extra = rng.choice([0, 0, os.O_EXCL, os.O_TRUNC])
            return ("create", self.any_path(0.3), extra, self.mode())
        if name == "write":
            path = self.file_path()
            return ("write", path, self.offset(self.size_of(path)), self.data(),
                    rng.random() < 0.1)
        if name == "truncate":
            path = self.file_path()
            return ("truncate", path, self.new_size(self.size_of(path)))
        if name == "read":
            path = self.file_path()
            size = self.size_of(path)
            return ("read", path, self.offset(size) if rng.random() < 0.7 else 0,
                    rng.choice([1, 4096, 65536, 1 << 20, size + 10]))
        if name == "stat":
            return ("stat", self.any_path(0.9), rng.random() < 0.3)
        if name == "rename":
            flags = rng.choices([0, RENAME_NOREPLACE, RENAME_EXCHANGE], [80, 10, 10])[0]
            return ("rename", self.any_path(0.95), self.any_path(0.5), flags)
        if name == "link":
            return ("link", self.any_path(0.95), self.any_path(0.2), rng.random() < 0.5)
        if name == "unlink":
            return ("unlink", self.any_path(0.9))
        if name == "mkdir":
            return ("mkdir", self.any_path(0.15), self.mode())
        if name == "rmdir":
            return ("rmdir", self.any_path(0.9, stat.S_IFDIR))
        if name == "symlink":
            path = self.any_path(0.15)
            return ("symlink", self.symlink_target(path), path)
        if name == "readlink":
            return ("readlink", self.any_path(0.9, stat.S_IFLNK))
        if name == "mkfifo":
            return ("mkfifo", self.any_path(0.1), self.mode(0o777))
        if name == "setxattr":
            flags = rng.choices([0, os.XATTR_CREATE, os.XATTR_REPLACE], [70, 15, 15])[0]
            value = rng.randbytes(rng.choice([0, 1, 10, 100, 255]))
            return ("setxattr", self.any_path(0.9), rng.choice(XATTR_NAMES), value, flags)
        if name in ("removexattr", "getxattr"):
            if self.with_xattrs and rng.random() < 0.7:
                path, names = rng.choice(self.with_xattrs)
                return (name, path, rng.choice(names))
            return (name, self.any_path(0.9), rng.choice(XATTR_NAMES))
        if name == "listxattr":
            return ("listxattr", self.any_path(0.9))
        if name == "chmod":
            return ("chmod", self.any_path(0.9), self.mode())
        if name == "chown":
            return ("chown", self.any_path(0.9), rng.choice(UIDS + [-1]),
                    rng.choice(UIDS + [-1]), rng.random() < 0.7)
        if name == "utime":
            ns = None if rng.random() < 0.05 else (self.time_ns(), self.time_ns())
            return ("utime", self.any_path(0.9), ns, rng.random() < 0.8)
        if name == "readdir":
            return ("readdir", self.any_path(0.9, stat.S_IFDIR))
        if name == "fsync":
            return ("fsync", self.file_path())
        if name == "open":
            flags = os.O_RDWR | rng.choice([0, 0, os.O_CREAT, os.O_APPEND, os.O_TRUNC,
                                            os.O_CREAT | os.O_EXCL])
            return ("open", rng.randrange(4), self.file_path(), flags)
        if name == "fdwrite":
            size = os.fstat(self.ref.fds[slot]).st_size
            return ("fdwrite", slot, self.offset(size), self.data())
        if name == "fdread":
            size = os.fstat(self.ref.fds[slot]).st_size
            return ("fdread", slot, self.offset(size), rng.choice([1, 4096, 1 << 20, size + 1]))
        if name == "fdtruncate":
            return ("fdtruncate", slot, self.new_size(os.fstat(self.ref.fds[slot]).st_size))
        if name in ("fdstat", "fdfsync", "close"):
            return (name, slot)
        raise AssertionError(name)


# --- mtime tracking -----------------------------------------------------------------


def inodes_touched(side, op):
    """Inode numbers (of the reference side) an operation may change the
    mtime of: its paths, what they resolve to, and their parent dirs."""
    found = set()
    for i in PATH_ARGS.get(op[0], []):
        p = side.p(op[1 + i])
        for fn in (lambda: os.lstat(p), lambda: os.stat(p),
                   lambda: os.stat(os.path.dirname(p)),
                   lambda: os.stat(os.path.dirname(os.path.realpath(p)))):
            try:
                found.add(fn().st_ino)
            except OSError:
                pass
    if op[0] in SLOT_OPS or op[0] == "open":
        slot = op[1]
        if slot in side.fds:
            found.add(os.fstat(side.fds[slot]).st_ino)
    return found


# --- the run -----------------------------------------------------------------------


def compare_trees(ref, mnt, pinned, what):
    expected, actual = snapshot(ref.root), snapshot(mnt.root)
    for rel in expected:
        ino = os.lstat(ref.p(rel) if rel != "." else ref.root).st_ino
        if ino not in pinned:
            expected[rel].pop("mtime_ns", None)
            if rel in actual:
                actual[rel].pop("mtime_ns", None)
    for rel in actual:
        if rel not in expected:
            actual[rel].pop("mtime_ns", None)
    lines = diff_snapshots(expected, actual)
    if lines:
        raise Mismatch(f"{what}: the trees differ in {len(lines)} ways:\n    " +
                       "\n    ".join(lines[:40]))


class NoMount:
    """Stands in for a Hoard with --against DIR: a plain directory, no remounts."""

    def __init__(self, path):
        self.mnt = path

    def remount(self, drop_cache=False):
        pass


def run_seed(h, seed, nops, workdir, skip):
    log(f"differential: seed {seed}, {nops} operations "
        f"(replay: differential.py --seed {seed} --ops {nops})")
    ref = Side("reference", os.path.join(workdir, f"ref-{seed}"))
    mnt = Side("hoardfs", os.path.join(h.mnt, f"diff-{seed}"))
    os.mkdir(ref.root)
    os.mkdir(mnt.root)
    rng = random.Random(seed)
    gen = Generator(rng, ref, skip)
    pinned = set()
    history = []
    remounts = {nops // 3: False, 2 * nops // 3: True}
    counts = {}
    start = time.monotonic()

    def fail(message):
        ref.close_all()
        mnt.close_all()  # so that the mount can be unmounted cleanly
        lines = [f"MISMATCH with seed {seed}: {message}",
                 f"replay: {sys.argv[0]} --seed {seed} --ops {nops}"
                 + "".join(f" --skip-op {s}" for s in sorted(skip)),
                 "last operations:"]
        lines += [f"  #{i}: {describe(o)}" for i, o in history[-30:]]
        raise Mismatch("\n".join(lines))

    def checkpoint(drop_cache, what):
        if isinstance(h, NoMount):
            what = "a checkpoint (no remount)"
        ref.close_all()
        mnt.close_all()
        try:
            compare_trees(ref, mnt, pinned, f"before {what}")
            h.remount(drop_cache=drop_cache)
            compare_trees(ref, mnt, pinned, f"after {what}")
        except Mismatch as e:
            fail(str(e))
        log(f"    op {len(history)}: trees equal before and after {what}")

    for index in range(nops):
        if index in remounts:
            drop = remounts[index]
            checkpoint(drop, "unmount + " + ("cache deletion + " if drop else "") + "mount")
        op = gen.next_op()
        history.append((index, op))
        mutating = op[0] not in READ_ONLY
        touched = inodes_touched(ref, op) if mutating else set()
        r_ref = ref.execute(op)
        r_mnt = mnt.execute(op)
        if mutating:
            touched |= inodes_touched(ref, op)
            pinned -= touched
        if op[0] in ("stat", "fdstat"):
            pin_ino = r_ref[1].st_ino if r_ref[0] == "ok" else None
            r_ref = (r_ref[0], stat_tuple(r_ref[1]) + (r_ref[1].st_mtime_ns
                                                       if pin_ino in pinned else None,)) \
                if r_ref[0] == "ok" else r_ref
            r_mnt = (r_mnt[0], stat_tuple(r_mnt[1]) + (r_mnt[1].st_mtime_ns
                                                       if pin_ino in pinned else None,)) \
                if r_mnt[0] == "ok" else r_mnt
        ok_count, total = counts.get(op[0], (0, 0))
        counts[op[0]] = (ok_count + (r_ref[0] == "ok"), total + 1)
        if r_ref != r_mnt:
            fail(f"operation #{index} {describe(op)}\n  reference: {describe_result(r_ref)}\n"
                 f"  hoardfs:   {describe_result(r_mnt)}")
        if op[0] == "utime" and r_ref[0] == "ok" and op[2] is not None:
            try:
                st = os.stat(ref.p(op[1]), follow_symlinks=op[3])
                pinned.add(st.st_ino)
            except OSError:
                pass
    checkpoint(True, "the final unmount + cache deletion + mount")
    log(f"    seed {seed}: {nops} operations identical in {time.monotonic() - start:.0f}s; "
        f"{len(gen.entries)} entries at the end; ops: "
        + ", ".join(f"{k}={v[0]}/{v[1]}" for k, v in sorted(counts.items()))
        + " (succeeded/run)")
    return ref, mnt, pinned


def run_seeds(h, seeds, args, workdir):
    for seed in seeds:
        try:
            run_seed(h, seed, args.ops, workdir, set(args.skip_op))
        except Mismatch as e:
            log(str(e))
            return False
    return True


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seed", type=int, default=os.environ.get("HOARDFS_DIFF_SEED"),
                        help="replay this seed (default: random seeds)")
    parser.add_argument("--seeds", type=int, default=3, help="number of random seeds")
    parser.add_argument("--ops", type=int, default=int(os.environ.get("HOARDFS_DIFF_OPS", 3000)))
    parser.add_argument("--blocksize", help="mkfs.hoardfs --blocksize")
    parser.add_argument("--cachesize", help="mount.hoardfs --cachesize (small: eviction)")
    parser.add_argument("--backend-options", help="mount.hoardfs --backend-options, e.g. fault injection "
                        "(fault-errors=0.2,...); at the end the mount's tree must come back whole "
                        "from the backend without them")
    parser.add_argument("--skip-op", action="append", default=[], choices=sorted(WEIGHTS),
                        help="leave out an operation (to narrow a failure down)")
    parser.add_argument("--against", metavar="DIR",
                        help="compare with a plain directory instead of a mount (checks the "
                             "test itself)")
    args = parser.parse_args()
    if args.against:
        os.umask(0o022)
    else:
        require_environment()
    if args.seed is not None:
        seeds = [int(args.seed)]
    else:
        sysrng = random.SystemRandom()
        seeds = [sysrng.randrange(1, 2**31) for _ in range(args.seeds)]
    log(f"differential: seeds {seeds}")
    ok = True
    with scratch_dir("hoardfs-diff-ref-") as workdir:
        if args.against:
            ok = run_seeds(NoMount(args.against), seeds, args, workdir)
        else:
            with Hoard("diff") as h:
                h.mkfs(*(["--blocksize", args.blocksize] if args.blocksize else []))
                extra = ["--cachesize", args.cachesize] if args.cachesize else []
                h.mount(*extra, *(["--backend-options", args.backend_options] if args.backend_options else []))
                ok = run_seeds(h, seeds, args, workdir)
                if ok and args.backend_options:
                    # The faults stop: an empty cache must find everything in the backend.
                    before = snapshot(h.mnt)
                    h.mount_args = extra  # for the mount after the unmount
                    h.remount(drop_cache=True)
                    assert_same_tree(before, snapshot(h.mnt),
                                     "after unmounting with faults and mounting without them, cache deleted")
                    log("differential: the whole tree came back from the backend without faults")
                if ok:
                    h.umount()
    log(f"differential: {len(seeds) if ok else 0} passed, {0 if ok else 1} failed "
        f"(seeds {seeds})")
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
