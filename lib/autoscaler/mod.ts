/**
 * Autoscaler: Ray Serve's default policy and knobs (research/ray-serve.md §2-§3), a metrics
 * pipeline, a controller stepped on an injected clock, custom policies and replay.
 *
 * - {@linkcode startAutoscaler}: the control loop for a deployment (serving calls this).
 * - {@linkcode AutoscalerController}: the same loop, stepped with `tick(nowMs)` (simulator).
 * - {@linkcode decide}: the pure wrapped policy; {@linkcode defaultAutoscalingPolicy}.
 * - {@linkcode MetricsPipeline}: the metrics pipeline ({@linkcode DirectMetrics}: policy inputs
 *   set directly, for tests and replays).
 * - {@linkcode VirtualClock}: the lab's one virtual clock (tests, replay, the simulator).
 * - {@linkcode replayTrace}: what the policy decides for a recorded trace, in virtual time.
 *
 * @module
 */
export {
  type Clock,
  realClock,
  type TimerId,
  VirtualClock,
  type VirtualClockOptions,
} from "./clock.ts";
export {
  type AggregatedMetrics,
  DirectMetrics,
  MetricsPipeline,
  type MetricsReport,
  type MetricsSample,
  type MetricsSource,
  type MetricsStore,
  type PackedSeries,
  type SourceKind,
  type TimedValue,
} from "./metrics.ts";
export { metricsSamplingPeriodMs, type PipelineTiming } from "./pipeline_timing.ts";
export {
  type AutoscalingContext,
  type AutoscalingPolicy,
  decide,
  type Decision,
  type DecisionReason,
  defaultAutoscalingPolicy,
  type DelayStatus,
  initialTargetReplicas,
  PolicyError,
  type PolicyOutput,
  type PolicyState,
} from "./policy.ts";
export {
  AutoscalerController,
  type AutoscalerDeploymentStatus,
  type AutoscalerOptions,
  type AutoscalerStatus,
  type AutoscalerStatusTrigger,
  autoscalingChanges,
  type AutoscalingTarget,
  CONTROL_LOOP_INTERVAL_MS,
  type ReconfigureResult,
  type ScalingDecision,
  type TickReason,
  type TickRecord,
} from "./controller.ts";
export {
  type AutoscalerHandle,
  type PolicyLoadResult,
  startAutoscaler,
  type StartAutoscalerOptions,
} from "./control_loop.ts";
export { isDefaultPolicyRef, loadPolicy, parsePolicyRef } from "./custom_policy.ts";
export { controlLoopStartMs, DECISIONS_CSV_HEADER } from "./_csv.ts";
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
