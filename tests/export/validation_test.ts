// deno-lint-ignore-file no-explicit-any -- manifests are free-form JSON documents
import assert from "node:assert/strict";
import { stringify } from "yaml";
import {
  checkManifest,
  checkManifestText,
  formatManifestIssue,
  injectAdditionalPropertiesFalse,
  knativeAnnotationIssues,
  type ManifestIssue,
  parseGoDurationMs,
} from "../../lib/export/mod.ts";
import { exported, SCHEMAS, schemasPresent } from "./_helpers.ts";

type Doc = Record<string, any>;
const ANN = "autoscaling.knative.dev/";

/** A broken manifest: start from an export, break one thing, expect an issue at `path`. */
interface Broken {
  what: string;
  base: "rayservice" | "knative" | "keda" | "keda-http";
  doc?: number;
  breakIt: (m: Doc) => void;
  path: string;
}

const serveEdit = (m: Doc, edit: (text: string) => string) => {
  m.spec.serveConfigV2 = edit(m.spec.serveConfigV2);
};
const annotations = (m: Doc) => m.spec.template.metadata.annotations as Record<string, unknown>;

const BROKEN: Broken[] = [
  {
    what: "misspelt RayService field",
    base: "rayservice",
    breakIt: (m) => {
      m.spec.rayClusterConfig.enableInTreeAutoscalling = true;
    },
    path: "spec.rayClusterConfig.enableInTreeAutoscalling",
  },
  {
    what: "worker maxReplicas as a string",
    base: "rayservice",
    breakIt: (m) => {
      m.spec.rayClusterConfig.workerGroupSpecs[0].maxReplicas = "13";
    },
    path: "spec.rayClusterConfig.workerGroupSpecs[0].maxReplicas",
  },
  {
    what: "head group without a pod template",
    base: "rayservice",
    breakIt: (m) => {
      delete m.spec.rayClusterConfig.headGroupSpec.template;
    },
    path: "spec.rayClusterConfig.headGroupSpec.template",
  },
  {
    what: "RayService without rayClusterConfig",
    base: "rayservice",
    breakIt: (m) => {
      delete m.spec.rayClusterConfig;
    },
    path: "spec.rayClusterConfig",
  },
  {
    what: "serveConfigV2 as a mapping, not a string",
    base: "rayservice",
    breakIt: (m) => {
      m.spec.serveConfigV2 = { applications: [] };
    },
    path: "spec.serveConfigV2",
  },
  {
    what: "incremental upgrade options without their required gateway",
    base: "rayservice",
    breakIt: (m) => {
      m.spec.upgradeStrategy = {
        type: "NewClusterWithIncrementalUpgrade",
        clusterUpgradeOptions: { intervalSeconds: 10, stepSizePercent: 10 },
      };
    },
    path: "spec.upgradeStrategy.clusterUpgradeOptions.gatewayClassName",
  },
  {
    what: "Serve config: num_replicas beside autoscaling_config",
    base: "rayservice",
    breakIt: (m) =>
      serveEdit(
        m,
        (t) =>
          t.replace(
            "      - name: ImageClassifier\n",
            "      - name: ImageClassifier\n        num_replicas: 3\n",
          ),
      ),
    path: "spec.serveConfigV2 > applications[0].deployments[0].num_replicas",
  },
  {
    what: "Serve config: max_replicas below min_replicas",
    base: "rayservice",
    breakIt: (m) => serveEdit(m, (t) => t.replace("max_replicas: 50", "max_replicas: 1")),
    path: "spec.serveConfigV2 > applications[0].deployments[0].autoscaling_config.max_replicas",
  },
  {
    what: "Serve config: misspelt autoscaling field",
    base: "rayservice",
    breakIt: (m) =>
      serveEdit(m, (t) => t.replace("target_ongoing_requests:", "target_ongoing_request:")),
    path:
      "spec.serveConfigV2 > applications[0].deployments[0].autoscaling_config.target_ongoing_request",
  },
  {
    what: "Serve config: a local working_dir",
    base: "rayservice",
    breakIt: (m) =>
      serveEdit(
        m,
        (t) =>
          t.replace("    runtime_env:\n", "    runtime_env:\n      working_dir: ./export/ray\n"),
      ),
    path: "spec.serveConfigV2 > applications[0].runtime_env.working_dir",
  },
  {
    what: "Serve config: import_path without an attribute",
    base: "rayservice",
    breakIt: (m) =>
      serveEdit(m, (t) => t.replace("autoscale_lab_serve.app:app_builder", "autoscale_lab_serve")),
    path: "spec.serveConfigV2 > applications[0].import_path",
  },
  {
    what: "unquoted annotation number",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}min-scale`] = 2;
    },
    path: `spec.template.metadata.annotations["${ANN}min-scale"]`,
  },
  {
    what: "window below 6 s",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}window`] = "5s";
    },
    path: `spec.template.metadata.annotations["${ANN}window"]`,
  },
  {
    what: "window not whole seconds",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}window`] = "30500ms";
    },
    path: `spec.template.metadata.annotations["${ANN}window"]`,
  },
  {
    what: "min-scale above max-scale",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}min-scale`] = "5";
      annotations(m)[`${ANN}max-scale`] = "3";
    },
    path: `spec.template.metadata.annotations["${ANN}max-scale"]`,
  },
  {
    what: "utilization over 100 %",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}target-utilization-percentage`] = "150";
    },
    path: `spec.template.metadata.annotations["${ANN}target-utilization-percentage"]`,
  },
  {
    what: "panic threshold below 110 %",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}panic-threshold-percentage`] = "100";
    },
    path: `spec.template.metadata.annotations["${ANN}panic-threshold-percentage"]`,
  },
  {
    what: "scale-down-delay over 1 h",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}scale-down-delay`] = "2h";
    },
    path: `spec.template.metadata.annotations["${ANN}scale-down-delay"]`,
  },
  {
    what: "target 0",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}target`] = "0";
    },
    path: `spec.template.metadata.annotations["${ANN}target"]`,
  },
  {
    what: "initial-scale 0",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}initial-scale`] = "0";
    },
    path: `spec.template.metadata.annotations["${ANN}initial-scale"]`,
  },
  {
    what: "unknown autoscaler class",
    base: "knative",
    breakIt: (m) => {
      annotations(m)[`${ANN}class`] = "kpa";
    },
    path: `spec.template.metadata.annotations["${ANN}class"]`,
  },
  {
    what: "containerConcurrency over 1000",
    base: "knative",
    breakIt: (m) => {
      m.spec.template.spec.containerConcurrency = 5000;
    },
    path: "spec.template.spec.containerConcurrency",
  },
  {
    what: "misspelt Knative field",
    base: "knative",
    breakIt: (m) => {
      m.spec.template.spec.containerConcurency = 5;
    },
    path: "spec.template.spec.containerConcurency",
  },
  {
    what: "pod config (SERVE_CONFIG) with max_ongoing_requests 0",
    base: "knative",
    breakIt: (m) => {
      const env = m.spec.template.spec.containers[0].env;
      env[0].value = env[0].value.replace("max_ongoing_requests: 5", "max_ongoing_requests: 0");
    },
    path:
      `spec.template.spec.containers[0].env[0].value > applications[0].deployments[0].max_ongoing_requests`,
  },
  {
    what: "KEDA threshold not a number",
    base: "keda",
    breakIt: (m) => {
      m.spec.triggers[0].metadata.threshold = "two";
    },
    path: "spec.triggers[0].metadata.threshold",
  },
  {
    what: "KEDA minReplicaCount above maxReplicaCount",
    base: "keda",
    breakIt: (m) => {
      m.spec.minReplicaCount = 10;
      m.spec.maxReplicaCount = 5;
    },
    path: "spec.maxReplicaCount",
  },
  {
    what: "HPA stabilisation window over 3600 s",
    base: "keda",
    breakIt: (m) => {
      m.spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds =
        7200;
    },
    path:
      "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds",
  },
  {
    what: "misspelt ScaledObject field",
    base: "keda",
    breakIt: (m) => {
      m.spec.pollingIntervall = 10;
    },
    path: "spec.pollingIntervall",
  },
  {
    what: "KEDA minReplicaCount as a string",
    base: "keda",
    breakIt: (m) => {
      m.spec.minReplicaCount = "2";
    },
    path: "spec.minReplicaCount",
  },
  {
    what: "non-integer targetValue",
    base: "keda-http",
    breakIt: (m) => {
      m.spec.scalingMetric.concurrency.targetValue = 2.5;
    },
    path: "spec.scalingMetric.concurrency.targetValue",
  },
  {
    what: "scaledownPeriod as a duration string",
    base: "keda-http",
    breakIt: (m) => {
      m.spec.scaledownPeriod = "600s";
    },
    path: "spec.scaledownPeriod",
  },
  {
    what: "Deployment selector not matching the pod labels",
    base: "keda",
    doc: 1,
    breakIt: (m) => {
      m.spec.selector.matchLabels = { app: "other" };
    },
    path: "spec.template.metadata.labels",
  },
];

Deno.test({
  name:
    `a table of ${BROKEN.length} broken manifests: each is rejected with the broken field's path`,
  ignore: !schemasPresent,
  async fn() {
    assert.ok(BROKEN.length >= 20);
    const rows: string[] = [];
    for (const b of BROKEN) {
      const docs = await exported("production", b.base);
      const doc = b.doc ?? 0;
      // The unbroken manifest is valid: the issue below comes from the break.
      assert.deepEqual(
        checkManifest(docs[doc], doc, { schemasDir: SCHEMAS }),
        [],
        `${b.what}: base`,
      );
      b.breakIt(docs[doc]);
      const issues: ManifestIssue[] = checkManifest(docs[doc], doc, { schemasDir: SCHEMAS });
      const hit = issues.find((i) => i.path === b.path);
      assert.ok(
        hit,
        `${b.what}: expected an issue at ${b.path}, got:\n${
          issues.map((i) => formatManifestIssue(i)).join("\n")
        }`,
      );
      rows.push(`${b.what.padEnd(56)} ${hit.path}: ${hit.message}`);
    }
    console.log(rows.join("\n"));
  },
});

Deno.test({
  name: "every KubeRay sample in ../shared/schemas/samples passes",
  ignore: !schemasPresent,
  fn() {
    const samples = [...Deno.readDirSync(`${SCHEMAS}/samples`)].filter((e) =>
      e.name.endsWith(".yaml")
    );
    assert.ok(samples.length >= 14, `${samples.length} samples`);
    for (const s of samples) {
      const { issues, kinds } = checkManifestText(
        Deno.readTextFileSync(`${SCHEMAS}/samples/${s.name}`),
        {
          schemasDir: SCHEMAS,
        },
      );
      assert.ok(kinds.includes("RayService"), s.name);
      assert.deepEqual(issues.map((i) => formatManifestIssue(i, kinds[i.doc])), [], s.name);
    }
  },
});

Deno.test({
  name: "a hand-written multi-document file: YAML errors and each document's issues are reported",
  ignore: !schemasPresent,
  async fn() {
    const [svc] = await exported("production", "knative");
    (svc.spec as Doc).template.metadata.annotations[`${ANN}window`] = "1h30m";
    const text = `${
      stringify(svc)
    }---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\n---\n{ not: [yaml\n`;
    const { issues, unchecked } = checkManifestText(text, { schemasDir: SCHEMAS });
    assert.deepEqual(unchecked, [1]);
    assert.ok(
      issues.some((i) =>
        i.doc === 0 && i.path.endsWith(`["${ANN}window"]`) && /1h/.test(i.message)
      ),
    );
    assert.ok(issues.some((i) => i.doc === 2 && i.rule === "yaml"));
  },
});

Deno.test("Knative annotation checks accept the camelCase aliases and refuse a key set twice", () => {
  const ok = knativeAnnotationIssues({ [`${ANN}minScale`]: "1", [`${ANN}maxScale`]: "0" }, {
    basePath: ["a"],
    doc: 0,
  });
  assert.deepEqual(ok, [], "max-scale 0 means unlimited");
  const twice = knativeAnnotationIssues({ [`${ANN}minScale`]: "1", [`${ANN}min-scale`]: "2" }, {
    basePath: ["a"],
    doc: 0,
  });
  assert.match(twice[0].message, /sets min-scale twice/);
});

Deno.test("Go durations parse as Knative's webhook reads them", () => {
  assert.equal(parseGoDurationMs("600s"), 600_000);
  assert.equal(parseGoDurationMs("1m30s"), 90_000);
  assert.equal(parseGoDurationMs("1.5h"), 5_400_000);
  assert.equal(parseGoDurationMs("0"), 0);
  assert.equal(parseGoDurationMs("600"), null);
  assert.equal(parseGoDurationMs("10 s"), null);
});

Deno.test("additionalProperties: false is injected where properties are listed, not where unknown fields are kept", () => {
  const schema: Doc = {
    type: "object",
    properties: {
      a: { type: "object", properties: { b: { type: "string" } } },
      free: { type: "object", "x-kubernetes-preserve-unknown-fields": true, properties: { c: {} } },
      list: { type: "array", items: { type: "object", properties: { d: {} } } },
      map: { type: "object", additionalProperties: { type: "string" } },
    },
  };
  injectAdditionalPropertiesFalse(schema);
  assert.equal(schema.additionalProperties, false);
  assert.equal(schema.properties.a.additionalProperties, false);
  assert.equal(schema.properties.free.additionalProperties, undefined);
  assert.equal(schema.properties.list.items.additionalProperties, false);
  assert.deepEqual(schema.properties.map.additionalProperties, { type: "string" });
});
