import assert from "node:assert/strict";
import {
  type DashboardFrame,
  type DashboardInit,
  startDashboard,
} from "../../lib/dashboard/mod.ts";
import { encodeSseEvent, SseHub } from "../../lib/dashboard/sse.ts";
import { FakeSource, statusDoc } from "./_fixtures.ts";

/** Reads SSE events from a response body as they arrive. */
class EventReader {
  #reader: ReadableStreamDefaultReader<string>;
  #buffer = "";
  constructor(body: ReadableStream<Uint8Array>) {
    this.#reader = body.pipeThrough(new TextDecoderStream()).getReader();
  }
  /** The next event (`retry:`-only blocks are skipped), or null when the stream ended. */
  async next(): Promise<{ event: string; data: unknown } | null> {
    for (;;) {
      const end = this.#buffer.indexOf("\n\n");
      if (end >= 0) {
        const block = this.#buffer.slice(0, end);
        this.#buffer = this.#buffer.slice(end + 2);
        let event = "message";
        let data: string | null = null;
        for (const line of block.split("\n")) {
          if (line.startsWith("event: ")) event = line.slice(7);
          if (line.startsWith("data: ")) data = line.slice(6);
        }
        if (data === null) continue;
        return { event, data: JSON.parse(data) };
      }
      const { value, done } = await this.#reader.read();
      if (done) return null;
      this.#buffer += value;
    }
  }
  async cancel(): Promise<void> {
    await this.#reader.cancel().catch(() => {});
  }
}

Deno.test("encodeSseEvent() writes one event block with the JSON on one data line", () => {
  assert.equal(
    encodeSseEvent("tick", { a: "x\ny", n: 1 }),
    'event: tick\ndata: {"a":"x\\ny","n":1}\n\n',
  );
  assert.equal(encodeSseEvent("message", 1, { id: "7" }), "id: 7\ndata: 1\n\n");
  assert.throws(() => encodeSseEvent("a\nb", 1), /one line/);
});

Deno.test("SseHub sends a broadcast to every client, drops cancelled ones and ends all on close", async () => {
  const hub = new SseHub({ retryMs: 1500 });
  const r1 = hub.connect(encodeSseEvent("init", { who: 1 }));
  const r2 = hub.connect();
  assert.equal(r1.headers.get("content-type"), "text/event-stream; charset=utf-8");
  assert.equal(hub.size, 2);
  const r2reader = r2.body!.getReader();
  const raw = await r2reader.read();
  assert.equal(new TextDecoder().decode(raw.value), "retry: 1500\n\n");
  const a = new EventReader(r1.body!);
  assert.deepEqual(await a.next(), { event: "init", data: { who: 1 } });
  assert.equal(hub.broadcast("tick", { n: 1 }), 2);
  assert.deepEqual(await a.next(), { event: "tick", data: { n: 1 } });
  await r2reader.cancel();
  assert.equal(hub.size, 1, "a closed page is forgotten");
  hub.close();
  assert.equal(await a.next(), null, "close() ends the stream");
  assert.equal(hub.size, 0);
  assert.equal(hub.connect().status, 503);
});

Deno.test("SseHub drops a page that stops reading instead of buffering without bound", () => {
  const hub = new SseHub({ maxQueuedMessages: 3 });
  hub.connect(); // never read
  let delivered = 0;
  for (let i = 0; i < 10; i++) delivered += hub.broadcast("tick", { i });
  assert.equal(hub.size, 0);
  assert.ok(delivered <= 3, `delivered ${delivered} messages to a stalled page`);
});

Deno.test("dashboard server pushes one shared tick to every page, serves only reads", async () => {
  const src = new FakeSource();
  src.status = statusDoc({ running: 1, target: 1 });
  // A long period: only tickNow() ticks during the test, so the frames are predictable.
  const dash = await startDashboard(src, { hostname: "127.0.0.1", port: 0, tickMs: 60_000 });
  try {
    assert.match(dash.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    const pages = await Promise.all([0, 1].map(() => fetch(`${dash.url}/events`)));
    const readers = pages.map((p) => new EventReader(p.body!));
    for (const r of readers) {
      const init = await r.next();
      assert.equal(init?.event, "init");
      const data = init!.data as DashboardInit;
      assert.equal(data.history.length, 1, "the first tick ran before the server answered");
      assert.equal(data.frame?.point.deployments["app/Dep"].running, 1);
      assert.equal(data.deployments["app/Dep"].points.length, 1);
    }
    assert.equal(dash.clients, 2);
    const readsBefore = src.statusReads;
    src.status = statusDoc({ running: 3, target: 3 });
    src.request({ timeMs: Date.now(), latencyMs: 12, status: 200 });
    await dash.tickNow();
    assert.equal(src.statusReads, readsBefore + 1, "one status read for all pages");
    const frames = await Promise.all(readers.map((r) => r.next()));
    for (const f of frames) {
      assert.equal(f?.event, "tick");
      const frame = f!.data as DashboardFrame;
      assert.equal(frame.point.deployments["app/Dep"].running, 3);
      assert.equal(frame.point.p50Ms, 12);
      assert.equal(frame.service.up, true);
    }
    assert.deepEqual(frames[0], frames[1], "every page gets the same frame");

    // The page and its scripts are served by the dashboard itself, with a strict CSP.
    const html = await fetch(dash.url);
    assert.equal(html.status, 200);
    assert.match(html.headers.get("content-security-policy") ?? "", /script-src 'self'/);
    const text = await html.text();
    for (const m of text.matchAll(/<script src="([^"]+)"/g)) {
      assert.match(m[1], /^\/(vendor|static)\//, `script ${m[1]} is served locally`);
      const js = await fetch(dash.url + m[1]);
      assert.equal(js.status, 200, `${m[1]} is served`);
      assert.ok((await js.arrayBuffer()).byteLength > 1000, `${m[1]} is not empty`);
    }
    const snapshot = await (await fetch(`${dash.url}/api/dashboard`)).json() as DashboardInit;
    assert.equal(snapshot.history.length, 2);

    // Read-only: anything but GET/HEAD is refused, unknown paths are 404.
    for (const method of ["POST", "PUT", "DELETE", "PATCH"]) {
      const res = await fetch(`${dash.url}/api/dashboard`, { method });
      assert.equal(res.status, 405, `${method} is refused`);
      assert.equal(res.headers.get("allow"), "GET, HEAD");
      await res.body?.cancel();
    }
    const missing = await fetch(`${dash.url}/api/scale`);
    assert.equal(missing.status, 404);
    assert.match(await missing.text(), /no dashboard route \/api\/scale/);

    for (const r of readers) await r.cancel();
  } finally {
    await dash.stop();
  }
  assert.equal(src.requestFns.size, 0, "stop() unsubscribes from the source");
});

Deno.test("dashboard server says which port is taken", async () => {
  const src = new FakeSource();
  const first = await startDashboard(src, { port: 0, tickMs: 60_000 });
  try {
    await assert.rejects(
      startDashboard(new FakeSource(), { port: first.port, tickMs: 60_000 }),
      new RegExp(`cannot listen on 127\\.0\\.0\\.1:${first.port}: the port is in use`),
    );
  } finally {
    await first.stop();
  }
  await assert.rejects(startDashboard(src, { port: 70_000 }), /port must be an integer/);
});
