import assert from "node:assert/strict";
import { stringify } from "yaml";
import { parseConfig } from "../../lib/config/mod.ts";
import { createAdminApi, startServe } from "../../lib/serve/mod.ts";
import { serveDashboardSource, startDashboard } from "../../lib/dashboard/mod.ts";

const doc = (replicas: number) => ({
  http_options: { host: "127.0.0.1", port: 0 },
  applications: [{
    name: "default",
    route_prefix: "/",
    import_path: "main:app",
    deployments: [{
      name: "Model",
      num_replicas: replicas,
      graceful_shutdown_wait_loop_s: 0.02,
      ray_actor_options: { num_cpus: 0.25 },
      user_config: { model: "noop:1" },
    }],
  }],
});

const API = "http://127.0.0.1/api/serve/applications/";

async function call(
  api: (req: Request) => Promise<Response> | null,
  method: string,
  body?: string,
  token?: string,
) {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (token) headers.authorization = `Bearer ${token}`;
  const res = await api(new Request(API, { method, body, headers }))!;
  return { status: res.status, body: await res.json() };
}

Deno.test("admin API: GET shows the instance, PUT applies a config, an invalid PUT is refused with line:col", async () => {
  const serve = await startServe(parseConfig(stringify(doc(1))).config, { numCpus: 2 });
  let shutdowns = 0;
  const api = createAdminApi(serve.instance, {
    token: null,
    loopback: true,
    onShutdown: () => shutdowns++,
  });
  try {
    await serve.ready();
    assert.equal(api(new Request("http://127.0.0.1/")), null, "other paths are the dashboard's");
    const got = await call(api, "GET");
    assert.equal(got.status, 200);
    assert.equal(got.body.deploy_mode, "MULTI_APP");
    const app = got.body.applications.default;
    assert.equal(app.status, "RUNNING");
    assert.equal(app.deployed_app_config.deployments[0].num_replicas, 1);
    assert.equal(app.deployments.Model.target_num_replicas, 1);

    const put = await call(api, "PUT", JSON.stringify(doc(2)));
    assert.equal(put.status, 200, JSON.stringify(put.body));
    assert.equal(put.body.plan.changes[0].kind, "lightweight");
    assert.equal(serve.deployment.targetReplicas(), 2);

    const bad = JSON.stringify(doc(2), null, 2).replace('"num_replicas": 2', '"num_replicas": -3');
    const refused = await call(api, "PUT", bad);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, "invalid_config");
    assert.match(
      refused.body.detail,
      /<config>:\d+:\d+: applications\[0\]\.deployments\[0\]\.num_replicas/,
    );
    assert.equal(serve.deployment.targetReplicas(), 2, "the running config is untouched");

    const rebound = await api(
      new Request("http://evil.example/api/serve/applications/", { method: "DELETE" }),
    )!;
    assert.equal(rebound.status, 403, "a DNS-rebound page may not write");
    assert.equal(shutdowns, 0);

    const deleted = await call(api, "DELETE");
    assert.equal(deleted.status, 200);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(shutdowns, 1);
  } finally {
    await serve.shutdown();
  }
});

Deno.test("admin API: beyond loopback writes are off without a token and need it with one", async () => {
  const serve = await startServe(parseConfig(stringify(doc(1))).config, { numCpus: 2 });
  try {
    const open = createAdminApi(serve.instance, {
      token: null,
      loopback: false,
      onShutdown: () => {},
    });
    assert.equal((await call(open, "GET")).status, 200, "reads stay on");
    const off = await call(open, "PUT", JSON.stringify(doc(2)));
    assert.equal(off.status, 403);
    assert.match(off.body.detail, /--admin-token-file/);
    assert.equal((await call(open, "DELETE")).status, 403);

    const guarded = createAdminApi(serve.instance, {
      token: "s3cret",
      loopback: false,
      onShutdown: () => {},
    });
    assert.equal((await call(guarded, "PUT", JSON.stringify(doc(2)))).status, 401);
    assert.equal((await call(guarded, "PUT", JSON.stringify(doc(2)), "wrong")).status, 401);
    assert.equal((await call(guarded, "PUT", JSON.stringify(doc(2)), "s3cret")).status, 200);
    assert.equal(serve.deployment.targetReplicas(), 2);
    assert.equal((await call(guarded, "POST")).status, 405);
  } finally {
    await serve.shutdown();
  }
});

Deno.test("the dashboard carries the admin API on its port and its page stays read-only", async () => {
  const serve = await startServe(parseConfig(stringify(doc(1))).config, { numCpus: 2 });
  const api = createAdminApi(serve.instance, { token: null, loopback: true, onShutdown: () => {} });
  const dashboard = await startDashboard(serveDashboardSource(serve), {
    port: 0,
    tickMs: 60_000,
    adminApi: api,
  });
  try {
    const res = await fetch(`${dashboard.url}/api/serve/applications/`);
    assert.equal(res.status, 200);
    assert.ok("default" in (await res.json()).applications);
    const post = await fetch(`${dashboard.url}/`, { method: "POST", body: "x" });
    await post.body?.cancel();
    assert.equal(post.status, 405);
  } finally {
    await dashboard.stop();
    await serve.shutdown();
  }
});
