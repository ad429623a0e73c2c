/**
 * Typed, fully defaulted serve config: the shape every other area reads.
 *
 * Field names keep Ray Serve's snake_case so a config file maps one to one onto these types
 * (see `../shared/research/ray-serve.md` §1 and §6.1). The loader (`load.ts`) fills every
 * default, so consumers never see `undefined` for a field that has a default.
 *
 * @module
 */

/** How samples in the look-back window are reduced (Ray's `aggregation_function`). */
export type AggregationFunction = "mean" | "max" | "min";

/** A custom policy reference: `./path/to/module.ts:exportName`, resolved relative to the config file. */
export interface PolicyConfig {
  /** `module:export` naming a TypeScript function with the policy signature. */
  policy_function: string;
  /** Extra keyword arguments passed to the policy (Ray's newer `policy_kwargs`). */
  policy_kwargs: Record<string, unknown>;
}

/** Ray Serve's `AutoscalingConfig`, every field defaulted. Durations are seconds. */
export interface AutoscalingConfig {
  min_replicas: number;
  max_replicas: number;
  /** `null` means "start at min_replicas". */
  initial_replicas: number | null;
  target_ongoing_requests: number;
  metrics_interval_s: number;
  look_back_period_s: number;
  /** Deprecated fallback for both factors; kept so the effective factors can be derived as Ray does. */
  smoothing_factor: number;
  /** Deprecated alias of `upscaling_factor`. */
  upscale_smoothing_factor: number | null;
  /** Deprecated alias of `downscaling_factor`. */
  downscale_smoothing_factor: number | null;
  /** `null` acts as the smoothing fallback (1.0 by default). */
  upscaling_factor: number | null;
  /** `null` acts as the smoothing fallback (1.0 by default). */
  downscaling_factor: number | null;
  upscale_delay_s: number;
  downscale_delay_s: number;
  /** 1 -> 0 step only; `null` falls back to `downscale_delay_s`. */
  downscale_to_zero_delay_s: number | null;
  aggregation_function: AggregationFunction;
  /** `null` means Ray's default policy. */
  policy: PolicyConfig | null;
}

/** Which model a replica serves (`user_config.model`). */
export type ModelSpec =
  | { kind: "resnet50" }
  | { kind: "noop"; service_time_ms: number }
  /** The emulated model: `spec` is a service-time spec (lib/duration); a file is absolute. */
  | { kind: "emulate"; spec: string }
  | { kind: "path"; path: string }
  | { kind: "url"; url: string; sha256: string };

/** Inference backend choice (`user_config.backend`). */
export type BackendName = "auto" | "native" | "wasm" | "webgpu";

/** Our own model and request settings, carried in Ray's free-form `user_config`. */
export interface UserConfig {
  model: ModelSpec;
  backend: BackendName;
  /** Labels returned when the client asks for JSON without `?top=`. */
  top_k: number;
  /** Largest image body or download accepted, in bytes (default 20 MB). */
  max_image_bytes: number;
  /** Largest decoded image accepted, in pixels (decompression-bomb guard). */
  max_image_pixels: number;
  /** Total time allowed for fetching an image URI. */
  image_fetch_timeout_s: number;
  /** Hosts (name or IP, optionally `:port`) that may be fetched even if they resolve to private ranges. */
  allowed_image_hosts: string[];
}

/** `ray_actor_options`: only the resources we account for. */
export interface RayActorOptions {
  num_cpus: number;
  num_gpus: number;
}

/** One deployment, every field defaulted. */
export interface DeploymentConfig {
  name: string;
  /** Fixed replica count; `null` when `autoscaling_config` is set. */
  num_replicas: number | null;
  max_ongoing_requests: number;
  /** -1 means unbounded. */
  max_queued_requests: number;
  /** `null` means a fixed-size deployment (`num_replicas`). */
  autoscaling_config: AutoscalingConfig | null;
  graceful_shutdown_wait_loop_s: number;
  graceful_shutdown_timeout_s: number;
  health_check_period_s: number;
  health_check_timeout_s: number;
  max_constructor_retry_count: number;
  /**
   * Ray Serve's `@serve.batch(max_batch_size=...)` as a deployment option: a replica runs up to
   * this many of the requests the router has sent it as one inference (`session.run` with batch
   * N) and answers each on its own. 1 (the default) turns batching off.
   */
  max_batch_size: number;
  /**
   * `@serve.batch(batch_wait_timeout_s=...)`: how long a replica waits, from the first queued
   * request, for a batch to fill before running what it has. Used only when `max_batch_size > 1`.
   */
  batch_wait_timeout_s: number;
  ray_actor_options: RayActorOptions;
  user_config: UserConfig;
}

/** One application: a route prefix served by its deployments (we serve the first deployment). */
export interface ApplicationConfig {
  name: string;
  route_prefix: string;
  import_path: string;
  deployments: DeploymentConfig[];
}

/** `http_options`. `request_timeout_s: null` means no end-to-end timeout. */
export interface HttpOptions {
  host: string;
  port: number;
  root_path: string;
  request_timeout_s: number | null;
  keep_alive_timeout_s: number;
  /**
   * This project's own (Ray has no such field): the server behind the service, `node` (node:http,
   * with the header deadline and the pending-connection cap), `deno` (`Deno.serve`, neither, and
   * faster) or `auto` (default: `deno` on a loopback host, `node` on any other).
   */
  listener: HttpListenerKind;
  /** This project's own: seconds a connection may take to send its request head (node listener). */
  header_timeout_s: number;
  /** This project's own: connections without a complete request head at once (node listener). */
  max_pending_connections: number;
}

/** The servers `http_options.listener` chooses from. */
export type HttpListenerKind = "auto" | "node" | "deno";

/** A whole config file, fully defaulted. */
export interface ServeConfig {
  http_options: HttpOptions;
  applications: ApplicationConfig[];
  /** Absolute path of the file this was loaded from, or `null` when built in memory. */
  source_path: string | null;
}
