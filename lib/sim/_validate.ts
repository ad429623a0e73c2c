/**
 * Checks a simulation's options and says which one is wrong.
 *
 * @module
 */
import type { SimEngineOptions } from "./engine_types.ts";

/** Throws a RangeError naming the first bad option. */
export function validateOptions(options: SimEngineOptions): void {
  const d = options.deployment;
  const bad = (what: string, value: unknown, want: string) => {
    throw new RangeError(`simulation option ${what} must be ${want}, got ${value}`);
  };
  if (!Number.isInteger(d.initialReplicas) || d.initialReplicas < 0) {
    bad("deployment.initialReplicas", d.initialReplicas, "an integer >= 0");
  }
  if (!Number.isInteger(d.maxOngoingRequests) || d.maxOngoingRequests < 1) {
    bad("deployment.maxOngoingRequests", d.maxOngoingRequests, "an integer >= 1");
  }
  if (
    d.maxQueuedRequests !== -1 &&
    !(Number.isInteger(d.maxQueuedRequests) && d.maxQueuedRequests >= 1)
  ) {
    bad("deployment.maxQueuedRequests", d.maxQueuedRequests, "-1 or an integer >= 1");
  }
  if (!(d.numCpusPerReplica >= 0)) bad("deployment.numCpusPerReplica", d.numCpusPerReplica, ">= 0");
  if (d.requestTimeoutS !== null && !(d.requestTimeoutS > 0)) {
    bad("deployment.requestTimeoutS", d.requestTimeoutS, "null or > 0");
  }
  const c = options.replicaConcurrency;
  if (c !== undefined && !(Number.isInteger(c) && c >= 1)) {
    bad("replicaConcurrency", c, "an integer >= 1");
  }
  const mcs = options.maxConcurrentStarts;
  if (mcs !== undefined && !(Number.isInteger(mcs) && mcs >= 1) && mcs !== Infinity) {
    bad("maxConcurrentStarts", mcs, "an integer >= 1");
  }
  const m = options.machineCores;
  if (m !== undefined && m !== null && !(m > 0)) bad("machineCores", m, "null or > 0");
  if (options.clusterCpus !== undefined && !(options.clusterCpus >= 0)) {
    bad("clusterCpus", options.clusterCpus, ">= 0");
  }
  const cs = options.controllerStartMs;
  if (cs !== undefined && !(cs >= 0 && Number.isFinite(cs))) {
    bad("controllerStartMs", cs, ">= 0 ms");
  }
  const load = options.load;
  if (!(load.durationS >= 0)) bad("load.durationS", load.durationS, ">= 0");
  if (load.kind === "closed") {
    let prev = -Infinity;
    for (const [i, t] of load.changeTimesS.entries()) {
      if (!(t >= prev)) bad(`load.changeTimesS[${i}]`, t, `>= the previous time (${prev} s)`);
      prev = t;
    }
  } else if (!load.arrivalTimeS && !load.poissonStages) {
    bad("load", "an open loop without arrivals", "given arrivalTimeS or poissonStages");
  }
}
