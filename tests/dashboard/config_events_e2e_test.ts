/**
 * End-to-end: after `apply`, the dashboard page (headless Chromium) shows the new autoscaling
 * knobs, marks the config update on its charts (a pink rule whose title names the change), and
 * lists every application. Screenshot: results/dashboard_config_event.png.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { stringify } from "yaml";
import { parseConfig } from "../../lib/config/mod.ts";
import { startServe } from "../../lib/serve/mod.ts";
import { serveDashboardSource, startDashboard } from "../../lib/dashboard/mod.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const RESULTS = new URL("../../results/", import.meta.url);

const config = (maxReplicas: number) =>
  parseConfig(stringify({
    http_options: { host: "127.0.0.1", port: 0 },
    applications: ["a", "b"].map((name) => ({
      name,
      route_prefix: `/${name}`,
      import_path: "main:app",
      deployments: [{
        name: "Model",
        ray_actor_options: { num_cpus: 0.25 },
        graceful_shutdown_wait_loop_s: 0.05,
        autoscaling_config: { min_replicas: 1, max_replicas: maxReplicas, upscale_delay_s: 30 },
        user_config: { model: "noop:1" },
      }],
    })),
  })).config;

Deno.test({
  name: "the dashboard shows applied knobs, marks the config update and lists every application",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const serve = await startServe(config(3), { numCpus: 2 });
    await serve.ready({ timeoutMs: 30_000 });
    const dashboard = await startDashboard(serveDashboardSource(serve), { port: 0, tickMs: 200 });
    const userDataDir = await Deno.makeTempDir({ prefix: "dashboard_config_chromium_" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"],
      viewport: { width: 1280, height: 1000 },
    });
    try {
      const page = context.pages()[0] ?? await context.newPage();
      await page.goto(dashboard.url);
      await page.waitForSelector('body[data-connection="live"]', { timeout: 10_000 });
      assert.match((await page.textContent("#autoscaler-config")) ?? "", /max 3 /);
      assert.match(
        (await page.textContent("#apps-list")) ?? "",
        /a RUNNING at \/a · b RUNNING at \/b/,
      );
      assert.ok((await serve.apply(config(5))).ok);
      await page.waitForFunction(
        () =>
          /max 5 /.test(
            (globalThis as unknown as {
              document: { querySelector(s: string): { textContent: string | null } | null };
            }).document.querySelector("#autoscaler-config")?.textContent ?? "",
          ),
        null,
        { timeout: 10_000 },
      );
      const rule = page.locator('#chart-replicas svg [aria-label="rule"][stroke="#bf3989"] line');
      await rule.first().waitFor({ state: "attached", timeout: 10_000 });
      assert.equal(await rule.count(), 2, "one mark per updated deployment (a and b)");
      const title = await page.locator(
        '#chart-replicas svg [aria-label="rule"][stroke="#bf3989"] title',
      ).first().textContent();
      assert.match(
        title ?? "",
        /config lightweight a\/Model: autoscaling_config\.max_replicas: 3 -> 5/,
      );
      await Deno.mkdir(RESULTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard_config_event.png", RESULTS).pathname });
    } finally {
      await context.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      await dashboard.stop();
      await serve.shutdown();
    }
  },
});
