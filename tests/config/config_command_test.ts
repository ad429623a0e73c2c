/** `deno task config`: validates files, prints effective configs, exit code non-zero on errors. */
import assert from "node:assert/strict";

const script = new URL("../../scripts/config.ts", import.meta.url).pathname;
const repo = new URL("../../", import.meta.url).pathname;

async function run(...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-env", script, ...args],
    cwd: repo,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("config command exits non-zero with a clear message for a missing file", async () => {
  const { code, stdout, stderr } = await run("configs/no_such_file.yaml");
  assert.equal(code, 2, "bad input: the same exit code as deploy's for a bad config");
  assert.equal(stdout, "");
  assert.match(
    stderr,
    /^configs\/no_such_file\.yaml: file not found \(looked for \/.*no_such_file\.yaml\)$/m,
  );
  assert.doesNotMatch(stderr, /^\s+at /m, "no stack trace");
});

Deno.test("config command prints basic.yaml's effective config with Ray's defaults filled in", async () => {
  const { code, stdout, stderr } = await run("configs/basic.yaml");
  assert.equal(code, 0, stderr);
  assert.equal(stderr, "");
  assert.match(stdout, /^# effective config of configs\/basic\.yaml/);
  assert.match(stdout, /downscale_delay_s: 600\n/);
  assert.match(stdout, /upscale_delay_s: 30\n/);
  assert.match(stdout, /max_replicas: 100\n/);
});

Deno.test("config command checks several files, reports each bad one with line and column, exits 2", async () => {
  const dir = await Deno.makeTempDir({ prefix: "config_cmd_" });
  try {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(
      bad,
      "applications:\n  - name: a\n    import_path: m:app\n    deployments:\n      - name: D\n        max_ongoing_requests: -1\n        autoscaling_config:\n          target_num_ongoing_requests_per_replica: 2\n",
    );
    const empty = `${dir}/empty.yaml`;
    await Deno.writeTextFile(empty, "# nothing here\n");
    const { code, stdout, stderr } = await run(
      "configs/basic.yaml",
      bad,
      empty,
      "configs/production.yaml",
    );
    assert.equal(code, 2);
    // The good files are still printed, separated as YAML documents.
    assert.equal(stdout.split("\n---\n").length, 2);
    assert.match(stdout, /effective config of configs\/production\.yaml/);
    assert.match(
      stderr,
      new RegExp(
        `^${bad}:6:31: applications\\[0\\]\\.deployments\\[0\\]\\.max_ongoing_requests must be > 0, got -1$`,
        "m",
      ),
    );
    assert.match(
      stderr,
      new RegExp(
        `^warning: ${bad}:8:11: .*target_num_ongoing_requests_per_replica is deprecated; use target_ongoing_requests`,
        "m",
      ),
    );
    assert.match(stderr, new RegExp(`^${empty}: is empty`, "m"));
    assert.match(stderr, /^configs\/basic\.yaml: OK$/m);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config command prints warnings to stderr and still exits 0 for a valid file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "config_cmd_" });
  try {
    const file = `${dir}/warn.yaml`;
    await Deno.writeTextFile(
      file,
      "applications:\n  - name: a\n    import_path: m:app\n    deployments:\n      - name: D\n        max_concurrent_queries: 4\n",
    );
    const { code, stdout, stderr } = await run(file);
    assert.equal(code, 0);
    assert.match(
      stderr,
      /^warning: .*warn\.yaml:6:9: .*max_concurrent_queries is deprecated; use max_ongoing_requests/,
    );
    assert.match(stdout, /max_ongoing_requests: 4\n/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("config command without a file prints usage and exits 2", async () => {
  const { code, stderr } = await run();
  assert.equal(code, 2);
  assert.match(stderr, /usage: deno task config/);
});
