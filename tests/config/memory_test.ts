/** Peak memory estimate: max_replicas x per-replica RSS against the machine's memory. */
import assert from "node:assert/strict";
import {
  estimatePeakMemory,
  formatMemoryEstimate,
  memoryWarning,
  parseConfig,
  REPLICA_RSS_MB,
} from "../../lib/config/mod.ts";

const dep = (body: string) =>
  parseConfig(
    `applications:\n  - name: a\n    import_path: m:app\n    deployments:\n      - name: D\n${body}`,
    {},
  ).config.applications[0].deployments[0];

Deno.test("the estimate is max_replicas x the model's per-replica RSS, and warns naming max_replicas", () => {
  const d = dep(
    "        autoscaling_config: {max_replicas: 100}\n        user_config: {model: resnet50}\n",
  );
  const e = estimatePeakMemory(d, { machineMb: 8192 });
  assert.equal(e.replicasField, "max_replicas");
  assert.equal(e.peakMb, 100 * REPLICA_RSS_MB.resnet50);
  assert.equal(e.exceeds, true);
  assert.match(
    formatMemoryEstimate(e),
    /max_replicas 100 x ~170 MB per replica .* = 16\.6 GB; this machine has 8\.0 GB/,
  );
  assert.match(
    memoryWarning(e)!,
    /^max_replicas 100 could use 16\.6 GB, more than this machine's 8\.0 GB: .*Lower max_replicas to 48 or less/,
  );
  const fits = estimatePeakMemory(d, { machineMb: 32_768 });
  assert.equal(fits.exceeds, false);
  assert.equal(memoryWarning(fits), null);
  assert.equal(
    memoryWarning(estimatePeakMemory(d, { machineMb: null })),
    null,
    "unknown memory: no warning",
  );
});

Deno.test("fixed-size and model-less deployments use num_replicas and the worker figure", () => {
  const d = dep(
    "        num_replicas: 4\n        user_config: {model: 'emulate:lognormal:45,80'}\n",
  );
  const e = estimatePeakMemory(d, { machineMb: 1024 });
  assert.equal(e.replicasField, "num_replicas");
  assert.equal(e.peakMb, 4 * REPLICA_RSS_MB.worker);
  assert.match(e.perReplicaSource, /emulate model/);
});
