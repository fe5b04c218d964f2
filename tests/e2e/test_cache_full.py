#!/usr/bin/python3
"""A full cache disk: writes fail cleanly with ENOSPC (or wait), nothing that
was reported written is lost, nothing is corrupted, and writing works again
once there is space.

The cache directory is a small tmpfs; a filler file takes all its free
space while the mount is live.
"""

import errno
import hashlib
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import Checks, Hoard, check_eq, log, require_environment, skip  # noqa: E402

MiB = 1 << 20


def write_until_full(path, limit, fd=None):
    """Writes random 1 MiB chunks until ENOSPC or `limit` bytes; returns the bytes reported written."""
    digest = hashlib.sha256()
    done = 0
    if fd is None:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        while done < limit:
            chunk = os.urandom(MiB)
            try:
                n = os.write(fd, chunk)
            except OSError as e:
                if e.errno != errno.ENOSPC:
                    raise
                log(f"ENOSPC after {done} bytes, as expected")
                break
            digest.update(chunk[:n])
            done += n
            if n < len(chunk):
                log(f"short write after {done} bytes")
                break
    finally:
        try:
            os.close(fd)
        except OSError as e:  # close may report the failed write-back once more
            if e.errno != errno.ENOSPC:
                raise
    return done, digest.hexdigest()


def file_digest(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(MiB):
            h.update(chunk)
    return os.path.getsize(path), h.hexdigest()


def main():
    require_environment()
    checks = Checks("cache full")
    with Hoard("cachefull") as h:
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=96m", "tmpfs", h.cache], capture_output=True)
        if r.returncode != 0:
            skip(f"cannot mount a tmpfs for the cache: {r.stderr.decode().strip()}")
        try:
            checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount("--cachesize", "64M")))
            filler = None
            expected = {}

            def fill_disk():
                nonlocal filler
                filler = os.path.join(h.cache, "filler")
                with open(filler, "wb") as f:
                    try:
                        while True:
                            f.write(b"\0" * MiB)
                            f.flush()
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                log(f"cache disk full: {os.statvfs(h.cache).f_bavail} blocks free")

            # Opened while there is space; written once there is none.
            opened = []

            def create_on_full_disk_is_enospc():
                try:
                    os.close(os.open(os.path.join(h.mnt, "created-on-full-disk"), os.O_WRONLY | os.O_CREAT, 0o644))
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise AssertionError(f"create on a full cache disk: expected ENOSPC, got {e!r}")
                    return
                log("create on a full cache disk succeeded (the metadata still had room)")

            def write_on_full_disk():
                size, digest = write_until_full(os.path.join(h.mnt, "on-full-disk"), 40 * MiB, opened[0])
                st = os.stat(os.path.join(h.mnt, "on-full-disk"))
                if st.st_size != size:
                    raise AssertionError(f"{size} bytes reported written but the file has {st.st_size}")
                if size == 40 * MiB:
                    raise AssertionError("40 MiB went into a full 96 MiB cache disk without any error")
                expected["on-full-disk"] = (size, digest)

            def write_after_space_returns():
                os.unlink(filler)
                size, digest = write_until_full(os.path.join(h.mnt, "after"), 8 * MiB)
                if size != 8 * MiB:
                    raise AssertionError(f"only {size} bytes written with space back")
                expected["after"] = (size, digest)

            def reserve_files():
                return [os.path.join(d, "space-reserve") for d in (os.path.join(h.cache, e) for e in os.listdir(h.cache))
                        if os.path.exists(os.path.join(d, "space-reserve"))]

            def space_held_in_reserve():
                # Group commit opens batches only while 16 MiB of the cache
                # disk is held back for committing them once it is full.
                found = reserve_files()
                if len(found) != 1:
                    raise AssertionError(f"expected one space-reserve file in the cache folder, found {found}")
                held = os.stat(found[0]).st_blocks * 512
                if held < 16 * MiB:
                    raise AssertionError(f"space-reserve holds {held} bytes, expected at least 16 MiB")

            def reserve_gone_after_umount():
                if reserve_files():
                    raise AssertionError(f"space-reserve left behind after unmounting: {reserve_files()}")

            opened.append(os.open(os.path.join(h.mnt, "on-full-disk"), os.O_WRONLY | os.O_CREAT, 0o644))
            checks.run("space_held_in_reserve", space_held_in_reserve)
            checks.run("fill_the_cache_disk", fill_disk)
            checks.run("create_on_a_full_disk_fails_cleanly", create_on_full_disk_is_enospc)
            checks.run("write_fails_cleanly_on_a_full_disk", write_on_full_disk)
            def partial_write_leaves_nothing_past_the_end():
                # 256 KiB free: a 1 MiB write gets part of its block into the
                # cache file, then fails. Growing the file afterwards must
                # show zeros there, not the bytes of the failed write.
                with open(filler, "r+b") as f:
                    f.truncate(os.fstat(f.fileno()).st_size - 256 * 1024)
                path = os.path.join(h.mnt, "partial")
                fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
                try:
                    written = os.write(fd, os.urandom(MiB))
                except OSError as e:
                    if e.errno != errno.ENOSPC:
                        raise
                    written = 0
                finally:
                    try:
                        os.close(fd)
                    except OSError as e:
                        if e.errno != errno.ENOSPC:
                            raise
                log(f"1 MiB write with 256 KiB free: {written} bytes written")
                size = os.stat(path).st_size
                check_eq(size, written, "size of a file after a failed write")
                os.truncate(path, size + MiB)
                with open(path, "rb") as f:
                    f.seek(size)
                    tail = f.read()
                if tail != bytes(MiB):
                    raise AssertionError(f"growing the file past a failed write: {sum(1 for b in tail if b)} of "
                                         f"{len(tail)} bytes past the old end are not zero")
                os.unlink(path)

            checks.run("partial_write_leaves_nothing_past_the_end", partial_write_leaves_nothing_past_the_end)
            checks.run("write_works_when_space_returns", write_after_space_returns)

            checks.run("umount", h.umount)
            checks.run("reserve_gone_after_umount", reserve_gone_after_umount)
            subprocess.run(["umount", h.cache], check=True)
            os.makedirs(h.cache, exist_ok=True)
            checks.run("mount_with_an_empty_cache", h.mount)

            def contents_intact():
                for name, want in expected.items():
                    got = file_digest(os.path.join(h.mnt, name))
                    if got != want:
                        raise AssertionError(f"{name}: expected {want}, found {got}")
            checks.run("what_was_reported_written_is_intact", contents_intact)
            checks.run("final_umount", h.umount)
        finally:
            subprocess.run(["umount", h.cache], capture_output=True)
    checks.finish()


if __name__ == "__main__":
    main()
