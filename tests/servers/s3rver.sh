#!/usr/bin/env bash
# s3rver (npm) on 127.0.0.1 for the S3 contract tests: path-style, any region.
#
# Usage: tests/servers/s3rver.sh start|stop|status|env      (idempotent)
#   start   installs (nodejs/npm from Debian if missing, s3rver into $HOME_DIR), starts,
#           prints the test environment as `export` lines on stdout (progress on stderr):
#             eval "$(tests/servers/s3rver.sh start)"
#   env     prints the export lines only
# Env: HOARDFS_S3RVER_HOME (/tmp/hoardfs-s3rver), HOARDFS_S3RVER_PORT (4568)
#
# s3rver's keys are fixed: S3RVER / S3RVER. It checks SigV2 signatures but
# not SigV4 ones, so the wrong-secret tests do not run against it.
# With HOARDFS_TEST_ENV=FILE (scripts/test.sh), start also appends the export
# lines to FILE. "env" prints them without starting anything.
set -euo pipefail
SELF=$(readlink -f "$0")
HOME_DIR=${HOARDFS_S3RVER_HOME:-/tmp/hoardfs-s3rver}
PORT=${HOARDFS_S3RVER_PORT:-4568}
VERSION=3.7.1
PIDFILE=$HOME_DIR/s3rver.pid
LOGFILE=$HOME_DIR/s3rver.log

say() { echo "s3rver.sh: $*" >&2; }
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
answering() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }

print_env() {
    cat <<EOF
export HOARDFS_TEST_S3RVER=127.0.0.1:$PORT
export HOARDFS_TEST_S3RVER_KEY=S3RVER
export HOARDFS_TEST_S3RVER_SECRET=S3RVER
EOF
}

# The test environment on stdout, and appended to $HOARDFS_TEST_ENV when set
# (scripts/test.sh sources that file before running the tests).
emit_env() {
    print_env
    if [ -n "${HOARDFS_TEST_ENV:-}" ]; then print_env >>"$HOARDFS_TEST_ENV"; fi
}

do_stop() {
    if running; then
        local pid; pid=$(cat "$PIDFILE")
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        say "stopped (pid $pid)"
    fi
    rm -f "$PIDFILE"
}

install() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        say "installing nodejs npm"
        [ -n "$(ls /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ] || apt-get -qq update >&2
        DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends nodejs npm >&2
    fi
    mkdir -p "$HOME_DIR/data"
    if ! grep -qs "\"version\": \"$VERSION\"" "$HOME_DIR/node_modules/s3rver/package.json"; then
        say "npm install s3rver@$VERSION into $HOME_DIR"
        ( cd "$HOME_DIR" && { [ -f package.json ] || npm init -y >/dev/null; } &&
          npm install --no-audit --no-fund --loglevel=error "s3rver@$VERSION" >&2 )
    fi
}

do_start() {
    install
    if running && answering; then
        say "already running on http://127.0.0.1:$PORT"
        emit_env; return
    fi
    do_stop
    # -a 127.0.0.1: loopback only; --no-vhost-buckets: path-style addressing.
    setsid nohup node "$HOME_DIR/node_modules/.bin/s3rver" -d "$HOME_DIR/data" -a 127.0.0.1 -p "$PORT" \
        --no-vhost-buckets >"$LOGFILE" 2>&1 </dev/null &
    echo $! >"$PIDFILE"
    for _ in $(seq 150); do
        answering && { say "up on http://127.0.0.1:$PORT (log $LOGFILE; stop: $SELF stop)"; emit_env; return; }
        running || break
        sleep 0.1
    done
    say "ERROR: s3rver did not start; last log lines:"; tail -20 "$LOGFILE" >&2 || true
    do_stop; exit 1
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) if running && answering; then say "running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else say "not running"; exit 1; fi ;;
    env) print_env ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
