#!/usr/bin/python3
"""bench/fuse_requests.py on a real mount: it counts the requests a command
sends, per opcode, with their round-trip times.

1. rm -rf of a directory of 40 files, right after a remount (nothing
   cached in the kernel), sends exactly 40 FUSE_UNLINK and one FUSE_RMDIR;
   the --json file holds the same table as the printed one.
2. The command's exit status comes back unchanged; no command at all is a
   usage error (exit 2).
SKIP (77) where the kernel has no fuse tracepoints or tracefs is not
writable.
"""

import json
import os
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from hoardfs_e2e import Checks, Hoard, check_eq, log, require_environment, run_tool, skip, write_bytes  # noqa: E402

TOOL = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "bench", "fuse_requests.py")
FILES = 40


def run(*argv):
    return run_tool([sys.executable, TOOL, *argv])


def printed_rows(stdout):
    """{opcode: requests} from the printed table."""
    rows = {}
    for line in stdout.splitlines()[1:]:
        fields = line.split()
        if len(fields) == 5 and fields[0].startswith("FUSE_"):
            rows[fields[0]] = int(fields[1])
    return rows


def counts_an_rm(h):
    tree = os.path.join(h.mnt, "tree")
    os.mkdir(tree)
    for i in range(FILES):
        write_bytes(os.path.join(tree, f"f{i:02d}"), b"x" * (i + 1))
    h.remount()  # the kernel forgets every name: rm -rf has to ask for each
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        r = run("--json", out.name, "--", "rm", "-rf", tree)
        log(r.stdout.rstrip())
        check_eq(r.returncode, 0, "exit status of fuse_requests.py -- rm -rf")
        with open(out.name) as f:
            table = json.load(f)
    check_eq(os.path.exists(tree), False, "the tree is gone")
    rows = printed_rows(r.stdout)
    check_eq(rows.get("FUSE_UNLINK"), FILES, "FUSE_UNLINK requests")
    check_eq(rows.get("FUSE_RMDIR"), 1, "FUSE_RMDIR requests")
    check_eq({row["opcode"]: row["count"] for row in table["requests"]}, rows, "the JSON table")
    check_eq(table["command"], ["rm", "-rf", tree], "the JSON's command")
    for row in table["requests"]:
        if not (row["median_us"] > 0 and row["mean_us"] > 0 and row["total_ms"] > 0):
            raise AssertionError(f"implausible latencies: {row}")


def passes_exit_status():
    check_eq(run("--", "sh", "-c", "exit 3").returncode, 3, "the command's exit status")
    r = run()
    check_eq(r.returncode, 2, "exit status without a command")
    if "no command given" not in r.stderr:
        raise AssertionError("no one-line reason: " + r.stderr)


def main():
    require_environment()
    probe = run("--", "true")
    if probe.returncode == 77:
        skip(probe.stderr.strip())
    checks = Checks("fuse requests")
    with Hoard("requests") as h:
        h.mkfs()
        h.mount()
        checks.run("counts_the_requests_of_rm_rf", counts_an_rm, h)
        checks.run("passes_exit_status", passes_exit_status)
        checks.run("final_umount", h.umount)
    checks.finish()


if __name__ == "__main__":
    main()
