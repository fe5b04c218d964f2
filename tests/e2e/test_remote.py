#!/usr/bin/python3
"""End to end on a real network backend: mkfs creates the bucket or
container, mount, rsync a tree in, unmount, delete the cache, mount again and
find the same tree; meanwhile a second mount from another cache folder is
refused (the lock); then a second mkfs is refused and bad credentials fail
fast with their exit code.

Usage: test_remote.py BACKEND, one of
  swift-s3    S3 through Swift's s3api (tests/servers/swift-aio.sh)
  rgw         Ceph's radosgw (tests/servers/ceph-rgw.sh), SigV2 + ListObjects v2
  s3rver      s3rver from npm (tests/servers/s3rver.sh), SigV2
  nginx-tls   Swift's s3api behind nginx with a private CA (tests/servers/nginx-tls.sh)
  swift-v1    Swift with v1 (TempAuth) login (tests/servers/swift-aio.sh)
  swift-ks    Swift with Keystone v3 (tests/servers/swift-keystone.sh)
The endpoints and credentials come from the HOARDFS_TEST_* variables those
scripts publish; without them the test exits 77 (SKIP) and says which are
missing. Every run uses a fresh bucket or container name.
"""

import os
import secrets
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treegen  # noqa: E402
from hoardfs_e2e import (MKFS, MOUNT, Checks, Hoard, assert_same_tree, log, require_environment,  # noqa: E402
                         scratch_dir, skip, snapshot)
from test_rsync import no_differences, rsync  # noqa: E402

EXIT_BAD_CREDENTIALS = 10
EXIT_NOT_EMPTY = 17
EXIT_MOUNTED_ELSEWHERE = 14


def env(*names):
    missing = [n for n in names if not os.environ.get(n)]
    if missing:
        skip(f"{', '.join(missing)} not set (the test server did not start; see tests/servers/)")
    return [os.environ[n] for n in names]


def backend_setup(which, name):
    """(url, backend options, login, password) for one test server."""
    if which == "swift-s3":
        host, key, secret = env("HOARDFS_TEST_SWIFT_S3", "HOARDFS_TEST_SWIFT_S3_KEY",
                                "HOARDFS_TEST_SWIFT_S3_SECRET")
        return f"s3c://{host}/{name}/fs1/", "no-ssl", key, secret
    if which == "rgw":
        host, key, secret = env("HOARDFS_TEST_RGW", "HOARDFS_TEST_RGW_KEY", "HOARDFS_TEST_RGW_SECRET")
        return f"s3c://{host}/{name}/", "no-ssl,sig=v2,list=v2", key, secret
    if which == "s3rver":
        host, key, secret = env("HOARDFS_TEST_S3RVER", "HOARDFS_TEST_S3RVER_KEY",
                                "HOARDFS_TEST_S3RVER_SECRET")
        # s3rver checks SigV2 signatures only, so bad credentials fail there.
        return f"s3c://{host}/{name}/", "no-ssl,sig=v2", key, secret
    if which == "nginx-tls":
        host, key, secret, ca = env("HOARDFS_TEST_NGINX_S3", "HOARDFS_TEST_NGINX_S3_KEY",
                                    "HOARDFS_TEST_NGINX_S3_SECRET", "HOARDFS_TEST_NGINX_CA")
        return f"s3c://{host}/{name}/", f"ssl-ca-path={ca}", key, secret
    if which == "swift-v1":
        host, login, password = env("HOARDFS_TEST_SWIFT", "HOARDFS_TEST_SWIFT_LOGIN",
                                    "HOARDFS_TEST_SWIFT_PASSWORD")
        return f"swift://{host}/{name}/backups/", "no-ssl", login, password
    if which == "swift-ks":
        host, region, login, password = env("HOARDFS_TEST_SWIFTKS_ENDPOINT", "HOARDFS_TEST_SWIFTKS_REGION",
                                            "HOARDFS_TEST_SWIFTKS_LOGIN", "HOARDFS_TEST_SWIFTKS_PASSWORD")
        return f"swiftks://{host}/{region}:{name}/", "no-ssl", login, password
    print(__doc__)
    sys.exit(2)


def authinfo(url, login, password, passphrase):
    return (f"[test]\nstorage-url = {url}\nbackend-login = {login}\n"
            f"backend-password = {password}\nfs-passphrase = {passphrase}\n")


def mkfs_creates_bucket(h, options):
    r = h.mkfs("--backend-options", options)
    if "Created the bucket or container" not in r.stdout:
        raise AssertionError("mkfs did not say it created the bucket or container: " + r.describe())


def second_mkfs_refused(h, options):
    r = h.mkfs("--backend-options", options, check=False)
    if r.returncode != EXIT_NOT_EMPTY:
        raise AssertionError(f"mkfs on a used location: expected exit {EXIT_NOT_EMPTY}: " + r.describe())


def second_mount_refused(h):
    """The single-writer lock on this server (conditional PUT or lease)."""
    other_cache = os.path.join(h.base, "cache-2")
    other_mnt = os.path.join(h.base, "mnt-2")
    os.makedirs(other_cache, exist_ok=True)
    os.makedirs(other_mnt, exist_ok=True)
    r = h.tool([MOUNT, "--cachedir", other_cache, *h.mount_args, h.url, other_mnt],
               stdin_text=h.passphrase + "\n")
    if r.returncode != EXIT_MOUNTED_ELSEWHERE or "mounted elsewhere" not in r.stderr:
        if r.returncode == 0:
            h.umount(other_mnt, check=False)
        raise AssertionError(f"a second mount from another cache: expected exit {EXIT_MOUNTED_ELSEWHERE}: "
                             + r.describe())


def bad_credentials_fail_fast(url, options, login):
    with Hoard("remote-badcreds", url=url,
               authinfo=authinfo(url, login, "definitely-not-the-password", "x")) as bad:
        start = time.monotonic()
        r = bad.tool([MKFS, "--backend-options", options, url], stdin_text="x\n")
        took = time.monotonic() - start
        if r.returncode != EXIT_BAD_CREDENTIALS:
            raise AssertionError(f"expected exit {EXIT_BAD_CREDENTIALS} for a wrong password: " + r.describe())
        if len(r.stderr_lines()) != 1:
            raise AssertionError("expected one line on stderr: " + r.describe())
        if took > 30:
            raise AssertionError(f"refused credentials took {took:.0f} s: they must not be retried")


def main():
    require_environment()
    if len(sys.argv) != 2:
        print(__doc__)
        sys.exit(2)
    which = sys.argv[1]
    name = "hoardfs-e2e-" + secrets.token_hex(4)
    url, options, login, password = backend_setup(which, name)
    checks = Checks(f"remote {which}")
    with scratch_dir("hoardfs-remote-src-") as work:
        src = os.path.join(work, "src")
        os.mkdir(src)
        summary = treegen.generate(src, seed=11, scale=0.3)
        log(f"{url}: generated source tree in {src}: {summary}")
        passphrase = "remote passphrase " + which
        with Hoard(f"remote-{which}", passphrase=passphrase, url=url,
                   authinfo=authinfo(url, login, password, passphrase)) as h:
            h.mount_args = ["--backend-options", options]
            if not checks.run("mkfs_creates_the_bucket", mkfs_creates_bucket, h, options):
                checks.finish()
            if not checks.run("mount", h.mount):
                checks.finish()
            checks.run("second_mount_from_another_cache_refused", second_mount_refused, h)
            if checks.run("rsync_in", rsync, src + "/", h.mnt + "/"):
                checks.run("same_tree_while_mounted",
                           lambda: assert_same_tree(snapshot(src), snapshot(h.mnt), "tree right after rsync"))
                checks.run("umount_delete_cache_mount", h.remount, True)
                checks.run("no_differences_after_cache_loss", no_differences, src, h.mnt,
                           "after unmount, cache deletion and mount")
            checks.run("final_umount", h.umount)
            checks.run("second_mkfs_refused", second_mkfs_refused, h, options)
        checks.run("bad_credentials_fail_fast", bad_credentials_fail_fast, url, options, login)
    checks.finish()


if __name__ == "__main__":
    main()
