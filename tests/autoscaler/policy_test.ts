import assert from "node:assert/strict";
import {
  type AutoscalingPolicy,
  decide,
  initialTargetReplicas,
  PolicyError,
  type PolicyState,
} from "../../lib/autoscaler/mod.ts";
// Internals the public surface keeps private, tested where they live.
import {
  applyScalingFactors,
  DELAY_STATE_KEY,
  scalingFactors,
} from "../../lib/autoscaler/policy.ts";
import type { AutoscalingConfig } from "../../lib/config/mod.ts";
import { config, context } from "./_helpers.ts";

/**
 * Steps the wrapped policy every 100 ms from `fromMs` while `until` holds, threading the policy
 * state and applying the target as the controller would. `load(nowMs)` gives the running count
 * and total at each tick (running follows the target when `followTarget`).
 */
function run(
  cfg: AutoscalingConfig,
  start: { running: number; target: number },
  load: (nowMs: number) => number,
  options: { toMs: number; followTarget?: boolean; policy?: AutoscalingPolicy },
): { changes: { atMs: number; from: number; to: number }[]; target: number } {
  let target = start.target;
  let running = start.running;
  let state: PolicyState = {};
  const changes: { atMs: number; from: number; to: number }[] = [];
  for (let nowMs = 0; nowMs <= options.toMs; nowMs += 100) {
    const ctx = { ...context({ running, target, total: load(nowMs), nowMs }, cfg) };
    ctx.policyState = state;
    const d = decide(ctx, options.policy);
    state = d.policyState;
    if (d.targetReplicas !== target) {
      changes.push({ atMs: nowMs, from: target, to: d.targetReplicas });
      target = d.targetReplicas;
      if (options.followTarget) running = target;
    }
  }
  return { changes, target };
}

Deno.test("decide() reproduces research §2.8 worked examples 1-3 (factors, anti-stall)", () => {
  const cases: {
    name: string;
    cfg: Partial<AutoscalingConfig>;
    running: number;
    total: number;
    raw: number;
    desired: number;
  }[] = [
    { name: "1 upscale 3 -> 7", cfg: {}, running: 3, total: 13, raw: 6.5, desired: 7 },
    {
      name: "1 upscale, upscaling_factor 0.5 -> 5",
      cfg: { upscaling_factor: 0.5 },
      running: 3,
      total: 13,
      raw: 6.5,
      desired: 5,
    },
    { name: "2 downscale 7 -> 2", cfg: {}, running: 7, total: 3, raw: 1.5, desired: 2 },
    {
      name: "2 downscale, downscaling_factor 0.5 -> 5",
      cfg: { downscaling_factor: 0.5 },
      running: 7,
      total: 3,
      raw: 1.5,
      desired: 5,
    },
    {
      name: "3 anti-stall 2 -> 1 at factor 0.1",
      cfg: { downscaling_factor: 0.1 },
      running: 2,
      total: 1.2,
      raw: 0.6,
      desired: 1,
    },
  ];
  for (const c of cases) {
    const d = decide(
      context({ running: c.running, target: c.running, total: c.total }, config(c.cfg)),
    );
    assert.ok(Math.abs(d.rawReplicas! - c.raw) < 1e-9, `${c.name}: raw ${d.rawReplicas}`);
    assert.equal(d.desiredReplicas, c.desired, c.name);
    // The delay holds the target on the first tick.
    assert.equal(d.targetReplicas, c.running, `${c.name}: held by the delay`);
  }
});

Deno.test("decide() anti-stall: factors 0.5/0.2/0.1 on 2/5/10 replicas at 0.3/0.4/0.4 x target drop one", () => {
  const cases = [
    { factor: 0.5, replicas: 2, load: 0.3 },
    { factor: 0.2, replicas: 5, load: 0.4 },
    { factor: 0.1, replicas: 10, load: 0.4 },
  ];
  for (const c of cases) {
    const cfg = config({ downscaling_factor: c.factor, downscale_delay_s: 0, max_replicas: 20 });
    const total = c.replicas * c.load * cfg.target_ongoing_requests;
    const damped = Math.ceil(c.replicas + c.factor * (total / 2 - c.replicas));
    assert.equal(damped, c.replicas, "without the rule the damped step would stall");
    const d = decide(context({ running: c.replicas, target: c.replicas, total }, cfg));
    assert.equal(d.targetReplicas, c.replicas - 1, `factor ${c.factor} on ${c.replicas}`);
    assert.equal(d.reason, "downscale");
  }
});

Deno.test("decide() upscale fires exactly at upscale_delay_s, not one tick earlier", () => {
  const { changes } = run(config(), { running: 3, target: 3 }, () => 13, { toMs: 40_000 });
  assert.deepEqual(changes, [{ atMs: 30_000, from: 3, to: 7 }]);
  // One tick before: still held, with the delay visible.
  let state: PolicyState = {};
  let last = null;
  for (let nowMs = 0; nowMs <= 29_900; nowMs += 100) {
    const ctx = context({ running: 3, target: 3, total: 13, nowMs });
    ctx.policyState = state;
    last = decide(ctx);
    state = last.policyState;
  }
  assert.equal(last!.targetReplicas, 3);
  assert.equal(last!.reason, "upscale_delay");
  assert.deepEqual(
    { ...last!.delay!, remaining_s: Number(last!.delay!.remaining_s.toFixed(3)) },
    { direction: "up", held_s: 29.9, required_s: 30, remaining_s: 0.1 },
  );
});

Deno.test("decide() with upscale_delay_s 0 fires on the first tick", () => {
  const { changes } = run(config({ upscale_delay_s: 0 }), { running: 3, target: 3 }, () => 13, {
    toMs: 0,
  });
  assert.deepEqual(changes, [{ atMs: 0, from: 3, to: 7 }]);
});

Deno.test("decide() downscale 7 -> 2 fires at downscale_delay_s (600 s)", () => {
  const { changes } = run(config(), { running: 7, target: 7 }, () => 3, { toMs: 700_000 });
  assert.deepEqual(changes, [{ atMs: 600_000, from: 7, to: 2 }]);
});

Deno.test("decide() a direction flip restarts the delay count", () => {
  // Wants up for 20 s, one tick wants down, then up again: fires 30 s after the flip back.
  const load = (t: number) => (t === 20_000 ? 0 : 13);
  const { changes } = run(config(), { running: 3, target: 3 }, load, { toMs: 60_000 });
  assert.deepEqual(changes, [{ atMs: 50_100, from: 3, to: 7 }]);
});

Deno.test("decide() a tick where desired equals target restarts the delay count", () => {
  // total 6 -> desired 3 == target for one tick at 20 s.
  const load = (t: number) => (t === 20_000 ? 6 : 13);
  const { changes } = run(config(), { running: 3, target: 3 }, load, { toMs: 60_000 });
  assert.deepEqual(changes, [{ atMs: 50_100, from: 3, to: 7 }]);
});

Deno.test("decide() applies the firing tick's desired value, not the first one", () => {
  // Wants 7 at first, 9 from 10 s on: the same direction held, so it fires at 30 s with 9.
  const load = (t: number) => (t < 10_000 ? 13 : 17);
  const { changes } = run(config(), { running: 3, target: 3 }, load, { toMs: 31_000 });
  assert.deepEqual(changes, [{ atMs: 30_000, from: 3, to: 9 }]);
});

Deno.test("decide() scales to zero in two steps: n -> 1 after downscale_delay_s, 1 -> 0 after the to-zero delay", () => {
  const cases = [
    { toZero: 60, expectZeroAtMs: 600_000 + 60_000 },
    { toZero: null, expectZeroAtMs: 600_000 + 600_000 },
  ];
  for (const c of cases) {
    const cfg = config({ min_replicas: 0, downscale_to_zero_delay_s: c.toZero });
    const { changes } = run(cfg, { running: 5, target: 5 }, () => 0, {
      toMs: 1_300_000,
      followTarget: true,
    });
    // The first firing tick is 600 s; the second delay starts on the next tick (600.1 s).
    assert.deepEqual(changes, [
      { atMs: 600_000, from: 5, to: 1 },
      { atMs: c.expectZeroAtMs + 100, from: 1, to: 0 },
    ], `downscale_to_zero_delay_s ${c.toZero}`);
  }
});

Deno.test("decide() cold start from zero: one replica at once, the rest after upscale_delay_s", () => {
  const cfg = config({ min_replicas: 0 });
  const cold = decide(context({ running: 0, target: 0, total: 40, queued: 40 }, cfg));
  assert.equal(cold.targetReplicas, 1);
  assert.equal(cold.reason, "cold_start");
  // No load, nothing happens.
  assert.equal(decide(context({ running: 0, target: 0, total: 0 }, cfg)).targetReplicas, 0);
  // With upscaling_factor 2 the fast path starts ceil(1 * 2) = 2.
  const two = decide(
    context({ running: 0, target: 0, total: 40 }, config({ min_replicas: 0, upscaling_factor: 2 })),
  );
  assert.equal(two.targetReplicas, 2);
  // Once the first replica runs, raw = 20 but the jump to max (10) waits for the delay.
  const { changes } = run(cfg, { running: 1, target: 1 }, () => 40, { toMs: 31_000 });
  assert.deepEqual(changes, [{ atMs: 30_000, from: 1, to: 10 }]);
});

Deno.test("decide() clamps to min/max bounds", () => {
  const cfg = config({
    min_replicas: 2,
    max_replicas: 4,
    upscale_delay_s: 0,
    downscale_delay_s: 0,
  });
  assert.equal(decide(context({ running: 3, target: 3, total: 100 }, cfg)).targetReplicas, 4);
  assert.equal(decide(context({ running: 3, target: 3, total: 0 }, cfg)).targetReplicas, 2);
  // A target above a lowered max is clamped at once (no delay), as Ray's final apply_bounds does.
  const over = decide(context({ running: 6, target: 6, total: 12 }, cfg));
  assert.equal(over.targetReplicas, 4);
});

Deno.test("initialTargetReplicas() uses initial_replicas, else min_replicas", () => {
  assert.equal(initialTargetReplicas(config({ min_replicas: 1, initial_replicas: 3 })), 3);
  assert.equal(initialTargetReplicas(config({ min_replicas: 2 })), 2);
});

Deno.test("scalingFactors() follows Ray's deprecated-field fallbacks", () => {
  const cases: { name: string; cfg: Partial<AutoscalingConfig>; up: number; down: number }[] = [
    { name: "defaults", cfg: {}, up: 1, down: 1 },
    { name: "smoothing_factor for both", cfg: { smoothing_factor: 0.5 }, up: 0.5, down: 0.5 },
    {
      name: "upscale_smoothing_factor over smoothing_factor",
      cfg: { smoothing_factor: 0.5, upscale_smoothing_factor: 2 },
      up: 2,
      down: 0.5,
    },
    {
      name: "downscale_smoothing_factor",
      cfg: { downscale_smoothing_factor: 0.3 },
      up: 1,
      down: 0.3,
    },
    {
      name: "upscaling_factor wins over both deprecated fields",
      cfg: { smoothing_factor: 0.5, upscale_smoothing_factor: 2, upscaling_factor: 1.5 },
      up: 1.5,
      down: 0.5,
    },
    {
      name: "downscaling_factor wins",
      cfg: { downscale_smoothing_factor: 0.3, downscaling_factor: 0.8 },
      up: 1,
      down: 0.8,
    },
  ];
  for (const c of cases) {
    assert.deepEqual(scalingFactors(config(c.cfg)), { upscale: c.up, downscale: c.down }, c.name);
  }
  // And the decision uses them: smoothing_factor 0.5 halves the 3 -> 7 step to 5.
  const d = decide(
    context({ running: 3, target: 3, total: 13 }, config({ smoothing_factor: 0.5 })),
  );
  assert.equal(d.desiredReplicas, 5);
});

Deno.test("applyScalingFactors() with factor 1 equals ceil(total / target) whatever the running count", () => {
  for (const running of [1, 3, 8]) {
    assert.equal(applyScalingFactors(6.5, running, { upscale: 1, downscale: 1 }), 7);
    assert.equal(applyScalingFactors(1.5, running + 2, { upscale: 1, downscale: 1 }), 2);
  }
});

Deno.test("decide() runs a custom policy inside the wrapper and keeps its state", () => {
  const calls: number[] = [];
  const policy: AutoscalingPolicy = (ctx) => {
    const n = ((ctx.policyState.calls as number | undefined) ?? 0) + 1;
    calls.push(n);
    return { desiredReplicas: 50, policyState: { calls: n } };
  };
  const cfg = config({ upscale_delay_s: 0.2 });
  let state: PolicyState = {};
  const targets: number[] = [];
  for (let nowMs = 0; nowMs <= 300; nowMs += 100) {
    const ctx = context({ running: 3, target: targets.at(-1) ?? 3, total: 0, nowMs }, cfg);
    ctx.policyState = state;
    const d = decide(ctx, policy);
    state = d.policyState;
    targets.push(d.targetReplicas);
  }
  // Bounded to max 10 and delayed 0.2 s; the policy's own state survives next to the delay's.
  assert.deepEqual(targets, [3, 3, 10, 10]);
  assert.deepEqual(calls, [1, 2, 3, 4]);
  assert.equal(state.calls, 4);
  assert.equal(state[DELAY_STATE_KEY], undefined);
});

Deno.test("decide() reports a policy that returns garbage as a PolicyError naming what came back", () => {
  const bad: AutoscalingPolicy = () => Number.NaN;
  assert.throws(() => decide(context({ running: 1, target: 1, total: 0 }), bad), (e) => {
    assert.ok(e instanceof PolicyError);
    assert.match((e as Error).message, /finite number >= 0/);
    return true;
  });
  const throwing: AutoscalingPolicy = () => {
    throw new Error("boom");
  };
  assert.throws(() => decide(context({ running: 1, target: 1, total: 0 }), throwing), /boom/);
});
