#!/usr/bin/env bash
# nginx (Debian) terminating TLS in front of Swift's S3 gateway, as storage
# clusters deploy their S3 endpoints, with a certificate signed by a private
# CA generated here. A second, unrelated CA lets the tests check that a wrong
# CA is refused. Starts tests/servers/swift-aio.sh first if needed.
#
# Usage: tests/servers/nginx-tls.sh start|stop|status|env      (idempotent)
#   start   prints the test environment as `export` lines on stdout (progress on
#           stderr), Swift's included:  eval "$(tests/servers/nginx-tls.sh start)"
# Env: HOARDFS_NGINX_HOME (/tmp/hoardfs-nginx), HOARDFS_NGINX_PORT (8443),
#      HOARDFS_SWIFT_PORT (8080, the upstream)
# With HOARDFS_TEST_ENV=FILE (scripts/test.sh), start also appends the export
# lines to FILE. "env" prints them without starting anything.
set -euo pipefail
SELF=$(readlink -f "$0")
HERE=$(dirname "$SELF")
H=${HOARDFS_NGINX_HOME:-/tmp/hoardfs-nginx}
PORT=${HOARDFS_NGINX_PORT:-8443}
UPSTREAM=${HOARDFS_SWIFT_PORT:-8080}
PIDFILE=$H/nginx.pid

say() { echo "nginx-tls.sh: $*" >&2; }
running() { [ -f "$PIDFILE" ] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }
answering() { curl -fs -o /dev/null --max-time 3 --cacert "$H/ca.pem" "https://127.0.0.1:$PORT/healthcheck"; }

print_env() {
    cat <<EOF
export HOARDFS_TEST_NGINX_S3=127.0.0.1:$PORT
export HOARDFS_TEST_NGINX_S3_KEY=test:tester
export HOARDFS_TEST_NGINX_S3_SECRET=testing
export HOARDFS_TEST_NGINX_CA=$H/ca.pem
export HOARDFS_TEST_NGINX_WRONG_CA=$H/wrong-ca.pem
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
        kill -QUIT "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -9 "$pid" 2>/dev/null || true
        say "stopped nginx (pid $pid)"
    fi
    rm -f "$PIDFILE"
}

install() {
    local need=""
    for p in nginx-light openssl curl; do
        dpkg -s "$p" 2>/dev/null | grep -q '^Status: install ok installed' || need="$need $p"
    done
    # any nginx flavour will do
    command -v nginx >/dev/null && need=${need/nginx-light/}
    if [ -n "${need// /}" ]; then
        say "installing$need"
        [ -n "$(ls /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ] || apt-get -qq update >&2
        DEBIAN_FRONTEND=noninteractive apt-get -qq -o DPkg::Lock::Timeout=600 install -y --no-install-recommends $need >&2
    fi
    # Debian's nginx service is not wanted: this script runs its own instance.
}

make_ca() {  # name subject
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$2" \
        -keyout "$H/$1.key" -out "$H/$1.pem" 2>/dev/null
}

make_certificates() {
    [ -f "$H/server.pem" ] && [ -f "$H/wrong-ca.pem" ] && return
    make_ca ca "hoardfs test CA"
    make_ca wrong-ca "hoardfs unrelated CA"
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
        -keyout "$H/server.key" -out "$H/server.csr" 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n' >"$H/server.ext"
    openssl x509 -req -in "$H/server.csr" -CA "$H/ca.pem" -CAkey "$H/ca.key" -CAcreateserial \
        -days 30 -extfile "$H/server.ext" -out "$H/server.pem" 2>/dev/null
}

write_config() {
    mkdir -p "$H/tmp" "$H/log"
    cat >"$H/nginx.conf" <<EOF
daemon off;
user root;
worker_processes 1;
pid $PIDFILE;
error_log $H/log/error.log warn;
events { worker_connections 256; }
http {
    access_log $H/log/access.log;
    client_body_temp_path $H/tmp/body;
    proxy_temp_path $H/tmp/proxy;
    fastcgi_temp_path $H/tmp/fastcgi;
    uwsgi_temp_path $H/tmp/uwsgi;
    scgi_temp_path $H/tmp/scgi;
    server {
        listen 127.0.0.1:$PORT ssl;
        ssl_certificate $H/server.pem;
        ssl_certificate_key $H/server.key;
        client_max_body_size 0;
        location / {
            proxy_pass http://127.0.0.1:$UPSTREAM;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            # SigV2/SigV4 sign the Host header: pass the client's unchanged.
            proxy_set_header Host \$http_host;
            proxy_request_buffering off;
            proxy_buffering off;
            proxy_read_timeout 300s;
        }
    }
}
EOF
}

do_start() {
    install
    "$HERE/swift-aio.sh" start >/dev/null
    mkdir -p "$H"
    if running && answering; then say "already running on https://127.0.0.1:$PORT"; emit_env; return; fi
    do_stop
    make_certificates
    write_config
    setsid nohup nginx -c "$H/nginx.conf" >"$H/log/nginx.out" 2>&1 </dev/null &
    for _ in $(seq 100); do
        if answering; then
            say "up on https://127.0.0.1:$PORT -> http://127.0.0.1:$UPSTREAM (CA $H/ca.pem; stop: $SELF stop)"
            emit_env; return
        fi
        sleep 0.1
    done
    say "ERROR: nginx did not answer; see $H/log"; tail -5 "$H/log/error.log" "$H/log/nginx.out" >&2 || true
    do_stop; exit 1
}

case "${1:-}" in
    start) do_start ;;
    stop) do_stop ;;
    status) if running && answering; then say "running (pid $(cat "$PIDFILE")) on 127.0.0.1:$PORT"; else say "not running"; exit 1; fi ;;
    env) print_env ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac
