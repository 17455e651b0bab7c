#!/usr/bin/python3
"""What the periodic rollup refresh of `flowstat serve` costs under live reports, bounded in time.

usage: bench/live_refresh.py FLOWSTAT QUERY_BENCH [SECONDS] [REFRESH_MS] [CLIENTS]

A server on a new store, --refresh-ms REFRESH_MS (default 1000); CLIENTS (default 2) processes
post 1,000-event reports for SECONDS (default 30), every event in the same hour, as enforcers
report what just happened (bench/http_load.py's reports). Printed: events stored per second,
the server's CPU seconds (user + system, from /proc) while they arrived, and per million events;
then, the reports stopped, how long until a query of that hour reads its rollups and no chunk
(QUERY_BENCH, build/bench/flowstat_query_bench, beside the server, read-only), and the server's
exit code after SIGTERM.
"""
import os
import subprocess
import sys
import tempfile
import time
import multiprocessing as mp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from http_load import ingest_client, start_server  # noqa: E402

HOUR_START = 1763164800000  # the hour http_load.py's reports fall in


def cpu_seconds(pid):
    fields = open("/proc/%d/stat" % pid).read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main():
    flowstat, query_bench = sys.argv[1:3]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 30
    refresh_ms = int(sys.argv[4]) if len(sys.argv) > 4 else 1000
    clients = int(sys.argv[5]) if len(sys.argv) > 5 else 2
    work = tempfile.mkdtemp(prefix="flowstat-live-")
    db = os.path.join(work, "db")
    server, port = start_server(flowstat, db, work, "--refresh-ms", str(refresh_ms))
    out, ready = mp.Queue(), mp.Event()
    procs = [mp.Process(target=ingest_client, args=(port, c, seconds, ready, out)) for c in range(clients)]
    for p in procs:
        p.start()
    time.sleep(3)  # the clients build their bodies before the clock starts
    cpu_before = cpu_seconds(server.pid)
    ready.set()
    events = sum(out.get() for _ in procs)
    for p in procs:
        p.join()
    cpu = cpu_seconds(server.pid) - cpu_before
    print("refresh every %d ms, %d clients, %g s: %.0f events/s stored, server CPU %.2f s (%.2f s per million events)"
          % (refresh_ms, clients, seconds, events / seconds, cpu, cpu / events * 1e6))
    stopped = time.time()
    query_file = os.path.join(work, "hour.jsonl")
    with open(query_file, "w") as f:
        f.write('{"name":"hour","namespace":"/","startAbsolute":%d,"endAbsolute":%d,"averageInterval":"1h",'
                '"type":"Serie","metric":"Flows","action":"any"}\n' % (HOUR_START, HOUR_START + 3600000))
    while True:
        answer = subprocess.run([query_bench, db, query_file, "1"], capture_output=True, text=True)
        if answer.returncode == 0 and " chunks=0 " in answer.stdout:
            print("reports stopped: the hour read from its rollups after %.1f s" % (time.time() - stopped))
            break
        if time.time() - stopped > 10 * refresh_ms / 1000 + 30:
            print("reports stopped: the hour still read from chunks after %.0f s" % (time.time() - stopped))
            break
        time.sleep(0.2)
    server.terminate()
    print("server exit code after SIGTERM: %d" % server.wait())
    subprocess.run(["rm", "-rf", work])


if __name__ == "__main__":
    main()
