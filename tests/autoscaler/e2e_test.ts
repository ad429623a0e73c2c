/**
 * End to end: the real pool (lib/serve) with the no-op model and configs/dev_fast.yaml
 * (noop:20, target 2, 1..4 replicas, upscale 1 s, downscale 3 s, metrics every 0.5 s over 2 s),
 * driven by a burst of closed-loop load on 127.0.0.1.
 */
import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config/mod.ts";
import { prepareModel, type ServeStatusJson, startServe } from "../../lib/serve/mod.ts";
import type { AutoscalerStatus, ScalingDecision } from "../../lib/autoscaler/mod.ts";

const configPath = new URL("../../configs/dev_fast.yaml", import.meta.url).pathname;
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

async function waitFor(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

Deno.test({
  name: "burst on the real pool: replicas rise to ceil(total/target) after upscale_delay_s, " +
    "fall after downscale_delay_s, statuses in order, no request fails",
  sanitizeResources: false,
  sanitizeOps: false,
  fn: async () => {
    const { config } = await loadConfig(configPath);
    const app = config.applications[0];
    const dep = app.deployments[0];
    const as = dep.autoscaling_config!;
    assert.equal(as.upscale_delay_s, 1);
    assert.equal(as.downscale_delay_s, 3);
    const dir = await Deno.makeTempDir();
    const csvPath = `${dir}/${app.name}_autoscaler.csv`;
    const model = await prepareModel(dep.user_config.model, {});
    const logs: string[] = [];
    const s = await startServe(config, {
      model,
      numCpus: 4,
      port: 0,
      host: "127.0.0.1",
      decisionsCsvPath: csvPath,
      log: (l) => logs.push(l),
    });
    let users = 0;
    let stopPolling = false;
    const failures: string[] = [];
    let ok = 0;
    const seen: string[] = [];
    const polled: AutoscalerStatus[] = [];
    try {
      await s.ready({ timeoutMs: 30_000 });
      const statusUrl = `${s.url}/api/status`;
      const poller = (async () => {
        while (!stopPolling) {
          const body = await (await fetch(statusUrl)).json() as ServeStatusJson;
          const d = body.applications[app.name].deployments[dep.name];
          const key = `${d.status}|${d.message}`;
          if (seen.at(-1) !== key) seen.push(key);
          if (d.autoscaler) polled.push(d.autoscaler as AutoscalerStatus);
          await new Promise((r) => setTimeout(r, 50));
        }
      })();
      const user = async (id: number) => {
        while (id < users) {
          try {
            const res = await fetch(s.url, {
              method: "POST",
              body: PNG,
              headers: { "content-type": "image/png" },
            });
            await res.arrayBuffer();
            if (res.status === 200) ok++;
            else failures.push(`HTTP ${res.status}`);
          } catch (error) {
            failures.push(String(error));
          }
        }
      };
      const decisions = () =>
        (s.deployment.autoscaler as unknown as { decisions(): ScalingDecision[] }).decisions();

      // Burst: 8 closed-loop users (total ongoing ~8 -> ceil(8/2) = 4 = max_replicas).
      const burstStart = Date.now();
      users = 8;
      const burst = Array.from({ length: 8 }, (_, i) => user(i));
      await waitFor("the target to reach 4", () => s.deployment.targetReplicas() === 4, 20_000);
      await waitFor("4 RUNNING replicas", () => s.deployment.runningReplicas() === 4, 20_000);
      const ups = decisions().filter((d) => d.to_replicas > d.from_replicas);
      assert.ok(ups.length >= 1);
      for (const d of ups) {
        assert.equal(d.reason, "upscale");
        assert.ok(d.held_s >= as.upscale_delay_s, `held ${d.held_s} s before upscaling`);
        assert.equal(
          d.to_replicas,
          Math.min(
            as.max_replicas,
            Math.ceil(d.total_ongoing_requests / as.target_ongoing_requests),
          ),
          `decision ${JSON.stringify(d)}`,
        );
      }
      assert.ok(ups[0].time_ms - burstStart >= as.upscale_delay_s * 1000, "not before the delay");

      // Load drops to one user: replicas drain back to 1 while requests keep flowing.
      const dropAt = Date.now();
      users = 1;
      await Promise.all(burst.slice(1));
      await waitFor("the target to fall to 1", () => s.deployment.targetReplicas() === 1, 20_000);
      const down = decisions().filter((d) => d.to_replicas < d.from_replicas);
      assert.ok(down.length >= 1);
      assert.equal(down.at(-1)!.to_replicas, 1);
      for (const d of down) {
        assert.equal(d.reason, "downscale");
        assert.ok(d.held_s >= as.downscale_delay_s, `held ${d.held_s} s before downscaling`);
      }
      assert.ok(down[0].time_ms - dropAt >= as.downscale_delay_s * 1000, "not before the delay");
      await waitFor(
        "HEALTHY with 1 replica",
        () =>
          s.deployment.currentStatus().status === "HEALTHY" &&
          s.deployment.runningReplicas() === 1,
        20_000,
      );
      await new Promise((r) => setTimeout(r, 300));
      users = 0;
      await burst[0];
      stopPolling = true;
      await poller;

      if (Deno.env.get("E2E_DEBUG")) console.log(seen, decisions());
      // Statuses, in order: HEALTHY, UPSCALING..., DOWNSCALING..., HEALTHY.
      const statuses = seen.map((k) => k.split("|")[0]);
      assert.equal(statuses[0], "HEALTHY", seen.join(" / "));
      assert.equal(statuses.at(-1), "HEALTHY", seen.join(" / "));
      const firstUp = statuses.indexOf("UPSCALING");
      const lastUp = statuses.lastIndexOf("UPSCALING");
      const firstDown = statuses.indexOf("DOWNSCALING");
      assert.ok(firstUp > 0 && firstDown > lastUp, seen.join(" / "));
      assert.match(seen[firstUp], /^UPSCALING\|Upscaling from 1 to \d replicas\.$/);
      assert.match(seen[firstDown], /^DOWNSCALING\|Downscaling from 4 to \d replicas\.$/);
      assert.ok(polled.some((p) => p.delay?.direction === "up"), "the upscale delay was visible");
      assert.ok(
        polled.some((p) => p.delay?.direction === "down"),
        "the downscale delay was visible",
      );

      assert.deepEqual(failures, [], "no request failed");
      assert.ok(ok > 100, `${ok} requests served`);
      const csv = (await Deno.readTextFile(csvPath)).trim().split("\n");
      assert.ok(
        csv.some((l) => l.endsWith(",upscale")) && csv.some((l) => l.endsWith(",downscale")),
      );
      assert.ok(
        logs.some((l) => /Upscaling from 1 to \d replicas\. reason=upscale total_ongoing=/.test(l)),
      );
    } finally {
      users = 0;
      stopPolling = true;
      await s.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
