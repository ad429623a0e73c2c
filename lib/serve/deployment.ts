/**
 * One deployment: its replica pool (lifecycle, CPU accounting, health checks, crash
 * replacement, draining), its router, and its status. It implements the autoscaler's
 * `AutoscalingTarget` structurally (`ongoingByReplica`, `queuedRequests`, `runningReplicas`,
 * `targetReplicas`, `setTargetReplicas`).
 *
 * @module
 */
import type { DeploymentConfig } from "../config/mod.ts";
import type { AutoscalerHandle } from "../autoscaler/mod.ts";
import { type Cluster, machineCpuCount } from "./cluster.ts";
import { Metric, type Registry, type Series } from "./metrics.ts";
import { Replica, ReplicaDiedError, RequestTimeoutError } from "./replica.ts";
import { Router } from "./router.ts";
import {
  type ClassifyRequest,
  type DeploymentStatus,
  type DeploymentStatusJson,
  type LogLevel,
  REPLICA_STATES,
  type ReplicaOptions,
  type ReplicaReply,
  type ReplicaState,
} from "./types.ts";

/** What the deployment reads of an attached autoscaler (lib/autoscaler's handle). */
export type AutoscalerLike = Pick<AutoscalerHandle, "status" | "stop">;

/** Options of {@link Deployment}. */
export interface DeploymentOptions {
  appName: string;
  route: string;
  cluster: Cluster;
  replicaOptions: ReplicaOptions;
  registry: Registry;
  /** Readable log lines (replica and status changes); `level` is `INFO` when omitted. */
  log?: (line: string, level?: LogLevel) => void;
  /** Uniform [0,1) source for routing and health-check jitter. */
  random?: () => number;
  /**
   * Replicas loading their model at the same time (default: the machine's CPU count). More
   * would only share the same cores and stack their load-time memory peaks; fewer delays
   * capacity. Replicas waiting for a slot are STARTING (their CPUs are already allocated).
   */
  maxConcurrentStarts?: number;
}

/** The answer to one request, with where and how long it waited. */
export interface HandledRequest {
  reply: ReplicaReply;
  replicaId: string;
  queueMs: number;
  retried: boolean;
}

/** Number of replicas a deployment starts with: num_replicas, or initial_replicas ?? min_replicas. */
export function initialReplicaCount(config: DeploymentConfig): number {
  const a = config.autoscaling_config;
  if (a) return a.initial_replicas ?? a.min_replicas;
  return config.num_replicas ?? 1;
}

const HEALTH_CHECK_UNHEALTHY_THRESHOLD = 3;
/** Ray's SERVE_SLOW_STARTUP_WARNING_S (30 s), repeated every 30 s. */
const SLOW_STARTUP_WARNING_MS = 30_000;

/** A deployment's replicas, router and status; see the module doc. */
export class Deployment {
  /** Deployment name. */
  readonly name: string;
  /** Routes requests to RUNNING replicas. */
  readonly router: Router<Replica>;
  #replicas: Replica[] = [];
  #target = 0;
  #status: DeploymentStatus = "UPDATING";
  #trigger = "CONFIG_UPDATE_STARTED";
  #message = "";
  #unhealthy = false;
  #startFailures = 0;
  #retryAtMs = 0;
  #retryTimer: ReturnType<typeof setTimeout> | undefined;
  #healthTimers = new Map<Replica, ReturnType<typeof setTimeout>>();
  #startQueue: Replica[] = [];
  #slowStartTimer: ReturnType<typeof setInterval> | undefined;
  #startsInFlight = 0;
  #autoscaler: AutoscalerLike | null = null;
  #stopped = false;
  #drains = new Set<Promise<void>>();
  readonly #log: (line: string, level?: LogLevel) => void;
  readonly #random: () => number;
  readonly #m: Record<string, Metric>;
  readonly #labels: string[];
  readonly #routerSeries: Series;
  readonly #seriesByReplica = new WeakMap<
    Replica,
    { requests: Series; latency: Series; errors: Series }
  >();

  /** Creates a deployment with no replicas; call {@link start}. */
  constructor(readonly config: DeploymentConfig, readonly options: DeploymentOptions) {
    this.name = config.name;
    this.#log = options.log ?? (() => {});
    this.#random = options.random ?? Math.random;
    this.router = new Router<Replica>({
      maxOngoingRequests: config.max_ongoing_requests,
      maxQueuedRequests: config.max_queued_requests,
      random: this.#random,
    });
    this.#labels = [this.name, options.appName];
    const r = options.registry;
    const depApp = ["deployment", "application"];
    const perReplica = ["deployment", "replica", "route", "application"];
    this.#m = {
      requests: r.counter(
        "ray_serve_deployment_request_counter_total",
        "Requests processed by each replica.",
        perReplica,
      ),
      errors: r.counter(
        "ray_serve_deployment_error_counter_total",
        "Requests that failed in each replica.",
        perReplica,
      ),
      latency: r.histogram(
        "ray_serve_deployment_processing_latency_ms",
        "Time a replica took to process a request (excludes queueing), ms.",
        perReplica,
      ),
      routerRequests: r.counter(
        "ray_serve_num_router_requests_total",
        "Requests received by the router.",
        ["deployment", "route", "application", "handle", "actor_id"],
      ),
      starts: r.counter(
        "ray_serve_deployment_replica_starts_total",
        "Replica starts.",
        ["deployment", "replica", "application"],
      ),
      healthFailures: r.counter(
        "ray_serve_health_check_failures_total",
        "Failed replica health checks.",
        ["deployment", "replica", "application"],
      ),
      startupLatency: r.histogram(
        "ray_serve_replica_startup_latency_ms",
        "Time from asking for a replica to it being RUNNING, ms.",
        ["deployment", "replica", "application"],
      ),
      queued: r.gauge(
        "ray_serve_deployment_queued_queries",
        "Requests waiting in the router queue.",
        ["deployment", "application", "handle", "actor_id"],
      ),
      ongoingAtReplicas: r.gauge(
        "ray_serve_num_ongoing_requests_at_replicas",
        "Requests assigned to replicas and not finished.",
        ["deployment", "application", "handle", "actor_id"],
      ),
      processing: r.gauge(
        "ray_serve_replica_processing_queries",
        "Requests each replica is processing.",
        ["deployment", "replica", "application"],
      ),
      healthy: r.gauge(
        "ray_serve_deployment_replica_healthy",
        "1 when the replica is RUNNING and healthy.",
        ["deployment", "replica", "application"],
      ),
      status: r.gauge(
        "ray_serve_deployment_status",
        "0 UNKNOWN, 1 DEPLOY_FAILED, 2 UNHEALTHY, 3 UPDATING, 4 UPSCALING, 5 DOWNSCALING, 6 HEALTHY.",
        depApp,
      ),
      target: r.gauge(
        "ray_serve_autoscaling_target_replicas",
        "Target number of replicas.",
        depApp,
      ),
      desired: r.gauge(
        "ray_serve_autoscaling_desired_replicas",
        "Replicas the autoscaling policy asked for (after factors, bounds and delays).",
        depApp,
      ),
      totalRequests: r.gauge(
        "ray_serve_autoscaling_total_requests",
        "Total requests (queued + ongoing) seen by the autoscaler.",
        depApp,
      ),
      byState: r.gauge(
        "autoscale_lab_deployment_replicas",
        "Replicas by state (no Ray Serve counterpart; `serve status` replica_states).",
        ["deployment", "application", "state"],
      ),
    };
    this.#routerSeries = this.#m.routerRequests.child(
      [this.name, options.route, options.appName, "proxy", "proxy"],
    );
    const handleLabels = [this.name, options.appName, "proxy", "proxy"];
    this.#m.queued.collect = () => this.#m.queued.set(handleLabels, this.router.queued);
    this.#m.ongoingAtReplicas.collect = () =>
      this.#m.ongoingAtReplicas.set(handleLabels, this.#ongoingTotal());
    this.#m.processing.collect = () => {
      this.#m.processing.clear();
      for (const r of this.#replicas) {
        this.#m.processing.set([this.name, r.id, options.appName], r.ongoing);
      }
    };
    this.#m.healthy.collect = () => {
      this.#m.healthy.clear();
      for (const r of this.#replicas) {
        this.#m.healthy.set(
          [this.name, r.id, options.appName],
          r.state === "RUNNING" && r.healthFailures === 0 ? 1 : 0,
        );
      }
    };
    this.#m.status.collect = () =>
      this.#m.status.set(this.#labels, STATUS_CODES[this.currentStatus().status] ?? 0);
    this.#m.target.collect = () => this.#m.target.set(this.#labels, this.#target);
    this.#m.byState.collect = () => {
      const counts = this.#stateCounts();
      for (const s of REPLICA_STATES) {
        this.#m.byState.set([this.name, options.appName, s], counts[s]);
      }
    };
    this.#m.desired.collect = () => {
      const a = this.#autoscaler?.status();
      this.#m.desired.set(this.#labels, Number(a?.desired_replicas ?? this.#target));
    };
    this.#m.totalRequests.collect = () =>
      this.#m.totalRequests.set(this.#labels, this.#ongoingTotal() + this.router.queued);
  }

  // ---- AutoscalingTarget -------------------------------------------------------------------

  /** Requests executing on each RUNNING replica. */
  ongoingByReplica(): ReadonlyMap<string, number> {
    const m = new Map<string, number>();
    for (const r of this.#replicas) if (r.state === "RUNNING") m.set(r.id, r.ongoing);
    return m;
  }

  /** Requests waiting in the router queue. */
  queuedRequests(): number {
    return this.router.queued;
  }

  /** RUNNING replicas. */
  runningReplicas(): number {
    let n = 0;
    for (const r of this.#replicas) if (r.state === "RUNNING") n++;
    return n;
  }

  /** Current target. */
  targetReplicas(): number {
    return this.#target;
  }

  /** Sets a new target; replicas are added (PENDING_ALLOCATION) or drained to meet it. */
  setTargetReplicas(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`target replicas must be an integer >= 0, got ${n}`);
    }
    if (this.#stopped || n === this.#target) return;
    const from = this.#aliveCount();
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
    this.#log(`target replicas ${this.#target} -> ${n}`);
    this.#target = n;
    this.#reconcile();
  }

  // ---- lifecycle ---------------------------------------------------------------------------

  /** Starts the initial replicas (num_replicas, or initial_replicas ?? min_replicas). */
  start(): void {
    this.#target = initialReplicaCount(this.config);
    this.#log(
      `deploying ${this.#target} replica(s) x ${this.config.ray_actor_options.num_cpus} CPU ` +
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
    this.#reconcile();
    this.#slowStartTimer = setInterval(() => this.#warnSlowStarts(), SLOW_STARTUP_WARNING_MS);
  }

  /** Ray's slow-start warning: replicas asked for more than 30 s ago and still not RUNNING. */
  #warnSlowStarts(): void {
    const now = Date.now();
    const slow = (state: ReplicaState) =>
      this.#replicas.filter((r) =>
        r.state === state && now - r.requestedAtMs > SLOW_STARTUP_WARNING_MS
      ).length;
    const pending = slow("PENDING_ALLOCATION");
    const starting = slow("STARTING");
    if (pending > 0) {
      this.#log(
        `${pending} replica(s) have waited more than ${SLOW_STARTUP_WARNING_MS / 1000} s ` +
          `for CPUs: each needs ${this.config.ray_actor_options.num_cpus}, the cluster has ` +
          `${this.options.cluster.numCpus - this.options.cluster.cpusUsed} of ` +
          `${this.options.cluster.numCpus} free (raise --num-cpus or lower num_cpus)`,
        "WARN",
      );
    }
    if (starting > 0) {
      this.#log(
        `${starting} replica(s) have taken more than ${SLOW_STARTUP_WARNING_MS / 1000} s ` +
          `to start (model load); the machine may be overloaded`,
        "WARN",
      );
    }
  }

  /** Makes the deployment report the autoscaler's status and decisions. */
  attachAutoscaler(autoscaler: AutoscalerLike): void {
    this.#autoscaler = autoscaler;
  }

  /** The attached autoscaler, if any. */
  get autoscaler(): AutoscalerLike | null {
    return this.#autoscaler;
  }

  /** Every replica, any state (newest last). */
  get replicas(): readonly Replica[] {
    return this.#replicas;
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
    Metric.inc(this.#routerSeries);
    let retried = false;
    try {
      for (;;) {
        phase = "queued";
        const t0 = performance.now();
        const replica = await this.router.acquire({ signal, front: retried });
        const queueMs = performance.now() - t0;
        phase = "executing";
        const series = this.#replicaSeries(replica);
        try {
          const reply = await replica.send(request, signal);
          Metric.inc(series.requests);
          this.#m.latency.observeSeries(series.latency, performance.now() - t0 - queueMs);
          if (!reply.ok && reply.failure.status >= 500) Metric.inc(series.errors);
          return { reply, replicaId: replica.id, queueMs, retried };
        } catch (error) {
          if (error instanceof ReplicaDiedError && !retried && !this.#stopped) {
            this.#log(
              `request on ${replica.id} lost (${error.message}); retrying once on another replica`,
            );
            retried = true;
            continue;
          }
          Metric.inc(series.errors);
          throw error;
        } finally {
          this.router.release(replica);
        }
      }
    } finally {
      if (timer !== undefined) clearTimeout(timer);
      if (onOuterAbort) outer!.removeEventListener("abort", onOuterAbort);
    }
  }

  #replicaSeries(replica: Replica): { requests: Series; latency: Series; errors: Series } {
    let s = this.#seriesByReplica.get(replica);
    if (!s) {
      const labels = [this.name, replica.id, this.options.route, this.options.appName];
      s = {
        requests: this.#m.requests.child(labels),
        latency: this.#m.latency.child(labels),
        errors: this.#m.errors.child(labels),
      };
      this.#seriesByReplica.set(replica, s);
    }
    return s;
  }

  /**
   * Stops everything: waiting requests are refused, replicas leave routing and drain (in-flight
   * requests finish, `graceful_shutdown_timeout_s` at most), then their workers end.
   */
  async shutdown(): Promise<void> {
    if (this.#stopped) return;
    this.#autoscaler?.stop();
    this.#target = 0;
    this.#stopped = true;
    clearTimeout(this.#retryTimer);
    clearInterval(this.#slowStartTimer);
    // Requests still waiting have nowhere to go once every replica drains.
    const queuedWait = this.#waitForQueueToEmpty(this.config.graceful_shutdown_timeout_s * 1000);
    await queuedWait;
    this.router.rejectAll(new Error("the deployment is shutting down"));
    for (const r of [...this.#replicas]) {
      if (r.state === "PENDING_ALLOCATION") this.#remove(r);
      else if (r.state === "STARTING") this.#stopReplica(r, false);
      else if (r.state === "RUNNING") this.#stopReplica(r, true);
    }
    while (this.#drains.size > 0) await Promise.all([...this.#drains]);
  }

  async #waitForQueueToEmpty(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.router.queued > 0 && this.runningReplicas() > 0 && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  // ---- reconciliation ----------------------------------------------------------------------

  #aliveCount(): number {
    let n = 0;
    for (const r of this.#replicas) if (r.state !== "STOPPING") n++;
    return n;
  }

  #ongoingTotal(): number {
    let n = 0;
    for (const r of this.#replicas) n += r.ongoing;
    return n;
  }

  #reconcile(): void {
    if (this.#stopped) return;
    const alive = this.#replicas.filter((r) => r.state !== "STOPPING");
    const diff = this.#target - alive.length;
    if (diff > 0) {
      if (Date.now() >= this.#retryAtMs) {
        for (let i = 0; i < diff; i++) {
          const r = new Replica(newReplicaId(), this.config.ray_actor_options.num_cpus);
          this.#replicas.push(r);
          this.#log(`replica ${r.id} PENDING_ALLOCATION`);
        }
      }
    } else if (diff < 0) {
      // Stop replicas that are not RUNNING first, then the newest RUNNING ones.
      const rank = (r: Replica) =>
        r.state === "PENDING_ALLOCATION" ? 0 : r.state === "STARTING" ? 1 : 2;
      const victims = [...alive].sort((a, b) =>
        rank(a) - rank(b) ||
        (b.startedAtMs ?? b.requestedAtMs) - (a.startedAtMs ?? a.requestedAtMs) ||
        this.#replicas.indexOf(b) - this.#replicas.indexOf(a)
      ).slice(0, -diff);
      for (const r of victims) {
        if (r.state === "PENDING_ALLOCATION") {
          this.#log(`replica ${r.id} removed before it got CPUs`);
          this.#remove(r);
        } else {
          this.#stopReplica(r, r.state === "RUNNING");
        }
      }
    }
    for (const r of this.#replicas) {
      if (r.state !== "PENDING_ALLOCATION") continue;
      if (!this.options.cluster.tryAllocate(r.numCpus)) break;
      this.#startReplica(r);
    }
    this.#updateStatus();
  }

  #startReplica(r: Replica): void {
    r.state = "STARTING";
    r.startedAtMs = Date.now();
    this.#log(`replica ${r.id} STARTING`);
    this.#startQueue.push(r);
    this.#pumpStarts();
  }

  #pumpStarts(): void {
    const limit = Math.max(1, this.options.maxConcurrentStarts ?? machineCpuCount());
    while (this.#startsInFlight < limit && this.#startQueue.length > 0) {
      const r = this.#startQueue.shift()!;
      if (r.state !== "STARTING" || r.dead) continue;
      this.#startsInFlight++;
      this.#spawnReplica(r).finally(() => {
        this.#startsInFlight--;
        this.#pumpStarts();
      });
    }
  }

  #spawnReplica(r: Replica): Promise<void> {
    this.#m.starts.inc([this.name, r.id, this.options.appName]);
    r.onCrash = (reason) => this.#onReplicaFailed(r, `crashed: ${reason}`);
    return r.start(this.options.replicaOptions).then(
      () => {
        if (r.state !== "RUNNING") return;
        this.#startFailures = 0;
        const ms = (r.runningSinceMs ?? 0) - r.requestedAtMs;
        this.#m.startupLatency.observe([this.name, r.id, this.options.appName], ms);
        this.#log(
          `replica ${r.id} RUNNING after ${(ms / 1000).toFixed(2)} s ` +
            `(${r.backend}, model load ${(r.initMs / 1000).toFixed(2)} s)`,
        );
        this.router.setReplicas(this.#running());
        this.#scheduleHealthCheck(r);
        this.#updateStatus();
      },
      (error: Error) => {
        if (r.state === "STOPPING" || this.#stopped) return;
        this.#startFailures++;
        this.options.cluster.free(r.numCpus);
        this.#remove(r);
        const limit = Math.min(
          Math.max(1, this.#target) * 3,
          this.config.max_constructor_retry_count,
        );
        this.#log(
          `replica ${r.id} failed to start (${this.#startFailures}/${limit}): ${error.message}`,
        );
        if (this.#startFailures >= limit && this.runningReplicas() === 0) {
          this.#setStatus(
            "DEPLOY_FAILED",
            "REPLICA_STARTUP_FAILED",
            `The deployment failed to start ${this.#startFailures} times in a row. ` +
              `Last error: ${error.message}`,
          );
          this.#retryAtMs = Infinity;
          return;
        }
        const backoffMs = Math.min(64, 2 ** (this.#startFailures - 1)) * 1000;
        this.#retryAtMs = Date.now() + backoffMs;
        clearTimeout(this.#retryTimer);
        this.#retryTimer = setTimeout(() => this.#reconcile(), backoffMs);
        this.#reconcile();
      },
    );
  }

  #scheduleHealthCheck(r: Replica): void {
    const periodMs = this.config.health_check_period_s * 1000 * (0.9 + 0.2 * this.#random());
    const timer = setTimeout(async () => {
      this.#healthTimers.delete(r);
      if (r.state !== "RUNNING" || r.dead) return;
      const ok = await r.ping(this.config.health_check_timeout_s * 1000);
      if (r.state !== "RUNNING" || r.dead) return;
      if (ok) {
        r.healthFailures = 0;
      } else {
        r.healthFailures++;
        this.#m.healthFailures.inc([this.name, r.id, this.options.appName]);
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
    if (!this.#replicas.includes(r)) return;
    const wasRunning = r.state === "RUNNING";
    this.#log(`replica ${r.id} ${reason}; replacing it`);
    clearTimeout(this.#healthTimers.get(r));
    this.#healthTimers.delete(r);
    r.state = "STOPPING";
    r.stoppingSinceMs = Date.now();
    this.router.setReplicas(this.#running());
    r.kill(reason);
    this.options.cluster.free(r.numCpus);
    this.#remove(r);
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

  /** Leaves routing, then (graceful) waits for in-flight requests before ending the worker. */
  #stopReplica(r: Replica, graceful: boolean): void {
    const wasState = r.state;
    r.state = "STOPPING";
    r.stoppingSinceMs = Date.now();
    clearTimeout(this.#healthTimers.get(r));
    this.#healthTimers.delete(r);
    this.router.setReplicas(this.#running());
    this.#log(`replica ${r.id} STOPPING (was ${wasState}${graceful ? ", draining" : ""})`);
    const drain = (async () => {
      if (graceful) {
        const loopMs = Math.max(1, this.config.graceful_shutdown_wait_loop_s * 1000);
        const deadline = Date.now() + this.config.graceful_shutdown_timeout_s * 1000;
        while ((r.ongoing > 0 || r.inFlight > 0) && Date.now() < deadline && !r.dead) {
          await new Promise((res) => setTimeout(res, Math.min(loopMs, deadline - Date.now())));
        }
        if (r.ongoing > 0 || r.inFlight > 0) {
          this.#log(
            `replica ${r.id} still had ${r.inFlight} request(s) after ` +
              `graceful_shutdown_timeout_s=${this.config.graceful_shutdown_timeout_s}; killing it`,
          );
          r.kill("graceful shutdown timed out");
        } else {
          await r.close();
        }
      } else {
        r.kill("stopped while starting");
      }
      this.options.cluster.free(r.numCpus);
      this.#remove(r);
      this.#log(`replica ${r.id} stopped`);
      this.#reconcile();
      this.#updateStatus();
    })();
    this.#drains.add(drain);
    drain.finally(() => this.#drains.delete(drain));
  }

  #remove(r: Replica): void {
    const i = this.#replicas.indexOf(r);
    if (i >= 0) this.#replicas.splice(i, 1);
  }

  #running(): Replica[] {
    return this.#replicas.filter((r) => r.state === "RUNNING");
  }

  #stateCounts(): Record<ReplicaState, number> {
    const counts = { PENDING_ALLOCATION: 0, STARTING: 0, RUNNING: 0, STOPPING: 0 };
    for (const r of this.#replicas) counts[r.state]++;
    return counts;
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
    // Shutting down: every replica stopping is not a return to health.
    if (this.#stopped) return;
    if (this.#status === "DEPLOY_FAILED" && this.runningReplicas() === 0) return;
    const c = this.#stateCounts();
    const settled = c.RUNNING === this.#target && c.STARTING === 0 &&
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

  /** True once the deployment gave up starting replicas (DEPLOY_FAILED). */
  get deployFailed(): boolean {
    return this.#status === "DEPLOY_FAILED";
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
      target_replicas: this.#target,
      replica_states: this.#stateCounts(),
      ongoing_requests: this.#ongoingTotal(),
      queued_requests: this.router.queued,
      replicas: this.#replicas.map((r) => r.toJson()),
      autoscaler: this.#autoscaler?.status() ?? null,
    };
  }
}

const STATUS_CODES: Record<string, number> = {
  DEPLOY_FAILED: 1,
  UNHEALTHY: 2,
  UPDATING: 3,
  UPSCALING: 4,
  DOWNSCALING: 5,
  HEALTHY: 6,
};

function newReplicaId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(4));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}
