#!/usr/bin/env bash
# Import peak RSS against input size (issue: "peak RSS must not grow with the input").
#   bench/import_rss.sh [FILE]          imports the first 1M, 4M and all events of one W2M-style
#                                       file (default $WORK/w8000000.jsonl, made by bench/run.sh 8000000)
#   bench/import_rss.sh --generate N... streams N events of `flowstat generate` (seed 7, 7 days)
#                                       into each import, no file (32M: ~3 min, 64M: ~6 min)
# Prints each import's peak RSS (/usr/bin/time) and wall time.
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=${WORK:-/tmp/flowstat-w2m}
FS=$ROOT/build/tools/flowstat
cmake --build "$ROOT/build" -j2 --target flowstat_cli >/dev/null
report() {
  read -r KB SECS < "$WORK/rss.time"
  echo "$1 events: peak RSS $((KB / 1024)) MB, $SECS s"
}
if [ "${1:-}" = --generate ]; then
  shift
  for n in "$@"; do
    rm -rf "$WORK/rss.db"
    "$FS" generate --events "$n" --seed 7 --days 7 |
      /usr/bin/time -f "%M %e" -o "$WORK/rss.time" "$FS" import --no-progress --db "$WORK/rss.db" - 2>/dev/null
    report "$n"
  done
  rm -rf "$WORK/rss.db"
  exit 0
fi
DATA=${1:-$WORK/w8000000.jsonl}
[ -s "$DATA" ] || { echo "bench/import_rss.sh: $DATA: no data (run bench/run.sh 8000000 first)" >&2; exit 2; }
for n in 1000000 4000000 all; do
  part=$WORK/rss-part.jsonl
  if [ "$n" = all ]; then part=$DATA; else head -n "$n" "$DATA" > "$part"; fi
  rm -rf "$WORK/rss.db"
  /usr/bin/time -f "%M %e" -o "$WORK/rss.time" "$FS" import --db "$WORK/rss.db" "$part" 2>/dev/null
  report "$n"
done
rm -rf "$WORK/rss.db" "$WORK/rss-part.jsonl"
