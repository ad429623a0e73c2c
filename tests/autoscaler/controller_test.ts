import assert from "node:assert/strict";
import {
  type AutoscalerStatus,
  DECISIONS_CSV_HEADER,
  DirectMetrics,
  startAutoscaler,
  VirtualClock,
} from "../../lib/autoscaler/mod.ts";
import { config, FakeDeployment } from "./_helpers.ts";

Deno.test("startAutoscaler() upscales 3 -> 7 after 30 s of virtual time with Ray's status messages", () => {
  const clock = new VirtualClock(1_000_000);
  const dep = new FakeDeployment(3);
  const metrics = new DirectMetrics();
  metrics.set(13);
  const lines: string[] = [];
  const seen: string[] = [];
  const h = startAutoscaler(dep, {
    config: config(),
    appName: "app",
    deploymentName: "Model",
    clock,
    metrics,
    log: (l) => lines.push(l),
  });
  const note = (s: AutoscalerStatus) => {
    const key = `${s.status}:${s.message}`;
    if (seen.at(-1) !== key) seen.push(key);
  };
  note(h.status());
  clock.advanceTo(1_000_000 + 10_000);
  const counting = h.status();
  assert.equal(counting.target_replicas, 3);
  assert.equal(counting.desired_replicas, 7);
  assert.equal(counting.delay?.direction, "up");
  assert.equal(counting.delay?.required_s, 30);
  assert.ok(Math.abs(counting.delay!.remaining_s - 20) < 1e-9, `${counting.delay!.remaining_s}`);
  assert.equal(counting.reason, "upscale_delay");

  clock.advanceTo(1_000_000 + 29_900);
  assert.equal(dep.target, 3, "not one tick early");
  clock.advanceTo(1_000_000 + 30_000);
  assert.equal(dep.target, 7);
  const up = h.status();
  note(up);
  assert.equal(up.status, "UPSCALING");
  assert.equal(up.status_trigger, "AUTOSCALING");
  assert.equal(up.message, "Upscaling from 3 to 7 replicas.");
  assert.equal(up.prometheus.ray_serve_autoscaling_target_replicas, 7);
  assert.equal(up.prometheus.ray_serve_autoscaling_desired_replicas, 7);
  assert.equal(up.delay, null);
  assert.equal(lines.length, 1);
  assert.match(
    lines[0],
    /app\/Model: Upscaling from 3 to 7 replicas\. reason=upscale total_ongoing=13\.00 .*running=3 .*raw=6\.50, held 30\.0 s >= upscale_delay_s 30/,
  );

  // Replicas come up; the status returns to HEALTHY.
  clock.advanceBy(5_000);
  assert.equal(h.status().status, "UPSCALING", "still starting");
  dep.startAll();
  clock.advanceBy(100);
  const healthy = h.status();
  note(healthy);
  assert.equal(healthy.status, "HEALTHY");
  assert.equal(healthy.status_trigger, "UPSCALE_COMPLETED");
  assert.deepEqual(seen, ["HEALTHY:", "UPSCALING:Upscaling from 3 to 7 replicas.", "HEALTHY:"]);

  const decisions = h.decisions();
  assert.equal(decisions.length, 1);
  assert.equal(decisions[0].from_replicas, 3);
  assert.equal(decisions[0].to_replicas, 7);
  assert.equal(decisions[0].elapsed_s, 30);
  h.stop();
  assert.equal(clock.pendingTimers(), 0, "stop() cancels the loop");
});

Deno.test("controller downscales with DOWNSCALING status and onDecision reports every change", () => {
  const clock = new VirtualClock();
  const dep = new FakeDeployment(7, { instantStart: true });
  const metrics = new DirectMetrics();
  metrics.set(3);
  const got: string[] = [];
  const h = startAutoscaler(dep, {
    config: config({ downscale_delay_s: 5 }),
    appName: "app",
    deploymentName: "Model",
    clock,
    metrics,
  });
  const off = h.onDecision((d) => got.push(`${d.from_replicas}->${d.to_replicas}:${d.reason}`));
  clock.advanceTo(4_900);
  assert.equal(dep.target, 7);
  clock.advanceTo(5_000);
  assert.equal(dep.target, 2);
  // The fake drains at once, so the same tick... the next tick reports HEALTHY.
  clock.advanceTo(5_100);
  assert.equal(h.status().status, "HEALTHY");
  assert.equal(h.status().status_trigger, "DOWNSCALE_COMPLETED");
  off();
  metrics.set(30);
  clock.advanceTo(60_000);
  assert.deepEqual(got, ["7->2:downscale"]);
  assert.deepEqual(dep.history, [2, 10]);
  h.stop();
});

Deno.test("controller cold start: queued requests at 0 replicas start one replica on the same tick", () => {
  const clock = new VirtualClock();
  const dep = new FakeDeployment(0);
  const h = startAutoscaler(dep, {
    config: config({ min_replicas: 0, metrics_interval_s: 10 }),
    appName: "app",
    deploymentName: "Model",
    clock,
  });
  clock.advanceTo(2_000);
  assert.equal(dep.target, 0);
  dep.queued = 12;
  clock.advanceTo(2_100);
  assert.equal(dep.target, 1, "the cold-start push and decision need no 10 s push interval");
  const s = h.status();
  assert.equal(s.message, "Upscaling from 0 to 1 replicas.");
  assert.equal(h.decisions()[0].reason, "cold_start");
  h.stop();
});

Deno.test("controller starts at initial_replicas and clamps a pool outside the bounds", () => {
  const dep = new FakeDeployment(1);
  const h = startAutoscaler(dep, {
    config: config({ initial_replicas: 4 }),
    appName: "app",
    deploymentName: "Model",
    clock: new VirtualClock(),
    metrics: new DirectMetrics(),
  });
  assert.equal(dep.target, 4);
  assert.equal(h.status().message, "Upscaling from 1 to 4 replicas.");
  h.stop();
});

Deno.test("controller appends every change to the decisions CSV", async () => {
  const dir = await Deno.makeTempDir();
  const path = `${dir}/results/app_autoscaler.csv`;
  const clock = new VirtualClock();
  const dep = new FakeDeployment(3);
  const metrics = new DirectMetrics();
  metrics.set(13, 1);
  const h = startAutoscaler(dep, {
    config: config({ upscale_delay_s: 1 }),
    appName: "app",
    deploymentName: "Model",
    clock,
    metrics,
    decisionsCsvPath: path,
  });
  clock.advanceTo(3_000);
  dep.startAll();
  clock.advanceTo(5_000);
  h.stop();
  const lines = (await Deno.readTextFile(path)).trim().split("\n");
  assert.equal(lines[0], DECISIONS_CSV_HEADER);
  const rows = lines.slice(1).map((l) => l.split(","));
  assert.deepEqual(rows.map((r) => [r[1], r[4], r[5], r[6], r[7]]), [
    ["0.0", "3", "7", "3", "upscale_delay"],
    ["1.0", "3", "7", "7", "upscale"],
    ["1.1", "3", "7", "7", "steady"],
    ["3.1", "7", "7", "7", "steady"],
  ]);
  assert.equal(rows[1][2], "13.000");
  assert.equal(rows[1][3], "1.000");
  await Deno.remove(dir, { recursive: true });
});

Deno.test("controller holds the target and says why when a custom policy fails", () => {
  const clock = new VirtualClock();
  const dep = new FakeDeployment(2);
  const lines: string[] = [];
  const h = startAutoscaler(dep, {
    config: config({ policy: { policy_function: "./x.ts:broken", policy_kwargs: {} } }),
    appName: "app",
    deploymentName: "Model",
    clock,
    metrics: new DirectMetrics(),
    policy: () => {
      throw new Error("no data for you");
    },
    log: (l) => lines.push(l),
  });
  clock.advanceTo(1_000);
  assert.equal(dep.target, 2);
  const s = h.status();
  assert.equal(s.reason, "policy_error");
  assert.match(s.message, /policy \.\/x\.ts:broken failed: policy threw: no data for you/);
  assert.equal(lines.length, 1, "logged once, not every tick");
  h.stop();
});
