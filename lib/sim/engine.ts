/**
 * The discrete-event core of the simulator: users (closed loop) or arrivals (open loop), the router
 * (power of two choices, `max_ongoing_requests`, FIFO queue, `max_queued_requests` rejections,
 * request timeout) and the replica pool (PENDING_ALLOCATION -> STARTING -> RUNNING, CPU accounting,
 * draining on downscale), all on a virtual clock.
 *
 * The engine does not decide how many replicas to run: it implements the autoscaler's
 * `AutoscalingTarget` interface (ongoing requests per running replica, queued requests, running and
 * target replicas, `setTargetReplicas`) so the real controller, given the engine's `VirtualClock`,
 * drives it exactly as it drives the real deployment. Without an autoscaler the replica count stays
 * at its initial value (`num_replicas`, or `initial_replicas`/`min_replicas`).
 *
 * @module
 */
import { EventQueue } from "./_event_queue.ts";
import { createRng, type Rng } from "./_prng.ts";
import { VirtualClock } from "../autoscaler/mod.ts";
import type { DurationModel } from "./duration_model.ts";

// Event kinds.
const EV_CLOCK = 1; // a = VirtualClock timer id
const EV_USER_WAKE = 2; // a = user, b = user generation
const EV_SERVICE_DONE = 3; // a = request, b = request generation
const EV_REPLICA_READY = 4; // a = replica index, b = replica generation
const EV_ARRIVAL = 5; // open loop
const EV_TIMEOUT = 6; // a = 0 server (request_timeout_s) / 1 client timeout FIFO
const EV_SECOND = 7; // a = second number
const EV_USERS = 8; // re-read the user count
const EV_DRAIN_POLL = 9; // a = replica index, b = replica generation
const EV_STAGE = 10; // open loop (Poisson) rate change, a = stage index

// Request states.
const RQ_FREE = 0, RQ_QUEUED = 1, RQ_WAITING = 2, RQ_EXECUTING = 3;
/** Timed out while queued: its stale ring entry frees it when dequeued (keeps FIFO order exact). */
const RQ_DEAD = 4;

/** A FIFO of (request id, generation) pairs in a power-of-two ring. */
class IdFifo {
  ids = new Int32Array(1024);
  gens = new Int32Array(1024);
  head = 0;
  length = 0;
  mask = 1023;

  push(id: number, gen: number): void {
    if (this.length === this.ids.length) this.#grow();
    const at = (this.head + this.length) & this.mask;
    this.ids[at] = id;
    this.gens[at] = gen;
    this.length++;
  }

  shift(): void {
    this.head = (this.head + 1) & this.mask;
    this.length--;
  }

  #grow(): void {
    const n = this.ids.length * 2;
    const ids = new Int32Array(n), gens = new Int32Array(n);
    for (let i = 0; i < this.length; i++) {
      const j = (this.head + i) & this.mask;
      ids[i] = this.ids[j];
      gens[i] = this.gens[j];
    }
    this.ids = ids;
    this.gens = gens;
    this.head = 0;
    this.mask = n - 1;
  }
}

/** Replica lifecycle states, as in Ray Serve (`PENDING_ALLOCATION` is a STARTING sub-phase). */
export type SimReplicaState =
  | "PENDING_ALLOCATION"
  | "STARTING"
  | "RUNNING"
  | "STOPPING"
  | "STOPPED";

/** One replica in the simulated pool. */
export interface SimReplica {
  /** Stable id, e.g. `r0007`. */
  id: string;
  /** Position in the engine's replica list. */
  index: number;
  state: SimReplicaState;
  /** Requests assigned to the replica (executing or waiting inside it). */
  ongoing: number;
  /** Requests executing right now (at most the replica concurrency). */
  executing: number;
  /** Virtual elapsed ms when the replica was requested / got its CPUs / became RUNNING / began stopping. */
  requestedAtMs: number;
  startedAtMs: number;
  runningSinceMs: number;
  stoppingSinceMs: number;
  /** Incremented to invalidate the replica's pending events. */
  gen: number;
  /** Requests assigned but not yet executing: a FIFO ring of `max_ongoing_requests` slots. */
  localQueue: Int32Array;
  localHead: number;
  localCount: number;
  /** Index in the routable list, or -1. */
  routablePos: number;
  /** Index in the has-free-slot list, or -1. */
  freePos: number;
  /** Holds one of the `maxConcurrentStarts` start slots. */
  startSlot: boolean;
}

/** Closed-loop load: users who send a request, wait for the answer, then wait `waitTimeS`. */
export interface ClosedLoopLoad {
  kind: "closed";
  /** Users that should be running at `elapsedS` (the load generator's `userCountAt`). */
  usersAt: (elapsedS: number) => number;
  /** Sorted times (s) at which `usersAt` may change; the engine re-reads it just after each. */
  changeTimesS: readonly number[];
  /** End of the load, seconds. */
  durationS: number;
  /** Wait after each task, seconds; gets the task's duration (for `constant_pacing`). */
  waitTimeS: (rng: Rng, taskTimeS: number) => number;
}

/** One Poisson stage: until `endS` (seconds since the start), arrivals at `rate`/s. */
export interface RateStage {
  endS: number;
  rate: number;
}

/** Open-loop load: arrivals that do not wait for responses. */
export interface OpenLoopLoad {
  kind: "open";
  /** End of the load, seconds. */
  durationS: number;
  /** Scheduled arrivals: time (s) of the k-th (k = 0, 1, ...), `null` when done (`arrivalTimeS`). */
  arrivalTimeS?: (k: number) => number | null;
  /** Or Poisson arrivals with piecewise-constant rates. */
  poissonStages?: readonly RateStage[];
  /** An arrival that finds this many requests in flight is dropped (`null`: never). */
  maxInFlight?: number | null;
}

/** A closed loop of `users` from time 0 for `durationS`, each waiting `waitTimeS` between requests. */
export function constantUsersLoad(
  users: number,
  options: { durationS: number; waitTimeS: (rng: Rng, taskTimeS: number) => number },
): ClosedLoopLoad {
  return {
    kind: "closed",
    usersAt: (t) => (t < options.durationS ? users : 0),
    changeTimesS: [0],
    durationS: options.durationS,
    waitTimeS: options.waitTimeS,
  };
}

/** Poisson arrivals at `ratePerS` for `durationS` (the M in M/M/c). */
export function poissonLoad(ratePerS: number, options: { durationS: number }): OpenLoopLoad {
  return {
    kind: "open",
    durationS: options.durationS,
    poissonStages: [{ endS: options.durationS, rate: ratePerS }],
  };
}

/** What drives requests into the simulation. */
export type LoadModel = ClosedLoopLoad | OpenLoopLoad;

/** The deployment settings the engine uses (a subset of `DeploymentConfig`, already defaulted). */
export interface SimDeploymentSettings {
  /** Replicas at t = 0, all RUNNING (a load test starts after the deploy finished). */
  initialReplicas: number;
  maxOngoingRequests: number;
  /** -1 = unbounded. */
  maxQueuedRequests: number;
  /** `ray_actor_options.num_cpus` per replica. */
  numCpusPerReplica: number;
  gracefulShutdownWaitLoopS: number;
  gracefulShutdownTimeoutS: number;
  /** End-to-end timeout (`http_options.request_timeout_s`), `null` = none. */
  requestTimeoutS: number | null;
}

/** A whole-second snapshot of the deployment (one `_replicas.csv` row). */
export interface SecondSnapshot {
  /** Whole seconds since the start. */
  second: number;
  /** Epoch ms of the snapshot. */
  epochMs: number;
  targetReplicas: number;
  runningReplicas: number;
  startingReplicas: number;
  pendingReplicas: number;
  stoppingReplicas: number;
  totalOngoingRequests: number;
  queuedRequests: number;
  /** Closed loop: users running; open loop: requests in flight (the runner's User Count). */
  users: number;
}

/** What the engine reports as it runs. */
export interface SimObserver {
  /** A request finished (`error` null on success); times in ms, `startEpochMs` when it was sent. */
  request?(startEpochMs: number, responseTimeMs: number, error: SimErrorKind | null): void;
  /** Every whole second, including 0 and the end. */
  second?(snapshot: SecondSnapshot): void;
  /** Every `progressEveryS` simulated seconds. */
  progress?(elapsedS: number, totalS: number): void;
}

/** Why a simulated request failed. */
export type SimErrorKind = "rejected" | "timeout" | "client_timeout" | "replica_stopped";

/** A driver (the autoscaler) started against the engine's target interface and virtual clock. */
export type SimController = (engine: SimEngine, clock: VirtualClock) => { stop(): void };

/** Everything the engine needs. */
export interface SimEngineOptions {
  deployment: SimDeploymentSettings;
  load: LoadModel;
  serviceTime: DurationModel;
  /** Time from CPUs allocated to RUNNING (default fixed 2 s). */
  startupTime?: DurationModel;
  seed?: number;
  /** Cluster logical CPUs for allocation (default unbounded). */
  clusterCpus?: number;
  /**
   * Processor sharing: physical cores shared by all replicas. A request starting while `k`
   * replicas are executing takes `max(1, k * num_cpus / machineCores)` times its drawn service
   * time. Default: off (every replica has its own cores).
   */
  machineCores?: number | null;
  /** Requests one replica executes at once (others wait inside it, still "ongoing"); default 1. */
  replicaConcurrency?: number;
  /**
   * Replicas that may be starting at once; more wait in STARTING (CPUs held) for a slot, as the
   * serving pool starts at most one per machine CPU. Default unbounded.
   */
  maxConcurrentStarts?: number;
  /** The load generator gives up on a request after this (its `--timeout`, default 60 s; null: never). */
  clientTimeoutS?: number | null;
  /** Simulated duration; default the load's last stage end. */
  durationS?: number;
  /** Epoch ms of virtual time 0 (default 2026-01-01T00:00:00Z, for reproducible timestamps). */
  startEpochMs?: number;
  /** Queueing statistics ignore what happens before this (default 0). */
  warmupS?: number;
  /** Autoscaler (or any controller) to start at time 0. */
  controller?: SimController;
  observer?: SimObserver;
  /** Simulated seconds between `progress` calls (default 10). */
  progressEveryS?: number;
}

/** Queueing statistics collected by the engine itself (after the warm-up). */
export interface SimQueueStats {
  /** Requests that arrived after the warm-up. */
  arrivals: number;
  /** Requests that completed successfully (and arrived after the warm-up). */
  completed: number;
  failed: number;
  rejected: number;
  timedOut: number;
  /** Mean time from arrival to start of service, completed requests, ms. */
  meanWaitMs: number;
  /** Mean response time of completed requests, ms. */
  meanResponseMs: number;
  /** Time-averaged number of requests in the system (queued + at replicas). */
  meanInSystem: number;
  /** Arrivals per second over the measured span. */
  arrivalRatePerS: number;
  /** Measured span, seconds. */
  spanS: number;
}

/** One change of the target replica count. */
export interface TargetChange {
  elapsedS: number;
  from: number;
  to: number;
}

/** What a finished simulation returns. */
export interface SimEngineResult {
  durationS: number;
  queue: SimQueueStats;
  /** Sum over time of replicas holding resources (STARTING, RUNNING, STOPPING), seconds. */
  replicaSeconds: number;
  maxQueued: number;
  maxRunning: number;
  targetChanges: TargetChange[];
  /** Events processed (for throughput figures). */
  events: number;
  /** Requests sent by users or arrivals. */
  requestsSent: number;
  /** Open-loop arrivals dropped because `maxInFlight` requests were in flight. */
  dropped: number;
}

const DEFAULT_START_EPOCH_MS = Date.UTC(2026, 0, 1);

/**
 * Requests ongoing on each routable (RUNNING) replica, read live from the engine's routing list:
 * a `ReadonlyMap` whose entries iterate in list order.
 */
class RoutableOngoingView {
  readonly #list: readonly SimReplica[];
  readonly #byId: ReadonlyMap<string, SimReplica>;

  constructor(list: readonly SimReplica[], byId: ReadonlyMap<string, SimReplica>) {
    this.#list = list;
    this.#byId = byId;
  }

  get size(): number {
    return this.#list.length;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  get(id: string): number | undefined {
    return this.#byId.get(id)?.ongoing;
  }

  forEach(
    fn: (ongoing: number, id: string, map: ReadonlyMap<string, number>) => void,
    thisArg?: unknown,
  ): void {
    for (const r of this.#list) fn.call(thisArg, r.ongoing, r.id, this.asMap());
  }

  *entries(): Generator<[string, number]> {
    for (const r of this.#list) yield [r.id, r.ongoing];
  }

  *keys(): Generator<string> {
    for (const r of this.#list) yield r.id;
  }

  *values(): Generator<number> {
    for (const r of this.#list) yield r.ongoing;
  }

  [Symbol.iterator](): Generator<[string, number]> {
    return this.entries();
  }

  get [Symbol.toStringTag](): string {
    return "RoutableOngoingView";
  }

  /** This view typed as the `ReadonlyMap` it behaves as (its iterators are generators). */
  asMap(): ReadonlyMap<string, number> {
    return this as unknown as ReadonlyMap<string, number>;
  }
}

/** The simulator core. Create, then `run()` once. */
export class SimEngine {
  readonly clock: VirtualClock;
  readonly replicas: SimReplica[] = [];
  #q: EventQueue;
  #o:
    & Required<
      Pick<
        SimEngineOptions,
        | "seed"
        | "clusterCpus"
        | "replicaConcurrency"
        | "startEpochMs"
        | "warmupS"
        | "progressEveryS"
      >
    >
    & SimEngineOptions;
  #dep: SimDeploymentSettings;
  #endMs: number;
  #warmupMs: number;
  // Random streams.
  #rngService: Rng;
  #rngWait: Rng;
  #rngRoute: Rng;
  #rngArrival: Rng;
  #rngStartup: Rng;
  // Requests (structure of arrays).
  #rqStart = new Float64Array(1024);
  #rqUser = new Int32Array(1024);
  #rqUserGen = new Int32Array(1024);
  #rqReplica = new Int32Array(1024);
  #rqState = new Uint8Array(1024);
  #rqGen = new Int32Array(1024);
  #rqAbandoned = new Uint8Array(1024);
  #rqServiceStart = new Float64Array(1024);
  /** Token of the request's pending completion event (0: none); unique across the run. */
  #rqSvcToken = new Int32Array(1024);
  #rqRetried = new Uint8Array(1024);
  #svcToken = 0;
  #rqFree: number[] = [];
  #rqNext = 0;
  // Router queue: FIFO of request ids (entries of timed-out requests are skipped).
  #ring = new IdFifo();
  #queued = 0;
  // Timeouts: every request gets the same deadline offset, so deadlines come in send order and a
  // FIFO per kind (0 server, 1 client) replaces a heap event per request.
  #toFifo: [IdFifo, IdFifo] = [new IdFifo(), new IdFifo()];
  #toArmed = [false, false];
  #toMs = [0, 0];
  // Replicas.
  #routable: SimReplica[] = [];
  #routableVersion = 0; // changes whenever the set of routable (RUNNING) replicas changes
  #routableById = new Map<string, SimReplica>();
  #ongoingView = new RoutableOngoingView(this.#routable, this.#routableById);
  #withFreeSlot: SimReplica[] = [];
  #pending: SimReplica[] = [];
  #startQueue: SimReplica[] = [];
  #startsInFlight = 0;
  #target: number;
  #cpusUsed = 0;
  #counts = { PENDING_ALLOCATION: 0, STARTING: 0, RUNNING: 0, STOPPING: 0, STOPPED: 0 };
  #executingReplicas = 0;
  #totalOngoing = 0;
  // Users.
  #userGen = new Int32Array(1024);
  #userCount = 0;
  #activeUsers: number[] = [];
  // Open loop.
  #stageIndex = -1;
  #arrivalK = 0;
  #dropped = 0;
  // Stats.
  #inSystem = 0;
  #areaInSystem = 0;
  #lastAreaMs = 0;
  #replicaHolding = 0;
  #replicaArea = 0;
  #lastReplicaAreaMs = 0;
  #arrivals = 0;
  #completed = 0;
  #failed = 0;
  #rejected = 0;
  #timedOut = 0;
  #sumWaitMs = 0;
  #sumResponseMs = 0;
  #maxQueued = 0;
  #maxRunning = 0;
  #requestsSent = 0;
  #events = 0;
  #targetChanges: TargetChange[] = [];
  #ran = false;
  /** Virtual ms since the start (the clock reads the same instant as epoch ms). */
  #nowMs = 0;

  /** Builds an engine; nothing happens until `run()`. */
  constructor(options: SimEngineOptions) {
    const seed = options.seed ?? 1;
    // `??` rather than spreading defaults: callers pass explicit `undefined` for "default".
    this.#o = {
      ...options,
      seed,
      clusterCpus: options.clusterCpus ?? Infinity,
      replicaConcurrency: options.replicaConcurrency ?? 1,
      startEpochMs: options.startEpochMs ?? DEFAULT_START_EPOCH_MS,
      warmupS: options.warmupS ?? 0,
      progressEveryS: options.progressEveryS ?? 10,
    };
    this.#dep = options.deployment;
    validateOptions(options);
    this.#endMs = Math.round((options.durationS ?? options.load.durationS) * 1000);
    this.#warmupMs = this.#o.warmupS * 1000;
    this.#q = new EventQueue(4096);
    const q = this.#q, startEpochMs = this.#o.startEpochMs;
    this.clock = new VirtualClock(startEpochMs, {
      schedule: (atMs, id) => q.push(atMs - startEpochMs, EV_CLOCK, id, 0),
    });
    this.#rngService = createRng(seed, 1);
    this.#rngWait = createRng(seed, 2);
    this.#rngRoute = createRng(seed, 3);
    this.#rngArrival = createRng(seed, 4);
    this.#rngStartup = createRng(seed, 5);
    this.#target = options.deployment.initialReplicas;
    const server = options.deployment.requestTimeoutS;
    const client = options.clientTimeoutS === undefined ? 60 : options.clientTimeoutS;
    this.#toMs = [server === null ? 0 : server * 1000, client === null ? 0 : client * 1000];
  }

  // ---------------------------------------------------------------- AutoscalingTarget interface

  /**
   * Requests ongoing on each RUNNING replica (executing or waiting inside it), by replica id.
   * The same live read-only view is returned on every call.
   */
  ongoingByReplica(): ReadonlyMap<string, number> {
    // RUNNING replicas are exactly the routable ones. A live view of them (in routing-list
    // order, the order a map rebuilt from that list on every change would have), rather than a
    // 1,000-entry map refreshed on every 100 ms tick: the controller reads it synchronously.
    return this.#ongoingView.asMap();
  }

  /** A number that changes whenever the set of RUNNING replicas changes. */
  replicaSetVersion(): number {
    return this.#routableVersion;
  }

  /** Requests waiting in the router queue. */
  queuedRequests(): number {
    return this.#queued;
  }

  /** Replicas in the RUNNING state. */
  runningReplicas(): number {
    return this.#counts.RUNNING;
  }

  /** The current target replica count. */
  targetReplicas(): number {
    return this.#target;
  }

  /** Sets a new target: starts replicas (or queues them for CPUs) or drains the surplus. */
  setTargetReplicas(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`setTargetReplicas: expected an integer >= 0, got ${n}`);
    }
    if (n !== this.#target) {
      this.#targetChanges.push({
        elapsedS: this.#nowMs / 1000,
        from: this.#target,
        to: n,
      });
      this.#target = n;
    }
    this.#reconcile();
  }

  /** Number of simulated users right now. */
  get users(): number {
    return this.#activeUsers.length;
  }

  /** Counts of replicas by state. */
  replicaStates(): Readonly<Record<SimReplicaState, number>> {
    return { ...this.#counts };
  }

  /** Requests on replicas (executing or waiting inside them). */
  totalOngoingRequests(): number {
    return this.#totalOngoing;
  }

  // ---------------------------------------------------------------- run

  /** Runs the simulation to its end and returns its statistics. */
  run(): SimEngineResult {
    if (this.#ran) throw new Error("SimEngine.run() may be called only once per engine");
    this.#ran = true;
    const q = this.#q;
    for (let i = 0; i < this.#dep.initialReplicas; i++) {
      const r = this.#newReplica();
      this.#allocate(r, true);
    }
    const controller = this.#o.controller?.(this, this.clock);
    this.#startLoad();
    q.push(0, EV_SECOND, 0, 0);
    const endMs = this.#endMs;
    let events = 0;
    while (q.size > 0 && q.peekTime() <= endMs) {
      q.pop();
      events++;
      this.#nowMs = q.time;
      this.clock.setTime(this.#o.startEpochMs + q.time);
      const a = q.a, b = q.b;
      switch (q.kind) {
        case EV_USER_WAKE:
          if (this.#userGen[a] === b) this.#send(a);
          break;
        case EV_SERVICE_DONE:
          if (this.#rqSvcToken[a] === b) this.#serviceDone(a);
          break;
        case EV_ARRIVAL:
          this.#openArrival(b);
          break;
        case EV_CLOCK:
          this.clock.fire(a);
          break;
        case EV_SECOND:
          this.#second(a);
          break;
        case EV_TIMEOUT:
          this.#expireTimeouts(a);
          break;
        case EV_REPLICA_READY: {
          const r = this.replicas[a];
          if (r.gen === b && r.state === "STARTING") this.#becomeRunning(r);
          break;
        }
        case EV_DRAIN_POLL: {
          const r = this.replicas[a];
          if (r.gen === b && r.state === "STOPPING") this.#drainPoll(r);
          break;
        }
        case EV_USERS:
          this.#usersChange(a);
          break;
        case EV_STAGE:
          this.#enterStage(a);
          break;
      }
    }
    this.#nowMs = endMs;
    this.clock.setTime(this.#o.startEpochMs + endMs);
    this.#events = events;
    controller?.stop();
    this.#accumulateArea();
    this.#accumulateReplicaArea();
    const spanMs = Math.max(1, endMs - this.#warmupMs);
    return {
      durationS: endMs / 1000,
      queue: {
        arrivals: this.#arrivals,
        completed: this.#completed,
        failed: this.#failed,
        rejected: this.#rejected,
        timedOut: this.#timedOut,
        meanWaitMs: this.#completed ? this.#sumWaitMs / this.#completed : 0,
        meanResponseMs: this.#completed ? this.#sumResponseMs / this.#completed : 0,
        meanInSystem: this.#areaInSystem / spanMs,
        arrivalRatePerS: this.#arrivals / (spanMs / 1000),
        spanS: spanMs / 1000,
      },
      replicaSeconds: this.#replicaArea / 1000,
      maxQueued: this.#maxQueued,
      maxRunning: this.#maxRunning,
      targetChanges: this.#targetChanges,
      events: this.#events,
      requestsSent: this.#requestsSent,
      dropped: this.#dropped,
    };
  }

  // ---------------------------------------------------------------- load

  #startLoad(): void {
    const load = this.#o.load;
    if (load.kind === "closed") {
      if (load.changeTimesS.length > 0) {
        this.#q.push(load.changeTimesS[0] * 1000, EV_USERS, 0, 0);
      }
      this.#q.push(load.durationS * 1000, EV_USERS, -1, 0);
    } else if (load.arrivalTimeS) {
      const t = load.arrivalTimeS(0);
      if (t !== null) this.#q.push(t * 1000, EV_ARRIVAL, 0, -1);
    } else if (load.poissonStages) {
      this.#q.push(0, EV_STAGE, 0, 0);
    }
  }

  /** A time at which the user count may change: read it just after and start or stop users. */
  #usersChange(index: number): void {
    const load = this.#o.load as ClosedLoopLoad;
    const tS = this.#nowMs / 1000;
    const target = index < 0 ? 0 : Math.max(0, Math.floor(load.usersAt(tS + 1e-6)));
    while (this.#activeUsers.length < target) this.#startUser();
    while (this.#activeUsers.length > target) this.#stopUser();
    if (index >= 0 && index + 1 < load.changeTimesS.length) {
      this.#q.push(load.changeTimesS[index + 1] * 1000, EV_USERS, index + 1, 0);
    }
  }

  #startUser(): void {
    const id = this.#userCount++;
    if (id >= this.#userGen.length) {
      const next = new Int32Array(this.#userGen.length * 2);
      next.set(this.#userGen);
      this.#userGen = next;
    }
    this.#activeUsers.push(id);
    this.#send(id);
  }

  #stopUser(): void {
    const id = this.#activeUsers.pop();
    if (id !== undefined) this.#userGen[id]++;
  }

  #enterStage(index: number): void {
    const stages = (this.#o.load as OpenLoopLoad).poissonStages!;
    this.#stageIndex = index;
    if (index >= stages.length) return;
    this.#q.push(stages[index].endS * 1000, EV_STAGE, index + 1, 0);
    this.#schedulePoisson(this.#nowMs, index);
  }

  #schedulePoisson(fromMs: number, index: number): void {
    const stage = (this.#o.load as OpenLoopLoad).poissonStages![index];
    if (!(stage.rate > 0)) return;
    const t = fromMs + this.#rngArrival.exponential(1000 / stage.rate);
    // b = stage index: a stage change invalidates the old stage's pending arrival.
    if (t < stage.endS * 1000) this.#q.push(t, EV_ARRIVAL, 0, index);
  }

  #openArrival(stageIndex: number): void {
    const load = this.#o.load as OpenLoopLoad;
    if (stageIndex >= 0 && stageIndex !== this.#stageIndex) return;
    const max = load.maxInFlight;
    if (max !== undefined && max !== null && this.#inSystem >= max) this.#dropped++;
    else this.#send(-1);
    if (stageIndex >= 0) this.#schedulePoisson(this.#nowMs, stageIndex);
    else {
      const t = load.arrivalTimeS!(++this.#arrivalK);
      if (t !== null) this.#q.push(t * 1000, EV_ARRIVAL, 0, -1);
    }
  }

  // ---------------------------------------------------------------- requests

  #allocRequest(): number {
    const free = this.#rqFree.pop();
    if (free !== undefined) return free;
    const id = this.#rqNext++;
    if (id >= this.#rqStart.length) this.#growRequests();
    return id;
  }

  #growRequests(): void {
    const n = this.#rqStart.length * 2;
    const f64 = (old: Float64Array) => {
      const x = new Float64Array(n);
      x.set(old);
      return x;
    };
    const i32 = (old: Int32Array) => {
      const x = new Int32Array(n);
      x.set(old);
      return x;
    };
    const u8 = (old: Uint8Array) => {
      const x = new Uint8Array(n);
      x.set(old);
      return x;
    };
    this.#rqStart = f64(this.#rqStart);
    this.#rqServiceStart = f64(this.#rqServiceStart);
    this.#rqSvcToken = i32(this.#rqSvcToken);
    this.#rqRetried = u8(this.#rqRetried);
    this.#rqUser = i32(this.#rqUser);
    this.#rqUserGen = i32(this.#rqUserGen);
    this.#rqReplica = i32(this.#rqReplica);
    this.#rqState = u8(this.#rqState);
    this.#rqGen = i32(this.#rqGen);
    this.#rqAbandoned = u8(this.#rqAbandoned);
  }

  #freeRequest(id: number): void {
    this.#rqState[id] = RQ_FREE;
    this.#rqSvcToken[id] = 0;
    this.#rqGen[id]++;
    this.#rqFree.push(id);
  }

  #accumulateArea(): void {
    const now = this.#nowMs;
    if (now > this.#warmupMs) {
      const from = Math.max(this.#lastAreaMs, this.#warmupMs);
      this.#areaInSystem += this.#inSystem * (now - from);
    }
    this.#lastAreaMs = now;
  }

  #accumulateReplicaArea(): void {
    const now = this.#nowMs;
    this.#replicaArea += this.#replicaHolding * (now - this.#lastReplicaAreaMs);
    this.#lastReplicaAreaMs = now;
  }

  /** A user (or an open-loop arrival when `user` is -1) sends a request. */
  #send(user: number): void {
    const now = this.#nowMs;
    const id = this.#allocRequest();
    this.#requestsSent++;
    this.#rqStart[id] = now;
    this.#rqUser[id] = user;
    this.#rqUserGen[id] = user >= 0 ? this.#userGen[user] : 0;
    this.#rqReplica[id] = -1;
    this.#rqAbandoned[id] = 0;
    this.#rqRetried[id] = 0;
    if (now >= this.#warmupMs) this.#arrivals++;
    this.#accumulateArea();
    this.#inSystem++;
    if (!this.#route(id)) return;
    if (this.#toMs[0] > 0) this.#addTimeout(0, id);
    if (this.#toMs[1] > 0) this.#addTimeout(1, id);
  }

  /**
   * Routes a request that is in the system: FIFO fairness first (nobody overtakes the queue),
   * then power of two choices; a full queue rejects it (503). Returns false when rejected.
   */
  #route(id: number): boolean {
    const replica = this.#queued === 0 ? this.#pick() : null;
    if (replica) {
      this.#assign(id, replica);
      return true;
    }
    if (this.#dep.maxQueuedRequests >= 0 && this.#queued >= this.#dep.maxQueuedRequests) {
      if (this.#rqStart[id] >= this.#warmupMs) this.#rejected++;
      this.#finish(id, "rejected");
      this.#freeRequest(id);
      return false;
    }
    this.#enqueue(id);
    return true;
  }

  #enqueue(id: number): void {
    this.#rqState[id] = RQ_QUEUED;
    this.#ring.push(id, 0);
    this.#queued++;
    if (this.#queued > this.#maxQueued) this.#maxQueued = this.#queued;
  }

  /** Oldest live queued request, or -1 (entries of timed-out requests are skipped). */
  #dequeue(): number {
    const ring = this.#ring;
    while (ring.length > 0) {
      const id = ring.ids[ring.head];
      ring.shift();
      const state = this.#rqState[id];
      if (state === RQ_QUEUED) {
        this.#queued--;
        return id;
      }
      if (state === RQ_DEAD) this.#freeRequest(id);
    }
    return -1;
  }

  /** Power of two choices among RUNNING replicas; only replicas under `max_ongoing_requests`. */
  #pick(): SimReplica | null {
    const routable = this.#routable;
    const n = routable.length;
    if (n === 0 || this.#withFreeSlot.length === 0) return null;
    const max = this.#dep.maxOngoingRequests;
    const rng = this.#rngRoute;
    let best: SimReplica | null = null;
    if (n === 1) {
      best = routable[0];
    } else {
      const i = rng.int(n);
      let j = rng.int(n - 1);
      if (j >= i) j++;
      const a = routable[i], b = routable[j];
      best = a.ongoing <= b.ongoing ? a : b;
    }
    if (best.ongoing < max) return best;
    // Both candidates full: Ray probes and retries with other samples until one accepts; the
    // replicas with a free slot are exactly those a retry can find.
    const free = this.#withFreeSlot;
    if (free.length === 1) return free[0];
    const i = rng.int(free.length);
    let j = rng.int(free.length - 1);
    if (j >= i) j++;
    return free[i].ongoing <= free[j].ongoing ? free[i] : free[j];
  }

  #updateFreeSlot(r: SimReplica): void {
    const hasSlot = r.routablePos >= 0 && r.ongoing < this.#dep.maxOngoingRequests;
    if (hasSlot && r.freePos < 0) {
      r.freePos = this.#withFreeSlot.length;
      this.#withFreeSlot.push(r);
    } else if (!hasSlot && r.freePos >= 0) {
      const last = this.#withFreeSlot.pop()!;
      if (last !== r) {
        this.#withFreeSlot[r.freePos] = last;
        last.freePos = r.freePos;
      }
      r.freePos = -1;
    }
  }

  #assign(id: number, r: SimReplica): void {
    this.#rqReplica[id] = r.index;
    r.ongoing++;
    this.#totalOngoing++;
    this.#updateFreeSlot(r);
    if (r.executing < this.#o.replicaConcurrency) this.#startService(id, r);
    else {
      this.#rqState[id] = RQ_WAITING;
      const ring = r.localQueue;
      const at = r.localHead + r.localCount;
      ring[at >= ring.length ? at - ring.length : at] = id;
      r.localCount++;
    }
  }

  #startService(id: number, r: SimReplica): void {
    const now = this.#nowMs;
    this.#rqState[id] = RQ_EXECUTING;
    if (r.executing === 0) this.#executingReplicas++;
    r.executing++;
    this.#rqServiceStart[id] = now;
    let serviceMs = this.#o.serviceTime.sampleMs(this.#rngService);
    const cores = this.#o.machineCores;
    if (cores) {
      const demand = this.#executingReplicas * this.#dep.numCpusPerReplica;
      if (demand > cores) serviceMs *= demand / cores;
    }
    const token = ++this.#svcToken;
    this.#rqSvcToken[id] = token;
    this.#q.push(now + serviceMs, EV_SERVICE_DONE, id, token);
  }

  #serviceDone(id: number): void {
    const r = this.replicas[this.#rqReplica[id]];
    r.executing--;
    if (r.executing === 0) this.#executingReplicas--;
    r.ongoing--;
    this.#totalOngoing--;
    if (!this.#rqAbandoned[id]) {
      if (this.#rqStart[id] >= this.#warmupMs) {
        this.#sumWaitMs += this.#rqServiceStart[id] - this.#rqStart[id];
      }
      this.#finish(id, null);
    }
    this.#freeRequest(id);
    // Next request waiting inside the replica.
    if (r.localCount > 0) {
      const next = r.localQueue[r.localHead];
      r.localHead = r.localHead + 1 === r.localQueue.length ? 0 : r.localHead + 1;
      r.localCount--;
      this.#startService(next, r);
    }
    this.#updateFreeSlot(r);
    if (r.state === "RUNNING") this.#drainQueueTo(r);
  }

  /** Assigns queued requests to `r` while it has free slots. */
  #drainQueueTo(r: SimReplica): void {
    const max = this.#dep.maxOngoingRequests;
    while (this.#queued > 0 && r.ongoing < max) {
      const id = this.#dequeue();
      if (id < 0) break;
      this.#assign(id, r);
    }
  }

  /**
   * Ends a request for its sender: records it and lets a closed-loop user continue. The caller
   * decides what happens to the request's slot (freed, or left to the replica that still works on it).
   */
  #finish(id: number, error: SimErrorKind | null): void {
    const now = this.#nowMs;
    const start = this.#rqStart[id];
    const user = this.#rqUser[id];
    const alive = user < 0 || this.#userGen[user] === this.#rqUserGen[id];
    const responseMs = now - start;
    this.#accumulateArea();
    this.#inSystem--;
    if (start >= this.#warmupMs) {
      if (error === null) {
        this.#completed++;
        this.#sumResponseMs += responseMs;
      } else this.#failed++;
    }
    // Recorded even when its user was stopped meanwhile, as the load generator's runner does.
    this.#o.observer?.request?.(this.#o.startEpochMs + start, responseMs, error);
    if (user >= 0 && alive) {
      const waitS = this.#o.load.kind === "closed"
        ? this.#o.load.waitTimeS(this.#rngWait, responseMs / 1000)
        : 0;
      this.#q.push(now + Math.max(0, waitS) * 1000, EV_USER_WAKE, user, this.#userGen[user]);
    }
  }

  #addTimeout(k: 0 | 1, id: number): void {
    this.#toFifo[k].push(id, this.#rqGen[id]);
    if (!this.#toArmed[k]) {
      this.#toArmed[k] = true;
      this.#q.push(this.#rqStart[id] + this.#toMs[k], EV_TIMEOUT, k, 0);
    }
  }

  /** Expires every due entry of timeout FIFO `k`, then re-arms for the next live one. */
  #expireTimeouts(k: number): void {
    const fifo = this.#toFifo[k];
    const now = this.#nowMs;
    const limit = this.#toMs[k];
    this.#toArmed[k] = false;
    while (fifo.length > 0) {
      const h = fifo.head;
      const id = fifo.ids[h];
      if (this.#rqGen[id] === fifo.gens[h] && this.#rqState[id] !== RQ_FREE) {
        const due = this.#rqStart[id] + limit;
        if (due > now) {
          this.#toArmed[k] = true;
          this.#q.push(due, EV_TIMEOUT, k, 0);
          return;
        }
        this.#timeout(id, k === 0);
      }
      fifo.shift();
    }
  }

  /**
   * `server`: request_timeout_s ends the request (504), and a queued one leaves the queue.
   * Client timeout: the load generator gives up; the service keeps the request (queued or
   * executing) until it is done, as a real server does with a closed connection.
   */
  #timeout(id: number, server: boolean): void {
    if (!this.#rqAbandoned[id]) {
      if (this.#rqStart[id] >= this.#warmupMs) this.#timedOut++;
      this.#finish(id, server ? "timeout" : "client_timeout");
    }
    if (server && this.#rqState[id] === RQ_QUEUED) {
      this.#queued--;
      this.#rqState[id] = RQ_DEAD;
      this.#rqGen[id]++;
    } else {
      this.#rqAbandoned[id] = 1;
    }
  }

  // ---------------------------------------------------------------- replicas

  #newReplica(): SimReplica {
    const index = this.replicas.length;
    const r: SimReplica = {
      id: `r${String(index).padStart(4, "0")}`,
      index,
      state: "PENDING_ALLOCATION",
      ongoing: 0,
      executing: 0,
      requestedAtMs: this.#nowMs,
      startedAtMs: -1,
      runningSinceMs: -1,
      stoppingSinceMs: -1,
      gen: 0,
      localQueue: new Int32Array(this.#dep.maxOngoingRequests),
      localHead: 0,
      localCount: 0,
      routablePos: -1,
      freePos: -1,
      startSlot: false,
    };
    this.replicas.push(r);
    this.#counts.PENDING_ALLOCATION++;
    return r;
  }

  #setState(r: SimReplica, state: SimReplicaState): void {
    const holding = (s: SimReplicaState) => s === "STARTING" || s === "RUNNING" || s === "STOPPING";
    if (holding(r.state) !== holding(state)) {
      this.#accumulateReplicaArea();
      this.#replicaHolding += holding(state) ? 1 : -1;
    }
    this.#counts[r.state]--;
    this.#counts[state]++;
    r.state = state;
    if (this.#counts.RUNNING > this.#maxRunning) this.#maxRunning = this.#counts.RUNNING;
  }

  /** Gives `r` its CPUs if they are free (else it waits in PENDING_ALLOCATION). */
  #allocate(r: SimReplica, instant = false): boolean {
    const need = this.#dep.numCpusPerReplica;
    if (this.#cpusUsed + need > this.#o.clusterCpus + 1e-9) {
      if (!this.#pending.includes(r)) this.#pending.push(r);
      return false;
    }
    this.#cpusUsed += need;
    r.startedAtMs = this.#nowMs;
    this.#setState(r, "STARTING");
    if (instant) this.#becomeRunning(r);
    else {
      this.#startQueue.push(r);
      this.#pumpStarts();
    }
    return true;
  }

  /** Starts queued STARTING replicas while fewer than `maxConcurrentStarts` are starting. */
  #pumpStarts(): void {
    const limit = this.#o.maxConcurrentStarts ?? Infinity;
    while (this.#startsInFlight < limit && this.#startQueue.length > 0) {
      const r = this.#startQueue.shift()!;
      if (r.state !== "STARTING") continue;
      this.#startsInFlight++;
      r.startSlot = true;
      const startupMs = this.#o.startupTime ? this.#o.startupTime.sampleMs(this.#rngStartup) : 2000;
      this.#q.push(this.#nowMs + startupMs, EV_REPLICA_READY, r.index, r.gen);
    }
  }

  /** A replica that held a start slot left STARTING (running, or stopped). */
  #endStart(r: SimReplica): void {
    if (!r.startSlot) return;
    r.startSlot = false;
    this.#startsInFlight--;
    this.#pumpStarts();
  }

  #becomeRunning(r: SimReplica): void {
    r.runningSinceMs = this.#nowMs;
    this.#endStart(r);
    this.#setState(r, "RUNNING");
    r.routablePos = this.#routable.length;
    this.#routable.push(r);
    this.#routableById.set(r.id, r);
    this.#routableVersion++;
    this.#updateFreeSlot(r);
    this.#drainQueueTo(r);
  }

  #removeRoutable(r: SimReplica): void {
    if (r.routablePos < 0) return;
    this.#routableById.delete(r.id);
    this.#routableVersion++;
    const last = this.#routable.pop()!;
    if (last !== r) {
      this.#routable[r.routablePos] = last;
      last.routablePos = r.routablePos;
    }
    r.routablePos = -1;
    this.#updateFreeSlot(r);
  }

  #release(r: SimReplica): void {
    this.#cpusUsed -= this.#dep.numCpusPerReplica;
    this.#endStart(r);
    r.gen++;
    this.#setState(r, "STOPPED");
    // Freed CPUs go to replicas waiting for them, oldest first.
    while (this.#pending.length > 0) {
      const next = this.#pending[0];
      if (next.state !== "PENDING_ALLOCATION") {
        this.#pending.shift();
        continue;
      }
      if (!this.#allocate(next)) break;
      this.#pending.shift();
    }
  }

  /** Starts or stops replicas so that the live ones (not STOPPING) match the target. */
  #reconcile(): void {
    let live = this.#counts.PENDING_ALLOCATION + this.#counts.STARTING + this.#counts.RUNNING;
    while (live < this.#target) {
      const r = this.#newReplica();
      this.#allocate(r);
      live++;
    }
    if (live <= this.#target) return;
    // Stop order (Ray, and the serving pool): PENDING, then STARTING, then RUNNING; within each,
    // the most recently started (or requested) first.
    const candidates = this.replicas.filter((r) =>
      r.state === "PENDING_ALLOCATION" || r.state === "STARTING" || r.state === "RUNNING"
    );
    const rank = (r: SimReplica) =>
      r.state === "PENDING_ALLOCATION" ? 0 : r.state === "STARTING" ? 1 : 2;
    const since = (r: SimReplica) => (r.startedAtMs >= 0 ? r.startedAtMs : r.requestedAtMs);
    candidates.sort((x, y) => rank(x) - rank(y) || since(y) - since(x) || y.index - x.index);
    for (const r of candidates) {
      if (live <= this.#target) break;
      live--;
      if (r.state === "PENDING_ALLOCATION") {
        r.gen++;
        this.#setState(r, "STOPPED");
        const i = this.#pending.indexOf(r);
        if (i >= 0) this.#pending.splice(i, 1);
      } else if (r.state === "STARTING") {
        this.#release(r);
      } else {
        this.#removeRoutable(r);
        r.stoppingSinceMs = this.#nowMs;
        this.#setState(r, "STOPPING");
        r.gen++;
        const waitMs = this.#dep.gracefulShutdownWaitLoopS * 1000;
        this.#q.push(this.#nowMs + waitMs, EV_DRAIN_POLL, r.index, r.gen);
      }
    }
  }

  /** Graceful shutdown: poll every wait-loop period until idle; force-stop after the timeout. */
  #drainPoll(r: SimReplica): void {
    const now = this.#nowMs;
    const timeoutMs = this.#dep.gracefulShutdownTimeoutS * 1000;
    if (r.ongoing === 0) {
      this.#release(r);
      return;
    }
    if (now - r.stoppingSinceMs >= timeoutMs - 1e-9) {
      // Force kill: its requests are retried once on another replica (as serving does); a
      // request already retried fails with 503.
      const victims: number[] = [];
      for (let id = 0; id < this.#rqNext; id++) {
        const s = this.#rqState[id];
        if ((s === RQ_EXECUTING || s === RQ_WAITING) && this.#rqReplica[id] === r.index) {
          victims.push(id);
        }
      }
      for (const id of victims) {
        r.ongoing--;
        this.#totalOngoing--;
        this.#rqSvcToken[id] = 0; // cancels its completion event
      }
      r.executing = 0;
      this.#executingReplicas--;
      r.localHead = 0;
      r.localCount = 0;
      this.#updateFreeSlot(r);
      this.#release(r);
      for (const id of victims) {
        if (this.#rqAbandoned[id]) this.#freeRequest(id);
        else if (this.#rqRetried[id]) {
          this.#finish(id, "replica_stopped");
          this.#freeRequest(id);
        } else {
          this.#rqRetried[id] = 1;
          this.#rqReplica[id] = -1;
          this.#route(id);
        }
      }
      return;
    }
    const waitMs = Math.max(1, this.#dep.gracefulShutdownWaitLoopS * 1000);
    const next = Math.min(now + waitMs, r.stoppingSinceMs + timeoutMs);
    this.#q.push(next, EV_DRAIN_POLL, r.index, r.gen);
  }

  // ---------------------------------------------------------------- per second

  #second(s: number): void {
    const c = this.#counts;
    this.#o.observer?.second?.({
      second: s,
      epochMs: this.clock.now(),
      targetReplicas: this.#target,
      runningReplicas: c.RUNNING,
      startingReplicas: c.STARTING,
      pendingReplicas: c.PENDING_ALLOCATION,
      stoppingReplicas: c.STOPPING,
      totalOngoingRequests: this.#totalOngoing,
      queuedRequests: this.#queued,
      // Open loop: requests in flight, as the load generator's runner reports for arrival rates.
      users: this.#o.load.kind === "closed" ? this.#activeUsers.length : this.#inSystem,
    });
    const every = this.#o.progressEveryS;
    if (s > 0 && s % every === 0) this.#o.observer?.progress?.(s, this.#endMs / 1000);
    if ((s + 1) * 1000 <= this.#endMs) this.#q.push((s + 1) * 1000, EV_SECOND, s + 1, 0);
  }
}

function validateOptions(options: SimEngineOptions): void {
  const d = options.deployment;
  const bad = (what: string, value: unknown, want: string) => {
    throw new RangeError(`simulation option ${what} must be ${want}, got ${value}`);
  };
  if (!Number.isInteger(d.initialReplicas) || d.initialReplicas < 0) {
    bad("deployment.initialReplicas", d.initialReplicas, "an integer >= 0");
  }
  if (!Number.isInteger(d.maxOngoingRequests) || d.maxOngoingRequests < 1) {
    bad("deployment.maxOngoingRequests", d.maxOngoingRequests, "an integer >= 1");
  }
  if (
    d.maxQueuedRequests !== -1 &&
    !(Number.isInteger(d.maxQueuedRequests) && d.maxQueuedRequests >= 1)
  ) {
    bad("deployment.maxQueuedRequests", d.maxQueuedRequests, "-1 or an integer >= 1");
  }
  if (!(d.numCpusPerReplica >= 0)) bad("deployment.numCpusPerReplica", d.numCpusPerReplica, ">= 0");
  if (d.requestTimeoutS !== null && !(d.requestTimeoutS > 0)) {
    bad("deployment.requestTimeoutS", d.requestTimeoutS, "null or > 0");
  }
  const c = options.replicaConcurrency;
  if (c !== undefined && !(Number.isInteger(c) && c >= 1)) {
    bad("replicaConcurrency", c, "an integer >= 1");
  }
  const mcs = options.maxConcurrentStarts;
  if (mcs !== undefined && !(Number.isInteger(mcs) && mcs >= 1) && mcs !== Infinity) {
    bad("maxConcurrentStarts", mcs, "an integer >= 1");
  }
  const m = options.machineCores;
  if (m !== undefined && m !== null && !(m > 0)) bad("machineCores", m, "null or > 0");
  if (options.clusterCpus !== undefined && !(options.clusterCpus >= 0)) {
    bad("clusterCpus", options.clusterCpus, ">= 0");
  }
  const load = options.load;
  if (!(load.durationS >= 0)) bad("load.durationS", load.durationS, ">= 0");
  if (load.kind === "closed") {
    let prev = -Infinity;
    for (const [i, t] of load.changeTimesS.entries()) {
      if (!(t >= prev)) bad(`load.changeTimesS[${i}]`, t, `>= the previous time (${prev} s)`);
      prev = t;
    }
  } else if (!load.arrivalTimeS && !load.poissonStages) {
    bad("load", "an open loop without arrivals", "given arrivalTimeS or poissonStages");
  }
}
