#!/usr/bin/env python3
"""Q1-Q6 through a `serve --shards` broker and through one server holding everything.

Run from a directory holding the port files of four shard servers (p0..p3), of the broker (pb) and
of the whole-store server (pw), each written by `flowstat serve --port-file`; prints one Markdown
table row per query: median latency of 5 (ms) on one server and through the broker, whether the
answers are the same, and the partials' sizes (bytes). bench/RESULTS.md shows a run on W2M.
"""
import json, time, requests, statistics, sys
pb = open('pb').read().strip(); pw = open('pw').read().strip()
shards = [open('p%d' % k).read().strip() for k in range(4)]
src = open(sys.argv[1] if len(sys.argv) > 1 else 'queries.jsonl').read()  # the workload's queries, source ID set
for line in src.splitlines():
    q = json.loads(line); name = q.pop('name'); ns = q.pop('namespace')
    params = []
    for k, v in q.items():
        for x in (v if isinstance(v, list) else [v]): params.append((k, str(x)))
    h = {'X-Namespace': ns}
    def t(url, path):
        times = []
        for _ in range(5):
            t0 = time.perf_counter(); r = requests.get(url + path, headers=h, params=params); times.append(time.perf_counter() - t0)
            assert r.status_code == 200, r.text
        return statistics.median(times) * 1000, r
    tw, rw = t('http://127.0.0.1:' + pw, '/flowstatistics')
    tb, rb = t('http://127.0.0.1:' + pb, '/flowstatistics')
    sizes = [len(requests.get('http://127.0.0.1:%s/flowstatistics/partial' % s, headers=h, params=params).content) for s in shards]
    whole_partial = len(requests.get('http://127.0.0.1:%s/flowstatistics/partial' % pw, headers=h, params=params).content)
    print(f"| {name} | {tw:.1f} | {tb:.1f} | {'same' if rb.text == rw.text else 'DIFFERENT'} | {whole_partial:,} | {sum(sizes):,} ({min(sizes):,}-{max(sizes):,}) | {len(rw.content):,} |")
