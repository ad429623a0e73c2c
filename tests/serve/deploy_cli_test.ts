import assert from "node:assert/strict";

const ROOT = new URL("../../", import.meta.url);

/** The deploy task's own `deno run` flags, so the test proves they suffice. */
function taskArgs(name: string): string[] {
  const deno = JSON.parse(Deno.readTextFileSync(new URL("deno.json", ROOT)));
  // Tasks are `{ description, command }` objects (deno task lists them as a menu).
  const words = (deno.tasks[name].command as string).split(/\s+/);
  assert.equal(words[0], "deno");
  return words.slice(1);
}

Deno.test("deno task deploy serves, deno task status reports it, and SIGTERM during load finishes in-flight requests", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve_cli_" });
  const configPath = `${dir}/noop.yaml`;
  await Deno.writeTextFile(
    configPath,
    `http_options:
  port: 0
applications:
  - name: default
    route_prefix: /
    import_path: main:app
    deployments:
      - name: Model
        num_replicas: 2
        graceful_shutdown_wait_loop_s: 0.05
        user_config:
          model: noop:500
`,
  );
  const child = new Deno.Command(Deno.execPath(), {
    args: [...taskArgs("deploy"), configPath, "--no-dashboard"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  let log = "";
  const decoder = new TextDecoder();
  const drain = (async () => {
    for await (const chunk of child.stderr) log += decoder.decode(chunk);
  })();
  const stdoutDone = child.stdout.cancel();
  try {
    const deadline = Date.now() + 30_000;
    while (!log.includes("Deployed app 'default' successfully")) {
      if (Date.now() > deadline) throw new Error(`deploy did not become ready:\n${log}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    const url = log.match(/listening on (http:\/\/127\.0\.0\.1:\d+)/)![1];

    const status = await new Deno.Command(Deno.execPath(), {
      args: [...taskArgs("status"), "--address", url],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const statusText = decoder.decode(status.stdout);
    assert.equal(status.code, 0, decoder.decode(status.stderr));
    assert.ok(statusText.includes("applications:\n  default:\n    status: RUNNING\n"), statusText);
    assert.match(statusText, /replica_states:\n {10}RUNNING: 2\n/);

    const png = Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0, 0, 0, 0);
    const requests = Array.from(
      { length: 6 },
      () =>
        fetch(url, { method: "POST", body: png, headers: { "content-type": "image/png" } })
          .then(async (r) => [r.status, await r.text()]),
    );
    const busyBy = Date.now() + 10_000;
    while (Date.now() < busyBy) {
      const s = await (await fetch(`${url}/api/status`)).json();
      if (s.applications.default.deployments.Model.ongoing_requests === 6) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    child.kill("SIGTERM");
    const answers = await Promise.all(requests);
    assert.deepEqual(answers, Array(6).fill([200, "noop"]));
    const { code } = await child.status;
    await drain;
    assert.equal(code, 0, log);
    assert.match(log, /SIGTERM received: stopping gracefully/);
    assert.match(log, /shutdown complete/);
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
    await child.status;
    await drain.catch(() => {});
    await stdoutDone.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task deploy names the problem and exits 2 on a bad config", async () => {
  const dir = await Deno.makeTempDir({ prefix: "serve_cli_" });
  try {
    await Deno.writeTextFile(
      `${dir}/bad.yaml`,
      "applications:\n  - name: default\n    import_path: main:app\n    deployments:\n      - name: Model\n        max_ongoing_requests: -3\n",
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: [...taskArgs("deploy"), `${dir}/bad.yaml`],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 2, err);
    assert.match(err, /bad\.yaml:6:\d+: .*max_ongoing_requests/);
    const flags = await new Deno.Command(Deno.execPath(), {
      args: [...taskArgs("deploy"), `${dir}/bad.yaml`, "--num-cpus", "lots"],
      cwd: ROOT,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(flags.code, 2);
    assert.match(
      new TextDecoder().decode(flags.stderr),
      /--num-cpus must be a number >= 0, got "lots"/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("deno task status says where it looked when nothing answers", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: [...taskArgs("status"), "--address", "http://127.0.0.1:9"],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 1);
  assert.match(
    new TextDecoder().decode(out.stderr),
    /no service answered at http:\/\/127\.0\.0\.1:9\/api\/status/,
  );
});
