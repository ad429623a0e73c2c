import assert from "node:assert/strict";
import { stringify } from "yaml";
import { parseConfig, type ServeConfig } from "../../lib/config/mod.ts";
import { type ServeHandle, startServe } from "../../lib/serve/mod.ts";
import { postImage, readResponse, waitFor } from "./_helpers.ts";

/** A config of applications `{name: [route_prefix, deployment overrides]}` on 127.0.0.1:0. */
function config(apps: Record<string, [string, Record<string, unknown>]>): ServeConfig {
  const doc = {
    http_options: { host: "127.0.0.1", port: 0 },
    applications: Object.entries(apps).map(([name, [route, dep]]) => ({
      name,
      route_prefix: route,
      import_path: "main:app",
      deployments: [{
        name: "Model",
        graceful_shutdown_wait_loop_s: 0.02,
        ray_actor_options: { num_cpus: 0.25 },
        ...dep,
      }],
    })),
  };
  return parseConfig(stringify(doc), {}).config;
}

async function start(c: ServeConfig, numCpus = 2): Promise<ServeHandle & { logs: string[] }> {
  const logs: string[] = [];
  const s = await startServe(c, { numCpus, log: (line) => logs.push(line) });
  await s.ready({ timeoutMs: 30_000 });
  return Object.assign(s, { logs });
}

/** `n` clients posting back to back to `url` until stopped; counts answers by status. */
function steadyLoad(url: string, n: number) {
  const statuses = new Map<number, number>();
  let running = true;
  const loops = Array.from({ length: n }, async () => {
    while (running) {
      const r = await postImage(url).catch(() => ({ status: 0 }));
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
    }
  });
  return {
    statuses,
    async stop() {
      running = false;
      await Promise.all(loops);
      return statuses;
    },
  };
}

const ids = (s: ServeHandle, app = "default") =>
  s.status().applications[app].deployments.Model.replicas.map((r) => r.replica_id).sort();

const AUTOSCALING = {
  min_replicas: 2,
  max_replicas: 4,
  target_ongoing_requests: 100, // never scales up under this test's load
  upscale_delay_s: 30,
  downscale_delay_s: 600,
  metrics_interval_s: 0.5,
  look_back_period_s: 2,
};

Deno.test("a lightweight update under load keeps the replica ids, shows the new knobs at once and fails no request", async () => {
  const s = await start(config({
    default: ["/", { autoscaling_config: AUTOSCALING, user_config: { model: "noop:5" } }],
  }));
  try {
    const before = ids(s);
    assert.equal(before.length, 2);
    const load = steadyLoad(s.url, 4);
    await waitFor(() => (load.statuses.get(200) ?? 0) > 20, "some answered requests");
    const next = config({
      default: ["/", {
        autoscaling_config: { ...AUTOSCALING, max_replicas: 6, target_ongoing_requests: 50 },
        max_ongoing_requests: 8,
        user_config: { model: "noop:5", top_k: 3 },
      }],
    });
    const result = await s.apply(next);
    assert.ok(result.ok);
    assert.deepEqual(result.plan.changes.map((c) => c.kind), ["lightweight"]);
    // Visible in /api/status as soon as apply returns.
    const dep = (await readResponse(await fetch(`${s.url}/api/status`))).body as ReturnType<
      ServeHandle["status"]
    >;
    const a = dep.applications.default.deployments.Model.autoscaler as Record<string, unknown>;
    assert.equal(a.max_replicas, 6);
    assert.equal(a.target_ongoing_requests, 50);
    assert.equal(s.deployment.router.maxOngoingRequests, 8);
    const ok = load.statuses.get(200) ?? 0;
    await waitFor(() => (load.statuses.get(200) ?? 0) > ok + 20, "requests after the update");
    const statuses = await load.stop();
    assert.deepEqual([...statuses.keys()], [200], `statuses ${JSON.stringify([...statuses])}`);
    assert.deepEqual(ids(s), before, "the same replicas keep serving");
    const events = s.status().config_events!.filter((e) => e.kind === "lightweight");
    assert.equal(events.length, 1);
    assert.match(events[0].summary, /max_replicas: 4 -> 6/);
    assert.ok(s.logs.some((l) => /config updated in place .*sample windows kept/.test(l)));
  } finally {
    await s.shutdown();
  }
});

Deno.test("a model change rolls 4 replicas under load: no failed request, never fewer than 3 running", async () => {
  const s = await start(
    config({ default: ["/", { num_replicas: 4, user_config: { model: "noop:10" } }] }),
  );
  try {
    const before = ids(s);
    const load = steadyLoad(s.url, 6);
    let minRunning = Infinity;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        minRunning = Math.min(minRunning, s.deployment.runningReplicas());
        await new Promise((r) => setTimeout(r, 1));
      }
    })();
    await waitFor(() => (load.statuses.get(200) ?? 0) > 20, "some answered requests");
    const result = await s.apply(
      config({ default: ["/", { num_replicas: 4, user_config: { model: "noop:12" } }] }),
    );
    assert.ok(result.ok);
    assert.deepEqual(result.plan.changes.map((c) => c.kind), ["rolling"]);
    await waitFor(
      () => {
        const d = s.status().applications.default.deployments.Model;
        return d.status === "HEALTHY" && d.replicas.every((r) => r.version === 2) &&
          d.replicas.length === 4;
      },
      "every replica on version 2",
      30_000,
    );
    sampling = false;
    await sampler;
    const statuses = await load.stop();
    assert.deepEqual([...statuses.keys()], [200], `statuses ${JSON.stringify([...statuses])}`);
    assert.ok(minRunning >= 3, `running dropped to ${minRunning}`);
    assert.equal(ids(s).filter((id) => before.includes(id)).length, 0, "all replicas replaced");
    assert.equal(s.status().applications.default.deployments.Model.model, "noop:12");
  } finally {
    await s.shutdown();
  }
});

Deno.test("a rolling update without free CPUs drains an old replica first and still fails no request", async () => {
  // 2 CPUs, 4 replicas x 0.5: no room for a newcomer.
  const c = (ms: number) =>
    config({
      default: ["/", {
        num_replicas: 4,
        ray_actor_options: { num_cpus: 0.5 },
        user_config: { model: `noop:${ms}` },
      }],
    });
  const s = await start(c(10));
  try {
    const load = steadyLoad(s.url, 4);
    await waitFor(() => (load.statuses.get(200) ?? 0) > 10, "some answered requests");
    assert.ok((await s.apply(c(11))).ok);
    await waitFor(
      () =>
        s.status().applications.default.deployments.Model.replicas.every((r) => r.version === 2),
      "every replica on version 2",
      30_000,
    );
    const statuses = await load.stop();
    assert.deepEqual([...statuses.keys()], [200]);
    assert.ok(s.logs.some((l) => l.includes("no free CPUs for a newcomer")));
  } finally {
    await s.shutdown();
  }
});

Deno.test("an unsafe config is refused whole and the running applications are untouched", async () => {
  const s = await start(
    config({ a: ["/a", { num_replicas: 2, user_config: { model: "noop:1" } }] }),
  );
  try {
    const before = ids(s, "a");
    // 12 replicas x 0.25 CPU = 3 CPUs on a 2-CPU cluster, plus a new application.
    const result = await s.apply(config({
      a: ["/a", { num_replicas: 12, user_config: { model: "noop:1" } }],
      b: ["/b", { num_replicas: 1, user_config: { model: "noop:1" } }],
    }));
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.errors.join() : "", /need 3.25 CPUs .* cluster has 2/);
    assert.deepEqual(Object.keys(s.status().applications), ["a"]);
    assert.deepEqual(ids(s, "a"), before);
    assert.equal(s.status().applications.a.deployments.Model.target_replicas, 2);
    assert.equal((await postImage(`${s.url}/a`)).status, 200);
    assert.equal(s.status().config_events!.filter((e) => e.kind !== "added").length, 0);
  } finally {
    await s.shutdown();
  }
});

Deno.test("a model that cannot be loaded is refused before any replica changes", async () => {
  const s = await start(
    config({ default: ["/", { num_replicas: 2, user_config: { model: "noop:1" } }] }),
  );
  try {
    const before = ids(s);
    const result = await s.apply(config({
      default: ["/", { num_replicas: 2, user_config: { model: "/nonexistent/model.onnx" } }],
    }));
    assert.equal(result.ok, false);
    assert.match(!result.ok ? result.errors[0] : "", /^cannot load the model: .*nonexistent/);
    assert.deepEqual(ids(s), before);
    assert.equal(s.status().applications.default.deployments.Model.model, "noop:1");
    assert.equal((await postImage(s.url)).status, 200);
  } finally {
    await s.shutdown();
  }
});

Deno.test("two applications at /a and /b are both served, listed and labelled; a removed one drains away", async () => {
  const s = await start(config({
    a: ["/a", { num_replicas: 1, user_config: { model: "noop:1" } }],
    b: ["/b", { num_replicas: 2, user_config: { model: "noop:1" } }],
    root: ["/", { num_replicas: 1, user_config: { model: "noop:1" } }],
  }));
  try {
    const json = async (path: string) => (await readResponse(await fetch(`${s.url}${path}`))).body;
    assert.equal((await postImage(`${s.url}/a`)).status, 200);
    assert.equal((await postImage(`${s.url}/b/`)).status, 200);
    assert.equal((await postImage(`${s.url}/`)).status, 200);
    // Longest prefix: /a/x belongs to a (which has no such route), /ab to the root app.
    const ax = await postImage(`${s.url}/a/x`);
    assert.equal(ax.status, 404);
    assert.equal((ax.body as { error: string }).error, "not_found");
    assert.equal((await postImage(`${s.url}/ab`)).status, 404);
    assert.deepEqual(await json("/-/routes"), { "/": "root", "/a": "a", "/b": "b" });
    const status = s.status();
    assert.deepEqual(Object.keys(status.applications).sort(), ["a", "b", "root"]);
    assert.equal(status.applications.b.deployments.Model.replica_states.RUNNING, 2);
    assert.equal(status.cluster.cpus_used, 1); // 4 replicas x 0.25, one cluster
    const metrics = (await (await fetch(`${s.url}/metrics`)).text()).split("\n");
    for (const app of ["a", "b"]) {
      assert.ok(
        metrics.some((l) =>
          l.startsWith("ray_serve_deployment_replica_healthy{") &&
          l.includes(`application="${app}"`)
        ),
        `replica metrics labelled application="${app}"`,
      );
      assert.ok(metrics.some((l) => l === `ray_serve_application_status{application="${app}"} 6`));
    }
    assert.equal(metrics.filter((l) => l === "# TYPE ray_serve_deployment_status gauge").length, 1);

    const result = await s.apply(config({
      a: ["/a", { num_replicas: 1, user_config: { model: "noop:1" } }],
    }));
    assert.ok(result.ok);
    assert.deepEqual(
      result.plan.changes.map((c) => `${c.application}:${c.kind}`).sort(),
      ["a:unchanged", "b:removed", "root:removed"],
    );
    assert.equal((await postImage(`${s.url}/b`)).status, 404);
    await waitFor(() => Object.keys(s.status().applications).length === 1, "b and root deleted");
    await waitFor(() => s.status().cluster.cpus_used === 0.25, "their CPUs freed");
    assert.equal((await postImage(`${s.url}/a`)).status, 200);
  } finally {
    await s.shutdown();
  }
});

Deno.test("switching between a fixed count and autoscaling starts and stops the autoscaler in place", async () => {
  const s = await start(
    config({ default: ["/", { num_replicas: 3, user_config: { model: "noop:1" } }] }),
  );
  try {
    const before = ids(s);
    assert.equal(s.autoscaler, null);
    assert.ok(
      (await s.apply(config({
        default: ["/", { autoscaling_config: AUTOSCALING, user_config: { model: "noop:1" } }],
      }))).ok,
    );
    assert.notEqual(s.autoscaler, null);
    // The current target (3) lies within [2, 4]: kept, no replica restarted.
    assert.equal(s.deployment.targetReplicas(), 3);
    assert.deepEqual(ids(s), before);
    assert.ok(
      (await s.apply(
        config({ default: ["/", { num_replicas: 2, user_config: { model: "noop:1" } }] }),
      ))
        .ok,
    );
    assert.equal(s.autoscaler, null);
    assert.equal(s.deployment.targetReplicas(), 2);
  } finally {
    await s.shutdown();
  }
});
