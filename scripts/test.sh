#!/bin/bash
# Installs the dependencies, builds, and runs every test (unit, contract and
# end-to-end) with meson. Exit status is meson test's.
# Usage: scripts/test.sh [extra meson test args, e.g. --suite e2e]
#
# Test servers hook: every executable script tests/servers/*.sh is run as
#   tests/servers/NAME.sh start    before the tests, and
#   tests/servers/NAME.sh stop     afterwards (always, also on failure).
# A "start" may append `export KEY=VALUE` lines to the file named by
# $HOARDFS_TEST_ENV (e.g. an endpoint or credentials file for the S3/Swift
# tests); that file is sourced before meson test runs, so the tests see them.
set -euo pipefail
cd "$(dirname "$0")/.."
builddir=build

scripts/install-deps.sh
scripts/build.sh "$builddir"

export HOARDFS_TEST_ENV
HOARDFS_TEST_ENV="$(mktemp /tmp/hoardfs-test-env.XXXXXX)"
started=()
stop_servers() {
  local i
  for ((i = ${#started[@]} - 1; i >= 0; i--)); do
    "${started[$i]}" stop || echo "test.sh: ${started[$i]} stop failed" >&2
  done
  rm -f "$HOARDFS_TEST_ENV"
}
trap stop_servers EXIT
for server in tests/servers/*.sh; do
  [ -x "$server" ] || continue
  echo "test.sh: starting $server"
  # A server that cannot start must not hide the other results: its tests
  # find no endpoint in the environment and report SKIP with the reason.
  if ! "$server" start; then
    echo "test.sh: $server did not start; the tests that need it will be skipped" >&2
  fi
  started+=("$server")
done
# shellcheck disable=SC1090
source "$HOARDFS_TEST_ENV"

status=0
meson test -C "$builddir" --print-errorlogs "$@" || status=$?

# One closing line with the totals, read from meson's machine-readable log.
/usr/bin/python3 - "$builddir/meson-logs/testlog.json" <<'PY' || true
import json, sys
counts = {}
with open(sys.argv[1]) as f:
    for line in f:
        if line.strip():
            r = json.loads(line)["result"]
            counts[r] = counts.get(r, 0) + 1
passed = counts.get("OK", 0) + counts.get("EXPECTEDFAIL", 0)
skipped = counts.get("SKIP", 0)
failed = sum(counts.values()) - passed - skipped
print(f"hoardfs: {passed} passed, {failed} failed, {skipped} skipped")
PY
exit "$status"
