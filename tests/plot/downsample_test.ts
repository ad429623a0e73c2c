import assert from "node:assert/strict";
import { bucketRows, compressSteps } from "../../lib/plot/_downsample.ts";
import { latencyChart, makeRun, parseStatsHistory, replicasChart } from "../../lib/plot/mod.ts";

Deno.test("compressSteps() keeps only the rows around changes, first and last", () => {
  const rows = [1, 1, 1, 2, 2, 2, 2, 3, 3].map((v, t) => ({ t, v }));
  assert.deepEqual(compressSteps(rows, ["v"]).map((r) => r.t), [0, 2, 3, 6, 7, 8]);
});

Deno.test("bucketRows() keeps the worst second of each bucket so spikes survive", () => {
  const rows = Array.from(
    { length: 100 },
    (_, t) => ({ t, p99: t === 57 ? 900 : 50, p50: t === 3 ? null : 10 }),
  );
  const { rows: out, bucketS } = bucketRows(rows, {
    x: "t",
    keys: ["p99", "p50"],
    maxPoints: 10,
    reduce: "max",
  });
  assert.equal(bucketS, 10);
  assert.equal(out.length, 10);
  assert.equal(out[5].p99, 900);
  assert.equal(out[0].p50, 10, "nulls are ignored, not treated as 0");
  assert.equal(
    bucketRows(rows, { x: "t", keys: ["p99"], maxPoints: 200, reduce: "max" }).bucketS,
    0,
  );
});

Deno.test("a 3-hour run is drawn with at most maxPoints per series and says so", () => {
  const header =
    "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,99%,100%,Total Request Count,Total Failure Count";
  const lines = [header];
  for (let t = 0; t < 3 * 3600; t++) {
    lines.push(`${1000 + t},10,,Aggregated,10,0,50,${t === 5000 ? 2000 : 90},120,${t * 10},0`);
  }
  const run = makeRun({
    name: "long",
    history: parseStatsHistory(lines.join("\n")),
    replicas: Array.from({ length: 3 * 3600 }, (_, t) => ({
      timestamp: 1000 + t,
      elapsedS: t,
      target: t < 5000 ? 2 : 4,
      running: t < 5010 ? 2 : 4,
      starting: 0,
      pending: 0,
      ongoing: 3,
      queued: 0,
    })),
  });
  const chart = latencyChart(run, { maxPoints: 600 });
  assert.match(chart.textContent ?? "", /worst second per 18 s/);
  assert.ok(chart.outerHTML.length < 120_000, `latency SVG is ${chart.outerHTML.length} bytes`);
  const reps = replicasChart(run);
  assert.ok(reps.outerHTML.length < 30_000, `replicas SVG is ${reps.outerHTML.length} bytes`);
  assert.match(reps.textContent ?? "", /2→4/);
});
