/**
 * Reads replica counts from the service's `GET /api/status` (notes/CONTRACTS.md) once a second
 * during a run, for `_replicas.csv` and the live line.
 *
 * @module
 */
import type { ReplicaSample } from "./csv_files.ts";

/** Sums replica and request counts over every deployment of every application in a status body. */
export function replicaSampleFromStatus(status: unknown): ReplicaSample | null {
  const apps = (status as { applications?: Record<string, unknown> })?.applications;
  if (!apps || typeof apps !== "object") return null;
  const sample: ReplicaSample = {
    targetReplicas: 0,
    runningReplicas: 0,
    startingReplicas: 0,
    pendingReplicas: 0,
    ongoingRequests: 0,
    queuedRequests: 0,
  };
  let seen = 0;
  for (const app of Object.values(apps)) {
    const deps = (app as { deployments?: Record<string, unknown> })?.deployments;
    if (!deps || typeof deps !== "object") continue;
    for (const d of Object.values(deps) as Record<string, unknown>[]) {
      if (!d || typeof d !== "object") continue;
      const states = (d.replica_states ?? {}) as Record<string, unknown>;
      const num = (v: unknown) => (typeof v === "number" && Number.isFinite(v) ? v : 0);
      sample.targetReplicas += num(d.target_replicas);
      sample.runningReplicas += num(states.RUNNING);
      sample.startingReplicas += num(states.STARTING);
      sample.pendingReplicas += num(states.PENDING_ALLOCATION);
      sample.ongoingRequests += num(d.ongoing_requests);
      sample.queuedRequests += num(d.queued_requests);
      seen++;
    }
  }
  return seen > 0 ? sample : null;
}

/** Polls `/api/status` every `intervalMs`; {@linkcode ReplicaPoller.latest} is the newest sample. */
export class ReplicaPoller {
  readonly #url: string;
  readonly #intervalMs: number;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #latest: ReplicaSample | null = null;
  #latestAtMs = 0;
  #stopped = false;

  /** A poller for `baseUrl` (`http://127.0.0.1:8000`). */
  constructor(baseUrl: string, options: { intervalMs?: number } = {}) {
    this.#url = new URL("/api/status", baseUrl).toString();
    this.#intervalMs = options.intervalMs ?? 1000;
  }

  /**
   * Reads the status once. Returns `null` when it worked, else a note saying why the target has
   * no usable status (then the caller skips `_replicas.csv`).
   */
  async probe(): Promise<string | null> {
    try {
      const res = await fetch(this.#url, { signal: AbortSignal.timeout(3000) });
      const text = await res.text();
      if (!res.ok) return `GET ${this.#url} answered HTTP ${res.status}`;
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch {
        return `GET ${this.#url} did not return JSON`;
      }
      const sample = replicaSampleFromStatus(body);
      if (!sample) return `GET ${this.#url} has no applications/deployments`;
      this.#latest = sample;
      this.#latestAtMs = performance.now();
      return null;
    } catch (e) {
      return `GET ${this.#url} failed: ${(e as Error).message}`;
    }
  }

  /** Starts polling in the background. */
  start(): void {
    const tick = async () => {
      if (this.#stopped) return;
      try {
        const res = await fetch(this.#url, {
          signal: AbortSignal.timeout(Math.max(200, this.#intervalMs - 100)),
        });
        const sample = res.ok
          ? replicaSampleFromStatus(await res.json())
          : (await res.body?.cancel(), null);
        if (sample) {
          this.#latest = sample;
          this.#latestAtMs = performance.now();
        }
      } catch {
        // keep the previous sample; it goes stale below
      }
      if (!this.#stopped) this.#timer = setTimeout(tick, this.#intervalMs);
    };
    this.#timer = setTimeout(tick, 0);
  }

  /** The newest sample, or `null` when none is fresher than 2.5 intervals. */
  latest(): ReplicaSample | null {
    if (this.#latest && performance.now() - this.#latestAtMs <= 2.5 * this.#intervalMs) {
      return this.#latest;
    }
    return null;
  }

  /** Stops polling. */
  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
  }
}
