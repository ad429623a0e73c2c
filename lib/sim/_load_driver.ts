/**
 * The simulator's load: closed-loop users (started and stopped as the shape's user count
 * changes, each waiting between requests) or open-loop arrivals (scheduled, or Poisson with
 * piecewise-constant rates). It only schedules events and calls `send`; the engine routes.
 *
 * @module
 */
import type { EventQueue } from "./_event_queue.ts";
import { EV_ARRIVAL, EV_STAGE, EV_USER_WAKE, EV_USERS } from "./_events.ts";
import type { Rng } from "../duration/mod.ts";
import type { ClosedLoopLoad, LoadModel, OpenLoopLoad } from "./load_model.ts";

/** What the driver needs of the engine. */
export interface LoadSink {
  /** A user (or an open-loop arrival when `user` is -1) sends a request now. */
  send(user: number): void;
  /** Requests in the system (open-loop `maxInFlight`). */
  inSystem(): number;
}

/** Users or arrivals for one run. */
export class LoadDriver {
  /** Generation of each user: bumped when the user stops, so its pending wake is ignored. */
  userGen = new Int32Array(1024);
  /** Open-loop arrivals dropped because `maxInFlight` requests were in flight. */
  dropped = 0;
  readonly #load: LoadModel;
  readonly #q: EventQueue;
  readonly #rngArrival: Rng;
  readonly #rngWait: Rng;
  readonly #sink: LoadSink;
  #userCount = 0;
  #activeUsers: number[] = [];
  #stageIndex = -1;
  #arrivalK = 0;

  /** A driver for `load` that pushes its events into `q`. */
  constructor(
    load: LoadModel,
    q: EventQueue,
    options: { rngArrival: Rng; rngWait: Rng; sink: LoadSink },
  ) {
    this.#load = load;
    this.#q = q;
    this.#rngArrival = options.rngArrival;
    this.#rngWait = options.rngWait;
    this.#sink = options.sink;
  }

  /** Users running now (closed loop). */
  get users(): number {
    return this.#activeUsers.length;
  }

  /** Schedules the load's first events. */
  start(): void {
    const load = this.#load;
    if (load.kind === "closed") {
      if (load.changeTimesS.length > 0) this.#q.push(load.changeTimesS[0] * 1000, EV_USERS, 0, 0);
      this.#q.push(load.durationS * 1000, EV_USERS, -1, 0);
    } else if (load.arrivalTimeS) {
      const t = load.arrivalTimeS(0);
      if (t !== null) this.#q.push(t * 1000, EV_ARRIVAL, 0, -1);
    } else if (load.poissonStages) {
      this.#q.push(0, EV_STAGE, 0, 0);
    }
  }

  /** Whether `user` is still the user of generation `gen` (not stopped since). */
  alive(user: number, gen: number): boolean {
    return this.userGen[user] === gen;
  }

  /** A user's request ended `responseMs` after it was sent: it sends again after its wait. */
  wake(user: number, nowMs: number, responseMs: number): void {
    const load = this.#load;
    const waitS = load.kind === "closed" ? load.waitTimeS(this.#rngWait, responseMs / 1000) : 0;
    this.#q.push(nowMs + Math.max(0, waitS) * 1000, EV_USER_WAKE, user, this.userGen[user]);
  }

  /** A time at which the user count may change: read it just after and start or stop users. */
  usersChange(index: number, nowMs: number): void {
    const load = this.#load as ClosedLoopLoad;
    const target = index < 0 ? 0 : Math.max(0, Math.floor(load.usersAt(nowMs / 1000 + 1e-6)));
    while (this.#activeUsers.length < target) this.#startUser();
    while (this.#activeUsers.length > target) {
      const id = this.#activeUsers.pop()!;
      this.userGen[id]++;
    }
    if (index >= 0 && index + 1 < load.changeTimesS.length) {
      this.#q.push(load.changeTimesS[index + 1] * 1000, EV_USERS, index + 1, 0);
    }
  }

  /** An open-loop Poisson stage begins. */
  enterStage(index: number, nowMs: number): void {
    const stages = (this.#load as OpenLoopLoad).poissonStages!;
    this.#stageIndex = index;
    if (index >= stages.length) return;
    this.#q.push(stages[index].endS * 1000, EV_STAGE, index + 1, 0);
    this.#schedulePoisson(nowMs, index);
  }

  /** An open-loop arrival (stage index, or -1 for scheduled arrivals). */
  arrival(stageIndex: number, nowMs: number): void {
    const load = this.#load as OpenLoopLoad;
    if (stageIndex >= 0 && stageIndex !== this.#stageIndex) return;
    const max = load.maxInFlight;
    if (max !== undefined && max !== null && this.#sink.inSystem() >= max) this.dropped++;
    else this.#sink.send(-1);
    if (stageIndex >= 0) this.#schedulePoisson(nowMs, stageIndex);
    else {
      const t = load.arrivalTimeS!(++this.#arrivalK);
      if (t !== null) this.#q.push(t * 1000, EV_ARRIVAL, 0, -1);
    }
  }

  #startUser(): void {
    const id = this.#userCount++;
    if (id >= this.userGen.length) {
      const next = new Int32Array(this.userGen.length * 2);
      next.set(this.userGen);
      this.userGen = next;
    }
    this.#activeUsers.push(id);
    this.#sink.send(id);
  }

  #schedulePoisson(fromMs: number, index: number): void {
    const stage = (this.#load as OpenLoopLoad).poissonStages![index];
    if (!(stage.rate > 0)) return;
    const t = fromMs + this.#rngArrival.exponential(1000 / stage.rate);
    // b = stage index: a stage change invalidates the old stage's pending arrival.
    if (t < stage.endS * 1000) this.#q.push(t, EV_ARRIVAL, 0, index);
  }
}
