/**
 * Per-request overhead the simulator can know: the time a request spends outside its replica
 * (HTTP parsing and writing, the main thread's and the worker's event loops, the load
 * generator's own client) on this machine. The service adds it to every request; without it a
 * simulated latency tail is the service time's alone.
 *
 * It is measured against a running no-op service ({@linkcode measureRequestOverhead}: latency
 * minus the known service time, at a light load so no request queues) and kept as percentiles in
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
}

/**
 * The built-in overhead (used when no measurement is on disk): percentiles of latency minus
 * service time for `noop:20`, 8 users, measured with {@linkcode measureRequestOverhead} on the
 * lab's shared 2-core machine (2026-12-04, load average about 7).
 */
export const BUILT_IN_REQUEST_OVERHEAD: MeasuredOverhead = {
  measuredAt: "2026-12-04T18:40:00Z",
  method: "built-in: noop:20 service, 8 users, wait between(0.05, 0.15), 8 s",
  loadavg: [7, 6, 4],
  requests: 0,
  percentiles: [
    { quantile: 0.01, valueMs: 0.5 },
    { quantile: 0.5, valueMs: 1.5 },
    { quantile: 0.9, valueMs: 4 },
    { quantile: 0.99, valueMs: 30 },
    { quantile: 0.999, valueMs: 60 },
  ],
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
  /** Users (default 8: a light load, no request waits for a replica slot). */
  users?: number;
  /** Length of the measurement, seconds (default 8). */
  durationS?: number;
  /** Wait between a user's requests (default between(0.05, 0.15)). */
  waitTime?: WaitTime;
  /** Request body (default a 1x1 PNG). */
  body?: Uint8Array;
}

/**
 * Measures the overhead of a running no-op service at `host`: its latency percentiles under a
 * light closed-loop load, minus the known service time (never below 0).
 */
export async function measureRequestOverhead(
  host: string,
  options: MeasureOverheadOptions,
): Promise<MeasuredOverhead> {
  const users = options.users ?? 8;
  const durationS = options.durationS ?? 8;
  const waitTime: WaitTime = options.waitTime ??
    { kind: "between", minS: 0.05, maxS: 0.15 };
  const result = await runLoadTest({
    host,
    shape: constantUsersShape(users, durationS, { spawnRate: users, waitTime }),
    request: imageRequest({ bytes: options.body ?? TINY_PNG, mime: "image/png" }),
    replicas: false,
  });
  const ps = result.stats.total.histogram.percentilesMs(QUANTILES.map((q) => q * 100));
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
    requests: result.stats.total.numRequests,
    percentiles,
  };
}

/** A 1x1 PNG: the no-op model checks the magic bytes only. */
export const TINY_PNG: Uint8Array = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);
