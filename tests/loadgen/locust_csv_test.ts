import assert from "node:assert/strict";
import {
  renderExceptionsCsv,
  renderFailuresCsv,
  renderStatsCsv,
  renderStatsHistoryRows,
  RequestStats,
  statsHistoryColumns,
} from "../../lib/loadgen/mod.ts";
import {
  bucketResponseTime,
  calculateResponseTimePercentile,
  medianFromDict,
} from "../../lib/loadgen/locust_stats.ts";
import { ResultFiles, statsCsvColumns } from "../../lib/loadgen/csv_files.ts";
import { pyFloat } from "../../lib/loadgen/_pyformat.ts";

interface RefEvent {
  t: number;
  method: string;
  name: string;
  rt: number | null;
  len: number;
  error: string | null;
}
interface RefRun {
  seed: number;
  start: number;
  events: RefEvent[];
  passes: { t: number; users: number }[];
  history_default: string;
  history_full: string;
  stats_csv: string;
  failures_csv: string;
}
const reference = JSON.parse(
  await Deno.readTextFile(new URL("./fixtures/locust_reference.json", import.meta.url)),
) as { runs: RefRun[]; empty: Record<string, string> };

function replay(run: RefRun): { stats: RequestStats; historyDefault: string; historyFull: string } {
  const stats = new RequestStats(run.start);
  const log = (ev: RefEvent) =>
    stats.logRequest({
      method: ev.method,
      name: ev.name,
      responseTimeMs: ev.rt,
      contentLength: ev.len,
      nowS: ev.t,
      error: ev.error ?? undefined,
    });
  let historyDefault = "";
  let historyFull = "";
  // Interleave events and passes in time order, as Locust saw them.
  let e = 0;
  for (const pass of run.passes) {
    while (e < run.events.length && run.events[e].t < pass.t) log(run.events[e++]);
    historyDefault += renderStatsHistoryRows(stats, { nowS: pass.t, userCount: pass.users });
    historyFull += renderStatsHistoryRows(stats, {
      nowS: pass.t,
      userCount: pass.users,
      fullHistory: true,
    });
  }
  for (; e < run.events.length; e++) log(run.events[e]);
  return { stats, historyDefault, historyFull };
}

Deno.test("Locust files match Locust's own stats.py byte for byte on recorded runs", () => {
  for (const run of reference.runs) {
    const { stats, historyDefault, historyFull } = replay(run);
    const header = statsHistoryColumns().join(",") + "\r\n";
    assert.equal(renderStatsCsv(stats), run.stats_csv, `seed ${run.seed}: _stats.csv`);
    assert.equal(
      header + historyDefault,
      header + run.history_default,
      `seed ${run.seed}: history`,
    );
    assert.equal(historyFull, run.history_full, `seed ${run.seed}: --csv-full-history`);
    assert.equal(renderFailuresCsv(stats), run.failures_csv, `seed ${run.seed}: _failures.csv`);
  }
});

Deno.test("Locust files with no requests: N/A percentiles, int zeros, headers only", () => {
  const stats = new RequestStats(1700000000);
  assert.equal(renderStatsCsv(stats), reference.empty.stats_csv);
  assert.equal(
    renderStatsHistoryRows(stats, { nowS: 1700000000, userCount: 0 }),
    reference.empty.history_row,
  );
  assert.equal(renderFailuresCsv(stats), reference.empty.failures_csv);
  assert.equal(renderExceptionsCsv(stats), reference.empty.exceptions_csv);
});

Deno.test("ResultFiles writes the four Locust files with exact headers and CRLF line ends", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const stats = new RequestStats(1700000000);
    const files = new ResultFiles(`${dir}/sub/run`, stats, { startS: 1700000000 });
    stats.logRequest({
      method: "POST",
      name: "/",
      responseTimeMs: 147.3,
      contentLength: 10,
      nowS: 1700000000.5,
    });
    files.pass(1700000001, 1);
    files.close();
    const read = (p: string) => Deno.readTextFileSync(p);
    const stats0 = read(files.paths.stats);
    assert.ok(stats0.startsWith(statsCsvColumns().join(",") + "\r\n"));
    assert.equal(
      statsCsvColumns().join(","),
      "Type,Name,Request Count,Failure Count,Median Response Time,Average Response Time,Min Response Time,Max Response Time,Average Content Size,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%",
    );
    // A single 147.3 ms request: Max 147.3, 100% = 150 (bucketed), median clamped to 147.3.
    assert.match(
      stats0,
      /\r\nPOST,\/,1,0,147\.3,147\.3,147\.3,147\.3,10\.0,2\.0,0\.0,150,150,150,150,150,150,150,150,150,150,150\r\n/,
    );
    assert.equal(
      read(files.paths.history).split("\r\n")[0],
      "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size",
    );
    assert.equal(
      read(files.paths.failures),
      "Method,Name,Error,Occurrences,First Seen,Last Seen\r\n",
    );
    assert.equal(read(files.paths.exceptions), "Count,Message,Traceback,Nodes\r\n");
    for (const p of [files.paths.stats, files.paths.history]) {
      const text = read(p);
      assert.equal(
        text.split("\r\n").length - 1,
        text.split("\n").length - 1,
        `${p}: every LF has CR`,
      );
    }
    assert.equal(
      read(files.paths.latency),
      "Timestamp,Elapsed (s),Requests,Failures,p50 (ms),p90 (ms),p95 (ms),p99 (ms),Max (ms)\n" +
        "1700000001,1,1,0,147.3,147.3,147.3,147.3,147.3\n",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("bucketResponseTime() rounds half to even within Locust's ranges", () => {
  const cases: [number, number][] = [
    [145, 140],
    [155, 160],
    [0.5, 0],
    [1.5, 2],
    [2.5, 2],
    [99.5, 100],
    [99.6, 100],
    [147.3, 150],
    [999.6, 1000],
    [1250, 1200],
    [1350, 1400],
    [3432, 3400],
    [58760, 59000],
    [12500, 12000],
    [13500, 14000],
  ];
  for (const [input, want] of cases) assert.equal(bucketResponseTime(input), want, `${input}`);
});

Deno.test("percentile is a[min(int(n*p), n-1)] and median the lower middle of bucketed values", () => {
  let seed = 7;
  const rnd = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  for (let trial = 0; trial < 300; trial++) {
    const n = 1 + Math.floor(rnd() * 40);
    const values = Array.from({ length: n }, () => bucketResponseTime(rnd() * 3000));
    const counts = new Map<number, number>();
    for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
    const sorted = [...values].sort((a, b) => a - b);
    for (const p of [0.5, 0.66, 0.9, 0.99, 0.999, 1]) {
      assert.equal(
        calculateResponseTimePercentile(counts, p, { numRequests: n }),
        sorted[Math.min(Math.trunc(n * p), n - 1)],
      );
    }
    assert.equal(medianFromDict(n, counts), sorted[Math.floor((n - 1) / 2)]);
  }
  // 50% and Median differ on an even count: [10, 20, 30, 40] -> median 20, 50% = 30.
  const c = new Map([[10, 1], [20, 1], [30, 1], [40, 1]]);
  assert.equal(medianFromDict(4, c), 20);
  assert.equal(calculateResponseTimePercentile(c, 0.5), 30);
});

Deno.test("windowed percentiles cover about the last 10 s and are 0 without a snapshot", () => {
  const t0 = 1700000000;
  const stats = new RequestStats(t0);
  // 20 s of 500 ms requests, then 20 s of 50 ms requests.
  for (let s = 0; s < 40; s++) {
    for (let k = 0; k < 10; k++) {
      stats.logRequest({
        method: "GET",
        name: "/",
        responseTimeMs: s < 20 ? 500 : 50,
        contentLength: 0,
        nowS: t0 + s + k / 10,
      });
    }
  }
  const at = (s: number) =>
    renderStatsHistoryRows(stats, { nowS: t0 + s, userCount: 1, fullHistory: true })
      .split("\r\n")[0].split(",");
  // At t0+40 the window starts at t0+30: only 50 ms samples, though the whole run's median is 500.
  assert.equal(at(40)[6], "50");
  assert.equal(renderStatsHistoryRows(stats, { nowS: t0 + 40, userCount: 1 }).split(",")[6], "500");
  // Long after traffic stopped, no snapshot is within t-18..t-2: Locust writes 0.
  assert.equal(at(100)[6], "0");
});

Deno.test("pyFloat() renders as Python repr", () => {
  assert.equal(pyFloat(61.79999999999997), "61.79999999999997");
  assert.equal(pyFloat(1234), "1234.0");
  assert.equal(pyFloat(0), "0.0");
  assert.equal(pyFloat(0.0001), "0.0001");
  assert.equal(pyFloat(0.00001), "1e-05");
  assert.equal(pyFloat(1.5e-7), "1.5e-07");
  assert.equal(pyFloat(1e16), "1e+16");
  assert.equal(pyFloat(1e15), "1000000000000000.0");
  assert.equal(pyFloat(123456789012345680000), "1.2345678901234568e+20");
});
