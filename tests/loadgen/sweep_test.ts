import assert from "node:assert/strict";
import FakeTimers from "@sinonjs/fake-timers";
import {
  analyzeSweep,
  fakeTimersClock,
  type HttpResult,
  type LoadConnection,
  renderSweepCsv,
  runSweep,
  suggestionLine,
  type SweepLevel,
  uriRequest,
} from "../../lib/loadgen/mod.ts";
import { offlineStub } from "./_offline_stub.ts";

const level = (concurrency: number, qps: number): SweepLevel => ({
  concurrency,
  qps,
  p50Ms: null,
  p90Ms: null,
  p99Ms: null,
  avgMs: null,
  requests: 100,
  failures: 0,
  queueDepth: null,
  ongoingRequests: null,
});

Deno.test("analyzeSweep() puts the knee where QPS stops rising and max 20-50% above the target", () => {
  const a = analyzeSweep([level(1, 10), level(2, 19), level(4, 37), level(8, 40), level(16, 40.5)]);
  assert.equal(a.maxSustainableQps, 40.5);
  assert.equal(a.kneeConcurrency, 8);
  assert.equal(a.suggestedTargetOngoingRequests, 8);
  assert.equal(a.suggestedMaxOngoingRequests, 10);
  assert.deepEqual(a.maxOngoingRequestsRange, [10, 12]);
  assert.equal(a.plateauReached, true);
  // Latency climbing before throughput flattens pulls the target down.
  const withLatency = [level(1, 10), level(2, 19), level(4, 37), level(8, 40), level(16, 40.5)]
    .map((l, i) => ({ ...l, p50Ms: [20, 21, 28, 45, 90][i] }));
  const b = analyzeSweep(withLatency);
  assert.equal(b.kneeConcurrency, 8);
  assert.equal(b.latencyKneeConcurrency, 4);
  assert.equal(b.suggestedTargetOngoingRequests, 4);
  assert.equal(b.suggestedMaxOngoingRequests, 5);
  const rising = analyzeSweep([level(1, 10), level(2, 20)]);
  assert.equal(rising.plateauReached, false, "still rising at the last level");
  assert.equal(rising.suggestedMaxOngoingRequests, 3, "at least target + 1");
});

Deno.test("fake time: the sweep puts the knee of a 4-worker, 50 ms service at exactly 4", async () => {
  // The service as fake connections: 4 workers, 50 ms each, the rest wait in a FIFO queue.
  const clock = FakeTimers.createClock(1_700_000_000_000);
  let busy = 0;
  const queue: (() => void)[] = [];
  const serve = (done: () => void) => {
    busy++;
    clock.setTimeout(() => {
      busy--;
      done();
      queue.shift()?.();
    }, 50);
  };
  const connect = (): LoadConnection => {
    let cancel: (() => void) | null = null;
    return {
      send: () =>
        new Promise<HttpResult>((resolve) => {
          cancel = () => resolve({ status: 0, contentLength: 0, error: "stopped" });
          const start = () => serve(() => resolve({ status: 200, contentLength: 2 }));
          if (busy < 4) start();
          else queue.push(start);
        }),
      abort: () => cancel?.(), // the level's end: the answer no longer counts
      close: () => {},
    };
  };
  const sweep = runSweep({
    host: "http://127.0.0.1:9",
    request: uriRequest("x"),
    levels: [1, 2, 4, 8, 16],
    levelDurationS: 2,
    warmupS: 1,
    patience: 2,
    tolerance: 0.1,
    replicas: false,
    clock: fakeTimersClock(clock),
    connect,
  });
  await clock.tickAsync(5 * 3000);
  const { levels, analysis } = await sweep;
  // 20 requests/s per worker in flight: 20, 40, 80, then 80 and 80 (the rest queue).
  assert.deepEqual(levels.map((l) => [l.concurrency, l.qps]), [
    [1, 20],
    [2, 40],
    [4, 80],
    [8, 80],
    [16, 80],
  ]);
  assert.equal(analysis.kneeConcurrency, 4);
  assert.equal(analysis.maxSustainableQps, 80);
  assert.equal(analysis.suggestedTargetOngoingRequests, 4);
  assert.equal(analysis.suggestedMaxOngoingRequests, 5);
  // At 16, 12 wait: 4 rounds of 50 ms from the send.
  assert.equal(levels[4].p50Ms, 200);
});

Deno.test("the sweep finds the knee of a stub that serves 4 requests at a time", async () => {
  // Real time: this one runs the real HTTP client against a real server and reads queue depth
  // from its /api/status, which fake time cannot. The load on a shared machine moves the figures,
  // so the bounds are generous; the exact knee is asserted on fake time above.
  // 4 workers, 50 ms each: QPS rises to ~80 at concurrency 4, then requests only queue.
  let busy = 0;
  const waiting: (() => void)[] = [];
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      if (new URL(req.url).pathname === "/api/status") {
        return Response.json({
          applications: {
            a: {
              deployments: {
                d: {
                  target_replicas: 1,
                  replica_states: { RUNNING: 1 },
                  ongoing_requests: busy,
                  queued_requests: waiting.length,
                },
              },
            },
          },
        });
      }
      await req.arrayBuffer();
      if (busy >= 4) await new Promise<void>((r) => waiting.push(r));
      else busy++;
      await new Promise((r) => setTimeout(r, 50));
      const next = waiting.shift();
      if (next) next(); // hand the worker over
      else busy--;
      return new Response("ok");
    },
  );
  const port = (server.addr as Deno.NetAddr).port;
  try {
    const { levels, analysis } = await runSweep({
      host: `http://127.0.0.1:${port}`,
      request: uriRequest("x"),
      levels: [1, 2, 4, 8, 16],
      levelDurationS: 2, // 1 s levels were noisy enough on a loaded machine to move the knee
      warmupS: 0.3,
      patience: 2,
      tolerance: 0.1,
    });
    const knee = analysis.kneeConcurrency!;
    assert.ok(knee >= 2 && knee <= 8, `knee ${knee}\n${renderSweepCsv(levels)}`);
    assert.ok(analysis.suggestedMaxOngoingRequests! > analysis.suggestedTargetOngoingRequests!);
    // 4 workers x 50 ms cannot serve more than 80/s; a loaded machine serves fewer.
    assert.ok(
      analysis.maxSustainableQps > 20 && analysis.maxSustainableQps <= 85,
      renderSweepCsv(levels),
    );
    const l16 = levels.find((l) => l.concurrency === 16);
    if (l16) {
      // 12 of 16 wait in the queue, and they wait ~4 x 50 ms.
      assert.ok(l16.queueDepth! > 8, `queue depth ${l16.queueDepth}`);
      assert.ok(l16.p50Ms! > 150, `p50 ${l16.p50Ms}`);
    }
    assert.ok(levels.length >= 4, "stopped only after throughput stopped rising");
    assert.match(
      renderSweepCsv(levels),
      /^Concurrency,QPS,p50 \(ms\),p90 \(ms\),p99 \(ms\),Average \(ms\),Requests,Failures,Queue Depth,Ongoing Requests\n1,/,
    );
  } finally {
    ac.abort();
    await server.finished;
  }
});

Deno.test("analyzeSweep() does not count levels with many failed requests as sustainable", () => {
  const failing = (l: SweepLevel, failures: number): SweepLevel => ({ ...l, failures });
  // 65 of 65 failed (fast 502s): no max QPS, no knee, no suggestion, no "still rising".
  const none = analyzeSweep([failing({ ...level(1, 32.7), requests: 65 }, 65)]);
  assert.equal(none.maxSustainableQps, 0);
  assert.equal(none.kneeConcurrency, null);
  assert.equal(none.suggestedTargetOngoingRequests, null);
  assert.equal(none.suggestedMaxOngoingRequests, null);
  assert.deepEqual(none.failingLevels, [1]);
  // A fast-failing level does not lift the max QPS or the knee above the good levels.
  const some = analyzeSweep([level(1, 10), level(2, 19), level(4, 20), failing(level(8, 90), 30)]);
  assert.equal(some.maxSustainableQps, 20);
  assert.equal(some.kneeConcurrency, 2);
  assert.deepEqual(some.failingLevels, [8]);
  // A few failures (<= 10% by default) still count; a stricter maxFailureRatio drops them.
  const few = [level(1, 10), failing(level(2, 19), 5)];
  assert.equal(analyzeSweep(few).maxSustainableQps, 19);
  assert.equal(analyzeSweep(few, { maxFailureRatio: 0.01 }).maxSustainableQps, 10);
});

Deno.test("deno task sweep with every request failing says why, suggests nothing and exits 3", async () => {
  const stub = offlineStub();
  const dir = await Deno.makeTempDir();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../scripts/sweep.ts", import.meta.url).pathname,
        "--host",
        stub.url,
        "--levels",
        "1,2",
        "--level-duration",
        "1",
        "--warmup",
        "0.2",
        "--no-replicas",
        "--out",
        `${dir}/sweep`,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const stdout = new TextDecoder().decode(out.stdout);
    const all = stdout + new TextDecoder().decode(out.stderr);
    assert.equal(out.code, 3, all);
    assert.match(
      stdout,
      /no sustainable level: every request at concurrency 1 failed: HTTPError\('502 Server Error: Bad Gateway for url: \/'\)/,
    );
    assert.match(stdout, /hint: .*502 image_fetch_failed.*--image PATH/);
    assert.doesNotMatch(stdout, /max sustainable QPS|suggested|stops rising|still rising/);
    assert.doesNotMatch(stdout, /^\s+2\s/m, "stopped after the failing level");
    const json = JSON.parse(await Deno.readTextFile(`${dir}/sweep.json`));
    assert.equal(json.analysis.suggestedTargetOngoingRequests, null);
  } finally {
    await stub.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the suggestion line says 'gives 2', not '2-2', when the tutorial's range is one value", () => {
  const one = analyzeSweep([level(1, 10), level(2, 10), level(4, 10)]);
  assert.equal(one.suggestedTargetOngoingRequests, 1);
  assert.equal(
    suggestionLine(one),
    "suggested target_ongoing_requests: 1   max_ongoing_requests: 2 " +
      "(the tutorial's 20-50% above the target gives 2)",
  );
  const a = analyzeSweep([level(1, 10), level(2, 20), level(4, 38), level(8, 40.5), level(16, 40)]);
  assert.match(suggestionLine(a), /gives \d+-\d+\)$/);
});
