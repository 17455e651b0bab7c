#!/usr/bin/env python3
"""flowstat consume against a real Kafka protocol server: librdkafka's mock cluster on loopback.

Events are produced (with kcat, keyed by a hash of their content) to a 4-partition topic;
`flowstat consume` must store each exactly once: across kill -9 and restart (it resumes at the
offsets its store committed with the events), and across a rebalance between two consumers writing
two stores (whose merged partials must equal one store fed everything). Message counts are checked
too: what the consumers read adds up to what was produced, no message read twice.

Usage: kafka_test.py FLOWSTAT_BINARY KAFKA_MOCK_BINARY
"""
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

FLOWSTAT, MOCK = sys.argv[1], sys.argv[2]
TOPIC, PARTITIONS = "flows", 4
QUERIES = [{"namespace": ns, "startAbsolute": "2025-11-01T00:00:00Z", "endAbsolute": "2025-12-01T00:00:00Z",
            "type": t, "metric": m, "averageInterval": "1d"}
           for ns in ("/", "/acme", "/globex") for t in ("Serie", "Repartition") for m in ("Flows", "Ports")]


def flowstat(*args, **kw):
    return subprocess.run([FLOWSTAT, *args], capture_output=True, text=True, **kw)


def distinct(lines):
    return len({json.dumps(json.loads(l), sort_keys=True) for l in lines})


def answers(db):
    r = flowstat("query", "--db", db, "--batch", "-", input="\n".join(json.dumps(q) for q in QUERIES) + "\n")
    assert r.returncode == 0, r.stderr
    return r.stdout


class Kafka(unittest.TestCase):
    def setUp(self):
        if shutil.which("kcat") is None:
            self.skipTest("kcat is not installed (apt-get install kcat)")
        self.tmp = tempfile.mkdtemp(prefix="flowstat-kafka-")
        self.consumers = []
        self.mock = subprocess.Popen([MOCK, TOPIC, str(PARTITIONS)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True)
        self.brokers = self.mock.stdout.readline().strip()
        self.assertRegex(self.brokers, r"127\.0\.0\.1:\d+")
        events = flowstat("generate", "--events", "6000", "--seed", "31", "--end", "2025-11-20T00:00:00Z").stdout
        self.lines = events.splitlines()
        self.reference = os.path.join(self.tmp, "reference")
        with open(os.path.join(self.tmp, "all.jsonl"), "w") as f:
            f.write(events)
        self.assertEqual(flowstat("import", "--no-progress", "--db", self.reference,
                                  os.path.join(self.tmp, "all.jsonl")).returncode, 0)

    def tearDown(self):
        for proc in self.consumers:  # a failed test leaves none running behind it
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        self.mock.stdin.close()
        self.mock.wait(timeout=30)
        self.mock.stdout.close()
        shutil.rmtree(self.tmp, ignore_errors=True)

    def produce(self, lines):
        """Keyed by a hash of the event's content: the same event always goes to the same partition."""
        payload = "".join(hashlib.sha1(json.dumps(json.loads(l), sort_keys=True).encode()).hexdigest() + "\t" + l +
                          "\n" for l in lines)
        r = subprocess.run(["kcat", "-b", self.brokers, "-t", TOPIC, "-P", "-K", "\t", "-z", "none"],
                           input=payload, capture_output=True, text=True, timeout=120)
        self.assertEqual(r.returncode, 0, r.stderr)

    def consumer(self, db, name, *extra):
        args = [FLOWSTAT, "consume", "--db", db, "--brokers", self.brokers, "--topic", TOPIC, "--group", "flowstat",
                "--commit-interval", "200ms",
                # The mock cluster completes a rebalance only once the session of every member it
                # knows ended: keep them short.
                "--kafka-option", "session.timeout.ms=6000",
                # Frequent heartbeats: a member learns of a rebalance (and stops reading what it
                # cannot commit then) within half a second.
                "--kafka-option", "heartbeat.interval.ms=500",
                "--kafka-option", "max.poll.interval.ms=8000", *extra]
        err = open(os.path.join(self.tmp, name + ".err"), "w")
        self.consumers.append(subprocess.Popen(args, stderr=err, text=True))
        return self.consumers[-1], err

    def read_err(self, name):
        with open(os.path.join(self.tmp, name + ".err")) as f:
            return f.read()

    def assignments(self, name):
        return len(re.findall(r"from offset", self.read_err(name)))

    def wait_for_assignments(self, after):
        """Until each consumer named in `after` printed more partition assignments than counted there:
        the group formed with all of them. The mock cluster refuses offset commits while a group
        rebalances (a real broker takes them during the revocation), so what a test produces must be
        read outside one for the handover to be exact."""
        deadline = time.time() + 60
        while any(self.assignments(name) <= count for name, count in after.items()):
            self.assertLess(time.time(), deadline, {name: self.read_err(name) for name in after})
            time.sleep(0.1)

    @staticmethod
    def consumed(text):
        return sum(int(n) for n in re.findall(r"consumed (\d+) messages", text))

    @staticmethod
    def resumed_at(text):
        """The offsets a restarted consumer took from its store: messages stored before the crash."""
        return sum(int(n) for n in re.findall(r"from offset (\d+) \(this store's checkpoint\)", text))

    def test_kill_9_and_restart_store_every_message_once(self):
        db = os.path.join(self.tmp, "store")
        half = len(self.lines) // 2
        self.produce(self.lines[:half])
        # Static membership: the restarted consumer is the same member and gets its partitions back.
        proc, err = self.consumer(db, "c1", "--instance-id", "c1")
        deadline = time.time() + 60
        while time.time() < deadline:  # until a first batch and its offsets are committed
            info = flowstat("info", "--db", db, "--format", "json")
            if info.returncode == 0 and json.loads(info.stdout)["events"] > 0:
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        err.close()
        self.produce(self.lines[half:])
        proc, err = self.consumer(db, "c1", "--instance-id", "c1", "--stop-after-idle", "5s")
        self.assertEqual(proc.wait(timeout=180), 0, self.read_err("c1"))
        err.close()
        text = self.read_err("c1")
        before_crash = self.resumed_at(text)
        self.assertGreater(before_crash, 0, text)  # it resumed from its store, not from the start
        self.assertEqual(before_crash + self.consumed(text), len(self.lines), text)  # nothing twice, nothing lost
        self.assertEqual(flowstat("verify", "--db", db).returncode, 0)
        self.assertEqual(answers(db), answers(self.reference))

    def test_a_rebalance_between_two_stores_splits_the_events_exactly(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        pa, ea = self.consumer(a, "ca")
        pb, eb = self.consumer(b, "cb", "--stop-after-idle", "20s")
        self.wait_for_assignments({"ca": 0, "cb": 0})
        self.produce(self.lines[:len(self.lines) // 2])
        time.sleep(6)
        # Consumer a leaves cleanly (dynamic membership: at once): its partitions go to b, which
        # starts where a's store stopped.
        pa.send_signal(signal.SIGTERM)
        self.assertEqual(pa.wait(timeout=60), 0, self.read_err("ca"))
        ea.close()
        self.produce(self.lines[len(self.lines) // 2:])
        self.assertEqual(pb.wait(timeout=180), 0, self.read_err("cb"))
        eb.close()
        self.check_split(a, b)

    def test_a_member_joining_takes_partitions_where_the_other_store_stopped(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        third = len(self.lines) // 3
        pa, ea = self.consumer(a, "ca", "--stop-after-idle", "25s")
        self.produce(self.lines[:third])
        self.wait_for_events({a: distinct(self.lines[:third])})  # a alone has read and committed the first third
        before = self.assignments("ca")
        pb, eb = self.consumer(b, "cb")
        self.wait_for_assignments({"ca": before, "cb": 0})  # the group rebalanced: some of a's partitions went to b
        self.produce(self.lines[third:2 * third])
        self.wait_for_events({a: 1, b: 1}, total=distinct(self.lines[:2 * third]))
        # b leaves: a gets back partitions it held before b stored more of them, and must start
        # where b's store stopped, not at its own older checkpoint.
        before = self.assignments("ca")
        pb.send_signal(signal.SIGTERM)
        self.assertEqual(pb.wait(timeout=60), 0, self.read_err("cb"))
        eb.close()
        self.wait_for_assignments({"ca": before})
        self.produce(self.lines[2 * third:])
        self.assertEqual(pa.wait(timeout=180), 0, self.read_err("ca"))
        ea.close()
        self.assertIn("from offset", self.read_err("cb"))
        self.check_split(a, b)

    def test_a_member_leaving_while_kafka_refuses_commits_waits_until_they_land(self):
        a, b = os.path.join(self.tmp, "a"), os.path.join(self.tmp, "b")
        half = len(self.lines) // 2
        pa, ea = self.consumer(a, "ca")
        self.wait_for_assignments({"ca": 0})
        self.mock_command("refuse-commits")
        self.produce(self.lines[:half])
        self.wait_for_events({a: distinct(self.lines[:half])})  # stored, but Kafka took none of the offsets
        pa.send_signal(signal.SIGTERM)
        time.sleep(3)
        self.assertIsNone(pa.poll(), "left with its offsets refused: " + self.read_err("ca"))
        self.mock_command("accept-commits")
        self.assertEqual(pa.wait(timeout=60), 0, self.read_err("ca"))
        ea.close()
        pb, eb = self.consumer(b, "cb", "--stop-after-idle", "10s")
        self.wait_for_assignments({"cb": 0})
        self.produce(self.lines[half:])
        self.assertEqual(pb.wait(timeout=180), 0, self.read_err("cb"))
        eb.close()
        self.check_split(a, b)

    def mock_command(self, command):
        self.mock.stdin.write(command + "\n")
        self.mock.stdin.flush()
        self.assertEqual(self.mock.stdout.readline().strip(), "ok")

    def wait_for_events(self, at_least, total=None):
        """Until each store holds at least that many events (and all of them `total`): distinct ones, as
        a store keeps one of identical events."""
        deadline = time.time() + 60
        while True:
            counts = {}
            for db in at_least:
                info = flowstat("info", "--db", db, "--format", "json")
                counts[db] = json.loads(info.stdout)["events"] if info.returncode == 0 else 0
            if all(counts[db] >= n for db, n in at_least.items()) and (total is None or sum(counts.values()) >= total):
                return
            self.assertLess(time.time(), deadline, counts)
            time.sleep(0.2)

    def check_split(self, a, b):
        """Every message read once over both stores; their merged partials are one store's answers."""
        total = self.consumed(self.read_err("ca")) + self.consumed(self.read_err("cb"))
        self.assertEqual(total, len(self.lines), self.read_err("ca") + self.read_err("cb"))
        for q in QUERIES:
            args = ["--namespace", q["namespace"], "--start", q["startAbsolute"], "--end", q["endAbsolute"],
                    "--type", q["type"], "--metric", q["metric"], "--interval", q["averageInterval"]]
            parts = []
            for db in (a, b):
                part = os.path.join(self.tmp, os.path.basename(db) + ".fsp")
                self.assertEqual(flowstat("query", "--db", db, *args, "--partial", "--output", part).returncode, 0)
                parts.append(part)
            merged = flowstat("merge", *parts)
            self.assertEqual(merged.returncode, 0, merged.stderr)
            self.assertEqual(merged.stdout, flowstat("query", "--db", self.reference, *args).stdout, q)


if __name__ == "__main__":
    unittest.main(argv=[sys.argv[0]] + sys.argv[3:], verbosity=2)
