import assert from "node:assert/strict";
import { DashboardCollector } from "../../lib/dashboard/collector.ts";
import { decisionAt, FakeSource, statusDoc } from "./_fixtures.ts";

Deno.test("collector turns each tick's requests into requests/s and exact percentiles", async () => {
  const src = new FakeSource();
  const c = new DashboardCollector(src, { startMs: 0, tickMs: 1000 });
  for (let i = 1; i <= 20; i++) src.request({ timeMs: i * 40, latencyMs: i, status: 200 });
  src.request({ timeMs: 1200, latencyMs: 500, status: 200 }); // belongs to the next tick
  const f1 = await c.tick(1000);
  assert.equal(f1.point.rps, 20);
  assert.equal(f1.point.p50Ms, 10);
  assert.equal(f1.point.p90Ms, 18);
  assert.equal(f1.point.p99Ms, 20);
  const f2 = await c.tick(2000);
  assert.equal(f2.point.rps, 1);
  assert.equal(f2.point.p99Ms, 500, "a request finishing after the tick is counted in the next");
  const f3 = await c.tick(3000);
  assert.equal(f3.point.rps, 0);
  assert.equal(f3.point.p50Ms, null, "no requests: no latency (a gap), not 0 ms");
  assert.equal(src.statusReads, 3, "one status read per tick");
});

Deno.test("collector reports the service down from the first failed read and back up", async () => {
  const src = new FakeSource();
  const c = new DashboardCollector(src, { startMs: 0 });
  assert.equal((await c.tick(1000)).service.up, true);
  src.status = new Error("cannot reach http://127.0.0.1:1/api/status: Connection refused");
  const d1 = await c.tick(2000);
  const d2 = await c.tick(3000);
  assert.deepEqual(d1.service, {
    up: false,
    error: "cannot reach http://127.0.0.1:1/api/status: Connection refused",
    down_since_ms: 2000,
  });
  assert.equal(d2.service.down_since_ms, 2000, "the outage start does not move");
  assert.equal(d2.status, null);
  assert.equal(d2.point.running, null);
  src.status = statusDoc({ running: 2 });
  const up = await c.tick(4000);
  assert.deepEqual(up.service, { up: true, error: null, down_since_ms: null });
  assert.equal(up.point.running, 2);
  assert.deepEqual(
    c.init().history.map((p) => p.up),
    [true, false, false, true],
  );
});

Deno.test("collector reports each decision once, from the backlog, the subscription or last_decision", async () => {
  const src = new FakeSource();
  src.backlog = [decisionAt(500)];
  const c = new DashboardCollector(src, { startMs: 0 });
  const f1 = await c.tick(1000);
  assert.deepEqual(f1.decisions.map((d) => d.time_ms), [500]);
  assert.match(f1.decisions[0].explanation, /upscale_delay_s \(1 s\) fired/);

  src.decide(decisionAt(1500, { from_replicas: 2, to_replicas: 3 }));
  // The same decision also shows up as the status's last_decision: not reported twice.
  src.status = statusDoc({
    autoscaler: {
      last_decision: decisionAt(1500, { from_replicas: 2, to_replicas: 3 }),
      target_ongoing_requests: 2,
    },
  });
  const f2 = await c.tick(2000);
  assert.deepEqual(f2.decisions.map((d) => d.to_replicas), [3]);

  // A decision seen only through the status (e.g. an HTTP-only source) is picked up too.
  src.status = statusDoc({
    autoscaler: {
      last_decision: decisionAt(2500, {
        from_replicas: 3,
        to_replicas: 1,
        reason: "downscale",
        held_s: 3,
      }),
      target_ongoing_requests: 2,
    },
  });
  const f3 = await c.tick(3000);
  assert.equal(f3.decisions.length, 1);
  assert.match(f3.decisions[0].explanation, /^Downscale 3 → 1: .*target_ongoing_requests 2/);
  assert.equal((await c.tick(4000)).decisions.length, 0);
  assert.deepEqual(c.init().decisions.map((d) => d.time_ms), [500, 1500, 2500]);
});

Deno.test("collector history covers historyS and new clients get it with the latest frame", async () => {
  const src = new FakeSource();
  const c = new DashboardCollector(src, { startMs: 0, tickMs: 1000, historyS: 5 });
  assert.equal(c.init().frame, null);
  for (let t = 1000; t <= 10_000; t += 1000) await c.tick(t);
  const init = c.init();
  assert.deepEqual(init.history.map((p) => p.t), [5000, 6000, 7000, 8000, 9000, 10_000]);
  assert.equal(init.frame?.t, 10_000);
  assert.equal(init.tick_ms, 1000);
  assert.equal(init.label, "http://fake.invalid");
});

Deno.test("collector stop() unsubscribes from the source", () => {
  const src = new FakeSource();
  const c = new DashboardCollector(src, { startMs: 0 });
  assert.equal(src.requestFns.size, 1);
  assert.equal(src.decisionFns.size, 1);
  c.stop();
  assert.equal(src.requestFns.size, 0);
  assert.equal(src.decisionFns.size, 0);
  assert.throws(
    () => new DashboardCollector(src, { startMs: 0, tickMs: 1 }),
    /tickMs must be >= 10, got 1/,
  );
});
