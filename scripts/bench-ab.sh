#!/usr/bin/env bash
# A/B of saga bench: runs each variant's options in turn, round after round (A, B, A, B, ...), on the same disk in
# one run, and prints one table: throughput, saga latency percentiles, CPU per saga and peak memory per round, and
# each variant's median with its change against the first variant.
#
#   scripts/bench-ab.sh [--rounds 3] [--sagas 5000] [--out results.jsonl] -- "--observe none" "--observe all"
#
# Every variant gets `bench --json --sagas N` plus its own options; leading NAME=VALUE words set its environment,
# as in "OTEL_TRACES_SAMPLER=traceidratio OTEL_TRACES_SAMPLER_ARG=0.1 --observe all". SAGA is the binary
# (default: a release build in .build-release, built if missing); a variant's own SAGA=PATH word runs that binary
# instead, for an A/B of two builds: -- "SAGA=../saga-before" "SAGA=../saga-after".
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
rounds=3
sagas=5000
out=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --rounds) rounds="$2"; shift 2 ;;
        --sagas) sagas="$2"; shift 2 ;;
        --out) out="$2"; shift 2 ;;
        --) shift; break ;;
        -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
        *) echo "unknown option $1 (variants come after --)" >&2; exit 2 ;;
    esac
done
if [[ $# -lt 2 ]]; then echo "give at least two variants after --, e.g. -- \"--observe none\" \"--observe all\"" >&2; exit 2; fi

saga="${SAGA:-$root/.build-release/release/saga}"
if [[ ! -x "$saga" ]]; then
    (cd "$root" && swift build -c release --product saga --scratch-path .build-release >&2)
fi
results="$(mktemp)"
trap 'rm -f "$results"' EXIT
for ((round = 1; round <= rounds; round++)); do
    for variant in "$@"; do
        echo "round $round/$rounds: bench $variant" >&2
        # Leading NAME=VALUE words of a variant are its environment (e.g. "OTEL_TRACES_SAMPLER=traceidratio ...").
        envs=(); args=(); binary="$saga"
        for word in $variant; do
            if [[ ${#args[@]} -eq 0 && "$word" == SAGA=* ]]; then binary="${word#SAGA=}"
            elif [[ ${#args[@]} -eq 0 && "$word" == [A-Z]*=* ]]; then envs+=("$word"); else args+=("$word"); fi
        done
        line="$(env "${envs[@]}" "$binary" bench --json --sagas "$sagas" "${args[@]}")"
        python3 -c 'import json,sys; d=json.loads(sys.argv[1]); d["variant"]=sys.argv[2]; d["round"]=int(sys.argv[3]); print(json.dumps(d))' \
            "$line" "$variant" "$round" >>"$results"
    done
done
[[ -n "$out" ]] && cp "$results" "$out"
python3 - "$results" "$@" <<'PY'
import json, statistics, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
variants = sys.argv[2:]
print(f"{'round':>5}  {'variant':<24} {'sagas/s':>9} {'p50 ms':>8} {'p99 ms':>8} {'CPU ms/saga':>12} {'peak MiB':>9}")
for r in rows:
    print(f"{r['round']:>5}  {r['variant']:<24} {r['sagasPerSecond']:>9.0f} {r['latencyMs']['p50']:>8.2f} "
          f"{r['latencyMs']['p99']:>8.2f} {r['cpuMsPerSaga']:>12.3f} {r['peakMemoryBytes'] / 1048576:>9.1f}")
print()
base = None
for v in variants:
    mine = [r for r in rows if r["variant"] == v]
    tp = statistics.median(r["sagasPerSecond"] for r in mine)
    p99 = statistics.median(r["latencyMs"]["p99"] for r in mine)
    cpu = statistics.median(r["cpuMsPerSaga"] for r in mine)
    if base is None:
        base = (tp, cpu)
        change = "baseline"
    else:
        change = f"throughput {100 * (tp / base[0] - 1):+.1f}%, CPU/saga {100 * (cpu / base[1] - 1):+.1f}%"
    print(f"median  {v:<24} {tp:>9.0f} sagas/s, p99 {p99:.2f} ms, {cpu:.3f} ms CPU/saga  ({change})")
PY
