#!/usr/bin/python3
"""POSIX surface of a real hoardfs mount on the local backend.

Each check works in its own directory of one mount; at the end the whole tree
is snapshotted (contents, modes, owners, nanosecond times, xattrs, links) and
must be identical after unmount + remount with the same cache, and after
unmount + deleting the cache + remount.
"""

import ctypes
import errno
import fcntl
import hashlib
import json
import mmap
import os
import subprocess
import random
import socket
import stat
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (CLI, Checks, Hoard, assert_same_tree, check_eq, expect_errno, log,  # noqa: E402
                         require_environment, snapshot, wait_until)

MiB = 1 << 20
GiB = 1 << 30
AT_FDCWD = -100
RENAME_NOREPLACE = 1
RENAME_EXCHANGE = 2
FALLOC_FL_KEEP_SIZE = 1
FALLOC_FL_PUNCH_HOLE = 2

libc = ctypes.CDLL(None, use_errno=True)
libc.renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p,
                           ctypes.c_uint]
libc.fallocate.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_int64, ctypes.c_int64]
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
libc.munmap.argtypes = [ctypes.c_void_p, ctypes.c_size_t]
libc.mincore.argtypes = [ctypes.c_void_p, ctypes.c_size_t, ctypes.c_void_p]

rng = random.Random(20240601)


def randbytes(n):
    return rng.randbytes(n)


def renameat2(old, new, flags):
    if libc.renameat2(AT_FDCWD, os.fsencode(old), AT_FDCWD, os.fsencode(new), flags) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), old)


def fallocate(fd, mode, offset, length):
    if libc.fallocate(fd, mode, offset, length) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e))


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            n = os.write(fd, view[:MiB])
            view = view[n:]
    finally:
        os.close(fd)


def read_file(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
        chunks = []
        while True:
            chunk = os.read(fd, MiB)
            if not chunk:
                break
            chunks.append(chunk)
        return b"".join(chunks)
    finally:
        os.close(fd)


def check_content(path, expected, what):
    actual = read_file(path)
    if actual != expected:
        first = next((i for i in range(min(len(actual), len(expected)))
                      if actual[i] != expected[i]), min(len(actual), len(expected)))
        raise AssertionError(f"{what}: content differs (len {len(actual)} vs expected "
                             f"{len(expected)}, first difference at byte {first})")


def pread_all(fd, size, offset):
    out = b""
    while len(out) < size:
        chunk = os.pread(fd, size - len(out), offset + len(out))
        if not chunk:
            break
        out += chunk
    return out


# --- checks ----------------------------------------------------------------


def large_file(m):
    d = os.path.join(m, "large")
    os.mkdir(d)
    path = os.path.join(d, "random20m")
    data = bytearray(randbytes(20 * MiB))
    write_file(path, data)
    check_eq(os.stat(path).st_size, len(data), "size of the 20 MiB file")
    check_eq(hashlib.sha256(read_file(path)).hexdigest(), hashlib.sha256(data).hexdigest(),
             "sha256 of the 20 MiB file")

    # Overwrites at unaligned offsets, across block boundaries and past EOF.
    fd = os.open(path, os.O_RDWR)
    try:
        for offset, length in [(0, 1), (1, 10), (4095, 4098), (65535, 3), (65536 + 7, 200000),
                               (MiB - 3, 7), (MiB, MiB + 5), (5 * MiB + 12345, 3 * MiB // 2),
                               (20 * MiB - 10, 30), (21 * MiB + 100, 4096)]:
            chunk = randbytes(length)
            check_eq(os.pwrite(fd, chunk, offset), length, f"pwrite at {offset}")
            if offset > len(data):
                data.extend(bytes(offset - len(data)))
            data[offset:offset + length] = chunk
            check_eq(pread_all(fd, length, offset), chunk, f"pread right after pwrite at {offset}")
        check_eq(os.fstat(fd).st_size, len(data), "size after overwrites")
        for _ in range(20):
            offset = rng.randrange(len(data))
            length = rng.randrange(1, 3 * MiB)
            if pread_all(fd, length, offset) != bytes(data[offset:offset + length]):
                raise AssertionError(f"pread({length} at {offset}) differs through the open fd")
    finally:
        os.close(fd)
    check_content(path, bytes(data), "20 MiB file after overwrites (reopened)")

    # O_APPEND
    fd = os.open(path, os.O_WRONLY | os.O_APPEND)
    try:
        os.write(fd, b"appended")
    finally:
        os.close(fd)
    data += b"appended"
    check_content(path, bytes(data), "after O_APPEND write")


def sparse_file(m):
    d = os.path.join(m, "sparse")
    os.mkdir(d)
    path = os.path.join(d, "hole4g")
    with open(path, "wb") as f:
        f.write(b"head")
        f.seek(4 * GiB + 4)
        f.write(b"tail-marker")
    st = os.stat(path)
    check_eq(st.st_size, 4 * GiB + 15, "size of the file with a 4 GiB hole")
    if st.st_blocks * 512 > 64 * MiB:
        raise AssertionError(f"st_blocks {st.st_blocks} ({st.st_blocks * 512} bytes) is not "
                             f"small for a file that is mostly a hole")
    with open(path, "rb") as f:
        check_eq(f.read(4), b"head", "bytes before the hole")
        # Each 1 MiB read stays inside the hole (the data starts at 4 GiB + 4).
        for offset in (4, 4096, MiB - 1, GiB + 123, 3 * GiB + 7, 4 * GiB + 4 - MiB):
            f.seek(offset)
            chunk = f.read(MiB)
            if chunk != bytes(len(chunk)) or len(chunk) != MiB:
                raise AssertionError(f"hole at {offset} does not read as {MiB} zero bytes")
        f.seek(4 * GiB - 5)
        check_eq(f.read(100), bytes(9) + b"tail-marker", "bytes around the end of the hole")

    # A hole made by truncate alone.
    path2 = os.path.join(d, "truncated4g")
    with open(path2, "wb") as f:
        f.truncate(4 * GiB)
    st = os.stat(path2)
    check_eq(st.st_size, 4 * GiB, "size after truncate to 4 GiB")
    if st.st_blocks * 512 > 64 * MiB:
        raise AssertionError(f"truncate-only file has st_blocks {st.st_blocks}")
    with open(path2, "rb") as f:
        f.seek(2 * GiB)
        if f.read(MiB) != bytes(MiB):
            raise AssertionError("truncate-only hole does not read as zeros")
        f.seek(4 * GiB - 10)
        check_eq(f.read(100), bytes(10), "read at the end of the truncate-only file")


def directories(m):
    d = os.path.join(m, "dirs")
    os.mkdir(d)
    os.makedirs(os.path.join(d, "a", "b", "c"))
    os.mkdir(os.path.join(d, "a", "b2"), 0o750)
    check_eq(stat.S_IMODE(os.stat(os.path.join(d, "a", "b2")).st_mode), 0o750, "mkdir mode")
    check_eq(sorted(os.listdir(os.path.join(d, "a"))), ["b", "b2"], "listdir")
    check_eq(os.stat(os.path.join(d, "a")).st_nlink, 4, "nlink of a dir with 2 subdirs")
    check_eq(os.stat(os.path.join(d, "a", "b", "c")).st_nlink, 2, "nlink of an empty dir")
    write_file(os.path.join(d, "a", "b", "c", "file"), b"x")

    expect_errno(errno.EEXIST, os.mkdir, os.path.join(d, "a"))
    expect_errno(errno.ENOTEMPTY, os.rmdir, os.path.join(d, "a", "b"))
    expect_errno(errno.ENOTDIR, os.rmdir, os.path.join(d, "a", "b", "c", "file"))
    expect_errno(errno.EISDIR, os.unlink, os.path.join(d, "a", "b"))
    expect_errno(errno.ENOENT, os.rmdir, os.path.join(d, "missing"))
    expect_errno(errno.ENOENT, os.open, os.path.join(d, "missing", "x"), os.O_RDONLY)
    expect_errno(errno.ENOTDIR, os.open, os.path.join(d, "a", "b", "c", "file", "x"),
                 os.O_RDONLY)
    expect_errno(errno.EISDIR, os.open, os.path.join(d, "a"), os.O_WRONLY)
    os.rmdir(os.path.join(d, "a", "b2"))
    check_eq(os.stat(os.path.join(d, "a")).st_nlink, 3, "nlink after rmdir of a subdir")
    check_eq(os.listdir(os.path.join(d, "a")), ["b"], "listdir after rmdir")

    # Enough entries to need many readdir replies.
    big = os.path.join(d, "many")
    os.mkdir(big)
    names = {f"entry-{i:05d}-{'x' * (i % 60)}" for i in range(1500)}
    for name in names:
        os.close(os.open(os.path.join(big, name), os.O_CREAT | os.O_WRONLY, 0o644))
    listed = os.listdir(big)
    check_eq(len(listed), len(set(listed)), "readdir returned duplicates")
    check_eq(set(listed), names, "readdir of 1500 entries")
    for name in sorted(names)[::2]:
        os.unlink(os.path.join(big, name))
    check_eq(set(os.listdir(big)), set(sorted(names)[1::2]), "readdir after deleting half")


def symlinks(m):
    d = os.path.join(m, "symlinks")
    os.mkdir(d)
    write_file(os.path.join(d, "target"), b"through the link")
    os.symlink("target", os.path.join(d, "rel"))
    os.symlink(os.path.join(d, "target"), os.path.join(d, "abs"))
    os.symlink("does/not/exist", os.path.join(d, "dangling"))
    os.symlink(".", os.path.join(d, "dot"))
    long_target = "/".join(["l" * 200] * 20)[:4095]
    os.symlink(long_target, os.path.join(d, "long"))
    os.symlink("ünïcødé ✓ target", os.path.join(d, "unicode"))
    for name, target in [("rel", "target"), ("abs", os.path.join(d, "target")),
                         ("dangling", "does/not/exist"), ("long", long_target),
                         ("unicode", "ünïcødé ✓ target")]:
        p = os.path.join(d, name)
        check_eq(os.readlink(p), target, f"readlink {name}")
        st = os.lstat(p)
        if not stat.S_ISLNK(st.st_mode):
            raise AssertionError(f"{name} is not a symlink: mode {oct(st.st_mode)}")
        check_eq(st.st_size, len(os.fsencode(target)), f"lstat size of symlink {name}")
    check_content(os.path.join(d, "rel"), b"through the link", "read through relative link")
    check_content(os.path.join(d, "abs"), b"through the link", "read through absolute link")
    expect_errno(errno.ENOENT, os.stat, os.path.join(d, "dangling"))
    check_eq("target" in os.listdir(os.path.join(d, "dot")), True, "listdir through link to .")
    expect_errno(errno.EEXIST, os.symlink, "x", os.path.join(d, "rel"))
    os.chown(os.path.join(d, "rel"), 4321, 8765, follow_symlinks=False)
    st = os.lstat(os.path.join(d, "rel"))
    check_eq((st.st_uid, st.st_gid), (4321, 8765), "lchown of a symlink")
    check_eq(os.stat(os.path.join(d, "target")).st_uid, 0, "lchown must not follow the link")


def hard_links(m):
    d = os.path.join(m, "hardlinks")
    os.makedirs(os.path.join(d, "sub"))
    a, b, c = (os.path.join(d, "a"), os.path.join(d, "b"), os.path.join(d, "sub", "c"))
    write_file(a, b"original")
    os.link(a, b)
    os.link(a, c)
    sa, sb, sc = os.stat(a), os.stat(b), os.stat(c)
    check_eq(sa.st_ino, sb.st_ino, "hard links share the inode")
    check_eq(sa.st_ino, sc.st_ino, "hard links share the inode (other dir)")
    check_eq(sa.st_nlink, 3, "nlink with three names")
    with open(b, "r+b") as f:
        f.write(b"modified")
    check_content(c, b"modified", "write through one name, read through another")
    os.unlink(a)
    check_eq(os.stat(b).st_nlink, 2, "nlink after unlink of one name")
    check_content(b, b"modified", "content after unlink of one name")
    expect_errno(errno.EEXIST, os.link, b, c)
    expect_errno(errno.EPERM, os.link, os.path.join(d, "sub"), os.path.join(d, "dirlink"))
    expect_errno(errno.ENOENT, os.link, os.path.join(d, "missing"), os.path.join(d, "x"))
    # A link count that survives remounts: keep two names.
    os.link(b, os.path.join(d, "again"))
    check_eq(os.stat(c).st_nlink, 3, "nlink after re-linking")


def special_files(m):
    d = os.path.join(m, "special")
    os.mkdir(d)
    chr_path, blk_path = os.path.join(d, "null"), os.path.join(d, "sda1")
    # The kernel applies the process umask to mknod modes (as on any
    # filesystem); clear it so the exact modes must be stored.
    old_umask = os.umask(0)
    try:
        os.mknod(chr_path, stat.S_IFCHR | 0o620, os.makedev(1, 3))
        os.mknod(blk_path, stat.S_IFBLK | 0o660, os.makedev(8, 1))
    finally:
        os.umask(old_umask)
    st = os.lstat(chr_path)
    check_eq((stat.S_ISCHR(st.st_mode), stat.S_IMODE(st.st_mode), st.st_rdev),
             (True, 0o620, os.makedev(1, 3)), "char device node")
    st = os.lstat(blk_path)
    check_eq((stat.S_ISBLK(st.st_mode), stat.S_IMODE(st.st_mode), st.st_rdev),
             (True, 0o660, os.makedev(8, 1)), "block device node")
    big_dev = os.makedev(259, 123456)
    os.mknod(os.path.join(d, "bigdev"), stat.S_IFCHR | 0o600, big_dev)
    check_eq(os.lstat(os.path.join(d, "bigdev")).st_rdev, big_dev, "large device numbers")

    fifo = os.path.join(d, "fifo")
    os.mkfifo(fifo, 0o640)
    st = os.lstat(fifo)
    check_eq((stat.S_ISFIFO(st.st_mode), stat.S_IMODE(st.st_mode)), (True, 0o640), "fifo")
    fd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    try:
        os.write(fd, b"through the fifo")
        check_eq(os.read(fd, 100), b"through the fifo", "data through a fifo on the mount")
    finally:
        os.close(fd)

    sock_path = os.path.join(d, "sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        server.bind(sock_path)
        server.listen(1)
        if not stat.S_ISSOCK(os.lstat(sock_path).st_mode):
            raise AssertionError("bound unix socket is not a socket node")
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.connect(sock_path)
        conn, _ = server.accept()
        client.sendall(b"ping")
        check_eq(conn.recv(4), b"ping", "unix socket on the mount carries data")
        conn.close()
        client.close()
    finally:
        server.close()
    expect_errno(errno.EEXIST, os.mkfifo, fifo)


def chmod_chown(m):
    d = os.path.join(m, "perms")
    os.mkdir(d)
    f = os.path.join(d, "file")
    write_file(f, b"data")
    for mode in (0o640, 0o000, 0o777, 0o4755, 0o2755, 0o1644, 0o7777, 0o600):
        os.chmod(f, mode)
        check_eq(stat.S_IMODE(os.stat(f).st_mode), mode, f"chmod {oct(mode)}")
    os.chown(f, 1234, 5678)
    st = os.stat(f)
    check_eq((st.st_uid, st.st_gid), (1234, 5678), "chown")
    os.chown(f, -1, 42)
    st = os.stat(f)
    check_eq((st.st_uid, st.st_gid), (1234, 42), "chown of the group only")
    os.chmod(f, 0o6755)
    os.chown(f, 1000, 1000)
    check_eq(stat.S_IMODE(os.stat(f).st_mode), 0o755, "chown of a regular file clears setuid "
             "and setgid (Linux VFS semantics)")
    fd = os.open(f, os.O_RDONLY)
    try:
        os.fchmod(fd, 0o604)
        os.fchown(fd, 77, 88)
        st = os.fstat(fd)
        check_eq((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o604, 77, 88),
                 "fchmod/fchown")
    finally:
        os.close(fd)
    sub = os.path.join(d, "sticky")
    os.mkdir(sub)
    os.chmod(sub, 0o1777)
    os.chown(sub, 3, 4)
    st = os.stat(sub)
    check_eq((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid), (0o1777, 3, 4),
             "chmod/chown of a directory")

    # Files created in a setgid directory take its group; subdirectories
    # inherit the setgid bit (as every Linux filesystem does).
    sgid = os.path.join(d, "setgid")
    os.mkdir(sgid)
    os.chown(sgid, 0, 4242)
    os.chmod(sgid, 0o2775)
    write_file(os.path.join(sgid, "f"), b"")
    os.mkdir(os.path.join(sgid, "sub"))
    os.symlink("f", os.path.join(sgid, "link"))
    os.mkfifo(os.path.join(sgid, "fifo"))
    os.mknod(os.path.join(sgid, "dev"), stat.S_IFCHR | 0o600, os.makedev(1, 3))
    for name in ("f", "link", "fifo", "dev"):
        check_eq(os.lstat(os.path.join(sgid, name)).st_gid, 4242,
                 f"group of {name!r} created in a setgid dir")
    st = os.stat(os.path.join(sgid, "sub"))
    check_eq((st.st_gid, bool(st.st_mode & stat.S_ISGID)), (4242, True),
             "group and setgid bit of a subdirectory of a setgid dir")


def timestamps(m):
    d = os.path.join(m, "times")
    os.mkdir(d)
    f = os.path.join(d, "file")
    write_file(f, b"times")
    for atime, mtime in [(1_000_000_001_123_456_789, 1_234_567_890_987_654_321),
                         (1, 999_999_999), (0, 0),
                         (-123_456_789_012_345_678, -1_000_000_001),
                         (4_102_444_800_000_000_001, 2_000_000_000_000_000_007)]:
        os.utime(f, ns=(atime, mtime))
        st = os.stat(f)
        check_eq((st.st_atime_ns, st.st_mtime_ns), (atime, mtime), "utime ns= on a file")
    os.utime(d, ns=(1_500_000_000_111_111_111, 1_600_000_000_222_222_222))
    st = os.stat(d)
    check_eq((st.st_atime_ns, st.st_mtime_ns), (1_500_000_000_111_111_111,
                                                1_600_000_000_222_222_222), "utime on a dir")
    link = os.path.join(d, "link")
    os.symlink("file", link)
    os.utime(link, ns=(1_400_000_000_000_000_003, 1_300_000_000_000_000_009),
             follow_symlinks=False)
    st = os.lstat(link)
    check_eq((st.st_atime_ns, st.st_mtime_ns),
             (1_400_000_000_000_000_003, 1_300_000_000_000_000_009), "utime of a symlink itself")
    check_eq(os.stat(f).st_mtime_ns, 2_000_000_000_000_000_007, "lutimes must not follow")

    # Writes move mtime and ctime to "now"; chmod moves ctime; utime(None) = now.
    g = os.path.join(d, "now")
    write_file(g, b"x")
    os.utime(g, ns=(10**9, 10**9))
    ctime_before = os.stat(g).st_ctime_ns
    before = time.time_ns()
    with open(g, "ab") as fh:
        fh.write(b"more")
    st = os.stat(g)
    if not before - 2 * 10**9 <= st.st_mtime_ns <= time.time_ns() + 2 * 10**9:
        raise AssertionError(f"mtime after write is {st.st_mtime_ns}, not about now ({before})")
    if st.st_ctime_ns < ctime_before:
        raise AssertionError("ctime went backwards after a write")
    os.utime(g, ns=(10**9, 10**9))
    os.chmod(g, 0o600)
    if os.stat(g).st_ctime_ns < before - 2 * 10**9:
        raise AssertionError("chmod did not update ctime")
    os.utime(g)
    st = os.stat(g)
    if abs(st.st_mtime_ns - time.time_ns()) > 10 * 10**9:
        raise AssertionError(f"utime(None) set mtime {st.st_mtime_ns}, not now")
    # Directory mtime changes when an entry is added.
    os.utime(d, ns=(10**9, 10**9))
    write_file(os.path.join(d, "new"), b"")
    if os.stat(d).st_mtime_ns == 10**9:
        raise AssertionError("creating an entry did not update the directory's mtime")
    os.utime(d, ns=(1_600_000_000_123_456_789, 1_600_000_000_987_654_321))


def xattrs(m):
    d = os.path.join(m, "xattrs")
    os.mkdir(d)
    f = os.path.join(d, "file")
    write_file(f, b"has xattrs")
    os.setxattr(f, "user.plain", b"value")
    check_eq(os.getxattr(f, "user.plain"), b"value", "getxattr")
    expect_errno(errno.EEXIST, os.setxattr, f, "user.plain", b"other", os.XATTR_CREATE)
    check_eq(os.getxattr(f, "user.plain"), b"value", "value after a refused XATTR_CREATE")
    expect_errno(errno.ENODATA, os.setxattr, f, "user.missing", b"v", os.XATTR_REPLACE)
    os.setxattr(f, "user.plain", b"replaced", os.XATTR_REPLACE)
    check_eq(os.getxattr(f, "user.plain"), b"replaced", "XATTR_REPLACE")
    os.setxattr(f, "user.created", b"c", os.XATTR_CREATE)
    binary = bytes(range(256)) + b"\x00\x00end"
    os.setxattr(f, "user.binary", binary)
    os.setxattr(f, "user.empty", b"")
    big = randbytes(3900)
    os.setxattr(f, "user.big", big)
    os.setxattr(f, "trusted.root-only", b"trusted value")
    check_eq(os.getxattr(f, "user.binary"), binary, "binary xattr value")
    check_eq(os.getxattr(f, "user.empty"), b"", "empty xattr value")
    check_eq(os.getxattr(f, "user.big"), big, "3900-byte xattr value")
    check_eq(os.getxattr(f, "trusted.root-only"), b"trusted value", "trusted.* xattr")
    check_eq(sorted(os.listxattr(f)), sorted(["user.plain", "user.created", "user.binary",
                                              "user.empty", "user.big", "trusted.root-only"]),
             "listxattr")
    os.removexattr(f, "user.created")
    expect_errno(errno.ENODATA, os.getxattr, f, "user.created")
    expect_errno(errno.ENODATA, os.removexattr, f, "user.created")
    expect_errno(errno.ENODATA, os.getxattr, f, "user.never")
    check_eq("user.created" in os.listxattr(f), False, "listxattr after removexattr")

    many = os.path.join(d, "many")
    write_file(many, b"")
    names = {f"user.attr{i:03d}": f"value {i}".encode() for i in range(100)}
    for name, value in names.items():
        os.setxattr(many, name, value)
    check_eq(sorted(os.listxattr(many)), sorted(names), "listxattr of 100 xattrs")
    for name, value in names.items():
        check_eq(os.getxattr(many, name), value, f"getxattr {name}")

    sub = os.path.join(d, "dir")
    os.mkdir(sub)
    os.setxattr(sub, "user.on-a-dir", b"dir value")
    check_eq(os.getxattr(sub, "user.on-a-dir"), b"dir value", "xattr on a directory")
    link = os.path.join(d, "link")
    os.symlink("file", link)
    expect_errno(errno.EPERM, os.setxattr, link, "user.x", b"v", follow_symlinks=False)
    os.setxattr(link, "trusted.on-link", b"lv", follow_symlinks=False)
    check_eq(os.getxattr(link, "trusted.on-link", follow_symlinks=False), b"lv",
             "trusted xattr on a symlink")


def renames(m):
    d = os.path.join(m, "rename")
    os.mkdir(d)

    def p(*names):
        return os.path.join(d, *names)

    write_file(p("a"), b"A")
    write_file(p("b"), b"B")
    ino_a = os.stat(p("a")).st_ino
    os.rename(p("a"), p("b"))
    check_eq(os.path.exists(p("a")), False, "source gone after rename")
    check_content(p("b"), b"A", "rename over an existing file")
    check_eq((os.stat(p("b")).st_ino, os.stat(p("b")).st_nlink), (ino_a, 1),
             "renamed inode and link count")

    # Rename over a file that is still open: the old inode stays readable.
    write_file(p("victim"), b"old contents")
    fd = os.open(p("victim"), os.O_RDONLY)
    try:
        write_file(p("new"), b"new contents")
        os.rename(p("new"), p("victim"))
        check_eq(os.pread(fd, 100, 0), b"old contents", "open file replaced by rename")
        check_eq(os.fstat(fd).st_nlink, 0, "nlink of the replaced open file")
    finally:
        os.close(fd)
    check_content(p("victim"), b"new contents", "the new file after rename over")

    # Directories.
    os.makedirs(p("d1", "inner"))
    write_file(p("d1", "inner", "f"), b"deep")
    os.mkdir(p("d2"))
    os.mkdir(p("empty"))
    os.rename(p("d1"), p("d1-renamed"))
    check_content(p("d1-renamed", "inner", "f"), b"deep", "file under a renamed dir")
    nlink_d = os.stat(d).st_nlink
    os.rename(p("d1-renamed", "inner"), p("d2", "inner"))
    check_eq(os.stat(p("d1-renamed")).st_nlink, 2, "old parent nlink after moving a subdir")
    check_eq(os.stat(p("d2")).st_nlink, 3, "new parent nlink after moving a subdir")
    check_eq(os.stat(d).st_nlink, nlink_d, "grandparent nlink unchanged")
    os.rename(p("d1-renamed"), p("empty"))
    check_eq(os.path.isdir(p("empty")) and not os.path.exists(p("d1-renamed")), True,
             "rename of a dir over an empty dir")
    expect_errno((errno.ENOTEMPTY, errno.EEXIST), os.rename, p("empty"), p("d2"))
    expect_errno(errno.EISDIR, os.rename, p("b"), p("d2"))
    expect_errno(errno.ENOTDIR, os.rename, p("d2"), p("b"))
    expect_errno(errno.EINVAL, os.rename, p("d2"), p("d2", "inner", "self"))
    expect_errno(errno.ENOENT, os.rename, p("missing"), p("x"))

    # Rename between two names of the same inode does nothing.
    os.link(p("b"), p("b-twin"))
    os.rename(p("b"), p("b-twin"))
    check_eq(os.path.exists(p("b")) and os.path.exists(p("b-twin")), True,
             "rename onto a hard link of itself keeps both names")
    os.unlink(p("b-twin"))

    # renameat2 flags.
    write_file(p("x"), b"X")
    write_file(p("y"), b"Y")
    expect_errno(errno.EEXIST, renameat2, p("x"), p("y"), RENAME_NOREPLACE)
    check_content(p("x"), b"X", "source after refused RENAME_NOREPLACE")
    check_content(p("y"), b"Y", "target after refused RENAME_NOREPLACE")
    renameat2(p("x"), p("z"), RENAME_NOREPLACE)
    check_content(p("z"), b"X", "RENAME_NOREPLACE to a free name")
    ino_z, ino_y = os.stat(p("z")).st_ino, os.stat(p("y")).st_ino
    renameat2(p("z"), p("y"), RENAME_EXCHANGE)
    check_content(p("y"), b"X", "RENAME_EXCHANGE: first name")
    check_content(p("z"), b"Y", "RENAME_EXCHANGE: second name")
    check_eq((os.stat(p("y")).st_ino, os.stat(p("z")).st_ino), (ino_z, ino_y),
             "RENAME_EXCHANGE swaps the inodes")
    renameat2(p("z"), p("d2"), RENAME_EXCHANGE)
    check_eq((os.path.isdir(p("z")), os.path.isfile(p("d2"))), (True, True),
             "RENAME_EXCHANGE of a file and a directory")
    check_content(p("z", "inner", "f"), b"deep", "contents of the exchanged directory")
    check_content(p("d2"), b"Y", "contents of the exchanged file")
    expect_errno(errno.ENOENT, renameat2, p("y"), p("nothing"), RENAME_EXCHANGE)
    expect_errno(errno.EINVAL, renameat2, p("y"), p("z"), RENAME_EXCHANGE | RENAME_NOREPLACE)


def truncation(m):
    d = os.path.join(m, "truncate")
    os.mkdir(d)
    f = os.path.join(d, "file")
    data = randbytes(3 * MiB + 333)
    write_file(f, data)
    os.truncate(f, 50000)
    check_content(f, data[:50000], "truncate down")
    os.truncate(f, 5 * MiB + 1)
    check_content(f, data[:50000] + bytes(5 * MiB + 1 - 50000), "truncate up reads zeros")
    # Shrink then grow: the old bytes must not come back.
    write_file(f, data)
    for size in (MiB + 1, MiB - 1, 10, 0):
        os.truncate(f, size)
        os.truncate(f, 2 * MiB)
        check_content(f, data[:size] + bytes(2 * MiB - size),
                      f"truncate to {size} then to 2 MiB")
        write_file(f, data)
    fd = os.open(f, os.O_RDWR)
    try:
        os.ftruncate(fd, 4097)
        check_eq(os.fstat(fd).st_size, 4097, "ftruncate size")
        check_eq(pread_all(fd, 10000, 0), data[:4097], "read after ftruncate")
        os.pwrite(fd, b"end", 8000)
        check_eq(pread_all(fd, 10000, 0), data[:4097] + bytes(8000 - 4097) + b"end",
                 "write past EOF after ftruncate")
    finally:
        os.close(fd)
    fd = os.open(f, os.O_WRONLY | os.O_TRUNC)
    os.close(fd)
    check_eq(os.stat(f).st_size, 0, "O_TRUNC")


def fallocation(m):
    d = os.path.join(m, "fallocate")
    os.mkdir(d)
    f = os.path.join(d, "file")
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.posix_fallocate(fd, 0, 5 * MiB)
        check_eq(os.fstat(fd).st_size, 5 * MiB, "size after posix_fallocate")
        check_eq(pread_all(fd, 5 * MiB, 0), bytes(5 * MiB), "posix_fallocate'd range is zeros")
        os.pwrite(fd, b"data", 100)
        os.posix_fallocate(fd, 0, 6 * MiB)
        check_eq(os.fstat(fd).st_size, 6 * MiB, "size after growing posix_fallocate")
        check_eq(pread_all(fd, 8, 98), b"\0\0data\0\0", "posix_fallocate keeps existing data")
        fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 16 * MiB)
        check_eq(os.fstat(fd).st_size, 6 * MiB, "fallocate KEEP_SIZE keeps the size")
        try:
            fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, MiB)
            check_eq(pread_all(fd, 200, 0), bytes(200), "punched hole reads zeros")
        except OSError as e:
            if e.errno != errno.EOPNOTSUPP:
                raise
            check_eq(pread_all(fd, 8, 98), b"\0\0data\0\0", "refused punch leaves data alone")
    finally:
        os.close(fd)


def statfs(m):
    st = os.statvfs(m)
    if not (st.f_bsize > 0 and st.f_frsize > 0 and st.f_blocks > 0):
        raise AssertionError(f"statvfs sizes not positive: {st}")
    if not st.f_bavail <= st.f_bfree <= st.f_blocks:
        raise AssertionError(f"statvfs free counts inconsistent: {st}")
    if st.f_files and st.f_ffree > st.f_files:
        raise AssertionError(f"statvfs inode counts inconsistent: {st}")
    if st.f_namemax < 255:
        raise AssertionError(f"f_namemax {st.f_namemax} < 255")
    long_name = os.path.join(m, "n" * 255)
    write_file(long_name, b"255-byte name")
    check_content(long_name, b"255-byte name", "file with a 255-byte name")
    os.unlink(long_name)
    expect_errno(errno.ENAMETOOLONG, os.open, os.path.join(m, "n" * 256),
                 os.O_CREAT | os.O_WRONLY)


def open_unlinked(h):
    m = h.mnt
    d = os.path.join(m, "unlinked")
    os.mkdir(d)
    # Earlier checks' dirty blocks would raise data_bytes while we wait below.
    subprocess.run([CLI, "ctrl", "flushcache", "--quiet", m], check=True, timeout=600)
    base = h.stat_json()
    f = os.path.join(d, "file")
    data = bytearray(randbytes(3 * MiB))
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, data)
        os.unlink(f)
        check_eq(os.path.exists(f), False, "unlinked name is gone")
        check_eq(os.listdir(d), [], "listdir after unlink")
        check_eq(os.fstat(fd).st_nlink, 0, "fstat nlink of an open unlinked file")
        more = randbytes(MiB)
        os.pwrite(fd, more, len(data))
        data += more
        check_eq(pread_all(fd, len(data) + 10, 0), bytes(data), "read back an unlinked file")
        os.fsync(fd)
        os.ftruncate(fd, MiB)
        check_eq(pread_all(fd, 2 * MiB, 0), bytes(data[:MiB]), "ftruncate an unlinked file")
    finally:
        os.close(fd)
    # The kernel sends RELEASE asynchronously; wait for the space to be freed.
    def freed():
        now = h.stat_json()
        return now["inodes"] <= base["inodes"] and now["data_bytes"] <= base["data_bytes"]
    wait_until(freed, 30, "inode and data of the closed unlinked file to be freed "
                          f"(before: {base})")


def fsyncs(m):
    d = os.path.join(m, "fsync")
    os.mkdir(d)
    f = os.path.join(d, "file")
    fd = os.open(f, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        os.write(fd, randbytes(2 * MiB))
        os.fsync(fd)
        os.pwrite(fd, b"more", 5)
        os.fdatasync(fd)
    finally:
        os.close(fd)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)
    os.sync()


def resident_pages(addr, length):
    """Pages of a mapping that are in the page cache (mincore(2)). Unlike
    fincore, asks the kernel nothing that could refresh the file's
    attributes."""
    pages = (length + mmap.PAGESIZE - 1) // mmap.PAGESIZE
    vec = (ctypes.c_ubyte * pages)()
    if libc.mincore(ctypes.c_void_p(addr), ctypes.c_size_t(length), vec) != 0:
        e = ctypes.get_errno()
        raise OSError(e, os.strerror(e), "mincore")
    return sum(v & 1 for v in vec)


def kernel_drops_pages_on_direct_write():
    """Linux 6.6 (FUSE 7.39) and later: what hoardfs needs to send writes
    of write-only handles past the page cache by default."""
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return (major, minor) >= (6, 6)


def write_only_handles(m, direct=None):
    """Write-only handles skip the page cache (direct writes) when the kernel
    drops the cached pages such a write overwrites; whichever way, a reader's
    read() and mmap see every write at once."""
    if direct is None:
        direct = kernel_drops_pages_on_direct_write()
    d = os.path.join(m, "write-only" if direct else "write-only-cached")
    os.mkdir(d)
    # A mapping made before the write: its pages are resident afterwards
    # only if the write went through the page cache.
    f = os.path.join(d, "fresh")
    write_file(f, bytes(MiB))
    data = randbytes(MiB)
    rfd = os.open(f, os.O_RDONLY)
    try:
        os.posix_fadvise(rfd, 0, 0, os.POSIX_FADV_DONTNEED)
        addr = libc.mmap(None, MiB, mmap.PROT_READ, mmap.MAP_SHARED, rfd, 0)
        if addr == ctypes.c_void_p(-1).value:
            raise OSError(ctypes.get_errno(), "mmap failed")
        try:
            check_eq(resident_pages(addr, MiB), 0, "resident pages after POSIX_FADV_DONTNEED")
            write_file(f, data)  # O_WRONLY
            expected = 0 if direct else MiB // mmap.PAGESIZE
            check_eq(resident_pages(addr, MiB), expected, "resident pages after a write-only "
                     + ("direct" if direct else "cached") + " write")
            check_eq(ctypes.string_at(addr, MiB) == data, True, "mapping after the write")
        finally:
            libc.munmap(ctypes.c_void_p(addr), MiB)
    finally:
        os.close(rfd)
    check_content(f, data, "file written write-only")

    g = os.path.join(d, "shared")
    old = randbytes(64 * 1024)
    with open(g, "wb+") as w:  # O_RDWR: through the page cache
        w.write(old)
    rfd = os.open(g, os.O_RDONLY)
    try:
        check_eq(pread_all(rfd, len(old), 0), old, "first read")
        with mmap.mmap(rfd, len(old), prot=mmap.PROT_READ) as mapped:
            check_eq(mapped[:], old, "mapped before the write")
            patch = b"X" * 100
            wfd = os.open(g, os.O_WRONLY)
            try:
                check_eq(os.pwrite(wfd, patch, 4090), len(patch), "pwrite")
            finally:
                os.close(wfd)
            new = old[:4090] + patch + old[4190:]
            check_eq(pread_all(rfd, len(old), 0) == new, True, "read() after a write-only write")
            check_eq(mapped[:] == new, True, "mmap after a write-only write")
        wfd = os.open(g, os.O_WRONLY | os.O_APPEND)
        try:
            os.write(wfd, b"tail")
        finally:
            os.close(wfd)
        check_eq(pread_all(rfd, len(old) + 8, 0) == new + b"tail", True, "read() after an append")
    finally:
        os.close(rfd)


def pages_survive_own_writes(m):
    """A write through a read-write handle leaves the file's other cached
    pages in place: all changes go through the mount, so the kernel need not
    compare the mtime at the next read (FUSE auto_inval_data), which dropped
    every page of the file after each write."""
    f = os.path.join(m, "kept-pages")
    data = randbytes(MiB)
    write_file(f, data)
    fd = os.open(f, os.O_RDWR)
    try:
        check_eq(pread_all(fd, MiB, 0), data, "first read")
        addr = libc.mmap(None, MiB, mmap.PROT_READ, mmap.MAP_SHARED, fd, 0)
        if addr == ctypes.c_void_p(-1).value:
            raise OSError(ctypes.get_errno(), "mmap failed")
        try:
            pages = MiB // mmap.PAGESIZE
            check_eq(resident_pages(addr, MiB), pages, "resident pages after reading the file")
            patch = randbytes(4096)
            check_eq(os.pwrite(fd, patch, 0), len(patch), "pwrite")
            check_eq(pread_all(fd, 4096, MiB // 2), data[MiB // 2:MiB // 2 + 4096], "read after the write")
            check_eq(resident_pages(addr, MiB), pages, "resident pages after a write and a read")
            check_eq(ctypes.string_at(addr, 4096) == patch, True, "mapping after the write")
        finally:
            libc.munmap(ctypes.c_void_p(addr), MiB)
    finally:
        os.close(fd)
    check_content(f, patch + data[4096:], "file after the write")


def readahead_raised(m):
    """The kernel reads 1 MiB ahead of a sequential reader on the mount: the
    daemon raises its backing device's setting (128 KiB by default, which
    the INIT reply cannot raise) before mount.hoardfs returns."""
    dev = os.stat(m).st_dev
    path = f"/sys/class/bdi/{os.major(dev)}:{os.minor(dev)}/read_ahead_kb"
    with open(path) as f:
        check_eq(int(f.read()), 1024, path)


def locks(m):
    d = os.path.join(m, "locks")
    os.mkdir(d)
    f = os.path.join(d, "file")
    write_file(f, bytes(100))
    fd1, fd2 = os.open(f, os.O_RDWR), os.open(f, os.O_RDWR)
    try:
        fcntl.flock(fd1, fcntl.LOCK_EX)
        expect_errno(errno.EWOULDBLOCK, fcntl.flock, fd2, fcntl.LOCK_EX | fcntl.LOCK_NB)
        expect_errno(errno.EWOULDBLOCK, fcntl.flock, fd2, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd1, fcntl.LOCK_UN)
        fcntl.flock(fd2, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd1, fcntl.LOCK_SH | fcntl.LOCK_NB)
        fcntl.flock(fd1, fcntl.LOCK_UN)
        fcntl.flock(fd2, fcntl.LOCK_UN)

        # POSIX record locks conflict between processes.
        fcntl.lockf(fd1, fcntl.LOCK_EX, 10, 0)
        r, w = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(r)
            result = "ok"
            try:
                cfd = os.open(f, os.O_RDWR)
                try:
                    fcntl.lockf(cfd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 0)
                    result = "conflicting lockf on bytes 0-9 succeeded in another process"
                except OSError as e:
                    if e.errno not in (errno.EAGAIN, errno.EACCES):
                        result = f"conflicting lockf failed with {e}"
                fcntl.lockf(cfd, fcntl.LOCK_EX | fcntl.LOCK_NB, 10, 20)
            except BaseException as e:  # noqa: BLE001 - report anything to the parent
                result = f"child error: {e!r}"
            os.write(w, result.encode())
            os._exit(0)
        os.close(w)
        result = os.read(r, 4096).decode()
        os.close(r)
        os.waitpid(pid, 0)
        check_eq(result, "ok", "POSIX locks between processes")
        fcntl.lockf(fd1, fcntl.LOCK_UN, 10, 0)
    finally:
        os.close(fd1)
        os.close(fd2)


def permissions(m):
    d = os.path.join(m, "access")
    os.mkdir(d, 0o755)
    write_file(os.path.join(d, "readable"), b"anyone may read", 0o644)
    write_file(os.path.join(d, "secret"), b"root only", 0o600)
    os.mkdir(os.path.join(d, "private"), 0o700)
    os.mkdir(os.path.join(d, "open"))
    os.chmod(os.path.join(d, "open"), 0o777)
    os.mkdir(os.path.join(d, "sticky"))
    os.chmod(os.path.join(d, "sticky"), 0o1777)
    write_file(os.path.join(d, "sticky", "roots"), b"", 0o666)
    write_file(os.path.join(d, "mine"), b"", 0o600)
    os.chown(os.path.join(d, "mine"), 65534, 65534)

    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        problems = []

        def expect(desc, err, fn, *args, **kwargs):
            try:
                fn(*args, **kwargs)
                if err:
                    problems.append(f"{desc}: succeeded, expected {errno.errorcode[err]}")
            except OSError as e:
                if e.errno != err:
                    problems.append(f"{desc}: {e} (expected "
                                    f"{errno.errorcode[err] if err else 'success'})")

        def read(path):
            with open(path, "rb") as fh:
                if fh.read() != b"anyone may read":
                    raise OSError(errno.EIO, "wrong content")

        def create(path):
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))

        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            p = lambda *n: os.path.join(d, *n)  # noqa: E731
            expect("read a 0644 root file", 0, read, p("readable"))
            expect("open a 0644 root file for writing", errno.EACCES, os.open, p("readable"),
                   os.O_WRONLY)
            expect("read a 0600 root file", errno.EACCES, os.open, p("secret"), os.O_RDONLY)
            expect("create in a 0755 root dir", errno.EACCES, create, p("new"))
            expect("list a 0700 root dir", errno.EACCES, os.listdir, p("private"))
            expect("unlink in a 0755 root dir", errno.EACCES, os.unlink, p("readable"))
            expect("chmod a root file", errno.EPERM, os.chmod, p("readable"), 0o666)
            expect("chown a root file", errno.EPERM, os.chown, p("readable"), 65534, 65534)
            expect("set times of a root file", errno.EPERM, os.utime, p("readable"),
                   ns=(1, 1))
            expect("touch a non-writable root file", errno.EACCES, os.utime, p("readable"))
            expect("setxattr on a root 0644 file", errno.EACCES, os.setxattr, p("readable"),
                   "user.x", b"v")
            expect("create in a 0777 dir", 0, create, p("open", "users-file"))
            expect("delete root's file in a sticky dir", errno.EPERM, os.unlink,
                   p("sticky", "roots"))
            expect("write own 0600 file", 0, lambda: open(p("mine"), "wb").write(b"mine"))
            expect("chmod own file", 0, os.chmod, p("mine"), 0o640)
            expect("give own file away", errno.EPERM, os.chown, p("mine"), 0, 0)
        except BaseException as e:  # noqa: BLE001 - report anything to the parent
            problems.append(f"child error: {e!r}")
        os.write(w, json.dumps(problems).encode())
        os._exit(0)
    os.close(w)
    chunks = []
    while True:
        chunk = os.read(r, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    os.close(r)
    os.waitpid(pid, 0)
    problems = json.loads(b"".join(chunks).decode())
    if problems:
        raise AssertionError("as uid 65534:\n      " + "\n      ".join(problems))
    st = os.stat(os.path.join(d, "open", "users-file"))
    check_eq((st.st_uid, st.st_gid), (65534, 65534), "owner of a file created by uid 65534")
    check_content(os.path.join(d, "mine"), b"mine", "file written by uid 65534")


def cached_write_only_handles(h):
    """-o nodirect_writes keeps write-only handles in the page cache."""
    h.umount()
    h.mount("--allow-other", "-o", "nodirect_writes")
    write_only_handles(h.mnt, direct=False)


def root_only(h):
    """A root mount without --allow-other goes without default_permissions:
    the daemon then clears setuid itself (FUSE_HANDLE_KILLPRIV) and answers
    access(2). Same results as ext4, checked on the bits the kernel's own
    clearing would get wrong (it would drop the sticky bit)."""
    h.umount()
    h.mount_args = []
    h.mount()
    options = next(line.split()[3] for line in open("/proc/self/mounts")
                   if line.split()[1] == h.mnt)
    if "default_permissions" in options.split(","):
        raise AssertionError(f"a root-only mount has default_permissions: {options}")
    d = os.path.join(h.mnt, "root-only")
    os.mkdir(d)
    f = os.path.join(d, "file")
    write_file(f, b"data")
    # (mode, change) -> mode after it, as on ext4 for root
    cases = [
        (0o7755, lambda: os.chown(f, -1, -1), 0o1755, "chown(-1, -1) of a 7755 file"),
        (0o7755, lambda: os.chown(f, 1000, -1), 0o1755, "chown of a 7755 file"),
        (0o7745, lambda: os.chown(f, -1, 1000), 0o3745, "chgrp of a 7745 file (setgid without "
         "group execute stays)"),
        (0o4755, lambda: os.truncate(f, 0), 0o4755, "truncation by root"),
        (0o4755, lambda: open(f, "ab").write(b"more"), 0o4755, "a write by root"),
        (0o6755, lambda: os.utime(f, ns=(1, 1)), 0o6755, "utime"),
    ]
    for mode, change, expected, desc in cases:
        os.chmod(f, mode)
        change()
        check_eq(oct(stat.S_IMODE(os.stat(f).st_mode)), oct(expected), desc)
    sub = os.path.join(d, "dir")
    os.mkdir(sub)
    os.chmod(sub, 0o3777)
    os.chown(sub, 5, 5)
    check_eq(oct(stat.S_IMODE(os.stat(sub).st_mode)), oct(0o3777), "chown of a directory")
    os.chmod(f, 0o644)
    check_eq((os.access(f, os.R_OK | os.W_OK), os.access(f, os.X_OK)), (True, False),
             "access() by root of a 0644 file")
    os.chmod(f, 0o744)
    check_eq(os.access(f, os.X_OK), True, "access(X_OK) by root of a 0744 file")
    os.chmod(sub, 0o600)
    check_eq(os.access(sub, os.X_OK), True, "access(X_OK) by root of a 0600 directory")


# --- persistence -------------------------------------------------------------


def persistence(h, reference, reference_stats, drop_cache):
    h.remount(drop_cache=drop_cache)
    after = snapshot(h.mnt, with_ctime=True)
    assert_same_tree(reference, after, "tree after remount" +
                     (" with the cache deleted" if drop_cache else ""))
    st = os.stat(os.path.join(h.mnt, "sparse", "hole4g"))
    if st.st_blocks * 512 > 64 * MiB:
        raise AssertionError(f"sparse file has st_blocks {st.st_blocks} after remount")
    stats = h.stat_json()
    for key in ("entries", "inodes", "data_bytes"):
        check_eq(stats[key], reference_stats[key], f"hoardfs stat {key} after remount")


def main():
    require_environment()
    checks = Checks("posix")
    with Hoard("posix") as h:
        # --allow-other: the permission checks run as uid 65534.
        if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount("--allow-other"))):
            checks.finish()
        m = h.mnt
        checks.run("readahead_raised", readahead_raised, m)
        checks.run("large_file", large_file, m)
        checks.run("sparse_4g_hole", sparse_file, m)
        checks.run("directories", directories, m)
        checks.run("symlinks", symlinks, m)
        checks.run("hard_links", hard_links, m)
        checks.run("devices_fifos_sockets", special_files, m)
        checks.run("chmod_chown", chmod_chown, m)
        checks.run("nanosecond_timestamps", timestamps, m)
        checks.run("xattrs", xattrs, m)
        checks.run("rename", renames, m)
        checks.run("truncate", truncation, m)
        checks.run("fallocate", fallocation, m)
        checks.run("statfs", statfs, m)
        checks.run("open_unlinked", open_unlinked, h)
        checks.run("fsync", fsyncs, m)
        checks.run("write_only_handles", write_only_handles, m)
        checks.run("pages_survive_own_writes", pages_survive_own_writes, m)
        checks.run("locks", locks, m)
        checks.run("permissions_non_root", permissions, m)

        reference = {}
        reference_stats = {}

        def take_reference():
            reference.update(snapshot(m, with_ctime=True))
            # data_bytes counts uploaded blocks: upload them all first so the
            # figure cannot depend on how far the write-back has got.
            subprocess.run([CLI, "ctrl", "flushcache", m], check=True, timeout=600)
            reference_stats.update(h.stat_json())
            log(f"    reference: {len(reference)} entries, stat {reference_stats}")

        if checks.run("snapshot_before_remount", take_reference):
            checks.run("intact_after_remount", persistence, h, reference, reference_stats, False)
            checks.run("intact_after_remount_without_cache", persistence, h, reference,
                       reference_stats, True)
        checks.run("write_only_handles_cached", cached_write_only_handles, h)
        checks.run("root_only_mount", root_only, h)
        checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
