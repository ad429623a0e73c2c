/**
 * `deno task tune --config BASE.yaml (--shape FILE | --trace FILE | --history FILE)
 *   --slo "p99<500" [--slo ...] [options]`
 *
 * The tutorial's tuning guide done by machine: searches the autoscaling knobs in the simulator
 * (worker threads, seeded), scores finalists on K seeds and perturbed traffic, prints the
 * cost/latency Pareto front, the recommendation, a comparison with configs/*.yaml on the same
 * traffic and the sensitivity to each knob, and writes the recommended config. See docs/tune.md.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { ConfigError, loadConfig, parseConfig, type ServeConfig } from "../lib/config/mod.ts";
import { scaleShape } from "../lib/loadgen/mod.ts";
import { writeChart } from "../lib/plot/mod.ts";
import {
  applyOverrides,
  CALIBRATION_PATHS,
  candidatesCsv,
  closestTable,
  comparisonRows,
  comparisonTable,
  createProgressBar,
  defaultSearchSpace,
  frontChart,
  frontTable,
  KNOB_NAMES,
  knobsOf,
  parseSlo,
  readCalibration,
  readTraffic,
  recommendedConfigYaml,
  runTune,
  sensitivityTable,
  type Slo,
  type TrafficSource,
  TuneInputError,
  type TuneResult,
  verifyRecommendation,
  verifySourceError,
} from "../lib/tune/mod.ts";

const USAGE =
  `usage: deno task tune --config BASE.yaml (--shape FILE | --trace FILE | --history FILE)
                      --slo "p99<500" [--slo "fail_ratio<0.001"] [options]

  --config FILE          base config: every setting but the knobs comes from it
  --shape FILE           load shape (configs/loadtest/*.yaml)
  --trace FILE           recorded time_s,total_ongoing_requests trace (configs/traces/*.csv):
                         replayed as that many users sending back to back
  --history FILE         Locust (or deno task loadtest) _stats_history.csv: replayed as
                         arrivals at the rate the run completed requests
  --slo TEXT             objective, repeatable: p50|p90|p99|mean < MS (or Ns), fail_ratio < F;
                         without a fail_ratio one, fail_ratio<0.01 is added
  --service-time SPEC    simulator forms (45 | lognormal:45,80 | resnet50 | FILE); default
                         notebook 01's calibration (${CALIBRATION_PATHS[0]}) if
                         present, else the model's (emulate:SPEC's SPEC, noop:N, resnet50)
  --startup-time SPEC    replica startup (default 2s for a model, 0.3s for noop)
  --cpu-hour-price P     also show cost = replica-hours x num_cpus x P
  --budget N             simulations for the search (default 1000)
  --seeds K              seeds of the base traffic each finalist is scored on (default 3);
                         finalists also get load x0.8, x1.2 and a spike
  --seed N               search seed; simulation seeds are N..N+K-1 (default 1)
  --bound KNOB=MIN:MAX   override a knob's searched range (repeatable)
  --pin KNOB=VALUE       hold a knob fixed (repeatable)
  --compare FILE         configs to compare with (repeatable; default configs/*.yaml)
  --no-compare           skip the comparison
  --time-scale F         compress (<1) or stretch (>1) the traffic in time
  --workers N            worker threads (default one per core; 0: in-process)
  --out DIR              output folder (default results/tune)
  --verify               deploy the recommendation on 127.0.0.1, run the same shape through the
                         load generator, and compare with the simulator's prediction
                         (needs --shape; uses --time-scale too)
  --verify-model SPEC    model for --verify; default emulate:<service time> when this machine
                         has fewer cores than the recommendation's max_replicas x num_cpus + 1
                         (one for the server and load generator), else the base config's model
  --verify-port N        port for --verify (default: a free one)
  -h, --help             this text

Knobs: ${KNOB_NAMES.join(", ")}.
Exit codes: 0 recommendation found; 2 bad input; 3 no candidate met every SLO on every scenario
(the closest ones are printed); 4 --verify missed its tolerance (p99 30 %, replica-hours 15 %).`;

/** Added when no fail_ratio SLO is given. */
const DEFAULT_FAIL_RATIO_SLO = "fail_ratio<0.01";

function fail(message: string): never {
  console.error(`tune: ${message}`);
  Deno.exit(2);
}

function positive(flag: string, text: string | undefined, opts: { int?: boolean } = {}) {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n <= 0 || (opts.int && !Number.isInteger(n))) {
    fail(`${flag} must be ${opts.int ? "an integer" : "a number"} > 0, got "${text}"`);
  }
  return n;
}

async function defaultCompare(): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir("configs")) {
    if (e.isFile && /\.ya?ml$/.test(e.name)) out.push(`configs/${e.name}`);
  }
  return out.sort();
}

async function loadBase(path: string): Promise<{ config: ServeConfig; text: string }> {
  try {
    const { config } = await loadConfig(path);
    knobsOf(config);
    return { config, text: await Deno.readTextFile(path) };
  } catch (error) {
    if (error instanceof ConfigError || error instanceof TuneInputError) fail(error.message);
    fail(`cannot read --config ${path}: ${(error as Error).message}`);
  }
}

async function main(): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: Deno.args.filter((a) => a !== "--"),
      options: {
        config: { type: "string" },
        shape: { type: "string" },
        trace: { type: "string" },
        history: { type: "string" },
        slo: { type: "string", multiple: true },
        "service-time": { type: "string" },
        "startup-time": { type: "string" },
        "cpu-hour-price": { type: "string" },
        budget: { type: "string", default: "1000" },
        seeds: { type: "string", default: "3" },
        seed: { type: "string", default: "1" },
        bound: { type: "string", multiple: true },
        pin: { type: "string", multiple: true },
        compare: { type: "string", multiple: true },
        "no-compare": { type: "boolean", default: false },
        "time-scale": { type: "string" },
        workers: { type: "string" },
        out: { type: "string", default: "results/tune" },
        verify: { type: "boolean", default: false },
        "verify-model": { type: "string" },
        "verify-port": { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (error) {
    fail(`${(error as Error).message}\n${USAGE}`);
  }
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  if (!values.config) fail(`--config is required\n${USAGE}`);
  const sources = (["shape", "trace", "history"] as TrafficSource[]).filter((s) => values[s]);
  if (sources.length !== 1) fail(`give exactly one of --shape, --trace, --history\n${USAGE}`);
  if (!values.slo || values.slo.length === 0) fail(`at least one --slo is required\n${USAGE}`);
  const budgetText = values.budget;
  const budget = Number(budgetText);
  if (!Number.isInteger(budget) || budget < 1) {
    fail(`--budget must be an integer >= 1 (simulations to spend), got "${budgetText}"`);
  }
  const seeds = positive("--seeds", values.seeds, { int: true })!;
  const seed = Number(values.seed);
  if (!Number.isInteger(seed)) fail(`--seed must be an integer, got "${values.seed}"`);
  const price = positive("--cpu-hour-price", values["cpu-hour-price"]) ?? null;
  const timeScale = positive("--time-scale", values["time-scale"]);
  const verifyPortFlag = positive("--verify-port", values["verify-port"], { int: true });
  if (values.verify && !values.shape) fail(verifySourceError(sources[0]).message);
  const workersText = values.workers;
  const workers = workersText === undefined ? undefined : Number(workersText);
  if (workers !== undefined && !(Number.isInteger(workers) && workers >= 0)) {
    fail(`--workers must be an integer >= 0, got "${workersText}"`);
  }

  let slos: Slo[], space, shape, serviceTimeSpec: string;
  const source = sources[0];
  const { config, text: baseText } = await loadBase(values.config);
  try {
    slos = values.slo.map(parseSlo);
    if (!slos.some((s) => s.metric === "fail_ratio")) {
      // Otherwise shedding load (tiny queues, fast 503s) would count as low latency.
      slos.push(parseSlo(DEFAULT_FAIL_RATIO_SLO));
      console.error(
        `tune: no fail_ratio SLO given: also requiring ${DEFAULT_FAIL_RATIO_SLO} (failed ` +
          `requests count in the percentiles, so a config could meet p99 by rejecting load); ` +
          `pass --slo "fail_ratio<1" to allow any failures`,
      );
    }
    space = applyOverrides(defaultSearchSpace(), { bounds: values.bound, pins: values.pin });
    shape = await readTraffic(source, values[source]!);
    if (timeScale !== undefined) shape = scaleShape(shape, timeScale);
    const calibration = values["service-time"] ? null : await readCalibration();
    if (calibration) {
      console.error(`tune: service time ${calibration.spec} from ${calibration.path}`);
    }
    serviceTimeSpec = values["service-time"] ?? calibration?.spec ?? modelServiceTime(config);
  } catch (error) {
    if (error instanceof TuneInputError) fail(error.message);
    throw error;
  }
  const compare: ServeConfig[] = [];
  if (!values["no-compare"]) {
    for (const path of values.compare ?? await defaultCompare()) {
      try {
        compare.push((await loadConfig(path)).config);
      } catch (error) {
        if (values.compare) fail(`--compare ${path}: ${(error as Error).message}`);
        console.error(`tune: skipping ${path} in the comparison: ${(error as Error).message}`);
      }
    }
  }

  const bar = createProgressBar();
  let result: TuneResult;
  try {
    result = await runTune({
      config,
      shape,
      slos,
      space,
      serviceTimeSpec,
      startupTimeSpec: values["startup-time"],
      budget,
      seeds,
      seed,
      compare,
      workers,
      onProgress: bar.update,
    });
  } catch (error) {
    bar.end();
    // A bad --service-time / --startup-time surfaces when the evaluator parses it.
    if ((error as Error).name === "DurationSpecError") fail((error as Error).message);
    throw error;
  }
  bar.end();

  const cpus = config.applications[0].deployments[0].ray_actor_options.num_cpus;
  const cost = { cpuHourPrice: price, cpusPerReplica: cpus };
  const out = values.out;
  await Deno.mkdir(out, { recursive: true });
  const { search } = result;
  console.log(
    `\n${result.evaluations} simulations (${search.spent} for the search, ${search.candidates.length} ` +
      `candidates) in ${(result.wallMs / 1000).toFixed(1)} s on ${result.workers || "no"} worker ` +
      `thread(s); traffic ${shape.name} (${shape.durationS} s), service time ${serviceTimeSpec}; ` +
      `scenarios: ${result.scenarios.map((s) => s.name).join(", ")}\n`,
  );
  console.log(`Pareto front (cost vs worst ${slos[0].metric}; * = recommended):`);
  console.log(frontTable(result, { slos, cost }));
  await Deno.writeTextFile(`${out}/candidates.csv`, candidatesCsv(result));
  try {
    await writeChart(frontChart(result, slos), `${out}/front`);
  } catch (error) {
    console.error(`tune: could not draw ${out}/front: ${(error as Error).message}`);
  }

  let recommendedPath: string | null = null;
  if (search.recommended === null) {
    console.log(
      `\nNo candidate met every SLO (${slos.map((s) => s.text).join(", ")}) on every scenario. ` +
        `Closest candidates (worst value/limit, lowest first):`,
    );
    console.log(closestTable(result, { slos, cost }));
  } else {
    const rec = search.candidates[search.recommended];
    const score = search.scores[search.recommended];
    const yaml = recommendedConfigYaml(baseText, {
      knobs: rec.knobs,
      score,
      slos,
      space,
      sensitivity: result.sensitivity,
      provenance: [
        `Recommended by deno task tune from ${values.config} on ${values[source]} (${source}` +
        `${timeScale ? `, time scale ${timeScale}` : ""}), service time ${serviceTimeSpec},`,
        `scenarios: ${result.scenarios.map((s) => s.name).join(", ")}; search seed ${seed}, ` +
        `budget ${budget}.`,
      ],
    });
    recommendedPath = `${out}/recommended.yaml`;
    // The file must load as a config; refuse to write one that does not.
    parseConfig(yaml, { sourcePath: recommendedPath });
    await Deno.writeTextFile(recommendedPath, yaml);
    console.log(
      `\nRecommended (#${search.recommended}): ${score.replicaHours.toFixed(3)} replica-hours, ` +
        `worst ${slos[0].metric} ${
          score.primaryWorst.toFixed(slos[0].metric === "fail_ratio" ? 4 : 0)
        }, ` +
        `every SLO met on ${score.scenariosMet}/${score.scenariosRun} scenarios -> ${recommendedPath}`,
    );
    console.log(KNOB_NAMES.map((k) => `  ${k}: ${rec.knobs[k]}`).join("\n"));
    console.log(`\nSensitivity (one knob moved a step; base seeds only):`);
    console.log(sensitivityTable(result, { slos }));
  }
  if (result.compared.length > 0) {
    console.log(`\nComparison on the same scenarios (each config with ${values.config}'s model):`);
    console.log(comparisonTable(result, { slos, cost }));
    const rows = comparisonRows(result);
    const meeting = rows.filter((r) => r.meets);
    if (search.recommended !== null) {
      const cheaper = meeting.filter((r) => (r.recommendationDelta ?? 0) >= 0);
      console.log(
        meeting.length === 0
          ? "None of the compared configs meets every SLO on every scenario."
          : cheaper.length === 0
          ? `The recommendation costs less than every compared config that meets the SLOs (${
            meeting.map((r) => r.name).join(", ")
          }).`
          : `Already as cheap as the recommendation: ${cheaper.map((r) => r.name).join(", ")}; ` +
            `on the front: ${
              rows.filter((r) => r.onFront).map((r) => r.name).join(", ") || "none"
            }.`,
      );
    }
  }
  const summary = {
    config: values.config,
    traffic: {
      source,
      path: values[source],
      timeScale: timeScale ?? 1,
      durationS: shape.durationS,
    },
    serviceTime: serviceTimeSpec,
    slos,
    budget,
    seeds,
    seed,
    evaluations: result.evaluations,
    wallMs: result.wallMs,
    workers: result.workers,
    scenarios: result.scenarios.map((s) => s.name),
    front: search.front.map((i) => ({
      id: i,
      ...search.scores[i],
      knobs: search.candidates[i].knobs,
    })),
    recommended: search.recommended === null ? null : {
      id: search.recommended,
      file: recommendedPath,
      ...search.scores[search.recommended],
      knobs: search.candidates[search.recommended].knobs,
    },
    comparison: comparisonRows(result),
    sensitivity: result.sensitivity,
  };
  await Deno.writeTextFile(`${out}/summary.json`, JSON.stringify(summary, null, 2) + "\n");
  console.log(`\nFiles: ${out}/{recommended.yaml,candidates.csv,front.svg,front.png,summary.json}`);
  if (search.recommended === null) return 3;
  if (!values.verify) return 0;

  const recKnobs = search.candidates[search.recommended].knobs;
  const model = values["verify-model"] ??
    verifyModelFor(config, recKnobs.max_replicas, serviceTimeSpec);
  const verdict = await verifyRecommendation({
    configPath: recommendedPath!,
    shapePath: values.shape!,
    shape,
    timeScale,
    model,
    serviceTimeSpec,
    startupTimeSpec: values["startup-time"] ?? null,
    seeds: result.scenarios.filter((s) => s.base).map((s) => s.seed),
    port: verifyPortFlag ?? freePort(),
    outDir: `${out}/verify`,
  });
  console.log(`\n${verdict.table}`);
  await Deno.writeTextFile(`${out}/verify.json`, JSON.stringify(verdict.figures, null, 2) + "\n");
  return verdict.withinTolerance ? 0 : 4;
}

/** A port nothing listens on right now. */
function freePort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  listener.close();
  return port;
}

/**
 * The model --verify deploys: the base config's, unless it computes and this machine's cores
 * cannot hold the recommendation's max_replicas plus one core for the server and the load
 * generator; then the emulated model with the tuner's service time.
 */
function verifyModelFor(config: ServeConfig, maxReplicas: number, serviceTimeSpec: string): string {
  const dep = config.applications[0].deployments[0];
  const m = dep.user_config.model;
  if (m.kind === "emulate") return `emulate:${m.spec}`;
  if (m.kind === "noop") return `noop:${m.service_time_ms}`;
  const cores = navigator.hardwareConcurrency;
  // One core beyond the replicas' for the HTTP server and the load generator.
  const needed = maxReplicas * dep.ray_actor_options.num_cpus + 1;
  if (cores >= needed) {
    return m.kind === "resnet50" ? "resnet50" : m.kind === "path" ? m.path : m.url;
  }
  console.error(
    `tune: --verify uses emulate:${serviceTimeSpec}: this machine has ${cores} cores, the ` +
      `recommendation's replicas and the load generator need ${needed} (pass --verify-model ` +
      `to choose)`,
  );
  return `emulate:${serviceTimeSpec}`;
}

/** The base model's service time: noop's fixed time, emulate's SPEC, else ResNet-50's. */
function modelServiceTime(config: ServeConfig): string {
  const model = config.applications[0].deployments[0].user_config.model;
  if (model.kind === "noop") return `fixed:${model.service_time_ms}`;
  if (model.kind === "emulate") return model.spec;
  return "resnet50";
}

if (import.meta.main) Deno.exit(await main());
