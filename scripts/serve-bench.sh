#!/usr/bin/env bash
# saga serve under wrk on loopback, with saga bench in-process beside it in the same run (issue 17's figures).
#
#   scripts/serve-bench.sh api   [--seconds 10] [--connections 8] [--workflow noop|true]
#   scripts/serve-bench.sh scale [--sagas 1000000] [--db FILE] [--seconds 10]
#
# api:   POST /v1/sagas while the server's worker runs every saga to completion (a one-step workflow: `noop` is a
#        zero-length durable timer, `true` a command step running /bin/true), then GET /v1/sagas/{id}; then
#        `saga bench --steps 1` in-process for the same number of seconds' worth of sagas, as the reference.
# scale: a database of N finished one-step sagas made by `saga bench` (kept at --db to be reused), served with
#        --no-worker: GET /v1/sagas/{id}, the filtered and unfiltered list, /v1/stats, the dashboard's list and
#        overview.
# SAGA is the binary (default: a release build in .build-release, built if missing). Needs wrk (Debian's package).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
mode="${1:-}"; shift || true
seconds=10; connections=8; workflow=noop; sagas=1000000; db=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --seconds) seconds="$2"; shift 2 ;;
        --connections) connections="$2"; shift 2 ;;
        --workflow) workflow="$2"; shift 2 ;;
        --sagas) sagas="$2"; shift 2 ;;
        --db) db="$2"; shift 2 ;;
        -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done
case "$mode" in api|scale) ;; *) sed -n '2,14p' "$0" >&2; exit 2 ;; esac
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install -y wrk" >&2; exit 2; }

saga="${SAGA:-$root/.build-release/release/saga}"
if [[ ! -x "$saga" ]]; then
    (cd "$root" && swift build -c release --product saga --scratch-path .build-release >&2)
fi
work="$(mktemp -d)"
server=""
cleanup() {
    if [[ -n "$server" ]]; then kill -TERM "$server" 2>/dev/null || true; wait "$server" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT
token="bench-$(date +%s)"
mkdir -p "$work/wf"
cat >"$work/wf/noop.json" <<'JSON'
{"name": "noop", "version": 1, "steps": [{"name": "wait", "kind": "readonly", "action": {"sleep": "0s"}}]}
JSON
cat >"$work/wf/true.json" <<'JSON'
{"name": "true", "version": 1, "steps": [{"name": "run", "kind": "readonly", "action": {"command": {"argv": ["/bin/true"]}}}]}
JSON

# Starts saga serve on a free loopback port; sets $server and $base.
serve() {
    SAGA_API_TOKEN="$token" "$saga" serve --port 0 --db "$1" --workflows "$work/wf" "${@:2}" \
        >"$work/serve.out" 2>"$work/serve.err" &
    server=$!
    for _ in $(seq 1 100); do
        if grep -q '^listening on ' "$work/serve.out" 2>/dev/null; then break; fi
        sleep 0.1
    done
    base="$(sed -n 's/^listening on //p' "$work/serve.out" | head -1)"
    [[ -n "$base" ]] || { echo "saga serve did not start:" >&2; cat "$work/serve.err" >&2; exit 1; }
}

# wrk against one GET path; prints a table row.
get_row() {
    local label="$1" path="$2" conns="${3:-1}"
    local out
    out="$(wrk -t1 -c"$conns" -d"${seconds}s" --latency -H "Authorization: Bearer $token" "$base$path")"
    python3 - "$label" "$conns" "$out" <<'PY'
import re, sys
label, conns, out = sys.argv[1], sys.argv[2], sys.argv[3]
rps = re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)
def pct(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % p, out, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
bad = f" ({non2xx.group(1)} non-2xx)" if non2xx else ""
print(f"| {label}{bad} | {conns} | {float(rps):,.0f} | {pct(50):.2f} ms | {pct(99):.2f} ms |")
PY
}

stat_count() {
    curl -fsS -H "Authorization: Bearer $token" "$base/v1/stats" | python3 -c '
import json, sys
d = json.load(sys.stdin)
by = d.get("byStatus", d.get("counts", {}))
print(sum(v for k, v in by.items() if k in ("completed", "compensated", "failed", "terminated")), sum(by.values()))'
}

echo "machine: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(date -u +%FT%TZ), binary $saga" >&2
if [[ "$mode" == api ]]; then
    serve "$work/api.db" --concurrency 64
    cat >"$work/post.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"workflow": "$workflow", "input": {}}'
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer $token"
LUA
    start=$(date +%s.%N)
    post="$(wrk -t2 -c"$connections" -d"${seconds}s" --latency -s "$work/post.lua" "$base/v1/sagas")"
    posted_end=$(date +%s.%N)
    read -r done total < <(stat_count)
    while [[ "$done" -lt "$total" ]]; do
        sleep 0.2
        read -r done total < <(stat_count)
        if python3 -c "import sys; sys.exit(0 if float('$(date +%s.%N)') - float('$posted_end') > 120 else 1)"; then
            echo "the worker did not finish within 120 s of the last POST ($done of $total)" >&2; break
        fi
    done
    finished=$(date +%s.%N)
    id="$(curl -fsS -H "Authorization: Bearer $token" "$base/v1/sagas?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sagas"][0]["id"])')"
    echo "| request | connections | req/s | p50 | p99 |"
    echo "| --- | --- | --- | --- | --- |"
    python3 - "$post" "$connections" "$workflow" <<'PY'
import re, sys
out, conns, wf = sys.argv[1], sys.argv[2], sys.argv[3]
rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
def pct(p):
    m = re.search(r"^\s+%s%%\s+([\d.]+)(us|ms|s)" % p, out, re.M)
    v, u = float(m.group(1)), m.group(2)
    return v / 1000 if u == "us" else v * 1000 if u == "s" else v
non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
bad = f" ({non2xx.group(1)} non-2xx)" if non2xx else ""
print(f"| POST /v1/sagas ({wf}){bad} | {conns} | {rps:,.0f} | {pct(50):.2f} ms | {pct(99):.2f} ms |")
PY
    get_row "GET /v1/sagas/{id}" "/v1/sagas/$id" 1
    kill -TERM "$server"; wait "$server" 2>/dev/null || true; server=""
    python3 -c "
s, e, f, n = $start, $posted_end, $finished, $total
print(f'\nsagas started through the API: {n:,} in {e - s:.1f} s; all finished {f - e:.1f} s after the last POST;'
      f' end to end {n / (f - s):,.0f} sagas/s')"
    # The in-process reference: the same one-step shape with a Swift handler, the same concurrency.
    bench="$("$saga" bench --json --steps 1 --concurrency 64 --sagas "$total" --db "$work/bench.db")"
    python3 - "$bench" <<'PY'
import json, sys
d = json.loads(sys.argv[1])
lat = d["latencyMs"]
print(f"saga bench --steps 1 --concurrency 64 in-process, same run: {d['sagasPerSecond']:,.0f} sagas/s, "
      f"saga p50 {lat['p50']:.2f} ms, p99 {lat['p99']:.2f} ms")
PY
else
    dbfile="${db:-$work/scale.db}"
    if [[ ! -s "$dbfile" ]]; then
        echo "making $sagas one-step sagas in $dbfile (saga bench)..." >&2
        "$saga" bench --steps 1 --sagas "$sagas" --concurrency 64 --db "$dbfile" >&2
    fi
    serve "$dbfile" --no-worker
    id="$(curl -fsS -H "Authorization: Bearer $token" "$base/v1/sagas?limit=1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sagas"][0]["id"])')"
    count="$(curl -fsS -H "Authorization: Bearer $token" "$base/v1/stats" | python3 -c 'import json,sys; d=json.load(sys.stdin); by=d.get("byStatus", d.get("counts", {})); print(sum(by.values()))')"
    echo "on $count sagas ($dbfile):"
    echo "| request | connections | req/s | p50 | p99 |"
    echo "| --- | --- | --- | --- | --- |"
    get_row "GET /v1/sagas/{id}" "/v1/sagas/$id"
    get_row "GET /v1/sagas?status=completed&limit=50" "/v1/sagas?status=completed&limit=50"
    get_row "GET /v1/sagas?limit=50 (no filter)" "/v1/sagas?limit=50"
    get_row "GET /v1/stats" "/v1/stats"
    get_row "GET /sagas (dashboard list)" "/sagas"
    get_row "GET / (overview)" "/"
fi
