/**
 * The tutorial's configs in configs/: each validates without warnings, carries the tutorial's
 * values, and takes Ray's defaults for everything else.
 */
import assert from "node:assert/strict";
import {
  AUTOSCALING_DEFAULTS,
  type AutoscalingConfig,
  DEPLOYMENT_DEFAULTS,
  effectiveScalingFactors,
  formatEffectiveConfig,
  loadConfig,
  parseConfig,
} from "../../lib/config/mod.ts";

const configsDir = new URL("../../configs/", import.meta.url);

/** What the tutorial lists for each file (on top of basic.yaml's target 2, min 1, max 100). */
type Expected = Partial<AutoscalingConfig> & { upscale?: number; downscale?: number };
const BASIC: Expected = { target_ongoing_requests: 2, min_replicas: 1, max_replicas: 100 };
const TUTORIAL: Record<string, Expected> = {
  "basic.yaml": { ...BASIC },
  "aggressive_upscale.yaml": {
    ...BASIC,
    upscale_delay_s: 15,
    metrics_interval_s: 5,
    upscale: 1.5,
  },
  "conservative_downscale.yaml": { ...BASIC, downscale_delay_s: 900, downscale: 0.8 },
  "production.yaml": {
    ...BASIC,
    min_replicas: 2,
    max_replicas: 50,
    upscale_delay_s: 20,
    downscale_delay_s: 600,
    upscale: 1.2,
    downscale: 0.9,
  },
  "single_replica.yaml": { ...BASIC, min_replicas: 1, max_replicas: 1 },
  "cost_optimized.yaml": {
    ...BASIC,
    target_ongoing_requests: 5,
    upscale_delay_s: 45,
    downscale_delay_s: 300,
    upscale: 1.0,
    downscale: 1.2,
  },
  "latency_optimized.yaml": {
    ...BASIC,
    target_ongoing_requests: 1,
    min_replicas: 5,
    upscale_delay_s: 10,
    downscale_delay_s: 1200,
    upscale: 2.0,
    downscale: 0.5,
  },
  "predictable_traffic.yaml": {
    ...BASIC,
    min_replicas: 2,
    max_replicas: 20,
    upscale_delay_s: 30,
    downscale_delay_s: 1800,
  },
  "dev_fast.yaml": {
    ...BASIC,
    max_replicas: 4,
    upscale_delay_s: 1,
    downscale_delay_s: 3,
    metrics_interval_s: 0.5,
    look_back_period_s: 2,
  },
};

/** Ours, not the tutorial's: the two-minute scaling demo (tests/serve/demo_scaling_test.ts runs it). */
const DEMO = ["demo.yaml"];

Deno.test("every tutorial config is present in configs/ and nothing unexpected is there", () => {
  const present = [...Deno.readDirSync(configsDir)]
    .filter((e) => e.isFile && e.name.endsWith(".yaml"))
    .map((e) => e.name)
    .sort();
  assert.deepEqual(present, [...Object.keys(TUTORIAL), ...DEMO].sort());
});

for (const [file, expected] of Object.entries(TUTORIAL)) {
  Deno.test(`configs/${file} validates and has the tutorial's values over Ray's defaults`, async () => {
    const path = new URL(file, configsDir).pathname;
    const { config, warnings } = await loadConfig(path);
    assert.deepEqual(warnings, [], "no warnings");
    assert.equal(config.http_options.host, "127.0.0.1");
    assert.equal(config.http_options.port, 8000);
    assert.equal(config.applications.length, 1);
    const app = config.applications[0];
    assert.equal(app.name, "image_classifier");
    assert.equal(app.route_prefix, "/");
    const dep = app.deployments[0];
    assert.equal(dep.name, "ImageClassifier");
    assert.equal(dep.num_replicas, null, "autoscaled");
    // Deployment fields: Ray's defaults everywhere.
    for (const [key, value] of Object.entries(DEPLOYMENT_DEFAULTS)) {
      if (key === "num_replicas") continue;
      assert.equal(dep[key as keyof typeof dep], value, key);
    }
    // dev_fast's no-op replicas take half a CPU, so its 4 fit on a 2-core machine.
    assert.equal(dep.ray_actor_options.num_cpus, file === "dev_fast.yaml" ? 0.5 : 1);
    const as = dep.autoscaling_config!;
    const { upscale, downscale, ...fields } = expected;
    // The tutorial's values, then Ray's defaults for every field the tutorial does not list.
    const want: AutoscalingConfig = { ...AUTOSCALING_DEFAULTS, ...fields };
    for (const key of Object.keys(want) as (keyof AutoscalingConfig)[]) {
      if (key === "upscaling_factor" || key === "downscaling_factor") continue;
      assert.deepEqual(as[key], want[key], key);
    }
    assert.deepEqual(effectiveScalingFactors(as), {
      upscale: upscale ?? 1,
      downscale: downscale ?? 1,
    });
    assert.deepEqual(
      dep.user_config.model,
      file === "dev_fast.yaml" ? { kind: "noop", service_time_ms: 20 } : { kind: "resnet50" },
    );
  });
}

Deno.test("every config file starts with a comment on its use case, characteristics and trade-offs", async () => {
  for (const file of [...Object.keys(TUTORIAL), ...DEMO]) {
    const text = await Deno.readTextFile(new URL(file, configsDir));
    const header = text.slice(0, text.indexOf("http_options:"));
    assert.match(header, new RegExp(`^# ${file.replace(".", "\\.")}:`), file);
    for (const word of ["Use case:", "Characteristics:", "Trade-offs:"]) {
      assert.ok(header.includes(word), `${file} header lacks "${word}"`);
    }
  }
  const devFast = await Deno.readTextFile(new URL("dev_fast.yaml", configsDir));
  assert.match(devFast, /end-to-end tests/);
});

Deno.test("formatEffectiveConfig() shows basic.yaml's unlisted defaults: 600 s downscale, factors 1", async () => {
  const { config } = await loadConfig(new URL("basic.yaml", configsDir).pathname);
  const text = formatEffectiveConfig(config, { sourceLabel: "configs/basic.yaml" });
  assert.match(text, /^# effective config of configs\/basic\.yaml/);
  for (
    const line of [
      "downscale_delay_s: 600",
      "upscale_delay_s: 30",
      "look_back_period_s: 30",
      "metrics_interval_s: 10",
      "upscaling_factor: 1 #",
      "downscaling_factor: 1 #",
      "max_ongoing_requests: 5",
      "max_queued_requests: -1 # no limit",
      "model: resnet50",
      "top_k: 5",
    ]
  ) assert.ok(text.includes(line), `effective config lacks "${line}":\n${text}`);
});

Deno.test("formatEffectiveConfig() output loads back, without warnings, to the same config", async () => {
  for (const file of Object.keys(TUTORIAL)) {
    const { config } = await loadConfig(new URL(file, configsDir).pathname);
    const again = parseConfig(formatEffectiveConfig(config), { sourcePath: config.source_path! });
    assert.deepEqual(again.warnings, [], file);
    const strip = (c: typeof config) =>
      JSON.parse(
        JSON.stringify(c, (k, v) =>
          k === "upscaling_factor" || k === "downscaling_factor" ? undefined : v),
      );
    assert.deepEqual(strip(again.config), strip(config), file);
    const as = config.applications[0].deployments[0].autoscaling_config!;
    const as2 = again.config.applications[0].deployments[0].autoscaling_config!;
    assert.deepEqual(effectiveScalingFactors(as2), effectiveScalingFactors(as), file);
  }
});
