/**
 * Service-level objectives: `p99<500`, `p99 <= 0.5s`, `fail_ratio<0.001`, parsed once and checked
 * against each simulated scenario.
 *
 * @module
 */
import { TuneInputError } from "./errors.ts";

/** What an SLO bounds. Latency percentiles are in ms over every request of the run. */
export type SloMetric = "p50" | "p90" | "p99" | "mean" | "fail_ratio";

/** One objective: `metric op limit`. */
export interface Slo {
  /** The figure bounded. */
  metric: SloMetric;
  /** Strict or inclusive bound. */
  op: "<" | "<=";
  /** Milliseconds for latencies, a fraction for `fail_ratio`. */
  limit: number;
  /** The text as given. */
  text: string;
}

/** The figures of one scenario an SLO is checked against. */
export interface ScenarioFigures {
  /** Median latency, ms (null without requests). */
  p50Ms: number | null;
  /** p90 latency, ms (null without requests). */
  p90Ms: number | null;
  /** p99 latency, ms (null without requests). */
  p99Ms: number | null;
  /** Mean latency, ms. */
  meanMs: number;
  /** Failed (or dropped) requests / requests sent. */
  failRatio: number;
}

const METRICS: readonly SloMetric[] = ["p50", "p90", "p99", "mean", "fail_ratio"];

/** Parses one `--slo` text; throws {@linkcode TuneInputError} saying what is wrong. */
export function parseSlo(text: string): Slo {
  const m = /^\s*([a-z0-9_]+)\s*(<=|<)\s*([0-9.eE+-]+)\s*(ms|s|%)?\s*$/.exec(text);
  if (!m) {
    throw new TuneInputError(
      `--slo "${text}": expected METRIC<LIMIT, e.g. "p99<500" (ms), "p99<0.5s" or ` +
        `"fail_ratio<0.001"; metrics: ${METRICS.join(", ")}`,
    );
  }
  const metric = m[1] as SloMetric;
  if (!METRICS.includes(metric)) {
    throw new TuneInputError(
      `--slo "${text}": unknown metric "${m[1]}"; metrics: ${METRICS.join(", ")}`,
    );
  }
  let limit = Number(m[3]);
  if (!Number.isFinite(limit) || limit <= 0) {
    throw new TuneInputError(`--slo "${text}": the limit must be a number > 0`);
  }
  const unit = m[4];
  if (metric === "fail_ratio") {
    if (unit === "ms" || unit === "s") {
      throw new TuneInputError(`--slo "${text}": fail_ratio is a fraction, not a duration`);
    }
    if (unit === "%") limit /= 100;
  } else {
    if (unit === "%") throw new TuneInputError(`--slo "${text}": ${metric} is a duration`);
    if (unit === "s") limit *= 1000;
  }
  return { metric, op: m[2] as "<" | "<=", limit, text: text.trim() };
}

/** The value an SLO reads from a scenario (`Infinity` for a percentile without requests). */
export function sloValue(slo: Slo, f: ScenarioFigures): number {
  switch (slo.metric) {
    case "p50":
      return f.p50Ms ?? Infinity;
    case "p90":
      return f.p90Ms ?? Infinity;
    case "p99":
      return f.p99Ms ?? Infinity;
    case "mean":
      return f.meanMs;
    case "fail_ratio":
      return f.failRatio;
  }
}

/** Whether a scenario meets one SLO. */
export function meetsSlo(slo: Slo, f: ScenarioFigures): boolean {
  const v = sloValue(slo, f);
  return slo.op === "<" ? v < slo.limit : v <= slo.limit;
}

/**
 * How far a scenario is from meeting an SLO: value / limit (<1 meets a `<` SLO). For
 * `fail_ratio`, a zero limit-relative value is 0. Used to rank near misses.
 */
export function sloRatio(slo: Slo, f: ScenarioFigures): number {
  return sloValue(slo, f) / slo.limit;
}
