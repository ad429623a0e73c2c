/**
 * The tuner's worker: receives the shared context once, then chunks of jobs, and answers each
 * chunk with its results (or the error text). Private to lib/tune (started by pool.ts).
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { type EvalJob, evaluateJob, prepareContext, type PreparedContext } from "./evaluate.ts";
import type { WorkerReply, WorkerRequest } from "./pool.ts";

let prepared: Promise<PreparedContext> | null = null;

self.onmessage = async (event: MessageEvent<WorkerRequest>) => {
  const msg = event.data;
  if (msg.kind === "init") {
    prepared = prepareContext(msg.context);
    return;
  }
  try {
    if (!prepared) throw new Error("tune worker: jobs before init");
    const ctx = await prepared;
    const results = [];
    for (const job of msg.jobs as EvalJob[]) results.push(await evaluateJob(ctx, job));
    self.postMessage({ kind: "results", chunk: msg.chunk, results } satisfies WorkerReply);
  } catch (error) {
    const text = error instanceof Error ? error.stack ?? error.message : String(error);
    self.postMessage({ kind: "error", chunk: msg.chunk, message: text } satisfies WorkerReply);
  }
};
