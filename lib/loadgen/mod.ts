/**
 * Load generation: shapes, closed-loop users, the open-loop arrival-rate executor, an
 * HDR-style histogram, Locust-compatible statistics and CSV writers, the runner, the
 * concurrency sweep, and the terminal output. Statistics and writers are clock-agnostic (they
 * take timestamps), so the simulator reuses them in virtual time; the runner takes a clock.
 *
 * ```ts
 * import { loadShape, runLoadTest, uriRequest } from "../lib/loadgen/mod.ts";
 * const shape = await loadShape("configs/loadtest/tutorial.yaml", { timeScale: 0.1 });
 * const result = await runLoadTest({
 *   host: "http://127.0.0.1:8000",
 *   shape,
 *   request: uriRequest("https://example.com/dog.jpg"),
 *   csvPrefix: "results/run",
 * });
 * console.log(result.stats.total.numFailures);
 * ```
 *
 * @module
 */
export {
  fakeTimersClock,
  type FakeTimersLike,
  REAL_CLOCK,
  type RunnerClock,
  type TimerHandle,
} from "./clock.ts";
export {
  LATENCY_HEADER,
  type LocustCsvOptions,
  renderExceptionsCsv,
  renderFailuresCsv,
  renderLatencyRow,
  renderReplicasRow,
  renderStagesCsv,
  renderStatsCsv,
  renderStatsHistoryRows,
  REPLICAS_HEADER,
  type ReplicaSample,
  resultFilePaths,
  type StageRowData,
  STAGES_HEADER,
  statsHistoryColumns,
  type StatsHistoryOptions,
} from "./csv_files.ts";
export {
  failureHint,
  type FailureHintOptions,
  nothingListeningMessage,
  type ProbeAnswer,
  probeRequest,
  type ProbeRequestOptions,
  type RequestMode,
  START_SERVICE_COMMAND,
} from "./failure_hint.ts";
export {
  formatIntRange,
  formatNumber,
  type FormatNumberOptions,
  formatRate,
  formatSeconds,
} from "./format.ts";
export {
  LatencyHistogram,
  type LatencyHistogramData,
  type LatencyHistogramOptions,
} from "./histogram.ts";
export {
  type HttpResult,
  type HttpTarget,
  locustErrors,
  parseTarget,
  type PreparedRequest,
} from "./http_client.ts";
export {
  type CachedResponseTimes,
  type ExceptionRow,
  type IntervalStats,
  type PyNumber,
  type RequestRecord,
  RequestStats,
  type RequestStatsOptions,
  StatsEntry,
  type StatsErrorRow,
} from "./locust_stats.ts";
export { formatSummary, liveReporter } from "./report.ts";
export {
  DEFAULT_IMAGE_URI,
  imageMimeType,
  imageRequest,
  type ImageServer,
  readImage,
  type RequestSpec,
  serveImage,
  uriRequest,
} from "./request_spec.ts";
export {
  type LoadConnection,
  type LoadTestOptions,
  type LoadTestResult,
  runLoadTest,
  type SecondReport,
} from "./runner.ts";
export {
  arrivalTimeS,
  constantUsersShape,
  type LoadShape,
  loadShape,
  parseDurationS,
  parseShape,
  type ParseShapeOptions,
  scaleShape,
  ShapeError,
  type ShapeStage,
  stageRows,
  userCountAt,
} from "./shape.ts";
export {
  analyzeSweep,
  type AnalyzeSweepOptions,
  DEFAULT_MAX_FAILURE_RATIO,
  DEFAULT_SWEEP_LEVELS,
  renderSweepCsv,
  runSweep,
  suggestionLine,
  type SweepAnalysis,
  type SweepLevel,
  type SweepOptions,
  type SweepResult,
} from "./sweep.ts";
export {
  evaluateThresholds,
  type ExitCodeInputs,
  loadtestExitCode,
  parseThreshold,
  REQUESTS_FAILED_EXIT_CODE,
  type Threshold,
  type ThresholdResult,
  THRESHOLDS_FAILED_EXIT_CODE,
} from "./thresholds.ts";
export {
  formatWaitTime,
  parseWaitTime,
  waitSeconds,
  type WaitTime,
  WaitTimeError,
} from "./wait_time.ts";
