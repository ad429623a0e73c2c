/**
 * Tuning step 1, the single-replica sweep: raise the number of concurrent closed-loop users
 * (no wait) step by step against a service with one replica until throughput stops rising, and
 * report per level QPS, p50/p90/p99, average processing time and queue depth; then the maximum
 * sustainable QPS, the knee, and suggested `target_ongoing_requests` (the concurrency where
 * throughput stops rising, or earlier where the median latency starts to climb, whichever comes
 * first) and `max_ongoing_requests` (the tutorial's rule: about 20-50% above the target).
 * Levels where too many requests failed (more than `maxFailureRatio`) are not sustainable: they
 * count for neither the maximum QPS nor the knee, and with no sustainable level there is no
 * suggestion at all.
 *
 * The analysis ({@linkcode analyzeSweep}) is a pure function of the level figures, so it can be
 * tested and reused on simulated levels.
 *
 * @module
 */
import { LatencyHistogram } from "./histogram.ts";
import { csvRowLf } from "./_pyformat.ts";
import type { RequestSpec } from "./request_spec.ts";
import { type LoadTestOptions, runLoadTest } from "./runner.ts";
import type { RunnerClock } from "./clock.ts";
import { formatIntRange } from "./format.ts";
import { constantUsersShape } from "./shape.ts";

/** Figures of one concurrency level (measured after its warm-up). */
export interface SweepLevel {
  /** Concurrent users (each with one request in flight at a time, no wait). */
  concurrency: number;
  /** Completed requests per second. */
  qps: number;
  /** Median latency, ms (`null` without samples). */
  p50Ms: number | null;
  /** 90th percentile, ms. */
  p90Ms: number | null;
  /** 99th percentile, ms. */
  p99Ms: number | null;
  /** Average processing time (mean latency seen by the client), ms. */
  avgMs: number | null;
  /** Requests measured. */
  requests: number;
  /** Failed requests measured. */
  failures: number;
  /** The most common failure of the level (Locust's error text, warm-up included), or `null`. */
  topError?: string | null;
  /** Mean `queued_requests` from `/api/status` (`null` when the service has no status). */
  queueDepth: number | null;
  /** Mean `ongoing_requests` on replicas from `/api/status`. */
  ongoingRequests: number | null;
}

/** The sweep's conclusion. */
export interface SweepAnalysis {
  /** Highest QPS measured. */
  maxSustainableQps: number;
  /** Lowest concurrency within `tolerance` of that QPS (`null` with no levels). */
  kneeConcurrency: number | null;
  /**
   * Highest concurrency whose median latency is still within `latencyFactor` of the lowest
   * median seen (`null` without latency figures): beyond it requests mostly wait.
   */
  latencyKneeConcurrency: number | null;
  /** Suggested `target_ongoing_requests`: the lower of the two knees. */
  suggestedTargetOngoingRequests: number | null;
  /** Suggested `max_ongoing_requests` (~25% above the target, at least target + 1). */
  suggestedMaxOngoingRequests: number | null;
  /** The 20-50% band the tutorial allows for `max_ongoing_requests`. */
  maxOngoingRequestsRange: [number, number] | null;
  /** Whether throughput stopped rising within the levels run (else: extend the levels). */
  plateauReached: boolean;
  /** Concurrencies left out because more than `maxFailureRatio` of their requests failed. */
  failingLevels: number[];
}

/** Options of {@linkcode analyzeSweep}. */
export interface AnalyzeSweepOptions {
  /** A level within this fraction of the best QPS counts as "not rising" (default 0.05). */
  tolerance?: number;
  /** Median latency above this multiple of the lowest median marks the latency knee (default 1.5). */
  latencyFactor?: number;
  /**
   * A level where more than this fraction of the requests failed is not sustainable (default
   * {@linkcode DEFAULT_MAX_FAILURE_RATIO}).
   */
  maxFailureRatio?: number;
}

/** Default {@linkcode AnalyzeSweepOptions.maxFailureRatio}: 10% failed requests. */
export const DEFAULT_MAX_FAILURE_RATIO = 0.1;

/** Whether a level ran requests and at most `maxFailureRatio` of them failed. */
export function isSustainableLevel(
  level: SweepLevel,
  maxFailureRatio: number = DEFAULT_MAX_FAILURE_RATIO,
): boolean {
  return level.requests > 0 && level.failures / level.requests <= maxFailureRatio;
}

/** Finds the knee and the suggestions from measured levels (pure). */
export function analyzeSweep(
  levels: readonly SweepLevel[],
  options: AnalyzeSweepOptions = {},
): SweepAnalysis {
  const tol = options.tolerance ?? 0.05;
  const maxFailureRatio = options.maxFailureRatio ?? DEFAULT_MAX_FAILURE_RATIO;
  const ok = levels.filter((l) => isSustainableLevel(l, maxFailureRatio));
  const failingLevels = levels
    .filter((l) => l.requests > 0 && !isSustainableLevel(l, maxFailureRatio))
    .map((l) => l.concurrency);
  if (ok.length === 0) {
    return {
      maxSustainableQps: 0,
      kneeConcurrency: null,
      latencyKneeConcurrency: null,
      suggestedTargetOngoingRequests: null,
      suggestedMaxOngoingRequests: null,
      maxOngoingRequestsRange: null,
      plateauReached: false,
      failingLevels,
    };
  }
  const best = Math.max(...ok.map((l) => l.qps));
  const knee = [...ok].sort((a, b) => a.concurrency - b.concurrency).find((l) =>
    l.qps >= (1 - tol) * best
  )!;
  const maxConcurrency = Math.max(...ok.map((l) => l.concurrency));
  const withP50 = ok.filter((l) => l.p50Ms !== null);
  let latencyKnee: number | null = null;
  if (withP50.length > 0) {
    const floor = Math.min(...withP50.map((l) => l.p50Ms!));
    const factor = options.latencyFactor ?? 1.5;
    const near = withP50.filter((l) => l.p50Ms! <= factor * floor).map((l) => l.concurrency);
    latencyKnee = Math.max(...near);
  }
  const target = latencyKnee === null ? knee.concurrency : Math.min(knee.concurrency, latencyKnee);
  return {
    maxSustainableQps: best,
    kneeConcurrency: knee.concurrency,
    latencyKneeConcurrency: latencyKnee,
    suggestedTargetOngoingRequests: target,
    suggestedMaxOngoingRequests: Math.max(target + 1, Math.round(target * 1.25)),
    maxOngoingRequestsRange: [
      Math.max(target + 1, Math.ceil(target * 1.2)),
      Math.max(target + 1, Math.floor(target * 1.5)),
    ],
    plateauReached: knee.concurrency < maxConcurrency,
    failingLevels,
  };
}

/** Options of {@linkcode runSweep}. */
export interface SweepOptions {
  /** Target base URL. */
  host: string;
  /** The request. */
  request: RequestSpec;
  /** Concurrency levels in order (default 1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64). */
  levels?: number[];
  /** Measured seconds per level (default 20). */
  levelDurationS?: number;
  /** Seconds discarded at the start of each level (default 5). */
  warmupS?: number;
  /** Per-request timeout, s (default 60). */
  timeoutS?: number;
  /** Stop after this many levels in a row without a QPS gain above `tolerance` (default 2). */
  patience?: number;
  /** See {@linkcode AnalyzeSweepOptions.tolerance}. */
  tolerance?: number;
  /** See {@linkcode AnalyzeSweepOptions.maxFailureRatio}. */
  maxFailureRatio?: number;
  /** Stop once more than this fraction of a level's requests failed (default 0.5). */
  stopFailureRatio?: number;
  /** Read queue depth from `/api/status` (default true). */
  replicas?: boolean;
  /** Called after each level. */
  onLevel?: (level: SweepLevel) => void;
  /** Called every second with `[concurrency, elapsed s, requests in that second]`. */
  onSecond?: (concurrency: number, elapsedS: number, requests: number) => void;
  /** Notes (e.g. no /api/status). */
  log?: (line: string) => void;
  /** Stops the sweep. */
  signal?: AbortSignal;
  /** Time and timers for every level (default real time); see {@linkcode LoadTestOptions.clock}. */
  clock?: RunnerClock;
  /** Opens the connections (default the built-in HTTP client); see {@linkcode LoadTestOptions.connect}. */
  connect?: LoadTestOptions["connect"];
}

/** The default concurrency levels. */
export const DEFAULT_SWEEP_LEVELS: readonly number[] = [1, 2, 4, 6, 8, 12, 16, 24, 32, 48, 64];

/** What {@linkcode runSweep} returns. */
export interface SweepResult {
  /** The levels run, in order. */
  levels: SweepLevel[];
  /** The conclusion. */
  analysis: SweepAnalysis;
  /**
   * The level whose failures stopped the sweep (more than `stopFailureRatio` of its requests
   * failed, or it finished none), or `null` when it stopped for another reason.
   */
  stoppedByFailures: SweepLevel | null;
}

/** Runs the sweep for real; returns the levels run and the analysis. */
export async function runSweep(options: SweepOptions): Promise<SweepResult> {
  const levelsToRun = options.levels ?? [...DEFAULT_SWEEP_LEVELS];
  const durationS = options.levelDurationS ?? 20;
  const warmupS = options.warmupS ?? 5;
  const patience = options.patience ?? 2;
  const tol = options.tolerance ?? 0.05;
  const maxFailureRatio = options.maxFailureRatio ?? DEFAULT_MAX_FAILURE_RATIO;
  const stopFailureRatio = options.stopFailureRatio ?? 0.5;
  const levels: SweepLevel[] = [];
  let stoppedByFailures: SweepLevel | null = null;
  let best = 0;
  let strikes = 0;
  let noted = false;
  for (const concurrency of levelsToRun) {
    if (options.signal?.aborted) break;
    const hist = new LatencyHistogram();
    let requests = 0;
    let failures = 0;
    let measuredS = 0;
    let lastElapsed = 0;
    const queued: number[] = [];
    const ongoing: number[] = [];
    const run = await runLoadTest({
      host: options.host,
      shape: constantUsersShape(concurrency, warmupS + durationS),
      request: options.request,
      waitTime: { kind: "constant", seconds: 0 },
      timeoutS: options.timeoutS,
      replicas: options.replicas ?? true,
      signal: options.signal,
      clock: options.clock,
      connect: options.connect,
      log: (line) => {
        if (!noted) options.log?.(line);
        noted = true;
      },
      onSecond: (r) => {
        const span = r.elapsedS - lastElapsed;
        lastElapsed = r.elapsedS;
        options.onSecond?.(concurrency, r.elapsedS, r.requests);
        if (r.elapsedS - span < warmupS - 1e-6) return;
        measuredS += span;
        requests += r.requests;
        failures += r.failures;
        hist.add(r.histogram);
        if (r.replicas) {
          queued.push(r.replicas.queuedRequests);
          ongoing.push(r.replicas.ongoingRequests);
        }
      },
    });
    const mean = (xs: number[]) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : null);
    const level: SweepLevel = {
      concurrency,
      qps: measuredS > 0 ? requests / measuredS : 0,
      p50Ms: hist.percentileMs(50),
      p90Ms: hist.percentileMs(90),
      p99Ms: hist.percentileMs(99),
      avgMs: hist.meanMs,
      requests,
      failures,
      topError: topError(run.stats.errors.values()),
      queueDepth: mean(queued),
      ongoingRequests: mean(ongoing),
    };
    levels.push(level);
    options.onLevel?.(level);
    if (options.signal?.aborted) break; // a cut-short level says nothing about the service
    if (requests === 0 ? run.stats.total.numFailures > 0 : failures / requests > stopFailureRatio) {
      stoppedByFailures = level; // the service is failing: stop here
      break;
    }
    const sustainable = isSustainableLevel(level, maxFailureRatio);
    if (sustainable && level.qps > best * (1 + tol)) {
      best = level.qps;
      strikes = 0;
    } else {
      if (sustainable) best = Math.max(best, level.qps);
      strikes++;
      if (strikes >= patience) break;
    }
  }
  return {
    levels,
    analysis: analyzeSweep(levels, { tolerance: tol, maxFailureRatio }),
    stoppedByFailures,
  };
}

/** The error text with the most occurrences, or `null` without errors. */
function topError(rows: Iterable<{ error: string; occurrences: number }>): string | null {
  let best: { error: string; occurrences: number } | null = null;
  for (const r of rows) if (best === null || r.occurrences > best.occurrences) best = r;
  return best?.error ?? null;
}

/**
 * The sweep's suggestion for people: `suggested target_ongoing_requests: 4   max_ongoing_requests:
 * 5 (the tutorial's 20-50% above the target gives 5-6)`; a range of one value prints once
 * (`gives 2`, not `2-2`). Empty when the analysis has no suggestion.
 */
export function suggestionLine(a: SweepAnalysis): string {
  if (a.suggestedTargetOngoingRequests === null || a.maxOngoingRequestsRange === null) return "";
  return `suggested target_ongoing_requests: ${a.suggestedTargetOngoingRequests}` +
    `   max_ongoing_requests: ${a.suggestedMaxOngoingRequests} ` +
    `(the tutorial's 20-50% above the target gives ${formatIntRange(a.maxOngoingRequestsRange)})`;
}

/** CSV header of the sweep file. */
export const SWEEP_CSV_HEADER =
  "Concurrency,QPS,p50 (ms),p90 (ms),p99 (ms),Average (ms),Requests,Failures,Queue Depth,Ongoing Requests";

/** The sweep levels as CSV (LF). */
export function renderSweepCsv(levels: readonly SweepLevel[]): string {
  const n = (
    x: number | null,
    d = 3,
  ) => (x === null ? "" : String(Math.round(x * 10 ** d) / 10 ** d));
  return SWEEP_CSV_HEADER + "\n" + levels.map((l) =>
    csvRowLf([
      String(l.concurrency),
      n(l.qps, 2),
      n(l.p50Ms),
      n(l.p90Ms),
      n(l.p99Ms),
      n(l.avgMs),
      String(l.requests),
      String(l.failures),
      n(l.queueDepth, 2),
      n(l.ongoingRequests, 2),
    ])
  ).join("");
}
