import assert from "node:assert/strict";
import {
  makeRun,
  parseStatsHistory,
  type ReplicaRow,
  reportHtml,
  scalingDecisions,
  summarizeRun,
  summaryTable,
} from "../../lib/plot/mod.ts";

const HEADER =
  "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,99%,100%,Total Request Count,Total Failure Count";

function rep(elapsedS: number, target: number, running: number, queued = 0): ReplicaRow {
  return {
    timestamp: 1000 + elapsedS,
    elapsedS,
    target,
    running,
    starting: 0,
    pending: 0,
    ongoing: 0,
    queued,
  };
}

Deno.test("scalingDecisions() are the changes of the target replica count", () => {
  const d = scalingDecisions([
    rep(0, 1, 1),
    rep(1, 1, 1),
    rep(2, 3, 1),
    rep(3, 3, 3),
    rep(4, 2, 3),
  ]);
  assert.deepEqual(d, [
    { elapsedS: 2, from: 1, to: 3, direction: "up" },
    { elapsedS: 4, from: 3, to: 2, direction: "down" },
  ]);
});

Deno.test("summarizeRun() computes error rate, SLA compliance, queue depth and replica-hours per 1,000 requests", () => {
  const history = parseStatsHistory(
    [
      HEADER,
      "1000,10,,Aggregated,10,0,50,100,120,0,0",
      "1001,10,,Aggregated,10,0,50,100,120,1800,18",
      "1002,10,,Aggregated,10,0,50,100,120,3600,36",
    ].join("\n"),
  );
  const run = makeRun({
    name: "t",
    history,
    // 2 replicas for 1 s, then 4 replicas for 2 s (the last row holds for one interval) = 10 replica-s
    replicas: [rep(0, 2, 2, 3), rep(1, 4, 4, 7), rep(2, 4, 4, 0)],
    latency: [
      {
        timestamp: 1000,
        elapsedS: 0,
        requests: 10,
        failures: 0,
        p50Ms: 10,
        p90Ms: 20,
        p95Ms: 30,
        p99Ms: 100,
        maxMs: 120,
      },
      {
        timestamp: 1001,
        elapsedS: 1,
        requests: 10,
        failures: 0,
        p50Ms: 10,
        p90Ms: 20,
        p95Ms: 30,
        p99Ms: 600,
        maxMs: 700,
      },
      {
        timestamp: 1002,
        elapsedS: 2,
        requests: 0,
        failures: 0,
        p50Ms: null,
        p90Ms: null,
        p95Ms: null,
        p99Ms: null,
        maxMs: null,
      },
      {
        timestamp: 1003,
        elapsedS: 3,
        requests: 10,
        failures: 0,
        p50Ms: 10,
        p90Ms: 20,
        p95Ms: 30,
        p99Ms: 500,
        maxMs: 510,
      },
    ],
  });
  const s = summarizeRun(run, { sloMs: 500 });
  assert.equal(s.requests, 3600);
  assert.equal(s.failures, 36);
  assert.equal(s.errorRate, 0.01);
  assert.equal(s.slaCompliance, 2 / 3, "seconds without samples do not count");
  assert.equal(s.slaSource, "latency_csv");
  assert.equal(s.worstSecondP99Ms, 600);
  assert.equal(s.maxQueued, 7);
  assert.ok(Math.abs((s.meanQueued ?? 0) - 10 / 3) < 1e-9);
  assert.equal(s.scalingEvents, 1);
  assert.equal(s.firstUpscaleS, 1);
  assert.ok(Math.abs((s.replicaHours ?? 0) - 10 / 3600) < 1e-12);
  assert.ok(Math.abs((s.replicaHoursPer1000Requests ?? 0) - 10 / 3600 / 3.6) < 1e-12);
  const table = summaryTable([s]);
  assert.match(table, /Error rate\s+1\.00 %/);
  assert.match(table, /SLA compliance \(p99 <= 500 ms, <= 1 % failed\)\s+66\.67 %/);
});

Deno.test("the queue figures say they are of per-second samples and why deno task simulate's max can be higher", () => {
  // A run whose queue reached 20 between samples: the per-second rows only ever saw 18.
  const history = parseStatsHistory(
    [HEADER, "1000,1,,Aggregated,1,0,50,100,120,1,0", "1003,1,,Aggregated,1,0,50,100,120,4,0"]
      .join("\n"),
  );
  const perSecond = summarizeRun(
    makeRun({
      name: "sim",
      history,
      replicas: [rep(0, 1, 1, 0), rep(1, 1, 1, 18), rep(2, 1, 1, 3)],
    }),
  );
  assert.equal(perSecond.maxQueued, 18);
  assert.equal(perSecond.queueSampleIntervalS, 1);
  const table = summaryTable([perSecond]);
  assert.match(table, /Queue depth \(max \/ mean of per-second samples\)\s+18 \/ 7\.0/);
  assert.match(table, /sampled once a second: a burst between samples is missed/);
  assert.match(table, /deno task simulate's max queue \(taken at every event\) can be higher/);

  const every5 = summarizeRun(
    makeRun({
      name: "slow",
      history,
      replicas: [rep(0, 1, 1, 2), rep(5, 1, 1, 4), rep(10, 1, 1, 0)],
    }),
  );
  assert.equal(every5.queueSampleIntervalS, 5);
  assert.match(
    summaryTable([every5]),
    /Queue depth \(max \/ mean of samples every 5\.0 s\)\s+4 \/ 2\.0/,
  );
  // Mixed intervals: one label true of both columns.
  assert.match(
    summaryTable([perSecond, every5]),
    /Queue depth \(max \/ mean of samples\)\s+18 \/ 7\.0\s+4 \/ 2\.0/,
  );
});

Deno.test("summarizeRun() of a plain Locust run has no replica figures and says where SLA came from", () => {
  const run = makeRun({
    name: "locust",
    history: parseStatsHistory(
      [HEADER, "1000,1,,Aggregated,1,0,50,100,120,10,0", "1001,1,,Aggregated,1,0,50,900,950,20,0"]
        .join("\n"),
    ),
  });
  const s = summarizeRun(run, { sloMs: 500 });
  assert.equal(s.scalingEvents, null);
  assert.equal(s.replicaHoursPer1000Requests, null);
  assert.equal(s.slaCompliance, 0.5);
  assert.equal(s.slaSource, "history_cumulative");
  assert.match(summaryTable([s]), /from Locust's cumulative p99/);
  assert.doesNotMatch(
    summaryTable([s]),
    /burst between samples/,
    "no queue figures, no queue note",
  );
});

Deno.test("a failed request never meets the SLA: fast failures give 0 % compliance and a flag in comparisons", () => {
  const second = (elapsedS: number, requests: number, failures: number, p99Ms: number) => ({
    timestamp: 1000 + elapsedS,
    elapsedS,
    requests,
    failures,
    p50Ms: 1,
    p90Ms: 2,
    p95Ms: 2,
    p99Ms,
    maxMs: p99Ms,
  });
  const history = parseStatsHistory(
    [HEADER, "1000,2,,Aggregated,40,40,1,3,4,40,40", "1003,2,,Aggregated,40,40,1,3,4,160,160"]
      .join("\n"),
  );
  // Every request failed within 3 ms: under the 500 ms bound, yet not one met the SLA.
  const failed = summarizeRun(
    makeRun({
      name: "refused",
      history,
      latency: [0, 1, 2, 3].map((t) => second(t, 40, 40, 3)),
    }),
    { sloMs: 500 },
  );
  assert.equal(failed.slaCompliance, 0);
  // 1 failure in 100 is within a p99's 1 %; 2 in 100 is not.
  const mixed = summarizeRun(
    makeRun({
      name: "mixed",
      history: parseStatsHistory(
        [HEADER, "1000,2,,Aggregated,100,1,1,3,4,100,1", "1002,2,,Aggregated,100,1,1,3,4,300,3"]
          .join("\n"),
      ),
      latency: [second(0, 100, 1, 100), second(1, 100, 2, 100), second(2, 100, 0, 100)],
    }),
    { sloMs: 500 },
  );
  assert.equal(mixed.slaCompliance, 2 / 3);
  // Locust's history alone: its Failures/s column counts the same way.
  const locust = summarizeRun(makeRun({ name: "locust", history }), { sloMs: 500 });
  assert.equal(locust.slaCompliance, 0);
  const table = summaryTable([failed, mixed]);
  assert.match(
    table,
    /\nrefused: high error rate: 100 % of requests failed; its latency and SLA figures describe failures/,
  );
  assert.doesNotMatch(table, /mixed: high error rate/);
  const html = reportHtml([
    makeRun({ name: "refused", history, latency: [0, 1].map((t) => second(t, 40, 40, 3)) }),
  ]);
  assert.match(
    html,
    /<ul class="warning"><li><b>refused<\/b>: high error rate: 100 % of requests failed/,
  );
  assert.match(html, /SLA compliance \(p99 &lt;= 500 ms, &lt;= 1 % failed\)<\/td><td>0\.00 %/);
});
