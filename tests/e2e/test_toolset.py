#!/usr/bin/python3
"""The tool set around a mount: hoardfs cp, lock, rm, ctrl, adm, verify, and
mounting through mount(8) and fstab.

1. `hoardfs cp` makes a copy-on-write snapshot of a tree (several-block files,
   a hard-link pair, xattrs, symlinks, a fifo, a device): same contents, modes,
   owners, times and xattrs, fresh inodes (the pair stays one inode), no data
   copied (dedup_bytes, compressed_bytes, blocks and the stored objects stay);
   edits on either side do not show on the other; everything survives an
   unmount, a deleted cache and a mount. cp into its own subtree or onto an
   existing path fails.
2. `hoardfs lock`: every mutating call inside the tree fails with EPERM for
   root, reads work, and the lock survives a remount from an empty cache.
3. `hoardfs rm` removes a locked tree; the kernel's view is coherent at once.
   A 50,000-entry tree is copied, then removed once with `hoardfs rm` and once
   with `rm -rf` through the mount; both durations are printed.
4. `hoardfs ctrl flushcache|upload-meta|compact|cachesize|log`, and the refusal for a
   user who did not mount (without and with allow_other).
5. `hoardfs adm restore-metadata` lists versions and brings back an older one
   (seen by a mount from an empty cache).
6. `hoardfs adm passphrase`: old passphrase then new on stdin.
7. `hoardfs verify` (presence) and `verify --data`: exit 0 when clean, 20 with
   the affected file named after a flipped byte or a deleted object.
8. mount(8): `mount -t hoardfs URL MNT -o cachedir=...` through
   /sbin/mount.hoardfs, a plain umount(8) that still uploads everything before
   the daemon exits, and an fstab line (`mount -T FSTAB MNT`, passphrase from
   an authinfo file given with authfile=).
9. Progress: `hoardfs ctrl flushcache` and `umount.hoardfs` show progress on a
   terminal, none with --quiet or when stderr is a pipe.
"""

import errno
import os
import pty
import re
import select
import shutil
import stat
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (CLI, MOUNT, UMOUNT, Checks, Hoard, ToolResult,  # noqa: E402
                         assert_same_tree, check_eq, expect_errno, is_mounted, log, pid_alive,
                         require_environment, run_tool, snapshot, wait_until)

MiB = 1 << 20
NOBODY = 65534
HELPER_LINK = "/sbin/mount.hoardfs"


# --- small helpers ------------------------------------------------------------


def write_file(path, data, mode=0o644):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
    finally:
        os.close(fd)


def read_file(path):
    with open(path, "rb") as f:
        return f.read()


def cli(h, *args, stdin_text=None, timeout=300):
    return h.tool([CLI, *args], stdin_text=stdin_text, timeout=timeout)


def expect_ok(r, what):
    if r.returncode != 0:
        raise AssertionError(f"{what} failed: " + r.describe())
    return r


def expect_exit(r, code, what):
    if r.returncode != code:
        raise AssertionError(f"{what}: expected exit {code}, got: " + r.describe())
    return r


def expect_failure(r, what):
    if r.returncode == 0:
        raise AssertionError(f"{what}: expected a non-zero exit, got: " + r.describe())
    return r


def run_as_nobody(argv, env):
    """Runs argv as uid/gid 65534 without supplementary groups."""
    proc = subprocess.run(argv, user=NOBODY, group=NOBODY, extra_groups=[], env=env,
                          stdin=subprocess.DEVNULL, capture_output=True, timeout=120, cwd="/")
    return ToolResult([str(a) for a in argv], proc.returncode,
                      proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace"))


def run_on_pty(argv, env, timeout=180):
    """Runs argv with stderr on a fresh pseudo-terminal (stdout and stdin not
    a terminal); returns (exit status, everything written to the terminal)."""
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=slave, env=env, start_new_session=True)
    finally:
        os.close(slave)
    output = b""
    deadline = time.monotonic() + timeout
    try:
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                proc.kill()
                raise AssertionError(f"{' '.join(argv)} on a pty: no end after {timeout}s; "
                                     f"output so far {output[-500:]!r}")
            ready, _, _ = select.select([master], [], [], remaining)
            if not ready:
                continue
            try:
                data = os.read(master, 65536)
            except OSError as e:
                if e.errno == errno.EIO:  # every slave side is closed: the tool exited
                    break
                raise
            if not data:
                break
            output += data
        return proc.wait(timeout=60), output
    finally:
        os.close(master)


def stored_data_objects(h):
    return sorted(p for p in h.stored_files()
                  if os.path.relpath(p, h.storage).split(os.sep)[0] == "data")


def changed_keys(before, after):
    """{(path, key)} that differ between two snapshots."""
    out = set()
    for rel in set(before) | set(after):
        if rel not in before or rel not in after:
            out.add((rel, "<presence>"))
            continue
        for key in set(before[rel]) | set(after[rel]):
            if before[rel].get(key) != after[rel].get(key):
                out.add((rel, key))
    return out


def inodes_of(root):
    inos = {}
    for dirpath, dirs, files in os.walk(root):
        for name in [*dirs, *files]:
            p = os.path.join(dirpath, name)
            inos[os.path.relpath(p, root)] = os.lstat(p).st_ino
    inos["."] = os.lstat(root).st_ino
    return inos


def list_versions(h, passphrase):
    r = expect_ok(cli(h, "adm", "restore-metadata", h.url, stdin_text=passphrase + "\n"),
                  "hoardfs adm restore-metadata (list)")
    versions = [int(m.group(1)) for m in
                re.finditer(r"^\s*(\d+)\s+\d{4}-\d\d-\d\d", r.stdout, re.MULTILINE)]
    if not versions:
        raise AssertionError("hoardfs adm restore-metadata listed no version: " + r.describe())
    return versions


# --- 1. hoardfs cp ------------------------------------------------------------


def build_source_tree(src):
    """A tree with several-block files, a hard-link pair, xattrs, symlinks, a
    fifo and a device node; fixed times on everything."""
    os.makedirs(os.path.join(src, "sub", "deeper"))
    p = lambda *n: os.path.join(src, *n)  # noqa: E731
    write_file(p("big1"), os.urandom(3 * MiB + 12345))
    write_file(p("sub", "big2"), os.urandom(2 * MiB + 777), 0o640)
    write_file(p("small"), b"small text file\n" * 100, 0o644)
    # Sparse: a hole, then one block of data, then a hole to the end.
    fd = os.open(p("sub", "deeper", "sparse"), os.O_WRONLY | os.O_CREAT, 0o600)
    os.pwrite(fd, os.urandom(MiB), 2 * MiB)
    os.ftruncate(fd, 5 * MiB)
    os.close(fd)
    write_file(p("sub", "deeper", "empty"), b"")
    os.link(p("big1"), p("sub", "big1.link"))
    os.symlink("big1", p("rel-link"))
    os.symlink("/nonexistent/absolute/target", p("sub", "dangling"))
    os.symlink("../small", p("sub", "up-link"))
    os.mkfifo(p("fifo"), 0o620)
    os.mknod(p("sub", "null-dev"), stat.S_IFCHR | 0o666, os.makedev(1, 3))
    os.setxattr(p("big1"), "user.comment", b"several blocks")
    os.setxattr(p("big1"), "user.binary", bytes(range(256)) * 8)
    os.setxattr(p("sub"), "user.dir-tag", b"a directory xattr")
    os.setxattr(p("small"), "trusted.root-only", b"trusted value")
    os.chown(p("small"), 1234, 5678)
    os.lchown(p("sub", "dangling"), 4321, 8765)
    t = 1_600_000_000_123_456_789
    for i, (dirpath, dirs, files) in enumerate(sorted(os.walk(src, topdown=False))):
        for name in files:
            path = os.path.join(dirpath, name)
            os.utime(path, ns=(t, t + i * 1000 + len(name)), follow_symlinks=False)
        os.utime(dirpath, ns=(t, t + i * 1_000_003))


def tree_data_bytes(root):
    """Logical size of the regular files in a tree, each inode once."""
    seen, total = set(), 0
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            st = os.lstat(os.path.join(dirpath, name))
            if stat.S_ISREG(st.st_mode) and st.st_ino not in seen:
                seen.add(st.st_ino)
                total += st.st_size
    return total


def cp_copies_tree(h, state):
    m = h.mnt
    src, dst = os.path.join(m, "src"), os.path.join(m, "dst")
    empty = h.stat_json()
    os.mkdir(src)
    build_source_tree(src)
    expect_ok(cli(h, "ctrl", "flushcache", "--quiet", m), "hoardfs ctrl flushcache")
    before = h.stat_json()
    src_data_bytes = before["data_bytes"] - empty["data_bytes"]
    objects_before = stored_data_objects(h)
    src_snap = snapshot(src)
    src_inos = inodes_of(src)
    tree_bytes = tree_data_bytes(src)

    # The kernel now holds a negative entry for dst (kept for the entry
    # timeout) and a listing of the root (kept while the kernel changes
    # nothing in it); hoardfs cp must invalidate both, or the copy stays
    # invisible.
    expect_errno(errno.ENOENT, os.stat, dst)
    check_eq("dst" in os.listdir(m), False, "dst in the root's listing before hoardfs cp")
    started = time.monotonic()
    expect_ok(cli(h, "cp", src, dst), "hoardfs cp src dst")
    check_eq(os.path.isdir(dst), True, "the copy is visible at once after a failed lookup of its name")
    check_eq("dst" in os.listdir(m), True, "the copy in the root's listing (listed before hoardfs cp)")
    log(f"    hoardfs cp of a {tree_bytes} byte tree took {time.monotonic() - started:.2f}s")
    expect_ok(cli(h, "ctrl", "flushcache", "--quiet", m), "hoardfs ctrl flushcache")
    after = h.stat_json()
    state["src_snap0"] = src_snap

    assert_same_tree(src_snap, snapshot(dst), "the copy made by hoardfs cp vs. its source")
    assert_same_tree(src_snap, snapshot(src), "the source after hoardfs cp")
    dst_inos = inodes_of(dst)
    shared = sorted(rel for rel in dst_inos if dst_inos[rel] in set(src_inos.values()))
    if shared:
        raise AssertionError(f"the copy shares inode numbers with the source: {shared}")
    check_eq(dst_inos["sub/big1.link"], dst_inos["big1"], "inode of the copied hard-link pair")
    check_eq(os.stat(os.path.join(dst, "big1")).st_nlink, 2, "nlink of the copied pair")
    check_eq(os.stat(os.path.join(src, "big1")).st_nlink, 2, "nlink of the source pair")

    log(f"    stat before cp: {before}\n    stat after cp:  {after}")
    log(f"    the source tree: {tree_bytes} bytes of file sizes (holes included), "
        f"data_bytes grew by {src_data_bytes} when it was written")
    # data_bytes counts the bytes of the stored blocks of each file (holes not
    # included): the copy must add exactly what writing the source added.
    check_eq(after["data_bytes"] - before["data_bytes"], src_data_bytes,
             "growth of data_bytes by hoardfs cp (what the source tree added)")
    tolerance = tree_bytes // 100
    for key in ("dedup_bytes", "compressed_bytes"):
        if after[key] - before[key] > tolerance:
            raise AssertionError(f"{key} grew by {after[key] - before[key]} bytes after hoardfs cp "
                                 f"of a {tree_bytes} byte tree: data was copied (before {before}, "
                                 f"after {after})")
    check_eq(after["blocks"], before["blocks"], "stored blocks after hoardfs cp")
    check_eq(stored_data_objects(h), objects_before, "data objects in the backend after hoardfs cp")


def cp_copies_are_independent(h, state):
    m = h.mnt
    src, dst = os.path.join(m, "src"), os.path.join(m, "dst")
    s0 = state["src_snap0"]
    with open(os.path.join(src, "big1"), "ab") as f:  # the pair sub/big1.link changes too
        f.write(b"appended to the source only")
    os.truncate(os.path.join(dst, "sub", "big2"), 1000)
    os.chmod(os.path.join(src, "small"), 0o600)
    os.setxattr(os.path.join(dst, "sub"), "user.only-in-copy", b"copy side")
    os.removexattr(os.path.join(dst, "big1"), "user.comment")

    content_keys = {"sha256", "size", "mtime_ns"}
    want_src = ({("big1", k) for k in content_keys} | {("sub/big1.link", k) for k in content_keys}
                | {("small", "mode")})
    want_dst = ({("sub/big2", k) for k in content_keys} | {("sub", "xattrs"), ("big1", "xattrs"),
                                                          ("sub/big1.link", "xattrs")})
    src_snap, dst_snap = snapshot(src), snapshot(dst)
    check_eq(sorted(changed_keys(s0, src_snap)), sorted(want_src),
             "what changed in the source after edits on both sides")
    check_eq(sorted(changed_keys(s0, dst_snap)), sorted(want_dst),
             "what changed in the copy after edits on both sides")
    check_eq(read_file(os.path.join(dst, "big1"))[-27:] != b"appended to the source only", True,
             "the copy's big1 does not have the source's append")
    check_eq(os.path.getsize(os.path.join(src, "sub", "big2")), 2 * MiB + 777,
             "size of the source's big2 after truncating the copy's")
    check_eq(os.getxattr(os.path.join(src, "big1"), "user.comment"), b"several blocks",
             "source xattr after removing it in the copy")
    state["src_snap1"], state["dst_snap1"] = src_snap, dst_snap


def cp_survives_remount(h, state):
    h.remount(drop_cache=True)
    assert_same_tree(state["src_snap1"], snapshot(os.path.join(h.mnt, "src")),
                     "source tree after umount, cache deletion and mount")
    assert_same_tree(state["dst_snap1"], snapshot(os.path.join(h.mnt, "dst")),
                     "copied tree after umount, cache deletion and mount")
    ino = os.stat(os.path.join(h.mnt, "dst", "big1")).st_ino
    check_eq(os.stat(os.path.join(h.mnt, "dst", "sub", "big1.link")).st_ino, ino,
             "the copied hard-link pair after remount")
    check_eq(os.stat(os.path.join(h.mnt, "src", "big1")).st_ino != ino, True,
             "source and copy are distinct inodes after remount")


def cp_refusals(h):
    m = h.mnt
    src, dst = os.path.join(m, "src"), os.path.join(m, "dst")
    src_before, dst_before = snapshot(src), snapshot(dst)
    inside = os.path.join(src, "sub", "copy-of-src")
    expect_failure(cli(h, "cp", src, inside), "hoardfs cp of a tree into its own subtree")
    check_eq(os.path.lexists(inside), False, "destination inside the source after a refused cp")
    expect_failure(cli(h, "cp", src, src), "hoardfs cp of a tree onto itself")
    expect_failure(cli(h, "cp", src, dst), "hoardfs cp onto an existing directory")
    expect_failure(cli(h, "cp", src, os.path.join(dst, "small")),
                   "hoardfs cp onto an existing file")
    assert_same_tree(src_before, snapshot(src), "source after refused copies")
    assert_same_tree(dst_before, snapshot(dst), "existing destination after refused copies")


# --- 2. hoardfs lock ----------------------------------------------------------


def build_lock_tree(h):
    m = h.mnt
    locked, outside = os.path.join(m, "locked"), os.path.join(m, "outside")
    os.makedirs(os.path.join(locked, "sub", "empty"))
    os.mkdir(outside)
    write_file(os.path.join(locked, "f"), b"locked file content")
    write_file(os.path.join(locked, "sub", "g"), os.urandom(MiB + 5))
    os.setxattr(os.path.join(locked, "f"), "user.x", b"1")
    os.symlink("f", os.path.join(locked, "sym"))
    write_file(os.path.join(outside, "o"), b"outside")
    write_file(os.path.join(outside, "o2"), b"outside 2")
    return locked, outside


def mutations(m):
    L, O = os.path.join(m, "locked"), os.path.join(m, "outside")  # noqa: E741
    j = os.path.join

    def opener(path, flags):
        return lambda: os.close(os.open(path, flags, 0o644))

    return {
        "open O_WRONLY": opener(j(L, "f"), os.O_WRONLY),
        "open O_RDWR": opener(j(L, "f"), os.O_RDWR),
        "open O_WRONLY|O_TRUNC": opener(j(L, "f"), os.O_WRONLY | os.O_TRUNC),
        "open O_WRONLY|O_APPEND": opener(j(L, "f"), os.O_WRONLY | os.O_APPEND),
        "truncate": lambda: os.truncate(j(L, "f"), 0),
        "create a file": opener(j(L, "new"), os.O_WRONLY | os.O_CREAT | os.O_EXCL),
        "create a file in a subdir": opener(j(L, "sub", "new"), os.O_WRONLY | os.O_CREAT),
        "mkfifo": lambda: os.mkfifo(j(L, "fifo")),
        "mkdir": lambda: os.mkdir(j(L, "newdir")),
        "mkdir in a subdir": lambda: os.mkdir(j(L, "sub", "newdir")),
        "unlink": lambda: os.unlink(j(L, "f")),
        "unlink a symlink": lambda: os.unlink(j(L, "sym")),
        "rmdir": lambda: os.rmdir(j(L, "sub", "empty")),
        "rmdir of the tree's root": lambda: os.rmdir(L),
        "rename out of the tree": lambda: os.rename(j(L, "f"), j(O, "f")),
        "rename into the tree": lambda: os.rename(j(O, "o"), j(L, "o")),
        "rename into the tree over a file": lambda: os.rename(j(O, "o"), j(L, "f")),
        "rename within the tree": lambda: os.rename(j(L, "f"), j(L, "f2")),
        "rename within the tree to a subdir": lambda: os.rename(j(L, "f"), j(L, "sub", "f")),
        "rename of the tree's root": lambda: os.rename(L, j(m, "moved")),
        "chmod": lambda: os.chmod(j(L, "f"), 0o600),
        "chmod of a directory": lambda: os.chmod(j(L, "sub"), 0o700),
        "chown": lambda: os.chown(j(L, "f"), 1, 1),
        "lchown of a symlink": lambda: os.lchown(j(L, "sym"), 1, 1),
        "utime": lambda: os.utime(j(L, "f"), ns=(1, 1)),
        "utime now": lambda: os.utime(j(L, "f")),
        "setxattr": lambda: os.setxattr(j(L, "f"), "user.y", b"2"),
        "setxattr replace": lambda: os.setxattr(j(L, "f"), "user.x", b"changed"),
        "setxattr on a directory": lambda: os.setxattr(j(L, "sub"), "user.y", b"2"),
        "removexattr": lambda: os.removexattr(j(L, "f"), "user.x"),
        "link into the tree": lambda: os.link(j(O, "o2"), j(L, "o2-link")),
        "symlink into the tree": lambda: os.symlink("target", j(L, "new-symlink")),
    }


def all_mutations_refused(m):
    problems = []
    for name, fn in mutations(m).items():
        try:
            fn()
            problems.append(f"{name}: succeeded")
        except OSError as e:
            if e.errno != errno.EPERM:
                problems.append(f"{name}: {errno.errorcode.get(e.errno, e.errno)} ({e})")
    if problems:
        raise AssertionError("on a locked tree, as root, expected EPERM:\n    "
                             + "\n    ".join(problems))


def reads_work(m):
    L = os.path.join(m, "locked")  # noqa: E741
    check_eq(read_file(os.path.join(L, "f")), b"locked file content", "read of a locked file")
    check_eq(len(read_file(os.path.join(L, "sub", "g"))), MiB + 5, "read of a locked 2-block file")
    check_eq(sorted(os.listdir(L)), ["f", "sub", "sym"], "listing of a locked directory")
    check_eq(os.getxattr(os.path.join(L, "f"), "user.x"), b"1", "xattr of a locked file")
    check_eq(os.readlink(os.path.join(L, "sym")), "f", "symlink in a locked tree")
    check_eq(os.listxattr(os.path.join(L, "f")), ["user.x"], "listxattr of a locked file")


def lock_makes_immutable(h, state):
    m = h.mnt
    locked, outside = build_lock_tree(h)
    fd = os.open(os.path.join(locked, "f"), os.O_RDWR)  # opened before the lock
    try:
        expect_ok(cli(h, "lock", locked), "hoardfs lock")
        expect_errno(errno.EPERM, os.pwrite, fd, b"XX", 0)
        expect_errno(errno.EPERM, os.ftruncate, fd, 3)
        expect_errno(errno.EPERM, os.fchmod, fd, 0o600)
        check_eq(os.pread(fd, 100, 0), b"locked file content", "read through the same descriptor")
    finally:
        os.close(fd)
    state["locked_snap"] = snapshot(locked)
    state["outside_snap"] = snapshot(outside)
    all_mutations_refused(m)
    reads_work(m)
    assert_same_tree(state["locked_snap"], snapshot(locked), "locked tree after refused changes")
    assert_same_tree(state["outside_snap"], snapshot(outside), "outside tree after refused moves")
    # Outside the tree everything still works.
    write_file(os.path.join(outside, "new"), b"not locked")
    os.rename(os.path.join(outside, "new"), os.path.join(outside, "renamed"))
    os.unlink(os.path.join(outside, "renamed"))


def lock_survives_remount(h, state):
    h.remount(drop_cache=True)
    all_mutations_refused(h.mnt)
    reads_work(h.mnt)
    assert_same_tree(state["locked_snap"], snapshot(os.path.join(h.mnt, "locked")),
                     "locked tree after umount, cache deletion and mount")


# --- 3. hoardfs rm ------------------------------------------------------------


def rm_removes_locked_tree(h):
    m = h.mnt
    L = os.path.join(m, "locked")  # noqa: E741
    entries_in_tree = 1 + sum(len(d) + len(f) for _p, d, f in os.walk(L))
    # Warm the kernel's caches: dentries and attributes deep in the tree, and
    # an open file.
    os.stat(os.path.join(L, "sub", "g"))
    os.listdir(os.path.join(L, "sub"))
    check_eq("locked" in os.listdir(m), True, "the tree in its parent's listing")  # a listing the kernel keeps
    fd = os.open(os.path.join(L, "f"), os.O_RDONLY)
    sub_fd = os.open(os.path.join(L, "sub"), os.O_RDONLY | os.O_DIRECTORY)  # like a shell's cwd
    try:
        before = h.stat_json()
        expect_ok(cli(h, "rm", L), "hoardfs rm of a locked tree")
        check_eq(os.path.exists(L), False, "os.path.exists of the removed tree")
        check_eq(os.path.lexists(os.path.join(L, "sub", "g")), False,
                 "a cached path deep in the removed tree exists")
        expect_errno(errno.ENOENT, os.stat, os.path.join(L, "sub"))
        check_eq("locked" in os.listdir(m), False, "the removed tree in its parent's listing")
        after = h.stat_json()
        check_eq(before["entries"] - after["entries"], entries_in_tree,
                 "entries removed by hoardfs rm")
        check_eq(os.pread(fd, 100, 0), b"locked file content",
                 "read through a descriptor opened before hoardfs rm")
        check_eq(os.listdir(sub_fd), [], "listing of a removed directory held open since before hoardfs rm")
    finally:
        os.close(fd)
        os.close(sub_fd)
    # The same name again: a fresh, empty, unlocked directory, then a file.
    os.mkdir(L)
    check_eq(os.listdir(L), [], "listing of a new directory with the removed tree's name")
    write_file(os.path.join(L, "inside"), b"new")
    check_eq(read_file(os.path.join(L, "inside")), b"new", "file in the new directory")
    shutil.rmtree(L)
    fd = os.open(L, os.O_RDWR | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        check_eq(os.fstat(fd).st_size, 0, "size of a new file with the removed tree's name")
        os.write(fd, b"fresh")
    finally:
        os.close(fd)
    check_eq(read_file(L), b"fresh", "content of the new file")
    check_eq(os.listxattr(L), [], "xattrs of the new file")
    os.unlink(L)


def rm_and_lock_refuse_bad_paths(h):
    names = sorted(os.listdir(h.mnt))
    expect_failure(cli(h, "rm", h.mnt), "hoardfs rm of the mount point")
    expect_failure(cli(h, "rm", os.path.join(h.mnt, "no-such-tree")),
                   "hoardfs rm of a missing path")
    expect_failure(cli(h, "lock", os.path.join(h.mnt, "no-such-tree")),
                   "hoardfs lock of a missing path")
    outside = os.path.join(h.base, "not-in-the-mount")
    os.mkdir(outside)
    expect_failure(cli(h, "rm", outside), "hoardfs rm of a directory outside any hoardfs mount")
    expect_failure(cli(h, "lock", outside), "hoardfs lock of a directory outside any hoardfs mount")
    check_eq(os.path.isdir(outside), True, "a directory outside the mount after a refused rm")
    os.rmdir(outside)
    check_eq(sorted(os.listdir(h.mnt)), names, "the mount's root after refused hoardfs rm")


def make_many(root, dirs=250, files_per_dir=199):
    """dirs * (files_per_dir + 1) entries below root: empty files and, every
    50th, a tiny one."""
    os.mkdir(root)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
    for d in range(dirs):
        dp = os.path.join(root, f"d{d:03}")
        os.mkdir(dp)
        for i in range(files_per_dir):
            fd = os.open(os.path.join(dp, f"f{i:03}"), flags, 0o644)
            if i % 50 == 0:
                os.write(fd, b"tiny %d %d\n" % (d, i))
            os.close(fd)
    return dirs * (files_per_dir + 1)


def rm_timing(h, timings):
    m = h.mnt
    h.remount()  # inodes that the kernel still referenced are gone now
    baseline = h.stat_json()
    one, two = os.path.join(m, "many"), os.path.join(m, "many-copy")
    started = time.monotonic()
    count = make_many(one) + 1
    log(f"    created {count - 1} entries in {time.monotonic() - started:.1f}s")
    created = h.stat_json()
    check_eq(created["entries"] - baseline["entries"], count, "entries after creating the tree")
    started = time.monotonic()
    expect_ok(cli(h, "cp", one, two), "hoardfs cp of the 50,000-entry tree")
    log(f"    hoardfs cp of {count} entries: {time.monotonic() - started:.2f}s")
    copied = h.stat_json()
    check_eq(copied["entries"] - created["entries"], count, "entries after hoardfs cp")

    started = time.monotonic()
    expect_ok(cli(h, "rm", one), "hoardfs rm of the 50,000-entry tree")
    timings["hoardfs rm"] = time.monotonic() - started
    check_eq(os.path.exists(one), False, "tree removed by hoardfs rm exists")
    after_rm = h.stat_json()
    check_eq(copied["entries"] - after_rm["entries"], count, "entries removed by hoardfs rm")

    started = time.monotonic()
    r = run_tool(["rm", "-rf", two])
    timings["rm -rf"] = time.monotonic() - started
    expect_ok(r, "rm -rf of the copied tree")
    check_eq(os.path.exists(two), False, "tree removed by rm -rf exists")
    after_rmrf = h.stat_json()
    check_eq(after_rm["entries"] - after_rmrf["entries"], count, "entries removed by rm -rf")
    log(f"    TIMING {count} entries: hoardfs rm {timings['hoardfs rm']:.2f}s, "
        f"rm -rf {timings['rm -rf']:.2f}s")

    h.remount()
    final = h.stat_json()
    for key in ("entries", "inodes", "blocks", "data_bytes", "dedup_bytes"):
        check_eq(final[key], baseline[key], f"{key} after both removals and a remount, vs. before")


# --- 4. hoardfs ctrl ----------------------------------------------------------


def ctrl_commands(h):
    m = h.mnt
    os.makedirs(os.path.join(m, "ctrl"), exist_ok=True)
    write_file(os.path.join(m, "ctrl", "dirty"), os.urandom(8 * MiB))
    log(f"    dirty_bytes before flushcache: {h.stat_json()['dirty_bytes']}")
    expect_ok(cli(h, "ctrl", "flushcache", m), "hoardfs ctrl flushcache")
    check_eq(h.stat_json()["dirty_bytes"], 0, "dirty_bytes after hoardfs ctrl flushcache")

    version = h.stat_json()["metadata_version"]
    meta_before = {p for p in h.stored_files() if "/meta/" in p}
    expect_ok(cli(h, "ctrl", "upload-meta", m), "hoardfs ctrl upload-meta")
    new_version = h.stat_json()["metadata_version"]
    if new_version <= version:
        raise AssertionError(f"metadata_version after upload-meta: {new_version}, before {version}")
    if not ({p for p in h.stored_files() if "/meta/" in p} - meta_before):
        raise AssertionError("hoardfs ctrl upload-meta stored no new metadata object")

    limit = h.stat_json()["cache_limit_bytes"]
    expect_ok(cli(h, "ctrl", "cachesize", "512M", m), "hoardfs ctrl cachesize 512M")
    check_eq(h.stat_json()["cache_limit_bytes"], 512 * MiB,
             "cache_limit_bytes after cachesize 512M")
    expect_ok(cli(h, "ctrl", "cachesize", str(limit), m), f"hoardfs ctrl cachesize {limit}")
    check_eq(h.stat_json()["cache_limit_bytes"], limit,
             f"cache_limit_bytes after cachesize {limit}")

    expect_ok(cli(h, "ctrl", "log", "debug", m), "hoardfs ctrl log debug")
    expect_ok(cli(h, "ctrl", "log", "info", m), "hoardfs ctrl log info")
    expect_exit(cli(h, "ctrl", "log", "chatty", m), 2, "hoardfs ctrl log with an unknown level")


def compact_setup(h, state):
    """A tree of 600 small files in packs, four fifths of them deleted: every
    pack stays, each still holding some files."""
    h.mkfs()
    h.mount("--metadata-versions", "3")
    m = h.mnt
    root = os.path.join(m, "compact")
    os.makedirs(root)
    for i in range(600):
        write_file(os.path.join(root, f"f{i:03d}"), os.urandom(1024 + 512 * (i % 9)))
    expect_ok(cli(h, "ctrl", "flushcache", "--quiet", m), "hoardfs ctrl flushcache")
    state["packs"] = set(stored_data_objects(h))
    for i in range(600):
        if i % 5:
            os.unlink(os.path.join(root, f"f{i:03d}"))
    expect_ok(cli(h, "ctrl", "upload-meta", m), "hoardfs ctrl upload-meta")
    check_eq(state["packs"] - set(stored_data_objects(h)), set(), "packs gone before compaction")
    state["tree"] = snapshot(m)
    state["version"] = h.stat_json()["metadata_version"]
    state["dead_bytes"] = sum(1024 + 512 * (i % 9) for i in range(600) if i % 5)


def compact_frees_pack_space(h, state):
    """hoardfs ctrl compact rewrites the packs: the stored size drops by about
    the deleted files' bytes at once, and it says so."""
    m = h.mnt
    stored_before = h.stat_json()["compressed_bytes"]
    r = cli(h, "ctrl", "compact", m)
    expect_ok(r, "hoardfs ctrl compact")
    log("    " + r.stdout.strip())
    if not r.stdout.startswith("Stored data: "):
        raise AssertionError("hoardfs ctrl compact did not say what it changed: " + r.describe())
    freed = stored_before - h.stat_json()["compressed_bytes"]
    log(f"    freed {freed} stored bytes; the deleted files held {state['dead_bytes']}")
    if freed < state["dead_bytes"] // 2:
        raise AssertionError(f"compaction freed {freed} bytes; the deleted files held {state['dead_bytes']}")
    r = cli(h, "ctrl", "compact", "--quiet", m)
    expect_ok(r, "hoardfs ctrl compact --quiet (nothing left to do)")
    check_eq(r.stdout, "", "what hoardfs ctrl compact --quiet printed")
    expect_ok(cli(h, "ctrl", "upload-meta", m), "hoardfs ctrl upload-meta after compact")
    # The versions kept in the backend still name the old packs: they stay.
    check_eq(state["packs"] - set(stored_data_objects(h)), set(), "old packs gone while versions name them")
    h.umount()


def restore_from_before_compaction(h, state):
    """hoardfs adm restore-metadata of the version before compaction: its
    files read from the old packs, which compaction kept for it."""
    expect_ok(cli(h, "adm", "restore-metadata", "--version", str(state["version"]), h.url,
                  stdin_text=h.passphrase + "\n"),
              f"hoardfs adm restore-metadata --version {state['version']}")
    h.cache = os.path.join(h.base, "cache-after-restore")
    os.mkdir(h.cache)
    h.mount()
    assert_same_tree(state["tree"], snapshot(h.mnt), "the version from before compaction, restored")


def compacted_packs_leave_after_rotation(h, state):
    """Compacting again (the restored version has the sparse packs again),
    then as many uploads as versions are kept: the old packs leave the
    backend, and the files read the same from an empty cache."""
    m = h.mnt
    expect_ok(cli(h, "ctrl", "compact", "--quiet", m), "hoardfs ctrl compact after the restore")
    for _ in range(3):  # 3 versions kept: after the 3rd upload none of the kept versions names them
        expect_ok(cli(h, "ctrl", "upload-meta", m), "hoardfs ctrl upload-meta")
    check_eq(state["packs"] & set(stored_data_objects(h)), set(), "old packs left in the backend after rotation")
    h.remount(drop_cache=True)
    assert_same_tree(state["tree"], snapshot(m), "the compacted tree from an empty cache")
    h.umount()


def ctrl_refused_for_others(h, what):
    """hoardfs(1): only the user who mounted, or root, may send commands
    (exit 1, permission denied). Nothing happens."""
    m = h.mnt
    before = h.stat_json()
    for args in (["flushcache"], ["upload-meta"], ["compact"], ["cachesize", "256M"], ["log", "debug"]):
        r = run_as_nobody([CLI, "ctrl", *args, m], h.env)
        log(f"    as uid {NOBODY} ({what}): " + r.describe().replace("\n", "\n    "))
        expect_exit(r, 1, f"hoardfs ctrl {' '.join(args)} as uid {NOBODY} on a root mount {what}")
    after = h.stat_json()
    check_eq(after["cache_limit_bytes"], before["cache_limit_bytes"],
             "cache limit after a refused cachesize")
    check_eq(after["metadata_version"], before["metadata_version"],
             "metadata version after a refused upload-meta")


# --- 9. progress ----------------------------------------------------------------


def dirty(h, name, size=64 * MiB):
    os.makedirs(os.path.join(h.mnt, "progress"), exist_ok=True)
    write_file(os.path.join(h.mnt, "progress", name), os.urandom(size))


def flushcache_progress_on_pty(h):
    dirty(h, "a")
    log(f"    dirty_bytes before: {h.stat_json()['dirty_bytes']}")
    rc, out = run_on_pty([CLI, "ctrl", "flushcache", h.mnt], h.env)
    log(f"    flushcache on a pty wrote {out!r}")
    check_eq(rc, 0, "exit status of hoardfs ctrl flushcache on a pty")
    if not out.strip():
        raise AssertionError("hoardfs ctrl flushcache showed no progress on a terminal")
    check_eq(h.stat_json()["dirty_bytes"], 0, "dirty_bytes after flushcache")


def flushcache_quiet_on_pty(h):
    dirty(h, "b")
    rc, out = run_on_pty([CLI, "ctrl", "flushcache", "--quiet", h.mnt], h.env)
    check_eq(rc, 0, "exit status of hoardfs ctrl flushcache --quiet on a pty")
    check_eq(out, b"", "what hoardfs ctrl flushcache --quiet wrote on a terminal")


def flushcache_silent_on_pipe(h):
    dirty(h, "c")
    proc = subprocess.run([CLI, "ctrl", "flushcache", h.mnt], stdin=subprocess.DEVNULL,
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=h.env, timeout=300)
    check_eq(proc.returncode, 0, "exit status of hoardfs ctrl flushcache with stderr on a pipe")
    check_eq(proc.stderr, b"", "stderr of hoardfs ctrl flushcache on a pipe")
    check_eq(proc.stdout, b"", "stdout of hoardfs ctrl flushcache on a pipe")
    check_eq(h.stat_json()["dirty_bytes"], 0, "dirty_bytes after flushcache")


def umount_progress_on_pty(h):
    h.remember_daemon(h.mnt)
    os.makedirs(os.path.join(h.mnt, "progress"), exist_ok=True)
    snap = snapshot(h.mnt)
    data = os.urandom(96 * MiB)
    write_file(os.path.join(h.mnt, "progress", "d"), data)  # then at once umount
    rc, out = run_on_pty([UMOUNT, h.mnt], h.env)
    log(f"    umount.hoardfs on a pty wrote {out!r}")
    check_eq(rc, 0, "exit status of umount.hoardfs on a pty")
    check_eq(is_mounted(h.mnt), False, "mounted after umount.hoardfs")
    alive = [p for p in h.daemon_pids if pid_alive(p)]
    check_eq(alive, [], "daemons alive when umount.hoardfs returned")
    if not out.strip():
        raise AssertionError("umount.hoardfs with dirty data showed no progress on a terminal")
    shutil.rmtree(h.cache)
    os.mkdir(h.cache)
    h.mount()
    check_eq(read_file(os.path.join(h.mnt, "progress", "d")) == data, True,
             "content written just before umount.hoardfs, read from an empty cache")
    after = snapshot(h.mnt)
    del after["progress/d"]
    del after["progress"], snap["progress"]  # its mtime changed when d was created
    assert_same_tree(snap, after, "the tree after umount.hoardfs on a pty and an empty cache")


# --- 5-7. adm and verify ---------------------------------------------------------


def admin_setup(h, state):
    h.mkfs()
    h.mount()
    m = h.mnt
    os.mkdir(os.path.join(m, "dir"))
    write_file(os.path.join(m, "dir", "one"), os.urandom(700_000))
    write_file(os.path.join(m, "two"), os.urandom(300_000))
    write_file(os.path.join(m, "dir", "note"), b"a note\n")
    os.symlink("dir/one", os.path.join(m, "link"))
    state["before_x"] = snapshot(m)
    h.umount()


def restore_metadata(h, state):
    versions = list_versions(h, h.passphrase)
    log(f"    versions before X: {versions}")
    before_x = max(versions)
    h.mount()
    write_file(os.path.join(h.mnt, "X"), b"created after the version to restore")
    h.umount()
    with_x = list_versions(h, h.passphrase)
    log(f"    versions after X: {with_x}")
    if max(with_x) <= before_x:
        raise AssertionError(f"no new metadata version after an unmount: {versions} -> {with_x}")
    expect_ok(cli(h, "adm", "restore-metadata", "--version", str(before_x), h.url,
                  stdin_text=h.passphrase + "\n"),
              f"hoardfs adm restore-metadata --version {before_x}")
    restored = list_versions(h, h.passphrase)
    log(f"    versions after the restore: {restored}")
    if max(restored) <= max(with_x):
        raise AssertionError(f"restore-metadata made no new newest version: {with_x} -> {restored}")
    expect_exit(cli(h, "adm", "restore-metadata", "--version", "999999", h.url,
                    stdin_text=h.passphrase + "\n"), 2, "restore-metadata of a version that "
                "does not exist")
    h.cache = os.path.join(h.base, "cache-after-restore")
    os.mkdir(h.cache)
    h.mount()
    check_eq(os.path.lexists(os.path.join(h.mnt, "X")), False, "X after restoring the version "
             "before it")
    assert_same_tree(state["before_x"], snapshot(h.mnt), "the tree of the restored version")
    h.umount()


def change_passphrase(h, state):
    old, new = h.passphrase, "a new passphrase for the toolset test"
    superblock = os.path.join(h.storage, "hoardfs.superblock")
    sb = read_file(superblock)
    expect_exit(cli(h, "adm", "passphrase", h.url, stdin_text="not the passphrase\n" + new + "\n"),
                11, "hoardfs adm passphrase with a wrong current passphrase")
    check_eq(read_file(superblock), sb, "superblock after a refused passphrase change")
    expect_ok(cli(h, "adm", "passphrase", h.url, stdin_text=old + "\n" + new + "\n"),
              "hoardfs adm passphrase (old, then new on stdin)")
    r = h.tool([MOUNT, "--cachedir", h.cache, h.url, h.mnt], stdin_text=old + "\n")
    if r.returncode == 0:
        h.remember_daemon(h.mnt)
    expect_exit(r, 11, "mount with the old passphrase after adm passphrase")
    check_eq(is_mounted(h.mnt), False, "mounted with the old passphrase")
    h.passphrase = new
    h.mount()
    assert_same_tree(state["before_x"], snapshot(h.mnt), "the tree after the passphrase change")
    h.umount()


def object_by_size(h, size):
    found = [p for p in stored_data_objects(h) if size <= os.path.getsize(p) <= size + 4096]
    if len(found) != 1:
        raise AssertionError(f"expected one data object of about {size} bytes, found "
                             f"{[(p, os.path.getsize(p)) for p in stored_data_objects(h)]}")
    return found[0]


def verify(h, *args):
    return cli(h, "verify", "--restart", "--cachedir", h.cache, *args, h.url,
               stdin_text=h.passphrase + "\n")


def affected_paths(stdout):
    return sorted(m.group(1).strip() for m in re.finditer(r"affects (.+)$", stdout, re.MULTILINE))


def verify_clean(h):
    expect_exit(verify(h), 0, "hoardfs verify on a clean filesystem")
    expect_exit(verify(h, "--data"), 0, "hoardfs verify --data on a clean filesystem")


def flip_byte(path, offset):
    with open(path, "r+b") as f:
        f.seek(offset)
        b = f.read(1)
        f.seek(offset)
        f.write(bytes([b[0] ^ 0x20]))


def verify_damaged_object(h):
    obj = object_by_size(h, 700_000)
    flip_byte(obj, os.path.getsize(obj) // 2)
    r = expect_exit(verify(h, "--data"), 20, "hoardfs verify --data after a flipped byte")
    check_eq(affected_paths(r.stdout), ["/dir/one"], f"paths named by verify --data ({r.stdout!r})")
    # Presence only: no object is read, so the damage is not seen (hoardfs(1)).
    expect_exit(verify(h), 0, "hoardfs verify (presence only) after a flipped byte")
    flip_byte(obj, os.path.getsize(obj) // 2)
    expect_exit(verify(h, "--data"), 0, "hoardfs verify --data after the byte is restored")


def verify_missing_object(h):
    obj = object_by_size(h, 300_000)
    os.unlink(obj)
    r = expect_exit(verify(h), 20, "hoardfs verify after an object was deleted")
    check_eq(affected_paths(r.stdout), ["/two"], f"paths named by verify ({r.stdout!r})")
    r = expect_exit(verify(h, "--data"), 20, "hoardfs verify --data after an object was deleted")
    check_eq(affected_paths(r.stdout), ["/two"], f"paths named by verify --data ({r.stdout!r})")


# --- 8. mount(8) and fstab --------------------------------------------------------


def mountinfo_entry(mnt):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            fields = line.split()
            if fields[4] == os.path.realpath(mnt):
                sep = fields.index("-")
                return fields[sep + 1], fields[sep + 2]
    return None


def mount_t_and_plain_umount(h, state):
    h.mkfs()
    r = h.tool(["mount", "-t", "hoardfs", h.url, h.mnt, "-o", f"cachedir={h.cache}"],
               stdin_text=h.passphrase + "\n")
    expect_ok(r, "mount -t hoardfs")
    check_eq(is_mounted(h.mnt), True, "mounted after mount -t hoardfs")
    check_eq(mountinfo_entry(h.mnt), ("fuse.hoardfs", h.url), "type and source in mountinfo")
    pid = int(os.getxattr(h.mnt, "user.hoardfs.pid").decode().strip())
    h.daemon_pids.add(pid)
    m = h.mnt
    os.mkdir(os.path.join(m, "data"))
    write_file(os.path.join(m, "data", "big"), os.urandom(24 * MiB + 3))
    write_file(os.path.join(m, "data", "small"), b"through mount(8)\n")
    os.symlink("big", os.path.join(m, "data", "link"))
    state["snap"] = snapshot(m)
    expect_ok(h.tool(["umount", m]), "umount(8)")
    check_eq(is_mounted(m), False, "mounted after umount(8)")
    wait_until(lambda: not pid_alive(pid), 180, f"daemon {pid} to exit after umount(8)")
    check_eq(os.path.exists(os.path.join(h.storage, "hoardfs.lock")), False,
             "the backend lock after the daemon exited")
    h.cache = os.path.join(h.base, "cache-after-umount8")
    os.mkdir(h.cache)
    h.mount()
    assert_same_tree(state["snap"], snapshot(m), "the tree after umount(8) and an empty cache")
    h.umount()


def mount_from_fstab(h, state):
    authfile = os.path.join(h.base, "authinfo")
    fd = os.open(authfile, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(f"[toolset]\nstorage-url = {h.url}\nfs-passphrase = {h.passphrase}\n")
    cache = os.path.join(h.base, "cache-fstab")
    os.mkdir(cache)
    fstab = os.path.join(h.base, "fstab")
    with open(fstab, "w") as f:
        f.write("# temporary fstab of the toolset test\n"
                f"{h.url}  {h.mnt}  hoardfs  noauto,_netdev,cachedir={cache},authfile={authfile}"
                "  0 0\n")
    r = h.tool(["mount", "-T", fstab, h.mnt])  # stdin: /dev/null
    expect_ok(r, "mount -T FSTAB MNT")
    check_eq(is_mounted(h.mnt), True, "mounted after mount -T")
    h.remember_daemon(h.mnt)
    assert_same_tree(state["snap"], snapshot(h.mnt), "the tree mounted from an fstab line")
    h.umount()


def with_mount_helper(fn, *args):
    made = False
    if not os.path.lexists(HELPER_LINK):
        os.symlink(MOUNT, HELPER_LINK)
        made = True
    else:
        log(f"    {HELPER_LINK} exists already ({os.path.realpath(HELPER_LINK)}); using it")
    try:
        fn(*args)
    finally:
        if made and os.path.islink(HELPER_LINK) and os.readlink(HELPER_LINK) == MOUNT:
            os.unlink(HELPER_LINK)


# --- main --------------------------------------------------------------------------


def main():
    require_environment()
    checks = Checks("toolset")
    timings = {}
    state = {}

    with Hoard("toolset") as h:
        if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount())):
            checks.finish()
        if checks.run("cp_copies_tree_without_copying_data", cp_copies_tree, h, state):
            if checks.run("cp_copies_are_independent", cp_copies_are_independent, h, state):
                checks.run("cp_survives_umount_empty_cache_mount", cp_survives_remount, h, state)
            checks.run("cp_refuses_own_subtree_and_existing_dst", cp_refusals, h)
        if checks.run("lock_makes_tree_immutable", lock_makes_immutable, h, state):
            checks.run("lock_survives_umount_empty_cache_mount", lock_survives_remount, h, state)
            checks.run("rm_removes_locked_tree_coherently", rm_removes_locked_tree, h)
        checks.run("rm_and_lock_refuse_bad_paths", rm_and_lock_refuse_bad_paths, h)
        checks.run("rm_vs_rm_rf_50000_entries", rm_timing, h, timings)
        checks.run("ctrl_commands", ctrl_commands, h)
        checks.run("ctrl_refused_for_non_owner", ctrl_refused_for_others, h, "without allow_other")
        checks.run("flushcache_progress_on_pty", flushcache_progress_on_pty, h)
        checks.run("flushcache_quiet_on_pty", flushcache_quiet_on_pty, h)
        checks.run("flushcache_silent_on_pipe", flushcache_silent_on_pipe, h)
        checks.run("umount_progress_on_pty", umount_progress_on_pty, h)
        if checks.run("remount_allow_other", lambda: (h.umount(), h.mount("--allow-other"))):
            checks.run("ctrl_refused_for_non_owner_allow_other", ctrl_refused_for_others, h,
                       "with allow_other")
        checks.run("final_umount", h.umount)

    compact = {}
    with Hoard("toolset-compact") as h:
        if checks.run("compact_setup", compact_setup, h, compact):
            if checks.run("compact_frees_unused_pack_bytes", compact_frees_pack_space, h, compact):
                if checks.run("restore_metadata_from_before_compaction", restore_from_before_compaction, h,
                              compact):
                    checks.run("compacted_packs_leave_after_version_rotation",
                               compacted_packs_leave_after_rotation, h, compact)

    adm = {}
    with Hoard("toolset-adm") as h:
        if checks.run("adm_setup", admin_setup, h, adm):
            if checks.run("adm_restore_metadata", restore_metadata, h, adm):
                checks.run("adm_passphrase", change_passphrase, h, adm)
            checks.run("verify_clean", verify_clean, h)
            checks.run("verify_data_names_damaged_file", verify_damaged_object, h)
            checks.run("verify_names_file_of_missing_object", verify_missing_object, h)

    m8 = {}
    with Hoard("toolset-mount8") as h:
        if checks.run("mount_t_hoardfs_and_plain_umount", with_mount_helper,
                      mount_t_and_plain_umount, h, m8):
            checks.run("mount_from_fstab_with_authfile", with_mount_helper, mount_from_fstab, h, m8)

    if timings:
        log("rm timing: " + ", ".join(f"{k} {v:.2f}s" for k, v in timings.items()))
    checks.finish()


if __name__ == "__main__":
    main()
