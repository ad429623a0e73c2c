/**
 * End-to-end: a real service (no-op model, configs/dev_fast.yaml) and its dashboard on ephemeral
 * ports, the page in headless Chromium. Drives bounded load on 127.0.0.1 and checks what a user
 * sees: the replica count rising when the autoscaler scales up, charts with marks, the decision
 * explained, a narrow window without horizontal scrolling, the "service unreachable" state after
 * the service stops, and the reconnection banner when a dashboard comes back on the same port.
 * Screenshots go to results/dashboard_e2e*.png.
 */
import assert from "node:assert/strict";
import { existsSync } from "node:fs";
import { chromium } from "playwright-core";
import { loadConfig } from "../../lib/config/mod.ts";
import { prepareModel, type ServeHandle, startServe } from "../../lib/serve/mod.ts";
import {
  type DashboardHandle,
  serveDashboardSource,
  startDashboard,
} from "../../lib/dashboard/mod.ts";
import { TINY_PNG } from "./_fixtures.ts";

const CHROMIUM = "/usr/bin/chromium";
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium) {
  console.warn(
    `dashboard e2e test skipped: ${CHROMIUM} is missing (install Debian's chromium package)`,
  );
}
const CONFIG = new URL("../../configs/dev_fast.yaml", import.meta.url);
const RESULTS = new URL("../../results/", import.meta.url);

/** The page's `document`, typed just enough (these tests type-check without the DOM lib). */
interface PageDocument {
  querySelector(selector: string): { textContent: string | null } | null;
  querySelectorAll(selector: string): { length: number };
  documentElement: { scrollWidth: number; clientWidth: number };
}

async function startService(
  logs: string[],
  options: { maxReplicas?: number } = {},
): Promise<ServeHandle> {
  const { config } = await loadConfig(CONFIG.pathname);
  const dep = config.applications[0].deployments[0];
  if (options.maxReplicas !== undefined) dep.autoscaling_config!.max_replicas = options.maxReplicas;
  const model = await prepareModel(dep.user_config.model);
  const serve = await startServe(config, {
    model,
    port: 0,
    host: "127.0.0.1",
    numCpus: 4, // room for max_replicas (4) x 1 CPU, whatever this machine has
    log: (line) => logs.push(line),
  });
  await serve.ready({ timeoutMs: 30_000 });
  return serve;
}

/** Closed-loop load: `users` concurrent clients until `stop` resolves or limits are hit. */
function driveLoad(url: string, options: { users: number; maxMs: number; maxRequests: number }) {
  const abort = new AbortController();
  let sent = 0;
  const deadline = Date.now() + options.maxMs;
  const statuses = new Map<number, number>();
  const user = async () => {
    while (!abort.signal.aborted && Date.now() < deadline && sent < options.maxRequests) {
      sent++;
      try {
        const res = await fetch(url, {
          method: "POST",
          body: TINY_PNG,
          headers: { "content-type": "image/png" },
          signal: abort.signal,
        });
        await res.body?.cancel();
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
      } catch {
        if (abort.signal.aborted) return;
      }
    }
  };
  const done = Promise.all(Array.from({ length: options.users }, user));
  return {
    statuses,
    get sent() {
      return sent;
    },
    async stop() {
      abort.abort();
      await done;
    },
  };
}

Deno.test({
  name:
    "dashboard page shows the replica count rising under load, live charts, the explained decision and the disconnected/reconnected states",
  ignore: !hasChromium,
  sanitizeOps: false,
  sanitizeResources: false,
  async fn() {
    const t0 = performance.now();
    const logs: string[] = [];
    await Deno.mkdir(RESULTS, { recursive: true });
    let serve: ServeHandle | null = await startService(logs);
    let dashboard: DashboardHandle | null = await startDashboard(serveDashboardSource(serve), {
      hostname: "127.0.0.1",
      port: 0,
    });
    const dashboardPort = dashboard.port;
    const userDataDir = await Deno.makeTempDir({ prefix: "dashboard_e2e_chromium_" });
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: [
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
      viewport: { width: 1280, height: 1000 },
    });
    const load: { stop(): Promise<void> }[] = [];
    try {
      const page = context.pages()[0] ?? await context.newPage();
      const foreign: string[] = [];
      const pageErrors: string[] = [];
      page.on("request", (r) => {
        const u = new URL(r.url());
        if (u.hostname !== "127.0.0.1" || u.port !== String(dashboardPort)) foreign.push(r.url());
      });
      page.on("pageerror", (e) => pageErrors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") pageErrors.push(m.text());
      });

      await page.goto(dashboard.url);
      await page.waitForSelector('body[data-connection="live"]', { timeout: 10_000 });
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { document: PageDocument }).document.querySelector(
            "#replicas-running",
          )?.textContent === "1",
        null,
        { timeout: 10_000 },
      );
      assert.equal(await page.textContent("#app-status"), "RUNNING");
      assert.equal(await page.locator("#replica-table tbody tr").count(), 1);

      // Load: 12 users against 1 replica (target_ongoing_requests 2) -> the autoscaler wants more.
      const l = driveLoad(`${serve.url}/`, { users: 12, maxMs: 40_000, maxRequests: 30_000 });
      load.push(l);
      await page.waitForFunction(
        () =>
          Number(
            (globalThis as unknown as { document: PageDocument }).document.querySelector(
              "#replicas-running",
            )?.textContent,
          ) >= 2,
        null,
        { timeout: 20_000 },
      );
      // Keep the load a little longer so the charts show it, then look at the page.
      await page.waitForFunction(
        () =>
          (globalThis as unknown as { document: PageDocument }).document.querySelectorAll(
            "#decisions li",
          ).length >= 1,
        null,
        { timeout: 10_000 },
      );
      await new Promise((r) => setTimeout(r, 2500));
      const running = Number(await page.textContent("#replicas-running"));
      assert.ok(running >= 2, `page shows ${running} running replicas, expected >= 2`);
      assert.ok(
        (await page.locator("#replica-table tbody tr").count()) >= 2,
        "replica table lists the new replicas",
      );

      // The decision is marked and explained: direction, inputs, the delay that fired.
      const decision = await page.textContent("#decisions li");
      assert.match(decision ?? "", /1 → [2-4] replicas/);
      assert.match(decision ?? "", /requests in flight/);
      assert.match(decision ?? "", /upscale_delay_s \(1 s\) fired after the need held \d/);

      // Charts render with marks: a line per series and the decision rules.
      for (const id of ["chart-rps", "chart-latency", "chart-queue", "chart-replicas"]) {
        const lines = await page.locator(`#${id} svg [aria-label="line"] path`).count();
        assert.ok(lines >= 1, `${id} has ${lines} line paths`);
      }
      const rules = await page.locator('#chart-replicas svg [aria-label="rule"] line').count();
      assert.ok(rules >= 2, `replicas chart marks decisions (y=0 rule + decision), got ${rules}`);
      const rps = await page.textContent("#now-rps");
      assert.match(rps ?? "", /now \d/, "the requests/s caption shows a current value");
      await page.screenshot({
        path: new URL("dashboard_e2e.png", RESULTS).pathname,
        fullPage: true,
      });

      // Narrow window: everything reflows, nothing scrolls sideways.
      await page.setViewportSize({ width: 380, height: 900 });
      await page.waitForTimeout(1200);
      const overflow = await page.evaluate(() =>
        (globalThis as unknown as { document: PageDocument }).document.documentElement.scrollWidth -
        (globalThis as unknown as { document: PageDocument }).document.documentElement.clientWidth
      );
      assert.ok(overflow <= 1, `narrow window scrolls sideways by ${overflow} px`);
      await page.screenshot({
        path: new URL("dashboard_e2e_narrow.png", RESULTS).pathname,
        fullPage: true,
      });
      await page.setViewportSize({ width: 1280, height: 1000 });
      await l.stop();

      // Stop the service (the dashboard stays): the page says the service is unreachable.
      const shutdown = serve.shutdown();
      await page.waitForSelector('body[data-connection="service-down"]', { timeout: 10_000 });
      const banner = await page.textContent("#banner");
      assert.match(banner ?? "", /Service unreachable since/);
      assert.equal(await page.isVisible("#banner"), true);
      await page.screenshot({
        path: new URL("dashboard_e2e_disconnected.png", RESULTS).pathname,
        fullPage: true,
      });
      await shutdown;
      serve = null;

      // The dashboard itself goes away: the page notices and keeps retrying.
      await dashboard.stop();
      dashboard = null;
      await page.waitForSelector('body[data-connection="dashboard-down"]', { timeout: 10_000 });
      assert.match((await page.textContent("#banner")) ?? "", /Lost the connection/);

      // A new service and dashboard on the same dashboard port: the page reconnects by itself.
      // It allows 100 replicas (as basic.yaml) but runs 1: the replicas chart fits the data.
      serve = await startService(logs, { maxReplicas: 100 });
      dashboard = await startDashboard(serveDashboardSource(serve), {
        hostname: "127.0.0.1",
        port: dashboardPort,
      });
      await page.waitForSelector('body[data-connection="live"]', { timeout: 15_000 });
      assert.match((await page.textContent("#banner")) ?? "", /Reconnected at .* Live again/);
      assert.equal(await page.textContent("#replicas-running"), "1");
      await page.waitForFunction(() =>
        (globalThis as unknown as { document: PageDocument }).document
          .querySelector("#replicas-max")?.textContent === "(max_replicas 100)"
      );
      const ticks = (await page.locator(
        '#chart-replicas svg [aria-label="y-axis tick label"] text',
      ).allTextContents()).map(Number);
      assert.ok(
        ticks.length >= 2 && Math.max(...ticks) <= 10,
        `replicas axis fits the <= 4 replicas seen, not max_replicas 100: ticks ${ticks}`,
      );

      assert.deepEqual(foreign, [], "the page requested nothing beyond the dashboard");
      assert.deepEqual(pageErrors, [], "no script errors on the page");
      console.log(`dashboard e2e took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    } catch (error) {
      console.error(logs.slice(-30).join("\n"));
      throw error;
    } finally {
      for (const l of load) await l.stop();
      await context.close().catch(() => {});
      await dashboard?.stop();
      await serve?.shutdown();
      await Deno.remove(userDataDir, { recursive: true }).catch(() => {});
    }
  },
});
