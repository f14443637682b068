#!/usr/bin/env bash
# scripts/pg-local.sh: a throwaway PostgreSQL server on 127.0.0.1 for the Sagas tests and benchmarks.
#
#   eval "$(scripts/pg-local.sh start)"   start it (or find it running); prints `export SAGA_POSTGRES_URL=…`
#   scripts/pg-local.sh status            exit 0 and print the export line when running, exit 3 when not
#   scripts/pg-local.sh stop              shut it down (fast mode); the data folder stays
#   scripts/pg-local.sh crash             stop it as a crash would (immediate mode: no checkpoint, connections cut,
#                                         crash recovery at the next start); `start` brings it back on its port
#   scripts/pg-local.sh destroy           shut it down and delete the folder
#
# Environment: SAGA_PG_DIR (the folder; default ${TMPDIR:-/tmp}/sagas-pg-$(id -u)), SAGA_PG_PORT (default: the
# first free port from 55432), SAGA_PG_BIN (the server's bin folder; default: pg_config --bindir, else the newest
# /usr/lib/postgresql/*/bin). Run as root, the server runs as the `postgres` user (initdb refuses root).
#
# The server keeps PostgreSQL's durable defaults (fsync, synchronous_commit, full_page_writes on), listens on
# 127.0.0.1 only, accepts TLS beside plain connections when openssl can make it a self-signed certificate, and has a
# role `sagas` (password `sagas`, scram-sha-256) owning a database `sagas`.
set -euo pipefail

action=${1:-start}
folder=${SAGA_PG_DIR:-${TMPDIR:-/tmp}/sagas-pg-$(id -u)}
data=$folder/data
log=$folder/server.log

fail() { echo "pg-local: $*" >&2; exit 1; }
note() { echo "pg-local: $*" >&2; }

bin=${SAGA_PG_BIN:-}
if [ -z "$bin" ]; then
    if command -v pg_config >/dev/null && [ -x "$(pg_config --bindir)/initdb" ]; then
        bin=$(pg_config --bindir)
    else
        bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
    fi
fi
[ -n "$bin" ] && [ -x "$bin/initdb" ] && [ -x "$bin/pg_ctl" ] \
    || fail "no PostgreSQL server found (apt-get install postgresql, or set SAGA_PG_BIN)"

# Commands that touch the cluster run as its owner.
if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || fail "running as root needs a postgres user (apt-get install postgresql makes one)"
    owner() { runuser -u postgres -- "$@"; }
else
    owner() { "$@"; }
fi

is_running() { [ -f "$data/PG_VERSION" ] && owner "$bin/pg_ctl" -D "$data" status >/dev/null 2>&1; }
current_port() { sed -n 's/^port = \([0-9]*\)$/\1/p' "$data/postgresql.auto.conf" 2>/dev/null | tail -n 1; }
port_taken() { (echo >"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
print_env() { echo "export SAGA_POSTGRES_URL=postgres://sagas:sagas@127.0.0.1:$1/sagas"; }
superuser() { owner "$bin/psql" -X -q -t -A -v ON_ERROR_STOP=1 -h "$folder" -p "$1" -U postgres -d postgres -c "$2"; }

case "$action" in
status)
    if is_running; then print_env "$(current_port)"; exit 0; fi
    note "not running ($folder)"; exit 3 ;;
stop)
    if is_running; then owner "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null; note "stopped"; fi
    exit 0 ;;
crash)
    if is_running; then owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null; note "crashed (immediate stop)"; fi
    exit 0 ;;
destroy)
    if is_running; then owner "$bin/pg_ctl" -D "$data" -m immediate -w stop >/dev/null; fi
    [ ! -e "$folder" ] || [ -f "$folder/.sagas-pg" ] || fail "$folder was not made by this script; not deleting it"
    rm -rf "$folder"; note "deleted $folder"; exit 0 ;;
start) ;;
*) fail "unknown action '$action' (start, status, stop, crash, destroy)" ;;
esac

cd /  # the postgres user may not be allowed into the caller's folder
if is_running; then
    note "already running"
    print_env "$(current_port)"; exit 0
fi

if [ ! -f "$data/PG_VERSION" ]; then
    mkdir -p "$folder"
    touch "$folder/.sagas-pg"
    [ "$(id -u)" -ne 0 ] || chown postgres "$folder"
    note "creating a cluster in $data"
    owner "$bin/initdb" -D "$data" -U postgres --encoding UTF8 --locale C \
        --auth-local trust --auth-host scram-sha-256 >"$folder/initdb.log" 2>&1 \
        || { cat "$folder/initdb.log" >&2; fail "initdb failed"; }
fi

port=${SAGA_PG_PORT:-$(current_port)}
if [ -z "$port" ] || port_taken "$port"; then
    [ -z "${SAGA_PG_PORT:-}" ] || fail "port $SAGA_PG_PORT is taken"
    port=55432
    while port_taken "$port"; do port=$((port + 1)); done
fi
# TLS beside plain connections (for sslmode=require), with a self-signed certificate made once, when openssl exists.
ssl=off
if [ -f "$data/server.crt" ]; then
    ssl=on
elif command -v openssl >/dev/null; then
    if owner openssl req -new -x509 -days 3650 -nodes -subj /CN=localhost \
        -keyout "$data/server.key" -out "$data/server.crt" >/dev/null 2>&1; then
        owner chmod 600 "$data/server.key"
        ssl=on
    fi
fi
# ALTER SYSTEM's file, written before the start: the settings this script owns.
owner sh -c "cat > '$data/postgresql.auto.conf'" <<EOF
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$folder'
max_connections = 100
ssl = $ssl
EOF

owner "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 start >/dev/null || { tail -n 20 "$log" >&2; fail "the server did not start"; }

[ -n "$(superuser "$port" "SELECT 1 FROM pg_roles WHERE rolname = 'sagas'")" ] \
    || superuser "$port" "CREATE ROLE sagas LOGIN CREATEDB PASSWORD 'sagas'"
[ -n "$(superuser "$port" "SELECT 1 FROM pg_database WHERE datname = 'sagas'")" ] \
    || superuser "$port" "CREATE DATABASE sagas OWNER sagas"
note "running on 127.0.0.1:$port ($folder)"
print_env "$port"
