/**
 * Request deadlines of the simulator: the server's `request_timeout_s` and the load generator's
 * client timeout. Every request gets the same offset per kind, so deadlines come in send order
 * and one FIFO per kind with a single armed event replaces a heap event per request.
 *
 * @module
 */
import type { EventQueue } from "./_event_queue.ts";
import { EV_TIMEOUT } from "./_events.ts";
import { IdFifo } from "./_id_fifo.ts";
import { type RequestTable, RQ_FREE } from "./_requests.ts";

/** Kind 0: the server's timeout; kind 1: the client's. */
export type DeadlineKind = 0 | 1;

/** The two deadline FIFOs. */
export class Deadlines {
  readonly #fifos: [IdFifo, IdFifo] = [new IdFifo(), new IdFifo()];
  readonly #armed = [false, false];
  readonly #limitMs: readonly [number, number];
  readonly #q: EventQueue;
  readonly #rq: RequestTable;

  /** Deadlines `limitMs[kind]` after each request's start (0: that kind is off). */
  constructor(q: EventQueue, rq: RequestTable, limitMs: readonly [number, number]) {
    this.#q = q;
    this.#rq = rq;
    this.#limitMs = limitMs;
  }

  /** Starts the clocks of request `id` (just sent). */
  add(id: number): void {
    for (const k of [0, 1] as const) {
      if (this.#limitMs[k] <= 0) continue;
      this.#fifos[k].push(id, this.#rq.gen[id]);
      if (!this.#armed[k]) {
        this.#armed[k] = true;
        this.#q.push(this.#rq.start[id] + this.#limitMs[k], EV_TIMEOUT, k, 0);
      }
    }
  }

  /** Expires every due live entry of kind `k` (calling `expire`), then re-arms for the next. */
  expire(k: DeadlineKind, nowMs: number, expire: (id: number, server: boolean) => void): void {
    const fifo = this.#fifos[k];
    const rq = this.#rq;
    const limit = this.#limitMs[k];
    this.#armed[k] = false;
    while (fifo.length > 0) {
      const h = fifo.head;
      const id = fifo.ids[h];
      if (rq.gen[id] === fifo.gens[h] && rq.state[id] !== RQ_FREE) {
        const due = rq.start[id] + limit;
        if (due > nowMs) {
          this.#armed[k] = true;
          this.#q.push(due, EV_TIMEOUT, k, 0);
          return;
        }
        expire(id, k === 0);
      }
      fifo.shift();
    }
  }
}
