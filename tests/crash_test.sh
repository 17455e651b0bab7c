#!/usr/bin/env bash
# Durability under SIGKILL (doc/input.md): an import killed at random moments (parsing, writing, flushing,
# compacting, refreshing rollups) and run again ends with exactly the answers of one clean
# import, and an import that reported success survives a SIGKILL right after.
# usage: crash_test.sh FLOWSTAT_BIN [EVENTS] [KILLS]
set -euo pipefail
BIN=$1
EVENTS=${2:-1500000}
KILLS=${3:-20}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$BIN" generate --events "$EVENTS" --seed 9 --days 3 > "$WORK/flows.jsonl"
cat > "$WORK/q.jsonl" <<'Q'
{"namespace":"/","startAbsolute":"2025-11-17T00:00:00Z","endAbsolute":"2025-11-20T00:00:00Z","averageInterval":"1h"}
{"namespace":"/acme/prod","startAbsolute":"2025-11-17T00:10:00Z","endAbsolute":"2025-11-20T00:00:00Z","type":"Repartition","limit":50}
{"namespace":"/acme","startAbsolute":"2025-11-17T00:00:00Z","endAbsolute":"2025-11-20T00:00:00Z","type":"Repartition","metric":"Ports","flowMode":"all"}
{"namespace":"/","startAbsolute":"2025-11-17T00:00:00Z","endAbsolute":"2025-11-20T00:00:00Z","averageInterval":"6h","metric":"Ports","sourceTags":["tier=frontend"]}
Q
"$BIN" import --db "$WORK/clean" "$WORK/flows.jsonl" 2>/dev/null
"$BIN" query --db "$WORK/clean" --batch "$WORK/q.jsonl" > "$WORK/expected"

# Kill-and-resume: each run may be killed anywhere; the store must stay sound in between.
for i in $(seq 1 "$KILLS"); do
  "$BIN" import --db "$WORK/crashed" --no-progress "$WORK/flows.jsonl" 2>/dev/null &
  pid=$!
  sleep "$(python3 -c "import random; random.seed($i); print(round(random.uniform(0.05, 1.0) * $EVENTS / 400000, 2))")"
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  if [ -e "$WORK/crashed/CURRENT" ]; then
    "$BIN" verify --db "$WORK/crashed" > /dev/null || { echo "kill $i: store unsound after SIGKILL"; exit 1; }
  fi
done
"$BIN" import --db "$WORK/crashed" "$WORK/flows.jsonl" 2>/dev/null
"$BIN" query --db "$WORK/crashed" --batch "$WORK/q.jsonl" > "$WORK/got"
cmp -s "$WORK/expected" "$WORK/got" || { echo "answers after $KILLS kills differ from a clean import"; exit 1; }
"$BIN" verify --db "$WORK/crashed" > /dev/null

# Success then SIGKILL: once the summary is printed the events are durable.
"$BIN" import --db "$WORK/durable" --no-progress "$WORK/flows.jsonl" 2> "$WORK/stderr" &
pid=$!
until grep -q "^imported" "$WORK/stderr" 2>/dev/null || ! kill -0 "$pid" 2>/dev/null; do sleep 0.01; done
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
"$BIN" query --db "$WORK/durable" --batch "$WORK/q.jsonl" > "$WORK/got"
cmp -s "$WORK/expected" "$WORK/got" || { echo "a reported import lost events to SIGKILL"; exit 1; }
echo "crash test: $KILLS kills, answers equal to a clean import"
