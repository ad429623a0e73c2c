/**
 * Private to `scripts/benchmark.ts`: measures one (backend, threads) configuration inside its own
 * Web Worker (ORT-web's thread count is fixed per realm, and replicas are workers anyway).
 *
 * In the same worker it loads the model twice: through our classifier (with the intra-op spinning
 * a replica would get) and as a bare ONNX Runtime session with ORT's default options, then times
 * them in alternating PHASES of 5 runs each (swapping which goes first), so machine noise hits
 * both alike. Not call by call: two multi-thread sessions called back to back fight each other,
 * the idle one's threads still spinning while the other runs (the old `native x2` row measured
 * that fight, not either session).
 *
 * @module
 */

import { createClassifier } from "../lib/model/mod.ts";

/** What the main thread sends. */
export interface BenchRequest {
  model: Uint8Array;
  backend: "native" | "wasm" | "webgpu";
  threads: number;
  samples: number;
  maxMsPerConfig: number;
  input: Float32Array;
  image: Uint8Array;
  endToEndSamples: number;
  /** Intra-op spinning for our classifier, as a replica with `threads` CPUs would get. */
  intraOpSpinning?: boolean;
}

// deno-lint-ignore no-explicit-any
const scope = globalThis as any;

// deno-lint-ignore no-explicit-any
async function bareSession(req: BenchRequest): Promise<{ ort: any; session: any; ms: number }> {
  // Same options as lib/model's loader, so the baseline differs only by our wrapper.
  // deno-lint-ignore no-explicit-any
  let ort: any;
  // deno-lint-ignore no-explicit-any
  let options: any;
  if (req.backend === "native") {
    ort = await import("onnxruntime-node");
    options = {
      executionProviders: ["cpu"],
      intraOpNumThreads: req.threads,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
  } else if (req.backend === "wasm") {
    ort = await import("onnxruntime-web");
    ort.env.wasm.numThreads = req.threads;
    options = { executionProviders: ["wasm"], graphOptimizationLevel: "all", logSeverityLevel: 3 };
  } else {
    ort = await import("onnxruntime-web/webgpu");
    ort.env.wasm.numThreads = 1;
    options = {
      executionProviders: [{ name: "webgpu", preferredLayout: "NHWC" }], // as lib/model's
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
  }
  ort = ort.default?.InferenceSession ? ort.default : ort;
  const bytes = req.model.buffer instanceof ArrayBuffer ? req.model : req.model.slice();
  const t0 = performance.now();
  const session = await ort.InferenceSession.create(bytes, options);
  return { ort, session, ms: performance.now() - t0 };
}

async function run(req: BenchRequest) {
  const note = (line: string) => scope.postMessage({ progress: line });
  const t0 = performance.now();
  const classifier = await createClassifier(req.model, {
    backend: req.backend,
    threads: req.threads,
    intraOpSpinning: req.intraOpSpinning,
  });
  const createTotalMs = performance.now() - t0;
  const bare = await bareSession(req);
  const inputName = bare.session.inputNames[0];
  const size = classifier.io.size;
  const dims = classifier.io.layout === "NCHW" ? [1, 3, size, size] : [1, size, size, 3];
  const tensor = new bare.ort.Tensor("float32", req.input, dims);
  const tw = performance.now();
  await bare.session.run({ [inputName]: tensor }); // warm-up of the bare session
  const bareWarmupMs = performance.now() - tw;
  note(`${req.backend} x${req.threads}: sessions ready, timing ${req.samples} pairs`);

  const ours: number[] = [];
  const baseline: number[] = [];
  const start = performance.now();
  const timeOurs = async () => {
    const t = performance.now();
    await classifier.classifyTensor(req.input, { top: 5 });
    ours.push(performance.now() - t);
  };
  const timeBare = async () => {
    const t = performance.now();
    await bare.session.run({ [inputName]: tensor });
    baseline.push(performance.now() - t);
  };
  const PHASE = 5;
  for (let i = 0; i * PHASE < req.samples; i++) {
    // Alternate which phase goes first, so neither always follows the other.
    const order = i % 2 === 0 ? [timeOurs, timeBare] : [timeBare, timeOurs];
    for (const time of order) {
      for (let k = 0; k < PHASE; k++) await time();
    }
    if (i >= 1 && performance.now() - start > req.maxMsPerConfig) break;
  }
  const endToEnd: number[] = [];
  const preprocess: number[] = [];
  for (let i = 0; i < req.endToEndSamples; i++) {
    const t = performance.now();
    const r = await classifier.classify(req.image, { top: 5 });
    endToEnd.push(performance.now() - t);
    preprocess.push(r.preprocessMs);
  }
  await bare.session.release();
  await classifier.close();
  return {
    backend: classifier.backend,
    threads: classifier.threads,
    sessionCreateMs: classifier.sessionCreateMs,
    warmupMs: classifier.warmupMs,
    createClassifierTotalMs: createTotalMs,
    bareSessionCreateMs: bare.ms,
    bareWarmupMs,
    oursMs: ours,
    bareMs: baseline,
    endToEndMs: endToEnd,
    preprocessInWorkerMs: preprocess,
  };
}

scope.onmessage = async (e: MessageEvent<BenchRequest>) => {
  try {
    scope.postMessage({ ok: true, result: await run(e.data) });
  } catch (err) {
    scope.postMessage({ ok: false, error: (err as Error).message ?? String(err) });
  }
};
