import assert from "node:assert/strict";
import {
  evaluateThresholds,
  LatencyHistogram,
  liveReporter,
  parseThreshold,
  RequestStats,
  type SecondReport,
} from "../../lib/loadgen/mod.ts";
import { formatLiveLine } from "../../lib/loadgen/report.ts";

Deno.test("LatencyHistogram percentiles are within 3 significant digits of the exact ones", () => {
  let seed = 42;
  const rnd = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  const h = new LatencyHistogram();
  const values: number[] = [];
  for (let i = 0; i < 20000; i++) {
    const v = Math.exp(rnd() * 12) / 100; // 0.01 ms .. ~1.6 s, log-uniform
    values.push(v);
    h.record(v);
  }
  values.sort((a, b) => a - b);
  for (const p of [1, 10, 50, 90, 99, 99.9, 99.99]) {
    const rank = Math.ceil(Math.round(p * 100) * values.length / 10000); // integer arithmetic
    const exact = values[Math.max(0, rank - 1)];
    const got = h.percentileMs(p)!;
    // One bucket is at most 1/1024 of the value wide (plus the 1 µs recording unit).
    assert.ok(
      got >= exact - 0.0006 && got <= exact * (1 + 1 / 1024) + 0.0006,
      `p${p}: ${got} vs exact ${exact}`,
    );
  }
  assert.equal(h.percentileMs(100), values.at(-1), "p100 is the raw max");
  assert.equal(h.count, 20000);
});

Deno.test("LatencyHistogram never reports a percentile above the max, and merges exactly", () => {
  const a = new LatencyHistogram();
  a.record(147.3); // Locust would report 100% = 150 here
  assert.equal(a.percentileMs(100), 147.3);
  assert.equal(a.percentileMs(99), 147.3);
  assert.equal(a.percentileMs(50), 147.3);
  const b = new LatencyHistogram();
  for (let i = 1; i <= 100; i++) b.record(i);
  const merged = a.clone();
  merged.add(b);
  assert.equal(merged.count, 101);
  assert.equal(merged.maxMs, 147.3);
  assert.equal(merged.minMs, 1);
  const back = LatencyHistogram.fromJSON(JSON.parse(JSON.stringify(merged.toJSON())));
  assert.deepEqual(back.percentilesMs([50, 90, 99]), merged.percentilesMs([50, 90, 99]));
  const empty = new LatencyHistogram();
  assert.equal(empty.percentileMs(50), null);
  assert.equal(empty.maxMs, null);
});

Deno.test("recordCorrected() back-fills the samples a stall hid (HdrHistogram's rule)", () => {
  const h = new LatencyHistogram();
  h.recordCorrected(100, 10); // 100, 90, 80, ..., 10
  assert.equal(h.count, 10);
  // 50 ms sits in a 32 µs bucket; the highest equivalent value is reported.
  assert.ok(Math.abs(h.percentileMs(50)! - 50) <= 0.032, `${h.percentileMs(50)}`);
  assert.equal(h.minMs, 10);
});

Deno.test("thresholds parse k6-style expressions and fail on what the run observed", () => {
  const stats = new RequestStats(1000);
  for (let i = 1; i <= 100; i++) {
    stats.logRequest({
      method: "POST",
      name: "/",
      responseTimeMs: i,
      contentLength: 0,
      nowS: 1000 + i / 100,
      error: i > 98 ? "HTTPError('500 Server Error: x for url: http://h/')" : undefined,
    });
  }
  const checks = evaluateThresholds(
    ["p99<500", "p(50)<=51", "fail_ratio<0.01", "rps>=100", "max<100", "failures==2"].map(
      parseThreshold,
    ),
    stats,
    1,
  );
  assert.deepEqual(checks.map((c) => [c.expression, c.ok]), [
    ["p99<500", true],
    ["p(50)<=51", true],
    ["fail_ratio<0.01", false],
    ["rps>=100", true],
    ["max<100", false],
    ["failures==2", true],
  ]);
  assert.equal(checks[2].observed, 0.02);
  assert.throws(() => parseThreshold("p99 under 500"), /expected METRIC OP NUMBER/);
  assert.throws(() => parseThreshold("latency<5"), /unknown metric "latency"/);
  // A latency threshold with no samples fails rather than passing silently.
  assert.equal(evaluateThresholds([parseThreshold("p99<5")], new RequestStats(0), 1)[0].ok, false);
});

Deno.test("the live line redraws in place on a TTY and prints every N seconds in a pipe", () => {
  const report = (elapsedS: number): SecondReport => ({
    elapsedS,
    durationS: 66,
    stage: "peak",
    users: 40,
    requests: 38,
    failures: 0,
    p50Ms: 21.4,
    p99Ms: 48.2,
    histogram: new LatencyHistogram(),
    totalRequests: 400,
    totalFailures: 4,
    dropped: 0,
    replicas: {
      targetReplicas: 4,
      runningReplicas: 3,
      startingReplicas: 1,
      pendingReplicas: 0,
      ongoingRequests: 7,
      queuedRequests: 2,
    },
  });
  const line = formatLiveLine(report(12));
  for (
    const part of [
      "peak",
      "users   40",
      "rps     38",
      "p50    21 ms",
      "p99    48 ms",
      "fails 4 (1.00%)",
      "replicas 3/4",
    ]
  ) {
    assert.ok(line.includes(part), `"${part}" in ${line}`);
  }
  const tty: string[] = [];
  const t = liveReporter({ isTty: true, write: (s) => tty.push(s) });
  for (let s = 1; s <= 3; s++) t.onSecond(report(s));
  t.done();
  assert.ok(tty.slice(0, 3).every((s) => s.startsWith("\r\x1b[2K") && !s.endsWith("\n")));
  assert.equal(tty.at(-1), "\n");
  const pipe: string[] = [];
  const p = liveReporter({ isTty: false, pipeEveryS: 10, write: (s) => pipe.push(s) });
  for (let s = 1; s <= 25; s++) p.onSecond(report(s));
  p.done();
  assert.equal(pipe.length, 3, "seconds 1, 11, 21");
  assert.ok(pipe.every((s) => s.endsWith("\n") && !s.includes("\r")));
});
