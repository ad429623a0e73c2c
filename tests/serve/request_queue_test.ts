import assert from "node:assert/strict";
import { ReplicaRouter } from "../../lib/fleet/mod.ts";
import { BackPressureError, RequestQueue } from "../../lib/serve/mod.ts";

type R = { id: string; ongoing: number; routablePos: number; freePos: number };

function replicas(n: number): R[] {
  return Array.from(
    { length: n },
    (_, i) => ({ id: `r${i}`, ongoing: 0, routablePos: -1, freePos: -1 }),
  );
}

/** The shared router with the service's queue in front, as a deployment builds them. */
function routerQueue(options: { maxOngoingRequests: number; maxQueuedRequests: number }) {
  const replicaRouter = new ReplicaRouter<R>(options);
  const queue = new RequestQueue(replicaRouter, options);
  return {
    queue,
    get queued() {
      return queue.queued;
    },
    acquire: (o?: { signal?: AbortSignal; front?: boolean }) => queue.acquire(o),
    release: (r: R) => queue.release(r),
    rejectAll: (e: Error) => queue.rejectAll(e),
    /** Replicas become RUNNING. */
    setReplicas(rs: R[]) {
      for (const r of rs) replicaRouter.add(r);
      queue.dispatch();
    },
  };
}

Deno.test("RequestQueue never puts more than max_ongoing_requests on a replica and queues FIFO", async () => {
  const rs = replicas(2);
  const router = routerQueue({ maxOngoingRequests: 2, maxQueuedRequests: -1 });
  router.setReplicas(rs);
  const got = await Promise.all([1, 2, 3, 4].map(() => router.acquire()));
  assert.deepEqual(rs.map((r) => r.ongoing), [2, 2]);
  assert.equal(got.length, 4);
  const order: number[] = [];
  const waiting = [5, 6, 7].map((n) => router.acquire().then((r) => (order.push(n), r)));
  assert.equal(router.queued, 3);
  router.release(got[0]);
  router.release(got[1]);
  router.release(got[2]);
  await Promise.all(waiting);
  assert.deepEqual(order, [5, 6, 7]);
  assert.equal(router.queued, 0);
  assert.ok(rs.every((r) => r.ongoing <= 2));
});

Deno.test("RequestQueue refuses at once with BackPressureError when max_queued_requests wait", async () => {
  const router = routerQueue({ maxOngoingRequests: 1, maxQueuedRequests: 2 });
  const [r] = replicas(1);
  router.setReplicas([r]);
  await router.acquire();
  const q1 = router.acquire();
  const q2 = router.acquire();
  await assert.rejects(router.acquire(), (e) => {
    assert.ok(e instanceof BackPressureError);
    assert.match(e.message, /num_queued_requests=2, max_queued_requests=2/);
    return true;
  });
  // A retry (front) skips back-pressure and goes first.
  const order: string[] = [];
  const retry = router.acquire({ front: true }).then(() => order.push("retry"));
  q1.then(() => order.push("q1"));
  q2.then(() => order.push("q2"));
  router.release(r);
  await retry;
  router.release(r);
  await q1;
  router.release(r);
  await q2;
  assert.deepEqual(order, ["retry", "q1", "q2"]);
});

Deno.test("RequestQueue drops a queued request whose signal aborts and frees its queue place", async () => {
  const router = routerQueue({ maxOngoingRequests: 1, maxQueuedRequests: 1 });
  const [r] = replicas(1);
  router.setReplicas([r]);
  await router.acquire();
  const controller = new AbortController();
  const queued = router.acquire({ signal: controller.signal });
  assert.equal(router.queued, 1);
  controller.abort(new Error("deadline"));
  await assert.rejects(queued, /deadline/);
  assert.equal(router.queued, 0);
  const next = router.acquire();
  router.release(r);
  assert.equal((await next).id, "r0");
  assert.equal(r.ongoing, 1);
});

Deno.test("RequestQueue hands queued requests to replicas that become RUNNING", async () => {
  const router = routerQueue({ maxOngoingRequests: 1, maxQueuedRequests: -1 });
  const waiting = [router.acquire(), router.acquire()];
  assert.equal(router.queued, 2);
  router.setReplicas(replicas(2));
  const got = await Promise.all(waiting);
  assert.deepEqual(got.map((r) => r.id).sort(), ["r0", "r1"]);
});

Deno.test("Router.rejectAll() fails every waiting request", async () => {
  const router = routerQueue({ maxOngoingRequests: 1, maxQueuedRequests: -1 });
  const waiting = router.acquire();
  router.rejectAll(new Error("shutting down"));
  await assert.rejects(waiting, /shutting down/);
  assert.equal(router.queued, 0);
});
