/**
 * Autoscaler: Ray Serve's default policy and knobs (research/ray-serve.md §2-§3), a metrics
 * pipeline, a controller stepped on an injected clock, custom policies and replay.
 *
 * - {@linkcode startAutoscaler}: the control loop for a deployment (serving calls this).
 * - {@linkcode AutoscalerController}: the same loop, stepped with `tick(nowMs)` (simulator).
 * - {@linkcode decide}: the pure wrapped policy; {@linkcode defaultAutoscalingPolicy}.
 * - {@linkcode MetricsPipeline}, {@linkcode mergeInstantaneousTotal},
 *   {@linkcode reduceStepFunction}: the metrics pipeline.
 * - {@linkcode replayTrace}: what the policy decides for a recorded trace, in virtual time.
 *
 * @module
 */
export { type Clock, realClock, type TimerId, VirtualClock } from "./clock.ts";
export {
  type AggregatedMetrics,
  DirectMetrics,
  mergeInstantaneousTotal,
  MetricsPipeline,
  type MetricsReport,
  type MetricsSample,
  type MetricsSource,
  MetricsStore,
  type PipelineTiming,
  pipelineTiming,
  type ReduceOptions,
  reduceStepFunction,
  SampleWindow,
  type SourceKind,
  type TimedValue,
} from "./metrics.ts";
export {
  applyBounds,
  applyDelay,
  applyScalingFactors,
  type AutoscalingContext,
  type AutoscalingPolicy,
  decide,
  type Decision,
  type DecisionReason,
  defaultAutoscalingPolicy,
  DELAY_STATE_KEY,
  type DelayOutcome,
  type DelayState,
  type DelayStatus,
  initialTargetReplicas,
  PolicyError,
  type PolicyOutput,
  type PolicyState,
  type ScalingFactors,
  scalingFactors,
} from "./policy.ts";
export {
  AutoscalerController,
  type AutoscalerDeploymentStatus,
  type AutoscalerHandle,
  type AutoscalerOptions,
  type AutoscalerStatus,
  type AutoscalerStatusTrigger,
  type AutoscalingTarget,
  CONTROL_LOOP_INTERVAL_MS,
  type PolicyLoadResult,
  type ScalingDecision,
  startAutoscaler,
  type StartAutoscalerOptions,
  type TickReason,
  type TickRecord,
} from "./controller.ts";
export { isDefaultPolicyRef, loadPolicy, parsePolicyRef } from "./custom_policy.ts";
export { DECISIONS_CSV_HEADER } from "./_csv.ts";
export {
  parseTrace,
  REPLAY_CSV_HEADER,
  type ReplayInput,
  type ReplayOptions,
  type ReplayResult,
  type ReplayRow,
  replayRowsToCsv,
  replayTrace,
  TraceError,
  type TracePoint,
} from "./replay.ts";
