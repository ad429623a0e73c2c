/**
 * Runs batches of evaluations on worker threads (one per core by default), or in-process with
 * `workers: 0`. Results come back in job order whatever the finishing order, so a search driven
 * by them is deterministic for a seed.
 *
 * @module
 */
import {
  type EvalContext,
  type EvalJob,
  type EvalResult,
  evaluateJob,
  prepareContext,
  type PreparedContext,
} from "./evaluate.ts";

/** Message to a worker. */
export type WorkerRequest =
  | { kind: "init"; context: EvalContext }
  | { kind: "jobs"; chunk: number; jobs: EvalJob[] };

/** Message from a worker. */
export type WorkerReply =
  | { kind: "results"; chunk: number; results: EvalResult[] }
  | { kind: "error"; chunk: number; message: string };

/** Runs evaluation batches; see {@linkcode createEvaluator}. */
export interface Evaluator {
  /** Evaluates `jobs`; `onDone(n)` after every finished chunk (n done so far in this batch). */
  run(jobs: readonly EvalJob[], onDone?: (done: number) => void): Promise<EvalResult[]>;
  /** Threads used (0: in-process). */
  readonly workers: number;
  /** Stops the workers. */
  close(): void;
}

/** Options of {@linkcode createEvaluator}. */
export interface EvaluatorOptions {
  /** Worker threads; default `navigator.hardwareConcurrency`; 0 runs in-process. */
  workers?: number;
  /** Jobs sent to a worker at once (default 2: little messaging, little idle at the end). */
  chunkSize?: number;
}

/** Starts the evaluator (and its workers) for one context. */
export async function createEvaluator(
  context: EvalContext,
  options: EvaluatorOptions = {},
): Promise<Evaluator> {
  const count = options.workers ?? navigator.hardwareConcurrency ?? 1;
  // Fail on a bad spec here, in the caller, not later inside a worker.
  const prepared = await prepareContext(context);
  if (count <= 0) return inProcess(prepared);
  return withWorkers(context, count, options.chunkSize ?? 2);
}

function inProcess(prepared: PreparedContext): Evaluator {
  return {
    workers: 0,
    async run(jobs, onDone) {
      const out: EvalResult[] = [];
      for (const job of jobs) {
        out.push(await evaluateJob(prepared, job));
        onDone?.(out.length);
      }
      return out;
    },
    close() {},
  };
}

function withWorkers(context: EvalContext, count: number, chunkSize: number): Evaluator {
  const workers = Array.from({ length: count }, () => {
    const w = new Worker(new URL("./_worker.ts", import.meta.url), { type: "module" });
    w.postMessage({ kind: "init", context } satisfies WorkerRequest);
    return w;
  });
  let busy = false;
  return {
    workers: count,
    run(jobs, onDone) {
      if (busy) return Promise.reject(new Error("evaluator: one batch at a time"));
      busy = true;
      const chunks: EvalJob[][] = [];
      for (let i = 0; i < jobs.length; i += chunkSize) chunks.push(jobs.slice(i, i + chunkSize));
      const results: EvalResult[][] = new Array(chunks.length);
      let next = 0, finished = 0, done = 0;
      return new Promise<EvalResult[]>((resolve, reject) => {
        if (chunks.length === 0) {
          busy = false;
          resolve([]);
          return;
        }
        const send = (w: Worker) => {
          if (next >= chunks.length) return;
          const chunk = next++;
          w.postMessage({ kind: "jobs", chunk, jobs: chunks[chunk] } satisfies WorkerRequest);
        };
        for (const w of workers) {
          w.onmessage = (event: MessageEvent<WorkerReply>) => {
            const msg = event.data;
            if (msg.kind === "error") {
              busy = false;
              reject(new Error(`evaluation failed in a worker: ${msg.message}`));
              return;
            }
            results[msg.chunk] = msg.results;
            done += msg.results.length;
            finished++;
            onDone?.(done);
            if (finished === chunks.length) {
              busy = false;
              resolve(results.flat());
            } else send(w);
          };
          w.onerror = (event) => {
            event.preventDefault();
            busy = false;
            reject(new Error(`a tune worker crashed: ${event.message}`));
          };
          send(w);
        }
      });
    },
    close() {
      for (const w of workers) w.terminate();
    },
  };
}
