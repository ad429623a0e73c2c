/** Shared fixtures for the autoscaler tests: a full default config and a fake deployment. */
import { AUTOSCALING_DEFAULTS, type AutoscalingConfig } from "../../lib/config/mod.ts";
import type { AutoscalingContext, AutoscalingTarget } from "../../lib/autoscaler/mod.ts";

/**
 * Research §2.8's config: Ray Serve's autoscaling defaults (target 2, min 1, 30 s up, 600 s
 * down, factors 1) with max 10.
 */
export function config(overrides: Partial<AutoscalingConfig> = {}): AutoscalingConfig {
  return { ...AUTOSCALING_DEFAULTS, max_replicas: 10, ...overrides };
}

/** A context with the given running/target/total; everything else neutral. */
export function context(
  fields: { running: number; target: number; total: number; queued?: number; nowMs?: number },
  cfg: AutoscalingConfig = config(),
): AutoscalingContext {
  return {
    appName: "app",
    deploymentName: "Model",
    config: cfg,
    currentNumReplicas: fields.running,
    targetNumReplicas: fields.target,
    totalNumRequests: fields.total,
    totalQueuedRequests: fields.queued ?? 0,
    capacityAdjustedMinReplicas: cfg.min_replicas,
    capacityAdjustedMaxReplicas: cfg.max_replicas,
    policyState: {},
    policyKwargs: {},
    currentTimeMs: fields.nowMs ?? 0,
    lastScaleUpTimeMs: null,
    lastScaleDownTimeMs: null,
  };
}

/**
 * A deployment whose replicas become RUNNING when `startAll()` is called (or at once with
 * `instantStart`), with settable load.
 */
export class FakeDeployment implements AutoscalingTarget {
  running: string[] = [];
  target: number;
  queued = 0;
  /** Ongoing requests per running replica (all replicas get the same). */
  perReplica = 0;
  instantStart: boolean;
  history: number[] = [];
  #next = 0;

  constructor(running: number, options: { instantStart?: boolean } = {}) {
    for (let i = 0; i < running; i++) this.running.push(`r${this.#next++}`);
    this.target = running;
    this.instantStart = options.instantStart ?? false;
  }
  ongoingByReplica(): ReadonlyMap<string, number> {
    return new Map(this.running.map((id) => [id, this.perReplica]));
  }
  queuedRequests(): number {
    return this.queued;
  }
  runningReplicas(): number {
    return this.running.length;
  }
  targetReplicas(): number {
    return this.target;
  }
  setTargetReplicas(n: number): void {
    this.target = n;
    this.history.push(n);
    while (this.running.length > n) this.running.pop();
    if (this.instantStart) this.startAll();
  }
  /** Brings the running count up to the target. */
  startAll(): void {
    while (this.running.length < this.target) this.running.push(`r${this.#next++}`);
  }
}
