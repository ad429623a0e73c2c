/**
 * `startDeployChild` against a real `scripts/deploy.ts` child on 127.0.0.1: it comes up, says
 * RUNNING, and exits 0 after SIGTERM; a config that fails validation, or a listening line that
 * does not come in time, rejects the start with a message saying so and naming the log file.
 */
import assert from "node:assert/strict";
import { type DeployChildOptions, startDeployChild } from "../../lib/cli/mod.ts";

const DEV_FAST = new URL("../../configs/dev_fast.yaml", import.meta.url).pathname;

/** Runs `fn` with a fresh temporary folder, removed afterwards. */
async function inTempDir(fn: (dir: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "deploy_child_test_" });
  try {
    await fn(dir);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/** The message `startDeployChild` rejects with; fails the test if it starts instead. */
async function startFailure(configPath: string, options: DeployChildOptions): Promise<string> {
  let child;
  try {
    child = await startDeployChild(configPath, options);
  } catch (error) {
    return (error as Error).message;
  }
  await child.stop({ signal: "SIGKILL" });
  throw new Error(`deploy started at ${child.url}; expected the start to fail`);
}

Deno.test("a deploy child of dev_fast comes up RUNNING and exits 0 after SIGTERM", async () => {
  await inTempDir(async (dir) => {
    const logFile = `${dir}/deploy.log`;
    const child = await startDeployChild(DEV_FAST, {
      args: [
        "--port",
        "0",
        "--num-cpus",
        "2",
        "--no-dashboard",
        "--decisions-csv",
        `${dir}/decisions.csv`,
      ],
      output: { logFile },
    });
    let stopped = false;
    try {
      assert.match(child.url, /^http:\/\/127\.0\.0\.1:\d+$/);
      assert.notEqual(child.url, "http://127.0.0.1:0");
      await child.waitRunning(60_000);
      const status = await (await fetch(`${child.url}/api/status`)).json();
      assert.equal(status.applications.image_classifier.status, "RUNNING");
      // A line printed before the call is still found.
      const statusLine = await child.waitForLine(/status: (http:\S+)/, 5_000);
      assert.equal(statusLine[1], `${child.url}/api/status`);
      const exit = await child.stop({ signal: "SIGTERM", killAfterMs: 30_000 });
      stopped = true;
      assert.equal(exit.code, 0);
      assert.equal(exit.signal, null);
      assert.deepEqual(await child.status, exit);
      const log = await Deno.readTextFile(logFile);
      assert.match(log, /listening on http:\/\/127\.0\.0\.1:\d+/);
      assert.match(log, /SIGTERM received/);
    } finally {
      if (!stopped) await child.stop({ signal: "SIGKILL" });
    }
  });
});

Deno.test("a config that fails validation rejects the start with deploy's exit code", async () => {
  await inTempDir(async (dir) => {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(bad, "applications:\n  - name: a\n    deployments: 3\n");
    const logFile = `${dir}/deploy.log`;
    assert.equal(
      await startFailure(bad, { args: ["--port", "0", "--no-dashboard"], output: { logFile } }),
      `deploy exited with code 2 before listening (log: ${logFile})`,
    );
    assert.match(await Deno.readTextFile(logFile), /deployments/);
  });
});

Deno.test("no listening line in time rejects the start, naming the wait and the log", async () => {
  await inTempDir(async (dir) => {
    const logFile = `${dir}/deploy.log`;
    const options = {
      args: ["--port", "0", "--num-cpus", "2", "--no-dashboard"],
      output: { logFile },
      listenTimeoutMs: 1, // Deno takes longer than this to even start the script
    };
    assert.equal(
      await startFailure(DEV_FAST, options),
      `no 'listening on' line from deploy within 0.001 s (log: ${logFile})`,
    );
  });
});
