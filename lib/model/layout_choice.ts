/**
 * Which backend serves the most images/s for a whole deployment, not for one replica. A CPU
 * backend (native, wasm) runs one session per replica on its own cores, so its total grows with
 * the replicas the CPUs allow; every WebGPU replica shares the machine's one GPU, so a WebGPU
 * backend's total is what one replica measured on that device, however many replicas run.
 *
 * On the H200 of docs/backends.md, 16 one-thread native sessions served 220 images/s together,
 * under 15 each: one such replica loses to the NHWC WebGPU path `webgpu` runs today (39.3 images/s
 * at batch 32), the deployment of 16 wins (220 > 39.3). Only a WebGPU path above 220 images/s at
 * the batch the deployment can form (the fp16 + NHWC + graph-capture variant: 595 at batch 32)
 * should take the deployment.
 *
 * @module
 */

import type { ConcreteBackend } from "./_ort.ts";
import { formatRate, roundTo } from "./_rate.ts";

/** One backend's measured speed in one replica. */
export interface BackendTiming {
  /** The backend timed. */
  backend: ConcreteBackend;
  /** Batch the runs used. */
  batch: number;
  /** Median run, ms (null when the backend failed). */
  p50Ms: number | null;
  /** `batch * 1000 / p50Ms`. */
  imagesPerS: number | null;
  /** Timed runs. */
  runs: number;
  /** A software (fallback) WebGPU adapter: never chosen. */
  fallback?: boolean;
  /** Why the backend could not be timed. */
  error?: string;
}

/** What a deployment offers its replicas: the facts a layout is judged on. */
export interface DeploymentFacts {
  /** Most replicas the deployment may run (`autoscaling_config.max_replicas`, or `num_replicas`). */
  maxReplicas: number;
  /** Logical CPUs per replica (`ray_actor_options.num_cpus`; may be a fraction, or 0). */
  numCpus: number;
  /** Logical CPUs the cluster offers replicas. */
  clusterCpus: number;
  /** Cores of the machine the replicas run on. */
  machineCpus: number;
  /** `max_batch_size` (1 = no batching). */
  maxBatchSize: number;
  /** `max_ongoing_requests`: the router never sends a replica more, so no batch is larger. */
  maxOngoingRequests: number;
}

/** One backend's throughput as a deployment layout. */
export interface LayoutFigure {
  /** The backend this layout runs on. */
  backend: ConcreteBackend;
  /**
   * `replicas`: each replica runs on its own CPUs, so the total is replicas x one replica's
   * figure; `one_device`: all replicas share the one GPU, so the total is one replica's figure.
   */
  scaling: "replicas" | "one_device";
  /** Replicas whose throughput adds up: the replicas the CPUs allow, or 1 on the one device. */
  replicas: number;
  /** Batch of the timing used. */
  batch: number;
  /** One replica's measured images/s (null when it could not be timed). */
  perReplicaImagesPerS: number | null;
  /** The deployment's images/s in this layout (null when not comparable). */
  imagesPerS: number | null;
  /** Why this layout is not comparable (failed, software adapter, no timing at this batch). */
  note?: string;
}

/** What {@link chooseLayout} decided. */
export interface LayoutChoice {
  /** The backend of the layout serving the most images/s; null when none is comparable. */
  backend: ConcreteBackend | null;
  /** The batch the deployment can form: min(max_batch_size, max_ongoing_requests). */
  batch: number;
  /** Replicas the CPUs allow: min(max_replicas, cluster CPUs / num_cpus, machine cores / threads). */
  cpuReplicas: number;
  /** Every backend's layout, best first (not comparable ones last). */
  layouts: LayoutFigure[];
  /** One line for logs and status. */
  reason: string;
}

const EPSILON = 1e-9;

function checkFacts(facts: DeploymentFacts): void {
  const keys: (keyof DeploymentFacts)[] = [
    "maxReplicas",
    "numCpus",
    "clusterCpus",
    "machineCpus",
    "maxBatchSize",
    "maxOngoingRequests",
  ];
  for (const key of keys) {
    const v = facts?.[key];
    // num_cpus may be 0 (Ray places such replicas without counting CPUs).
    const min = key === "numCpus" ? 0 : Number.MIN_VALUE;
    if (typeof v !== "number" || !Number.isFinite(v) || v < min) {
      throw new RangeError(
        `deployment facts: ${key} must be a ${key === "numCpus" ? "non-negative" : "positive"} ` +
          `number, got ${v}`,
      );
    }
  }
}

/** The batch a deployment's replicas can form: min(max_batch_size, max_ongoing_requests), >= 1. */
export function formableBatch(
  facts: Pick<DeploymentFacts, "maxBatchSize" | "maxOngoingRequests">,
): number {
  return Math.max(1, Math.floor(Math.min(facts.maxBatchSize, facts.maxOngoingRequests)));
}

/**
 * Replicas whose CPU throughput adds up: at most `max_replicas`, as many as the cluster can place
 * (`clusterCpus / numCpus`; any number when `numCpus` is 0), and as many as the machine's cores
 * run side by side (`machineCpus / threads`, a replica's threads being max(1, floor(numCpus)));
 * at least 1.
 *
 * @throws RangeError when a fact is not a number in range.
 */
export function cpuReplicas(facts: DeploymentFacts): number {
  checkFacts(facts);
  const threads = Math.max(1, Math.floor(facts.numCpus + EPSILON));
  const placed = facts.numCpus > 0
    ? Math.floor(facts.clusterCpus / facts.numCpus + EPSILON)
    : Number.POSITIVE_INFINITY;
  const parallel = Math.floor(facts.machineCpus / threads + EPSILON);
  return Math.max(1, Math.min(Math.floor(facts.maxReplicas), placed, parallel));
}

/**
 * Chooses the layout that serves the most images/s for the whole deployment from per-replica
 * `timings` (each backend timed in one replica, at the replica's threads). A CPU backend's total
 * is {@link cpuReplicas} x its figure; a WebGPU backend's total is its figure alone (the replicas
 * share one device). Each backend is judged at the largest timed batch not above the batch the
 * deployment can form ({@link formableBatch}): with batching off, WebGPU is judged at batch 1. A
 * software (fallback) adapter is never chosen. Ties go to the earlier backend in `timings`.
 *
 * Assumes CPU replicas scale linearly with the cores they get: an upper bound, since replicas
 * share memory bandwidth and caches (time the CPU backend with the other cores busy to tighten it).
 *
 * ```ts
 * const choice = chooseLayout([
 *   { backend: "native", batch: 32, p50Ms: 2327, imagesPerS: 13.75, runs: 3 },
 *   { backend: "webgpu", batch: 32, p50Ms: 53.8, imagesPerS: 595, runs: 3 },
 * ], {
 *   maxReplicas: 16, numCpus: 1, clusterCpus: 16, machineCpus: 16,
 *   maxBatchSize: 32, maxOngoingRequests: 32,
 * });
 * // choice.backend === "webgpu": 595 img/s on the one device > native 16 x 13.75 = 220 img/s
 * ```
 *
 * @throws RangeError when a fact is not a number in range.
 */
export function chooseLayout(
  timings: readonly BackendTiming[],
  facts: DeploymentFacts,
): LayoutChoice {
  checkFacts(facts);
  const batch = formableBatch(facts);
  const replicas = cpuReplicas(facts);
  const backends = [...new Set(timings.map((t) => t.backend))];
  const figures = backends.map((backend) => layoutOf(backend, timings, batch, replicas));
  let best: LayoutFigure | null = null;
  for (const f of figures) {
    if (f.imagesPerS !== null && (!best || f.imagesPerS > best.imagesPerS!)) best = f;
  }
  const layouts = [...figures].sort((a, b) => (b.imagesPerS ?? -1) - (a.imagesPerS ?? -1));
  const summary = `${
    layouts.map((f) => describeLayout(f, { batch })).join(" > ")
  } at batch ${batch}`;
  return {
    backend: best?.backend ?? null,
    batch,
    cpuReplicas: replicas,
    layouts,
    reason: best
      ? `most images/s for the deployment: ${summary}`
      : `no layout could be compared: ${summary}`,
  };
}

function layoutOf(
  backend: ConcreteBackend,
  timings: readonly BackendTiming[],
  batch: number,
  replicas: number,
): LayoutFigure {
  const scaling = backend === "webgpu" ? "one_device" : "replicas";
  const n = scaling === "one_device" ? 1 : replicas;
  const own = timings.filter((t) => t.backend === backend);
  const usable = own.filter((t) => t.batch <= batch).sort((a, b) => b.batch - a.batch);
  const t = usable.find((u) => u.imagesPerS !== null && u.imagesPerS > 0) ?? usable[0];
  const base = { backend, scaling, replicas: n } as const;
  if (!t) {
    const timed = own.map((u) => u.batch).join(", ");
    return {
      ...base,
      batch,
      perReplicaImagesPerS: null,
      imagesPerS: null,
      note: `timed only at batch ${timed}, above the batch ${batch} the deployment can form`,
    };
  }
  const fig = { ...base, batch: t.batch, perReplicaImagesPerS: t.imagesPerS };
  if (t.fallback) {
    return { ...fig, imagesPerS: null, note: "software (fallback) adapter: never chosen" };
  }
  if (t.imagesPerS === null || !(t.imagesPerS > 0)) {
    return { ...fig, imagesPerS: null, note: t.error ?? "no figure" };
  }
  return { ...fig, imagesPerS: roundTo(n * t.imagesPerS, 2) };
}

/**
 * `native 220 img/s (16 replicas x 13.8)`, `webgpu 595 img/s (one device)`; with `batch`, a
 * figure timed at another batch says so (`webgpu 20.0 img/s (one device, timed at batch 1)`).
 */
export function describeLayout(f: LayoutFigure, options: { batch?: number } = {}): string {
  if (f.imagesPerS === null) return `${f.backend} not compared (${f.note ?? "no figure"})`;
  const how = f.scaling === "one_device"
    ? "one device"
    : `${f.replicas} replica${f.replicas === 1 ? "" : "s"} x ${
      formatRate(f.perReplicaImagesPerS!)
    }`;
  const at = options.batch === undefined || options.batch === f.batch
    ? ""
    : `, timed at batch ${f.batch}`;
  return `${f.backend} ${formatRate(f.imagesPerS)} img/s (${how}${at})`;
}
