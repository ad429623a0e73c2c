/**
 * Hostile-input fuzzing of the HTTP service (lib/serve), loopback only, seeded and bounded:
 * random and mutated JSON bodies, odd methods, paths, query strings and headers (through raw
 * sockets where fetch would refuse them), wrong Content-Length, slow partial bodies, and
 * mutated real images against a model that really decodes. Every answer must be a JSON error
 * with a sensible 4xx/5xx status (never a 500, never a stack trace, never a hang), the replicas
 * stay up, and a good request still succeeds afterwards.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import type { ServeHandle } from "../../lib/serve/mod.ts";
import { makeConfig, postImage, serve, TINY_PNG } from "../serve/_helpers.ts";
import { mutateBytes, mutateText, Rng, timeBudget, WEIRD_KEYS } from "./_fuzz.ts";
import { channelMeanNhwc } from "../model/_tiny_models.ts";

const STACK = /\n\s+at |\.ts:\d+:\d+|file:\/\//;

/** Checks one answer; returns what was wrong with it, or null. */
function judge(
  what: string,
  status: number,
  contentType: string | null,
  text: string,
  allowed: (status: number) => boolean,
): string | null {
  if (status === 200) return allowed(200) ? null : `${what}: unexpected 200 ${text.slice(0, 100)}`;
  if (status === 500) return `${what}: 500 ${text.slice(0, 300)}`;
  if (!allowed(status)) return `${what}: status ${status} ${text.slice(0, 200)}`;
  if (STACK.test(text)) return `${what}: the answer shows a stack trace: ${text.slice(0, 300)}`;
  if (!(contentType ?? "").startsWith("application/json")) {
    return `${what}: ${status} is not JSON (${contentType}): ${text.slice(0, 200)}`;
  }
  try {
    const body = JSON.parse(text);
    if (
      typeof body.error !== "string" || typeof body.detail !== "string" || body.detail.length < 8
    ) {
      return `${what}: ${status} JSON without error/detail: ${text.slice(0, 200)}`;
    }
  } catch {
    return `${what}: ${status} body is not valid JSON: ${text.slice(0, 200)}`;
  }
  return null;
}

/** Sends raw bytes on a fresh connection; returns the first response's status, type and body. */
async function rawRequest(
  port: number,
  request: Uint8Array | string,
  options: {
    timeoutMs?: number;
    thenSend?: () => Promise<Uint8Array | null>;
    /** The answer has no body (HEAD): stop after the headers. */
    headOnly?: boolean;
  } = {},
): Promise<{ status: number; contentType: string | null; text: string } | "timeout" | "closed"> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  const timeoutMs = options.timeoutMs ?? 5_000;
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    await conn.write(typeof request === "string" ? new TextEncoder().encode(request) : request);
    const more = await options.thenSend?.();
    if (more) await conn.write(more);
    const chunks: Uint8Array[] = [];
    const readAll = (async () => {
      const buf = new Uint8Array(64 * 1024);
      for (;;) {
        let n: number | null;
        try {
          n = await conn.read(buf);
        } catch {
          return;
        }
        if (n === null) return;
        chunks.push(buf.slice(0, n));
        const text = skipInterim(new TextDecoder().decode(concat(chunks)));
        const head = text.indexOf("\r\n\r\n");
        if (head >= 0) {
          if (options.headOnly) return;
          const len = /\r\ncontent-length: *(\d+)/i.exec(text.slice(0, head));
          if (len && text.length >= head + 4 + Number(len[1])) return;
        }
      }
    })();
    const timedOut = new Promise<"timeout">((r) =>
      timer = setTimeout(() => r("timeout"), timeoutMs)
    );
    if (await Promise.race([readAll, timedOut]) === "timeout") return "timeout";
    const text = skipInterim(new TextDecoder().decode(concat(chunks)));
    const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
    if (!m) return "closed";
    const head = text.indexOf("\r\n\r\n");
    const ct = /\r\ncontent-type: *([^\r\n]*)/i.exec(text.slice(0, head));
    return { status: Number(m[1]), contentType: ct ? ct[1] : null, text: text.slice(head + 4) };
  } finally {
    clearTimeout(timer);
    try {
      conn.close();
    } catch { /* already closed */ }
  }
}

/** Drops interim `1xx` responses (`100 Continue`) before the final one. */
function skipInterim(text: string): string {
  while (/^HTTP\/1\.[01] 1\d\d/.test(text)) {
    const end = text.indexOf("\r\n\r\n");
    if (end < 0) return text;
    text = text.slice(end + 4);
  }
  return text;
}

function concat(chunks: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Random JSON-ish bodies: real shapes with wrong types, deep nesting, odd keys and characters. */
function randomJsonBody(rng: Rng): string {
  const values = [
    "null",
    "true",
    "0",
    "-1",
    "1e999",
    "[]",
    "{}",
    '"http://127.0.0.1:9/x.png"',
    '"data:image/png;base64,' + btoa(String.fromCharCode(...TINY_PNG)) + '"',
    '"data:image/png;base64,!!!"',
    '"data:,"',
    '"data:image/png,%ZZ"',
    '"\\u0000"',
    '"\\ud800"',
    '"é🙂\u202e"',
    '"' + "a".repeat(rng.int(70_000)) + '"',
    "[".repeat(rng.int(3000)) + "]".repeat(rng.int(3000)),
    '{"__proto__": {"uri": "data:,x"}}',
    '"javascript:alert(1)"',
    '"http://user:pass@[::ffff:127.0.0.1]:1/"',
    '"http://0x7f.1/"',
  ];
  switch (rng.int(5)) {
    case 0:
      return `{"uri": ${rng.pick(values)}}`;
    case 1:
      return `{"uri": ${rng.pick(values)}, "uri": ${rng.pick(values)}}`;
    case 2:
      return `{${JSON.stringify(rng.pick(WEIRD_KEYS))}: ${rng.pick(values)}, "uri": ${
        rng.pick(values)
      }}`;
    case 3:
      return mutateText(
        rng,
        `{\n"uri":\n"data:image/png;base64,${btoa(String.fromCharCode(...TINY_PNG))}"\n}`,
        3,
      );
    default:
      return rng.pick(values);
  }
}

const CONTENT_TYPES = [
  "application/json",
  "application/json; charset=utf-16",
  "application/problem+json",
  "",
  "application/x-www-form-urlencoded",
  "image/png",
  "IMAGE/JPEG",
  "application/octet-stream",
  "text/plain",
  "multipart/form-data; boundary=x",
  "image/",
  ";;;",
  "application/json\u00e9",
];

/** Any status a client error or an overloaded / slow service may rightly get; not 500. */
const anyError = (s: number) => s === 200 || (s >= 400 && s < 600 && s !== 500);

/** The ids of the replicas now RUNNING, sorted. */
function runningReplicaIds(s: ServeHandle): string[] {
  const dep = Object.values(Object.values(s.status().applications)[0].deployments)[0];
  return dep.replicas.filter((r) => r.state === "RUNNING").map((r) => r.replica_id).sort();
}

async function goodRequestSucceeds(s: ServeHandle, failures: string[], after: string) {
  const good = await postImage(s.url);
  if (good.status !== 200) failures.push(`after ${after}: a good request got ${good.status}`);
  const dep = Object.values(s.status().applications)[0].deployments;
  const d = Object.values(dep)[0];
  if (d.replica_states.RUNNING < 1) {
    failures.push(`after ${after}: no replica RUNNING (${JSON.stringify(d.replica_states)})`);
  }
}

Deno.test("the service answers fuzzed bodies, methods, paths, queries and headers with JSON errors and keeps serving", async () => {
  const s = await serve(
    makeConfig({
      num_replicas: 2,
      max_ongoing_requests: 4,
      user_config: { model: "noop", max_image_bytes: 100_000, image_fetch_timeout_s: 1 },
    }, { http_options: { request_timeout_s: 3 } }),
    { numCpus: 2 },
  );
  const replicasAtStart = runningReplicaIds(s);
  const rng = new Rng(0x5e77e);
  const failures: string[] = [];
  const more = timeBudget(7_000);
  try {
    // 1. Bodies through fetch, with every content type.
    let n = 0;
    for (; n < 400 && more() && failures.length < 5; n++) {
      const ctype = rng.pick(CONTENT_TYPES);
      const useBytes = rng.int(4) === 0;
      const body = useBytes ? mutateBytes(rng, TINY_PNG) : randomJsonBody(rng);
      const query = rng.pick([
        "",
        "?top=-1",
        "?top=1e9",
        "?top=abc",
        "?top=",
        "?top=3",
        "?top=1&top=2",
        "?top=%00",
        "?top=0x10",
        "?top=%F0%9F",
        "?%zz",
        "?" + "a=b&".repeat(2000),
      ]);
      const res = await fetch(`${s.url}/${query}`, {
        method: "POST",
        body,
        headers: {
          ...(ctype === "" ? {} : { "content-type": ctype }),
          accept: rng.pick(["application/json", "*/*", "text/plain", ""]),
        },
      });
      const text = await res.text();
      const bad = judge(
        `body case ${n} (${ctype}, ${JSON.stringify(String(body).slice(0, 80))}${
          query.slice(0, 30)
        })`,
        res.status,
        res.headers.get("content-type"),
        text,
        anyError,
      );
      if (bad) failures.push(bad);
    }
    assert.ok(n >= 100, `only ${n} body cases ran`);
    await goodRequestSucceeds(s, failures, "the body cases");

    // 1b. Mutated data: URIs and IP-literal URLs (no DNS: everything stays on this machine).
    const b64 = btoa(String.fromCharCode(...TINY_PNG));
    const pct = Array.from(TINY_PNG, (b) => "%" + b.toString(16).padStart(2, "0")).join("");
    const uris = [
      `data:image/png;base64,${b64}`,
      `data:image/png,${pct}`,
      `DATA:IMAGE/PNG;BASE64,${b64}`,
      `data:;base64,${b64}`,
      `data:image/png;charset=utf-8;base64,${b64}`,
      `data:image/png;base64,${b64.replace(/=+$/, "")}`,
      `data:image/png;base64, ${b64.match(/.{1,4}/g)!.join(" ")}`,
      `data:image/png;base64,${b64}%3D`,
      `data:image/png,${pct}%`,
      `data:image/png,${pct}%0`,
      `data:image/svg+xml,<svg/>`,
      "http://127.0.0.1:0/x.png",
      "http://[::ffff:7f00:1]/x.png",
      "http://[fe80::1%25eth0]/x.png",
      "http://0177.0.0.1/x.png",
      "http://2130706433/x.png",
      "http://127.0.0.1:99999/x.png",
      "https://[::]/",
      "http://[::1/",
      "http://%zz/",
      "http:///x.png",
      "//127.0.0.1/x.png",
      "blob:http://127.0.0.1/x",
      "  data:image/png;base64," + b64 + "  ",
    ];
    let u = 0;
    for (; u < 200 && failures.length < 5; u++) {
      let uri = uris[u % uris.length];
      if (u >= uris.length) {
        const at = rng.int(uri.length);
        uri = rng.int(2)
          ? uri.slice(0, at) + rng.pick(["%", "%00", ",", ";", " ", "\u0000", "é", "=", "+", "/"]) +
            uri.slice(at)
          : uri.slice(0, at);
      }
      const res = await fetch(`${s.url}/?top=2`, {
        method: "POST",
        body: JSON.stringify({ uri }),
        headers: { "content-type": "application/json" },
      });
      const text = await res.text();
      const bad = judge(
        `uri case ${u} (${JSON.stringify(uri.slice(0, 80))})`,
        res.status,
        res.headers.get("content-type"),
        text,
        anyError,
      );
      if (bad) failures.push(bad);
    }
    await goodRequestSucceeds(s, failures, "the URI cases");

    // 1c. A concurrent burst of mixed good and bad requests (bounded: 96 in flight).
    const burst = await Promise.all(Array.from({ length: 96 }, async (_, i) => {
      const body = i % 3 === 0 ? TINY_PNG : i % 3 === 1 ? randomJsonBody(rng) : rng.bytes(64);
      const res = await fetch(`${s.url}/${i % 4 === 0 ? "?top=2" : ""}`, {
        method: "POST",
        body,
        headers: { "content-type": i % 3 === 1 ? "application/json" : "image/png" },
      });
      return {
        i,
        status: res.status,
        type: res.headers.get("content-type"),
        text: await res.text(),
      };
    }));
    for (const r of burst) {
      const allowed = r.i % 3 === 0 ? (st: number) => st === 200 || st === 503 : anyError;
      const bad = judge(`burst request ${r.i}`, r.status, r.type, r.text, allowed);
      if (bad) failures.push(bad);
    }
    await goodRequestSucceeds(s, failures, "the burst");

    // 2. Raw requests fetch would refuse or normalise.
    const raw: [string, string | Uint8Array][] = [
      ["odd method", "FROB / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"],
      ["lower-case method", "post / HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"],
      ["HEAD on the route", "HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"],
      ["OPTIONS *", "OPTIONS * HTTP/1.1\r\nHost: x\r\n\r\n"],
      [
        "absolute-form target",
        "POST http://evil.example/ HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}",
      ],
      ["dot segments", "GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\n\r\n"],
      ["percent-encoded NUL path", "GET /%00 HTTP/1.1\r\nHost: x\r\n\r\n"],
      ["double slash", "POST // HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n{}"],
      ["long path", `GET /${"a".repeat(8000)} HTTP/1.1\r\nHost: x\r\n\r\n`],
      ["many headers", `GET /x HTTP/1.1\r\nHost: x\r\n${"X-A: b\r\n".repeat(90)}\r\n`],
      ["huge header", `GET /x HTTP/1.1\r\nHost: x\r\nX-Big: ${"b".repeat(20_000)}\r\n\r\n`],
      ["NUL in a header", "GET /x HTTP/1.1\r\nHost: x\r\nX-N: a\u0000b\r\n\r\n"],
      ["bad Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n{}"],
      ["negative Content-Length", "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n{}"],
      [
        "two Content-Lengths",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nContent-Length: 9\r\n\r\n{}",
      ],
      [
        "Content-Length too short",
        'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\n\r\n{"uri": "x"}',
      ],
      [
        "Content-Length over the limit",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nContent-Length: 99999999999\r\n\r\nab",
      ],
      [
        "chunked and Content-Length",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\n\r\n",
      ],
      [
        "bad chunk size",
        "POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n{}\r\n0\r\n\r\n",
      ],
      [
        "chunked over the limit",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n" +
        `${(200_000).toString(16)}\r\n${"x".repeat(200_000)}\r\n0\r\n\r\n`,
      ],
      ["HTTP/0.9", "GET /\r\n\r\n"],
      ["HTTP/2 preface then silence", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"],
      ["garbage", rng.bytes(300)],
      ["bare newlines", "POST / HTTP/1.1\nHost: x\nContent-Length: 2\n\n{}"],
      [
        "expect 100-continue",
        "POST / HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\n{}",
      ],
      [
        "content-encoding gzip (not gzip)",
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Encoding: gzip\r\nContent-Type: image/png\r\nContent-Length: 4\r\n\r\nabcd",
      ],
    ];
    for (const [name, request] of raw) {
      const r = await rawRequest(s.port, request, {
        timeoutMs: 5_000,
        headOnly: name.startsWith("HEAD"),
      });
      // After the HTTP/2 preface the server rightly waits for the client's SETTINGS frame.
      if (r === "timeout") {
        if (!name.startsWith("HTTP/2")) failures.push(`raw "${name}": no answer within 5 s`);
      } else if (r !== "closed") {
        // The HTTP layer (hyper) may answer a malformed request itself, without a body.
        const fromHyper = r.status === 400 || r.status === 431 || r.status === 414;
        const bodiless = (fromHyper && !r.contentType) ||
          (name.startsWith("HEAD") && r.text === "");
        const bad = bodiless
          ? null
          : judge(`raw "${name}"`, r.status, r.contentType, r.text, anyError);
        if (bad) failures.push(bad);
      }
    }
    await goodRequestSucceeds(s, failures, "the raw requests");

    // Random method tokens must not each become a metric series (unbounded memory).
    for (let i = 0; i < 40; i++) {
      const method = Array.from({ length: 8 }, () => "ABCDEFGHIJKLMNOPQRSTUVWXYZ"[rng.int(26)])
        .join("");
      await rawRequest(s.port, `${method} /${i % 2 ? "" : "nope"} HTTP/1.1\r\nHost: x\r\n\r\n`);
    }
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    const methods = new Set([...metrics.matchAll(/method="([^"]*)"/g)].map((m) => m[1]));
    assert.ok(methods.size <= 8, `metric method labels: ${[...methods].join(", ")}`);

    // 3. Slow and abandoned partial bodies (bounded): the service answers others meanwhile.
    const slow = Array.from({ length: 4 }, () =>
      rawRequest(
        s.port,
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 50\r\n\r\n{",
        {
          timeoutMs: 6_000,
          thenSend: async () => {
            await new Promise((r) => setTimeout(r, 200));
            return new TextEncoder().encode('"u');
          },
        },
      ));
    const abandoned = await Deno.connect({ hostname: "127.0.0.1", port: s.port });
    await abandoned.write(
      new TextEncoder().encode('POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"u'),
    );
    abandoned.close();
    await goodRequestSucceeds(s, failures, "slow partial bodies started");
    for (const r of await Promise.all(slow)) {
      if (r === "timeout") {
        failures.push("a partial body got no answer within 6 s (request_timeout_s is 3)");
      } else if (r !== "closed") {
        const bad = judge(
          "partial body",
          r.status,
          r.contentType,
          r.text,
          (st) => st === 408 || st === 400,
        );
        if (bad) failures.push(bad);
      }
    }
    await goodRequestSucceeds(s, failures, "the slow partial bodies");
    // Clients that left mid-body are the clients' fault, not server errors (500) in the metrics.
    const after = await (await fetch(`${s.url}/metrics`)).text();
    const serverErrors = after.split("\n").filter((l) => l.includes('error_code="500"'));
    assert.deepEqual(serverErrors, []);
    const status = s.status();
    const d = Object.values(Object.values(status.applications)[0].deployments)[0];
    assert.equal(d.replica_states.RUNNING, 2, JSON.stringify(d.replica_states));
    // The same replicas: none crashed and was replaced along the way.
    assert.deepEqual(runningReplicaIds(s), replicasAtStart);
  } finally {
    await s.shutdown();
  }
  assert.deepEqual(failures, []);
});

/** Small real images of every accepted format, noise inside. */
async function seedImages(rng: Rng): Promise<{ type: string; bytes: Uint8Array<ArrayBuffer> }[]> {
  const raw = { raw: { width: 41, height: 29, channels: 3 as const } };
  const noise = Buffer.from(rng.bytes(41 * 29 * 3));
  const list = [
    { type: "image/jpeg", bytes: await sharp(noise, raw).jpeg().toBuffer() },
    { type: "image/png", bytes: await sharp(noise, raw).png().toBuffer() },
    { type: "image/gif", bytes: await sharp(noise, raw).gif().toBuffer() },
    { type: "image/webp", bytes: await sharp(noise, raw).webp().toBuffer() },
  ];
  return list.map((i) => ({ type: i.type, bytes: new Uint8Array(i.bytes) }));
}

Deno.test({
  name:
    "a decoding model answers mutated JPEG/PNG/GIF/WebP uploads with 4xx JSON errors and keeps serving",
  async fn() {
    // A tiny ONNX classifier (channel means of a 32x32 NHWC input): every request is decoded
    // and preprocessed by sharp as with ResNet-50, at a fraction of the cost.
    const dir = await Deno.makeTempDir({ prefix: "serve_fuzz_" });
    const modelPath = `${dir}/channel_mean.onnx`;
    await Deno.writeFile(modelPath, channelMeanNhwc(32));
    const s = await serve(
      makeConfig({ num_replicas: 1, user_config: { model: modelPath, backend: "native" } }),
      { numCpus: 1 },
    );
    const replicasAtStart = runningReplicaIds(s);
    const rng = new Rng(0x1a9e5);
    const seeds = await seedImages(rng);
    const failures: string[] = [];
    const more = timeBudget(6_000);
    const decodeError = (st: number) => st === 200 || st === 413 || st === 415 || st === 422;
    try {
      for (const seed of seeds) {
        const r = await postImage(s.url, seed.bytes, { "content-type": seed.type });
        assert.equal(r.status, 200, `${seed.type} seed: ${r.text}`);
      }
      let n = 0;
      const seen = new Set<number>();
      for (; n < 300 && more() && failures.length < 5; n++) {
        const seed = seeds[n % seeds.length];
        const bytes = n % 10 === 9 ? rng.bytes(rng.int(500) + 1) : mutateBytes(rng, seed.bytes);
        const type = rng.int(4)
          ? seed.type
          : rng.pick(["image/png", "application/octet-stream", ""]);
        const res = await fetch(`${s.url}/?top=2`, {
          method: "POST",
          body: bytes,
          headers: type ? { "content-type": type } : {},
        });
        const text = await res.text();
        seen.add(res.status);
        const bad = judge(
          `image case ${n} (${seed.type})`,
          res.status,
          res.headers.get("content-type"),
          text,
          decodeError,
        );
        if (bad) failures.push(`${bad}\n  bytes (base64): ${btoa(String.fromCharCode(...bytes))}`);
      }
      assert.ok(n >= 30, `only ${n} image cases ran`);
      // Both outcomes happened: some mutants still decode, some reach the decoder and fail there.
      assert.ok(seen.has(200) && seen.has(422), `statuses seen: ${[...seen].join(", ")}`);
      await goodRequestSucceeds(s, failures, "the image cases");
      assert.deepEqual(runningReplicaIds(s), replicasAtStart, "a replica was replaced");
    } finally {
      await s.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
    assert.deepEqual(failures, []);
  },
});
