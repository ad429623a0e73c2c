/**
 * `deno task fidelity [--config configs/dev_fast.yaml] [--shape FILE] [--time-scale F]
 *   [--wait-time W] [--num-cpus N] [--seed N] [--out-dir DIR] [--startup-time SPEC] [--strict]`
 *
 * How close is the simulator to the real thing? Deploys the real service (`scripts/deploy.ts`,
 * the config's no-op model with its fixed service time), runs the real load test of a shape
 * against it (lib/loadgen's runner), then simulates the same config, shape, wait time and CPU
 * count, and reports:
 *
 * - the share of seconds where RUNNING replicas differ by at most 1 (target >= 90%);
 * - the relative error of the whole-run p50 (target <= 20%) and p99 latency.
 *
 * The replica startup time of the simulation is measured from the real run's `/api/status`
 * (replica started_at_ms -> running_since_ms) unless `--startup-time` is given. The default
 * shape takes 90 s: a base of 8 users, a 40-user spike, back to 8, with short waits so that the
 * no-op model's 20 ms requests make the replica count move. Files (real_*, sim_*, server.log,
 * fidelity.json) go to `--out-dir` (default results/fidelity_<timestamp>/).
 *
 * @module
 */
import { type Cli, cli } from "../lib/cli/mod.ts";
import { ConfigError, loadConfig } from "../lib/config/mod.ts";
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
  type DurationModel,
  fixedDuration,
  loadFromShape,
  parseDurationSpec,
  servedDeployment,
  simulate,
} from "../lib/sim/mod.ts";

const DEFAULT_SHAPE = `name: fidelity-spike
description: 8 users, a 40-user spike, back to 8 (90 s); short waits so 20 ms requests move replicas.
wait_time: between(0.05, 0.15)
stages:
  - { name: base, duration: 20s, users: 8, spawn_rate: 8 }
  - { name: spike, duration: 40s, users: 40, spawn_rate: 20 }
  - { name: after, duration: 30s, users: 8, spawn_rate: 20 }
`;

const USAGE = `usage: deno task fidelity [options]

  --config FILE        serve config with a noop:<ms> model (default configs/dev_fast.yaml)
  --shape FILE         load shape (default: a built-in 90 s spike of 8 -> 40 -> 8 users)
  --time-scale F       compress/stretch the shape
  --wait-time W        override the shape's wait time
  --num-cpus N         cluster CPUs for both the server and the simulation (default 4)
  --seed N             simulation seed (default 1)
  --startup-time SPEC  replica startup in the simulation (default: measured from the real run)
  --out-dir DIR        default results/fidelity_<timestamp>
  --strict             exit 1 when a target is missed
  -h, --help           this text`;

const c: Cli = cli("fidelity", USAGE);
const fail: Cli["fail"] = c.fail;

const { values } = c.parse({
  config: { type: "string", default: "configs/dev_fast.yaml" },
  shape: { type: "string" },
  "time-scale": { type: "string" },
  "wait-time": { type: "string" },
  "num-cpus": { type: "string", default: "4" },
  seed: { type: "string", default: "1" },
  "startup-time": { type: "string" },
  "out-dir": { type: "string" },
  strict: { type: "boolean", default: false },
});

const numCpus = c.number("num-cpus", values["num-cpus"], { above: 0 })!;
const seed = c.number("seed", values.seed, { integer: true })!;
const timeScale = c.number("time-scale", values["time-scale"], { above: 0 }) ?? 1;

let config;
try {
  config = (await loadConfig(values.config)).config;
} catch (error) {
  fail(error instanceof ConfigError ? error.message : (error as Error).message);
}
const dep = servedDeployment(config);
const model = dep.user_config.model;
if (model.kind !== "noop") {
  fail(
    `${values.config}: fidelity needs a noop:<ms> model (fixed service time), got ${model.kind}; try configs/dev_fast.yaml`,
  );
}
let shape: LoadShape;
try {
  shape = values.shape
    ? await loadShape(values.shape, { timeScale })
    : scaleShape(parseShape(DEFAULT_SHAPE, { sourcePath: "<built-in fidelity shape>" }), timeScale);
} catch (error) {
  fail((error as Error).message);
}
let waitTime: WaitTime | undefined;
if (values["wait-time"] !== undefined) {
  try {
    waitTime = parseWaitTime(values["wait-time"], "--wait-time");
  } catch (error) {
    fail((error as Error).message);
  }
}
let fixedStartup: DurationModel | null = null;
if (values["startup-time"] !== undefined) {
  try {
    fixedStartup = await parseDurationSpec(values["startup-time"], {
      defaultUnit: "s",
      what: "--startup-time",
    });
  } catch (error) {
    fail((error as Error).message);
  }
}
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const outDir = (values["out-dir"] ?? `results/fidelity_${stamp}`).replace(/\/+$/, "");
await Deno.mkdir(outDir, { recursive: true });

// ---- 1. the real service ------------------------------------------------------------------
const serverLog = await Deno.open(`${outDir}/server.log`, {
  write: true,
  create: true,
  truncate: true,
});
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "run",
    "--allow-all",
    "scripts/deploy.ts",
    values.config,
    "--port",
    "0",
    "--num-cpus",
    String(numCpus),
    "--no-dashboard",
    "--decisions-csv",
    `${outDir}/real_autoscaler.csv`,
  ],
  stdout: "piped",
  stderr: "piped",
}).spawn();
const encoder = new TextEncoder();
let url: string | null = null;
const urlFound = Promise.withResolvers<string>();
async function pump(stream: ReadableStream<Uint8Array>, scan: boolean): Promise<void> {
  let buffer = "";
  for await (const chunk of stream.pipeThrough(new TextDecoderStream())) {
    await serverLog.write(encoder.encode(chunk));
    if (!scan) continue;
    buffer += chunk;
    const m = /listening on (http:\/\/[^\s]+)/.exec(buffer);
    if (m && url === null) {
      url = m[1];
      urlFound.resolve(url);
    }
    if (buffer.length > 10_000) buffer = buffer.slice(-1000);
  }
}
const pumps = [pump(server.stdout, false), pump(server.stderr, true)];
let serverExited = false;
server.status.then((s) => {
  serverExited = true;
  if (url === null) {
    urlFound.reject(new Error(`the server exited with code ${s.code} before listening`));
  }
});

async function stopServer(): Promise<void> {
  if (serverExited) return;
  try {
    server.kill("SIGTERM");
  } catch {
    return;
  }
  const timer = setTimeout(() => {
    try {
      server.kill("SIGKILL");
    } catch {
      // already gone
    }
  }, 30_000);
  await server.status;
  clearTimeout(timer);
  await Promise.allSettled(pumps);
  serverLog.close();
}

interface ReplicaStatus {
  replica_id: string;
  started_at_ms: number | null;
  running_since_ms: number | null;
}
const startupMs = new Map<string, number>();
async function readStatus(base: string): Promise<{ running: boolean; replicas: ReplicaStatus[] }> {
  const res = await fetch(`${base}/api/status`);
  const body = await res.json();
  let running = false;
  const replicas: ReplicaStatus[] = [];
  for (
    const app of Object.values(body.applications ?? {}) as {
      status: string;
      deployments: Record<string, { replicas?: ReplicaStatus[] }>;
    }[]
  ) {
    running ||= app.status === "RUNNING";
    for (const d of Object.values(app.deployments ?? {})) replicas.push(...(d.replicas ?? []));
  }
  return { running, replicas };
}

let realFiles: string[] = [];
let real;
try {
  const timeout = setTimeout(
    () => urlFound.reject(new Error("no 'listening on' line within 60 s")),
    60_000,
  );
  const base = await urlFound.promise.finally(() => clearTimeout(timeout));
  console.error(`fidelity: server at ${base} (log: ${outDir}/server.log)`);
  const readyBy = Date.now() + 60_000;
  for (;;) {
    try {
      if ((await readStatus(base)).running) break;
    } catch {
      // not up yet
    }
    if (Date.now() > readyBy) throw new Error("the application did not reach RUNNING within 60 s");
    await new Promise((r) => setTimeout(r, 200));
  }
  // Startup times of replicas started during the run, from /api/status.
  let polling = true;
  const poll = (async () => {
    while (polling) {
      try {
        for (const r of (await readStatus(base)).replicas) {
          if (r.started_at_ms && r.running_since_ms && !startupMs.has(r.replica_id)) {
            startupMs.set(r.replica_id, r.running_since_ms - r.started_at_ms);
          }
        }
      } catch {
        // the server is busy; try again
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  })();
  // A tiny valid PNG: the no-op model checks magic bytes only.
  const png = Uint8Array.from(
    atob(
      "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==",
    ),
    (c) => c.charCodeAt(0),
  );
  console.error(`fidelity: real load test of ${shape.name} (${shape.durationS} s)...`);
  let lastLine = 0;
  real = await runLoadTest({
    host: base,
    shape,
    request: imageRequest({ bytes: png, mime: "image/png" }),
    waitTime,
    csvPrefix: `${outDir}/real`,
    random: (() => {
      let s = seed >>> 0;
      return () => {
        s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
        return s / 4294967296;
      };
    })(),
    onSecond: (r) => {
      if (Date.now() - lastLine > 5000) {
        lastLine = Date.now();
        console.error(
          `fidelity: ${
            r.elapsedS.toFixed(0)
          }/${r.durationS} s, ${r.users} users, ${r.requests} req/s, ` +
            `running ${r.replicas?.runningReplicas ?? "?"}`,
        );
      }
    },
  });
  polling = false;
  await poll;
  realFiles = Object.values(real.files ?? {});
} catch (error) {
  await stopServer();
  fail(`real run failed: ${(error as Error).message} (see ${outDir}/server.log)`);
}
await stopServer();

// ---- 2. the simulation ----------------------------------------------------------------------
const measured = [...startupMs.values()].filter((x) => x >= 0).sort((a, b) => a - b);
const startupTime = fixedStartup ??
  (measured.length > 0
    ? fixedDuration(measured[Math.floor(measured.length / 2)])
    : fixedDuration(500));
const sim = await simulate(config, {
  name: "sim",
  load: loadFromShape(shape, { waitTime: waitTime ?? null }),
  stages: stageRows(shape),
  serviceTime: fixedDuration(model.service_time_ms),
  startupTime,
  replicaConcurrency: dep.max_ongoing_requests,
  clusterCpus: numCpus,
  // The serving pool starts at most one replica per machine CPU at a time.
  maxConcurrentStarts: navigator.hardwareConcurrency,
  seed,
  outPrefix: `${outDir}/sim`,
});

// ---- 3. compare -------------------------------------------------------------------------------
function runningBySecond(csv: string): Map<number, number> {
  const lines = csv.trim().split("\n");
  const header = lines[0].split(",");
  const e = header.indexOf("Elapsed (s)"), r = header.indexOf("Running Replicas");
  const out = new Map<number, number>();
  for (const line of lines.slice(1)) {
    const cells = line.split(",");
    if (cells[r] === "" || cells[r] === undefined) continue;
    out.set(Math.round(Number(cells[e])), Number(cells[r]));
  }
  return out;
}
const realRunning = runningBySecond(await Deno.readTextFile(`${outDir}/real_replicas.csv`));
const simRunning = new Map(sim.seconds.map((s) => [s.second, s.running]));
let compared = 0, within1 = 0, exact = 0, absSum = 0;
for (const [second, r] of realRunning) {
  const s = simRunning.get(second);
  if (s === undefined) continue;
  compared++;
  const d = Math.abs(s - r);
  absSum += d;
  if (d <= 1) within1++;
  if (d === 0) exact++;
}
const [realP50, realP99] = real.stats.total.histogram.percentilesMs([50, 99]);
const rel = (simV: number | null, realV: number | null) =>
  simV === null || realV === null || realV === 0 ? null : Math.abs(simV - realV) / realV;
const share = compared > 0 ? within1 / compared : null;
const p50Err = rel(sim.summary.p50Ms, realP50);
const p99Err = rel(sim.summary.p99Ms, realP99);
const realMaxRunning = Math.max(0, ...realRunning.values());
const report = {
  timestamp: new Date().toISOString(),
  config: values.config,
  shape: shape.name,
  durationS: shape.durationS,
  numCpus,
  seed,
  loadavg: Deno.loadavg(),
  startup: {
    used: startupTime.description,
    measuredMs: measured,
  },
  real: {
    requests: real.stats.total.numRequests,
    failures: real.stats.total.numFailures,
    p50Ms: realP50,
    p99Ms: realP99,
    maxRunning: realMaxRunning,
  },
  sim: {
    requests: sim.summary.requests,
    failures: sim.summary.failures,
    p50Ms: sim.summary.p50Ms,
    p99Ms: sim.summary.p99Ms,
    maxRunning: sim.summary.maxRunning,
    decisions: sim.summary.scalingDecisions,
  },
  replicas: {
    secondsCompared: compared,
    shareWithin1: share,
    shareExact: compared > 0 ? exact / compared : null,
    meanAbsDiff: compared > 0 ? absSum / compared : null,
  },
  latency: { p50RelError: p50Err, p99RelError: p99Err },
  targets: {
    shareWithin1Min: 0.9,
    p50RelErrorMax: 0.2,
    met: share !== null && share >= 0.9 && p50Err !== null && p50Err <= 0.2,
  },
  files: [...realFiles, ...sim.files, `${outDir}/server.log`],
};
await Deno.writeTextFile(`${outDir}/fidelity.json`, JSON.stringify(report, null, 2) + "\n");

const pct = (x: number | null) => (x === null ? "-" : `${(100 * x).toFixed(1)}%`);
const ms = (x: number | null) => (x === null ? "-" : x.toFixed(1));
console.log(
  `fidelity: ${values.config}, shape ${shape.name} (${shape.durationS} s), ${numCpus} CPUs, startup ${startupTime.description}`,
);
console.log("");
console.log("                      real       sim     error");
console.log(
  `requests        ${String(report.real.requests).padStart(10)}${
    String(report.sim.requests).padStart(10)
  }`,
);
console.log(
  `failures        ${String(report.real.failures).padStart(10)}${
    String(report.sim.failures).padStart(10)
  }`,
);
console.log(
  `p50 ms          ${ms(realP50).padStart(10)}${ms(sim.summary.p50Ms).padStart(10)}${
    pct(p50Err).padStart(10)
  }  (target <= 20%)`,
);
console.log(
  `p99 ms          ${ms(realP99).padStart(10)}${ms(sim.summary.p99Ms).padStart(10)}${
    pct(p99Err).padStart(10)
  }`,
);
console.log(
  `max running     ${String(realMaxRunning).padStart(10)}${
    String(sim.summary.maxRunning).padStart(10)
  }`,
);
console.log("");
console.log(
  `running replicas within 1: ${pct(share)} of ${compared} s (target >= 90%); exact: ${
    pct(report.replicas.shareExact)
  }; mean |diff| ${report.replicas.meanAbsDiff?.toFixed(2) ?? "-"}`,
);
console.log(`targets ${report.targets.met ? "met" : "MISSED"}; details in ${outDir}/fidelity.json`);
if (values.strict && !report.targets.met) Deno.exit(1);
