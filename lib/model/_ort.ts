/**
 * Private: loads an ONNX Runtime flavour lazily and creates sessions, one function per backend.
 * Nothing here is imported at module load: `import()` happens inside the loaders, so the noop
 * path of the service never pays for onnxruntime.
 *
 * - native: onnxruntime-node (CPU EP), `intraOpNumThreads = threads`.
 * - wasm:   onnxruntime-web's default entry (the only one that runs multi-threaded in Deno,
 *           research/spike.md §1); `env.wasm.numThreads` is global per module instance, so the
 *           first session created in a realm (a Worker) fixes it.
 * - webgpu: onnxruntime-web/webgpu, single-threaded (its bundle cannot spawn threads in Deno),
 *           NHWC layout (measured faster on a real GPU, docs/backends.md).
 *
 * @module
 */

import type * as OrtNode from "onnxruntime-node";
import { ModelError } from "./errors.ts";

/** A concrete backend. */
export type ConcreteBackend = "native" | "wasm" | "webgpu";

/** The session surface both ORT flavours share (onnxruntime-common). */
export type OrtSession = OrtNode.InferenceSession;
/** A tensor of either ORT flavour. */
export type OrtTensor = OrtNode.Tensor;

/** A loaded runtime: how to make tensors and sessions. */
export interface OrtRuntime {
  /** Which backend this is. */
  backend: ConcreteBackend;
  /** Makes a float32 tensor of this runtime. */
  tensor(data: Float32Array, dims: number[]): OrtTensor;
  /**
   * Creates a session on this runtime from model bytes (or, native only, a file path); rejects
   * with ORT's own error. `overrides` replace session options (native only: the optimized-model
   * cache sets `graphOptimizationLevel` and `optimizedModelFilePath`).
   */
  createSession(bytes: Uint8Array | string, overrides?: SessionOverrides): Promise<OrtSession>;
  /** ONNX Runtime's version (e.g. "1.30.0"), or "unknown". */
  version: string;
  /** The thread count actually in effect. */
  threads: number;
}

/** Session options a caller may override (see {@link OrtRuntime.createSession}). */
export interface SessionOverrides {
  /** ORT graph optimization level. */
  graphOptimizationLevel?: "disabled" | "basic" | "extended" | "all";
  /** Where ORT writes the optimized graph during create (native only). */
  optimizedModelFilePath?: string;
}

/** The graph optimization level native sessions use unless overridden. */
export const NATIVE_OPTIMIZATION_LEVEL = "all";

// deno-lint-ignore no-explicit-any
type OrtModule = any;

const modules = new Map<ConcreteBackend, Promise<OrtModule>>();

function importBackend(backend: ConcreteBackend): Promise<OrtModule> {
  let p = modules.get(backend);
  if (!p) {
    p = backend === "native"
      ? import("onnxruntime-node")
      : backend === "wasm"
      ? import("onnxruntime-web")
      : withoutNullOrigin(() => import("onnxruntime-web/webgpu"));
    modules.set(backend, p);
    p.catch(() => modules.delete(backend));
  }
  return p;
}

/**
 * Runs `fn` with `globalThis.location` hidden when its origin is the opaque "null" (a Deno Worker
 * started from a file: URL). The webgpu bundle computes `new URL(href, location.origin)` at import
 * and throws "Invalid URL ... with base 'null'" there; on the main thread Deno has no `location`.
 */
async function withoutNullOrigin<T>(fn: () => Promise<T>): Promise<T> {
  // deno-lint-ignore no-explicit-any
  const g = globalThis as any;
  const own = Object.getOwnPropertyDescriptor(globalThis, "location");
  let origin: unknown;
  try {
    origin = g.location?.origin;
  } catch {
    origin = undefined;
  }
  if (origin !== "null" || (own && !own.configurable)) return await fn();
  Object.defineProperty(globalThis, "location", {
    value: undefined,
    configurable: true,
    writable: true,
  });
  try {
    return await fn();
  } finally {
    if (own) Object.defineProperty(globalThis, "location", own);
    else delete g.location;
  }
}

/** ORT wants an ArrayBuffer-backed view; a SharedArrayBuffer-backed one (shared model bytes) is copied. */
function plainBytes(bytes: Uint8Array): Uint8Array {
  return bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
}

/** Thread count from a replica's `num_cpus` (fractions round down, at least 1). */
export function threadsFor(numCpus: number): number {
  return Math.max(1, Math.floor(Number.isFinite(numCpus) ? numCpus : 1));
}

let wasmThreadsInRealm: number | null = null;

/**
 * Loads the runtime of one backend. Throws {@link ModelError} (`backend_unavailable`) when the
 * package or its native/wasm part cannot be loaded.
 */
export async function loadRuntime(
  backend: ConcreteBackend,
  threads: number,
  options: { intraOpSpinning?: boolean } = {},
): Promise<OrtRuntime> {
  let ort: OrtModule;
  try {
    ort = await importBackend(backend);
  } catch (e) {
    throw new ModelError(
      "backend_unavailable",
      `backend "${backend}" cannot load: ${(e as Error).message}; ` +
        (backend === "native"
          ? `try --backend wasm (portable, ~7x slower)`
          : `try --backend native`),
      { cause: e },
    );
  }
  ort = ort.default?.InferenceSession ? ort.default : ort;
  const n = threadsFor(threads);
  let effective = n;
  let sessionOptions: Record<string, unknown>;
  if (backend === "native") {
    sessionOptions = {
      executionProviders: ["cpu"],
      intraOpNumThreads: n,
      interOpNumThreads: 1,
      executionMode: "sequential",
      graphOptimizationLevel: NATIVE_OPTIMIZATION_LEVEL,
      logSeverityLevel: 3, // errors only: no "nodes not assigned to the preferred EP" chatter
    };
    // ORT's intra-op threads spin-wait between parallel sections by default; on shared cores
    // that steals CPU from everything else (see intraOpSpinning in lib/serve/_spinning.ts).
    if (options.intraOpSpinning !== undefined && n > 1) {
      sessionOptions.extra = {
        session: { intra_op: { allow_spinning: options.intraOpSpinning ? "1" : "0" } },
      };
    }
  } else if (backend === "wasm") {
    if (wasmThreadsInRealm === null) {
      ort.env.wasm.numThreads = n;
      wasmThreadsInRealm = n;
    }
    effective = wasmThreadsInRealm;
    sessionOptions = {
      executionProviders: ["wasm"],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
  } else {
    ort.env.wasm.numThreads = 1;
    effective = 1;
    sessionOptions = {
      // NHWC: 1.1-2.5x the default NCHW at batch 1-32 on an H200 (docs/backends.md).
      executionProviders: [{ name: "webgpu", preferredLayout: "NHWC" }],
      graphOptimizationLevel: "all",
      logSeverityLevel: 3,
    };
  }
  const versions = ort.env?.versions ?? {};
  const version = String(
    (backend === "native" ? versions.node : versions.web) ?? versions.common ?? "unknown",
  );
  return {
    backend,
    threads: effective,
    version,
    tensor: (data, dims) => new ort.Tensor("float32", data, dims),
    createSession: async (bytes, overrides) => {
      // ORT-web's emscripten glue (node flavour) replaces `globalThis.Worker` with node's
      // worker_threads Worker when it initialises (first session); a Deno Worker created after
      // that in this realm gets no `self` and never answers. Its pthread pool is already
      // started by then, so put Deno's Worker back.
      const denoWorker = globalThis.Worker;
      try {
        const source = typeof bytes === "string" ? bytes : plainBytes(bytes);
        const options = overrides ? { ...sessionOptions, ...overrides } : sessionOptions;
        return await ort.InferenceSession.create(source, options);
      } finally {
        if (globalThis.Worker !== denoWorker) globalThis.Worker = denoWorker;
      }
    },
  };
}

/** What {@link probeWebGpu} found. */
export interface WebGpuProbe {
  /** An adapter exists. */
  available: boolean;
  /** It is a software (fallback) adapter, e.g. Mesa llvmpipe. */
  fallback: boolean;
  /** Adapter description, for logs. */
  description: string;
}

/** Asks `navigator.gpu` for an adapter (no device is created). */
export async function probeWebGpu(): Promise<WebGpuProbe> {
  // deno-lint-ignore no-explicit-any
  const gpu = (globalThis as any).navigator?.gpu;
  if (!gpu) return { available: false, fallback: false, description: "navigator.gpu missing" };
  try {
    const adapter = await gpu.requestAdapter();
    if (!adapter) return { available: false, fallback: false, description: "no adapter" };
    const info = adapter.info ?? {};
    const fallback = Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter);
    // Some drivers report bare numbers (a PCI vendor id like 65541, architecture 0): they say
    // nothing to a person, so only the named fields make the description.
    const description = [info.vendor, info.architecture, info.device, info.description]
      .filter((s: unknown) => typeof s === "string" && s.length > 0 && !/^\d+$/.test(s))
      .join(" ") || "unknown adapter";
    return { available: true, fallback, description };
  } catch (e) {
    return { available: false, fallback: false, description: (e as Error).message };
  }
}
