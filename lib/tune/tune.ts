/**
 * The tuning run: scenarios (K seeds of the traffic plus its perturbations), the search on worker
 * threads, the comparison with other configs on the same scenarios, and the sensitivity of cost
 * and the primary SLO metric to each knob around the recommendation.
 *
 * @module
 */
import type { ServeConfig } from "../config/mod.ts";
import type { LoadShape } from "../loadgen/mod.ts";
import type { EvalContext, EvalJob, EvalResult } from "./evaluate.ts";
import { createEvaluator, type Evaluator } from "./pool.ts";
import { type Outcome, type Scenario, type Score, scoreCandidate } from "./score.ts";
import { type EvalRequest, frontOf, recommend, search, type SearchResult } from "./search.ts";

/** Rounds of one-step polish after the search (each: ~2 x knobs x K + the promising x 3). */
const POLISH_ROUNDS = 3;
import type { Slo } from "./slo.ts";
import {
  KNOB_NAMES,
  type KnobName,
  type Knobs,
  knobsAt,
  knobsKey,
  knobsOf,
  knobUnit,
  knobValue,
  type SearchSpace,
  unitOf,
  withKnobs,
} from "./space.ts";
import { BASE_PERTURBATION, standardPerturbations } from "./traffic.ts";

/** Options of {@linkcode runTune}. */
export interface TuneOptions {
  /** The base config: everything but the knobs comes from it. */
  config: ServeConfig;
  /** The load to tune for. */
  shape: LoadShape;
  /** The SLOs the recommendation must meet (the first is the primary one). */
  slos: readonly Slo[];
  /** The knobs and their ranges to search. */
  space: SearchSpace;
  /** Service time spec for every simulation. */
  serviceTimeSpec: string;
  /** Replica startup-time spec (default: the simulator's). */
  startupTimeSpec?: string | null;
  /** Evaluations for the search (comparison and sensitivity come on top). */
  budget: number;
  /** Seeds of the base traffic each finalist is scored on (K). */
  seeds: number;
  /** Search seed; simulation seeds are seed .. seed + K - 1. */
  seed?: number;
  /** Configs to compare with (each gets the base config's model). */
  compare?: readonly ServeConfig[];
  /** Worker threads (default one per core; 0: in-process). */
  workers?: number;
  /** Leave out the sensitivity runs. */
  skipSensitivity?: boolean;
  /** Progress: (phase, done, total). */
  onProgress?: (phase: string, done: number, total: number) => void;
}

/** A compared config's result. */
export interface ComparedConfig {
  /** Its name (the file name without `.yaml`). */
  name: string;
  /** The config, with the base config's model. */
  config: ServeConfig;
  /** Its outcome per scenario, in scenario order. */
  outcomes: Outcome[];
  /** Its score over all scenarios. */
  score: Score;
}

/** One knob moved one step either way from the recommendation. */
export interface SensitivityRow {
  /** The knob moved. */
  knob: KnobName;
  /** The recommendation's value of the knob. */
  value: number;
  /** The neighbour's value. */
  moved: number;
  /** Mean replica-hours over the base seeds. */
  replicaHours: number;
  /** Worst primary SLO value over the base seeds. */
  primaryWorst: number;
  /** Every SLO held on every base seed. */
  meets: boolean;
}

/** What {@linkcode runTune} returns. */
export interface TuneResult {
  /** Every scenario finalists are scored on (base seeds first, then the perturbations). */
  scenarios: Scenario[];
  /** The search's candidates, scores, recommendation and front. */
  search: SearchResult;
  /** The compared configs' results. */
  compared: ComparedConfig[];
  /** Sensitivity of the recommendation (empty when skipped). */
  sensitivity: SensitivityRow[];
  /** Evaluations spent in all (search + comparison + sensitivity). */
  evaluations: number;
  /** Wall-clock time of the whole run, ms. */
  wallMs: number;
  /** Worker threads the simulations ran on (0: in-process). */
  workers: number;
}

/**
 * The scenarios: `seeds` (K) seeds of the base traffic from `seed` (default 1) on, then x0.8,
 * x1.2 and a spike on the first seed.
 */
export function buildScenarios(
  shape: LoadShape,
  options: { seeds: number; seed?: number },
): Scenario[] {
  const { seeds, seed = 1 } = options;
  const out: Scenario[] = [];
  for (let i = 0; i < seeds; i++) {
    out.push({
      name: `seed ${seed + i}`,
      seed: seed + i,
      perturbation: BASE_PERTURBATION,
      base: true,
    });
  }
  for (const p of standardPerturbations(shape)) {
    out.push({ name: p.name, seed, perturbation: p, base: false });
  }
  return out;
}

/** The config as compared: its knobs and settings, the base config's model. */
function withModelOf(config: ServeConfig, base: ServeConfig): ServeConfig {
  const out = structuredClone(config);
  const model = base.applications[0].deployments[0].user_config.model;
  for (const app of out.applications) {
    for (const dep of app.deployments) dep.user_config.model = structuredClone(model);
  }
  return out;
}

function configName(c: ServeConfig): string {
  const p = c.source_path ?? "config";
  return p.slice(p.lastIndexOf("/") + 1).replace(/\.ya?ml$/i, "");
}

async function runJobs(
  evaluator: Evaluator,
  jobs: EvalJob[],
  onDone?: (n: number) => void,
): Promise<Outcome[]> {
  const results: EvalResult[] = await evaluator.run(jobs, onDone);
  return results.map(({ index: _i, wallMs: _w, ...o }) => o);
}

/** Runs the search, the comparison and the sensitivity (see the module doc). */
export async function runTune(options: TuneOptions): Promise<TuneResult> {
  const t0 = performance.now();
  const seed = options.seed ?? 1;
  const scenarios = buildScenarios(options.shape, { seeds: options.seeds, seed });
  const context: EvalContext = {
    shape: options.shape,
    serviceTimeSpec: options.serviceTimeSpec,
    startupTimeSpec: options.startupTimeSpec ?? null,
  };
  const evaluator = await createEvaluator(context, { workers: options.workers });
  const progress = options.onProgress;
  const jobOf = (config: ServeConfig, scenario: Scenario, index: number): EvalJob => ({
    index,
    config,
    seed: scenario.seed,
    perturbation: scenario.perturbation,
  });
  const evaluate = (batch: readonly EvalRequest[], onDone?: (n: number) => void) =>
    runJobs(
      evaluator,
      batch.map((r, i) => jobOf(withKnobs(options.config, r.knobs), r.scenario, i)),
      onDone,
    );
  try {
    const found = await search({
      space: options.space,
      slos: options.slos,
      scenarios,
      budget: options.budget,
      seed,
      evaluate,
      // The base config's own knobs, brought inside the bounds (and pins).
      seeds: [knobsAt(options.space, unitOf(options.space, knobsOf(options.config)))],
      onProgress: (done, total) => progress?.("search", done, total),
    });
    let evaluations = found.spent;

    const compared: ComparedConfig[] = [];
    const others = (options.compare ?? []).map((c) => withModelOf(c, options.config));
    if (others.length > 0) {
      const jobs = others.flatMap((c, ci) =>
        scenarios.map((s, si) => jobOf(c, s, ci * scenarios.length + si))
      );
      const outcomes = await runJobs(
        evaluator,
        jobs,
        (n) => progress?.("compare", n, jobs.length),
      );
      evaluations += jobs.length;
      others.forEach((c, ci) => {
        const mine = outcomes.slice(ci * scenarios.length, (ci + 1) * scenarios.length);
        compared.push({
          name: configName(c),
          config: c,
          outcomes: mine,
          score: scoreCandidate({ outcomes: mine }, { scenarios, slos: options.slos }),
        });
      });
    }

    // Sensitivity, and polish: a one-step neighbour that is cheaper and holds on the base seeds
    // is scored on the perturbations too; a robust one becomes the recommendation, and the
    // sensitivity is taken again around it (at most POLISH_ROUNDS times).
    let sensitivity: SensitivityRow[] = [];
    const known = new Map(found.candidates.map((c, i) => [knobsKey(c.knobs), i]));
    const baseIdx = scenarios.flatMap((s, i) => (s.base ? [i] : []));
    const otherIdx = scenarios.flatMap((s, i) => (s.base ? [] : [i]));
    const fill = async (ids: number[], which: number[], phase: string) => {
      const todo = ids.flatMap((id) =>
        which.filter((si) => !found.candidates[id].outcomes[si]).map((si) => ({ id, si }))
      );
      const outcomes = await runJobs(
        evaluator,
        todo.map((t, i) =>
          jobOf(withKnobs(options.config, found.candidates[t.id].knobs), scenarios[t.si], i)
        ),
        (n) => progress?.(phase, n, todo.length),
      );
      todo.forEach((t, i) => (found.candidates[t.id].outcomes[t.si] = outcomes[i]));
      for (const id of new Set(ids)) {
        found.scores[id] = scoreCandidate(found.candidates[id], { scenarios, slos: options.slos });
      }
      evaluations += todo.length;
    };
    for (let round = 0; found.recommended !== null && !options.skipSensitivity; round++) {
      const recId: number = found.recommended;
      const rec = found.candidates[recId].knobs;
      const neighbours = sensitivityNeighbours(options.space, rec).map((n) => {
        const key = knobsKey(n.knobs);
        let id = known.get(key);
        if (id === undefined) {
          id = found.candidates.length;
          found.candidates.push({
            id,
            knobs: n.knobs,
            origin: "polish",
            outcomes: new Array(scenarios.length),
          });
          found.scores.push(
            scoreCandidate(found.candidates[id], { scenarios, slos: options.slos }),
          );
          known.set(key, id);
        }
        return { ...n, id };
      });
      await fill(neighbours.map((n) => n.id), baseIdx, "sensitivity");
      const baseScenarios = baseIdx.map((i) => scenarios[i]);
      sensitivity = neighbours.map((n) => {
        const c = found.candidates[n.id];
        const score = scoreCandidate(
          { outcomes: baseIdx.map((i) => c.outcomes[i]) },
          { scenarios: baseScenarios, slos: options.slos },
        );
        return {
          knob: n.knob,
          value: rec[n.knob],
          moved: n.knobs[n.knob],
          replicaHours: score.replicaHours,
          primaryWorst: score.primaryWorst,
          meets: score.robust,
        };
      });
      if (round >= POLISH_ROUNDS) break;
      const cheaper = neighbours.filter((_n, k) =>
        sensitivity[k].meets && sensitivity[k].replicaHours < found.scores[recId].replicaHours
      );
      if (cheaper.length === 0) break;
      await fill(cheaper.map((n) => n.id), otherIdx, "polish");
      found.recommended = recommend(found.scores);
      found.front = frontOf(found.scores);
      if (found.recommended === recId) break;
    }
    return {
      scenarios,
      search: found,
      compared,
      sensitivity,
      evaluations,
      wallMs: performance.now() - t0,
      workers: evaluator.workers,
    };
  } finally {
    evaluator.close();
  }
}

/**
 * Each unpinned knob moved one step down and up: an integer knob by 1, others by a tenth of their
 * axis (neighbours outside the bounds or equal to the start are left out).
 */
export function sensitivityNeighbours(
  space: SearchSpace,
  knobs: Knobs,
): { knob: KnobName; knobs: Knobs }[] {
  const out: { knob: KnobName; knobs: Knobs }[] = [];
  const seen = new Set([knobsKey(knobs)]);
  for (const knob of KNOB_NAMES) {
    const r = space[knob];
    if (r.pinned !== null) continue;
    for (const step of [-1, 1]) {
      let value: number;
      if (r.int && knobs[knob] >= 0) {
        value = knobs[knob] + step;
        if (value < r.min || value > r.max) continue;
      } else {
        const u = knobUnit(r, knobs[knob]) + step * 0.1;
        if (u < 0 || u > 1) continue;
        value = knobValue(r, u);
      }
      const moved = { ...knobs, [knob]: value };
      moved.max_replicas = Math.max(moved.max_replicas, moved.min_replicas, 1);
      const key = knobsKey(moved);
      if (seen.has(key)) continue;
      seen.add(key);
      out.push({ knob, knobs: moved });
    }
  }
  return out;
}
