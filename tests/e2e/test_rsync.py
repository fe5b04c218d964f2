#!/usr/bin/python3
"""rsync round trip through a real mount.

A generated tree (see treegen.py) goes in with `rsync -aHAX --devices
--specials`; after unmount, deleting the cache directory and mounting again,
`rsync -aHAXc --dry-run --itemize-changes` must report nothing, and a walk of
both trees (numeric owners, modes, nanosecond mtimes, xattrs, hard links,
device numbers, symlink targets, contents) must match. Then an incremental
rsync with --delete, and a restore from the mount into a fresh directory.
"""

import os
import shutil
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treegen  # noqa: E402
from hoardfs_e2e import (Checks, Hoard, assert_same_tree, log, require_environment, scratch_dir,  # noqa: E402
                         snapshot)

RSYNC = ["rsync", "-aHAX", "--devices", "--specials", "--numeric-ids"]


def rsync(*args):
    proc = subprocess.run([*RSYNC, *args], capture_output=True, timeout=600)
    out, err = proc.stdout.decode(errors="replace"), proc.stderr.decode(errors="replace")
    if proc.returncode != 0 or err.strip():
        raise AssertionError(f"rsync {' '.join(args)} -> exit {proc.returncode}\n"
                             f"  stdout: {out[-3000:]}\n  stderr: {err[-3000:]}")
    return out


def no_differences(src, dst, what):
    out = rsync("-c", "--dry-run", "--itemize-changes", "--delete", src + "/", dst + "/")
    if out.strip():
        lines = out.strip().splitlines()
        raise AssertionError(f"{what}: rsync -c --dry-run --itemize-changes reports "
                             f"{len(lines)} differences:\n    " + "\n    ".join(lines[:40]))
    assert_same_tree(snapshot(src), snapshot(dst), what)


def change_source(src):
    """Edits like the ones between two backups."""
    with open(os.path.join(src, "text", "doc000.txt"), "ab") as f:
        f.write(b"appended line\n")
    with open(os.path.join(src, "binary", "random6.bin"), "r+b") as f:
        f.seek(4096)
        f.write(b"changed in the middle")
    os.unlink(os.path.join(src, "dups", "copy3.bin"))
    shutil.rmtree(os.path.join(src, "deep", "level00", "level01", "level02"))
    os.rename(os.path.join(src, "odd", "with space"), os.path.join(src, "odd", "renamed space"))
    os.setxattr(os.path.join(src, "xattrs", "tagged"), "user.comment", b"changed comment")
    os.removexattr(os.path.join(src, "xattrs", "tagged"), "user.many.3")
    os.chmod(os.path.join(src, "owners", "file0"), 0o600)
    os.chown(os.path.join(src, "owners", "file1"), 4000, 4001)
    os.mkdir(os.path.join(src, "new-dir"))
    with open(os.path.join(src, "new-dir", "new-file"), "wb") as f:
        f.write(os.urandom(300000))
    os.link(os.path.join(src, "new-dir", "new-file"), os.path.join(src, "new-dir", "new-link"))
    os.unlink(os.path.join(src, "hard", "second"))
    os.utime(os.path.join(src, "text"), ns=(1, 123456789))
    # rsync compares directory times to the second: a directory changed within
    # the same second as its copy would keep the copy's sub-second mtime on
    # any filesystem (ext4 too). Whole distinct seconds make rsync set each
    # directory's time, which the comparison below then checks to the ns.
    for i, (dirpath, _, _) in enumerate(os.walk(src)):
        os.utime(dirpath, ns=(1_600_000_000_000_000_000 + i * 1_000_000_007,) * 2)


def main():
    require_environment()
    checks = Checks("rsync")
    with scratch_dir("hoardfs-rsync-src-") as work:
        src = os.path.join(work, "src")
        os.mkdir(src)
        summary = treegen.generate(src, seed=7)
        log(f"generated source tree in {src}: {summary}")
        with Hoard("rsync") as h:
            if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount())):
                checks.finish()
            if checks.run("rsync_in", rsync, src + "/", h.mnt + "/"):
                checks.run("same_tree_while_mounted",
                           lambda: assert_same_tree(snapshot(src), snapshot(h.mnt),
                                                    "tree right after rsync"))
                checks.run("umount_delete_cache_mount", h.remount, True)
                checks.run("no_differences_after_cache_loss", no_differences, src, h.mnt,
                           "after unmount, cache deletion and mount")
                checks.run("incremental_rsync", lambda: (change_source(src),
                                                         rsync("--delete", src + "/",
                                                               h.mnt + "/")))
                checks.run("umount_mount_same_cache", h.remount, False)
                checks.run("no_differences_after_incremental", no_differences, src, h.mnt,
                           "after an incremental rsync and a remount")
                restore = os.path.join(work, "restore")
                checks.run("restore_from_mount", lambda: (rsync(h.mnt + "/", restore + "/"),
                                                          no_differences(src, restore,
                                                                         "restored tree")))
            checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
