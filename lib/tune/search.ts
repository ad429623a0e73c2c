/**
 * The search: a Latin-hypercube start scored on one scenario, then successive halving (the most
 * promising candidates are promoted to every seed and perturbation) alternating with local
 * refinement around the cheapest robust candidates and the front, with shrinking steps. Above
 * 1,000 evaluations the phases keep their sizes, so more budget runs the same search further. All
 * random choices come from one seeded stream and every decision waits for a whole batch, so the
 * same seed gives the same candidates whatever order the workers finish in.
 *
 * @module
 */
import { createRng, type Rng } from "../sim/mod.ts";
import {
  type Candidate,
  type Outcome,
  paretoFront,
  type Scenario,
  type Score,
  scoreCandidate,
} from "./score.ts";
import type { Slo } from "./slo.ts";
import { KNOB_NAMES, type Knobs, knobsAt, knobsKey, type SearchSpace, unitOf } from "./space.ts";

/** One evaluation the search asks for. */
export interface EvalRequest {
  /** Knob values to simulate. */
  knobs: Knobs;
  /** The scenario to simulate them on. */
  scenario: Scenario;
}

/** Runs a batch of requests; answers in request order. */
export type BatchEvaluator = (
  batch: readonly EvalRequest[],
  onDone?: (done: number) => void,
) => Promise<Outcome[]>;

/** Options of {@linkcode search}. */
export interface SearchOptions {
  /** The knobs and their ranges to search. */
  space: SearchSpace;
  /** The SLOs a candidate must meet (the first is the primary one). */
  slos: readonly Slo[];
  /** Scenario 0 is the one every candidate is first scored on. */
  scenarios: readonly Scenario[];
  /** Evaluations (simulations) to spend in all. */
  budget: number;
  /** Seed of the search's own random choices. */
  seed: number;
  /** Runs the simulations the search asks for. */
  evaluate: BatchEvaluator;
  /** Called after every finished evaluation: (spent so far, budget). */
  onProgress?: (spent: number, budget: number) => void;
  /** Extra starting points (e.g. the base config's knobs), scored first. */
  seeds?: readonly Knobs[];
}

/** What {@linkcode search} returns. */
export interface SearchResult {
  /** Every candidate created, by id. */
  candidates: Candidate[];
  /** The score of each candidate (same index). */
  scores: Score[];
  /** Evaluations spent (<= budget). */
  spent: number;
  /** Index into candidates of the cheapest robust one, or null. */
  recommended: number | null;
  /** Indices of the Pareto front (cost vs the primary SLO's worst value) of fully scored ones. */
  front: number[];
}

/** Share of the budget for the Latin-hypercube start. */
const EXPLORE_SHARE = 0.4;
/** Share of the first promotion (from the start) to all scenarios. */
const FIRST_PROMOTION_SHARE = 0.25;
/** Evaluations per refinement round, as a share of the budget. */
const ROUND_SHARE = 0.08;
/**
 * Budget from which the schedule stops growing: the start, the first promotion and each round
 * keep the sizes they have at this budget, so a larger budget runs the very same search further
 * (its candidates are a superset of a smaller one's, and its recommendation never costs more).
 * Below it, every phase shrinks with the budget.
 */
const SCHEDULE_BUDGET = 1000;

function latinHypercube(rng: Rng, n: number, dims: number): number[][] {
  const points = Array.from({ length: n }, () => new Array<number>(dims));
  for (let d = 0; d < dims; d++) {
    const perm = Array.from({ length: n }, (_, i) => i);
    for (let i = n - 1; i > 0; i--) {
      const j = rng.int(i + 1);
      [perm[i], perm[j]] = [perm[j], perm[i]];
    }
    for (let i = 0; i < n; i++) points[i][d] = (perm[i] + rng.next()) / n;
  }
  return points;
}

/** Ranks candidates scored on scenario 0 only: those meeting every SLO by cost, then near misses. */
function promotionOrder(pool: readonly number[], scores: readonly Score[]): number[] {
  const ok = pool.filter((i) => scores[i].worstRatio < 1);
  ok.sort((a, b) => scores[a].replicaHours - scores[b].replicaHours || a - b);
  const front = paretoFront(pool.map((i) => ({
    cost: scores[i].replicaHours,
    metric: scores[i].primaryWorst,
  }))).map((k) => pool[k]);
  // Interleave the cheapest passing ones with the front (cheap-but-slow to costly-but-fast).
  const out: number[] = [];
  const seen = new Set<number>();
  for (let k = 0; k < Math.max(ok.length, front.length); k++) {
    for (const i of [ok[k], front[k]]) {
      if (i !== undefined && !seen.has(i)) {
        seen.add(i);
        out.push(i);
      }
    }
  }
  const rest = pool.filter((i) => !seen.has(i));
  rest.sort((a, b) => scores[a].worstRatio - scores[b].worstRatio || a - b);
  return [...out, ...rest];
}

/** Runs the search (see the module doc). */
export async function search(options: SearchOptions): Promise<SearchResult> {
  const { space, slos, scenarios, budget, evaluate } = options;
  if (!(Number.isInteger(budget) && budget >= 1)) throw new Error("search: budget must be >= 1");
  const rng = createRng(options.seed);
  const scheduleBudget = Math.min(budget, SCHEDULE_BUDGET);
  const candidates: Candidate[] = [];
  const scores: Score[] = [];
  const byKey = new Map<string, number>();
  let spent = 0;
  const dims = KNOB_NAMES.length;

  const add = (knobs: Knobs, origin: string): number | null => {
    const key = knobsKey(knobs);
    if (byKey.has(key)) return null;
    const id = candidates.length;
    candidates.push({ id, knobs, origin, outcomes: new Array(scenarios.length) });
    scores.push(scoreCandidate(candidates[id], { scenarios, slos }));
    byKey.set(key, id);
    return id;
  };
  const rescore = (i: number) => (scores[i] = scoreCandidate(candidates[i], { scenarios, slos }));

  /** Runs the missing scenarios `which` of candidates `ids`, within the remaining budget. */
  const runScenarios = async (ids: readonly number[], which: readonly number[]) => {
    const requests: { id: number; s: number }[] = [];
    for (const id of ids) {
      const missing = which.filter((s) => candidates[id].outcomes[s] === undefined);
      if (spent + requests.length + missing.length > budget) break;
      for (const s of missing) requests.push({ id, s });
    }
    if (requests.length === 0) return 0;
    const base = spent;
    const outcomes = await evaluate(
      requests.map((r) => ({ knobs: candidates[r.id].knobs, scenario: scenarios[r.s] })),
      (done) => options.onProgress?.(base + done, budget),
    );
    for (const [k, r] of requests.entries()) candidates[r.id].outcomes[r.s] = outcomes[k];
    for (const id of new Set(requests.map((r) => r.id))) rescore(id);
    spent += requests.length;
    return requests.length;
  };
  const all = scenarios.map((_, i) => i);
  const rest = all.slice(1);
  const perFull = Math.max(1, rest.length);

  // 1. Start: the given seeds plus a Latin hypercube, each scored on scenario 0.
  const start: number[] = [];
  for (const k of options.seeds ?? []) {
    const id = add(k, "start");
    if (id !== null) start.push(id);
  }
  const nLhs = Math.max(4, Math.round(scheduleBudget * EXPLORE_SHARE) - start.length);
  for (const u of latinHypercube(rng, nLhs, dims)) {
    const id = add(knobsAt(space, u), "explore");
    if (id !== null) start.push(id);
  }
  await runScenarios(start, [0]);

  // 2. Promote the most promising to every scenario (successive halving's first rung).
  const promoteOf = (n: number) => Math.max(1, Math.floor(n / perFull));
  await runScenarios(
    promotionOrder(start, scores).slice(0, promoteOf(scheduleBudget * FIRST_PROMOTION_SHARE)),
    rest,
  );

  // 3. Refinement rounds: mutate the best, score the mutants on scenario 0, promote the best.
  let sigma = 0.12, stale = 0;
  while (spent < budget && stale < 3) {
    const before = spent;
    const roundBudget = Math.max(
      Math.min(budget - spent, 8),
      Math.round(scheduleBudget * ROUND_SHARE),
    );
    const parents = refinementParents(scores);
    if (parents.length === 0) break;
    const wanted = Math.max(1, Math.round(roundBudget * 0.5));
    const mutants: number[] = [];
    for (let tries = 0; mutants.length < wanted && tries < wanted * 5; tries++) {
      const parent = candidates[parents[tries % parents.length]];
      const u = unitOf(space, parent.knobs).map((x) =>
        rng.next() < 0.5 ? Math.min(1, Math.max(0, x + rng.normal() * sigma)) : x
      );
      const id = add(knobsAt(space, u), "refine");
      if (id !== null) mutants.push(id);
    }
    await runScenarios(mutants, [0]);
    const pool = candidates.filter((c) => c.outcomes[0] && !scores[c.id].full).map((c) => c.id);
    const left = Math.max(perFull, roundBudget - (spent - before));
    await runScenarios(promotionOrder(pool, scores).slice(0, promoteOf(left)), rest);
    stale = spent === before ? stale + 1 : 0;
    sigma = Math.max(0.02, sigma * 0.8);
  }
  return { candidates, scores, spent, recommended: recommend(scores), front: frontOf(scores) };
}

/**
 * Parents of a refinement round: the three cheapest robust candidates and the front; without a
 * robust one, the three fully scored (else any scored) candidates closest to meeting the SLOs.
 */
function refinementParents(scores: readonly Score[]): number[] {
  const ids = scores.map((_, i) => i);
  const robust = ids.filter((i) => scores[i].robust);
  robust.sort((a, b) => scores[a].replicaHours - scores[b].replicaHours || a - b);
  if (robust.length > 0) {
    return [...new Set([...robust.slice(0, 3), ...frontOf(scores).slice(0, 6)])];
  }
  const full = ids.filter((i) => scores[i].full);
  const pool = full.length > 0 ? full : ids.filter((i) => scores[i].scenariosRun > 0);
  pool.sort((a, b) => scores[a].worstRatio - scores[b].worstRatio || a - b);
  return pool.slice(0, 3);
}

/** The cheapest robust candidate (ties: the lower primary metric, then the earlier), or null. */
export function recommend(scores: readonly Score[]): number | null {
  let best: number | null = null;
  for (const [i, s] of scores.entries()) {
    if (!s.robust) continue;
    if (
      best === null || s.replicaHours < scores[best].replicaHours ||
      (s.replicaHours === scores[best].replicaHours && s.primaryWorst < scores[best].primaryWorst)
    ) best = i;
  }
  return best;
}

/**
 * The Pareto front (cost vs worst primary metric) of the fully scored candidates that meet every
 * other SLO everywhere.
 */
export function frontOf(scores: readonly Score[]): number[] {
  const full = scores.map((s, i) => ({ s, i })).filter((x) => x.s.othersMet);
  return paretoFront(full.map((x) => ({ cost: x.s.replicaHours, metric: x.s.primaryWorst })))
    .map((k) => full[k].i);
}
