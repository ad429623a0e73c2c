/**
 * Pure data shaping for the dashboard: exact per-second request statistics, one chart point per
 * tick from an `/api/status` document (service-wide requests, counts per deployment), a bounded
 * history, and plain-language explanations of
 * scaling decisions (inputs and which delay fired). No clock, no I/O: the collector passes times.
 *
 * @module
 */
import type { AutoscalingConfig } from "../config/mod.ts";
import type { ScalingDecision } from "../autoscaler/mod.ts";
import type { DeploymentStatusJson, ServeStatusJson } from "../serve/mod.ts";

/** One finished application request. */
export interface RequestSample {
  /** Unix ms when it finished. */
  timeMs: number;
  /** End-to-end latency, ms. */
  latencyMs: number;
  /** HTTP status code. */
  status: number;
  /** The deployment that received it (`app/deployment`), when the source knows. */
  deployment?: string;
}

/** Request statistics over one tick interval. */
export interface RequestStats {
  /** Requests that finished in the interval. */
  requests: number;
  /** Of those, answers with status >= 500 (503 back-pressure, 504 timeout, 500). */
  failures: number;
  /** `requests / interval` in requests per second. */
  rps: number;
  /** Exact (nearest-rank) latency percentiles of the interval's samples, ms; null without any. */
  p50Ms: number | null;
  /** 90th percentile, ms. */
  p90Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
}

/** The service-wide request chart point of one tick (requests are not split by deployment). */
export interface RequestPoint {
  /** Unix ms of the tick. */
  t: number;
  /** Whether the service answered its status this tick (false: the values below are null). */
  up: boolean;
  /** Requests per second over the tick, every application together. */
  rps: number | null;
  /** Median latency of the tick's requests, ms. */
  p50Ms: number | null;
  /** 90th percentile, ms. */
  p90Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
  /** Failed requests (status >= 500) in the tick. */
  failures: number | null;
}

/**
 * One deployment's counts at one tick (all null while the service is unreachable). The request
 * fields count the requests its application's route received (an application's first deployment
 * receives them); they are null for the other deployments and when the source does not say which
 * deployment received a request.
 */
export interface DeploymentCounts {
  /** Requests per second it received over the tick. */
  rps: number | null;
  /** Median latency of those requests, ms. */
  p50Ms: number | null;
  /** 90th percentile, ms. */
  p90Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
  /** Of those, failures (status >= 500). */
  failures: number | null;
  /** Requests executing on replicas. */
  ongoing: number | null;
  /** Requests waiting in the router queue. */
  queued: number | null;
  /** Replicas the autoscaler wants. */
  target: number | null;
  /** RUNNING replicas. */
  running: number | null;
  /** STARTING replicas (got their CPUs, loading). */
  starting: number | null;
  /** PENDING_ALLOCATION replicas (waiting for CPUs). */
  pending: number | null;
  /** STOPPING replicas (draining). */
  stopping: number | null;
}

/** One point of a deployment's series: its counts at `t`. */
export interface DeploymentPoint extends DeploymentCounts {
  /** Unix ms of the tick. */
  t: number;
}

/**
 * One tick of every live chart: the service-wide request point and the counts of every
 * deployment, keyed by {@linkcode deploymentKey} (`app/deployment`).
 */
export interface ChartPoint extends RequestPoint {
  /** Counts of each deployment of the status (the last known ones, nulled, while unreachable). */
  deployments: Record<string, DeploymentCounts>;
}

/** A deployment of a status document with its names and series key. */
export interface DeploymentRef {
  /** `app/deployment`, see {@linkcode deploymentKey}. */
  key: string;
  app: string;
  deployment: string;
  dep: DeploymentStatusJson;
}

/** The delays the explanation names; the rest of the autoscaling config is not needed. */
export type DelayConfig = Pick<
  AutoscalingConfig,
  "upscale_delay_s" | "downscale_delay_s" | "downscale_to_zero_delay_s"
>;

/** A scaling decision with what the page shows about it. */
export interface ExplainedDecision extends ScalingDecision {
  /** The deployment that decided (`app/deployment`), or null when unknown. */
  deployment: string | null;
  /** `up` when the target grew. */
  direction: "up" | "down";
  /** The delay that fired, or null when none applied (cold start, bounds). */
  delay: { name: string; required_s: number | null; held_s: number } | null;
  /** One or two sentences: inputs, policy answer, which delay fired. */
  explanation: string;
}

/**
 * The nearest-rank `q`-quantile (0 < q <= 1) of `sorted` (ascending), or null when empty:
 * the smallest sample with at least `q` of the samples at or below it.
 */
export function nearestRank(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantile must be in (0, 1], got ${q}`);
  const i = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length))) - 1;
  return sorted[i];
}

/** Statistics of the samples that finished in `(fromMs, toMs]`, ignoring others. */
export function requestStats(
  samples: readonly RequestSample[],
  window: { fromMs: number; toMs: number },
): RequestStats {
  const { fromMs, toMs } = window;
  if (!(toMs > fromMs)) {
    throw new RangeError(`request window must end after it starts, got ${fromMs}..${toMs}`);
  }
  const lat: number[] = [];
  let failures = 0;
  for (const s of samples) {
    if (s.timeMs <= fromMs || s.timeMs > toMs) continue;
    lat.push(s.latencyMs);
    if (s.status >= 500) failures++;
  }
  lat.sort((a, b) => a - b);
  return {
    requests: lat.length,
    failures,
    rps: lat.length / ((toMs - fromMs) / 1000),
    p50Ms: nearestRank(lat, 0.5),
    p90Ms: nearestRank(lat, 0.9),
    p99Ms: nearestRank(lat, 0.99),
  };
}

/** The key of a deployment's series: `app/deployment` (the page's selector shows it). */
export function deploymentKey(app: string, deployment: string): string {
  return `${app}/${deployment}`;
}

/** Every deployment of a status document, applications in order, with their keys. */
export function deploymentsOf(status: ServeStatusJson): DeploymentRef[] {
  const out: DeploymentRef[] = [];
  for (const [app, a] of Object.entries(status.applications ?? {})) {
    for (const [deployment, dep] of Object.entries(a.deployments ?? {})) {
      out.push({ key: deploymentKey(app, deployment), app, deployment, dep });
    }
  }
  return out;
}

/** The first application's first deployment of a status document (the page's default). */
export function firstDeployment(status: ServeStatusJson): DeploymentRef | null {
  return deploymentsOf(status)[0] ?? null;
}

/**
 * A deployment's counts from its status (every count null for `null`: unreachable) and the
 * statistics of the requests it received (null: not known).
 */
export function deploymentCounts(
  d: DeploymentStatusJson | null,
  stats: RequestStats | null = null,
): DeploymentCounts {
  const rs = d?.replica_states;
  return {
    ...requestFields(stats),
    ongoing: d?.ongoing_requests ?? null,
    queued: d?.queued_requests ?? null,
    target: d?.target_replicas ?? null,
    running: rs?.RUNNING ?? null,
    starting: rs?.STARTING ?? null,
    pending: rs?.PENDING_ALLOCATION ?? null,
    stopping: rs?.STOPPING ?? null,
  };
}

/**
 * The chart point for a tick at `t`: service-wide request statistics from `stats` and every
 * deployment's counts from `status` (null: unreachable, so no deployments and null stats).
 */
export function chartPoint(
  t: number,
  status: ServeStatusJson | null,
  stats: RequestStats | null,
): ChartPoint {
  const deployments: Record<string, DeploymentCounts> = {};
  for (const d of status ? deploymentsOf(status) : []) deployments[d.key] = deploymentCounts(d.dep);
  return {
    t,
    up: status !== null,
    ...requestFields(stats),
    deployments,
  };
}

function requestFields(stats: RequestStats | null) {
  return {
    rps: stats ? round(stats.rps, 3) : null,
    p50Ms: stats?.p50Ms ?? null,
    p90Ms: stats?.p90Ms ?? null,
    p99Ms: stats?.p99Ms ?? null,
    failures: stats?.failures ?? null,
  };
}

/** A fixed-capacity ring of the newest items (oldest dropped first). */
export class History<T> {
  readonly #items: T[] = [];
  /** Keeps at most `capacity` items (>= 1). */
  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new RangeError(`history capacity must be an integer >= 1, got ${capacity}`);
    }
  }
  /** Appends, dropping the oldest beyond the capacity. */
  push(item: T): void {
    this.#items.push(item);
    if (this.#items.length > this.capacity) {
      this.#items.splice(0, this.#items.length - this.capacity);
    }
  }
  /** The items, oldest first (a copy). */
  toArray(): T[] {
    return this.#items.slice();
  }
  /** The newest item, or undefined when empty. */
  last(): T | undefined {
    return this.#items.at(-1);
  }
  /** Number of items held. */
  get length(): number {
    return this.#items.length;
  }
}

/** Key that identifies a decision across status reads and the in-process subscription. */
export function decisionKey(d: Pick<ScalingDecision, "time_ms" | "from_replicas" | "to_replicas">) {
  return `${d.time_ms}:${d.from_replicas}->${d.to_replicas}`;
}

/**
 * Explains a decision: the inputs (requests in flight and queued, running replicas), the
 * policy's raw answer against `target_ongoing_requests`, and which delay fired after how long.
 * `delays` (the autoscaling config) names the required delay; without it only the hold time shows.
 */
export function explainDecision(
  d: ScalingDecision,
  options: {
    delays?: DelayConfig | null;
    targetOngoingRequests?: number | null;
    /** The deciding deployment's key (`app/deployment`). */
    deployment?: string | null;
  } = {},
): ExplainedDecision {
  const direction = d.to_replicas > d.from_replicas ? "up" : "down";
  const verb = direction === "up" ? "Upscale" : "Downscale";
  const n = (x: number) => (Number.isInteger(x) ? String(x) : x.toFixed(1));
  const replicas = (x: number) => `${x} replica${x === 1 ? "" : "s"}`;
  const inputs = `${n(d.total_ongoing_requests)} requests in flight (${
    n(d.queued_requests)
  } queued) on ${replicas(d.running_replicas)} running`;
  const t = options.targetOngoingRequests;
  const policy = d.raw_replicas === null
    ? ""
    : `; the policy asked for ${d.raw_replicas.toFixed(2)} replicas${
      t ? ` (${n(d.total_ongoing_requests)} / target_ongoing_requests ${n(t)})` : ""
    }`;
  const cfg = options.delays ?? null;
  let delay: ExplainedDecision["delay"] = null;
  let delayText: string;
  switch (d.reason) {
    case "upscale":
    case "downscale": {
      // upscale_delay_s or downscale_delay_s
      const name = `${d.reason}_delay_s` as const;
      delay = { name, required_s: cfg?.[name] ?? null, held_s: d.held_s };
      break;
    }
    case "downscale_to_zero": {
      const own = cfg?.downscale_to_zero_delay_s ?? null;
      delay = {
        name: own !== null ? "downscale_to_zero_delay_s" : "downscale_delay_s",
        required_s: own ?? cfg?.downscale_delay_s ?? null,
        held_s: d.held_s,
      };
      break;
    }
  }
  if (delay) {
    const req = delay.required_s === null ? "" : ` (${n(delay.required_s)} s)`;
    delayText = `${delay.name}${req} fired after the ${
      direction === "up" ? "need" : "surplus"
    } held ${d.held_s.toFixed(1)} s.`;
  } else if (d.reason === "cold_start") {
    delayText = "cold start: requests arrived with no replica running, so no delay applies.";
  } else if (d.reason === "bounds") {
    delayText = "the target was moved into [min_replicas, max_replicas]; no delay applies.";
  } else {
    delayText = `reason: ${d.reason}.`;
  }
  const explanation =
    `${verb} ${d.from_replicas} → ${d.to_replicas}: ${inputs}${policy}; ${delayText}`;
  return { ...d, deployment: options.deployment ?? null, direction, delay, explanation };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
