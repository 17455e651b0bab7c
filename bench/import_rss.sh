#!/usr/bin/env bash
# Import peak RSS against input size (issue: "peak RSS must not grow with the input"): imports
# the first 1M, 4M and all events of one W2M-style file into fresh stores and prints peak RSS.
# usage: bench/import_rss.sh [FILE]   (default $WORK/w8000000.jsonl, made by bench/run.sh 8000000)
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/flowstat-w2m}
DATA=${1:-$WORK/w8000000.jsonl}
FS=$ROOT/build/tools/flowstat
[ -s "$DATA" ] || { echo "bench/import_rss.sh: $DATA: no data (run bench/run.sh 8000000 first)" >&2; exit 2; }
cmake --build "$ROOT/build" -j2 --target flowstat_cli >/dev/null
for n in 1000000 4000000 all; do
  part=$WORK/rss-part.jsonl
  if [ "$n" = all ]; then part=$DATA; else head -n "$n" "$DATA" > "$part"; fi
  rm -rf "$WORK/rss.db"
  /usr/bin/time -f "%M %e" -o "$WORK/rss.time" "$FS" import --db "$WORK/rss.db" "$part" 2>/dev/null
  read -r KB SECS < "$WORK/rss.time"
  echo "$n events: peak RSS $((KB / 1024)) MB, $SECS s"
done
rm -rf "$WORK/rss.db" "$WORK/rss-part.jsonl"
