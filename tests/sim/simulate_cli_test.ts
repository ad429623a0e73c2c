import { deepStrictEqual, match, ok, strictEqual } from "node:assert/strict";

const root = new URL("../../", import.meta.url).pathname;

async function run(args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-read", "--allow-write", "--allow-env", "scripts/simulate.ts", ...args],
    cwd: root,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

Deno.test("deno task simulate compares two configs: table on stdout, one file prefix per config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "sim_cli_" });
  try {
    const r = await run([
      "--config",
      "configs/dev_fast.yaml",
      "--config",
      "configs/basic.yaml",
      "--time-scale",
      "0.1",
      "--out-dir",
      dir,
      "--trace",
    ]);
    strictEqual(r.code, 0, r.stderr);
    const lines = r.stdout.split("\n");
    match(lines[0], /^config\s+requests\s+p50 ms\s+p99 ms\s+failures\s+max queue\s+replica-h/);
    ok(lines.some((l) => l.startsWith("dev_fast ")), r.stdout);
    ok(lines.some((l) => l.startsWith("basic ")), r.stdout);
    const files = [];
    for await (const e of Deno.readDir(dir)) files.push(e.name);
    for (const name of ["dev_fast", "basic"]) {
      for (
        const suffix of [
          "stats",
          "stats_history",
          "failures",
          "exceptions",
          "replicas",
          "latency",
          "stages",
          "trace",
        ]
      ) {
        ok(files.includes(`${name}_${suffix}.csv`), `${name}_${suffix}.csv missing: ${files}`);
      }
    }
    const summary = JSON.parse(await Deno.readTextFile(`${dir}/summary.json`));
    deepStrictEqual(summary.summaries.map((s: { name: string }) => s.name), ["dev_fast", "basic"]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task simulate rejects bad flags with exit code 2 and says what is wrong", async () => {
  const bad = await run(["--config", "configs/dev_fast.yaml", "--service-time", "lognormal:45"]);
  strictEqual(bad.code, 2);
  match(bad.stderr, /--service-time: lognormal needs a mean and a p99/);
  const missing = await run([]);
  strictEqual(missing.code, 2);
  match(missing.stderr, /at least one --config is required/);
});
