/**
 * Load-generator benchmark: throughput against a trivial loopback `Deno.serve` endpoint, next to
 * `wrk` on the same endpoint in the same run, and latency accuracy against a stub that answers
 * after exactly 20 ms. The servers run in separate processes. Prints a table and writes
 * results/loadgen_benchmark_<UTC timestamp>.json.
 *
 * Usage: deno run -A scripts/bench_loadgen.ts [--duration 10] [--users 64] [--wrk-threads 1]
 *
 * Figures depend on the machine and on whatever else runs on it: quote them with that caveat,
 * as the ratio to wrk measured in the same run.
 *
 * @module
 */
import { type Cli, cli } from "../lib/cli/mod.ts";
import {
  constantUsersShape,
  formatSeconds,
  type RequestSpec,
  runLoadTest,
  uriRequest,
} from "../lib/loadgen/mod.ts";

const c: Cli = cli(
  "bench-loadgen",
  "Usage: deno task bench-loadgen [--duration S=10] [--users N=64] [--wrk-threads N=1] " +
    "[--latency-users N=50]\nThroughput vs wrk on a trivial endpoint, and latency against a 20 ms stub; " +
    "writes results/loadgen_benchmark_<ts>.json.",
);
const args = c.parse({
  duration: { type: "string", default: "10" },
  users: { type: "string", default: "64" },
  "wrk-threads": { type: "string", default: "1" },
  "latency-users": { type: "string", default: "50" },
}).values;
const durationS = c.durationS("duration", args.duration, { above: 0 })!;
const users = c.number("users", args.users, { integer: true, min: 1 })!;
const wrkThreads = c.number("wrk-threads", args["wrk-threads"], { integer: true, min: 1 })!;
const latencyUsers = c.number("latency-users", args["latency-users"], { integer: true, min: 1 })!;

/** Starts a Deno.serve server in its own process; `delayMs` > 0 answers after that delay. */
async function startServer(delayMs: number): Promise<{ url: string; stop: () => Promise<void> }> {
  const code = `
    const delay = ${delayMs};
    Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: ({ port }) => console.log(port) },
      delay > 0
        ? async (req) => { await req.arrayBuffer(); await new Promise((r) => setTimeout(r, delay)); return new Response("ok"); }
        : () => new Response("ok"));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error("benchmark server exited before listening");
    text += new TextDecoder().decode(value);
  }
  reader.releaseLock();
  const port = Number(text.trim());
  return {
    url: `http://127.0.0.1:${port}`,
    stop: async () => {
      child.kill("SIGTERM");
      await child.status;
      await child.stdout.cancel().catch(() => {});
    },
  };
}

let wrkMissing = false;

/** Runs wrk; returns its stdout, or null when wrk is not installed. */
async function wrk(url: string, connections: number, latency: boolean): Promise<string | null> {
  if (wrkMissing) return null;
  try {
    const out = await new Deno.Command("wrk", {
      args: [
        `-t${wrkThreads}`,
        `-c${connections}`,
        `-d${durationS}s`,
        ...(latency ? ["--latency"] : []),
        `${url}/`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return new TextDecoder().decode(out.stdout);
  } catch {
    wrkMissing = true;
    console.error(
      "bench_loadgen: wrk not found (apt-get install -y wrk); skipping the wrk baseline",
    );
    return null;
  }
}

async function runWrk(url: string): Promise<number | null> {
  const out = await wrk(url, users, false);
  const m = out && /Requests\/sec:\s+([\d.]+)/.exec(out);
  return m ? Number(m[1]) : null;
}

/** wrk's latency percentile (ms) from `--latency` output. */
function wrkPercentileMs(out: string | null, p: string): number | null {
  const m = out && new RegExp(`^\\s+${p}%\\s+([\\d.]+)(us|ms|s)\\s*$`, "m").exec(out);
  if (!m) return null;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

const getRoot: RequestSpec = {
  method: "GET",
  path: "/",
  name: "/",
  body: null,
  contentType: null,
  describe: "GET /",
};

const progress = (label: string) => console.error(`bench_loadgen: ${label}...`);

// 1. Throughput vs wrk on a trivial endpoint.
const trivial = await startServer(0);
progress(`wrk -t${wrkThreads} -c${users} -d${durationS}s`);
const wrkBefore = await runWrk(trivial.url);
progress(`loadgen, ${users} users, ${formatSeconds(durationS)}`);
const ours = await runLoadTest({
  host: trivial.url,
  shape: constantUsersShape(users, durationS),
  request: getRoot,
  waitTime: { kind: "constant", seconds: 0 },
  replicas: false,
});
const oursRps = ours.stats.total.numRequests / (ours.endS - ours.startS);
progress("wrk again (to bracket the loadgen run)");
const wrkAfter = await runWrk(trivial.url);
await trivial.stop();
const wrkValues = [wrkBefore, wrkAfter].filter((x): x is number => x !== null);
const wrkRps = wrkValues.length ? wrkValues.reduce((a, b) => a + b, 0) / wrkValues.length : null;

// 2. Latency accuracy against a 20 ms stub.
const stub = await startServer(20);
progress(`loadgen, ${latencyUsers} users against a 20 ms stub, ${formatSeconds(durationS)}`);
const lat = await runLoadTest({
  host: stub.url,
  shape: constantUsersShape(latencyUsers, durationS),
  request: uriRequest("http://127.0.0.1/dog.jpg"),
  waitTime: { kind: "constant", seconds: 0 },
  replicas: false,
});
progress(`wrk --latency -c${latencyUsers} against the 20 ms stub (baseline for the tail)`);
const wrkLat = await wrk(stub.url, latencyUsers, true);
await stub.stop();
const wrkP50 = wrkPercentileMs(wrkLat, "50");
const wrkP99 = wrkPercentileMs(wrkLat, "99");
const h = lat.stats.total.histogram;
const p50 = h.percentileMs(50)!;
const p99 = h.percentileMs(99)!;
const loadAvg = Deno.loadavg();

const rows: [string, string, string][] = [
  [
    "loadgen req/s (trivial endpoint)",
    oursRps.toFixed(0),
    oursRps >= 20000 ? "ok (>= 20000)" : "below 20000",
  ],
  [
    `wrk -t${wrkThreads} -c${users} req/s`,
    wrkRps === null
      ? "n/a"
      : `${wrkRps.toFixed(0)} (${wrkValues.map((v) => v.toFixed(0)).join(", ")})`,
    "",
  ],
  [
    "loadgen / wrk",
    wrkRps === null ? "n/a" : `${((100 * oursRps) / wrkRps).toFixed(1)}%`,
    wrkRps === null ? "" : oursRps / wrkRps >= 0.35 ? "ok (>= 35%)" : "below 35%",
  ],
  ["20 ms stub: p50 ms", p50.toFixed(2), p50 >= 20 && p50 <= 22 ? "ok (20-22)" : "outside 20-22"],
  ["20 ms stub: p99 ms", p99.toFixed(2), p99 >= 20 && p99 <= 25 ? "ok (20-25)" : "outside 20-25"],
  [
    "20 ms stub: wrk p50 / p99 ms (same stub)",
    wrkP50 === null ? "n/a" : `${wrkP50.toFixed(2)} / ${wrkP99?.toFixed(2)}`,
    "baseline: the machine's own tail",
  ],
  ["20 ms stub: req/s", (lat.stats.total.numRequests / (lat.endS - lat.startS)).toFixed(0), ""],
  [
    "load average (1/5/15 min)",
    loadAvg.map((x) => x.toFixed(2)).join(" "),
    `${navigator.hardwareConcurrency} CPUs`,
  ],
];
const w0 = Math.max(...rows.map((r) => r[0].length));
const w1 = Math.max(...rows.map((r) => r[1].length));
console.log(`${"measure".padEnd(w0)}  ${"value".padStart(w1)}  target`);
for (const [a, b, c] of rows) console.log(`${a.padEnd(w0)}  ${b.padStart(w1)}  ${c}`);
console.log(
  "\nCaveat: one shared machine, servers in separate processes on the same CPUs; compare the ratio to wrk, not the absolute figures.",
);

await Deno.mkdir("results", { recursive: true });
const stamp = new Date().toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
const path = `results/loadgen_benchmark_${stamp}.json`;
await Deno.writeTextFile(
  path,
  JSON.stringify(
    {
      duration_s: durationS,
      users,
      wrk_threads: wrkThreads,
      loadgen_rps: oursRps,
      wrk_rps: wrkRps,
      wrk_runs: wrkValues,
      ratio: wrkRps === null ? null : oursRps / wrkRps,
      stub20: {
        users: latencyUsers,
        p50_ms: p50,
        p90_ms: h.percentileMs(90),
        p99_ms: p99,
        max_ms: h.maxMs,
        mean_ms: h.meanMs,
        requests: lat.stats.total.numRequests,
        locust_median: lat.stats.total.medianResponseTime.value,
        locust_p99: lat.stats.total.responseTimePercentile(0.99),
        wrk_p50_ms: wrkP50,
        wrk_p99_ms: wrkP99,
      },
      load_average: loadAvg,
      cpus: navigator.hardwareConcurrency,
    },
    null,
    1,
  ) + "\n",
);
console.log(`wrote ${path}`);
