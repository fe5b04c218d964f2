#!/usr/bin/python3
"""One writer: the backend lock.

With the filesystem mounted through cache directory A, a second mount.hoardfs
of the same URL through another cache directory B is refused with exit 14
("mounted elsewhere") and one line on stderr naming the holder (this host's
name), and so is `fsck.hoardfs --cachedir B URL`; the first mount keeps
working. After a clean umount of A the lock is released: a mount through B
works at once.

After a crash (kill -9 of the daemon, lazy unmount), the lock stays behind:
a mount through B is still refused (14). `fsck.hoardfs --cachedir B URL`
recognises the lock as stale (this host, dead process), breaks it and says
so, and exits 0 or 16; then a mount through B works and shows the data that
was uploaded (`hoardfs ctrl flushcache` and `upload-meta`) before the crash.
The same when the killed daemon is still a zombie (dead, not yet reaped by
its parent, as under an init that reaps late or never): it holds no lock.
"""

import ctypes
import os
import re
import signal
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (CLI, FSCK, MOUNT, Checks, Hoard, check_eq, is_mounted, log,  # noqa: E402
                         pid_alive, require_environment, wait_until)


class Setup:
    def __init__(self, h):
        self.h = h
        self.cache_b = os.path.join(h.base, "cache-b")
        self.mnt_b = os.path.join(h.base, "mnt-b")
        os.mkdir(self.cache_b)
        os.mkdir(self.mnt_b)
        self.files = {}

    def mount_b(self):
        h = self.h
        r = h.tool([MOUNT, "--cachedir", self.cache_b, h.url, self.mnt_b],
                   stdin_text=h.passphrase + "\n")
        if r.returncode == 0 and is_mounted(self.mnt_b):
            h.remember_daemon(self.mnt_b)
        return r

    def fsck_b(self, *extra):
        if not os.access(FSCK, os.X_OK):
            raise AssertionError(f"fsck.hoardfs is not built ({FSCK})")
        h = self.h
        return h.tool([FSCK, "--cachedir", self.cache_b, *extra, h.url],
                      stdin_text=h.passphrase + "\n")

    def write_files(self, tag, count=5):
        for i in range(count):
            name = f"{tag}-{i}.bin"
            data = os.urandom(50000 * (i + 1))
            with open(os.path.join(self.h.mnt, name), "wb") as f:
                f.write(data)
            self.files[name] = data

    def expect_files(self, mnt):
        for name, data in sorted(self.files.items()):
            path = os.path.join(mnt, name)
            if not os.path.exists(path):
                raise AssertionError(f"{name} is missing in {mnt}")
            with open(path, "rb") as f:
                check_eq(f.read() == data, True, f"content of {name} in {mnt} is right")


def expect_mounted_elsewhere(r, what):
    if r.returncode != 14:
        raise AssertionError(f"{what}: expected exit 14 (mounted elsewhere)\n  " + r.describe())
    lines = r.stderr_lines()
    if len(lines) != 1:
        raise AssertionError(f"{what}: expected exactly one line on stderr, got {len(lines)}:\n  "
                             + r.describe())
    host = socket.gethostname()
    if host not in lines[0] and host.split(".")[0] not in lines[0]:
        raise AssertionError(f"{what}: the message does not name the holder's host "
                             f"{host!r}: {lines[0]!r}")
    log(f"{what}: {lines[0]!r}")


def kill_daemon(h):
    """kill -9 of the daemon of h.mnt, then a lazy unmount; returns its pid."""
    pid = int(os.getxattr(h.mnt, "user.hoardfs.pid").decode().strip())
    os.kill(pid, signal.SIGKILL)
    wait_until(lambda: not pid_alive(pid), 60, f"daemon {pid} to die")
    subprocess.run(["fusermount3", "-u", "-z", h.mnt], check=True, timeout=60)
    wait_until(lambda: not is_mounted(h.mnt), 60, f"{h.mnt} to be unmounted")
    return pid


def set_child_subreaper(on):
    """Orphaned descendants (the daemon, once mount.hoardfs exits) become our
    children, so that a killed daemon stays a zombie until we reap it, as it
    does under an init that reaps late or never (e.g. a container without
    one)."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1 if on else 0, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        raise OSError(ctypes.get_errno(), "prctl(PR_SET_CHILD_SUBREAPER)")


def zombie_daemon_lock_is_stale(s):
    h = s.h
    set_child_subreaper(True)
    pid = None
    try:
        h.mount()
        s.write_files("before-zombie")
        for command in ("flushcache", "upload-meta"):
            r = h.tool([CLI, "ctrl", command, h.mnt])
            if r.returncode != 0:
                raise AssertionError(f"hoardfs ctrl {command} failed: " + r.describe())
        pid = kill_daemon(h)
        with open(f"/proc/{pid}/stat") as f:
            state = f.read().split(") ")[-1].split()[0]
        check_eq(state, "Z", f"state of the killed daemon {pid} (not reaped yet)")
        r = s.fsck_b()
        if r.returncode not in (0, 16):
            raise AssertionError(f"fsck.hoardfs --cachedir B after kill -9 of daemon {pid}, which "
                                 "is dead but not yet reaped (a zombie): expected exit 0 or 16 "
                                 "(a dead process holds no lock)\n  " + r.describe())
    finally:
        if pid is not None:
            try:
                os.waitpid(pid, 0)
            except ChildProcessError:
                pass
        set_child_subreaper(False)
    mount_b_after_fsck(s)


def second_mount_refused(s):
    h = s.h
    h.mount()
    s.write_files("first")
    r = s.mount_b()
    if is_mounted(s.mnt_b):
        h.force_unmount(s.mnt_b)
        raise AssertionError("a second mount through another cache directory succeeded while "
                             "the first is mounted:\n  " + r.describe())
    expect_mounted_elsewhere(r, "second mount while the first is mounted")
    # The first mount is unaffected.
    s.expect_files(h.mnt)
    with open(os.path.join(h.mnt, "after-refusal"), "w") as f:
        f.write("still writable")
    s.files["after-refusal"] = b"still writable"


def fsck_refused_while_mounted(s):
    r = s.fsck_b()
    expect_mounted_elsewhere(r, "fsck.hoardfs --cachedir B while mounted through A")
    check_eq(is_mounted(s.h.mnt), True, "the first mount is still mounted after the refused fsck")
    s.expect_files(s.h.mnt)


def clean_umount_releases_lock(s):
    h = s.h
    h.umount()
    r = s.mount_b()
    if r.returncode != 0 or not is_mounted(s.mnt_b):
        raise AssertionError("mount through cache B right after a clean umount of A failed:\n  "
                             + r.describe())
    try:
        s.expect_files(s.mnt_b)
    finally:
        h.umount(mnt=s.mnt_b)


def crash_leaves_stale_lock(s):
    h = s.h
    h.mount()  # through A again (its cache is older than B's upload: downloaded anew)
    s.expect_files(h.mnt)
    s.write_files("before-crash")
    for command in ("flushcache", "upload-meta"):
        r = h.tool([CLI, "ctrl", command, h.mnt])
        if r.returncode != 0:
            raise AssertionError(f"hoardfs ctrl {command} failed: " + r.describe())
    pid = kill_daemon(h)
    # Dead and reaped: no process with that pid any more.
    wait_until(lambda: not os.path.exists(f"/proc/{pid}"), 60, f"daemon {pid} to be reaped")
    r = s.mount_b()
    if is_mounted(s.mnt_b):
        h.force_unmount(s.mnt_b)
        raise AssertionError("a mount through cache B succeeded while the crashed mount's lock "
                             "is still there (no fsck yet):\n  " + r.describe())
    expect_mounted_elsewhere(r, "mount through B after the crash of A")


def fsck_breaks_stale_lock(s):
    r = s.fsck_b()
    if r.returncode not in (0, 16):
        raise AssertionError("fsck.hoardfs --cachedir B after the crash: expected exit 0 or 16\n  "
                             + r.describe())
    said = r.stdout + r.stderr
    if not re.search(r"lock", said, re.I):
        raise AssertionError("fsck.hoardfs broke the lock without saying so (no 'lock' in its "
                             "output):\n  " + r.describe())
    log(f"fsck.hoardfs: exit {r.returncode}: {said.strip()!r}")


def mount_b_after_fsck(s):
    r = s.mount_b()
    if r.returncode != 0 or not is_mounted(s.mnt_b):
        raise AssertionError("mount through cache B after fsck failed:\n  " + r.describe())
    try:
        s.expect_files(s.mnt_b)
    finally:
        s.h.umount(mnt=s.mnt_b)


def main():
    require_environment()
    checks = Checks("lock")
    with Hoard("lock") as h:
        s = Setup(h)
        if not checks.run("mkfs", h.mkfs):
            checks.finish()
        checks.run("second_mount_is_14_naming_the_host", second_mount_refused, s)
        if is_mounted(h.mnt):
            checks.run("fsck_while_mounted_elsewhere_is_14", fsck_refused_while_mounted, s)
            if not checks.run("clean_umount_releases_the_lock", clean_umount_releases_lock, s):
                checks.finish()
        if checks.run("crash_leaves_a_lock_mount_b_is_14", crash_leaves_stale_lock, s):
            if checks.run("fsck_breaks_the_stale_lock", fsck_breaks_stale_lock, s):
                if checks.run("mount_b_after_fsck_shows_uploaded_data", mount_b_after_fsck, s):
                    checks.run("lock_of_a_killed_unreaped_daemon_is_stale",
                               zombie_daemon_lock_is_stale, s)
    checks.finish()


if __name__ == "__main__":
    main()
