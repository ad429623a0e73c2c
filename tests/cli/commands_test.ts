/**
 * Every command's flag errors and exit codes, run as a user runs them: a mistyped flag gets the
 * flag, a did-you-mean, the usage and exit code 2; a bad config is exit 2 in `config` and in
 * `deploy` alike. Only commands that fail before serving or touching the network are run.
 */
import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url).pathname;

async function run(script: string, ...args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `scripts/${script}.ts`, ...args],
    cwd: repo,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: decode(out.stdout), stderr: decode(out.stderr) };
}

Deno.test("deploy --prot 18705: did you mean --port, the usage, exit 2", async () => {
  const r = await run("deploy", "configs/dev_fast.yaml", "--prot", "18705");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^deploy: unknown flag --prot \(did you mean --port\?\)\n/);
  assert.match(r.stderr, /usage: deno task deploy <config\.yaml>/);
  assert.doesNotMatch(r.stderr, /To specify a positional argument/, "no raw parser message");
});

Deno.test("every command answers a mistyped flag the same way", async () => {
  // [command, mistyped flag, the flag it should suggest]
  const cases: [string, string, string][] = [
    ["status", "--adress", "--address"],
    ["config", "--quite", "--quiet"],
    ["loadtest", "--shap", "--shape"],
    ["sweep", "--level", "--levels"],
    ["visualize", "--output-directory", "--output-dir"],
    ["replay", "--trce", "--trace"],
    ["simulate", "--confg", "--config"],
    ["classify", "--backnd", "--backend"],
    ["download_model", "--forse", "--force"],
    ["fidelity", "--strikt", "--strict"],
    ["benchmark", "--sample", "--samples"],
    ["bench_sim", "--rep", "--reps"],
    ["bench_loadgen", "--user", "--users"],
    ["bench_serving", "--replica", "--replicas"],
    ["export", "--schema", "--schemas"],
    ["serve_replica", "--hepl", "--help"],
    ["bench_export", "--hlep", "--help"],
    ["bench_hostile", "--drip", "--drip-s"],
    ["shutdown_cycles", "--cycle", "--cycles"],
  ];
  const results = await Promise.all(cases.map(([script, flag]) => run(script, flag, "1")));
  cases.forEach(([script, flag, suggestion], i) => {
    const r = results[i];
    assert.equal(r.code, 2, `${script}: ${r.stderr}`);
    assert.ok(
      r.stderr.includes(`unknown flag ${flag} (did you mean ${suggestion}?)`),
      `${script}: ${r.stderr}`,
    );
    assert.match(r.stderr, /usage/i, `${script} prints its usage`);
  });
});

Deno.test("the same bad config exits 2 in config and in deploy", async () => {
  const dir = await Deno.makeTempDir({ prefix: "cli_exit_" });
  try {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(bad, "applications:\n  - name: a\n    deployments: 3\n");
    const [config, deploy] = await Promise.all([run("config", bad), run("deploy", bad)]);
    assert.equal(config.code, 2, config.stderr);
    assert.equal(deploy.code, 2, deploy.stderr);
    assert.match(config.stderr, /bad\.yaml:3:/);
    assert.match(deploy.stderr, /bad\.yaml:3:/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("serve-replica --port is refused with the usage, which says PORT comes from the environment", async () => {
  const r = await run("serve_replica", "--port", "18706");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^serve-replica: unknown flag --port\n/);
  assert.match(r.stderr, /^\s+PORT\s+port to listen on/m);
});

Deno.test("a bad number says the whole allowed range the first time", async () => {
  const [abc, zero] = await Promise.all([
    run("loadtest", "--time-scale", "abc"),
    run("loadtest", "--time-scale", "0"),
  ]);
  assert.equal(abc.code, 2);
  assert.equal(zero.code, 2);
  assert.match(abc.stderr, /^loadtest: --time-scale must be a number > 0, got "abc"/);
  assert.match(zero.stderr, /^loadtest: --time-scale must be a number > 0, got "0"/);
});

Deno.test("fidelity --sim-seeds 0 is refused before any service starts", async () => {
  const r = await run("fidelity", "--sim-seeds", "0");
  assert.equal(r.code, 2, r.stderr);
  assert.match(r.stderr, /^fidelity: --sim-seeds must be an integer > 0, got "0"/);
});

Deno.test("every command's --help prints its usage and exits 0, even without its arguments", async () => {
  const scripts = [
    "config",
    "deploy",
    "status",
    "classify",
    "benchmark",
    "bench_serving",
    "download_model",
    "replay",
    "loadtest",
    "sweep",
    "bench_loadgen",
    "simulate",
    "fidelity",
    "bench_sim",
    "visualize",
    "run_tests",
    "export",
    "serve_replica",
    "bench_export",
    "bench_hostile",
    "shutdown_cycles",
  ];
  const results = await Promise.all(scripts.map((script) => run(script, "--help")));
  scripts.forEach((script, i) => {
    assert.equal(results[i].code, 0, `${script}: ${results[i].stderr}`);
    assert.match(results[i].stdout, /usage/i, script);
  });
});
