import assert from "node:assert/strict";
import {
  controlLoopPhaseOf,
  DEFAULT_FIDELITY_TARGETS,
  fixedDuration,
  medianRun,
  runningBySecond,
  scoreFidelity,
  SimEngine,
  TUTORIAL_FIDELITY_TARGETS,
} from "../../lib/sim/mod.ts";

const HEADER =
  "Timestamp,Elapsed (s),Target Replicas,Running Replicas,Starting Replicas,Pending Replicas,Total Ongoing Requests,Queued Requests";

/** RUNNING replicas per second, read from a `_replicas.csv` with one row per second. */
function replicasCsv(running: number[]): ReadonlyMap<number, number> {
  const rows = running.map((r, s) => `${1_767_225_600 + s},${s},${r},${r},0,0,0,0`);
  return runningBySecond([HEADER, ...rows].join("\n") + "\n");
}

Deno.test("scoreFidelity() compares running replicas second by second and latency errors", () => {
  const real = {
    running: replicasCsv([1, 1, 2, 4, 4, 4, 4, 2, 1, 1]),
    p50Ms: 20,
    p99Ms: 80,
    requests: 100,
  };
  const sim = {
    running: replicasCsv([1, 2, 4, 4, 4, 4, 1, 1, 1, 1]),
    p50Ms: 21,
    p99Ms: 64,
    requests: 98,
  };
  const score = scoreFidelity(real, sim, DEFAULT_FIDELITY_TARGETS);
  assert.equal(score.secondsCompared, 10);
  // Off by more than 1 at second 2 (2 vs 4) and second 6 (4 vs 1).
  assert.equal(score.shareWithin1, 0.8);
  assert.equal(score.shareExact, 0.6);
  assert.equal(score.p50RelError, 0.05);
  assert.equal(score.p99RelError, 0.2);
  assert.equal(score.met, false);
  assert.deepEqual(score.missed, [
    "running replicas within 1 for 80.0% of seconds (target >= 95.0%)",
  ]);
});

Deno.test("scoreFidelity() checks the peak running replicas where the case asks for it", () => {
  const flat = (n: number) => Array(20).fill(n);
  const real = { running: replicasCsv(flat(17)), p50Ms: 80, p99Ms: 1800, requests: 1 };
  const close = { running: replicasCsv(flat(18)), p50Ms: 82, p99Ms: 1750, requests: 1 };
  assert.equal(scoreFidelity(real, close, TUTORIAL_FIDELITY_TARGETS).met, true);
  const far = { ...close, running: replicasCsv([...flat(18).slice(0, 19), 20]) };
  const score = scoreFidelity(real, far, TUTORIAL_FIDELITY_TARGETS);
  assert.deepEqual(score.missed, ["max running 20 simulated vs 17 real (target: within 2)"]);
});

Deno.test("medianRun() takes each second's and each figure's median over the seeds", () => {
  const run = (running: number[], p99Ms: number) => ({
    running: new Map(running.map((n, s) => [s, n])),
    p50Ms: 20,
    p99Ms,
    requests: 100 + p99Ms,
  });
  const typical = medianRun([run([1, 1, 4], 30), run([1, 2, 4], 70), run([1, 4, 3], 50)]);
  assert.deepEqual([...typical.running], [[0, 1], [1, 2], [2, 4]]);
  assert.equal(typical.p99Ms, 50);
  assert.equal(typical.requests, 150);
  // An even count takes the mean of the middle two.
  assert.equal(medianRun([run([1], 30), run([2], 70)]).p99Ms, 50);
  assert.throws(() => medianRun([]), /at least one run/);
});

Deno.test("controlLoopPhaseOf() places the control loop's samples in the load's period", () => {
  // A loop started 1,207 ms before the load samples 293 ms into each 500 ms period of it.
  assert.equal(controlLoopPhaseOf(10_000, 11_207, 0.5), 293);
  assert.equal(controlLoopPhaseOf(11_300, 11_000, 0.5), 300);
  // The sampling period is min(0.5 s, metrics_interval_s).
  assert.equal(controlLoopPhaseOf(10_000, 10_250, 0.2), 150);
  assert.equal(controlLoopPhaseOf(10_000, 10_500, 10), 0);
});

Deno.test("request overhead: its in-slot share holds the replica, the rest only delays the user", () => {
  // One user, no wait: 10 ms service + 4 ms overhead, half of it in the slot. Each request is
  // in the system 12 ms and answered after 14 ms, so 1.4 s hold 100 requests.
  const responses: number[] = [];
  const run = new SimEngine({
    deployment: {
      initialReplicas: 1,
      maxOngoingRequests: 1,
      maxQueuedRequests: -1,
      numCpusPerReplica: 1,
      gracefulShutdownWaitLoopS: 2,
      gracefulShutdownTimeoutS: 20,
      requestTimeoutS: null,
    },
    load: {
      kind: "closed",
      usersAt: () => 1,
      changeTimesS: [0],
      durationS: 1.4,
      waitTimeS: () => 0,
    },
    serviceTime: fixedDuration(10),
    requestOverhead: fixedDuration(4),
    requestOverheadInSlotShare: 0.5,
    observer: { request: (_startMs, ms) => responses.push(ms) },
  }).run();
  assert.ok(
    responses.every((ms) => Math.abs(ms - 14) < 1e-9),
    `responses ${responses.slice(0, 3)}`,
  );
  assert.equal(run.queue.completed, 100);
  assert.ok(
    Math.abs(run.queue.meanInSystem - 12 / 14) < 0.01,
    `in system ${run.queue.meanInSystem}`,
  );
});
