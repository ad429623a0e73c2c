/**
 * Shared fixtures for dashboard tests: an `/api/status` document and a fake source whose status,
 * requests and decisions the test controls (no service, no clock).
 *
 * @module
 */
import type { AutoscalerStatus, ScalingDecision } from "../../lib/autoscaler/mod.ts";
import type { DashboardSource, DelayConfig, RequestSample } from "../../lib/dashboard/mod.ts";
import type { ServeStatusJson } from "../../lib/serve/mod.ts";

/** A status document with one application and one deployment with the given counts. */
export function statusDoc(c: {
  running?: number;
  starting?: number;
  pending?: number;
  target?: number;
  ongoing?: number;
  queued?: number;
  autoscaler?: Partial<AutoscalerStatus> | null;
} = {}): ServeStatusJson {
  const running = c.running ?? 1;
  return {
    applications: {
      app: {
        status: "RUNNING",
        message: "",
        route_prefix: "/",
        last_deployed_time_s: 0,
        deployments: {
          Dep: {
            status: "HEALTHY",
            status_trigger: "CONFIG_UPDATE_COMPLETED",
            message: "",
            target_replicas: c.target ?? running,
            replica_states: {
              PENDING_ALLOCATION: c.pending ?? 0,
              STARTING: c.starting ?? 0,
              RUNNING: running,
              STOPPING: 0,
            },
            ongoing_requests: c.ongoing ?? 0,
            queued_requests: c.queued ?? 0,
            replicas: [],
            autoscaler: c.autoscaler ?? null,
          },
        },
      },
    },
    model: { name: "noop:20", pretrained: false, labels_meaningful: false, backend: "noop" },
    cluster: { num_cpus: 4, cpus_used: running },
  };
}

/**
 * A status document with one application per entry of `apps` (name -> counts), each with one
 * deployment `Model` (the shape of a two-application config such as the apply tests use).
 */
export function twoAppStatus(
  apps: Record<string, Parameters<typeof statusDoc>[0]>,
): ServeStatusJson {
  const out: ServeStatusJson = { ...statusDoc(), applications: {} };
  for (const [name, counts] of Object.entries(apps)) {
    const one = statusDoc(counts).applications.app;
    one.route_prefix = `/${name}`;
    one.deployments = { Model: one.deployments.Dep };
    out.applications[name] = one;
  }
  return out;
}

/** A controllable {@linkcode DashboardSource}. */
export class FakeSource implements DashboardSource {
  readonly label = "http://fake.invalid";
  decisionsDeployment: string | undefined = undefined;
  requestsByDeployment = false;
  status: ServeStatusJson | Error = statusDoc();
  statusReads = 0;
  delays: DelayConfig | null = {
    upscale_delay_s: 1,
    downscale_delay_s: 3,
    downscale_to_zero_delay_s: null,
  };
  backlog: ScalingDecision[] = [];
  readonly requestFns = new Set<(r: RequestSample) => void>();
  readonly decisionFns = new Set<(d: ScalingDecision) => void>();

  statusSnapshot(): Promise<ServeStatusJson> {
    this.statusReads++;
    const s = this.status;
    return s instanceof Error ? Promise.reject(s) : Promise.resolve(structuredClone(s));
  }
  onRequest(fn: (r: RequestSample) => void): () => void {
    this.requestFns.add(fn);
    return () => this.requestFns.delete(fn);
  }
  onDecision(fn: (d: ScalingDecision) => void): () => void {
    this.decisionFns.add(fn);
    return () => this.decisionFns.delete(fn);
  }
  decisions(): ScalingDecision[] {
    return this.backlog;
  }
  /** Emits one finished request to every subscriber. */
  request(r: RequestSample): void {
    for (const fn of this.requestFns) fn(r);
  }
  /** Emits one decision to every subscriber. */
  decide(d: ScalingDecision): void {
    for (const fn of this.decisionFns) fn(d);
  }
}

/** A scaling decision with overrides. */
export function decisionAt(timeMs: number, over: Partial<ScalingDecision> = {}): ScalingDecision {
  return {
    time_ms: timeMs,
    elapsed_s: timeMs / 1000,
    from_replicas: 1,
    to_replicas: 2,
    reason: "upscale",
    total_ongoing_requests: 4,
    queued_requests: 1,
    running_replicas: 1,
    raw_replicas: 2,
    held_s: 1,
    message: "Upscaling from 1 to 2 replicas.",
    ...over,
  };
}

/** A valid 1x1 PNG (the no-op model still checks magic bytes). */
export const TINY_PNG: Uint8Array<ArrayBuffer> = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);
