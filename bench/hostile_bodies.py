#!/usr/bin/env python3
"""The server's memory and time on request bodies built to be expensive (bench/RESULTS.md).

Starts `flowstat serve` on a new store for each case, posts one body, and prints the answer's
status and size, the wall time and how far the server's peak RSS rose above what it held once
listening:
  bad-lines   8 MB of JSON Lines that are not JSON: 4M invalid events, one error object each;
  chunked     400 MB sent chunked (no Content-Length), over --max-body (64 MiB);
  gzip-bomb   100 MB of spaces gzip-compressed to ~100 KB.

Usage: hostile_bodies.py FLOWSTAT_BINARY
"""
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

import requests


def peak_kb(pid):
    with open("/proc/%d/status" % pid) as f:
        return int(re.search(r"VmHWM:\s+(\d+)", f.read()).group(1))


def chunks(total, size=1 << 20):
    for _ in range(total // size):
        yield b" " * size


CASES = {
    "bad-lines": lambda: dict(data=b"x\n" * (4 << 20), headers={"Content-Type": "application/x-ndjson"}),
    "chunked": lambda: dict(data=chunks(400 << 20), headers={"Content-Type": "application/x-ndjson"}),
    "gzip-bomb": lambda: dict(data=gzip.compress(b"[" + b" " * (100 << 20) + b"]"),
                              headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}),
}


def main():
    flowstat = sys.argv[1]
    for name, make in CASES.items():
        tmp = tempfile.mkdtemp(prefix="flowstat-hostile-")
        port_file = os.path.join(tmp, "port")
        proc = subprocess.Popen([flowstat, "serve", "--db", os.path.join(tmp, "db"), "--listen", "127.0.0.1:0",
                                 "--port-file", port_file], stderr=subprocess.DEVNULL)
        try:
            while not (os.path.exists(port_file) and open(port_file).read().strip()):
                time.sleep(0.02)
            url = "http://127.0.0.1:%s/flowreports" % open(port_file).read().strip()
            started = peak_kb(proc.pid)
            request = make()
            t = time.perf_counter()
            with requests.post(url, stream=True, **request) as r:
                size = sum(len(c) for c in r.iter_content(1 << 20))
                status = r.status_code
            wall = time.perf_counter() - t
            print(f"{name:10} status {status}  answer {size / 1e6:8.1f} MB  {wall:6.2f} s  "
                  f"server peak RSS +{(peak_kb(proc.pid) - started) / 1024:7.1f} MiB")
        finally:
            proc.terminate()
            proc.wait()
            shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    main()
