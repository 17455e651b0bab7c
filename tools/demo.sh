#!/usr/bin/env bash
# The main job end to end: set up, build, generate flow events, import them, query them, and
# answer the same query over HTTP with `flowstat serve`.
# usage: tools/demo.sh [EVENTS]   (default 200000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
EVENTS=${1:-200000}
bash "$ROOT/.ci/deps.sh"
cd "$ROOT"
cmake -S . -B build -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build -j2 --target flowstat_cli
FS="$ROOT/build/tools/flowstat"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
echo "== generate $EVENTS events (7 days before 2025-11-20T00:00:00Z)"
"$FS" generate --events "$EVENTS" --seed 1 > "$WORK/flows.jsonl"
echo "== import"
"$FS" import --db "$WORK/db" "$WORK/flows.jsonl"
echo "== accepted flows in /acme/prod, 6-hour buckets over the last day (table)"
"$FS" query --db "$WORK/db" --namespace /acme/prod --start 2025-11-19T00:00:00Z --end 2025-11-20T00:00:00Z \
  --interval 6h --action accept --format table
echo "== the 5 most rejected ports under /acme over the last day (FlowStatistic JSON)"
"$FS" query --db "$WORK/db" --namespace /acme --start 2025-11-19T00:00:00Z --end 2025-11-20T00:00:00Z \
  --type Repartition --metric Ports --action reject --limit 5
echo
echo "== the same store behind the HTTP API: flowstat serve on a free loopback port, then curl"
"$FS" serve --db "$WORK/db" --listen 127.0.0.1:0 --port-file "$WORK/port" 2> "$WORK/serve.log" &
SERVER=$!
for _ in $(seq 100); do [ -s "$WORK/port" ] && break; sleep 0.1; done
curl -s -H "X-Namespace: /acme/prod" \
  "http://127.0.0.1:$(cat "$WORK/port")/flowstatistics?startAbsolute=2025-11-19T00:00:00Z&endAbsolute=2025-11-20T00:00:00Z&type=Repartition&action=accept&limit=3"
echo
kill -TERM "$SERVER"
wait "$SERVER"
echo "== server access log"
cat "$WORK/serve.log"
