/**
 * The front chart: cost (replica-hours) against the primary SLO metric's worst value, the tuned
 * front as a line, each compared config and the recommendation as a point, the SLO limit as a rule.
 *
 * @module
 */
import { type ChartElement, lineChart, type LineSeries } from "../plot/mod.ts";
import type { Slo } from "./slo.ts";
import type { TuneResult } from "./tune.ts";

/** Builds the chart (Observable Plot via lib/plot). */
export function frontChart(result: TuneResult, slos: readonly Slo[]): ChartElement {
  const { scores, front, recommended } = result.search;
  const metric = slos[0]?.metric ?? "p99";
  const point = (cost: number, value: number) => ({ cost, value });
  const series: LineSeries[] = [{
    label: "tuned front",
    y: "value",
    data: front.map((i) => point(scores[i].replicaHours, scores[i].primaryWorst)),
    dots: true,
  }];
  if (recommended !== null) {
    series.push({
      label: "recommended",
      y: "value",
      data: [point(scores[recommended].replicaHours, scores[recommended].primaryWorst)],
      dots: true,
      color: "#d62728",
    });
  }
  for (const c of result.compared) {
    if (!Number.isFinite(c.score.primaryWorst)) continue;
    series.push({
      label: c.name,
      y: "value",
      data: [point(c.score.replicaHours, c.score.primaryWorst)],
      dots: true,
    });
  }
  const limit = slos[0]?.limit;
  return lineChart([], {
    x: "cost",
    series,
    title: `Cost vs worst ${metric} over ${result.scenarios.length} scenarios`,
    xLabel: "replica-hours (base traffic, mean over seeds)",
    yLabel: metric === "fail_ratio" ? "worst fail ratio" : `worst ${metric} (ms)`,
    yScale: "log",
    rulesY: limit !== undefined ? [{ value: limit, label: `SLO ${slos[0].text}` }] : [],
  });
}
