#!/usr/bin/python3
"""Load on `flowstat serve` over loopback, bounded in time.

usage: bench/http_load.py FLOWSTAT DB QUERIES.jsonl [SECONDS]

DB is an imported store (W2M for the published figures); it is copied, and reports go to the
copy under /ingest-bench, so DB itself is left as it was. Phases, each SECONDS long (default 20):
  0. one query client alone: the cost of HTTP over an in-process query;
  1. mixed: 8 query clients loop over the queries (one keep-alive connection each) while 4
     clients post 1,000-event reports: latency p50/p99 per query, queries/s, events/s;
  2. ingest alone: 4 clients posting 1,000-event reports: events/s;
  3. 1,000 idle connections held open while one client queries: does service go on?
Clients are processes (no shared interpreter lock), using http.client.
"""
import http.client
import json
import multiprocessing as mp
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.parse

REPORT_EVENTS = 1000


def url_of(params):
    pairs = []
    for key, value in params.items():
        if key in ("namespace", "name"):
            continue
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, str(v).lower() if isinstance(v, bool) else str(v)))
    return "/flowstatistics?" + urllib.parse.urlencode(pairs)


def query_client(port, queries, seconds, out):
    conn = http.client.HTTPConnection("127.0.0.1", port)
    lat = {q["name"]: [] for q in queries}
    end = time.time() + seconds
    while time.time() < end:
        for q in queries:
            t0 = time.perf_counter()
            conn.request("GET", url_of(q), headers={"X-Namespace": q["namespace"]})
            r = conn.getresponse()
            r.read()
            if r.status != 200:
                raise SystemExit("query %s: %d" % (q["name"], r.status))
            lat[q["name"]].append(time.perf_counter() - t0)
    out.put(lat)


def report_bodies(client, count):
    """`count` JSON Lines bodies of unique events (distinct per client, body and position)."""
    bodies = []
    base = 1763164800000
    for b in range(count):
        lines = []
        for i in range(REPORT_EVENTS):
            n = b * REPORT_EVENTS + i
            lines.append(json.dumps({
                # Live reports: the same hour for everyone, as enforcers report what just happened.
                "timestamp": base + (n * 7919 + client * 104729) % 3600000,
                "namespace": "/ingest-bench/c%d/n%d" % (client, n % 7), "sourceID": "src-%d-%d" % (client, n % 997),
                "destinationID": "dst-R00000-%d" % (n % 211), "destinationPort": 1 + n % 1000, "protocol": 6,
                "action": "Accept" if n % 5 else "Reject", "sourceTags": ["app=a%d" % (n % 13), "env=bench"],
                "destinationTags": ["app=d%d" % (n % 17)], "value": 1 + n % 3}))
        bodies.append("\n".join(lines).encode())
    return bodies


def ingest_client(port, client, seconds, ready, out):
    bodies = report_bodies(client, 40)
    ready.wait()
    conn = http.client.HTTPConnection("127.0.0.1", port)
    events, i = 0, 0
    end = time.time() + seconds
    while time.time() < end:
        conn.request("POST", "/flowreports", body=bodies[i % len(bodies)],
                     headers={"Content-Type": "application/x-ndjson"})
        r = conn.getresponse()
        r.read()
        if r.status != 200:
            raise SystemExit("report: %d" % r.status)
        events += REPORT_EVENTS
        i += 1
        if i % len(bodies) == 0:  # a second round would repeat events: make them new ones
            previous, current = b"-R%05d-" % (i // len(bodies) - 1), b"-R%05d-" % (i // len(bodies))
            bodies = [b.replace(previous, current) for b in bodies]
    out.put(events)


def percentile(values, p):
    values = sorted(values)
    return values[min(len(values) - 1, int(round(p / 100 * (len(values) - 1))))]


def run_phase(port, queries, seconds, query_clients, ingest_clients):
    out = mp.Queue()
    ready = mp.Event()
    procs = [mp.Process(target=ingest_client, args=(port, c, seconds, ready, out)) for c in range(ingest_clients)]
    for p in procs:
        p.start()
    time.sleep(0 if ingest_clients == 0 else 3)  # bodies are built before the clock starts
    ready.set()
    procs += [mp.Process(target=query_client, args=(port, queries, seconds, out)) for _ in range(query_clients)]
    for p in procs[ingest_clients:]:
        p.start()
    results = [out.get() for _ in procs]
    for p in procs:
        p.join()
    lat = {}
    events = 0
    for r in results:
        if isinstance(r, dict):
            for k, v in r.items():
                lat.setdefault(k, []).extend(v)
        else:
            events += r
    return lat, events


def print_latency(lat, seconds):
    total = sum(len(v) for v in lat.values())
    print("  %-4s %8s %8s %8s" % ("", "p50 ms", "p99 ms", "count"))
    for name in sorted(lat):
        v = lat[name]
        print("  %-4s %8.2f %8.2f %8d" % (name, percentile(v, 50) * 1000, percentile(v, 99) * 1000, len(v)))
    print("  queries/s: %.0f" % (total / seconds))


def start_server(flowstat, db, work, *flags):
    """`flowstat serve` on `db` at a free loopback port, its stderr in WORK/serve.log: (process, port)."""
    port_file = os.path.join(work, "port")
    log = open(os.path.join(work, "serve.log"), "wb")
    server = subprocess.Popen([flowstat, "serve", "--db", db, "--listen", "127.0.0.1:0", "--port-file", port_file,
                               *flags], stderr=log)
    while not (os.path.exists(port_file) and open(port_file).read().strip()):
        time.sleep(0.05)
    return server, int(open(port_file).read())


def main():
    flowstat, db, queries_path = sys.argv[1:4]
    seconds = float(sys.argv[4]) if len(sys.argv) > 4 else 20
    queries = [json.loads(l) for l in open(queries_path) if l.strip()]
    work = tempfile.mkdtemp(prefix="flowstat-load-")
    copy = os.path.join(work, "db")
    shutil.copytree(db, copy)
    server, port = start_server(flowstat, copy, work, "--timeout", "30")
    print("== %d cores; store %s; %g s per phase" % (os.cpu_count(), db, seconds))

    print("phase 0: one query client, nothing else (HTTP + JSON + client overhead over in-process)")
    lat, _ = run_phase(port, queries, min(seconds, 10), 1, 0)
    print_latency(lat, min(seconds, 10))

    print("phase 1: 8 query clients + 4 clients posting %d-event reports" % REPORT_EVENTS)
    lat, events = run_phase(port, queries, seconds, 8, 4)
    print_latency(lat, seconds)
    print("  ingest meanwhile: %.0f events/s" % (events / seconds))

    print("phase 2: ingest alone, 4 clients posting %d-event reports" % REPORT_EVENTS)
    _, events = run_phase(port, queries, seconds, 0, 4)
    print("  ingest: %.0f events/s" % (events / seconds))

    print("phase 3: 1000 idle connections open, 1 query client")
    idle = [socket.create_connection(("127.0.0.1", port)) for _ in range(1000)]
    time.sleep(1)
    lat, _ = run_phase(port, queries, min(seconds, 10), 1, 0)
    print_latency(lat, min(seconds, 10))
    health = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    health.request("GET", "/health")
    print("  /health with 1000 idle connections open: %d" % health.getresponse().status)
    for s in idle:
        s.close()
    server.terminate()
    print("server exit code after SIGTERM: %d" % server.wait())
    shutil.rmtree(work)


if __name__ == "__main__":
    main()
