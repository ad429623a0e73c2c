/**
 * The runner against real loopback servers, in real time: these tests exercise what fake time
 * cannot, the built-in HTTP client on real sockets (keep-alive, Locust's error texts for 503,
 * read timeouts and refused connections) and the result files it writes. Timing depends on the
 * machine's load, so they assert only generous bounds; exact counts and latencies are asserted on
 * fake time in runner_fake_time_test.ts.
 */
import assert from "node:assert/strict";
import { constantUsersShape, parseShape, runLoadTest, uriRequest } from "../../lib/loadgen/mod.ts";

/** A loopback stub on an ephemeral port; `handler` answers POST /; GET /api/status is optional. */
function stub(
  handler: (req: Request) => Response | Promise<Response>,
  options: { status?: boolean } = {},
): { url: string; close: () => Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      if (new URL(req.url).pathname === "/api/status") {
        if (!options.status) return new Response("not found", { status: 404 });
        return Response.json({
          applications: {
            app: {
              deployments: {
                classifier: {
                  target_replicas: 3,
                  replica_states: { PENDING_ALLOCATION: 1, STARTING: 1, RUNNING: 1, STOPPING: 0 },
                  ongoing_requests: 2,
                  queued_requests: 5,
                },
              },
            },
          },
        });
      }
      await req.arrayBuffer();
      return handler(req);
    },
  );
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function csvLines(text: string, eol: string): string[][] {
  return text.split(eol).filter((l) => l !== "").map((l) => l.split(","));
}

Deno.test("a short closed-loop run writes all seven files with consistent counts", async () => {
  const s = stub(async () => {
    await sleep(5);
    return new Response("Samoyed");
  }, { status: true });
  const dir = await Deno.makeTempDir();
  try {
    const shape = parseShape(
      "name: t\nwait_time: constant(0.01)\nstages:\n  - {name: a, duration: 1.5, users: 2, spawn_rate: 10}\n  - {name: b, duration: 1, users: 4, spawn_rate: 10}\n",
    );
    const result = await runLoadTest({
      host: s.url,
      shape,
      request: uriRequest("http://example.invalid/dog.jpg"),
      csvPrefix: `${dir}/run`,
    });
    const p = result.files!;
    const stats = csvLines(await Deno.readTextFile(p.stats), "\r\n");
    const total = stats.find((r) => r[1] === "Aggregated")!;
    const requests = Number(total[2]);
    assert.ok(requests > 50, `expected traffic, got ${requests} requests`);
    assert.equal(total[0], "");
    assert.deepEqual(stats[1].slice(0, 2), ["POST", "/"]);
    assert.equal(total[8], "7.0", "Average Content Size = len('Samoyed')");
    // The history's last row and the per-second latency rows add up to the same total.
    const history = csvLines(await Deno.readTextFile(p.history), "\r\n");
    assert.equal(Number(history.at(-1)![17]), requests);
    assert.equal(history[1][6], "N/A", "first pass is before any request");
    const latency = csvLines(await Deno.readTextFile(p.latency), "\n");
    assert.equal(latency.slice(1).reduce((a, r) => a + Number(r[2]), 0), requests);
    for (const row of latency.slice(1)) {
      if (row[2] === "0") continue;
      const [p50, p90, p95, p99, max] = row.slice(4).map(Number);
      assert.ok(p50 <= p90 && p90 <= p95 && p95 <= p99 && p99 <= max, `ordered: ${row}`);
      assert.ok(p50 >= 5, `a 5 ms stub cannot answer in ${p50} ms`);
    }
    // User counts follow the shape: 2 users, then 4.
    const userCounts = history.slice(1).map((r) => Number(r[1]));
    assert.ok(userCounts.includes(2) && userCounts.includes(4), `users ${userCounts}`);
    const replicas = csvLines(await Deno.readTextFile(p.replicas), "\n");
    assert.deepEqual(replicas[0], [
      "Timestamp",
      "Elapsed (s)",
      "Target Replicas",
      "Running Replicas",
      "Starting Replicas",
      "Pending Replicas",
      "Total Ongoing Requests",
      "Queued Requests",
    ]);
    assert.deepEqual(replicas.at(-1)!.slice(2), ["3", "1", "1", "1", "2", "5"]);
    assert.equal(
      await Deno.readTextFile(p.stages),
      "Stage,Start (s),End (s),Users,Spawn Rate\na,0,1.5,2,10\nb,1.5,2.5,4,10\n",
    );
    assert.equal(
      await Deno.readTextFile(p.failures),
      "Method,Name,Error,Occurrences,First Seen,Last Seen\r\n",
    );
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("failures land in _failures.csv with Locust's error texts; no /api/status skips replicas", async () => {
  // 5xx and timeouts from one stub: every third request stalls past the timeout.
  let n = 0;
  const s = stub(async () => {
    n++;
    if (n % 3 === 0) {
      await sleep(1500);
      return new Response("late");
    }
    return new Response("boom", { status: 503, statusText: "Service Unavailable" });
  });
  // Connection refused: a port nobody listens on.
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (listener.addr as Deno.NetAddr).port;
  listener.close();
  const dir = await Deno.makeTempDir();
  const notes: string[] = [];
  try {
    const shape = constantUsersShape(3, 1.2, { waitTime: { kind: "constant", seconds: 0.05 } });
    const a = await runLoadTest({
      host: s.url,
      shape,
      request: uriRequest("x"),
      timeoutS: 0.3,
      csvPrefix: `${dir}/a`,
      log: (l) => notes.push(l),
    });
    const failures = await Deno.readTextFile(a.files!.failures);
    const port = new URL(s.url).port;
    assert.match(
      failures,
      new RegExp(
        `\r\nPOST,/,HTTPError\\('503 Server Error: Service Unavailable for url: /'\\),\\d+,`,
      ),
    );
    assert.match(
      failures,
      new RegExp(
        `\r\nPOST,/,"ReadTimeout\\(ReadTimeoutError\\(""HTTPConnectionPool\\(host='127\\.0\\.0\\.1', port=${port}\\): Read timed out\\. \\(read timeout=0\\.3\\)""\\)\\)",\\d+,`,
      ),
    );
    assert.equal(a.stats.total.numFailures, a.stats.total.numRequests, "every request failed");
    assert.ok(notes.some((l) => l.includes("/api/status") && l.includes("404")), notes.join("\n"));
    await assert.rejects(Deno.stat(a.files!.replicas), Deno.errors.NotFound);

    const b = await runLoadTest({
      host: `http://127.0.0.1:${deadPort}`,
      shape: constantUsersShape(1, 0.5, { waitTime: { kind: "constant", seconds: 0.05 } }),
      request: uriRequest("x"),
      csvPrefix: `${dir}/b`,
      replicas: false,
    });
    const refused = await Deno.readTextFile(b.files!.failures);
    assert.ok(
      refused.includes(
        `\r\nPOST,/,"ConnectionRefusedError(111, 'Connection refused')",`,
      ),
      refused,
    );
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("open loop against a stalling stub counts dropped iterations and times from the intended start", async () => {
  // Answers at once, except that after the 30th request everything waits for a 500 ms stall.
  let n = 0;
  let stallUntil = 0;
  const s = stub(async () => {
    n++;
    if (n === 30) stallUntil = performance.now() + 500;
    const wait = stallUntil - performance.now();
    if (wait > 0) await sleep(wait);
    return new Response("ok");
  });
  try {
    const shape = parseShape(
      "executor: arrival_rate\nstart_rate: 100\nmax_in_flight: 20\nstages:\n  - {duration: 1.5, rate: 100}\n",
    );
    const r = await runLoadTest({
      host: s.url,
      shape,
      request: uriRequest("x"),
      replicas: false,
    });
    // ~50 arrivals fall in the stall; 20 can be in flight, the rest are dropped (exact counts:
    // runner_fake_time_test.ts). Generous: some dropped, never more than the arrivals.
    assert.ok(
      r.droppedIterations >= 1 && r.droppedIterations <= 130,
      `dropped ${r.droppedIterations}`,
    );
    const h = r.stats.total.histogram;
    // 150 arrivals: each was sent (and counted, unless it finished after the end) or dropped.
    const accounted = r.stats.total.numRequests + r.droppedIterations;
    assert.ok(accounted <= 150 && accounted >= 100, `accounted ${accounted} of 150 arrivals`);
    // The first request caught in the stall waited ~500 ms; most did not wait at all.
    assert.ok(h.maxMs! >= 300, `max ${h.maxMs}`);
    assert.ok(h.percentileMs(50)! < 450, `p50 ${h.percentileMs(50)}`);
  } finally {
    await s.close();
  }
});
