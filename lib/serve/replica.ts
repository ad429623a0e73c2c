/**
 * The main thread's handle on one replica: its Web Worker, lifecycle state with times, ongoing
 * request count (kept by the router), pending replies, health pings and crash detection.
 *
 * @module
 */
import type {
  ClassifyRequest,
  ReplicaOptions,
  ReplicaReply,
  ReplicaState,
  ReplicaStatusJson,
} from "./types.ts";

/** The replica's worker died (crashed, failed its health checks, or was force-killed). */
export class ReplicaDiedError extends Error {
  /** Creates the error for replica `replicaId`. */
  constructor(readonly replicaId: string, reason: string) {
    super(`replica ${replicaId} died: ${reason}`);
    this.name = "ReplicaDiedError";
  }
}

/** A request was abandoned because its deadline passed. */
export class RequestTimeoutError extends Error {
  /** Creates the error; `where` says whether it was queued or executing. */
  constructor(readonly where: "queued" | "executing", timeoutS: number | null) {
    super(
      `the request did not finish within http_options.request_timeout_s` +
        (timeoutS !== null ? ` (${timeoutS} s)` : "") + ` (it was ${where} when it timed out)`,
    );
    this.name = "RequestTimeoutError";
  }
}

interface Pending {
  resolve: (reply: ReplicaReply) => void;
  reject: (error: Error) => void;
}

type WorkerMessage =
  | {
    type: "ready";
    backend: string;
    initMs: number;
    loadTimings: { sessionCreateMs: number; warmupMs: number };
  }
  | { type: "init_error"; message: string }
  | { type: "res"; id: number; reply: ReplicaReply }
  | { type: "pong"; id: number }
  | { type: "closed" };

const WORKER_URL = new URL("./_replica_worker.ts", import.meta.url);

/** One replica: a Web Worker with its own inference session. */
export class Replica {
  /** Lifecycle state. */
  state: ReplicaState = "PENDING_ALLOCATION";
  /** Requests assigned to this replica and not finished (maintained by the router). */
  ongoing = 0;
  /** The router's bookkeeping (lib/fleet): position in its routable list, or -1. */
  routablePos: number = -1;
  /** The router's bookkeeping: position in its list of replicas with a free slot, or -1. */
  freePos: number = -1;
  /** Unix ms when the replica was asked for (the replica set stamps the lifecycle times). */
  requestedAtMs: number = Date.now();
  /** Unix ms when it got its CPUs and began starting. */
  startedAtMs: number | null = null;
  /** Unix ms when it became RUNNING. */
  runningSinceMs: number | null = null;
  /** Unix ms when it began stopping. */
  stoppingSinceMs: number | null = null;
  /** Backend reported by the worker once ready. */
  backend = "";
  /** Worker's own model-load time (handler creation), ms. */
  initMs = 0;
  /** From spawning the worker to its ready message, ms (boot = this - initMs). */
  spawnToReadyMs = 0;
  /** Session creation and warm-up inside initMs, ms. */
  loadTimings = { sessionCreateMs: 0, warmupMs: 0 };
  #spawnedAt = 0;
  /** Consecutive failed health checks. */
  healthFailures = 0;
  /** True once the worker is gone (crashed or terminated). */
  dead = false;
  /** Called once when the worker dies unexpectedly (not via {@link kill}). */
  onCrash: ((reason: string) => void) | null = null;

  #worker: Worker | null = null;
  #pending = new Map<number, Pending>();
  #pongs = new Map<number, (ok: boolean) => void>();
  #nextId = 1;
  #ready: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #closed: (() => void) | null = null;

  /** Creates a replica in PENDING_ALLOCATION. */
  constructor(readonly id: string, readonly numCpus: number) {}

  /**
   * Starts the worker and loads the model; resolves when it can serve. The state and its times
   * are the replica set's (lib/fleet) to change.
   */
  start(options: ReplicaOptions): Promise<void> {
    this.#spawnedAt = performance.now();
    const worker = new Worker(WORKER_URL, { type: "module", name: `replica-${this.id}` });
    this.#worker = worker;
    worker.onmessage = (event: MessageEvent<WorkerMessage>) => this.#onMessage(event.data);
    worker.onerror = (event: ErrorEvent) => {
      event.preventDefault();
      this.#die(`worker error: ${event.message}`, true);
    };
    worker.onmessageerror = () => this.#die("worker sent a message that could not be read", true);
    const ready = new Promise<void>((resolve, reject) => {
      this.#ready = { resolve, reject };
    });
    worker.postMessage({ type: "init", options });
    return ready;
  }

  #onMessage(msg: WorkerMessage): void {
    switch (msg.type) {
      case "ready":
        this.backend = msg.backend;
        this.initMs = msg.initMs;
        this.loadTimings = msg.loadTimings;
        this.spawnToReadyMs = performance.now() - this.#spawnedAt;
        this.#ready?.resolve();
        this.#ready = null;
        break;
      case "init_error":
        this.#ready?.reject(new Error(msg.message));
        this.#ready = null;
        this.kill("model failed to load");
        break;
      case "res": {
        const p = this.#pending.get(msg.id);
        if (p) {
          this.#pending.delete(msg.id);
          p.resolve(msg.reply);
        }
        break;
      }
      case "pong":
        this.#pongs.get(msg.id)?.(true);
        this.#pongs.delete(msg.id);
        break;
      case "closed":
        this.#closed?.();
        break;
    }
  }

  /**
   * Sends one request. Rejects with {@link ReplicaDiedError} if the worker dies first, or with
   * `signal.reason` if the signal aborts (the worker is told to drop the request).
   */
  send(request: ClassifyRequest, signal?: AbortSignal): Promise<ReplicaReply> {
    if (this.dead || !this.#worker) {
      return Promise.reject(new ReplicaDiedError(this.id, "worker is not running"));
    }
    const id = this.#nextId++;
    const worker = this.#worker;
    return new Promise<ReplicaReply>((resolve, reject) => {
      if (!signal) {
        this.#pending.set(id, { resolve, reject });
      } else {
        const onAbort = () => {
          if (this.#pending.delete(id)) {
            worker.postMessage({ type: "cancel", id });
            reject(signal.reason);
          }
        };
        signal.addEventListener("abort", onAbort, { once: true });
        this.#pending.set(id, {
          resolve: (reply) => {
            signal.removeEventListener("abort", onAbort);
            resolve(reply);
          },
          reject: (error) => {
            signal.removeEventListener("abort", onAbort);
            reject(error);
          },
        });
      }
      // Cloned, not transferred: a retry on another replica needs the bytes again.
      worker.postMessage({ type: "req", id, request });
    });
  }

  /** Health check: true when the worker answers a ping within `timeoutMs`. */
  ping(timeoutMs: number): Promise<boolean> {
    if (this.dead || !this.#worker) return Promise.resolve(false);
    const id = this.#nextId++;
    return new Promise<boolean>((resolve) => {
      const timer = setTimeout(() => {
        this.#pongs.delete(id);
        resolve(false);
      }, timeoutMs);
      this.#pongs.set(id, (ok) => {
        clearTimeout(timer);
        resolve(ok);
      });
      this.#worker!.postMessage({ type: "ping", id });
    });
  }

  /** Test hook: makes the worker throw an uncaught error, as a crashing replica would. */
  crashForTest(): void {
    this.#worker?.postMessage({ type: "crash" });
  }

  /** Test hook: makes the worker busy-wait `ms` (it then misses health checks). */
  blockForTest(ms: number): void {
    this.#worker?.postMessage({ type: "block", ms });
  }

  /** Number of requests sent to the worker and not answered. */
  get inFlight(): number {
    return this.#pending.size;
  }

  /** Asks the worker to release its session, then terminates it (after `timeoutMs` at most). */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.dead || !this.#worker) return;
    const closed = new Promise<void>((resolve) => {
      this.#closed = resolve;
    });
    this.#worker.postMessage({ type: "close" });
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([closed, new Promise((r) => timer = setTimeout(r, timeoutMs))]);
    clearTimeout(timer);
    this.kill("stopped");
  }

  /** Terminates the worker now; requests still in flight reject with {@link ReplicaDiedError}. */
  kill(reason: string): void {
    this.#die(reason, false);
  }

  #die(reason: string, crashed: boolean): void {
    if (this.dead) return;
    this.dead = true;
    this.#worker?.terminate();
    this.#worker = null;
    this.#ready?.reject(new Error(reason));
    this.#ready = null;
    const pending = [...this.#pending.values()];
    this.#pending.clear();
    for (const p of pending) p.reject(new ReplicaDiedError(this.id, reason));
    for (const resolve of this.#pongs.values()) resolve(false);
    this.#pongs.clear();
    if (crashed) this.onCrash?.(reason);
  }

  /** This replica as `/api/status` shows it. */
  toJson(): ReplicaStatusJson {
    return {
      replica_id: this.id,
      state: this.state,
      ongoing_requests: this.ongoing,
      num_cpus: this.numCpus,
      requested_at_ms: this.requestedAtMs,
      started_at_ms: this.startedAtMs,
      running_since_ms: this.runningSinceMs,
      stopping_since_ms: this.stoppingSinceMs,
    };
  }
}
