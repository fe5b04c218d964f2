#!/usr/bin/env python3
"""What a command asks of FUSE: requests per opcode and how long each took.

  bench/fuse_requests.py [--json FILE] -- COMMAND [ARG ...]

Runs COMMAND with the kernel's fuse tracepoints on (fuse:fuse_request_send
and fuse:fuse_request_end, Linux 6.12+; root, tracefs) and prints, for each
opcode, how many requests were sent to any FUSE filesystem while it ran and
the time from send to end: the round trip as the caller sees it, daemon
work, wake-ups and queueing included. Comparing it with the daemon's own
cost (build/bench/fs_ops_bench) shows what the transport adds.

The figures are for understanding a workload, not for timing it: tracing
slows every request by a microsecond or two. Exit status: COMMAND's, or 2
for a usage error, 77 when tracing is not available here.
"""
import argparse
import json
import os
import re
import statistics
import subprocess
import sys

TRACEFS_CANDIDATES = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")
EVENTS = ("fuse_request_send", "fuse_request_end")
# "... 1234.567890: fuse_request_send: connection 40 req 18 opcode 1 (FUSE_LOOKUP) len 51"
LINE = re.compile(r"\s(\d+\.\d+): fuse_request_(send|end): connection (\d+) req (\d+)"
                  r"(?: opcode \d+ \((\w+)\))?")
BUFFER_KB = 65536  # per CPU: a million requests fit


def tracefs():
    for path in TRACEFS_CANDIDATES:
        if os.path.isdir(os.path.join(path, "events", "fuse")):
            return path
    return None


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


def parse(lines):
    """{opcode: [latency in microseconds]} and the count of requests with no end seen."""
    pending = {}
    latencies = {}
    for line in lines:
        m = LINE.search(line)
        if not m:
            continue
        stamp, kind, connection, unique, opcode = m.groups()
        key = (connection, unique)
        if kind == "send":
            pending[key] = (float(stamp), opcode)
        elif key in pending:
            start, opcode = pending.pop(key)
            latencies.setdefault(opcode, []).append((float(stamp) - start) * 1e6)
    return latencies, len(pending)


def summarize(latencies):
    rows = []
    for opcode, values in latencies.items():
        rows.append({"opcode": opcode, "count": len(values), "median_us": round(statistics.median(values), 1),
                     "mean_us": round(statistics.mean(values), 1), "total_ms": round(sum(values) / 1000, 3)})
    return sorted(rows, key=lambda r: -r["total_ms"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", help="also write the table as JSON to this file")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="-- COMMAND [ARG ...]")
    args = parser.parse_args()
    command = args.command[1:] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.print_usage(sys.stderr)
        print("fuse_requests.py: no command given", file=sys.stderr)
        return 2
    root = tracefs()
    if root is None or not os.access(os.path.join(root, "trace"), os.W_OK):
        print("fuse_requests.py: SKIP: no writable tracefs with fuse events (needs root and Linux 6.12+)",
              file=sys.stderr)
        return 77
    enables = [os.path.join(root, "events", "fuse", e, "enable") for e in EVENTS]
    size_file = os.path.join(root, "buffer_size_kb")
    with open(size_file) as f:
        old_size = f.read().split()[0]
    write(size_file, str(BUFFER_KB))
    write(os.path.join(root, "trace"), "")  # empties the buffer
    try:
        for path in enables:
            write(path, "1")
        status = subprocess.call(command)
    finally:
        for path in enables:
            write(path, "0")
    with open(os.path.join(root, "trace")) as f:
        header = [next(f, "") for _ in range(3)]
        latencies, unfinished = parse(f)
    write(os.path.join(root, "trace"), "")
    if old_size.isdigit():
        write(size_file, old_size)
    rows = summarize(latencies)
    lost = re.search(r"entries-in-buffer/entries-written: (\d+)/(\d+)", "".join(header))
    print(f"{'opcode':20} {'requests':>9} {'median us':>10} {'mean us':>9} {'total ms':>9}")
    for r in rows:
        print(f"{r['opcode']:20} {r['count']:9} {r['median_us']:10.1f} {r['mean_us']:9.1f} {r['total_ms']:9.1f}")
    if unfinished:
        print(f"({unfinished} requests had not ended when the command did)")
    if lost and lost.group(1) != lost.group(2):
        print(f"warning: the trace buffer overflowed ({lost.group(2)} events, {lost.group(1)} kept)", file=sys.stderr)
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"command": command, "requests": rows, "unfinished": unfinished}, f, indent=1)
    return status


if __name__ == "__main__":
    sys.exit(main())
