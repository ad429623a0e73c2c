/**
 * `deno task fidelity [--case default|tutorial|all] [--config FILE] [--shape FILE]
 *   [--time-scale F] [--wait-time W] [--num-cpus N] [--seed N] [--out-dir DIR]
 *   [--startup-time SPEC] [--overhead measure|file|builtin|none] [--strict]`
 *
 * How close is the simulator to the real thing? For each case it deploys the real service
 * (`scripts/deploy.ts`), runs the real load test of a shape against it (lib/loadgen's runner),
 * then simulates the same config, shape, wait time and CPU count, and scores the pair
 * (lib/sim's `scoreFidelity`): running replicas within 1 (share of seconds), p50 and p99 error,
 * peak running replicas and request counts.
 *
 * - `default`: `--config` (default configs/dev_fast.yaml, a `noop:<ms>` model), a built-in 90 s
 *   spike of 4 -> 40 (at once) -> 4 users, 4 CPUs. Targets: within 1 >= 95 %, p50 <= 10 %, p99 <= 25 %.
 * - `tutorial`: the tutorial's shape (configs/loadtest/tutorial.yaml) at time scale 0.2 with no
 *   wait between requests, configs/basic.yaml served by the emulated model
 *   `emulate:lognormal:45,80` (real HTTP, router, workers and autoscaler; replicas hold each
 *   request for a drawn ResNet-50-like time) on 32 logical CPUs, so up to ~20 replicas run.
 *   Targets: within 1 >= 85 %, max running within 2, p50 <= 15 %, p99 <= 30 %.
 *
 * The simulation adds the service's per-request overhead (time outside the replica: HTTP, event
 * loops, the load generator). `--overhead measure` (default) measures it first at the default
 * case's peak users against its no-op service with the replica count fixed at its maximum (no
 * autoscaling, so no start stalls it), each answer's latency minus its router-queue time and the
 * service time (lib/sim's `measureRequestOverhead`), and keeps it in
 * results/request_overhead.json for later simulations; `file` reads that file, `builtin`
 * uses the built-in figures, `none` adds nothing. Replica startup is measured from the real
 * run's `/api/status` unless `--startup-time` is given. Files go to `--out-dir` (default
 * results/fidelity_<timestamp>/), one folder per case, plus fidelity.json.
 *
 * @module
 */
import { type Cli, cli } from "../lib/cli/mod.ts";
import { ConfigError, loadConfig, type ServeConfig } from "../lib/config/mod.ts";
import {
  imageRequest,
  type LoadShape,
  loadShape,
  parseShape,
  parseWaitTime,
  runLoadTest,
  scaleShape,
  stageRows,
  type WaitTime,
} from "../lib/loadgen/mod.ts";
import {
  BUILT_IN_REQUEST_OVERHEAD,
  controlLoopPhaseOf,
  DEFAULT_FIDELITY_TARGETS,
  type DurationModel,
  type FidelityRun,
  type FidelityScore,
  type FidelityTargets,
  fixedDuration,
  loadFromShape,
  type MeasuredOverhead,
  measureRequestOverhead,
  medianRun,
  overheadModel,
  parseDurationSpec,
  pinnedReplicasConfig,
  REQUEST_OVERHEAD_FILE,
  requestOverheadModel,
  runningBySecond,
  scoreFidelity,
  servedDeployment,
  simulate,
  TINY_PNG,
  TUTORIAL_FIDELITY_TARGETS,
} from "../lib/sim/mod.ts";
import { median } from "../lib/duration/mod.ts";
import { startRealService } from "./_fidelity_server.ts";

const DEFAULT_SHAPE = `name: fidelity-spike
description: 4 users, 40 at once for 40 s, back to 4 (90 s); short waits so 20 ms requests move replicas.
wait_time: between(0.05, 0.15)
stages:
  - { name: base, duration: 20s, users: 4, spawn_rate: 4 }
  - { name: spike, duration: 40s, users: 40, spawn_rate: 40 }
  - { name: after, duration: 30s, users: 4, spawn_rate: 40 }
`;

const TUTORIAL = {
  config: "configs/basic.yaml",
  model: "emulate:lognormal:45,80",
  shape: "configs/loadtest/tutorial.yaml",
  timeScale: 0.2,
  waitTime: "constant(0)",
  numCpus: 32,
};

const USAGE = `usage: deno task fidelity [options]

  --case C             default | tutorial | all (default all)
  --config FILE        default case: serve config with a noop:<ms> model (configs/dev_fast.yaml)
  --shape FILE         default case: load shape (built-in 90 s spike of 4 -> 40 -> 4 users)
  --time-scale F       default case: compress/stretch the shape
  --wait-time W        default case: override the shape's wait time
  --num-cpus N         default case: cluster CPUs, server and simulation (default 4)
  --seed N             first simulation seed (default 1)
  --sim-seeds K        simulations per case, seeds N..N+K-1, scored by their median (default 11)
  --startup-time SPEC  replica startup in the simulations (default: measured from the real runs)
  --overhead MODE      measure | file | builtin | none (default measure; see the module doc)
  --out-dir DIR        default results/fidelity_<timestamp>
  --strict             exit 1 when a case misses a target
  -h, --help           this text`;

/** Length of the overhead measurement, seconds. */
const OVERHEAD_DURATION_S = 30;

const c: Cli = cli("fidelity", USAGE);
const fail: Cli["fail"] = c.fail;

const { values } = c.parse({
  case: { type: "string", default: "all" },
  config: { type: "string", default: "configs/dev_fast.yaml" },
  shape: { type: "string" },
  "time-scale": { type: "string" },
  "wait-time": { type: "string" },
  "num-cpus": { type: "string", default: "4" },
  seed: { type: "string", default: "1" },
  "sim-seeds": { type: "string", default: "11" },
  "startup-time": { type: "string" },
  overhead: { type: "string", default: "measure" },
  "out-dir": { type: "string" },
  strict: { type: "boolean", default: false },
});

const caseNames = values.case === "all" ? ["default", "tutorial"] : [values.case!];
if (!caseNames.every((name) => name === "default" || name === "tutorial")) {
  c.usageError(`--case must be default, tutorial or all, got "${values.case}"`);
}
const overheadMode = values.overhead!;
if (!["measure", "file", "builtin", "none"].includes(overheadMode)) {
  c.usageError(`--overhead must be measure, file, builtin or none, got "${overheadMode}"`);
}
const numCpus = c.number("num-cpus", values["num-cpus"], { above: 0 })!;
const seed = c.number("seed", values.seed, { integer: true })!;
const simSeeds = c.number("sim-seeds", values["sim-seeds"], { integer: true, above: 0 })!;
const timeScale = c.number("time-scale", values["time-scale"], { above: 0 }) ?? 1;

async function readConfig(path: string): Promise<ServeConfig> {
  try {
    return (await loadConfig(path)).config;
  } catch (error) {
    fail(error instanceof ConfigError ? error.message : (error as Error).message);
  }
}

async function attempt<T>(what: () => Promise<T> | T): Promise<T> {
  try {
    return await what();
  } catch (error) {
    fail((error as Error).message);
  }
}

let fixedStartup: DurationModel | null = null;
if (values["startup-time"] !== undefined) {
  fixedStartup = await attempt(() =>
    parseDurationSpec(values["startup-time"]!, { defaultUnit: "s", what: "--startup-time" })
  );
}

/** One comparison: a config served one way, a shape, a CPU count and targets. */
interface FidelityCase {
  name: string;
  configPath: string;
  config: ServeConfig;
  /** `--model` for deploy (the config's own model when null). */
  modelOverride: string | null;
  shape: LoadShape;
  waitTime: WaitTime | undefined;
  numCpus: number;
  serviceTime: DurationModel;
  targets: FidelityTargets;
}

async function defaultCase(): Promise<FidelityCase> {
  const config = await readConfig(values.config!);
  const model = servedDeployment(config).user_config.model;
  if (model.kind !== "noop") {
    fail(
      `${values.config}: the default case needs a noop:<ms> model (fixed service time), got ${model.kind}; try configs/dev_fast.yaml`,
    );
  }
  const shape = await attempt(async () =>
    values.shape ? await loadShape(values.shape, { timeScale }) : scaleShape(
      parseShape(DEFAULT_SHAPE, { sourcePath: "<built-in fidelity shape>" }),
      timeScale,
    )
  );
  const waitTime = values["wait-time"] === undefined
    ? undefined
    : await attempt(() => parseWaitTime(values["wait-time"]!, "--wait-time"));
  return {
    name: "default",
    configPath: values.config!,
    config,
    modelOverride: null,
    shape,
    waitTime,
    numCpus,
    serviceTime: fixedDuration(model.service_time_ms),
    targets: DEFAULT_FIDELITY_TARGETS,
  };
}

async function tutorialCase(): Promise<FidelityCase> {
  const config = await readConfig(TUTORIAL.config);
  return {
    name: "tutorial",
    configPath: TUTORIAL.config,
    config,
    modelOverride: TUTORIAL.model,
    shape: await attempt(() => loadShape(TUTORIAL.shape, { timeScale: TUTORIAL.timeScale })),
    waitTime: await attempt(() => parseWaitTime(TUTORIAL.waitTime, "tutorial wait time")),
    numCpus: TUTORIAL.numCpus,
    serviceTime: await attempt(() =>
      parseDurationSpec(TUTORIAL.model.slice("emulate:".length), { what: "tutorial model" })
    ),
    targets: TUTORIAL_FIDELITY_TARGETS,
  };
}

const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const outDir = (values["out-dir"] ?? `results/fidelity_${stamp}`).replace(/\/+$/, "");
await Deno.mkdir(outDir, { recursive: true });

let overhead: { model: DurationModel | null; measured: MeasuredOverhead | null; how: string } = {
  model: null,
  measured: null,
  how: "none",
};
if (overheadMode === "builtin") {
  overhead = {
    model: overheadModel(BUILT_IN_REQUEST_OVERHEAD),
    measured: BUILT_IN_REQUEST_OVERHEAD,
    how: "built-in",
  };
} else if (
  overheadMode === "file" || (overheadMode === "measure" && !caseNames.includes("default"))
) {
  const o = await requestOverheadModel();
  overhead = {
    model: o.model,
    measured: o.measured,
    how: o.fromFile ? REQUEST_OVERHEAD_FILE : "built-in (no measurement on file)",
  };
}

interface CaseReport {
  name: string;
  config: string;
  model: string;
  shape: string;
  durationS: number;
  numCpus: number;
  startup: { used: string; measuredMs: number[] };
  real: { requests: number; failures: number; p50Ms: number | null; p99Ms: number | null };
  /** The median over the seeds' simulations, and each seed's figures. */
  sim: {
    requests: number;
    failures: number;
    p50Ms: number | null;
    p99Ms: number | null;
    p99RangeMs: [number, number] | null;
    /** The real run's control-loop phase the simulations used, ms (null: none measured). */
    controlLoopStartMs: number | null;
    seeds: {
      seed: number;
      requests: number;
      failures: number;
      p50Ms: number | null;
      p99Ms: number | null;
      maxRunning: number;
    }[];
  };
  score: FidelityScore;
  targets: FidelityTargets;
}

/**
 * Measures the per-request overhead at the load `c` peaks at: its peak users against its config
 * with the replica count fixed at its maximum (no autoscaling, so no replica start stalls the
 * measurement), in a service of its own (files in `<dir>/overhead/`). Kept in
 * results/request_overhead.json for later simulations.
 */
async function measureOverheadFor(
  c: FidelityCase,
  dir: string,
): Promise<{ model: DurationModel; measured: MeasuredOverhead; how: string }> {
  const dep = servedDeployment(c.config);
  const replicas = dep.autoscaling_config?.max_replicas ?? dep.num_replicas ?? 1;
  const users = Math.max(...c.shape.stages.map((s) => s.users));
  const overheadDir = `${dir}/overhead`;
  await Deno.mkdir(overheadDir, { recursive: true });
  const configPath = `${overheadDir}/pinned_config.yaml`;
  await Deno.writeTextFile(
    configPath,
    await attempt(async () =>
      pinnedReplicasConfig(await Deno.readTextFile(c.configPath), replicas)
    ),
  );
  const server = await startRealService({
    configPath,
    numCpus: c.numCpus,
    model: c.modelOverride,
    dir: overheadDir,
  }).catch((error) => fail(`overhead: ${(error as Error).message}`));
  let measured: MeasuredOverhead;
  try {
    await server.settle(replicas, 60_000);
    console.error(
      `fidelity: measuring the per-request overhead (${users} users, ${replicas} fixed replicas, ` +
        `${OVERHEAD_DURATION_S} s)...`,
    );
    measured = await measureRequestOverhead(server.url, {
      serviceTimeMs: (dep.user_config.model as { service_time_ms: number }).service_time_ms,
      users,
      durationS: OVERHEAD_DURATION_S,
      waitTime: c.waitTime ?? c.shape.waitTime ?? undefined,
      seed,
    });
  } catch (error) {
    await server.stop();
    fail(
      `overhead measurement failed: ${(error as Error).message} (see ${overheadDir}/server.log)`,
    );
  }
  await server.stop();
  measured.method += `, ${replicas} fixed replicas, ${c.numCpus} CPUs`;
  const text = JSON.stringify(measured, null, 2) + "\n";
  await Deno.writeTextFile(`${dir}/request_overhead.json`, text);
  await Deno.mkdir("results", { recursive: true });
  await Deno.writeTextFile(REQUEST_OVERHEAD_FILE, text);
  return { model: overheadModel(measured), measured, how: `measured (${dir})` };
}

async function runCase(c: FidelityCase): Promise<CaseReport> {
  const dir = `${outDir}/${c.name}`;
  await Deno.mkdir(dir, { recursive: true });
  if (c.name === "default" && overheadMode === "measure") {
    overhead = await measureOverheadFor(c, dir);
  }
  const server = await startRealService({
    configPath: c.configPath,
    numCpus: c.numCpus,
    model: c.modelOverride,
    dir,
  }).catch((error) => fail(`${c.name}: ${(error as Error).message}`));
  let real;
  try {
    console.error(
      `fidelity: ${c.name}: real load test of ${c.shape.name} (${c.shape.durationS} s)...`,
    );
    let lastLine = 0;
    real = await runLoadTest({
      host: server.url,
      shape: c.shape,
      request: imageRequest({ bytes: TINY_PNG, mime: "image/png" }),
      waitTime: c.waitTime,
      csvPrefix: `${dir}/real`,
      random: (() => {
        let s = seed >>> 0;
        return () => {
          s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
          return s / 4294967296;
        };
      })(),
      onSecond: (r) => {
        if (Date.now() - lastLine < 5000) return;
        lastLine = Date.now();
        console.error(
          `fidelity: ${c.name}: ${r.elapsedS.toFixed(0)}/${r.durationS} s, ${r.users} users, ` +
            `${r.requests} req/s, running ${r.replicas?.runningReplicas ?? "?"}`,
        );
      },
    });
  } catch (error) {
    await server.stop();
    fail(`${c.name}: real run failed: ${(error as Error).message} (see ${dir}/server.log)`);
  }
  const measuredStartup = await server.stop();

  const startupTime = fixedStartup ??
    fixedDuration(
      measuredStartup.length > 0 ? measuredStartup[Math.floor(measuredStartup.length / 2)] : 500,
    );
  // The real control loop ran from the deploy, so its metric samples met the load at a phase
  // of their own; the simulations sample at that phase (seeds still draw everything else).
  const loopStartMs = await server.controlLoopStartMs();
  const autoscaling = servedDeployment(c.config).autoscaling_config;
  const controlLoopStartMs = loopStartMs === null || autoscaling === null
    ? undefined
    : controlLoopPhaseOf(loopStartMs, real.startS * 1000, autoscaling.metrics_interval_s);
  const simRuns: FidelityRun[] = [];
  const seedReports: CaseReport["sim"]["seeds"] = [];
  for (let k = 0; k < simSeeds; k++) {
    const s = seed + k;
    const sim = await simulate(c.config, {
      name: "sim",
      load: loadFromShape(c.shape, { waitTime: c.waitTime ?? null }),
      stages: stageRows(c.shape),
      serviceTime: c.serviceTime,
      startupTime,
      requestOverhead: overhead.model,
      requestOverheadInSlotShare: overhead.measured?.inSlotShare ?? 0,
      clusterCpus: c.numCpus,
      // The serving pool starts at most one replica per machine CPU at a time.
      maxConcurrentStarts: navigator.hardwareConcurrency,
      controlLoopStartMs,
      seed: s,
      // The first seed's files, for plots; the others are scored from memory.
      outPrefix: k === 0 ? `${dir}/sim` : undefined,
    });
    const running = new Map(sim.seconds.map((x) => [x.second, x.running]));
    simRuns.push({
      running,
      p50Ms: sim.summary.p50Ms,
      p99Ms: sim.summary.p99Ms,
      requests: sim.summary.requests,
    });
    seedReports.push({
      seed: s,
      requests: sim.summary.requests,
      failures: sim.summary.failures,
      p50Ms: sim.summary.p50Ms,
      p99Ms: sim.summary.p99Ms,
      maxRunning: Math.max(0, ...running.values()),
    });
  }
  const typical = medianRun(simRuns);
  const [realP50, realP99] = real.stats.total.histogram.percentilesMs([50, 99]);
  const score = scoreFidelity(
    {
      running: runningBySecond(
        await Deno.readTextFile(`${dir}/real_replicas.csv`),
        `${dir}/real_replicas.csv`,
      ),
      p50Ms: realP50,
      p99Ms: realP99,
      requests: real.stats.total.numRequests,
    },
    typical,
    c.targets,
  );
  const simP99s = simRuns.map((r) => r.p99Ms).filter((x): x is number => x !== null);
  return {
    name: c.name,
    config: c.configPath,
    model: c.modelOverride ?? "config's own",
    shape: c.shape.name,
    durationS: c.shape.durationS,
    numCpus: c.numCpus,
    startup: { used: startupTime.description, measuredMs: measuredStartup },
    real: {
      requests: real.stats.total.numRequests,
      failures: real.stats.total.numFailures,
      p50Ms: realP50,
      p99Ms: realP99,
    },
    sim: {
      requests: typical.requests,
      failures: median(seedReports.map((r) => r.failures))!,
      p50Ms: typical.p50Ms,
      p99Ms: typical.p99Ms,
      p99RangeMs: simP99s.length > 0 ? [Math.min(...simP99s), Math.max(...simP99s)] : null,
      controlLoopStartMs: controlLoopStartMs ?? null,
      seeds: seedReports,
    },
    score,
    targets: c.targets,
  };
}

const reports: CaseReport[] = [];
for (const name of caseNames) {
  reports.push(await runCase(name === "default" ? await defaultCase() : await tutorialCase()));
}
const loadavg = Deno.loadavg();
await Deno.writeTextFile(
  `${outDir}/fidelity.json`,
  JSON.stringify(
    {
      timestamp: new Date().toISOString(),
      seed,
      loadavg,
      overhead: { how: overhead.how, measured: overhead.measured },
      cases: reports,
    },
    null,
    2,
  ) + "\n",
);

const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);
const ms = (x: number | null) => (x === null ? "-" : x.toFixed(1));
const col = (x: unknown) => String(x).padStart(10);
console.log(
  `fidelity: seeds ${seed}-${
    seed + simSeeds - 1
  } (sim = their median), overhead ${overhead.how}; load average ${loadavg.join(" ")}`,
);
for (const r of reports) {
  const s = r.score;
  console.log("");
  console.log(
    `case ${r.name}: ${r.config} (model ${r.model}), shape ${r.shape} (${r.durationS} s), ` +
      `${r.numCpus} CPUs, startup ${r.startup.used}`,
  );
  console.log(`                      real       sim     error`);
  console.log(`requests        ${col(r.real.requests)}${col(r.sim.requests)}`);
  console.log(`failures        ${col(r.real.failures)}${col(r.sim.failures)}`);
  console.log(
    `p50 ms          ${col(ms(r.real.p50Ms))}${col(ms(r.sim.p50Ms))}${col(pct(s.p50RelError))}` +
      `  (target <= ${pct(r.targets.p50RelErrorMax)})`,
  );
  console.log(
    `p99 ms          ${col(ms(r.real.p99Ms))}${col(ms(r.sim.p99Ms))}${col(pct(s.p99RelError))}` +
      (r.targets.p99RelErrorMax === null ? "" : `  (target <= ${pct(r.targets.p99RelErrorMax)})`),
  );
  if (r.sim.p99RangeMs !== null) {
    const [lo, hi] = r.sim.p99RangeMs;
    const inside = r.real.p99Ms !== null && r.real.p99Ms >= lo && r.real.p99Ms <= hi;
    console.log(
      `sim p99 over ${r.sim.seeds.length} seeds: ${ms(lo)}-${ms(hi)} ms (real ${
        inside ? "inside" : "outside"
      }); control loop at +${r.sim.controlLoopStartMs ?? "?"} ms of the load's sampling period`,
    );
  }
  console.log(
    `max running     ${col(s.realMaxRunning)}${col(s.simMaxRunning)}` +
      (r.targets.maxRunningDiffMax === null
        ? ""
        : `${
          col(s.simMaxRunning - s.realMaxRunning)
        }  (target: within ${r.targets.maxRunningDiffMax})`),
  );
  console.log(
    `running replicas within 1: ${pct(s.shareWithin1)} of ${s.secondsCompared} s (target >= ${
      pct(r.targets.shareWithin1Min)
    }); exact ${pct(s.shareExact)}; mean |diff| ${s.meanAbsDiff?.toFixed(2) ?? "-"}`,
  );
  console.log(`targets ${s.met ? "met" : `MISSED: ${s.missed.join("; ")}`}`);
}
console.log("");
console.log(`details in ${outDir}/fidelity.json`);
if (values.strict && !reports.every((r) => r.score.met)) Deno.exit(1);
