/**
 * Autotuning: the tutorial's tuning guide done by machine. Searches the nine autoscaling knobs in
 * the simulator (worker threads, seeded), scores finalists on several seeds and perturbed traffic,
 * and reports the cost/latency Pareto front, the cheapest robust config, a comparison with other
 * configs and each knob's sensitivity. `deno task tune` is the command; docs/tune.md the guide.
 *
 * - {@linkcode runTune}: the whole run; {@linkcode search}: the search alone (any evaluator).
 * - {@linkcode parseSlo}, {@linkcode defaultSearchSpace}, {@linkcode applyOverrides}: inputs.
 * - {@linkcode readTraffic}: shape / trace / stats history as a load shape; perturbations.
 * - {@linkcode paretoFront}, {@linkcode scoreCandidate}: scoring.
 * - Tables, the front chart and the recommended config file.
 *
 * @module
 */
export { CALIBRATION_PATHS, type CalibrationSource, readCalibration } from "./calibration.ts";
export { frontChart } from "./chart.ts";
export { type RecommendedConfigOptions, recommendedConfigYaml } from "./config_file.ts";
export { TuneInputError } from "./errors.ts";
export {
  type EvalContext,
  type EvalJob,
  type EvalResult,
  evaluateJob,
  prepareContext,
} from "./evaluate.ts";
export { createEvaluator, type Evaluator, type EvaluatorOptions } from "./pool.ts";
export {
  createProgressBar,
  formatEta,
  type ProgressBar,
  type ProgressBarOptions,
} from "./progress.ts";
export {
  candidatesCsv,
  closestTable,
  type ComparisonRow,
  comparisonRows,
  comparisonTable,
  type CostOptions,
  dominates,
  fmt,
  frontTable,
  KNOB_LABELS,
  sensitivityTable,
  signedPercent,
  type TableOptions,
  textTable,
} from "./report.ts";
export {
  type Candidate,
  type FrontPoint,
  type Outcome,
  paretoFront,
  type Scenario,
  type Score,
  scoreCandidate,
  type ScoringContext,
} from "./score.ts";
export {
  type BatchEvaluator,
  type EvalRequest,
  frontOf,
  recommend,
  search,
  type SearchOptions,
  type SearchResult,
} from "./search.ts";
export {
  meetsSlo,
  parseSlo,
  type ScenarioFigures,
  type Slo,
  type SloMetric,
  sloValue,
} from "./slo.ts";
export {
  applyOverrides,
  defaultSearchSpace,
  KNOB_NAMES,
  type KnobName,
  type KnobRange,
  type Knobs,
  knobsAt,
  knobsKey,
  knobsOf,
  type OverrideOptions,
  type SearchSpace,
  withKnobs,
} from "./space.ts";
export {
  BASE_PERTURBATION,
  type Perturbation,
  perturbedLoad,
  readTraffic,
  shapeFromHistory,
  shapeFromTrace,
  shapeFromYaml,
  standardPerturbations,
  type TrafficSource,
} from "./traffic.ts";
export {
  VERIFY_TOLERANCE,
  type VerifyFigures,
  type VerifyOptions,
  verifyRecommendation,
  type VerifyResult,
  verifySourceError,
} from "./verify.ts";
export {
  buildScenarios,
  type ComparedConfig,
  runTune,
  type SensitivityRow,
  type TuneOptions,
  type TuneResult,
} from "./tune.ts";
export type { PreparedContext } from "./evaluate.ts";
