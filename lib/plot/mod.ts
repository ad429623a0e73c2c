/**
 * Plots of load-test results: typed readers for Locust's result files and our extras, chart
 * builders (Observable Plot, headless), SVG/PNG output, the run summary and an HTML report.
 *
 * ```ts
 * import { loadRun, dashboardChart, writeChart } from "../lib/plot/mod.ts";
 * const run = await loadRun("results/load_test_x_stats_history.csv");
 * await writeChart(dashboardChart(run), "plots/dashboard");
 * ```
 *
 * @module
 */
export { ResultFileError } from "./_csv.ts";
export type { ChartElement } from "./_dom.ts";
export {
  type HistoryRow,
  inferStages,
  type LatencyRow,
  loadRun,
  makeRun,
  type ParsedHistory,
  parseLatency,
  type ParseOptions,
  parseReplicas,
  parseStages,
  parseStatsHistory,
  parseStatsTotals,
  type PercentileKind,
  type ReplicaRow,
  resultPrefix,
  type RunData,
  runName,
  type RunParts,
  type StageRow,
  type StatsTotals,
} from "./read.ts";
export { chartDocument } from "./_dom.ts";
export {
  type ChartOptions,
  type LatencyChartOptions,
  type PercentileName,
  RUN_COLORS,
  runColor,
} from "./_frame.ts";
export { latencyChart, rpsChart, usersChart } from "./load_charts.ts";
export { queueChart, replicasChart } from "./scaling_charts.ts";
export { dashboardChart, type DashboardOptions } from "./dashboard_chart.ts";
export { lineChart, type LineChartOptions, type LineSeries } from "./line_chart.ts";
export { chartPng, chartSvg, missingFontsWarning, type PngOptions, writeChart } from "./render.ts";
export {
  QUEUE_SAMPLING_NOTE,
  type RunSummary,
  type ScalingDecision,
  scalingDecisions,
  summarizeRun,
  summaryLabels,
  type SummaryOptions,
  summaryRows,
  summaryTable,
} from "./summary.ts";
export { escapeHtml, reportHtml, type ReportOptions } from "./report.ts";
export { expandGlob, isGlob } from "./glob.ts";
export {
  type DecisionRow,
  type FindDecisionsOptions,
  findRunDecisions,
  parseDecisions,
  type RunDecisions,
} from "./decisions.ts";
export {
  isQuickMode,
  markdownTable,
  notebookResultsDir,
  QUICK_ENV,
  RESULTS_DIR_ENV,
} from "./notebook.ts";
