#!/usr/bin/env bash
# OpenStack Keystone (Debian python3-keystone, Identity API v3 only) on
# 127.0.0.1 for the swiftks:// tests: SQLite database in WAL mode, fernet
# tokens, served single-threaded by the stdlib wsgiref server with an
# in-process cache. Installs its own packages; state under $KS_HOME.
#
# Usage:  keystone.sh start|stop|status|env     (idempotent; start is the default)
#         start and env print the test environment as `export` lines on stdout
#         (progress goes to stderr):  eval "$(tests/servers/keystone.sh start)"
#         It is published to $HOARDFS_TEST_ENV (scripts/test.sh) only by
#         swift-keystone.sh, once the Swift that the variables lead to answers.
# Env:    KS_HOME  (default /tmp/hoardfs-keystone)
#         KS_PORT  (default 5000; the port is written into the catalog at
#                   bootstrap, so a new port needs a new KS_HOME)
#         KS_SWIFT_URL (default http://127.0.0.1:8081): the object-store
#                   endpoint registered in the catalog (swift-keystone.sh)
#
# Accounts (created idempotently at every start):
#   admin/adminpass    project admin (domain Default): admin + Swift ResellerAdmin
#   tester/testing     project test  (domain Default): member (a Swift operator)
#   dtester/dtesting   project dtest (domain hoardfs): member -- for domain= options
#   swift/swiftpass    project service: the Swift proxy's authtoken service user
# Catalog: identity $KS_URL/v3 and object-store $KS_SWIFT_URL/v1/AUTH_%(project_id)s,
#          interfaces public/internal/admin, region RegionOne.
set -euo pipefail

SELF=$(readlink -f "$0")
KS_HOME=${KS_HOME:-/tmp/hoardfs-keystone}
KS_PORT=${KS_PORT:-5000}
KS_SWIFT_URL=${KS_SWIFT_URL:-http://127.0.0.1:8081}
KS_URL=http://127.0.0.1:$KS_PORT
ADMIN_PASSWORD=adminpass
ETC=$KS_HOME/etc; RUN=$KS_HOME/run; LOG=$KS_HOME/log
CONF=$ETC/keystone.conf
PIDF=$RUN/keystone.pid
PY=/usr/bin/python3   # Debian's python: another python3 on PATH lacks the keystone modules

say() { echo "keystone.sh: $*" >&2; }
alive() { [ -f "$PIDF" ] && kill -0 "$(cat "$PIDF")" 2>/dev/null; }
answering() { curl -fs -o /dev/null --max-time 5 "$KS_URL/v3"; }

print_env() {
cat <<EOF
export HOARDFS_TEST_SWIFTKS_ENDPOINT=127.0.0.1:$KS_PORT
export HOARDFS_TEST_SWIFTKS_REGION=RegionOne
export HOARDFS_TEST_SWIFTKS_LOGIN=test:tester
export HOARDFS_TEST_SWIFTKS_PASSWORD=testing
export HOARDFS_TEST_SWIFTKS_DOMAIN_LOGIN=dtest:dtester
export HOARDFS_TEST_SWIFTKS_DOMAIN_PASSWORD=dtesting
export HOARDFS_TEST_SWIFTKS_DOMAIN=hoardfs
export HOARDFS_TEST_SWIFTKS_ADMIN_LOGIN=admin:admin
export HOARDFS_TEST_SWIFTKS_ADMIN_PASSWORD=$ADMIN_PASSWORD
EOF
}

do_stop() {
    if alive; then
        local pid; pid=$(cat "$PIDF"); kill "$pid" 2>/dev/null || true
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
        say "stopped keystone (pid $pid)"
    fi
    rm -f "$PIDF"
}

do_status() {
    if alive; then say "running (pid $(cat "$PIDF"))"; else say "not running"; fi
    if answering; then say "answering on $KS_URL/v3"; return 0; fi
    say "not answering on $KS_URL"; return 1
}

case "${1:-start}" in
    stop) do_stop >&2; exit 0 ;;
    status) do_status; exit $? ;;
    env) print_env; exit 0 ;;
    start) ;;
    *) echo "usage: $0 start|stop|status|env" >&2; exit 2 ;;
esac

T0=$(date +%s)

# ---- packages -------------------------------------------------------------------
# python3-keystone has keystone-manage and the WSGI app; the 'keystone' package
# would add Apache/uwsgi and an init script we do not want.
need=""
for p in python3-keystone curl; do dpkg -s "$p" >/dev/null 2>&1 || need="$need $p"; done
if [ -n "$need" ]; then
    say "installing$need"
    [ -n "$(ls /var/lib/apt/lists 2>/dev/null | grep -v -e lock -e partial -e auxfiles)" ] || apt-get update >&2
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=900 install -y --no-install-recommends $need >&2
fi

# ---- already running? -------------------------------------------------------------
if alive && answering; then
    say "already running on $KS_URL/v3 (pid $(cat "$PIDF"))"
    print_env
    exit 0
fi
do_stop >&2
if curl -s -o /dev/null --max-time 2 "$KS_URL/"; then
    say "ERROR: something else answers on $KS_URL"; exit 1
fi

# ---- configuration and database ------------------------------------------------------
mkdir -p "$ETC" "$RUN" "$LOG"
cat > "$CONF" <<EOF
[DEFAULT]
log_file = $LOG/keystone.log
[database]
connection = sqlite:///$KS_HOME/keystone.db
[token]
provider = fernet
expiration = 3600
[fernet_tokens]
key_repository = $KS_HOME/fernet-keys
[fernet_receipts]
key_repository = $KS_HOME/fernet-keys
[credential]
key_repository = $KS_HOME/credential-keys
[identity]
# cheap bcrypt: each password authentication is ~0.25 s faster (test only)
password_hash_rounds = 4
[cache]
# One server process, so an in-process cache stays coherent; without it every
# token validation runs dozens of SQLite queries.
enabled = true
backend = dogpile.cache.memory
EOF
km() { keystone-manage --config-file "$CONF" "$@" 2>>"$LOG/keystone-manage.err"; }
if [ ! -f "$KS_HOME/.bootstrapped" ]; then
    km db_sync >&2
    # WAL: Keystone leaks SQLite read connections until garbage collection; in
    # rollback-journal mode they make the next write fail with "database is locked".
    "$PY" -c 'import sqlite3,sys; c=sqlite3.connect(sys.argv[1]); c.execute("PRAGMA journal_mode=WAL"); c.close()' \
        "$KS_HOME/keystone.db"
    [ -f "$KS_HOME/fernet-keys/0" ] || km fernet_setup --keystone-user root --keystone-group root >&2
    [ -f "$KS_HOME/credential-keys/0" ] || km credential_setup --keystone-user root --keystone-group root >&2
    km bootstrap --bootstrap-username admin --bootstrap-password "$ADMIN_PASSWORD" \
        --bootstrap-project-name admin --bootstrap-role-name admin \
        --bootstrap-service-name keystone --bootstrap-region-id RegionOne \
        --bootstrap-admin-url "$KS_URL/v3" --bootstrap-internal-url "$KS_URL/v3" \
        --bootstrap-public-url "$KS_URL/v3" >&2
    touch "$KS_HOME/.bootstrapped"
fi

# ---- server ---------------------------------------------------------------------------
# SQLite objects cannot cross threads in oslo.db, so one request at a time.
cat > "$RUN/serve.py" <<'EOF'
import sys
from wsgiref.simple_server import WSGIServer, WSGIRequestHandler, make_server
from keystone.server.wsgi import initialize_public_application

class Server(WSGIServer):
    request_queue_size = 128

class QuietHandler(WSGIRequestHandler):
    def log_message(self, *args):
        pass

host, port = sys.argv[1], int(sys.argv[2])
sys.argv[1:] = []
app = initialize_public_application()
srv = make_server(host, port, app, server_class=Server, handler_class=QuietHandler)
print("keystone on http://%s:%d/" % (host, port), flush=True)
srv.serve_forever()
EOF
OS_KEYSTONE_CONFIG_FILES=$CONF setsid nohup "$PY" "$RUN/serve.py" 127.0.0.1 "$KS_PORT" \
    >"$LOG/server.log" 2>&1 </dev/null &
echo $! > "$PIDF"
ok=0
for _ in $(seq 450); do
    answering && { ok=1; break; }
    alive || { say "ERROR: keystone died; see $LOG/server.log"; tail -20 "$LOG/server.log" >&2; do_stop; exit 1; }
    sleep 0.2
done
[ $ok = 1 ] || { say "ERROR: keystone did not answer in 90 s; logs in $LOG"; do_stop >&2; exit 1; }

# ---- accounts, roles, catalog (idempotent) -------------------------------------------------
"$PY" - "$KS_URL" "$ADMIN_PASSWORD" "$KS_SWIFT_URL" >&2 <<'EOF'
import json, sys, urllib.request, urllib.error
url, admin_pw, swift_url = sys.argv[1:4]

def call(method, path, body=None, token=None):
    req = urllib.request.Request(url + path, method=method,
                                 data=json.dumps(body).encode() if body is not None else None)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("X-Auth-Token", token)
    try:
        with urllib.request.urlopen(req, timeout=60) as r:
            data = r.read()
            return r.headers, (json.loads(data) if data else None)
    except urllib.error.HTTPError as e:
        raise SystemExit("%s %s -> %s %s" % (method, path, e.code, e.read()[:500]))

h, _ = call("POST", "/v3/auth/tokens", {"auth": {
    "identity": {"methods": ["password"], "password": {"user": {
        "name": "admin", "domain": {"id": "default"}, "password": admin_pw}}},
    "scope": {"project": {"name": "admin", "domain": {"id": "default"}}}}})
tok = h["X-Subject-Token"]

def find(coll, **flt):
    q = "&".join("%s=%s" % kv for kv in flt.items())
    return call("GET", "/v3/%s?%s" % (coll, q), token=tok)[1][coll]

def ensure(kind, coll, body, **flt):
    got = find(coll, **flt)
    return got[0]["id"] if got else call("POST", "/v3/" + coll, {kind: body}, token=tok)[1][kind]["id"]

role = {n: ensure("role", "roles", {"name": n}, name=n)
        for n in ("admin", "member", "reader", "ResellerAdmin", "SwiftOperator")}
def project(name, dom):
    return ensure("project", "projects", {"name": name, "domain_id": dom}, name=name, domain_id=dom)
def user(name, pw, proj, dom):
    return ensure("user", "users", {"name": name, "password": pw, "domain_id": dom,
                  "default_project_id": proj}, name=name, domain_id=dom)
def grant(proj, uid, r):
    call("PUT", "/v3/projects/%s/users/%s/roles/%s" % (proj, uid, role[r]), token=tok)

admin_proj = find("projects", name="admin", domain_id="default")[0]["id"]
admin_user = find("users", name="admin", domain_id="default")[0]["id"]
grant(admin_proj, admin_user, "ResellerAdmin")
svc = project("service", "default")
grant(svc, user("swift", "swiftpass", svc, "default"), "admin")
test = project("test", "default")
grant(test, user("tester", "testing", test, "default"), "member")
dom = ensure("domain", "domains", {"name": "hoardfs"}, name="hoardfs")
dtest = project("dtest", dom)
grant(dtest, user("dtester", "dtesting", dtest, dom), "member")

sid = ensure("service", "services", {"name": "swift", "type": "object-store"}, type="object-store")
want = swift_url.rstrip("/") + "/v1/AUTH_%(project_id)s"
for iface in ("public", "internal", "admin"):
    eps = find("endpoints", service_id=sid, interface=iface)
    if eps and eps[0]["url"] != want:
        call("PATCH", "/v3/endpoints/" + eps[0]["id"], {"endpoint": {"url": want}}, token=tok)
    elif not eps:
        call("POST", "/v3/endpoints", {"endpoint": {"service_id": sid, "interface": iface,
             "url": want, "region_id": "RegionOne"}}, token=tok)
EOF

say "up on $KS_URL/v3 in $(( $(date +%s) - T0 )) s (pid $(cat "$PIDF"), logs $LOG); stop: $SELF stop"
say "object-store endpoint: $KS_SWIFT_URL/v1/AUTH_<project id> (RegionOne, public/internal/admin)"
print_env
