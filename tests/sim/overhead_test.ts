import assert from "node:assert/strict";
import { parseConfig } from "../../lib/config/mod.ts";
import {
  measureRequestOverhead,
  overheadPercentiles,
  pinnedReplicasConfig,
  servedDeployment,
} from "../../lib/sim/mod.ts";

Deno.test("overheadPercentiles() takes the router queue and the service time off each latency", () => {
  // 100 requests: latency 20 + i ms, of which i/2 ms waited in the router queue; service 20 ms.
  const samples = Array.from({ length: 100 }, (_, i) => ({ latencyMs: 20 + i, queueMs: i / 2 }));
  const ps = overheadPercentiles(samples, 20);
  const at = (q: number) => ps.find((p) => p.quantile === q)?.valueMs;
  // Overheads are 0, 0.5, ..., 49.5: nearest rank.
  assert.equal(at(0.5), 24.5);
  assert.equal(at(0.99), 49);
  assert.equal(at(0.01), 0);
  for (let i = 1; i < ps.length; i++) assert.ok(ps[i].valueMs >= ps[i - 1].valueMs);
});

Deno.test("overheadPercentiles() never goes below 0 and refuses too few answers", () => {
  const ps = overheadPercentiles([{ latencyMs: 5, queueMs: 3 }, { latencyMs: 25, queueMs: 0 }], 20);
  assert.ok(ps.every((p) => p.valueMs >= 0));
  assert.equal(ps[ps.length - 1].valueMs, 5);
  assert.throws(() => overheadPercentiles([{ latencyMs: 25, queueMs: 0 }], 20), /too few/);
});

Deno.test("pinnedReplicasConfig() fixes the replica count and drops autoscaling", async () => {
  const text = await Deno.readTextFile(new URL("../../configs/dev_fast.yaml", import.meta.url));
  const pinned = parseConfig(pinnedReplicasConfig(text, 4)).config;
  const dep = servedDeployment(pinned);
  assert.equal(dep.autoscaling_config, null);
  assert.equal(dep.num_replicas, 4);
  // Everything else is the original's.
  assert.equal(dep.max_ongoing_requests, 5);
  assert.equal(dep.user_config.model.kind, "noop");
  assert.throws(() => pinnedReplicasConfig(text, 0), /positive integer/);
  assert.throws(() => pinnedReplicasConfig("http_options: {}\n", 2), /applications/);
});

Deno.test("measureRequestOverhead() subtracts each answer's queue time (real loopback server)", async () => {
  // A stand-in service answering at once, reporting 1,000 ms of router queue: every overhead
  // clamps to 0. Its /metrics reports nothing processed, so the in-slot share is 0.
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) => {
      if (new URL(req.url).pathname === "/metrics") return new Response("");
      return Response.json({ label: "x", timings_ms: { queue: 1000, inference: 0 } });
    },
  );
  try {
    const measured = await measureRequestOverhead(`http://127.0.0.1:${server.addr.port}`, {
      serviceTimeMs: 20,
      users: 2,
      durationS: 0.3,
      waitTime: { kind: "constant", seconds: 0.01 },
    });
    assert.ok(measured.requests >= 2, `requests ${measured.requests}`);
    assert.ok(measured.percentiles.every((p) => p.valueMs === 0));
    assert.equal(measured.inSlotShare, 0);
    assert.match(measured.method, /2 users/);
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("measureRequestOverhead() says where it failed when no answer carries timings", async () => {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    (req) =>
      new URL(req.url).pathname === "/metrics"
        ? new Response("")
        : Response.json({ error: "nope" }, { status: 503 }),
  );
  try {
    await assert.rejects(
      measureRequestOverhead(`http://127.0.0.1:${server.addr.port}`, {
        serviceTimeMs: 20,
        users: 1,
        durationS: 0.1,
        waitTime: { kind: "constant", seconds: 0.01 },
      }),
      /0 answer\(s\), \d+ failure\(s\)/,
    );
  } finally {
    ac.abort();
    await server.finished;
  }
});
