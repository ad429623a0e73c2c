import assert from "node:assert/strict";
import { MetricsPipeline } from "../../lib/autoscaler/mod.ts";
// Internals the public surface keeps private, tested where they live.
import {
  mergeInstantaneousTotal,
  MetricsStore,
  pipelineTiming,
  reduceStepFunction,
  type TimedValue,
} from "../../lib/autoscaler/metrics.ts";
import { config } from "./_helpers.ts";

const s = (pairs: [number, number][]): TimedValue[] =>
  pairs.map(([t, value]) => ({ tMs: t * 1000, value }));

// research/ray-serve.md §3.3's source example.
const r1 = s([[0.2, 5], [0.8, 7], [1.5, 6]]);
const r2 = s([[0.1, 3], [0.9, 4], [1.4, 8]]);

Deno.test("mergeInstantaneousTotal() merges research §3.3's two replicas into one step function", () => {
  assert.deepEqual(
    mergeInstantaneousTotal([r1, r2]),
    s([[0.1, 3], [0.2, 8], [0.8, 10], [0.9, 11], [1.4, 15], [1.5, 14]]),
  );
});

Deno.test("mergeInstantaneousTotal() rounds to 10 ms and emits only when the total changes", () => {
  const a = [{ tMs: 1001, value: 1 }, { tMs: 2000, value: 2 }];
  const b = [{ tMs: 1004, value: 1 }, { tMs: 1998, value: 0 }];
  // At 2.00 s a goes up by one and b down by one: the total stays 2, no point.
  assert.deepEqual(mergeInstantaneousTotal([a, b]), [{ tMs: 1000, value: 2 }]);
});

Deno.test("aggregation of research §3.3's example: mean 10.05 plus 5 queued = 15.05", () => {
  const merged = mergeInstantaneousTotal([r1, r2]);
  const mean = reduceStepFunction(merged, { windowStartMs: 0, endMs: 2000, fn: "mean" })!;
  assert.ok(Math.abs(mean - 10.05) < 1e-9, `mean ${mean}`);
  assert.equal(reduceStepFunction(merged, { windowStartMs: 0, endMs: 2000, fn: "max" }), 15);
  assert.equal(reduceStepFunction(merged, { windowStartMs: 0, endMs: 2000, fn: "min" }), 3);

  // The same through the controller-side store: two replica reports and a handle queuing 5.
  const store = new MetricsStore(pipelineTiming(config({ look_back_period_s: 2 })), 0);
  store.ingest({ sourceId: "r1", kind: "replica", pushedAtMs: 1900, series: r1 });
  store.ingest({ sourceId: "r2", kind: "replica", pushedAtMs: 1900, series: r2 });
  store.ingest({ sourceId: "router", kind: "handle", pushedAtMs: 1900, series: s([[0, 5]]) });
  const m = store.aggregate(2000);
  assert.ok(Math.abs(m.totalOngoing - 15.05) < 1e-9, `total ${m.totalOngoing}`);
  assert.equal(m.queued, 5);
});

Deno.test("reduceStepFunction() lets the last value last until now (at least 1 ms)", () => {
  const pts = s([[0, 2], [10, 6]]);
  // Window [0, 20]: 2 for 10 s, 6 for 10 s.
  assert.equal(reduceStepFunction(pts, { windowStartMs: 0, endMs: 20_000, fn: "mean" }), 4);
  // The window start inside a step takes the value holding there.
  assert.equal(reduceStepFunction(pts, { windowStartMs: 5000, endMs: 15_000, fn: "mean" }), 4);
  assert.equal(reduceStepFunction(pts, { windowStartMs: 10_000, endMs: 10_000, fn: "mean" }), 6);
  assert.equal(reduceStepFunction([], { windowStartMs: 0, endMs: 1, fn: "mean" }), null);
});

Deno.test("MetricsStore drops stale reports and replicas that stopped, and ignores older reports", () => {
  const timing = pipelineTiming(config({ metrics_interval_s: 10 })); // stale after 20 s
  assert.equal(timing.staleAfterMs, 20_000);
  assert.equal(pipelineTiming(config({ metrics_interval_s: 2 })).staleAfterMs, 10_000);
  const store = new MetricsStore(timing, 0);
  store.ingest({ sourceId: "router", kind: "handle", pushedAtMs: 1000, series: s([[1, 4]]) });
  store.ingest({ sourceId: "r1", kind: "replica", pushedAtMs: 1000, series: s([[1, 2]]) });
  store.ingest({ sourceId: "r1", kind: "replica", pushedAtMs: 500, series: s([[0.5, 99]]) });
  // Mean over [0, 2 s]: 0 before the first point, 2 after; the older report's 99 is not used.
  assert.equal(store.aggregate(2000).running, 1, "the older r1 report was ignored");
  store.prune(2000, new Set());
  assert.deepEqual(store.sources(), ["router"], "r1 is not running any more");
  store.prune(21_000, new Set());
  assert.deepEqual(store.sources(), ["router"], "exactly 20 s old is not stale yet");
  store.prune(21_001, new Set());
  assert.deepEqual(store.sources(), []);
  assert.equal(store.aggregate(21_001).totalOngoing, 0);
});

Deno.test("MetricsPipeline samples every 0.5 s, pushes every metrics_interval_s, and pushes at once on a cold start", () => {
  const cfg = config({ metrics_interval_s: 10, look_back_period_s: 30 });
  const p = new MetricsPipeline(cfg, 0);
  assert.equal(p.timing.recordIntervalMs, 500);
  assert.equal(pipelineTiming(config({ metrics_interval_s: 0.2 })).recordIntervalMs, 200);
  const running = new Map([["r1", 4]]);
  for (let t = 0; t < 10_000; t += 100) p.observe(t, { queued: 0, ongoingByReplica: running });
  assert.equal(p.pushes, 0);
  assert.equal(p.aggregate(9_900).totalOngoing, 0, "nothing pushed yet");
  p.observe(10_000, { queued: 0, ongoingByReplica: running });
  assert.equal(p.pushes, 1);
  assert.equal(p.aggregate(10_000).totalOngoing, 4);

  // Cold start: 0 running replicas and queued requests push on the same tick.
  const cold = new MetricsPipeline(config({ min_replicas: 0 }), 0);
  cold.observe(0, { queued: 0, ongoingByReplica: new Map() });
  cold.observe(300, { queued: 0, ongoingByReplica: new Map() });
  assert.equal(cold.pushes, 0);
  cold.observe(400, { queued: 7, ongoingByReplica: new Map() });
  assert.equal(cold.pushes, 1);
  assert.ok(cold.aggregate(400).queued > 0, "the queued requests are visible at once");
});

Deno.test("MetricsPipeline averages over look_back_period_s only", () => {
  const cfg = config({ metrics_interval_s: 1, look_back_period_s: 5 });
  const p = new MetricsPipeline(cfg, 0);
  // 10 ongoing for 20 s, then 2 from then on.
  for (let t = 0; t <= 40_000; t += 100) {
    const v = t < 20_000 ? 10 : 2;
    p.observe(t, { queued: 0, ongoingByReplica: new Map([["r1", v]]) });
    if (t === 19_000) assert.equal(p.aggregate(t).totalOngoing, 10);
    if (t === 22_000) {
      const mid = p.aggregate(t).totalOngoing;
      assert.ok(mid > 2 && mid < 10, `partly old, partly new: ${mid}`);
    }
  }
  assert.equal(p.aggregate(40_000).totalOngoing, 2, "the old level left the 5 s window");
});
