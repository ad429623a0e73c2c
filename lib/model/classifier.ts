/**
 * The classifier: one ONNX Runtime session on a chosen backend, ImageNet preprocessing in front,
 * softmax + top-k behind. Works the same on the main thread and inside a Web Worker (one per
 * replica): no DOM, no `Deno.stdout`, onnxruntime and sharp imported lazily on first use.
 *
 * @module
 */

import type { BackendName } from "../config/types.ts";
import { ModelError } from "./errors.ts";
import { IMAGENET_CLASSES } from "./imagenet_labels.ts";
import { loadSharp, preprocessImage } from "./preprocess.ts";
import {
  type ConcreteBackend,
  loadRuntime,
  type OrtRuntime,
  type OrtSession,
  probeWebGpu,
  threadsFor,
} from "./_ort.ts";
import { whyNotOnnx } from "./_onnx_scan.ts";
import { describeShape, type ModelIo, readIo } from "./_model_io.ts";
import { type BackendChoice, choiceFileName, chooseByMeasurement } from "./backend_choice.ts";
import { type DeploymentFacts, formableBatch } from "./layout_choice.ts";
import { machineFingerprint } from "./_optimized_cache.ts";
import {
  createNativeCached,
  type NativeCache,
  type OptimizedCacheOutcome,
} from "./_native_session.ts";
import { defaultCacheDir } from "./store.ts";

/** One predicted class. */
export interface Prediction {
  /** ImageNet class index (0..999). */
  index: number;
  /** Class name. */
  label: string;
  /** Softmax probability. */
  probability: number;
}

/** The result of {@link Classifier.classify}. */
export interface Classification {
  /** Best classes first. */
  top: Prediction[];
  /** Decode + resize + crop + normalise, in ms. */
  preprocessMs: number;
  /** Session run (tensor in, logits out), in ms. */
  inferenceMs: number;
}

/** Options of {@link Classifier.classify}. */
export interface ClassifyOptions {
  /** How many classes to return (default 5). */
  top?: number;
  /** Largest image in pixels (default 40 M); checked from the header before decoding. */
  maxPixels?: number;
  /** Largest body in bytes (default 20 MB). */
  maxBytes?: number;
  /** Where the image came from, for error messages. */
  source?: string;
}

export type { ModelIo };

/** A loaded model, ready to classify images. */
export interface Classifier {
  /** The backend actually running the session. */
  readonly backend: ConcreteBackend;
  /** Threads the session uses. */
  readonly threads: number;
  /** Input/output facts read from the model. */
  readonly io: ModelIo;
  /** Time to create the session, in ms (excluding warm-up). */
  readonly sessionCreateMs: number;
  /**
   * What the native optimized-model cache did: `hit` (session created from the cached optimized
   * graph), `written` (optimized normally and saved for next time), `off` (no `cacheKey`, another
   * backend, or the cache could not be used).
   */
  readonly optimizedCache?: OptimizedCacheOutcome;
  /** Time of the warm-up run, in ms. */
  readonly warmupMs: number;
  /** Preprocesses and classifies one encoded image (JPEG, PNG, WebP, GIF). */
  classify(image: Uint8Array, options?: ClassifyOptions): Promise<Classification>;
  /** Classifies an already preprocessed input (`3*size*size` floats in the model's layout). */
  classifyTensor(input: Float32Array, options?: { top?: number }): Promise<Classification>;
  /** Largest batch one session run takes: 1 when the model's batch dimension is fixed at 1. */
  readonly maxBatch: number;
  /** What `backend: auto` measured and chose (absent for an explicit backend). */
  readonly backendChoice?: BackendChoice;
  /** Decodes, resizes and normalises one image into this model's input (classify's first half). */
  preprocess(
    image: Uint8Array,
    options?: ClassifyOptions,
  ): Promise<{ input: Float32Array; preprocessMs: number }>;
  /**
   * Classifies several preprocessed inputs in ONE session run (batch `inputs.length`, at most
   * {@link maxBatch}); one result per input, in order. Each result's `inferenceMs` is the whole
   * batch's run; `preprocessMs` is 0. `tops[i]` is input i's class count (default 5).
   */
  classifyBatch(inputs: Float32Array[], options?: { tops?: number[] }): Promise<Classification[]>;
  /** Raw logits for a preprocessed input (parity checks, benchmarks). */
  logits(input: Float32Array): Promise<Float32Array>;
  /** Releases the session. */
  close(): Promise<void>;
}

/** See {@link Classifier.optimizedCache}. */
export type { OptimizedCacheOutcome };

/** Options of {@link createClassifier}. */
export interface CreateClassifierOptions {
  /** Backend choice; `auto` = the fastest by measurement (see `backend_choice.ts`). */
  backend: BackendName;
  /** Threads per session (a replica's `num_cpus`; fractions round down, at least 1). */
  threads: number;
  /**
   * Also warm the preprocessing (load sharp, decode a small JPEG) at load so the first request is
   * not slow (default true). One warm-up inference always runs: it validates the model's output.
   */
  warmup?: boolean;
  /** Called with one-line notes (backend choice, fallbacks). */
  log?: (line: string) => void;
  /**
   * The model's sha256 (hex, as `resolveModel` reports it). When given, the native backend keeps
   * the optimized graph in an on-disk cache keyed by it, ORT's version, the optimization level and
   * this machine's CPU, and later sessions load that instead of optimizing again (ResNet-50:
   * session create ~1.3 s -> ~0.8 s). Without it nothing is read or written.
   */
  cacheKey?: string;
  /** Folder of the optimized-model cache (default `<defaultCacheDir()>/optimized`). */
  optimizedCacheDir?: string;
  /**
   * Native sessions with 2+ threads: let ORT's intra-op threads spin-wait between parallel
   * sections (`session.intra_op.allow_spinning`). Unset keeps ORT's default (spinning).
   */
  intraOpSpinning?: boolean;
  /**
   * The batch `auto` measures backends at (default: the batch `deployment` can form, else 1). A
   * GPU may lose at batch 1 and win at batch 32.
   */
  expectedBatch?: number;
  /**
   * The deployment this replica belongs to. With it `auto` picks the backend whose replica layout
   * serves the most images/s for the whole deployment (CPU backends x the replicas the CPUs allow;
   * WebGPU bounded by its one device: see `layout_choice.ts`); without it, the fastest replica.
   */
  deployment?: DeploymentFacts;
  /**
   * Folder of `auto`'s cached choices (default `<defaultCacheDir()>/backend_choice`); used only
   * with `cacheKey` (without it `auto` measures every time).
   */
  backendChoiceDir?: string;
}

/** Numerically stable softmax + top-k selection over `logits[offset..]`. */
export function topK(
  logits: Float32Array,
  k: number,
  labelOffset = 0,
  labels: readonly string[] = IMAGENET_CLASSES,
): Prediction[] {
  const n = logits.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) if (logits[i] > max) max = logits[i];
  let sum = 0;
  for (let i = 0; i < n; i++) sum += Math.exp(logits[i] - max);
  const kk = Math.max(0, Math.min(k, n - labelOffset));
  const best: number[] = [];
  for (let i = labelOffset; i < n; i++) {
    const v = logits[i];
    if (best.length < kk) {
      best.push(i);
      best.sort((a, b) => logits[b] - logits[a]);
    } else if (kk > 0 && v > logits[best[kk - 1]]) {
      best[kk - 1] = i;
      best.sort((a, b) => logits[b] - logits[a]);
    }
  }
  return best.map((i) => {
    const index = i - labelOffset;
    return {
      index,
      label: labels[index] ?? `class ${index}`,
      probability: Math.exp(logits[i] - max) / sum,
    };
  });
}

/** Loads sharp and preprocesses a small synthetic JPEG once, so the first request is not slow. */
async function warmPreprocessing(io: ModelIo): Promise<void> {
  try {
    const sharp = await loadSharp();
    const jpeg: Uint8Array = await sharp({
      create: { width: 320, height: 240, channels: 3, background: { r: 120, g: 90, b: 60 } },
    }).jpeg().toBuffer();
    await preprocessImage(jpeg, { size: io.size, layout: io.layout });
  } catch {
    // Best effort: a real request reports any sharp problem with its own message.
  }
}

/** Runs session calls one at a time (ORT-web sessions cannot run concurrently). */
class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();
  run<T>(fn: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(fn, fn);
    this.#tail = result.catch(() => {});
    return result;
  }
}

/**
 * The candidates `auto` measures, in preference order for ties: native, wasm, and webgpu only on
 * a real (non-fallback) adapter.
 */
async function autoBackends(
  log: (line: string) => void,
): Promise<{ candidates: ConcreteBackend[]; adapter: string }> {
  const gpu = await probeWebGpu();
  if (gpu.available && !gpu.fallback) {
    log(`auto: real WebGPU adapter (${gpu.description}): measuring native, wasm and webgpu`);
    return { candidates: ["native", "wasm", "webgpu"], adapter: gpu.description };
  }
  log(
    gpu.available
      ? `auto: WebGPU here is a software renderer on the CPU (${gpu.description}), slower than ` +
        `the CPU backends: not a candidate`
      : `auto: no WebGPU adapter (${gpu.description})`,
  );
  return { candidates: ["native", "wasm"], adapter: "none" };
}

type Opened = Awaited<ReturnType<typeof openSession>>;

/** Times `runs` inferences of an opened session at `batch` (after one warm-up). */
async function timeOpened(o: Opened, batch: number): Promise<number[]> {
  const base = readIo(o.session);
  const fixed = (o.session.inputMetadata?.[0] as { shape?: readonly unknown[] } | undefined)
    ?.shape?.[0] === 1;
  const n = fixed ? 1 : batch;
  const dims = base.layout === "NCHW" ? [n, 3, base.size, base.size] : [n, base.size, base.size, 3];
  const feeds = {
    [base.inputName]: o.runtime.tensor(new Float32Array(n * 3 * base.size * base.size), dims),
  };
  await o.session.run(feeds);
  const times: number[] = [];
  const start = performance.now();
  while (times.length < 3 || (times.length < 7 && performance.now() - start < 1500)) {
    const t0 = performance.now();
    await o.session.run(feeds);
    times.push(((performance.now() - t0) * batch) / n);
  }
  return times;
}

/** Carries an error that must end the choice (not try the next backend). */
class Stop {
  constructor(readonly error: unknown) {}
}

function isNotOnnxMessage(message: string): boolean {
  return /protobuf parsing failed|failed to load model|load model from buffer failed|invalid model|model_path must not be empty/i
    .test(message);
}

async function openSession(
  backend: ConcreteBackend,
  bytes: Uint8Array,
  threads: number,
  cache: NativeCache | null,
  intraOpSpinning?: boolean,
): Promise<{
  session: OrtSession;
  runtime: OrtRuntime;
  ms: number;
  outcome: OptimizedCacheOutcome;
}> {
  const runtime = await loadRuntime(backend, threads, { intraOpSpinning });
  if (backend === "webgpu") {
    const gpu = await probeWebGpu();
    if (!gpu.available) {
      throw new ModelError(
        "backend_unavailable",
        `backend "webgpu" cannot load: no WebGPU adapter (${gpu.description}); ` +
          `try --backend native (or wasm)`,
      );
    }
  }
  const t0 = performance.now();
  try {
    if (backend === "native" && cache) {
      const { session, outcome } = await createNativeCached(runtime, bytes, cache);
      return { session, runtime, ms: performance.now() - t0, outcome };
    }
    const session = await runtime.createSession(bytes);
    return { session, runtime, ms: performance.now() - t0, outcome: "off" };
  } catch (e) {
    const message = (e as Error).message ?? String(e);
    if (isNotOnnxMessage(message)) {
      throw new ModelError("not_onnx", `model is not a loadable ONNX file: ${message}`, {
        cause: e,
      });
    }
    throw new ModelError(
      "backend_unavailable",
      `backend "${backend}" could not create a session: ${message}; ` +
        (backend === "native" ? "try --backend wasm" : "try --backend native"),
      { cause: e },
    );
  }
}

/**
 * Creates a classifier for ONNX `modelBytes` on the requested backend and runs one warm-up
 * inference. Throws {@link ModelError} when the bytes are not ONNX, the model is not an image
 * classifier, or the backend cannot load (the message says which backend to try instead).
 */
export async function createClassifier(
  modelBytes: Uint8Array,
  options: CreateClassifierOptions,
): Promise<Classifier> {
  const log = options.log ?? (() => {});
  const why = whyNotOnnx(modelBytes);
  if (why) {
    throw new ModelError(
      "not_onnx",
      `model is not an ONNX file (${why}); give an .onnx model exported for inference`,
    );
  }

  const cache: NativeCache | null = options.cacheKey
    ? {
      dir: options.optimizedCacheDir ?? `${defaultCacheDir()}/optimized`,
      modelSha256: options.cacheKey,
      log: options.log ?? ((line) => console.warn(line)),
    }
    : null;
  const open = async (backend: ConcreteBackend) => {
    try {
      return await openSession(
        backend,
        modelBytes,
        options.threads,
        cache,
        options.intraOpSpinning,
      );
    } catch (e) {
      if (options.backend === "auto") log(`auto: ${(e as Error).message}`);
      throw e;
    }
  };
  let opened: Opened;
  let choice: BackendChoice | undefined;
  if (options.backend !== "auto") {
    opened = await open(options.backend);
  } else {
    const { candidates, adapter } = await autoBackends(log);
    const batch = Math.max(
      1,
      Math.floor(
        options.expectedBatch ?? (options.deployment ? formableBatch(options.deployment) : 1),
      ),
    );
    let cacheFile: string | undefined;
    if (options.cacheKey) {
      const versions = await Promise.all(
        candidates.map((b) =>
          loadRuntime(b, options.threads).then((r) => `${b}=${r.version}`, () => `${b}=none`)
        ),
      );
      cacheFile = `${options.backendChoiceDir ?? `${defaultCacheDir()}/backend_choice`}/${
        choiceFileName({
          modelSha256: options.cacheKey,
          ortVersions: versions.join(" "),
          machine: machineFingerprint(),
          adapter,
          threads: threadsFor(options.threads),
          batch,
        })
      }`;
    }
    const chosen = await chooseByMeasurement<Opened>(candidates, {
      open: async (b) => {
        try {
          return await open(b);
        } catch (e) {
          // A model that is not ONNX or not a classifier fails on every backend: stop now.
          if (e instanceof ModelError && e.code !== "backend_unavailable") throw new Stop(e);
          throw e;
        }
      },
      time: timeOpened,
      release: (o) => o.session.release(),
      batch,
      deployment: options.deployment,
      cacheFile,
      log,
    }).catch((e) => {
      throw e instanceof Stop ? e.error : e;
    });
    opened = chosen.session;
    choice = chosen.choice;
  }
  const { session, runtime } = opened;

  let io: ModelIo;
  try {
    const base = readIo(session);
    const dims = base.layout === "NCHW"
      ? [1, 3, base.size, base.size]
      : [1, base.size, base.size, 3];
    // Warm-up, and learn the output width from a real run.
    const t0 = performance.now();
    const out = await session.run({
      [base.inputName]: runtime.tensor(new Float32Array(3 * base.size * base.size), dims),
    });
    const warmupMs = performance.now() - t0;
    const logitsTensor = out[base.outputName];
    if (logitsTensor.type !== "float32") {
      throw new ModelError(
        "not_image_classifier",
        `model output "${base.outputName}" is ${logitsTensor.type}, expected float32 logits`,
      );
    }
    const classes = logitsTensor.size;
    if (classes < 2) {
      throw new ModelError(
        "not_image_classifier",
        `model output "${base.outputName}" has ${classes} values, expected class scores`,
      );
    }
    io = { ...base, classes, labelOffset: classes === 1001 ? 1 : 0 };
    if (classes !== 1000 && classes !== 1001) {
      log(`model has ${classes} classes, not ImageNet's 1000: labels are "class <i>"`);
    }
    const batchDim = (session.inputMetadata?.[0] as { shape?: readonly unknown[] } | undefined)
      ?.shape?.[0];
    const maxBatch = batchDim === 1 ? 1 : Number.POSITIVE_INFINITY;
    const classifier = buildClassifier(session, runtime, io, {
      sessionCreateMs: opened.ms,
      warmupMs,
      optimizedCache: opened.outcome,
      maxBatch,
      backendChoice: choice,
    });
    if (options.warmup !== false) await warmPreprocessing(io);
    return classifier;
  } catch (e) {
    await session.release().catch(() => {});
    if (e instanceof ModelError) throw e;
    throw new ModelError(
      "not_image_classifier",
      `model could not run on a ${describeShape([1, 3, 224, 224])} image input: ${
        (e as Error).message
      }`,
      { cause: e },
    );
  }
}

/** Facts about a classifier's loading, kept on it for status and logs. */
interface LoadFacts {
  sessionCreateMs: number;
  warmupMs: number;
  optimizedCache: OptimizedCacheOutcome;
  maxBatch: number;
  backendChoice?: BackendChoice;
}

function buildClassifier(
  session: OrtSession,
  runtime: OrtRuntime,
  io: ModelIo,
  facts: LoadFacts,
): Classifier {
  const queue = new SerialQueue();
  const sample = io.layout === "NCHW" ? [3, io.size, io.size] : [io.size, io.size, 3];
  const labels = io.classes === 1000 || io.classes === 1001 ? IMAGENET_CLASSES : [];
  const expected = 3 * io.size * io.size;
  let closed = false;

  /** One session run over `inputs` as a batch; logits per input (views into one array). */
  const infer = (inputs: Float32Array[]): Promise<{ logits: Float32Array[]; ms: number }> => {
    if (closed) {
      return Promise.reject(new ModelError("backend_unavailable", "classifier is closed"));
    }
    const bad = inputs.find((x) => x.length !== expected);
    if (bad) {
      return Promise.reject(
        new RangeError(`input has ${bad.length} floats, the model takes ${expected}`),
      );
    }
    if (inputs.length < 1 || inputs.length > facts.maxBatch) {
      return Promise.reject(
        new RangeError(`a batch of ${inputs.length}; this model takes 1 to ${facts.maxBatch}`),
      );
    }
    return queue.run(async () => {
      const n = inputs.length;
      let data = inputs[0];
      if (n > 1) {
        data = new Float32Array(n * expected);
        inputs.forEach((x, i) => data.set(x, i * expected));
      }
      const t0 = performance.now();
      const out = await session.run({ [io.inputName]: runtime.tensor(data, [n, ...sample]) });
      const ms = performance.now() - t0;
      const all = out[io.outputName].data as Float32Array;
      const width = all.length / n;
      const logits = Array.from({ length: n }, (_, i) => all.subarray(i * width, (i + 1) * width));
      return { logits, ms };
    });
  };
  const preprocess = async (image: Uint8Array, options: ClassifyOptions = {}) => {
    const t0 = performance.now();
    const pre = await preprocessImage(image, {
      size: io.size,
      layout: io.layout,
      maxPixels: options.maxPixels,
      maxBytes: options.maxBytes,
      source: options.source,
    });
    return { input: pre.data, preprocessMs: performance.now() - t0 };
  };
  const classification = (logits: Float32Array, top: number | undefined, ms: number) => ({
    top: topK(logits, top ?? 5, io.labelOffset, labels),
    preprocessMs: 0,
    inferenceMs: ms,
  });

  return {
    backend: runtime.backend,
    threads: runtime.threads,
    io,
    sessionCreateMs: facts.sessionCreateMs,
    warmupMs: facts.warmupMs,
    optimizedCache: facts.optimizedCache,
    maxBatch: facts.maxBatch,
    backendChoice: facts.backendChoice,
    preprocess,
    async classify(image, options = {}) {
      const { input, preprocessMs } = await preprocess(image, options);
      const { logits, ms } = await infer([input]);
      return { ...classification(logits[0], options.top, ms), preprocessMs };
    },
    async classifyTensor(input, options = {}) {
      const { logits, ms } = await infer([input]);
      return classification(logits[0], options.top, ms);
    },
    async classifyBatch(inputs, options = {}) {
      const { logits, ms } = await infer(inputs);
      return logits.map((l, i) => classification(l, options.tops?.[i], ms));
    },
    async logits(input) {
      return (await infer([input])).logits[0].slice();
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue.run(() => session.release());
    },
  };
}
