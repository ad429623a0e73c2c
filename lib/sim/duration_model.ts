/**
 * The simulator's service- and startup-time models. They live in lib/duration, shared with the
 * emulated model (`model: emulate:SPEC`) that serves the same distributions through the real
 * service.
 *
 * @module
 */
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
