/**
 * Runs a load test against a real HTTP target: closed-loop users following a shape (Locust's
 * model) or the open-loop arrival-rate executor (k6's model, latency timed from the intended
 * start, iterations dropped when `maxInFlight` are already running). Statistics go into a
 * {@linkcode RequestStats}; with a CSV prefix the Locust files and our extras are written once a
 * second, and a final time at the end.
 *
 * @module
 */
import { REAL_CLOCK, type RunnerClock, type TimerHandle } from "./clock.ts";
import {
  type ReplicaSample,
  type resultFilePaths,
  ResultFiles,
  type StageRowData,
} from "./csv_files.ts";
import { LatencyHistogram } from "./histogram.ts";
import {
  HttpConnection,
  type HttpResult,
  type HttpTarget,
  parseTarget,
  type PreparedRequest,
  prepareRequest,
} from "./http_client.ts";
import { RequestStats } from "./locust_stats.ts";
import { ReplicaPoller } from "./replicas.ts";
import type { RequestSpec } from "./request_spec.ts";
import { arrivalTimeS, type LoadShape, stageIndexAt, stageRows, userCountAt } from "./shape.ts";
import { waitSeconds, type WaitTime } from "./wait_time.ts";

/** Options of {@linkcode runLoadTest}. */
export interface LoadTestOptions {
  /** Target base URL (`http://127.0.0.1:8000`). */
  host: string;
  /** The load shape. */
  shape: LoadShape;
  /** What every request sends. */
  request: RequestSpec;
  /** Closed loop wait (default: the shape's, else `constant(0)`). */
  waitTime?: WaitTime;
  /** Per-request timeout in seconds (default 60). */
  timeoutS?: number;
  /** Write the files under this prefix (`null`/omitted: no files). */
  csvPrefix?: string | null;
  /** `--csv-full-history`. */
  fullHistory?: boolean;
  /** Read `/api/status` for `_replicas.csv` and the live line (default true). */
  replicas?: boolean;
  /** Open loop: most iterations in flight (default: the shape's, else 1000). */
  maxInFlight?: number;
  /** Called once a second with the figures of the second just ended. */
  onSecond?: (report: SecondReport) => void;
  /** Notes for the user (e.g. why `_replicas.csv` is skipped). */
  log?: (line: string) => void;
  /** Stops the run early (files and stats are still completed). */
  signal?: AbortSignal;
  /** Uniform [0, 1) source for wait times (default Math.random). */
  random?: () => number;
  /**
   * Stop at once when the first request is refused at the connection before any answer came
   * (nothing listens at the host); the result says so in `nothingListening`. Default false (a
   * Locust run keeps going).
   */
  stopWhenNothingListens?: boolean;
  /** Time and timers (default {@linkcode REAL_CLOCK}); tests pass a fake clock. */
  clock?: RunnerClock;
  /** Opens a connection per user / open-loop slot (default: the built-in HTTP/1.1 client). */
  connect?: (target: HttpTarget) => LoadConnection;
}

/** One keep-alive connection as the runner uses it (the shape of {@linkcode HttpConnection}). */
export interface LoadConnection {
  /** Sends the request and resolves with its outcome; never rejects for a request failure. */
  send(req: PreparedRequest, timeoutS: number): Promise<HttpResult>;
  /** Ends the request in flight: as a timeout (`"timeout"`) or silently (`"stop"`). */
  abort(reason: "timeout" | "stop"): void;
  /** Closes the connection for good. */
  close(): void;
}

/** One second of a run, for live display. */
export interface SecondReport {
  /** Seconds since the start. */
  elapsedS: number;
  /** Shape length in seconds. */
  durationS: number;
  /** Name of the current stage. */
  stage: string;
  /** Users running (closed loop) or iterations in flight (open loop). */
  users: number;
  /** Requests finished in the second. */
  requests: number;
  /** Failures in the second. */
  failures: number;
  /** Median of the second (ms), `null` without samples. */
  p50Ms: number | null;
  /** 99th percentile of the second (ms). */
  p99Ms: number | null;
  /** The second's raw latencies (merge several for a window's exact percentiles). */
  histogram: LatencyHistogram;
  /** Whole-run requests. */
  totalRequests: number;
  /** Whole-run failures. */
  totalFailures: number;
  /** Open loop: iterations dropped in the second. */
  dropped: number;
  /** Latest replica counts (`null` when unknown). */
  replicas: ReplicaSample | null;
}

/** What a run produced. */
export interface LoadTestResult {
  /** All statistics (Locust's plus our histograms). */
  stats: RequestStats;
  /** Start, Unix seconds. */
  startS: number;
  /** End, Unix seconds. */
  endS: number;
  /** `users` or `arrival_rate`. */
  executor: LoadShape["executor"];
  /** Open loop: arrivals that found `maxInFlight` iterations running and were dropped. */
  droppedIterations: number;
  /** Open loop: latency from the actual send (without the wait for a slot); `null` closed loop. */
  uncorrected: LatencyHistogram | null;
  /** Files written, or `null`. */
  files: ReturnType<typeof resultFilePaths> | null;
  /** Why `_replicas.csv` was not written, or `null`. */
  replicasNote: string | null;
  /** Whether the run was stopped early through the signal. */
  aborted: boolean;
  /** Stage boundaries. */
  stages: StageRowData[];
  /**
   * The first request was refused at the connection before any answer, and the run stopped
   * (only with `stopWhenNothingListens`).
   */
  nothingListening: boolean;
}

interface Slot {
  conn: LoadConnection;
  deadlineMs: number; // clock.nowMs() deadline of the request in flight, Infinity when idle
}

/**
 * Runs a load test (in real time unless `clock` says otherwise); resolves when the shape ends or
 * the signal aborts it.
 */
export async function runLoadTest(options: LoadTestOptions): Promise<LoadTestResult> {
  const clock = options.clock ?? REAL_CLOCK;
  const connect = options.connect ?? ((t: HttpTarget) => new HttpConnection(t));
  const shape = options.shape;
  const target = parseTarget(options.host);
  const req = options.request;
  const prepared = prepareRequest(target, req);
  const timeoutS = options.timeoutS ?? 60;
  const timeoutMs = timeoutS * 1000;
  const waitTime: WaitTime = options.waitTime ?? shape.waitTime ?? { kind: "constant", seconds: 0 };
  const random = options.random ?? Math.random;
  const log = options.log ?? (() => {});
  const maxInFlight = options.maxInFlight ?? shape.maxInFlight ?? 1000;
  const stages = stageRows(shape);

  // Replicas: probe before the load starts.
  let poller: ReplicaPoller | null = null;
  let replicasNote: string | null = null;
  if (options.replicas ?? true) {
    poller = new ReplicaPoller(options.host);
    const why = await poller.probe();
    if (why) {
      replicasNote = `no replica counts (${why}); ${
        options.csvPrefix ? "_replicas.csv skipped" : "continuing"
      }`;
      log(replicasNote);
      poller = null;
    } else {
      poller.start();
    }
  }

  const startPerf = clock.nowMs();
  const startS = clock.epochMs() / 1000;
  const epochS = (perfMs: number) => startS + (perfMs - startPerf) / 1000;
  const stats = new RequestStats(startS);
  const files = options.csvPrefix
    ? new ResultFiles(options.csvPrefix, stats, {
      startS,
      fullHistory: options.fullHistory,
      replicas: poller !== null,
      stages,
    })
    : null;

  let ended = false;
  let aborted = false;
  const slots = new Set<Slot>();
  let dropped = 0;
  let droppedThisSecond = 0;
  const uncorrected = shape.executor === "arrival_rate" ? new LatencyHistogram() : null;
  let inFlight = 0;
  const tasks: Promise<void>[] = [];
  // Nothing listening: the first result is a refused connection and no answer came before it.
  let answered = false;
  let nothingListening = false;
  let stopEarly: (() => void) | null = null;

  // Timeouts: one sweep every 50 ms instead of a timer per request.
  const timeoutSweep = clock.setInterval(() => {
    const now = clock.nowMs();
    for (const s of slots) if (s.deadlineMs < now) s.conn.abort("timeout");
  }, 50);

  async function sendOnce(slot: Slot, intendedPerf: number | null): Promise<void> {
    const t0 = clock.nowMs();
    slot.deadlineMs = t0 + timeoutMs;
    const res = await slot.conn.send(prepared, timeoutS);
    const t1 = clock.nowMs();
    slot.deadlineMs = Infinity;
    if (ended) return; // finished after the end: not counted, as Locust kills running users
    const fromMs = intendedPerf ?? t0;
    if (uncorrected) uncorrected.record(t1 - t0);
    stats.logRequest({
      method: req.method,
      name: req.name,
      responseTimeMs: t1 - fromMs,
      contentLength: res.contentLength,
      nowS: epochS(t1),
      error: res.error,
    });
    if (res.errorKind !== "refused") answered = true;
    else if (!answered && options.stopWhenNothingListens && !nothingListening) {
      nothingListening = true;
      stopEarly?.();
    }
  }

  // ---- closed loop ----
  interface User {
    stopped: boolean;
    slot: Slot;
    wake: (() => void) | null;
    timer: TimerHandle;
  }
  const users: User[] = [];
  const runUser = async (u: User) => {
    while (!u.stopped && !ended) {
      const t0 = clock.nowMs();
      try {
        await sendOnce(u.slot, null);
      } catch (e) {
        // Not a request failure: an error in the user's own code, as Locust's exceptions file.
        const err = e instanceof Error ? e : new Error(String(e));
        stats.logException(err.message, err.stack ?? String(err));
        u.slot.conn.close();
      }
      if (u.stopped || ended) break;
      const w = waitSeconds(waitTime, (clock.nowMs() - t0) / 1000, random);
      if (w > 0) {
        await new Promise<void>((resolve) => {
          u.wake = resolve;
          u.timer = clock.setTimeout(resolve, w * 1000);
        });
        u.wake = null;
      }
    }
    u.slot.conn.close();
    slots.delete(u.slot);
  };
  const stopUser = (u: User) => {
    u.stopped = true;
    clock.clearTimeout(u.timer);
    u.wake?.();
  };
  const adjustUsers = () => {
    const want = userCountAt(shape, (clock.nowMs() - startPerf) / 1000);
    while (users.length < want) {
      const slot: Slot = { conn: connect(target), deadlineMs: Infinity };
      slots.add(slot);
      const u: User = { stopped: false, slot, wake: null, timer: undefined };
      users.push(u);
      tasks.push(runUser(u));
    }
    while (users.length > want) stopUser(users.pop()!);
  };

  // ---- open loop ----
  const idle: Slot[] = [];
  let nextArrival = 0;
  let schedulerTimer: TimerHandle;
  const launch = (dueS: number) => {
    if (inFlight >= maxInFlight) {
      dropped++;
      droppedThisSecond++;
      return;
    }
    inFlight++;
    let slot = idle.pop();
    if (!slot) {
      slot = { conn: connect(target), deadlineMs: Infinity };
      slots.add(slot);
    }
    const s = slot;
    tasks.push(
      sendOnce(s, startPerf + dueS * 1000).finally(() => {
        inFlight--;
        if (ended) {
          s.conn.close();
          slots.delete(s);
        } else idle.push(s);
      }),
    );
  };
  const schedule = () => {
    if (ended) return;
    const nowS = (clock.nowMs() - startPerf) / 1000;
    let due = arrivalTimeS(shape, nextArrival);
    while (due !== null && due <= nowS) {
      launch(due);
      nextArrival++;
      due = arrivalTimeS(shape, nextArrival);
    }
    if (due === null) return;
    schedulerTimer = clock.setTimeout(
      schedule,
      Math.max(0, Math.min(50, (due - nowS) * 1000 - 0.5)),
    );
  };

  // ---- drive ----
  let spawnTimer: TimerHandle;
  if (shape.executor === "users") {
    adjustUsers();
    spawnTimer = clock.setInterval(adjustUsers, 20);
  } else {
    schedule();
  }

  const currentUsers = () => (shape.executor === "users" ? users.length : inFlight);
  let lastPassPerf = startPerf;
  const doPass = (perfNow: number) => {
    lastPassPerf = perfNow;
    const nowS = epochS(perfNow);
    const interval = stats.takeInterval();
    const replicas = poller?.latest() ?? null;
    files?.pass(nowS, currentUsers(), { interval, replicas });
    const elapsedS = (perfNow - startPerf) / 1000;
    const idx = stageIndexAt(shape, Math.min(elapsedS, shape.durationS - 1e-9));
    options.onSecond?.({
      elapsedS,
      durationS: shape.durationS,
      stage: idx >= 0 ? shape.stages[idx].name : "",
      users: currentUsers(),
      requests: interval.requests,
      failures: interval.failures,
      p50Ms: interval.histogram.percentileMs(50),
      p99Ms: interval.histogram.percentileMs(99),
      histogram: interval.histogram,
      totalRequests: stats.total.numRequests,
      totalFailures: stats.total.numFailures,
      dropped: droppedThisSecond,
      replicas,
    });
    droppedThisSecond = 0;
  };

  // Locust's writer makes a pass when it starts, then one a second.
  files?.pass(startS, 0, {
    interval: { requests: 0, failures: 0, histogram: new LatencyHistogram() },
    replicas: poller?.latest() ?? null,
  });
  await new Promise<void>((resolve) => {
    let k = 1;
    let passTimer: TimerHandle;
    const finish = () => {
      clock.clearTimeout(passTimer);
      options.signal?.removeEventListener("abort", onAbort);
      resolve();
    };
    stopEarly = finish;
    const onAbort = () => {
      aborted = true;
      finish();
    };
    if (options.signal?.aborted) return onAbort();
    options.signal?.addEventListener("abort", onAbort);
    const next = () => {
      const dueMs = startPerf + k * 1000;
      const endMs = startPerf + shape.durationS * 1000;
      if (dueMs >= endMs) {
        passTimer = clock.setTimeout(finish, Math.max(0, endMs - clock.nowMs()));
        return;
      }
      passTimer = clock.setTimeout(() => {
        doPass(clock.nowMs());
        k++;
        next();
      }, Math.max(0, dueMs - clock.nowMs()));
    };
    next();
  });

  // ---- stop ----
  const endPerf = clock.nowMs();
  clock.clearInterval(spawnTimer);
  clock.clearTimeout(schedulerTimer);
  // A final pass so the last partial second is in the history and latency files.
  if (endPerf - lastPassPerf > 1) doPass(endPerf);
  ended = true;
  for (const u of users) stopUser(u);
  for (const s of slots) s.conn.abort("stop");
  clock.clearInterval(timeoutSweep);
  await Promise.allSettled(tasks);
  poller?.stop();
  files?.close();
  return {
    stats,
    startS,
    endS: epochS(endPerf),
    executor: shape.executor,
    droppedIterations: dropped,
    uncorrected,
    files: files?.paths ?? null,
    replicasNote,
    aborted,
    stages,
    nothingListening,
  };
}
