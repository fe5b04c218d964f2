#!/usr/bin/python3
"""Bad input gets its documented exit code, exactly one line on stderr, and
changes nothing: mkfs on a non-empty location (17), mount of a location with
no filesystem (12), wrong passphrase (11), authinfo readable by group or
others (10), missing / busy / non-directory mountpoint (18), malformed URL (2).
"""

import hashlib
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (MKFS, MOUNT, Checks, Hoard, check_eq, is_mounted,  # noqa: E402
                         require_environment)


def storage_state(path, with_times=True):
    """Names, types, contents (and, with_times, mtimes) of everything under
    path. Without times, objects that were written and removed again (such as
    a lock taken and released) do not count as a change."""
    state = {}
    for dirpath, dirnames, filenames in os.walk(path):
        for name in sorted(dirnames + filenames):
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            digest = None
            if os.path.isfile(p) and not os.path.islink(p):
                with open(p, "rb") as f:
                    digest = hashlib.sha256(f.read()).hexdigest()
            state[os.path.relpath(p, path)] = (st.st_mode, st.st_size, digest,
                                               st.st_mtime_ns if with_times else None)
    if with_times:
        state["."] = os.lstat(path).st_mtime_ns
    return state


def expect_failure(result, code, what, one_line=True):
    if result.returncode != code:
        raise AssertionError(f"{what}: expected exit {code}\n  " + result.describe())
    lines = result.stderr_lines()
    if one_line and len(lines) != 1:
        raise AssertionError(f"{what}: expected exactly one line on stderr, got {len(lines)}:"
                             f" {result.stderr!r}")
    if not one_line and not lines:
        raise AssertionError(f"{what}: no error message on stderr")


def mount_cmd(h, url, mnt, *extra):
    return [MOUNT, "--cachedir", h.cache, *extra, url, mnt]


def mkfs_non_empty(h):
    loc = os.path.join(h.base, "nonempty")
    os.makedirs(os.path.join(loc, "sub"))
    with open(os.path.join(loc, "precious.txt"), "w") as f:
        f.write("do not touch")
    before = storage_state(loc)
    r = h.tool([MKFS, "local://" + loc], stdin_text=h.passphrase + "\n")
    expect_failure(r, 17, "mkfs on a non-empty directory")
    check_eq(storage_state(loc), before, "the non-empty directory after the refused mkfs")


def mkfs_twice(h):
    before = storage_state(h.storage)
    r = h.tool([MKFS, h.url], stdin_text=h.passphrase + "\n")
    expect_failure(r, 17, "mkfs on a location that already holds a filesystem")
    check_eq(storage_state(h.storage), before, "the filesystem after the refused second mkfs")


def mount_no_filesystem(h):
    empty = os.path.join(h.base, "empty-storage")
    os.mkdir(empty)
    r = h.tool(mount_cmd(h, "local://" + empty, h.mnt), stdin_text=h.passphrase + "\n")
    expect_failure(r, 12, "mount of an empty directory")
    check_eq(is_mounted(h.mnt), False, "mounted after a failed mount")
    check_eq(os.listdir(empty), [], "the empty storage after the failed mount")
    other = os.path.join(h.base, "other-files")
    os.mkdir(other)
    with open(os.path.join(other, "unrelated"), "w") as f:
        f.write("not a filesystem")
    before = storage_state(other, with_times=False)
    r = h.tool(mount_cmd(h, "local://" + other, h.mnt), stdin_text=h.passphrase + "\n")
    expect_failure(r, 12, "mount of a directory holding other files")
    check_eq(storage_state(other, with_times=False), before, "unrelated files after the failed mount")
    check_eq(is_mounted(h.mnt), False, "mounted after a failed mount")


def wrong_passphrase(h):
    before = storage_state(h.storage, with_times=False)
    r = h.tool(mount_cmd(h, h.url, h.mnt), stdin_text="not the passphrase\n")
    expect_failure(r, 11, "mount with a wrong passphrase")
    check_eq(is_mounted(h.mnt), False, "mounted after a wrong passphrase")
    check_eq(storage_state(h.storage, with_times=False), before, "the storage after a wrong passphrase")


def authinfo(h, mode):
    path = os.path.join(h.home, f"authinfo-{mode:o}")
    with open(path, "w") as f:
        f.write(f"[e2e]\nstorage-url = {h.url}\nfs-passphrase = {h.passphrase}\n")
    os.chmod(path, mode)
    return path


def insecure_authinfo(h):
    for mode in (0o644, 0o640, 0o604):
        path = authinfo(h, mode)
        r = h.tool(mount_cmd(h, h.url, h.mnt, "--authfile", path))
        expect_failure(r, 10, f"mount with an authinfo file of mode {mode:o}")
        check_eq(is_mounted(h.mnt), False, "mounted with an insecure authinfo file")


def secure_authinfo(h):
    path = authinfo(h, 0o600)
    r = h.tool(mount_cmd(h, h.url, h.mnt, "--authfile", path))
    if r.returncode != 0 or not is_mounted(h.mnt):
        raise AssertionError("mount with a 0600 authinfo file failed: " + r.describe())
    h.remember_daemon(h.mnt)
    h.umount()


def missing_mountpoint(h):
    missing = os.path.join(h.base, "no-such-dir")
    r = h.tool(mount_cmd(h, h.url, missing), stdin_text=h.passphrase + "\n")
    expect_failure(r, 18, "mount on a missing mountpoint")
    check_eq(os.path.exists(missing), False, "the missing mountpoint was created")
    not_dir = os.path.join(h.base, "a-file")
    with open(not_dir, "w") as f:
        f.write("x")
    r = h.tool(mount_cmd(h, h.url, not_dir), stdin_text=h.passphrase + "\n")
    expect_failure(r, 18, "mount on a regular file")


def busy_mountpoint(h):
    h.mount()
    try:
        other = os.path.join(h.base, "second-fs")
        os.mkdir(other)
        r = h.tool([MKFS, "local://" + other], stdin_text=h.passphrase + "\n")
        if r.returncode != 0:
            raise AssertionError("mkfs of the second filesystem failed: " + r.describe())
        r = h.tool(mount_cmd(h, "local://" + other, h.mnt), stdin_text=h.passphrase + "\n")
        expect_failure(r, 18, "mount on a mountpoint that is already mounted")
        with open(os.path.join(h.mnt, "still-works"), "w") as f:
            f.write("the first mount is unaffected")
    finally:
        h.umount()
    h.mount()
    try:
        with open(os.path.join(h.mnt, "still-works")) as f:
            check_eq(f.read(), "the first mount is unaffected", "first filesystem's file")
    finally:
        h.umount()


def malformed_url(h):
    for url in ("not-a-url", "local://relative/path", "local:/single/slash"):
        r = h.tool(mount_cmd(h, url, h.mnt), stdin_text=h.passphrase + "\n")
        expect_failure(r, 2, f"mount of malformed URL {url!r}", one_line=False)
        r = h.tool([MKFS, url], stdin_text=h.passphrase + "\n")
        expect_failure(r, 2, f"mkfs of malformed URL {url!r}", one_line=False)
    check_eq(is_mounted(h.mnt), False, "mounted after malformed URLs")


def main():
    require_environment()
    checks = Checks("errors")
    with Hoard("errors") as h:
        if not checks.run("mkfs", h.mkfs):
            checks.finish()
        checks.run("mkfs_non_empty_is_17", mkfs_non_empty, h)
        checks.run("mkfs_twice_is_17", mkfs_twice, h)
        checks.run("mount_without_filesystem_is_12", mount_no_filesystem, h)
        checks.run("wrong_passphrase_is_11", wrong_passphrase, h)
        checks.run("insecure_authinfo_is_10", insecure_authinfo, h)
        checks.run("secure_authinfo_mounts", secure_authinfo, h)
        checks.run("missing_mountpoint_is_18", missing_mountpoint, h)
        checks.run("busy_mountpoint_is_18", busy_mountpoint, h)
        checks.run("malformed_url_is_2", malformed_url, h)
    checks.finish()


if __name__ == "__main__":
    main()
