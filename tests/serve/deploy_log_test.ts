import assert from "node:assert/strict";
import { type LogLevel, prepareModel, startServe } from "../../lib/serve/mod.ts";
import { makeConfig, waitFor } from "./_helpers.ts";

/** Starts a noop service on `numCpus` CPUs, collecting `LEVEL line` log lines. */
async function start(deployment: Record<string, unknown>, numCpus: number) {
  const config = makeConfig({ graceful_shutdown_wait_loop_s: 0.05, ...deployment });
  const model = await prepareModel(config.applications[0].deployments[0].user_config.model);
  const logs: string[] = [];
  const s = await startServe(config, {
    model,
    numCpus,
    log: (line: string, level?: LogLevel) => logs.push(`${level ?? "INFO"} ${line}`),
  });
  return { s, logs };
}

Deno.test("a replica that can never get its CPUs is logged at WARN, not INFO", async () => {
  const { s, logs } = await start({
    num_replicas: 1,
    ray_actor_options: { num_cpus: 2 },
    user_config: { model: "noop:1" },
  }, 1);
  try {
    const warning = logs.find((l) => l.includes("a replica needs 2 CPUs"));
    assert.ok(warning, logs.join("\n"));
    assert.match(
      warning,
      /^WARN \[default\/Model\] a replica needs 2 CPUs but the cluster has only 1/,
    );
    assert.ok(!logs.some((l) => l.startsWith("INFO") && l.includes("WARNING")), logs.join("\n"));
  } finally {
    await s.shutdown();
  }
});

Deno.test("shutting down never logs the deployment as HEALTHY once its replicas stop", async () => {
  const { s, logs } = await start({ num_replicas: 1, user_config: { model: "noop:1" } }, 1);
  try {
    await s.ready({ timeoutMs: 30_000 });
    // A second replica cannot get a CPU: the deployment stays UPSCALING until shutdown.
    s.deployment.setTargetReplicas(2);
    await waitFor(() => logs.some((l) => l.includes("PENDING_ALLOCATION")), "a PENDING replica");
  } finally {
    const from = logs.length;
    await s.shutdown();
    const after = logs.slice(from);
    assert.ok(after.some((l) => l.includes("stopped")), after.join("\n"));
    assert.ok(!after.some((l) => /deployment Model HEALTHY/.test(l)), after.join("\n"));
  }
});
