import assert from "node:assert/strict";
import { VirtualClock } from "../../lib/autoscaler/mod.ts";
import { Cluster, ReplicaRouter, ReplicaSet } from "../../lib/fleet/mod.ts";
import { ReplicaVersions, rollOut } from "../../lib/serve/_rolling_update.ts";

interface FakeReplica {
  id: string;
  ongoing: number;
  routablePos: number;
  freePos: number;
  state: "PENDING_ALLOCATION" | "STARTING" | "RUNNING" | "STOPPING";
  requestedAtMs: number;
  startedAtMs: number | null;
  runningSinceMs: number | null;
  stoppingSinceMs: number | null;
}

/** A replica set whose replicas start after `startMs` of virtual time (or never). */
function fleet(cpus: number, options: { startMs: number | null }) {
  const clock = new VirtualClock(0);
  const versions = new ReplicaVersions<FakeReplica>();
  let n = 0;
  let failed = false;
  const set: ReplicaSet<FakeReplica> = new ReplicaSet<FakeReplica>({
    create: () => {
      const r = { id: `r${n++}`, ongoing: 0, routablePos: -1, freePos: -1 } as FakeReplica;
      versions.stamp(r);
      return r;
    },
    start: (r) => {
      if (options.startMs !== null) clock.setTimeout(() => set.running(r), options.startMs);
    },
    busy: () => false,
    close: () => {},
    kill: () => {},
    changed: () => versions.wake(),
  }, {
    clock,
    router: new ReplicaRouter({ maxOngoingRequests: 1, maxQueuedRequests: -1 }),
    cluster: new Cluster(cpus),
    numCpusPerReplica: 1,
    gracefulShutdownWaitLoopS: 0.1,
    gracefulShutdownTimeoutS: 1,
  });
  const view = versions.view(set, {
    name: "Model",
    isStopped: () => false,
    isFailed: () => failed,
    newcomerFits: () => set.replicas.filter((r) => r.state !== "PENDING_ALLOCATION").length < cpus,
  });
  return { clock, versions, set, view, fail: () => (failed = true, versions.wake()) };
}

async function settle(clock: VirtualClock, ms: number): Promise<void> {
  for (let t = 0; t < ms; t += 10) {
    clock.advanceTo(clock.now() + 10);
    await Promise.resolve();
    await Promise.resolve();
  }
}

Deno.test("rollOut() with a spare CPU starts each newcomer before retiring an old replica", async () => {
  const f = fleet(5, { startMs: 100 });
  f.set.setTarget(4);
  await settle(f.clock, 200);
  const old = f.set.replicas.map((r) => r.id);
  f.versions.version = 2;
  let minRunning = Infinity;
  const done = rollOut(f.view);
  for (let i = 0; i < 200; i++) {
    await settle(f.clock, 10);
    minRunning = Math.min(minRunning, f.set.counts.RUNNING);
  }
  assert.equal(await done, "done");
  assert.equal(minRunning, 4, "capacity never dropped");
  assert.equal(f.set.counts.RUNNING, 4);
  assert.ok(f.set.replicas.every((r) => !old.includes(r.id) && f.versions.isCurrent(r)));
  assert.equal(f.set.target, 4);
});

Deno.test("rollOut() without a spare CPU drains first: one replica fewer at most", async () => {
  const f = fleet(4, { startMs: 100 });
  f.set.setTarget(4);
  await settle(f.clock, 200);
  f.versions.version = 2;
  let minRunning = Infinity;
  const done = rollOut(f.view);
  for (let i = 0; i < 300; i++) {
    await settle(f.clock, 10);
    minRunning = Math.min(minRunning, f.set.counts.RUNNING);
  }
  assert.equal(await done, "done");
  assert.equal(minRunning, 3);
  assert.ok(f.set.replicas.every((r) => f.versions.isCurrent(r) && r.state === "RUNNING"));
});

Deno.test("rollOut() stops when new replicas fail to start and leaves the old ones serving", async () => {
  const f = fleet(5, { startMs: 100 });
  f.set.setTarget(4);
  await settle(f.clock, 200);
  const old = f.set.replicas.map((r) => r.id);
  f.versions.version = 2;
  const done = rollOut(f.view);
  await settle(f.clock, 50); // the newcomer is STARTING (its start completes at 100 ms)
  f.fail();
  assert.equal(await done, "failed");
  assert.equal(f.versions.surge, 0, "the surge is undone");
  assert.equal(f.set.target, 4);
  assert.deepEqual(
    f.set.replicas.filter((r) => r.state === "RUNNING").map((r) => r.id),
    old,
    "the old replicas keep serving",
  );
});
