/**
 * The service's node:http listener (lib/serve/_listener.ts) against slow and idle clients, through
 * raw sockets on 127.0.0.1 with short configured limits: the header deadline closes a connection
 * dripping its request head, connections over `max_pending_connections` are closed on arrival, a
 * 408 body deadline closes the connection, and a request body reaches the handler while it is
 * still arriving (streamed, not buffered first).
 */
import assert from "node:assert/strict";
import { bodyBufferStats } from "../../lib/serve/mod.ts";
import { makeConfig, serve, waitFor } from "./_helpers.ts";
import { resolveListenerKind } from "../../lib/serve/_listener.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function connect(url: string): Promise<Deno.TcpConn> {
  const { hostname, port } = new URL(url);
  return await Deno.connect({ hostname, port: Number(port) });
}

/** Writes `text`; false once the server has closed the connection. */
async function write(conn: Deno.TcpConn, text: string): Promise<boolean> {
  try {
    await conn.write(encoder.encode(text));
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads until the server closes the connection (EOF or reset) and returns what it sent, or throws
 * when it is still open after `capMs`.
 */
async function readUntilClosed(conn: Deno.TcpConn, capMs: number): Promise<string> {
  let text = "";
  const buf = new Uint8Array(16 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stillOpen = new Promise<"open">((resolve) =>
    timer = setTimeout(() => resolve("open"), capMs)
  );
  try {
    for (;;) {
      const n = await Promise.race([conn.read(buf).catch(() => null), stillOpen]);
      if (n === "open") throw new Error(`connection still open after ${capMs} ms; got ${text}`);
      if (n === null) return text;
      text += decoder.decode(buf.subarray(0, n));
    }
  } finally {
    clearTimeout(timer);
  }
}

const NOOP = { num_replicas: 1, user_config: { model: "noop" } };
/** The hardened listener, asked for by name (on loopback, `auto` picks `deno`). */
const NODE = { listener: "node" };

Deno.test("a connection dripping its request head is closed at the header deadline", async () => {
  const s = await serve(makeConfig(NOOP, { http_options: { ...NODE, header_timeout_s: 0.3 } }));
  const conn = await connect(s.url);
  try {
    const t0 = performance.now();
    const head = "GET /-/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ";
    const drip = (async () => {
      for (const ch of head + "x".repeat(100)) {
        if (!(await write(conn, ch))) return;
        await new Promise((r) => setTimeout(r, 50));
      }
    })();
    const answer = await readUntilClosed(conn, 3000);
    const closedAfterMs = performance.now() - t0;
    await drip;
    assert.match(answer, /^HTTP\/1\.1 408 |^$/, answer);
    assert.ok(closedAfterMs >= 250, `closed after ${closedAfterMs} ms, before the deadline`);
  } finally {
    conn.close();
    await s.shutdown();
  }
});

Deno.test("connections over max_pending_connections are closed; served ones do not count", async () => {
  const s = await serve(
    makeConfig(NOOP, { http_options: { ...NODE, max_pending_connections: 3 } }),
  );
  const conns: Deno.TcpConn[] = [];
  try {
    // A keep-alive connection that has sent a full request is not pending.
    const served = await connect(s.url);
    conns.push(served);
    await write(served, "GET /-/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    const buf = new Uint8Array(4096);
    const n = await served.read(buf);
    assert.match(decoder.decode(buf.subarray(0, n ?? 0)), /^HTTP\/1\.1 200 /);
    for (let i = 0; i < 3; i++) {
      const c = await connect(s.url);
      conns.push(c);
      await write(c, "GET /-/healthz HTTP/1.1\r\nHo");
    }
    const over = await connect(s.url);
    conns.push(over);
    assert.equal(await readUntilClosed(over, 3000), "", "the 4th pending connection is closed");
    // Once a pending connection completes its request, a new one is accepted again.
    await write(conns[1], "st: 127.0.0.1\r\n\r\n");
    assert.match(
      decoder.decode(buf.subarray(0, (await conns[1].read(buf)) ?? 0)),
      /^HTTP\/1\.1 200/,
    );
    const next = await connect(s.url);
    conns.push(next);
    await write(next, "GET /-/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
    assert.match(decoder.decode(buf.subarray(0, (await next.read(buf)) ?? 0)), /^HTTP\/1\.1 200/);
  } finally {
    for (const c of conns) c.close();
    await s.shutdown();
  }
});

Deno.test("after the body deadline's 408 the connection is closed (the client sees EOF)", async () => {
  const s = await serve(makeConfig(NOOP, { http_options: { ...NODE, request_timeout_s: 0.3 } }));
  const conn = await connect(s.url);
  try {
    await write(
      conn,
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"uri\r\n',
    );
    const answer = await readUntilClosed(conn, 3000);
    assert.match(answer, /^HTTP\/1\.1 408 /, answer);
    assert.match(answer, /\r\nconnection: close\r\n/i, answer);
    assert.match(answer, /"error":"request_timeout"/);
  } finally {
    conn.close();
    await s.shutdown();
  }
});

Deno.test("a request body reaches the handler while it is still arriving", async () => {
  const s = await serve(makeConfig(NOOP, { http_options: NODE }));
  const conn = await connect(s.url);
  try {
    const before = bodyBufferStats().chunkedBodies;
    await write(
      conn,
      "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n" +
        'Transfer-Encoding: chunked\r\n\r\n5\r\n{"uri\r\n',
    );
    // The handler's body reader has started (and holds its buffer) before the body ended.
    await waitFor(
      () => bodyBufferStats().chunkedBodies > before && bodyBufferStats().bufferedBytes > 0,
      "the handler to read the first chunk",
      5000,
    );
    await write(
      conn,
      '2\r\n":\r\n1\r\n1\r\n1\r\n}\r\n0\r\n\r\nGET /-/healthz HTTP/1.1\r\nHost: x\r\n\r\n',
    );
    const buf = new Uint8Array(4096);
    let text = "";
    while (!/HTTP\/1\.1 200 [^]*\r\n\r\nsuccess$/.test(text)) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    assert.match(text, /^HTTP\/1\.1 400 [^]*"error":"invalid_uri"/, text);
    assert.match(text, /HTTP\/1\.1 200 [^]*success$/, "the connection is kept alive after a 400");
  } finally {
    conn.close();
    await s.shutdown();
  }
});

Deno.test("a keep-alive connection serves the next request after an answer that left the body unread", async () => {
  const s = await serve(makeConfig(NOOP, { http_options: NODE }));
  const conn = await connect(s.url);
  try {
    const body = "x".repeat(100_000);
    await write(
      conn,
      `POST /nowhere HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${body.length}\r\n\r\n${body}` +
        "GET /-/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
    );
    const buf = new Uint8Array(4096);
    let text = "";
    while (!/\r\n\r\nsuccess$/.test(text)) {
      const n = await conn.read(buf);
      if (n === null) break;
      text += decoder.decode(buf.subarray(0, n));
    }
    assert.match(text, /^HTTP\/1\.1 404 /, text);
    assert.match(text, /HTTP\/1\.1 200 [^]*success$/, text);
  } finally {
    conn.close();
    await s.shutdown();
  }
});

Deno.test("the default listener on loopback (Deno.serve) serves", async () => {
  const s = await serve(makeConfig(NOOP));
  try {
    const res = await fetch(`${s.url}/-/healthz`);
    assert.equal(res.status, 200);
    assert.equal(await res.text(), "success");
  } finally {
    await s.shutdown();
  }
});

Deno.test("listener auto is Deno.serve on loopback and the hardened node listener elsewhere", () => {
  for (const host of ["127.0.0.1", "127.3.2.1", "localhost", "::1", "[::1]"]) {
    assert.equal(resolveListenerKind("auto", host), "deno", host);
  }
  for (const host of ["0.0.0.0", "::", "10.1.2.3", "192.168.0.5", "example.internal"]) {
    assert.equal(resolveListenerKind("auto", host), "node", host);
  }
  assert.equal(resolveListenerKind("node", "127.0.0.1"), "node", "an explicit choice wins");
  assert.equal(resolveListenerKind("deno", "0.0.0.0"), "deno", "an explicit choice wins");
});
