#!/usr/bin/python3
"""tar in and out of a real mount, and editor-style saves.

- A generated tree is extracted into the mount with GNU tar (pax format, so
  nanosecond times, xattrs, owners and hard links travel), an archive is also
  written onto the mount and extracted from it; after a remount without the
  cache both must still equal the source.
- Editor-like saves: write a temporary file, fsync, rename it over the
  original, fsync the directory (vim/emacs/VS Code style), many times, with a
  reader holding the old version open, and a backup-file variant.
"""

import os
import random
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import treegen  # noqa: E402
from hoardfs_e2e import (Checks, Hoard, assert_same_tree, check_eq, require_environment,  # noqa: E402
                         scratch_dir, snapshot)

TAR_OPTS = ["--format=posix", "--xattrs", "--xattrs-include=*", "--numeric-owner"]


def sh(cmd):
    proc = subprocess.run(["bash", "-o", "pipefail", "-c", cmd], capture_output=True,
                          timeout=600)
    if proc.returncode != 0 or proc.stderr.strip():
        raise AssertionError(f"{cmd} -> exit {proc.returncode}\n  stderr: "
                             f"{proc.stderr.decode(errors='replace')[-3000:]}")


def q(path):
    return "'" + path.replace("'", "'\\''") + "'"


def tar_copy(src, dst):
    os.mkdir(dst)
    opts = " ".join(TAR_OPTS)
    sh(f"tar -C {q(src)} {opts} -cpf - . | tar -C {q(dst)} {opts} -xpf -")


def tar_via_archive(src, archive, dst):
    os.mkdir(dst)
    opts = " ".join(TAR_OPTS)
    sh(f"tar -C {q(src)} {opts} -cpf {q(archive)} .")
    sh(f"tar -tf {q(archive)} > /dev/null")
    sh(f"tar -C {q(dst)} {opts} -xpf {q(archive)}")


def editor_save(path, content, mode_from=None):
    """How editors save: temp file in the same dir, fsync, rename, fsync dir."""
    d = os.path.dirname(path)
    tmp = os.path.join(d, "." + os.path.basename(path) + ".swp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, content)
        if mode_from is not None:
            st = os.stat(mode_from)
            os.fchmod(fd, stat.S_IMODE(st.st_mode))
            os.fchown(fd, st.st_uid, st.st_gid)
            for name in os.listxattr(mode_from):
                os.setxattr(tmp, name, os.getxattr(mode_from, name))
        os.fsync(fd)
    finally:
        os.close(fd)
    os.rename(tmp, path)
    dfd = os.open(d, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dfd)
    finally:
        os.close(dfd)


def read(path):
    with open(path, "rb") as f:
        return f.read()


def editor_saves(m):
    d = os.path.join(m, "editor")
    os.mkdir(d)
    doc = os.path.join(d, "notes.txt")
    rng = random.Random(3)
    content = b"first version\n"
    with open(doc, "wb") as f:
        f.write(content)
    os.chmod(doc, 0o640)
    os.chown(doc, 1000, 100)
    os.setxattr(doc, "user.mime_type", b"text/plain")
    reader = None
    for i in range(150):
        new = content + f"line {i}: ".encode() + treegen.text(rng, rng.randint(0, 3000))
        if i == 75:
            reader = open(doc, "rb")
            held = content
        editor_save(doc, new, mode_from=doc)
        content = new
        check_eq(read(doc), content, f"content after save {i}")
    check_eq(reader.read(), held, "a reader holding the replaced version")
    reader.close()
    st = os.stat(doc)
    check_eq((stat.S_IMODE(st.st_mode), st.st_uid, st.st_gid, st.st_nlink),
             (0o640, 1000, 100, 1), "mode, owner and links after saves")
    check_eq(os.getxattr(doc, "user.mime_type"), b"text/plain", "xattr after saves")
    check_eq(sorted(os.listdir(d)), ["notes.txt"], "no temporary files left")

    # Backup-file variant (vim with 'backup'): rename to notes.txt~, write anew.
    backup = doc + "~"
    os.rename(doc, backup)
    with open(doc, "wb") as f:
        f.write(content + b"saved with a backup\n")
        f.flush()
        os.fsync(f.fileno())
    os.unlink(backup)
    content += b"saved with a backup\n"
    check_eq(read(doc), content, "content after a backup-style save")
    return content


def main():
    require_environment()
    checks = Checks("tar_editor")
    with scratch_dir("hoardfs-tar-src-") as work:
        src = os.path.join(work, "src")
        os.mkdir(src)
        treegen.generate(src, seed=13, scale=0.3)
        os.unlink(os.path.join(src, "special", "sock"))  # tar does not archive sockets
        # The test itself on ext4 first: tar must round-trip what we compare.
        checks.run("tar_round_trip_outside_the_mount",
                   lambda: (tar_copy(src, os.path.join(work, "ext4-copy")),
                            assert_same_tree(snapshot(src),
                                             snapshot(os.path.join(work, "ext4-copy")),
                                             "tar copy on the local filesystem")))
        source = snapshot(src)
        with Hoard("tar") as h:
            if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount())):
                checks.finish()
            m = h.mnt
            into = os.path.join(m, "extracted")
            out = os.path.join(work, "from-archive")
            archive = os.path.join(m, "archive.tar")
            checks.run("tar_extract_into_mount",
                       lambda: (tar_copy(src, into),
                                assert_same_tree(source, snapshot(into), "tree extracted into "
                                                 "the mount")))
            checks.run("tar_archive_on_mount",
                       lambda: (tar_via_archive(src, archive, out),
                                assert_same_tree(source, snapshot(out), "tree extracted from an "
                                                 "archive on the mount")))
            saved = {}
            checks.run("editor_saves", lambda: saved.setdefault("doc", editor_saves(m)))

            def after_remount():
                h.remount(drop_cache=True)
                assert_same_tree(source, snapshot(into), "extracted tree after remount "
                                 "without cache")
                again = os.path.join(work, "from-archive-again")
                os.mkdir(again)
                sh(f"tar -C {q(again)} {' '.join(TAR_OPTS)} -xpf {q(archive)}")
                assert_same_tree(source, snapshot(again), "archive on the mount after remount")
                if "doc" in saved:
                    check_eq(read(os.path.join(m, "editor", "notes.txt")), saved["doc"],
                             "edited file after remount without cache")
                    check_eq(os.listdir(os.path.join(m, "editor")), ["notes.txt"],
                             "editor directory after remount")
            checks.run("intact_after_remount_without_cache", after_remount)
            checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
