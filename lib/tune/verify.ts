/**
 * `--verify`: the recommendation in a real run. Deploys the recommended config on 127.0.0.1
 * (`deno task deploy`, with the emulated model by default on a machine too small for real
 * compute), runs the same load shape through the load generator (`deno task loadtest`), and
 * compares what it measured with what the simulator predicts for exactly that run (same config,
 * model, shape, startup time, CPUs), on K seeds.
 *
 * Both sides count replica-hours the same way: running + starting replicas, second by second
 * (`_replicas.csv` for the run, the simulator's per-second snapshots for the prediction).
 *
 * @module
 */
import { controlLoopStartMs as controlLoopStart } from "../autoscaler/mod.ts";
import { startDeployChild } from "../cli/mod.ts";
import { loadConfig, type ServeConfig } from "../config/mod.ts";
import { imageMimeType, type LoadShape } from "../loadgen/mod.ts";
import { parseReplicas, parseStatsTotals } from "../plot/mod.ts";
import {
  controlLoopPhaseOf,
  createRng,
  type DurationModel,
  loadFromShape,
  parseDurationSpec,
  simulate,
} from "../sim/mod.ts";
import { median } from "../duration/mod.ts";
import { TuneInputError } from "./errors.ts";
import { fmt, textTable } from "./report.ts";

/** Tolerances of issue 17: p99 within 30 %, replica-hours within 15 %. */
export const VERIFY_TOLERANCE = { p99: 0.3, replicaHours: 0.15 } as const;

/** Options of {@linkcode verifyRecommendation}. */
export interface VerifyOptions {
  /** The recommended config file. */
  configPath: string;
  /** The load shape file the load test runs (a `--shape` file). */
  shapePath: string;
  /** The same shape as parsed (time scale applied), for the prediction. */
  shape: LoadShape;
  /** `--time-scale` for the load test (default 1). */
  timeScale?: number;
  /** Model to deploy, e.g. `emulate:lognormal:45,80` (default the config's). */
  model: string | null;
  /** Service-time spec of the prediction (the tuner's). */
  serviceTimeSpec: string;
  /** Startup-time spec of the prediction (default: 0.3 s emulated/noop, else 2 s). */
  startupTimeSpec?: string | null;
  /** Seeds of the prediction. */
  seeds: readonly number[];
  /** Port the deployment under test is served on (127.0.0.1). */
  port: number;
  /** Run files go here. */
  outDir: string;
  /** An image to post (default: a tiny GIF written to outDir; fine for emulated/noop models). */
  imagePath?: string | null;
  /** Log lines (progress of the run). */
  log?: (line: string) => void;
}

/** The figures of a verification. */
export interface VerifyFigures {
  /** The simulated p99 (median over seeds) with the bare service time. */
  simulatedP99Ms: number;
  /** Per-request time beyond the service time (HTTP, routing, worker hop), probed before the run. */
  overheadMs: number;
  /** The run's control-loop phase the prediction used, ms into the load (null: not measured). */
  controlLoopStartMs: number | null;
  /** Medians over the seeds of the simulated run, overhead added once probed: p99 ms, failures, requests, replica-hours. */
  predicted: { p99Ms: number; failures: number; requests: number; replicaHours: number };
  /** The real run's figures (p99 ms, null when unknown; replica-hours from its `_replicas.csv`). */
  measured: { p99Ms: number | null; failures: number; requests: number; replicaHours: number };
  /** |measured - predicted| / predicted. */
  p99Error: number | null;
  /** |measured - predicted| / predicted replica-hours (Infinity when predicted is 0). */
  replicaHoursError: number;
  /** Both errors within {@linkcode VERIFY_TOLERANCE}. */
  withinTolerance: boolean;
  /** The model served, e.g. `emulate:lognormal:45,80`. */
  model: string;
  /** Logical CPUs given to the deployment: max_replicas x num_cpus + 1, at least 2. */
  cpus: number;
  /** `/proc/loadavg` (1, 5, 15 min) before and after the run, `before -> after`. */
  loadavg: string;
  /** Prefix of the run's result files (`<prefix>_stats.csv`, ...). */
  files: { prefix: string };
}

/** What {@linkcode verifyRecommendation} returns. */
export interface VerifyResult {
  /** The figures in full. */
  figures: VerifyFigures;
  /** Readable report: the method sentence and the predicted/measured table. */
  table: string;
  /** Both errors within {@linkcode VERIFY_TOLERANCE}. */
  withinTolerance: boolean;
}

/** The smallest GIF: 1x1 pixel (header, 2-colour table, one image, LZW data, trailer). */
const PIXEL_GIF = new Uint8Array([
  ...Array.from("GIF89a", (c) => c.charCodeAt(0)),
  1,
  0,
  1,
  0,
  0x80,
  0,
  0, // screen 1x1, global colour table of 2
  0,
  0,
  0,
  255,
  255,
  255, // the two colours
  0x2c,
  0,
  0,
  0,
  0,
  1,
  0,
  1,
  0,
  0, // image descriptor at 0,0 size 1x1
  2,
  2,
  0x44,
  0x01,
  0, // LZW minimum code size 2, one 2-byte block, end
  0x3b, // trailer
]);

async function loadavg(): Promise<string> {
  try {
    return (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
  } catch {
    return "n/a";
  }
}

function modelText(config: ServeConfig): string {
  const m = config.applications[0].deployments[0].user_config.model;
  switch (m.kind) {
    case "noop":
      return `noop:${m.service_time_ms}`;
    case "emulate":
      return `emulate:${m.spec}`;
    case "resnet50":
      return "resnet50";
    case "path":
      return m.path;
    case "url":
      return m.url;
  }
}

/** Replica-hours as running + starting replicas over time (rows one second apart or so). */
function replicaHoursOf(rows: readonly { elapsedS: number; running: number; starting: number }[]) {
  let s = 0;
  for (let i = 0; i < rows.length; i++) {
    const dt = i + 1 < rows.length ? rows[i + 1].elapsedS - rows[i].elapsedS : 1;
    s += (rows[i].running + rows[i].starting) * Math.max(0, dt);
  }
  return s / 3600;
}

/** Probe requests: sent one at a time before the run, the first few not counted (warm-up). */
const PROBE = { requests: 105, warmup: 5 } as const;

/**
 * The time a request takes beyond its service time (HTTP on loopback, the router, the worker
 * hop, timer lateness): the median latency of probe requests sent one at a time, minus the
 * median service time. The simulator models the service time only, so the prediction adds it.
 */
async function probeOverheadMs(
  base: string,
  image: Uint8Array,
  serviceTime: DurationModel,
): Promise<number> {
  const latencies: number[] = [];
  for (let i = 0; i < PROBE.requests; i++) {
    const t0 = performance.now();
    const res = await fetch(`${base}/`, {
      method: "POST",
      body: image as Uint8Array<ArrayBuffer>,
      headers: { "content-type": imageMimeType(image) ?? "application/octet-stream" },
    });
    await res.arrayBuffer();
    if (!res.ok) throw new Error(`verify probe: ${base}/ answered ${res.status}`);
    if (i >= PROBE.warmup) latencies.push(performance.now() - t0);
  }
  const rng = createRng(1);
  const draws = Array.from({ length: 20_000 }, () => serviceTime.sampleMs(rng));
  return Math.max(0, median(latencies)! - median(draws)!);
}

/** Deploys, load-tests and compares (see the module doc). */
export async function verifyRecommendation(options: VerifyOptions): Promise<VerifyResult> {
  const log = options.log ?? ((l: string) => console.error(l));
  const { config } = await loadConfig(options.configPath);
  const dep = config.applications[0].deployments[0];
  const model = options.model ?? modelText(config);
  // Enough logical CPUs that none waits PENDING (the simulation's cluster is unbounded).
  const cpus = Math.max(
    2,
    (dep.autoscaling_config?.max_replicas ?? 1) * dep.ray_actor_options.num_cpus + 1,
  );
  await Deno.mkdir(options.outDir, { recursive: true });
  const prefix = `${options.outDir}/run`;
  let image = options.imagePath ?? null;
  if (!image) {
    image = `${options.outDir}/pixel.gif`;
    await Deno.writeFile(image, PIXEL_GIF);
  }

  // The prediction for exactly this run.
  const predictedConfig = structuredClone(config);
  const modelSpec = /^emulate:/.test(model)
    ? { kind: "emulate" as const, spec: model.slice("emulate:".length) }
    : null;
  if (modelSpec) predictedConfig.applications[0].deployments[0].user_config.model = modelSpec;
  const serviceTime = await parseDurationSpec(options.serviceTimeSpec, { what: "--service-time" });
  const noCompute = modelSpec !== null || /^noop/.test(model);
  const startupTime = await parseDurationSpec(
    options.startupTimeSpec ?? (noCompute ? "0.3s" : "2s"),
    { what: "--startup-time", defaultUnit: "s" },
  );
  const k = options.seeds.length;
  /**
   * Median figures over the seeds, with `extraMs` added to every service time and the control
   * loop started `controlLoopStartMs` into the load (default: each seed's own draw).
   */
  const predict = async (extraMs: number, controlLoopStartMs?: number) => {
    const shifted: DurationModel = {
      ...serviceTime,
      description: `${serviceTime.description} + ${extraMs.toFixed(1)} ms`,
      meanMs: serviceTime.meanMs + extraMs,
      sampleMs: (rng) => serviceTime.sampleMs(rng) + extraMs,
    };
    const p99: number[] = [], hours: number[] = [], fails: number[] = [], reqs: number[] = [];
    for (const seed of options.seeds) {
      const run = await simulate(predictedConfig, {
        load: loadFromShape(options.shape),
        serviceTime: shifted,
        startupTime,
        seed,
        clusterCpus: cpus,
        maxConcurrentStarts: navigator.hardwareConcurrency,
        // Real compute shares this machine's cores; emulated and noop replicas only wait.
        machineCores: noCompute ? null : navigator.hardwareConcurrency,
        controlLoopStartMs,
      });
      p99.push(run.summary.p99Ms ?? 0);
      fails.push(run.summary.failures);
      reqs.push(run.summary.requests);
      hours.push(replicaHoursOf(run.seconds.map((s) => ({ elapsedS: s.second, ...s }))));
    }
    return {
      p99Ms: median(p99)!,
      failures: median(fails)!,
      requests: median(reqs)!,
      replicaHours: median(hours)!,
    };
  };
  let controlLoopStartMs: number | null = null;

  // The run.
  const base = `http://127.0.0.1:${options.port}`;
  const root = new URL("../../", import.meta.url);
  log(`verify: deploying ${options.configPath} with ${model} on ${base} (${cpus} logical CPUs)`);
  const decisionsCsv = `${options.outDir}/decisions.csv`;
  await Deno.remove(decisionsCsv).catch(() => {});
  // At most two minutes from the start to every application RUNNING.
  const upBy = Date.now() + 120_000;
  const deploy = await startDeployChild(options.configPath, {
    denoFlags: ["--allow-all", "--v8-flags=--expose-gc"],
    args: [
      "--model",
      model,
      "--host",
      "127.0.0.1",
      "--port",
      String(options.port),
      "--num-cpus",
      String(cpus),
      "--no-dashboard",
      "--decisions-csv",
      decisionsCsv,
    ],
    output: "inherit",
    listenTimeoutMs: 120_000,
  });
  let measured;
  let overheadMs = 0;
  const before = await loadavg();
  try {
    await deploy.waitRunning(Math.max(0, upBy - Date.now()));
    overheadMs = await probeOverheadMs(base, await Deno.readFile(image), serviceTime);
    log(`verify: overhead per request ${overheadMs.toFixed(1)} ms (median of probes)`);
    const args = [
      "run",
      "--allow-all",
      new URL("scripts/loadtest.ts", root).pathname,
      "--host",
      base,
      "--shape",
      options.shapePath,
      "--image",
      image,
      "--csv",
      prefix,
      "--progress-every",
      "30",
    ];
    if (options.timeScale && options.timeScale !== 1) {
      args.push("--time-scale", String(options.timeScale));
    }
    log(`verify: load test ${options.shapePath} -> ${prefix}_*.csv`);
    const status = await new Deno.Command(Deno.execPath(), {
      args,
      stdout: "inherit",
      stderr: "inherit",
    })
      .spawn().status;
    if (status.code !== 0) throw new Error(`deno task loadtest exited with ${status.code}`);
    const totals = parseStatsTotals(await Deno.readTextFile(`${prefix}_stats.csv`), {
      source: `${prefix}_stats.csv`,
    });
    const replicas = parseReplicas(await Deno.readTextFile(`${prefix}_replicas.csv`), {
      source: `${prefix}_replicas.csv`,
    });
    // The real control loop ran from the deploy, so its metric samples met the load at a phase
    // of their own: the prediction below runs the simulations' loops at that phase.
    const loopStartMs = controlLoopStart(await Deno.readTextFile(decisionsCsv).catch(() => ""));
    const loadStartS = Number(
      JSON.parse(await Deno.readTextFile(`${prefix}_summary.json`).catch(() => "{}")).start_s,
    );
    const autoscaling = dep.autoscaling_config;
    if (loopStartMs !== null && Number.isFinite(loadStartS) && autoscaling !== null) {
      controlLoopStartMs = controlLoopPhaseOf(
        loopStartMs,
        loadStartS * 1000,
        autoscaling.metrics_interval_s,
      );
    }
    measured = {
      p99Ms: totals?.p99Ms ?? null,
      failures: totals?.failures ?? 0,
      requests: totals?.requests ?? 0,
      replicaHours: replicaHoursOf(replicas),
    };
  } finally {
    await deploy.stop({ signal: "SIGINT", killAfterMs: 30_000 });
  }
  // The prediction, once the service is gone (the simulations would share its CPUs). The replica
  // holds its slot until the answer is back through the worker hop, so the overhead lengthens the
  // service time (and the queueing), not just each latency.
  const phase = controlLoopStartMs ?? undefined;
  const predicted = await predict(overheadMs, phase);
  const simulatedP99Ms = (await predict(0, phase)).p99Ms;

  const rel = (m: number | null, p: number) => (m === null || p <= 0 ? null : Math.abs(m - p) / p);
  const p99Error = rel(measured.p99Ms, predicted.p99Ms);
  const replicaHoursError = rel(measured.replicaHours, predicted.replicaHours) ?? Infinity;
  const withinTolerance = p99Error !== null && p99Error <= VERIFY_TOLERANCE.p99 &&
    replicaHoursError <= VERIFY_TOLERANCE.replicaHours;
  const load = `${before} -> ${await loadavg()}`;
  const pct = (x: number | null) => (x === null ? "-" : `${fmt(x * 100, 1)}%`);
  const table = [
    `Verify: ${model}, ${options.shapePath}${options.timeScale ? ` x${options.timeScale}` : ""}, ` +
    `loadavg ${load}.\nPredicted = median of ${k} simulated seeds of this exact run, ` +
    (controlLoopStartMs === null
      ? ""
      : `their control loops at the run's phase (+${controlLoopStartMs} ms into the load), `) +
    `each ` +
    `service time plus the per-request overhead (${fmt(overheadMs, 1)} ms: median of ` +
    `${PROBE.requests - PROBE.warmup} probe requests sent one at a time before the run, minus ` +
    `the median service time); with the bare service time the simulated p99 is ` +
    `${fmt(simulatedP99Ms)} ms.`,
    textTable(["figure", "predicted", "measured", "error", "tolerance", "ok"], [
      [
        "p99 ms",
        fmt(predicted.p99Ms),
        fmt(measured.p99Ms),
        pct(p99Error),
        `${VERIFY_TOLERANCE.p99 * 100}%`,
        p99Error !== null && p99Error <= VERIFY_TOLERANCE.p99 ? "yes" : "no",
      ],
      [
        "replica-hours",
        fmt(predicted.replicaHours, 4),
        fmt(measured.replicaHours, 4),
        pct(replicaHoursError),
        `${VERIFY_TOLERANCE.replicaHours * 100}%`,
        replicaHoursError <= VERIFY_TOLERANCE.replicaHours ? "yes" : "no",
      ],
      ["failures", fmt(predicted.failures, 1), String(measured.failures), "", "", ""],
      ["requests", fmt(predicted.requests, 0), String(measured.requests), "", "", ""],
    ]),
  ].join("\n");
  return {
    figures: {
      simulatedP99Ms,
      overheadMs,
      controlLoopStartMs,
      predicted,
      measured,
      p99Error,
      replicaHoursError,
      withinTolerance,
      model,
      cpus,
      loadavg: load,
      files: { prefix },
    },
    table,
    withinTolerance,
  };
}

/** Refuses --verify without a shape file (the load generator runs shapes). */
export function verifySourceError(source: string): TuneInputError {
  return new TuneInputError(
    `--verify needs --shape (the load generator runs shape files), not --${source}`,
  );
}
