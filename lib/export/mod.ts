/**
 * Beyond one machine: export a tuned config to real engines, check the manifests offline, and
 * predict each engine's scaling.
 *
 * - {@linkcode exportConfig}: a config to `serve` (Ray Serve config), `rayservice` (KubeRay),
 *   `knative`, `keda` or `keda-http`, with the per-knob carried-over/lost table.
 * - {@linkcode checkManifestText} / {@linkcode checkManifest}: the engines' CRDs (ajv) plus the
 *   rules the CRDs cannot state (Knative annotations, KEDA ranges, the embedded Serve config).
 * - {@linkcode compareEngines}: the same load simulated under Ray's policy and each engine's.
 *
 * @module
 */
export { type CarryRow, type CarryStatus, formatCarryTable } from "./carry.ts";
export {
  DEFAULT_PROMETHEUS_URL,
  DEFAULT_RAY_IMAGE,
  DEFAULT_RAY_VERSION,
  DEFAULT_REPLICA_IMAGE,
  EXPORT_TARGETS,
  type ExportFile,
  type ExportModel,
  type ExportOptions,
  type ExportResult,
  type ExportTarget,
  REPLICA_PORT,
} from "./options.ts";
export { exportConfig, exportFileText, isUnfaithful } from "./export.ts";
export { ExportError, exportModel, IMAGENET_LABELS_REF } from "./model_ref.ts";
export { RAY_APP_IMPORT_PATH, rayAutoscalingConfig, rayServeConfig } from "./ray_serve.ts";
export { rayService, workerPodsFor } from "./rayservice.ts";
export { KNATIVE_PREFIX, type KnativeMapping, knativeMapping, knativeService } from "./knative.ts";
export {
  IN_FLIGHT_METRIC,
  kedaHttpScaledObject,
  type KedaMapping,
  kedaMapping,
  kedaScaledObject,
} from "./keda.ts";
export { SERVE_CONFIG_ENV, singleReplicaConfigYaml } from "./_pod.ts";
export {
  checkManifest,
  checkManifestText,
  type CheckOptions,
  warmValidators,
} from "./validate/check.ts";
export {
  CRD_FILES,
  injectAdditionalPropertiesFalse,
  SchemaMissingError,
} from "./validate/crd_schema.ts";
export { formatManifestIssue, type IssueRule, type ManifestIssue } from "./validate/issue.ts";
export { knativeAnnotationIssues } from "./validate/knative_rules.ts";
export { serveConfigIssues } from "./validate/serve_rules.ts";
export { parseGoDurationMs } from "./validate/go_duration.ts";
export {
  ASSUMED_SCRAPE_INTERVAL_S,
  compareChartSvg,
  compareClaims,
  type CompareEngine,
  compareEngines,
  type CompareOptions,
  type CompareResult,
  type CompareRow,
  type EngineVariant,
  engineVariants,
  formatCompareTable,
  loadRiseS,
} from "./compare.ts";
export {
  singleReplicaConfig,
  type SingleReplicaOptions,
  startSingleReplica,
} from "./single_replica.ts";
