import assert from "node:assert/strict";
import { ReplicaRouter, type RoutedReplica } from "../../lib/fleet/mod.ts";

function replicas(n: number): RoutedReplica[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `r${i}`,
    ongoing: 0,
    routablePos: -1,
    freePos: -1,
  }));
}

function routerWith(loads: number[], maxOngoingRequests: number) {
  const router = new ReplicaRouter({ maxOngoingRequests, maxQueuedRequests: -1, random: () => 0 });
  const rs = replicas(loads.length);
  for (const r of rs) router.add(r);
  rs.forEach((r, i) => {
    for (let k = 0; k < loads[i]; k++) router.assign(r);
  });
  return { router, rs };
}

Deno.test("ReplicaRouter.choose() takes the less loaded of the two sampled replicas", () => {
  // random() = 0 then 0 samples r0 and r1 (j is shifted past i).
  const { router } = routerWith([4, 1, 3], 5);
  assert.equal(router.choose()?.id, "r1");
});

Deno.test("ReplicaRouter.choose() falls back to a replica with room when both samples are full", () => {
  const { router, rs } = routerWith([2, 2, 1], 2);
  assert.equal(router.choose()?.id, "r2");
  router.assign(rs[2]);
  assert.equal(router.choose(), null);
  router.release(rs[0]);
  assert.equal(router.choose()?.id, "r0");
});

Deno.test("ReplicaRouter never routes to a removed replica and counts versions", () => {
  const { router, rs } = routerWith([0, 0, 0], 1);
  const v0 = router.version;
  router.remove(rs[0]);
  router.remove(rs[1]);
  assert.equal(router.version, v0 + 2);
  for (let i = 0; i < 10; i++) assert.equal(router.choose()?.id, "r2");
  router.assign(rs[2]);
  assert.equal(router.choose(), null, "the only routable replica is full");
  assert.deepEqual(router.replicas.map((r) => r.id), ["r2"]);
});

Deno.test("ReplicaRouter.refuses() applies max_queued_requests, -1 meaning never", () => {
  const bounded = new ReplicaRouter({ maxOngoingRequests: 1, maxQueuedRequests: 2 });
  assert.deepEqual([0, 1, 2, 3].map((q) => bounded.refuses(q)), [false, false, true, true]);
  const unbounded = new ReplicaRouter({ maxOngoingRequests: 1, maxQueuedRequests: -1 });
  assert.equal(unbounded.refuses(1e9), false);
});

Deno.test("ReplicaRouter spreads load: power of two choices beats random on the max load", () => {
  // 1,000 requests on 100 replicas with no departures: two choices keeps the maximum near
  // ln ln n / ln 2 above the mean; one random choice would reach about 4 above it.
  let seed = 7;
  const random = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
  const router = new ReplicaRouter({ maxOngoingRequests: 1000, maxQueuedRequests: -1, random });
  const rs = replicas(100);
  for (const r of rs) router.add(r);
  for (let i = 0; i < 1000; i++) router.assign(router.choose()!);
  const max = Math.max(...rs.map((r) => r.ongoing));
  assert.ok(max <= 13, `max load ${max} with mean 10`);
});
