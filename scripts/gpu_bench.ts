/**
 * `deno task gpu-bench [--out DIR] [--batches 1,8,32] [--budget-s 240] [--quick]
 * [--ort-web-dir DIR] [--ort-node-dir DIR]`
 *
 * The GPU benchmark: ResNet-50 (the seeded build, fp32 and fp16) on every backend this machine
 * has, at several batch sizes, with and without each WebGPU lever, so that `auto`'s choice and the
 * levers can be judged from one table. It runs from the repository (`deno task gpu-bench`) and,
 * bundled by `scripts/pack_gpu_bench.ts`, on a bare GPU machine with no Deno and no network
 * (`docs/backends.md` says how). Writes `gpu_bench.json` and `gpu_bench.md` into `--out`.
 *
 * Rows:
 * - webgpu, each variant x batch: `base` (NCHW, CPU tensors), `nhwc` (`preferredLayout`),
 *   `static` (`freeDimensionOverrides` for the batch), `capture` (static + `enableGraphCapture`
 *   with input and output in GPU buffers), `fp16` (the half-precision model), `fp16+nhwc+capture`.
 * - native (onnxruntime-node CPU): one session with all cores at each batch, and one 1-thread
 *   session per core in as many Web Workers at batch 1 (the replica layout `auto` would compete
 *   with), aggregate images/s.
 * - wasm (onnxruntime-web CPU, 1 thread) at batch 1, for scale.
 * - dispatch overhead: raw WebGPU timings of empty compute dispatches (one pass each, one
 *   submit) and of a submit + read-back round trip, and the number of dispatches ORT issues per
 *   run, counted by wrapping `GPUComputePassEncoder.dispatchWorkgroups`: together they bound what
 *   any ORT-web WebGPU run can reach at batch 1.
 *
 * @module
 */

import { parseArgs } from "node:util";
import { createRequire } from "node:module";
import { buildResNet50 } from "../lib/model/resnet50.ts";

// deno-lint-ignore no-explicit-any
type Any = any;

/** A timed row of the table. */
interface Row {
  backend: string;
  variant: string;
  batch: number;
  threads: number;
  p50Ms: number | null;
  p90Ms: number | null;
  imagesPerS: number | null;
  runs: number;
  createMs: number | null;
  firstRunMs: number | null;
  /** Dispatches ORT issued per run (webgpu only). */
  dispatchesPerRun?: number;
  /** Max |logit - base logit| of image 0, against the base variant at the same batch. */
  maxAbsDiffVsBase?: number;
  /** Share of images whose top-1 class equals the fp32 base's (fp16 rows). */
  top1AgreementVsBase?: number;
  error?: string;
}

const NATIVE_WORKER_NAME = "gpu_bench_native";
/** Deno's Worker, kept: ORT-web's glue replaces `globalThis.Worker` with node's when it starts. */
const DenoWorker = globalThis.Worker;
const SIDE = 224;
const IMAGE_FLOATS = 3 * SIDE * SIDE;

function percentile(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))];
}

/** Seeded input images in [0, 1): each image differs, so top-1 agreement means something. */
function seededInput(batch: number, seed = 7): Float32Array {
  const out = new Float32Array(batch * IMAGE_FLOATS);
  let a = seed >>> 0;
  for (let i = 0; i < out.length; i++) {
    a = (Math.imul(a, 1664525) + 1013904223) >>> 0;
    out[i] = (a >>> 8) / 16777216;
  }
  return out;
}

function top1(logits: Float32Array, batch: number): number[] {
  const classes = logits.length / batch;
  const out: number[] = [];
  for (let b = 0; b < batch; b++) {
    let best = 0;
    for (let c = 1; c < classes; c++) {
      if (logits[b * classes + c] > logits[b * classes + best]) best = c;
    }
    out.push(best);
  }
  return out;
}

/** Warm-up runs, then timed runs until `maxRuns` or `budgetMs` (at least `minRuns`). */
async function timeRuns(
  run: () => Promise<unknown>,
  opts: { warmup: number; minRuns: number; maxRuns: number; budgetMs: number },
): Promise<{ times: number[]; firstRunMs: number }> {
  const t0 = performance.now();
  await run();
  const firstRunMs = performance.now() - t0;
  for (let i = 1; i < opts.warmup; i++) await run();
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < opts.minRuns ||
    (times.length < opts.maxRuns && performance.now() - start < opts.budgetMs)
  ) {
    const s = performance.now();
    await run();
    times.push(performance.now() - s);
  }
  return { times, firstRunMs };
}

function rowFrom(
  base: Omit<Row, "p50Ms" | "p90Ms" | "imagesPerS" | "runs">,
  times: number[],
): Row {
  const p50 = percentile(times, 50);
  return {
    ...base,
    p50Ms: round(p50, 2),
    p90Ms: round(percentile(times, 90), 2),
    imagesPerS: round((base.batch * 1000) / p50, 1),
    runs: times.length,
  };
}

function round(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}

// ---------------------------------------------------------------- dispatch counting

let dispatches = 0;
function countDispatches(): void {
  const proto = (globalThis as Any).GPUComputePassEncoder?.prototype;
  if (!proto || proto.__counted) return;
  const original = proto.dispatchWorkgroups;
  proto.dispatchWorkgroups = function (...args: unknown[]) {
    dispatches++;
    return original.apply(this, args);
  };
  proto.__counted = true;
}

// ---------------------------------------------------------------- WebGPU via ORT-web

interface WebGpuVariant {
  name: string;
  model: "fp32" | "fp16";
  layout: "NCHW" | "NHWC";
  staticShape: boolean;
  capture: boolean;
}

const VARIANTS: WebGpuVariant[] = [
  { name: "base", model: "fp32", layout: "NCHW", staticShape: false, capture: false },
  { name: "nhwc", model: "fp32", layout: "NHWC", staticShape: false, capture: false },
  { name: "capture", model: "fp32", layout: "NCHW", staticShape: true, capture: true },
  { name: "fp16", model: "fp16", layout: "NCHW", staticShape: false, capture: false },
  { name: "fp16+nhwc+capture", model: "fp16", layout: "NHWC", staticShape: true, capture: true },
  { name: "nhwc+capture", model: "fp32", layout: "NHWC", staticShape: true, capture: true },
  { name: "fp16+nhwc", model: "fp16", layout: "NHWC", staticShape: false, capture: false },
  { name: "static", model: "fp32", layout: "NCHW", staticShape: true, capture: false },
];

async function webgpuRow(
  ort: Any,
  models: Record<"fp32" | "fp16", Uint8Array>,
  v: WebGpuVariant,
  batch: number,
  timing: { minRuns: number; maxRuns: number; budgetMs: number },
  reference: Map<number, Float32Array>,
): Promise<Row> {
  const base = { backend: "webgpu", variant: v.name, batch, threads: 1 };
  const options: Record<string, unknown> = {
    executionProviders: [{ name: "webgpu", preferredLayout: v.layout }],
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  };
  if (v.staticShape) options.freeDimensionOverrides = { N: batch };
  if (v.capture) {
    options.enableGraphCapture = true;
    options.preferredOutputLocation = "gpu-buffer";
  }
  const dims = [batch, 3, SIDE, SIDE];
  const data = seededInput(batch);
  let session: Any = null;
  const gpuBuffers: Any[] = [];
  try {
    const c0 = performance.now();
    session = await ort.InferenceSession.create(models[v.model], options);
    const createMs = performance.now() - c0;
    let run: () => Promise<Float32Array>;
    if (v.capture) {
      const device: Any = await ort.env.webgpu.device;
      const U = (globalThis as Any).GPUBufferUsage;
      const inBuf = device.createBuffer({
        size: data.byteLength,
        usage: U.STORAGE | U.COPY_SRC | U.COPY_DST,
      });
      const outBytes = batch * 1000 * 4;
      const outBuf = device.createBuffer({
        size: outBytes,
        usage: U.STORAGE | U.COPY_SRC | U.COPY_DST,
      });
      const staging = device.createBuffer({ size: outBytes, usage: U.MAP_READ | U.COPY_DST });
      gpuBuffers.push(inBuf, outBuf, staging);
      const feeds = {
        input: ort.Tensor.fromGpuBuffer(inBuf, { dataType: "float32", dims }),
      };
      const fetches = {
        output: ort.Tensor.fromGpuBuffer(outBuf, { dataType: "float32", dims: [batch, 1000] }),
      };
      run = async () => {
        device.queue.writeBuffer(inBuf, 0, data);
        await session.run(feeds, fetches);
        const enc = device.createCommandEncoder();
        enc.copyBufferToBuffer(outBuf, 0, staging, 0, outBytes);
        device.queue.submit([enc.finish()]);
        await staging.mapAsync((globalThis as Any).GPUMapMode.READ);
        const copy = new Float32Array(staging.getMappedRange().slice(0));
        staging.unmap();
        return copy;
      };
    } else {
      run = async () => {
        const out = await session.run({ input: new ort.Tensor("float32", data, dims) });
        const t = out.output;
        const values = t.location === "cpu" ? t.data : await t.getData(true);
        return values as Float32Array;
      };
    }
    const first = await run();
    const before = dispatches;
    const again = await run();
    const perRun = dispatches - before;
    const { times, firstRunMs } = await timeRuns(run, { warmup: 1, ...timing });
    const row = rowFrom({ ...base, createMs: round(createMs, 0), firstRunMs: null }, times);
    row.firstRunMs = round(firstRunMs, 1);
    row.dispatchesPerRun = perRun;
    const ref = reference.get(batch);
    if (v.name === "base") reference.set(batch, again);
    else if (ref) {
      let diff = 0;
      for (let i = 0; i < 1000; i++) diff = Math.max(diff, Math.abs(first[i] - ref[i]));
      row.maxAbsDiffVsBase = round(diff, 5);
      const a = top1(first, batch), b = top1(ref, batch);
      row.top1AgreementVsBase = round(a.filter((x, i) => x === b[i]).length / batch, 3);
    }
    return row;
  } catch (e) {
    return errorRow(base, e);
  } finally {
    for (const b of gpuBuffers) b.destroy?.();
    await session?.release?.().catch(() => {});
  }
}

function errorRow(base: Pick<Row, "backend" | "variant" | "batch" | "threads">, e: unknown): Row {
  const stack = String((e as Error)?.stack ?? "").split("\n").slice(1, 3).map((l) => l.trim());
  const message = [String((e as Error)?.message ?? e).split("\n")[0], ...stack].join(" | ")
    .slice(0, 400);
  return {
    ...base,
    p50Ms: null,
    p90Ms: null,
    imagesPerS: null,
    runs: 0,
    createMs: null,
    firstRunMs: null,
    error: message,
  };
}

// ---------------------------------------------------------------- raw WebGPU overhead

/** What empty work costs on this adapter through Deno's WebGPU (no ORT). */
interface DispatchOverhead {
  /** Per dispatch, each in its own compute pass, all in one submit (µs). */
  perPassDispatchUs: number;
  /** Per dispatch, all in one compute pass (µs). */
  perDispatchInOnePassUs: number;
  /** Per submit of one small pass, waited on (µs). */
  perSubmitUs: number;
  /** writeBuffer + one dispatch + copy + mapAsync read-back, end to end (µs, p50). */
  roundTripUs: number;
}

async function dispatchOverhead(device: Any, n: number): Promise<DispatchOverhead> {
  const U = (globalThis as Any).GPUBufferUsage;
  const module = device.createShaderModule({
    code: `@group(0) @binding(0) var<storage, read_write> buf: array<f32>;
      @compute @workgroup_size(64) fn main(@builtin(global_invocation_id) id: vec3u) {
        buf[id.x] = buf[id.x] + 1.0;
      }`,
  });
  const pipeline = device.createComputePipeline({
    layout: "auto",
    compute: { module, entryPoint: "main" },
  });
  const buf = device.createBuffer({ size: 256, usage: U.STORAGE | U.COPY_SRC | U.COPY_DST });
  const staging = device.createBuffer({ size: 256, usage: U.MAP_READ | U.COPY_DST });
  const bind = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: buf } }],
  });
  const timed = async (fn: () => void) => {
    await device.queue.onSubmittedWorkDone();
    const t0 = performance.now();
    fn();
    await device.queue.onSubmittedWorkDone();
    return (performance.now() - t0) * 1000;
  };
  const passes = await timed(() => {
    const enc = device.createCommandEncoder();
    for (let i = 0; i < n; i++) {
      const pass = enc.beginComputePass();
      pass.setPipeline(pipeline);
      pass.setBindGroup(0, bind);
      pass.dispatchWorkgroups(1);
      pass.end();
    }
    device.queue.submit([enc.finish()]);
  });
  const onePass = await timed(() => {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    for (let i = 0; i < n; i++) pass.dispatchWorkgroups(1);
    pass.end();
    device.queue.submit([enc.finish()]);
  });
  const submits = Math.max(10, Math.floor(n / 10));
  const t0 = performance.now();
  for (let i = 0; i < submits; i++) {
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
    pass.end();
    device.queue.submit([enc.finish()]);
    await device.queue.onSubmittedWorkDone();
  }
  const perSubmit = ((performance.now() - t0) * 1000) / submits;
  const trips: number[] = [];
  const zeros = new Float32Array(64);
  for (let i = 0; i < 50; i++) {
    const s = performance.now();
    device.queue.writeBuffer(buf, 0, zeros);
    const enc = device.createCommandEncoder();
    const pass = enc.beginComputePass();
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bind);
    pass.dispatchWorkgroups(1);
    pass.end();
    enc.copyBufferToBuffer(buf, 0, staging, 0, 256);
    device.queue.submit([enc.finish()]);
    await staging.mapAsync((globalThis as Any).GPUMapMode.READ);
    staging.unmap();
    trips.push((performance.now() - s) * 1000);
  }
  buf.destroy();
  staging.destroy();
  return {
    perPassDispatchUs: round(passes / n, 2),
    perDispatchInOnePassUs: round(onePass / n, 2),
    perSubmitUs: round(perSubmit, 1),
    roundTripUs: round(percentile(trips, 50), 1),
  };
}

// ---------------------------------------------------------------- native (workers)

interface NativeJob {
  ortNodeDir: string | null;
  model: Uint8Array;
  threads: number;
  batch: number;
  /** Timed runs until this many ms have passed (after 2 warm-ups). */
  budgetMs: number;
  minRuns: number;
  maxRuns: number;
  /** Start timing when this shared flag turns 1 (so workers start together), or at once. */
  startFlag?: Int32Array;
}

interface NativeResult {
  times: number[];
  createMs: number;
  firstRunMs: number;
  spanMs: number;
  error?: string;
}

async function loadOrtNode(dir: string | null): Promise<Any> {
  if (dir) return createRequire(import.meta.url)(dir);
  const specifier = "onnxruntime-node";
  const mod = await import(specifier);
  return mod.default?.InferenceSession ? mod.default : mod;
}

async function nativeJob(job: NativeJob): Promise<NativeResult> {
  const ort = await loadOrtNode(job.ortNodeDir);
  const c0 = performance.now();
  const session = await ort.InferenceSession.create(job.model, {
    executionProviders: ["cpu"],
    intraOpNumThreads: job.threads,
    interOpNumThreads: 1,
    graphOptimizationLevel: "all",
    logSeverityLevel: 3,
  });
  const createMs = performance.now() - c0;
  const data = seededInput(job.batch);
  const run = () =>
    session.run({ input: new ort.Tensor("float32", data, [job.batch, 3, SIDE, SIDE]) });
  const f0 = performance.now();
  await run();
  const firstRunMs = performance.now() - f0;
  await run();
  if (job.startFlag) {
    Atomics.add(job.startFlag, 1, 1);
    while (Atomics.load(job.startFlag, 0) === 0) await new Promise((r) => setTimeout(r, 1));
  }
  const times: number[] = [];
  const start = performance.now();
  while (
    times.length < job.minRuns ||
    (times.length < job.maxRuns && performance.now() - start < job.budgetMs)
  ) {
    const s = performance.now();
    await run();
    times.push(performance.now() - s);
  }
  const spanMs = performance.now() - start;
  await session.release();
  return { times, createMs, firstRunMs, spanMs };
}

function runInWorker(job: NativeJob): { ready: Promise<void>; done: Promise<NativeResult> } {
  const worker = new DenoWorker(import.meta.url, { type: "module", name: NATIVE_WORKER_NAME });
  const done = new Promise<NativeResult>((resolve) => {
    worker.onmessage = (e) => {
      worker.terminate();
      resolve(e.data as NativeResult);
    };
    worker.onerror = (e) => {
      e.preventDefault();
      worker.terminate();
      resolve({ times: [], createMs: 0, firstRunMs: 0, spanMs: 0, error: e.message });
    };
  });
  worker.postMessage(job);
  return { ready: Promise.resolve(), done };
}

async function nativeRows(
  ortNodeDir: string | null,
  model: Uint8Array,
  batches: number[],
  cores: number,
  budgetMs: number,
): Promise<Row[]> {
  const rows: Row[] = [];
  for (const batch of batches) {
    const base = {
      backend: "native",
      variant: `1 session x ${cores} threads`,
      batch,
      threads: cores,
    };
    const r = await runInWorker({
      ortNodeDir,
      model,
      threads: cores,
      batch,
      budgetMs,
      minRuns: 3,
      maxRuns: 200,
    }).done;
    if (r.error) rows.push(errorRow(base, r.error));
    else {
      const row = rowFrom({ ...base, createMs: round(r.createMs, 0), firstRunMs: null }, r.times);
      row.firstRunMs = round(r.firstRunMs, 1);
      rows.push(row);
    }
  }
  // One 1-thread session per core, all running at once: the layout of `cores` 1-CPU replicas.
  for (const batch of [1]) {
    const base = {
      backend: "native",
      variant: `${cores} workers x 1 thread`,
      batch,
      threads: cores,
    };
    const flag = new Int32Array(new SharedArrayBuffer(8));
    const jobs = Array.from({ length: cores }, () =>
      runInWorker({
        ortNodeDir,
        model,
        threads: 1,
        batch,
        budgetMs,
        minRuns: 3,
        maxRuns: 1000,
        startFlag: flag,
      }));
    while (Atomics.load(flag, 1) < cores) {
      await new Promise((r) => setTimeout(r, 10));
    }
    Atomics.store(flag, 0, 1);
    const results = await Promise.all(jobs.map((j) => j.done));
    const failed = results.find((r) => r.error);
    if (failed) {
      rows.push(errorRow(base, failed.error));
      continue;
    }
    const all = results.flatMap((r) => r.times);
    const images = all.length * batch;
    const span = Math.max(...results.map((r) => r.spanMs));
    const row = rowFrom(
      { ...base, createMs: round(results[0].createMs, 0), firstRunMs: null },
      all,
    );
    row.imagesPerS = round((images * 1000) / span, 1);
    rows.push(row);
  }
  return rows;
}

// ---------------------------------------------------------------- main

function markdown(rows: Row[]): string {
  const head = "| backend | variant | batch | p50 ms | p90 ms | images/s | runs | create ms | " +
    "first run ms | dispatches/run | max abs diff vs base | top-1 vs base | error |";
  const lines = [head, "|" + " --- |".repeat(13)];
  const f = (x: unknown) => (x === null || x === undefined ? "" : String(x));
  for (const r of rows) {
    lines.push(
      `| ${r.backend} | ${r.variant} | ${r.batch} | ${f(r.p50Ms)} | ${f(r.p90Ms)} | ${
        f(r.imagesPerS)
      } | ${r.runs} | ${f(r.createMs)} | ${f(r.firstRunMs)} | ${f(r.dispatchesPerRun)} | ${
        f(r.maxAbsDiffVsBase)
      } | ${f(r.top1AgreementVsBase)} | ${f(r.error)} |`,
    );
  }
  return lines.join("\n");
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    args: Deno.args,
    options: {
      out: { type: "string", default: "results/gpu_bench" },
      batches: { type: "string", default: "1,8,32" },
      "budget-s": { type: "string", default: "240" },
      "per-row-s": { type: "string", default: "3" },
      quick: { type: "boolean", default: false },
      "ort-web-dir": { type: "string" },
      "ort-node-dir": { type: "string" },
      skip: { type: "string", default: "" },
      variants: { type: "string", default: VARIANTS.map((v) => v.name).join(",") },
    },
  });
  const batches = values.batches.split(",").map(Number);
  if (batches.some((b) => !Number.isInteger(b) || b < 1)) {
    console.error(`gpu-bench: --batches must be positive integers, got ${values.batches}`);
    Deno.exit(2);
  }
  const budgetMs = Number(values["budget-s"]) * 1000;
  const perRowMs = Number(values["per-row-s"]) * 1000;
  const skip = new Set(values.skip.split(",").filter(Boolean));
  const deadline = performance.now() + budgetMs;
  const loadavg = () => {
    try {
      return Deno.readTextFileSync("/proc/loadavg").trim();
    } catch {
      return "unknown";
    }
  };
  const cores = navigator.hardwareConcurrency ?? 1;
  console.log(`gpu-bench: ${cores} CPUs, loadavg ${loadavg()}`);

  const b0 = performance.now();
  const models = {
    fp32: buildResNet50().bytes,
    fp16: buildResNet50({ precision: "float16" }).bytes,
  };
  console.log(`gpu-bench: built fp32 + fp16 ResNet-50 in ${Math.round(performance.now() - b0)} ms`);

  const rows: Row[] = [];
  const report: Record<string, unknown> = {
    startedAt: new Date().toISOString(),
    cpus: cores,
    loadavgBefore: loadavg(),
    deno: Deno.version,
  };

  // Adapter.
  const gpu = (navigator as Any).gpu;
  const adapter = gpu ? await gpu.requestAdapter() : null;
  report.adapter = adapter
    ? {
      ...Object.fromEntries(
        ["vendor", "architecture", "device", "description"].map((k) => [k, adapter.info?.[k]]),
      ),
      isFallbackAdapter: Boolean(adapter.info?.isFallbackAdapter),
      features: [...adapter.features].sort(),
    }
    : null;
  console.log(`gpu-bench: adapter ${JSON.stringify(report.adapter)}`);

  // ORT-web (webgpu bundle; also runs its wasm EP).
  let ortWeb: Any = null;
  try {
    const dir = values["ort-web-dir"];
    const specifier = dir
      ? new URL(`file://${dir.replace(/\/?$/, "/")}ort.webgpu.bundle.min.mjs`).href
      : "onnxruntime-web/webgpu";
    const mod = await import(specifier);
    ortWeb = mod.default?.InferenceSession ? mod.default : mod;
    ortWeb.env.wasm.numThreads = 1;
    report.ortWebVersion = ortWeb.env.versions?.web ?? null;
  } catch (e) {
    report.ortWebError = String((e as Error).message);
  }

  const timing = { minRuns: values.quick ? 2 : 5, maxRuns: 200, budgetMs: perRowMs };
  if (ortWeb && adapter && !skip.has("webgpu")) {
    countDispatches();
    const reference = new Map<number, Float32Array>();
    const wanted = new Set(values.variants.split(","));
    for (const v of VARIANTS.filter((x) => wanted.has(x.name))) {
      for (const batch of batches) {
        if (performance.now() > deadline) {
          rows.push(
            errorRow(
              { backend: "webgpu", variant: v.name, batch, threads: 1 },
              "skipped: --budget-s spent",
            ),
          );
          continue;
        }
        const row = await webgpuRow(ortWeb, models, v, batch, timing, reference);
        rows.push(row);
        console.log(`  ${JSON.stringify(row)}`);
      }
    }
    try {
      // Its own device: the figures are the adapter's, not ORT's.
      const device = await adapter.requestDevice();
      report.dispatchOverhead = await dispatchOverhead(device, 2000);
      device.destroy();
      console.log(`gpu-bench: dispatch overhead ${JSON.stringify(report.dispatchOverhead)}`);
    } catch (e) {
      report.dispatchOverheadError = String((e as Error).message);
    }
  }

  if (!skip.has("native")) {
    try {
      const native = await nativeRows(
        values["ort-node-dir"] ?? null,
        models.fp32,
        batches,
        cores,
        perRowMs,
      );
      for (const r of native) console.log(`  ${JSON.stringify(r)}`);
      rows.push(...native);
    } catch (e) {
      rows.push(errorRow({ backend: "native", variant: "-", batch: 1, threads: cores }, e));
    }
  }

  if (ortWeb && !skip.has("wasm")) {
    let session: Any = null;
    try {
      const c0 = performance.now();
      session = await ortWeb.InferenceSession.create(models.fp32, {
        executionProviders: ["wasm"],
        graphOptimizationLevel: "all",
        logSeverityLevel: 3,
      });
      const createMs = performance.now() - c0;
      const data = seededInput(1);
      const { times, firstRunMs } = await timeRuns(
        () => session.run({ input: new ortWeb.Tensor("float32", data, [1, 3, SIDE, SIDE]) }),
        { warmup: 1, minRuns: 3, maxRuns: 10, budgetMs: perRowMs },
      );
      const row = rowFrom({
        backend: "wasm",
        variant: "1 thread",
        batch: 1,
        threads: 1,
        createMs: round(createMs, 0),
        firstRunMs: null,
      }, times);
      row.firstRunMs = round(firstRunMs, 1);
      rows.push(row);
    } catch (e) {
      rows.push(errorRow({ backend: "wasm", variant: "1 thread", batch: 1, threads: 1 }, e));
    } finally {
      await session?.release?.().catch(() => {});
    }
  }

  report.loadavgAfter = loadavg();
  report.rows = rows;
  await Deno.mkdir(values.out, { recursive: true });
  const md = markdown(rows);
  await Deno.writeTextFile(`${values.out}/gpu_bench.json`, JSON.stringify(report, null, 2) + "\n");
  await Deno.writeTextFile(
    `${values.out}/gpu_bench.md`,
    `loadavg before: ${report.loadavgBefore}; after: ${report.loadavgAfter}\n\n${md}\n\n` +
      `dispatch overhead: ${JSON.stringify(report.dispatchOverhead ?? null)}\n`,
  );
  console.log(md);
  console.log(`dispatch overhead: ${JSON.stringify(report.dispatchOverhead ?? null)}`);
  console.log(`gpu-bench: wrote ${values.out}/gpu_bench.json and .md`);
}

if ((globalThis as Any).name === NATIVE_WORKER_NAME) {
  const scope = self as Any;
  scope.onmessage = async (e: MessageEvent<NativeJob>) => {
    try {
      scope.postMessage(await nativeJob(e.data));
    } catch (err) {
      scope.postMessage({
        times: [],
        createMs: 0,
        firstRunMs: 0,
        spanMs: 0,
        error: String((err as Error).message ?? err),
      });
    }
  };
} else if (import.meta.main) {
  await main();
  Deno.exit(0);
}
