#!/usr/bin/env bash
# scripts/wait-scale.sh: what sagas that wait cost an idle `saga worker` (Docs/performance.md, "Waiting sagas").
#
#   scripts/wait-scale.sh sqlite [N]        on a fresh SQLite file in a temporary folder
#   scripts/wait-scale.sh postgres [N]      on a fresh schema of $SAGA_POSTGRES_URL (scripts/pg-local.sh start)
#
# It measures a fresh `saga worker` process (the defaults: concurrency 16, poll 200ms) for $SCALE_SECONDS (60) after
# $SCALE_SETTLE (5) seconds, CPU from /proc/PID/stat (utime+stime) and VmRSS from /proc/PID/status, over
#   (a) an empty database,
#   (c) N sagas (default 10,000) waiting in their first step ("await": {"timeout": "24h"}),
#   (b) the same N sagas after they were signalled and finished,
# and between (c) and (b) the time from a signal to its step's completion for $SCALE_SIGNALS (300) sagas signalled
# one after another (`saga signal`, the worker running): from the `step.signalled` event to the step's
# `step.succeeded`, both timestamps from the journal (milliseconds). Sagas are submitted and mass-signalled
# through `saga serve --no-worker` and curl (one connection), so that the setup takes seconds, not minutes.
#
# Environment: SAGA_BIN (default .build-release/release/saga: build it with
# `swift build -c release --product saga --scratch-path .build-release`), SCALE_DIR (default: a new temporary
# folder, kept, with each worker's log), SCALE_RESUME=1 (carry on with the sagas of that folder's earlier run, from
# bringing them to their wait; on PostgreSQL with SCALE_RESUME_SCHEMA). Needs curl, jq, sqlite3 (SQLite) or psql
# (PostgreSQL).
set -euo pipefail

backend=${1:?usage: wait-scale.sh sqlite|postgres [N]}
count=${2:-10000}
seconds=${SCALE_SECONDS:-60}
settle=${SCALE_SETTLE:-5}
signals=${SCALE_SIGNALS:-300}
root=$(cd "$(dirname "$0")/.." && pwd)
saga=${SAGA_BIN:-$root/.build-release/release/saga}
dir=${SCALE_DIR:-$(mktemp -d "${TMPDIR:-/tmp}/wait-scale.XXXXXX")}
[ -x "$saga" ] || { echo "wait-scale: no saga binary at $saga" >&2; exit 1; }
mkdir -p "$dir/workflows"
ticks=$(getconf CLK_TCK)
note() { echo "wait-scale: $*" >&2; }

cat > "$dir/workflows/scale.json" <<'EOF'
{"name": "scale", "version": 1,
 "steps": [
  {"name": "pay", "kind": "readonly",
   "action": {"command": {"argv": ["sh", "-c", "echo \"$1 $0\" >> \"$SCALE_DIR/tokens\"; echo '{}'",
     "${step.token}", "${saga.id}"]}},
   "await": {"timeout": "24h"}},
  {"name": "ship", "kind": "readonly", "after": ["pay"], "action": {"command": {"argv": ["echo", "{}"]}}}
 ]}
EOF
export SCALE_DIR=$dir SAGA_WORKFLOWS=$dir/workflows

# A fresh database for each case: a file, or a schema of the PostgreSQL server.
fresh_db() {
    case $backend in
    sqlite) rm -f "$dir/$1.db"*; export SAGA_DB=$dir/$1.db ;;
    postgres)
        local url=${SAGA_POSTGRES_URL:?set SAGA_POSTGRES_URL (scripts/pg-local.sh start)}
        schema="scale_$1_$$"
        export SAGA_DB="$url$([[ $url == *\?* ]] && echo '&' || echo '?')schema=$schema"
        ;;
    *) note "unknown backend $backend"; exit 1 ;;
    esac
    # A worker or server creates a SQLite file; on PostgreSQL, the schema's tables are made here.
    [ "$backend" = sqlite ] || "$saga" migrate >/dev/null
}

sql() {
    case $backend in
    sqlite) sqlite3 "$SAGA_DB" "$1" ;;
    postgres) psql "$SAGA_POSTGRES_URL" -X -q -t -A -c "SET search_path TO $schema; $1" ;;
    esac
}

count_status() { sql "SELECT count(*) FROM sagas WHERE status = '$1'"; }

wait_idle() {  # until no saga is pending or running
    while [ "$(sql "SELECT count(*) FROM sagas WHERE status IN ('pending', 'running')")" -gt 0 ]; do sleep 1; done
}


server_pid=
start_server() {
    SAGA_API_TOKEN=scale "$saga" serve --no-worker --port 0 > "$dir/serve.out" 2> "$dir/serve.err" &
    server_pid=$!
    for _ in $(seq 100); do
        grep -q '^listening on' "$dir/serve.out" 2>/dev/null && break
        sleep 0.1
    done
    base=$(grep -m 1 '^listening on' "$dir/serve.out" | sed 's/^listening on //')
    [ -n "$base" ] || { note "saga serve did not start: $(cat "$dir/serve.err")"; exit 1; }
}
stop_server() { [ -n "$server_pid" ] && kill -TERM "$server_pid" && wait "$server_pid" || true; server_pid=; }

worker_pid=
start_worker() {
    "$saga" worker > "$dir/worker-$1.out" 2> "$dir/worker-$1.err" &
    worker_pid=$!
}
stop_worker() { [ -n "$worker_pid" ] && kill -TERM "$worker_pid" && wait "$worker_pid" || true; worker_pid=; }
trap 'stop_worker; stop_server' EXIT

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_mb() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# measure CASE: a fresh worker over the database as it is, idle.
measure() {
    start_worker "$1"
    sleep "$settle"
    local before after
    before=$(cpu_ticks "$worker_pid")
    sleep "$seconds"
    after=$(cpu_ticks "$worker_pid")
    local rss
    rss=$(rss_mb "$worker_pid")
    stop_worker
    awk -v b="$before" -v a="$after" -v t="$ticks" -v s="$seconds" -v c="$1" -v r="$rss" -v l="$(cut -d' ' -f1 /proc/loadavg)" \
        'BEGIN {printf "%-22s idle worker CPU %5.2f%% of a core, RSS %s MB (load average %s)\n", c, 100 * (a - b) / t / s, r, l}'
}

submit_all() {
    local config=$dir/submit.curl i
    : > "$config"
    # One entry per request, `next` between entries (not after the last).
    for i in $(seq -f '%06g' 1 "$count"); do
        [ "$i" = 000001 ] || echo next >> "$config"
        printf 'url = "%s/v1/sagas"\nrequest = "POST"\nheader = "Authorization: Bearer scale"\noutput = "/dev/null"\ndata = "{\\"workflow\\": \\"scale\\", \\"input\\": {}, \\"id\\": \\"w-%s\\"}"\n' \
            "$base" "$i" >> "$config"
    done
    curl -s -f -K "$config"
}

signal_rest() {  # signals, through the server, every saga whose token is listed and that still waits
    local config=$dir/signal.curl
    : > "$config"
    sql "SELECT id FROM sagas WHERE status = 'waiting'" | sort > "$dir/waiting.ids"
    sort -k1,1 "$dir/tokens.by-id" | join - "$dir/waiting.ids" | while read -r id token; do
        [ -s "$config" ] && echo next >> "$config"
        printf 'url = "%s/v1/sagas/%s/steps/pay/signal"\nrequest = "POST"\noutput = "/dev/null"\ndata = "{\\"token\\": \\"%s\\", \\"output\\": {}}"\n' \
            "$base" "$id" "$token" >> "$config"
    done
    curl -s -f -K "$config"
}

# latencies FILE: for the sagas listed, from the signal (`step.signalled`) to a worker carrying on (the next step's
# `step.started`) and to `saga.completed`, from the journal's timestamps.
latencies() {
    while read -r id; do
        "$saga" show "$id" --json | jq -r '
            (.events | map(select(.type == "step.signalled")) | last | .at) as $sig
            | (.events | map(select(.type == "step.started" and .step != "pay")) | first | .at) as $next
            | (.events | map(select(.type == "saga.completed")) | last | .at) as $done
            | select($sig != null and $next != null and $done != null) | [$sig, $next, $done] | @tsv'
    done < "$1" | python3 -c '
import sys, datetime
def t(s): return datetime.datetime.fromisoformat(s.replace("Z", "+00:00")).timestamp()
rows = [line.rstrip("\n").split("\t") for line in sys.stdin if line.count("\t") == 2]
for name, k in (("signal to the next step started", 1), ("signal to saga.completed", 2)):
    d = sorted((t(r[k]) - t(r[0])) * 1000 for r in rows)
    if not d: print(name + ": no sagas"); continue
    q = lambda p: d[min(len(d) - 1, int(p * len(d)))]
    print("%s over %d signals: p50 %.0f ms, p95 %.0f ms, p99 %.0f ms, max %.0f ms"
          % (name, len(d), q(0.5), q(0.95), q(0.99), d[-1]))'
}

echo "wait-scale: $backend, $count sagas, $(nproc) cores, $(date -u +%FT%TZ), folder $dir"

if [ -z "${SCALE_RESUME:-}" ]; then
    fresh_db empty
    measure "(a) empty database"
    fresh_db waits
    : > "$dir/tokens"
    start_server
    t0=$(date +%s)
    submit_all
    note "submitted $count sagas in $(( $(date +%s) - t0 )) s"
else
    # SCALE_RESUME=1 with the SCALE_DIR of a run that stopped after submitting: carry on from its sagas.
    [ "$backend" = sqlite ] && export SAGA_DB=$dir/waits.db || schema=$SCALE_RESUME_SCHEMA
    [ "$backend" = sqlite ] || export SAGA_DB="$SAGA_POSTGRES_URL$([[ $SAGA_POSTGRES_URL == *\?* ]] && echo '&' || echo '?')schema=$schema"
    start_server
fi
t0=$(date +%s)
start_worker setup
wait_idle
stop_worker
note "$(count_status waiting) sagas brought to their wait in $(( $(date +%s) - t0 )) s"
[ "$backend" = sqlite ] && echo "database: $(du -k "$SAGA_DB" | cut -f1) KiB, WAL $(du -k "$SAGA_DB-wal" 2>/dev/null | cut -f1) KiB"
measure "(c) $(count_status waiting) waiting"

# Signal to completion, the worker running.
sort -k1,1 "$dir/tokens" > "$dir/tokens.by-id"
start_worker latency
sleep "$settle"
if [ "$signals" -gt 0 ]; then
sent=$dir/signalled.ids
: > "$sent"
sql "SELECT id FROM sagas WHERE status = 'waiting'" | sort > "$dir/waiting.ids"
join "$dir/tokens.by-id" "$dir/waiting.ids" > "$dir/waiting.tokens"
head -n "$signals" "$dir/waiting.tokens" | while read -r id token; do
    # A signal refused because the database stayed locked is tried again (and counted).
    for try in 1 2 3; do
        if "$saga" signal "$id" pay --token "$token" --output '{}' > /dev/null 2>> "$dir/signal.err"; then
            echo "$id" >> "$sent"
            break
        fi
        note "signal $id refused (try $try): $(tail -n 1 "$dir/signal.err")"
    done
    sleep 0.0$(( RANDOM % 10 ))
done
sleep 1
wait_idle
stop_worker
latencies "$sent"
fi

# Everything else signalled, then the same database with N finished sagas.
signal_rest
start_worker finish
wait_idle
stop_worker
stop_server
measure "(b) $(count_status completed) finished"
