import assert from "node:assert/strict";
import type { ServeStatusJson } from "../../lib/serve/mod.ts";
import {
  makeConfig,
  postImage,
  postJson,
  readResponse,
  serve,
  TINY_PNG,
  waitFor,
} from "./_helpers.ts";

Deno.test("service answers every endpoint under its route_prefix", async () => {
  const s = await serve(
    makeConfig({ num_replicas: 2, user_config: { model: "noop" } }, { route_prefix: "/classify" }),
  );
  try {
    const plain = await postImage(`${s.url}/classify`);
    assert.equal(plain.status, 200);
    assert.equal(plain.text, "noop");

    // Accept: application/json alone (as Locust's FastHttpUser sends it) still gets the label;
    // the JSON document is opt-in through ?format=json or ?top=k.
    const accepting = await postImage(`${s.url}/classify`, TINY_PNG, {
      accept: "application/json",
    });
    assert.deepEqual([accepting.status, accepting.text], [200, "noop"]);
    const asText = await postImage(`${s.url}/classify?format=text`);
    assert.deepEqual([asText.status, asText.text], [200, "noop"]);
    const asJson = await postImage(`${s.url}/classify/?format=json`);
    assert.equal(asJson.status, 200);
    const body = asJson.body as Record<string, unknown>;
    assert.equal(body.label, "noop");
    assert.ok(Array.isArray(body.top));
    assert.ok(typeof body.replica_id === "string");
    assert.ok(typeof (body.timings_ms as Record<string, number>).queue === "number");

    const top = await postJson(`${s.url}/classify?top=3`, {
      uri: `data:image/png;base64,${btoa(String.fromCharCode(...TINY_PNG))}`,
    });
    assert.equal(top.status, 200);
    assert.equal((top.body as { label: string }).label, "noop");

    for (const path of ["/healthz", "/-/healthz"]) {
      const r = await readResponse(await fetch(s.url + path));
      assert.deepEqual([r.status, r.text], [200, "success"]);
    }
    const routes = await readResponse(await fetch(`${s.url}/-/routes`));
    assert.deepEqual(routes.body, { "/classify": "default" });

    const status = (await readResponse(await fetch(`${s.url}/api/status`))).body as ServeStatusJson;
    const app = status.applications.default;
    assert.equal(app.status, "RUNNING");
    assert.equal(app.route_prefix, "/classify");
    const dep = app.deployments.Model;
    assert.equal(dep.status, "HEALTHY");
    assert.equal(dep.target_replicas, 2);
    assert.deepEqual(dep.replica_states, {
      PENDING_ALLOCATION: 0,
      STARTING: 0,
      RUNNING: 2,
      STOPPING: 0,
    });
    assert.equal(dep.replicas.length, 2);
    for (const r of dep.replicas) {
      assert.equal(r.state, "RUNNING");
      assert.equal(r.num_cpus, 1);
      assert.ok(r.requested_at_ms <= r.started_at_ms! && r.started_at_ms! <= r.running_since_ms!);
    }
    assert.equal(dep.autoscaler, null);
    assert.deepEqual(status.cluster, { num_cpus: 2, cpus_used: 2 });
    assert.equal(status.model.backend, "noop");

    const metrics = await readResponse(await fetch(`${s.url}/metrics`));
    assert.equal(metrics.status, 200);
    for (
      const line of [
        'ray_serve_num_http_requests_total{route="/classify",method="POST",application="default",status_code="200"} 5',
        'ray_serve_deployment_queued_queries{deployment="Model",application="default",handle="proxy",actor_id="proxy"} 0',
        'ray_serve_autoscaling_target_replicas{deployment="Model",application="default"} 2',
        'autoscale_lab_deployment_replicas{deployment="Model",application="default",state="RUNNING"} 2',
        'ray_serve_deployment_status{deployment="Model",application="default"} 6',
        'ray_serve_application_status{application="default"} 6',
      ]
    ) assert.ok(metrics.text.includes(line), `missing metrics line: ${line}`);
    assert.match(
      metrics.text,
      /ray_serve_http_request_latency_ms_bucket\{method="POST",route="\/classify"/,
    );
    assert.match(
      metrics.text,
      /ray_serve_deployment_processing_latency_ms_count\{deployment="Model"/,
    );

    const wrongRoute = await postImage(`${s.url}/`);
    assert.equal(wrongRoute.status, 404);
    const get = await fetch(`${s.url}/classify`);
    assert.equal(get.status, 405);
    assert.equal(get.headers.get("allow"), "POST");
    await get.body?.cancel();
  } finally {
    await s.shutdown();
  }
});

Deno.test("a full router queue refuses at once with 503 JSON (max_queued_requests)", async () => {
  const s = await serve(makeConfig({
    num_replicas: 1,
    max_ongoing_requests: 1,
    max_queued_requests: 2,
    user_config: { model: "noop:400" },
  }));
  try {
    const results = await Promise.all(
      Array.from({ length: 5 }, () => postImage(s.url)),
    );
    const statuses = results.map((r) => r.status).sort();
    assert.deepEqual(statuses, [200, 200, 200, 503, 503]);
    const refused = results.find((r) => r.status === 503)!.body as Record<string, string>;
    assert.equal(refused.error, "backpressure");
    assert.match(refused.detail, /max_queued_requests=2/);
  } finally {
    await s.shutdown();
  }
});

Deno.test("request_timeout_s ends a slow request with 504 and frees its replica slot", async () => {
  const s = await serve(makeConfig(
    { num_replicas: 1, max_ongoing_requests: 1, user_config: { model: "noop:1500" } },
    { http_options: { request_timeout_s: 0.2 } },
  ));
  try {
    const t0 = Date.now();
    const [a, b] = await Promise.all([postImage(s.url), postImage(s.url)]);
    assert.equal(a.status, 504);
    assert.equal((a.body as Record<string, string>).error, "timeout");
    assert.match((a.body as Record<string, string>).detail, /request_timeout_s \(0.2 s\)/);
    assert.equal(b.status, 504);
    assert.ok(Date.now() - t0 < 1200, "the timeout did not cut the 1.5 s service time short");
    const dep = s.status().applications.default.deployments.Model;
    assert.equal(dep.ongoing_requests, 0);
    assert.equal(dep.queued_requests, 0);
  } finally {
    await s.shutdown();
  }
});

Deno.test("a crashed replica's in-flight request is retried on another replica and answered", async () => {
  const logs: string[] = [];
  const s = await serve(
    makeConfig({ num_replicas: 2, user_config: { model: "noop:300" } }),
    { logs },
  );
  try {
    const pending = postImage(`${s.url}/?format=json`);
    let victim;
    await waitFor(() => {
      victim = s.deployment.replicas.find((r) => r.ongoing === 1);
      return victim !== undefined;
    }, "the request to reach a replica");
    const victimId = victim!.id;
    victim!.crashForTest();
    const r = await pending;
    assert.equal(r.status, 200);
    const body = r.body as Record<string, unknown>;
    assert.equal(body.retried, true);
    assert.notEqual(body.replica_id, victimId);
    await waitFor(
      () =>
        s.deployment.runningReplicas() === 2 &&
        !s.deployment.replicas.some((x) => x.id === victimId),
      "a replacement replica",
    );
    assert.ok(logs.some((l) => l.includes(`replica ${victimId} crashed`)), logs.join("\n"));
    await waitFor(() => s.status().applications.default.status === "RUNNING", "RUNNING again");
  } finally {
    await s.shutdown();
  }
});

Deno.test("a replica that fails 3 health checks in a row is replaced", async () => {
  const logs: string[] = [];
  const s = await serve(
    makeConfig({
      num_replicas: 1,
      health_check_period_s: 0.05,
      health_check_timeout_s: 0.05,
      user_config: { model: "noop" },
    }),
    { logs, numCpus: 1 },
  );
  try {
    const stuck = s.deployment.replicas[0];
    stuck.blockForTest(3000);
    await waitFor(
      () => s.deployment.replicas.some((r) => r !== stuck && r.state === "RUNNING"),
      "the replacement",
    );
    assert.ok(logs.some((l) => l.includes("failed 3 health checks in a row")), logs.join("\n"));
    assert.equal((await postImage(s.url)).status, 200);
  } finally {
    await s.shutdown();
  }
});

Deno.test("downscaling drains: stops the PENDING replica first, then the newest RUNNING, losing no request", async () => {
  const logs: string[] = [];
  const s = await serve(
    makeConfig({
      num_replicas: 3,
      graceful_shutdown_wait_loop_s: 0.05,
      user_config: { model: "noop:300" },
    }),
    { logs, numCpus: 2, wait: false },
  );
  try {
    await waitFor(() => s.deployment.runningReplicas() === 2, "2 RUNNING replicas");
    const st = s.status();
    const dep = st.applications.default.deployments.Model;
    assert.equal(dep.replica_states.PENDING_ALLOCATION, 1, "the third replica waits for CPUs");
    assert.equal(st.applications.default.status, "DEPLOYING");
    const health = await readResponse(await fetch(`${s.url}/-/healthz`));
    assert.equal(health.status, 503);
    assert.match((health.body as Record<string, string>).detail, /DEPLOYING/);
    assert.deepEqual(st.cluster, { num_cpus: 2, cpus_used: 2 });

    const [older, newer] = [...s.deployment.replicas]
      .filter((r) => r.state === "RUNNING")
      .sort((a, b) => a.startedAtMs! - b.startedAtMs!);
    const requests = Array.from({ length: 6 }, () => postImage(s.url));
    await waitFor(() => newer.ongoing > 0 && older.ongoing > 0, "requests on both replicas");
    s.deployment.setTargetReplicas(2); // removes the PENDING one
    assert.equal(s.deployment.replicas.length, 2);
    s.deployment.setTargetReplicas(1); // drains the newest RUNNING one
    assert.equal(newer.state, "STOPPING");
    assert.equal(older.state, "RUNNING");
    const statuses = (await Promise.all(requests)).map((r) => r.status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 200]);
    await waitFor(() => s.deployment.replicas.length === 1, "the drained replica to stop");
    assert.equal(s.deployment.replicas[0], older);
    assert.equal((await postImage(s.url)).status, 200);
  } finally {
    await s.shutdown();
  }
});

Deno.test("fractional num_cpus packs replicas onto the cluster's CPUs", async () => {
  const s = await serve(
    makeConfig({
      num_replicas: 3,
      ray_actor_options: { num_cpus: 0.5 },
      user_config: { model: "noop" },
    }),
    { numCpus: 1.5 },
  );
  try {
    const st = s.status();
    assert.equal(st.applications.default.deployments.Model.replica_states.RUNNING, 3);
    assert.deepEqual(st.cluster, { num_cpus: 1.5, cpus_used: 1.5 });
  } finally {
    await s.shutdown();
  }
});

Deno.test("autoscaling_config starts the autoscaler, which adds replicas under load", async () => {
  const s = await serve(
    makeConfig({
      max_ongoing_requests: 2,
      autoscaling_config: {
        min_replicas: 1,
        max_replicas: 3,
        target_ongoing_requests: 1,
        upscale_delay_s: 0,
        downscale_delay_s: 60,
        metrics_interval_s: 0.1,
        look_back_period_s: 0.3,
      },
      user_config: { model: "noop:200" },
    }),
    { numCpus: 4 },
  );
  try {
    assert.equal(s.deployment.targetReplicas(), 1);
    let stop = false;
    const load = Promise.all(Array.from({ length: 6 }, async () => {
      while (!stop) await postImage(s.url);
    }));
    await waitFor(() => s.deployment.targetReplicas() === 3, "the autoscaler to reach 3", 8000);
    stop = true;
    await load;
    const autoscaler = s.status().applications.default.deployments.Model.autoscaler as
      | Record<string, unknown>
      | null;
    assert.notEqual(autoscaler, null);
    assert.equal(autoscaler!.target_replicas, 3);
  } finally {
    await s.shutdown();
  }
});

Deno.test("a draining replica is killed after graceful_shutdown_timeout_s and its request retried elsewhere", async () => {
  const logs: string[] = [];
  const s = await serve(
    makeConfig({
      num_replicas: 2,
      graceful_shutdown_wait_loop_s: 0.05,
      graceful_shutdown_timeout_s: 0.2,
      user_config: { model: "noop:800" },
    }),
    { logs },
  );
  try {
    const newest = [...s.deployment.replicas].sort((a, b) => b.startedAtMs! - a.startedAtMs!)[0];
    const requests = [postImage(`${s.url}/?format=json`), postImage(`${s.url}/?format=json`)];
    await waitFor(() => newest.ongoing === 1, "a request on the newest replica");
    s.deployment.setTargetReplicas(1);
    const answers = await Promise.all(requests);
    assert.deepEqual(answers.map((a) => a.status), [200, 200]);
    assert.ok(
      answers.some((a) => (a.body as { retried: boolean }).retried),
      JSON.stringify(answers),
    );
    assert.ok(
      logs.some((l) => l.includes("graceful_shutdown_timeout_s=0.2; killing it")),
      logs.join("\n"),
    );
  } finally {
    await s.shutdown();
  }
});
