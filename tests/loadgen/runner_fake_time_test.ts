/**
 * The runner on fake time: a `@sinonjs/fake-timers` clock drives every timer and a fake
 * connection answers after an exact fake latency, so counts, latencies and stops are asserted
 * exactly (no sockets, no sleeps). The wall-clock tests in runner_test.ts keep the real client.
 */
import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  constantUsersShape,
  fakeTimersClock,
  type HttpResult,
  type HttpTarget,
  type LoadConnection,
  type LoadTestOptions,
  type LoadTestResult,
  locustErrors,
  parseShape,
  runLoadTest,
  type SecondReport,
  uriRequest,
} from "../../lib/loadgen/mod.ts";

const START_MS = 1_700_000_000_000;

type Clock = ReturnType<typeof FakeTimers.createClock>;

/** A connection that answers every request after `latencyMs` of fake time with `outcome`. */
function fakeConnect(
  clock: Clock,
  options: { latencyMs: number; outcome?: (n: number) => Partial<HttpResult> },
): { connect: (t: HttpTarget) => LoadConnection; sent: () => number; opened: () => number } {
  let sent = 0;
  let opened = 0;
  const connect = (target: HttpTarget): LoadConnection => {
    opened++;
    let pending: { resolve: (r: HttpResult) => void; timer: unknown } | null = null;
    return {
      send(_req, timeoutS) {
        const n = ++sent;
        return new Promise<HttpResult>((resolve) => {
          const timer = clock.setTimeout(() => {
            pending = null;
            resolve({ status: 200, contentLength: 7, ...options.outcome?.(n) });
          }, options.latencyMs);
          pending = {
            resolve: (r) => {
              clock.clearTimeout(timer);
              resolve(r);
            },
            timer,
          };
          void timeoutS;
          void target;
        });
      },
      abort(reason) {
        const p = pending;
        pending = null;
        p?.resolve(
          reason === "timeout"
            ? {
              status: 0,
              contentLength: 0,
              error: locustErrors.timeout(target, 0.2),
              errorKind: "timeout",
            }
            : { status: 0, contentLength: 0, error: "stopped", errorKind: "protocol" },
        );
      },
      close() {},
    };
  };
  return { connect, sent: () => sent, opened: () => opened };
}

async function runFake(
  clock: Clock,
  options: Omit<LoadTestOptions, "host" | "request" | "clock">,
  runForMs: number,
): Promise<LoadTestResult> {
  const run = runLoadTest({
    host: "http://127.0.0.1:9",
    request: uriRequest("http://example.invalid/dog.jpg"),
    replicas: false,
    clock: fakeTimersClock(clock),
    ...options,
  });
  await clock.tickAsync(runForMs);
  return await run;
}

Deno.test("fake time: 2 closed-loop users, 50 ms answers and constant(0.1) make exactly 40 requests in 3 s", async () => {
  const clock = FakeTimers.createClock(START_MS);
  const fake = fakeConnect(clock, { latencyMs: 50 });
  const seconds: SecondReport[] = [];
  const r = await runFake(clock, {
    shape: constantUsersShape(2, 3, { waitTime: { kind: "constant", seconds: 0.1 } }),
    connect: fake.connect,
    onSecond: (s) => seconds.push(s),
  }, 3000);
  // Each user: a request every 150 ms (50 ms answer + 100 ms wait), sent at 0, 150, ..., 2850
  // and answered at 50, 200, ..., 2900 ms: 20 each; the next would go out at 3 s, the end.
  assert.equal(r.stats.total.numRequests, 40);
  assert.equal(r.stats.total.numFailures, 0);
  assert.equal(fake.sent(), 40);
  assert.equal(fake.opened(), 2, "one keep-alive connection per user");
  const h = r.stats.total.histogram;
  assert.equal(h.minMs, 50);
  assert.equal(h.maxMs, 50);
  assert.equal(r.startS, START_MS / 1000);
  assert.equal(r.endS - r.startS, 3);
  assert.deepEqual(seconds.map((s) => s.elapsedS), [1, 2, 3]);
  // The pass at 1 s holds answers at 50..950 ms (7 per user); the pass at 2 s runs before the
  // answer due at 2000 ms, so it holds 1100..1850 (6 per user); the final pass holds 2000..2900.
  assert.deepEqual(seconds.map((s) => s.requests), [14, 12, 14]);
  assert.deepEqual(seconds.map((s) => s.users), [2, 2, 2]);
  assert.equal(r.nothingListening, false);
});

Deno.test("fake time: the open loop sends exactly rate x duration arrivals timed from the intended start", async () => {
  const clock = FakeTimers.createClock(START_MS);
  const fake = fakeConnect(clock, { latencyMs: 30 });
  const shape = parseShape(
    "executor: arrival_rate\nstart_rate: 10\nstages:\n  - {duration: 2, rate: 10}\n",
  );
  const r = await runFake(clock, { shape, connect: fake.connect }, 2000);
  assert.equal(r.stats.total.numRequests, 20);
  assert.equal(r.droppedIterations, 0);
  assert.equal(r.stats.total.histogram.percentileMs(50), 30);
  assert.equal(r.uncorrected!.percentileMs(99), 30);
});

Deno.test("fake time: the open loop drops arrivals once max_in_flight are running", async () => {
  const clock = FakeTimers.createClock(START_MS);
  // Every answer takes 1 s; 10 arrivals/s with at most 5 in flight.
  const fake = fakeConnect(clock, { latencyMs: 1000 });
  const shape = parseShape(
    "executor: arrival_rate\nstart_rate: 10\nmax_in_flight: 5\nstages:\n  - {duration: 2, rate: 10}\n",
  );
  const r = await runFake(clock, { shape, connect: fake.connect }, 2000);
  // Arrivals at 0, 100, ..., 1900 ms: the first 5 go out, the next 5 are dropped; at 1000 ms the
  // first five answer, arrivals 10-14 go out, 15-19 are dropped. Answered before the end: 5.
  assert.equal(fake.sent(), 10);
  assert.equal(r.droppedIterations, 10);
  assert.equal(r.stats.total.numRequests, 5);
  assert.equal(r.stats.total.histogram.maxMs, 1000);
});

Deno.test("fake time: a request past timeoutS fails as Locust's ReadTimeout within one 50 ms sweep", async () => {
  const clock = FakeTimers.createClock(START_MS);
  const fake = fakeConnect(clock, { latencyMs: 10_000 });
  const r = await runFake(clock, {
    shape: constantUsersShape(1, 1.1, { waitTime: { kind: "constant", seconds: 0 } }),
    connect: fake.connect,
    timeoutS: 0.2,
  }, 1100);
  // Deadline at 200 ms, swept at 250 ms: each request fails after 250 ms; 4 end in 1.1 s and
  // the fifth (sent at 1000 ms) is still in flight at the end.
  assert.equal(r.stats.total.numRequests, 4);
  assert.equal(r.stats.total.numFailures, 4);
  assert.equal(r.stats.total.histogram.maxMs, 250);
  assert.match(r.stats.sortedErrors()[0].error, /^ReadTimeout\(/);
});

Deno.test("fake time: stopWhenNothingListens ends the run at the first refused connection", async () => {
  const clock = FakeTimers.createClock(START_MS);
  const fake = fakeConnect(clock, {
    latencyMs: 1,
    outcome: () => ({
      status: 0,
      contentLength: 0,
      error: locustErrors.refused(),
      errorKind: "refused",
    }),
  });
  const shape = constantUsersShape(3, 600, { waitTime: { kind: "constant", seconds: 1 } });
  const run = runLoadTest({
    host: "http://127.0.0.1:9",
    request: uriRequest("x"),
    replicas: false,
    clock: fakeTimersClock(clock),
    shape,
    connect: fake.connect,
    stopWhenNothingListens: true,
  });
  await clock.tickAsync(5);
  const r = await run;
  assert.equal(r.nothingListening, true);
  assert.equal(
    Math.round((r.endS - r.startS) * 1000),
    1,
    "stopped 1 ms in, not after the 600 s shape",
  );
  // The other users' refusals arrive after the stop and are not counted.
  assert.equal(r.stats.total.numFailures, 1);

  // Without the option (Locust's behaviour) the run goes on, and refusals after a first answer
  // never stop a run either.
  const clock2 = FakeTimers.createClock(START_MS);
  const later = fakeConnect(clock2, {
    latencyMs: 10,
    outcome: (n) =>
      n <= 2 ? {} : { status: 0, contentLength: 0, error: "refused", errorKind: "refused" },
  });
  const r2 = await runFake(clock2, {
    shape: constantUsersShape(1, 1, { waitTime: { kind: "constant", seconds: 0.09 } }),
    connect: later.connect,
    stopWhenNothingListens: true,
  }, 1000);
  assert.equal(r2.nothingListening, false);
  assert.equal(r2.stats.total.numRequests, 10);
  assert.equal(r2.stats.total.numFailures, 8);
});

Deno.test("fake time: open-loop arrivals that go out late (a stalled generator) are timed from their intended start", async () => {
  const clock = FakeTimers.createClock(START_MS);
  const fake = fakeConnect(clock, { latencyMs: 2 });
  // The generator's event loop freezes for 300 ms at 500 ms: its clock jumps ahead while no
  // timer of its own ran, as when a busy loop holds the thread.
  let stallMs = 0;
  clock.setTimeout(() => (stallMs = 300), 500);
  const base = fakeTimersClock(clock);
  const shape = parseShape(
    "executor: arrival_rate\nstart_rate: 50\nstages:\n  - {duration: 1.2, rate: 50}\n",
  );
  const run = runLoadTest({
    host: "http://127.0.0.1:9",
    request: uriRequest("x"),
    replicas: false,
    shape,
    connect: fake.connect,
    clock: { ...base, nowMs: () => base.nowMs() + stallMs },
  });
  await clock.tickAsync(1200);
  const r = await run;
  // Arrivals every 20 ms, all 60 sent; those due in [500, 800) ms go out together when the clock
  // reads 800 ms: timed from their intended start they took up to 300 + 2 ms, from the actual
  // send 2 ms like every other.
  const h = r.stats.total.histogram;
  assert.equal(r.uncorrected!.maxMs, 2);
  assert.equal(r.uncorrected!.minMs, 2);
  assert.equal(r.stats.total.numRequests, 60);
  assert.equal(h.maxMs, 302);
  assert.ok(h.percentileMs(90)! >= 100, `p90 from the intended start: ${h.percentileMs(90)} ms`);
  assert.equal(h.percentileMs(50), 2, "arrivals outside the stall went out on time");
});
