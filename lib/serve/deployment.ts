/**
 * One deployment: real replicas (Web Workers) in the shared replica set and router (lib/fleet:
 * lifecycle, CPU accounting, start limits, draining, stop order, power of two choices), the
 * request queue in front of them, health checks, crash replacement with start-failure backoff,
 * and the deployment's status. It implements the autoscaler's `AutoscalingTarget` structurally
 * (`ongoingByReplica`, `queuedRequests`, `runningReplicas`, `targetReplicas`,
 * `setTargetReplicas`).
 *
 * @module
 */
import type { DeploymentConfig } from "../config/mod.ts";
import { type AutoscalerHandle, type Clock, realClock } from "../autoscaler/mod.ts";
import { ReplicaRouter, ReplicaSet } from "../fleet/mod.ts";
import { type Cluster, machineCpuCount } from "./cluster.ts";
import { DeploymentMetrics } from "./deployment_metrics.ts";
import type { Registry } from "./metrics.ts";
import { Replica, ReplicaDiedError, RequestTimeoutError } from "./replica.ts";
import { RequestQueue } from "./request_queue.ts";
import { ReplicaVersions, rollOut, type RollOutResult } from "./_rolling_update.ts";
import {
  newReplicaId,
  onCpusFreed,
  SLOW_STARTUP_WARNING_MS,
  slowStartWarnings,
  STATUS_CODES,
  waitForQueueToEmpty,
} from "./_deployment_helpers.ts";
import { type HandledRequest, initialReplicaCount } from "./_deployment_helpers.ts";
export { type HandledRequest, initialReplicaCount };
import type {
  ClassifyRequest,
  DeploymentStatus,
  DeploymentStatusJson,
  LogLevel,
  ReplicaOptions,
  ReplicaState,
} from "./types.ts";

/** What the deployment reads of an attached autoscaler (lib/autoscaler's handle). */
export type AutoscalerLike = Pick<AutoscalerHandle, "status" | "stop">;

/** Options of {@link Deployment}. */
export interface DeploymentOptions {
  /** Name of the application the deployment belongs to (a metric label). */
  appName: string;
  /** The application's route prefix (a metric label). */
  route: string;
  /** The logical CPUs replicas take. */
  cluster: Cluster;
  /** What each replica is started with (model, backend, limits). */
  replicaOptions: ReplicaOptions;
  /** Where the deployment registers its Prometheus metrics. */
  registry: Registry;
  /** Readable log lines (replica and status changes); `level` is `INFO` when omitted. */
  log?: (line: string, level?: LogLevel) => void;
  /** Uniform [0,1) source for routing and health-check jitter. */
  random?: () => number;
  /**
   * Replicas loading their model at once (default: the machine's CPU count): more only share the
   * cores and stack their memory peaks; the rest wait in STARTING with their CPUs allocated.
   */
  maxConcurrentStarts?: number;
  /** Time source for the replica lifecycle, health checks and backoff (default: real time). */
  clock?: Clock;
}

const HEALTH_CHECK_UNHEALTHY_THRESHOLD = 3;

/** A deployment's replicas, router and status; see the module doc. */
export class Deployment {
  /** Deployment name. */
  readonly name: string;
  /** Routes requests to RUNNING replicas (the shared router). */
  readonly router: ReplicaRouter<Replica>;
  /** Requests waiting for a replica slot. */
  readonly queue: RequestQueue<Replica>;
  readonly #set: ReplicaSet<Replica>;
  readonly #clock: Clock;
  #status: DeploymentStatus = "UPDATING";
  #trigger = "CONFIG_UPDATE_STARTED";
  #message = "";
  #unhealthy = false;
  #startFailures = 0;
  #retryTimer: number | undefined;
  #healthTimers = new Map<Replica, number>();
  #slowStartTimer: number | undefined;
  #autoscaler: AutoscalerLike | null = null;
  #stopped = false;
  #config: DeploymentConfig;
  #replicaOptions: ReplicaOptions;
  readonly #versions = new ReplicaVersions<Replica>();
  #rolling: Promise<RollOutResult> | null = null;
  readonly #unsubscribeCluster: () => void;
  readonly #log: (line: string, level?: LogLevel) => void;
  readonly #random: () => number;
  readonly #metrics: DeploymentMetrics;

  /** Creates a deployment with no replicas; call {@link start}. */
  constructor(config: DeploymentConfig, readonly options: DeploymentOptions) {
    this.name = config.name;
    this.#config = config;
    this.#replicaOptions = options.replicaOptions;
    this.#log = options.log ?? (() => {});
    this.#random = options.random ?? Math.random;
    this.#clock = options.clock ?? realClock;
    this.router = new ReplicaRouter<Replica>({
      maxOngoingRequests: config.max_ongoing_requests,
      maxQueuedRequests: config.max_queued_requests,
      random: this.#random,
    });
    this.queue = new RequestQueue(this.router, {
      maxQueuedRequests: config.max_queued_requests,
    });
    const numCpus = config.ray_actor_options.num_cpus;
    this.#set = new ReplicaSet<Replica>({
      create: () => {
        const r = new Replica(newReplicaId(), this.#config.ray_actor_options.num_cpus);
        this.#versions.stamp(r);
        return r;
      },
      start: (r) => this.#spawnReplica(r),
      busy: (r) => r.ongoing > 0 || r.inFlight > 0,
      close: (r) => r.close(),
      kill: (r, reason) => r.kill(reason),
      changed: (r, _from, to) => this.#replicaChanged(r, to),
    }, {
      clock: this.#clock,
      router: this.router,
      cluster: options.cluster,
      numCpusPerReplica: numCpus,
      maxConcurrentStarts: Math.max(1, options.maxConcurrentStarts ?? machineCpuCount()),
      gracefulShutdownWaitLoopS: config.graceful_shutdown_wait_loop_s,
      gracefulShutdownTimeoutS: config.graceful_shutdown_timeout_s,
      log: (line) => this.#log(line),
    });
    this.#unsubscribeCluster = onCpusFreed(options.cluster, () => {
      if (!this.#stopped && this.#set.counts.PENDING_ALLOCATION > 0) this.#reconcile();
    });
    this.#metrics = new DeploymentMetrics(
      options.registry,
      { name: this.name, appName: options.appName, route: options.route },
      {
        queued: () => this.queue.queued,
        ongoingTotal: () => this.#ongoingTotal(),
        replicas: () =>
          this.#set.replicas.map((r) => ({
            id: r.id,
            ongoing: r.ongoing,
            state: r.state,
            healthy: r.state === "RUNNING" && r.healthFailures === 0,
          })),
        stateCounts: () => this.#set.counts,
        statusCode: () => STATUS_CODES[this.currentStatus().status] ?? 0,
        target: () => this.#set.target,
        desired: () => Number(this.#autoscaler?.status()?.desired_replicas ?? this.#set.target),
      },
    );
  }

  // ---- AutoscalingTarget -------------------------------------------------------------------

  /** Requests executing on each RUNNING replica. */
  ongoingByReplica(): ReadonlyMap<string, number> {
    const m = new Map<string, number>();
    for (const r of this.router.replicas) m.set(r.id, r.ongoing);
    return m;
  }

  /** A number that changes whenever the set of RUNNING replicas changes. */
  replicaSetVersion(): number {
    return this.router.version;
  }

  /** Requests waiting in the router queue. */
  queuedRequests(): number {
    return this.queue.queued;
  }

  /** RUNNING replicas. */
  runningReplicas(): number {
    return this.#set.counts.RUNNING;
  }

  /** Current target (a rolling update's extra replica is not counted). */
  targetReplicas(): number {
    return this.#set.target - this.#versions.surge;
  }

  /** Sets a new target; replicas are added (PENDING_ALLOCATION) or drained to meet it. */
  setTargetReplicas(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`target replicas must be an integer >= 0, got ${n}`);
    }
    if (this.#stopped || n === this.targetReplicas()) return;
    const from = this.#set.liveCount - this.#versions.surge;
    const autoscaled = this.#autoscaler !== null;
    if (this.#status !== "UPDATING" && this.#status !== "DEPLOY_FAILED") {
      if (n > from) {
        this.#setStatus(
          "UPSCALING",
          autoscaled ? "AUTOSCALING" : "CONFIG_UPDATE_STARTED",
          `Upscaling from ${from} to ${n} replicas.`,
        );
      } else if (n < from) {
        this.#setStatus(
          "DOWNSCALING",
          autoscaled ? "AUTOSCALING" : "CONFIG_UPDATE_STARTED",
          `Downscaling from ${from} to ${n} replicas.`,
        );
      }
    }
    this.#log(`target replicas ${this.targetReplicas()} -> ${n}`);
    this.#set.setTarget(n + this.#versions.surge);
    this.#updateStatus();
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Starts the initial replicas (num_replicas, or initial_replicas ?? min_replicas). */
  start(): void {
    const target = initialReplicaCount(this.config);
    this.#log(
      `deploying ${target} replica(s) x ${this.config.ray_actor_options.num_cpus} CPU ` +
        `(cluster has ${this.options.cluster.numCpus} CPUs)`,
    );
    const need = this.config.ray_actor_options.num_cpus;
    if (need > this.options.cluster.numCpus) {
      this.#log(
        `a replica needs ${need} CPUs but the cluster has only ` +
          `${this.options.cluster.numCpus}: replicas will wait in PENDING_ALLOCATION until ` +
          `ray_actor_options.num_cpus is lowered or --num-cpus raised`,
        "WARN",
      );
    }
    this.#set.setTarget(target);
    this.#updateStatus();
    const warnLoop = () => {
      this.#warnSlowStarts();
      this.#slowStartTimer = this.#clock.setTimeout(warnLoop, SLOW_STARTUP_WARNING_MS);
    };
    this.#slowStartTimer = this.#clock.setTimeout(warnLoop, SLOW_STARTUP_WARNING_MS);
  }

  #warnSlowStarts(): void {
    const lines = slowStartWarnings(this.#set.replicas, {
      nowMs: this.#clock.now(),
      numCpus: this.config.ray_actor_options.num_cpus,
      cluster: this.options.cluster,
    });
    for (const line of lines) this.#log(line, "WARN");
  }

  /** Makes the deployment report the autoscaler's status and decisions. */
  attachAutoscaler(autoscaler: AutoscalerLike): void {
    this.#autoscaler = autoscaler;
  }

  /** Stops and forgets the autoscaler (`autoscaling_config` removed). */
  detachAutoscaler(): void {
    this.#autoscaler?.stop();
    this.#autoscaler = null;
  }

  /** The config in force (a lightweight or rolling update replaces it). */
  get config(): DeploymentConfig {
    return this.#config;
  }

  /** Lightweight update: new limits and timings, no replica restarts (autoscaler: caller's). */
  reconfigure(next: DeploymentConfig): void {
    this.#config = next;
    this.router.setLimits({
      maxOngoingRequests: next.max_ongoing_requests,
      maxQueuedRequests: next.max_queued_requests,
    });
    this.queue.maxQueuedRequests = next.max_queued_requests;
    this.#set.configure({
      gracefulShutdownWaitLoopS: next.graceful_shutdown_wait_loop_s,
      gracefulShutdownTimeoutS: next.graceful_shutdown_timeout_s,
    });
    this.queue.dispatch(); // a higher max_ongoing_requests frees slots for waiting requests
    if (next.autoscaling_config === null && this.#autoscaler === null) {
      this.setTargetReplicas(next.num_replicas ?? 1);
    }
  }

  /** Rolling update to new replica options, one replica at a time (see _rolling_update.ts). */
  rollingUpdate(next: DeploymentConfig, replicaOptions: ReplicaOptions): Promise<RollOutResult> {
    this.reconfigure(next);
    this.#replicaOptions = replicaOptions;
    this.#set.configure({ numCpusPerReplica: next.ray_actor_options.num_cpus });
    const version = ++this.#versions.version;
    this.#setStatus("UPDATING", "CONFIG_UPDATE_STARTED", `Rolling to version ${version}.`);
    const view = this.#versions.view(this.#set, {
      name: this.name,
      isStopped: () => this.#stopped,
      isFailed: () => this.#status === "DEPLOY_FAILED",
      newcomerFits: () => this.options.cluster.fits(this.#config.ray_actor_options.num_cpus),
    });
    const previous = this.#rolling ?? Promise.resolve("done" as RollOutResult);
    const run = previous.then(() => rollOut(view, { log: this.#log }));
    this.#rolling = run;
    return run.finally(() => {
      if (this.#rolling === run) {
        this.#rolling = null;
        this.#updateStatus();
      }
    });
  }

  /** The attached autoscaler, if any. */
  get autoscaler(): AutoscalerLike | null {
    return this.#autoscaler;
  }

  /** Every replica, any state (newest last). */
  get replicas(): readonly Replica[] {
    return this.#set.replicas;
  }

  /**
   * Routes one request: waits for a slot (503 via BackPressureError when the queue is full),
   * sends it, and retries once on another replica if the first one dies. `timeoutMs` ends it
   * with {@link RequestTimeoutError} and frees its slot.
   */
  async handle(
    request: ClassifyRequest,
    options: { signal?: AbortSignal; timeoutMs?: number | null } = {},
  ): Promise<HandledRequest> {
    const timeoutMs = options.timeoutMs ?? null;
    const outer = options.signal;
    // The hot path (no timeout, no caller signal) allocates no controller, timer or listener.
    let controller: AbortController | null = null;
    let phase: "queued" | "executing" = "queued";
    let timer: ReturnType<typeof setTimeout> | undefined;
    let onOuterAbort: (() => void) | null = null;
    if (timeoutMs !== null || outer) {
      const c = new AbortController();
      controller = c;
      if (timeoutMs !== null) {
        timer = setTimeout(
          () => c.abort(new RequestTimeoutError(phase, timeoutMs / 1000)),
          timeoutMs,
        );
      }
      if (outer) {
        onOuterAbort = () => c.abort(outer.reason);
        outer.addEventListener("abort", onOuterAbort, { once: true });
      }
    }
    const signal = controller?.signal;
    this.#metrics.routerRequest();
    let retried = false;
    try {
      for (;;) {
        phase = "queued";
        const t0 = performance.now();
        const replica = await this.queue.acquire({ signal, front: retried });
        const queueMs = performance.now() - t0;
        phase = "executing";
        const series = this.#metrics.replicaSeries(replica);
        try {
          const reply = await replica.send(request, signal);
          const error = !reply.ok && reply.failure.status >= 500;
          this.#metrics.processed(series, performance.now() - t0 - queueMs, error);
          return { reply, replicaId: replica.id, queueMs, retried };
        } catch (error) {
          if (error instanceof ReplicaDiedError && !retried && !this.#stopped) {
            this.#log(
              `request on ${replica.id} lost (${error.message}); retrying once on another replica`,
            );
            retried = true;
            continue;
          }
          this.#metrics.failed(series);
          throw error;
        } finally {
          this.queue.release(replica);
        }
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (onOuterAbort) outer!.removeEventListener("abort", onOuterAbort);
    }
  }

  /**
   * Stops everything: waiting requests are refused, replicas leave routing and drain (in-flight
   * requests finish, `graceful_shutdown_timeout_s` at most), then their workers end.
   */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#autoscaler?.stop();
    this.#stopped = true;
    this.#unsubscribeCluster();
    this.#versions.wake();
    if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
    if (this.#slowStartTimer !== undefined) this.#clock.clearTimeout(this.#slowStartTimer);
    for (const t of this.#healthTimers.values()) this.#clock.clearTimeout(t);
    this.#healthTimers.clear();
    // Requests still waiting have nowhere to go once every replica drains.
    await waitForQueueToEmpty(this.queue, {
      running: () => this.runningReplicas(),
      clock: this.#clock,
      timeoutMs: this.config.graceful_shutdown_timeout_s * 1000,
    });
    this.queue.rejectAll(new Error("the deployment is shutting down"));
    await this.#set.stopAll();
  }

  // ---- replicas ----------------------------------------------------------------------------

  #ongoingTotal(): number {
    let n = 0;
    for (const r of this.#set.replicas) n += r.ongoing;
    return n;
  }

  /** The replica set's state changes: routing hand-off, health checks and status. */
  #replicaChanged(r: Replica, to: ReplicaState | null): void {
    this.#versions.wake();
    if (to === "RUNNING") {
      this.queue.dispatch();
    } else if (to === "STOPPING" || to === null) {
      const timer = this.#healthTimers.get(r);
      if (timer !== undefined) this.#clock.clearTimeout(timer);
      this.#healthTimers.delete(r);
    }
    if (to === null && !this.#stopped) this.#updateStatus();
  }

  #spawnReplica(r: Replica): void {
    this.#metrics.replicaStarted(r.id);
    r.onCrash = (reason) => this.#onReplicaFailed(r, `crashed: ${reason}`);
    r.start(this.#replicaOptions).then(
      () => {
        if (this.#stopped || !this.#set.running(r)) return;
        this.#startFailures = 0;
        const ms = (r.runningSinceMs ?? 0) - r.requestedAtMs;
        this.#metrics.replicaRunning(r.id, ms);
        this.#log(
          `replica ${r.id} RUNNING after ${(ms / 1000).toFixed(2)} s ` +
            `(${r.backend}, model load ${(r.initMs / 1000).toFixed(2)} s)`,
        );
        this.#scheduleHealthCheck(r);
        this.#updateStatus();
      },
      (error: Error) => {
        if (r.state !== "STARTING" || this.#stopped) return;
        this.#startFailures++;
        this.#set.startFailed(r);
        const limit = Math.min(
          Math.max(1, this.#set.target) * 3,
          this.config.max_constructor_retry_count,
        );
        this.#log(
          `replica ${r.id} failed to start (${this.#startFailures}/${limit}): ${error.message}`,
        );
        // Ray: failed when no replica of the new version runs (old ones may still serve).
        const current = this.#set.replicas.some((x) =>
          x.state === "RUNNING" && this.#versions.isCurrent(x)
        );
        if (this.#startFailures >= limit && !current) {
          this.#setStatus(
            "DEPLOY_FAILED",
            "REPLICA_STARTUP_FAILED",
            `The deployment failed to start ${this.#startFailures} times in a row. ` +
              `Last error: ${error.message}`,
          );
          this.#set.holdNewReplicasUntil(Infinity);
          this.#versions.wake();
          return;
        }
        const backoffMs = Math.min(64, 2 ** (this.#startFailures - 1)) * 1000;
        this.#set.holdNewReplicasUntil(this.#clock.now() + backoffMs);
        if (this.#retryTimer !== undefined) this.#clock.clearTimeout(this.#retryTimer);
        this.#retryTimer = this.#clock.setTimeout(() => this.#reconcile(), backoffMs);
        this.#reconcile();
      },
    );
  }

  #reconcile(): void {
    if (this.#stopped) return;
    this.#set.reconcile();
    this.#updateStatus();
  }

  #scheduleHealthCheck(r: Replica): void {
    const periodMs = this.config.health_check_period_s * 1000 * (0.9 + 0.2 * this.#random());
    const timer = this.#clock.setTimeout(async () => {
      this.#healthTimers.delete(r);
      if (r.state !== "RUNNING" || r.dead) return;
      const ok = await r.ping(this.config.health_check_timeout_s * 1000);
      if (r.state !== "RUNNING" || r.dead || this.#stopped) return;
      if (ok) {
        r.healthFailures = 0;
      } else {
        r.healthFailures++;
        this.#metrics.healthCheckFailed(r.id);
        this.#log(
          `replica ${r.id} failed a health check (${r.healthFailures}/${HEALTH_CHECK_UNHEALTHY_THRESHOLD})`,
        );
        if (r.healthFailures >= HEALTH_CHECK_UNHEALTHY_THRESHOLD) {
          this.#onReplicaFailed(r, `failed ${r.healthFailures} health checks in a row`);
          return;
        }
      }
      this.#scheduleHealthCheck(r);
    }, periodMs);
    this.#healthTimers.set(r, timer);
  }

  #onReplicaFailed(r: Replica, reason: string): void {
    if (!this.#set.replicas.includes(r)) return;
    const wasRunning = r.state === "RUNNING";
    this.#log(`replica ${r.id} ${reason}; replacing it`);
    this.#set.fail(r, reason);
    if (wasRunning && this.#status !== "UPDATING" && this.#status !== "DEPLOY_FAILED") {
      this.#unhealthy = true;
      this.#setStatus(
        "UNHEALTHY",
        "HEALTH_CHECK_FAILED",
        `Replica ${r.id} ${reason}; a replacement is starting.`,
      );
    }
    this.#reconcile();
  }

  // ---- status ------------------------------------------------------------------------------

  #setStatus(status: DeploymentStatus, trigger: string, message: string): void {
    if (status === this.#status && trigger === this.#trigger && message === this.#message) return;
    const changed = status !== this.#status;
    this.#status = status;
    this.#trigger = trigger;
    this.#message = message;
    if (changed) this.#log(`deployment ${this.name} ${status}${message ? `: ${message}` : ""}`);
  }

  #updateStatus(): void {
    // Shutting down is not a return to health; a rolling update ends UPDATING itself.
    if (this.#stopped || this.#rolling !== null) return;
    if (this.#status === "DEPLOY_FAILED" && this.runningReplicas() === 0) return;
    const c = this.#set.counts;
    const settled = c.RUNNING === this.#set.target && c.STARTING === 0 &&
      this.#versions.surge === 0 &&
      c.PENDING_ALLOCATION === 0 && c.STOPPING === 0;
    if (!settled) return;
    const completed: Record<string, string> = {
      UPDATING: "CONFIG_UPDATE_COMPLETED",
      UPSCALING: "UPSCALE_COMPLETED",
      DOWNSCALING: "DOWNSCALE_COMPLETED",
      UNHEALTHY: "CONFIG_UPDATE_COMPLETED",
      DEPLOY_FAILED: "CONFIG_UPDATE_COMPLETED",
    };
    if (this.#status !== "HEALTHY") {
      this.#unhealthy = false;
      this.#setStatus("HEALTHY", completed[this.#status], "");
    }
  }

  /** True once the deployment gave up starting replicas (DEPLOY_FAILED) and none serves. */
  get deployFailed(): boolean {
    return this.#status === "DEPLOY_FAILED" && this.runningReplicas() === 0;
  }

  /** Status, trigger and message, preferring the autoscaler's message while it scales. */
  currentStatus(): { status: DeploymentStatus; trigger: string; message: string } {
    const a = this.#autoscaler?.status();
    if (
      a && (this.#status === "UPSCALING" || this.#status === "DOWNSCALING" ||
        this.#status === "HEALTHY") &&
      (a.status === "UPSCALING" || a.status === "DOWNSCALING") && !this.#unhealthy
    ) {
      return { status: a.status, trigger: "AUTOSCALING", message: a.message };
    }
    return { status: this.#status, trigger: this.#trigger, message: this.#message };
  }

  /** This deployment as `/api/status` shows it. */
  statusJson(): DeploymentStatusJson {
    const s = this.currentStatus();
    return {
      status: s.status,
      status_trigger: s.trigger,
      message: s.message,
      target_replicas: this.targetReplicas(),
      replica_states: { ...this.#set.counts },
      ongoing_requests: this.#ongoingTotal(),
      queued_requests: this.queue.queued,
      replicas: this.#set.replicas.map((r) => ({
        ...r.toJson(),
        version: this.#versions.of(r),
      })),
      version: this.#versions.version,
      autoscaler: this.#autoscaler?.status() ?? null,
    };
  }
}
