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
  /** Fewest replicas the autoscaler keeps (default 1). */
  min_replicas: number;
  /** Most replicas the autoscaler may run (default 1). */
  max_replicas: number;
  /** `null` means "start at min_replicas". */
  initial_replicas: number | null;
  /** Ongoing requests per replica the autoscaler aims for (default 2). */
  target_ongoing_requests: number;
  /** How often replicas and the router report their metrics, seconds (default 10). */
  metrics_interval_s: number;
  /** Window the reported metrics are aggregated over, seconds (default 30). */
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
  /** How long an upscale decision must hold before it is applied, seconds (default 30). */
  upscale_delay_s: number;
  /** How long a downscale decision must hold before it is applied, seconds (default 600). */
  downscale_delay_s: number;
  /** 1 -> 0 step only; `null` falls back to `downscale_delay_s`. */
  downscale_to_zero_delay_s: number | null;
  /** How the samples in the look-back window are reduced (default `mean`). */
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
  /** The model the replicas serve (default `resnet50`). */
  model: ModelSpec;
  /** The inference backend (default `auto`: chosen by measurement). */
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
  /** Logical CPUs a replica holds (default 1; may be a fraction or 0). */
  num_cpus: number;
  /** GPUs a replica asks for (default 0); only written to exported Ray configs. */
  num_gpus: number;
}

/** One deployment, every field defaulted. */
export interface DeploymentConfig {
  /** Deployment name, unique within its application. */
  name: string;
  /** Fixed replica count; `null` when `autoscaling_config` is set. */
  num_replicas: number | null;
  /** Most requests the router sends one replica at once (default 5). */
  max_ongoing_requests: number;
  /** -1 means unbounded. */
  max_queued_requests: number;
  /** `null` means a fixed-size deployment (`num_replicas`). */
  autoscaling_config: AutoscalingConfig | null;
  /** Drain poll period while a replica stops, seconds (default 2). */
  graceful_shutdown_wait_loop_s: number;
  /** Longest a stopping replica drains before it is killed, seconds (default 20). */
  graceful_shutdown_timeout_s: number;
  /** Period of replica health checks, seconds (default 10). */
  health_check_period_s: number;
  /** Longest a health check may take before it counts as failed, seconds (default 30). */
  health_check_timeout_s: number;
  /** Start failures tolerated (or 3 x the target, if lower) before the deployment may be marked failed (default 20). */
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
  /** Resources each replica takes. */
  ray_actor_options: RayActorOptions;
  /** This project's model and request settings. */
  user_config: UserConfig;
}

/** One application: a route prefix served by its deployments (we serve the first deployment). */
export interface ApplicationConfig {
  /** Application name (default `default`). */
  name: string;
  /** URL path prefix the application is served under (default `/`). */
  route_prefix: string;
  /** Ray's `module:attribute` of the application; kept for export, and a change counts as a code change. */
  import_path: string;
  /** The application's deployments (the first one serves requests). */
  deployments: DeploymentConfig[];
}

/** `http_options`. `request_timeout_s: null` means no end-to-end timeout. */
export interface HttpOptions {
  /** Address the HTTP server binds (default 127.0.0.1). */
  host: string;
  /** Port the HTTP server listens on (default 8000). */
  port: number;
  /** Ray's `root_path`, parsed and kept (default ""); nothing here serves under it. */
  root_path: string;
  /** End-to-end request timeout, seconds; `null` (default) means none. */
  request_timeout_s: number | null;
  /** How long an idle keep-alive connection stays open, seconds (default 90). */
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
  /** HTTP server settings. */
  http_options: HttpOptions;
  /** The applications served. */
  applications: ApplicationConfig[];
  /** Absolute path of the file this was loaded from, or `null` when built in memory. */
  source_path: string | null;
}
