/**
 * The dashboard's HTTP server: the page, its scripts (Plot and d3 from node_modules, no CDN), an
 * SSE stream fed by one shared tick, and a JSON snapshot. Every route is a read (GET/HEAD); the
 * service cannot be changed from here.
 *
 * @module
 */
import { type Asset, loadPageAssets, loadVendorAssets } from "./_assets.ts";
import { DashboardCollector } from "./collector.ts";
import type { DashboardSource } from "./source.ts";
import { hostHeaderProblem } from "../serve/mod.ts";
import { encodeSseEvent, SseHub } from "./sse.ts";

/** Options of {@linkcode startDashboard}. */
export interface DashboardOptions {
  /** Interface to listen on (default `127.0.0.1`: the dashboard is for this machine). */
  hostname?: string;
  /** Port (default 8265, Ray's dashboard port; 0 = any free port). */
  port?: number;
  /** How often the status is read and pushed to every page, ms (default 1000). */
  tickMs?: number;
  /** How far back the charts reach, seconds (default 300). */
  historyS?: number;
  /** Readable log lines (missing bundles, failures). */
  log?: (line: string) => void;
  /** Where to find Plot and d3 (default: the project's node_modules). */
  nodeModulesDir?: string | URL;
  /** Unix ms clock (tests); default `Date.now`. */
  now?: () => number;
  /**
   * The service's admin REST API (lib/serve's `createAdminApi`, issue 15) on the same port: it
   * answers its own path and returns null for the others. The page itself stays read-only.
   */
  adminApi?: (req: Request) => Promise<Response> | null;
}

/** A running dashboard. */
export interface DashboardHandle {
  /** e.g. `http://127.0.0.1:8265`. */
  readonly url: string;
  /** The port the dashboard listens on (the one the OS chose when asked for 0). */
  readonly port: number;
  /** Connected pages. */
  readonly clients: number;
  /** Runs one tick now (tests): reads the status and pushes a frame to every page. */
  tickNow(): Promise<void>;
  /** Stops ticking, ends every event stream and closes the server. */
  stop(): Promise<void>;
}

const CSP = [
  "default-src 'self'",
  "script-src 'self'",
  "style-src 'self' 'unsafe-inline'", // Plot writes a <style> into each chart
  "img-src 'self' data:",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join("; ");

/**
 * Starts the dashboard for `source` and begins ticking. Default address `127.0.0.1:8265`.
 * Throws (with the address) when the port is taken.
 */
export async function startDashboard(
  source: DashboardSource,
  options: DashboardOptions = {},
): Promise<DashboardHandle> {
  const hostname = options.hostname ?? "127.0.0.1";
  const port = options.port ?? 8265;
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`dashboard port must be an integer from 0 to 65535, got ${port}`);
  }
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const page = await loadPageAssets();
  const vendor = await loadVendorAssets(options.nodeModulesDir);
  for (const m of vendor.missing) log(`dashboard: ${m}; the page will show status without charts`);
  const assets = new Map<string, Asset>([...page, ...vendor.assets]);

  const collector = new DashboardCollector(source, {
    tickMs: options.tickMs,
    historyS: options.historyS,
    startMs: now(),
  });
  const hub = new SseHub({ retryMs: Math.min(2000, collector.tickMs * 2) });

  let ticking: Promise<void> | null = null;
  const tickOnce = (): Promise<void> => {
    // One tick at a time: a slow status read delays the next tick instead of piling up reads.
    ticking ??= (async () => {
      try {
        const frame = await collector.tick(now());
        hub.broadcast("tick", frame);
      } catch (error) {
        log(`dashboard: tick failed: ${(error as Error)?.stack ?? error}`);
      } finally {
        ticking = null;
      }
    })();
    return ticking;
  };

  let stopped = false;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let nextMs = 0;
  // Fixed rate (tick k at start + k * tickMs); a tick that overruns skips ahead, never bursts.
  const schedule = () => {
    if (stopped) return;
    timer = setTimeout(async () => {
      await tickOnce();
      nextMs += collector.tickMs;
      if (nextMs < now()) nextMs = now() + collector.tickMs;
      schedule();
    }, Math.max(0, nextMs - now()));
  };

  const handler = (req: Request): Response | Promise<Response> => {
    const badHost = hostHeaderProblem(req); // new URL() below would throw on it (a 500)
    if (badHost) return text(400, badHost + "\n", { connection: "close" });
    const api = options.adminApi?.(req);
    if (api) return api;
    const url = new URL(req.url);
    if (req.method !== "GET" && req.method !== "HEAD") {
      return text(405, `the dashboard only reads: use GET ${url.pathname}\n`, {
        allow: "GET, HEAD",
      });
    }
    const path = url.pathname === "/index.html" ? "/" : url.pathname;
    if (path === "/events") {
      return hub.connect(encodeSseEvent("init", collector.init()));
    }
    if (path === "/api/dashboard") {
      return new Response(JSON.stringify(collector.init()), {
        headers: { "content-type": "application/json", "cache-control": "no-store" },
      });
    }
    const asset = assets.get(path);
    if (!asset) {
      return text(
        404,
        `no dashboard route ${path}; try / (the page), /events (SSE), /api/dashboard (JSON)\n`,
      );
    }
    return new Response(req.method === "HEAD" ? null : asset.body.slice(), {
      headers: {
        "content-type": asset.contentType,
        "cache-control": path.startsWith("/vendor/") ? "max-age=3600" : "no-store",
        "content-security-policy": CSP,
        "x-content-type-options": "nosniff",
      },
    });
  };

  let listening!: { hostname: string; port: number };
  let server: Deno.HttpServer;
  try {
    server = Deno.serve({
      hostname,
      port,
      onListen: (addr) => {
        listening = addr;
      },
      onError: (error) => {
        log(`dashboard: internal error: ${(error as Error)?.stack ?? error}`);
        return text(500, "internal error\n");
      },
    }, handler);
  } catch (error) {
    collector.stop();
    if (error instanceof Deno.errors.AddrInUse) {
      throw new Error(
        `dashboard cannot listen on ${hostname}:${port}: the port is in use; ` +
          `pick another with --dashboard-port P (or --no-dashboard)`,
      );
    }
    throw error;
  }
  const host = listening.hostname.includes(":") ? `[${listening.hostname}]` : listening.hostname;
  const url = `http://${host}:${listening.port}`;

  await tickOnce(); // the first page load already has a frame
  nextMs = now() + collector.tickMs;
  schedule();

  return {
    url,
    port: listening.port,
    get clients() {
      return hub.size;
    },
    tickNow: tickOnce,
    async stop() {
      if (stopped) return;
      stopped = true;
      clearTimeout(timer);
      await ticking;
      collector.stop();
      hub.close();
      await server.shutdown();
    },
  };
}

function text(status: number, body: string, headers: Record<string, string> = {}): Response {
  return new Response(body, {
    status,
    headers: { "content-type": "text/plain; charset=utf-8", ...headers },
  });
}
