#!/usr/bin/env python3
"""Charts end to end: `flowstat query --format svg|chart` and the page of `flowstat serve`.

- SVG files are parsed as XML; the number of drawn points, bars and axis labels is checked
  against the query's figures computed here from the generated events, and a few canonical
  charts are compared with golden files (tests/data/charts; refresh them with --update after
  looking at the new pictures).
- Terminal charts: width from COLUMNS, ASCII with --ascii, no colour when not a terminal.
- The page at GET / in a real headless Chromium: it draws a chart, says so clearly for a 403
  and for an empty window. Skipped (exit 77) with the reason printed when Chromium is absent.

Usage: chart_test.py FLOWSTAT_BINARY [--update] [--screenshots DIR]
"""
import calendar
import datetime
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest
import urllib.request
import xml.etree.ElementTree as ET

FLOWSTAT = sys.argv[1]
UPDATE = "--update" in sys.argv
SCREENSHOTS = sys.argv[sys.argv.index("--screenshots") + 1] if "--screenshots" in sys.argv else None
GOLDEN = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data", "charts")
SVG = "{http://www.w3.org/2000/svg}"
START, END = "2025-11-13T00:00:00Z", "2025-11-20T00:00:00Z"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]


def epoch_ms(t):
    if isinstance(t, int):
        return t
    return int(datetime.datetime.fromisoformat(t.replace("Z", "+00:00")).timestamp() * 1000 + 0.5)


def run(*args, env=None):
    return subprocess.run([FLOWSTAT, *args], capture_output=True, text=True, env=env, check=True).stdout


class Store:
    """A week of generated events (fixed seed), and the figures a chart must show, from the events."""

    def __init__(self, work):
        self.db = os.path.join(work, "db")
        events = os.path.join(work, "events.jsonl")
        with open(events, "w") as f:
            subprocess.run([FLOWSTAT, "generate", "--events", "30000", "--seed", "11", "--days", "7", "--end",
                            END], stdout=f, check=True)
        subprocess.run([FLOWSTAT, "import", "--no-progress", "--db", self.db, events], check=True,
                       capture_output=True)
        with open(events) as f:
            self.events = [json.loads(line) for line in f]
        for e in self.events:  # the generator writes some times as RFC 3339 text: all in epoch ms here
            e["timestamp"] = epoch_ms(e["timestamp"])

    def total(self, action, namespace="/"):
        """Flows of `action` (applied) under `namespace` in [START, END), each distinct event once."""
        lo = calendar.timegm(time.strptime(START, "%Y-%m-%dT%H:%M:%SZ")) * 1000
        hi = lo + 7 * 86400000
        seen = {}
        for e in self.events:
            ns = e["namespace"]
            if lo <= e["timestamp"] < hi and e["action"] == action and (ns == namespace or namespace == "/"
                                                                         or ns.startswith(namespace + "/")):
                seen[json.dumps(e, sort_keys=True)] = e["value"]
        return sum(seen.values())


def svg_of(store, *args):
    root = ET.fromstring(run("query", "--db", store.db, "--namespace", "/", "--start", START, "--end", END,
                             "--format", "svg", *args).encode())
    assert root.tag == SVG + "svg", root.tag
    return root


class WithStore(unittest.TestCase):
    """A test class sharing one generated store."""

    @classmethod
    def setUpClass(cls):
        cls.work = tempfile.mkdtemp(prefix="flowstat-chart-")
        cls.store = Store(cls.work)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.work, ignore_errors=True)


class SvgCharts(WithStore):
    def test_a_week_at_one_hour_has_a_point_per_bucket_and_exact_totals(self):
        root = svg_of(self.store, "--interval", "1h")
        lines = root.findall(f".//{SVG}polyline")
        self.assertEqual(sorted(l.get("data-mode") for l in lines), ["Accepted", "Rejected"])
        for line in lines:
            self.assertEqual(int(line.get("data-points")), 168)  # 7 x 24 buckets, none thinned
            self.assertEqual(len(line.get("points").split()), 168)
        legend = [t.text for t in root.findall(f".//{SVG}g[@class='legend']/{SVG}text")]
        self.assertEqual(legend, ["Accepted: {:,} flows".format(self.store.total("Accept")),
                                  "Rejected: {:,} flows".format(self.store.total("Reject"))])
        days = [t.text for t in root.findall(f".//{SVG}g[@class='x-labels']/{SVG}text")]
        self.assertEqual(days, ["2025-11-13", "2025-11-14", "2025-11-15", "2025-11-16", "2025-11-17",
                                "2025-11-18", "2025-11-19"])
        values = [t.text for t in root.findall(f".//{SVG}g[@class='y-labels']/{SVG}text")]
        self.assertEqual(values[0], "0")
        self.assertIn("Flows of / and below, 2025-11-13 00:00 to 2025-11-20 00:00 UTC, every 1h",
                      root.find(f"{SVG}title").text)

    def test_a_week_at_one_minute_is_thinned_for_drawing_only(self):
        started = time.monotonic()
        path = os.path.join(self.work, "minutes.svg")
        run("query", "--db", self.store.db, "--namespace", "/", "--start", START, "--end", END, "--interval", "1m",
            "--format", "svg", "--output", path)
        self.assertLess(os.path.getsize(path), 2 * 1024 * 1024)
        root = ET.parse(path).getroot()
        for line in root.findall(f".//{SVG}polyline"):
            self.assertEqual(int(line.get("data-points")), 2 * (960 - 70 - 24))  # min and max per pixel column
        legend = [t.text for t in root.findall(f".//{SVG}g[@class='legend']/{SVG}text")]
        self.assertEqual(legend[0], "Accepted: {:,} flows".format(self.store.total("Accept")))
        print(f"  a 10,080-bucket week: {os.path.getsize(path):,} bytes of SVG, "
              f"{(time.monotonic() - started) * 1000:.0f} ms with the query (bench/RESULTS.md times the drawing)")

    def test_a_repartition_is_bars_of_the_top_entries_and_other(self):
        root = svg_of(self.store, "--type", "Repartition", "--action", "reject")
        bars = root.findall(f".//{SVG}rect[@class='bar']")
        self.assertEqual(len(bars), 11)  # the top 10 and "other"
        texts = [t.text for t in root.iter(f"{SVG}text")]
        self.assertTrue(any(t and t.startswith("other (") for t in texts), texts)
        self.assertIn("Rejected flows by source and destination (total {:,})".format(self.store.total("Reject")),
                      texts)

    def test_an_empty_window_says_so(self):
        root = ET.fromstring(run("query", "--db", self.store.db, "--namespace", "/nobody", "--start", START,
                                 "--end", END, "--format", "svg").encode())
        self.assertIn("No flows in this window", [t.text for t in root.iter(f"{SVG}text")])

    def test_canonical_charts_match_their_golden_files(self):
        cases = {
            "serie-week-1h.svg": ["--interval", "1h"],
            "serie-day-15m-reject.svg": ["--start", "2025-11-19T00:00:00Z", "--interval", "15m", "--action",
                                         "reject"],
            "repartition-ports.svg": ["--type", "Repartition", "--metric", "Ports", "--flow-mode", "all"],
        }
        for name, args in cases.items():
            full = ["query", "--db", self.store.db, "--namespace", "/", "--start", START, "--end", END,
                    "--format", "svg"]
            if "--start" in args:  # a later start replaces the default one
                i = full.index("--start")
                del full[i:i + 2]
            svg = run(*full, *args)
            golden = os.path.join(GOLDEN, name)
            if UPDATE:
                with open(golden, "w") as f:
                    f.write(svg)
            with open(golden) as f:
                self.assertEqual(svg, f.read(), f"{name} differs from its golden file (look, then --update)")


class TerminalCharts(WithStore):
    def chart(self, columns, *args, no_color=False):
        env = dict(os.environ, COLUMNS=str(columns))
        if no_color:
            env["NO_COLOR"] = "1"
        return run("query", "--db", self.store.db, "--namespace", "/", "--start", START, "--end", END,
                   "--format", "chart", *args, env=env)

    def test_the_chart_fits_columns_and_has_no_colour_in_a_pipe(self):
        for columns in (40, 80, 150):
            for args in ((), ("--type", "Repartition"), ("--ascii",), ("--type", "Repartition", "--ascii")):
                text = self.chart(columns, *args)
                lines = text.splitlines()
                self.assertTrue(all(len(line) <= columns for line in lines), (columns, args, text))
                self.assertNotIn("\x1b", text)
                if "--ascii" in args:
                    self.assertTrue(text.isascii(), text)
        text = self.chart(100)
        self.assertIn("Accepted: {:,} flows".format(self.store.total("Accept")), text)
        self.assertIn("2025-11-14", text)

    def test_colour_only_on_a_terminal_without_no_color(self):
        if shutil.which("script") is None:
            self.skipTest("util-linux script is not installed: no pseudo-terminal to test on")
        command = " ".join([FLOWSTAT, "query", "--db", self.store.db, "--namespace", "/", "--start", START, "--end",
                            END, "--format", "chart"])

        def on_a_terminal(**env):
            return subprocess.run(["script", "-qc", command, "/dev/null"], capture_output=True, text=True,
                                  env=dict(os.environ, COLUMNS="80", **env), check=True).stdout

        self.assertIn("\x1b[34m", on_a_terminal())  # Accepted in blue
        self.assertNotIn("\x1b[", on_a_terminal(NO_COLOR="1"))


class Page(unittest.TestCase):
    """GET / in headless Chromium, against `flowstat serve` with a tokens file."""

    @classmethod
    def setUpClass(cls):
        cls.chromium = shutil.which("chromium") or shutil.which("chromium-browser")
        if not cls.chromium:
            return
        cls.work = tempfile.mkdtemp(prefix="flowstat-page-")
        cls.store = Store(cls.work)
        tokens = os.path.join(cls.work, "tokens")
        with open(tokens, "w") as f:
            f.write("reader-of-everything / read\nreader-of-acme-only /acme read\n")
        port_file = os.path.join(cls.work, "port")
        cls.server = subprocess.Popen([FLOWSTAT, "serve", "--db", cls.store.db, "--listen", "127.0.0.1:0",
                                       "--port-file", port_file, "--tokens", tokens],
                                      stderr=subprocess.DEVNULL)
        deadline = time.time() + 20
        port = ""
        while not port:
            if time.time() > deadline:
                raise RuntimeError("flowstat serve did not start")
            time.sleep(0.05)
            if os.path.exists(port_file):
                with open(port_file) as f:
                    port = f.read().strip()
        cls.base = "http://127.0.0.1:" + port

    @classmethod
    def tearDownClass(cls):
        if cls.chromium:
            cls.server.send_signal(signal.SIGTERM)
            cls.server.wait(timeout=30)
            shutil.rmtree(cls.work, ignore_errors=True)

    def setUp(self):
        if not self.chromium:
            self.skipTest("Chromium is not installed (apt-get install chromium)")

    def browse(self, fragment, screenshot=None):
        """The page's DOM after it ran, the way a user would open it with those form values."""
        profile = tempfile.mkdtemp(prefix="chromium-", dir=self.work)
        args = [self.chromium, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", "--virtual-time-budget=10000",
                "--window-size=1100,760"]
        url = self.base + "/#" + fragment
        if screenshot:
            subprocess.run(args + [f"--screenshot={screenshot}", url], capture_output=True, timeout=120)
        return subprocess.run(args + ["--dump-dom", url], capture_output=True, text=True, timeout=120).stdout

    def shot(self, name):
        return os.path.join(SCREENSHOTS, name) if SCREENSHOTS else None

    def test_the_page_is_self_contained(self):
        with urllib.request.urlopen(self.base + "/") as r:
            page = r.read().decode()
            csp = r.headers["Content-Security-Policy"]
        self.assertIn("default-src 'self'", csp)
        self.assertNotIn("http://", page.replace("http://www.w3.org", ""))
        self.assertNotIn("https://", page)

    def test_it_draws_the_week_of_a_namespace(self):
        dom = self.browse(f"namespace=/&token=reader-of-everything&start={START}&end={END}&draw=1",
                          self.shot("page-serie.png"))
        self.assertIn('<polyline class="serie" data-mode="Accepted"', dom)
        self.assertIn("Accepted: {:,} flows".format(self.store.total("Accept")), dom)
        dom = self.browse(f"namespace=/&token=reader-of-everything&start={START}&end={END}&type=Repartition"
                          "&action=reject&draw=1", self.shot("page-repartition.png"))
        self.assertEqual(dom.count('class="bar"'), 11)

    def test_a_forbidden_namespace_is_a_clear_message(self):
        dom = self.browse(f"namespace=/globex&token=reader-of-acme-only&start={START}&end={END}&draw=1",
                          self.shot("page-forbidden.png"))
        self.assertIn('class="error"', dom)
        self.assertIn("Forbidden (403): the token does not grant read on /globex", dom)
        self.assertNotIn("<polyline", dom)
        dom = self.browse(f"namespace=/&token=wrong&start={START}&end={END}&draw=1")
        self.assertIn("Not signed in (401): unknown token", dom)

    def test_an_empty_answer_says_so(self):
        dom = self.browse("namespace=/acme/nothing-here&token=reader-of-acme-only&start=2020-01-01T00:00:00Z"
                          "&end=2020-01-02T00:00:00Z&draw=1")
        self.assertIn('<div id="status" role="status" class="">No flows in this window</div>', dom)


if __name__ == "__main__":
    argv = [sys.argv[0]] + [a for a in sys.argv[2:] if a not in ("--update", "--screenshots", SCREENSHOTS)]
    result = unittest.main(argv=argv, exit=False, verbosity=2).result
    if not result.wasSuccessful():
        sys.exit(1)
    if result.skipped and not shutil.which("chromium"):
        print("the page tests were skipped: Chromium is not installed (apt-get install chromium)")
