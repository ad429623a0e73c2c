/**
 * Closed-form queueing results used to check the simulator (and handy in notebooks): Erlang C for
 * M/M/c queues.
 *
 * @module
 */

/**
 * Erlang C: probability that an arriving request has to wait in an M/M/c queue with `servers`
 * servers and offered load `offeredLoad` = arrival rate x mean service time (Erlangs). Needs
 * `offeredLoad < servers` (a stable queue).
 */
export function erlangC(servers: number, offeredLoad: number): number {
  if (!Number.isInteger(servers) || servers < 1) {
    throw new RangeError(`erlangC: servers must be an integer >= 1, got ${servers}`);
  }
  if (!(offeredLoad >= 0) || offeredLoad >= servers) {
    throw new RangeError(
      `erlangC: offered load must be in [0, servers=${servers}) for a stable queue, got ${offeredLoad}`,
    );
  }
  // Erlang B by the stable recurrence, then C = B / (1 - rho (1 - B)).
  let b = 1;
  for (let k = 1; k <= servers; k++) b = (offeredLoad * b) / (k + offeredLoad * b);
  const rho = offeredLoad / servers;
  return b / (1 - rho * (1 - b));
}

/** Figures of an M/M/c queue (times in the unit of `meanServiceTime`). */
export interface MmcFigures {
  /** Probability of waiting (Erlang C). */
  waitProbability: number;
  /** Mean time in queue. */
  meanWait: number;
  /** Mean time in system (wait + service). */
  meanResponse: number;
  /** Mean number in system (Little's law). */
  meanInSystem: number;
  /** Server utilisation. */
  utilisation: number;
}

/** Mean wait, response time and occupancy of an M/M/c queue. */
export function mmcFigures(
  servers: number,
  options: { arrivalRate: number; meanServiceTime: number },
): MmcFigures {
  const { arrivalRate, meanServiceTime } = options;
  const a = arrivalRate * meanServiceTime;
  const pw = erlangC(servers, a);
  const meanWait = (pw * meanServiceTime) / (servers - a);
  const meanResponse = meanWait + meanServiceTime;
  return {
    waitProbability: pw,
    meanWait,
    meanResponse,
    meanInSystem: arrivalRate * meanResponse,
    utilisation: a / servers,
  };
}
