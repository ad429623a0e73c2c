/**
 * The machine's CPUs as serving sees them: how many there are and how many inference threads a
 * replica gets. The cluster's logical-CPU accounting itself is shared with the simulator
 * (lib/fleet's {@linkcode Cluster}).
 *
 * @module
 */
export { Cluster } from "../fleet/mod.ts";

/** The machine's logical CPU count (at least 1). */
export function machineCpuCount(): number {
  return Math.max(1, navigator.hardwareConcurrency || 1);
}

/** Inference threads for a replica with `numCpus`: max(1, floor(numCpus)). */
export function sessionThreads(numCpus: number): number {
  return Math.max(1, Math.floor(numCpus));
}
