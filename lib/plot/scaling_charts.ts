/**
 * What the autoscaler did: replicas over time (target vs running vs starting/pending, each
 * scaling decision marked) and ongoing vs queued requests.
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
  type LegendItem,
  type Mark,
  multi,
  runColor,
  runLegend,
  SERIES,
} from "./_frame.ts";
import { basePlot, noDataChart } from "./_base_plot.ts";
import { stageNote } from "./_stages.ts";
import type { ChartElement } from "./_dom.ts";
import type { RunData } from "./read.ts";
import { scalingDecisions } from "./summary.ts";
import { bucketRows, compressSteps } from "./_downsample.ts";
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
  // What was drawn, so that the legend lists only those kinds.
  let anyUp = false;
  let anyDown = false;
  let anyPendingAtAll = false;
  let anyStartingOrPendingLine = false;
  const drawn: DrawnSeries[] = [];
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
    anyPendingAtAll ||= anyPending;
    anyUp ||= decisions.some((d) => d.direction === "up");
    anyDown ||= decisions.some((d) => d.direction === "down");
    drawn.push({
      label: run.name,
      key: JSON.stringify(
        reps.map((r) => [r.elapsedS, r.target, r.running, r.pending + r.starting]),
      ),
    });
    if (multi(list)) {
      if (anyPending || anyStarting) {
        anyStartingOrPendingLine = true;
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
      if (anyPending) {
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
    if (anyStartingOrPendingLine) {
      legend.push({ label: "starting+pending (dotted)", color: "#555", dash: "1,2" });
    }
  } else {
    legend.unshift(
      { label: "target", color: SERIES.target, dash: "6,3" },
      { label: "running", color: SERIES.running },
    );
    if (anyUp) legend.push({ label: "upscale decision", color: SERIES.up, kind: "dot" });
    if (anyDown) legend.push({ label: "downscale decision", color: SERIES.down, kind: "dot" });
  }
  const notes = [
    `Scaling decisions are changes of the target replica count (${totalDecisions} in all${
      totalDecisions > 0 && !anyDown ? ", none down" : ""
    }${totalDecisions > 0 && !anyUp ? ", none up" : ""}).`,
    ...(anyPendingAtAll
      ? []
      : ["No replica was pending: every one the autoscaler asked for got a CPU."]),
    ...(multi(list) ? hiddenSeriesNotes(drawn) : []),
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
  const drawn: DrawnSeries[] = [];
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
    drawn.push({
      label: run.name,
      key: JSON.stringify(rows.map((r) => [r.elapsedS, r.ongoing, r.queued])),
    });
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
      ...(multi(list) ? hiddenSeriesNotes(drawn) : []),
      ...stageNote(list, options.stages ?? true),
    ],
  });
}
