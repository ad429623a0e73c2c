/**
 * The one replica lifecycle of the lab, used by lib/serve (replicas are Web Workers) and lib/sim
 * (replicas are counters in an event loop): PENDING_ALLOCATION until the cluster has the CPUs,
 * STARTING (at most `maxConcurrentStarts` at once, the others wait for a start slot with their
 * CPUs held), RUNNING (routable), STOPPING (out of routing, draining for at most
 * `graceful_shutdown_timeout_s`), then gone. It keeps the set at its target: surplus replicas
 * stop in Ray's order (pending first, then starting, then the newest running), and freed CPUs go
 * to the oldest pending replica.
 *
 * What a replica does is the owner's, through a {@linkcode ReplicaDriver}: start it, tell
 * whether it still has requests, close or kill it. All time comes from the injected clock.
 *
 * @module
 */
import type { Clock, TimerId } from "../autoscaler/clock.ts";
import type { Cluster } from "./cluster.ts";
import type { ReplicaRouter, RoutedReplica } from "./router.ts";

/** Replica lifecycle states (Ray's STARTING split into its PENDING_ALLOCATION sub-phase). */
export type ReplicaState = "PENDING_ALLOCATION" | "STARTING" | "RUNNING" | "STOPPING";

/** Every replica state, in display order. */
export const REPLICA_STATES: readonly ReplicaState[] = [
  "PENDING_ALLOCATION",
  "STARTING",
  "RUNNING",
  "STOPPING",
];

/** What the set needs of a replica; it writes the state and the times (clock ms). */
export interface ManagedReplica extends RoutedReplica {
  /** Lifecycle state; written by the set, read by the owner. */
  state: ReplicaState;
  /** When the replica was asked for. */
  requestedAtMs: number;
  /** When it got its CPUs and began starting. */
  startedAtMs: number | null;
  /** When it became RUNNING. */
  runningSinceMs: number | null;
  /** When it began stopping. */
  stoppingSinceMs: number | null;
}

/** What the owner does for the set. Calls come synchronously from set methods. */
export interface ReplicaDriver<R extends ManagedReplica> {
  /** A new replica object (the set stamps `requestedAtMs` and the state). */
  create(): R;
  /**
   * `r` holds its CPUs and a start slot: start it, then call {@linkcode ReplicaSet.running}
   * (or {@linkcode ReplicaSet.startFailed}) when it is ready.
   */
  start(r: R): void;
  /** Whether a stopping replica still has requests to finish (the drain waits for them). */
  busy(r: R): boolean;
  /** Ends a drained replica; the set frees its CPUs when the returned promise (if any) settles. */
  close(r: R): void | Promise<void>;
  /** Ends `r` now: a start cancelled, a drain timed out, a failure. Its requests are lost. */
  kill(r: R, reason: string): void;
  /** Every state change (`to` null: the replica left the set). */
  changed?(r: R, from: ReplicaState | null, to: ReplicaState | null): void;
}

/** Options of {@linkcode ReplicaSet}. */
export interface ReplicaSetOptions<R extends ManagedReplica> {
  /** Clock for all times (ms) and for the drain poll timers. */
  clock: Clock;
  /** The router RUNNING replicas join. */
  router: ReplicaRouter<R>;
  /** Logical CPUs replicas take while STARTING, RUNNING or STOPPING. */
  cluster: Cluster;
  /** `ray_actor_options.num_cpus`. */
  numCpusPerReplica: number;
  /** Replicas starting at once (default unbounded). */
  maxConcurrentStarts?: number;
  /** Drain poll period (`graceful_shutdown_wait_loop_s`), seconds. */
  gracefulShutdownWaitLoopS: number;
  /** Longest drain (`graceful_shutdown_timeout_s`), seconds. */
  gracefulShutdownTimeoutS: number;
  /** Readable lines about replica changes. */
  log?: (line: string) => void;
}

/** A deployment's replicas and their lifecycle; see the module doc. */
export class ReplicaSet<R extends ManagedReplica> {
  readonly #driver: ReplicaDriver<R>;
  readonly #o: ReplicaSetOptions<R>;
  readonly #clock: Clock;
  readonly #log: (line: string) => void;
  readonly #maxStarts: number;
  #replicas: R[] = [];
  #counts: Record<ReplicaState, number> = {
    PENDING_ALLOCATION: 0,
    STARTING: 0,
    RUNNING: 0,
    STOPPING: 0,
  };
  #target = 0;
  #startQueue: R[] = [];
  #startSlots = new Set<R>();
  #drainTimers = new Map<R, TimerId>();
  #closing = new Set<Promise<void>>();
  #holdNewUntilMs = -Infinity;
  #numCpus: number;
  #waitLoopS: number;
  #timeoutS: number;
  /** CPUs each replica holds (a config update may change the amount for new replicas). */
  readonly #cpusHeld = new Map<R, number>();

  /** An empty set; call {@linkcode ReplicaSet.setTarget} (or `createRunning`) to fill it. */
  constructor(driver: ReplicaDriver<R>, options: ReplicaSetOptions<R>) {
    this.#driver = driver;
    this.#o = options;
    this.#clock = options.clock;
    this.#log = options.log ?? (() => {});
    const m = options.maxConcurrentStarts ?? Infinity;
    this.#maxStarts = Math.max(1, m);
    this.#numCpus = options.numCpusPerReplica;
    this.#waitLoopS = options.gracefulShutdownWaitLoopS;
    this.#timeoutS = options.gracefulShutdownTimeoutS;
  }

  /**
   * Changes settings in place (a config update): `numCpusPerReplica` applies to replicas asked
   * for from now on (each replica gives back what it took), the drain times to drains that poll
   * next.
   */
  configure(
    settings: Partial<
      Pick<
        ReplicaSetOptions<R>,
        "numCpusPerReplica" | "gracefulShutdownWaitLoopS" | "gracefulShutdownTimeoutS"
      >
    >,
  ): void {
    this.#numCpus = settings.numCpusPerReplica ?? this.#numCpus;
    this.#waitLoopS = settings.gracefulShutdownWaitLoopS ?? this.#waitLoopS;
    this.#timeoutS = settings.gracefulShutdownTimeoutS ?? this.#timeoutS;
  }

  /**
   * Stops this one replica (a rolling update retiring an old version) and lowers the target by
   * one, so that no other replica is started or stopped for it. Running replicas drain.
   */
  retire(r: R): void {
    if (!this.#replicas.includes(r) || r.state === "STOPPING") return;
    this.#target = Math.max(0, this.#target - 1);
    if (r.state === "PENDING_ALLOCATION") this.#remove(r);
    else this.#stop(r, r.state === "RUNNING");
    this.#allocatePending();
  }

  /** Every replica, any state, oldest first. */
  get replicas(): readonly R[] {
    return this.#replicas;
  }

  /** Replicas by state (a live record: read it, do not keep it). */
  get counts(): Readonly<Record<ReplicaState, number>> {
    return this.#counts;
  }

  /** The target count of live (not STOPPING) replicas. */
  get target(): number {
    return this.#target;
  }

  /** Replicas not STOPPING. */
  get liveCount(): number {
    return this.#replicas.length - this.#counts.STOPPING;
  }

  /** No new replica is asked for before this clock time (start-failure backoff). */
  holdNewReplicasUntil(ms: number): void {
    this.#holdNewUntilMs = ms;
  }

  /** Sets the target and starts or stops replicas to meet it. */
  setTarget(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`target replicas must be an integer >= 0, got ${n}`);
    }
    this.#target = n;
    this.reconcile();
  }

  /**
   * Adds `n` replicas that are RUNNING at once, CPUs taken (a load test that starts after the
   * deploy finished); the target grows by `n`. Those the cluster has no CPUs for wait in
   * PENDING_ALLOCATION.
   */
  createRunning(n: number): void {
    const need = this.#numCpus;
    for (let i = 0; i < n; i++) {
      const r = this.#create();
      this.#target++;
      if (this.#counts.PENDING_ALLOCATION > 1 || !this.#o.cluster.tryAllocate(need)) continue;
      this.#cpusHeld.set(r, need);
      r.startedAtMs = this.#clock.now();
      this.#setState(r, "STARTING");
      this.#becomeRunning(r);
    }
  }

  /** Starts or stops replicas so that the live ones match the target; gives out free CPUs. */
  reconcile(): void {
    let live = this.liveCount;
    if (live < this.#target && this.#clock.now() >= this.#holdNewUntilMs) {
      while (live < this.#target) {
        const r = this.#create();
        this.#log(`replica ${r.id} PENDING_ALLOCATION`);
        live++;
      }
    } else if (live > this.#target) {
      for (const r of this.#stopOrder().slice(0, live - this.#target)) {
        // A stop that finished at once reconciled already and may have stopped this one.
        if (r.state === "STOPPING" || !this.#replicas.includes(r)) continue;
        if (r.state === "PENDING_ALLOCATION") {
          this.#log(`replica ${r.id} removed before it got CPUs`);
          this.#remove(r);
        } else {
          this.#stop(r, r.state === "RUNNING");
        }
      }
    }
    this.#allocatePending();
  }

  /** A starting replica is ready: it becomes RUNNING and routable. False if it left meanwhile. */
  running(r: R): boolean {
    if (r.state !== "STARTING" || !this.#replicas.includes(r)) return false;
    this.#becomeRunning(r);
    return true;
  }

  /** A starting replica failed to start: it leaves the set, its CPUs freed (no reconcile). */
  startFailed(r: R): void {
    if (r.state !== "STARTING" || !this.#replicas.includes(r)) return;
    this.#freeCpus(r);
    this.#remove(r);
    this.#allocatePending();
  }

  /** A replica died (crash, failed health checks): it leaves at once (no reconcile). */
  fail(r: R, reason: string): boolean {
    if (!this.#replicas.includes(r)) return false;
    this.#o.router.remove(r);
    this.#clearDrain(r);
    if (r.state !== "STOPPING") {
      r.stoppingSinceMs = this.#clock.now();
      this.#setState(r, "STOPPING");
    }
    this.#driver.kill(r, reason);
    this.#freeCpus(r);
    this.#remove(r);
    this.#allocatePending();
    return true;
  }

  /**
   * Stops everything (shutdown): pending replicas leave, starting ones are killed, running ones
   * drain. Resolves when every replica is gone.
   */
  async stopAll(): Promise<void> {
    this.#target = 0;
    for (const r of [...this.#replicas]) {
      if (r.state === "PENDING_ALLOCATION") this.#remove(r);
      else if (r.state === "STARTING") this.#stop(r, false);
      else if (r.state === "RUNNING") this.#stop(r, true);
    }
    while (this.#replicas.length > 0 || this.#closing.size > 0) {
      if (this.#closing.size > 0) await Promise.all([...this.#closing]);
      else await new Promise((resolve) => this.#clock.setTimeout(() => resolve(null), 10));
    }
  }

  /** Stop order (Ray, research §3): PENDING, STARTING, then RUNNING; newest first in each. */
  #stopOrder(): R[] {
    const rank = (r: R) => r.state === "PENDING_ALLOCATION" ? 0 : r.state === "STARTING" ? 1 : 2;
    const since = (r: R) => r.startedAtMs ?? r.requestedAtMs;
    const position = new Map(this.#replicas.map((r, i) => [r, i]));
    return this.#replicas.filter((r) => r.state !== "STOPPING").sort((a, b) =>
      rank(a) - rank(b) || since(b) - since(a) || position.get(b)! - position.get(a)!
    );
  }

  #create(): R {
    const r = this.#driver.create();
    r.state = "PENDING_ALLOCATION";
    r.requestedAtMs = this.#clock.now();
    r.startedAtMs = r.runningSinceMs = r.stoppingSinceMs = null;
    this.#replicas.push(r);
    this.#counts.PENDING_ALLOCATION++;
    this.#driver.changed?.(r, null, "PENDING_ALLOCATION");
    return r;
  }

  #setState(r: R, to: ReplicaState): void {
    const from = r.state;
    this.#counts[from]--;
    this.#counts[to]++;
    r.state = to;
    this.#driver.changed?.(r, from, to);
  }

  #remove(r: R): void {
    const i = this.#replicas.indexOf(r);
    if (i < 0) return;
    this.#replicas.splice(i, 1);
    this.#counts[r.state]--;
    this.#releaseStartSlot(r);
    this.#driver.changed?.(r, r.state, null);
  }

  /** Oldest pending replicas first, while the cluster has their CPUs. */
  #allocatePending(): void {
    if (this.#counts.PENDING_ALLOCATION === 0) return;
    const need = this.#numCpus;
    for (const r of this.#replicas) {
      if (r.state !== "PENDING_ALLOCATION") continue;
      if (!this.#o.cluster.tryAllocate(need)) break;
      this.#cpusHeld.set(r, need);
      r.startedAtMs = this.#clock.now();
      this.#setState(r, "STARTING");
      this.#log(`replica ${r.id} STARTING`);
      this.#startQueue.push(r);
    }
    this.#pumpStarts();
  }

  #pumpStarts(): void {
    while (this.#startSlots.size < this.#maxStarts && this.#startQueue.length > 0) {
      const r = this.#startQueue.shift()!;
      if (r.state !== "STARTING" || !this.#replicas.includes(r)) continue;
      this.#startSlots.add(r);
      this.#driver.start(r);
    }
  }

  #releaseStartSlot(r: R): void {
    if (this.#startSlots.delete(r)) this.#pumpStarts();
  }

  #becomeRunning(r: R): void {
    r.runningSinceMs = this.#clock.now();
    // Routable before anyone hears of it, so the `changed` hook can hand it waiting requests.
    this.#o.router.add(r);
    this.#setState(r, "RUNNING");
    this.#releaseStartSlot(r);
  }

  /** Leaves routing, then (graceful) drains before closing; else is killed at once. */
  #stop(r: R, graceful: boolean): void {
    const was = r.state;
    r.stoppingSinceMs = this.#clock.now();
    this.#o.router.remove(r);
    this.#setState(r, "STOPPING");
    this.#releaseStartSlot(r);
    this.#log(`replica ${r.id} STOPPING (was ${was}${graceful ? ", draining" : ""})`);
    if (!graceful) {
      this.#driver.kill(r, "stopped while starting");
      this.#finishStop(r);
      return;
    }
    this.#drainPoll(r);
  }

  /** Graceful shutdown: poll every wait-loop period until idle; kill after the timeout. */
  #drainPoll(r: R): void {
    this.#drainTimers.delete(r);
    if (r.state !== "STOPPING" || !this.#replicas.includes(r)) return;
    const now = this.#clock.now();
    const timeoutMs = this.#timeoutS * 1000;
    const deadline = r.stoppingSinceMs! + timeoutMs;
    if (!this.#driver.busy(r)) {
      const closing = this.#driver.close(r);
      if (closing instanceof Promise) {
        const done = closing.catch(() => {}).then(() => this.#finishStop(r));
        this.#closing.add(done);
        done.finally(() => this.#closing.delete(done));
      } else {
        this.#finishStop(r);
      }
      return;
    }
    if (now >= deadline - 1e-9) {
      this.#log(
        `replica ${r.id} still had requests after ` +
          `graceful_shutdown_timeout_s=${this.#timeoutS}; killing it`,
      );
      this.#driver.kill(r, "graceful shutdown timed out");
      this.#finishStop(r);
      return;
    }
    const loopMs = Math.max(1, this.#waitLoopS * 1000);
    const at = Math.min(now + loopMs, deadline);
    this.#drainTimers.set(r, this.#clock.setTimeout(() => this.#drainPoll(r), at - now));
  }

  #clearDrain(r: R): void {
    const timer = this.#drainTimers.get(r);
    if (timer !== undefined) this.#clock.clearTimeout(timer);
    this.#drainTimers.delete(r);
  }

  #finishStop(r: R): void {
    if (!this.#replicas.includes(r)) return;
    this.#freeCpus(r);
    this.#remove(r);
    this.#log(`replica ${r.id} stopped`);
    this.reconcile();
  }

  /** Gives back the CPUs `r` holds, if any (a pending replica holds none). */
  #freeCpus(r: R): void {
    const cpus = this.#cpusHeld.get(r);
    if (cpus === undefined) return;
    this.#cpusHeld.delete(r);
    this.#o.cluster.free(cpus);
  }
}
