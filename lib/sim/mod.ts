/**
 * Simulator: the serving system in virtual time, running the service's own router, replica set
 * (lib/fleet) and autoscaler control loop (lib/autoscaler's `startAutoscaler`) on the lab's one
 * `VirtualClock`.
 *
 * - {@linkcode simulate}: one config under one load shape -> result files + comparison figures.
 * - {@linkcode SimEngine}: the discrete-event core (users/arrivals and simulated replicas over the
 *   shared router and replica set).
 * - {@linkcode measureRequestOverhead}, {@linkcode requestOverheadModel}: the service's
 *   per-request overhead, measured, that simulations add.
 * - {@linkcode scoreFidelity}: a simulation against a real run of the same case.
 * - {@linkcode loadFromShape}: a load generator shape as the engine's load.
 * - Duration models for service and startup times: {@linkcode parseDurationSpec} and friends.
 * - {@linkcode erlangC}, {@linkcode mmcFigures}: queueing theory to check against.
 *
 * @module
 */
export { createRng, type Rng } from "../duration/mod.ts";
export {
  type DurationModel,
  durationModelFromText,
  DurationSpecError,
  empiricalPercentilesDuration,
  empiricalSamplesDuration,
  exponentialDuration,
  fixedDuration,
  lognormalDuration,
  parseDurationSpec,
  type ParseDurationSpecOptions,
  parseDurationValueMs,
  type QuantilePoint,
  RESNET50_SERVICE_TIME,
} from "../duration/mod.ts";
export {
  type ClosedLoopLoad,
  constantUsersLoad,
  type LoadModel,
  type OpenLoopLoad,
  poissonLoad,
  type RateStage,
} from "./load_model.ts";
export { SimEngine } from "./engine.ts";
export type {
  SecondSnapshot,
  SimController,
  SimDeploymentSettings,
  SimEngineOptions,
  SimEngineResult,
  SimErrorKind,
  SimObserver,
  SimQueueStats,
  SimReplica,
  SimReplicaState,
  TargetChange,
} from "./engine_types.ts";
export {
  DEFAULT_SIM_WAIT_TIME,
  loadFromShape,
  type LoadFromShapeOptions,
  userChangeTimesS,
} from "./load.ts";
export { erlangC, type MmcFigures, mmcFigures } from "./queueing.ts";
export {
  controlLoopPhaseMs,
  countOscillations,
  defaultReplicaConcurrency,
  defaultStartupTime,
  formatComparisonTable,
  servedDeployment,
  SIM_REQUEST,
  simErrorText,
  simulate,
  type SimulateOptions,
  type SimulationResult,
  type SimulationSummary,
  ticksToTraceCsv,
} from "./simulate.ts";
export {
  controlLoopPhaseOf,
  DEFAULT_FIDELITY_TARGETS,
  type FidelityRun,
  type FidelityScore,
  type FidelityTargets,
  medianRun,
  relativeError,
  runningBySecond,
  scoreFidelity,
  TUTORIAL_FIDELITY_TARGETS,
} from "./fidelity.ts";
export {
  BUILT_IN_REQUEST_OVERHEAD,
  type MeasuredOverhead,
  type MeasureOverheadOptions,
  measureRequestOverhead,
  overheadModel,
  overheadPercentiles,
  type OverheadSample,
  pinnedReplicasConfig,
  REQUEST_OVERHEAD_FILE,
  requestOverheadModel,
  TINY_PNG,
} from "./overhead.ts";
