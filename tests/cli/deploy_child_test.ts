/**
 * `startDeployChild` against a real `scripts/deploy.ts` child on 127.0.0.1: it comes up, says
 * RUNNING, and exits 0 after SIGTERM; a config that fails validation is refused with the exit
 * code and the log file named.
 */
import assert from "node:assert/strict";
import { startDeployChild } from "../../lib/cli/mod.ts";

const DEV_FAST = new URL("../../configs/dev_fast.yaml", import.meta.url).pathname;

Deno.test("a deploy child of dev_fast comes up RUNNING and exits 0 after SIGTERM", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deploy_child_test_" });
  try {
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
      // A line printed before the call is still found.
      const statusLine = await child.waitForLine(/status: (http:\S+)/, 5_000);
      assert.equal(statusLine[1], `${child.url}/api/status`);
      const status = await (await fetch(`${child.url}/api/status`)).json();
      assert.equal(status.applications.image_classifier.status, "RUNNING");
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
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a config that fails validation rejects the start with deploy's exit code", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deploy_child_test_" });
  try {
    const bad = `${dir}/bad.yaml`;
    await Deno.writeTextFile(bad, "applications:\n  - name: a\n    deployments: 3\n");
    const logFile = `${dir}/deploy.log`;
    await assert.rejects(
      startDeployChild(bad, { args: ["--port", "0", "--no-dashboard"], output: { logFile } }),
      (error: Error) => {
        assert.equal(
          error.message,
          `deploy exited with code 2 before listening (log: ${logFile})`,
        );
        return true;
      },
    );
    assert.match(await Deno.readTextFile(logFile), /deployments/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("no listening line in time rejects the start, naming the wait and the log", async () => {
  const dir = await Deno.makeTempDir({ prefix: "deploy_child_test_" });
  try {
    const logFile = `${dir}/deploy.log`;
    await assert.rejects(
      startDeployChild(DEV_FAST, {
        args: ["--port", "0", "--num-cpus", "2", "--no-dashboard"],
        output: { logFile },
        // Deno takes longer than this to even start the script.
        listenTimeoutMs: 1,
      }),
      (error: Error) => {
        assert.equal(
          error.message,
          `no 'listening on' line from deploy within 0.001 s (log: ${logFile})`,
        );
        return true;
      },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
