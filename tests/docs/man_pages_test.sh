#!/bin/bash
# Renders every man page in the folder given as $1 (default: man/ next to
# tests/) with man(1) and fails if groff or man prints anything on stderr
# (warnings about unknown macros, bad escapes, lines that cannot be broken...).
# Exit 77 (skipped) when man is not installed.
set -uo pipefail

dir=${1:-$(dirname "$0")/../../man}
if ! command -v man >/dev/null 2>&1; then
  echo "SKIP: man is not installed (apt-get install man-db groff-base)"
  exit 77
fi

shopt -s nullglob
pages=("$dir"/*.[18])
if [ ${#pages[@]} -eq 0 ]; then
  echo "FAIL: no man pages (*.1, *.8) in $dir"
  exit 1
fi

failed=0
for page in "${pages[@]}"; do
  warnings=$(LC_ALL=C.UTF-8 MANWIDTH=80 man --warnings -E UTF-8 -l "$page" 2>&1 >/dev/null)
  status=$?
  if [ $status -ne 0 ] || [ -n "$warnings" ]; then
    echo "FAIL: $page (man exit $status)"
    [ -n "$warnings" ] && printf '%s\n' "$warnings" | sed 's/^/    /'
    failed=1
  else
    echo "ok: $page"
  fi
done
exit $failed
