#!/usr/bin/env bash
# The canonical benchmark (W2M) when its workload folder is beside the checkout (../shared/workload,
# or $SHARED/workload): flowstat and DuckDB on the same data in one run. Without it, runs flowstat
# alone on `flowstat generate` data and bench/queries-generated.jsonl.
# Measures import events/s and peak RSS, bytes/event after compaction, Q1..Q6 warm medians
# (in-process, >= 5 runs), the query process's peak RSS, Q1..Q6 one-shot (a process each, start to
# exit), then DuckDB's figures and the ratios.
# usage: bench/run.sh [EVENTS]      (default 2000000 = W2M; 8000000 for the growth check)
# Then (W2M) the other query shapes (bench/shapes.sh) and the import against DuckDB's load again,
# alternated over IMPORT_ROUNDS rounds (bench/import_pairs.sh).
# Env: WORK (default /tmp/flowstat-w2m), RUNS (default 9), SKIP_DUCKDB=1, IMPORT_ROUNDS (default 3).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
EVENTS=${1:-2000000}
WORK=${WORK:-/tmp/flowstat-w2m}
RUNS=${RUNS:-9}
mkdir -p "$WORK"
bash "$ROOT/.ci/deps.sh"
cmake -S "$ROOT" -B "$ROOT/build" -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build "$ROOT/build" -j2 --target flowstat_cli flowstat_query_bench >/dev/null
FS=$ROOT/build/tools/flowstat
QB=$ROOT/build/bench/flowstat_query_bench
if [ "$EVENTS" = 2000000 ]; then DATA=$WORK/w2m.jsonl; else DATA=$WORK/w$EVENTS.jsonl; fi
if [ -f "$SHARED/workload/gen_flows.py" ]; then
  [ -s "$DATA" ] || python3 "$SHARED/workload/gen_flows.py" "$EVENTS" 7 > "$DATA"
  SRC=$(head -1 "$DATA" | python3 -c 'import json,sys; print(json.load(sys.stdin)["sourceID"])')
  sed "s/69a8ee81d40c72f7ad95cae8/$SRC/" "$SHARED/workload/queries-w2m.jsonl" > "$WORK/queries.jsonl"
else
  echo "no canonical workload at $SHARED/workload: flowstat generate data, bench/queries-generated.jsonl, no DuckDB"
  DATA=$WORK/generated-$EVENTS.jsonl
  [ -s "$DATA" ] || "$FS" generate --events "$EVENTS" --seed 7 --days 7 > "$DATA"
  cp "$ROOT/bench/queries-generated.jsonl" "$WORK/queries.jsonl"
  SKIP_DUCKDB=1
fi

echo "== machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB, $(uname -r); data: $EVENTS events, $(du -h "$DATA" | cut -f1)"
DB=$WORK/flowstat-$EVENTS.db
rm -rf "$DB"
/usr/bin/time -f "%e %M" -o "$WORK/import.time" "$FS" import --db "$DB" "$DATA" 2> "$WORK/import.log"
read -r SECS RSS < "$WORK/import.time"
"$FS" compact --db "$DB"
BYTES=$(du -sb "$DB" | cut -f1)
FS_RATE=$(python3 -c "print(round($EVENTS/$SECS))")
echo "flowstat import: $EVENTS events in $SECS s = $FS_RATE events/s, peak RSS $((RSS/1024)) MB"
echo "flowstat on disk after compaction: $(python3 -c "print(round($BYTES/$EVENTS, 1))") bytes/event"
/usr/bin/time -f "%M" -o "$WORK/query.time" "$QB" "$DB" "$WORK/queries.jsonl" "$RUNS" | tee "$WORK/flowstat-queries.txt"
echo "flowstat query process peak RSS: $(( $(cat "$WORK/query.time") / 1024 )) MB"
# One-shot: a `flowstat query` process per query, from its start to its exit (what a script pays).
python3 - "$FS" "$DB" "$WORK/queries.jsonl" <<'PY'
import json, statistics, subprocess, sys, time
fs, db, queries = sys.argv[1:4]
for line in open(queries):
    walls = []
    for _ in range(11):
        t = time.perf_counter()
        subprocess.run([fs, "query", "--db", db, "--batch", "-"], input=line.encode(), capture_output=True, check=True)
        walls.append((time.perf_counter() - t) * 1000)
    print(f"{json.loads(line)['name']} one-shot median {statistics.median(walls):.1f} ms (min {min(walls):.1f}, 11 processes)")
PY

[ "${SKIP_DUCKDB:-0}" = 1 ] && exit 0
WORK=$WORK bash "$SHARED/workload/duckdb_bench.sh" "$DATA" | tee "$WORK/duckdb.txt"
python3 - "$WORK/flowstat-queries.txt" "$WORK/duckdb.txt" "$FS_RATE" <<'PY'
import re, sys
fs = {m[0]: float(m[1]) for m in re.findall(r"^(Q\d) median_ms=([\d.]+)", open(sys.argv[1]).read(), re.M)}
duck_text = open(sys.argv[2]).read()
duck = {m[0]: float(m[1]) for m in re.findall(r"duckdb (Q\d) median ([\d.]+) ms", duck_text)}
load = re.search(r"= (\d+) events/s", duck_text)
print("== ratios (DuckDB time / flowstat time; higher is better for flowstat)")
if load:
    print(f"import: flowstat {sys.argv[3]} events/s vs DuckDB {load.group(1)} events/s = {int(sys.argv[3])/int(load.group(1)):.2f}x")
for q in sorted(fs):
    if q in duck:
        print(f"{q}: flowstat {fs[q]:.2f} ms, DuckDB {duck[q]:.2f} ms = {duck[q]/fs[q]:.1f}x")
PY
# DuckDB's loader left its database in $WORK: the other query shapes against it, same sitting.
[ "$EVENTS" = 2000000 ] && [ -f "$WORK/w2m.duckdb" ] &&
  echo "== query shapes beyond Q1..Q6 (bench/shapes.sh)" && WORK=$WORK bash "$ROOT/bench/shapes.sh" "$DB" "$WORK/w2m.duckdb" "$DATA"
[ "${IMPORT_ROUNDS:-3}" -gt 0 ] && echo "== import against DuckDB's load, alternated (bench/import_pairs.sh)" &&
  WORK=$WORK SHARED=$SHARED bash "$ROOT/bench/import_pairs.sh" "$FS" "$DATA" "${IMPORT_ROUNDS:-3}"
