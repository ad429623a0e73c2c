/**
 * The config's level tables: for each mapping in a serve config, the keys it knows, the Ray keys
 * it accepts and ignores (with a warning), and the deprecated names it maps to new ones. The
 * readers (`load.ts`, `_read_deployment.ts`, `_read_user_config.ts`) walk the YAML with these.
 *
 * @module
 */
import type { LevelSpec } from "./_reader.ts";
import type { AggregationFunction, BackendName, HttpListenerKind } from "./types.ts";

export const TOP: LevelSpec = {
  name: "the config file",
  known: ["http_options", "applications"],
  ignored: ["proxy_location", "grpc_options", "logging_config", "target_capacity"],
};
export const HTTP: LevelSpec = {
  name: "http_options",
  known: [
    "host",
    "port",
    "root_path",
    "request_timeout_s",
    "keep_alive_timeout_s",
    // This project's own (not Ray's): the listener and its limits on slow clients.
    "listener",
    "header_timeout_s",
    "max_pending_connections",
  ],
  ignored: ["middlewares", "location", "num_cpus", "ssl_keyfile", "ssl_certfile"],
};
export const APPLICATION: LevelSpec = {
  name: "applications[]",
  known: ["name", "route_prefix", "import_path", "deployments"],
  ignored: [
    "runtime_env",
    "args",
    "external_scaler_enabled",
    "autoscaling_policy",
    "logging_config",
    "host",
    "port",
  ],
};
export const DEPLOYMENT: LevelSpec = {
  name: "deployments[]",
  known: [
    "name",
    "num_replicas",
    "max_ongoing_requests",
    "max_queued_requests",
    "autoscaling_config",
    "graceful_shutdown_wait_loop_s",
    "graceful_shutdown_timeout_s",
    "health_check_period_s",
    "health_check_timeout_s",
    "max_constructor_retry_count",
    "max_batch_size",
    "batch_wait_timeout_s",
    "ray_actor_options",
    "user_config",
  ],
  deprecated: { max_concurrent_queries: "max_ongoing_requests" },
  ignored: [
    "route_prefix",
    "rolling_update_percentage",
    "max_replicas_per_node",
    "placement_group_bundles",
    "placement_group_strategy",
    "logging_config",
    "request_router_config",
  ],
};
export const AUTOSCALING: LevelSpec = {
  name: "autoscaling_config",
  known: [
    "min_replicas",
    "max_replicas",
    "initial_replicas",
    "target_ongoing_requests",
    "metrics_interval_s",
    "look_back_period_s",
    "upscaling_factor",
    "downscaling_factor",
    "upscale_delay_s",
    "downscale_delay_s",
    "downscale_to_zero_delay_s",
    "aggregation_function",
    "policy",
  ],
  deprecated: {
    target_num_ongoing_requests_per_replica: "target_ongoing_requests",
    smoothing_factor: "upscaling_factor and downscaling_factor",
    upscale_smoothing_factor: "upscaling_factor",
    downscale_smoothing_factor: "downscaling_factor",
  },
};
export const POLICY: LevelSpec = { name: "policy", known: ["policy_function", "policy_kwargs"] };
export const ACTOR: LevelSpec = {
  name: "ray_actor_options",
  known: ["num_cpus", "num_gpus"],
  ignored: [
    "accelerator_type",
    "memory",
    "resources",
    "runtime_env",
    "label_selector",
    "fallback_strategy",
  ],
};
export const USER: LevelSpec = {
  name: "user_config",
  known: [
    "model",
    "backend",
    "top_k",
    "max_image_bytes",
    "max_image_pixels",
    "image_fetch_timeout_s",
    "allowed_image_hosts",
  ],
};
export const MODEL: LevelSpec = {
  name: "user_config.model",
  known: ["path", "url", "sha256", "noop"],
};
export const NOOP: LevelSpec = { name: "user_config.model.noop", known: ["service_time_ms"] };
export const LEVELS = [TOP, HTTP, APPLICATION, DEPLOYMENT, AUTOSCALING, POLICY, ACTOR, USER];

export const BACKENDS: readonly BackendName[] = ["auto", "native", "wasm", "webgpu"];
/** The servers `http_options.listener` names. */
export const LISTENERS: readonly HttpListenerKind[] = ["auto", "node", "deno"];
export const AGGREGATIONS: readonly AggregationFunction[] = ["mean", "max", "min"];
