/**
 * What a deployment's replicas start with, and how their measured backend choice reads in
 * `/api/status`: the pieces of the serve instance that depend only on a deployment's config.
 *
 * @module
 */
import type { DeploymentConfig } from "../config/mod.ts";
import type { BackendChoice, DeploymentFacts } from "../model/mod.ts";
import { machineCpuCount, sessionThreads } from "./cluster.ts";
import { intraOpSpinning } from "./_spinning.ts";
import type { ModelInfo, PreparedModel, ReplicaOptions } from "./types.ts";

/** What every replica of `dep` starts with, on a cluster of `clusterCpus` logical CPUs. */
export function replicaOptions(
  dep: DeploymentConfig,
  model: PreparedModel,
  clusterCpus: number,
): ReplicaOptions {
  const uc = dep.user_config;
  return {
    model: model.replicaModel,
    backend: uc.backend,
    threads: sessionThreads(dep.ray_actor_options.num_cpus),
    maxImageBytes: uc.max_image_bytes,
    maxImagePixels: uc.max_image_pixels,
    imageFetchTimeoutMs: uc.image_fetch_timeout_s * 1000,
    allowedImageHosts: uc.allowed_image_hosts,
    batching: { maxBatchSize: dep.max_batch_size, batchWaitTimeoutS: dep.batch_wait_timeout_s },
    intraOpSpinning: intraOpSpinning(dep.ray_actor_options.num_cpus, {
      clusterCpus,
      machineCpus: machineCpuCount(),
    }),
    deployment: deploymentFacts(dep, clusterCpus),
  };
}

/** What `backend: auto` judges `dep`'s replica layouts on, on a cluster of `clusterCpus`. */
export function deploymentFacts(dep: DeploymentConfig, clusterCpus: number): DeploymentFacts {
  return {
    maxReplicas: dep.autoscaling_config?.max_replicas ?? dep.num_replicas ?? 1,
    numCpus: dep.ray_actor_options.num_cpus,
    clusterCpus,
    machineCpus: machineCpuCount(),
    maxBatchSize: dep.max_batch_size,
    maxOngoingRequests: dep.max_ongoing_requests,
  };
}

/** `/api/status`'s `backend_choice`, from the first replica that reported one. */
export function backendChoiceJson(
  replicas: readonly { loadTimings: object }[],
): Pick<ModelInfo, "backend_choice"> {
  const choice = replicas
    .map((r) => (r.loadTimings as { backendChoice?: BackendChoice }).backendChoice)
    .find((c) => c !== undefined);
  if (!choice) return {};
  return {
    backend_choice: {
      backend: choice.backend,
      source: choice.source,
      reason: choice.reason,
      batch: choice.batch,
      measured_at: choice.measuredAt,
      timings: choice.timings.map((t) => ({
        backend: t.backend,
        images_per_s: t.imagesPerS,
        p50_ms: t.p50Ms,
      })),
      ...(choice.layout ? layoutJson(choice.layout) : {}),
    },
  };
}

function layoutJson(
  layout: NonNullable<BackendChoice["layout"]>,
): Pick<NonNullable<ModelInfo["backend_choice"]>, "layouts" | "deployment"> {
  const f = layout.facts;
  return {
    layouts: layout.layouts.map((l) => ({
      backend: l.backend,
      scaling: l.scaling,
      replicas: l.replicas,
      batch: l.batch,
      per_replica_images_per_s: l.perReplicaImagesPerS,
      images_per_s: l.imagesPerS,
      ...(l.note ? { note: l.note } : {}),
    })),
    deployment: {
      max_replicas: f.maxReplicas,
      num_cpus: f.numCpus,
      cluster_cpus: f.clusterCpus,
      machine_cpus: f.machineCpus,
      max_batch_size: f.maxBatchSize,
      max_ongoing_requests: f.maxOngoingRequests,
      cpu_replicas: layout.cpuReplicas,
    },
  };
}
