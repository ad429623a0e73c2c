/**
 * How close a simulation is to a real run of the same config and shape: RUNNING replicas second
 * by second (read from both runs' `_replicas.csv` with lib/plot's reader), whole-run p50 and p99
 * latency, request counts and peak replicas, scored against a case's targets.
 *
 * A simulation is one draw of a random process and a real run another, so the real run is scored
 * against the median of several seeds' simulations (`medianRun`), not against one seed.
 *
 * ```ts
 * const score = scoreFidelity(
 *   { running: runningBySecond(realText), p50Ms: 22, p99Ms: 80, requests: 15768 },
 *   medianRun(simRuns),
 *   DEFAULT_FIDELITY_TARGETS,
 * );
 * if (!score.met) console.log(score.missed.join("; "));
 * ```
 *
 * @module
 */
import { metricsSamplingPeriodMs } from "../autoscaler/mod.ts";
import { median } from "../duration/mod.ts";
import { parseReplicas } from "../plot/read.ts";

/** What a case must reach; `null` leaves a figure unchecked. */
export interface FidelityTargets {
  /** Least share of seconds whose RUNNING replicas differ by at most 1. */
  shareWithin1Min: number;
  /** Largest relative error of the whole-run p50. */
  p50RelErrorMax: number;
  /** Largest relative error of the whole-run p99. */
  p99RelErrorMax: number | null;
  /** Largest difference of the peak RUNNING replicas. */
  maxRunningDiffMax: number | null;
}

/** The default case's targets (issue 13). */
export const DEFAULT_FIDELITY_TARGETS: FidelityTargets = {
  shareWithin1Min: 0.95,
  p50RelErrorMax: 0.10,
  p99RelErrorMax: 0.25,
  maxRunningDiffMax: null,
};

/** The tutorial-scale emulated case's targets (issue 13). */
export const TUTORIAL_FIDELITY_TARGETS: FidelityTargets = {
  shareWithin1Min: 0.85,
  p50RelErrorMax: 0.15,
  p99RelErrorMax: 0.30,
  maxRunningDiffMax: 2,
};

/** One side of the comparison. */
export interface FidelityRun {
  /** RUNNING replicas by whole second since the start ({@linkcode runningBySecond}). */
  running: ReadonlyMap<number, number>;
  /** Median latency, ms (null when unknown). */
  p50Ms: number | null;
  /** p99 latency, ms (null when unknown). */
  p99Ms: number | null;
  /** Requests recorded. */
  requests: number;
}

/** The comparison of one case. */
export interface FidelityScore {
  /** Seconds present in both runs' RUNNING series. */
  secondsCompared: number;
  /** Share of compared seconds with RUNNING replicas within 1 (null: none compared). */
  shareWithin1: number | null;
  /** Share of compared seconds with equal RUNNING replicas (null: none compared). */
  shareExact: number | null;
  /** Mean absolute difference in RUNNING replicas over compared seconds (null: none compared). */
  meanAbsDiff: number | null;
  /** Most RUNNING replicas in the real run. */
  realMaxRunning: number;
  /** Most RUNNING replicas in the simulation. */
  simMaxRunning: number;
  /** Simulated p50 vs real, `|sim - real| / real` (null when either is missing or real is 0). */
  p50RelError: number | null;
  /** Simulated p99 vs real, `|sim - real| / real` (null when either is missing or real is 0). */
  p99RelError: number | null;
  /** Every target met. */
  met: boolean;
  /** One sentence per missed target. */
  missed: string[];
}

/** RUNNING replicas by whole second since the start, from a `_replicas.csv` text. */
export function runningBySecond(csvText: string, source?: string): Map<number, number> {
  const out = new Map<number, number>();
  for (const row of parseReplicas(csvText, { source })) {
    out.set(Math.round(row.elapsedS), row.running);
  }
  return out;
}

/**
 * The typical run of several (e.g. one simulation per seed): per second the median RUNNING
 * replicas (over the runs that have that second), and the median p50, p99 and request count.
 */
export function medianRun(runs: readonly FidelityRun[]): FidelityRun {
  if (runs.length === 0) throw new RangeError("medianRun() needs at least one run");
  const bySecond = new Map<number, number[]>();
  for (const run of runs) {
    for (const [second, n] of run.running) {
      const list = bySecond.get(second);
      if (list === undefined) bySecond.set(second, [n]);
      else list.push(n);
    }
  }
  const running = new Map<number, number>();
  for (const [second, list] of [...bySecond].sort((a, b) => a[0] - b[0])) {
    running.set(second, median(list)!);
  }
  const present = (xs: (number | null)[]) => xs.filter((x): x is number => x !== null);
  return {
    running,
    p50Ms: median(present(runs.map((r) => r.p50Ms))),
    p99Ms: median(present(runs.map((r) => r.p99Ms))),
    requests: median(runs.map((r) => r.requests))!,
  };
}

/**
 * Where a real service's control loop stood against its load: `(loopStartMs - loadStartMs)`
 * modulo the metrics sampling period (`min(500, metrics_interval_s * 1000)` ms), in `[0, period)`.
 * A simulation started with `controlLoopStartMs` set to it samples at the real run's phase.
 */
export function controlLoopPhaseOf(
  loopStartEpochMs: number,
  loadStartEpochMs: number,
  metricsIntervalS: number,
): number {
  const periodMs = metricsSamplingPeriodMs(metricsIntervalS);
  const offsetMs = Math.round(loopStartEpochMs - loadStartEpochMs);
  return ((offsetMs % periodMs) + periodMs) % periodMs;
}

/** `|sim - real| / real`, or null when either is missing or real is 0. */
export function relativeError(simValue: number | null, realValue: number | null): number | null {
  if (simValue === null || realValue === null || realValue === 0) return null;
  return Math.abs(simValue - realValue) / realValue;
}

/** Scores a simulation against the real run of the same case. */
export function scoreFidelity(
  real: FidelityRun,
  sim: FidelityRun,
  targets: FidelityTargets,
): FidelityScore {
  const realRunning = real.running;
  const simRunning = sim.running;
  let compared = 0, within1 = 0, exact = 0, absSum = 0;
  for (const [second, r] of realRunning) {
    const s = simRunning.get(second);
    if (s === undefined) continue;
    compared++;
    const d = Math.abs(s - r);
    absSum += d;
    if (d <= 1) within1++;
    if (d === 0) exact++;
  }
  const share = compared > 0 ? within1 / compared : null;
  const realMax = Math.max(0, ...realRunning.values());
  const simMax = Math.max(0, ...simRunning.values());
  const p50 = relativeError(sim.p50Ms, real.p50Ms);
  const p99 = relativeError(sim.p99Ms, real.p99Ms);
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  const missed: string[] = [];
  if (share === null || share < targets.shareWithin1Min) {
    missed.push(
      `running replicas within 1 for ${share === null ? "no" : pct(share)} of seconds ` +
        `(target >= ${pct(targets.shareWithin1Min)})`,
    );
  }
  if (p50 === null || p50 > targets.p50RelErrorMax) {
    missed.push(
      `p50 error ${p50 === null ? "unknown" : pct(p50)} (target <= ${pct(targets.p50RelErrorMax)})`,
    );
  }
  if (targets.p99RelErrorMax !== null && (p99 === null || p99 > targets.p99RelErrorMax)) {
    missed.push(
      `p99 error ${p99 === null ? "unknown" : pct(p99)} (target <= ${pct(targets.p99RelErrorMax)})`,
    );
  }
  if (
    targets.maxRunningDiffMax !== null && Math.abs(simMax - realMax) > targets.maxRunningDiffMax
  ) {
    missed.push(
      `max running ${simMax} simulated vs ${realMax} real (target: within ${targets.maxRunningDiffMax})`,
    );
  }
  return {
    secondsCompared: compared,
    shareWithin1: share,
    shareExact: compared > 0 ? exact / compared : null,
    meanAbsDiff: compared > 0 ? absSum / compared : null,
    realMaxRunning: realMax,
    simMaxRunning: simMax,
    p50RelError: p50,
    p99RelError: p99,
    met: missed.length === 0,
    missed,
  };
}
