/**
 * A replica's request handling as a plain module: fetch the image (URI or raw bytes), decode,
 * preprocess and infer, and map every failure to an HTTP status. The Web Worker replica
 * (`_replica_worker.ts`) wraps it today; a standalone single-replica server can wrap it tomorrow.
 *
 * The no-op model (`noop` / `noop:<ms>`) does everything but decoding and inference: it still
 * fetches URIs and checks magic bytes, then waits its fixed service time and answers `noop`. The
 * emulated model (`emulate:SPEC`, emulated_model.ts) does the same with one request at a time and
 * a drawn service time.
 *
 * @module
 */
import { createEmulatedClassifier } from "./emulated_model.ts";
import { fetchImage } from "./image_fetcher.ts";
import { type BatchableClassifier, batchedClassifier } from "./_batching.ts";
import { type BackendChoice, createClassifier, detectImageFormat } from "../model/mod.ts";
import type {
  ClassifyRequest,
  ClassifyResult,
  LabelScore,
  ReplicaOptions,
  ReplicaReply,
  RequestFailure,
} from "./types.ts";

/** The label the no-op model answers. */
export const NOOP_LABEL = "noop";

/** Handles classification requests for one replica. */
export interface ReplicaHandler {
  /** Backend actually used (`noop` for the no-op model). */
  readonly backend: string;
  /**
   * Session creation and warm-up times, ms (0 for the no-op model), and what `backend: auto`
   * measured and chose (the worker's ready message carries this object to `/api/status`).
   */
  readonly loadTimings: {
    sessionCreateMs: number;
    warmupMs: number;
    backendChoice?: BackendChoice;
  };
  /** Runs one request to completion; never throws (failures come back as a reply). */
  handle(request: ClassifyRequest, options?: { signal?: AbortSignal }): Promise<ReplicaReply>;
  /** Releases the inference session. */
  close(): Promise<void>;
}

interface ClassifierLike {
  backend: string;
  backendChoice?: BackendChoice;
  sessionCreateMs?: number;
  warmupMs?: number;
  classify(
    image: Uint8Array,
    options?: { top?: number; maxPixels?: number },
  ): Promise<{ top: LabelScore[]; preprocessMs: number; inferenceMs: number }>;
  close(): Promise<void>;
}

/**
 * Creates a replica's handler: loads the model session (threads = `options.threads`) or the
 * no-op model. Throws when the model cannot be loaded (a failed replica start).
 */
export async function createReplicaHandler(options: ReplicaOptions): Promise<ReplicaHandler> {
  let classifier: ClassifierLike;
  if (options.model.kind === "noop") {
    classifier = createNoopClassifier(options.model.serviceTimeMs);
  } else if (options.model.kind === "emulate") {
    classifier = createEmulatedClassifier(options.model.source);
  } else {
    // lib/model loads ONNX Runtime and sharp lazily, so no-op replicas never pay for them.
    const model = await createClassifier(options.model.bytes, {
      backend: options.backend,
      threads: options.threads,
      cacheKey: options.model.sha256,
      // With the deployment's facts, auto times at the batch it can form and judges layouts.
      ...(options.deployment
        ? { deployment: options.deployment }
        : { expectedBatch: options.batching?.maxBatchSize ?? 1 }),
      intraOpSpinning: options.intraOpSpinning,
      // Only auto's verdict (one line per replica start); the other notes stay quiet as before.
      log: (line) => {
        if (/^auto: (native|wasm|webgpu) \(/.test(line)) console.error(`replica: ${line}`);
      },
    });
    classifier = (options.batching?.maxBatchSize ?? 1) > 1
      ? {
        ...batchedClassifier(model as BatchableClassifier, options.batching!),
        backendChoice: model.backendChoice,
      }
      : model as ClassifierLike;
  }
  const fetchOptions = {
    maxBytes: options.maxImageBytes,
    timeoutMs: options.imageFetchTimeoutMs,
    allowedHosts: options.allowedImageHosts,
  };
  const isNoop = options.model.kind === "noop";
  // Models that decode nothing (noop, emulate) still refuse a body that is not an image.
  const sniffBytes = options.model.kind !== "onnx";

  return {
    backend: isNoop ? "noop" : classifier.backend,
    loadTimings: {
      sessionCreateMs: classifier.sessionCreateMs ?? 0,
      warmupMs: classifier.warmupMs ?? 0,
      ...(classifier.backendChoice ? { backendChoice: classifier.backendChoice } : {}),
    },
    async handle(request, handleOptions) {
      try {
        const t0 = performance.now();
        let bytes: Uint8Array;
        if (request.source.kind === "uri") {
          bytes = await fetchImage(request.source.uri, {
            ...fetchOptions,
            signal: handleOptions?.signal,
          });
        } else {
          bytes = request.source.bytes;
          const failure = checkRawBytes(bytes, options.maxImageBytes, sniffBytes);
          if (failure) return { ok: false, failure };
        }
        const fetchMs = performance.now() - t0;
        if (handleOptions?.signal?.aborted) {
          return { ok: false, failure: timeoutFailure() };
        }
        const c = await classifier.classify(bytes, {
          top: request.top,
          maxPixels: options.maxImagePixels,
        });
        const result: ClassifyResult = {
          top: c.top,
          fetchMs,
          preprocessMs: c.preprocessMs,
          inferenceMs: c.inferenceMs,
        };
        return { ok: true, result };
      } catch (error) {
        return { ok: false, failure: failureFromError(error) };
      }
    },
    close: () => classifier.close(),
  };
}

function timeoutFailure(): RequestFailure {
  return { status: 504, error: "timeout", detail: "the request was cancelled (timed out)" };
}

function checkRawBytes(
  bytes: Uint8Array,
  maxBytes: number,
  sniff: boolean,
): RequestFailure | null {
  if (bytes.length === 0) {
    return {
      status: 400,
      error: "empty_body",
      detail: 'the request body is empty: send image bytes or JSON {"uri": "..."}',
    };
  }
  if (bytes.length > maxBytes) {
    return {
      status: 413,
      error: "image_too_large",
      detail:
        `the image is ${bytes.length} bytes; the limit is ${maxBytes} (user_config.max_image_bytes)`,
    };
  }
  if (sniff && detectImageFormat(bytes) === null) {
    return {
      status: 415,
      error: "unsupported_media_type",
      detail: "the body is not a JPEG, PNG, WebP or GIF image (checked by magic bytes)",
    };
  }
  return null;
}

const IMAGE_ERROR_STATUS: Record<string, [number, string]> = {
  empty: [400, "empty_image"],
  too_large: [413, "image_too_large"],
  too_many_pixels: [413, "image_too_many_pixels"],
  unsupported_format: [415, "unsupported_media_type"],
  undecodable: [422, "undecodable_image"],
};

const FETCH_ERROR_NAMES: Record<number, string> = {
  400: "invalid_uri",
  413: "image_too_large",
  415: "unsupported_media_type",
  502: "image_fetch_failed",
  504: "image_fetch_timeout",
};

/** Maps an error thrown by the fetcher, decoder or model to a request failure. */
export function failureFromError(error: unknown): RequestFailure {
  const e = error as { name?: string; status?: unknown; code?: unknown; message?: string };
  const message = e?.message ?? String(error);
  if (e?.name === "ImageFetchError" && typeof e.status === "number") {
    return {
      status: e.status,
      error: FETCH_ERROR_NAMES[e.status] ?? "image_fetch_failed",
      detail: message,
    };
  }
  if (e?.name === "ImageError" && typeof e.code === "string" && IMAGE_ERROR_STATUS[e.code]) {
    const [status, name] = IMAGE_ERROR_STATUS[e.code];
    return { status, error: name, detail: message };
  }
  return { status: 500, error: "internal_error", detail: `replica failed: ${message}` };
}

function createNoopClassifier(serviceTimeMs: number): ClassifierLike {
  return {
    backend: "noop",
    async classify() {
      const t0 = performance.now();
      if (serviceTimeMs > 0) await new Promise((r) => setTimeout(r, serviceTimeMs));
      return {
        top: [{ index: 0, label: NOOP_LABEL, probability: 1 }],
        preprocessMs: 0,
        inferenceMs: performance.now() - t0,
      };
    },
    close: () => Promise.resolve(),
  };
}
