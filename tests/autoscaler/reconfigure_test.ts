import assert from "node:assert/strict";
import {
  AutoscalerController,
  DECISIONS_CSV_HEADER,
  DirectMetrics,
  startAutoscaler,
  VirtualClock,
} from "../../lib/autoscaler/mod.ts";
import { config, FakeDeployment } from "./_helpers.ts";

Deno.test("reconfigure() keeps the delay state: time already held counts against a shorter upscale_delay_s", () => {
  const clock = new VirtualClock(1_000_000);
  const dep = new FakeDeployment(3, { instantStart: true });
  const metrics = new DirectMetrics();
  metrics.set(13); // wants 7
  const h = startAutoscaler(dep, {
    config: config({ upscale_delay_s: 30 }),
    appName: "app",
    deploymentName: "Model",
    clock,
    metrics,
  });
  clock.advanceTo(1_000_000 + 20_000);
  assert.equal(dep.target, 3, "20 s held of 30 s: no upscale yet");
  const result = h.reconfigure(config({ upscale_delay_s: 15 }));
  assert.equal(result.keptDelayState, true);
  assert.equal(dep.target, 3, "the target itself is kept (within bounds, no initial_replicas)");
  clock.advanceTo(1_000_000 + 20_100); // the next tick: 20.1 s held >= 15 s
  assert.equal(dep.target, 7);
  assert.equal(h.status().last_decision?.reason, "upscale");
  h.stop();
});

Deno.test("reconfigure() restarts the delay on a new policy and clamps the target into new bounds", () => {
  const dep = new FakeDeployment(5, { instantStart: true });
  const metrics = new DirectMetrics();
  metrics.set(10); // wants 5: steady
  const c = new AutoscalerController(dep, {
    config: config({ max_replicas: 10 }),
    appName: "app",
    deploymentName: "Model",
    metrics,
    startMs: 0,
  });
  c.tick(0);
  const r = c.reconfigure(config({ max_replicas: 3 }), 100);
  assert.deepEqual([r.fromReplicas, r.toReplicas], [5, 3]);
  assert.equal(dep.target, 3);
  assert.deepEqual(r.changes, ["max_replicas: 10 -> 3"]);
  assert.equal(c.status().max_replicas, 3);
  assert.equal(c.status().last_decision?.reason, "config_update");
  // initial_replicas set: Ray resets the target to it on a changed config.
  const r2 = c.reconfigure(config({ max_replicas: 8, initial_replicas: 6 }), 200);
  assert.equal(r2.toReplicas, 6);
  assert.equal(dep.target, 6);
});

Deno.test("reconfigure() keeps the sample windows unless their timing changes", () => {
  const dep = new FakeDeployment(2, { instantStart: true });
  const c = new AutoscalerController(dep, {
    config: config({ metrics_interval_s: 1, look_back_period_s: 10 }),
    appName: "app",
    deploymentName: "Model",
    startMs: 0,
  });
  dep.perReplica = 4;
  for (let t = 0; t <= 5_000; t += 100) c.tick(t);
  const before = c.status().total_ongoing_requests;
  assert.ok(before > 7, `windows hold the load: ${before}`);
  assert.equal(
    c.reconfigure(config({ metrics_interval_s: 1, look_back_period_s: 10, max_replicas: 9 }), 5_050)
      .keptWindows,
    true,
  );
  c.tick(5_100);
  assert.ok(Math.abs(c.status().total_ongoing_requests - before) < 0.5, "same windows");
  const r = c.reconfigure(config({ metrics_interval_s: 1, look_back_period_s: 20 }), 5_150);
  assert.equal(r.keptWindows, false);
  c.tick(5_200);
  assert.equal(c.status().total_ongoing_requests, 0, "a new window starts empty");
});

Deno.test("reconfigure() writes a config_update row to the decisions CSV", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/decisions.csv`;
  const dep = new FakeDeployment(2, { instantStart: true });
  const metrics = new DirectMetrics();
  metrics.set(4);
  const c = new AutoscalerController(dep, {
    config: config(),
    appName: "app",
    deploymentName: "Model",
    metrics,
    startMs: 0,
    decisionsCsvPath: path,
  });
  c.tick(0);
  c.reconfigure(config({ target_ongoing_requests: 4 }), 1_000);
  const rows = (await Deno.readTextFile(path)).trim().split("\n");
  assert.equal(rows[0], DECISIONS_CSV_HEADER);
  assert.match(rows.at(-1)!, /,config_update$/);
  await Deno.remove(dir, { recursive: true });
});
