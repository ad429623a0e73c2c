/**
 * `--to serve`: a Ray Serve config deployable with `serve deploy` (distributed.md §5). Our file
 * already uses Ray's schema; what Ray needs on top: `import_path` of the Python app in
 * `export/ray/`, the project's `user_config` moved into the application's `args` (Ray passes
 * `user_config` to `reconfigure()` and ignores unknown keys elsewhere), and the deployment name
 * passed to the app so the class is bound under the config's name.
 *
 * @module
 */
import type { AutoscalingConfig, DeploymentConfig, ServeConfig } from "../config/mod.ts";
import { effectiveScalingFactors } from "../config/mod.ts";
import { type CarryRow, differsFromDefault, row } from "./carry.ts";
import { IMAGENET_LABELS_REF } from "./model_ref.ts";
import type { ExportModel, ExportOptions } from "./options.ts";

/** `import_path` of the Ray Serve application in `export/ray/`. */
export const RAY_APP_IMPORT_PATH = "autoscale_lab_serve.app:app_builder";

/** Python packages the Ray app needs beyond Ray (runtime_env.pip). */
export const RAY_APP_PIP = ["onnxruntime==1.22.0", "pillow", "numpy"];

/** Ray's autoscaling_config as exported: every effective value, current field names only. */
export function rayAutoscalingConfig(as: AutoscalingConfig): Record<string, unknown> {
  const f = effectiveScalingFactors(as);
  const out: Record<string, unknown> = {
    min_replicas: as.min_replicas,
    max_replicas: as.max_replicas,
    target_ongoing_requests: as.target_ongoing_requests,
    metrics_interval_s: as.metrics_interval_s,
    look_back_period_s: as.look_back_period_s,
    upscale_delay_s: as.upscale_delay_s,
    downscale_delay_s: as.downscale_delay_s,
    upscaling_factor: f.upscale,
    downscaling_factor: f.downscale,
    aggregation_function: as.aggregation_function,
  };
  if (as.initial_replicas !== null) out.initial_replicas = as.initial_replicas;
  if (as.downscale_to_zero_delay_s !== null) {
    out.downscale_to_zero_delay_s = as.downscale_to_zero_delay_s;
  }
  return out;
}

/** The application `args` the Python app reads (model, labels, request limits, deployment name). */
export function rayAppArgs(dep: DeploymentConfig, model: ExportModel): Record<string, unknown> {
  const uc = dep.user_config;
  return {
    deployment_name: dep.name,
    model: model.kind === "url"
      ? { url: model.url, sha256: model.sha256 }
      : { noop_service_time_ms: model.serviceTimeMs },
    labels: { url: IMAGENET_LABELS_REF.url, sha256: IMAGENET_LABELS_REF.sha256 },
    top_k: uc.top_k,
    max_image_bytes: uc.max_image_bytes,
    max_image_pixels: uc.max_image_pixels,
    image_fetch_timeout_s: uc.image_fetch_timeout_s,
  };
}

/** The per-knob rows shared by `serve` and `rayservice` (everything verbatim but custom policies). */
export function rayCarryRows(dep: DeploymentConfig): CarryRow[] {
  const rows: CarryRow[] = [];
  const as = dep.autoscaling_config;
  if (as) {
    const exported = rayAutoscalingConfig(as);
    for (const [k, v] of Object.entries(exported)) {
      rows.push(
        row(`autoscaling_config.${k}`, v, {
          status: "verbatim",
          target: `autoscaling_config.${k}`,
        }),
      );
    }
    if (as.policy) {
      rows.push(
        row("autoscaling_config.policy", as.policy.policy_function, {
          status: "lost",
          target: "-",
          note: "a TypeScript policy of this lab cannot run in Ray; Ray's default policy applies",
          nonDefault: differsFromDefault(as, "policy"),
        }),
      );
    }
  } else {
    rows.push(
      row("num_replicas", dep.num_replicas, { status: "verbatim", target: "num_replicas" }),
    );
  }
  rows.push(
    row("max_ongoing_requests", dep.max_ongoing_requests, {
      status: "verbatim",
      target: "max_ongoing_requests",
    }),
  );
  rows.push(
    row("max_queued_requests", dep.max_queued_requests, {
      status: "verbatim",
      target: "max_queued_requests",
    }),
  );
  rows.push(
    row("ray_actor_options.num_cpus", dep.ray_actor_options.num_cpus, {
      status: "verbatim",
      target: "ray_actor_options.num_cpus",
    }),
  );
  rows.push(
    row("user_config.*", "model, limits", {
      status: "mapped",
      target: "applications[].args",
      note: "Ray ignores project keys outside args",
    }),
  );
  rows.push(
    row("user_config.backend", dep.user_config.backend, {
      status: "lost",
      target: "-",
      note: "the Ray app always runs ONNX Runtime's CPU provider",
      nonDefault: dep.user_config.backend !== "auto" && dep.user_config.backend !== "native",
    }),
  );
  return rows;
}

/**
 * The Ray Serve config for `config`: every application with its first deployment, served by the
 * Python app ({@linkcode RAY_APP_IMPORT_PATH}).
 */
export function rayServeConfig(
  config: ServeConfig,
  models: readonly ExportModel[],
  options: ExportOptions = {},
): Record<string, unknown> {
  const http: Record<string, unknown> = { host: "0.0.0.0", port: 8000 };
  if (config.http_options.request_timeout_s !== null) {
    http.request_timeout_s = config.http_options.request_timeout_s;
  }
  http.keep_alive_timeout_s = config.http_options.keep_alive_timeout_s;
  const runtimeEnv: Record<string, unknown> = { pip: [...RAY_APP_PIP] };
  if (options.appUri) runtimeEnv.working_dir = options.appUri;
  return {
    http_options: http,
    applications: config.applications.map((app, i) => {
      const dep = app.deployments[0];
      const d: Record<string, unknown> = { name: dep.name };
      if (dep.autoscaling_config) {
        d.autoscaling_config = rayAutoscalingConfig(dep.autoscaling_config);
      } else d.num_replicas = dep.num_replicas;
      Object.assign(d, {
        max_ongoing_requests: dep.max_ongoing_requests,
        max_queued_requests: dep.max_queued_requests,
        graceful_shutdown_wait_loop_s: dep.graceful_shutdown_wait_loop_s,
        graceful_shutdown_timeout_s: dep.graceful_shutdown_timeout_s,
        health_check_period_s: dep.health_check_period_s,
        health_check_timeout_s: dep.health_check_timeout_s,
        ray_actor_options: { num_cpus: dep.ray_actor_options.num_cpus },
      });
      if (dep.ray_actor_options.num_gpus > 0) {
        (d.ray_actor_options as Record<string, unknown>).num_gpus = dep.ray_actor_options.num_gpus;
      }
      return {
        name: app.name,
        route_prefix: app.route_prefix,
        import_path: RAY_APP_IMPORT_PATH,
        runtime_env: runtimeEnv,
        args: rayAppArgs(dep, models[i]),
        deployments: [d],
      };
    }),
  };
}
