/**
 * `--to rayservice`: a KubeRay `RayService` (`ray.io/v1`, distributed.md §1) whose
 * `serveConfigV2` is the Ray Serve config as a YAML string, with in-tree autoscaling on, a head
 * that runs no replicas (`num-cpus: "0"`), and one worker group sized so `minReplicas` pods hold
 * `min_replicas` replicas and `maxReplicas` pods hold `max_replicas`, at the worker's CPUs.
 *
 * @module
 */
import { stringify } from "yaml";
import type { DeploymentConfig, ServeConfig } from "../config/mod.ts";
import { type CarryRow, row } from "./carry.ts";
import { k8sName } from "./_names.ts";
import {
  DEFAULT_RAY_IMAGE,
  DEFAULT_RAY_VERSION,
  type ExportModel,
  type ExportOptions,
} from "./options.ts";
import { rayServeConfig } from "./ray_serve.ts";

/**
 * Worker pods needed to hold `replicas` replicas of `pod.replicaCpus` CPUs each on pods of
 * `pod.podCpus` CPUs; `NaN` when one replica does not fit a pod.
 */
export function workerPodsFor(
  replicas: number,
  pod: { replicaCpus: number; podCpus: number },
): number {
  const numCpus = pod.replicaCpus;
  const workerCpus = pod.podCpus;
  if (replicas <= 0) return 0;
  if (numCpus <= 0) return 1;
  const perPod = Math.floor(workerCpus / numCpus + 1e-9);
  if (perPod < 1) return Number.NaN;
  return Math.ceil(replicas / perPod);
}

function replicaBounds(dep: DeploymentConfig): [number, number] {
  const as = dep.autoscaling_config;
  return as ? [as.min_replicas, as.max_replicas] : [dep.num_replicas ?? 1, dep.num_replicas ?? 1];
}

/** The RayService manifest and the worker-group rows of the carry table. */
export function rayService(
  config: ServeConfig,
  models: readonly ExportModel[],
  options: ExportOptions = {},
): { manifest: Record<string, unknown>; rows: CarryRow[] } {
  const serve = rayServeConfig(config, models, options);
  const workerCpus = options.workerCpus ?? 4;
  const memory = options.workerMemory ?? `${Math.max(1, Math.ceil(workerCpus * 2))}Gi`;
  const image = options.image ?? DEFAULT_RAY_IMAGE;
  let minPods = 0, maxPods = 0;
  const rows: CarryRow[] = [];
  for (const app of config.applications) {
    const dep = app.deployments[0];
    const [min, max] = replicaBounds(dep);
    const numCpus = dep.ray_actor_options.num_cpus;
    const lo = workerPodsFor(min, { replicaCpus: numCpus, podCpus: workerCpus });
    const hi = workerPodsFor(max, { replicaCpus: numCpus, podCpus: workerCpus });
    if (Number.isNaN(hi)) {
      throw new Error(
        `${app.name}/${dep.name}: a replica needs ${numCpus} CPUs but a worker pod has ${workerCpus}; pass --worker-cpus ${
          Math.ceil(numCpus)
        } or more`,
      );
    }
    minPods += lo;
    maxPods += hi;
    rows.push(
      row("max_replicas x num_cpus", `${max} x ${numCpus}`, {
        status: "mapped",
        target: `workerGroupSpecs[0].maxReplicas += ${hi}`,
        note: `${workerCpus}-CPU worker pods (--worker-cpus)`,
      }),
    );
    rows.push(
      row("min_replicas x num_cpus", `${min} x ${numCpus}`, {
        status: "mapped",
        target: `workerGroupSpecs[0].minReplicas += ${lo}`,
      }),
    );
  }
  const name = k8sName(config.applications[0]?.name ?? "serve");
  const container = (containerName: string, cpus: string, mem: string) => ({
    name: containerName,
    image,
    resources: { requests: { cpu: cpus, memory: mem }, limits: { cpu: cpus, memory: mem } },
  });
  const manifest = {
    apiVersion: "ray.io/v1",
    kind: "RayService",
    metadata: { name, ...(options.namespace ? { namespace: options.namespace } : {}) },
    spec: {
      serveConfigV2: stringify(serve, { lineWidth: 0 }),
      rayClusterConfig: {
        rayVersion: options.rayVersion ?? DEFAULT_RAY_VERSION,
        enableInTreeAutoscaling: true,
        autoscalerOptions: { idleTimeoutSeconds: 60 },
        headGroupSpec: {
          rayStartParams: { "num-cpus": "0", "dashboard-host": "0.0.0.0" },
          template: {
            spec: {
              containers: [{
                ...container("ray-head", "1", "4Gi"),
                ports: [
                  { containerPort: 6379, name: "gcs-server" },
                  { containerPort: 8265, name: "dashboard" },
                  { containerPort: 10001, name: "client" },
                  { containerPort: 8000, name: "serve" },
                ],
              }],
            },
          },
        },
        workerGroupSpecs: [{
          groupName: "cpu-workers",
          replicas: minPods,
          minReplicas: minPods,
          maxReplicas: Math.max(1, maxPods),
          rayStartParams: {},
          template: {
            spec: { containers: [container("ray-worker", String(workerCpus), memory)] },
          },
        }],
      },
    },
  };
  return { manifest, rows };
}
