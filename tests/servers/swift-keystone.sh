#!/usr/bin/env bash
# OpenStack Swift all-in-one (Debian packages) on 127.0.0.1 whose proxy
# authenticates with Keystone tokens (keystonemiddleware authtoken + Swift's
# keystoneauth), for the swiftks:// tests. It has its own storage, ports and
# memcached, so it runs beside tests/servers/swift-aio.sh (TempAuth, 8080).
# `start` first starts Keystone (tests/servers/keystone.sh), which registers
# this proxy as the catalog's object-store endpoint.
#
# Usage:  swift-keystone.sh start|stop|status|env    (idempotent; start is the default)
#         start and env print the test environment (Keystone's) as `export`
#         lines on stdout, progress on stderr:
#           eval "$(tests/servers/swift-keystone.sh start)"
#         stop stops this Swift and Keystone
#         With HOARDFS_TEST_ENV=FILE (scripts/test.sh), start also appends the
#         export lines to FILE, once both servers answer.
# Env:    SWIFT_KS_HOME (default /tmp/hoardfs-swift-ks)  SWIFT_KS_PORT (proxy, default 8081)
#         SWIFT_KS_MEMCACHED_PORT (default 11213)
#         SWIFT_KS_BACKEND_BASE (default 6300: object +0, container +1, account +2)
#         KS_PORT (Keystone, default 5000), KS_HOME: passed to keystone.sh
set -euo pipefail

HERE=$(dirname "$(readlink -f "$0")")
SELF=$(readlink -f "$0")
HOME_DIR=${SWIFT_KS_HOME:-/tmp/hoardfs-swift-ks}
PORT=${SWIFT_KS_PORT:-8081}
MEMCACHED_PORT=${SWIFT_KS_MEMCACHED_PORT:-11213}
BASE=${SWIFT_KS_BACKEND_BASE:-6300}
KS_PORT=${KS_PORT:-5000}
KEYSTONE_URL=http://127.0.0.1:$KS_PORT
OBJ_PORT=$BASE; CONT_PORT=$((BASE + 1)); ACCT_PORT=$((BASE + 2))
ETC=$HOME_DIR/etc; RUN=$HOME_DIR/run; LOG=$HOME_DIR/log; DEV=$HOME_DIR/srv/node
SERVICES="memcached account container object proxy container-updater object-updater"
export KS_PORT KS_SWIFT_URL=http://127.0.0.1:$PORT

say() { echo "swift-keystone.sh: $*" >&2; }
# The test environment on stdout, and appended to $HOARDFS_TEST_ENV when set.
publish_env() {
    HOARDFS_TEST_ENV= "$HERE/keystone.sh" env
    if [ -n "${HOARDFS_TEST_ENV:-}" ]; then "$HERE/keystone.sh" env >>"$HOARDFS_TEST_ENV"; fi
}
alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }
healthy() { curl -fs -o /dev/null --max-time 5 "http://127.0.0.1:$1/healthcheck"; }

stop_swift() {
    for s in proxy object-updater container-updater object container account memcached; do
        local pf=$RUN/$s.pid
        if alive "$pf"; then
            local pid; pid=$(cat "$pf"); kill "$pid" 2>/dev/null || true
            for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
            say "stopped $s (pid $pid)"
        fi
        rm -f "$pf"
    done
}

do_status() {
    local rc=0
    for s in $SERVICES; do
        if alive "$RUN/$s.pid"; then say "$s: running (pid $(cat "$RUN/$s.pid"))"
        else say "$s: not running"; rc=1; fi
    done
    if healthy "$PORT"; then say "proxy answering on http://127.0.0.1:$PORT"; else rc=1; fi
    "$HERE/keystone.sh" status || rc=1
    return $rc
}

case "${1:-start}" in
    stop) stop_swift; "$HERE/keystone.sh" stop; exit 0 ;;
    status) do_status; exit $? ;;
    env) "$HERE/keystone.sh" env; exit 0 ;;
    start) ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac

T0=$(date +%s)

# ---- packages -------------------------------------------------------------------
need=""
for p in swift swift-proxy swift-account swift-container swift-object memcached \
         python3-swift python3-keystonemiddleware curl; do
    dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
done
if [ -n "$need" ]; then
    say "installing$need"
    [ -n "$(ls /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ] || apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $need >&2
fi

HOARDFS_TEST_ENV= "$HERE/keystone.sh" start >/dev/null

# Swift reads its hash path salt from the fixed path /etc/swift/swift.conf
# (Debian ships one); write one only when it is missing.
if ! grep -qs '^swift_hash_path_suffix' /etc/swift/swift.conf; then
    mkdir -p /etc/swift
    printf '[swift-hash]\nswift_hash_path_suffix = hoardfs\nswift_hash_path_prefix = hoardfs\n[storage-policy:0]\nname = Policy-0\ndefault = yes\n' \
        > /etc/swift/swift.conf
fi

# ---- already running? ---------------------------------------------------------------
all_up=1
for s in $SERVICES; do alive "$RUN/$s.pid" || all_up=0; done
if [ $all_up = 1 ] && healthy "$PORT"; then
    say "already running on http://127.0.0.1:$PORT"
    publish_env
    exit 0
fi
stop_swift

# ---- configuration and rings ------------------------------------------------------------
mkdir -p "$ETC" "$RUN" "$LOG" "$DEV/d1" "$HOME_DIR/cache"
server_conf() {  # port kind extra-app-lines
cat <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $1
workers = 0
user = root
swift_dir = $ETC
devices = $DEV
mount_check = false
recon_cache_path = $HOME_DIR/cache
log_level = INFO
[pipeline:main]
pipeline = healthcheck $2-server
[app:$2-server]
use = egg:swift#$2
[filter:healthcheck]
use = egg:swift#healthcheck
[$2-updater]
interval = 5
EOF
}
server_conf "$ACCT_PORT" account > "$ETC/account-server.conf"
server_conf "$CONT_PORT" container > "$ETC/container-server.conf"
server_conf "$OBJ_PORT" object > "$ETC/object-server.conf"

cat > "$ETC/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = $PORT
workers = 0
user = root
swift_dir = $ETC
log_level = INFO

[pipeline:main]
# Swift's sample pipeline with authtoken + keystoneauth as the auth step.
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats bulk ratelimit authtoken keystoneauth copy container-quotas account-quotas slo dlo proxy-logging proxy-server

[app:proxy-server]
use = egg:swift#proxy
allow_account_management = true
account_autocreate = true

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = $KEYSTONE_URL/v3
auth_url = $KEYSTONE_URL/v3
auth_type = password
project_domain_id = default
user_domain_id = default
project_name = service
username = swift
password = swiftpass
delay_auth_decision = True
memcached_servers = 127.0.0.1:$MEMCACHED_PORT
cache = swift.cache
include_service_catalog = False
# Validations are cached for 5 s only, so a token revoked in Keystone is
# refused within seconds (the token-expiry tests rely on it).
token_cache_time = 5
http_connect_timeout = 5
http_request_max_retries = 3

[filter:keystoneauth]
use = egg:swift#keystoneauth
reseller_prefix = AUTH_
operator_roles = admin, member, SwiftOperator
reseller_admin_role = ResellerAdmin

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
[filter:ratelimit]
use = egg:swift#ratelimit
[filter:copy]
use = egg:swift#copy
[filter:container-quotas]
use = egg:swift#container_quotas
[filter:account-quotas]
use = egg:swift#account_quotas
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF

ringkey="$OBJ_PORT/$CONT_PORT/$ACCT_PORT"
if [ "$(cat "$ETC/ring.key" 2>/dev/null)" != "$ringkey" ] || [ ! -f "$ETC/object.ring.gz" ]; then
    rm -f "$ETC"/*.builder "$ETC"/*.ring.gz; rm -rf "$ETC/backups"
    for r in "object $OBJ_PORT" "container $CONT_PORT" "account $ACCT_PORT"; do
        set -- $r
        ( cd "$ETC"
          swift-ring-builder "$1.builder" create 10 1 1 >/dev/null
          swift-ring-builder "$1.builder" add "r1z1-127.0.0.1:$2/d1" 100 >/dev/null
          swift-ring-builder "$1.builder" rebalance >/dev/null || true )
    done
    echo "$ringkey" > "$ETC/ring.key"
fi

# ---- start ----------------------------------------------------------------------------------
start_bg() {  # name command...
    local name=$1; shift
    setsid nohup "$@" >"$LOG/$name.log" 2>&1 </dev/null &
    echo $! > "$RUN/$name.pid"
}
start_bg memcached memcached -l 127.0.0.1 -p "$MEMCACHED_PORT" -U 0 -u root -m 64
start_bg account swift-account-server "$ETC/account-server.conf" -v
start_bg container swift-container-server "$ETC/container-server.conf" -v
start_bg object swift-object-server "$ETC/object-server.conf" -v
start_bg proxy swift-proxy-server "$ETC/proxy-server.conf" -v
start_bg container-updater swift-container-updater "$ETC/container-server.conf" -v
start_bg object-updater swift-object-updater "$ETC/object-server.conf" -v

ok=0
for _ in $(seq 300); do
    if healthy "$PORT" && healthy "$OBJ_PORT" && healthy "$CONT_PORT" && healthy "$ACCT_PORT"; then ok=1; break; fi
    for s in $SERVICES; do
        alive "$RUN/$s.pid" || { say "ERROR: $s died; see $LOG/$s.log"; tail -20 "$LOG/$s.log" >&2; stop_swift; exit 1; }
    done
    sleep 0.2
done
[ $ok = 1 ] || { say "ERROR: Swift did not answer in 60 s; logs in $LOG"; stop_swift; exit 1; }

say "up on http://127.0.0.1:$PORT in $(( $(date +%s) - T0 )) s (Keystone $KEYSTONE_URL/v3); logs $LOG; stop: $SELF stop"
publish_env
