import { deepStrictEqual, ok, strictEqual } from "node:assert/strict";
import { parseShape } from "../../lib/loadgen/mod.ts";
import {
  constantUsersLoad,
  exponentialDuration,
  fixedDuration,
  loadFromShape,
  mmcFigures,
  type OpenLoopLoad,
  poissonLoad,
  type SecondSnapshot,
  SimEngine,
  type SimEngineOptions,
  type SimErrorKind,
} from "../../lib/sim/mod.ts";

const deployment = (over: Partial<SimEngineOptions["deployment"]> = {}) => ({
  initialReplicas: 1,
  maxOngoingRequests: 1,
  maxQueuedRequests: -1,
  numCpusPerReplica: 1,
  gracefulShutdownWaitLoopS: 2,
  gracefulShutdownTimeoutS: 20,
  requestTimeoutS: null,
  ...over,
});

/** Evenly spaced arrivals at `rate`/s for `durationS` (the load generator's open loop). */
const evenArrivals = (rate: number, durationS: number): OpenLoopLoad => ({
  kind: "open",
  durationS,
  arrivalTimeS: (k) => (k / rate < durationS ? k / rate : null),
});

function mmc(servers: number, rho: number, seed: number) {
  const meanServiceS = 0.1;
  const arrivalRate = (rho * servers) / meanServiceS;
  const engine = new SimEngine({
    deployment: deployment({ initialReplicas: servers }),
    load: poissonLoad(arrivalRate, { durationS: 20_000 }),
    serviceTime: exponentialDuration(meanServiceS * 1000),
    seed,
    warmupS: 200,
  });
  const result = engine.run();
  const theory = mmcFigures(servers, { arrivalRate, meanServiceTime: meanServiceS });
  return { result, theory };
}

Deno.test("M/M/c: mean queue wait matches Erlang C within 5% (c=4, rho=0.8)", () => {
  const { result, theory } = mmc(4, 0.8, 7);
  const simWaitS = result.queue.meanWaitMs / 1000;
  const err = Math.abs(simWaitS - theory.meanWait) / theory.meanWait;
  ok(
    err < 0.05,
    `sim mean wait ${simWaitS.toFixed(4)} s vs Erlang C ${theory.meanWait.toFixed(4)} s`,
  );
  ok(result.queue.completed > 500_000, `only ${result.queue.completed} requests completed`);
});

Deno.test("M/M/c: mean queue wait matches Erlang C within 5% (c=10, rho=0.9)", () => {
  const { result, theory } = mmc(10, 0.9, 11);
  const simWaitS = result.queue.meanWaitMs / 1000;
  const err = Math.abs(simWaitS - theory.meanWait) / theory.meanWait;
  ok(
    err < 0.05,
    `sim mean wait ${simWaitS.toFixed(4)} s vs Erlang C ${theory.meanWait.toFixed(4)} s`,
  );
});

Deno.test("Little's law holds within 2% for an open-loop queue (L = lambda * W)", () => {
  const { result } = mmc(3, 0.85, 3);
  const q = result.queue;
  const lw = q.arrivalRatePerS * (q.meanResponseMs / 1000);
  const err = Math.abs(q.meanInSystem - lw) / lw;
  ok(err < 0.02, `L = ${q.meanInSystem.toFixed(4)} but lambda*W = ${lw.toFixed(4)}`);
});

Deno.test("Little's law holds within 2% for closed-loop users (N = X * (R + Z))", () => {
  const users = 20, thinkS = 0.5;
  const engine = new SimEngine({
    deployment: deployment({ initialReplicas: 3, maxOngoingRequests: 2 }),
    load: constantUsersLoad(users, {
      durationS: 5_000,
      waitTimeS: (rng) => rng.exponential(thinkS),
    }),
    serviceTime: exponentialDuration(80),
    seed: 5,
    warmupS: 100,
  });
  const r = engine.run();
  const throughput = r.queue.completed / r.queue.spanS;
  const predicted = throughput * (r.queue.meanResponseMs / 1000 + thinkS);
  ok(Math.abs(predicted - users) / users < 0.02, `X*(R+Z) = ${predicted.toFixed(3)}, N = ${users}`);
  // And the in-system part alone is Little's law on the service side.
  const lw = throughput * r.queue.meanResponseMs / 1000;
  ok(Math.abs(r.queue.meanInSystem - lw) / lw < 0.02, `L ${r.queue.meanInSystem} vs X*R ${lw}`);
});

Deno.test("the router rejects requests beyond max_queued_requests and never queues more", () => {
  const errors = new Map<SimErrorKind | "ok", number>();
  const engine = new SimEngine({
    deployment: deployment({ maxOngoingRequests: 2, maxQueuedRequests: 3 }),
    replicaConcurrency: 2,
    load: evenArrivals(10, 60),
    serviceTime: fixedDuration(1000),
    observer: {
      request: (_s, _r, e) => errors.set(e ?? "ok", (errors.get(e ?? "ok") ?? 0) + 1),
    },
  });
  const r = engine.run();
  strictEqual(r.maxQueued, 3);
  ok((errors.get("rejected") ?? 0) > 400, `rejections: ${errors.get("rejected")}`);
  // One replica with 2 slots of 1 s each serves ~2 requests/s.
  const served = errors.get("ok") ?? 0;
  ok(served >= 110 && served <= 120, `served ${served}`);
  strictEqual(r.queue.rejected, errors.get("rejected"));
});

Deno.test("a request waiting longer than request_timeout_s fails with a timeout", () => {
  const latencies: { ms: number; error: SimErrorKind | null }[] = [];
  const engine = new SimEngine({
    deployment: deployment({ requestTimeoutS: 2.5 }),
    load: evenArrivals(2, 30),
    serviceTime: fixedDuration(1000),
    observer: { request: (_s, ms, error) => latencies.push({ ms, error }) },
  });
  engine.run();
  const timeouts = latencies.filter((l) => l.error === "timeout");
  ok(timeouts.length > 10, `only ${timeouts.length} timeouts`);
  for (const t of timeouts) strictEqual(Math.round(t.ms), 2500);
  for (const l of latencies.filter((l) => l.error === null)) ok(l.ms <= 2500, `ok at ${l.ms} ms`);
});

Deno.test("replicas wait in PENDING_ALLOCATION while the cluster's CPUs are taken", () => {
  const seconds: SecondSnapshot[] = [];
  const engine = new SimEngine({
    deployment: deployment({ initialReplicas: 1 }),
    clusterCpus: 2,
    load: poissonLoad(1, { durationS: 10 }),
    serviceTime: fixedDuration(10),
    startupTime: fixedDuration(3000),
    controller: (target, clock) => {
      const id = clock.setTimeout(() => target.setTargetReplicas(4), 1000);
      return { stop: () => clock.clearTimeout(id) };
    },
    observer: { second: (s) => seconds.push(s) },
  });
  engine.run();
  const at = (s: number) => seconds[s];
  deepStrictEqual(
    [at(2).runningReplicas, at(2).startingReplicas, at(2).pendingReplicas, at(2).targetReplicas],
    [1, 1, 2, 4],
  );
  // The second replica is RUNNING after its 3 s startup; the other two never get CPUs.
  deepStrictEqual([at(5).runningReplicas, at(5).pendingReplicas], [2, 2]);
});

Deno.test("downscaling drains a busy replica: it stops only after its requests finish", () => {
  const seconds: SecondSnapshot[] = [];
  const errors: (SimErrorKind | null)[] = [];
  const engine = new SimEngine({
    deployment: deployment({ initialReplicas: 2, maxOngoingRequests: 1 }),
    load: constantUsersLoad(2, { durationS: 30, waitTimeS: () => 0 }),
    serviceTime: fixedDuration(5000),
    controller: (target, clock) => {
      const id = clock.setTimeout(() => target.setTargetReplicas(1), 1000);
      return { stop: () => clock.clearTimeout(id) };
    },
    observer: { second: (s) => seconds.push(s), request: (_s, _ms, e) => errors.push(e) },
  });
  engine.run();
  // Requests started at 0 s end at 5 s; the poll every 2 s after 1 s sees it idle at 5 s.
  strictEqual(seconds[3].stoppingReplicas, 1);
  strictEqual(seconds[3].runningReplicas, 1);
  strictEqual(seconds[6].stoppingReplicas, 0);
  ok(errors.every((e) => e === null), "no request fails during a graceful drain");
});

Deno.test("a drain longer than graceful_shutdown_timeout_s force-stops and retries the request elsewhere", () => {
  const recorded: { ms: number; error: SimErrorKind | null }[] = [];
  const engine = new SimEngine({
    // Two users, two single-slot replicas: each replica holds one 10 s request.
    deployment: deployment({ initialReplicas: 2, gracefulShutdownTimeoutS: 3 }),
    load: {
      kind: "closed",
      usersAt: (t) => (t < 0.5 ? 2 : 0),
      changeTimesS: [0, 0.5],
      durationS: 30,
      waitTimeS: () => 0,
    },
    serviceTime: fixedDuration(10_000),
    controller: (target, clock) => {
      const id = clock.setTimeout(() => target.setTargetReplicas(1), 1000);
      return { stop: () => clock.clearTimeout(id) };
    },
    observer: { request: (_s, ms, error) => recorded.push({ ms, error }) },
  });
  engine.run();
  // The stopped replica is killed at 1 + 3 s; its request waits for the survivor (free at 10 s)
  // and runs again from scratch: 20 s, no failure.
  deepStrictEqual(recorded, [{ ms: 10_000, error: null }, { ms: 20_000, error: null }]);
});

Deno.test("a force-stopped request with no replica left waits in the queue instead of failing", () => {
  const errors: (SimErrorKind | null)[] = [];
  const seconds: SecondSnapshot[] = [];
  const engine = new SimEngine({
    deployment: deployment({ initialReplicas: 1, gracefulShutdownTimeoutS: 3 }),
    load: {
      kind: "closed",
      usersAt: (t) => (t < 0.5 ? 1 : 0),
      changeTimesS: [0, 0.5],
      durationS: 20,
      waitTimeS: () => 0,
    },
    serviceTime: fixedDuration(10_000),
    controller: (target, clock) => {
      const id = clock.setTimeout(() => target.setTargetReplicas(0), 1000);
      return { stop: () => clock.clearTimeout(id) };
    },
    observer: { request: (_s, _ms, e) => errors.push(e), second: (s) => seconds.push(s) },
  });
  engine.run();
  deepStrictEqual(errors, []);
  deepStrictEqual([seconds[3].runningReplicas, seconds[3].stoppingReplicas], [0, 1]);
  deepStrictEqual([seconds[5].stoppingReplicas, seconds[5].queuedRequests], [0, 1]);
});

Deno.test("closed-loop users follow the shape's Locust spawn batches of floor(spawn_rate)", () => {
  const seconds: SecondSnapshot[] = [];
  const engine = new SimEngine({
    deployment: deployment({ initialReplicas: 10, maxOngoingRequests: 5 }),
    load: loadFromShape(parseShape(
      "stages:\n  - { end: 10s, users: 10, spawn_rate: 2.5 }\n  - { end: 20s, users: 4, spawn_rate: 3 }\n",
    )),
    serviceTime: fixedDuration(10),
    observer: { second: (s) => seconds.push(s) },
  });
  engine.run();
  // 2 users every 0.8 s: 2 at 0, 4 at 0.8, 6 at 1.6, 8 at 2.4, 10 at 3.2.
  deepStrictEqual(seconds.slice(0, 5).map((s) => s.users), [2, 4, 6, 8, 10]);
  // Down to 4 at 3 users per 1 s from t=10: 7 at 10, 4 at 11.
  deepStrictEqual([seconds[10].users, seconds[11].users, seconds[15].users], [7, 4, 4]);
});

Deno.test("the same seed gives the same run and another seed a different one", () => {
  const run = (seed: number) => {
    const rows: string[] = [];
    const engine = new SimEngine({
      deployment: deployment({ initialReplicas: 2, maxOngoingRequests: 3 }),
      load: constantUsersLoad(8, { durationS: 60, waitTimeS: (rng) => 0.2 + rng.next() }),
      serviceTime: exponentialDuration(120),
      seed,
      observer: { request: (s, ms, e) => rows.push(`${s},${ms},${e}`) },
    });
    const r = engine.run();
    return { rows, events: r.events };
  };
  deepStrictEqual(run(42), run(42));
  ok(run(42).rows.join() !== run(43).rows.join());
});

Deno.test("processor sharing: more busy replicas than cores stretch service times", () => {
  const run = (machineCores: number | null) => {
    const engine = new SimEngine({
      deployment: deployment({ initialReplicas: 4 }),
      load: constantUsersLoad(4, { durationS: 100, waitTimeS: () => 0 }),
      serviceTime: fixedDuration(100),
      machineCores,
    });
    return engine.run().queue.meanResponseMs;
  };
  strictEqual(run(null), 100);
  // 4 single-CPU replicas busy on 2 cores: each request takes twice as long (the very first
  // requests start while fewer replicas are busy).
  const shared = run(2);
  ok(shared > 199 && shared <= 200, `mean response ${shared} ms`);
});

Deno.test("a client timeout fails the request for the user while the service still queues it", () => {
  const run = (server: number | null, client: number | null) => {
    const errors: (SimErrorKind | null)[] = [];
    const engine = new SimEngine({
      deployment: deployment({ requestTimeoutS: server }),
      clientTimeoutS: client,
      load: evenArrivals(2, 20),
      serviceTime: fixedDuration(1000),
      observer: { request: (_s, _ms, e) => errors.push(e) },
    });
    return { result: engine.run(), errors };
  };
  const client = run(null, 2.5);
  const server = run(2.5, null);
  ok(client.errors.filter((e) => e === "client_timeout").length > 10);
  ok(server.errors.filter((e) => e === "timeout").length > 10);
  // Abandoned requests stay queued (and keep the replica busy); server timeouts leave the queue.
  ok(
    client.result.maxQueued > 2 * server.result.maxQueued,
    `client ${client.result.maxQueued} vs server ${server.result.maxQueued}`,
  );
});

Deno.test("a user stopped while its request is in flight still gets that request recorded", () => {
  const recorded: number[] = [];
  const engine = new SimEngine({
    deployment: deployment(),
    load: {
      kind: "closed",
      usersAt: (t) => (t < 1 ? 1 : 0),
      changeTimesS: [0, 1],
      durationS: 10,
      waitTimeS: () => 0,
    },
    serviceTime: fixedDuration(3000),
    observer: { request: (_s, ms) => recorded.push(ms) },
  });
  const r = engine.run();
  deepStrictEqual(recorded, [3000]);
  strictEqual(r.requestsSent, 1);
});

Deno.test("maxConcurrentStarts: extra replicas wait in STARTING for a start slot", () => {
  const seconds: SecondSnapshot[] = [];
  const engine = new SimEngine({
    deployment: deployment({ initialReplicas: 1 }),
    maxConcurrentStarts: 1,
    load: poissonLoad(1, { durationS: 6 }),
    serviceTime: fixedDuration(10),
    startupTime: fixedDuration(1000),
    controller: (target, clock) => {
      const id = clock.setTimeout(() => target.setTargetReplicas(4), 500);
      return { stop: () => clock.clearTimeout(id) };
    },
    observer: { second: (s) => seconds.push(s) },
  });
  engine.run();
  // One start at a time, 1 s each, from 0.5 s: RUNNING at 1.5, 2.5 and 3.5 s.
  deepStrictEqual(seconds.slice(1, 5).map((s) => s.runningReplicas), [1, 2, 3, 4]);
  deepStrictEqual(seconds.slice(1, 5).map((s) => s.startingReplicas), [3, 2, 1, 0]);
});
