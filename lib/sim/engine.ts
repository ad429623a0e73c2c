/**
 * The discrete-event core of the simulator: users (closed loop) or arrivals (open loop) send
 * requests through the service's own router and replica set (lib/fleet: power of two choices,
 * `max_ongoing_requests`, back-pressure, PENDING_ALLOCATION -> STARTING -> RUNNING, CPU
 * accounting, start slots, draining and stop order) with simulated replicas, a FIFO router queue
 * and request timeouts, all on the lab's one `VirtualClock` driven by the engine's event queue.
 *
 * The engine does not decide how many replicas to run: it implements the autoscaler's
 * `AutoscalingTarget` interface (ongoing requests per running replica, queued requests, running and
 * target replicas, `setTargetReplicas`) so the real control loop, given the engine's clock,
 * drives it exactly as it drives the real deployment. Without an autoscaler the replica count stays
 * at its initial value (`num_replicas`, or `initial_replicas`/`min_replicas`).
 *
 * @module
 */
import { VirtualClock } from "../autoscaler/mod.ts";
import { Cluster, ReplicaRouter, ReplicaSet, type ReplicaState } from "../fleet/mod.ts";
import { type DeadlineKind, Deadlines } from "./_deadlines.ts";
import { EventQueue } from "./_event_queue.ts";
import {
  EV_ARRIVAL,
  EV_CLOCK,
  EV_CONTROLLER_START,
  EV_RELEASE,
  EV_REPLICA_READY,
  EV_SECOND,
  EV_SERVICE_DONE,
  EV_STAGE,
  EV_TIMEOUT,
  EV_USER_WAKE,
  EV_USERS,
} from "./_events.ts";
import { IdFifo } from "./_id_fifo.ts";
import { LoadDriver } from "./_load_driver.ts";
import { RoutableOngoingView } from "./_ongoing_view.ts";
import { createRng, type Rng } from "../duration/mod.ts";
import { EngineStats } from "./_stats.ts";
import {
  RequestTable,
  RQ_DEAD,
  RQ_EXECUTING,
  RQ_QUEUED,
  RQ_REPLYING,
  RQ_WAITING,
} from "./_requests.ts";
import { validateOptions } from "./_validate.ts";
import type {
  SimDeploymentSettings,
  SimEngineOptions,
  SimEngineResult,
  SimErrorKind,
  SimReplica,
  SimReplicaState,
  TargetChange,
} from "./engine_types.ts";

const DEFAULT_START_EPOCH_MS = Date.UTC(2026, 0, 1);
type DefaultedOption =
  | "seed"
  | "clusterCpus"
  | "replicaConcurrency"
  | "startEpochMs"
  | "warmupS"
  | "progressEveryS";

/** The simulator core. Create, then `run()` once. */
export class SimEngine {
  /** The virtual clock the simulation runs on (ms since virtual time 0). */
  readonly clock: VirtualClock;
  /** Every replica the engine made, in creation order (stopped ones included). */
  readonly replicas: SimReplica[] = [];
  #q: EventQueue;
  #o: SimEngineOptions & Required<Pick<SimEngineOptions, DefaultedOption>>;
  #dep: SimDeploymentSettings;
  #endMs: number;
  #warmupMs: number;
  // Random streams.
  #rngService: Rng;
  #rngRoute: Rng;
  #rngStartup: Rng;
  #rngOverhead: Rng;
  #inSlotShare: number;
  // Requests (structure of arrays).
  #rq = new RequestTable();
  #svcToken = 0;
  // Router queue: FIFO of request ids (entries of timed-out requests are skipped).
  #ring = new IdFifo();
  #queued = 0;
  #deadlines: Deadlines;
  // Replicas: the shared router and replica set (lib/fleet), as the service runs them.
  #router: ReplicaRouter<SimReplica>;
  #set: ReplicaSet<SimReplica>;
  #routableById = new Map<string, SimReplica>();
  #ongoingView: RoutableOngoingView;
  #executingReplicas = 0;
  #totalOngoing = 0;
  #load: LoadDriver;
  #st: EngineStats;
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
    this.#st = new EngineStats(this.#warmupMs);
    this.#q = new EventQueue(4096);
    const q = this.#q, startEpochMs = this.#o.startEpochMs;
    this.clock = new VirtualClock(startEpochMs, {
      schedule: (atMs, id) => q.push(atMs - startEpochMs, EV_CLOCK, id, 0),
    });
    this.#rngService = createRng(seed, 1);
    this.#rngRoute = createRng(seed, 3);
    this.#load = new LoadDriver(options.load, this.#q, {
      rngArrival: createRng(seed, 4),
      rngWait: createRng(seed, 2),
      sink: { send: (user) => this.#send(user), inSystem: () => this.#st.inSystem },
    });
    this.#rngStartup = createRng(seed, 5);
    this.#rngOverhead = createRng(seed, 6);
    this.#inSlotShare = Math.min(1, Math.max(0, options.requestOverheadInSlotShare ?? 0));
    this.#router = new ReplicaRouter<SimReplica>({
      maxOngoingRequests: this.#dep.maxOngoingRequests,
      maxQueuedRequests: this.#dep.maxQueuedRequests,
      random: this.#rngRoute.next,
    });
    this.#ongoingView = new RoutableOngoingView(this.#router.replicas, this.#routableById);
    this.#set = new ReplicaSet<SimReplica>({
      create: () => this.#newReplica(),
      start: (r) => this.#startReplica(r),
      busy: (r) => r.ongoing > 0,
      close: (r) => {
        r.gen++;
      },
      kill: (r) => this.#killReplica(r),
      changed: (r, from, to) => this.#replicaChanged(r, from, to),
    }, {
      clock: this.clock,
      router: this.#router,
      cluster: new Cluster(this.#o.clusterCpus),
      numCpusPerReplica: this.#dep.numCpusPerReplica,
      maxConcurrentStarts: options.maxConcurrentStarts,
      gracefulShutdownWaitLoopS: this.#dep.gracefulShutdownWaitLoopS,
      gracefulShutdownTimeoutS: this.#dep.gracefulShutdownTimeoutS,
    });
    const server = options.deployment.requestTimeoutS;
    const client = options.clientTimeoutS === undefined ? 60 : options.clientTimeoutS;
    this.#deadlines = new Deadlines(this.#q, this.#rq, [
      server === null ? 0 : server * 1000,
      client === null ? 0 : client * 1000,
    ]);
  }

  // ---------------------------------------------------------------- AutoscalingTarget interface

  /**
   * Requests ongoing on each RUNNING (= routable) replica, by id: one live read-only view of the
   * router's list, rather than a 1,000-entry map rebuilt for every 100 ms tick.
   */
  ongoingByReplica(): ReadonlyMap<string, number> {
    return this.#ongoingView.asMap();
  }

  /** A number that changes whenever the set of RUNNING replicas changes. */
  replicaSetVersion(): number {
    return this.#router.version;
  }

  /** Requests waiting in the router queue. */
  queuedRequests(): number {
    return this.#queued;
  }

  /** Replicas in the RUNNING state. */
  runningReplicas(): number {
    return this.#set.counts.RUNNING;
  }

  /** The current target replica count. */
  targetReplicas(): number {
    return this.#set.target;
  }

  /** Sets a new target: starts replicas (or queues them for CPUs) or drains the surplus. */
  setTargetReplicas(n: number): void {
    if (!Number.isInteger(n) || n < 0) {
      throw new RangeError(`setTargetReplicas: expected an integer >= 0, got ${n}`);
    }
    const from = this.#set.target;
    if (n !== from) this.#targetChanges.push({ elapsedS: this.#nowMs / 1000, from, to: n });
    this.#set.setTarget(n);
  }

  /** Number of simulated users right now. */
  get users(): number {
    return this.#load.users;
  }

  /** Counts of replicas by state. */
  replicaStates(): Readonly<Record<SimReplicaState, number>> {
    return { ...this.#set.counts, STOPPED: this.replicas.length - this.#set.replicas.length };
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
    this.#set.createRunning(this.#dep.initialReplicas);
    const startMs = this.#o.controllerStartMs ?? 0, start = this.#o.controller;
    let controller = start && startMs <= 0 ? start(this, this.clock) : undefined;
    if (start && startMs > 0) q.push(startMs, EV_CONTROLLER_START, 0, 0);
    this.#load.start();
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
          if (this.#load.alive(a, b)) this.#send(a);
          break;
        case EV_SERVICE_DONE:
          if (this.#rq.svcToken[a] === b) this.#serviceDone(a);
          break;
        case EV_RELEASE:
          if (this.#rq.svcToken[a] === b) this.#release(a);
          break;
        case EV_ARRIVAL:
          this.#load.arrival(b, this.#nowMs);
          break;
        case EV_CLOCK:
          this.clock.fire(a);
          break;
        case EV_SECOND:
          this.#second(a);
          break;
        case EV_TIMEOUT:
          this.#deadlines.expire(a as DeadlineKind, this.#nowMs, this.#onDeadline);
          break;
        case EV_REPLICA_READY: {
          const r = this.replicas[a];
          if (r.gen === b) this.#set.running(r);
          break;
        }
        case EV_USERS:
          this.#load.usersChange(a, this.#nowMs);
          break;
        case EV_STAGE:
          this.#load.enterStage(a, this.#nowMs);
          break;
        case EV_CONTROLLER_START:
          controller = this.#o.controller!(this, this.clock);
          break;
      }
    }
    this.#nowMs = endMs;
    this.clock.setTime(this.#o.startEpochMs + endMs);
    controller?.stop();
    this.#st.accumulateArea(this.#nowMs);
    this.#st.accumulateReplicaArea(this.#nowMs);
    return {
      durationS: endMs / 1000,
      queue: this.#st.queue(endMs),
      replicaSeconds: this.#st.replicaSeconds,
      maxQueued: this.#st.maxQueued,
      maxRunning: this.#st.maxRunning,
      targetChanges: this.#targetChanges,
      events,
      requestsSent: this.#st.requestsSent,
      dropped: this.#load.dropped,
    };
  }

  // ---------------------------------------------------------------- requests

  /** A user (or an open-loop arrival when `user` is -1) sends a request. */
  #send(user: number): void {
    const now = this.#nowMs;
    const id = this.#rq.alloc();
    this.#st.requestsSent++;
    this.#rq.start[id] = now;
    this.#rq.user[id] = user;
    this.#rq.userGen[id] = user >= 0 ? this.#load.userGen[user] : 0;
    this.#rq.replica[id] = -1;
    this.#rq.abandoned[id] = 0;
    this.#rq.retried[id] = 0;
    if (now >= this.#warmupMs) this.#st.arrivals++;
    this.#st.accumulateArea(this.#nowMs);
    this.#st.inSystem++;
    if (!this.#route(id)) return;
    this.#deadlines.add(id);
  }

  /**
   * Routes a request that is in the system: FIFO fairness first (nobody overtakes the queue),
   * then power of two choices; a full queue rejects it (503). Returns false when rejected.
   */
  #route(id: number): boolean {
    const replica = this.#queued === 0 ? this.#router.choose() : null;
    if (replica) {
      this.#assign(id, replica);
      return true;
    }
    if (this.#router.refuses(this.#queued)) {
      if (this.#rq.start[id] >= this.#warmupMs) this.#st.rejected++;
      this.#finish(id, "rejected");
      this.#rq.free(id);
      return false;
    }
    this.#enqueue(id);
    return true;
  }

  #enqueue(id: number): void {
    this.#rq.state[id] = RQ_QUEUED;
    this.#ring.push(id, 0);
    this.#queued++;
    if (this.#queued > this.#st.maxQueued) this.#st.maxQueued = this.#queued;
  }

  /** Oldest live queued request, or -1 (entries of timed-out requests are skipped). */
  #dequeue(): number {
    const ring = this.#ring;
    while (ring.length > 0) {
      const id = ring.ids[ring.head];
      ring.shift();
      const state = this.#rq.state[id];
      if (state === RQ_QUEUED) {
        this.#queued--;
        return id;
      }
      if (state === RQ_DEAD) this.#rq.free(id);
    }
    return -1;
  }

  #assign(id: number, r: SimReplica): void {
    this.#rq.replica[id] = r.index;
    this.#router.assign(r);
    this.#totalOngoing++;
    if (r.executing < this.#o.replicaConcurrency) this.#startService(id, r);
    else {
      this.#rq.state[id] = RQ_WAITING;
      const ring = r.localQueue;
      const at = r.localHead + r.localCount;
      ring[at >= ring.length ? at - ring.length : at] = id;
      r.localCount++;
    }
  }

  #startService(id: number, r: SimReplica): void {
    const now = this.#nowMs;
    this.#rq.state[id] = RQ_EXECUTING;
    if (r.executing === 0) this.#executingReplicas++;
    r.executing++;
    this.#rq.serviceStart[id] = now;
    let serviceMs = this.#o.serviceTime.sampleMs(this.#rngService);
    const cores = this.#o.machineCores;
    if (cores) {
      const demand = this.#executingReplicas * this.#dep.numCpusPerReplica;
      if (demand > cores) serviceMs *= demand / cores;
    }
    const token = ++this.#svcToken;
    this.#rq.svcToken[id] = token;
    this.#q.push(now + serviceMs, EV_SERVICE_DONE, id, token);
  }

  /**
   * A request's service ended: the replica takes its next waiting request. The request keeps its
   * slot (ongoing) for the in-slot part of its overhead (the reply's way back to the main
   * thread), then is released; the rest of the overhead is the sender's.
   */
  #serviceDone(id: number): void {
    const r = this.replicas[this.#rq.replica[id]];
    r.executing--;
    if (r.executing === 0) this.#executingReplicas--;
    if (r.localCount > 0) {
      const next = r.localQueue[r.localHead];
      r.localHead = r.localHead + 1 === r.localQueue.length ? 0 : r.localHead + 1;
      r.localCount--;
      this.#startService(next, r);
    }
    const overhead = this.#o.requestOverhead;
    const overheadMs = overhead ? overhead.sampleMs(this.#rngOverhead) : 0;
    const inSlotMs = overheadMs * this.#inSlotShare;
    this.#rq.overheadMs[id] = overheadMs - inSlotMs;
    if (inSlotMs <= 0) return this.#release(id);
    this.#rq.state[id] = RQ_REPLYING;
    const token = ++this.#svcToken;
    this.#rq.svcToken[id] = token;
    this.#q.push(this.#nowMs + inSlotMs, EV_RELEASE, id, token);
  }

  /** A request gives its slot back and is answered (unless its sender gave up). */
  #release(id: number): void {
    const r = this.replicas[this.#rq.replica[id]];
    this.#router.release(r);
    this.#totalOngoing--;
    if (!this.#rq.abandoned[id]) {
      if (this.#rq.start[id] >= this.#warmupMs) {
        this.#st.sumWaitMs += this.#rq.serviceStart[id] - this.#rq.start[id];
      }
      this.#finish(id, null);
    }
    this.#rq.free(id);
    if (this.#queued > 0) this.#dispatch();
  }

  /** Hands free slots to queued requests, oldest first, as the service's queue does. */
  #dispatch(): void {
    while (this.#queued > 0) {
      const r = this.#router.choose();
      if (!r) return;
      const id = this.#dequeue();
      if (id < 0) return;
      this.#assign(id, r);
    }
  }

  /**
   * Ends a request for its sender: records it and lets a closed-loop user continue. The caller
   * decides what happens to the request's slot (freed, or left to the replica that still works on it).
   */
  #finish(id: number, error: SimErrorKind | null): void {
    const now = this.#nowMs;
    const start = this.#rq.start[id];
    const user = this.#rq.user[id];
    const alive = user < 0 || this.#load.alive(user, this.#rq.userGen[id]);
    // Overhead outside the slot (HTTP, the load generator): the sender sees it, no replica does.
    const overheadMs = error === null ? this.#rq.overheadMs[id] : 0;
    const responseMs = now - start + overheadMs;
    this.#st.accumulateArea(now);
    this.#st.inSystem--;
    if (start >= this.#warmupMs) {
      if (error === null) {
        this.#st.completed++;
        this.#st.sumResponseMs += responseMs;
      } else this.#st.failed++;
    }
    // Recorded even when its user was stopped meanwhile, as the load generator's runner does.
    this.#o.observer?.request?.(this.#o.startEpochMs + start, responseMs, error);
    if (user >= 0 && alive) this.#load.wake(user, now + overheadMs, responseMs);
  }

  /**
   * `server`: request_timeout_s ends the request (504), and a queued one leaves the queue.
   * Client timeout: the load generator gives up; the service keeps the request (queued or
   * executing) until it is done, as a real server does with a closed connection.
   */
  #onDeadline = (id: number, server: boolean): void => {
    if (!this.#rq.abandoned[id]) {
      if (this.#rq.start[id] >= this.#warmupMs) this.#st.timedOut++;
      this.#finish(id, server ? "timeout" : "client_timeout");
    }
    if (server && this.#rq.state[id] === RQ_QUEUED) {
      this.#queued--;
      this.#rq.state[id] = RQ_DEAD;
      this.#rq.gen[id]++;
    } else {
      this.#rq.abandoned[id] = 1;
    }
  };

  // ---------------------------------------------------------------- replicas (driver of the set)

  #newReplica(): SimReplica {
    const index = this.replicas.length;
    const r: SimReplica = {
      id: `r${String(index).padStart(4, "0")}`,
      index,
      state: "PENDING_ALLOCATION",
      ongoing: 0,
      executing: 0,
      requestedAtMs: 0,
      startedAtMs: null,
      runningSinceMs: null,
      stoppingSinceMs: null,
      gen: 0,
      localQueue: new Int32Array(this.#dep.maxOngoingRequests),
      localHead: 0,
      localCount: 0,
      routablePos: -1,
      freePos: -1,
    };
    this.replicas.push(r);
    return r;
  }

  /** The set gave `r` its CPUs and a start slot: it is ready after a drawn startup time. */
  #startReplica(r: SimReplica): void {
    const startupMs = this.#o.startupTime ? this.#o.startupTime.sampleMs(this.#rngStartup) : 2000;
    this.#q.push(this.#nowMs + startupMs, EV_REPLICA_READY, r.index, r.gen);
  }

  /** Lifecycle bookkeeping: replica-seconds, peak RUNNING, the id lookup, waiting requests. */
  #replicaChanged(r: SimReplica, from: ReplicaState | null, to: ReplicaState | null): void {
    const holding = (s: ReplicaState | null) =>
      s === "STARTING" || s === "RUNNING" || s === "STOPPING";
    if (holding(from) !== holding(to)) {
      this.#st.accumulateReplicaArea(this.#nowMs);
      this.#st.replicaHolding += holding(to) ? 1 : -1;
    }
    if (to === "RUNNING") {
      this.#routableById.set(r.id, r);
      const running = this.#set.counts.RUNNING;
      if (running > this.#st.maxRunning) this.#st.maxRunning = running;
      if (this.#queued > 0) this.#dispatch();
    } else if (from === "RUNNING") {
      this.#routableById.delete(r.id);
    }
    if (to === null) r.gen++;
  }

  /**
   * Ends `r` now (a cancelled start, or a drain past graceful_shutdown_timeout_s): its requests
   * are retried once on another replica (as serving does); one already retried fails with 503.
   */
  #killReplica(r: SimReplica): void {
    r.gen++;
    if (r.ongoing === 0) return;
    const victims: number[] = [];
    for (let id = 0; id < this.#rq.next; id++) {
      const s = this.#rq.state[id];
      if ((s === RQ_EXECUTING || s === RQ_WAITING) && this.#rq.replica[id] === r.index) {
        victims.push(id);
      }
    }
    for (const id of victims) {
      this.#router.release(r);
      this.#totalOngoing--;
      this.#rq.svcToken[id] = 0; // cancels its completion event
    }
    if (r.executing > 0) this.#executingReplicas--;
    r.executing = 0;
    r.localHead = 0;
    r.localCount = 0;
    for (const id of victims) {
      if (this.#rq.abandoned[id]) this.#rq.free(id);
      else if (this.#rq.retried[id]) {
        this.#finish(id, "replica_stopped");
        this.#rq.free(id);
      } else {
        this.#rq.retried[id] = 1;
        this.#rq.replica[id] = -1;
        this.#route(id);
      }
    }
  }

  // ---------------------------------------------------------------- per second

  #second(s: number): void {
    const c = this.#set.counts;
    this.#o.observer?.second?.({
      second: s,
      epochMs: this.clock.now(),
      targetReplicas: this.#set.target,
      runningReplicas: c.RUNNING,
      startingReplicas: c.STARTING,
      pendingReplicas: c.PENDING_ALLOCATION,
      stoppingReplicas: c.STOPPING,
      totalOngoingRequests: this.#totalOngoing,
      queuedRequests: this.#queued,
      // Open loop: requests in flight, as the load generator's runner reports for arrival rates.
      users: this.#o.load.kind === "closed" ? this.#load.users : this.#st.inSystem,
    });
    const every = this.#o.progressEveryS;
    if (s > 0 && s % every === 0) this.#o.observer?.progress?.(s, this.#endMs / 1000);
    if ((s + 1) * 1000 <= this.#endMs) this.#q.push((s + 1) * 1000, EV_SECOND, s + 1, 0);
  }
}
