/**
 * The frame every chart shares: run colours, the series palette, chart options, the legend,
 * title and notes around a Plot chart, and the standalone `<svg>` root. Private to lib/plot.
 *
 * @module
 */
import { type ChartElement, SVG_NS, svgEl } from "./_dom.ts";
import type { RunData } from "./read.ts";

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

/** Series colours shared by the charts (users, requests, failures, percentiles, replicas...). */
export const SERIES = {
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

/** One legend entry above a chart. */
export interface LegendItem {
  label: string;
  color: string;
  dash?: string;
  kind?: "line" | "dot";
}

// deno-lint-ignore no-explicit-any
export type AnyElement = any;
// deno-lint-ignore no-explicit-any
export type Mark = any;

/** `runs` as a non-empty list; throws naming the chart builder when empty. */
export function asRuns(runs: RunData | readonly RunData[], what: string): RunData[] {
  const list = Array.isArray(runs) ? [...runs] : [runs as RunData];
  if (list.length === 0) throw new Error(`${what}: needs at least one run, got none`);
  return list;
}

/** Colour of the i-th run. */
export function runColor(index: number): string {
  return RUN_COLORS[index % RUN_COLORS.length];
}

/** The last elapsed second any of `runs` has data for (at least 1). */
export function maxElapsed(runs: readonly RunData[]): number {
  let max = 1;
  for (const r of runs) {
    for (const row of r.history) max = Math.max(max, row.elapsedS);
    for (const row of r.replicas ?? []) max = Math.max(max, row.elapsedS);
    for (const row of r.latency ?? []) max = Math.max(max, row.elapsedS);
  }
  return max;
}

/** Approximate width in px of `text` at `fontSize` (0.6 em a character). */
export function textWidth(text: string, fontSize: number): number {
  return text.length * fontSize * 0.6;
}

/**
 * Wraps a Plot chart in a standalone SVG with a white background, a title, a legend and notes.
 */
export function frame(args: {
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

/** One drawn series for {@link hiddenSeriesNotes}: its legend label and a key of what it draws. */
export interface DrawnSeries {
  label: string;
  /** Equal keys mean the series draw exactly the same path (e.g. JSON of its points). */
  key: string;
}

/**
 * A note for each series drawn exactly under a later one (same points), so that a line the legend
 * names but the reader cannot see is said in the chart. Series are given in drawing order.
 */
export function hiddenSeriesNotes(series: readonly DrawnSeries[]): string[] {
  const groups = new Map<string, string[]>();
  for (const s of series) {
    if (s.key === "[]") continue; // nothing drawn
    groups.set(s.key, [...(groups.get(s.key) ?? []), s.label]);
  }
  const notes: string[] = [];
  for (const labels of groups.values()) {
    if (labels.length < 2) continue;
    const hidden = labels.slice(0, -1);
    const top = labels[labels.length - 1];
    notes.push(
      `${hidden.join(", ")} ${hidden.length === 1 ? "is" : "are"} drawn exactly under ${top} ` +
        `(identical values), so ${hidden.length === 1 ? "it does" : "they do"} not show.`,
    );
  }
  return notes;
}

/** The legend entry of a horizontal objective line (SLO), drawn red and dashed. */
export function ruleLegend(label: string, color = "#d62728"): LegendItem {
  return { label, color, dash: "6,4" };
}

/** Whether several runs are overlaid. */
export function multi(runs: readonly RunData[]): boolean {
  return runs.length > 1;
}

/** One legend entry per run, in its colour. */
export function runLegend(runs: readonly RunData[]): LegendItem[] {
  return runs.map((r, i) => ({ label: r.name, color: runColor(i) }));
}

/** A standalone chart's `<svg>` root of `width` x `height` with a white background. */
export function chartRoot(width: number, height: number): AnyElement {
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
