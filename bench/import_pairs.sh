#!/usr/bin/env bash
# Import speed against DuckDB's load, round by round on the same file: this machine's speed drifts
# from minute to minute (~1.6x), so one import and one load taken minutes apart can read ~1.3x off.
# Each round imports into a fresh flowstat store, then loads into a fresh DuckDB database; prints
# every round's rates and ratio, then the median rate of each and the median of the ratios.
# usage: bench/import_pairs.sh FLOWSTAT JSONL ROUNDS
# Env: WORK (default /tmp/flowstat-w2m), SHARED (the workload folder's parent); DuckDB's Node
# package must be installed already in $WORK/duckdb-node (bench/run.sh runs duckdb_bench.sh first).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SHARED=${SHARED:-$ROOT/../shared}
FS=$1
DATA=$2
ROUNDS=$3
WORK=${WORK:-/tmp/flowstat-w2m}
export DUCKDB_NODE=$WORK/duckdb-node
EVENTS=$(wc -l < "$DATA")
DB=$WORK/pairs-flowstat.db
DUCK=$WORK/pairs.duckdb
RATES=$WORK/import-pairs.txt
: > "$RATES"
for round in $(seq "$ROUNDS"); do
  rm -rf "$DB" "$DUCK" "$DUCK.wal"
  /usr/bin/time -f "%e" -o "$WORK/pairs.time" "$FS" import --db "$DB" "$DATA" 2> /dev/null
  FS_RATE=$(python3 -c "print(round($EVENTS / $(cat "$WORK/pairs.time")))")
  DUCK_RATE=$(node "$SHARED/workload/duckdb_bench.mjs" load "$DATA" "$DUCK" | sed -n 's/.*= \([0-9]*\) events\/s.*/\1/p')
  echo "$FS_RATE $DUCK_RATE" >> "$RATES"
  echo "import round $round: flowstat $FS_RATE events/s, DuckDB $DUCK_RATE events/s = $(python3 -c "print(f'{$FS_RATE / $DUCK_RATE:.2f}')")x"
done
rm -rf "$DB" "$DUCK" "$DUCK.wal"
python3 - "$RATES" <<'PY'
import statistics, sys
rounds = [tuple(map(int, line.split())) for line in open(sys.argv[1]) if line.strip()]
fs = statistics.median(r[0] for r in rounds)
duck = statistics.median(r[1] for r in rounds)
ratio = statistics.median(r[0] / r[1] for r in rounds)
print(f"import, {len(rounds)} alternated rounds: flowstat median {fs:.0f} events/s, DuckDB median {duck:.0f} events/s, "
      f"median of the rounds' ratios {ratio:.2f}x")
PY
