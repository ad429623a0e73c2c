/**
 * The single-replica server's container, shared by the Knative Service and the KEDA Deployment:
 * the image the Containerfile builds, the tuned config in `SERVE_CONFIG` (one replica, no
 * autoscaler; the model as URL + sha256, fetched at start-up), probes on `/healthz`, CPUs from
 * `num_cpus`.
 *
 * @module
 */
import { stringify } from "yaml";
import type { DeploymentConfig, ServeConfig } from "../config/mod.ts";
import type { ExportModel } from "./options.ts";
import { REPLICA_PORT } from "./options.ts";

/** The environment variable the single-replica server reads its config from. */
export const SERVE_CONFIG_ENV = "SERVE_CONFIG";

/** A CPU count as a Kubernetes quantity (`1`, `500m`). */
export function cpuQuantity(cpus: number): string {
  return Number.isInteger(cpus) ? String(cpus) : `${Math.round(cpus * 1000)}m`;
}

/** The config one pod serves: the first application's first deployment, one replica, no autoscaler. */
export function singleReplicaConfigYaml(config: ServeConfig, model: ExportModel): string {
  const app = config.applications[0];
  const dep = app.deployments[0];
  const uc = dep.user_config;
  const http: Record<string, unknown> = { host: "0.0.0.0", port: REPLICA_PORT };
  if (config.http_options.request_timeout_s !== null) {
    http.request_timeout_s = config.http_options.request_timeout_s;
  }
  const doc = {
    http_options: http,
    applications: [{
      name: app.name,
      route_prefix: app.route_prefix,
      import_path: app.import_path,
      deployments: [{
        name: dep.name,
        num_replicas: 1,
        max_ongoing_requests: dep.max_ongoing_requests,
        max_queued_requests: dep.max_queued_requests,
        graceful_shutdown_wait_loop_s: dep.graceful_shutdown_wait_loop_s,
        graceful_shutdown_timeout_s: dep.graceful_shutdown_timeout_s,
        health_check_period_s: dep.health_check_period_s,
        health_check_timeout_s: dep.health_check_timeout_s,
        ray_actor_options: { num_cpus: dep.ray_actor_options.num_cpus },
        user_config: {
          model: model.kind === "url"
            ? { url: model.url, sha256: model.sha256 }
            : `noop:${model.serviceTimeMs}`,
          backend: uc.backend,
          top_k: uc.top_k,
          max_image_bytes: uc.max_image_bytes,
          max_image_pixels: uc.max_image_pixels,
          image_fetch_timeout_s: uc.image_fetch_timeout_s,
          allowed_image_hosts: [...uc.allowed_image_hosts],
        },
      }],
    }],
  };
  return stringify(doc, { lineWidth: 0 });
}

/** The container of one replica pod. `knative`: no port on probes, no `PORT` (Knative sets it). */
export function replicaContainer(
  config: ServeConfig,
  model: ExportModel,
  options: { image: string; knative: boolean },
): Record<string, unknown> {
  const dep: DeploymentConfig = config.applications[0].deployments[0];
  const env = [{ name: SERVE_CONFIG_ENV, value: singleReplicaConfigYaml(config, model) }];
  if (!options.knative) env.unshift({ name: "PORT", value: String(REPLICA_PORT) });
  const httpGet = options.knative ? { path: "/healthz" } : { path: "/healthz", port: "http" };
  const cpu = cpuQuantity(dep.ray_actor_options.num_cpus || 0.1);
  return {
    name: "replica",
    image: options.image,
    ports: [{ containerPort: REPLICA_PORT, name: options.knative ? "http1" : "http" }],
    env,
    resources: { requests: { cpu, memory: "1Gi" }, limits: { cpu, memory: "2Gi" } },
    readinessProbe: { httpGet, periodSeconds: Math.max(1, Math.round(dep.health_check_period_s)) },
    livenessProbe: {
      httpGet,
      periodSeconds: Math.max(1, Math.round(dep.health_check_period_s)),
      timeoutSeconds: Math.max(1, Math.round(dep.health_check_timeout_s)),
      initialDelaySeconds: 60,
    },
  };
}
