#!/usr/bin/env bash
# Query shapes beyond the six canonical ones (bench/shapes-w2m.jsonl: 1-minute Series over 7 days,
# sub-hour buckets on unaligned windows, flowMode observed and all, tag- and ID-selective Series
# and Repartitions, an unlimited Repartition), flowstat beside DuckDB in one sitting. Per shape:
# flowstat in-process (median of RUNS, and with the JSON formatted), `flowstat query --batch` as a
# user sees it (marginal time per query: (time of 1+2K copies - time of 1+K) / K; the first query of
# a process reads what later ones find in its cache, and a process of one query keeps less), the one-shot
# process (start to exit), DuckDB's warm median, and a check that both answers sum alike.
# usage: bench/shapes.sh DB DUCKDB_FILE DATA.jsonl   (bench/run.sh calls it on W2M)
# Env: WORK (default /tmp/flowstat-w2m), RUNS (default 9), DUCKDB_NODE (@duckdb/node-api).
set -euo pipefail
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DB=$1 DUCK=$2 DATA=$3
WORK=${WORK:-/tmp/flowstat-w2m}
RUNS=${RUNS:-9}
export DUCKDB_NODE=${DUCKDB_NODE:-$WORK/duckdb-node}
FS=${FS:-$ROOT/build/tools/flowstat}  # Env FS: another build to measure
QB=$ROOT/build/bench/flowstat_query_bench
read -r SRC DST < <(head -1 "$DATA" | python3 -c 'import json,sys; e=json.load(sys.stdin); print(e["sourceID"], e["destinationID"])')
sed "s/SRC_ID/$SRC/; s/DST_ID/$DST/" "$ROOT/bench/shapes-w2m.jsonl" > "$WORK/shapes.jsonl"
"$QB" "$DB" "$WORK/shapes.jsonl" "$RUNS" > "$WORK/shapes-inprocess.txt"
RUNS=$RUNS node "$ROOT/bench/shapes_duckdb.mjs" "$DUCK" "$SRC" "$DST" > "$WORK/shapes-duckdb.txt"
python3 - "$FS" "$DB" "$WORK" <<'PY'
import json, re, subprocess, sys, time
fs, db, work = sys.argv[1:4]
K = 20
def timed(lines, reps):
    """Best of `reps` wall times of one `flowstat query --batch` process over `lines`, and its output.
    The answers come back through a pipe as bytes and are decoded after the clock stops: decoding
    them is the harness's work (measured on S10's 8.5 MB: 88.5 ms a query with them, 61.5 without)."""
    best, out = None, None
    for _ in range(reps):
        t = time.perf_counter()
        out = subprocess.run([fs, "query", "--db", db, "--batch", "-"], input="".join(lines).encode(),
                             capture_output=True, check=True).stdout
        t = time.perf_counter() - t
        best = t if best is None else min(best, t)
    return best * 1000, out.decode()
def total(answer_line):
    return sum(int(p["value"]) for s in json.loads(answer_line) for p in s["dataPoints"])
inproc = {m[0]: (float(m[1]), float(m[2])) for m in
          re.findall(r"^(\S+) median_ms=([\d.]+) .*? with_json_ms=([\d.]+)", open(f"{work}/shapes-inprocess.txt").read(), re.M)}
duck = {m[0]: (float(m[1]), int(m[2])) for m in
        re.findall(r"^duckdb (\S+) median ([\d.]+) ms sum (\d+)", open(f"{work}/shapes-duckdb.txt").read(), re.M)}
print(f"{'shape':28} {'in-proc':>9} {'+json':>9} {'--batch':>9} {'one-shot':>9} {'DuckDB':>9} {'ratio':>7}  sums")
for line in open(f"{work}/shapes.jsonl"):
    name = json.loads(line)["name"]
    one, out = timed([line], 5)
    some, _ = timed([line] * (K + 1), 5)
    many, _ = timed([line] * (2 * K + 1), 5)
    marginal = max(many - some, 0) / K
    ours = total(out.splitlines()[0])
    d_ms, d_sum = duck[name]
    same = "equal" if ours == d_sum else f"DIFFER flowstat {ours} duckdb {d_sum}"
    print(f"{name:28} {inproc[name][0]:8.2f}ms {inproc[name][1]:8.2f}ms {marginal:8.2f}ms {one:8.1f}ms "
          f"{d_ms:8.2f}ms {d_ms / max(marginal, 0.01):6.1f}x  {same}")
PY
