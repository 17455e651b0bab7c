#!/usr/bin/python3
"""`flowstat serve` end to end: a real server on a free loopback port, real clients (curl, Python
requests), real TLS with client certificates, kill -9 during concurrent ingest.

usage: tests/http_test.py FLOWSTAT_BINARY [unittest options]
Runs with Debian's /usr/bin/python3 and python3-requests.
"""
import gzip
import hashlib
import json
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import unittest

import requests

FLOWSTAT = None  # set in __main__
BASE_MS = 1763164800000  # 2025-11-15T00:00:00Z
DAY_MS = 86400000


class Server:
    """A `flowstat serve` process on a free loopback port."""

    def __init__(self, db, *args, scheme="http", expect_start=True, measures_memory=False):
        self.dir = tempfile.mkdtemp(prefix="flowstat-http-")
        port_file = os.path.join(self.dir, "port")
        self.log_path = os.path.join(self.dir, "serve.log")
        self.log = open(self.log_path, "wb")
        cmd = [FLOWSTAT, "serve", "--db", db, "--listen", "127.0.0.1:0", "--port-file", port_file, *args]
        env = dict(os.environ)
        if measures_memory and "ASAN_OPTIONS" in env:
            # AddressSanitizer keeps 256 MB of freed memory aside by default, which would hide what
            # a bound on the server's memory measures (peak_growth_kb); 1 MB still catches reuse.
            env["ASAN_OPTIONS"] += ":quarantine_size_mb=1"
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env)
        self.port = None
        if not expect_start:
            return
        deadline = time.time() + 20
        while time.time() < deadline:
            if os.path.exists(port_file) and read_text(port_file).strip():
                self.port = int(read_text(port_file))
                break
            if self.proc.poll() is not None:
                raise RuntimeError("server exited: " + self.output())
            time.sleep(0.02)
        if self.port is None:
            raise RuntimeError("server did not start: " + self.output())
        self.started_kb = self.peak_kb()
        self.url = "%s://127.0.0.1:%d" % (scheme, self.port)

    def peak_kb(self):
        return int(re.search(r"VmHWM:\s+(\d+)", read_text("/proc/%d/status" % self.proc.pid)).group(1))

    def peak_growth_kb(self):
        """How far the server's peak memory rose above what it held once listening."""
        return self.peak_kb() - self.started_kb

    def output(self):
        if not self.log.closed:
            self.log.flush()
        return read_text(self.log_path)

    def stop(self, sig=signal.SIGTERM):
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        rc = self.proc.wait(timeout=60)
        self.log.close()
        return rc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def read_text(path):
    with open(path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def generate(events, seed, days=3, end="2025-11-18T00:00:00Z"):
    out = subprocess.run([FLOWSTAT, "generate", "--events", str(events), "--seed", str(seed), "--days", str(days),
                          "--end", end], check=True, capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if line.strip()]


def import_lines(db, lines):
    path = os.path.join(tempfile.mkdtemp(prefix="flowstat-http-in-"), "in.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", db, path], check=True, capture_output=True)
    shutil.rmtree(os.path.dirname(path))


def batch_query(db, params_list):
    """`flowstat query --batch` on `db`: one output line per query."""
    text = "\n".join(json.dumps(p) for p in params_list) + "\n"
    out = subprocess.run([FLOWSTAT, "query", "--db", db, "--batch", "-"], input=text, check=True,
                         capture_output=True, text=True).stdout
    return [line + "\n" for line in out.splitlines()]


def url_params(params):
    """A --batch JSON object as URL parameters (lists repeat); the namespace goes to X-Namespace."""
    pairs = []
    for key, value in params.items():
        if key == "namespace":
            continue
        for v in value if isinstance(value, list) else [value]:
            pairs.append((key, str(v).lower() if isinstance(v, bool) else str(v)))
    return pairs


def total_flows(url, namespace, headers=None, start=BASE_MS - 30 * DAY_MS, end=BASE_MS + 60 * DAY_MS):
    r = requests.get(url + "/flowstatistics", headers={"X-Namespace": namespace, **(headers or {})},
                     params={"startAbsolute": start, "endAbsolute": end, "type": "Repartition", "metric": "Flows"})
    assert r.status_code == 200, r.text
    return sum(p["value"] for stat in r.json() for p in stat["dataPoints"])


def event(t, ns, src, dst, value=1, **more):
    e = {"timestamp": t, "namespace": ns, "sourceID": src, "destinationID": dst, "action": "Accept", "value": value}
    e.update(more)
    return e


class HttpQueries(unittest.TestCase):
    """Reports posted over HTTP, then random queries: HTTP bodies equal `query --batch` on a store
    that imported the same events with the CLI."""

    @classmethod
    def setUpClass(cls):
        cls.tmp = tempfile.mkdtemp(prefix="flowstat-http-q-")
        cls.lines = generate(20000, seed=11)
        cls.cli_db = os.path.join(cls.tmp, "cli.db")
        import_lines(cls.cli_db, cls.lines)
        cls.server = Server(os.path.join(cls.tmp, "served.db"))
        rng = random.Random(5)
        i = 0
        while i < len(cls.lines):  # JSON Lines and JSON arrays, of random sizes
            n = rng.randint(1, 700)
            chunk = cls.lines[i:i + n]
            i += n
            if rng.random() < 0.5:
                r = requests.post(cls.server.url + "/flowreports", data="\n".join(chunk).encode(),
                                  headers={"Content-Type": "application/x-ndjson"})
            else:
                r = requests.post(cls.server.url + "/flowreports", data=("[" + ",".join(chunk) + "]").encode(),
                                  headers={"Content-Type": "application/json"})
            assert r.status_code == 200, r.text
            assert r.json()["accepted"] == len(chunk)
        # Tags carried by many sources, so that selectors find something.
        counts = {}
        for line in cls.lines:
            for t in json.loads(line).get("sourceTags", []):
                counts[t] = counts.get(t, 0) + 1
        cls.tags = sorted(t for t, n in counts.items() if n >= 100)
        cls.ids = sorted({json.loads(line)["sourceID"] for line in cls.lines[:200]})

    @classmethod
    def tearDownClass(cls):
        cls.server.stop()
        cls.server.__exit__()
        shutil.rmtree(cls.tmp, ignore_errors=True)

    def random_params(self, rng):
        p = {"namespace": rng.choice(["/", "/", "/acme", "/acme", "/acme/prod", "/acme/prod/web", "/acme/prodx",
                                      "/acme/prod-eu", "/umbrella", "/nothing"])}
        start = BASE_MS + rng.randint(-DAY_MS // 4, 2 * DAY_MS)
        p["startAbsolute"] = start
        p["endAbsolute"] = start + rng.choice([1, 3600000, 5400000, DAY_MS, 3 * DAY_MS, rng.randint(1, 4 * DAY_MS)])
        if rng.random() < 0.5:
            p["averageInterval"] = rng.choice(["1s", "90s", "15m", "1h", "1d"])
        for key, choices in (("type", ["Serie", "Repartition"]), ("metric", ["Flows", "Ports"]),
                             ("action", ["accept", "reject", "any"]), ("flowMode", ["applied", "observed", "all"])):
            if rng.random() < 0.7:
                p[key] = rng.choice(choices)
        if p.get("type") == "Serie" and p["endAbsolute"] - p["startAbsolute"] > 2 * DAY_MS:
            p["averageInterval"] = "1h"
        if p.get("averageInterval") == "1s":
            p["endAbsolute"] = p["startAbsolute"] + 3600000
        if rng.random() < 0.25:
            p["sourceTags"] = rng.sample(self.tags, 1) + (rng.sample(self.tags, 1) if rng.random() < 0.2 else [])
        if rng.random() < 0.15:
            p["sourceID"] = rng.sample(self.ids, rng.randint(1, 5))
        if rng.random() < 0.1:
            p["recursive"] = False
        if rng.random() < 0.3:
            p["limit"] = rng.randint(0, 5)
        if rng.random() < 0.2:
            p["userIdentifier"] = "u%d" % rng.randint(0, 9)
        return p

    def test_random_queries_equal_query_batch(self):
        rng = random.Random(7)
        params_list = [self.random_params(rng) for _ in range(150)]
        expected = batch_query(self.cli_db, params_list)
        nonzero = sum(1 for line in expected if any(p["value"] for s in json.loads(line) for p in s["dataPoints"]))
        self.assertGreater(nonzero, len(expected) * 2 // 5)  # the comparisons are about real figures
        for params, want in zip(params_list, expected):
            r = requests.get(self.server.url + "/flowstatistics", params=url_params(params),
                             headers={"X-Namespace": params["namespace"]})
            self.assertEqual(r.status_code, 200, (params, r.text))
            self.assertEqual(r.text, want, params)
            self.assertEqual(r.headers["X-Count"], str(len(json.loads(want))))
            self.assertEqual(r.headers["Content-Type"], "application/json")

    def test_namespace_parameter_instead_of_header(self):
        params = {"namespace": "/acme", "startAbsolute": BASE_MS, "endAbsolute": BASE_MS + DAY_MS}
        want = batch_query(self.cli_db, [params])[0]
        r = requests.get(self.server.url + "/flowstatistics", params=params)
        self.assertEqual(r.text, want)
        r = requests.get(self.server.url + "/flowstatistics", params=params, headers={"X-Namespace": "/umbrella"})
        self.assertEqual(r.status_code, 400)
        self.assertEqual(r.json()[0]["data"]["parameter"], "namespace")
        # Two spellings of one namespace are not different namespaces.
        r = requests.get(self.server.url + "/flowstatistics", params=params, headers={"X-Namespace": "/acme/"})
        self.assertEqual((r.status_code, r.text), (200, want))
        # X-Namespace twice: the same namespace is it; two different ones are refused, not one picked.
        for values, status in ((["/acme", "/acme/"], 200), (["/acme", "/umbrella"], 400)):
            with socket.create_connection(("127.0.0.1", self.server.port)) as s:
                s.sendall(("GET /flowstatistics?startAbsolute=%d&endAbsolute=%d HTTP/1.1\r\nHost: x\r\n%s"
                           "Connection: close\r\n\r\n" % (BASE_MS, BASE_MS + DAY_MS,
                                                            "".join("X-Namespace: %s\r\n" % v for v in values))).encode())
                answer = b""
                while chunk := s.recv(65536):
                    answer += chunk
            self.assertIn(b" %d " % status, answer.split(b"\r\n")[0] + b" ", values)
            if status == 200:
                self.assertEqual(answer.partition(b"\r\n\r\n")[2].decode(), want)

    def test_client_list_parameters_page_and_are_otherwise_ignored(self):
        base = [("startAbsolute", BASE_MS), ("endAbsolute", BASE_MS + DAY_MS), ("recursive", "true"),
                ("order", "name"), ("override", "true"), ("q", "x == y")]
        full = requests.get(self.server.url + "/flowstatistics", params=base, headers={"X-Namespace": "/acme"})
        page2 = requests.get(self.server.url + "/flowstatistics", params=base + [("page", 2), ("pagesize", 1)],
                             headers={"X-Namespace": "/acme"})
        self.assertEqual(full.status_code, 200)
        self.assertEqual(len(full.json()), 2)
        self.assertEqual(page2.json(), full.json()[1:2])
        self.assertEqual(page2.headers["X-Count"], "2")

    def test_head_gzip_and_typos(self):
        q = {"startAbsolute": BASE_MS, "endAbsolute": BASE_MS + DAY_MS}
        head = requests.head(self.server.url + "/flowstatistics", params=q, headers={"X-Namespace": "/acme"})
        self.assertEqual(head.status_code, 200)
        self.assertEqual(head.headers["X-Count"], "2")
        self.assertEqual(head.content, b"")
        raw = requests.get(self.server.url + "/flowstatistics", params=q,
                           headers={"X-Namespace": "/acme", "Accept-Encoding": "gzip"}, stream=True)
        self.assertEqual(raw.headers.get("Content-Encoding"), "gzip")
        body = gzip.decompress(raw.raw.read(decode_content=False)).decode()
        self.assertEqual(body, batch_query(self.cli_db, [{"namespace": "/acme", **q}])[0])
        typo = requests.get(self.server.url + "/flowstatistics", params={**q, "averageIntervall": "5m"},
                            headers={"X-Namespace": "/acme"})
        self.assertEqual(typo.status_code, 400)
        err = typo.json()[0]
        self.assertEqual((err["code"], err["title"], err["subject"]), (400, "Bad Request", "flowstat"))
        self.assertEqual(err["data"]["parameter"], "averageIntervall")
        bad = requests.get(self.server.url + "/flowstatistics", params={**q, "averageInterval": "1500ms"},
                           headers={"X-Namespace": "/acme"})
        self.assertEqual(bad.status_code, 400)
        self.assertEqual(bad.json()[0]["data"]["parameter"], "averageInterval")
        # 1-second buckets from 1970 to 9999: refused as too many, not tried until memory ran out.
        huge = requests.get(self.server.url + "/flowstatistics",
                            params={"startAbsolute": 0, "endAbsolute": 253402300799999, "averageInterval": "1s"},
                            headers={"X-Namespace": "/acme"})
        self.assertEqual(huge.status_code, 400)
        self.assertEqual(huge.json()[0]["data"]["parameter"], "averageInterval")
        self.assertIn("253402300800 buckets", huge.json()[0]["description"])

    def test_bodies_are_gzip_or_identity_as_the_client_accepts(self):
        q = {"startAbsolute": BASE_MS, "endAbsolute": BASE_MS + DAY_MS, "type": "Repartition"}
        want = batch_query(self.cli_db, [{"namespace": "/acme", **q}])[0]
        answers = [("/flowstatistics", q, 200), ("/flowstatistics", {**q, "averageIntervall": "5m"}, 400),
                   ("/flowstatistics.svg", q, 200), ("/", {}, 200), ("/health", {}, 200), ("/metrics", {}, 200),
                   ("/no-such-path", {}, 404)]
        # Accept-Encoding -> gzip or not. A listed coding's q-value wins over "*"; "br" is never chosen.
        accepts = {"gzip, deflate, br": True, "br": False, "br;q=1, gzip;q=0": False, "GZIP": True, "x-gzip": True,
                   "*": True, "*;q=0": False, "gzip;q=0, *": False, "identity": False, "gzip;q=0.000": False,
                   "gzip;q=0.001": True, "": False}
        for path, params, status in answers:
            plain = requests.get(self.server.url + path, params=params,
                                 headers={"X-Namespace": "/acme", "Accept-Encoding": "identity"})
            self.assertEqual(plain.status_code, status, path)
            self.assertIsNone(plain.headers.get("Content-Encoding"), path)
            if path == "/flowstatistics" and status == 200:
                self.assertEqual(plain.text, want)
            for accept, gzipped in accepts.items():
                r = requests.get(self.server.url + path, params=params, stream=True,
                                 headers={"X-Namespace": "/acme", "Accept-Encoding": accept})
                raw = r.raw.read(decode_content=False)
                self.assertEqual(r.status_code, status, (path, accept))
                self.assertEqual(r.headers.get("Content-Encoding"), "gzip" if gzipped else None, (path, accept))
                self.assertEqual(r.headers.get("Vary"), "Accept-Encoding", (path, accept))
                body = gzip.decompress(raw) if gzipped else raw
                if path == "/metrics":  # counts the requests themselves: its text moves on
                    self.assertTrue(body.startswith(b"# HELP "), body[:40])
                else:
                    self.assertEqual(body, plain.content, (path, accept))
        # HEAD tells the length GET sends; curl asking for every coding it knows gets gzip.
        headers = {"X-Namespace": "/acme", "Accept-Encoding": "gzip, deflate, br"}
        head = requests.head(self.server.url + "/flowstatistics", params=q, headers=headers)
        full = requests.get(self.server.url + "/flowstatistics", params=q, headers=headers, stream=True)
        self.assertEqual(head.headers["Content-Length"], str(len(full.raw.read(decode_content=False))))
        out = subprocess.run(["curl", "-s", "--compressed", "-D", "-", "-H", "X-Namespace: /acme",
                              self.server.url + "/flowstatistics?" + "&".join("%s=%s" % kv for kv in q.items())],
                             check=True, capture_output=True).stdout.decode()
        head_text, _, body = out.partition("\r\n\r\n")
        self.assertIn("content-encoding: gzip", head_text.lower())
        self.assertEqual(body, want)

    def test_the_original_curl_example(self):
        # Events of the last hour: the original example asks for the last hour per minute.
        now_ms = int(time.time() * 1000)
        events = [event(now_ms - 1800000 - i * 1000, "/acme/web", "web-%d" % (i % 3), "db-1", value=2,
                        sourceTags=["app=web"]) for i in range(20)]
        events.append(event(now_ms - 1800000, "/acme/web", "batch-1", "db-1", value=100, sourceTags=["app=batch"]))
        r = requests.post(self.server.url + "/flowreports", json=events)
        self.assertEqual(r.json(), {"accepted": 21, "duplicates": 0})
        api = self.server.url
        out = subprocess.run(
            ["curl", "-s", "-H", "X-Namespace: /acme", "-H", "Authorization: anything-goes-without-tokens",
             api + "/flowstatistics?startRelative=1h&metric=Flows&type=Serie&averageInterval=1m"
             "&sourceTags=app=web&flowOffset=-3s"], check=True, capture_output=True, text=True).stdout
        stats = json.loads(out)
        self.assertEqual([s["mode"] for s in stats], ["Accepted", "Rejected"])
        self.assertIn(len(stats[0]["dataPoints"]), (60, 61))
        self.assertEqual(sum(p["value"] for p in stats[0]["dataPoints"]), 40)
        self.assertEqual(stats[0]["sourceIDs"], ["web-0", "web-1", "web-2"])
        self.assertEqual(stats[0]["sourceTags"], {"app": "web"})


class Tokens(unittest.TestCase):
    READER = "reader-token-0123456789"   # read /acme/prod
    WRITER = "writer-token-0123456789"   # write /acme/prod
    ADMIN = "admin-token-0123456789ab"   # read,write /

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="flowstat-http-t-")
        self.tokens = os.path.join(self.tmp, "tokens")
        with open(self.tokens, "w") as f:
            f.write("# token namespace permissions\n%s /acme/prod read\n%s /acme/prod/ write  # trailing slash\n"
                    "%s / read,write\n" % (self.READER, self.WRITER, self.ADMIN))
        self.server = Server(os.path.join(self.tmp, "db"), "--tokens", self.tokens)

    def tearDown(self):
        self.server.__exit__()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def get(self, namespace, token, bearer=True, extra=None):
        headers = {"X-Namespace": namespace, **(extra or {})}
        if token is not None:
            headers["Authorization"] = ("Bearer " + token) if bearer else token
        return requests.get(self.server.url + "/flowstatistics", headers=headers,
                            params={"startAbsolute": BASE_MS, "endAbsolute": BASE_MS + DAY_MS})

    def post(self, events, token):
        return requests.post(self.server.url + "/flowreports", json=events,
                             headers={"Authorization": "Bearer " + token})

    def test_every_status_code_of_tenant_isolation(self):
        self.assertEqual(self.get("/acme/prod", None).status_code, 401)
        self.assertEqual(self.get("/acme/prod", "not-a-known-token-at-all").status_code, 401)
        self.assertEqual(self.get("/acme/prod", self.READER).status_code, 200)
        self.assertEqual(self.get("/acme/prod/web", self.READER, bearer=False).status_code, 200)
        for scheme in ("bearer ", "BEARER\t", "Bearer   "):  # the scheme's name in any case
            self.assertEqual(self.get("/acme/prod", None, extra={"Authorization": scheme + self.READER}).status_code,
                             200, scheme)
        self.assertEqual(self.get("/acme/prod", None, extra={"Authorization": "Basic " + self.READER}).status_code, 401)
        for outside in ("/acme/prodx", "/acme/prod-eu", "/acme", "/"):
            r = self.get(outside, self.READER)
            self.assertEqual(r.status_code, 403, outside)
            self.assertEqual(r.json()[0]["title"], "Forbidden")
        self.assertEqual(self.get("/acme/prod", self.WRITER).status_code, 403)  # write only
        ok = self.post([event(BASE_MS, "/acme/prod/web", "a", "b", 5)], self.WRITER)
        self.assertEqual(ok.status_code, 200, ok.text)
        self.assertEqual(self.post([event(BASE_MS, "/acme/prod", "a", "b")], self.READER).status_code, 403)
        # One event outside the grant: the whole request is refused, nothing stored.
        mixed = [event(BASE_MS, "/acme/prod/web", "c", "d", 7), event(BASE_MS, "/acme/prodx", "c", "d", 7)]
        r = self.post(mixed, self.WRITER)
        self.assertEqual(r.status_code, 403)
        self.assertEqual(r.json()[0]["data"]["index"], 1)
        admin = {"Authorization": "Bearer " + self.ADMIN}
        self.assertEqual(total_flows(self.server.url, "/", admin), 5)
        self.assertEqual(requests.get(self.server.url + "/metrics").status_code, 401)
        m = requests.get(self.server.url + "/metrics", headers={"Authorization": self.READER})
        self.assertEqual(m.status_code, 200)
        self.assertIn("flowstat_events_accepted_total 1", m.text)
        self.assertEqual(requests.get(self.server.url + "/health").json(), {"status": "ok"})
        self.assertEqual(requests.get(self.server.url + "/nowhere").status_code, 404)
        self.assertEqual(requests.post(self.server.url + "/flowstatistics", headers=admin).status_code, 405)
        self.assertEqual(requests.get(self.server.url + "/flowreports", headers=admin).status_code, 405)
        # Tokens never reach the log.
        log = self.server.output()
        for token in (self.READER, self.WRITER, self.ADMIN, "not-a-known-token-at-all"):
            self.assertNotIn(token, log)

    def test_sighup_reloads_the_tokens_file(self):
        newcomer = "newcomer-token-0123456789"
        self.assertEqual(self.get("/umbrella", newcomer).status_code, 401)
        with open(self.tokens, "a") as f:
            f.write("%s /umbrella read\n" % newcomer)
        self.server.proc.send_signal(signal.SIGHUP)
        deadline = time.time() + 10
        while self.get("/umbrella", newcomer).status_code != 200 and time.time() < deadline:
            time.sleep(0.05)
        self.assertEqual(self.get("/umbrella", newcomer).status_code, 200)
        # A broken file keeps the previous tokens.
        with open(self.tokens, "a") as f:
            f.write("short /x read\n")
        self.server.proc.send_signal(signal.SIGHUP)
        time.sleep(0.3)
        self.assertEqual(self.get("/umbrella", newcomer).status_code, 200)
        self.assertIn("keeping the previous tokens", self.server.output())


class BadInput(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="flowstat-http-b-")
        self.server = Server(os.path.join(self.tmp, "db"), measures_memory=True)
        r = requests.post(self.server.url + "/flowreports", json=[event(BASE_MS, "/x", "s", "d", 3)])
        self.assertEqual(r.status_code, 200)

    def tearDown(self):
        self.assertEqual(self.server.stop(), 0)
        self.server.__exit__()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def assertNothingStored(self):
        self.assertEqual(total_flows(self.server.url, "/"), 3)
        self.assertEqual(requests.get(self.server.url + "/health").status_code, 200)

    def post_raw(self, body, content_type="application/json"):
        return requests.post(self.server.url + "/flowreports", data=body, headers={"Content-Type": content_type})

    def test_invalid_events_are_422_with_their_index(self):
        good = event(BASE_MS + 1, "/x", "s", "d")
        bad_port = event(BASE_MS, "/x", "s", "d", destinationPort=70000)
        r = self.post_raw(json.dumps([good, bad_port, {"namespace": "x"}, "text", good]))
        self.assertEqual(r.status_code, 422)
        self.assertEqual([(e["code"], e["data"]["index"]) for e in r.json()], [(422, 1), (422, 2), (422, 3)])
        self.assertIn("destinationPort", r.json()[0]["description"])
        lines = json.dumps(good) + "\n" + '{"timestamp":"yesterday","namespace":"/x"}\n'
        r = self.post_raw(lines, "application/x-ndjson")
        self.assertEqual(r.status_code, 422)
        self.assertEqual(r.json()[0]["data"]["index"], 1)
        self.assertNothingStored()

    def test_every_invalid_event_is_listed_however_many_in_bounded_memory(self):
        # Past 1,000 errors the list is streamed as the body is read again: one object per invalid
        # event all the same, in order. A 2 MB body of a million "x" lines was answered with
        # 233 MB of JSON built in memory (~600 MB at the peak; 64 MB bodies: tens of GB).
        good = json.dumps(event(BASE_MS + 1, "/x", "s", "d")).encode()
        items = [good if i % 3 else b"[1]" for i in range(3000)]
        for content_type, body in (("application/x-ndjson", b"\n".join(items)),
                                   ("application/json", b"[" + b",".join(items) + b"]")):
            r = self.post_raw(body, content_type)
            self.assertEqual(r.status_code, 422)
            errors = r.json()
            self.assertEqual([e["data"]["index"] for e in errors], list(range(0, 3000, 3)), content_type)
            self.assertEqual({(e["code"], e["subject"]) for e in errors}, {(422, "flowstat")})
        with requests.post(self.server.url + "/flowreports", data=b"x\n" * (1 << 20), stream=True,
                           headers={"Content-Type": "application/x-ndjson"}) as r:
            self.assertEqual(r.status_code, 422)
            received = sum(len(chunk) for chunk in r.iter_content(1 << 20))
        self.assertGreater(received, 200 << 20)
        self.assertLess(self.server.peak_growth_kb(), 100 << 10)
        self.assertNothingStored()

    def test_unreadable_bodies_are_400(self):
        for body in (b'[{"timestamp":1', b"[" * 10000 + b"]" * 10000, b'[{"namespace":"/x\xff\xfe"}]',
                     b"{}" + b"[", b"   "):
            r = self.post_raw(body)
            self.assertIn(r.status_code, (400, 422), body[:20])
            self.assertEqual(r.json()[0]["subject"], "flowstat")
        # Ten thousand levels of nesting inside one JSON Lines event, invalid UTF-8 in another.
        r = self.post_raw(b'{"a":' * 10000 + b"1" + b"}" * 10000 + b"\n", "application/x-ndjson")
        self.assertEqual(r.status_code, 422)
        r = self.post_raw(b'{"timestamp":1,"namespace":"/x\xff","sourceID":"s","destinationID":"d","action":"Accept"}',
                          "application/x-ndjson")
        self.assertEqual(r.status_code, 422)
        self.assertIn("UTF-8", r.json()[0]["description"])
        self.assertNothingStored()

    def test_a_100_mb_body_is_413(self):
        r = self.post_raw(b"[" + b" " * (100 << 20) + b"]")
        self.assertEqual(r.status_code, 413)
        self.assertEqual(r.json()[0]["code"], 413)
        self.assertNothingStored()

    def test_chunked_and_compressed_bodies_are_bounded_by_max_body(self):
        # The limit counts a body as decoded: a chunked one has no Content-Length to check first,
        # and 100 MB of gzip-compressed spaces travel as ~100 KB. Neither is held in memory whole.
        self.assertEqual(self.server.stop(), 0)
        self.server.__exit__()
        self.server = Server(os.path.join(self.tmp, "db"), "--max-body", str(4 << 20), measures_memory=True)

        def chunks():
            for _ in range(100):
                yield b" " * (1 << 20)
        r = requests.post(self.server.url + "/flowreports", data=chunks(),
                          headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual(r.status_code, 413)
        self.assertIn("--max-body", r.json()[0]["description"])
        bomb = gzip.compress(b"[" + b" " * (100 << 20) + b"]")
        self.assertLess(len(bomb), 1 << 20)
        r = requests.post(self.server.url + "/flowreports", data=bomb,
                          headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertEqual(r.status_code, 413)
        self.assertLess(self.server.peak_growth_kb(), 48 << 10)  # 4 MiB bodies at most, held a few times
        r = requests.post(self.server.url + "/flowreports", data=b"\x1f\x8b not gzip",
                          headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertEqual(r.status_code, 400)
        self.assertIn("compressed", r.json()[0]["description"])
        self.assertNothingStored()
        # Within the limit, a compressed or chunked body is read like any other.
        events = [event(BASE_MS + i, "/x", "s", "d", 2) for i in range(3)]
        r = requests.post(self.server.url + "/flowreports", data=gzip.compress(json.dumps(events).encode()),
                          headers={"Content-Type": "application/json", "Content-Encoding": "gzip"})
        self.assertEqual((r.status_code, r.json()), (200, {"accepted": 3, "duplicates": 0}))
        r = requests.post(self.server.url + "/flowreports", data=iter([json.dumps(events[0]).encode() + b"\n"]),
                          headers={"Content-Type": "application/x-ndjson"})
        self.assertEqual((r.status_code, r.json()), (200, {"accepted": 1, "duplicates": 0}))
        self.assertEqual(total_flows(self.server.url, "/"), 9)

    def test_a_post_without_length_is_411(self):
        with socket.create_connection(("127.0.0.1", self.server.port)) as s:
            s.sendall(b"POST /flowreports HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n\r\n")
            self.assertIn(b" 411 ", s.recv(4096).split(b"\r\n")[0] + b" ")
        self.assertNothingStored()

    def test_bytes_that_are_not_utf8_get_json_answers(self):
        # Percent-encoded stray bytes in a path, a parameter name and values: every answer is
        # still JSON (strict UTF-8), and a parameter that is not UTF-8 is a 400 naming it.
        url = self.server.url
        cases = ((url + "/no%FF%C3", 404, None),
                 (url + "/flowstatistics?namespace=/&startRelative=1h&%FF=1", 400, "\ufffd"),
                 (url + "/flowstatistics?namespace=/&startRelative=1h&sourceTags=a%3D%FF", 400, "sourceTags"),
                 (url + "/flowstatistics?namespace=/&startRelative=1h&sourceID=%C3", 400, "sourceID"),
                 (url + "/flowstatistics?namespace=/a%ED%A0%80&startRelative=1h", 400, "namespace"))
        for target, status, parameter in cases:
            r = requests.get(target)
            self.assertEqual(r.status_code, status, target)
            errors = json.loads(r.content.decode("utf-8", errors="strict"))
            self.assertEqual(errors[0]["code"], status, target)
            if parameter:
                self.assertEqual(errors[0]["data"]["parameter"], parameter, target)
        r = requests.get(url + "/flowstatistics?startRelative=1h", headers={"X-Namespace": b"/x\xff"})
        self.assertEqual(r.status_code, 400)
        self.assertEqual(json.loads(r.content.decode("utf-8", errors="strict"))[0]["data"]["parameter"], "namespace")

    def test_a_path_cannot_forge_access_log_lines(self):
        forged = "2026-01-01T00:00:00Z GET /flowstatistics 200 1 0.1ms"
        r = requests.get(self.server.url + "/x%0A" + forged.replace(" ", "%20") + "%0D%FF%25")
        self.assertEqual(r.status_code, 404)
        not_found_bytes = int(r.headers["Content-Length"])
        r = requests.get(self.server.url + "/health")  # its line follows the 404's: that one is written
        self.assertEqual(r.status_code, 200)
        health_bytes = int(r.headers["Content-Length"])
        lines = []
        for _ in range(50):
            lines = [l for l in self.server.output().splitlines() if re.match(r"\d{4}-\d\d-\d\dT", l)]
            if any(" /health " in l for l in lines):
                break
            time.sleep(0.1)
        self.assertNotIn(forged, "\n".join(lines))
        logged = [l for l in lines if " 404 " in l]
        self.assertEqual(len(logged), 1, lines)
        self.assertIn(" /x%0A2026-01-01T00:00:00Z%20GET%20/flowstatistics%20200%201%200.1ms%0D%FF%25 404 ", logged[0])
        for line in lines:  # every request one line of six fields
            self.assertEqual(len(line.split(" ")), 6, line)
        # The bytes field is the body sent (gzip-compressed here: requests asks for it).
        self.assertEqual(logged[0].split(" ")[4], str(not_found_bytes))
        self.assertEqual([l.split(" ")[4] for l in lines if " /health " in l], [str(health_bytes)])

    def test_a_wrong_method_without_body_is_405_and_an_unknown_path_404(self):
        # As curl -X PUT sends them: no Content-Length, no body. The method or path decides the
        # answer, before any body would be read.
        for request, status in ((b"PUT /flowstatistics", b" 405 "), (b"DELETE /flowreports", b" 405 "),
                                (b"PATCH /health", b" 405 "), (b"PUT /no-such-path", b" 404 ")):
            with socket.create_connection(("127.0.0.1", self.server.port)) as s:
                s.sendall(request + b" HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
                answer = b""
                while chunk := s.recv(4096):
                    answer += chunk
            head, _, body = answer.partition(b"\r\n\r\n")
            self.assertIn(status, head.split(b"\r\n")[0] + b" ", request)
            self.assertEqual(json.loads(body)[0]["code"], int(status), request)
        self.assertNothingStored()

    def test_sigterm_drains_answers_503_to_late_requests_and_exits_0(self):
        late = socket.create_connection(("127.0.0.1", self.server.port))
        time.sleep(0.3)  # accepted: its thread waits for the request
        self.server.proc.send_signal(signal.SIGTERM)
        time.sleep(0.3)
        late.sendall(b"GET /health HTTP/1.1\r\nHost: x\r\n\r\n")
        self.assertIn(b" 503 ", late.recv(4096).split(b"\r\n")[0] + b" ")
        late.close()
        self.assertEqual(self.server.proc.wait(timeout=30), 0)
        self.server.stop = lambda sig=None: 0  # already stopped
        out = subprocess.run([FLOWSTAT, "query", "--db", os.path.join(self.tmp, "db"), "--namespace", "/x",
                              "--start", str(BASE_MS), "--end", str(BASE_MS + DAY_MS), "--type", "Repartition"],
                             check=True, capture_output=True, text=True).stdout
        self.assertEqual(json.loads(out)[0]["dataPoints"][0]["value"], 3)


class BackupWhileServing(unittest.TestCase):
    """POST /backup while 3 clients post: the copy verifies, holds whole reports only, and answers
    like the original for what it holds."""

    def test_backup_during_ingest(self):
        tmp = tempfile.mkdtemp(prefix="flowstat-http-bk-")
        with Server(os.path.join(tmp, "db")) as server:
            stop = threading.Event()

            def client(c):
                with requests.Session() as session:
                    b = 0
                    while not stop.is_set():
                        events = [event(BASE_MS + i * 1000, "/bk/c%d" % c, "s%d-%d" % (b, i), "d") for i in range(100)]
                        self.assertEqual(session.post(server.url + "/flowreports", json=events).status_code, 200)
                        b += 1

            threads = [threading.Thread(target=client, args=(c,)) for c in range(3)]
            for t in threads:
                t.start()
            time.sleep(1)
            copy = os.path.join(tmp, "copy")
            r = requests.post(server.url + "/backup", params={"to": copy})
            self.assertEqual(r.status_code, 200, r.text)
            time.sleep(0.5)
            stop.set()
            for t in threads:
                t.join()
            self.assertEqual(requests.post(server.url + "/backup", params={"to": copy}).status_code, 400)  # exists
            self.assertEqual(server.stop(), 0)
        verify = subprocess.run([FLOWSTAT, "verify", "--db", copy], capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stderr)
        original = os.path.join(tmp, "db")
        for c in range(3):
            q = {"namespace": "/bk/c%d" % c, "startAbsolute": BASE_MS, "endAbsolute": BASE_MS + DAY_MS,
                 "type": "Repartition"}
            in_copy = sum(p["value"] for s in json.loads(batch_query(copy, [q])[0]) for p in s["dataPoints"])
            in_original = sum(p["value"] for s in json.loads(batch_query(original, [q])[0]) for p in s["dataPoints"])
            self.assertEqual(in_copy % 100, 0)  # whole reports only
            self.assertGreater(in_copy, 0)
            self.assertLess(in_copy, in_original)  # taken before the clients stopped
        shutil.rmtree(tmp)


class Retention(unittest.TestCase):
    def test_retention_expires_while_serving(self):
        tmp = tempfile.mkdtemp(prefix="flowstat-http-ret-")
        with Server(os.path.join(tmp, "db"), "--retention", "1h", "--retention-check-ms", "200") as server:
            now = int(time.time() * 1000)
            old = [event(now - 2 * 3600000 + i, "/r", "old%d" % i, "d") for i in range(50)]
            young = [event(now - 600000 + i, "/r", "young%d" % i, "d") for i in range(30)]
            stop = threading.Event()

            def keep_posting():  # ingest goes on while retention runs
                with requests.Session() as session:
                    k = 0
                    while not stop.is_set():
                        e = [event(now - 300000 + k, "/live", "s%d" % k, "d")]
                        self.assertEqual(session.post(server.url + "/flowreports", json=e).status_code, 200)
                        k += 1

            poster = threading.Thread(target=keep_posting)
            poster.start()
            self.assertEqual(requests.post(server.url + "/flowreports", json=old + young).status_code, 200)
            window = {"start": now - 3 * 3600000, "end": now + 60000}
            deadline = time.time() + 10
            while time.time() < deadline and total_flows(server.url, "/r", **window) != 30:
                time.sleep(0.1)
            self.assertEqual(total_flows(server.url, "/r", **window), 30)
            stop.set()
            poster.join()
            self.assertGreater(total_flows(server.url, "/live", **window), 0)
            rc = server.stop()
            self.assertEqual(rc, 0, read_text(server.log_path)[-2000:])
        shutil.rmtree(tmp)

    def test_rollup_retention_keeps_downsampled_history(self):
        tmp = tempfile.mkdtemp(prefix="flowstat-http-ret-")
        hour = 3600000
        with Server(os.path.join(tmp, "db"), "--retention", "1h", "--rollup-retention", "3h",
                    "--retention-check-ms", "200") as server:
            now = int(time.time() * 1000)
            ancient = [event(now - 5 * hour + i, "/r", "ancient%d" % i, "d") for i in range(20)]
            old = [event(now - 2 * hour + i, "/r", "old%d" % i, "d") for i in range(40)]
            young = [event(now - 600000 + i, "/r", "young%d" % i, "d") for i in range(30)]
            # Posted before the first expiry can reach them (it runs every 200 ms): all three sets
            # are acknowledged, then retention sorts them out.
            self.assertEqual(requests.post(server.url + "/flowreports", json=ancient + old + young).status_code, 200)
            # Whole hours: what rollups answer. The old events' raw records are gone, their figure stays.
            window = {"start": (now - 6 * hour) // hour * hour, "end": (now + hour) // hour * hour + hour}
            deadline = time.time() + 15
            while time.time() < deadline and total_flows(server.url, "/r", **window) != 70:
                time.sleep(0.1)
            self.assertEqual(total_flows(server.url, "/r", **window), 70)
            # Flows to one destination: from the pair sums of the rollups, the old events' figure stays.
            r = requests.get(server.url + "/flowstatistics", headers={"X-Namespace": "/r"},
                             params={"startAbsolute": window["start"], "endAbsolute": window["end"],
                                     "destinationID": "d"})
            self.assertEqual(r.status_code, 200, r.text)
            self.assertEqual(sum(p["value"] for s in r.json() for p in s["dataPoints"]), 70)
            # A query needing the old raw events (a source ID) is refused, naming where it can start.
            r = requests.get(server.url + "/flowstatistics", headers={"X-Namespace": "/r"},
                             params={"startAbsolute": window["start"], "endAbsolute": window["end"],
                                     "sourceID": "old1"})
            self.assertEqual(r.status_code, 400, r.text)
            self.assertIn("it can be answered from", r.json()[0]["description"])
            # Below the raw horizon nothing is taken any more.
            late = requests.post(server.url + "/flowreports", json=[event(now - 2 * hour + 500, "/r", "late", "d")])
            self.assertEqual(late.status_code, 422, late.text)
            rc = server.stop()
            self.assertEqual(rc, 0, read_text(server.log_path)[-2000:])
        shutil.rmtree(tmp)


class Shards(unittest.TestCase):
    """serve --shards: a broker merging the partials of two servers equals one server with everything."""

    def test_a_broker_answers_like_one_store_and_refuses_when_a_shard_is_down(self):
        tmp = tempfile.mkdtemp(prefix="flowstat-http-shards-")
        events = os.path.join(tmp, "events.jsonl")
        with open(events, "w") as f:
            subprocess.run([FLOWSTAT, "generate", "--events", "20000", "--seed", "21", "--end",
                            "2025-11-20T00:00:00Z"], stdout=f, check=True)
        whole = os.path.join(tmp, "whole")
        subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", whole, events], check=True, capture_output=True)
        # The events as stored, split by a hash of their content: a report sent twice lands on the
        # same shard both times.
        dumped = subprocess.run([FLOWSTAT, "dump", "--db", whole, "--namespace", "/", "--start",
                                 "2025-01-01T00:00:00Z", "--end", "2026-01-01T00:00:00Z", "--flow-mode", "all"],
                                check=True, capture_output=True, text=True).stdout.splitlines(keepends=True)
        shards = []
        for k in range(2):
            part = os.path.join(tmp, "part%d.jsonl" % k)
            with open(part, "w") as f:
                f.writelines(l for l in dumped if hashlib.sha1(l.encode()).digest()[0] % 2 == k)
            db = os.path.join(tmp, "shard%d" % k)
            subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", db, part], check=True, capture_output=True)
            shards.append(db)
        # One shard without a block cache (--cache-mb 0): slower reads, the same answers.
        with Server(whole) as one, Server(shards[0]) as s0, Server(shards[1], "--cache-mb", "0") as s1, \
                Server(os.path.join(tmp, "broker"), "--shards", s0.url + "," + s1.url) as broker:
            window = {"startAbsolute": "2025-11-13T00:00:00Z", "endAbsolute": "2025-11-20T00:00:00Z"}
            shapes = [{}, {"type": "Repartition", "limit": "5"}, {"metric": "Ports", "averageInterval": "1d"},
                      {"type": "Repartition", "metric": "Ports", "flowMode": "all"},
                      {"type": "Repartition", "sourceTags": "app=web"}, {"page": "2", "pagesize": "1"}]
            for shape in shapes:
                for ns in ("/", "/acme"):
                    params = {**window, **shape}
                    want = requests.get(one.url + "/flowstatistics", headers={"X-Namespace": ns}, params=params)
                    got = requests.get(broker.url + "/flowstatistics", headers={"X-Namespace": ns}, params=params)
                    self.assertEqual(want.status_code, 200, want.text)
                    self.assertEqual((got.status_code, got.text), (200, want.text), (ns, shape))
                    self.assertEqual(got.headers["X-Count"], want.headers["X-Count"])
            svg = requests.get(broker.url + "/flowstatistics.svg", headers={"X-Namespace": "/"}, params=window)
            self.assertEqual(svg.status_code, 200)
            self.assertIn("<polyline", svg.text)
            # A bad parameter is the query's fault: the shards' 400 comes back as it is.
            bad = requests.get(broker.url + "/flowstatistics", headers={"X-Namespace": "/"},
                               params={**window, "metric": "Bytes"})
            self.assertEqual(bad.status_code, 400, bad.text)
            # A shard down: 503 naming it, never a figure from the other shard alone.
            s1.stop(signal.SIGKILL)
            down = requests.get(broker.url + "/flowstatistics", headers={"X-Namespace": "/"}, params=window)
            self.assertEqual(down.status_code, 503, down.text)
            self.assertIn(s1.url, down.json()[0]["description"])
            self.assertEqual(broker.stop(), 0)
        # A shard that takes the connection and never answers: 503 within the broker's --timeout.
        silent = socket.socket()
        silent.bind(("127.0.0.1", 0))
        silent.listen(8)
        hung = "http://127.0.0.1:%d" % silent.getsockname()[1]
        with Server(shards[0]) as s0, Server(os.path.join(tmp, "broker2"), "--shards", s0.url + "," + hung,
                                             "--timeout", "1") as broker:
            started = time.time()
            r = requests.get(broker.url + "/flowstatistics", headers={"X-Namespace": "/"},
                             params={"startAbsolute": "2025-11-13T00:00:00Z", "endAbsolute": "2025-11-20T00:00:00Z"})
            self.assertEqual(r.status_code, 503, r.text)
            self.assertIn(hung, r.json()[0]["description"])
            self.assertLess(time.time() - started, 10)
        silent.close()
        shutil.rmtree(tmp)


class Options(unittest.TestCase):
    def test_no_tokens_means_loopback_only(self):
        tmp = tempfile.mkdtemp(prefix="flowstat-http-o-")
        r = subprocess.run([FLOWSTAT, "serve", "--db", os.path.join(tmp, "db"), "--listen", "0.0.0.0:0"],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn("loopback", r.stderr)
        self.assertFalse(os.path.exists(os.path.join(tmp, "db")))
        bad = os.path.join(tmp, "tokens")
        with open(bad, "w") as f:
            f.write("tooshort /acme read\n")
        r = subprocess.run([FLOWSTAT, "serve", "--db", os.path.join(tmp, "db"), "--tokens", bad],
                           capture_output=True, text=True, timeout=30)
        self.assertEqual(r.returncode, 2)
        self.assertIn(bad + ":1:", r.stderr)
        shutil.rmtree(tmp)


class Tls(unittest.TestCase):
    """HTTPS with a client certificate, as the original Python client authenticates."""

    def test_client_certificate_and_namespace(self):
        tmp = tempfile.mkdtemp(prefix="flowstat-http-tls-")

        def openssl(*args):
            subprocess.run(["openssl", *args], check=True, capture_output=True, cwd=tmp)

        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "ca.key", "-out", "ca.crt", "-days", "2",
                "-subj", "/CN=flowstat test CA")
        for name, extra in (("server", ["-addext", "subjectAltName=IP:127.0.0.1"]), ("client", [])):
            openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key", "-out", name + ".csr",
                    "-subj", "/CN=" + name, *extra)
            ext = os.path.join(tmp, name + ".ext")
            with open(ext, "w") as f:
                f.write("subjectAltName=IP:127.0.0.1\n" if name == "server" else "extendedKeyUsage=clientAuth\n")
            openssl("x509", "-req", "-in", name + ".csr", "-CA", "ca.crt", "-CAkey", "ca.key", "-CAcreateserial",
                    "-out", name + ".crt", "-days", "2", "-extfile", ext)
        p = lambda n: os.path.join(tmp, n)
        with Server(p("db"), "--tls-cert", p("server.crt"), "--tls-key", p("server.key"), "--client-ca", p("ca.crt"),
                    scheme="https") as server:
            client = (p("client.crt"), p("client.key"))
            r = requests.post(server.url + "/flowreports", json=[event(BASE_MS, "/acme/prod", "s", "d", 4)],
                              cert=client, verify=p("ca.crt"))
            self.assertEqual(r.status_code, 200, r.text)
            r = requests.get(server.url + "/flowstatistics", cert=client, verify=p("ca.crt"),
                             headers={"X-Namespace": "/acme"},
                             params={"startAbsolute": BASE_MS, "endAbsolute": BASE_MS + 3600000, "type": "Repartition"})
            self.assertEqual(r.status_code, 200)
            self.assertEqual(r.json()[0]["dataPoints"][0]["value"], 4)
            with self.assertRaises(requests.exceptions.RequestException):  # no client certificate
                requests.get(server.url + "/health", verify=p("ca.crt"), timeout=10)
            with self.assertRaises(requests.exceptions.RequestException):  # plain HTTP is not spoken
                requests.get("http://127.0.0.1:%d/health" % server.port, timeout=10)
            self.assertEqual(server.stop(), 0)
        shutil.rmtree(tmp)


class KillDuringIngest(unittest.TestCase):
    """kill -9 while 6 clients post: every acknowledged report is stored, none is half-stored."""

    def test_acknowledged_reports_survive_kill_9(self):
        tmp = tempfile.mkdtemp(prefix="flowstat-http-k-")
        db = os.path.join(tmp, "db")
        server = Server(db)
        acknowledged, attempted = set(), set()
        lock = threading.Lock()
        stop = threading.Event()

        def client(c):
            with requests.Session() as session:
                post_until_stopped(c, session)

        def post_until_stopped(c, session):
            b = 0
            while not stop.is_set():
                ns = "/k/c%d/b%d" % (c, b)
                events = [event(BASE_MS + i * 1000, ns, "s%d" % i, "d", 1) for i in range(200)]
                with lock:
                    attempted.add(ns)
                try:
                    r = session.post(server.url + "/flowreports", json=events, timeout=10)
                    if r.status_code == 200:
                        with lock:
                            acknowledged.add(ns)
                except requests.exceptions.RequestException:
                    return
                b += 1

        threads = [threading.Thread(target=client, args=(c,)) for c in range(6)]
        for t in threads:
            t.start()
        time.sleep(2.5)
        server.proc.kill()  # SIGKILL mid-stream
        server.proc.wait()
        stop.set()
        for t in threads:
            t.join()
        server.__exit__()
        self.assertGreater(len(acknowledged), 10)
        queries = [{"namespace": ns, "startAbsolute": BASE_MS, "endAbsolute": BASE_MS + DAY_MS, "type": "Repartition",
                    "recursive": False} for ns in sorted(attempted)]
        for ns, line in zip(sorted(attempted), batch_query(db, queries)):
            total = sum(p["value"] for s in json.loads(line) for p in s["dataPoints"])
            if ns in acknowledged:
                self.assertEqual(total, 200, ns)
            else:
                self.assertIn(total, (0, 200), ns)  # all of a request or nothing
        verify = subprocess.run([FLOWSTAT, "verify", "--db", db], capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stderr)
        shutil.rmtree(tmp)


if __name__ == "__main__":
    FLOWSTAT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
