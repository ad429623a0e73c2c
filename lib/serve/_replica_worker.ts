/**
 * Web Worker entry of one replica: wraps {@link createReplicaHandler} in a message protocol.
 *
 * main -> worker: `init` (options; ONNX bytes over a SharedArrayBuffer), `req` (id, request),
 * `cancel` (id), `ping` (id), `crash` / `block` (test hooks: throw an uncaught error / busy-wait `ms`), `close`.
 * worker -> main: `ready` (backend, initMs), `init_error` (message), `res` (id, reply),
 * `pong` (id), `closed`.
 *
 * @module
 */
/// <reference lib="deno.worker" />
import { createReplicaHandler, type ReplicaHandler } from "./replica_handler.ts";
import type { ClassifyRequest, ReplicaOptions } from "./types.ts";

type Incoming =
  | { type: "init"; options: ReplicaOptions }
  | { type: "req"; id: number; request: ClassifyRequest }
  | { type: "cancel"; id: number }
  | { type: "ping"; id: number }
  | { type: "crash" }
  | { type: "block"; ms: number }
  | { type: "close" };

let handler: ReplicaHandler | null = null;
/** Requests being handled; the controller is null when nothing can be cancelled midway. */
const inFlight = new Map<number, AbortController | null>();

self.onmessage = async (event: MessageEvent<Incoming>) => {
  const msg = event.data;
  switch (msg.type) {
    case "init": {
      const t0 = performance.now();
      try {
        handler = await createReplicaHandler(msg.options);
        // ORT-node needs an ArrayBuffer, so lib/model copies the shared model bytes once per
        // session; that copy is garbage now. An idle worker would keep it until some later GC,
        // so collect now when the process allows it (`--v8-flags=--expose-gc`, deno task deploy).
        (globalThis as { gc?: () => void }).gc?.();
        self.postMessage({
          type: "ready",
          backend: handler.backend,
          initMs: performance.now() - t0,
          loadTimings: handler.loadTimings,
        });
      } catch (error) {
        self.postMessage({
          type: "init_error",
          message: (error as Error)?.message ?? String(error),
        });
      }
      break;
    }
    case "req": {
      // Only a URI fetch can be cancelled midway; raw-byte requests skip the controller.
      const controller = msg.request.source.kind === "uri" ? new AbortController() : null;
      inFlight.set(msg.id, controller);
      const reply = handler
        ? await handler.handle(msg.request, controller ? { signal: controller.signal } : undefined)
        : {
          ok: false as const,
          failure: { status: 503, error: "not_ready", detail: "replica is not initialised" },
        };
      const cancelled = !inFlight.has(msg.id);
      inFlight.delete(msg.id);
      if (!cancelled) self.postMessage({ type: "res", id: msg.id, reply });
      break;
    }
    case "cancel":
      inFlight.get(msg.id)?.abort();
      inFlight.delete(msg.id);
      break;
    case "ping":
      self.postMessage({ type: "pong", id: msg.id });
      break;
    case "crash":
      setTimeout(() => {
        throw new Error("replica crash requested (test hook)");
      }, 0);
      break;
    case "block": {
      // Test hook: a replica stuck in synchronous work (it cannot answer health checks).
      const until = performance.now() + msg.ms;
      while (performance.now() < until) { /* busy */ }
      break;
    }
    case "close":
      try {
        await handler?.close();
      } finally {
        self.postMessage({ type: "closed" });
      }
      break;
  }
};
