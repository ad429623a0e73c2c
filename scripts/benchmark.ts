/**
 * `deno task benchmark [--model resnet50] [--backends native,wasm] [--threads 1,N] [--samples 20]
 * [--max-seconds-per-config 6] [--preprocess-runs 30] [--image big.jpg] [--no-build]`
 *
 * Measures the model path and writes `results/benchmark_<timestamp>.json`:
 * - seeded ResNet-50 build time (target <= 5 s) and model load from the cache;
 * - preprocessing of the fixture JPEG (1546x1213; target median <= 25 ms) and of a 4000x3000 JPEG;
 * - per backend and thread count (each in its own Web Worker, as replicas are): session-create
 *   time, warm latency p50/p90/p99 through our classifier AND through a bare ONNX Runtime session
 *   loop on the same model in the same run (alternating calls), their ratio (target <= 1.10),
 *   images/s, and end-to-end classify() latency including preprocessing.
 *
 * webgpu runs only when asked (`--backends webgpu`) or when a real (non-fallback) adapter exists:
 * on a software adapter it is ~7x slower than wasm.
 *
 * @module
 */

import process from "node:process";
import { type Cli, cli } from "../lib/cli/mod.ts";
import { parseModelSpec } from "../lib/config/mod.ts";
import {
  buildResNet50,
  type ConcreteBackend,
  preprocessImage,
  probeWebGpu,
  resolveModel,
  SEEDED_RESNET50_SHA256,
  sha256Hex,
  stderrProgress,
} from "../lib/model/mod.ts";
import type { BenchRequest } from "./_benchmark_worker.ts";
import { intraOpSpinning, prepareModel, startServe } from "../lib/serve/mod.ts";
import { parseConfig } from "../lib/config/mod.ts";

const USAGE = `usage: deno task benchmark [options]
  --model <m>                  resnet50 (default) or a path to an .onnx classifier
  --backends <list>            comma list of native,wasm,webgpu (default: native,wasm, plus webgpu
                               when a real, non-fallback WebGPU adapter exists)
  --threads <list>             thread counts (default: 1,<all CPUs>)
  --samples <n>                timed (ours, bare) pairs per configuration (default 20)
  --max-seconds-per-config <s> stop a configuration's timing loop after this long (default 6)
  --preprocess-runs <n>        preprocessing repetitions (default 30)
  --end-to-end <n>             classify(jpeg) repetitions per configuration (default 5)
  --image <path>               the "large JPEG" (default: ../shared/fixtures/dog.jpg if present)
  --no-build                   skip timing the seeded ResNet-50 build
  --out <path>                 JSON output (default results/benchmark_<timestamp>.json)
  --replica 0                  skip the real-replica rows (a one-replica service per thread count)
  --layouts 2x1,2x2            also load replica layouts (replicas x num_cpus, native) with
                               2 clients per replica, each layout twice in alternating order
  --layout-seconds <s>         load per layout and round (default 15)
  Longer, steadier runs: --samples 200 --max-seconds-per-config 120 --preprocess-runs 200`;

const c: Cli = cli("benchmark", USAGE);
const fail: Cli["fail"] = c.fail;

/** Nearest-rank percentile. */
function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}
const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
const stats = (xs: number[]) => ({
  n: xs.length,
  mean: mean(xs),
  p50: percentile(xs, 50),
  p90: percentile(xs, 90),
  p99: percentile(xs, 99),
  min: Math.min(...xs),
  max: Math.max(...xs),
});
const r1 = (x: number) => Math.round(x * 10) / 10;

/** Median over phase pairs of median(ours phase) / median(bare phase). */
function phaseRatio(ours: number[], bare: number[], phase: number): number {
  const ratios: number[] = [];
  for (let i = 0; i + phase <= Math.min(ours.length, bare.length); i += phase) {
    ratios.push(
      percentile(ours.slice(i, i + phase), 50) / percentile(bare.slice(i, i + phase), 50),
    );
  }
  return percentile(ratios, 50);
}
const r3 = (x: number) => Math.round(x * 1000) / 1000;

function table(rows: (string | number)[][]): string {
  const cells = rows.map((r) => r.map(String));
  const widths = cells[0].map((_, i) => Math.max(...cells.map((r) => r[i].length)));
  return cells.map((r) =>
    r.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i])))
      .join("  ")
  ).join("\n");
}

/**
 * A real replica end to end: a one-replica service with `num_cpus: threads` on the native
 * backend, the image POSTed `runs` times one after another; the replica's own timings.
 */
async function measureReplica(model: string, threads: number, image: Uint8Array, runs: number) {
  return await withService(model, 1, threads, async (url) => {
    const post = () => postTimed(url, image);
    await post();
    await post();
    const xs = [];
    for (let i = 0; i < runs; i++) xs.push(await post());
    const cpus = navigator.hardwareConcurrency;
    return {
      threads,
      intraOpSpinning: intraOpSpinning(threads, {
        clusterCpus: Math.max(cpus, threads),
        machineCpus: cpus,
      }),
      inferenceMs: stats(xs.map((x) => x.inference)),
      preprocessMs: stats(xs.map((x) => x.preprocess)),
      endToEndMs: stats(xs.map((x) => x.e2e)),
    };
  });
}

/** POSTs the image, asking for JSON; the wall time and the replica's own timings. */
async function postTimed(url: string, image: Uint8Array) {
  const t0 = performance.now();
  const res = await fetch(`${url.replace(/\/$/, "")}/?format=json`, {
    method: "POST",
    body: image as Uint8Array<ArrayBuffer>,
    headers: { "content-type": "image/jpeg" },
  });
  const body = await res.json();
  if (res.status !== 200) throw new Error(`the service answered ${res.status}: ${body.detail}`);
  const t = body.timings_ms as { inference: number; preprocess: number };
  return { e2e: performance.now() - t0, inference: t.inference, preprocess: t.preprocess };
}

/**
 * A replica layout under load: `replicas` x `numCpus` (a cluster of `replicas * numCpus` logical
 * CPUs, so all start even when that is more than the machine's cores), `2 * replicas` clients in
 * a closed loop for `durationS`; images/s and latency.
 */
async function measureLayout(
  model: string,
  layout: { replicas: number; numCpus: number },
  image: Uint8Array,
  durationS: number,
) {
  return await withService(model, layout.replicas, layout.numCpus, async (url) => {
    for (let i = 0; i < layout.replicas; i++) await postTimed(url, image);
    const latencies: number[] = [];
    const deadline = performance.now() + durationS * 1000;
    const client = async () => {
      while (performance.now() < deadline) latencies.push((await postTimed(url, image)).e2e);
    };
    const t0 = performance.now();
    await Promise.all(Array.from({ length: 2 * layout.replicas }, client));
    const spanS = (performance.now() - t0) / 1000;
    return {
      layout: `${layout.replicas} x ${layout.numCpus} CPU`,
      intraOpSpinning: intraOpSpinning(layout.numCpus, {
        clusterCpus: layout.replicas * layout.numCpus,
        machineCpus: navigator.hardwareConcurrency,
      }),
      imagesPerS: r1(latencies.length / spanS),
      latencyMs: stats(latencies),
    };
  });
}

/** Runs `fn` against a fresh service of `replicas` native replicas with `numCpus` each. */
async function withService<T>(
  model: string,
  replicas: number,
  numCpus: number,
  fn: (url: string) => Promise<T>,
): Promise<T> {
  const yaml = JSON.stringify({
    http_options: { host: "127.0.0.1", port: 0 },
    applications: [{
      name: "bench",
      import_path: "main:app",
      route_prefix: "/",
      deployments: [{
        name: "Model",
        num_replicas: replicas,
        max_ongoing_requests: 4,
        ray_actor_options: { num_cpus: numCpus },
        user_config: { model, backend: "native" },
      }],
    }],
  });
  const { config } = parseConfig(yaml, {});
  const prepared = await prepareModel(config.applications[0].deployments[0].user_config.model);
  const handle = await startServe(config, {
    model: prepared,
    numCpus: Math.max(navigator.hardwareConcurrency, replicas * numCpus),
    log: () => {},
  });
  try {
    await handle.ready({ timeoutMs: 180_000 });
    return await fn(handle.url);
  } finally {
    await handle.shutdown();
  }
}

async function runWorker(req: BenchRequest) {
  const worker = new Worker(new URL("./_benchmark_worker.ts", import.meta.url), { type: "module" });
  try {
    return await new Promise<Record<string, unknown>>((resolve, reject) => {
      worker.onmessage = (e) => {
        if (e.data.progress) console.error(`  ${e.data.progress}`);
        else if (e.data.ok) resolve(e.data.result);
        else reject(new Error(e.data.error));
      };
      worker.onerror = (e) => {
        e.preventDefault();
        reject(new Error(e.message));
      };
      worker.postMessage(req);
    });
  } finally {
    worker.terminate();
  }
}

async function main(): Promise<void> {
  const { values } = c.parse({
    model: { type: "string", default: "resnet50" },
    backends: { type: "string" },
    threads: { type: "string" },
    samples: { type: "string", default: "20" },
    "max-seconds-per-config": { type: "string", default: "6" },
    "preprocess-runs": { type: "string", default: "30" },
    "end-to-end": { type: "string", default: "5" },
    image: { type: "string" },
    "no-build": { type: "boolean", default: false },
    out: { type: "string" },
    replica: { type: "string", default: "1" },
    layouts: { type: "string", default: "" },
    "layout-seconds": { type: "string", default: "15" },
  });
  const int = (name: string, v: string | undefined, min: number) =>
    c.number(name, v, { integer: true, min })!;
  const samples = int("samples", values.samples, 5);
  const preprocessRuns = int("preprocess-runs", values["preprocess-runs"], 1);
  const e2eRuns = int("end-to-end", values["end-to-end"], 0);
  const maxS = c.number("max-seconds-per-config", values["max-seconds-per-config"], { above: 0 })!;
  const cpus = navigator.hardwareConcurrency;
  const threadList = (values.threads ?? [...new Set([1, cpus])].join(","))
    .split(",").map((t) => int("threads", t.trim(), 1));

  const gpu = await probeWebGpu();
  const realGpu = gpu.available && !gpu.fallback;
  const backends = (values.backends ?? (realGpu ? "native,wasm,webgpu" : "native,wasm"))
    .split(",").map((b) => b.trim()) as ConcreteBackend[];
  for (const b of backends) {
    if (!["native", "wasm", "webgpu"].includes(b)) fail(`unknown backend "${b}" in --backends`);
  }
  const skipped: string[] = [];
  if (!values.backends && !realGpu) {
    skipped.push(
      `webgpu: ${
        gpu.available ? `software fallback adapter (${gpu.description})` : "no adapter"
      }; ask with --backends webgpu`,
    );
  }

  let spec;
  try {
    spec = parseModelSpec(values.model!);
  } catch (e) {
    fail((e as Error).message);
  }
  if (spec.kind === "noop" || spec.kind === "emulate") {
    fail(`--model ${spec.kind} has nothing to benchmark (it computes nothing)`);
  }

  const fixtures = new URL("../../shared/fixtures/", import.meta.url);
  const imagePath = values.image ?? new URL("dog.jpg", fixtures).pathname;
  let image: Uint8Array;
  try {
    image = await Deno.readFile(imagePath);
  } catch {
    if (values.image) fail(`cannot read --image ${values.image}`);
    console.error(`(fixture dog.jpg absent: using a synthetic 1546x1213 JPEG)`);
    const { default: sharp } = await import("sharp");
    image = new Uint8Array(
      await sharp({
        create: {
          width: 1546,
          height: 1213,
          channels: 3,
          background: "#808080",
          noise: { type: "gaussian", mean: 128, sigma: 40 },
        },
      }).jpeg({ quality: 90 }).toBuffer(),
    );
  }

  const startedAt = new Date();
  console.error(
    `benchmark: ${cpus} CPUs; backends ${backends.join(", ")}; threads ${threadList.join(", ")}`,
  );
  console.error(
    "NOTE: the machine may be shared with other busy processes; compare ratios, not absolutes.",
  );

  // 1. Seeded build.
  let build: Record<string, unknown> | null = null;
  if (!values["no-build"]) {
    console.error("timing the seeded ResNet-50 build ...");
    const t0 = performance.now();
    const built = await buildResNet50({ onProgress: stderrProgress("build") });
    const ms = performance.now() - t0;
    const sha = sha256Hex(built.bytes);
    build = {
      ms: r1(ms),
      bytes: built.bytes.length,
      parameters: built.parameters,
      sha256: sha,
      matchesRecordedSha256: sha === SEEDED_RESNET50_SHA256,
      targetMs: 5000,
    };
  }

  // 2. Model from the store (from the cache when already built/downloaded).
  const t1 = performance.now();
  const model = await resolveModel(spec, {
    onProgress: stderrProgress("model"),
    log: (l) => console.error(l),
  });
  const resolveMs = performance.now() - t1;

  // 3. Preprocessing, on the main thread.
  const { default: sharp } = await import("sharp");
  // A 12-megapixel JPEG made from the photo (upscaled), as a phone camera would send.
  const bigJpeg = new Uint8Array(
    await sharp(image).resize(4000, 3000, { fit: "fill" }).jpeg({ quality: 90 }).toBuffer(),
  );
  // Wall time per call, plus process CPU time per call (libvips works on its own threads; CPU
  // time is less inflated than wall time when other processes compete for the cores).
  const timeCalls = async (fn: () => Promise<unknown>, runs: number) => {
    await fn();
    const xs: number[] = [];
    const cpu0 = process.cpuUsage();
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      await fn();
      xs.push(performance.now() - t);
    }
    const cpu = process.cpuUsage(cpu0);
    return { wall: stats(xs), cpuMsPerCall: r1((cpu.user + cpu.system) / 1000 / runs) };
  };
  console.error(`timing preprocessing (${preprocessRuns} runs) ...`);
  const meta = await sharp(image).metadata();
  const preRun = await timeCalls(() => preprocessImage(image), preprocessRuns);
  const pre = preRun.wall;
  // Same-run baseline: sharp decoding the same JPEG to raw pixels, nothing else.
  const decodeRun = await timeCalls(() => sharp(image).raw().toBuffer(), preprocessRuns);
  const bigRuns = Math.max(5, Math.floor(preprocessRuns / 4));
  const preBigRun = await timeCalls(() => preprocessImage(bigJpeg), bigRuns);
  const preBig = preBigRun.wall;
  const input = (await preprocessImage(image)).data;

  // 4. Backends.
  const shared = new Uint8Array(new SharedArrayBuffer(model.bytes.length));
  shared.set(model.bytes);
  const configs: Record<string, unknown>[] = [];
  const failures: string[] = [];
  for (const backend of backends) {
    const threadsHere = backend === "webgpu" ? [1] : threadList;
    for (const threads of threadsHere) {
      console.error(`${backend} x${threads} ...`);
      try {
        const r = await runWorker({
          model: shared,
          backend,
          threads,
          samples,
          maxMsPerConfig: maxS * 1000,
          input,
          image,
          endToEndSamples: e2eRuns,
          intraOpSpinning: intraOpSpinning(threads, { clusterCpus: cpus, machineCpus: cpus }),
        });
        const ours = stats(r.oursMs as number[]);
        const bare = stats(r.bareMs as number[]);
        const e2e = (r.endToEndMs as number[]).length ? stats(r.endToEndMs as number[]) : null;
        configs.push({
          backend,
          threads: r.threads,
          sessionCreateMs: r1(r.sessionCreateMs as number),
          createClassifierTotalMs: r1(r.createClassifierTotalMs as number),
          bareSessionCreateMs: r1(r.bareSessionCreateMs as number),
          warmupMs: r1(r.warmupMs as number),
          oursMs: ours,
          bareMs: bare,
          // Median of per-phase-pair ratios of medians: each (ours, bare) pair of 5-run phases
          // ran back to back, so both saw the same machine load.
          ratioPaired: r3(phaseRatio(r.oursMs as number[], r.bareMs as number[], 5)),
          ratioP50: r3(ours.p50 / bare.p50),
          ratioMean: r3(ours.mean / bare.mean),
          imagesPerSecond: r1(1000 / ours.mean),
          bareImagesPerSecond: r1(1000 / bare.mean),
          endToEndMs: e2e,
          endToEndImagesPerSecond: e2e ? r1(1000 / e2e.mean) : null,
          raw: { oursMs: r.oursMs, bareMs: r.bareMs, endToEndMs: r.endToEndMs },
        });
      } catch (e) {
        failures.push(`${backend} x${threads}: ${(e as Error).message}`);
        console.error(`  failed: ${(e as Error).message}`);
      }
    }
  }

  // 4b. Real replicas end to end (native), one per thread count.
  const replicas: Awaited<ReturnType<typeof measureReplica>>[] = [];
  if (backends.includes("native") && values.replica !== "0") {
    const replicaRuns = Math.max(5, Math.min(samples, 30));
    for (const threads of threadList) {
      console.error(
        `replica num_cpus ${threads} (native, end to end, ${replicaRuns} requests) ...`,
      );
      try {
        replicas.push(await measureReplica(values.model!, threads, image, replicaRuns));
      } catch (e) {
        failures.push(`replica x${threads}: ${(e as Error).message}`);
      }
    }
  }

  // 4c. Replica layouts under load (issue 16 item 6: 2 x 2 CPUs vs 2 x 1 on 2 cores).
  const layoutSpecs = values.layouts.split(",").filter(Boolean).map((l) => {
    const m = /^(\d+)x(\d+(?:\.\d+)?)$/.exec(l.trim());
    if (!m) fail(`--layouts entries are <replicas>x<num_cpus>, e.g. 2x1, got "${l}"`);
    return { replicas: Number(m[1]), numCpus: Number(m[2]) };
  });
  const layoutS = Number(values["layout-seconds"]);
  if (layoutSpecs.length > 0 && !(layoutS > 0)) fail("--layout-seconds must be > 0");
  const layouts: (Awaited<ReturnType<typeof measureLayout>> & { round: number })[] = [];
  for (let round = 0; round < (layoutSpecs.length > 0 ? 2 : 0); round++) {
    const order = round === 0 ? layoutSpecs : [...layoutSpecs].reverse();
    for (const spec of order) {
      console.error(`layout ${spec.replicas} x ${spec.numCpus} CPU, round ${round + 1} ...`);
      try {
        layouts.push({
          ...(await measureLayout(values.model!, spec, image, layoutS)),
          round: round + 1,
        });
      } catch (e) {
        failures.push(`layout ${spec.replicas}x${spec.numCpus}: ${(e as Error).message}`);
      }
    }
  }

  // 5. Report.
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : "-");
  console.log("");
  console.log(
    `model: ${model.name} (${(model.bytes.length / 1e6).toFixed(1)} MB, resolved in ${
      f(resolveMs)
    } ms from ${model.source})`,
  );
  if (build) {
    console.log(
      `seeded ResNet-50 build: ${build.ms} ms (target <= 5000 ms), sha256 ${
        build.matchesRecordedSha256 ? "matches the recorded hash" : "DIFFERS from the recorded hash"
      }`,
    );
  }
  console.log(
    `preprocessing ${meta.width}x${meta.height} JPEG: median ${f(pre.p50)} ms, p90 ${
      f(pre.p90)
    } ms, min ${f(pre.min)} ms, CPU ${preRun.cpuMsPerCall} ms/call (target median <= 25 ms); ` +
      `full decode-to-raw baseline median ${f(decodeRun.wall.p50)} ms (ratio ${
        (pre.p50 / decodeRun.wall.p50).toFixed(2)
      }); 4000x3000 JPEG: median ${f(preBig.p50)} ms`,
  );
  console.log("");
  const rows: (string | number)[][] = [[
    "backend",
    "thr",
    "create ms*",
    "bare create",
    "p50 ms",
    "p90 ms",
    "p99 ms",
    "bare p50",
    "ratio pair",
    "ratio p50",
    "img/s",
    "e2e p50",
    "e2e img/s",
    "n",
  ]];
  for (const c of configs) {
    const o = c.oursMs as ReturnType<typeof stats>;
    const b = c.bareMs as ReturnType<typeof stats>;
    const e = c.endToEndMs as ReturnType<typeof stats> | null;
    rows.push([
      c.backend as string,
      c.threads as number,
      f(c.sessionCreateMs as number),
      f(c.bareSessionCreateMs as number),
      f(o.p50),
      f(o.p90),
      f(o.p99),
      f(b.p50),
      (c.ratioPaired as number).toFixed(3),
      (c.ratioP50 as number).toFixed(3),
      f(c.imagesPerSecond as number),
      e ? f(e.p50) : "-",
      e ? f(c.endToEndImagesPerSecond as number) : "-",
      o.n,
    ]);
  }
  console.log(table(rows));
  console.log("");
  console.log(
    "ratio = our classifier (tensor in, top-5 out) / bare session.run() (ORT defaults) on the " +
      "same model, in alternating 5-run phases in one worker; 'pair' = median of phase-pair " +
      "ratios; target <= 1.10 (2+ threads: <= 1.05). e2e = classify(JPEG) incl. preprocessing.",
  );
  console.log(
    "* create ms = our session, the first in a fresh worker (pays ORT's library/wasm load, as a " +
      "replica start does); bare create = the second session in the same worker.",
  );
  if (replicas.length > 0) {
    const bareP50 = (threads: number) =>
      (configs.find((c) => c.backend === "native" && c.threads === threads)?.bareMs as
        | ReturnType<typeof stats>
        | undefined)?.p50 ?? NaN;
    const one = replicas.find((r) => r.threads === 1);
    console.log("");
    const replicaRows: (string | number)[][] = [[
      "replica",
      "spin",
      "inference p50",
      "bare p50 (above)",
      "ratio",
      "preprocess p50",
      "vs 1-CPU",
      "e2e p50",
      "n",
    ]];
    for (const r of replicas) {
      replicaRows.push([
        `num_cpus ${r.threads}`,
        r.intraOpSpinning ? "on" : "off",
        f(r.inferenceMs.p50),
        f(bareP50(r.threads)),
        (r.inferenceMs.p50 / bareP50(r.threads)).toFixed(3),
        f(r.preprocessMs.p50),
        one ? (r.preprocessMs.p50 / one.preprocessMs.p50).toFixed(3) : "-",
        f(r.endToEndMs.p50),
        r.inferenceMs.n,
      ]);
    }
    console.log(table(replicaRows));
    console.log(
      "replica = a real one-replica service (native, num_cpus N), the image POSTed one request " +
        "at a time; its own timings_ms. ratio = its inference p50 / the bare session's p50 at " +
        "the same threads in the table above (target <= 1.05 at 2 threads).",
    );
  }
  if (layouts.length > 0) {
    console.log("");
    const layoutRows: (string | number)[][] = [[
      "layout",
      "round",
      "spin",
      "img/s",
      "p50 ms",
      "p90 ms",
      "n",
    ]];
    for (const l of layouts) {
      layoutRows.push([
        l.layout,
        l.round,
        l.intraOpSpinning ? "on" : "off",
        f(l.imagesPerS),
        f(l.latencyMs.p50),
        f(l.latencyMs.p90),
        l.latencyMs.n,
      ]);
    }
    console.log(table(layoutRows));
    console.log(
      `layouts: native replicas, 2 clients per replica in a closed loop, ${layoutS} s each, ` +
        "both rounds in opposite order (compare within a round).",
    );
  }
  for (const s of skipped) console.log(`skipped ${s}`);
  for (const x of failures) console.log(`FAILED ${x}`);

  const stamp = startedAt.toISOString().replace(/[:.]/g, "-");
  const out = values.out ?? new URL(`../results/benchmark_${stamp}.json`, import.meta.url).pathname;
  const json = {
    startedAt: startedAt.toISOString(),
    durationS: r1((Date.now() - startedAt.getTime()) / 1000),
    command: `deno task benchmark ${Deno.args.join(" ")}`.trim(),
    machine: {
      cpus,
      os: Deno.build.os,
      arch: Deno.build.arch,
      deno: Deno.version.deno,
      loadavg: (() => {
        try {
          return Deno.loadavg();
        } catch {
          return null;
        }
      })(),
      webgpu: gpu,
    },
    caveat: "Measured on a machine possibly shared with other busy processes; ratios to the " +
      "bare-session baseline measured in the same run are the meaningful figures.",
    model: {
      name: model.name,
      sha256: model.sha256,
      source: model.source,
      bytes: model.bytes.length,
      pretrained: model.pretrained,
      labelsMeaningful: model.labelsMeaningful,
      resolveMs: r1(resolveMs),
    },
    build,
    preprocess: {
      image: { path: values.image ?? imagePath, width: meta.width, height: meta.height },
      ms: pre,
      cpuMsPerCall: preRun.cpuMsPerCall,
      decodeOnlyBaselineMs: decodeRun.wall,
      decodeOnlyCpuMsPerCall: decodeRun.cpuMsPerCall,
      ratioToDecodeOnlyP50: r3(pre.p50 / decodeRun.wall.p50),
      targetMedianMs: 25,
      large4000x3000Ms: preBig,
      large4000x3000CpuMsPerCall: preBigRun.cpuMsPerCall,
    },
    configs,
    replicas,
    layouts,
    skipped,
    failures,
    targets: {
      wrapperRatioMax: 1.1,
      wrapperRatioOk: configs.every((c) => (c.ratioPaired as number) <= 1.1),
      preprocessMedianOk: pre.p50 <= 25,
      buildOk: build ? (build.ms as number) <= 5000 : null,
    },
  };
  await Deno.mkdir(out.replace(/\/[^/]*$/, ""), { recursive: true });
  await Deno.writeTextFile(out, JSON.stringify(json, null, 2) + "\n");
  console.log(`wrote ${out} (${json.durationS} s)`);
}

await main();
