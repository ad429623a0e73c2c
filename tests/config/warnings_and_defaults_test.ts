/**
 * What a valid config turns into: deprecated aliases accepted with a warning naming the new field,
 * questionable settings warned about, and Ray's defaults for num_replicas / autoscaling.
 */
import assert from "node:assert/strict";
import { type ConfigIssue, parseConfig } from "../../lib/config/mod.ts";

const FILE = "configs/test.yaml";
const D = "applications[0].deployments[0]";
const A = `${D}.autoscaling_config`;
const HEAD =
  "applications:\n  - name: app\n    import_path: m:app\n    deployments:\n      - name: D\n";
const dep = (...lines: string[]) => HEAD + lines.map((l) => `        ${l}\n`).join("");
const auto = (...lines: string[]) => dep("autoscaling_config:", ...lines.map((l) => `  ${l}`));
const load = (text: string) => parseConfig(text, { sourcePath: FILE });
const warningAt = (warnings: ConfigIssue[], path: string) => {
  const w = warnings.find((i) => i.path === path);
  assert.ok(w, `no warning for ${path}; got ${JSON.stringify(warnings)}`);
  assert.equal(w.severity, "warning");
  return w;
};

Deno.test("deprecated target_num_ongoing_requests_per_replica is used for target_ongoing_requests, with a warning", () => {
  const { config, warnings } = load(
    auto("max_replicas: 10", "target_num_ongoing_requests_per_replica: 3"),
  );
  assert.equal(
    config.applications[0].deployments[0].autoscaling_config!.target_ongoing_requests,
    3,
  );
  const w = warningAt(warnings, `${A}.target_num_ongoing_requests_per_replica`);
  assert.equal(w.line, 8);
  assert.equal(w.column, 11);
  assert.match(w.message, /deprecated; use target_ongoing_requests instead/);
});

Deno.test("deprecated max_concurrent_queries is used for max_ongoing_requests, with a warning", () => {
  const { config, warnings } = load(dep("max_concurrent_queries: 7"));
  assert.equal(config.applications[0].deployments[0].max_ongoing_requests, 7);
  const w = warningAt(warnings, `${D}.max_concurrent_queries`);
  assert.equal(w.line, 6);
  assert.match(w.message, /use max_ongoing_requests instead/);
});

Deno.test("deprecated smoothing factors are kept, warned about, and drive the effective factors", async (t) => {
  await t.step("smoothing_factor", () => {
    const { config, warnings } = load(auto("smoothing_factor: 2"));
    assert.equal(config.applications[0].deployments[0].autoscaling_config!.smoothing_factor, 2);
    assert.match(
      warningAt(warnings, `${A}.smoothing_factor`).message,
      /use upscaling_factor and downscaling_factor/,
    );
  });
  await t.step("upscale_smoothing_factor", () => {
    const { config, warnings } = load(auto("upscale_smoothing_factor: 1.5"));
    assert.equal(
      config.applications[0].deployments[0].autoscaling_config!.upscale_smoothing_factor,
      1.5,
    );
    assert.match(
      warningAt(warnings, `${A}.upscale_smoothing_factor`).message,
      /use upscaling_factor/,
    );
  });
  await t.step("downscale_smoothing_factor", () => {
    const { warnings } = load(auto("downscale_smoothing_factor: 0.5"));
    assert.match(
      warningAt(warnings, `${A}.downscale_smoothing_factor`).message,
      /use downscaling_factor/,
    );
  });
  await t.step("alias and new name together: the alias is said to be ignored", () => {
    const { warnings } = load(auto("upscaling_factor: 2", "upscale_smoothing_factor: 1.5"));
    const messages = warnings.filter((w) => w.path === `${A}.upscale_smoothing_factor`)
      .map((w) => w.message);
    assert.ok(
      messages.some((m) => /ignored because upscaling_factor is set/.test(m)),
      messages.join(),
    );
  });
});

Deno.test("look_back_period_s <= metrics_interval_s is warned about, at look_back_period_s", () => {
  const { warnings } = load(auto("metrics_interval_s: 5", "look_back_period_s: 5"));
  const w = warningAt(warnings, `${A}.look_back_period_s`);
  assert.equal(w.line, 8);
  assert.equal(w.column, 31);
  assert.match(w.message, /\(5\) should be > metrics_interval_s \(5\)/);
  // And when only metrics_interval_s is raised above the default window (30 s).
  const only = load(auto("metrics_interval_s: 40")).warnings;
  assert.equal(warningAt(only, `${A}.look_back_period_s`).line, 7);
  // No warning when the window spans several pushes.
  assert.deepEqual(load(auto("metrics_interval_s: 5", "look_back_period_s: 30")).warnings, []);
});

Deno.test("Ray fields that are not modelled are accepted with an 'ignored' warning", () => {
  const text = "proxy_location: EveryNode\n" + dep("rolling_update_percentage: 0.5");
  const { warnings } = load(text);
  assert.match(warningAt(warnings, "proxy_location").message, /does not model; ignored/);
  assert.equal(warningAt(warnings, `${D}.rolling_update_percentage`).line, 7);
});

Deno.test("num_replicas: auto gives min 1, max 100, target 2, and user fields override them", () => {
  const plain = load(dep("num_replicas: auto")).config.applications[0].deployments[0];
  assert.equal(plain.num_replicas, null);
  assert.equal(plain.autoscaling_config!.min_replicas, 1);
  assert.equal(plain.autoscaling_config!.max_replicas, 100);
  assert.equal(plain.autoscaling_config!.target_ongoing_requests, 2);
  const tuned = load(dep("num_replicas: auto", "autoscaling_config:", "  max_replicas: 8"))
    .config.applications[0].deployments[0].autoscaling_config!;
  assert.equal(tuned.max_replicas, 8);
  assert.equal(tuned.min_replicas, 1);
});

Deno.test("autoscaling_config without num_replicas: auto takes AutoscalingConfig's defaults (max 1)", () => {
  const as = load(auto("target_ongoing_requests: 3")).config.applications[0].deployments[0]
    .autoscaling_config!;
  assert.equal(as.max_replicas, 1);
  assert.equal(as.min_replicas, 1);
  assert.equal(as.upscale_delay_s, 30);
  assert.equal(as.downscale_delay_s, 600);
});

Deno.test("a fixed num_replicas without autoscaling_config gives a fixed-size deployment", () => {
  const d = load(dep("num_replicas: 3")).config.applications[0].deployments[0];
  assert.equal(d.num_replicas, 3);
  assert.equal(d.autoscaling_config, null);
  const none = load(HEAD).config.applications[0].deployments[0];
  assert.equal(none.num_replicas, 1, "Ray's default: one replica");
  assert.equal(none.autoscaling_config, null);
});

Deno.test("a minimal config is fully defaulted (http, application, deployment, user_config)", () => {
  const { config, warnings } = load(HEAD);
  assert.deepEqual(warnings, []);
  assert.deepEqual(config.http_options, {
    host: "127.0.0.1",
    port: 8000,
    root_path: "",
    request_timeout_s: null,
    keep_alive_timeout_s: 90,
    listener: "auto",
    header_timeout_s: 20,
    max_pending_connections: 1000,
  });
  assert.equal(config.applications[0].route_prefix, "/");
  const d = config.applications[0].deployments[0];
  assert.deepEqual(d.ray_actor_options, { num_cpus: 1, num_gpus: 0 });
  assert.deepEqual(d.user_config, {
    model: { kind: "resnet50" },
    backend: "auto",
    top_k: 5,
    max_image_bytes: 20_000_000,
    max_image_pixels: 40_000_000,
    image_fetch_timeout_s: 10,
    allowed_image_hosts: [],
  });
  assert.ok(config.source_path?.endsWith("/configs/test.yaml"));
});

Deno.test("aggregation_function is case-insensitive and normalised to lower case", () => {
  const as = load(auto("aggregation_function: MAX")).config.applications[0].deployments[0]
    .autoscaling_config!;
  assert.equal(as.aggregation_function, "max");
});

Deno.test("a custom policy reference is kept with its kwargs", () => {
  const as = load(auto("policy:", "  policy_function: ./p.ts:myPolicy", "  policy_kwargs: {k: 2}"))
    .config.applications[0].deployments[0].autoscaling_config!;
  assert.deepEqual(as.policy, { policy_function: "./p.ts:myPolicy", policy_kwargs: { k: 2 } });
});

Deno.test("batching is off by default; max_batch_size / batch_wait_timeout_s are read as given", () => {
  const off = load(dep("max_ongoing_requests: 8")).config.applications[0].deployments[0];
  assert.equal(off.max_batch_size, 1);
  assert.equal(off.batch_wait_timeout_s, 0.01);
  const { config, warnings } = load(
    dep("max_ongoing_requests: 8", "max_batch_size: 8", "batch_wait_timeout_s: 0.05"),
  );
  const d = config.applications[0].deployments[0];
  assert.equal(d.max_batch_size, 8);
  assert.equal(d.batch_wait_timeout_s, 0.05);
  assert.deepEqual(warnings, []);
});

Deno.test("max_batch_size above max_ongoing_requests is warned about: batches could never fill", () => {
  const w = warningAt(load(dep("max_batch_size: 16")).warnings, `${D}.max_batch_size`);
  assert.equal(w.line, 6);
  assert.match(w.message, /\(16\) is larger than max_ongoing_requests \(5, the default\)/);
});
