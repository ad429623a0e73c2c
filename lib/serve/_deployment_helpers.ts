/**
 * Small pieces of a deployment that need none of its state: Ray's slow-start warning, the
 * status codes of `ray_serve_deployment_status`, replica ids.
 *
 * @module
 */
import type { Clock } from "../autoscaler/mod.ts";
import type { Cluster } from "./cluster.ts";
import type { DeploymentConfig } from "../config/mod.ts";
import type { ReplicaReply, ReplicaState } from "./types.ts";

/** The answer to one request, with where and how long it waited. */
export interface HandledRequest {
  /** The replica's answer. */
  reply: ReplicaReply;
  /** Id of the replica that answered. */
  replicaId: string;
  /** Time waiting in the router queue for a replica slot (the answering attempt), ms. */
  queueMs: number;
  /** True when a first replica died with the request and it was retried on another. */
  retried: boolean;
}

/** Number of replicas a deployment starts with: num_replicas, or initial_replicas ?? min_replicas. */
export function initialReplicaCount(config: DeploymentConfig): number {
  const a = config.autoscaling_config;
  if (a) return a.initial_replicas ?? a.min_replicas;
  return config.num_replicas ?? 1;
}

/** Ray's SERVE_SLOW_STARTUP_WARNING_S (30 s), repeated every 30 s. */
export const SLOW_STARTUP_WARNING_MS = 30_000;

/** The `ray_serve_deployment_status` code of each status. */
export const STATUS_CODES: Record<string, number> = {
  DEPLOY_FAILED: 1,
  UNHEALTHY: 2,
  UPDATING: 3,
  UPSCALING: 4,
  DOWNSCALING: 5,
  HEALTHY: 6,
};

/** Ray's slow-start warning: replicas asked for more than 30 s ago and still not RUNNING. */
export function slowStartWarnings(
  replicas: readonly { state: ReplicaState; requestedAtMs: number }[],
  options: { nowMs: number; numCpus: number; cluster: Cluster },
): string[] {
  const { nowMs, numCpus, cluster } = options;
  const slow = (state: ReplicaState) =>
    replicas.filter((r) => r.state === state && nowMs - r.requestedAtMs > SLOW_STARTUP_WARNING_MS)
      .length;
  const pending = slow("PENDING_ALLOCATION");
  const starting = slow("STARTING");
  const lines: string[] = [];
  if (pending > 0) {
    lines.push(
      `${pending} replica(s) have waited more than ${SLOW_STARTUP_WARNING_MS / 1000} s ` +
        `for CPUs: each needs ${numCpus}, the cluster has ` +
        `${cluster.numCpus - cluster.cpusUsed} of ` +
        `${cluster.numCpus} free (raise --num-cpus or lower num_cpus)`,
    );
  }
  if (starting > 0) {
    lines.push(
      `${starting} replica(s) have taken more than ${SLOW_STARTUP_WARNING_MS / 1000} s ` +
        `to start (model load); the machine may be overloaded`,
    );
  }
  return lines;
}

/** A random 8-hex-digit replica id. */
export function newReplicaId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Calls `fn` once (in a microtask) after CPUs of the shared cluster were given back, however
 * many frees came in between: another deployment's drained replica may let this one's pending
 * replicas start. Returns the unsubscribe function.
 */
export function onCpusFreed(cluster: Cluster, fn: () => void): () => void {
  let queued = false;
  return cluster.onFreed(() => {
    if (queued) return;
    queued = true;
    queueMicrotask(() => {
      queued = false;
      fn();
    });
  });
}

/** Waits (polling every 20 ms on `clock`) until `queue` is empty, no replica runs or time is up. */
export async function waitForQueueToEmpty(
  queue: { readonly queued: number },
  options: { running: () => number; clock: Clock; timeoutMs: number },
): Promise<void> {
  const { clock } = options;
  const deadline = clock.now() + options.timeoutMs;
  while (queue.queued > 0 && options.running() > 0 && clock.now() < deadline) {
    await new Promise((r) => clock.setTimeout(() => r(null), 20));
  }
}
