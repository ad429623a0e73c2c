/**
 * Per-request overhead the simulator can know: the time a request spends outside its replica
 * (HTTP parsing and writing, the main thread's and the worker's event loops, the load
 * generator's own client) on this machine. The service adds it to every request; without it a
 * simulated latency tail is the service time's alone.
 *
 * It is measured against a running no-op service ({@linkcode measureRequestOverhead}: latency
 * minus the known service time, at a load where no request waits for a slot) and kept as percentiles in
 * `results/request_overhead.json`; {@linkcode requestOverheadModel} reads that file, or falls
 * back to {@linkcode BUILT_IN_REQUEST_OVERHEAD}, measured the same way on the lab's 2-core
 * development machine.
 *
 * @module
 */
import { constantUsersShape, imageRequest, runLoadTest, type WaitTime } from "../loadgen/mod.ts";
import {
  type DurationModel,
  empiricalPercentilesDuration,
  type QuantilePoint,
} from "./duration_model.ts";

/** Where a measured overhead is kept for later simulations. */
export const REQUEST_OVERHEAD_FILE = "results/request_overhead.json";

/** A measured overhead distribution, as written to {@linkcode REQUEST_OVERHEAD_FILE}. */
export interface MeasuredOverhead {
  /** ISO time of the measurement. */
  measuredAt: string;
  /** How it was measured. */
  method: string;
  /** `Deno.loadavg()` at the end of the measurement. */
  loadavg: number[];
  /** Requests measured. */
  requests: number;
  /** Overhead percentiles (quantile in (0, 1), ms), ascending. */
  percentiles: QuantilePoint[];
  /**
   * Share (0-1) of the mean overhead spent inside the replica slot: the service's
   * `ray_serve_deployment_processing_latency_ms` (send to reply, as the router counts a request
   * ongoing) minus the service time, over the whole overhead.
   */
  inSlotShare: number;
}

/**
 * The built-in overhead (used when no measurement is on disk): percentiles of latency minus
 * service time for `noop:20`, 5 users for 30 s, measured with {@linkcode measureRequestOverhead} by
 * `deno task fidelity` on the lab's shared 2-core machine (load average about 7).
 */
export const BUILT_IN_REQUEST_OVERHEAD: MeasuredOverhead = {
  measuredAt: "2026-12-04T18:57:35.053Z",
  method:
    "built-in: noop:20 service, 5 users, 30 s (deno task fidelity's measurement on the lab's 2-core machine)",
  loadavg: [6.45, 8.02, 6.99],
  requests: 1205,
  percentiles: [
    { quantile: 0.01, valueMs: 0.799 },
    { quantile: 0.05, valueMs: 1.071 },
    { quantile: 0.1, valueMs: 1.231 },
    { quantile: 0.25, valueMs: 1.631 },
    { quantile: 0.5, valueMs: 2.159 },
    { quantile: 0.75, valueMs: 2.991 },
    { quantile: 0.9, valueMs: 5.663 },
    { quantile: 0.95, valueMs: 9.615 },
    { quantile: 0.98, valueMs: 23.327 },
    { quantile: 0.99, valueMs: 31.039 },
    { quantile: 0.995, valueMs: 58.335 },
    { quantile: 0.999, valueMs: 92.447 },
  ],
  inSlotShare: 0.673,
};

/** Quantiles a measurement keeps. */
const QUANTILES = [0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.98, 0.99, 0.995, 0.999];

/** The overhead as a duration model. */
export function overheadModel(measured: MeasuredOverhead): DurationModel {
  return empiricalPercentilesDuration(measured.percentiles, {
    source: `request overhead (${measured.method}, ${measured.measuredAt})`,
  });
}

/**
 * The overhead simulations use: the measurement in `path` (default
 * {@linkcode REQUEST_OVERHEAD_FILE}) if it is there and readable, else the built-in one.
 */
export async function requestOverheadModel(
  path: string = REQUEST_OVERHEAD_FILE,
): Promise<{ model: DurationModel; measured: MeasuredOverhead; fromFile: boolean }> {
  try {
    const measured = JSON.parse(await Deno.readTextFile(path)) as MeasuredOverhead;
    return { model: overheadModel(measured), measured, fromFile: true };
  } catch {
    return {
      model: overheadModel(BUILT_IN_REQUEST_OVERHEAD),
      measured: BUILT_IN_REQUEST_OVERHEAD,
      fromFile: false,
    };
  }
}

/** Options of {@linkcode measureRequestOverhead}. */
export interface MeasureOverheadOptions {
  /** The service's fixed service time (its `noop:<ms>` model), ms. */
  serviceTimeMs: number;
  /**
   * Users (default 5: few enough that the autoscaler does not start a replica during the
   * measurement: a replica start stalls the main thread for tens of milliseconds and would be
   * measured as overhead; 24 users did that, p99 236 ms instead of ~30).
   */
  users?: number;
  /** Length of the measurement, seconds (default 30: ~1,200 answers, the p99 on ~12). */
  durationS?: number;
  /** Wait between a user's requests (default between(0.05, 0.15)). */
  waitTime?: WaitTime;
  /** Request body (default a 1x1 PNG). */
  body?: Uint8Array;
}

/**
 * Measures the overhead of a running no-op service at `host`: its latency percentiles under a
 * closed-loop load that queues nothing, minus the known service time (never below 0).
 */
export async function measureRequestOverhead(
  host: string,
  options: MeasureOverheadOptions,
): Promise<MeasuredOverhead> {
  const users = options.users ?? 5;
  const durationS = options.durationS ?? 30;
  const waitTime: WaitTime = options.waitTime ??
    { kind: "between", minS: 0.05, maxS: 0.15 };
  const before = await processingLatency(host);
  const result = await runLoadTest({
    host,
    shape: constantUsersShape(users, durationS, { spawnRate: users, waitTime }),
    request: imageRequest({ bytes: options.body ?? TINY_PNG, mime: "image/png" }),
    replicas: false,
  });
  const after = await processingLatency(host);
  const total = result.stats.total;
  const ps = total.histogram.percentilesMs(QUANTILES.map((q) => q * 100));
  const meanOverheadMs = total.totalResponseTime / Math.max(1, total.numRequests) -
    options.serviceTimeMs;
  const processed = after.count - before.count;
  const inSlotMs = processed > 0
    ? (after.sumMs - before.sumMs) / processed - options.serviceTimeMs
    : 0;
  const inSlotShare = meanOverheadMs > 0 ? Math.min(1, Math.max(0, inSlotMs / meanOverheadMs)) : 0;
  const percentiles: QuantilePoint[] = [];
  let last = 0;
  QUANTILES.forEach((quantile, i) => {
    const v = ps[i];
    if (v === null) return;
    last = Math.max(last, v - options.serviceTimeMs, 0);
    percentiles.push({ quantile, valueMs: Number(last.toFixed(3)) });
  });
  if (percentiles.length < 2) {
    throw new Error(`overhead measurement at ${host} got too few answers to have percentiles`);
  }
  return {
    measuredAt: new Date().toISOString(),
    method: `noop:${options.serviceTimeMs} service, ${users} users, ${durationS} s`,
    loadavg: Deno.loadavg(),
    requests: total.numRequests,
    percentiles,
    inSlotShare: Number(inSlotShare.toFixed(3)),
  };
}

/** Sum and count of the service's processing-latency histogram, from its `/metrics`. */
async function processingLatency(host: string): Promise<{ sumMs: number; count: number }> {
  const text = await (await fetch(`${host.replace(/\/+$/, "")}/metrics`)).text();
  let sumMs = 0, count = 0;
  for (const line of text.split("\n")) {
    const m = /^ray_serve_deployment_processing_latency_ms_(sum|count)(?:\{[^}]*\})? (\S+)/
      .exec(line);
    if (!m) continue;
    if (m[1] === "sum") sumMs += Number(m[2]);
    else count += Number(m[2]);
  }
  return { sumMs, count };
}

/** A 1x1 PNG: the no-op model checks the magic bytes only. */
export const TINY_PNG: Uint8Array = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);
