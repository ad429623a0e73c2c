/**
 * The Plot chart under every time chart: elapsed-seconds x axis, the stage boundaries, the
 * margins. Private to lib/plot.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import { chartDocument } from "./_dom.ts";
import type { RunData } from "./read.ts";
import { type AnyElement, type ChartOptions, type Mark, maxElapsed } from "./_frame.ts";
import { stageLabelInsetPx, stageMarks } from "./_stages.ts";

/** A Plot time chart of `runs` with the stage boundaries and the shared margins and x axis. */
export function basePlot(
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

/** An empty time chart with `message` in the middle. */
export function noDataChart(
  runs: readonly RunData[],
  options: ChartOptions,
  message: string,
): AnyElement {
  return basePlot(runs, options, { label: null, domain: [0, 1], ticks: 0 }, [
    Plot.text([message], { frameAnchor: "middle", fontSize: 12, fill: "#777" }),
  ]);
}
