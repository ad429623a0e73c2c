/**
 * Chart builders over {@link RunData}: users, requests/s (with failures/s), latency percentiles,
 * replicas (target vs running vs pending, scaling decisions marked), queue depth, and a dashboard
 * combining them. Every time chart draws the stage boundaries (once, in grey, when overlaid runs
 * share them; otherwise each run's in its colour). Several runs are overlaid, one colour
 * per run, for comparing configurations.
 *
 * Each builder returns a {@link ChartElement}: a notebook cell that returns it shows it inline;
 * `chartSvg()` / `chartPng()` in `render.ts` make files of it.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { chartDocument, type ChartElement, SVG_NS, svgEl } from "./_dom.ts";
import type { RunData, StageRow } from "./read.ts";
import { highErrorNote, type RunSummary, scalingDecisions, summarizeRun } from "./summary.ts";
import { bucketRows, compressSteps } from "./_downsample.ts";

/** Colours for runs when several are overlaid (Observable's categorical scheme). */
export const RUN_COLORS: readonly string[] = [
  "#4269d0",
  "#ff725c",
  "#3ca951",
  "#efb118",
  "#a463f2",
  "#6cc5b0",
  "#ff8ab7",
  "#9c6b4e",
  "#97bbf5",
  "#9498a0",
];

const SERIES = {
  users: "#4269d0",
  requests: "#4269d0",
  failures: "#d62728",
  p50: "#3ca951",
  p90: "#efb118",
  p95: "#a463f2",
  p99: "#ff5a36",
  target: "#333333",
  running: "#4269d0",
  starting: "#6cc5b0",
  pending: "#efb118",
  ongoing: "#4269d0",
  queued: "#ff725c",
  up: "#2ca02c",
  down: "#a463f2",
  stage: "#9a9a9a",
} as const;

/** A percentile series name for {@link LatencyChartOptions.percentiles}. */
export type PercentileName = "p50" | "p90" | "p95" | "p99";

/** Options every chart builder takes. */
export interface ChartOptions {
  /** Total width in px (default 760). */
  width?: number;
  /** Height of the plotting area in px (default 300). */
  height?: number;
  /** Title drawn above the chart (each builder has a default). */
  title?: string;
  /** Draw stage boundaries (default true). */
  stages?: boolean;
  /** Fixed x range in seconds; default 0 .. the longest run. */
  xDomainS?: [number, number];
  /**
   * Most points per per-second series (default 1200); longer runs are bucketed (latency: max per
   * bucket, so spikes survive; rates: mean). Step series (users, replicas) are compressed losslessly.
   */
  maxPoints?: number;
}

/** Options of {@link latencyChart}. */
export interface LatencyChartOptions extends ChartOptions {
  /** Percentiles to draw (default p50, p90, p99 for one run; p50, p99 when comparing). */
  percentiles?: PercentileName[];
  /** Draw a horizontal SLO line at this p99 objective, ms. */
  sloMs?: number;
  /** y scale (default linear). */
  yScale?: "linear" | "log";
}

/** Options of {@link dashboardChart}. */
export interface DashboardOptions {
  /** Total width in px (default 1500). */
  width?: number;
  /** Title (default "Load test dashboard"). */
  title?: string;
  /** p99 objective for the latency panel and the summary lines, ms (default 500). */
  sloMs?: number;
  /** Draw stage boundaries (default true). */
  stages?: boolean;
}

interface LegendItem {
  label: string;
  color: string;
  dash?: string;
  kind?: "line" | "dot";
}

// deno-lint-ignore no-explicit-any
type AnyElement = any;
// deno-lint-ignore no-explicit-any
type Mark = any;

function asRuns(runs: RunData | readonly RunData[], what: string): RunData[] {
  const list = Array.isArray(runs) ? [...runs] : [runs as RunData];
  if (list.length === 0) throw new Error(`${what}: needs at least one run, got none`);
  return list;
}

/** Colour of the i-th run. */
export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

function maxElapsed(runs: readonly RunData[]): number {
  let max = 1;
  for (const r of runs) {
    for (const row of r.history) max = Math.max(max, row.elapsedS);
    for (const row of r.replicas ?? []) max = Math.max(max, row.elapsedS);
    for (const row of r.latency ?? []) max = Math.max(max, row.elapsedS);
  }
  return max;
}

/** One set of stage boundaries to draw: either shared by every run or one run's own. */
interface StageLayer {
  stages: StageRow[];
  /** Rule and label colour: grey when shared, the run's colour otherwise. */
  color: string;
  labelColor: string;
  /** Label row (0 = top); runs with different stages get one row each so labels never overlap. */
  row: number;
}

/** Stage boundaries of two runs count as the same when they agree within this many seconds. */
const SAME_STAGE_TOLERANCE_S = 1;

function sameStages(a: readonly StageRow[], b: readonly StageRow[]): boolean {
  return a.length === b.length &&
    a.every((s, i) =>
      s.users === b[i].users && Math.abs(s.startS - b[i].startS) <= SAME_STAGE_TOLERANCE_S
    );
}

/**
 * What stage boundaries a chart of `runs` draws. When every run that has stages has the same
 * ones (a config comparison under one load shape), they are drawn once in grey; otherwise each
 * run's boundaries are drawn in its run colour with its labels on a row of their own.
 */
function stageLayers(runs: readonly RunData[]): { layers: StageLayer[]; shared: boolean } {
  const withStages = runs
    .map((run, index) => ({ run, index }))
    .filter(({ run }) => run.stages.length > 0);
  if (withStages.length === 0) return { layers: [], shared: false };
  // Prefer a run's _stages.csv (planned, exact) over stages inferred from user counts.
  const reference = withStages.find(({ run }) => run.stagesSource === "file") ?? withStages[0];
  const shared = withStages.every(({ run }) => sameStages(run.stages, reference.run.stages));
  if ((shared && withStages.length > 1) || runs.length === 1) {
    return {
      layers: [{
        stages: reference.run.stages,
        color: SERIES.stage,
        labelColor: "#6b6b6b",
        row: 0,
      }],
      shared: withStages.length > 1,
    };
  }
  return {
    layers: withStages.map(({ run, index }, row) => ({
      stages: run.stages,
      color: runColor(index),
      labelColor: runColor(index),
      row,
    })),
    shared: false,
  };
}

const STAGE_LABEL_ROW_PX = 11;
const STAGE_LABEL_FONT_PX = 9;
const STAGE_LABEL_GAP_PX = 4;

/** How a chart's x axis maps seconds to pixels, for placing stage labels. */
interface XAxisPx {
  /** Pixels per second. */
  pxPerS: number;
}

function stageLabelText(s: StageRow): string {
  return `${s.users} user${s.users === 1 ? "" : "s"}`;
}

/**
 * A sub-row for each stage label so that no two labels overlap: labels go left to right, each on
 * the first sub-row where the previous label has ended, so stages a few pixels apart on a short
 * run stack instead of printing `1 use20 users40 users`.
 */
export function stageLabelRows(stages: readonly StageRow[], pxPerS: number): number[] {
  const rowEndsPx: number[] = [];
  return stages.map((s) => {
    const x = s.startS * pxPerS;
    let row = rowEndsPx.findIndex((end) => end <= x);
    if (row < 0) row = rowEndsPx.length;
    rowEndsPx[row] = x + 3 + textWidth(stageLabelText(s), STAGE_LABEL_FONT_PX) +
      STAGE_LABEL_GAP_PX;
    return row;
  });
}

/** Label rows each stage layer takes, and its first row. */
function layerRows(
  layers: readonly StageLayer[],
  axis: XAxisPx,
): { rows: number[][]; total: number } {
  let next = 0;
  const rows = layers.map((layer) => {
    const own = stageLabelRows(layer.stages, axis.pxPerS).map((r) => r + next);
    next = Math.max(next, ...own) + 1;
    return own;
  });
  return { rows, total: next };
}

function stageMarks(runs: readonly RunData[], enabled: boolean, axis: XAxisPx): Mark[] {
  if (!enabled) return [];
  const layers = stageLayers(runs).layers;
  const { rows } = layerRows(layers, axis);
  return layers.flatMap((layer, l) => [
    Plot.ruleX(layer.stages.filter((s) => s.startS > 0), {
      x: "startS",
      stroke: layer.color,
      strokeDasharray: "3,3",
      strokeWidth: 1,
    }),
    // Plot's dy is one number per mark: one text mark per label row.
    ...[...new Set(rows[l])].map((row) =>
      Plot.text(layer.stages.filter((_, i) => rows[l][i] === row), {
        x: "startS",
        text: (s: StageRow) => stageLabelText(s),
        frameAnchor: "top",
        textAnchor: "start",
        lineAnchor: "top",
        dx: 3,
        dy: 1 + row * STAGE_LABEL_ROW_PX,
        fill: layer.labelColor,
        fontSize: STAGE_LABEL_FONT_PX,
      })
    ),
  ]);
}

/** Extra top inset so that every row of stage labels sits above the data. */
function stageLabelInsetPx(runs: readonly RunData[], enabled: boolean, axis: XAxisPx): number {
  if (!enabled) return 0;
  const { total } = layerRows(stageLayers(runs).layers, axis);
  return total > 1 ? (total - 1) * STAGE_LABEL_ROW_PX : 0;
}

function stageNote(runs: readonly RunData[], enabled: boolean): string[] {
  if (!enabled) return [];
  const { layers, shared } = stageLayers(runs);
  if (layers.length === 0) return [];
  const notes: string[] = [];
  const withStages = runs.filter((r) => r.stages.length > 0);
  const without = runs.filter((r) => r.stages.length === 0).map((r) => r.name);
  if (shared) {
    notes.push(
      `Grey dashed lines: stage boundaries, the same for ${
        without.length === 0
          ? (withStages.length === 2 ? "both runs" : `all ${withStages.length} runs`)
          : withStages.map((r) => r.name).join(", ")
      }.`,
    );
  } else if (layers.length > 1) {
    notes.push(
      "Dashed lines: each run's stage boundaries in its colour (the runs' stages differ).",
    );
  }
  const inferred = withStages.filter((r) => r.stagesSource === "inferred");
  const drawnInferred = shared
    ? inferred.length === withStages.length // a shared layer uses a file's stages when any has one
    : inferred.length > 0;
  if (drawnInferred) {
    notes.push(
      runs.length === 1 || inferred.length === withStages.length
        ? "Dashed lines: stage boundaries inferred from user-count changes (no _stages.csv)."
        : `Stage boundaries of ${
          inferred.map((r) => r.name).join(", ")
        } inferred from user-count changes (no _stages.csv).`,
    );
  }
  if (without.length > 0 && runs.length > 1) {
    notes.push(`No stage boundaries known for: ${without.join(", ")}.`);
  }
  return notes;
}

function basePlot(
  runs: readonly RunData[],
  options: ChartOptions,
  y: Record<string, unknown>,
  marks: Mark[],
): AnyElement {
  const width = options.width ?? 760;
  const height = options.height ?? 300;
  const domain = options.xDomainS ?? [0, maxElapsed(runs)];
  const axis = { pxPerS: (width - 52 - 16) / Math.max(1e-9, domain[1] - domain[0]) };
  return Plot.plot({
    document: chartDocument(),
    width,
    height,
    marginLeft: 52,
    marginRight: 16,
    marginTop: 22,
    marginBottom: 34,
    insetTop: 14 + stageLabelInsetPx(runs, options.stages ?? true, axis),
    clip: "frame",
    style: { fontSize: "11px" },
    x: {
      label: "Elapsed (s)",
      labelAnchor: "right",
      domain,
      grid: true,
    },
    y: { grid: true, nice: true, zero: true, ...y },
    marks: [...stageMarks(runs, options.stages ?? true, axis), ...marks],
    // deno-lint-ignore no-explicit-any
  } as any);
}

function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}

/**
 * Wraps a Plot chart in a standalone SVG with a white background, a title, a legend and notes.
 */
function frame(args: {
  width: number;
  title: string;
  legend: LegendItem[];
  chart: AnyElement;
  notes: string[];
}): ChartElement {
  const { width, title, legend, chart, notes } = args;
  const pad = 10;
  const children: AnyElement[] = [];
  children.push(
    svgEl("text", { x: pad, y: 20, "font-size": 15, "font-weight": "bold" }),
  );
  children[0].textContent = title;
  // Legend, wrapped over as many rows as needed.
  let x = pad;
  let y = 40;
  for (const item of legend) {
    const w = 26 + textWidth(item.label, 11) + 14;
    if (x + w > width - pad && x > pad) {
      x = pad;
      y += 16;
    }
    if (item.kind === "dot") {
      children.push(svgEl("circle", { cx: x + 10, cy: y - 4, r: 4, fill: item.color }));
    } else {
      const line = svgEl("line", {
        x1: x,
        x2: x + 20,
        y1: y - 4,
        y2: y - 4,
        stroke: item.color,
        "stroke-width": 2.5,
      });
      if (item.dash) line.setAttribute("stroke-dasharray", item.dash);
      children.push(line);
    }
    const label = svgEl("text", { x: x + 26, y, "font-size": 11 });
    label.textContent = item.label;
    children.push(label);
    x += w;
  }
  const chartTop = legend.length > 0 ? y + 6 : 30;
  const chartHeight = Number(chart.getAttribute("height"));
  chart.setAttribute("x", "0");
  chart.setAttribute("y", String(chartTop));
  children.push(chart);
  let noteY = chartTop + chartHeight + 4;
  for (const note of notes) {
    noteY += 14;
    const t = svgEl("text", { x: pad, y: noteY, "font-size": 10.5, fill: "#555" });
    t.textContent = note;
    children.push(t);
  }
  const height = Math.ceil(noteY + 8);
  const root = chartRoot(width, height);
  for (const c of children) root.appendChild(c);
  return root as ChartElement;
}

function multi(runs: readonly RunData[]): boolean {
  return runs.length > 1;
}

function runLegend(runs: readonly RunData[]): LegendItem[] {
  return runs.map((r, i) => ({ label: r.name, color: runColor(i) }));
}

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
  list.forEach((run, i) => {
    marks.push(
      Plot.line(compressSteps(run.history, ["users"]), {
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
    notes: stageNote(list, options.stages ?? true),
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
    marks.push(
      Plot.ruleY([options.sloMs], { stroke: "#d62728", strokeDasharray: "6,4", strokeWidth: 1.2 }),
    );
    marks.push(
      Plot.text([options.sloMs], {
        y: (d: number) => d,
        text: () => `SLO ${options.sloMs} ms`,
        frameAnchor: "right",
        textAnchor: "end",
        dy: -6,
        fill: "#d62728",
        fontSize: 10,
      }),
    );
  }
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

function noDataChart(runs: readonly RunData[], options: ChartOptions, message: string): AnyElement {
  return basePlot(runs, options, { label: null, domain: [0, 1], ticks: 0 }, [
    Plot.text([message], { frameAnchor: "middle", fontSize: 12, fill: "#777" }),
  ]);
}

/**
 * Replicas over time: target (dashed) vs running vs pending/starting, with each scaling decision
 * (a change of the target) marked by a dot labelled `from→to`.
 */
export function replicasChart(
  runs: RunData | readonly RunData[],
  options: ChartOptions = {},
): ChartElement {
  const list = asRuns(runs, "replicasChart");
  const withReplicas = list.filter((r) => r.replicas !== null && r.replicas.length > 0);
  const title = options.title ?? "Replicas over time";
  if (withReplicas.length === 0) {
    return frame({
      width: options.width ?? 760,
      title,
      legend: [],
      chart: noDataChart(
        list,
        options,
        "No _replicas.csv: run the load test against our service (or the simulator) to record replicas.",
      ),
      notes: [],
    });
  }
  const marks: Mark[] = [];
  const legend: LegendItem[] = [];
  let maxY = 1;
  let totalDecisions = 0;
  list.forEach((run, i) => {
    const allReps = run.replicas;
    if (!allReps || allReps.length === 0) return;
    const color = (series: keyof typeof SERIES) => (multi(list) ? runColor(i) : SERIES[series]);
    for (const r of allReps) {
      maxY = Math.max(maxY, r.target, r.running + r.starting + r.pending);
    }
    const decisions = scalingDecisions(allReps);
    const reps = compressSteps(allReps, ["target", "running", "starting", "pending"]);
    marks.push(
      Plot.line(reps, {
        x: "elapsedS",
        y: "target",
        stroke: color("target"),
        strokeWidth: 1.6,
        strokeDasharray: "6,3",
        curve: "step-after",
      }),
      Plot.line(reps, {
        x: "elapsedS",
        y: "running",
        stroke: color("running"),
        strokeWidth: 2.2,
        curve: "step-after",
      }),
    );
    const anyPending = reps.some((r) => r.pending > 0);
    const anyStarting = reps.some((r) => r.starting > 0);
    if (multi(list)) {
      if (anyPending || anyStarting) {
        marks.push(
          Plot.line(reps, {
            x: "elapsedS",
            y: (r: { pending: number; starting: number }) => r.pending + r.starting,
            stroke: color("pending"),
            strokeWidth: 1.2,
            strokeDasharray: "1,2",
            curve: "step-after",
          }),
        );
      }
    } else {
      if (anyStarting) {
        marks.push(
          Plot.line(reps, {
            x: "elapsedS",
            y: "starting",
            stroke: SERIES.starting,
            strokeWidth: 1.4,
            curve: "step-after",
          }),
        );
        legend.push({ label: "starting", color: SERIES.starting });
      }
      marks.push(
        Plot.line(reps, {
          x: "elapsedS",
          y: "pending",
          stroke: SERIES.pending,
          strokeWidth: 1.4,
          curve: "step-after",
        }),
      );
      legend.push({ label: "pending (no free CPU)", color: SERIES.pending });
    }
    totalDecisions += decisions.length;
    marks.push(
      Plot.dot(decisions, {
        x: "elapsedS",
        y: "to",
        r: 3.5,
        fill: multi(list)
          ? runColor(i)
          : (d: { direction: string }) => (d.direction === "up" ? SERIES.up : SERIES.down),
        stroke: "white",
        strokeWidth: 0.8,
      }),
    );
    if (!multi(list) && decisions.length <= 30) {
      marks.push(
        Plot.text(decisions, {
          x: "elapsedS",
          y: "to",
          text: (d: { from: number; to: number }) => `${d.from}→${d.to}`,
          dy: -9,
          fontSize: 9,
          fill: (d: { direction: string }) => (d.direction === "up" ? SERIES.up : SERIES.down),
        }),
      );
    }
  });
  if (multi(list)) {
    legend.unshift(...runLegend(list));
    legend.push({ label: "running (solid)", color: "#555" });
    legend.push({ label: "target (dashed)", color: "#555", dash: "6,3" });
    legend.push({ label: "starting+pending (dotted)", color: "#555", dash: "1,2" });
  } else {
    legend.unshift(
      { label: "target", color: SERIES.target, dash: "6,3" },
      { label: "running", color: SERIES.running },
    );
    legend.push({ label: "upscale decision", color: SERIES.up, kind: "dot" });
    legend.push({ label: "downscale decision", color: SERIES.down, kind: "dot" });
  }
  const notes = [
    `Scaling decisions are changes of the target replica count (${totalDecisions} in all).`,
    ...stageNote(list, options.stages ?? true),
  ];
  const missing = list.filter((r) => !r.replicas || r.replicas.length === 0).map((r) => r.name);
  if (missing.length > 0) notes.push(`No _replicas.csv for: ${missing.join(", ")}.`);
  const chart = basePlot(
    list,
    options,
    { label: "Replicas", domain: [0, Math.ceil(maxY * 1.1) + 0.5], ticks: Math.min(8, maxY + 1) },
    marks,
  );
  return frame({ width: options.width ?? 760, title, legend, chart, notes });
}

/** Requests executing on replicas vs waiting in the router queue (from `_replicas.csv`). */
export function queueChart(
  runs: RunData | readonly RunData[],
  options: ChartOptions = {},
): ChartElement {
  const list = asRuns(runs, "queueChart");
  const title = options.title ?? "Ongoing and queued requests";
  if (!list.some((r) => r.replicas && r.replicas.length > 0)) {
    return frame({
      width: options.width ?? 760,
      title,
      legend: [],
      chart: noDataChart(list, options, "No _replicas.csv: queue depth is not recorded."),
      notes: [],
    });
  }
  const marks: Mark[] = [];
  list.forEach((run, i) => {
    if (!run.replicas) return;
    const steps = compressSteps(run.replicas, ["ongoing", "queued"]);
    const rows = steps.length > (options.maxPoints ?? 1200)
      ? bucketRows(steps as unknown as Record<string, number | null>[], {
        x: "elapsedS",
        keys: ["ongoing", "queued"],
        maxPoints: options.maxPoints ?? 1200,
        reduce: "max",
      }).rows
      : steps;
    marks.push(
      Plot.line(rows, {
        x: "elapsedS",
        y: "ongoing",
        stroke: multi(list) ? runColor(i) : SERIES.ongoing,
        strokeWidth: 1.8,
        curve: "step-after",
      }),
      Plot.line(rows, {
        x: "elapsedS",
        y: "queued",
        stroke: multi(list) ? runColor(i) : SERIES.queued,
        strokeWidth: 1.6,
        strokeDasharray: multi(list) ? "4,3" : undefined,
        curve: "step-after",
      }),
    );
  });
  const legend: LegendItem[] = multi(list)
    ? [
      ...runLegend(list),
      { label: "ongoing (solid)", color: "#555" },
      { label: "queued (dashed)", color: "#555", dash: "4,3" },
    ]
    : [
      { label: "ongoing on replicas", color: SERIES.ongoing },
      { label: "queued in router", color: SERIES.queued },
    ];
  const chart = basePlot(list, options, { label: "Requests" }, marks);
  return frame({
    width: options.width ?? 760,
    title,
    legend,
    chart,
    notes: [
      "Sampled once a second (_replicas.csv): a burst between samples does not show.",
      ...stageNote(list, options.stages ?? true),
    ],
  });
}

function summaryLine(s: RunSummary): string {
  const parts = [
    `${s.name}: ${s.requests.toLocaleString("en-US")} requests`,
    `error rate ${(s.errorRate * 100).toFixed(2)} %`,
    s.p99Ms === null ? "p99 n/a" : `p99 ${Math.round(s.p99Ms)} ms`,
    s.slaCompliance === null
      ? "SLA n/a"
      : `SLA (p99 <= ${s.sloMs} ms, <= 1 % failed) ${(s.slaCompliance * 100).toFixed(1)} %`,
  ];
  const note = highErrorNote(s);
  if (note) parts.splice(1, 0, `⚠ ${note}`);
  if (s.scalingEvents !== null) {
    parts.push(
      `${s.scalingEvents} scaling events`,
      `max sampled queue ${s.maxQueued}`,
      `${s.replicaHoursPer1000Requests?.toFixed(4) ?? "n/a"} replica-h / 1k req`,
    );
  }
  return parts.join("  ·  ");
}

/** Users, requests/s, latency and replicas in a 2x2 grid, with one summary line per run. */
export function dashboardChart(
  runs: RunData | readonly RunData[],
  options: DashboardOptions = {},
): ChartElement {
  const list = asRuns(runs, "dashboardChart");
  const width = options.width ?? 1500;
  const pad = 10;
  const cellWidth = Math.floor((width - 3 * pad) / 2);
  const common = { width: cellWidth, height: 260, stages: options.stages ?? true };
  const sloMs = options.sloMs ?? 500;
  const cells = [
    usersChart(list, common),
    rpsChart(list, common),
    latencyChart(list, { ...common, sloMs }),
    replicasChart(list, common),
  ] as AnyElement[];
  const h = (el: AnyElement) => Number(el.getAttribute("height"));
  const top = 36;
  const row1 = Math.max(h(cells[0]), h(cells[1]));
  const row2 = Math.max(h(cells[2]), h(cells[3]));
  const positions = [
    [pad, top],
    [2 * pad + cellWidth, top],
    [pad, top + row1 + pad],
    [2 * pad + cellWidth, top + row1 + pad],
  ];
  const lines = list.map((r) => summaryLine(summarizeRun(r, { sloMs })));
  const height = top + row1 + row2 + 2 * pad + lines.length * 16 + 10;
  const root = chartRoot(width, height);
  const title = svgEl("text", { x: pad, y: 24, "font-size": 18, "font-weight": "bold" });
  title.textContent = options.title ??
    (list.length > 1
      ? `Load test dashboard: ${list.map((r) => r.name).join(" vs ")}`
      : `Load test dashboard: ${list[0].name}`);
  root.appendChild(title);
  cells.forEach((cell, i) => {
    cell.setAttribute("x", String(positions[i][0]));
    cell.setAttribute("y", String(positions[i][1]));
    root.appendChild(cell);
  });
  let y = top + row1 + row2 + 2 * pad;
  lines.forEach((line, i) => {
    y += 16;
    const t = svgEl("text", {
      x: pad,
      y,
      "font-size": 12,
      fill: list.length > 1 ? runColor(i) : "#222",
    });
    t.textContent = line;
    root.appendChild(t);
  });
  return root as ChartElement;
}

/** Re-exported for callers that build their own Plot charts on the same headless document. */
export { chartDocument };

/** One line of a {@link lineChart}. */
export interface LineSeries {
  /** Legend label. */
  label: string;
  /** Field name, or a function of the row, giving y (null/NaN = gap). */
  y: string | ((row: Record<string, unknown>) => number | null);
  /** Rows for this series (default: the chart's rows). */
  data?: readonly Record<string, unknown>[];
  /** Stroke colour (default: the run palette in order). */
  color?: string;
  /** Stroke dash pattern, e.g. `"4,3"`. */
  dash?: string;
  /** `step-after` for counts that hold until the next sample (default linear). */
  curve?: "linear" | "step-after";
  /** Draw a dot on each point. */
  dots?: boolean;
}

/** Options of {@link lineChart}. */
export interface LineChartOptions {
  /** Field name of x in every row. */
  x: string;
  /** The lines. */
  series: LineSeries[];
  /** Title (default none). */
  title?: string;
  /** x-axis label (default the field name). */
  xLabel?: string;
  /** y-axis label. */
  yLabel?: string;
  /** Total width in px (default 760). */
  width?: number;
  /** Plot-area height in px (default 300). */
  height?: number;
  /** y scale type (default linear). */
  yScale?: "linear" | "log";
  /** x scale type (default linear). */
  xScale?: "linear" | "log";
  /** Horizontal reference lines. */
  rulesY?: { value: number; label: string; color?: string }[];
  /** Vertical reference lines. */
  rulesX?: { value: number; label: string; color?: string }[];
  /** Notes printed under the chart. */
  notes?: string[];
}

/**
 * A general line chart over any rows (sweep results, replay output, simulated series) in the same
 * style as the run charts, for notebooks.
 */
export function lineChart(
  rows: readonly Record<string, unknown>[],
  options: LineChartOptions,
): ChartElement {
  if (options.series.length === 0) throw new Error("lineChart: needs at least one series");
  const marks: Mark[] = [];
  const legend: LegendItem[] = [];
  options.series.forEach((s, i) => {
    const data = s.data ?? rows;
    const color = s.color ?? runColor(i);
    const y = typeof s.y === "string"
      ? (d: Record<string, unknown>) => {
        const v = d[s.y as string];
        return v === null || v === undefined ? NaN : Number(v);
      }
      : (d: Record<string, unknown>) =>
        (s.y as (r: Record<string, unknown>) => number | null)(d) ?? NaN;
    marks.push(
      Plot.line(data, {
        x: options.x,
        y,
        stroke: color,
        strokeWidth: 2,
        strokeDasharray: s.dash,
        curve: s.curve ?? "linear",
      }),
    );
    if (s.dots) marks.push(Plot.dot(data, { x: options.x, y, fill: color, r: 3 }));
    legend.push({ label: s.label, color, dash: s.dash });
  });
  for (const r of options.rulesY ?? []) {
    marks.push(
      Plot.ruleY([r.value], { stroke: r.color ?? "#d62728", strokeDasharray: "6,4" }),
      Plot.text([r.value], {
        y: (d: number) => d,
        text: () => r.label,
        frameAnchor: "right",
        textAnchor: "end",
        dy: -6,
        fill: r.color ?? "#d62728",
        fontSize: 10,
      }),
    );
  }
  for (const r of options.rulesX ?? []) {
    marks.push(
      Plot.ruleX([r.value], { stroke: r.color ?? SERIES.stage, strokeDasharray: "3,3" }),
      Plot.text([r.value], {
        x: (d: number) => d,
        text: () => r.label,
        frameAnchor: "top",
        textAnchor: "start",
        lineAnchor: "top",
        dx: 3,
        fill: r.color ?? "#6b6b6b",
        fontSize: 9,
      }),
    );
  }
  const chart = Plot.plot({
    document: chartDocument(),
    width: options.width ?? 760,
    height: options.height ?? 300,
    marginLeft: 52,
    marginRight: 16,
    marginTop: 22,
    marginBottom: 34,
    insetTop: 14,
    style: { fontSize: "11px" },
    x: {
      label: options.xLabel ?? options.x,
      labelAnchor: "right",
      grid: true,
      type: options.xScale ?? "linear",
    },
    y: {
      label: options.yLabel ?? null,
      grid: true,
      nice: true,
      type: options.yScale ?? "linear",
      zero: options.yScale !== "log",
    },
    marks,
    // deno-lint-ignore no-explicit-any
  } as any);
  return frame({
    width: options.width ?? 760,
    title: options.title ?? "",
    legend,
    chart,
    notes: options.notes ?? [],
  });
}

/** A standalone chart's `<svg>` root of `width` x `height` with a white background. */
function chartRoot(width: number, height: number): AnyElement {
  const root = svgEl("svg", {
    xmlns: SVG_NS,
    width,
    height,
    viewBox: `0 0 ${width} ${height}`,
    "font-family": "system-ui, sans-serif",
    fill: "currentColor",
    class: "autoscale-lab-chart",
  });
  root.appendChild(svgEl("rect", { width, height, fill: "white" }));
  return root;
}
