/**
 * The run summary the tutorial asks for: scaling events, error rate, queue depth, replica-hours
 * per 1,000 requests and SLA compliance (share of seconds whose p99 is within the SLO).
 *
 * @module
 */
import { formatNumber } from "../loadgen/mod.ts";
import type { ReplicaRow, RunData } from "./read.ts";

/** One change of the target replica count: what the autoscaler decided and when. */
export interface ScalingDecision {
  /** Seconds since the run started. */
  elapsedS: number;
  /** Target before. */
  from: number;
  /** Target after. */
  to: number;
  /** `up` when the target rose. */
  direction: "up" | "down";
}

/** Scaling decisions derived from changes of `Target Replicas` (the first row is the initial state). */
export function scalingDecisions(replicas: readonly ReplicaRow[]): ScalingDecision[] {
  const out: ScalingDecision[] = [];
  for (let i = 1; i < replicas.length; i++) {
    const from = replicas[i - 1].target;
    const to = replicas[i].target;
    if (to !== from) {
      out.push({ elapsedS: replicas[i].elapsedS, from, to, direction: to > from ? "up" : "down" });
    }
  }
  return out;
}

/** Key figures of one run; `null` where the run's files do not carry the data. */
export interface RunSummary {
  /** Run label. */
  name: string;
  /** Seconds from the first to the last history row. */
  durationS: number;
  /** Peak user count. */
  peakUsers: number;
  /** Requests in the run. */
  requests: number;
  /** Failed requests in the run. */
  failures: number;
  /** failures / requests (0 when there were no requests). */
  errorRate: number;
  /** Mean requests per second over the run. */
  meanRequestsPerS: number;
  /** Whole-run p50, ms (from `_stats.csv`, else the last cumulative history row). */
  p50Ms: number | null;
  /** Whole-run p99, ms. */
  p99Ms: number | null;
  /** Worst per-second p99, ms (needs `_latency.csv`). */
  worstSecondP99Ms: number | null;
  /** Target changes (needs `_replicas.csv`). */
  scalingEvents: number | null;
  /** Target increases. */
  upscaleEvents: number | null;
  /** Target decreases. */
  downscaleEvents: number | null;
  /** Seconds from run start to the first upscale. */
  firstUpscaleS: number | null;
  /** Direction changes of the target (up then down or down then up): a measure of oscillation. */
  directionChanges: number | null;
  /** Most running replicas seen. */
  peakRunningReplicas: number | null;
  /**
   * Largest router queue among the `_replicas.csv` samples (one row a second from both the load
   * test's status poll and the simulator). A burst between two samples is missed, so this can be
   * below an exact peak such as `deno task simulate`'s "max queue", which it takes at every event.
   */
  maxQueued: number | null;
  /** Mean router queue over those samples. */
  meanQueued: number | null;
  /** Median spacing of the `_replicas.csv` samples the queue figures come from, seconds. */
  queueSampleIntervalS: number | null;
  /** Running plus starting replicas integrated over time, in replica-hours. */
  replicaHours: number | null;
  /** replicaHours per 1,000 requests: the tutorial's cost metric. */
  replicaHoursPer1000Requests: number | null;
  /** The SLO the compliance figure uses, ms. */
  sloMs: number;
  /**
   * Share (0..1) of seconds with requests that met the SLA: p99 <= sloMs and at most 1 % of the
   * second's requests failed (a failed request never meets the SLA).
   */
  slaCompliance: number | null;
  /** Where slaCompliance came from: exact per-second percentiles or Locust's history column. */
  slaSource: "latency_csv" | "history_window" | "history_cumulative" | null;
}

/** Options for {@link summarizeRun}. */
export interface SummaryOptions {
  /** Latency objective for p99, ms (default 500). */
  sloMs?: number;
}

/** Computes the {@link RunSummary} of a run. */
export function summarizeRun(run: RunData, options: SummaryOptions = {}): RunSummary {
  const sloMs = options.sloMs ?? 500;
  const h = run.history;
  const last = h[h.length - 1];
  const durationS = h.length > 0 ? h[h.length - 1].elapsedS - h[0].elapsedS : 0;
  let requests = run.totals?.requests ?? last?.totalRequests ?? 0;
  let failures = run.totals?.failures ?? last?.totalFailures ?? 0;
  if (requests === 0 && run.latency) {
    requests = run.latency.reduce((s, r) => s + r.requests, 0);
    failures = run.latency.reduce((s, r) => s + r.failures, 0);
  }
  const p50Ms = run.totals?.p50Ms ?? (run.percentileKind === "cumulative" ? last?.p50Ms : null) ??
    null;
  const p99Ms = run.totals?.p99Ms ?? (run.percentileKind === "cumulative" ? last?.p99Ms : null) ??
    null;

  let worstSecondP99Ms: number | null = null;
  let slaCompliance: number | null = null;
  let slaSource: RunSummary["slaSource"] = null;
  // A second meets the SLA when its p99 is within the SLO counting every failed request as
  // slower than any SLO: at most 1 % of its requests may fail or be slow (see secondMeetsSla).
  const perSecond = run.latency?.filter((r) => r.requests > 0) ?? [];
  if (perSecond.length > 0) {
    const p99s = perSecond.filter((r) => r.p99Ms !== null).map((r) => r.p99Ms as number);
    // A loop, not Math.max(...p99s): a 48-hour run has ~170,000 seconds, past the stack's limit.
    worstSecondP99Ms = p99s.length > 0 ? p99s.reduce((m, v) => Math.max(m, v), -Infinity) : null;
    slaCompliance = perSecond.filter((r) =>
      secondMeetsSla(r.p99Ms, r.requests, r.failures, sloMs)
    ).length / perSecond.length;
    slaSource = "latency_csv";
  } else {
    const rows = h.filter((r) => r.requestsPerS > 0 || (r.p99Ms !== null && r.p99Ms > 0));
    if (rows.length > 0) {
      slaCompliance = rows.filter((r) =>
        secondMeetsSla(r.p99Ms, r.requestsPerS, r.failuresPerS, sloMs)
      ).length / rows.length;
      slaSource = run.percentileKind === "window" ? "history_window" : "history_cumulative";
    }
  }

  let scaling: Pick<
    RunSummary,
    | "scalingEvents"
    | "upscaleEvents"
    | "downscaleEvents"
    | "firstUpscaleS"
    | "directionChanges"
    | "peakRunningReplicas"
    | "maxQueued"
    | "meanQueued"
    | "queueSampleIntervalS"
    | "replicaHours"
    | "replicaHoursPer1000Requests"
  > = {
    scalingEvents: null,
    upscaleEvents: null,
    downscaleEvents: null,
    firstUpscaleS: null,
    directionChanges: null,
    peakRunningReplicas: null,
    maxQueued: null,
    meanQueued: null,
    queueSampleIntervalS: null,
    replicaHours: null,
    replicaHoursPer1000Requests: null,
  };
  const reps = run.replicas;
  if (reps && reps.length > 0) {
    const decisions = scalingDecisions(reps);
    let directionChanges = 0;
    for (let i = 1; i < decisions.length; i++) {
      if (decisions[i].direction !== decisions[i - 1].direction) directionChanges++;
    }
    // Integrate (running + starting) over time, each row holding until the next one.
    let replicaSeconds = 0;
    for (let i = 0; i < reps.length; i++) {
      const dt = i + 1 < reps.length
        ? reps[i + 1].elapsedS - reps[i].elapsedS
        : (reps.length > 1 ? reps[i].elapsedS - reps[i - 1].elapsedS : 1);
      replicaSeconds += (reps[i].running + reps[i].starting) * Math.max(0, dt);
    }
    const replicaHours = replicaSeconds / 3600;
    scaling = {
      scalingEvents: decisions.length,
      upscaleEvents: decisions.filter((d) => d.direction === "up").length,
      downscaleEvents: decisions.filter((d) => d.direction === "down").length,
      firstUpscaleS: decisions.find((d) => d.direction === "up")?.elapsedS ?? null,
      directionChanges,
      peakRunningReplicas: reps.reduce((m, r) => Math.max(m, r.running), -Infinity),
      maxQueued: reps.reduce((m, r) => Math.max(m, r.queued), -Infinity),
      meanQueued: reps.reduce((s, r) => s + r.queued, 0) / reps.length,
      queueSampleIntervalS: medianSpacingS(reps),
      replicaHours,
      replicaHoursPer1000Requests: requests > 0 ? replicaHours / (requests / 1000) : null,
    };
  }

  return {
    name: run.name,
    durationS,
    peakUsers: h.reduce((m, r) => Math.max(m, r.users), 0),
    requests,
    failures,
    errorRate: requests > 0 ? failures / requests : 0,
    meanRequestsPerS: durationS > 0 ? requests / durationS : 0,
    p50Ms,
    p99Ms,
    worstSecondP99Ms,
    ...scaling,
    sloMs,
    slaCompliance,
    slaSource,
  };
}

/**
 * Most failed requests a second may hold and still meet the SLA, as a share of its requests: a
 * failed request never meets the SLA, so it counts as one of the 1 % a p99 objective allows.
 */
export const SLA_MAX_FAILURE_SHARE = 0.01;

/**
 * Whether a second (or a history row's rates) meets the SLA: its p99 is within `sloMs` and at
 * most {@link SLA_MAX_FAILURE_SHARE} of its requests failed. A second of fast failures does not.
 */
export function secondMeetsSla(
  p99Ms: number | null,
  requests: number,
  failures: number,
  sloMs: number,
): boolean {
  if (requests <= 0) return false;
  if (failures > SLA_MAX_FAILURE_SHARE * requests) return false;
  return p99Ms !== null && p99Ms <= sloMs;
}

/**
 * Error rate from which a run in a comparison is flagged: its latency and SLA figures describe
 * failures more than service.
 */
export const HIGH_ERROR_RATE = 0.05;

/**
 * A note for a run whose error rate is at least {@link HIGH_ERROR_RATE} (e.g.
 * `high error rate: 100 % of requests failed`), or `null`; shown next to the run wherever runs
 * are compared, so a glob that pulls in a failed run does not pass it off as a fast one.
 */
export function highErrorNote(summary: RunSummary): string | null {
  if (summary.requests === 0 || summary.errorRate < HIGH_ERROR_RATE) return null;
  return `high error rate: ${formatNumber(summary.errorRate * 100, { maxDecimals: 1 })} % of ` +
    "requests failed";
}

/** Median gap between consecutive rows, seconds (`null` for fewer than two rows). */
function medianSpacingS(rows: readonly ReplicaRow[]): number | null {
  const gaps: number[] = [];
  for (let i = 1; i < rows.length; i++) gaps.push(rows[i].elapsedS - rows[i - 1].elapsedS);
  if (gaps.length === 0) return null;
  gaps.sort((a, b) => a - b);
  const mid = Math.floor(gaps.length / 2);
  return gaps.length % 2 === 1 ? gaps[mid] : (gaps[mid - 1] + gaps[mid]) / 2;
}

/** Label of the queue row: says the figures are of samples, and how often they were taken. */
function queueLabel(intervalS: number | null): string {
  if (intervalS === null) return "Queue depth (max / mean of samples)";
  if (Math.abs(intervalS - 1) < 0.05) return "Queue depth (max / mean of per-second samples)";
  return `Queue depth (max / mean of samples every ${fmt(intervalS, 1)} s)`;
}

/**
 * What the queue figures measure, for under a summary table: sampled, not exact, and why
 * `deno task simulate`'s max queue can be higher.
 */
export const QUEUE_SAMPLING_NOTE: string =
  "Queue depth is the router queue in _replicas.csv, sampled once a second: a burst between " +
  "samples is missed, so deno task simulate's max queue (taken at every event) can be higher.";

function fmt(value: number | null, digits = 0, unit = ""): string {
  if (value === null || !Number.isFinite(value)) return "n/a";
  return value.toLocaleString("en-US", {
    maximumFractionDigits: digits,
    minimumFractionDigits: digits,
  }) + unit;
}

/** Label and formatted value of every summary field, in display order (for tables and reports). */
export function summaryRows(summary: RunSummary): [label: string, value: string][] {
  const pct = (v: number | null) => (v === null ? "n/a" : fmt(v * 100, 2, " %"));
  const slaNote = summary.slaSource === "latency_csv"
    ? ""
    : summary.slaSource === null
    ? ""
    : summary.slaSource === "history_window"
    ? " (from Locust's ~10 s window)"
    : " (from Locust's cumulative p99)";
  return [
    ["Duration", fmt(summary.durationS, 0, " s")],
    ["Peak users", fmt(summary.peakUsers)],
    ["Requests", fmt(summary.requests)],
    ["Failures", fmt(summary.failures)],
    ["Error rate", pct(summary.errorRate)],
    ["Mean throughput", fmt(summary.meanRequestsPerS, 1, " req/s")],
    ["p50 (whole run)", fmt(summary.p50Ms, 0, " ms")],
    ["p99 (whole run)", fmt(summary.p99Ms, 0, " ms")],
    ["Worst 1-second p99", fmt(summary.worstSecondP99Ms, 0, " ms")],
    [
      `SLA compliance (p99 <= ${summary.sloMs} ms, <= 1 % failed)`,
      pct(summary.slaCompliance) + slaNote,
    ],
    [
      "Scaling events (up / down)",
      summary.scalingEvents === null
        ? "n/a"
        : `${summary.scalingEvents} (${summary.upscaleEvents} / ${summary.downscaleEvents})`,
    ],
    ["First upscale at", fmt(summary.firstUpscaleS, 0, " s")],
    ["Direction changes (oscillation)", fmt(summary.directionChanges)],
    ["Peak running replicas", fmt(summary.peakRunningReplicas)],
    [
      queueLabel(summary.queueSampleIntervalS),
      summary.maxQueued === null
        ? "n/a"
        : `${fmt(summary.maxQueued)} / ${fmt(summary.meanQueued, 1)}`,
    ],
    ["Replica-hours", fmt(summary.replicaHours, 3)],
    ["Replica-hours per 1,000 requests", fmt(summary.replicaHoursPer1000Requests, 4)],
  ];
}

/**
 * Row labels for a table of several runs: each run's label where they agree, else one that is
 * true of them all (e.g. runs whose queue samples were taken at different intervals).
 */
export function summaryLabels(summaries: readonly RunSummary[]): string[] {
  if (summaries.length === 0) return [];
  const rows = summaries.map(summaryRows);
  return rows[0].map(([label], i) => {
    // Runs without the figure (n/a) have no say in what it measures.
    const labels = new Set(rows.filter((r) => r[i][1] !== "n/a").map((r) => r[i][0]));
    if (labels.size === 1) return [...labels][0];
    return labels.size > 1 && label.startsWith("Queue depth") ? queueLabel(null) : label;
  });
}

/**
 * A plain-text table of several runs' summaries (one column per run), for terminals and notebooks;
 * a note under it says how the queue figures were sampled when any run has them.
 */
export function summaryTable(summaries: readonly RunSummary[]): string {
  if (summaries.length === 0) return "";
  const rows = summaries.map(summaryRows);
  const labels = summaryLabels(summaries);
  const cols = [
    ["", ...labels],
    ...summaries.map((s, i) => [s.name, ...rows[i].map(([, v]) => v)]),
  ];
  const widths = cols.map((c) => c.reduce((m, x) => Math.max(m, x.length), 0));
  const lines: string[] = [];
  for (let r = 0; r < labels.length + 1; r++) {
    lines.push(
      cols.map((c, i) => (i === 0 ? c[r].padEnd(widths[i]) : c[r].padStart(widths[i]))).join("  "),
    );
    if (r === 0) lines.push(widths.map((w) => "-".repeat(w)).join("  "));
  }
  if (summaries.some((s) => s.maxQueued !== null)) lines.push("", QUEUE_SAMPLING_NOTE);
  const flagged = summaries.flatMap((s) => {
    const note = highErrorNote(s);
    return note ? [`${s.name}: ${note}; its latency and SLA figures describe failures`] : [];
  });
  if (flagged.length > 0) lines.push("", ...flagged);
  return lines.join("\n");
}
