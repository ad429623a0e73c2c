/**
 * `deno task simulate --config A [--config B ...] [--shape configs/loadtest/tutorial.yaml]
 *   [--service-time SPEC|FILE] [--seed N] [--out-dir DIR] [--time-scale F] ...`
 *
 * Simulates the load test of every config in virtual time (same autoscaler code, same result
 * files as a real run: Locust's four + `_replicas.csv` + `_latency.csv` + `_stages.csv`, one
 * prefix per config under `--out-dir`), then prints a comparison table. Seeded: the same flags
 * give byte-identical files.
 *
 * @module
 */
import { type Cli, cli } from "../lib/cli/mod.ts";
import { ConfigError, loadConfig, type ServeConfig } from "../lib/config/mod.ts";
import { loadShape, parseWaitTime, ShapeError, stageRows } from "../lib/loadgen/mod.ts";
import {
  BUILT_IN_REQUEST_OVERHEAD,
  defaultReplicaConcurrency,
  defaultStartupTime,
  type DurationModel,
  DurationSpecError,
  formatComparisonTable,
  loadFromShape,
  overheadModel,
  parseDurationSpec,
  REQUEST_OVERHEAD_FILE,
  requestOverheadModel,
  servedDeployment,
  simulate,
  type SimulationSummary,
  ticksToTraceCsv,
} from "../lib/sim/mod.ts";

const USAGE = `usage: deno task simulate --config FILE [--config FILE ...] [options]

  --config FILE          serve config to simulate (repeat to compare several)
  --shape FILE           load shape (default configs/loadtest/tutorial.yaml)
  --service-time SPEC    per-request service time on one replica: 45 | fixed:45 | exp:45 |
                         lognormal:MEAN,P99 (ms, or add s) | resnet50 | a JSON/CSV result file
                         (samples or percentiles; a Locust _stats.csv works).
                         Default: noop:N configs use N ms, others resnet50 (lognormal 45/80 ms)
  --startup-time SPEC    replica startup (CPUs allocated -> RUNNING), same forms, bare numbers
                         in seconds (default 0.3s for noop models, else 2s)
  --seed N               random seed (default 1)
  --out-dir DIR          result files go to DIR/<config>_*.csv (default results/sim)
  --time-scale F         compress (<1) or stretch (>1) the shape in time, as the load test does
  --wait-time W          override the shape's wait time, e.g. "between(0.5, 1.5)"
  --num-cpus N           cluster CPUs: replicas beyond them wait in PENDING (default unbounded)
  --machine-cores N      processor sharing: busy replicas share N cores (default off)
  --max-concurrent-starts N
                         replicas starting at once (deno task deploy starts one per machine
                         CPU; default unbounded, like a Ray cluster)
  --client-timeout S     the load test's per-request timeout (default 60, as deno task loadtest)
  --control-loop-start MS
                         when the autoscaler's control loop starts, ms into the load: the phase
                         of its metric samples against the load's stage changes (default: a
                         draw from the seed in the sampling period, min(500, metrics_interval_s))
  --replica-concurrency N|max
                         requests one replica executes at once (default: max_ongoing_requests
                         for noop models, else 1)
  --overhead MODE        per-request overhead outside the replica's service (HTTP, event loops,
                         the load generator): measured (default: ${REQUEST_OVERHEAD_FILE} from
                         deno task fidelity, else the built-in figures) | builtin | none
  --trace                also write DIR/<config>_trace.csv: the autoscaler's aggregated input
                         per tick, replayable with deno task replay --input aggregated
  -h, --help             this text`;

const c: Cli = cli("simulate", USAGE);
const fail: Cli["fail"] = c.fail;

function configName(path: string): string {
  return path.slice(path.lastIndexOf("/") + 1).replace(/\.ya?ml$/i, "");
}

async function defaultServiceTime(config: ServeConfig): Promise<DurationModel> {
  const model = servedDeployment(config).user_config.model;
  return await parseDurationSpec(
    model.kind === "noop"
      ? `fixed:${model.service_time_ms}`
      : model.kind === "emulate"
      ? model.spec
      : "resnet50",
  );
}

async function main(): Promise<void> {
  const { values } = c.parse({
    config: { type: "string", multiple: true },
    shape: { type: "string", default: "configs/loadtest/tutorial.yaml" },
    "service-time": { type: "string" },
    "startup-time": { type: "string" },
    seed: { type: "string", default: "1" },
    "out-dir": { type: "string", default: "results/sim" },
    "time-scale": { type: "string" },
    "wait-time": { type: "string" },
    "num-cpus": { type: "string" },
    "machine-cores": { type: "string" },
    "max-concurrent-starts": { type: "string" },
    "client-timeout": { type: "string" },
    "control-loop-start": { type: "string" },
    "replica-concurrency": { type: "string" },
    trace: { type: "boolean", default: false },
    overhead: { type: "string", default: "measured" },
  });
  const configPaths = values.config ?? [];
  if (configPaths.length === 0) c.usageError("at least one --config is required");
  const seed = c.number("seed", values.seed, { integer: true })!;
  const timeScale = c.number("time-scale", values["time-scale"], { above: 0 });
  const clusterCpus = c.number("num-cpus", values["num-cpus"], { above: 0 });
  const machineCores = c.number("machine-cores", values["machine-cores"], { above: 0 }) ?? null;
  const maxConcurrentStarts = c.number(
    "max-concurrent-starts",
    values["max-concurrent-starts"],
    { integer: true, min: 1 },
  );
  const controlLoopStartMs = c.number("control-loop-start", values["control-loop-start"], {
    min: 0,
  });
  const clientTimeoutS = c.durationS("client-timeout", values["client-timeout"], { above: 0 }) ??
    60;
  const concurrencyFlag = values["replica-concurrency"];
  // "max" or a count: the count goes through the shared number rule.
  const replicaConcurrencyFlag = concurrencyFlag === "max"
    ? undefined
    : c.number("replica-concurrency", concurrencyFlag, { integer: true, min: 1 });

  let shape;
  try {
    shape = await loadShape(values.shape, { timeScale });
  } catch (error) {
    fail((error as ShapeError).message);
  }
  let waitTime = null;
  if (values["wait-time"] !== undefined) {
    try {
      waitTime = parseWaitTime(values["wait-time"], "--wait-time");
    } catch (error) {
      fail((error as Error).message);
    }
  }
  const load = loadFromShape(shape, { waitTime });

  const overheadMode = values.overhead;
  if (!["measured", "builtin", "none"].includes(overheadMode)) {
    fail(`--overhead must be measured, builtin or none, got "${overheadMode}"`);
  }
  const overhead = overheadMode === "none"
    ? null
    : overheadMode === "builtin"
    ? { model: overheadModel(BUILT_IN_REQUEST_OVERHEAD), measured: BUILT_IN_REQUEST_OVERHEAD }
    : await requestOverheadModel();

  let flagStartupTime: DurationModel | undefined;
  let flagServiceTime: DurationModel | null = null;
  try {
    if (values["startup-time"] !== undefined) {
      flagStartupTime = await parseDurationSpec(values["startup-time"], {
        defaultUnit: "s",
        what: "--startup-time",
      });
    }
    if (values["service-time"] !== undefined) {
      flagServiceTime = await parseDurationSpec(values["service-time"], { what: "--service-time" });
    }
  } catch (error) {
    if (error instanceof DurationSpecError) fail(error.message);
    throw error;
  }

  const configs: { path: string; config: ServeConfig }[] = [];
  for (const path of configPaths) {
    try {
      const { config, warnings } = await loadConfig(path);
      for (const w of warnings) console.error(`simulate: warning: ${path}: ${w.message}`);
      configs.push({ path, config });
    } catch (error) {
      if (error instanceof ConfigError) fail(error.message);
      fail(`cannot load ${path}: ${(error as Error).message}`);
    }
  }
  const names = configs.map((c) => configName(c.path));
  const dupes = names.filter((n, i) => names.indexOf(n) !== i);
  if (dupes.length > 0) {
    fail(`two configs share the file name "${dupes[0]}": their result files would collide`);
  }

  const outDir = values["out-dir"].replace(/\/+$/, "");
  const summaries: SimulationSummary[] = [];
  const isTty = Deno.stderr.isTerminal();
  const encoder = new TextEncoder();
  console.error(
    `simulate: shape ${shape.name} (${shape.durationS} s, ${shape.executor}), seed ${seed}, ` +
      `overhead ${overhead ? overhead.measured.method : "none"}, files under ${outDir}/`,
  );
  for (const [i, { config }] of configs.entries()) {
    const name = names[i];
    const serviceTime = flagServiceTime ?? await defaultServiceTime(config);
    const dep = servedDeployment(config);
    const replicaConcurrency = concurrencyFlag === undefined
      ? defaultReplicaConcurrency(dep)
      : concurrencyFlag === "max"
      ? dep.max_ongoing_requests
      : replicaConcurrencyFlag!;
    const startupTime = flagStartupTime ?? defaultStartupTime(dep);
    let lastPrint = performance.now();
    const onProgress = (elapsedS: number, totalS: number) => {
      const now = performance.now();
      if (now - lastPrint < 500) return;
      lastPrint = now;
      const text = `simulate: ${name}: ${elapsedS}/${totalS} simulated s`;
      if (isTty) Deno.stderr.writeSync(encoder.encode(`\r${text}`));
      else console.error(text);
    };
    let result;
    try {
      result = await simulate(config, {
        name,
        load,
        serviceTime,
        startupTime,
        requestOverhead: overhead?.model ?? null,
        requestOverheadInSlotShare: overhead?.measured.inSlotShare ?? 0,
        seed,
        clusterCpus,
        machineCores,
        maxConcurrentStarts,
        clientTimeoutS,
        controlLoopStartMs,
        replicaConcurrency,
        outPrefix: `${outDir}/${name}`,
        stages: stageRows(shape),
        recordTicks: values.trace,
        onProgress,
        progressEveryS: 10,
      });
    } catch (error) {
      fail(`${configPaths[i]}: ${(error as Error).message}`);
    }
    if (isTty) Deno.stderr.writeSync(encoder.encode("\r\x1b[K"));
    if (values.trace) {
      const path = `${outDir}/${name}_trace.csv`;
      await Deno.writeTextFile(path, ticksToTraceCsv(result.ticks));
      result.files.push(path);
    }
    summaries.push(result.summary);
    console.error(
      `simulate: ${name}: ${serviceTime.description}, concurrency ${replicaConcurrency}, startup ${startupTime.description}: ` +
        `${result.events} events in ${
          result.wallMs.toFixed(0)
        } ms wall; ${result.files.length} files`,
    );
  }
  await Deno.writeTextFile(
    `${outDir}/summary.json`,
    JSON.stringify({ shape: shape.name, seed, timeScale: timeScale ?? 1, summaries }, null, 2) +
      "\n",
  );
  console.log(formatComparisonTable(summaries));
  console.log(
    `\nreplica-h = replica-hours (STARTING + RUNNING + STOPPING replicas over time); ` +
      `oscillations = direction changes of the target. Files: ${outDir}/<config>_*.csv, ${outDir}/summary.json`,
  );
}

if (import.meta.main) await main();
