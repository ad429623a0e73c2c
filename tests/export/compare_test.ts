import assert from "node:assert/strict";
import { loadShape } from "../../lib/loadgen/mod.ts";
import { compareEngines, engineVariants, formatCompareTable } from "../../lib/export/mod.ts";
import { config, ROOT } from "./_helpers.ts";

Deno.test("engine variants carry the exported knobs into the peer policies and switch Ray's wrapper off", async () => {
  const variants = engineVariants(await config("production"));
  assert.deepEqual(variants.map((v) => v.engine), ["ray", "knative", "keda"]);
  const kn = variants[1].config.applications[0].deployments[0].autoscaling_config!;
  assert.equal(kn.policy?.policy_function, "knative-kpa");
  assert.deepEqual(kn.policy?.policy_kwargs, {
    container_concurrency: 5,
    target: 2,
    target_utilization_percentage: 100,
    window_s: 30,
    scale_down_delay_s: 600,
  });
  assert.equal(kn.upscale_delay_s, 0);
  assert.equal(kn.upscaling_factor, 1);
  const kd = variants[2].config.applications[0].deployments[0].autoscaling_config!;
  assert.equal(kd.policy?.policy_function, "hpa");
  assert.deepEqual(kd.policy?.policy_kwargs, {
    target: 2,
    scale_up: { stabilization_window_s: 20 },
    scale_down: { stabilization_window_s: 600 },
  });
  assert.equal(kd.look_back_period_s, 30);
});

Deno.test("--compare on basic.yaml and the tutorial shape: one row per engine; Knative's panic mode reacts first", async () => {
  const shape = await loadShape(`${ROOT}configs/loadtest/tutorial.yaml`);
  const outDir = await Deno.makeTempDir();
  try {
    const result = await compareEngines(await config("basic"), shape, { outDir, name: "basic" });
    assert.deepEqual(result.rows.map((r) => r.label), [
      "ray (Serve)",
      "knative (KPA)",
      "keda (HPA)",
    ]);
    const [ray, knative, keda] = result.rows;
    for (const r of result.rows) {
      assert.ok(r.requests > 5000, `${r.label}: ${r.requests} requests`);
      assert.ok(r.maxReplicas >= 2, `${r.label} scaled up`);
      assert.ok(r.replicaHours > 0);
    }
    // Ray waits for 30 s of uninterrupted upscale decisions; KPA has no upscale delay.
    assert.ok(knative.scaleUpLagS! < ray.scaleUpLagS!, formatCompareTable(result));
    assert.ok(keda.scaleUpLagS !== null);
    const table = formatCompareTable(result);
    assert.match(table, /^engine\s+mean replicas\s+max replicas\s+scale-up lag s\s+p99 ms\s+SLA/);
    assert.equal(table.split("\n").length, 5);
  } finally {
    await Deno.remove(outDir, { recursive: true });
  }
});
