/**
 * End-to-end: after `apply`, the dashboard page (headless Chromium) shows the new autoscaling
 * knobs, marks the config update on its charts (a pink rule whose title names the change), and
 * lists every application. With two applications the deployment selector lists both, switching
 * to the second shows its replicas (the choice survives a reload), and an `apply` that removes
 * an application marks its deployment removed. Screenshots: results/dashboard_config_event.png,
 * results/dashboard_second_deployment.png.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { stringify } from "yaml";
import { parseConfig } from "../../lib/config/mod.ts";
import { startServe } from "../../lib/serve/mod.ts";
import {
  type DashboardInit,
  serveDashboardSource,
  startDashboard,
} from "../../lib/dashboard/mod.ts";
import { TINY_PNG } from "./_fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
const RESULTS = new URL("../../results/", import.meta.url);

/** The page's `document`, typed just enough (these tests type-check without the DOM lib). */
interface PageDocument {
  querySelector(s: string): { textContent: string | null } | null;
}
const textIs = ([selector, want]: string[]) =>
  (globalThis as unknown as { document: PageDocument }).document.querySelector(selector)
    ?.textContent === want;

/** Applications `a` (min_replicas 1) and `b` (min_replicas 2), or the ones named. */
const config = (maxReplicas: number, apps = ["a", "b"]) =>
  parseConfig(stringify({
    http_options: { host: "127.0.0.1", port: 0 },
    applications: apps.map((name) => ({
      name,
      route_prefix: `/${name}`,
      import_path: "main:app",
      deployments: [{
        name: "Model",
        ray_actor_options: { num_cpus: 0.25 },
        graceful_shutdown_wait_loop_s: 0.05,
        autoscaling_config: {
          min_replicas: name === "b" ? 2 : 1,
          max_replicas: maxReplicas,
          upscale_delay_s: 30,
        },
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
      const pageErrors: string[] = [];
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      await page.goto(dashboard.url);
      await page.waitForSelector('body[data-connection="live"]', { timeout: 10_000 });
      assert.match((await page.textContent("#autoscaler-config")) ?? "", /max 3 /);
      assert.match(
        (await page.textContent("#apps-list")) ?? "",
        /a RUNNING at \/a · b RUNNING at \/b/,
      );
      const select = page.locator("#deployment-select");
      assert.deepEqual(await select.locator("option").allTextContents(), ["a/Model", "b/Model"]);
      assert.equal(await select.inputValue(), "a/Model", "the first deployment by default");
      assert.equal(await page.textContent("#replicas-running"), "1");
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
      assert.equal(await rule.count(), 1, "the shown deployment's config update only");
      const ruleTitle = page.locator(
        '#chart-replicas svg [aria-label="rule"][stroke="#bf3989"] title',
      );
      assert.match(
        (await ruleTitle.first().textContent()) ?? "",
        /config lightweight a\/Model: autoscaling_config\.max_replicas: 3 -> 5/,
      );
      await Deno.mkdir(RESULTS, { recursive: true });
      await page.screenshot({ path: new URL("dashboard_config_event.png", RESULTS).pathname });

      // Requests to b only: b's first deployment has its own request series, a's stays at 0.
      for (let i = 0; i < 5; i++) {
        const res = await fetch(`${serve.url}/b`, { method: "POST", body: TINY_PNG });
        assert.equal(res.status, 200, await res.text());
      }
      await dashboard.tickNow();
      const snap = await (await fetch(`${dashboard.url}/api/dashboard`)).json() as DashboardInit;
      const rates = (key: string) => snap.deployments[key].points.map((p) => p.rps ?? 0);
      assert.ok(rates("b/Model").some((r) => r > 0), `b/Model's rates ${rates("b/Model")}`);
      assert.ok(rates("a/Model").every((r) => r === 0), `a/Model's rates ${rates("a/Model")}`);
      assert.ok(snap.history.some((p) => (p.rps ?? 0) > 0), "service-wide counts them too");

      // Switch to the second application's deployment: its 2 replicas, its chart and config mark.
      await select.selectOption("b/Model");
      await page.waitForFunction(textIs, ["#replicas-running", "2"], { timeout: 10_000 });
      assert.equal(await page.textContent("#app-name"), "b");
      assert.equal(await page.textContent("#replicas-target"), "2");
      assert.match((await page.textContent("#autoscaler-config")) ?? "", /min 2 · max 5 /);
      assert.match((await page.textContent("#replicas-max")) ?? "", /max_replicas 5/);
      assert.match(
        (await ruleTitle.first().textContent()) ?? "",
        /config lightweight b\/Model: autoscaling_config\.max_replicas: 3 -> 5/,
      );
      const replicaTicks = (await page.locator(
        '#chart-replicas svg [aria-label="y-axis tick label"] text',
      ).allTextContents()).map(Number);
      assert.ok(Math.max(...replicaTicks) >= 3, `b's replicas chart fits 2 + 1: ${replicaTicks}`);
      assert.match(page.url(), /#deployment=b%2FModel$/);
      assert.equal(
        await page.textContent("#rps-scope"),
        "(requests to application b, received by b/Model)",
      );
      await page.screenshot({
        path: new URL("dashboard_second_deployment.png", RESULTS).pathname,
      });

      // A reload keeps the choice.
      await page.reload();
      await page.waitForSelector('body[data-connection="live"]', { timeout: 10_000 });
      await page.waitForFunction(textIs, ["#replicas-running", "2"], { timeout: 10_000 });
      assert.equal(await select.inputValue(), "b/Model");

      // apply without b, with a new c: b stays selectable, marked removed; c appears.
      assert.ok((await serve.apply(config(5, ["a", "c"]))).ok);
      await page.waitForFunction(
        () =>
          /removed/.test(
            (globalThis as unknown as { document: PageDocument }).document.querySelector(
              '#deployment-select option[value="b/Model"]',
            )?.textContent ?? "",
          ),
        null,
        { timeout: 15_000 },
      );
      assert.equal(await select.inputValue(), "b/Model", "the removed one stays viewable");
      assert.equal(await page.textContent("#dep-status"), "REMOVED");
      assert.match((await page.textContent("#deployment-note")) ?? "", /removed from the service/);
      assert.ok(
        (await page.locator('#chart-replicas svg [aria-label="line"] path').count()) >= 1,
        "the removed deployment's replica chart still has its lines",
      );
      await page.waitForSelector('#deployment-select option[value="c/Model"]', {
        state: "attached",
        timeout: 10_000,
      });
      assert.deepEqual(
        (await select.locator("option").allTextContents()).map((t) => t.replace(/ \(.*/, "")),
        ["a/Model", "b/Model", "c/Model"],
      );
      await select.selectOption("c/Model");
      await page.waitForFunction(textIs, ["#app-name", "c"], { timeout: 10_000 });
      await page.waitForFunction(textIs, ["#replicas-running", "1"], { timeout: 10_000 });
      assert.deepEqual(pageErrors, [], "no script errors on the page");
    } finally {
      await context.close();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
      await dashboard.stop();
      await serve.shutdown();
    }
  },
});
