#!/usr/bin/env bash
# Ceph RADOS gateway on a throw-away one-node cluster (1 mon, 1 memstore OSD,
# radosgw with the beast frontend), all on 127.0.0.1, for the S3 contract tests.
#
# Usage: tests/servers/ceph-rgw.sh start|stop|status|env|wipe     (idempotent)
#   start   installs the Debian packages if missing, creates the cluster once,
#           starts it and prints the test environment as `export` lines on
#           stdout (progress on stderr):  eval "$(tests/servers/ceph-rgw.sh start)"
#   wipe    stops and deletes the cluster
# Env: HOARDFS_RGW_HOME (/tmp/hoardfs-rgw), HOARDFS_RGW_PORT (7480),
#      HOARDFS_RGW_MON_PORT (msgr2 port, 3310; msgr1 uses +1)
# With HOARDFS_TEST_ENV=FILE (scripts/test.sh), start also appends the export
# lines to FILE. "env" prints them without starting anything.
set -euo pipefail
SELF=$(readlink -f "$0")
H=${HOARDFS_RGW_HOME:-/tmp/hoardfs-rgw}
PORT=${HOARDFS_RGW_PORT:-7480}
MON_PORT=${HOARDFS_RGW_MON_PORT:-3310}
ACCESS_KEY=HOARDFSTESTKEY000001
SECRET_KEY=hoardfsTestSecret0000000000000000000000001
CONF=$H/ceph.conf RUN=$H/run LOG=$H/log

say() { echo "ceph-rgw.sh: $*" >&2; }
running() { [ -f "$RUN/$1.pid" ] && kill -0 "$(cat "$RUN/$1.pid")" 2>/dev/null; }
answering() { curl -fs -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/"; }
ceph_() { timeout 10 ceph -c "$CONF" --connect-timeout 5 "$@"; }

print_env() {
    cat <<EOF
export HOARDFS_TEST_RGW=127.0.0.1:$PORT
export HOARDFS_TEST_RGW_KEY=$ACCESS_KEY
export HOARDFS_TEST_RGW_SECRET=$SECRET_KEY
EOF
}

# The test environment on stdout, and appended to $HOARDFS_TEST_ENV when set
# (scripts/test.sh sources that file before running the tests).
emit_env() {
    print_env
    if [ -n "${HOARDFS_TEST_ENV:-}" ]; then print_env >>"$HOARDFS_TEST_ENV"; fi
}

do_stop() {
    for d in rgw osd mon; do
        if running $d; then
            local pid; pid=$(cat "$RUN/$d.pid")
            kill "$pid" 2>/dev/null || true
            # memstore writes its data out on a clean shutdown: give it time.
            for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
            kill -9 "$pid" 2>/dev/null || true
            say "stopped $d (pid $pid)"
        fi
        rm -f "$RUN/$d.pid"
    done
}

install() {
    local need=""
    for p in radosgw ceph-mon ceph-osd ceph-common uuid-runtime curl; do
        dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"
    done
    if [ -n "$need" ]; then
        say "installing$need"
        [ -n "$(ls /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ] || apt-get -qq update >&2
        DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $need >&2
    fi
}

write_config() {
    local fsid=$1
    cat >"$CONF" <<EOF
[global]
fsid = $fsid
mon host = [v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]
public addr = 127.0.0.1
cluster addr = 127.0.0.1
ms bind ipv6 = false
auth cluster required = none
auth service required = none
auth client required = none
osd pool default size = 1
osd pool default min size = 1
osd pool default pg num = 8
osd pool default pgp num = 8
osd pool default pg autoscale mode = off
osd crush chooseleaf type = 0
mon allow pool size one = true
mon warn on pool no redundancy = false
mon max pg per osd = 1000
osd objectstore = memstore
memstore device bytes = 4294967296
osd memory target = 1073741824
# memstore saves its data only on a clean shutdown
osd fast shutdown = false
run dir = $RUN
admin socket = $RUN/\$name.asok
log file = $LOG/\$name.log
log to stderr = false
[mon.a]
mon data = $H/mon
[osd.0]
osd data = $H/osd
[client.rgw.a]
# radosgw wants a "secure" mon connection by default, impossible with auth none
ms_mon_client_mode = crc
rgw frontends = beast endpoint=127.0.0.1:$PORT
rgw data = $H/rgw
rgw enable usage log = false
EOF
}

start_daemon() {  # name command...
    local name=$1; shift
    setsid nohup "$@" >"$LOG/$name.out" 2>&1 </dev/null &
    echo $! >"$RUN/$name.pid"
}

wait_for() {  # seconds description command...
    local what=$2 deadline=$((SECONDS + $1)); shift 2
    while [ $SECONDS -lt $deadline ]; do
        "$@" >/dev/null 2>&1 && return 0
        for d in mon osd rgw; do
            if [ -f "$RUN/$d.pid" ] && ! running $d; then
                say "ERROR: $d died; see $LOG"; tail -5 "$LOG/$d.out" >&2 || true; do_stop; exit 1
            fi
        done
        sleep 0.25
    done
    say "ERROR: timed out waiting for $what; see $LOG"; do_stop; exit 1
}

osd_up() { ceph_ osd stat 2>/dev/null | grep -q '1 up'; }

do_start() {
    install
    if running mon && running osd && running rgw && answering; then
        say "already running on http://127.0.0.1:$PORT"; emit_env; return
    fi
    do_stop
    local t0; t0=$(date +%s)
    mkdir -p "$RUN" "$LOG" "$H/mon" "$H/osd" "$H/rgw"
    if [ ! -f "$H/mon/.created" ]; then
        rm -rf "$H/mon" "$H/osd"; mkdir -p "$H/mon" "$H/osd"
        local fsid; fsid=$(uuidgen)
        write_config "$fsid"
        # An explicit monmap naming mon "a", so that it binds the ports given here.
        monmaptool --create --fsid "$fsid" --addv a "[v2:127.0.0.1:$MON_PORT,v1:127.0.0.1:$((MON_PORT + 1))]" \
            "$H/monmap" >"$LOG/mkfs-mon.log" 2>&1
        ceph-mon -c "$CONF" --mkfs -i a --monmap "$H/monmap" >>"$LOG/mkfs-mon.log" 2>&1
        touch "$H/mon/.created"
    fi
    start_daemon mon ceph-mon -c "$CONF" -i a -f
    wait_for 30 "the monitor" ceph_ mon stat
    if [ ! -f "$H/osd/fsid" ]; then
        local uuid; uuid=$(uuidgen)
        ceph_ osd new "$uuid" >/dev/null
        ceph-osd -c "$CONF" -i 0 --mkfs --osd-uuid "$uuid" >"$LOG/mkfs-osd.log" 2>&1
    fi
    start_daemon osd ceph-osd -c "$CONF" -i 0 -f
    wait_for 60 "the OSD" osd_up
    start_daemon rgw radosgw -c "$CONF" -n client.rgw.a -f
    wait_for 90 "radosgw" answering
    radosgw-admin -c "$CONF" user info --uid=hoardfs >/dev/null 2>&1 ||
        radosgw-admin -c "$CONF" user create --uid=hoardfs --display-name=hoardfs-tests \
            --access-key="$ACCESS_KEY" --secret-key="$SECRET_KEY" >/dev/null
    say "up in $(( $(date +%s) - t0 )) s on http://127.0.0.1:$PORT (logs $LOG; stop: $SELF stop)"
    emit_env
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    wipe) do_stop; rm -rf "$H"; say "wiped $H" ;;
    status) for d in mon osd rgw; do
                if running $d; then say "$d running (pid $(cat "$RUN/$d.pid"))"; else say "$d not running"; fi
            done
            answering || exit 1 ;;
    env) print_env ;;
    *) echo "usage: $0 start|stop|status|env|wipe" >&2; exit 2 ;;
esac
