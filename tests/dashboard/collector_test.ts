import assert from "node:assert/strict";
import { DashboardCollector } from "../../lib/dashboard/collector.ts";
import { decisionAt, FakeSource, statusDoc, twoAppStatus } from "./_fixtures.ts";

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
  assert.deepEqual(d2.point.deployments["app/Dep"].running, null, "a gap while down");
  src.status = statusDoc({ running: 2 });
  const up = await c.tick(4000);
  assert.deepEqual(up.service, { up: true, error: null, down_since_ms: null });
  assert.equal(up.point.deployments["app/Dep"].running, 2);
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

Deno.test("collector keeps one bounded series per deployment of a two-application service", async () => {
  const src = new FakeSource();
  src.status = twoAppStatus({ a: { running: 1 }, b: { running: 2, target: 3 } });
  const c = new DashboardCollector(src, { startMs: 0, tickMs: 1000, historyS: 3 });
  const f1 = await c.tick(1000);
  assert.deepEqual(Object.keys(f1.point.deployments), ["a/Model", "b/Model"]);
  assert.equal(f1.point.deployments["b/Model"].running, 2, "the frame carries every deployment");
  for (let t = 2000; t <= 10_000; t += 1000) {
    src.status = twoAppStatus({ a: { running: 1 }, b: { running: t / 1000, target: 9 } });
    await c.tick(t);
  }
  const init = c.init();
  assert.deepEqual(Object.keys(init.deployments), ["a/Model", "b/Model"]);
  const b = init.deployments["b/Model"];
  assert.equal(b.app, "b");
  assert.equal(b.deployment, "Model");
  assert.equal(b.removed_ms, null);
  assert.deepEqual(
    b.points.map((p) => [p.t, p.running]),
    [[7000, 7], [8000, 8], [9000, 9], [10_000, 10]],
    "bounded like the request history (historyS 3 at 1 s ticks: 4 points)",
  );
  assert.deepEqual(init.deployments["a/Model"].points.map((p) => p.running), [1, 1, 1, 1]);
  assert.equal(init.history.length, 4, "requests stay one service-wide series");
  assert.equal("deployments" in init.history[0], false, "history points carry no counts");
});

Deno.test("collector marks a removed deployment, keeps its series until it ages out, adds new ones", async () => {
  const src = new FakeSource();
  src.status = twoAppStatus({ a: { running: 1 }, b: { running: 2 } });
  const c = new DashboardCollector(src, { startMs: 0, tickMs: 1000, historyS: 3 });
  await c.tick(1000);
  await c.tick(2000);
  // apply removes b and adds c
  src.status = twoAppStatus({ a: { running: 1 }, c: { running: 4 } });
  const f3 = await c.tick(3000);
  assert.deepEqual(Object.keys(f3.point.deployments), ["a/Model", "c/Model"]);
  let init = c.init();
  assert.deepEqual(Object.keys(init.deployments), ["a/Model", "b/Model", "c/Model"]);
  assert.equal(init.deployments["b/Model"].removed_ms, 3000);
  assert.deepEqual(init.deployments["b/Model"].points.map((p) => p.running), [2, 2]);
  assert.equal(init.deployments["c/Model"].points[0].running, 4);

  // The service goes down: present deployments get a gap; the removed one gets nothing.
  src.status = new Error("cannot reach http://127.0.0.1:1/api/status: Connection refused");
  const down = await c.tick(4000);
  assert.deepEqual(Object.keys(down.point.deployments), ["a/Model", "c/Model"]);
  assert.equal(down.point.deployments["c/Model"].running, null);
  init = c.init();
  assert.equal(init.deployments["b/Model"].removed_ms, 3000, "down is not removed");
  assert.equal(init.deployments["b/Model"].points.length, 2);
  assert.deepEqual(init.deployments["c/Model"].points.map((p) => p.running), [4, null]);

  // b's last point (2000) is still within 3 s at 5000, gone after.
  src.status = twoAppStatus({ a: { running: 1 }, c: { running: 4 } });
  await c.tick(5000);
  assert.ok("b/Model" in c.init().deployments, "still viewable within history_s");
  await c.tick(6000);
  assert.deepEqual(Object.keys(c.init().deployments), ["a/Model", "c/Model"], "b aged out");

  // c removed and applied back before it ages out: live again, one series.
  src.status = twoAppStatus({ a: { running: 1 } });
  await c.tick(7000);
  assert.equal(c.init().deployments["c/Model"].removed_ms, 7000);
  src.status = twoAppStatus({ a: { running: 1 }, c: { running: 2 } });
  await c.tick(8000);
  const back = c.init().deployments["c/Model"];
  assert.equal(back.removed_ms, null);
  assert.deepEqual(back.points.map((p) => [p.t, p.running]), [
    [4000, null],
    [5000, 4],
    [6000, 4],
    [8000, 2],
  ]);
});

Deno.test("collector attributes decisions to their deployment", async () => {
  const src = new FakeSource();
  const c = new DashboardCollector(src, { startMs: 0 });
  src.status = twoAppStatus({
    a: { autoscaler: { target_ongoing_requests: 2, last_decision: decisionAt(500) } },
    b: {
      autoscaler: {
        target_ongoing_requests: 5,
        // the same time and replica change as a's: a different decision all the same
        last_decision: decisionAt(500),
      },
    },
  });
  src.decide(decisionAt(500)); // the in-process subscription: the first deployment's autoscaler
  const f = await c.tick(1000);
  assert.deepEqual(f.decisions.map((d) => d.deployment).sort(), ["a/Model", "b/Model"]);
  const a = f.decisions.find((d) => d.deployment === "a/Model")!;
  const b = f.decisions.find((d) => d.deployment === "b/Model")!;
  assert.match(a.explanation, /upscale_delay_s \(1 s\) fired/, "the source's delays are a's");
  assert.match(b.explanation, /target_ongoing_requests 5\); upscale_delay_s fired after/);
  assert.equal((await c.tick(2000)).decisions.length, 0, "each once");

  // A source that names whose decisions it gives.
  const named = new FakeSource();
  named.decisionsDeployment = "b/Model";
  named.status = twoAppStatus({ a: {}, b: {} });
  named.backlog = [decisionAt(700)];
  const c2 = new DashboardCollector(named, { startMs: 0 });
  assert.equal((await c2.tick(1000)).decisions[0].deployment, "b/Model");
});

Deno.test("collector splits requests by the application's first deployment when the source can", async () => {
  const src = new FakeSource();
  src.requestsByDeployment = true;
  src.status = twoAppStatus({ a: {}, b: {} });
  // A second deployment in b: it receives no HTTP requests (b's first deployment does).
  const b = src.status.applications.b;
  b.deployments.Worker = structuredClone(b.deployments.Model);
  const c = new DashboardCollector(src, { startMs: 0, tickMs: 1000 });
  for (let i = 1; i <= 4; i++) {
    src.request({ timeMs: i * 100, latencyMs: 10 * i, status: 200, deployment: "a/Model" });
  }
  src.request({ timeMs: 500, latencyMs: 7, status: 503, deployment: "b/Model" });
  src.request({ timeMs: 600, latencyMs: 9, status: 200 }); // unattributed: service-wide only
  const f = await c.tick(1000);
  assert.equal(f.point.rps, 6, "the service-wide rate counts every request");
  const d = f.point.deployments;
  assert.deepEqual([d["a/Model"].rps, d["a/Model"].p50Ms, d["a/Model"].p99Ms], [4, 20, 40]);
  assert.deepEqual([d["b/Model"].rps, d["b/Model"].failures, d["b/Model"].p50Ms], [1, 1, 7]);
  assert.equal(d["b/Worker"].rps, null, "not an ingress: no request series, not a 0");
  const f2 = await c.tick(2000);
  assert.equal(f2.point.deployments["a/Model"].rps, 0, "an ingress with no requests: 0");
  assert.equal(f2.point.deployments["a/Model"].p50Ms, null);
  assert.deepEqual(c.init().deployments["b/Model"].points.map((p) => p.rps), [1, 0]);

  // A source that cannot say which deployment took a request: no per-deployment rates.
  const plain = new FakeSource();
  plain.status = twoAppStatus({ a: {}, b: {} });
  const c2 = new DashboardCollector(plain, { startMs: 0 });
  plain.request({ timeMs: 100, latencyMs: 5, status: 200, deployment: "a/Model" });
  const g = await c2.tick(1000);
  assert.equal(g.point.rps, 1);
  assert.equal(g.point.deployments["a/Model"].rps, null);
});
