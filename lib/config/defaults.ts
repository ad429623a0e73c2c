/**
 * Ray Serve's defaults (research/ray-serve.md §1.1, §1.2, §6.1) and our `user_config` defaults
 * (CONTRACTS.md), as plain constants so that other areas (the simulator, the CLI) can quote them.
 *
 * @module
 */
import type {
  AutoscalingConfig,
  DeploymentConfig,
  HttpOptions,
  RayActorOptions,
  UserConfig,
} from "./types.ts";

/** `AutoscalingConfig()` defaults: what a field left out of `autoscaling_config` becomes. */
export const AUTOSCALING_DEFAULTS: Readonly<AutoscalingConfig> = Object.freeze({
  min_replicas: 1,
  max_replicas: 1,
  initial_replicas: null,
  target_ongoing_requests: 2,
  metrics_interval_s: 10,
  look_back_period_s: 30,
  smoothing_factor: 1,
  upscale_smoothing_factor: null,
  downscale_smoothing_factor: null,
  upscaling_factor: null,
  downscaling_factor: null,
  upscale_delay_s: 30,
  downscale_delay_s: 600,
  downscale_to_zero_delay_s: null,
  aggregation_function: "mean",
  policy: null,
});

/**
 * `AutoscalingConfig.default()`, used by `num_replicas: auto`: min 1, max 100, target 2. Fields the
 * user sets in `autoscaling_config` override these.
 */
export const AUTO_NUM_REPLICAS_DEFAULTS: Readonly<AutoscalingConfig> = Object.freeze({
  ...AUTOSCALING_DEFAULTS,
  min_replicas: 1,
  max_replicas: 100,
  target_ongoing_requests: 2,
});

/** Deployment-level defaults (Ray's `DeploymentConfig`, constants from CON). */
export const DEPLOYMENT_DEFAULTS: Readonly<
  & { num_replicas: number }
  & Pick<
    DeploymentConfig,
    | "max_ongoing_requests"
    | "max_queued_requests"
    | "graceful_shutdown_wait_loop_s"
    | "graceful_shutdown_timeout_s"
    | "health_check_period_s"
    | "health_check_timeout_s"
    | "max_constructor_retry_count"
    | "max_batch_size"
    | "batch_wait_timeout_s"
  >
> = Object.freeze({
  num_replicas: 1,
  max_ongoing_requests: 5,
  max_queued_requests: -1,
  graceful_shutdown_wait_loop_s: 2,
  graceful_shutdown_timeout_s: 20,
  health_check_period_s: 10,
  health_check_timeout_s: 30,
  max_constructor_retry_count: 20,
  /** 1 = no batching (the tutorial's default); Ray's `@serve.batch` default is 10. */
  max_batch_size: 1,
  /** `@serve.batch`'s default wait for a batch to fill, seconds. */
  batch_wait_timeout_s: 0.01,
});

/** `ray_actor_options` defaults: Serve sets `num_cpus` to 1 when unset. */
export const RAY_ACTOR_OPTIONS_DEFAULTS: Readonly<RayActorOptions> = Object.freeze({
  num_cpus: 1,
  num_gpus: 0,
});

/** `http_options` defaults. Host is 127.0.0.1 (Python `HTTPOptions`), not the schema's 0.0.0.0. */
export const HTTP_OPTIONS_DEFAULTS: Readonly<HttpOptions> = Object.freeze({
  host: "127.0.0.1",
  port: 8000,
  root_path: "",
  request_timeout_s: null,
  keep_alive_timeout_s: 90,
  listener: "auto",
  header_timeout_s: 20,
  max_pending_connections: 1000,
});

/** Application-level defaults. */
export const APPLICATION_DEFAULTS: Readonly<{ name: string; route_prefix: string }> = Object.freeze(
  {
    name: "default",
    route_prefix: "/",
  },
);

/** Our own `user_config` defaults (CONTRACTS.md). */
export const USER_CONFIG_DEFAULTS: Readonly<UserConfig> = Object.freeze({
  model: Object.freeze({ kind: "resnet50" as const }),
  backend: "auto",
  top_k: 5,
  max_image_bytes: 20_000_000,
  max_image_pixels: 40_000_000,
  image_fetch_timeout_s: 10,
  allowed_image_hosts: Object.freeze([]) as unknown as string[],
});

/** Largest `top_k` accepted: an ImageNet classifier has 1000 classes. */
export const MAX_TOP_K = 1000;
