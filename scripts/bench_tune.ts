/**
 * `deno task bench-tune [--evaluations N] [--baseline N] [--budget N] [--skip-tune]`
 *
 * The tuner against issue 17's targets, printed as a table and written to
 * `results/tune_benchmark_<timestamp>.json` with `/proc/loadavg` at every step (the machine is
 * shared):
 *
 * 1. N (default 1,000) candidate evaluations, the tutorial shape, one seed each, on worker
 *    threads (one per core): target <= 60 s. The same candidates in-process (the first
 *    `--baseline`, default 150) give the per-evaluation cost without workers, so the speedup is a
 *    ratio measured in the same run.
 * 2. The whole tuning run on configs/basic.yaml, the tutorial shape, the ResNet-50 service-time
 *    model and `p99<500` (plus the default fail_ratio<0.01): the recommendation must cost less
 *    than every configs/*.yaml that meets the same SLOs on the same scenarios, or the tool says
 *    which of them is on the front.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { loadConfig, type ServeConfig } from "../lib/config/mod.ts";
import {
  BASE_PERTURBATION,
  comparisonRows,
  createEvaluator,
  defaultSearchSpace,
  type EvalJob,
  KNOB_NAMES,
  knobsAt,
  parseSlo,
  readTraffic,
  runTune,
  textTable,
  withKnobs,
} from "../lib/tune/mod.ts";
import { createRng } from "../lib/sim/mod.ts";
import process from "node:process";

const { values } = parseArgs({
  args: Deno.args.filter((a) => a !== "--"),
  options: {
    evaluations: { type: "string", default: "1000" },
    baseline: { type: "string", default: "150" },
    budget: { type: "string", default: "1000" },
    "skip-tune": { type: "boolean", default: false },
    help: { type: "boolean", short: "h" },
  },
});
if (values.help) {
  console.log(
    "usage: deno task bench-tune [--evaluations N] [--baseline N] [--budget N] [--skip-tune]\n" +
      "  --evaluations N  candidate evaluations on workers (default 1000; target <= 60 s)\n" +
      "  --baseline N     of them again in-process, for the speedup (default 150)\n" +
      "  --budget N       search budget of the full tuning run (default 1000)\n" +
      "  --skip-tune      only the evaluation-speed part",
  );
  Deno.exit(0);
}
const count = (flag: string, text: string) => {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) {
    console.error(`bench-tune: ${flag} must be an integer >= 1, got "${text}"`);
    Deno.exit(2);
  }
  return n;
};
const evaluations = count("--evaluations", values.evaluations);
const baselineCount = Math.min(evaluations, count("--baseline", values.baseline));
const budget = count("--budget", values.budget);

async function loadavg(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

const SHAPE = "configs/loadtest/tutorial.yaml";
const SERVICE_TIME = "resnet50";
const { config } = await loadConfig("configs/basic.yaml");
const shape = await readTraffic("shape", SHAPE);
const space = defaultSearchSpace();
const rng = createRng(1);
const jobs: EvalJob[] = Array.from({ length: evaluations }, (_, index) => ({
  index,
  config: withKnobs(config, knobsAt(space, KNOB_NAMES.map(() => rng.next()))),
  seed: 1,
  perturbation: BASE_PERTURBATION,
}));

async function timeRun(workers: number, batch: EvalJob[]) {
  const before = await loadavg();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  const evaluator = await createEvaluator({ shape, serviceTimeSpec: SERVICE_TIME }, { workers });
  const results = await evaluator.run(batch);
  evaluator.close();
  const wallS = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return {
    workers,
    evaluations: results.length,
    wallS,
    perEvalMs: (wallS * 1000) / results.length,
    // CPU seconds of all this process's threads per wall second: the cores it got.
    coresUsed: (cpu.user + cpu.system) / 1e6 / wallS,
    // Simulation time summed over jobs per wall second: how many ran at once.
    inFlight: results.reduce((sum, r) => sum + r.wallMs, 0) / 1000 / wallS,
    loadavgBefore: before,
    loadavgAfter: await loadavg(),
  };
}

const cores = navigator.hardwareConcurrency;
// In-process half before and half after the workers, so drifting load hits both alike.
const half = Math.ceil(baselineCount / 2);
console.error(`the first ${half} candidates in-process...`);
const serialA = await timeRun(0, jobs.slice(0, half));
console.error(`evaluating ${evaluations} candidates on ${cores} worker(s)...`);
const parallel = await timeRun(cores, jobs);
console.error(`the next ${baselineCount - half} in-process...`);
const serialB = await timeRun(0, jobs.slice(half, baselineCount));
const serialWallS = serialA.wallS + serialB.wallS;
const serialCpuS = serialA.coresUsed * serialA.wallS + serialB.coresUsed * serialB.wallS;
const serial = {
  workers: 0,
  evaluations: serialA.evaluations + serialB.evaluations,
  wallS: serialWallS,
  perEvalMs: (serialWallS * 1000) / (serialA.evaluations + serialB.evaluations),
  coresUsed: serialCpuS / serialWallS,
  inFlight: (serialA.inFlight * serialA.wallS + serialB.inFlight * serialB.wallS) / serialWallS,
  loadavgBefore: serialA.loadavgBefore,
  loadavgAfter: serialB.loadavgAfter,
};
const speedup = serial.perEvalMs / parallel.perEvalMs;
console.log(
  `\n1. Candidate evaluations (tutorial shape ${shape.durationS} s, ${SERVICE_TIME}, one seed each; ` +
    "wall time includes starting the workers)",
);
console.log(textTable(
  [
    "mode",
    "evaluations",
    "wall s",
    "ms/eval",
    "evals/s",
    "cores used",
    "sims in flight",
    "loadavg before",
    "loadavg after",
  ],
  [serial, parallel].map((r) => [
    r.workers === 0 ? "in-process" : `${r.workers} workers`,
    String(r.evaluations),
    r.wallS.toFixed(1),
    r.perEvalMs.toFixed(1),
    (r.evaluations / r.wallS).toFixed(1),
    r.coresUsed.toFixed(2),
    r.inFlight.toFixed(2),
    r.loadavgBefore,
    r.loadavgAfter,
  ]),
));
const evalTargetMet = parallel.wallS <= 60 * (evaluations / 1000);
console.log(
  `workers / in-process speed: ${speedup.toFixed(2)}x; ${evaluations} evaluations in ` +
    `${parallel.wallS.toFixed(1)} s (target <= ${(60 * evaluations / 1000).toFixed(0)} s): ` +
    `${evalTargetMet ? "met" : "NOT met"}`,
);

let tune: Record<string, unknown> | null = null;
if (!values["skip-tune"]) {
  const compare: ServeConfig[] = [];
  for await (const e of Deno.readDir("configs")) {
    if (e.isFile && /\.ya?ml$/.test(e.name)) {
      compare.push((await loadConfig(`configs/${e.name}`)).config);
    }
  }
  compare.sort((a, b) => (a.source_path ?? "").localeCompare(b.source_path ?? ""));
  const slos = [parseSlo("p99<500"), parseSlo("fail_ratio<0.01")];
  const before = await loadavg();
  console.error(
    `tuning (budget ${budget}, 3 seeds + 3 perturbations, ${compare.length} configs)...`,
  );
  const result = await runTune({
    config,
    shape,
    slos,
    space,
    serviceTimeSpec: SERVICE_TIME,
    budget,
    seeds: 3,
    seed: 1,
    compare,
  });
  const rows = comparisonRows(result);
  const rec = result.search.recommended;
  const recRh = rec === null ? null : result.search.scores[rec].replicaHours;
  const meeting = rows.filter((r) => r.meets);
  const notCheaper = meeting.filter((r) => recRh === null || recRh >= r.replicaHours);
  const met = rec !== null && notCheaper.length === 0;
  console.log(
    `\n2. Recommendation vs configs/*.yaml (p99<500, fail_ratio<0.01, ${result.scenarios.length} scenarios)`,
  );
  console.log(textTable(
    ["config", "replica-h", "worst p99 ms", "meets SLOs", "on front"],
    [
      ...rows.map((
        r,
      ) => [
        r.name,
        r.replicaHours.toFixed(3),
        r.primaryWorst.toFixed(0),
        r.meets ? "yes" : "no",
        r.onFront ? "yes" : "no",
      ]),
      [
        "(recommended)",
        recRh === null ? "-" : recRh.toFixed(3),
        rec === null ? "-" : result.search.scores[rec].primaryWorst.toFixed(0),
        rec === null ? "no" : "yes",
        "yes",
      ],
    ],
  ));
  console.log(
    rec === null
      ? "No recommendation: target NOT met."
      : met
      ? `The recommendation (${
        recRh!.toFixed(3)
      } replica-h) costs less than every config meeting the SLOs (${
        meeting.map((r) => r.name).join(", ") || "none"
      }): met.`
      : `Configs as cheap as the recommendation: ${
        notCheaper.map((r) => r.name).join(", ")
      }; on the front: ${rows.filter((r) => r.onFront).map((r) => r.name).join(", ") || "none"}.`,
  );
  console.log(
    `${result.evaluations} simulations in ${
      (result.wallMs / 1000).toFixed(1)
    } s; loadavg ${before} -> ${await loadavg()}`,
  );
  tune = {
    budget,
    evaluations: result.evaluations,
    wallS: result.wallMs / 1000,
    recommendedReplicaHours: recRh,
    recommendedKnobs: rec === null ? null : result.search.candidates[rec].knobs,
    comparison: rows,
    targetMet: met,
    configsOnFront: rows.filter((r) => r.onFront).map((r) => r.name),
    loadavgBefore: before,
  };
}

await Deno.mkdir("results", { recursive: true });
const path = `results/tune_benchmark_${new Date().toISOString().replace(/[:.]/g, "-")}.json`;
await Deno.writeTextFile(
  path,
  JSON.stringify(
    {
      cores,
      shape: SHAPE,
      serviceTime: SERVICE_TIME,
      parallel,
      serial,
      speedup,
      evalTargetMet,
      tune,
    },
    null,
    2,
  ) + "\n",
);
console.log(`\nwritten ${path}`);
