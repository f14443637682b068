#!/usr/bin/env bash
# Runs saga bench, the DBOS peer and raw SQLite interleaved (ours, peer, raw, ours, ...) on the same disk, and
# prints one table with each round's figures and the disk's flush time beside them.
#
#   scripts/bench-compare.sh [--rounds 3] [--sagas 5000] [--peer-n 300] [--out results.jsonl]
#   scripts/bench-compare.sh scale [--sagas 1000000]     # list/show on a big database, worker memory
#   scripts/bench-compare.sh --pg postgres://sagas:sagas@127.0.0.1:55432/sagas [--rounds 2] [--sagas 2000]
#                                                        # PostgreSQL: saga bench, DBOS and raw commits, one server
#
# Environment:
#   SAGA       the saga binary (default: a release build in .build-release, built if missing)
#   PEERS      the peer harnesses (default: ../shared/peers beside the repository)
#   DBOS_PY    python with dbos==3.4.0 (default: $PEERS/.venv-dbos/bin/python, else ../bench-venv/.venv-dbos/bin/python)
#
# The disk of the machine this was written on flips between a fast flush (~0.2 ms) and a slow one (~4 ms) for
# minutes at a time: compare figures only within a round, beside the flush time each harness measured.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
peers="${PEERS:-$(cd "$(dirname "$0")/../.." && pwd)/shared/peers}"
rounds=3
sagas=5000
peer_n=300
out=""
pg=""
cmd="compare"
if [[ "${1:-}" == "scale" ]]; then cmd="scale"; shift; sagas=1000000; fi
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --sagas) sagas="$2"; shift 2 ;;
        --peer-n) peer_n="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --pg) pg="$2"; shift 2 ;;
        *) echo "unknown option $1" >&2; exit 2 ;;
    esac
done

saga="${SAGA:-$root/.build-release/release/saga}"
if [[ ! -x "$saga" ]]; then
    (cd "$root" && swift build -c release --product saga --scratch-path .build-release >&2)
fi
dbos_py="${DBOS_PY:-}"
if [[ -z "$dbos_py" ]]; then
    for candidate in "$peers/.venv-dbos/bin/python" "$root/../bench-venv/.venv-dbos/bin/python"; do
        if [[ -x "$candidate" ]]; then dbos_py="$candidate"; break; fi
    done
fi
results="${out:-$(mktemp /tmp/bench-compare-XXXXXX.jsonl)}"
: > "$results"

# record NAME ROUND JSON: one line of the results file.
record() { printf '{"case":"%s","round":%s,"result":%s}\n' "$1" "$2" "$3" >> "$results"; }

if [[ "$cmd" == "scale" ]]; then
    work="$(mktemp -d /tmp/saga-scale-XXXXXX)"
    trap 'rm -rf "$work"' EXIT
    db="$work/big.db"
    echo "# a template: 2 finished sagas of the bench workflow" >&2
    "$saga" bench --db "$db" --sagas 2 --fail-rate 0.5 --seed 3 --json > /dev/null
    echo "# copying them to $sagas finished sagas with one SQL bulk insert" >&2
    python3 - "$db" "$sagas" <<'EOF'
import sqlite3, sys, time
db, n = sys.argv[1], int(sys.argv[2])
c = sqlite3.connect(db)
c.execute("PRAGMA synchronous=OFF")
t = time.time()
# the journal's rows of the template sagas, copied under new ids with later creation times
templates = c.execute("SELECT id FROM sagas ORDER BY created_at").fetchall()
c.execute("BEGIN")
c.execute("CREATE TEMP TABLE k(i INTEGER PRIMARY KEY)")
c.execute("WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i+1 FROM r WHERE i < ?) INSERT INTO k SELECT i FROM r", (n,))
for j, (tid,) in enumerate(templates):
    c.execute("""INSERT INTO sagas SELECT 'big-' || ? || '-' || k.i, workflow, version, definition_digest, base_directory,
                 input, status, created_at + k.i, updated_at + k.i, NULL, NULL, current_step, last_error, NULL, NULL,
                 last_seq FROM sagas, k WHERE sagas.id = ? AND k.i % ? = ?""", (j, tid, len(templates), j))
    c.execute("""INSERT INTO saga_events SELECT 'big-' || ? || '-' || k.i, seq, at + k.i, type, step, payload
                 FROM saga_events, k WHERE saga_id = ? AND k.i % ? = ?""", (j, tid, len(templates), j))
# a few that need intervention, the newest
row = c.execute("SELECT id FROM sagas WHERE id NOT LIKE 'big-%' LIMIT 1").fetchone()[0]
for i in range(20):
    c.execute("""INSERT INTO sagas SELECT 'stuck-' || ?, workflow, version, definition_digest, base_directory, input,
                 'needs_intervention', created_at + ?, updated_at, NULL, NULL, current_step, 'bench', NULL, NULL,
                 last_seq FROM sagas WHERE id = ?""", (i, n + 10 + i, row))
    c.execute("""INSERT INTO saga_events SELECT 'stuck-' || ?, seq, at, type, step, payload FROM saga_events
                 WHERE saga_id = ?""", (i, row))
c.execute("COMMIT")
c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
print(f"# {c.execute('SELECT COUNT(*) FROM sagas').fetchone()[0]} sagas, "
      f"{c.execute('SELECT COUNT(*) FROM saga_events').fetchone()[0]} events in {time.time()-t:.1f} s", file=sys.stderr)
EOF
    ls -l "$db" >&2
    some=$(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute(\"SELECT id FROM sagas WHERE id LIKE 'big-%' ORDER BY random() LIMIT 1\").fetchone()[0])" "$db")
    export SAGA_DB="$db"
    if command -v hyperfine > /dev/null; then
        hyperfine -N --warmup 3 --runs 30 \
            "$saga list --status needs_intervention" "$saga show $some" "$saga list --status needs_intervention --json"
    else
        for c in "list --status needs_intervention" "show $some"; do
            python3 - "$saga" $c <<'EOF'
import subprocess, sys, time
ts = []
for _ in range(30):
    t = time.perf_counter(); subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, check=True); ts.append(time.perf_counter() - t)
ts.sort(); print(f"{' '.join(sys.argv[2:])}: median {ts[15]*1000:.1f} ms, max {ts[-1]*1000:.1f} ms")
EOF
        done
    fi
    echo "# worker memory: 1,000 new sagas run by saga worker --until-idle, on the small and on the big database" >&2
    small="$work/small.db"
    "$saga" bench --db "$small" --sagas 2 --json > /dev/null
    for d in "$small" "$db"; do
        SAGA_DB="$d" python3 - "$saga" "$d" <<'EOF'
import json, os, resource, sqlite3, subprocess, sys, time
saga, db = sys.argv[1], sys.argv[2]
# pending sagas of the bench workflow, with no handler registered in `saga worker`: each fails at its first
# step and compensates nothing. It is the journal and the claim queries being measured, not the handlers.
c = sqlite3.connect(db)
row = c.execute("SELECT definition_digest FROM sagas LIMIT 1").fetchone()[0]
t = int(time.time() * 1000)
c.execute("BEGIN")
for i in range(1000):
    c.execute("INSERT INTO sagas (id, workflow, version, definition_digest, input, status, created_at, updated_at, last_seq)"
              " VALUES (?, 'bench', 1, ?, '{}', 'pending', ?, ?, 1)", (f"new-{i}", row, t + i, t + i))
    c.execute("INSERT INTO saga_events VALUES (?, 1, ?, 'saga.started', NULL, '{\"data\":{\"input\":{}}}')",
              (f"new-{i}", t + i))
c.execute("COMMIT"); c.close()
t0 = time.time()
subprocess.run([saga, "worker", "--until-idle", "--log-level", "error", "--concurrency", "64"], check=True)
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
total = sqlite3.connect(db).execute("SELECT COUNT(*) FROM sagas").fetchone()[0]
print(f"worker --until-idle, {total} sagas in the database: {time.time()-t0:.2f} s, peak RSS {ru.ru_maxrss/1024:.1f} MiB")
EOF
    done
    exit 0
fi

if [[ -n "$pg" ]]; then
    # PostgreSQL, one server for all: ours (each run in a schema of its own, dropped after), DBOS Transact (each
    # run in a database of its own, which the harness makes and drops through the URL), raw commits of small rows
    # (the same).
    base="${pg%%\?*}"
    dbos_url="$base"
    for ((r = 1; r <= rounds; r++)); do
        echo "# round $r/$rounds (PostgreSQL)" >&2
        for gc in on off; do
            schema="cmp_${r}_${gc}_$$"
            record "ours-pg-throughput-gc-$gc" "$r" "$("$saga" bench --store postgres --db "$base?schema=$schema&group_commit=$gc" \
                --sagas "$sagas" --steps 4 --concurrency 64 --json | jq -c .)"
            psql "$base" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
        done
        if [[ -n "$dbos_py" ]]; then
            for spec in "seq 1" "threads 8" "threads 32" "queue 16"; do
                set -- $spec
                res=$("$dbos_py" "$peers/dbos_bench.py" one --pg "$dbos_url" --mode "$1" --conc "$2" --n "$peer_n" 2>/dev/null | tail -1)
                record "peer-pg-$1-c$2" "$r" "${res:-null}"
            done
            raw=$("$dbos_py" "$peers/pg_raw_bench.py" raw --pg "$dbos_url" --reps 1 --single-rows 2000 --batch-rows 20000 \
                | python3 -c 'import json,sys; print(json.dumps({d["case"]: d for d in map(json.loads, sys.stdin)}))')
            record raw-pg "$r" "${raw:-null}"
        fi
        schema="cmp_${r}_lat_$$"
        record ours-pg-latency "$r" "$("$saga" bench --store postgres --db "$base?schema=$schema" --mode latency \
            --sagas 200 --steps 4 --json | jq -c .)"
        psql "$base" -qc "DROP SCHEMA $schema CASCADE" >/dev/null 2>&1 || true
    done
    python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def f(x, d=0):
    return "-" if x is None else f"{x:,.{d}f}"
print(f"{'round':>5}  {'case':30} {'sagas/s':>9} {'steps/s':>9} {'commits/s':>9} {'p50 ms':>8} {'p50/step':>8} {'load':>5}")
for row in rows:
    r, case, x = row["round"], row["case"], row["result"]
    if x is None:
        print(f"{r:>5}  {case:30} (failed)"); continue
    if case == "raw-pg":
        for name, c in x.items():
            if name == "setup": continue
            m = c["median"]
            print(f"{r:>5}  {'raw-' + name:30} {'':>9} {'':>9} {f(m['commits_per_s']):>9} {f(m['txn_p50_us']/1000, 3):>8} "
                  f"{'':>8}  rows/s {f(m['rows_per_s'])}")
        continue
    if case.startswith("peer"):
        print(f"{r:>5}  {case:30} {f(x.get('wf_per_s'),1):>9} {f(x.get('steps_per_s'),1):>9} {'':>9} "
              f"{f(x.get('p50_ms'),2):>8} {'':>8}  xids/wf {x.get('xids_per_wf')}")
        continue
    lat = x.get("latencyMs", {}).get("p50")
    step = x.get("latencyPerStepMs", {}).get("p50")
    print(f"{r:>5}  {case:30} {f(x['sagasPerSecond'],1):>9} {f(x['stepsPerSecond'],1):>9} {f(x.get('commitsPerSecond')):>9} "
          f"{f(lat,2):>8} {f(step,3) if step else '':>8} {x.get('loadAverage', '')}")
print(f"\nraw results: {sys.argv[1]}")
EOF
    exit 0
fi

for ((r = 1; r <= rounds; r++)); do
    echo "# round $r/$rounds" >&2
    # Throughput: 4-step sagas, FULL, 64 at once.
    record ours-throughput "$r" "$("$saga" bench --sagas "$sagas" --steps 4 --concurrency 64 --json | jq -c .)"
    if [[ -n "$dbos_py" ]]; then
        for spec in "seq wal_full 1" "threads wal_full 8" "threads default 8"; do
            set -- $spec
            res=$("$dbos_py" "$peers/dbos_bench.py" one --mode "$1" --variant "$2" --conc "$3" --n "$peer_n" 2>/dev/null | tail -1)
            record "peer-$1-$2-c$3" "$r" "${res:-null}"
        done
    fi
    raw=$(python3 "$peers/sqlite_raw_bench.py" --reps 1 --only wal_full_1,wal_full_100,fdatasync_4k \
        --single-rows 2000 --batch-rows 50000 --fsync-ops 1000 \
        | python3 -c 'import json,sys; print(json.dumps({l.split()[0]: json.loads(l.split(None,1)[1]) for l in sys.stdin}))')
    record raw "$r" "$raw"
    # The journal floor: the SQL of one 4-step saga's journal, one saga at a time, with no engine.
    record floor-journal "$r" "$(python3 "$root/scripts/journal-floor.py" "$saga" --sagas 300)"
    # Latency: one 4-step saga at a time; the compensating path: fail at step 3, compensate 2 and 1.
    record ours-latency "$r" "$("$saga" bench --mode latency --sagas 300 --steps 4 --json | jq -c .)"
    record ours-compensation "$r" "$("$saga" bench --mode latency --sagas 300 --steps 4 --fail-rate 1 --fail-step 3 --json | jq -c .)"
    if [[ -n "$dbos_py" ]]; then
        res=$("$dbos_py" "$peers/dbos_bench.py" one --mode comp_seq --variant wal_full --n "$peer_n" 2>/dev/null | tail -1)
        record peer-comp_seq-wal_full "$r" "${res:-null}"
    fi
    # Recovery: 10,000 sagas in flight in a killed process.
    record ours-recovery "$r" "$("$saga" bench --mode recovery --sagas 10000 --steps 4 --concurrency 256 --json | jq -c .)"
done

python3 - "$results" <<'EOF'
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
def f(x, d=0):
    return "-" if x is None else f"{x:,.{d}f}"
print(f"{'round':>5}  {'case':28} {'sagas/s':>9} {'steps/s':>9} {'rows/s':>9} {'p50 ms':>8} {'p50/step':>8} {'flush us':>9}")
for row in rows:
    r, case, x = row["round"], row["case"], row["result"]
    if x is None:
        print(f"{r:>5}  {case:28} (failed)"); continue
    if case == "raw":
        fl = x["fdatasync_4k"]["p50_us"]
        for name in ("wal_full_1", "wal_full_100"):
            c = x[name]
            print(f"{r:>5}  {'raw-' + name:28} {'':>9} {'':>9} {f(c['rows_per_s']):>9} {f(c['txn_p50_us']/1000, 3):>8} {'':>8} {f(fl):>9}")
        continue
    if case == "floor-journal":
        print(f"{r:>5}  {case:28} {'':>9} {'':>9} {'':>9} {f(x['perSagaP50Ms'],2):>8} {f(x['perStepP50Ms'],3):>8}")
        continue
    if case.startswith("peer"):
        print(f"{r:>5}  {case:28} {f(x.get('wf_per_s'),1):>9} {f(x.get('steps_per_s'),1):>9} {'':>9} "
              f"{f(x.get('p50_ms'),2):>8} {'':>8} {f(x.get('fsync_probe_p50_us')):>9}")
        continue
    lat = x.get("latencyMs", {}).get("p50")
    step = x.get("latencyPerStepMs", {}).get("p50")
    print(f"{r:>5}  {case:28} {f(x['sagasPerSecond'],1):>9} {f(x['stepsPerSecond'],1):>9} {f(x.get('rowsPerSecond')):>9} "
          f"{f(lat,2) if x['mode'] != 'recovery' else f(x['elapsedSeconds'],2)+' s':>8} {f(step,3) if step else '':>8} "
          f"{f(x['flushProbeUs']['before'])}/{f(x['flushProbeUs']['after'])}")
print(f"\nraw results: {sys.argv[1]}")
EOF
