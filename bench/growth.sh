#!/usr/bin/env bash
# Growth: the same queries on a small and a large store of `flowstat generate` events, streamed
# into `flowstat import` (no file of the large data set is written). Reports import rate and peak
# RSS, bytes/event after compaction, the one-shot latency and peak RSS of a query process that
# answers at once (an empty window: opening the store is all it costs), and in-process medians of
# the canonical queries (queries-w2m.jsonl beside the checkout, else bench/queries-generated.jsonl),
# with the large/small ratios.
# usage: bench/growth.sh [SMALL] [LARGE]     (default 2000000 32000000)
# Env: WORK (default /tmp/flowstat-growth), RUNS (default 21).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
SMALL=${1:-2000000}
LARGE=${2:-32000000}
WORK=${WORK:-/tmp/flowstat-growth}
RUNS=${RUNS:-21}
SHARED=${SHARED:-$ROOT/../shared}
FS=$ROOT/build/tools/flowstat
QB=$ROOT/build/bench/flowstat_query_bench
cmake --build "$ROOT/build" -j2 --target flowstat_cli flowstat_query_bench >/dev/null
mkdir -p "$WORK"
QUERIES=$ROOT/bench/queries-generated.jsonl
[ -f "$SHARED/workload/queries-w2m.jsonl" ] && QUERIES=$SHARED/workload/queries-w2m.jsonl
echo "== machine: $(nproc) cores, $(free -g | awk '/Mem/{print $2}') GiB; queries: $QUERIES"
for n in "$SMALL" "$LARGE"; do
  db=$WORK/g$n.db
  rm -rf "$db"
  /usr/bin/time -f "%e %M" -o "$WORK/import-$n.time" \
    bash -c "'$FS' generate --events $n --seed 7 --days 7 | '$FS' import --no-progress --db '$db' - 2>/dev/null"
  "$FS" compact --db "$db"
  read -r secs rss < "$WORK/import-$n.time"
  echo "$n events: import $(python3 -c "print(round($n/$secs))") events/s (generate piped in, sharing the cores)," \
    "peak RSS $((rss / 1024)) MB; $(python3 -c "print(round($(du -sb "$db" | cut -f1)/$n, 1))") bytes/event compacted"
done
python3 - "$FS" "$QB" "$WORK" "$SMALL" "$LARGE" "$QUERIES" "$RUNS" <<'PY'
import re, statistics, subprocess, sys, time
fs, qb, work, small, large, queries, runs = sys.argv[1:8]
def one_shot(db):
    """Median wall ms and largest peak RSS (MB) of `flowstat query` answering an empty window."""
    walls, rss = [], 0.0
    for _ in range(int(runs)):
        t = time.perf_counter()
        done = subprocess.run(["/usr/bin/time", "-f", "%M", fs, "query", "--db", db, "--namespace", "/", "--start",
                               "2000-01-01T00:00:00Z", "--end", "2000-01-02T00:00:00Z"],
                              check=True, capture_output=True, text=True)
        walls.append((time.perf_counter() - t) * 1000)
        rss = max(rss, int(done.stderr.split()[-1]) / 1024)
    return statistics.median(walls), rss
def in_process(db):
    out = subprocess.run([qb, db, queries, runs], check=True, capture_output=True, text=True).stdout
    return {m[0]: float(m[1]) for m in re.findall(r"^(\S+) median_ms=([\d.]+)", out, re.M)}
# Alternated, so that drift on a shared machine falls on both alike.
shots = {small: [], large: []}
for _ in range(3):
    for n in (small, large):
        shots[n].append(one_shot(f"{work}/g{n}.db"))
for n in (small, large):
    wall = statistics.median(s[0] for s in shots[n])
    rss = max(s[1] for s in shots[n])
    print(f"one-shot empty query, {n} events: {wall:.1f} ms wall (median of 3 medians of {runs}), peak RSS {rss:.1f} MB")
a, b = in_process(f"{work}/g{small}.db"), in_process(f"{work}/g{large}.db")
for q in a:
    print(f"{q}: {a[q]:.2f} ms at {small}, {b[q]:.2f} ms at {large} = {b[q] / a[q]:.2f}x")
PY
