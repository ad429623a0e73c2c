/**
 * `deno task bench-serving [--duration-s 10] [--skip overhead,coldstart,throughput,memory]
 *  [--wasm] [--replicas 1,2,8]`: serving benchmarks of issue 4. Prints a table and writes
 * `results/serving_benchmark_<ts>.json`.
 *
 * 1. Overhead: the no-op model, 2 replicas, `wrk -t1 -c50` POSTing a tiny PNG, against a bare
 *    `Deno.serve` handler measured in the same run (ratio printed).
 * 2. Cold start: ResNet-50 (native) replicas, asked for -> RUNNING, per replica.
 * 3. Throughput: 2 replicas x 1 CPU through HTTP vs 2 x one in-process session (threads 1).
 * 4. Memory: peak RSS (VmHWM) of `deno task deploy` with 1, 2, 8 ResNet-50 replicas per backend.
 *
 * The machine may be shared: read the figures as ratios to the baselines measured in the run.
 *
 * @module
 */
import { type Cli, cli } from "../lib/cli/mod.ts";
import { HTTP_OPTIONS_DEFAULTS, type HttpListenerKind, parseConfig } from "../lib/config/mod.ts";
import { prepareModel, type ServeHandle, startServe } from "../lib/serve/mod.ts";
import { createClassifier } from "../lib/model/mod.ts";
import { createServer } from "node:http";

const c: Cli = cli(
  "bench-serving",
  "usage: deno task bench-serving [--duration-s 10] [--skip overhead,coldstart,throughput,memory] [--wasm] [--replicas 1,2,8] [--listener node,deno]",
);
const args = c.parse({
  "duration-s": { type: "string", default: "10" },
  skip: { type: "string", default: "" },
  wasm: { type: "boolean", default: false },
  replicas: { type: "string", default: "1,2,8" },
  listener: { type: "string", default: HTTP_OPTIONS_DEFAULTS.listener },
});
const durationS = c.number("duration-s", args.values["duration-s"], { above: 0 })!;
const skip = new Set(args.values.skip!.split(",").filter(Boolean));
const replicaCounts = args.values.replicas!.split(",").map((n) =>
  c.number("replicas", n, { integer: true, min: 1 })!
);
/** The noop row runs once per listener named, alternating, for an A/B in the same run. */
const listeners = args.values.listener!.split(",").map((name) => {
  if (name !== "node" && name !== "deno") c.fail(`--listener: expected node or deno, got ${name}`);
  return name as HttpListenerKind;
});
const ROOT = new URL("../", import.meta.url);
const FIXTURES = new URL("../../shared/fixtures/", import.meta.url);

const progress = (line: string) => console.error(`[bench] ${line}`);
const results: Record<string, unknown> = {
  started_at: new Date().toISOString(),
  machine: {
    cpus: navigator.hardwareConcurrency,
    deno: Deno.version.deno,
    load_avg_at_start: Deno.loadavg(),
    note: "shared machine: other engineers were running tests and servers during this run",
  },
};
const table: [string, string, string][] = [];

const TINY_PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

function config(deployment: Record<string, unknown>, listener = listeners[0]) {
  const dep = JSON.stringify({ name: "Model", ...deployment });
  return parseConfig(
    `http_options: {host: 127.0.0.1, port: 0, listener: ${listener}}\napplications:\n  - name: default\n    route_prefix: /\n    import_path: main:app\n    deployments: [${dep}]\n`,
    {},
  ).config;
}

async function testImage(): Promise<Uint8Array<ArrayBuffer>> {
  try {
    return await Deno.readFile(new URL("dog.jpg", FIXTURES));
  } catch {
    progress("fixtures absent: using a 1x1 PNG as the test image");
    return TINY_PNG;
  }
}

// ---- 1. overhead ---------------------------------------------------------------------------

interface WrkResult {
  /** CPU time of this process (all threads: HTTP, router, workers) per request, µs. */
  cpu_us_per_request: number | null;
  rps: number;
  p50_ms: number;
  p99_ms: number;
  requests: number;
  non_2xx: number;
}

function parseLatencyMs(text: string): number {
  const m = text.match(/^([\d.]+)(us|ms|s)$/);
  if (!m) return NaN;
  const v = Number(m[1]);
  return m[2] === "us" ? v / 1000 : m[2] === "s" ? v * 1000 : v;
}

/** User + system CPU ticks of this process (Linux), or null. */
function cpuTicks(): number | null {
  try {
    const f = Deno.readTextFileSync("/proc/self/stat").split(") ")[1].split(" ");
    return Number(f[11]) + Number(f[12]);
  } catch {
    return null;
  }
}
const TICKS_PER_S = 100;

async function wrk(url: string, luaPath: string | null): Promise<WrkResult> {
  const c0 = cpuTicks();
  const wrkArgs = ["-t1", "-c50", `-d${durationS}s`, "--latency"];
  if (luaPath) wrkArgs.push("-s", luaPath);
  const out = await new Deno.Command("wrk", { args: [...wrkArgs, url], stdout: "piped" }).output();
  const c1 = cpuTicks();
  const text = new TextDecoder().decode(out.stdout);
  if (out.code !== 0) throw new Error(`wrk failed:\n${text}`);
  const rps = Number(text.match(/Requests\/sec:\s+([\d.]+)/)?.[1]);
  const p50 = parseLatencyMs(text.match(/\s50%\s+(\S+)/)?.[1] ?? "");
  const p99 = parseLatencyMs(text.match(/\s99%\s+(\S+)/)?.[1] ?? "");
  const requests = Number(text.match(/(\d+) requests in/)?.[1]);
  const non2xx = Number(text.match(/Non-2xx or 3xx responses: (\d+)/)?.[1] ?? 0);
  const cpu = c0 !== null && c1 !== null && requests > 0
    ? Math.round((c1 - c0) / TICKS_PER_S * 1e6 / requests)
    : null;
  return { cpu_us_per_request: cpu, rps, p50_ms: p50, p99_ms: p99, requests, non_2xx: non2xx };
}

async function overhead() {
  progress(`overhead: bare Deno.serve, wrk -t1 -c50 -d${durationS}s`);
  const bare = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () => new Response("hello world\n"),
  );
  const bareResult = await wrk(`http://127.0.0.1:${bare.addr.port}/`, null);
  await bare.shutdown();

  // The node listener's floor: a bare node:http server with the same trivial answer.
  let bareNodeResult: Awaited<ReturnType<typeof wrk>> | null = null;
  if (listeners.includes("node")) {
    progress(`overhead: bare node:http, wrk -t1 -c50 -d${durationS}s`);
    const bareNode = createServer((_req, res) => res.end("hello world\n"));
    await new Promise<void>((resolve) => bareNode.listen(0, "127.0.0.1", resolve));
    const { port } = bareNode.address() as { port: number };
    bareNodeResult = await wrk(`http://127.0.0.1:${port}/`, null);
    await new Promise((resolve) => bareNode.close(resolve));
  }

  // Control for the worker design itself (the spike's "via 1 worker round trip"): a bare
  // handler that echoes through one Web Worker, no router, parsing or metrics.
  progress("overhead: bare handler + one Web Worker round trip (control)");
  const workerFile = await Deno.makeTempFile({ suffix: ".ts" });
  await Deno.writeTextFile(
    workerFile,
    `self.onmessage = (e) => self.postMessage({ id: e.data.id, body: "noop" });\n`,
  );
  const echo = new Worker(new URL(`file://${workerFile}`), { type: "module" });
  const waiting = new Map<number, (body: string) => void>();
  echo.onmessage = (e) => {
    waiting.get(e.data.id)?.(e.data.body);
    waiting.delete(e.data.id);
  };
  let nextId = 0;
  const viaWorker = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen() {} },
    () =>
      new Promise<Response>((resolve) => {
        const id = nextId++;
        waiting.set(id, (body) => resolve(new Response(body)));
        echo.postMessage({ id });
      }),
  );
  const workerResult = await wrk(`http://127.0.0.1:${viaWorker.addr.port}/`, null);
  await viaWorker.shutdown();
  echo.terminate();
  await Deno.remove(workerFile);

  progress("overhead: noop model, 2 replicas, POST a 1x1 PNG");
  const lua = await Deno.makeTempFile({ suffix: ".lua" });
  const bodyLua = Array.from(TINY_PNG, (b) => `\\${b}`).join("");
  await Deno.writeTextFile(
    lua,
    `wrk.method = "POST"\nwrk.body = "${bodyLua}"\nwrk.headers["Content-Type"] = "image/png"\n`,
  );
  const model = await prepareModel({ kind: "noop", service_time_ms: 0 });
  const byListener: Record<string, Awaited<ReturnType<typeof wrk>>> = {};
  for (const listener of listeners) {
    const serve = await startServe(
      config({ num_replicas: 2, max_ongoing_requests: 100 }, listener),
      { model, numCpus: 2 },
    );
    await serve.ready();
    const check = await fetch(serve.url, {
      method: "POST",
      body: TINY_PNG,
      headers: { "content-type": "image/png" },
    });
    if ((await check.text()) !== "noop") throw new Error("noop service did not answer noop");
    progress(`overhead: noop, listener ${listener}, load ${Deno.loadavg().join(" ")}`);
    byListener[listener] = await wrk(serve.url + "/", lua);
    await serve.shutdown();
  }
  const serveResult = byListener[listeners[0]];
  await Deno.remove(lua);
  const ratio = serveResult.rps / bareResult.rps;
  results.overhead = {
    command: `wrk -t1 -c50 -d${durationS}s --latency`,
    bare_deno_serve: bareResult,
    bare_node_http: bareNodeResult,
    bare_plus_worker_round_trip: workerResult,
    noop_2_replicas: serveResult,
    listener: listeners[0],
    noop_2_replicas_by_listener: byListener,
    ratio_to_bare: ratio,
    ratio_to_worker_round_trip: serveResult.rps / workerResult.rps,
    targets: { rps: ">= 20000", p50_ms: "< 2" },
  };
  table.push([
    "bare Deno.serve",
    `${bareResult.rps.toFixed(0)} req/s`,
    `p50 ${bareResult.p50_ms} ms, p99 ${bareResult.p99_ms} ms, CPU ${bareResult.cpu_us_per_request} us/req`,
  ]);
  if (bareNodeResult) {
    table.push([
      "bare node:http",
      `${bareNodeResult.rps.toFixed(0)} req/s`,
      `p50 ${bareNodeResult.p50_ms} ms, p99 ${bareNodeResult.p99_ms} ms, ` +
      `${(bareNodeResult.rps / bareResult.rps * 100).toFixed(0)}% of bare Deno.serve, ` +
      `CPU ${bareNodeResult.cpu_us_per_request} us/req`,
    ]);
  }
  table.push([
    "control: bare + 1 worker round trip",
    `${workerResult.rps.toFixed(0)} req/s`,
    `p50 ${workerResult.p50_ms} ms, p99 ${workerResult.p99_ms} ms, ` +
    `${(workerResult.rps / bareResult.rps * 100).toFixed(0)}% of bare, ` +
    `CPU ${workerResult.cpu_us_per_request} us/req`,
  ]);
  for (const listener of listeners) {
    const r = byListener[listener];
    table.push([
      `noop, 2 replicas (HTTP+router+worker), ${listener} listener`,
      `${r.rps.toFixed(0)} req/s`,
      `p50 ${r.p50_ms} ms, p99 ${r.p99_ms} ms, ` +
      `${(r.rps / bareResult.rps * 100).toFixed(0)}% of bare, ` +
      `${(r.rps / workerResult.rps * 100).toFixed(0)}% of the worker control, ` +
      `CPU ${r.cpu_us_per_request} us/req, non-2xx ${r.non_2xx}`,
    ]);
  }
}

// ---- 2. cold start -------------------------------------------------------------------------

async function waitRunning(serve: ServeHandle, n: number) {
  const deadline = Date.now() + 120_000;
  while (serve.deployment.runningReplicas() < n) {
    if (Date.now() > deadline) throw new Error(`${n} replicas not RUNNING after 120 s`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function coldStart(resnet: Awaited<ReturnType<typeof prepareModel>>) {
  progress("cold start: ResNet-50 native, 1 replica, then a second, then a third");
  const serve = await startServe(
    config({ num_replicas: 1, user_config: { backend: "native" } }),
    { model: resnet, numCpus: 4 },
  );
  await waitRunning(serve, 1);
  serve.deployment.setTargetReplicas(2);
  await waitRunning(serve, 2);
  serve.deployment.setTargetReplicas(3);
  await waitRunning(serve, 3);
  const per = serve.deployment.replicas.map((r) => ({
    replica_id: r.id,
    asked_to_running_ms: (r.runningSinceMs ?? 0) - r.requestedAtMs,
    worker_boot_ms: Math.round(r.spawnToReadyMs - r.initMs),
    model_load_in_worker_ms: Math.round(r.initMs),
    session_create_ms: Math.round(r.loadTimings.sessionCreateMs),
    warmup_ms: Math.round(r.loadTimings.warmupMs),
    backend: r.backend,
  }));
  await serve.shutdown();
  results.cold_start = { model: resnet.info.name, replicas: per, target_ms: "<= 1500" };
  per.forEach((p, i) =>
    table.push([
      `cold start, replica ${i + 1} (${p.backend})`,
      `${p.asked_to_running_ms} ms`,
      `worker boot ${p.worker_boot_ms} ms, model load ${p.model_load_in_worker_ms} ms ` +
      `(session create ${p.session_create_ms}, warm-up ${p.warmup_ms})`,
    ])
  );
}

// ---- 3. throughput -------------------------------------------------------------------------

async function throughput(resnet: Awaited<ReturnType<typeof prepareModel>>) {
  if (resnet.replicaModel.kind !== "onnx") return;
  const image = await testImage();
  const classifier = await createClassifier(resnet.replicaModel.bytes, {
    backend: "native",
    threads: 1,
  });
  // Measured before and after the replicas and averaged: the machine's load drifts.
  const measureSingle = async (label: string) => {
    progress(`throughput: one in-process session, threads 1, ${durationS} s (${label})`);
    let n = 0;
    const t0 = performance.now();
    while (performance.now() - t0 < durationS * 1000) {
      await classifier.classify(image);
      n++;
    }
    return n / ((performance.now() - t0) / 1000);
  };
  const singleBefore = await measureSingle("before");
  progress(`throughput: 2 replicas x 1 CPU over HTTP, 4 closed-loop clients, ${durationS} s`);
  const serve = await startServe(
    config({ num_replicas: 2, user_config: { backend: "native" } }),
    { model: resnet, numCpus: 2 },
  );
  await serve.ready({ timeoutMs: 120_000 });
  let done = 0, failed = 0;
  const t1 = performance.now();
  await Promise.all(Array.from({ length: 4 }, async () => {
    while (performance.now() - t1 < durationS * 1000) {
      const r = await fetch(serve.url, {
        method: "POST",
        body: image,
        headers: { "content-type": "image/jpeg" },
      });
      await r.arrayBuffer();
      if (r.ok) done++;
      else failed++;
    }
  }));
  const served = done / ((performance.now() - t1) / 1000);
  await serve.shutdown();
  const singleAfter = await measureSingle("after");
  // Control: two sessions in this process at once, no HTTP or workers. On an idle 2-core
  // machine it is ~2x single; when it is not, the machine (not serving) is the limit.
  progress(`throughput: control, 2 in-process sessions at once, ${durationS} s`);
  const second = await createClassifier(resnet.replicaModel.bytes, {
    backend: "native",
    threads: 1,
  });
  const counts = [0, 0];
  const tc = performance.now();
  await Promise.all([classifier, second].map(async (c, i) => {
    while (performance.now() - tc < durationS * 1000) {
      await c.classify(image);
      counts[i]++;
    }
  }));
  const control = (counts[0] + counts[1]) / ((performance.now() - tc) / 1000);
  await second.close();
  await classifier.close();
  const single = (singleBefore + singleAfter) / 2;
  const ratio = served / (2 * single);
  results.throughput = {
    image_bytes: image.length,
    single_session_per_s: single,
    single_session_before_after_per_s: [singleBefore, singleAfter],
    two_replicas_http_per_s: served,
    control_two_sessions_in_process_per_s: control,
    ratio_to_control: served / control,
    failed,
    ratio_to_twice_single: ratio,
    target: ">= 0.9",
  };
  table.push([
    "1 session x 1 thread (in-process)",
    `${single.toFixed(1)} /s`,
    `decode + preprocess + infer (${singleBefore.toFixed(1)} before, ${
      singleAfter.toFixed(1)
    } after)`,
  ]);
  table.push([
    "control: 2 sessions in-process",
    `${control.toFixed(1)} /s`,
    `${
      (control / (2 * single) * 100).toFixed(0)
    }% of 2 x single: what the machine gave two sessions`,
  ]);
  table.push([
    "2 replicas x 1 CPU over HTTP",
    `${served.toFixed(1)} /s`,
    `${(ratio * 100).toFixed(0)}% of 2 x single (target >= 90%); ` +
    `${(served / control * 100).toFixed(0)}% of the in-process control`,
  ]);
}

// ---- 4. memory -----------------------------------------------------------------------------

function readKb(pid: number, field: string): number {
  const text = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(text.match(new RegExp(`${field}:\\s+(\\d+) kB`))?.[1] ?? NaN);
}

async function memory(backend: "native" | "wasm", n: number, modelSpec: string) {
  progress(`memory: ${backend}, ${n} replica(s) via deno task deploy`);
  const dir = await Deno.makeTempDir({ prefix: "bench_mem_" });
  const path = `${dir}/c.yaml`;
  await Deno.writeTextFile(
    path,
    `http_options: {host: 127.0.0.1, port: 0}\napplications:\n  - name: default\n    route_prefix: /\n    import_path: main:app\n    deployments:\n      - name: Model\n        num_replicas: ${n}\n        max_ongoing_requests: 1\n        user_config: {model: ${
      JSON.stringify(modelSpec)
    }, backend: ${backend}}\n`,
  );
  const deno = JSON.parse(await Deno.readTextFile(new URL("deno.json", ROOT)));
  const taskArgs = (deno.tasks.deploy.command as string).split(/\s+/).slice(1);
  const child = new Deno.Command(Deno.execPath(), {
    args: [...taskArgs, path, "--num-cpus", String(n), "--no-dashboard"],
    cwd: ROOT,
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const reader = (async () => {
    for await (const c of child.stderr) log += new TextDecoder().decode(c);
  })();
  try {
    const deadline = Date.now() + 300_000;
    while (!log.includes("Deployed app")) {
      if (Date.now() > deadline || log.includes("deploy failed")) {
        throw new Error(`deploy did not get ready:\n${log}`);
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    const url = log.match(/listening on (http:\/\/[\d.:]+)/)![1];
    const image = await testImage();
    // Two rounds of one request per replica (max_ongoing_requests 1 spreads them).
    for (let round = 0; round < 2; round++) {
      await Promise.all(Array.from({ length: n }, async () => {
        const r = await fetch(url, {
          method: "POST",
          body: image,
          headers: { "content-type": "image/jpeg" },
        });
        await r.arrayBuffer();
      }));
    }
    const peakKb = readKb(child.pid, "VmHWM");
    const rssKb = readKb(child.pid, "VmRSS");
    return { backend, replicas: n, peak_rss_mb: peakKb / 1024, rss_mb: rssKb / 1024 };
  } finally {
    child.kill("SIGTERM");
    await child.status;
    await reader.catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
}

// ---- run -----------------------------------------------------------------------------------

try {
  if (!skip.has("overhead")) await overhead();
  const needsModel = !skip.has("coldstart") || !skip.has("throughput") || !skip.has("memory");
  if (needsModel) {
    progress("resolving ResNet-50 (pretrained if downloaded, else the seeded build)");
    const resnet = await prepareModel({ kind: "resnet50" }, {
      onProgress: (p) => progress(`model: ${p.phase} ${p.done}/${p.total}`),
    });
    results.model = resnet.info;
    if (!skip.has("coldstart")) await coldStart(resnet);
    if (!skip.has("throughput")) await throughput(resnet);
    if (!skip.has("memory")) {
      const rows = [];
      for (const backend of args.values.wasm ? ["native", "wasm"] as const : ["native"] as const) {
        for (const n of replicaCounts) rows.push(await memory(backend, n, "resnet50"));
      }
      results.memory = rows;
      for (const r of rows) {
        const base = rows.find((x) => x.backend === r.backend && x.replicas === replicaCounts[0]);
        const per = base && r.replicas > base.replicas
          ? ` (+${
            ((r.peak_rss_mb - base.peak_rss_mb) / (r.replicas - base.replicas)).toFixed(0)
          } MB per extra replica)`
          : "";
        table.push([
          `peak RSS, ${r.replicas} x ResNet-50 (${r.backend})`,
          `${r.peak_rss_mb.toFixed(0)} MB`,
          `RSS now ${r.rss_mb.toFixed(0)} MB${per}`,
        ]);
      }
    }
  }
} catch (error) {
  console.error(`benchmark failed: ${(error as Error).stack ?? error}`);
  results.error = String((error as Error).message ?? error);
}

results.machine = {
  ...(results.machine as Record<string, unknown>),
  load_avg_at_end: Deno.loadavg(),
};
const w0 = Math.max(...table.map((r) => r[0].length), 10);
const w1 = Math.max(...table.map((r) => r[1].length), 10);
console.log(`${"measure".padEnd(w0)}  ${"value".padEnd(w1)}  notes`);
console.log(`${"-".repeat(w0)}  ${"-".repeat(w1)}  -----`);
for (const [a, b, c] of table) console.log(`${a.padEnd(w0)}  ${b.padEnd(w1)}  ${c}`);
console.log(
  `(load average ${
    JSON.stringify((results.machine as { load_avg_at_start: number[] }).load_avg_at_start)
  } at start, ` +
    `${
      JSON.stringify(Deno.loadavg())
    } at end, on ${navigator.hardwareConcurrency} CPUs shared with other engineers)`,
);
await Deno.mkdir(new URL("results/", ROOT), { recursive: true });
const stamp = new Date().toISOString().replace(/[:.]/g, "-");
const out = new URL(`results/serving_benchmark_${stamp}.json`, ROOT);
await Deno.writeTextFile(out, JSON.stringify(results, null, 2) + "\n");
console.log(`wrote ${decodeURIComponent(out.pathname)}`);
if (results.error) Deno.exit(1);
