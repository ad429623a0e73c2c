/**
 * The simulator engine's types: its replicas, options, observer and results.
 *
 * @module
 */
import type { AutoscalingTarget, VirtualClock } from "../autoscaler/mod.ts";
import type { ManagedReplica, ReplicaState } from "../fleet/mod.ts";
import type { DurationModel } from "../duration/mod.ts";
import type { LoadModel } from "./load_model.ts";

/** Replica states as the engine counts them: the shared lifecycle's, plus those gone. */
export type SimReplicaState = ReplicaState | "STOPPED";

/** One simulated replica: the shared lifecycle's fields plus its requests. */
export interface SimReplica extends ManagedReplica {
  /** Stable id, e.g. `r0007`. */
  readonly id: string;
  /** Position in the engine's list of every replica it made. */
  readonly index: number;
  /** Requests executing right now (at most the replica concurrency). */
  executing: number;
  /** Incremented to invalidate the replica's pending events. */
  gen: number;
  /** Requests assigned but not yet executing: a FIFO ring of `max_ongoing_requests` slots. */
  localQueue: Int32Array;
  /** Ring index of the oldest request in `localQueue`. */
  localHead: number;
  /** Requests held in `localQueue`. */
  localCount: number;
}

/** The deployment settings the engine uses (a subset of `DeploymentConfig`, already defaulted). */
export interface SimDeploymentSettings {
  /** Replicas at t = 0, all RUNNING (a load test starts after the deploy finished). */
  initialReplicas: number;
  /** `max_ongoing_requests`: most requests the router assigns one replica. */
  maxOngoingRequests: number;
  /** -1 = unbounded. */
  maxQueuedRequests: number;
  /** `ray_actor_options.num_cpus` per replica. */
  numCpusPerReplica: number;
  /** `graceful_shutdown_wait_loop_s`: drain poll period, seconds. */
  gracefulShutdownWaitLoopS: number;
  /** `graceful_shutdown_timeout_s`: longest drain before a stopping replica is killed, seconds. */
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
  /** Replicas the deployment aims for. */
  targetReplicas: number;
  /** Replicas RUNNING. */
  runningReplicas: number;
  /** Replicas STARTING. */
  startingReplicas: number;
  /** Replicas PENDING_ALLOCATION (waiting for CPUs). */
  pendingReplicas: number;
  /** Replicas STOPPING (draining). */
  stoppingReplicas: number;
  /** Requests assigned to replicas and not finished. */
  totalOngoingRequests: number;
  /** Requests waiting in the router queue. */
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
export type SimController = (
  engine: AutoscalingTarget,
  clock: VirtualClock,
) => { stop(): void };

/** Everything the engine needs. */
export interface SimEngineOptions {
  /** The deployment simulated. */
  deployment: SimDeploymentSettings;
  /** What sends the requests. */
  load: LoadModel;
  /** Service time of one request on a replica. */
  serviceTime: DurationModel;
  /** Time from CPUs allocated to RUNNING (default fixed 2 s). */
  startupTime?: DurationModel;
  /**
   * Per-request time outside the replica's execution (HTTP, event loops, messages, the load
   * generator), added to each successful request's response time and to its user's next send;
   * `requestOverheadInSlotShare` of it holds the replica slot. Default none (lib/sim's
   * `simulate()` adds the measured or built-in one).
   */
  requestOverhead?: DurationModel | null;
  /**
   * Share (0-1) of each request's overhead spent holding its replica slot after its service
   * (the reply's way back to the main thread, as the router counts it ongoing); default 0.
   */
  requestOverheadInSlotShare?: number;
  /** Seed of the random streams (default 1): same seed, same run. */
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
  /** Autoscaler (or any controller), started at `controllerStartMs`. */
  controller?: SimController;
  /**
   * Virtual ms after the load starts at which the controller starts (default 0). A real
   * service's control loop was started before its load, so its 100 ms ticks and its metric
   * samples fall at a phase the load does not know; starting the controller at that phase keeps
   * a sample from landing on the very instant a stage's users arrive.
   */
  controllerStartMs?: number;
  /** Receives requests, per-second snapshots and progress as the run goes. */
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
  /** Requests that failed, any kind (rejected and timed-out included). */
  failed: number;
  /** Requests rejected because the router queue was full (503). */
  rejected: number;
  /** Requests that hit the server or client timeout. */
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
  /** When the target changed, seconds since the start. */
  elapsedS: number;
  /** Target replicas before the change. */
  from: number;
  /** Target replicas after the change. */
  to: number;
}

/** What a finished simulation returns. */
export interface SimEngineResult {
  /** Simulated duration, seconds. */
  durationS: number;
  /** Queueing statistics after the warm-up. */
  queue: SimQueueStats;
  /** Sum over time of replicas holding resources (STARTING, RUNNING, STOPPING), seconds. */
  replicaSeconds: number;
  /** Largest router queue seen, requests. */
  maxQueued: number;
  /** Most replicas RUNNING at once. */
  maxRunning: number;
  /** Every change of the target replica count, in order. */
  targetChanges: TargetChange[];
  /** Events processed (for throughput figures). */
  events: number;
  /** Requests sent by users or arrivals. */
  requestsSent: number;
  /** Open-loop arrivals dropped because `maxInFlight` requests were in flight. */
  dropped: number;
}
