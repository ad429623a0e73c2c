/** Model specs: the `--model` flag's strings and `user_config.model` in YAML. */
import assert from "node:assert/strict";
import { ConfigError, parseConfig, parseModelSpec } from "../../lib/config/mod.ts";

Deno.test("parseModelSpec() understands resnet50, noop, noop:<ms> and .onnx paths", () => {
  assert.deepEqual(parseModelSpec("resnet50"), { kind: "resnet50" });
  assert.deepEqual(parseModelSpec("noop"), { kind: "noop", service_time_ms: 0 });
  assert.deepEqual(parseModelSpec("noop:20"), { kind: "noop", service_time_ms: 20 });
  assert.deepEqual(parseModelSpec("noop:2.5"), { kind: "noop", service_time_ms: 2.5 });
  assert.deepEqual(parseModelSpec("models/m.onnx", { baseDir: "/srv/lab" }), {
    kind: "path",
    path: "/srv/lab/models/m.onnx",
  });
  assert.deepEqual(parseModelSpec("/abs/m.ONNX", { baseDir: "/srv" }), {
    kind: "path",
    path: "/abs/m.ONNX",
  });
});

Deno.test("parseModelSpec() takes emulate:SPEC in every simulate --service-time form", () => {
  for (const spec of ["45", "fixed:45", "exp:45", "lognormal:45,80", "lognormal:mean=45,p99=80"]) {
    assert.deepEqual(parseModelSpec(`emulate:${spec}`), { kind: "emulate", spec });
  }
  // Files (a benchmark JSON, a Locust _stats.csv) are resolved here and read when serving starts.
  assert.deepEqual(parseModelSpec("emulate:results/run_stats.csv", { baseDir: "/srv/lab" }), {
    kind: "emulate",
    spec: "/srv/lab/results/run_stats.csv",
  });
  assert.deepEqual(parseModelSpec("emulate:bench.json#native/2", { baseDir: "/srv" }), {
    kind: "emulate",
    spec: "/srv/bench.json#native/2",
  });
  const head =
    "applications:\n  - name: a\n    import_path: m:app\n    deployments:\n      - name: D\n        user_config:\n";
  const fromYaml = parseConfig(`${head}          model: emulate:lognormal:45,80\n`, {
    sourcePath: "/srv/lab/configs/x.yaml",
  }).config.applications[0].deployments[0].user_config.model;
  assert.deepEqual(fromYaml, { kind: "emulate", spec: "lognormal:45,80" });
  assert.throws(
    () => parseConfig(`${head}          model: emulate:lognormal:45\n`, { sourcePath: "c.yaml" }),
    (e: unknown) =>
      e instanceof ConfigError && /^c\.yaml:7:18: .*user_config\.model must be emulate:SPEC/
        .test(e.message),
  );
});

Deno.test("parseModelSpec() refuses what it cannot serve, saying what would be right", () => {
  const cases: [string, RegExp][] = [
    [
      "resnet",
      /--model must be resnet50, noop, noop:<ms>, emulate:SPEC or a path.*did you mean "resnet50"\?/,
    ],
    ["emulate:", /--model must be emulate:SPEC .*no SPEC/],
    ["emulate:lognormal:45", /emulate: lognormal needs a mean and a p99/],
    ["emulate:lognormal:45,1000", /p99 1000 ms is too far above the mean/],
    ["emulate:exp:-3", /emulate: .*expected a number/],
    ["noop:fast", /--model must be noop:<ms> .* got "noop:fast"/],
    ["noop:-1", /milliseconds >= 0/],
    ["https://x.org/m.onnx", /a downloaded model needs a checksum: write \{url: \.\.\., sha256/],
    ["", /must be resnet50/],
  ];
  for (const [value, pattern] of cases) {
    assert.throws(
      () => parseModelSpec(value),
      (e: unknown) => e instanceof ConfigError && pattern.test(e.message),
      value,
    );
  }
});

Deno.test("user_config.model map forms resolve paths from the config file's folder", () => {
  const head =
    "applications:\n  - name: a\n    import_path: m:app\n    deployments:\n      - name: D\n        user_config:\n          model:\n";
  const load = (lines: string) =>
    parseConfig(head + lines, { sourcePath: "/srv/lab/configs/x.yaml" }).config.applications[0]
      .deployments[0].user_config.model;
  assert.deepEqual(load("            path: ../models/m.bin\n"), {
    kind: "path",
    path: "/srv/lab/models/m.bin",
  });
  const sha = "ab".repeat(32);
  assert.deepEqual(
    load(`            url: https://example.com/m.onnx\n            sha256: ${sha}\n`),
    {
      kind: "url",
      url: "https://example.com/m.onnx",
      sha256: sha,
    },
  );
  assert.deepEqual(load("            noop: {service_time_ms: 15}\n"), {
    kind: "noop",
    service_time_ms: 15,
  });
  const inline = parseConfig(head.replace("model:\n", "model: ./m.onnx\n"), {
    sourcePath: "/srv/lab/configs/x.yaml",
  });
  assert.deepEqual(inline.config.applications[0].deployments[0].user_config.model, {
    kind: "path",
    path: "/srv/lab/configs/m.onnx",
  });
});

Deno.test("a url model without sha256 is refused at the model's line", () => {
  const text =
    "applications:\n  - name: a\n    import_path: m:app\n    deployments:\n      - name: D\n        user_config:\n          model:\n            url: https://example.com/m.onnx\n";
  assert.throws(
    () => parseConfig(text, { sourcePath: "c.yaml" }),
    (e: unknown) =>
      e instanceof ConfigError &&
      /^c\.yaml:8:13: applications\[0\]\.deployments\[0\]\.user_config\.model\.sha256 is required/
        .test(e.message),
  );
});
