"""Shared helpers for the hoardfs end-to-end tests (real FUSE mounts).

Every test script imports this module. It finds the tools, creates a private
temporary storage directory, cache directory and mountpoint under /tmp, runs
mkfs/mount/umount/stat, snapshots directory trees for comparison, and always
unmounts in the end (fusermount3 -u -z as a last resort).

Tool locations come from the environment (set by tests/e2e/meson.build):
HOARDFS_MKFS, HOARDFS_MOUNT, HOARDFS_UMOUNT, HOARDFS_CLI, HOARDFS_FSCK; otherwise from
HOARDFS_BUILD_DIR (default: <repo>/build) + src/tools/.

Standard library only; run with Debian's /usr/bin/python3.
"""

import contextlib
import errno
import hashlib
import os
import re
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import time
import traceback

SKIP = 77
PASSPHRASE = "correct horse battery staple e2e"
TOOL_TIMEOUT = 300  # seconds for one mkfs/mount/umount/stat call

# HOARDFS_E2E_IO_URING=1: every mount takes -o io_uring (the kernel switch is
# turned on first) and must report user.hoardfs.transport = io_uring.
IO_URING = os.environ.get("HOARDFS_E2E_IO_URING") == "1"
URING_SWITCH = "/sys/module/fuse/parameters/enable_uring"

_repo = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
_builddir = os.environ.get("HOARDFS_BUILD_DIR", os.path.join(_repo, "build"))


def _tool(env_name, name):
    return os.environ.get(env_name) or os.path.join(_builddir, "src", "tools", name)


MKFS = _tool("HOARDFS_MKFS", "mkfs.hoardfs")
MOUNT = _tool("HOARDFS_MOUNT", "mount.hoardfs")
UMOUNT = _tool("HOARDFS_UMOUNT", "umount.hoardfs")
CLI = _tool("HOARDFS_CLI", "hoardfs")
FSCK = _tool("HOARDFS_FSCK", "fsck.hoardfs")  # not required by require_environment()


def log(*args):
    print(*args, flush=True)


def skip(reason):
    log(f"SKIP: {reason}")
    sys.exit(SKIP)


def require_environment():
    """Exits 77 (meson SKIP) where real mounts are impossible; fails when the
    tools are missing (that is a build problem, not an environment one)."""
    if os.geteuid() != 0:
        skip("needs root (mounts through FUSE, mknod, chown)")
    if not os.path.exists("/dev/fuse"):
        skip("/dev/fuse is missing")
    if shutil.which("fusermount3") is None:
        skip("fusermount3 (package fuse3) is missing")
    if IO_URING:
        if not os.path.exists(URING_SWITCH):
            skip(f"this kernel has no FUSE over io_uring ({URING_SWITCH} is missing; Linux 6.14 or later)")
        with open(URING_SWITCH, "w") as f:
            f.write("Y\n")
    missing = [t for t in (MKFS, MOUNT, UMOUNT, CLI) if not os.access(t, os.X_OK)]
    if missing:
        log(f"FAIL: tools not built: {', '.join(missing)}")
        sys.exit(1)
    os.umask(0o022)


class ToolResult:
    def __init__(self, argv, returncode, stdout, stderr):
        self.argv, self.returncode, self.stdout, self.stderr = argv, returncode, stdout, stderr

    def stderr_lines(self):
        return [line for line in self.stderr.splitlines() if line.strip()]

    def describe(self):
        return (f"{' '.join(self.argv)} -> exit {self.returncode}\n"
                f"  stdout: {self.stdout.strip()!r}\n  stderr: {self.stderr.strip()!r}")


def run_tool(argv, stdin_text=None, env=None, timeout=TOOL_TIMEOUT):
    """Runs a tool with stdout/stderr captured in files, not pipes: a daemon
    that inherits them must not make us wait for it to exit."""
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        proc = subprocess.run(argv, input=(stdin_text.encode() if stdin_text is not None else None),
                              stdin=(None if stdin_text is not None else subprocess.DEVNULL),
                              stdout=out, stderr=err, env=env, timeout=timeout)
        out.seek(0)
        err.seek(0)
        return ToolResult([str(a) for a in argv], proc.returncode,
                          out.read().decode(errors="replace"), err.read().decode(errors="replace"))


def mount_points():
    """Mount points currently in this process's mount namespace."""
    points = []
    with open("/proc/self/mountinfo") as f:
        for line in f:
            field = line.split(" ")[4]
            points.append(re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), field))
    return points


def is_mounted(path):
    return os.path.realpath(path) in mount_points()


def wait_until(predicate, timeout, what):
    """Polls predicate() until it is true; raises after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    delay = 0.01
    while True:
        if predicate():
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(delay)  # polling interval, not synchronization
        delay = min(delay * 2, 0.5)


def pid_alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[-1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class Hoard:
    """One hoardfs filesystem on the local backend (or on `url` when given,
    with `authinfo` text written to the private ~/.hoardfs/authinfo), with
    its own storage directory, cache directory and mountpoint under a fresh
    /tmp directory. Use as a context manager: leaving it unmounts and removes
    everything."""

    def __init__(self, name="e2e", passphrase=PASSPHRASE, url=None, authinfo=None):
        self.base = tempfile.mkdtemp(prefix=f"hoardfs-{name}-", dir="/tmp")
        os.chmod(self.base, 0o755)  # tests switch to uid 65534 inside the mount
        self.storage = os.path.join(self.base, "storage")
        self.cache = os.path.join(self.base, "cache")
        self.mnt = os.path.join(self.base, "mnt")
        self.home = os.path.join(self.base, "home")
        for d in (self.storage, self.cache, self.mnt, self.home):
            os.mkdir(d)
        self.url = url or "local://" + self.storage
        if authinfo is not None:
            os.mkdir(os.path.join(self.home, ".hoardfs"), 0o700)
            path = os.path.join(self.home, ".hoardfs", "authinfo")
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as f:
                f.write(authinfo)
        self.passphrase = passphrase
        self.mount_args = []
        self.daemon_pids = set()
        self.env = dict(os.environ, HOME=self.home)  # no stray ~/.hoardfs/authinfo

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()
        return False

    # --- tools -----------------------------------------------------------

    def tool(self, argv, stdin_text=None, timeout=TOOL_TIMEOUT):
        return run_tool(argv, stdin_text=stdin_text, env=self.env, timeout=timeout)

    def mkfs(self, *extra, check=True):
        r = self.tool([MKFS, *extra, self.url], stdin_text=self.passphrase + "\n")
        if check and r.returncode != 0:
            raise AssertionError("mkfs failed: " + r.describe())
        return r

    def mount(self, *extra, check=True, mnt=None):
        """Mounts (extra: options such as --compress none). With check, asserts
        exit 0 and that the mount is live when the command returns."""
        mnt = mnt or self.mnt
        if extra:
            self.mount_args = list(extra)
        transport = ["-o", "io_uring"] if IO_URING else []
        argv = [MOUNT, "--cachedir", self.cache, *transport, *self.mount_args, self.url, mnt]
        r = self.tool(argv, stdin_text=self.passphrase + "\n")
        if check:
            if r.returncode != 0:
                raise AssertionError("mount failed: " + r.describe())
            if not is_mounted(mnt):
                raise AssertionError(f"mount.hoardfs exited 0 but {mnt} is not mounted")
            if IO_URING:
                used = os.getxattr(mnt, "user.hoardfs.transport").decode()
                if used != "io_uring":
                    raise AssertionError(f"mounted with -o io_uring, but requests use {used}")
            self.remember_daemon(mnt)
        return r

    def remember_daemon(self, mnt):
        try:
            self.daemon_pids.add(int(os.getxattr(mnt, "user.hoardfs.pid").decode().strip()))
        except (OSError, ValueError):
            pass

    def umount(self, mnt=None, check=True):
        """umount.hoardfs: asserts that it succeeds, that the mountpoint is no
        longer mounted and that the daemon has exited when it returns."""
        mnt = mnt or self.mnt
        r = self.tool([UMOUNT, mnt])
        if check:
            if r.returncode != 0:
                raise AssertionError("umount failed: " + r.describe())
            if is_mounted(mnt):
                raise AssertionError(f"umount.hoardfs exited 0 but {mnt} is still mounted")
            alive = [p for p in self.daemon_pids if pid_alive(p)]
            if alive:
                raise AssertionError(f"umount.hoardfs returned while daemon {alive} still runs")
        return r

    def remount(self, drop_cache=False):
        self.umount()
        if drop_cache:
            shutil.rmtree(self.cache)
            os.mkdir(self.cache)
        self.mount()

    def stat_json(self, mnt=None):
        import json
        r = self.tool([CLI, "stat", "--json", mnt or self.mnt])
        if r.returncode != 0:
            raise AssertionError("hoardfs stat failed: " + r.describe())
        try:
            data = json.loads(r.stdout)
        except ValueError as e:
            raise AssertionError(f"hoardfs stat --json printed invalid JSON ({e}): {r.stdout!r}")
        for key in ("entries", "inodes", "blocks", "data_bytes", "dedup_bytes",
                    "compressed_bytes", "metadata_bytes", "cache_bytes", "dirty_bytes"):
            if not isinstance(data.get(key), int) or isinstance(data.get(key), bool):
                raise AssertionError(f"hoardfs stat --json: key {key!r} missing or not an "
                                     f"integer in {data}")
        return data

    def stored_files(self):
        """Every file the local backend stored, as absolute paths."""
        found = []
        for dirpath, _dirs, files in os.walk(self.storage):
            found.extend(os.path.join(dirpath, f) for f in files)
        return sorted(found)

    # --- cleanup ---------------------------------------------------------

    def force_unmount(self, mnt):
        if not is_mounted(mnt):
            return
        try:
            r = self.tool([UMOUNT, mnt], timeout=120)
            if r.returncode != 0:
                log("cleanup: " + r.describe())
        except subprocess.TimeoutExpired:
            log(f"cleanup: umount.hoardfs {mnt} timed out")
        if is_mounted(mnt):
            log(f"cleanup: lazy unmount of {mnt}")
            subprocess.run(["fusermount3", "-u", "-z", mnt], check=False)

    def cleanup(self):
        for mnt in [m for m in mount_points() if m.startswith(self.base + "/")]:
            self.force_unmount(mnt)
        for pid in self.daemon_pids:
            if pid_alive(pid):
                log(f"cleanup: daemon {pid} still running, sending SIGTERM")
                os.kill(pid, signal.SIGTERM)
                try:
                    wait_until(lambda: not pid_alive(pid), 20, f"daemon {pid} to exit")
                except AssertionError:
                    os.kill(pid, signal.SIGKILL)
        if os.environ.get("HOARDFS_E2E_KEEP"):
            log(f"kept {self.base}")
        elif not any(m.startswith(self.base + "/") for m in mount_points()):
            shutil.rmtree(self.base, ignore_errors=True)


@contextlib.contextmanager
def scratch_dir(prefix):
    """A fresh directory under /tmp (source trees, reference trees, restores)
    for the length of the with block; removed afterwards, or kept and named
    in the log with HOARDFS_E2E_KEEP=1, like the Hoard's own directory."""
    path = tempfile.mkdtemp(prefix=prefix, dir="/tmp")
    try:
        yield path
    finally:
        if os.environ.get("HOARDFS_E2E_KEEP"):
            log(f"kept {path}")
        else:
            shutil.rmtree(path, ignore_errors=True)


# --- checks --------------------------------------------------------------


class Checks:
    """Runs named checks, reports each, and keeps going after a failure."""

    def __init__(self, title):
        self.title = title
        self.passed = []
        self.failed = []

    def run(self, name, fn, *args, **kwargs):
        start = time.monotonic()
        try:
            fn(*args, **kwargs)
        except Exception:  # noqa: BLE001 - report every failure, run the next check
            self.failed.append(name)
            log(f"FAIL {name}:")
            log("    " + traceback.format_exc().rstrip().replace("\n", "\n    "))
            return False
        self.passed.append(name)
        log(f"ok   {name} ({time.monotonic() - start:.1f}s)")
        return True

    def finish(self):
        log(f"{self.title}: {len(self.passed)} passed, {len(self.failed)} failed")
        if self.failed:
            log("failed: " + ", ".join(self.failed))
        sys.exit(1 if self.failed else 0)


def expect_errno(expected, fn, *args, **kwargs):
    """Calls fn and asserts that it fails with errno `expected` (or one of a
    tuple of errnos)."""
    wanted = expected if isinstance(expected, tuple) else (expected,)
    try:
        fn(*args, **kwargs)
    except OSError as e:
        if e.errno in wanted:
            return e
        raise AssertionError(f"{getattr(fn, '__name__', fn)}{args}: expected "
                             f"{'/'.join(errno.errorcode[w] for w in wanted)}, got "
                             f"{errno.errorcode.get(e.errno, e.errno)} ({e})")
    raise AssertionError(f"{getattr(fn, '__name__', fn)}{args}: expected "
                         f"{'/'.join(errno.errorcode[w] for w in wanted)}, but it succeeded")


def read_bytes(path):
    with open(path, "rb") as f:
        return f.read()


def write_bytes(path, data):
    with open(path, "wb") as f:
        f.write(data)


def check_eq(actual, expected, what):
    if actual != expected:
        raise AssertionError(f"{what}: expected {expected!r}, got {actual!r}")


# --- tree snapshots --------------------------------------------------------

SAMPLE_LIMIT = 256 << 20  # files larger than this are hashed on samples only


def file_digest(path, size):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        if size <= SAMPLE_LIMIT:
            while True:
                chunk = f.read(1 << 20)
                if not chunk:
                    break
                h.update(chunk)
        else:
            for off in range(0, size, size // 64):
                f.seek(off)
                h.update(f.read(65536))
            f.seek(max(0, size - 65536))
            h.update(f.read())
    return h.hexdigest()


def xattrs_of(path):
    out = {}
    for name in sorted(os.listxattr(path, follow_symlinks=False)):
        out[name] = os.getxattr(path, name, follow_symlinks=False)
    return out


def snapshot(root, with_atime=False, with_ctime=False, with_blocks=False):
    """Everything observable about a tree, keyed by path relative to root:
    type, mode, owner, size, nanosecond mtime, link count, device number,
    symlink target, xattrs, content digest, and hard-link group (the first
    path, in sorted order, of the same inode)."""
    result = {}
    first_path_of_inode = {}

    def visit(rel):
        path = os.path.join(root, rel) if rel else root
        st = os.lstat(path)
        rec = {
            "type": stat.S_IFMT(st.st_mode),
            "mode": stat.S_IMODE(st.st_mode),
            "uid": st.st_uid,
            "gid": st.st_gid,
            "mtime_ns": st.st_mtime_ns,
            "nlink": st.st_nlink,
            "xattrs": xattrs_of(path),
        }
        if with_atime:
            rec["atime_ns"] = st.st_atime_ns
        if with_ctime:
            rec["ctime_ns"] = st.st_ctime_ns
        if not stat.S_ISDIR(st.st_mode):
            rec["size"] = st.st_size
            rec["link_group"] = first_path_of_inode.setdefault(st.st_ino, rel)
        if stat.S_ISREG(st.st_mode):
            rec["sha256"] = file_digest(path, st.st_size)
            if with_blocks:
                rec["blocks_small"] = st.st_blocks * 512 <= st.st_size
        elif stat.S_ISLNK(st.st_mode):
            rec["target"] = os.readlink(path)
        elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
            rec["rdev"] = st.st_rdev
        result[rel or "."] = rec
        if stat.S_ISDIR(st.st_mode):
            for name in sorted(os.listdir(path)):
                visit(os.path.join(rel, name) if rel else name)

    visit("")
    return result


def diff_snapshots(expected, actual, ignore=()):
    """Lists the differences between two snapshots as readable lines."""
    lines = []
    for rel in sorted(set(expected) | set(actual)):
        if rel not in actual:
            lines.append(f"missing: {rel!r}")
            continue
        if rel not in expected:
            lines.append(f"unexpected: {rel!r}")
            continue
        e, a = expected[rel], actual[rel]
        for key in sorted(set(e) | set(a)):
            if key in ignore:
                continue
            if e.get(key) != a.get(key):
                lines.append(f"{rel!r}: {key} expected {e.get(key)!r}, got {a.get(key)!r}")
    return lines


def assert_same_tree(expected, actual, what, ignore=()):
    lines = diff_snapshots(expected, actual, ignore)
    if lines:
        shown = "\n    ".join(lines[:40])
        more = f"\n    ... and {len(lines) - 40} more" if len(lines) > 40 else ""
        raise AssertionError(f"{what}: {len(lines)} differences:\n    {shown}{more}")
