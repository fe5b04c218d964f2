#!/usr/bin/python3
"""The backup helper (src/tools/hoardfs-backup) through a real mount.

Five runs at made-up times (--now) over a changing source: each kept backup
equals the source as it was at its run, backups are locked, unchanged data
is stored once (stat: dedup well below the logical size), an interrupted
run's leftover is cleaned up, and the age policy keeps exactly the newest
backup of each of the last --keep-daily days / --keep-weekly weeks /
--keep-monthly months. Expiring a backup frees the small files only it
held, and the helper then compacts the mount: a manual `hoardfs ctrl compact`
afterwards finds nothing left to do.
"""

import errno
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import (CLI, Checks, Hoard, assert_same_tree, expect_errno, log,  # noqa: E402
                         require_environment, snapshot)

HELPER = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))),
                      "src", "tools", "hoardfs-backup")
RUNS = ["2026-10-30T030000", "2026-11-01T030000", "2026-11-02T030000", "2026-11-02T150000",
        "2026-11-10T030000"]
# --keep-daily 2 --keep-weekly 2 --keep-monthly 2: days 11-10 and 11-02 (15:00),
# weeks 46 (11-10) and 45 (11-02 15:00), months 11 (11-10) and 10 (10-30).
EXPECTED = ["2026-10-30T030000", "2026-11-02T150000", "2026-11-10T030000"]


def backup(h, src, dest, now, outputs):
    quiet = ["--quiet"] if now != RUNS[-1] else []  # the last run, which expires 11-01, tells what it does
    proc = subprocess.run([sys.executable, HELPER, *quiet, "--keep-daily", "2", "--keep-weekly", "2",
                           "--keep-monthly", "2", "--now", now, "--hoardfs", CLI, src, dest],
                          capture_output=True, text=True, timeout=600)
    if proc.returncode != 0 or proc.stderr.strip():
        raise AssertionError(f"hoardfs-backup --now {now} -> exit {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
    outputs[now] = proc.stdout


def help_describes_the_steps():
    proc = subprocess.run([sys.executable, HELPER, "--help"], capture_output=True, text=True, timeout=60)
    if proc.returncode != 0:
        raise AssertionError(f"hoardfs-backup --help -> exit {proc.returncode}\n{proc.stderr}")
    for text in ("--keep-daily", "--now", "--no-compact", "hoardfs ctrl compact", "Exit status"):
        if text not in proc.stdout:
            raise AssertionError(f"hoardfs-backup --help does not mention {text}:\n{proc.stdout}")


def main():
    require_environment()
    checks = Checks("backup helper")
    checks.run("help_describes_the_steps", help_describes_the_steps)
    work = tempfile.mkdtemp(prefix="hoardfs-backup-src-", dir="/tmp")
    try:
        src = os.path.join(work, "src")
        os.mkdir(src)
        with open(os.path.join(src, "big.bin"), "wb") as f:
            f.write(os.urandom(3 << 20))
        with Hoard("backup") as h:
            if not checks.run("mkfs_and_mount", lambda: (h.mkfs(), h.mount())):
                checks.finish()
            dest = os.path.join(h.mnt, "backups")
            os.mkdir(dest)
            states = {}
            outputs = {}
            for i, now in enumerate(RUNS):
                with open(os.path.join(src, "journal.txt"), "a") as f:
                    f.write(f"run {i} at {now}\n")
                # Small files packed together: from run 1 on, n0..n7 change every run
                # and n8, n9 stay. When 11-01 expires (run 4), its n0..n7 go and the
                # pack it wrote keeps only n8 and n9: mostly unused.
                notes = os.path.join(src, "notes")
                os.makedirs(notes, exist_ok=True)
                for k in range(8 if i > 1 else 10 if i == 1 else 0):
                    with open(os.path.join(notes, f"n{k}"), "wb") as f:
                        f.write(os.urandom(3000 + 100 * k))
                    # Same size as last run's: only a new whole second tells rsync.
                    os.utime(os.path.join(notes, f"n{k}"), (1_700_000_000 + i * 100 + k,) * 2)
                # rsync compares directory times to the second (see test_rsync.py):
                # distinct whole seconds make it set the copy's time every run.
                for d in (notes, src):
                    os.utime(d, ns=(1_700_000_000_000_000_000 + i * 1_000_000_007,) * 2)
                if i == 3:  # an interrupted run left this behind
                    os.mkdir(os.path.join(dest, "2026-11-02T120000.incomplete"))
                checks.run(f"backup_{now}", backup, h, src, dest, now, outputs)
                states[now] = snapshot(src)
                # Uploaded now, so the expired backups' blocks are in packs.
                subprocess.run([CLI, "ctrl", "flushcache", "--quiet", h.mnt], check=True)
            checks.run("policy_keeps_the_expected_backups",
                       lambda: sorted(os.listdir(dest)) == EXPECTED or
                       (_ for _ in ()).throw(AssertionError(f"kept {sorted(os.listdir(dest))}, expected {EXPECTED}")))
            for now in EXPECTED:
                checks.run(f"backup_{now}_is_the_source_of_its_time",
                           lambda now=now: assert_same_tree(states[now], snapshot(os.path.join(dest, now)),
                                                            f"backup {now}"))
            checks.run("backups_are_locked",
                       lambda: expect_errno(errno.EPERM, os.unlink, os.path.join(dest, EXPECTED[0], "big.bin")))

            def stored_once():
                subprocess.run([CLI, "ctrl", "flushcache", "--quiet", h.mnt], check=True)
                s = h.stat_json()
                log(f"data {s['data_bytes']} bytes, after dedup {s['dedup_bytes']} bytes")
                if s["data_bytes"] < 3 * (3 << 20) or s["dedup_bytes"] > 2 * (3 << 20):
                    raise AssertionError(f"three backups of a 3 MiB file should share its blocks: {s}")
            checks.run("unchanged_data_is_stored_once", stored_once)

            def compacted_by_the_helper():
                said = [line for line in outputs.get(RUNS[-1], "").splitlines() if line.startswith("Stored data:")]
                log(f"last run: {said}")
                m = re.match(r"Stored data: (.*) before, (.*) after compaction", said[0]) if said else None
                if not m or m.group(1) == m.group(2):
                    raise AssertionError("the run that expired a backup did not compact away its files: "
                                         + outputs.get(RUNS[-1], ""))
                before = h.stat_json()["compressed_bytes"]
                subprocess.run([CLI, "ctrl", "compact", "--quiet", h.mnt], check=True)
                after = h.stat_json()["compressed_bytes"]
                if after != before:
                    raise AssertionError(f"hoardfs ctrl compact after the runs went from {before} to {after} "
                                         "stored bytes: the helper did not compact after expiring")
            checks.run("helper_compacted_after_expiring", compacted_by_the_helper)
            checks.run("survives_a_remount_without_cache", h.remount, True)
            checks.run("after_remount", lambda: assert_same_tree(states[EXPECTED[-1]],
                                                                 snapshot(os.path.join(dest, EXPECTED[-1])),
                                                                 "newest backup after remount"))
            checks.run("final_umount", h.umount)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    checks.finish()


if __name__ == "__main__":
    main()
