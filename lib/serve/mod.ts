/**
 * Serving: replicas as Web Workers (one inference session each, model bytes shared), CPU
 * accounting like a Ray cluster, a power-of-two-choices router with a bounded FIFO queue, the
 * HTTP API, Prometheus metrics and `serve status`-shaped output. The emulated model
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
  type PreparedModel,
  prepareModel,
  type PrepareModelOptions,
  type ServeHandle,
  startServe,
  type StartServeOptions,
} from "./server.ts";
export {
  type AutoscalerLike,
  Deployment,
  type DeploymentOptions,
  type HandledRequest,
  initialReplicaCount,
} from "./deployment.ts";
export { Cluster, machineCpuCount, sessionThreads } from "./cluster.ts";
export { BackPressureError, type RoutableReplica, Router, type RouterOptions } from "./router.ts";
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
  type HttpAppContext,
  normaliseRoutePrefix,
} from "./http_app.ts";
export {
  createEmulatedClassifier,
  EMULATED_LABEL,
  emulatedDurationModel,
  prepareEmulatedModel,
} from "./emulated_model.ts";
export { LATENCY_BUCKETS_MS, Metric, Registry } from "./metrics.ts";
export { formatServeStatus, type FormatServeStatusOptions } from "./status_format.ts";
export { fetchImage, type FetchImageOptions, ImageFetchError } from "./image_fetcher.ts";
export type * from "./types.ts";
