/**
 * Hostile clients (issue 18) against a real `Deno.serve` on 127.0.0.1 through raw sockets:
 * chunked bodies are buffered in one bounded buffer (read through the counters), a body still
 * arriving at its deadline gets a 408 and its read is cancelled, malformed Host headers get a 400
 * from the service and the dashboard. Memory in bytes of RSS is measured by
 * `deno task bench-hostile`, not here.
 */
import assert from "node:assert/strict";
import {
  bodyBufferStats,
  createHttpHandler,
  type Deployment,
  Registry,
  resetBodyBufferPeak,
} from "../../lib/serve/mod.ts";
import { startDashboard } from "../../lib/dashboard/mod.ts";
import { FakeSource } from "../dashboard/_fixtures.ts";
import { makeConfig, serve, TINY_PNG } from "./_helpers.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A raw HTTP/1.1 connection: write bytes, read what the server sends until it closes. */
async function rawConnection(url: string): Promise<{
  conn: Deno.TcpConn;
  write(text: string | Uint8Array): Promise<boolean>;
  /** One response with a Content-Length body (head and body as text). */
  readResponse(): Promise<string>;
}> {
  const { hostname, port } = new URL(url);
  const conn = await Deno.connect({ hostname, port: Number(port) });
  return {
    conn,
    async write(data) {
      try {
        await conn.write(typeof data === "string" ? encoder.encode(data) : data);
        return true;
      } catch {
        return false; // the server closed the connection
      }
    },
    async readResponse() {
      let text = "";
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        const headEnd = text.indexOf("\r\n\r\n");
        if (headEnd >= 0) {
          const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? NaN);
          if (text.length >= headEnd + 4 + length) return text;
        }
        const n = await conn.read(buf).catch(() => null);
        if (n === null) return text;
        text += decoder.decode(buf.subarray(0, n));
      }
    },
  };
}

const dataUri = `data:image/png;base64,${btoa(String.fromCharCode(...TINY_PNG))}`;

Deno.test("a chunked body of 1-byte chunks is read into one bounded buffer", async () => {
  const s = await serve(makeConfig({ num_replicas: 1, user_config: { model: "noop" } }));
  try {
    const body = JSON.stringify({ uri: dataUri });
    const c = await rawConnection(s.url);
    await c.write(
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n",
    );
    resetBodyBufferPeak();
    const before = bodyBufferStats();
    // One chunk per byte, each its own write: the server's socket reads see tiny chunks.
    for (const ch of body) await c.write(`1\r\n${ch}\r\n`);
    await c.write("0\r\n\r\n");
    const answer = await c.readResponse();
    c.conn.close();
    assert.match(answer, /^HTTP\/1\.1 200 /, answer);
    assert.ok(answer.endsWith("\r\n\r\nnoop"), answer);
    const after = bodyBufferStats();
    assert.equal(after.chunkedBodies, before.chunkedBodies + 1);
    assert.equal(after.bufferedBytes, 0, "the buffer is released after the request");
    // One 16 KiB buffer for a body of a few hundred 1-byte chunks (the default reader would have
    // kept a 64 KiB buffer alive per chunk).
    assert.ok(
      after.peakBufferedBytes <= 16 * 1024,
      `peak body buffer ${after.peakBufferedBytes} bytes for ${body.length} one-byte chunks`,
    );
  } finally {
    await s.shutdown();
  }
});

/** A deployment that must never be reached. */
const unreachableDeployment = {
  name: "D",
  deployFailed: false,
  currentStatus: () => ({ status: "HEALTHY", message: "" }),
  handle: () => Promise.reject(new Error("the deployment must not be called")),
} as unknown as Deployment;

function handlerFor(maxImageBytes: number) {
  return createHttpHandler({
    appName: "app",
    routePrefix: "/",
    deployment: unreachableDeployment,
    registry: new Registry(),
    status: () => ({}) as never,
    applicationStatus: () => ({ status: "RUNNING", message: "" }),
    requestTimeoutMs: null,
    bodyReadTimeoutMs: 60_000,
    topK: 5,
    maxImageBytes,
    modelName: "noop",
  });
}

Deno.test("8,000 one-byte chunks over the limit: 413 with at most limit + 1 bytes buffered", async () => {
  const limit = 5_000;
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (pulled++ === 8_000) controller.close();
      else controller.enqueue(new Uint8Array([0x41]));
    },
  });
  resetBodyBufferPeak();
  const res = await handlerFor(limit)(
    new Request("http://127.0.0.1/", {
      method: "POST",
      headers: { "content-type": "image/png" },
      body,
    }),
  );
  assert.equal(res.status, 413);
  assert.equal(res.headers.get("connection"), "close");
  assert.match((await res.json()).detail, /the limit is 5000 bytes/);
  assert.ok(pulled <= limit + 3, `read ${pulled} chunks, more than the limit needs`);
  const stats = bodyBufferStats();
  assert.ok(stats.peakBufferedBytes <= limit + 1, `peak ${stats.peakBufferedBytes} bytes`);
  assert.equal(stats.bufferedBytes, 0);
});

Deno.test("a body still arriving at its deadline: 408, Connection: close, nothing more read", async () => {
  const s = await serve(
    makeConfig({ num_replicas: 1, user_config: { model: "noop" } }, {
      http_options: { request_timeout_s: 0.3 },
    }),
  );
  try {
    const c = await rawConnection(s.url);
    await c.write(
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"uri\r\n',
    );
    const answer = await c.readResponse();
    assert.match(answer, /^HTTP\/1\.1 408 /, answer);
    assert.match(answer, /\r\nconnection: close\r\n/i, answer);
    assert.match(answer, /"error":"request_timeout"/);
    // The read was cancelled: chunks sent after the 408 are not read into any buffer. (Deno's
    // server keeps the socket itself open while a read was pending; see docs/hostile_clients.md.)
    const before = bodyBufferStats();
    for (let i = 0; i < 200; i++) if (!(await c.write("1\r\na\r\n"))) break;
    const after = bodyBufferStats();
    c.conn.close();
    assert.equal(after.bufferedBytes, 0);
    assert.equal(after.chunkedBodies, before.chunkedBodies);
  } finally {
    await s.shutdown();
  }
});

const MALFORMED_HOSTS = ["[", "a b", "%", "a:b:c", "a/b", "x:80/healthz"];

Deno.test("a malformed Host header gets a 400 from the service and the dashboard", async () => {
  const s = await serve(makeConfig({ num_replicas: 1, user_config: { model: "noop" } }));
  const dash = await startDashboard(new FakeSource(), { hostname: "127.0.0.1", port: 0 });
  try {
    for (const url of [s.url, dash.url]) {
      for (const host of MALFORMED_HOSTS) {
        const c = await rawConnection(url);
        await c.write(`GET /-/healthz HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
        const answer = await c.readResponse();
        c.conn.close();
        assert.match(answer, /^HTTP\/1\.1 400 /, `${url} Host ${host}: ${answer}`);
        assert.ok(answer.includes("is malformed"), answer);
      }
      const ok = await fetch(`${url}/`);
      await ok.body?.cancel();
      assert.ok(ok.status < 500, `a good Host still works at ${url}`);
    }
  } finally {
    await dash.stop();
    await s.shutdown();
  }
});
