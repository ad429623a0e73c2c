/**
 * The metrics pipeline's periods, derived from an `AutoscalingConfig` (research/ray-serve.md §3.2):
 * how often requests are sampled and pushed, how far back the window reaches, when a report is
 * stale.
 *
 * @module
 */
import type { AggregationFunction, AutoscalingConfig } from "../config/mod.ts";

/** Timing of the pipeline, derived from an `AutoscalingConfig` by {@linkcode pipelineTiming}. */
export interface PipelineTiming {
  /** Sampling period: `min(0.5 s, metrics_interval_s)`. */
  recordIntervalMs: number;
  /** Push period: `metrics_interval_s`. */
  pushIntervalMs: number;
  /** Window length: `look_back_period_s`. */
  lookBackMs: number;
  /** A report older than this is dropped: `max(2 * metrics_interval_s, 10 s)`. */
  staleAfterMs: number;
  /** Reduction of the merged step function. */
  aggregation: AggregationFunction;
}

/**
 * How often ongoing and queued requests are sampled, ms: `min(0.5 s, metrics_interval_s)`.
 *
 * @example
 * ```ts
 * metricsSamplingPeriodMs(10); // 500
 * metricsSamplingPeriodMs(0.2); // 200
 * ```
 */
export function metricsSamplingPeriodMs(metricsIntervalS: number): number {
  return Math.min(500, metricsIntervalS * 1000);
}

/** Derives the pipeline's periods from Ray's config fields (research §3.2). */
export function pipelineTiming(config: AutoscalingConfig): PipelineTiming {
  const pushIntervalMs = config.metrics_interval_s * 1000;
  return {
    recordIntervalMs: metricsSamplingPeriodMs(config.metrics_interval_s),
    pushIntervalMs,
    lookBackMs: config.look_back_period_s * 1000,
    staleAfterMs: Math.max(2 * pushIntervalMs, 10_000),
    aggregation: config.aggregation_function,
  };
}
