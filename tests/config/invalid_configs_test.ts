/**
 * Table-driven: each invalid config is refused with an error that names the file, the line (and
 * column where there is a place to point at), the field path, what was expected and what was found.
 */
import assert from "node:assert/strict";
import { ConfigError, type ConfigIssue, parseConfig } from "../../lib/config/mod.ts";

const FILE = "configs/test.yaml";
const D = "applications[0].deployments[0]";
const A = `${D}.autoscaling_config`;
const U = `${D}.user_config`;

/** Lines 1-5; deployment fields start on line 6. */
const HEAD =
  "applications:\n  - name: app\n    import_path: m:app\n    deployments:\n      - name: D\n";
/** Deployment fields, from line 6. */
const dep = (...lines: string[]) => HEAD + lines.map((l) => `        ${l}\n`).join("");
/** autoscaling_config fields, from line 7. */
const auto = (...lines: string[]) => dep("autoscaling_config:", ...lines.map((l) => `  ${l}`));
/** user_config fields, from line 7. */
const user = (...lines: string[]) => dep("user_config:", ...lines.map((l) => `  ${l}`));
/** Top-level fields before `applications:` (lines 1..n), then HEAD. */
const top = (...lines: string[]) => lines.map((l) => `${l}\n`).join("") + HEAD;

interface Case {
  name: string;
  text: string;
  /** Field path the error names. */
  path: string;
  /** Line the error points at. */
  line: number;
  /** Text on that line where the error's column must point; omit when there is no column. */
  at?: string;
  /** A fragment the message must contain (what was expected / found / suggested). */
  says: string;
}

const cases: Case[] = [
  // wrong types
  {
    name: "min_replicas as a word",
    text: auto('min_replicas: "one"'),
    path: `${A}.min_replicas`,
    line: 7,
    at: '"one"',
    says: 'must be an integer >= 0, got "one" (a string)',
  },
  {
    name: "min_replicas as a fraction",
    text: auto("min_replicas: 1.5"),
    path: `${A}.min_replicas`,
    line: 7,
    at: "1.5",
    says: "must be an integer >= 0, got 1.5",
  },
  {
    name: "target_ongoing_requests quoted",
    text: auto('target_ongoing_requests: "2"'),
    path: `${A}.target_ongoing_requests`,
    line: 7,
    at: '"2"',
    says: 'must be a number > 0, got "2" (a string)',
  },
  {
    name: "downscale_delay_s as a boolean",
    text: auto("downscale_delay_s: true"),
    path: `${A}.downscale_delay_s`,
    line: 7,
    at: "true",
    says: "got true (a boolean)",
  },
  {
    name: "upscale_delay_s as a list",
    text: auto("upscale_delay_s: [30]"),
    path: `${A}.upscale_delay_s`,
    line: 7,
    at: "[30]",
    says: "must be a number >= 0, got a list",
  },
  {
    name: "http_options.host as a number",
    text: top("http_options:", "  host: 5"),
    path: "http_options.host",
    line: 2,
    at: "5",
    says: "must be a non-empty string, got 5",
  },
  {
    name: "autoscaling_config not a mapping",
    text: dep("autoscaling_config: 5"),
    path: `${A}`,
    line: 6,
    at: "5",
    says: "must be a mapping of autoscaling_config fields, got 5",
  },
  {
    name: "num_replicas Auto in capitals",
    text: dep("num_replicas: Auto"),
    path: `${D}.num_replicas`,
    line: 6,
    at: "Auto",
    says: 'write "auto" in lower case',
  },
  {
    name: "applications not a list",
    text: "applications: image_classifier\n",
    path: "applications",
    line: 1,
    at: "image_classifier",
    says: "must be a list of applications",
  },
  {
    name: "top level is a list",
    text: "- name: app\n",
    path: "",
    line: 1,
    at: "- name",
    says: "must be a YAML mapping with `applications:`",
  },
  // out of range
  {
    name: "min_replicas negative",
    text: auto("min_replicas: -1"),
    path: `${A}.min_replicas`,
    line: 7,
    at: "-1",
    says: "must be >= 0, got -1",
  },
  {
    name: "max_replicas zero",
    text: auto("max_replicas: 0"),
    path: `${A}.max_replicas`,
    line: 7,
    at: "0",
    says: "must be >= 1, got 0",
  },
  {
    name: "target_ongoing_requests zero",
    text: auto("target_ongoing_requests: 0"),
    path: `${A}.target_ongoing_requests`,
    line: 7,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "upscale_delay_s negative",
    text: auto("upscale_delay_s: -5"),
    path: `${A}.upscale_delay_s`,
    line: 7,
    at: "-5",
    says: "must be >= 0, got -5",
  },
  {
    name: "metrics_interval_s zero",
    text: auto("metrics_interval_s: 0"),
    path: `${A}.metrics_interval_s`,
    line: 7,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "look_back_period_s infinite",
    text: auto("look_back_period_s: .inf"),
    path: `${A}.look_back_period_s`,
    line: 7,
    at: ".inf",
    says: "must be a number > 0, got .inf",
  },
  {
    name: "upscaling_factor zero",
    text: auto("upscaling_factor: 0"),
    path: `${A}.upscaling_factor`,
    line: 7,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "downscaling_factor negative",
    text: auto("downscaling_factor: -0.5"),
    path: `${A}.downscaling_factor`,
    line: 7,
    at: "-0.5",
    says: "must be > 0, got -0.5",
  },
  {
    name: "aggregation_function unknown",
    text: auto("aggregation_function: median"),
    path: `${A}.aggregation_function`,
    line: 7,
    at: "median",
    says: 'did you mean "mean"?',
  },
  {
    name: "num_replicas zero",
    text: dep("num_replicas: 0"),
    path: `${D}.num_replicas`,
    line: 6,
    at: "0",
    says: 'must be an integer >= 1, "auto" or null, got 0',
  },
  {
    name: "max_ongoing_requests zero",
    text: dep("max_ongoing_requests: 0"),
    path: `${D}.max_ongoing_requests`,
    line: 6,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "max_batch_size zero",
    text: dep("max_batch_size: 0"),
    path: `${D}.max_batch_size`,
    line: 6,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "max_batch_size fraction",
    text: dep("max_batch_size: 2.5"),
    path: `${D}.max_batch_size`,
    line: 6,
    at: "2.5",
    says: "2.5",
  },
  {
    name: "batch_wait_timeout_s negative",
    text: dep("batch_wait_timeout_s: -0.1"),
    path: `${D}.batch_wait_timeout_s`,
    line: 6,
    at: "-0.1",
    says: "got -0.1",
  },
  {
    name: "batch_wait_timeout_s text",
    text: dep('batch_wait_timeout_s: "soon"'),
    path: `${D}.batch_wait_timeout_s`,
    line: 6,
    at: '"soon"',
    says: "soon",
  },
  {
    name: "max_queued_requests zero",
    text: dep("max_queued_requests: 0"),
    path: `${D}.max_queued_requests`,
    line: 6,
    at: "0",
    says: "must be -1 (no limit) or an integer >= 1, got 0",
  },
  {
    name: "max_queued_requests -2",
    text: dep("max_queued_requests: -2"),
    path: `${D}.max_queued_requests`,
    line: 6,
    at: "-2",
    says: "must be -1 (no limit) or an integer >= 1, got -2",
  },
  {
    name: "health_check_period_s zero",
    text: dep("health_check_period_s: 0"),
    path: `${D}.health_check_period_s`,
    line: 6,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "graceful_shutdown_timeout_s negative",
    text: dep("graceful_shutdown_timeout_s: -1"),
    path: `${D}.graceful_shutdown_timeout_s`,
    line: 6,
    at: "-1",
    says: "must be >= 0, got -1",
  },
  {
    name: "max_constructor_retry_count fraction",
    text: dep("max_constructor_retry_count: 2.5"),
    path: `${D}.max_constructor_retry_count`,
    line: 6,
    at: "2.5",
    says: "must be an integer > 0, got 2.5",
  },
  {
    name: "num_cpus negative",
    text: dep("ray_actor_options:", "  num_cpus: -1"),
    path: `${D}.ray_actor_options.num_cpus`,
    line: 7,
    at: "-1",
    says: "must be >= 0, got -1",
  },
  {
    name: "port out of range",
    text: top("http_options:", "  port: 70000"),
    path: "http_options.port",
    line: 2,
    at: "70000",
    says: "must be <= 65535, got 70000",
  },
  {
    name: "listener unknown",
    text: top("http_options:", "  listener: nginx"),
    path: "http_options.listener",
    line: 2,
    at: "nginx",
    says: 'must be one of "auto", "node", "deno", got "nginx"',
  },
  {
    name: "header_timeout_s zero",
    text: top("http_options:", "  header_timeout_s: 0"),
    path: "http_options.header_timeout_s",
    line: 2,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "max_pending_connections fractional",
    text: top("http_options:", "  max_pending_connections: 1.5"),
    path: "http_options.max_pending_connections",
    line: 2,
    at: "1.5",
    says: "must be an integer >= 1, got 1.5",
  },
  {
    name: "top_k zero",
    text: user("top_k: 0"),
    path: `${U}.top_k`,
    line: 7,
    at: "0",
    says: "must be >= 1, got 0",
  },
  {
    name: "top_k above the class count",
    text: user("top_k: 5000"),
    path: `${U}.top_k`,
    line: 7,
    at: "5000",
    says: "must be <= 1000, got 5000",
  },
  {
    name: "image_fetch_timeout_s zero",
    text: user("image_fetch_timeout_s: 0"),
    path: `${U}.image_fetch_timeout_s`,
    line: 7,
    at: "0",
    says: "must be > 0, got 0",
  },
  // cross-field rules
  {
    name: "min_replicas above max_replicas",
    text: auto("min_replicas: 3", "max_replicas: 2"),
    path: `${A}.max_replicas`,
    line: 8,
    at: "2",
    says: "must be >= min_replicas (3), got 2",
  },
  {
    name: "min_replicas above the default max",
    text: auto("min_replicas: 2"),
    path: `${A}.min_replicas`,
    line: 7,
    at: "2",
    says: "must be <= max_replicas (1, the default), got 2",
  },
  {
    name: "initial_replicas below min",
    text: auto("min_replicas: 2", "max_replicas: 5", "initial_replicas: 1"),
    path: `${A}.initial_replicas`,
    line: 9,
    at: "1",
    says: "must be >= min_replicas (2), got 1",
  },
  {
    name: "initial_replicas above max",
    text: auto("min_replicas: 1", "max_replicas: 5", "initial_replicas: 6"),
    path: `${A}.initial_replicas`,
    line: 9,
    at: "6",
    says: "must be <= max_replicas (5), got 6",
  },
  {
    name: "int num_replicas with autoscaling_config",
    text: dep("num_replicas: 3", "autoscaling_config:", "  max_replicas: 4"),
    path: `${D}.num_replicas`,
    line: 6,
    at: "3",
    says: "Manually setting num_replicas is not allowed when autoscaling_config is provided",
  },
  {
    name: "old and new target name together",
    text: auto("target_ongoing_requests: 2", "target_num_ongoing_requests_per_replica: 3"),
    path: `${A}.target_num_ongoing_requests_per_replica`,
    line: 8,
    at: "target_num",
    says: "remove the old name",
  },
  {
    name: "max_concurrent_queries with max_ongoing_requests",
    text: dep("max_ongoing_requests: 5", "max_concurrent_queries: 5"),
    path: `${D}.max_concurrent_queries`,
    line: 7,
    at: "max_concurrent",
    says: "remove max_concurrent_queries",
  },
  {
    name: "duplicate application names",
    text: HEAD +
      "  - name: app\n    route_prefix: /b\n    import_path: m:app\n    deployments:\n      - name: D\n",
    path: "applications[1].name",
    line: 6,
    at: "app",
    says: 'must be unique among application names, got "app" again',
  },
  // unknown and misspelt keys
  {
    name: "misspelt autoscaling key",
    text: auto("max_replica: 4"),
    path: `${A}.max_replica`,
    line: 7,
    at: "max_replica",
    says: 'is not a field of autoscaling_config; did you mean "max_replicas"?',
  },
  {
    name: "misspelt delay key",
    text: auto("downscale_delay: 60"),
    path: `${A}.downscale_delay`,
    line: 7,
    at: "downscale_delay",
    says: 'did you mean "downscale_delay_s"?',
  },
  {
    name: "misspelt top-level key",
    text: "aplications: []\n",
    path: "aplications",
    line: 1,
    at: "aplications",
    says: 'did you mean "applications"?',
  },
  {
    name: "autoscaling key at deployment level",
    text: dep("min_replicas: 2"),
    path: `${D}.min_replicas`,
    line: 6,
    at: "min_replicas",
    says: "it belongs in autoscaling_config",
  },
  {
    name: "entirely unknown key",
    text: user("colour: blue"),
    path: `${U}.colour`,
    line: 7,
    at: "colour",
    says: "is not a field of user_config; expected one of: model, backend",
  },
  // duplicate keys
  {
    name: "duplicate autoscaling key",
    text: auto("min_replicas: 1", "min_replicas: 2"),
    path: `${A}.min_replicas`,
    line: 8,
    at: "min_replicas",
    says: "is set twice (first at line 7)",
  },
  {
    name: "duplicate top-level key",
    text: "http_options: {}\nhttp_options: {}\n" + HEAD,
    path: "http_options",
    line: 2,
    at: "http_options",
    says: "is set twice (first at line 1)",
  },
  // deprecated aliases with bad values (accepted names, still validated)
  {
    name: "deprecated target name negative",
    text: auto("target_num_ongoing_requests_per_replica: -1"),
    path: `${A}.target_num_ongoing_requests_per_replica`,
    line: 7,
    at: "-1",
    says: "must be > 0, got -1",
  },
  {
    name: "deprecated smoothing_factor zero",
    text: auto("smoothing_factor: 0"),
    path: `${A}.smoothing_factor`,
    line: 7,
    at: "0",
    says: "must be > 0, got 0",
  },
  {
    name: "deprecated max_concurrent_queries zero",
    text: dep("max_concurrent_queries: 0"),
    path: `${D}.max_concurrent_queries`,
    line: 6,
    at: "0",
    says: "must be > 0, got 0",
  },
  // required fields and structure
  {
    name: "applications missing",
    text: "http_options:\n  port: 8000\n",
    path: "applications",
    line: 1,
    at: "http_options",
    says: "is required",
  },
  {
    name: "import_path missing",
    text: "applications:\n  - name: app\n    deployments:\n      - name: D\n",
    path: "applications[0].import_path",
    line: 2,
    at: "name",
    says: "is required",
  },
  {
    name: "deployment name missing",
    text: HEAD.replace("- name: D", "- max_ongoing_requests: 5"),
    path: `${D}.name`,
    line: 5,
    at: "max_ongoing",
    says: "is required",
  },
  {
    name: "empty deployments",
    text: "applications:\n  - name: app\n    import_path: m:app\n    deployments: []\n",
    path: "applications[0].deployments",
    line: 4,
    at: "[]",
    says: "must list at least one deployment",
  },
  {
    name: "route_prefix without slash",
    text: HEAD.replace("    import_path", "    route_prefix: api\n    import_path"),
    path: "applications[0].route_prefix",
    line: 3,
    at: "api",
    says: 'must start with "/"',
  },
  {
    name: "policy_function without export",
    text: auto("policy:", "  policy_function: my_policy.ts"),
    path: `${A}.policy.policy_function`,
    line: 8,
    at: "my_policy",
    says: 'must be "module:exportName"',
  },
  // user_config
  {
    name: "backend unknown",
    text: user("backend: cuda"),
    path: `${U}.backend`,
    line: 7,
    at: "cuda",
    says: 'must be one of "auto", "native", "wasm", "webgpu", got "cuda"',
  },
  {
    name: "model misspelt",
    text: user("model: resnet"),
    path: `${U}.model`,
    line: 7,
    at: "resnet",
    says: 'did you mean "resnet50"?',
  },
  {
    name: "model noop with negative time",
    text: user("model: noop:-5"),
    path: `${U}.model`,
    line: 7,
    at: "noop",
    says: "service time in milliseconds >= 0",
  },
  {
    name: "model url with bad sha256",
    text: user("model:", "  url: https://example.com/m.onnx", "  sha256: abc"),
    path: `${U}.model.sha256`,
    line: 9,
    at: "abc",
    says: "must be 64 hexadecimal digits",
  },
  {
    name: "model with two sources",
    text: user("model:", "  path: a.onnx", "  noop: {}"),
    path: `${U}.model`,
    line: 8,
    at: "path",
    says: "must set exactly one of path, url (with sha256) or noop, got path and noop",
  },
  {
    name: "allowed host with scheme",
    text: user("allowed_image_hosts: [http://x/]"),
    path: `${U}.allowed_image_hosts[0]`,
    line: 7,
    at: "http",
    says: "no scheme, no path",
  },
  // not YAML
  {
    name: "unclosed flow sequence",
    text: auto("max_replicas: [4", "min_replicas: 1"),
    path: `${A}.max_replicas`,
    line: 8,
    at: "min_replicas",
    says: "is not valid YAML",
  },
  {
    name: "tab indentation",
    text: HEAD + "\tname: x\n",
    path: `${D}.name`,
    line: 6,
    at: "\t",
    says: "is not valid YAML: Tabs are not allowed",
  },
  {
    name: "unknown anchor",
    text: auto("max_replicas: *big"),
    path: `${A}.max_replicas`,
    line: 7,
    at: "*big",
    says: "unknown anchor *big",
  },
  {
    name: "two applications on the default route prefix",
    text: HEAD + "  - name: other\n    import_path: m:app\n    deployments:\n      - name: D\n",
    path: "applications[1].route_prefix",
    line: 6,
    at: "name: other",
    says: 'must be unique among route prefixes, got "/" (the default) again (also applications[0])',
  },
  {
    name: "two YAML documents",
    text: HEAD + "---\nmore: 1\n",
    path: "",
    line: 6,
    at: "---",
    says: "holds a second YAML document",
  },
  {
    name: "non-string key",
    text: top("8000: port"),
    path: "",
    line: 1,
    at: "8000",
    says: "keys must be field names, got 8000",
  },
];

function errorsOf(text: string): ConfigError {
  try {
    parseConfig(text, { sourcePath: FILE });
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw new Error(`expected a ConfigError, got ${error}`);
  }
  throw new Error(`expected the config to be refused:\n${text}`);
}

Deno.test(`parseConfig() refuses ${cases.length} invalid configs, naming file, line, column and field path`, async (t) => {
  assert.ok(cases.length >= 30);
  for (const c of cases) {
    await t.step(c.name, () => {
      const error = errorsOf(c.text);
      const issue = error.issues.find((i: ConfigIssue) => i.path === c.path && i.line === c.line);
      assert.ok(
        issue,
        `no error at line ${c.line} for path "${c.path}"; got:\n${error.message}\nfor:\n${c.text}`,
      );
      assert.equal(issue.file, FILE);
      let where = `${FILE}:${c.line}`;
      if (c.at !== undefined) {
        const lineText = c.text.split("\n")[c.line - 1];
        const column = lineText.indexOf(c.at) + 1;
        assert.ok(column > 0, `test bug: "${c.at}" is not on line ${c.line}`);
        assert.equal(issue.column, column, `column for ${c.path}: ${error.message}`);
        where += `:${column}`;
      }
      assert.ok(
        error.message.includes(`${where}: ${c.path === "" ? "" : `${c.path} `}`),
        `message does not start with "${where}: ${c.path}":\n${error.message}`,
      );
      assert.ok(issue.message.includes(c.says), `"${issue.message}" does not say "${c.says}"`);
      assert.ok(!/\n\s+at /.test(error.message), "no stack trace in the message");
    });
  }
});

Deno.test("parseConfig() reports every error in a file, in line order, not just the first", () => {
  const error = errorsOf(
    auto("min_replicas: -1", "max_replicas: zero", "upscale_delay_s: -3", "typo_field: 1"),
  );
  assert.deepEqual(
    error.issues.map((i) => [i.line, i.path.split(".").pop()]),
    [[7, "min_replicas"], [8, "max_replicas"], [9, "upscale_delay_s"], [10, "typo_field"]],
  );
  assert.equal(error.message.split("\n").length, 4);
});

Deno.test("parseConfig() reports errors from several deployments and applications", () => {
  const text = "applications:\n" +
    "  - name: a\n    route_prefix: /a\n    import_path: m:app\n    deployments:\n" +
    "      - name: D\n        max_ongoing_requests: 0\n" +
    "  - name: b\n    route_prefix: /b\n    import_path: m:app\n    deployments:\n" +
    "      - name: D\n        max_queued_requests: 0\n";
  const paths = errorsOf(text).issues.map((i) => `${i.line} ${i.path}`);
  assert.deepEqual(paths, [
    "7 applications[0].deployments[0].max_ongoing_requests",
    "13 applications[1].deployments[0].max_queued_requests",
  ]);
});

Deno.test("parseConfig() says an empty or comment-only file is empty", () => {
  for (const text of ["", "\n\n", "# just a comment\n"]) {
    const error = errorsOf(text);
    assert.equal(error.issues.length, 1);
    assert.equal(error.issues[0].code, "empty");
    assert.match(error.message, /^configs\/test\.yaml: is empty .*applications:/);
  }
});

Deno.test("parseConfig() says a binary file is not text", () => {
  const error = errorsOf("\u0000\u0001\u0002PK");
  assert.equal(error.issues[0].code, "not_text");
  assert.match(error.message, /^configs\/test\.yaml:1:1: is not a text file/);
});

Deno.test("parseConfig() says prose is not a config mapping", () => {
  const error = errorsOf("This is not a config at all, just a sentence.\n");
  assert.equal(error.issues[0].code, "not_a_mapping");
  assert.match(error.message, /configs\/test\.yaml:1:1: must be a YAML mapping .*got "This is/);
});

Deno.test("parseConfig() without a sourcePath still places errors", () => {
  assert.throws(
    () => parseConfig(auto("max_replicas: 0")),
    (e: unknown) =>
      e instanceof ConfigError && e.message.startsWith(`<config>:7:25: ${A}.max_replicas`),
  );
});
