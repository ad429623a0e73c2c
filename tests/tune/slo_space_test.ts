import { deepStrictEqual, ok, strictEqual, throws } from "node:assert/strict";
import { loadConfig, parseConfig } from "../../lib/config/mod.ts";
import {
  applyOverrides,
  defaultSearchSpace,
  KNOB_NAMES,
  knobsAt,
  knobsOf,
  meetsSlo,
  parseSlo,
  TuneInputError,
  withKnobs,
} from "../../lib/tune/mod.ts";
import { createRng } from "../../lib/sim/mod.ts";

Deno.test("parseSlo() reads latencies in ms or s and fail ratios as fractions or %", () => {
  deepStrictEqual(parseSlo("p99<500"), { metric: "p99", op: "<", limit: 500, text: "p99<500" });
  strictEqual(parseSlo("p90 <= 0.5s").limit, 500);
  strictEqual(parseSlo("p90 <= 0.5s").op, "<=");
  strictEqual(parseSlo("fail_ratio<0.1%").limit, 0.001);
  const f = { p50Ms: 10, p90Ms: 20, p99Ms: 500, meanMs: 12, failRatio: 0 };
  strictEqual(meetsSlo(parseSlo("p99<500"), f), false);
  strictEqual(meetsSlo(parseSlo("p99<=500"), f), true);
});

Deno.test("parseSlo() says what is wrong with an SLO it cannot read", () => {
  throws(() => parseSlo("p99 under 500"), TuneInputError);
  throws(() => parseSlo("p99 under 500"), /expected METRIC<LIMIT/);
  throws(() => parseSlo("p42<500"), /unknown metric "p42"/);
  throws(() => parseSlo("p99<0"), /must be a number > 0/);
  throws(() => parseSlo("fail_ratio<5ms"), /fraction, not a duration/);
});

Deno.test("applyOverrides() refuses min > max, unknown knobs and bad numbers", () => {
  const space = defaultSearchSpace();
  throws(
    () => applyOverrides(space, { bounds: ["max_replicas=20:2"] }),
    /--bound max_replicas=20:2: min 20 > max 2/,
  );
  throws(() => applyOverrides(space, { bounds: ["replicas=1:2"] }), /unknown knob "replicas"/);
  throws(() => applyOverrides(space, { pins: ["min_replicas=one"] }), /is not a number/);
  throws(() => applyOverrides(space, { pins: ["min_replicas=1.5"] }), /takes integers/);
  throws(() => applyOverrides(space, { bounds: ["downscale_delay_s=0:10"] }), /log scale/);
});

Deno.test("knobsAt() stays inside the bounds and honours pins; max_replicas >= min_replicas", () => {
  const space = applyOverrides(defaultSearchSpace(), {
    bounds: ["max_replicas=2:6", "target_ongoing_requests=1:3"],
    pins: ["upscale_delay_s=7"],
  });
  const rng = createRng(5);
  for (let i = 0; i < 500; i++) {
    const k = knobsAt(space, KNOB_NAMES.map(() => rng.next()));
    ok(k.max_replicas >= 2 && k.max_replicas <= 6, `max_replicas ${k.max_replicas}`);
    ok(k.max_replicas >= k.min_replicas);
    ok(k.target_ongoing_requests >= 1 && k.target_ongoing_requests <= 3);
    strictEqual(k.upscale_delay_s, 7);
    ok(k.max_queued_requests === -1 || k.max_queued_requests >= 4);
    ok(Number.isInteger(k.min_replicas) && Number.isInteger(k.max_ongoing_requests));
  }
});

Deno.test("withKnobs() sets every knob on the served deployment and leaves the base alone", async () => {
  const { config } = await loadConfig("configs/basic.yaml");
  const before = JSON.stringify(config);
  const k = { ...knobsOf(config), upscaling_factor: 1.5, max_queued_requests: 12, min_replicas: 2 };
  const tuned = withKnobs(config, k);
  deepStrictEqual(knobsOf(tuned), k);
  strictEqual(JSON.stringify(config), before);
});

Deno.test("knobsOf() refuses a fixed-size deployment: nothing to tune", () => {
  const { config } = parseConfig(
    [
      "applications:",
      "  - name: a",
      "    import_path: autoscale_lab.serve:app",
      "    deployments:",
      "      - name: d",
      "        num_replicas: 2",
      "        user_config: { model: resnet50 }",
    ].join("\n"),
    { sourcePath: "fixed.yaml" },
  );
  throws(() => knobsOf(config), /fixed\.yaml: the served deployment has no autoscaling_config/);
});
