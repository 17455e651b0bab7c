// DuckDB's side of bench/shapes.sh: the query shapes of bench/shapes-w2m.jsonl as SQL over the
// `flows` table that the canonical workload's DuckDB loader creates (one column per JSON field).
// usage: node shapes_duckdb.mjs DBFILE SOURCE_ID DESTINATION_ID
// Prints, per shape, the median of RUNS warm runs and the sum of the answer's value column (which
// bench/shapes.sh compares with the sum of flowstat's data points: the same figures, or the
// comparison is void). The sum is taken once more over distinct rows, untimed: flowstat stores an
// event reported twice once (W2M holds one such pair). Needs @duckdb/node-api in $DUCKDB_NODE.
import { createRequire } from 'node:module';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const { DuckDBInstance } = createRequire(path.join(process.env.DUCKDB_NODE, 'package.json'))('@duckdb/node-api');
const RUNS = Number(process.env.RUNS || 5);
const END = 1763596800000n, DAY = 86400000n, UNALIGNED = 1763214567890n;
const MIN = 60000n, HOUR = 3600000n;
const window = (start, end) => `"timestamp" >= ${start} AND "timestamp" < ${end}`;
const W7 = window(END - 7n * DAY, END);
const under = (ns) => (ns === '/' ? 'true' : `(namespace = '${ns}' OR starts_with(namespace, '${ns}/'))`);
const bucket = (width) => `("timestamp" // ${width}) * ${width}`;
// flowMode: applied counts every event by `action`; observed counts observed events by
// `observedAction` (Accept or Reject only); all is both.
const applied = (where) => `SELECT "timestamp", action AS mode, destinationPort, value FROM flows WHERE ${where}`;
const observed = (where) =>
  `SELECT "timestamp", observedAction AS mode, destinationPort, value FROM flows WHERE ${where} AND observed AND observedAction IN ('Accept', 'Reject')`;

const shapes = (src, dst) => ({
  'S1-ports-1m-7d': `SELECT ${bucket(MIN)} AS b, count(DISTINCT destinationPort) AS v FROM flows WHERE ${under('/acme')} AND action = 'Reject' AND ${W7} GROUP BY b ORDER BY b`,
  'S2-flows-1m-7d': `SELECT ${bucket(MIN)} AS b, sum(value) AS v FROM flows WHERE ${under('/acme')} AND action = 'Accept' AND ${W7} GROUP BY b ORDER BY b`,
  'S3-all-15m-unaligned-4d': `WITH ev AS (${applied(window(UNALIGNED, UNALIGNED + 4n * DAY))} UNION ALL ${observed(window(UNALIGNED, UNALIGNED + 4n * DAY))}) SELECT ${bucket(15n * MIN)} AS b, mode, sum(value) AS v FROM ev GROUP BY b, mode ORDER BY b, mode`,
  'S4-applied-5m-unaligned-2d': `SELECT ${bucket(5n * MIN)} AS b, action, sum(value) AS v FROM flows WHERE ${under('/acme/prod')} AND ${window(UNALIGNED, UNALIGNED + 2n * DAY)} GROUP BY b, action ORDER BY b, action`,
  'S5-observed-rep-ports-7d': `SELECT mode, destinationPort AS p, sum(value) AS v FROM (${observed(W7)}) WHERE destinationPort IS NOT NULL GROUP BY mode, p ORDER BY mode, v DESC, p`,
  'S6-tag-serie-7d': `SELECT ${bucket(HOUR)} AS b, sum(value) AS v FROM flows WHERE list_contains(sourceTags, 'app=inventory') AND action = 'Reject' AND ${W7} GROUP BY b ORDER BY b`,
  'S7-tag-rep-7d': `SELECT sourceID, destinationID, sum(value) AS v FROM flows WHERE list_contains(destinationTags, 'tier=backend') AND list_contains(destinationTags, 'env=prod') AND action = 'Accept' AND ${W7} GROUP BY sourceID, destinationID ORDER BY v DESC, sourceID, destinationID LIMIT 20`,
  'S8-id-rep-7d': `SELECT action, sourceID, destinationID, sum(value) AS v FROM flows WHERE destinationID = '${dst}' AND ${W7} GROUP BY action, sourceID, destinationID ORDER BY action, v DESC, sourceID, destinationID`,
  'S9-id-serie-ports-7d': `SELECT ${bucket(HOUR)} AS b, action, count(DISTINCT destinationPort) AS v FROM flows WHERE sourceID = '${src}' AND ${W7} GROUP BY b, action ORDER BY b, action`,
  'S10-unlimited-rep-7d': `SELECT sourceID, destinationID, sum(value) AS v FROM flows WHERE action = 'Accept' AND ${W7} GROUP BY sourceID, destinationID ORDER BY v DESC, sourceID, destinationID`,
});

const median = (a) => { const s = [...a].sort((x, y) => x - y); return s[(s.length - 1) >> 1]; };
const [db, src, dst] = process.argv.slice(2);
if (!dst) { console.error('usage: node shapes_duckdb.mjs DBFILE SOURCE_ID DESTINATION_ID'); process.exit(2); }
const inst = await DuckDBInstance.create(db);
const con = await inst.connect();
for (const [name, sql] of Object.entries(shapes(src, dst))) {
  await con.runAndReadAll(sql);
  const distinct = sql.replaceAll('FROM flows', 'FROM (SELECT DISTINCT * FROM flows)');
  const rows = (await con.runAndReadAll(distinct)).getRows();
  const total = rows.reduce((sum, row) => sum + BigInt(row[row.length - 1]), 0n);
  const ms = [];
  for (let i = 0; i < RUNS; i++) { const t = performance.now(); (await con.runAndReadAll(sql)).getRows(); ms.push(performance.now() - t); }
  console.log(`duckdb ${name} median ${median(ms).toFixed(2)} ms sum ${total}`);
}
con.closeSync(); inst.closeSync();
