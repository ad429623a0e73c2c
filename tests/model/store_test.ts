import assert from "node:assert/strict";
import { ModelError, PRETRAINED_RESNET50, resolveModel, sha256Hex } from "../../lib/model/mod.ts";

/** A loopback server: `/good` the payload, `/stall` half of it then silence, `/missing` 404. */
function startServer(payload: Uint8Array<ArrayBuffer>) {
  const hits: string[] = [];
  const stalls: ReadableStreamDefaultController<Uint8Array<ArrayBuffer>>[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, (req) => {
    const path = new URL(req.url).pathname;
    hits.push(path);
    if (path.startsWith("/good")) return new Response(payload);
    if (path === "/stall") {
      const body = new ReadableStream<Uint8Array<ArrayBuffer>>({
        start(c) {
          c.enqueue(payload.subarray(0, payload.length >> 1));
          stalls.push(c); // never closed until shutdown
        },
      });
      return new Response(body, { headers: { "content-length": String(payload.length) } });
    }
    return new Response("not here", { status: 404 });
  });
  const base = `http://127.0.0.1:${server.addr.port}`;
  return {
    base,
    hits,
    async close() {
      for (const c of stalls) {
        try {
          c.close();
        } catch { /* closed already */ }
      }
      await server.shutdown();
    },
  };
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  try {
    for await (const e of Deno.readDir(dir)) {
      if (e.isDirectory) {
        out.push(...(await listFiles(`${dir}/${e.name}`)).map((n) => `${e.name}/${n}`));
      } else out.push(e.name);
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return out.sort();
}

const payload = new Uint8Array(300_000).map((_, i) => (i * 7919) & 0xff);
const payloadSha = sha256Hex(payload);

Deno.test("resolveModel({url, sha256}) downloads once with progress, verifies and caches", async () => {
  const server = startServer(payload);
  const cacheDir = await Deno.makeTempDir();
  try {
    const progress: number[] = [];
    const spec = {
      kind: "url" as const,
      url: `${server.base}/good/model.onnx`,
      sha256: payloadSha,
    };
    const a = await resolveModel(spec, { cacheDir, onProgress: (p) => progress.push(p.done) });
    assert.deepEqual(a.bytes, payload);
    assert.equal(a.sha256, payloadSha);
    assert.equal(a.name, "model.onnx");
    assert.equal(progress.at(-1), payload.length);
    const b = await resolveModel(spec, { cacheDir });
    assert.deepEqual(b.bytes, payload);
    assert.deepEqual(server.hits, ["/good/model.onnx"], "second resolve came from the cache");
    assert.deepEqual(await listFiles(cacheDir), [
      `downloads/${payloadSha.slice(0, 16)}-model.onnx`,
    ]);
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("a download with the wrong sha256 fails with checksum_mismatch and leaves no file", async () => {
  const server = startServer(payload);
  const cacheDir = await Deno.makeTempDir();
  try {
    const wrong = "0".repeat(64);
    await assert.rejects(
      resolveModel({ kind: "url", url: `${server.base}/good/m.onnx`, sha256: wrong }, { cacheDir }),
      (e: unknown) =>
        e instanceof ModelError && e.code === "checksum_mismatch" &&
        e.message.includes(payloadSha) && e.message.includes("discarded"),
    );
    assert.deepEqual(await listFiles(cacheDir), []);
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("a download that stalls half-way is aborted and leaves no partial file", async () => {
  const server = startServer(payload);
  const cacheDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      resolveModel({ kind: "url", url: `${server.base}/stall`, sha256: payloadSha }, {
        cacheDir,
        downloadStallTimeoutMs: 300,
      }),
      (e: unknown) =>
        e instanceof ModelError && e.code === "download_failed" &&
        /no data for 0.3 s/.test(e.message),
    );
    assert.deepEqual(await listFiles(cacheDir), []);
  } finally {
    await server.close();
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("an unreachable or missing URL fails fast with a how-to-proceed message", async () => {
  const server = startServer(payload);
  const cacheDir = await Deno.makeTempDir();
  try {
    await assert.rejects(
      resolveModel({ kind: "url", url: `${server.base}/missing.onnx`, sha256: payloadSha }, {
        cacheDir,
      }),
      (e: unknown) =>
        e instanceof ModelError && e.code === "download_failed" && /HTTP 404/.test(e.message) &&
        /To proceed without network/.test(e.message),
    );
  } finally {
    await server.close();
  }
  // The server is gone now: connection refused.
  const t0 = performance.now();
  await assert.rejects(
    resolveModel({ kind: "url", url: `${server.base}/good/x.onnx`, sha256: payloadSha }, {
      cacheDir,
    }),
    (e: unknown) =>
      e instanceof ModelError && e.code === "download_failed" && /\{path: /.test(e.message),
  );
  assert.ok(performance.now() - t0 < 5000);
  assert.deepEqual(await listFiles(cacheDir), []);
  await Deno.remove(cacheDir, { recursive: true });
});

Deno.test("resolveModel('resnet50') refuses a cached 'pretrained' file whose sha256 is wrong", async () => {
  const cacheDir = await Deno.makeTempDir();
  try {
    await Deno.writeFile(`${cacheDir}/${PRETRAINED_RESNET50.file}`, payload);
    await assert.rejects(
      resolveModel({ kind: "resnet50" }, { cacheDir }),
      (e: unknown) =>
        e instanceof ModelError && e.code === "checksum_mismatch" &&
        /download-model/.test(e.message),
    );
  } finally {
    await Deno.remove(cacheDir, { recursive: true });
  }
});

Deno.test("deno task download-model fails cleanly (exit 1, message, no file) when the bytes do not match", async () => {
  const server = startServer(payload);
  const cacheDir = await Deno.makeTempDir();
  try {
    const script = new URL("../../scripts/download_model.ts", import.meta.url).pathname;
    const run = (url: string) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "--allow-all", script, "--cache-dir", cacheDir, "--url", url],
        stdout: "piped",
        stderr: "piped",
      }).output();
    const bad = await run(`${server.base}/good/resnet50.onnx`);
    assert.equal(bad.code, 1);
    const err = new TextDecoder().decode(bad.stderr);
    assert.match(err, new RegExp(`expected ${PRETRAINED_RESNET50.sha256}`));
    assert.deepEqual(await listFiles(cacheDir), []);
    await server.close();
    const offline = await run(`${server.base}/good/resnet50.onnx`); // server gone
    assert.equal(offline.code, 1);
    assert.match(new TextDecoder().decode(offline.stderr), /To proceed without network/);
    assert.deepEqual(await listFiles(cacheDir), []);
  } finally {
    await server.close().catch(() => {});
    await Deno.remove(cacheDir, { recursive: true });
  }
});
