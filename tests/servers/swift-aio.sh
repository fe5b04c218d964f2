#!/usr/bin/env bash
# OpenStack Swift all-in-one (Debian packages) on 127.0.0.1: one proxy with
# TempAuth (v1 auth) and the s3api middleware (S3 with SigV2 and SigV4,
# path-style), one device, one replica. Used by the S3 and the Swift tests.
#
# Usage: tests/servers/swift-aio.sh start|stop|status|env      (idempotent)
#   start   installs the Debian packages if missing, starts the servers and prints
#           the test environment as `export` lines on stdout (progress on stderr):
#             eval "$(tests/servers/swift-aio.sh start)"
# Env: HOARDFS_SWIFT_HOME (/tmp/hoardfs-swift), HOARDFS_SWIFT_PORT (8080),
#      HOARDFS_SWIFT_BACKEND_PORT (6210: object, +1 container, +2 account),
#      HOARDFS_SWIFT_MEMCACHED_PORT (11212)
#
# Accounts (TempAuth): test:tester / testing (admin of AUTH_test),
#   test:tester3 / testing3 (no admin rights), test2:tester2 / testing2.
# Swift v1 auth: http://127.0.0.1:8080/auth/v1.0.  S3: http://127.0.0.1:8080,
#   access key "test:tester", secret "testing", region us-east-1 only.
# With HOARDFS_TEST_ENV=FILE (scripts/test.sh), start also appends the export
# lines to FILE. "env" prints them without starting anything.
set -euo pipefail
SELF=$(readlink -f "$0")
H=${HOARDFS_SWIFT_HOME:-/tmp/hoardfs-swift}
PORT=${HOARDFS_SWIFT_PORT:-8080}
BASE=${HOARDFS_SWIFT_BACKEND_PORT:-6210}
MEMCACHED_PORT=${HOARDFS_SWIFT_MEMCACHED_PORT:-11212}
OBJECT_PORT=$BASE CONTAINER_PORT=$((BASE + 1)) ACCOUNT_PORT=$((BASE + 2))
ETC=$H/etc RUN=$H/run LOG=$H/log DEVICES=$H/srv
DAEMONS="memcached account container object proxy container-updater object-updater"

say() { echo "swift-aio.sh: $*" >&2; }
running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
authenticates() {
    curl -fs -o /dev/null --max-time 3 -H 'X-Auth-User: test:tester' -H 'X-Auth-Key: testing' \
        "http://127.0.0.1:$PORT/auth/v1.0"
}
healthy() {
    for p in $PORT $OBJECT_PORT $CONTAINER_PORT $ACCOUNT_PORT; do
        curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$p/healthcheck" || return 1
    done
    authenticates
}

print_env() {
    cat <<EOF
export HOARDFS_TEST_SWIFT_S3=127.0.0.1:$PORT
export HOARDFS_TEST_SWIFT_S3_KEY=test:tester
export HOARDFS_TEST_SWIFT_S3_SECRET=testing
export HOARDFS_TEST_SWIFT=127.0.0.1:$PORT
export HOARDFS_TEST_SWIFT_AUTH_URL=http://127.0.0.1:$PORT/auth/v1.0
export HOARDFS_TEST_SWIFT_LOGIN=test:tester
export HOARDFS_TEST_SWIFT_PASSWORD=testing
EOF
}

# The test environment on stdout, and appended to $HOARDFS_TEST_ENV when set
# (scripts/test.sh sources that file before running the tests).
emit_env() {
    print_env
    if [ -n "${HOARDFS_TEST_ENV:-}" ]; then print_env >>"$HOARDFS_TEST_ENV"; fi
}

do_stop() {
    for d in proxy object-updater container-updater object container account memcached; do
        if running "$d"; then
            local pid; pid=$(cat "$RUN/$d.pid")
            kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            say "stopped $d (pid $pid)"
        fi
        rm -f "$RUN/$d.pid"
    done
}

install() {
    local need=""
    for p in swift swift-proxy swift-account swift-container swift-object python3-swift memcached curl; do
        dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || need="$need $p"
    done
    if [ -n "$need" ]; then
        say "installing$need"
        [ -n "$(ls /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ] || apt-get -qq update >&2
        DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $need >&2
    fi
    # Swift reads its hash path prefix/suffix from this fixed path.
    if ! grep -qs '^swift_hash_path_suffix' /etc/swift/swift.conf; then
        mkdir -p /etc/swift
        printf '[swift-hash]\nswift_hash_path_suffix = hoardfs\nswift_hash_path_prefix = hoardfs\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' \
            >/etc/swift/swift.conf
    fi
}

server_conf() {  # port app [extra app lines]
    cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = root
swift_dir = $ETC
devices = $DEVICES
mount_check = false
recon_cache_path = $H/cache
log_level = WARNING

[pipeline:main]
pipeline = healthcheck $2-server

[filter:healthcheck]
use = egg:swift#healthcheck

[app:$2-server]
use = egg:swift#$2

# The updaters only catch up on account/container statistics. Each pass forks
# Python workers; every 5 s (Swift's SAIO value) they keep a 2-core machine busy.
[$2-updater]
interval = 60
concurrency = 1
EOF
}

write_config() {
    mkdir -p "$ETC" "$RUN" "$LOG" "$DEVICES/d1" "$H/cache"
    server_conf "$ACCOUNT_PORT" account >"$ETC/account-server.conf"
    server_conf "$CONTAINER_PORT" container >"$ETC/container-server.conf"
    server_conf "$OBJECT_PORT" object >"$ETC/object-server.conf"
    cat >"$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
user = root
swift_dir = $ETC
log_level = WARNING

[pipeline:main]
# s3api sits right before the auth middleware; multipart uploads need slo.
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk s3api tempauth copy slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:s3api]
use = egg:swift#s3api
location = us-east-1
allow_multipart_uploads = true
s3_acl = false

[filter:tempauth]
use = egg:swift#tempauth
user_admin_admin = admin .admin .reseller_admin
user_test_tester = testing .admin
user_test_tester3 = testing3
user_test2_tester2 = testing2 .admin

[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:$MEMCACHED_PORT

[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:bulk]
use = egg:swift#bulk
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF
    local key="$OBJECT_PORT/$CONTAINER_PORT/$ACCOUNT_PORT"
    if [ "$(cat "$ETC/ring.key" 2>/dev/null)" != "$key" ] || [ ! -f "$ETC/object.ring.gz" ]; then
        rm -rf "$ETC"/*.builder "$ETC"/*.ring.gz "$ETC/backups"
        for ring in "object $OBJECT_PORT" "container $CONTAINER_PORT" "account $ACCOUNT_PORT"; do
            set -- $ring
            ( cd "$ETC" && swift-ring-builder "$1.builder" create 10 1 1 >/dev/null &&
              swift-ring-builder "$1.builder" add "r1z1-127.0.0.1:$2/d1" 100 >/dev/null &&
              { swift-ring-builder "$1.builder" rebalance >/dev/null || true; } )
        done
        echo "$key" >"$ETC/ring.key"
    fi
}

start_daemon() {  # name command...
    local name=$1; shift
    setsid nohup "$@" >"$LOG/$name.log" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

do_start() {
    install
    local all=1
    for d in $DAEMONS; do running "$d" || all=0; done
    if [ $all = 1 ] && healthy; then say "already running on http://127.0.0.1:$PORT"; emit_env; return; fi
    if [ $all = 0 ] && authenticates; then
        say "ERROR: another Swift already answers on 127.0.0.1:$PORT; stop it first"; exit 1
    fi
    do_stop
    write_config
    local t0; t0=$(date +%s)
    start_daemon memcached memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -u root -m 64
    # -v: log to the console, i.e. $LOG/NAME.log (there is no syslog here)
    start_daemon account /usr/bin/python3 /usr/bin/swift-account-server "$ETC/account-server.conf" -v
    start_daemon container /usr/bin/python3 /usr/bin/swift-container-server "$ETC/container-server.conf" -v
    start_daemon object /usr/bin/python3 /usr/bin/swift-object-server "$ETC/object-server.conf" -v
    start_daemon proxy /usr/bin/python3 /usr/bin/swift-proxy-server "$ETC/proxy-server.conf" -v
    start_daemon container-updater /usr/bin/python3 /usr/bin/swift-container-updater "$ETC/container-server.conf" -v
    start_daemon object-updater /usr/bin/python3 /usr/bin/swift-object-updater "$ETC/object-server.conf" -v
    for _ in $(seq 300); do
        if healthy; then
            say "up in $(( $(date +%s) - t0 )) s on http://127.0.0.1:$PORT (logs $LOG; stop: $SELF stop)"
            emit_env; return
        fi
        for d in $DAEMONS; do
            running "$d" || { say "ERROR: $d died:"; tail -20 "$LOG/$d.log" >&2; do_stop; exit 1; }
        done
        sleep 0.2
    done
    say "ERROR: Swift did not answer within 60 s; logs in $LOG"; do_stop; exit 1
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) for d in $DAEMONS; do
                if running "$d"; then say "$d running (pid $(cat "$RUN/$d.pid"))"; else say "$d not running"; fi
            done
            healthy || exit 1 ;;
    env) print_env ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
