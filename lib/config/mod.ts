/**
 * Serve config: load a Ray Serve-style YAML config file into a typed, fully defaulted
 * {@link ServeConfig}, with errors that name file:line:col and field path.
 *
 * ```ts
 * import { loadConfig } from "../lib/config/mod.ts";
 * const { config, warnings } = await loadConfig("configs/basic.yaml");
 * ```
 *
 * @module
 */
export type {
  AggregationFunction,
  ApplicationConfig,
  AutoscalingConfig,
  BackendName,
  DeploymentConfig,
  HttpListenerKind,
  HttpOptions,
  ModelSpec,
  PolicyConfig,
  RayActorOptions,
  ServeConfig,
  UserConfig,
} from "./types.ts";
export { loadConfig, type LoadedConfig, parseConfig, type ParseConfigOptions } from "./load.ts";
export { ConfigError, type ConfigIssue, type ConfigIssueCode, formatIssue } from "./issues.ts";
export {
  interpretModelString,
  MODEL_STRING_FORMS,
  type ModelStringResult,
  parseModelSpec,
} from "./model_spec.ts";
export {
  estimatePeakMemory,
  formatMemoryEstimate,
  machineMemoryMb,
  type MemoryEstimate,
  memoryWarning,
  REPLICA_RSS_MB,
  replicaRssMb,
} from "./memory.ts";
export { effectiveScalingFactors, type ScalingFactors } from "./scaling.ts";
export { closestMatch } from "./_suggest.ts";
export {
  APPLICATION_DEFAULTS,
  AUTO_NUM_REPLICAS_DEFAULTS,
  AUTOSCALING_DEFAULTS,
  DEPLOYMENT_DEFAULTS,
  HTTP_OPTIONS_DEFAULTS,
  MAX_TOP_K,
  RAY_ACTOR_OPTIONS_DEFAULTS,
  USER_CONFIG_DEFAULTS,
} from "./defaults.ts";
export {
  effectiveConfigObject,
  formatEffectiveConfig,
  type FormatOptions,
  modelSpecToYaml,
} from "./format.ts";
