/**
 * Event kinds of the simulator's queue (payloads `a`, `b` per kind).
 *
 * @module
 */

/** A VirtualClock timer; a = timer id. */
export const EV_CLOCK = 1;
/** A closed-loop user sends its next request; a = user, b = user generation. */
export const EV_USER_WAKE = 2;
/** A request's service ends; a = request, b = its completion token. */
export const EV_SERVICE_DONE = 3;
/** A starting replica is ready; a = replica index, b = replica generation. */
export const EV_REPLICA_READY = 4;
/** An open-loop arrival; b = Poisson stage index, or -1 for scheduled arrivals. */
export const EV_ARRIVAL = 5;
/** Timeouts due; a = 0 server (request_timeout_s) / 1 client. */
export const EV_TIMEOUT = 6;
/** A whole second; a = the second. */
export const EV_SECOND = 7;
/** The user count may change; a = index in the change times (-1: the end). */
export const EV_USERS = 8;
/** An open-loop Poisson stage begins; a = stage index. */
export const EV_STAGE = 9;
/** A request's reply reached the main thread: its slot is released; a = request, b = token. */
export const EV_RELEASE = 10;
/** The controller (the autoscaler's control loop) starts. */
export const EV_CONTROLLER_START = 11;
