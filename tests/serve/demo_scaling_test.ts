/**
 * The README's first scaling demo, run as a user runs it (the real service, the real load
 * generator, their result files) but time-scaled: `configs/demo.yaml` with
 * `configs/loadtest/demo.yaml` must scale up to max_replicas and back down on a 2-CPU cluster.
 * And `configs/dev_fast.yaml` must reach its max_replicas on 2 CPUs.
 *
 * Real time, because it checks the service, the autoscaler's control loop and the load
 * generator together; bounded (about 40 s and 8 s) and on 127.0.0.1 only.
 */
import assert from "node:assert/strict";
import { loadConfig, type ServeConfig } from "../../lib/config/mod.ts";
import {
  constantUsersShape,
  imageRequest,
  loadShape,
  readImage,
  runLoadTest,
} from "../../lib/loadgen/mod.ts";
import { parseReplicas, scalingDecisions } from "../../lib/plot/mod.ts";
import { prepareModel, startServe } from "../../lib/serve/mod.ts";

const root = new URL("../../", import.meta.url).pathname;
/** The README's demo shape runs 100 s; the test runs it, and the config's delays, 0.4 times as long. */
const TIME_SCALE = 0.4;

/** Scales every autoscaling delay and window of the served deployment by `k`. */
function scaleAutoscalingTimes(config: ServeConfig, k: number): void {
  const as = config.applications[0].deployments[0].autoscaling_config!;
  as.upscale_delay_s *= k;
  as.downscale_delay_s *= k;
  as.look_back_period_s *= k;
  as.metrics_interval_s *= k;
}

async function serveOnTwoCpus(config: ServeConfig, dir: string) {
  const dep = config.applications[0].deployments[0];
  const model = await prepareModel(dep.user_config.model, {});
  const serve = await startServe(config, {
    model,
    numCpus: 2, // a 2-core machine's cluster, whatever this machine has
    port: 0,
    host: "127.0.0.1",
    decisionsCsvPath: `${dir}/decisions.csv`,
    log: () => {},
  });
  await serve.ready({ timeoutMs: 30_000 });
  return serve;
}

Deno.test({
  name: "the README's demo (configs/demo.yaml + loadtest/demo.yaml, time-scaled) scales 1 -> 4 " +
    "-> down on 2 CPUs, with no failed request",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { config } = await loadConfig(`${root}configs/demo.yaml`);
    const dep = config.applications[0].deployments[0];
    assert.equal(dep.ray_actor_options.num_cpus * dep.autoscaling_config!.max_replicas, 2);
    scaleAutoscalingTimes(config, TIME_SCALE);
    const dir = await Deno.makeTempDir({ prefix: "demo_scaling_" });
    const serve = await serveOnTwoCpus(config, dir);
    try {
      const shape = await loadShape(`${root}configs/loadtest/demo.yaml`, {
        timeScale: TIME_SCALE,
      });
      const image = await readImage(`${root}examples/images/test_pattern.jpg`);
      const result = await runLoadTest({
        host: serve.url,
        shape,
        request: imageRequest(image),
        csvPrefix: `${dir}/demo`,
      });
      const rows = parseReplicas(await Deno.readTextFile(`${dir}/demo_replicas.csv`));
      const decisions = scalingDecisions(rows);
      const seen = rows.map((r) => `${r.elapsedS}s:${r.running}/${r.target}`).join(" ");
      assert.ok(decisions.some((d) => d.direction === "up"), `no scale-up: ${seen}`);
      assert.ok(decisions.some((d) => d.direction === "down"), `no scale-down: ${seen}`);
      assert.equal(Math.max(...rows.map((r) => r.running)), 4, `max_replicas running: ${seen}`);
      assert.equal(rows.at(-1)!.running, 1, `back to 1 replica by the end: ${seen}`);
      assert.equal(result.stats.total.numFailures, 0);
      // The deploy's own decisions file says the same.
      const reasons = (await Deno.readTextFile(`${dir}/decisions.csv`)).split("\n")
        .map((line) => line.split(",").at(-1));
      assert.ok(reasons.includes("upscale") && reasons.includes("downscale"), reasons.join(" "));
    } finally {
      await serve.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});

Deno.test({
  name: "configs/dev_fast.yaml reaches its max_replicas on a 2-CPU cluster (none left pending)",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { config } = await loadConfig(`${root}configs/dev_fast.yaml`);
    const max = config.applications[0].deployments[0].autoscaling_config!.max_replicas;
    const dir = await Deno.makeTempDir({ prefix: "dev_fast_cpus_" });
    const serve = await serveOnTwoCpus(config, dir);
    try {
      const image = await readImage(`${root}examples/images/test_pattern.jpg`);
      // 16 users back to back keep ~16 requests ongoing: 16 / target 2 wants 8, capped at 4.
      let peakRunning = 0;
      let peakPending = 0;
      const ac = new AbortController();
      await runLoadTest({
        host: serve.url,
        shape: constantUsersShape(16, 10),
        request: imageRequest(image),
        onSecond: (s) => {
          peakRunning = Math.max(peakRunning, s.replicas?.runningReplicas ?? 0);
          peakPending = Math.max(peakPending, s.replicas?.pendingReplicas ?? 0);
          if (peakRunning === max) ac.abort();
        },
        signal: ac.signal,
      });
      assert.equal(peakRunning, max);
      assert.equal(peakPending, 0);
    } finally {
      await serve.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
