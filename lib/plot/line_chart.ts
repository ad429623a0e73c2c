/**
 * A generic line chart on the same frame, for notebooks that plot their own series.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import {
  type DrawnSeries,
  frame,
  hiddenSeriesNotes,
  type LegendItem,
  type Mark,
  ruleLegend,
  runColor,
  SERIES,
} from "./_frame.ts";
import { chartDocument, type ChartElement } from "./_dom.ts";
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
  /**
   * x scale type (default linear). `utc` takes x as `Date`s (or epoch ms) and labels the axis in
   * clock time (`HH:MM`, UTC), for a story told in clock time.
   */
  xScale?: "linear" | "log" | "utc";
  /** Ticks only at whole numbers on x, for a count (concurrency, users, replicas). */
  xIntegerTicks?: boolean;
  /** Ticks only at whole numbers on y, for a count (concurrency, users, replicas). */
  yIntegerTicks?: boolean;
  /** Horizontal reference lines, labelled in the legend (a label on the plot would cover data). */
  rulesY?: { value: number; label: string; color?: string }[];
  /** Vertical reference lines (a `Date` on a `utc` x scale). */
  rulesX?: { value: number | Date; label: string; color?: string }[];
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
  const drawn: DrawnSeries[] = [];
  const xValues: number[] = [];
  const yValues: number[] = [];
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
    const points = data.map((d) => [Number(d[options.x]), y(d)]);
    for (const [px, py] of points) {
      if (Number.isFinite(px)) xValues.push(px);
      if (Number.isFinite(py)) yValues.push(py);
    }
    drawn.push({ label: s.label, key: JSON.stringify(points) });
  });
  for (const r of options.rulesY ?? []) {
    marks.push(Plot.ruleY([r.value], { stroke: r.color ?? "#d62728", strokeDasharray: "6,4" }));
    legend.push(ruleLegend(r.label, r.color));
    yValues.push(r.value);
  }
  for (const r of options.rulesX ?? []) {
    marks.push(
      Plot.ruleX([r.value], { stroke: r.color ?? SERIES.stage, strokeDasharray: "3,3" }),
      Plot.text([r.value], {
        x: (d: number | Date) => d,
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
      ...(options.xScale === "utc" ? { tickFormat: "%H:%M" } : {}),
      ...(options.xIntegerTicks
        ? integerAxis(xValues, { scale: options.xScale ?? "linear", zero: false, what: "x" })
        : {}),
    },
    y: {
      label: options.yLabel ?? null,
      grid: true,
      nice: true,
      type: options.yScale ?? "linear",
      zero: options.yScale !== "log",
      ...(options.yIntegerTicks
        ? integerAxis(yValues, {
          scale: options.yScale ?? "linear",
          zero: options.yScale !== "log",
          what: "y",
        })
        : {}),
    },
    marks,
    // deno-lint-ignore no-explicit-any
  } as any);
  return frame({
    width: options.width ?? 760,
    title: options.title ?? "",
    legend,
    chart,
    notes: [...hiddenSeriesNotes(drawn), ...(options.notes ?? [])],
  });
}

/** Tick steps an integer axis may use: 1, 2, 5, 10, 20, 50... */
function integerStep(span: number, maxTicks: number): number {
  for (let magnitude = 1;; magnitude *= 10) {
    for (const m of [1, 2, 5]) {
      if (span / (m * magnitude) <= maxTicks) return m * magnitude;
    }
  }
}

/**
 * Domain and ticks of an axis that shows a count: ticks only at whole numbers (never 1.5, 2.5),
 * at most ~10 on a linear scale, 1-2-5 per decade on a log scale.
 */
function integerAxis(
  values: readonly number[],
  options: { scale: string; zero: boolean; what: string },
): Record<string, unknown> {
  if (options.scale === "utc") {
    throw new Error(`lineChart: ${options.what}IntegerTicks needs a linear or log scale, not utc`);
  }
  if (values.length === 0) return {};
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (options.scale === "log") {
    const ticks: number[] = [];
    for (let decade = 1; decade <= hi * 10; decade *= 10) {
      for (const m of [1, 2, 5]) {
        const t = m * decade;
        if (t >= Math.floor(lo) && t <= Math.ceil(hi)) ticks.push(t);
      }
    }
    return { ticks };
  }
  if (options.zero) lo = Math.min(0, lo);
  const step = integerStep(Math.max(1, hi - lo), 10);
  const start = Math.floor(lo / step) * step;
  const end = Math.max(start + step, Math.ceil(hi / step) * step);
  const ticks: number[] = [];
  for (let t = start; t <= end; t += step) ticks.push(t);
  return { domain: [start, end], nice: false, ticks, tickFormat: "d" };
}
