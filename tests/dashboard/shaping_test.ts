import assert from "node:assert/strict";
import {
  chartPoint,
  deploymentCounts,
  deploymentsOf,
  explainDecision,
  firstDeployment,
  History,
  nearestRank,
  requestStats,
} from "../../lib/dashboard/shaping.ts";
import type { ScalingDecision } from "../../lib/autoscaler/mod.ts";
import { statusDoc, twoAppStatus } from "./_fixtures.ts";

Deno.test("nearestRank() picks the smallest sample covering the quantile", () => {
  const xs = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100
  assert.equal(nearestRank(xs, 0.5), 50);
  assert.equal(nearestRank(xs, 0.9), 90);
  assert.equal(nearestRank(xs, 0.99), 99);
  assert.equal(nearestRank(xs, 1), 100);
  assert.equal(nearestRank([7], 0.5), 7);
  assert.equal(nearestRank([1, 2], 0.5), 1);
  assert.equal(nearestRank([], 0.5), null);
  assert.throws(() => nearestRank(xs, 0), /quantile must be in \(0, 1\], got 0/);
  assert.throws(() => nearestRank(xs, 1.5), /got 1.5/);
});

Deno.test("requestStats() counts only the window's requests and gives exact percentiles", () => {
  const samples = [
    { timeMs: 1000, latencyMs: 999, status: 200 }, // at the window's start: previous window
    ...Array.from({ length: 10 }, (_, i) => ({
      timeMs: 1001 + i * 50,
      latencyMs: (i + 1) * 10, // 10..100 ms
      status: i === 9 ? 503 : 200,
    })),
    { timeMs: 1500, latencyMs: 5, status: 200 }, // at the end: included
    { timeMs: 1501, latencyMs: 999, status: 200 }, // next window
  ];
  const s = requestStats(samples, { fromMs: 1000, toMs: 1500 });
  assert.equal(s.requests, 11);
  assert.equal(s.failures, 1);
  assert.equal(s.rps, 22); // 11 in half a second
  assert.equal(s.p50Ms, 50); // sorted: 5,10,20,...,100 -> 6th of 11
  assert.equal(s.p90Ms, 90);
  assert.equal(s.p99Ms, 100);
  const empty = requestStats([], { fromMs: 0, toMs: 1000 });
  assert.deepEqual(empty, {
    requests: 0,
    failures: 0,
    rps: 0,
    p50Ms: null,
    p90Ms: null,
    p99Ms: null,
  });
  assert.throws(() => requestStats([], { fromMs: 5, toMs: 5 }), /must end after it starts/);
});

Deno.test("chartPoint() takes replica counts from the status and nulls them when unreachable", () => {
  const doc = statusDoc({ running: 2, starting: 1, pending: 1, target: 4, ongoing: 7, queued: 3 });
  const p = chartPoint(5000, doc, {
    requests: 30,
    failures: 2,
    rps: 30.0004,
    p50Ms: 21,
    p90Ms: 40,
    p99Ms: 80,
  });
  assert.deepEqual(p, {
    t: 5000,
    up: true,
    rps: 30,
    p50Ms: 21,
    p90Ms: 40,
    p99Ms: 80,
    failures: 2,
    deployments: {
      "app/Dep": {
        rps: null,
        p50Ms: null,
        p90Ms: null,
        p99Ms: null,
        failures: null,
        ongoing: 7,
        queued: 3,
        target: 4,
        running: 2,
        starting: 1,
        pending: 1,
        stopping: 0,
      },
    },
  });
  const down = chartPoint(6000, null, null);
  assert.equal(down.up, false);
  for (const k of ["rps", "p50Ms", "p99Ms", "failures"] as const) {
    assert.equal(down[k], null, `${k} is null while unreachable (a gap in the chart, not a 0)`);
  }
  assert.deepEqual(down.deployments, {});
  assert.equal(firstDeployment({ ...doc, applications: {} }), null);
  for (const v of Object.values(deploymentCounts(null))) assert.equal(v, null);
});

Deno.test("deploymentsOf() lists every application's deployments, keyed app/deployment", () => {
  const doc = twoAppStatus({ a: { running: 1 }, b: { running: 3, target: 4 } });
  assert.deepEqual(deploymentsOf(doc).map((d) => [d.key, d.app, d.deployment]), [
    ["a/Model", "a", "Model"],
    ["b/Model", "b", "Model"],
  ]);
  assert.equal(firstDeployment(doc)?.key, "a/Model");
  const p = chartPoint(1000, doc, null);
  assert.deepEqual(Object.keys(p.deployments), ["a/Model", "b/Model"]);
  assert.equal(p.deployments["b/Model"].running, 3);
  assert.equal(p.deployments["b/Model"].target, 4);
  assert.equal(p.deployments["a/Model"].running, 1);
  assert.equal(p.rps, null, "no request stats: null, never a 0");
});

Deno.test("History keeps only the newest items, oldest first", () => {
  const h = new History<number>(3);
  for (let i = 1; i <= 5; i++) h.push(i);
  assert.deepEqual(h.toArray(), [3, 4, 5]);
  assert.equal(h.length, 3);
  assert.throws(() => new History(0), /capacity must be an integer >= 1, got 0/);
});

const decision = (over: Partial<ScalingDecision>): ScalingDecision => ({
  time_ms: 1000,
  elapsed_s: 1,
  from_replicas: 1,
  to_replicas: 4,
  reason: "upscale",
  total_ongoing_requests: 8.6,
  queued_requests: 5,
  running_replicas: 1,
  raw_replicas: 4.3,
  held_s: 1.04,
  message: "Upscaling from 1 to 4 replicas.",
  ...over,
});
const delays = { upscale_delay_s: 1, downscale_delay_s: 3, downscale_to_zero_delay_s: null };

Deno.test("explainDecision() names the inputs and the upscale delay that fired", () => {
  const e = explainDecision(decision({}), { delays, targetOngoingRequests: 2 });
  assert.equal(e.direction, "up");
  assert.deepEqual(e.delay, { name: "upscale_delay_s", required_s: 1, held_s: 1.04 });
  assert.equal(
    e.explanation,
    "Upscale 1 → 4: 8.6 requests in flight (5 queued) on 1 replica running; the policy asked " +
      "for 4.30 replicas (8.6 / target_ongoing_requests 2); upscale_delay_s (1 s) fired after " +
      "the need held 1.0 s.",
  );
  assert.equal(e.message, "Upscaling from 1 to 4 replicas.", "the original fields are kept");
});

Deno.test("explainDecision() explains downscales, the to-zero fallback, cold starts and bounds", () => {
  const down = explainDecision(
    decision({ from_replicas: 3, to_replicas: 1, reason: "downscale", held_s: 3.1 }),
    { delays },
  );
  assert.equal(down.direction, "down");
  assert.match(
    down.explanation,
    /^Downscale 3 → 1: .*downscale_delay_s \(3 s\) fired after the surplus held 3\.1 s\.$/,
  );

  const toZero = explainDecision(
    decision({ from_replicas: 1, to_replicas: 0, reason: "downscale_to_zero", held_s: 3 }),
    { delays },
  );
  assert.deepEqual(toZero.delay, { name: "downscale_delay_s", required_s: 3, held_s: 3 });
  const ownZero = explainDecision(
    decision({ from_replicas: 1, to_replicas: 0, reason: "downscale_to_zero", held_s: 9 }),
    { delays: { ...delays, downscale_to_zero_delay_s: 9 } },
  );
  assert.equal(ownZero.delay?.name, "downscale_to_zero_delay_s");
  assert.equal(ownZero.delay?.required_s, 9);

  const cold = explainDecision(
    decision({ from_replicas: 0, to_replicas: 1, reason: "cold_start", raw_replicas: null }),
    { delays },
  );
  assert.equal(cold.delay, null);
  assert.match(cold.explanation, /cold start: .* no delay applies/);
  assert.doesNotMatch(cold.explanation, /policy asked/);

  const bounds = explainDecision(decision({ reason: "bounds" }), {});
  assert.equal(bounds.delay, null);
  assert.match(bounds.explanation, /min_replicas, max_replicas/);

  const unknownDelay = explainDecision(decision({}), {});
  assert.match(unknownDelay.explanation, /upscale_delay_s fired after the need held 1\.0 s/);
});
