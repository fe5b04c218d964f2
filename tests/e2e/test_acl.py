#!/usr/bin/python3
"""POSIX ACLs through a real mount (mount.hoardfs -o acl).

1. Without the option, setfacl is refused ("Operation not supported") and
   nothing is stored.
2. With it: setfacl/getfacl give what they give on ext4 (the mode follows a
   new access ACL, chmod rewrites the mask, a minimal ACL leaves only the
   mode), new files and directories inherit a default ACL and the umask is
   ignored under one, and the kernel enforces named-user entries for
   another user (uid 65534 reads a 0640 root file it is granted, and is
   refused one it is denied although "other" may read).
3. `rsync -aHAX` of a tree with access and default ACLs into the mount, a
   remount with the cache deleted, and a restore into a fresh directory:
   `getfacl -R` is the same at every step.
"""

import errno
import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (Checks, Hoard, assert_same_tree, check_eq, log, require_environment,  # noqa: E402
                         scratch_dir, skip, snapshot)

RSYNC = ["rsync", "-aHAX", "--numeric-ids"]


def run(argv, cwd=None, umask=None, check=True):
    proc = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=300,
                          preexec_fn=(lambda: os.umask(umask)) if umask is not None else None)
    if check and (proc.returncode != 0 or proc.stderr.strip()):
        raise AssertionError(f"{' '.join(argv)} -> exit {proc.returncode}\n  stdout: {proc.stdout[-2000:]}\n"
                             f"  stderr: {proc.stderr[-2000:]}")
    return proc


def getfacl(root):
    """getfacl -R of a tree, paths relative to it, numeric ids, one block per
    path in path order (the walk follows directory order)."""
    out = run(["getfacl", "-R", "-n", "-p", "."], cwd=root).stdout
    return "\n\n".join(sorted(block.strip() for block in out.split("\n\n") if block.strip()))


def fresh_dir(root, name):
    """A new 0755 directory (whatever the umask) for one step."""
    d = os.path.join(root, name)
    os.mkdir(d)
    os.chmod(d, 0o755)
    return d


def touch(path, mode=0o644):
    os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode))


def refused_without_acl(h):
    f = os.path.join(h.mnt, "plain")
    touch(f)
    r = run(["setfacl", "-m", "u:1000:rwx", f], check=False)
    if r.returncode == 0 or "not supported" not in r.stderr:
        raise AssertionError(f"setfacl without -o acl: exit {r.returncode}, {r.stderr.strip()!r}")
    check_eq(os.listxattr(f), [], "xattrs after a refused setfacl")
    check_eq(os.stat(f).st_mode & 0o7777, 0o644, "mode after a refused setfacl")


def access_acl_and_mode(h, ext4):
    """The same steps on the mount and on a local directory: same getfacl and modes."""
    results = []
    for root in (h.mnt, ext4):
        d = fresh_dir(root, "access")
        touch(os.path.join(d, "f"))
        run(["setfacl", "-m", "u:1000:rwx,g:50:r", os.path.join(d, "f")])
        mode_after_set = os.stat(os.path.join(d, "f")).st_mode & 0o7777
        os.chmod(os.path.join(d, "f"), 0o640)
        touch(os.path.join(d, "minimal"))
        run(["setfacl", "-m", "u::rwx,g::r,o::-", os.path.join(d, "minimal")])
        results.append((getfacl(d), mode_after_set, os.listxattr(os.path.join(d, "minimal"))))
    check_eq(results[0][1], 0o674, "mode of a 0644 file after setfacl u:1000:rwx,g:50:r (group bits: the mask)")
    check_eq(results[0][2], [], "xattrs of a file whose ACL says no more than its mode")
    check_eq(results[0], results[1], "getfacl, mode after setfacl and xattrs: hoardfs vs. a local directory")


def default_acl_inherited(h, ext4):
    results = []
    for root in (h.mnt, ext4):
        d = fresh_dir(root, "inherit")
        run(["setfacl", "-d", "-m", "u:1000:rwx,g::rx,o::-", d])
        # umask 077 would make 0600/0700; under a default ACL it is ignored.
        run(["touch", os.path.join(d, "new-file")], umask=0o077)
        run(["mkdir", os.path.join(d, "new-dir")], umask=0o077)
        run(["touch", os.path.join(d, "new-dir", "deeper")], umask=0o077)
        run(["touch", os.path.join(root, "outside")], umask=0o077)
        modes = {n: os.stat(os.path.join(d, n)).st_mode & 0o7777 for n in ("new-file", "new-dir")}
        modes["outside"] = os.stat(os.path.join(root, "outside")).st_mode & 0o7777
        results.append((getfacl(d), modes))
        os.unlink(os.path.join(root, "outside"))
    check_eq(results[0][1], {"new-file": 0o660, "new-dir": 0o770, "outside": 0o600},
             "modes under a default ACL (umask ignored) and outside it (umask 077)")
    check_eq(results[0], results[1], "getfacl and modes of inherited ACLs: hoardfs vs. a local directory")


def enforced_for_another_user(h):
    d = fresh_dir(h.mnt, "enforce")
    for name, mode, spec in (("granted", 0o640, "u:65534:r"), ("denied", 0o644, "u:65534:-"),
                             ("writable", 0o644, "u:65534:rw")):
        with open(os.path.join(d, name), "wb") as f:
            f.write(b"content")
        os.chmod(os.path.join(d, name), mode)
        run(["setfacl", "-m", spec, os.path.join(d, name)])
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        problems = []

        def expect(desc, err, fn, *args):
            try:
                fn(*args)
                if err:
                    problems.append(f"{desc}: succeeded, expected {errno.errorcode[err]}")
            except OSError as e:
                if e.errno != err:
                    problems.append(f"{desc}: {e} (expected {errno.errorcode[err] if err else 'success'})")

        def read(name):
            with open(os.path.join(d, name), "rb") as fh:
                fh.read()

        def write(name):
            with open(os.path.join(d, name), "ab") as fh:
                fh.write(b"more")

        try:
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            expect("read a 0640 root file granted u:65534:r", 0, read, "granted")
            expect("write a file granted u:65534:r", errno.EACCES, write, "granted")
            expect("read a 0644 root file denied u:65534:-", errno.EACCES, read, "denied")
            expect("write a 0644 root file granted u:65534:rw", 0, write, "writable")
        except BaseException as e:  # noqa: BLE001 - reported to the parent
            problems.append(f"child error: {e!r}")
        os.write(w, json.dumps(problems).encode())
        os._exit(0)
    os.close(w)
    out = b""
    while chunk := os.read(r, 65536):
        out += chunk
    os.close(r)
    os.waitpid(pid, 0)
    problems = json.loads(out.decode())
    if problems:
        raise AssertionError("as uid 65534:\n      " + "\n      ".join(problems))


def make_source(src):
    os.makedirs(os.path.join(src, "shared", "sub"))
    for i in range(5):
        with open(os.path.join(src, "shared", f"file{i}"), "wb") as f:
            f.write(os.urandom(1000 * (i + 1)))
    with open(os.path.join(src, "shared", "sub", "deep"), "wb") as f:
        f.write(b"deep")
    os.link(os.path.join(src, "shared", "file0"), os.path.join(src, "shared", "link0"))
    os.symlink("file1", os.path.join(src, "shared", "sym"))
    run(["setfacl", "-m", "u:1000:rwx,g:50:rx,m::rwx", os.path.join(src, "shared")])
    run(["setfacl", "-d", "-m", "u:1000:rwx,g:50:r", os.path.join(src, "shared")])
    run(["setfacl", "-m", "u:1001:rw", os.path.join(src, "shared", "file1")])
    run(["setfacl", "-m", "g:60:r,m::r", os.path.join(src, "shared", "file2")])
    run(["setfacl", "-m", "u:1002:-", os.path.join(src, "shared", "sub", "deep")])
    run(["setfacl", "-d", "-m", "o::-", os.path.join(src, "shared", "sub")])
    os.setxattr(os.path.join(src, "shared", "file3"), "user.note", b"kept too")
    # Times well in the past: rsync leaves the time of a new file alone when
    # it falls in the same second as its source's.
    for d, dirs, files in os.walk(src, topdown=False):
        for name in dirs + files + ([] if d != src else ["."]):
            os.utime(os.path.join(d, name), ns=(1_500_000_000_123_456_789,) * 2, follow_symlinks=False)


def main():
    require_environment()
    for tool in ("setfacl", "getfacl", "rsync"):
        if run(["which", tool], check=False).returncode != 0:
            skip(f"{tool} is not installed (scripts/install-deps.sh installs acl and rsync)")
    checks = Checks("POSIX ACLs")
    with Hoard("acl") as h, scratch_dir("hoardfs-acl-src-") as src, scratch_dir("hoardfs-acl-ref-") as ext4, \
            scratch_dir("hoardfs-acl-restore-") as restore:
        probe = os.path.join(ext4, "probe")
        touch(probe)
        if run(["setfacl", "-m", "u:1000:r", probe], check=False).returncode != 0:
            skip(f"the local disk under {ext4} does not take ACLs, nothing to compare with")
        os.unlink(probe)
        checks.run("mkfs_and_mount_without_acl", lambda: (h.mkfs(), h.mount()))
        checks.run("setfacl_refused_without_acl", refused_without_acl, h)
        if not checks.run("remount_with_acl", lambda: (h.umount(), h.mount("--acl", "--allow-other"))):
            return checks.finish()
        checks.run("access_acl_sets_mode_chmod_sets_mask", access_acl_and_mode, h, ext4)
        checks.run("default_acl_inherited_umask_ignored", default_acl_inherited, h, ext4)
        checks.run("named_entries_enforced_for_another_user", enforced_for_another_user, h)

        make_source(src)
        expected = getfacl(src)
        log(f"source tree: {expected.count('# file:')} entries listed by getfacl")
        dst = os.path.join(h.mnt, "backup")
        checks.run("rsync_aHAX_into_the_mount",
                   lambda: (run([*RSYNC, src + "/", dst + "/"]),
                            check_eq(getfacl(dst), expected, "getfacl -R of the copy in the mount"),
                            assert_same_tree(snapshot(src), snapshot(dst), "the copy in the mount")))
        checks.run("acls_after_remount_without_cache",
                   lambda: (h.remount(drop_cache=True),
                            check_eq(getfacl(dst), expected, "getfacl -R after a remount with the cache deleted")))
        checks.run("restore_with_rsync_aHAX",
                   lambda: (run([*RSYNC, dst + "/", restore + "/"]),
                            check_eq(getfacl(restore), expected, "getfacl -R of the restored tree"),
                            assert_same_tree(snapshot(src), snapshot(restore), "the restored tree")))
        return checks.finish()


if __name__ == "__main__":
    sys.exit(main())
