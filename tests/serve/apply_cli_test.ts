import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);
const decoder = new TextDecoder();

/** A task's own `deno run` flags, so the test proves they suffice. */
function taskArgs(name: string): string[] {
  const deno = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  const words = (deno.tasks[name].command as string).split(/\s+/);
  assert.equal(words[0], "deno");
  return words.slice(1);
}

async function task(name: string, args: string[]) {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs(name), ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  return { code: out.code, stdout: decoder.decode(out.stdout), stderr: decoder.decode(out.stderr) };
}

const config = (maxReplicas: number, extraApp = "") =>
  `http_options: {host: 127.0.0.1, port: 0}
applications:
  - name: a
    route_prefix: /a
    import_path: main:app
    deployments:
      - name: Model
        ray_actor_options: {num_cpus: 0.25}
        graceful_shutdown_wait_loop_s: 0.05
        autoscaling_config: {min_replicas: 1, max_replicas: ${maxReplicas}, upscale_delay_s: 30}
        user_config: {model: "noop:1"}
${extraApp}`;

const appB = `  - name: b
    route_prefix: /b
    import_path: main:app
    deployments:
      - name: Model
        num_replicas: 1
        ray_actor_options: {num_cpus: 0.25}
        graceful_shutdown_wait_loop_s: 0.05
        user_config: {model: "noop:1"}
`;

Deno.test("deploy --watch, apply and shutdown: applied and refused configs, last good config kept, exit 0", async () => {
  const dir = await Deno.makeTempDir({ prefix: "apply_cli_" });
  const path = `${dir}/service.yaml`;
  await Deno.writeTextFile(path, config(3));
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      ...taskArgs("deploy"),
      path,
      "--watch",
      "--num-cpus",
      "2",
      "--dashboard-port",
      "0",
    ],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const drain = (async () => {
    for await (const chunk of child.stderr) log += decoder.decode(chunk);
  })();
  const until = async (pattern: RegExp, what: string) => {
    const deadline = Date.now() + 30_000;
    while (!pattern.test(log)) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  let exited = false;
  try {
    await until(/Deployed app 'a' successfully/, "the deploy");
    const url = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)![1];
    const admin = log.match(/dashboard: (http:\/\/127\.0\.0\.1:\d+)/)![1];
    const status = async () => await (await fetch(`${url}/api/status`)).json();

    // apply: a second application and a lightweight change.
    const next = `${dir}/next.yaml`;
    await Deno.writeTextFile(next, config(5, appB));
    const applied = await task("apply", [next, "--address", admin]);
    assert.equal(applied.code, 0, applied.stderr);
    assert.match(applied.stdout, /a\/Model: lightweight update/);
    assert.match(applied.stdout, /autoscaling_config\.max_replicas: 3 -> 5/);
    assert.match(applied.stdout, /b\/Model: new: starting/);
    const both = await task("status", ["--address", url]);
    assert.equal(both.code, 0);
    await until(/\[b\/Model\] replica \w+ RUNNING/, "b's replica");
    assert.match((await task("status", ["--address", url])).stdout, /\n {2}a:\n[\s\S]*\n {2}b:\n/);

    // An invalid file: exit 2 with file:line:col, nothing changes.
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(bad, config(5).replace("max_replicas: 5", "max_replicas: -1"));
    const refused = await task("apply", [bad, "--address", admin]);
    assert.equal(refused.code, 2);
    assert.match(refused.stderr, new RegExp(`${bad}:\\d+:\\d+: .*max_replicas`));
    assert.equal((await status()).applications.a.deployments.Model.autoscaler.max_replicas, 5);

    // --watch: an invalid save is reported with its position, a valid one applied.
    await Deno.writeTextFile(path, config(4).replace("min_replicas: 1", "min_replicas: x"));
    await until(/invalid config saved; keeping the last good one/, "the invalid save");
    assert.match(log, new RegExp(`service.yaml:\\d+:\\d+: .*min_replicas`));
    assert.equal((await status()).applications.a.deployments.Model.autoscaler.max_replicas, 5);
    await Deno.writeTextFile(path, config(4));
    await until(/applied .*service\.yaml/, "the watched re-apply");
    assert.equal((await status()).applications.a.deployments.Model.autoscaler.max_replicas, 4);
    // b left the file: drained (DELETING), then gone.
    const deadline = Date.now() + 10_000;
    while (Object.keys((await status()).applications).length > 1 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
    assert.deepEqual(Object.keys((await status()).applications), ["a"]);

    // shutdown: the deploy process drains and exits 0.
    const stopped = await task("shutdown", ["--address", admin]);
    assert.equal(stopped.code, 0, stopped.stderr);
    assert.match(stopped.stdout, /stopped/);
    const { code } = await child.status;
    exited = true;
    assert.equal(code, 0, log);
    assert.match(log, /shutdown complete/);
  } finally {
    if (!exited) {
      child.kill("SIGKILL");
      await child.status;
    }
    await drain;
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("apply exits 1 when no service answers and 2 on a missing file", async () => {
  const dir = await Deno.makeTempDir({ prefix: "apply_cli_" });
  try {
    const path = `${dir}/ok.yaml`;
    await Deno.writeTextFile(path, config(3));
    const unreachable = await task("apply", [path, "--address", "http://127.0.0.1:9"]);
    assert.equal(unreachable.code, 1);
    assert.match(unreachable.stderr, /no service answered at http:\/\/127\.0\.0\.1:9/);
    const missing = await task("apply", [`${dir}/nope.yaml`]);
    assert.equal(missing.code, 2);
    const shutdown = await task("shutdown", ["--address", "http://127.0.0.1:9"]);
    assert.equal(shutdown.code, 1);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
