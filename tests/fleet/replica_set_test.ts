import assert from "node:assert/strict";
import { VirtualClock } from "../../lib/autoscaler/mod.ts";
import {
  Cluster,
  type ManagedReplica,
  ReplicaRouter,
  ReplicaSet,
  type ReplicaState,
} from "../../lib/fleet/mod.ts";

interface TestReplica extends ManagedReplica {
  busy: boolean;
}

/** A set on a virtual clock whose driver records what it was asked to do. */
function fixture(options: { cpus: number; maxConcurrentStarts?: number; timeoutS?: number }) {
  const clock = new VirtualClock(0);
  const router = new ReplicaRouter<TestReplica>({ maxOngoingRequests: 5, maxQueuedRequests: -1 });
  const cluster = new Cluster(options.cpus);
  const calls: string[] = [];
  let n = 0;
  const set = new ReplicaSet<TestReplica>({
    create: () => ({
      id: `r${n++}`,
      state: "PENDING_ALLOCATION",
      ongoing: 0,
      requestedAtMs: 0,
      startedAtMs: null,
      runningSinceMs: null,
      stoppingSinceMs: null,
      routablePos: -1,
      freePos: -1,
      busy: false,
    }),
    start: (r) => calls.push(`start ${r.id}`),
    busy: (r) => r.busy,
    close: (r) => {
      calls.push(`close ${r.id}`);
    },
    kill: (r, reason) => calls.push(`kill ${r.id}: ${reason}`),
  }, {
    clock,
    router,
    cluster,
    numCpusPerReplica: 1,
    maxConcurrentStarts: options.maxConcurrentStarts,
    gracefulShutdownWaitLoopS: 2,
    gracefulShutdownTimeoutS: options.timeoutS ?? 20,
  });
  const states = () => set.replicas.map((r) => `${r.id} ${r.state}`);
  const byId = (id: string) => set.replicas.find((r) => r.id === id)!;
  return { clock, router, cluster, set, calls, states, byId };
}

const count = (set: ReplicaSet<TestReplica>, s: ReplicaState) => set.counts[s];

Deno.test("ReplicaSet: replicas wait in PENDING_ALLOCATION for CPUs, oldest first", () => {
  const f = fixture({ cpus: 2 });
  f.set.setTarget(3);
  assert.deepEqual(f.states(), ["r0 STARTING", "r1 STARTING", "r2 PENDING_ALLOCATION"]);
  assert.equal(f.cluster.cpusUsed, 2);
  f.set.running(f.byId("r0"));
  f.set.fail(f.byId("r1"), "crashed");
  assert.deepEqual(f.states(), ["r0 RUNNING", "r2 STARTING"], "r1's CPU went to r2");
  assert.deepEqual(f.calls, ["start r0", "start r1", "kill r1: crashed", "start r2"]);
  assert.deepEqual(f.router.replicas.map((r) => r.id), ["r0"], "only RUNNING replicas route");
});

Deno.test("ReplicaSet: at most maxConcurrentStarts start at once; the rest hold CPUs and wait", () => {
  const f = fixture({ cpus: 8, maxConcurrentStarts: 2 });
  f.set.setTarget(4);
  assert.equal(count(f.set, "STARTING"), 4);
  assert.deepEqual(f.calls, ["start r0", "start r1"]);
  f.set.running(f.byId("r1"));
  assert.deepEqual(f.calls, ["start r0", "start r1", "start r2"]);
  f.set.startFailed(f.byId("r0"));
  assert.deepEqual(f.calls.slice(3), ["start r3"]);
  assert.equal(f.cluster.cpusUsed, 3, "a failed start gives its CPU back");
});

Deno.test("ReplicaSet: downscaling stops pending, then starting, then the newest running", () => {
  const f = fixture({ cpus: 4 });
  f.set.setTarget(2);
  f.clock.advanceBy(1000);
  f.set.setTarget(4);
  f.set.running(f.byId("r0"));
  f.set.running(f.byId("r1"));
  f.set.running(f.byId("r2"));
  f.set.setTarget(6); // r3 STARTING, r4 and r5 PENDING (4 CPUs)
  assert.deepEqual(f.states().slice(3), [
    "r3 STARTING",
    "r4 PENDING_ALLOCATION",
    "r5 PENDING_ALLOCATION",
  ]);
  f.set.setTarget(3);
  assert.deepEqual(
    f.states(),
    ["r0 RUNNING", "r1 RUNNING", "r2 RUNNING"],
    "pending and starting go",
  );
  f.set.setTarget(1);
  // r2 started last (t = 1 s); r0 and r1 started together, so the later-made r1 goes next.
  assert.deepEqual(f.states(), ["r0 RUNNING"]);
  assert.deepEqual(
    f.calls.filter((c) => c.startsWith("kill") || c.startsWith("close")),
    ["kill r3: stopped while starting", "close r2", "close r1"],
  );
});

Deno.test("ReplicaSet: a draining replica closes when idle, or is killed at the timeout", () => {
  const f = fixture({ cpus: 4, timeoutS: 5 });
  f.set.setTarget(2);
  f.set.running(f.byId("r0"));
  f.set.running(f.byId("r1"));
  f.byId("r0").busy = true;
  f.byId("r1").busy = true;
  f.set.setTarget(1);
  assert.deepEqual(f.states(), ["r0 RUNNING", "r1 STOPPING"]);
  assert.deepEqual(f.router.replicas.map((r) => r.id), ["r0"], "a stopping replica leaves routing");
  f.clock.advanceBy(2000);
  assert.equal(count(f.set, "STOPPING"), 1, "still busy after one wait loop");
  f.byId("r1").busy = false;
  f.clock.advanceBy(2000);
  assert.deepEqual(f.states(), ["r0 RUNNING"]);
  assert.ok(f.calls.includes("close r1"));
  f.set.setTarget(0);
  f.clock.advanceBy(4999);
  assert.equal(count(f.set, "STOPPING"), 1, "busy r0 drains until graceful_shutdown_timeout_s");
  f.clock.advanceBy(1);
  assert.deepEqual(f.states(), []);
  assert.ok(f.calls.includes("kill r0: graceful shutdown timed out"));
  assert.equal(f.cluster.cpusUsed, 0);
  assert.equal(f.clock.pendingTimers(), 0, "no drain poll left behind");
});

Deno.test("ReplicaSet: the lifecycle times come from the injected clock", () => {
  const f = fixture({ cpus: 1 });
  f.clock.advanceTo(5000);
  f.set.setTarget(1);
  f.clock.advanceTo(7500);
  const r = f.byId("r0");
  f.set.running(r);
  assert.deepEqual([r.requestedAtMs, r.startedAtMs, r.runningSinceMs], [5000, 5000, 7500]);
  f.clock.advanceTo(9000);
  f.set.setTarget(0);
  assert.equal(r.stoppingSinceMs, 9000);
});
