/**
 * One evaluation: one config, one seed, one perturbation of the traffic, simulated by the
 * simulator's public `simulate()` (the real autoscaler in virtual time) and reduced to the figures
 * the tuner scores. Runs the same in a worker and in-process.
 *
 * @module
 */
import type { ServeConfig } from "../config/mod.ts";
import type { LoadShape } from "../loadgen/mod.ts";
import { type DurationModel, parseDurationSpec, simulate } from "../sim/mod.ts";
import type { ScenarioFigures } from "./slo.ts";
import { type Perturbation, perturbedLoad } from "./traffic.ts";

/** What every evaluation of a run shares (sent once to each worker). */
export interface EvalContext {
  /** The traffic. */
  shape: LoadShape;
  /** Service time spec (`parseDurationSpec` forms, e.g. `lognormal:45,80`). */
  serviceTimeSpec: string;
  /** Replica startup spec; default the simulator's (2 s for a model, 0.3 s for noop). */
  startupTimeSpec?: string | null;
}

/** One evaluation to run. */
export interface EvalJob {
  /** Position in the batch (results come back in this order). */
  index: number;
  /** The config to simulate (knobs already applied). */
  config: ServeConfig;
  /** Simulation seed. */
  seed: number;
  /** Change to the base traffic (load factor, spike). */
  perturbation: Perturbation;
}

/** The figures of one evaluation. */
export interface EvalResult extends ScenarioFigures {
  /** The job's position in the batch. */
  index: number;
  /** Requests recorded. */
  requests: number;
  /** Failed requests. */
  failures: number;
  /** Replicas holding CPUs integrated over the run, replica-hours. */
  replicaHours: number;
  /** Wall-clock ms of the simulation. */
  wallMs: number;
}

/** Duration models parsed once per context. */
export interface PreparedContext {
  /** The context the models were parsed from. */
  context: EvalContext;
  /** Parsed `serviceTimeSpec`. */
  serviceTime: DurationModel;
  /** Parsed `startupTimeSpec`; undefined when none was given (the simulator's default). */
  startupTime: DurationModel | undefined;
}

/** Parses the context's duration specs. */
export async function prepareContext(context: EvalContext): Promise<PreparedContext> {
  const serviceTime = await parseDurationSpec(context.serviceTimeSpec, {
    what: "--service-time",
  });
  const startupTime = context.startupTimeSpec
    ? await parseDurationSpec(context.startupTimeSpec, {
      what: "--startup-time",
      defaultUnit: "s",
    })
    : undefined;
  return { context, serviceTime, startupTime };
}

/** Simulates one job. */
export async function evaluateJob(prepared: PreparedContext, job: EvalJob): Promise<EvalResult> {
  const run = await simulate(job.config, {
    load: perturbedLoad(prepared.context.shape, job.perturbation),
    serviceTime: prepared.serviceTime,
    startupTime: prepared.startupTime,
    seed: job.seed,
  });
  const s = run.summary;
  const sent = s.requests + s.dropped;
  return {
    index: job.index,
    p50Ms: s.p50Ms,
    p90Ms: s.p90Ms,
    p99Ms: s.p99Ms,
    meanMs: s.meanMs,
    failRatio: sent > 0 ? (s.failures + s.dropped) / sent : 0,
    requests: s.requests,
    failures: s.failures + s.dropped,
    replicaHours: s.replicaHours,
    wallMs: run.wallMs,
  };
}
