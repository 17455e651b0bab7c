#!/usr/bin/python3
"""Live pipelines: `flowstat import -` fed slowly through a pipe, `import --follow` of a log that
grows, rotates and is truncated, kill -9 and resume, signals, and the papercuts found on the way.

usage: tests/live_test.py FLOWSTAT_BINARY [unittest options]
"""
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

FLOWSTAT = None  # set in __main__
BASE_MS = 1763164800000  # 2025-11-15T00:00:00Z


def event_line(i, ns="/live"):
    return json.dumps({"timestamp": BASE_MS + i * 1000, "namespace": ns, "sourceID": "s%d" % i,
                       "destinationID": "d", "action": "Accept", "value": 1}) + "\n"


def count(db, ns="/"):
    """Flows stored under `ns`, read by a separate read-only process (as a user would)."""
    out = subprocess.run([FLOWSTAT, "query", "--db", db, "--namespace", ns, "--start", str(BASE_MS - 86400000),
                          "--end", str(BASE_MS + 30 * 86400000), "--type", "Repartition"],
                         capture_output=True, text=True)
    if out.returncode != 0:
        return -1  # not created yet
    return sum(p["value"] for s in json.loads(out.stdout) for p in s["dataPoints"])


def wait_for(predicate, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if predicate():
            return True
        time.sleep(0.05)
    return predicate()


class Live(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="flowstat-live-")
        self.db = os.path.join(self.tmp, "db")

    def tearDown(self):
        if getattr(self, "err", None) and not self.err.closed:
            self.err.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def start(self, *args, stdin=None):
        self.err = open(os.path.join(self.tmp, "import.err"), "wb")
        return subprocess.Popen([FLOWSTAT, "import", "--no-progress", "--db", self.db, *args], stdin=stdin,
                                stderr=self.err)

    def stderr(self):
        if not self.err.closed:
            self.err.flush()
        with open(os.path.join(self.tmp, "import.err")) as f:
            return f.read()

    def test_a_slow_pipe_is_visible_within_about_a_second(self):
        proc = self.start("-", stdin=subprocess.PIPE)
        lags = []
        for i in range(15):  # 5 events per second
            proc.stdin.write(event_line(i).encode())
            proc.stdin.flush()
            written = time.time()
            self.assertTrue(wait_for(lambda: count(self.db) >= i + 1, 5), "event %d never became visible" % i)
            lags.append(time.time() - written)
            time.sleep(0.2)
        proc.stdin.close()
        self.assertEqual(proc.wait(timeout=30), 0)
        self.err.close()
        self.assertLess(max(lags), 2.5, lags)  # 1 s commit interval, plus a query process start
        self.assertEqual(count(self.db), 15)

    def test_sigterm_commits_what_was_read_and_exits_0_or_3(self):
        proc = self.start("--on-error", "skip", "-", stdin=subprocess.PIPE)
        proc.stdin.write("".join(event_line(i) for i in range(5)).encode() + b"not json\n")
        proc.stdin.flush()
        time.sleep(0.5)
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 3)  # a line was skipped
        self.err.close()
        self.assertIn("stopped by a signal", self.stderr())
        self.assertIn("imported 5 events", self.stderr())
        self.assertEqual(count(self.db), 5)
        proc = self.start("-", stdin=subprocess.PIPE)
        proc.stdin.write(event_line(9).encode())
        proc.stdin.flush()
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.err.close()
        self.assertEqual(count(self.db), 6)

    def test_follow_survives_rotation_truncation_and_a_late_file(self):
        log = os.path.join(self.tmp, "flows.log")  # does not exist yet
        proc = self.start("--follow", log)
        time.sleep(0.5)
        n = 0

        def append(k):
            nonlocal n
            with open(log, "a") as f:
                for _ in range(k):
                    f.write(event_line(n))
                    n += 1

        append(10)
        self.assertTrue(wait_for(lambda: count(self.db) == 10, 5), count(self.db))
        os.rename(log, log + ".1")  # rotation: rename, then a new file
        with open(log + ".1", "a") as f:  # a last line for the old file, after the rename
            f.write(event_line(n))
            n += 1
        time.sleep(0.3)
        append(5)
        self.assertTrue(wait_for(lambda: count(self.db) == 16, 5), count(self.db))
        shutil.copy(log, log + ".2")  # copy-truncate
        with open(log, "w"):
            pass
        time.sleep(0.5)
        append(4)
        self.assertTrue(wait_for(lambda: count(self.db) == 20, 5), count(self.db))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.err.close()
        self.assertEqual(count(self.db), 20)

    def test_follow_of_a_path_that_exists_but_cannot_be_read_is_an_error(self):
        # Only a missing file is waited for; a directory would have been waited on without end.
        proc = self.start("--follow", self.tmp)
        self.assertEqual(proc.wait(timeout=10), 1)
        self.err.close()
        self.assertIn(self.tmp + ": cannot read: is a directory", self.stderr())

    def test_follow_resumes_after_kill_9_without_loss_or_double_counting(self):
        log = os.path.join(self.tmp, "flows.log")
        with open(log, "w") as f:
            f.write("".join(event_line(i) for i in range(3000)))
        proc = self.start("--follow", "--commit-interval", "100ms", log)
        self.assertTrue(wait_for(lambda: count(self.db) == 3000, 20))
        # More arrives; the follower is killed while it reads.
        with open(log, "a") as f:
            for i in range(3000, 3400):
                f.write(event_line(i))
                f.flush()
                if i == 3200:
                    proc.kill()
        proc.wait()
        self.err.close()
        stored = count(self.db)
        self.assertGreaterEqual(stored, 3000)
        proc = self.start("--follow", log)
        self.assertTrue(wait_for(lambda: count(self.db) == 3400, 20), count(self.db))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.err.close()
        self.assertIn("resuming at line", self.stderr())
        self.assertEqual(count(self.db), 3400)  # every event once
        verify = subprocess.run([FLOWSTAT, "verify", "--db", self.db], capture_output=True, text=True)
        self.assertEqual(verify.returncode, 0, verify.stderr)

    def test_follow_of_csv_keeps_its_header_across_resume(self):
        log = os.path.join(self.tmp, "flows.csv")
        with open(log, "w") as f:
            f.write("timestamp,namespace,sourceID,destinationID,action\n")
            for i in range(5):
                f.write("%d,/csv,s%d,d,Accept\n" % (BASE_MS + i, i))
        proc = self.start("--follow", log)
        self.assertTrue(wait_for(lambda: count(self.db) == 5, 10))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)
        self.err.close()
        with open(log, "a") as f:
            f.write("%d,/csv,s9,d,Accept\n" % (BASE_MS + 9))
        proc = self.start("--follow", log)
        self.assertTrue(wait_for(lambda: count(self.db) == 6, 10), count(self.db))
        proc.send_signal(signal.SIGTERM)
        self.assertEqual(proc.wait(timeout=30), 0)

    def test_a_missing_input_is_an_error_that_creates_no_store(self):
        r = subprocess.run([FLOWSTAT, "import", "--db", self.db, os.path.join(self.tmp, "nope.jsonl")],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn("nope.jsonl: cannot open: No such file or directory", r.stderr)
        self.assertNotIn("rejected", r.stderr)
        self.assertFalse(os.path.exists(self.db))

    def test_bare_flowstat_lists_the_subcommands(self):
        r = subprocess.run([FLOWSTAT], capture_output=True, text=True)
        self.assertEqual(r.returncode, 2)
        for sub in ("generate", "import", "query", "dump", "serve", "verify", "compact"):
            self.assertIn(sub, r.stderr)


class FlowLogsOfOtherSystems(unittest.TestCase):
    DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "formats")

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="flowstat-formats-")
        self.db = os.path.join(self.tmp, "db")

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def test_vpc_records_are_recognized_and_non_flows_counted(self):
        sample = os.path.join(self.DATA, "vpc", "aws-docs-default.log")
        with open(sample, "rb") as f:  # auto-detected, from standard input
            r = subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", self.db, "-"], stdin=f,
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("skipped 2 records that are not flows (NODATA 1, SKIPDATA 1)", r.stderr)
        self.assertIn("<stdin>:4: warning: SKIPDATA", r.stderr)
        out = subprocess.run([FLOWSTAT, "query", "--db", self.db, "--namespace", "/aws/123456789010", "--start",
                              "1418530000000", "--end", "1418530100000", "--type", "Repartition", "--metric", "Ports"],
                             capture_output=True, text=True, check=True).stdout
        ports = {m: [(p["port"], p["value"]) for p in s["dataPoints"]] for s in json.loads(out) for m in [s["mode"]]}
        self.assertEqual(ports, {"Accepted": [(22, 1)], "Rejected": [(3389, 1)]})

    def test_a_vpc_header_without_action_is_refused_at_line_1(self):
        bad = os.path.join(self.tmp, "bad.log")
        with open(bad, "w") as f:
            f.write("version account-id srcaddr dstaddr start end log-status\n2 1 10.0.0.1 10.0.0.2 1 2 OK\n")
        r = subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", self.db, "--format", "vpc", bad],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 1)
        self.assertIn(bad + ":1: header: a flow log format without 'action'", r.stderr)

    def follow_across_resume(self, name, header, record, *args):
        """Follows a log whose header names its columns, stops, appends, follows again."""
        log = os.path.join(self.tmp, name)
        with open(log, "w") as f:
            f.write(header + "\n" + "".join(record(i) + "\n" for i in range(5)))
        err = open(os.path.join(self.tmp, "err"), "wb")
        for expected in (5, 6):
            proc = subprocess.Popen([FLOWSTAT, "import", "--no-progress", "--db", self.db, *args, "--follow", log],
                                    stderr=err)
            self.assertTrue(wait_for(lambda: count(self.db) == expected, 10), (name, count(self.db)))
            proc.send_signal(signal.SIGTERM)
            self.assertEqual(proc.wait(timeout=30), 0)
            with open(log, "a") as f:
                f.write(record(9) + "\n")
        err.close()

    def test_follow_of_nfdump_and_vpc_logs_keeps_their_header_across_resume(self):
        # Columns reordered by their headers, so that reading a record with the default layout fails.
        self.follow_across_resume(
            "flows.nfdump.csv", "sa,da,dp,pr,fwd,ts,flows",
            lambda i: "10.0.0.%d,10.0.1.1,443,TCP,64,2025-11-19 13:00:%02d,1" % (i + 1, i), "--format", "nfdump")
        shutil.rmtree(self.db)
        self.follow_across_resume(
            "flows.vpc.log", "action srcaddr dstaddr start dstport protocol",
            lambda i: "ACCEPT 10.0.0.%d 10.0.1.1 %d 443 6" % (i + 1, BASE_MS // 1000 + i))

    def test_hubble_flows_from_a_pipe_are_recognized(self):
        sample = os.path.join(self.DATA, "hubble", "handwritten.jsonl")
        with open(sample, "rb") as f:
            r = subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", self.db, "-"], stdin=f,
                               capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("skipped 5 records that are not flows (no Type and no l4 1, node_status 1, reply 2, "
                      "verdict ERROR 1)", r.stderr)
        self.assertIn("imported 6 events", r.stderr)
        out = subprocess.run([FLOWSTAT, "query", "--db", self.db, "--namespace", "/k8s", "--start",
                              "2025-11-19T13:00:00Z", "--end", "2025-11-19T13:01:00Z", "--type", "Repartition",
                              "--flow-mode", "all"], capture_output=True, text=True, check=True).stdout
        by_mode = {s["mode"]: sum(p["value"] for p in s["dataPoints"]) for s in json.loads(out)}
        # Accepted: ingress, egress to the world, REDIRECTED, and the AUDIT flow as applied;
        # Rejected: AUTH_REQUIRED, POLICY_DENY, and the AUDIT flow as observed (flowMode all).
        self.assertEqual(by_mode, {"Accepted": 4, "Rejected": 3}, out)


class LifecycleCommands(unittest.TestCase):
    """info, backup, delete and expire through the command line."""

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix="flowstat-life-")
        self.db = os.path.join(self.tmp, "db")
        lines = [event_line(i, ns) for i, ns in enumerate(["/acme/prod", "/acme/prod/web", "/acme/prodx"] * 40)]
        src = os.path.join(self.tmp, "in.jsonl")
        with open(src, "w") as f:
            f.writelines(lines)
        subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", self.db, src], check=True, capture_output=True)

    def tearDown(self):
        shutil.rmtree(self.tmp, ignore_errors=True)

    def run_ok(self, *args):
        r = subprocess.run([FLOWSTAT, *args], capture_output=True, text=True)
        self.assertEqual(r.returncode, 0, r.stderr)
        return r.stdout

    def test_a_writer_without_a_dictionary_cache_stores_what_a_whole_one_stores(self):
        """--dictionary-cache-mb 0: every detail and address interned through the store's index."""
        events = os.path.join(self.tmp, "many.jsonl")
        with open(events, "w") as f:
            subprocess.run([FLOWSTAT, "generate", "--events", "30000", "--seed", "3", "--days", "2"], stdout=f,
                           check=True)
        dumps = {}
        for mb in ("0", "64"):
            db = os.path.join(self.tmp, "cache" + mb)
            for _ in range(2):  # the second import is all repeats: nothing may be added
                self.run_ok("import", "--no-progress", "--dictionary-cache-mb", mb, "--batch-events", "4000",
                            "--db", db, events)
            info = json.loads(self.run_ok("info", "--db", db, "--format", "json"))
            self.assertEqual(info["formatVersion"], 5)
            self.assertIn(" 0 problems", self.run_ok("verify", "--db", db))
            dumps[mb] = self.run_ok("dump", "--db", db, "--namespace", "/", "--start", "0", "--end", "4102444800000",
                                   "--flow-mode", "all")
        self.assertGreater(dumps["64"].count("\n"), 20000)
        self.assertEqual(dumps["0"], dumps["64"])  # byte for byte: the same ids in the same order

    def test_info_backup_delete_expire(self):
        info = json.loads(self.run_ok("info", "--db", self.db, "--format", "json"))
        self.assertEqual((info["events"], info["namespaces"], info["formatVersion"]), (120, 3, 5))
        self.assertEqual(info["horizons"], [])
        self.assertEqual((info["firstMs"], info["lastMs"]), (BASE_MS, BASE_MS + 119000))
        self.assertGreater(info["bytes"]["events"], 0)
        copy = os.path.join(self.tmp, "copy")
        self.run_ok("backup", "--db", self.db, "--to", copy)
        self.run_ok("verify", "--db", copy)
        self.assertEqual(count(copy), 120)
        r = subprocess.run([FLOWSTAT, "backup", "--db", self.db, "--to", copy], capture_output=True, text=True)
        self.assertNotEqual(r.returncode, 0)
        self.assertIn("already exists", r.stderr)
        # Never inside the store it copies (also through a path that only resolves there).
        for inside in (os.path.join(self.db, "backup"), os.path.join(self.db, "..", os.path.basename(self.db), "a", "b")):
            r = subprocess.run([FLOWSTAT, "backup", "--db", self.db, "--to", inside], capture_output=True, text=True)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertIn("inside the store", r.stderr)
            self.assertFalse(os.path.exists(os.path.join(self.db, "backup")))
            self.assertFalse(os.path.exists(os.path.join(self.db, "a")))
        out = self.run_ok("delete", "--db", self.db, "--namespace", "/acme/prod")
        self.assertIn("compacted in", out)
        self.assertEqual((count(self.db, "/acme/prod"), count(self.db, "/acme/prodx")), (0, 40))
        self.assertEqual(count(copy), 120)  # the backup is a copy, not a view
        self.run_ok("expire", "--db", copy, "--before", str(BASE_MS + 60000), "--namespace", "/acme/prod")
        # Events 0..59 of /acme/prod and /acme/prod/web are gone (40 of them); /acme/prodx stays.
        self.assertEqual((count(copy, "/acme/prod"), count(copy, "/acme/prodx")), (40, 40))
        self.run_ok("verify", "--db", copy)
        info = json.loads(self.run_ok("info", "--db", copy, "--format", "json"))
        self.assertEqual(info["horizons"], [{"namespace": "/acme/prod", "raw": BASE_MS + 60000,
                                             "hour": BASE_MS + 60000, "day": BASE_MS + 60000}])

    def test_expire_keep_rollups_from_the_command_line(self):
        hour = BASE_MS // 3600000 * 3600000
        whole = ["--start", str(hour), "--end", str(hour + 3600000), "--type", "Repartition"]
        before = self.run_ok("query", "--db", self.db, "--namespace", "/", *whole)
        before_d = self.run_ok("query", "--db", self.db, "--namespace", "/", "--destination-id", "d", *whole)
        self.assertIn('"d"', before_d)
        out = self.run_ok("expire", "--db", self.db, "--before", str(hour + 3600000), "--keep-rollups")
        self.assertIn("compacted in", out)
        # The whole hour is still answered, from its rollup, with every event's figure: its flows
        # to one destination too (from the pair sums), but not one source's (scanned raw).
        self.assertEqual(self.run_ok("query", "--db", self.db, "--namespace", "/", *whole), before)
        self.assertEqual(self.run_ok("query", "--db", self.db, "--namespace", "/", "--destination-id", "d", *whole),
                         before_d)
        r = subprocess.run([FLOWSTAT, "query", "--db", self.db, "--namespace", "/", "--source-id", "s1", *whole],
                           capture_output=True, text=True)
        self.assertEqual(r.returncode, 2, r.stderr)
        self.assertIn("it can be answered from", r.stderr)
        info = json.loads(self.run_ok("info", "--db", self.db, "--format", "json"))
        self.assertEqual(info["horizons"], [{"namespace": "/", "raw": hour + 3600000, "hour": None, "day": None}])
        self.assertIn("raw events before", self.run_ok("info", "--db", self.db))
        self.run_ok("verify", "--db", self.db)

    def test_kill_9_during_expire_delete_and_backup(self):
        # A bigger store, so that each command runs long enough to be killed mid-way.
        lines = subprocess.run([FLOWSTAT, "generate", "--events", "60000", "--seed", "3", "--days", "3", "--end",
                                "2025-11-18T00:00:00Z"], check=True, capture_output=True, text=True).stdout
        src = os.path.join(self.tmp, "gen.jsonl")
        with open(src, "w") as f:
            f.write(lines)
        queries = [{"namespace": ns, "startAbsolute": BASE_MS, "endAbsolute": BASE_MS + 3 * 86400000,
                    "type": t, "averageInterval": "1h"}
                   for ns in ("/", "/acme", "/acme/prod", "/umbrella") for t in ("Serie", "Repartition")]
        text = "\n".join(json.dumps(q) for q in queries) + "\n"

        def answers(db):
            return subprocess.run([FLOWSTAT, "query", "--db", db, "--batch", "-"], input=text, check=True,
                                  capture_output=True, text=True).stdout

        steps = [["expire", "--before", "2025-11-16T07:30:00Z"], ["delete", "--namespace", "/acme/prod"],
                 ["expire", "--before", "2025-11-17T00:00:00Z", "--namespace", "/umbrella"],
                 ["expire", "--before", "2025-11-17T06:20:00Z", "--namespace", "/acme", "--keep-rollups"]]
        reference = os.path.join(self.tmp, "reference")
        subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", reference, src], check=True, capture_output=True)
        for step in steps:
            self.run_ok(step[0], "--db", reference, *step[1:])
        want = answers(reference)
        for delay in (0.05, 0.15, 0.3, 0.6):
            db = os.path.join(self.tmp, "killed-%g" % delay)
            subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", db, src], check=True, capture_output=True)
            for step in steps:
                p = subprocess.Popen([FLOWSTAT, step[0], "--db", db, *step[1:]], stdout=subprocess.DEVNULL,
                                     stderr=subprocess.DEVNULL)
                time.sleep(delay)
                p.kill()
                p.wait()
                self.run_ok("verify", "--db", db)  # clean after every kill
                self.run_ok(step[0], "--db", db, *step[1:])  # run again: finishes the job
            self.assertEqual(answers(db), want, "killed after %g s" % delay)
            backup = os.path.join(self.tmp, "backup-%g" % delay)
            p = subprocess.Popen([FLOWSTAT, "backup", "--db", db, "--to", backup], stdout=subprocess.DEVNULL,
                                 stderr=subprocess.DEVNULL)
            time.sleep(delay / 10)
            p.kill()
            p.wait()
            self.run_ok("verify", "--db", db)
            self.assertEqual(answers(db), want)

    def test_backup_beside_a_process_that_writes(self):
        """flowstat backup while an import writes: every copy is the store at one instant."""
        before = count(self.db)
        lines = [event_line(1000 + i, ns="/live/w%d" % (i % 7)) for i in range(200000)]
        writer = subprocess.Popen([FLOWSTAT, "import", "--no-progress", "--db", self.db, "--batch-events", "5000",
                                   "--commit-interval", "1h", "-"], stdin=subprocess.PIPE, stderr=subprocess.DEVNULL)
        copies = []
        feeder_done = False
        try:
            for k in range(4):  # copies taken while batches commit, flushes and compactions run
                writer.stdin.write("".join(lines[k * 50000:(k + 1) * 50000]).encode())
                writer.stdin.flush()
                copy = os.path.join(self.tmp, "copy%d" % k)
                r = subprocess.run([FLOWSTAT, "backup", "--db", self.db, "--to", copy], capture_output=True, text=True)
                self.assertEqual(r.returncode, 0, r.stderr)
                self.assertIn("beside the process writing it", r.stdout)
                copies.append(copy)
            writer.stdin.close()
            feeder_done = True
            self.assertEqual(writer.wait(timeout=120), 0)
        finally:
            if not feeder_done:
                writer.kill()
        after = count(self.db)
        self.assertEqual(after, before + 200000)
        seen = [count(c) for c in copies]
        for c, n in zip(copies, seen):
            self.run_ok("verify", "--db", c)
            self.assertTrue(before <= n <= after, (c, n))
            # Whole batches only: the events of a copy are a prefix of what was written, in
            # batches of 5,000 (the import commits each batch atomically).
            self.assertEqual((n - before) % 5000, 0, (c, n))
        self.assertEqual(seen, sorted(seen))
        print("  copies held", seen, "of", before, "..", after)


if __name__ == "__main__":
    FLOWSTAT = os.path.abspath(sys.argv.pop(1))
    unittest.main(verbosity=2)
