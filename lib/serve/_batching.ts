/**
 * Private: request batching inside a replica, with Ray Serve's `@serve.batch` semantics
 * (`max_batch_size`, `batch_wait_timeout_s`). The requests a replica batches are the ones the
 * router has already sent it, so `max_ongoing_requests` bounds a batch; each request keeps its own
 * message, reply and ongoing count, only the inference is shared.
 *
 * - A batch runs as soon as `maxBatchSize` requests wait, or `batchWaitTimeoutS` after the first
 *   waiting request arrived (counted from when the previous batch finished, for requests that
 *   arrived while it ran), with whatever has arrived by then.
 * - One batch runs at a time (Ray's `max_concurrent_batches=1`): an ONNX session runs one call at a
 *   time anyway.
 * - A batch that fails rejects every request in it with that error; requests in other batches are
 *   unaffected. Per-request failures (a bad image) happen before a request joins a batch.
 *
 * @module
 */

/** Batching settings of a replica (from the deployment's `max_batch_size`, `batch_wait_timeout_s`). */
export interface BatchingOptions {
  /** Largest batch, >= 1; 1 means no batching. */
  maxBatchSize: number;
  /** How long to wait for a batch to fill, seconds (>= 0). */
  batchWaitTimeoutS: number;
}

interface Waiting<I, O> {
  item: I;
  resolve: (value: O) => void;
  reject: (error: unknown) => void;
}

/**
 * Collects submitted items into batches and runs `runBatch` on each, answering every item with
 * its own result. `runBatch` must return one result per item, in order.
 *
 * ```ts
 * const batcher = new RequestBatcher(async (xs: number[]) => xs.map((x) => x * 2), {
 *   maxBatchSize: 8,
 *   batchWaitTimeoutS: 0.01,
 * });
 * await batcher.submit(21); // 42, run in a batch with whatever arrived within 10 ms
 * ```
 */
export class RequestBatcher<I, O> {
  readonly #run: (items: I[]) => Promise<O[]>;
  readonly #maxBatchSize: number;
  readonly #waitMs: number;
  #queue: Waiting<I, O>[] = [];
  #timer: ReturnType<typeof setTimeout> | null = null;
  #running = false;
  /** Sizes of the batches run so far (for tests and logs). */
  readonly batchSizes: number[] = [];

  constructor(runBatch: (items: I[]) => Promise<O[]>, options: BatchingOptions) {
    if (!Number.isInteger(options.maxBatchSize) || options.maxBatchSize < 1) {
      throw new RangeError(`maxBatchSize must be an integer >= 1, got ${options.maxBatchSize}`);
    }
    if (!(options.batchWaitTimeoutS >= 0)) {
      throw new RangeError(`batchWaitTimeoutS must be >= 0, got ${options.batchWaitTimeoutS}`);
    }
    this.#run = runBatch;
    this.#maxBatchSize = options.maxBatchSize;
    this.#waitMs = options.batchWaitTimeoutS * 1000;
  }

  /** Items waiting for a batch (not counting a batch that is running). */
  get waiting(): number {
    return this.#queue.length;
  }

  /** Queues one item; resolves with its own result once its batch has run. */
  submit(item: I): Promise<O> {
    const result = new Promise<O>((resolve, reject) => {
      this.#queue.push({ item, resolve, reject });
    });
    this.#schedule();
    return result;
  }

  #schedule(): void {
    if (this.#running || this.#queue.length === 0) return;
    if (this.#queue.length >= this.#maxBatchSize) {
      this.#clearTimer();
      void this.#flush();
    } else if (this.#timer === null) {
      this.#timer = setTimeout(() => {
        this.#timer = null;
        void this.#flush();
      }, this.#waitMs);
    }
  }

  #clearTimer(): void {
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  async #flush(): Promise<void> {
    if (this.#running || this.#queue.length === 0) return;
    this.#running = true;
    const batch = this.#queue.splice(0, this.#maxBatchSize);
    this.batchSizes.push(batch.length);
    try {
      const results = await this.#run(batch.map((w) => w.item));
      if (!Array.isArray(results) || results.length !== batch.length) {
        throw new Error(
          `a batch of ${batch.length} got ${
            Array.isArray(results) ? results.length : "no"
          } results`,
        );
      }
      batch.forEach((w, i) => w.resolve(results[i]));
    } catch (error) {
      for (const w of batch) w.reject(error);
    } finally {
      this.#running = false;
      this.#schedule();
    }
  }
}

/** What batching needs of a classifier (lib/model's `Classifier` has it). */
export interface BatchableClassifier {
  backend: string;
  sessionCreateMs?: number;
  warmupMs?: number;
  /** Largest batch the model takes (1 when its batch dimension is fixed). */
  maxBatch: number;
  preprocess(
    image: Uint8Array,
    options?: { maxPixels?: number },
  ): Promise<{ input: Float32Array; preprocessMs: number }>;
  classifyBatch(
    inputs: Float32Array[],
    options?: { tops?: number[] },
  ): Promise<
    { top: { index: number; label: string; probability: number }[]; inferenceMs: number }[]
  >;
  close(): Promise<void>;
}

/** A classifier whose `classify` preprocesses alone and infers in batches. */
export interface BatchedClassifier {
  backend: string;
  sessionCreateMs?: number;
  warmupMs?: number;
  classify(
    image: Uint8Array,
    options?: { top?: number; maxPixels?: number },
  ): Promise<{
    top: { index: number; label: string; probability: number }[];
    preprocessMs: number;
    inferenceMs: number;
  }>;
  close(): Promise<void>;
  /** The batcher: batch sizes so far. */
  batcher: { readonly batchSizes: readonly number[]; readonly waiting: number };
}

/**
 * Wraps a classifier so that each `classify` call preprocesses its own image (concurrently with
 * others), then waits for a batch and gets its own labels from the shared session run. The batch
 * size is `options.maxBatchSize`, capped by what the model takes.
 */
export function batchedClassifier(
  classifier: BatchableClassifier,
  options: BatchingOptions,
): BatchedClassifier {
  const batcher = new RequestBatcher(
    (items: { input: Float32Array; top?: number }[]) =>
      classifier.classifyBatch(items.map((x) => x.input), {
        tops: items.map((x) => x.top ?? 5),
      }),
    { ...options, maxBatchSize: Math.max(1, Math.min(options.maxBatchSize, classifier.maxBatch)) },
  );
  return {
    backend: classifier.backend,
    sessionCreateMs: classifier.sessionCreateMs,
    warmupMs: classifier.warmupMs,
    batcher,
    async classify(image, classifyOptions = {}) {
      const { input, preprocessMs } = await classifier.preprocess(image, {
        maxPixels: classifyOptions.maxPixels,
      });
      const result = await batcher.submit({ input, top: classifyOptions.top });
      return { ...result, preprocessMs };
    },
    close: () => classifier.close(),
  };
}
