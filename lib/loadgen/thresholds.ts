/**
 * k6-style pass/fail checks on a run: `p99<500`, `p(99.9)<=800`, `avg<200`, `med<100`,
 * `max<2000`, `fail_ratio<0.01`, `rps>=20`, `failures==0`. Latencies are in ms and come from
 * the whole-run HDR histogram of the Aggregated entry (not Locust's 2-digit buckets).
 *
 * @module
 */
import type { RequestStats } from "./locust_stats.ts";

/** Exit code of a run whose thresholds failed (k6 uses the same, `ThresholdsHaveFailed`). */
export const THRESHOLDS_FAILED_EXIT_CODE = 99;

/** A parsed threshold. */
export interface Threshold {
  /** The text as given. */
  expression: string;
  /** Metric name: `p99`, `p99.9`, `avg`, `med`, `min`, `max`, `fail_ratio`, `rps`, `requests`, `failures`. */
  metric: string;
  /** Comparison. */
  op: "<" | "<=" | ">" | ">=" | "==";
  /** Right-hand side. */
  value: number;
}

/** A threshold's outcome. */
export interface ThresholdResult extends Threshold {
  /** Observed value (`null` when there were no samples to compute it). */
  observed: number | null;
  /** Whether it held. A latency threshold with no samples fails. */
  ok: boolean;
}

const METRICS = "pN (e.g. p99, p(99.9)), avg, med, min, max, fail_ratio, rps, requests, failures";

/** Parses `p99<500` style text; throws a TypeError naming the expression and what is allowed. */
export function parseThreshold(expression: string): Threshold {
  const m =
    /^\s*([a-z_]+(?:\(\s*[\d.]+\s*\)|[\d.]+)?)\s*(<=|>=|==|<|>)\s*(-?[\d.]+(?:e-?\d+)?)\s*$/i
      .exec(expression);
  if (!m) {
    throw new TypeError(
      `--threshold "${expression}": expected METRIC OP NUMBER like "p99<500" or "fail_ratio<0.01"; metrics: ${METRICS}`,
    );
  }
  let metric = m[1].toLowerCase().replace(/\s+/g, "");
  const pm = /^p\(?([\d.]+)\)?$/.exec(metric);
  if (pm) {
    const p = Number(pm[1]);
    if (!(p >= 0 && p <= 100)) {
      throw new TypeError(
        `--threshold "${expression}": percentile must be within 0..100, got ${pm[1]}`,
      );
    }
    metric = `p${p}`;
  } else if (
    !["avg", "med", "min", "max", "fail_ratio", "rps", "requests", "failures"].includes(metric)
  ) {
    throw new TypeError(`--threshold "${expression}": unknown metric "${m[1]}"; use ${METRICS}`);
  }
  const value = Number(m[3]);
  if (!Number.isFinite(value)) {
    throw new TypeError(`--threshold "${expression}": "${m[3]}" is not a number`);
  }
  return { expression, metric, op: m[2] as Threshold["op"], value };
}

/** The observed value of a metric on a run (`null` when undefined, e.g. latency with no samples). */
export function observeMetric(
  stats: RequestStats,
  metric: string,
  durationS: number,
): number | null {
  const t = stats.total;
  const h = t.histogram;
  if (metric.startsWith("p")) return h.percentileMs(Number(metric.slice(1)));
  switch (metric) {
    case "avg":
      return h.meanMs;
    case "med":
      return h.percentileMs(50);
    case "min":
      return h.minMs;
    case "max":
      return h.maxMs;
    case "fail_ratio":
      return t.numRequests === 0 ? null : t.numFailures / t.numRequests;
    case "rps":
      return durationS > 0 ? t.numRequests / durationS : null;
    case "requests":
      return t.numRequests;
    case "failures":
      return t.numFailures;
  }
  return null;
}

/** Evaluates thresholds on a run of `durationS` seconds. */
export function evaluateThresholds(
  thresholds: readonly Threshold[],
  stats: RequestStats,
  durationS: number,
): ThresholdResult[] {
  return thresholds.map((th) => {
    const observed = observeMetric(stats, th.metric, durationS);
    let ok = false;
    if (observed !== null) {
      ok = th.op === "<"
        ? observed < th.value
        : th.op === "<="
        ? observed <= th.value
        : th.op === ">"
        ? observed > th.value
        : th.op === ">="
        ? observed >= th.value
        : observed === th.value;
    }
    return { ...th, observed, ok };
  });
}

/** Exit code when a request failed (Locust's `--exit-code-on-error` default). */
export const REQUESTS_FAILED_EXIT_CODE = 1;

/** What decides a load test's exit code. */
export interface ExitCodeInputs {
  /** Failed requests in the run. */
  failures: number;
  /** The evaluated thresholds. */
  thresholds: readonly ThresholdResult[];
}

/**
 * A load test's exit code: {@linkcode THRESHOLDS_FAILED_EXIT_CODE} (99) when a threshold failed,
 * else {@linkcode REQUESTS_FAILED_EXIT_CODE} (1) when any request failed (as Locust), else 0.
 */
export function loadtestExitCode(inputs: ExitCodeInputs): number {
  if (inputs.thresholds.some((t) => !t.ok)) return THRESHOLDS_FAILED_EXIT_CODE;
  return inputs.failures > 0 ? REQUESTS_FAILED_EXIT_CODE : 0;
}
