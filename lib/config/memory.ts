/**
 * Peak memory estimate of a deployment: `max_replicas` (or `num_replicas`) x the resident memory
 * one replica of its model adds, against the machine's memory — the tutorial's "out of memory"
 * troubleshooting item, checked before anything starts (`deno task config`, deploy's start-up).
 *
 * @module
 */
import type { DeploymentConfig, ModelSpec } from "./types.ts";

/**
 * Resident memory one replica adds, in MB, by model: (process RSS with 4 replicas - with 1) / 3,
 * measured with `startServe` on the 2-core development machine (Deno 2.9.6, native backend):
 * ResNet-50 858.9 - 360.1 MB -> 166 MB per replica (a native session: weights, optimized graph,
 * arena), the no-op model 112.4 - 76.6 MB -> 12 MB (a bare worker); rounded up. Notebook 07
 * re-measures the ResNet-50 figure on the machine it runs on.
 */
export const REPLICA_RSS_MB = { resnet50: 170, worker: 15 } as const;

/** What {@link estimatePeakMemory} found. */
export interface MemoryEstimate {
  /** Replicas the deployment may run at most (`max_replicas`, else `num_replicas`). */
  replicas: number;
  /** The field that sets it: `max_replicas` or `num_replicas`. */
  replicasField: "max_replicas" | "num_replicas";
  /** Resident memory per replica, MB, and where that figure comes from. */
  perReplicaMb: number;
  /** Where `perReplicaMb` comes from, for messages (the built-in figure's source, or the caller's). */
  perReplicaSource: string;
  /** `replicas x perReplicaMb`, MB. */
  peakMb: number;
  /** The machine's memory, MB, or null when unknown. */
  machineMb: number | null;
  /** True when the peak exceeds the machine's memory. */
  exceeds: boolean;
}

/** Per-replica resident memory of a model spec, MB, with its source. */
export function replicaRssMb(
  spec: ModelSpec,
  options: { modelFileBytes?: number | null } = {},
): { mb: number; source: string } {
  switch (spec.kind) {
    case "resnet50":
      return { mb: REPLICA_RSS_MB.resnet50, source: "ResNet-50, measured" };
    case "noop":
    case "emulate":
      return { mb: REPLICA_RSS_MB.worker, source: `${spec.kind} model (a worker, no weights)` };
    case "path":
    case "url": {
      const bytes = options.modelFileBytes;
      if (bytes === null || bytes === undefined) {
        return { mb: REPLICA_RSS_MB.resnet50, source: "unknown model size, ResNet-50's figure" };
      }
      // An ONNX session holds about 2.5x its file (weights plus optimized copy and arena).
      const mb = Math.round(REPLICA_RSS_MB.worker + 2.5 * bytes / 2 ** 20);
      return { mb, source: `2.5 x the ${(bytes / 2 ** 20).toFixed(0)} MB model file + a worker` };
    }
  }
}

/** The machine's memory in MB (`/proc/meminfo`, else `Deno.systemMemoryInfo`), or null. */
export function machineMemoryMb(): number | null {
  try {
    const m = /MemTotal:\s+(\d+) kB/.exec(Deno.readTextFileSync("/proc/meminfo"));
    if (m) return Number(m[1]) / 1024;
  } catch { /* not Linux, or no read permission */ }
  try {
    return Deno.systemMemoryInfo().total / 2 ** 20;
  } catch {
    return null;
  }
}

/**
 * Estimates a deployment's peak memory. `machineMb` defaults to {@link machineMemoryMb};
 * `perReplicaMb` overrides the per-replica figure (e.g. one just measured).
 */
export function estimatePeakMemory(
  dep: DeploymentConfig,
  options: {
    machineMb?: number | null;
    perReplicaMb?: number;
    perReplicaSource?: string;
    modelFileBytes?: number | null;
  } = {},
): MemoryEstimate {
  const auto = dep.autoscaling_config;
  const replicas = auto ? auto.max_replicas : dep.num_replicas ?? 1;
  const known = replicaRssMb(dep.user_config.model, { modelFileBytes: options.modelFileBytes });
  const perReplicaMb = options.perReplicaMb ?? known.mb;
  const machineMb = options.machineMb === undefined ? machineMemoryMb() : options.machineMb;
  const peakMb = replicas * perReplicaMb;
  return {
    replicas,
    replicasField: auto ? "max_replicas" : "num_replicas",
    perReplicaMb,
    perReplicaSource: options.perReplicaSource ?? known.source,
    peakMb,
    machineMb,
    exceeds: machineMb !== null && peakMb > machineMb,
  };
}

function gb(mb: number): string {
  return mb >= 1024 ? `${(mb / 1024).toFixed(1)} GB` : `${mb.toFixed(0)} MB`;
}

/** One line: `peak memory estimate: max_replicas 100 x ~260 MB per replica (...) = 25.4 GB; ...`. */
export function formatMemoryEstimate(e: MemoryEstimate): string {
  return `peak memory estimate: ${e.replicasField} ${e.replicas} x ~${
    e.perReplicaMb.toFixed(0)
  } MB per replica (${e.perReplicaSource}) = ${gb(e.peakMb)}; this machine has ${
    e.machineMb === null ? "an unknown amount of memory" : gb(e.machineMb)
  }`;
}

/** The warning when the estimate exceeds the machine's memory, naming the field to lower; else null. */
export function memoryWarning(e: MemoryEstimate): string | null {
  if (!e.exceeds || e.machineMb === null) return null;
  const fits = Math.max(1, Math.floor(e.machineMb / e.perReplicaMb));
  return `${e.replicasField} ${e.replicas} could use ${gb(e.peakMb)}, more than this machine's ${
    gb(e.machineMb)
  }: scaling that far would run out of memory. Lower ${e.replicasField} to ${fits} or less, or give the cluster fewer CPUs (--num-cpus) so fewer replicas can run at once.`;
}
