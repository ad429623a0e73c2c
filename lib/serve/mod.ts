/**
 * Serving: every application of a config at its route prefix ({@linkcode ServeInstance}, updated
 * in place by `apply`, the admin REST API on the dashboard port); replicas as Web Workers (one inference session each, model bytes shared) in the
 * lab's shared replica set and router (lib/fleet: CPU accounting like a Ray cluster, lifecycle,
 * power of two choices), a bounded FIFO request queue, the HTTP API, Prometheus metrics and
 * `serve status`-shaped output. The emulated model
 * (`emulate:SPEC`, emulated_model.ts) runs all of it with replicas that hold requests for a drawn
 * service time instead of computing.
 *
 * ```ts
 * import { prepareModel, startServe } from "../lib/serve/mod.ts";
 * const model = await prepareModel({ kind: "noop", service_time_ms: 0 });
 * const serve = await startServe(config, { model, port: 0 });
 * await serve.ready();
 * // ... POST images to serve.url ...
 * await serve.shutdown();
 * ```
 *
 * @module
 */
export {
  createProxyHandler,
  type PreparedModel,
  prepareModel,
  type PrepareModelOptions,
  type ServeHandle,
  startServe,
  type StartServeOptions,
} from "./server.ts";
export {
  type ApplyResult,
  type AppRoute,
  type ConfigEvent,
  ServeInstance,
  type ServeInstanceOptions,
} from "./instance.ts";
export {
  type ApplyPlan,
  checkApplyable,
  type DeploymentChange,
  type DeploymentChangeKind,
  formatPlan,
  planApply,
} from "./apply_plan.ts";
export {
  ADMIN_API_PATH,
  type AdminApiOptions,
  type AdminTarget,
  createAdminApi,
  instanceDetails,
} from "./admin_api.ts";
export {
  type AutoscalerLike,
  Deployment,
  type DeploymentOptions,
  type HandledRequest,
  initialReplicaCount,
} from "./deployment.ts";
export { Cluster, machineCpuCount, sessionThreads } from "./cluster.ts";
export { intraOpSpinning } from "./_spinning.ts";
export { BackPressureError, RequestQueue } from "./request_queue.ts";
export { Replica, ReplicaDiedError, RequestTimeoutError } from "./replica.ts";
export {
  createReplicaHandler,
  failureFromError,
  NOOP_LABEL,
  type ReplicaHandler,
} from "./replica_handler.ts";
export {
  type AppRequestRecord,
  createHttpHandler,
  DEFAULT_BODY_READ_TIMEOUT_MS,
  type HttpAppContext,
  MEANINGLESS_LABELS,
  normaliseRoutePrefix,
} from "./http_app.ts";
export {
  createEmulatedClassifier,
  EMULATED_LABEL,
  emulatedDurationModel,
  prepareEmulatedModel,
} from "./emulated_model.ts";
export { type BodyBufferStats, bodyBufferStats, resetBodyBufferPeak } from "./_body_reader.ts";
export { hostHeaderProblem } from "./host_header.ts";
export { isLoopbackHost } from "./loopback.ts";
export { LATENCY_BUCKETS_MS, Metric, Registry, renderRegistries } from "./metrics.ts";
export { formatServeStatus, type FormatServeStatusOptions } from "./status_format.ts";
export { fetchImage, type FetchImageOptions, ImageFetchError } from "./image_fetcher.ts";
export { REPLICA_STATES } from "./types.ts";
export type {
  ApplicationStatus,
  ClassifyRequest,
  ClassifyResult,
  ConfigEventJson,
  DeploymentStatus,
  DeploymentStatusJson,
  EmulatedModelSource,
  ImageSource,
  LabelScore,
  LogLevel,
  ModelInfo,
  ReplicaModel,
  ReplicaOptions,
  ReplicaReply,
  ReplicaState,
  ReplicaStatusJson,
  RequestFailure,
  ServeStatusJson,
} from "./types.ts";
export type { EmulatedClassifier } from "./emulated_model.ts";
export type { ImageFetchStatus } from "./_image_fetch_error.ts";
export type { MetricKind, Series } from "./metrics.ts";
export type { RollOutResult } from "./_rolling_update.ts";
