/**
 * Duration models: the service-time and startup-time distributions shared by the simulator
 * (lib/sim, `simulate --service-time`) and the emulated model of the real service (lib/serve,
 * `model: emulate:SPEC`), so both draw from the same parser and sampler.
 *
 * - {@linkcode parseDurationSpec}: a spec (`45`, `fixed:45`, `exp:45`, `lognormal:45,80`,
 *   `resnet50`, a benchmark JSON, a Locust `_stats.csv`) -> a {@linkcode DurationModel};
 *   {@linkcode parseInlineDurationSpec} does the inline forms without file I/O and
 *   {@linkcode durationSpecFile} says which file a spec names.
 * - {@linkcode createRng}: seeded random streams for drawing from a model.
 * - {@linkcode median}: the median of a sample (timings, seeds' figures).
 *
 * @module
 */
export {
  type DurationModel,
  durationModelFromText,
  DurationSpecError,
  durationSpecFile,
  empiricalPercentilesDuration,
  empiricalSamplesDuration,
  exponentialDuration,
  fixedDuration,
  lognormalDuration,
  parseDurationSpec,
  type ParseDurationSpecOptions,
  parseDurationValueMs,
  parseInlineDurationSpec,
  type QuantilePoint,
  RESNET50_SERVICE_TIME,
} from "./duration_model.ts";
export { median } from "./median.ts";
export { createRng, type Rng } from "./rng.ts";
