#!/usr/bin/env python3
"""NetFlow into flowstat through the real nfdump tools (doc/formats.md, "nfdump CSV").

Random flows (fixed seed) are sent as NetFlow v9 and v5 datagrams to a real `nfcapd` on a
loopback port; `nfdump -r ... -o csv` (with and without its header, and writing local times of
another zone) is piped into `flowstat import`; the events flowstat stores must be exactly those
the datagrams described, mapped as documented. The expected events are computed here from what
was sent, never from flowstat's output.

Usage: nfdump_pipeline_test.py FLOWSTAT_BINARY
"""
import json
import os
import random
import shutil
import signal
import socket
import struct
import subprocess
import sys
import tempfile
import time

FLOWSTAT = sys.argv[1]
EXPORT_TIME = 1763557200  # 2025-11-19T13:00:00Z, the exporter's clock when it sends
UPTIME_MS = 3_600_000     # the exporter's uptime then; flow times are relative to it
PROTOCOLS = [6, 6, 6, 17, 17, 1, 132]

# NetFlow v9 template 256: the fields flowstat maps, plus counters and FORWARDING_STATUS (89).
V9_FIELDS = [(8, 4), (12, 4), (7, 2), (11, 2), (4, 1), (2, 4), (1, 4), (22, 4), (21, 4), (89, 1)]


def random_flows(rng, n, with_forwarding):
    flows = []
    for _ in range(n):
        protocol = rng.choice(PROTOCOLS)
        flows.append({
            "src": f"10.1.{rng.randrange(4)}.{rng.randrange(1, 30)}",
            "dst": f"192.0.2.{rng.randrange(1, 40)}",
            "sport": rng.randrange(1024, 65535),
            "dport": rng.choice([22, 53, 80, 443, 8080, 5432]) if protocol not in (1, 58) else 0x0800,
            "protocol": protocol,
            "ago_ms": rng.randrange(0, 3_000_000),  # how long before the export the flow began
            # RFC 7270: 64 forwarded, 128-191 dropped (130: ACL deny), 0 unknown.
            "fwd": rng.choice([64, 64, 64, 130, 129, 191, 0, 192]) if with_forwarding else 0,
        })
    return flows


def v9_packets(flows, sequence):
    template = struct.pack("!HH", 256, len(V9_FIELDS)) + b"".join(struct.pack("!HH", t, l) for t, l in V9_FIELDS)
    template_set = struct.pack("!HH", 0, 4 + len(template)) + template
    for start in range(0, len(flows), 20):
        records = b""
        for f in flows[start:start + 20]:
            first = UPTIME_MS - f["ago_ms"]
            records += socket.inet_aton(f["src"]) + socket.inet_aton(f["dst"])
            records += struct.pack("!HHBIIIIB", f["sport"], f["dport"], f["protocol"], 5, 500, first, first + 20, f["fwd"])
        pad = (4 - (4 + len(records)) % 4) % 4
        data_set = struct.pack("!HH", 256, 4 + len(records) + pad) + records + b"\0" * pad
        header = struct.pack("!HHIIII", 9, 2, UPTIME_MS, EXPORT_TIME, sequence, 0)
        sequence += 1
        yield header + template_set + data_set


def v5_packets(flows, sequence):
    for start in range(0, len(flows), 30):
        chunk = flows[start:start + 30]
        header = struct.pack("!HHIIIIBBH", 5, len(chunk), UPTIME_MS, EXPORT_TIME, 0, sequence, 0, 0, 0)
        sequence += len(chunk)
        body = b""
        for f in chunk:
            first = UPTIME_MS - f["ago_ms"]
            body += socket.inet_aton(f["src"]) + socket.inet_aton(f["dst"]) + socket.inet_aton("0.0.0.0")
            body += struct.pack("!HHIIIIHHBBBBHHBBH", 0, 0, 5, 500, first, first + 20, f["sport"], f["dport"], 0, 0,
                                f["protocol"], 0, 0, 0, 0, 0, 0)
        yield header + body


def expected_events(flows):
    """The events of the flows as doc/formats.md maps nfdump's CSV; identical ones count once."""
    events = set()
    for f in flows:
        started_ms = EXPORT_TIME * 1000 - f["ago_ms"]
        icmp = f["protocol"] in (1, 58)
        events.add((
            started_ms // 1000 * 1000,  # nfdump 1.7.1's CSV prints whole seconds
            "/netflow/127.0.0.1",
            f["src"], f["dst"],
            None if icmp else f["dport"],
            f["protocol"],
            "Reject" if 128 <= f["fwd"] <= 191 else "Accept",
        ))
    return events


def stored_events(db):
    out = subprocess.run([FLOWSTAT, "dump", "--db", db, "--namespace", "/", "--start", "2025-01-01T00:00:00Z",
                          "--end", "2026-01-01T00:00:00Z", "--flow-mode", "all"],
                         check=True, capture_output=True, text=True).stdout
    events = set()
    for line in out.splitlines():
        e = json.loads(line)
        assert e["value"] == 1 and e["sourceIP"] == e["sourceID"] and e["destinationIP"] == e["destinationID"], e
        assert e["sourceType"] == "ExternalNetwork" and e["destinationType"] == "ExternalNetwork", e
        events.add((e["timestamp"], e["namespace"], e["sourceID"], e["destinationID"], e.get("destinationPort"),
                    e["protocol"], e["action"]))
    return events


def free_udp_port():
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def capture(work, packets):
    """Runs nfcapd on loopback, sends the datagrams, stops it; returns the directory of its files."""
    capture_dir = os.path.join(work, "capture")
    os.makedirs(capture_dir)
    port = free_udp_port()
    nfcapd = subprocess.Popen(["nfcapd", "-b", "127.0.0.1", "-p", str(port), "-w", capture_dir, "-t", "3600"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    time.sleep(1.0)  # until it listens; datagrams sent before would be lost
    assert nfcapd.poll() is None, nfcapd.stderr.read()
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        for p in packets:
            s.sendto(p, ("127.0.0.1", port))
            time.sleep(0.002)  # a loopback socket buffer is large, but not unbounded
    time.sleep(1.0)
    nfcapd.send_signal(signal.SIGTERM)  # nfcapd writes its current file out and exits
    nfcapd.wait(timeout=30)
    files = [f for f in os.listdir(capture_dir) if f.startswith("nfcapd.") and f != "nfcapd.current"]
    assert files, f"nfcapd wrote no file: {os.listdir(capture_dir)}"
    return capture_dir


def import_pipe(nfdump_args, db, import_args=(), env=None):
    nfdump = subprocess.Popen(["nfdump"] + nfdump_args, stdout=subprocess.PIPE, env=env)
    result = subprocess.run([FLOWSTAT, "import", "--db", db, "--no-progress"] + list(import_args) + ["-"],
                            stdin=nfdump.stdout, capture_output=True, text=True)
    nfdump.stdout.close()
    assert nfdump.wait() == 0
    return result


def main():
    if shutil.which("nfcapd") is None or shutil.which("nfdump") is None:
        sys.exit("nfdump is not installed (apt-get install nfdump): this test needs the real tools")
    rng = random.Random(20251119)
    v9_flows = random_flows(rng, 400, with_forwarding=True)
    v5_flows = random_flows(rng, 150, with_forwarding=False)
    packets = list(v9_packets(v9_flows, 1)) + list(v5_packets(v5_flows, 1))
    expected = expected_events(v9_flows + v5_flows)
    assert any(e[6] == "Reject" for e in expected) and any(e[4] is None for e in expected)
    failures = 0
    with tempfile.TemporaryDirectory() as work:
        capture_dir = capture(work, packets)
        utc = dict(os.environ, TZ="UTC")
        cases = [
            ("CSV with its header and summary", ["-R", capture_dir, "-o", "csv"], (), utc),
            ("CSV without header (-q)", ["-q", "-R", capture_dir, "-o", "csv"], ("--format", "nfdump"), utc),
            ("local times of Europe/Zurich with --timezone", ["-R", capture_dir, "-o", "csv"],
             ("--timezone", "Europe/Zurich"), dict(os.environ, TZ="Europe/Zurich")),
            ("local times of America/New_York with --timezone", ["-R", capture_dir, "-o", "csv"],
             ("--timezone", "America/New_York"), dict(os.environ, TZ="America/New_York")),
        ]
        for name, nfdump_args, import_args, env in cases:
            db = os.path.join(work, f"db{len(name)}{cases.index((name, nfdump_args, import_args, env))}")
            result = import_pipe(nfdump_args, db, import_args, env)
            ok = result.returncode == 0
            got = stored_events(db) if ok else set()
            if ok and got != expected:
                ok = False
                print(f"  missing: {sorted(expected - got)[:5]}\n  unexpected: {sorted(got - expected)[:5]}")
            if ok and "-q" not in nfdump_args and "summary" not in result.stderr:
                ok = False
                print("  the summary block was not reported as skipped: " + result.stderr)
            print(("ok   " if ok else "FAIL ") + f"{name}: {len(got)} of {len(expected)} events" +
                  ("" if ok else "\n" + result.stderr))
            failures += not ok
        # Without --timezone, local times of another zone are read as UTC: shifted, not equal.
        db = os.path.join(work, "db-wrong-zone")
        import_pipe(["-R", capture_dir, "-o", "csv"], db, (), dict(os.environ, TZ="Europe/Zurich"))
        shifted = {(e[0] + 3600 * 1000,) + e[1:] for e in expected}  # Zurich is UTC+1 in November
        ok = stored_events(db) == shifted
        print(("ok   " if ok else "FAIL ") + "without --timezone, Zurich times are read as UTC (one hour later)")
        failures += not ok
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
