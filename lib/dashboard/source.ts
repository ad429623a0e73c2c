/**
 * What the dashboard reads: a small read-only interface ({@linkcode DashboardSource}) and two
 * ways to get one — from a service running in this process ({@linkcode serveDashboardSource},
 * with exact per-request latencies and every scaling decision) or from any service's URL
 * ({@linkcode httpDashboardSource}, status only). Nothing here can change the service.
 *
 * @module
 */
import type { ScalingDecision } from "../autoscaler/mod.ts";
import type { ServeHandle, ServeStatusJson } from "../serve/mod.ts";
import { type DelayConfig, deploymentKey, type RequestSample } from "./shaping.ts";

/** The read-only view of a service that the dashboard needs. */
export interface DashboardSource {
  /** Shown on the page, e.g. the service URL. */
  readonly label: string;
  /** The service's `/api/status` document; rejects with a readable error when unreachable. */
  statusSnapshot(): Promise<ServeStatusJson>;
  /** Subscribes to finished application requests; returns the unsubscribe function. */
  onRequest?(fn: (r: RequestSample) => void): () => void;
  /**
   * Whether every request from `onRequest` names the deployment that received it (then each
   * application's first deployment gets its own request statistics).
   */
  readonly requestsByDeployment?: boolean;
  /** Subscribes to scaling decisions as they happen; returns the unsubscribe function. */
  onDecision?(fn: (d: ScalingDecision) => void): () => void;
  /** Recent scaling decisions, oldest first. */
  decisions?(): readonly ScalingDecision[];
  /**
   * Whose decisions `onDecision`/`decisions` give (`app/deployment`); default: the status's
   * first deployment. Decisions of the others come from their status's `last_decision`.
   */
  readonly decisionsDeployment?: string;
  /** The autoscaling delays, to say which one fired (null: not autoscaling or unknown). */
  readonly delays?: DelayConfig | null;
}

/** Reads `GET <baseUrl>/api/status`; the error says what failed and where. */
export async function fetchServeStatus(
  baseUrl: string,
  options: { timeoutMs?: number } = {},
): Promise<ServeStatusJson> {
  const url = `${baseUrl.replace(/\/+$/, "")}/api/status`;
  const timeoutMs = options.timeoutMs ?? 2000;
  let res: Response;
  try {
    res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  } catch (error) {
    const e = error as Error;
    const why = e?.name === "TimeoutError"
      ? `no answer within ${timeoutMs} ms`
      : [e?.message ?? String(error), (e?.cause as Error | undefined)?.message]
        .filter(Boolean).join(": ");
    throw new Error(`cannot reach ${url}: ${why}`);
  }
  const text = await res.text();
  if (!res.ok) throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    throw new Error(`GET ${url} did not answer JSON: ${text.slice(0, 120)}`);
  }
  if (typeof doc !== "object" || doc === null || !("applications" in doc)) {
    throw new Error(
      `GET ${url} answered JSON without "applications"; is it an autoscale-lab service?`,
    );
  }
  return doc as ServeStatusJson;
}

/**
 * A source for a service started in this process: its status is read over HTTP (so "unreachable"
 * means what a client would see), request latencies come from
 * {@linkcode ServeHandle.onAppRequest}, decisions from its autoscaler.
 */
export function serveDashboardSource(
  serve: Pick<ServeHandle, "url" | "onAppRequest" | "autoscaler" | "deployment" | "appName">,
  options: { timeoutMs?: number } = {},
): DashboardSource {
  const a = serve.autoscaler;
  const deciding = a ? deploymentKey(serve.appName, serve.deployment.name) : undefined;
  return {
    label: serve.url,
    statusSnapshot: () => fetchServeStatus(serve.url, options),
    onRequest: (fn) =>
      serve.onAppRequest((r) =>
        fn({
          timeMs: r.timeMs,
          latencyMs: r.latencyMs,
          status: r.status,
          deployment: deploymentKey(r.application, r.deployment),
        })
      ),
    requestsByDeployment: true,
    onDecision: a ? (fn) => a.onDecision(fn) : undefined,
    decisions: a ? () => a.decisions() : undefined,
    decisionsDeployment: deciding,
    // Read at each use: a config update may change the delays (of the first deployment).
    get delays() {
      return serve.deployment.config.autoscaling_config ?? null;
    },
  };
}

/**
 * A source for any service by URL: status only (scaling decisions come from the status's
 * `last_decision`; there are no per-request latencies, so those charts stay empty).
 */
export function httpDashboardSource(
  baseUrl: string,
  options: { timeoutMs?: number; delays?: DelayConfig | null } = {},
): DashboardSource {
  let protocol = "";
  try {
    protocol = new URL(baseUrl).protocol;
  } catch {
    // reported below
  }
  if (protocol !== "http:" && protocol !== "https:") {
    throw new TypeError(
      `service URL must be an absolute http(s) URL, like http://127.0.0.1:8000, got ${baseUrl}`,
    );
  }
  return {
    label: baseUrl,
    statusSnapshot: () => fetchServeStatus(baseUrl, options),
    delays: options.delays ?? null,
  };
}
