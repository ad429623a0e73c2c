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
import { type ImageLayout, loadSharp, preprocessImage } from "./preprocess.ts";
import {
  type ConcreteBackend,
  loadRuntime,
  NATIVE_OPTIMIZATION_LEVEL,
  type OrtRuntime,
  type OrtSession,
  probeWebGpu,
} from "./_ort.ts";
import { whyNotOnnx } from "./_onnx_scan.ts";
import {
  fileExists,
  logOnce,
  optimizedFileName,
  removeQuietly,
  removeStaleTemporaries,
  temporaryPathFor,
} from "./_optimized_cache.ts";
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

/** What the classifier learned from the model's own metadata. */
export interface ModelIo {
  /** Name of the image input. */
  inputName: string;
  /** Name of the logits output. */
  outputName: string;
  /** Input layout. */
  layout: ImageLayout;
  /** Square input side (224 unless the model says otherwise). */
  size: number;
  /** Number of output classes. */
  classes: number;
  /** 1 when the model has a background class at index 0 (1001 outputs), else 0. */
  labelOffset: number;
}

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
  /** Raw logits for a preprocessed input (parity checks, benchmarks). */
  logits(input: Float32Array): Promise<Float32Array>;
  /** Releases the session. */
  close(): Promise<void>;
}

/** See {@link Classifier.optimizedCache}. */
export type OptimizedCacheOutcome = "hit" | "written" | "off";

/** Options of {@link createClassifier}. */
export interface CreateClassifierOptions {
  /** Backend choice; `auto` = real WebGPU adapter, else native, else wasm. */
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

function describeShape(shape: readonly (number | string)[] | undefined): string {
  return shape ? `[${shape.join(",")}]` : "[unknown]";
}

/** Reads input name, layout and size from the session's metadata; rejects non-image models. */
function readIo(session: OrtSession): Omit<ModelIo, "classes" | "labelOffset"> {
  const inputs = session.inputNames;
  const meta = (session.inputMetadata ?? [])[0] as
    | { name: string; isTensor: boolean; type?: string; shape?: readonly (number | string)[] }
    | undefined;
  const outputName = session.outputNames[0];
  if (inputs.length !== 1) {
    throw new ModelError(
      "not_image_classifier",
      `model has ${inputs.length} inputs (${inputs.join(", ")}); an image classifier has one ` +
        `float32 input shaped [N,3,H,W] or [N,H,W,3]`,
    );
  }
  const name = inputs[0];
  if (!meta || !meta.isTensor || !meta.shape) {
    return { inputName: name, outputName, layout: "NCHW", size: 224 };
  }
  const shape = meta.shape;
  const bad = (why: string) =>
    new ModelError(
      "not_image_classifier",
      `model input "${name}" is ${meta.type} ${describeShape(shape)}: ${why}; an image ` +
        `classifier takes float32 [N,3,H,W] (NCHW) or [N,H,W,3] (NHWC)`,
    );
  if (meta.type !== "float32") throw bad("not float32");
  if (shape.length !== 4) throw bad(`rank ${shape.length}, not 4`);
  let layout: ImageLayout;
  let hw: (number | string)[];
  if (shape[1] === 3) {
    layout = "NCHW";
    hw = [shape[2], shape[3]];
  } else if (shape[3] === 3) {
    layout = "NHWC";
    hw = [shape[1], shape[2]];
  } else {
    throw bad("no dimension of 3 colour channels");
  }
  const fixed = hw.filter((d): d is number => typeof d === "number" && d > 0);
  if (fixed.length === 2 && fixed[0] !== fixed[1]) throw bad("input is not square");
  const size = fixed[0] ?? 224;
  if (size < 8) throw bad(`side ${size} is too small for an image`);
  if (typeof shape[0] === "number" && shape[0] > 1) throw bad(`fixed batch of ${shape[0]}`);
  return { inputName: name, outputName, layout, size };
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

/** Picks the backend for `auto`: a real (non-fallback) WebGPU adapter, else native, else wasm. */
async function autoBackends(log: (line: string) => void): Promise<ConcreteBackend[]> {
  const gpu = await probeWebGpu();
  if (gpu.available && !gpu.fallback) {
    log(`auto: real WebGPU adapter (${gpu.description}) -> webgpu, then native, then wasm`);
    return ["webgpu", "native", "wasm"];
  }
  log(
    gpu.available
      ? `auto: WebGPU here is a software renderer on the CPU (${gpu.description}), slower than ` +
        `the CPU backends: using native, else wasm`
      : `auto: no WebGPU adapter (${gpu.description}): using native, else wasm`,
  );
  return ["native", "wasm"];
}

function isNotOnnxMessage(message: string): boolean {
  return /protobuf parsing failed|failed to load model|load model from buffer failed|invalid model|model_path must not be empty/i
    .test(message);
}

/** Where and under which model hash the native backend caches optimized graphs. */
interface NativeCache {
  dir: string;
  modelSha256: string;
  log: (line: string) => void;
}

/**
 * Creates a native session through the optimized-model cache: from the cached optimized graph
 * (optimizations disabled) when there is one, else optimizing as usual while ORT saves the result
 * to a temporary file that is renamed into place once create succeeded. A cached file that fails
 * to load is deleted (logged once) and the model is optimized again; a cache folder that cannot be
 * written means a plain create.
 */
async function createNativeCached(
  runtime: OrtRuntime,
  bytes: Uint8Array,
  cache: NativeCache,
): Promise<{ session: OrtSession; outcome: OptimizedCacheOutcome }> {
  const name = optimizedFileName({
    modelSha256: cache.modelSha256,
    ortVersion: runtime.version,
    level: NATIVE_OPTIMIZATION_LEVEL,
  });
  const finalPath = `${cache.dir.replace(/\/+$/, "")}/${name}`;
  if (await fileExists(finalPath)) {
    try {
      const session = await runtime.createSession(finalPath, {
        graphOptimizationLevel: "disabled",
      });
      return { session, outcome: "hit" };
    } catch (e) {
      logOnce(
        cache.log,
        `bad:${finalPath}`,
        `optimized-model cache: ${finalPath} could not be loaded (${
          (e as Error).message ?? e
        }); deleted it and optimizing the model again`,
      );
      await removeQuietly(finalPath);
    }
  }
  let tmp: string | null = null;
  try {
    await Deno.mkdir(cache.dir, { recursive: true });
    await removeStaleTemporaries(cache.dir);
    tmp = temporaryPathFor(finalPath);
  } catch (e) {
    logOnce(
      cache.log,
      `dir:${cache.dir}`,
      `optimized-model cache: cannot use ${cache.dir} (${(e as Error).message}); ` +
        `sessions are optimized from scratch (needs --allow-read and --allow-write there)`,
    );
  }
  if (tmp !== null) {
    let session: OrtSession | null = null;
    try {
      session = await runtime.createSession(bytes, { optimizedModelFilePath: tmp });
    } catch {
      // Retried below without saving: a model error is then reported as ORT words it.
    }
    if (session) {
      try {
        await Deno.rename(tmp, finalPath);
      } catch {
        // Another replica renamed its (identical) file first, or the folder went away.
      }
      await removeQuietly(tmp);
      return { session, outcome: "written" };
    }
    await removeQuietly(tmp);
  }
  return { session: await runtime.createSession(bytes), outcome: "off" };
}

async function openSession(
  backend: ConcreteBackend,
  bytes: Uint8Array,
  threads: number,
  cache: NativeCache | null,
): Promise<{
  session: OrtSession;
  runtime: OrtRuntime;
  ms: number;
  outcome: OptimizedCacheOutcome;
}> {
  const runtime = await loadRuntime(backend, threads);
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
  const candidates: ConcreteBackend[] = options.backend === "auto"
    ? await autoBackends(log)
    : [options.backend];

  const cache: NativeCache | null = options.cacheKey
    ? {
      dir: options.optimizedCacheDir ?? `${defaultCacheDir()}/optimized`,
      modelSha256: options.cacheKey,
      log: options.log ?? ((line) => console.warn(line)),
    }
    : null;
  let opened: Awaited<ReturnType<typeof openSession>> | null = null;
  let firstError: unknown = null;
  for (const backend of candidates) {
    try {
      opened = await openSession(backend, modelBytes, options.threads, cache);
      break;
    } catch (e) {
      if (e instanceof ModelError && e.code !== "backend_unavailable") throw e;
      firstError ??= e;
      if (candidates.length > 1) log(`auto: ${(e as Error).message}`);
    }
  }
  if (!opened) throw firstError;
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
    const classifier = buildClassifier(session, runtime, io, opened.ms, warmupMs, opened.outcome);
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

function buildClassifier(
  session: OrtSession,
  runtime: OrtRuntime,
  io: ModelIo,
  sessionCreateMs: number,
  warmupMs: number,
  optimizedCache: OptimizedCacheOutcome,
): Classifier {
  const queue = new SerialQueue();
  const dims = io.layout === "NCHW" ? [1, 3, io.size, io.size] : [1, io.size, io.size, 3];
  const labels = io.classes === 1000 || io.classes === 1001 ? IMAGENET_CLASSES : [];
  const expected = 3 * io.size * io.size;
  let closed = false;

  const infer = (input: Float32Array): Promise<{ logits: Float32Array; ms: number }> => {
    if (closed) {
      return Promise.reject(new ModelError("backend_unavailable", "classifier is closed"));
    }
    if (input.length !== expected) {
      return Promise.reject(
        new RangeError(`input has ${input.length} floats, the model takes ${expected}`),
      );
    }
    return queue.run(async () => {
      const t0 = performance.now();
      const out = await session.run({ [io.inputName]: runtime.tensor(input, dims) });
      const ms = performance.now() - t0;
      return { logits: out[io.outputName].data as Float32Array, ms };
    });
  };

  return {
    backend: runtime.backend,
    threads: runtime.threads,
    io,
    sessionCreateMs,
    warmupMs,
    optimizedCache,
    async classify(image, options = {}) {
      const t0 = performance.now();
      const pre = await preprocessImage(image, {
        size: io.size,
        layout: io.layout,
        maxPixels: options.maxPixels,
        maxBytes: options.maxBytes,
        source: options.source,
      });
      const preprocessMs = performance.now() - t0;
      const { logits, ms } = await infer(pre.data);
      return {
        top: topK(logits, options.top ?? 5, io.labelOffset, labels),
        preprocessMs,
        inferenceMs: ms,
      };
    },
    async classifyTensor(input, options = {}) {
      const { logits, ms } = await infer(input);
      return {
        top: topK(logits, options.top ?? 5, io.labelOffset, labels),
        preprocessMs: 0,
        inferenceMs: ms,
      };
    },
    async logits(input) {
      return (await infer(input)).logits;
    },
    async close() {
      if (closed) return;
      closed = true;
      await queue.run(() => session.release());
    },
  };
}
