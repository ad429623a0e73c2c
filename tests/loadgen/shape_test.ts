import assert from "node:assert/strict";
import {
  arrivalTimeS,
  loadShape,
  parseShape,
  parseWaitTime,
  ShapeError,
  stageRows,
  userCountAt,
  waitSeconds,
} from "../../lib/loadgen/mod.ts";
import { arrivalRateAt, arrivalsUntil } from "../../lib/loadgen/shape.ts";

const configs = new URL("../../configs/loadtest/", import.meta.url);

Deno.test("tutorial.yaml is the 11-minute 1/20/40/20/1-user test", async () => {
  const shape = await loadShape(new URL("tutorial.yaml", configs).pathname);
  assert.equal(shape.durationS, 660);
  assert.deepEqual(shape.stages.map((s) => [s.startS, s.endS, s.users]), [
    [0, 60, 1],
    [60, 180, 20],
    [180, 360, 40],
    [360, 540, 20],
    [540, 660, 1],
  ]);
  assert.equal(userCountAt(shape, 30), 1);
  assert.equal(userCountAt(shape, 120), 20);
  assert.equal(userCountAt(shape, 300), 40);
  assert.equal(userCountAt(shape, 659), 1);
  assert.equal(userCountAt(shape, 660), 0, "the test has ended");
});

Deno.test("--time-scale 0.1 runs the tutorial in 66 s with the same curve", async () => {
  const full = await loadShape(new URL("tutorial.yaml", configs).pathname);
  const fast = await loadShape(new URL("tutorial.yaml", configs).pathname, { timeScale: 0.1 });
  assert.equal(fast.durationS, 66);
  for (let t = 0; t < 660; t += 7) {
    assert.equal(userCountAt(fast, t / 10), userCountAt(full, t), `at ${t} s`);
  }
});

Deno.test("userCountAt() spawns in Locust's batches: max(1, floor(rate)) every batch/rate s", () => {
  const shape = parseShape(
    "stages:\n  - {duration: 10, users: 10, spawn_rate: 2.5}\n  - {duration: 10, users: 3, spawn_rate: 0.5}\n",
  );
  // rate 2.5: 2 users every 0.8 s, the first batch at once.
  assert.deepEqual([0, 0.79, 0.8, 1.6, 2.4, 3.2, 5].map((t) => userCountAt(shape, t)), [
    2,
    2,
    4,
    6,
    8,
    10,
    10,
  ]);
  // rate 0.5 down from 10: one user every 2 s.
  assert.deepEqual([10, 11.9, 12, 14, 19.9].map((t) => userCountAt(shape, t)), [9, 9, 8, 7, 5]);
});

Deno.test("cumulative and relative stage times give the same shape", () => {
  const cumulative = parseShape(
    "durations: cumulative\nstages:\n  - {duration: 60, users: 10, spawn_rate: 10}\n  - {duration: 100, users: 50, spawn_rate: 10}\n",
  );
  const relative = parseShape(
    "stages:\n  - {duration: 1m, users: 10, spawn_rate: 10}\n  - {duration: 40s, users: 50, spawn_rate: 10}\n",
  );
  const mixed = parseShape(
    "stages:\n  - {end: 60, users: 10, spawn_rate: 10}\n  - {duration: 40, users: 50, spawn_rate: 10}\n",
  );
  for (const s of [cumulative, relative, mixed]) {
    assert.deepEqual(s.stages.map((x) => [x.startS, x.endS]), [[0, 60], [60, 100]]);
  }
  // 10 -> 50 at 10/s: +10 at 60, 61, 62, 63.
  assert.deepEqual([60, 61, 62.5, 63].map((t) => userCountAt(relative, t)), [20, 30, 40, 50]);
});

Deno.test("linear ramps interpolate users across the stage", () => {
  const shape = parseShape(
    "stages:\n  - {duration: 10, users: 0}\n  - {duration: 100, users: 100, ramp: linear}\n",
  );
  assert.equal(userCountAt(shape, 10), 0);
  assert.equal(userCountAt(shape, 35), 25);
  assert.equal(userCountAt(shape, 109.9), 100);
  assert.deepEqual(stageRows(shape)[1], {
    name: "stage 2",
    startS: 10,
    endS: 110,
    users: 100,
    spawnRate: null,
  });
});

Deno.test("arrival-rate shapes: linear ramp integral and evenly spaced arrival times", () => {
  const shape = parseShape(
    "executor: arrival_rate\nstart_rate: 0\nstages:\n  - {duration: 10, rate: 10, ramp: linear}\n  - {duration: 5, rate: 4}\n",
  );
  assert.equal(arrivalRateAt(shape, 5), 5);
  assert.equal(arrivalsUntil(shape, 10), 50);
  assert.equal(arrivalsUntil(shape, 15), 70);
  // Constant stage: one every 0.25 s after the ramp's 50 arrivals.
  assert.equal(arrivalTimeS(shape, 50), 10);
  assert.equal(arrivalTimeS(shape, 51), 10.25);
  // Inside the ramp: arrivalsUntil(t) = t^2 / 2, so arrival 8 is due at t = 4.
  assert.ok(Math.abs(arrivalTimeS(shape, 8)! - 4) < 1e-9);
  assert.equal(arrivalTimeS(shape, 70), null);
});

Deno.test("shape errors name the file, line, field and what would be right", () => {
  const bad = (text: string, pattern: RegExp) =>
    assert.throws(() => parseShape(text, { sourcePath: "s.yaml" }), (e: unknown) => {
      assert.ok(e instanceof ShapeError);
      assert.match(e.message, pattern);
      return true;
    });
  bad("stages:\n  - {duration: 1m, users: -1}\n", /^s\.yaml:2:\d+: stages\[0\]\.users must be/);
  bad(
    "stages:\n  - {duration: 1x, users: 1}\n",
    /stages\[0\]\.duration must be seconds or a duration like 90s/,
  );
  bad("stages:\n  - {users: 1}\n", /needs exactly one of "end" .* or "duration"/);
  bad(
    "stages:\n  - {end: 60, users: 1}\n  - {end: 30, users: 2}\n",
    /must end after the previous stage \(1 min\), got 30 s/,
  );
  bad("stages:\n  - {duration: 1, users: 1, rate: 3}\n", /needs "executor: arrival_rate"/);
  bad("stage:\n  - {duration: 1, users: 1}\n", /stage is not a shape field/);
  bad("wait_time: between(3, 1)\nstages: [{duration: 1, users: 1}]\n", /needs MIN <= MAX/);
  bad("stages: [\n", /s\.yaml:\d+:\d+: invalid YAML/);
});

Deno.test("wait times follow Locust: between, constant, pacing and throughput only cap", () => {
  assert.equal(waitSeconds(parseWaitTime("constant(2)"), 5), 2);
  assert.equal(waitSeconds(parseWaitTime("between(1, 3)"), 0, () => 0.5), 2);
  assert.equal(waitSeconds(parseWaitTime("constant_pacing(2)"), 0.5), 1.5);
  assert.equal(waitSeconds(parseWaitTime("constant_pacing(2)"), 3), 0);
  assert.equal(waitSeconds(parseWaitTime("constant_throughput(4)"), 0.1), 0.15);
  assert.throws(() => parseWaitTime("sometimes(1)"), /unknown wait time "sometimes"/);
});
