/**
 * The load a run put on the service: users over time, requests and failures per second, latency
 * percentiles (with the SLO line).
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import {
  asRuns,
  type ChartOptions,
  type DrawnSeries,
  frame,
  hiddenSeriesNotes,
  type LatencyChartOptions,
  type LegendItem,
  type Mark,
  multi,
  type PercentileName,
  ruleLegend,
  runColor,
  runLegend,
  SERIES,
} from "./_frame.ts";
import { stageNote } from "./_stages.ts";
import { basePlot } from "./_base_plot.ts";
import type { ChartElement } from "./_dom.ts";
import type { RunData } from "./read.ts";
import { bucketRows, compressSteps } from "./_downsample.ts";
/** Users over time (the load shape as it ran); the planned stages are dashed when known. */
export function usersChart(
  runs: RunData | readonly RunData[],
  options: ChartOptions = {},
): ChartElement {
  const list = asRuns(runs, "usersChart");
  const marks: Mark[] = [];
  const legend: LegendItem[] = multi(list)
    ? runLegend(list)
    : [{ label: "users", color: SERIES.users }];
  const drawn: DrawnSeries[] = [];
  list.forEach((run, i) => {
    const steps = compressSteps(run.history, ["users"]);
    drawn.push({ label: run.name, key: JSON.stringify(steps.map((r) => [r.elapsedS, r.users])) });
    marks.push(
      Plot.line(steps, {
        x: "elapsedS",
        y: "users",
        stroke: multi(list) ? runColor(i) : SERIES.users,
        strokeWidth: 2,
        curve: "step-after",
      }),
    );
  });
  const planned = list.length === 1 && list[0].stagesSource === "file" ? list[0].stages : [];
  if (planned.length > 0) {
    const pts = planned.flatMap((s) => [{ t: s.startS, users: s.users }]);
    pts.push({ t: planned[planned.length - 1].endS, users: planned[planned.length - 1].users });
    marks.push(
      Plot.line(pts, {
        x: "t",
        y: "users",
        stroke: "#888",
        strokeDasharray: "2,3",
        curve: "step-after",
      }),
    );
    legend.push({ label: "planned stages", color: "#888", dash: "2,3" });
  }
  const chart = basePlot(list, options, { label: "Users" }, marks);
  return frame({
    width: options.width ?? 760,
    title: options.title ?? "Users over time",
    legend,
    chart,
    notes: [
      ...(multi(list) ? hiddenSeriesNotes(drawn) : []),
      ...stageNote(list, options.stages ?? true),
    ],
  });
}

interface RateRow {
  elapsedS: number;
  requests: number;
  failures: number;
}

function rateRows(run: RunData): { rows: RateRow[]; source: "latency" | "history" } {
  if (run.latency && run.latency.length > 0) {
    return {
      rows: run.latency.map((r) => ({
        elapsedS: r.elapsedS,
        requests: r.requests,
        failures: r.failures,
      })),
      source: "latency",
    };
  }
  return {
    rows: run.history.map((r) => ({
      elapsedS: r.elapsedS,
      requests: r.requestsPerS,
      failures: r.failuresPerS,
    })),
    source: "history",
  };
}

/** Requests per second with failures per second. */
export function rpsChart(
  runs: RunData | readonly RunData[],
  options: ChartOptions = {},
): ChartElement {
  const list = asRuns(runs, "rpsChart");
  const marks: Mark[] = [];
  const legend: LegendItem[] = [];
  const sources = new Set<string>();
  const bucketed = new Set<number>();
  const drawn: DrawnSeries[] = [];
  list.forEach((run, i) => {
    const { rows: raw, source } = rateRows(run);
    const { rows, bucketS } = bucketRows(raw as unknown as Record<string, number | null>[], {
      x: "elapsedS",
      keys: ["requests", "failures"],
      maxPoints: options.maxPoints ?? 1200,
      reduce: "mean",
    });
    if (bucketS > 0) bucketed.add(bucketS);
    sources.add(source);
    drawn.push({
      label: run.name,
      key: JSON.stringify(rows.map((r) => [r.elapsedS, r.requests, r.failures])),
    });
    const color = multi(list) ? runColor(i) : SERIES.requests;
    marks.push(Plot.line(rows, { x: "elapsedS", y: "requests", stroke: color, strokeWidth: 1.8 }));
    marks.push(
      Plot.line(rows, {
        x: "elapsedS",
        y: "failures",
        stroke: multi(list) ? color : SERIES.failures,
        strokeWidth: 1.5,
        strokeDasharray: multi(list) ? "4,3" : undefined,
      }),
    );
  });
  if (multi(list)) {
    legend.push(...runLegend(list));
    legend.push({ label: "requests/s (solid)", color: "#555" });
    legend.push({ label: "failures/s (dashed)", color: "#555", dash: "4,3" });
  } else {
    legend.push({ label: "requests/s", color: SERIES.requests });
    legend.push({ label: "failures/s", color: SERIES.failures });
  }
  const notes: string[] = [];
  if (sources.has("latency")) notes.push("Per-second counts from _latency.csv.");
  if (sources.has("history")) {
    notes.push(
      "From _stats_history.csv: Locust's current rate (mean of ~10 s ending 2 s earlier), so it lags.",
    );
  }
  if (bucketed.size > 0) notes.push(`Long run: mean per ${[...bucketed].join("/")} s.`);
  if (multi(list)) notes.push(...hiddenSeriesNotes(drawn));
  const chart = basePlot(list, options, { label: "Requests/s" }, marks);
  return frame({
    width: options.width ?? 760,
    title: options.title ?? "Requests per second",
    legend,
    chart,
    notes: [...notes, ...stageNote(list, options.stages ?? true)],
  });
}

const PCTS: readonly PercentileName[] = ["p50", "p90", "p95", "p99"];

const PCT_DASH: Record<PercentileName, string | undefined> = {
  p50: "2,2",
  p90: "6,3",
  p95: "8,2,2,2",
  p99: undefined,
};

/** Latency percentiles over time, with an optional SLO line. */
export function latencyChart(
  runs: RunData | readonly RunData[],
  options: LatencyChartOptions = {},
): ChartElement {
  const list = asRuns(runs, "latencyChart");
  const percentiles = options.percentiles ??
    (multi(list) ? ["p50", "p99"] : ["p50", "p90", "p99"]) as PercentileName[];
  const marks: Mark[] = [];
  const legend: LegendItem[] = [];
  const notes: string[] = [];
  const kinds = new Set<string>();
  const bucketSizes = new Set<number>();
  const drawn: DrawnSeries[] = [];
  list.forEach((run, i) => {
    const fromLatency = run.latency !== null && run.latency.length > 0;
    const rows: Record<string, number | null>[] = fromLatency
      ? (run.latency ?? []).map((r) => ({
        elapsedS: r.elapsedS,
        p50: r.p50Ms,
        p90: r.p90Ms,
        p95: r.p95Ms,
        p99: r.p99Ms,
      }))
      : run.history.map((r) => ({
        elapsedS: r.elapsedS,
        p50: r.p50Ms,
        p90: r.p90Ms,
        p95: r.p95Ms,
        p99: r.p99Ms,
      }));
    kinds.add(fromLatency ? "per_second" : run.percentileKind);
    // Locust writes 0 for an empty window: no data, not a 0 ms response.
    if (!fromLatency) {
      for (const r of rows) for (const p of PCTS) if (r[p] === 0) r[p] = null;
    }
    const bucketed = bucketRows(rows, {
      x: "elapsedS",
      keys: PCTS,
      maxPoints: options.maxPoints ?? 1200,
      reduce: "max",
    });
    if (bucketed.bucketS > 0) bucketSizes.add(bucketed.bucketS);
    drawn.push({
      label: run.name,
      key: JSON.stringify(bucketed.rows.map((r) => [r.elapsedS, ...percentiles.map((p) => r[p])])),
    });
    for (const p of percentiles) {
      marks.push(
        Plot.line(bucketed.rows, {
          x: "elapsedS",
          y: (d: Record<string, number | null>) => d[p] ?? NaN,
          stroke: multi(list) ? runColor(i) : SERIES[p],
          strokeWidth: p === "p99" ? 2 : 1.5,
          strokeDasharray: multi(list) ? PCT_DASH[p] : undefined,
        }),
      );
    }
  });
  if (multi(list)) {
    legend.push(...runLegend(list));
    for (const p of percentiles) legend.push({ label: p, color: "#555", dash: PCT_DASH[p] });
  } else {
    for (const p of percentiles) legend.push({ label: p, color: SERIES[p] });
  }
  if (options.sloMs !== undefined) {
    // Labelled in the legend, not on the plot, where a label would cover the series.
    marks.push(
      Plot.ruleY([options.sloMs], { stroke: "#d62728", strokeDasharray: "6,4", strokeWidth: 1.2 }),
    );
    legend.push(ruleLegend(`SLO ${options.sloMs} ms`));
  }
  if (multi(list)) notes.push(...hiddenSeriesNotes(drawn));
  if (kinds.has("per_second")) {
    notes.push("Exact percentiles of each second's samples (_latency.csv).");
  }
  if (bucketSizes.size > 0) {
    notes.push(
      `Long run: the worst second per ${[...bucketSizes].join("/")} s is drawn (spikes kept).`,
    );
  }
  if (kinds.has("cumulative")) {
    notes.push(
      "From _stats_history.csv: cumulative percentiles since the start (Locust --csv), so spikes flatten.",
    );
  }
  if (kinds.has("window")) {
    notes.push(
      "From _stats_history.csv: percentiles over Locust's ~10 s window (--csv-full-history).",
    );
  }
  const chart = basePlot(
    list,
    options,
    { label: "Latency (ms)", type: options.yScale ?? "linear", zero: options.yScale !== "log" },
    marks,
  );
  return frame({
    width: options.width ?? 760,
    title: options.title ?? "Latency percentiles",
    legend,
    chart,
    notes: [...notes, ...stageNote(list, options.stages ?? true)],
  });
}
