/**
 * Per-request overhead the simulator can know: the time a request spends outside its replica
 * (HTTP parsing and writing, the main thread's and the worker's event loops, the load
 * generator's own client) on this machine. The service adds it to every request; without it a
 * simulated latency tail is the service time's alone.
 *
 * It is measured against a running no-op service ({@linkcode measureRequestOverhead}: each
 * answer's latency minus its router-queue time and the known service time, at the load the
 * simulated case runs, against a fixed replica count: {@linkcode pinnedReplicasConfig}) and kept
 * as percentiles in `results/request_overhead.json`; {@linkcode requestOverheadModel} reads that
 * file, or falls back to {@linkcode BUILT_IN_REQUEST_OVERHEAD}, measured on the lab's 2-core
 * development machine.
 *
 * @module
 */
import YAML from "yaml";
import { waitSeconds, type WaitTime } from "../loadgen/mod.ts";
import {
  type DurationModel,
  empiricalPercentilesDuration,
  type QuantilePoint,
} from "../duration/mod.ts";

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
 * service time for `noop:20`, 5 users for 30 s against the autoscaling dev_fast service (the
 * measurement's earlier form, before it took the router-queue time off and ran at the case's
 * peak users), by `deno task fidelity` on the lab's shared 2-core machine (load average about 7).
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
   * Concurrent users (default 5). Measure at the concurrency the simulated case reaches (its
   * peak users), against a service with a fixed replica count ({@linkcode pinnedReplicasConfig}):
   * an autoscaling service starts replicas under load, and a start stalls the main thread for
   * tens of milliseconds that would be measured as overhead (24 users did that, p99 236 ms).
   */
  users?: number;
  /** Length of the measurement, seconds (default 30). */
  durationS?: number;
  /** Wait between a user's requests (default between(0.05, 0.15)). */
  waitTime?: WaitTime;
  /** Request body (default a 1x1 PNG). */
  body?: Uint8Array;
  /** Seed of the users' waits (default 1). */
  seed?: number;
}

/** One answered request of a measurement: its latency and the service's own timings. */
export interface OverheadSample {
  /** Send to answer read, as the client saw it, ms. */
  latencyMs: number;
  /** Time the request waited in the service's router queue (`timings_ms.queue`), ms. */
  queueMs: number;
}

/**
 * Overhead percentiles from measured requests: latency minus the time the request waited in the
 * router queue (the simulator queues requests itself) minus the model's nominal service time
 * (the simulator serves that itself), never below 0. What remains is the time the simulator does
 * not model: HTTP, both event loops, the worker's timer lateness, the client.
 */
export function overheadPercentiles(
  samples: readonly OverheadSample[],
  serviceTimeMs: number,
): QuantilePoint[] {
  const values = samples
    .map((s) => Math.max(0, s.latencyMs - s.queueMs - serviceTimeMs))
    .sort((a, b) => a - b);
  if (values.length < 2) {
    throw new Error(`overhead: ${values.length} answered request(s), too few for percentiles`);
  }
  return QUANTILES.map((quantile) => {
    // Nearest rank, as the load generator's percentiles.
    const i = Math.min(values.length - 1, Math.max(0, Math.ceil(quantile * values.length) - 1));
    return { quantile, valueMs: Number(values[i].toFixed(3)) };
  });
}

/**
 * The serve config `yamlText` with every deployment's replica count fixed at `replicas`
 * (`num_replicas`, no `autoscaling_config`), so a measurement at high load starts no replica.
 */
export function pinnedReplicasConfig(yamlText: string, replicas: number): string {
  if (!Number.isInteger(replicas) || replicas < 1) {
    throw new Error(`pinnedReplicasConfig: replicas must be a positive integer, got ${replicas}`);
  }
  const doc = YAML.parseDocument(yamlText);
  if (doc.errors.length > 0) throw new Error(`pinnedReplicasConfig: ${doc.errors[0].message}`);
  const apps = doc.get("applications");
  if (!YAML.isSeq(apps)) {
    throw new Error("pinnedReplicasConfig: the config has no applications list");
  }
  let pinned = 0;
  for (const app of apps.items) {
    const deployments = YAML.isMap(app) ? app.get("deployments") : null;
    if (!YAML.isSeq(deployments)) continue;
    for (const dep of deployments.items) {
      if (!YAML.isMap(dep)) continue;
      dep.delete("autoscaling_config");
      dep.set("num_replicas", replicas);
      pinned++;
    }
  }
  if (pinned === 0) throw new Error("pinnedReplicasConfig: the config has no deployment");
  return doc.toString();
}

/**
 * Measures the overhead of a running no-op service at `host`: `users` closed-loop users POST a
 * tiny image with `?format=json` and the overhead of each answer is its latency minus its
 * `timings_ms.queue` minus the known service time ({@linkcode overheadPercentiles}). The
 * service's processing-latency histogram (from `/metrics`) splits it into the part spent in the
 * replica slot and the rest ({@linkcode MeasuredOverhead.inSlotShare}).
 */
export async function measureRequestOverhead(
  host: string,
  options: MeasureOverheadOptions,
): Promise<MeasuredOverhead> {
  const users = options.users ?? 5;
  const durationS = options.durationS ?? 30;
  const waitTime: WaitTime = options.waitTime ?? { kind: "between", minS: 0.05, maxS: 0.15 };
  const base = host.replace(/\/+$/, "");
  const body = options.body ?? TINY_PNG;
  let seed = (options.seed ?? 1) >>> 0;
  const random = () => {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    return seed / 4294967296;
  };
  const before = await processingLatency(base);
  const samples: OverheadSample[] = [];
  let failures = 0;
  const endAt = performance.now() + durationS * 1000;
  const user = async () => {
    while (performance.now() < endAt) {
      const t0 = performance.now();
      try {
        const res = await fetch(`${base}/?format=json`, {
          method: "POST",
          body: body as Uint8Array<ArrayBuffer>,
          headers: { "content-type": "image/png" },
        });
        const answer = await res.json();
        const latencyMs = performance.now() - t0;
        const queueMs = Number(answer?.timings_ms?.queue);
        if (res.ok && Number.isFinite(queueMs)) samples.push({ latencyMs, queueMs });
        else failures++;
      } catch {
        failures++;
      }
      const taskS = (performance.now() - t0) / 1000;
      await new Promise((r) => setTimeout(r, waitSeconds(waitTime, taskS, random) * 1000));
    }
  };
  await Promise.all(Array.from({ length: users }, user));
  const after = await processingLatency(base);
  if (samples.length < 2) {
    throw new Error(
      `overhead measurement at ${host}: ${samples.length} answer(s), ${failures} failure(s)`,
    );
  }
  const percentiles = overheadPercentiles(samples, options.serviceTimeMs);
  const meanOverheadMs = samples.reduce(
    (sum, s) => sum + Math.max(0, s.latencyMs - s.queueMs - options.serviceTimeMs),
    0,
  ) / samples.length;
  const processed = after.count - before.count;
  const inSlotMs = processed > 0
    ? (after.sumMs - before.sumMs) / processed - options.serviceTimeMs
    : 0;
  const inSlotShare = meanOverheadMs > 0 ? Math.min(1, Math.max(0, inSlotMs / meanOverheadMs)) : 0;
  const meanQueueMs = samples.reduce((sum, s) => sum + s.queueMs, 0) / samples.length;
  return {
    measuredAt: new Date().toISOString(),
    method: `noop:${options.serviceTimeMs} service, ${users} users, ${durationS} s, ` +
      `latency - router queue (mean ${meanQueueMs.toFixed(2)} ms) - service time` +
      (failures > 0 ? `, ${failures} failed request(s) left out` : ""),
    loadavg: Deno.loadavg(),
    requests: samples.length,
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
