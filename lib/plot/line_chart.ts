/**
 * A generic line chart on the same frame, for notebooks that plot their own series.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { frame, type LegendItem, type Mark, runColor, SERIES } from "./_frame.ts";
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
