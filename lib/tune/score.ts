/**
 * Scoring: a candidate's outcomes over scenarios (seeds x perturbations) reduced to its cost, its
 * worst SLO figures and whether it is robust (met every SLO on every scenario it was scored on,
 * and was scored on all of them); and the Pareto front of cost against the primary SLO metric.
 *
 * @module
 */
import type { Knobs } from "./space.ts";
import { meetsSlo, type ScenarioFigures, type Slo, sloRatio, sloValue } from "./slo.ts";
import type { Perturbation } from "./traffic.ts";

/** One simulated situation: a seed and a perturbation of the traffic. */
export interface Scenario {
  /** Label: `seed 3`, `x1.2`, `spike`. */
  name: string;
  /** Simulation seed. */
  seed: number;
  /** Change to the base traffic (load factor, spike). */
  perturbation: Perturbation;
  /** Base traffic (its replica-hours count towards the cost). */
  base: boolean;
}

/** The figures one evaluation returns. */
export interface Outcome extends ScenarioFigures {
  /** Replicas holding CPUs integrated over the run, replica-hours. */
  replicaHours: number;
  /** Requests recorded. */
  requests: number;
  /** Failed requests. */
  failures: number;
}

/** A candidate and what is known about it so far. */
export interface Candidate {
  /** Order of creation (stable across runs for a seed). */
  id: number;
  /** The candidate's knob values. */
  knobs: Knobs;
  /** Where it came from: `explore`, `refine`, or a config file name. */
  origin: string;
  /** Outcome per scenario index (sparse: only the scenarios run so far). */
  outcomes: (Outcome | undefined)[];
}

/** A candidate's score. */
export interface Score {
  /** Mean replica-hours over the base-traffic scenarios run. */
  replicaHours: number;
  /** Worst value of the primary (first) SLO's metric over the scenarios run. */
  primaryWorst: number;
  /** Largest value/limit over every SLO and scenario run (< 1: met everything run so far). */
  worstRatio: number;
  /** Scenarios run. */
  scenariosRun: number;
  /** Scenarios on which every SLO held. */
  scenariosMet: number;
  /** Run on every scenario. */
  full: boolean;
  /** Full and met every SLO on every scenario: may be recommended. */
  robust: boolean;
  /**
   * Full and met every SLO but the primary one on every scenario: may sit on the front (the
   * front trades cost against the primary metric only).
   */
  othersMet: boolean;
}

/** What a score is computed against. */
export interface ScoringContext {
  /** The scenario list (outcome i belongs to scenario i). */
  scenarios: readonly Scenario[];
  /** The SLOs (the first is the primary one). */
  slos: readonly Slo[];
}

/** Scores `c`'s outcomes against the context's SLOs. */
export function scoreCandidate(c: Pick<Candidate, "outcomes">, context: ScoringContext): Score {
  const { scenarios, slos } = context;
  let rhSum = 0, rhN = 0, primaryWorst = -Infinity, worstRatio = -Infinity;
  let run = 0, met = 0, othersMet = 0;
  for (const [i, o] of c.outcomes.entries()) {
    if (!o) continue;
    run++;
    if (scenarios[i].base) {
      rhSum += o.replicaHours;
      rhN++;
    }
    if (slos.every((s) => meetsSlo(s, o))) met++;
    if (slos.every((s, k) => k === 0 || meetsSlo(s, o))) othersMet++;
    if (slos.length > 0) primaryWorst = Math.max(primaryWorst, sloValue(slos[0], o));
    for (const s of slos) worstRatio = Math.max(worstRatio, sloRatio(s, o));
  }
  const full = run === scenarios.length;
  return {
    replicaHours: rhN > 0 ? rhSum / rhN : Infinity,
    primaryWorst: run > 0 ? primaryWorst : Infinity,
    worstRatio: run > 0 ? worstRatio : Infinity,
    scenariosRun: run,
    scenariosMet: met,
    full,
    robust: full && met === run,
    othersMet: full && othersMet === run,
  };
}

/** A point for the Pareto front: lower is better on both axes. */
export interface FrontPoint {
  /** Cost axis, e.g. replica-hours. */
  cost: number;
  /** Metric axis, e.g. the primary SLO's worst value. */
  metric: number;
}

/**
 * Indices of the non-dominated points (no other point is at most as costly and at most as slow
 * and better on one), sorted by cost. Of identical points the first is kept.
 */
export function paretoFront(points: readonly FrontPoint[]): number[] {
  const order = points.map((_, i) => i).filter((i) =>
    Number.isFinite(points[i].cost) && !Number.isNaN(points[i].metric)
  );
  order.sort((a, b) =>
    points[a].cost - points[b].cost || points[a].metric - points[b].metric || a - b
  );
  const front: number[] = [];
  let best = Infinity;
  for (const i of order) {
    if (points[i].metric < best) {
      front.push(i);
      best = points[i].metric;
    }
  }
  return front;
}
