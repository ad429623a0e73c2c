// deno-lint-ignore-file no-explicit-any -- manifests are free-form JSON documents
import assert from "node:assert/strict";
import { parse } from "yaml";
import { parseConfig } from "../../lib/config/mod.ts";
import {
  checkManifestText,
  EXPORT_TARGETS,
  exportConfig,
  exportFileText,
  formatManifestIssue,
  isUnfaithful,
  KNATIVE_PREFIX,
  RAY_APP_IMPORT_PATH,
  workerPodsFor,
} from "../../lib/export/mod.ts";
import { config, configPaths, exported, SCHEMAS, schemasPresent } from "./_helpers.ts";
import { loadConfig } from "../../lib/config/mod.ts";

Deno.test("production.yaml --to rayservice: serveConfigV2, parsed, carries autoscaling_config exactly", async () => {
  const [rs] = await exported("production", "rayservice");
  const spec = rs.spec as Record<string, any>;
  assert.equal(typeof spec.serveConfigV2, "string");
  const serve = parse(spec.serveConfigV2);
  const dep = serve.applications[0].deployments[0];
  const source = parse(
    await Deno.readTextFile(new URL("../../configs/production.yaml", import.meta.url)),
  );
  const written = source.applications[0].deployments[0].autoscaling_config;
  for (const [key, value] of Object.entries(written)) {
    assert.deepEqual(dep.autoscaling_config[key], value, `autoscaling_config.${key}`);
  }
  assert.equal(dep.name, "ImageClassifier");
  assert.equal(dep.num_replicas, undefined, "no num_replicas beside autoscaling_config");
  assert.equal(serve.applications[0].import_path, RAY_APP_IMPORT_PATH);
  assert.equal(serve.applications[0].args.deployment_name, "ImageClassifier");
  assert.equal(serve.applications[0].args.model.sha256.length, 64);
  assert.equal(dep.user_config, undefined, "project settings travel in args");
  // The project's own validator reads it back with the same values.
  const back = parseConfig(spec.serveConfigV2).config.applications[0].deployments[0]
    .autoscaling_config!;
  assert.equal(back.upscaling_factor, 1.2);
  assert.equal(back.downscale_delay_s, 600);
  const cluster = spec.rayClusterConfig;
  assert.equal(cluster.enableInTreeAutoscaling, true);
  assert.equal(cluster.headGroupSpec.rayStartParams["num-cpus"], "0");
  // 50 replicas x 1 CPU on 4-CPU workers: 13 pods; min 2 replicas: 1 pod.
  assert.equal(cluster.workerGroupSpecs[0].maxReplicas, 13);
  assert.equal(cluster.workerGroupSpecs[0].minReplicas, 1);
});

Deno.test("workerPodsFor sizes the worker group to hold the replicas' CPUs", () => {
  assert.equal(workerPodsFor(50, { replicaCpus: 1, podCpus: 4 }), 13);
  assert.equal(workerPodsFor(50, { replicaCpus: 1.5, podCpus: 4 }), 25); // two 1.5-CPU replicas fit a 4-CPU pod
  assert.equal(workerPodsFor(0, { replicaCpus: 1, podCpus: 4 }), 0);
  assert.ok(
    Number.isNaN(workerPodsFor(1, { replicaCpus: 8, podCpus: 4 })),
    "a replica larger than a pod cannot be placed",
  );
});

Deno.test("production.yaml --to knative: annotations are strings mapped per the research table", async () => {
  const [svc] = await exported("production", "knative");
  const template = (svc.spec as any).template;
  const a = template.metadata.annotations as Record<string, unknown>;
  for (const v of Object.values(a)) assert.equal(typeof v, "string");
  assert.deepEqual(
    {
      target: a[`${KNATIVE_PREFIX}target`],
      utilization: a[`${KNATIVE_PREFIX}target-utilization-percentage`],
      min: a[`${KNATIVE_PREFIX}min-scale`],
      max: a[`${KNATIVE_PREFIX}max-scale`],
      initial: a[`${KNATIVE_PREFIX}initial-scale`],
      delay: a[`${KNATIVE_PREFIX}scale-down-delay`],
      window: a[`${KNATIVE_PREFIX}window`],
    },
    {
      target: "2",
      utilization: "100",
      min: "2",
      max: "50",
      initial: "2",
      delay: "600s",
      window: "30s",
    },
  );
  assert.equal(template.spec.containerConcurrency, 5);
  assert.equal(template.spec.containers[0].resources.requests.cpu, "1");
  assert.ok(
    !template.spec.containers[0].env.some((e: { name: string }) => e.name === "PORT"),
    "Knative sets PORT",
  );
});

Deno.test("production.yaml --to keda: threshold, bounds, PromQL range and HPA windows from the config", async () => {
  const [so, deployment, service] = await exported("production", "keda");
  const spec = so.spec as any;
  assert.equal(spec.minReplicaCount, 2);
  assert.equal(spec.maxReplicaCount, 50);
  assert.equal(spec.triggers[0].metadata.threshold, "2");
  assert.match(
    spec.triggers[0].metadata.query,
    /avg_over_time\(ray_serve_num_ongoing_http_requests\{.*\}\[30s\]\)/,
  );
  assert.equal(
    spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleUp.stabilizationWindowSeconds,
    20,
  );
  assert.equal(
    spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds,
    600,
  );
  assert.equal(deployment.kind, "Deployment");
  assert.equal((deployment.spec as any).replicas, 2);
  assert.equal(service.kind, "Service");
});

Deno.test("an export that loses a non-default knob is unfaithful; one at Ray's defaults is not", async () => {
  const production = await exportConfig(await config("production"), "knative");
  assert.equal(isUnfaithful(production), true);
  const lost = production.carry.filter((r) => r.unfaithful).map((r) => r.knob).sort();
  assert.deepEqual(lost, ["downscaling_factor", "upscale_delay_s", "upscaling_factor"]);
  const basic = await exportConfig(await config("basic"), "knative");
  assert.equal(
    isUnfaithful(basic),
    false,
    "basic.yaml keeps Ray's defaults for what Knative lacks",
  );
  assert.equal(isUnfaithful(await exportConfig(await config("production"), "rayservice")), false);
});

Deno.test({
  name: "every config in configs/ exports to every target and every manifest validates",
  ignore: !schemasPresent,
  async fn() {
    let manifests = 0;
    for (const path of configPaths()) {
      const { config: c } = await loadConfig(path);
      for (const target of EXPORT_TARGETS) {
        const result = await exportConfig(c, target);
        for (const file of result.files) {
          const text = exportFileText(file);
          if (target === "serve") {
            // A Serve config, not a manifest: the project's validator must read it.
            parseConfig(text);
            continue;
          }
          const { issues, kinds } = checkManifestText(text, { schemasDir: SCHEMAS });
          assert.deepEqual(
            issues.map((i) => formatManifestIssue(i, kinds[i.doc])),
            [],
            `${path} -> ${target}`,
          );
          manifests += kinds.length;
        }
      }
    }
    // rayservice 1 + knative 1 + keda 3 + keda-http 3 documents per config.
    assert.equal(manifests, configPaths().length * 8);
  },
});
