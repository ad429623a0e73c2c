import assert from "node:assert/strict";
import { makeConfig, postImage, serve, TINY_PNG } from "./_helpers.ts";

/** A local image server with the misbehaviours the table needs. */
function startImageServer() {
  let release!: () => void;
  const hang = new Promise<void>((r) => release = r);
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, async (req) => {
    const path = new URL(req.url).pathname;
    if (path === "/tiny.png") {
      return new Response(TINY_PNG, { headers: { "content-type": "image/png" } });
    }
    if (path === "/redirect-private") {
      return new Response(null, { status: 302, headers: { location: "http://10.0.0.1/x.png" } });
    }
    if (path === "/hang") {
      await hang;
      return new Response("late");
    }
    if (path === "/huge") {
      let sent = 0;
      const chunk = new Uint8Array(64 * 1024);
      chunk.set(TINY_PNG.subarray(0, 8));
      const body = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent >= 100 * 1024 * 1024) return controller.close();
          controller.enqueue(sent === 0 ? chunk : new Uint8Array(64 * 1024));
          sent += chunk.length;
        },
      });
      return new Response(body, { headers: { "content-type": "image/png" } });
    }
    return new Response("not here", { status: 404 });
  });
  return {
    port: server.addr.port,
    async close() {
      release();
      await server.shutdown();
    },
  };
}

type Row = {
  name: string;
  status: number;
  body?: string | Uint8Array<ArrayBuffer>;
  contentType?: string;
  method?: string;
  path?: string;
};

Deno.test("a table of bad requests gets the right status and a JSON error, and the service keeps answering", async () => {
  const images = startImageServer();
  const s = await serve(
    makeConfig({
      num_replicas: 1,
      user_config: {
        model: "noop",
        max_image_bytes: 1_000_000,
        image_fetch_timeout_s: 1,
        allowed_image_hosts: [`127.0.0.1:${images.port}`],
      },
    }),
    { numCpus: 1 },
  );
  const local = `http://127.0.0.1:${images.port}`;
  const uri = (u: unknown) => JSON.stringify({ uri: u });
  const deep = "[".repeat(200_000) + "]".repeat(200_000);
  const rows: Row[] = [
    { name: "malformed JSON", status: 400, body: "{bad" },
    { name: "JSON array body", status: 400, body: "[]" },
    { name: "JSON null body", status: 400, body: "null" },
    { name: "JSON number body", status: 400, body: "42" },
    { name: "JSON string body", status: 400, body: '"http://x/y.png"' },
    { name: "JSON boolean body", status: 400, body: "true" },
    { name: "object without uri", status: 400, body: "{}" },
    { name: "uri is a number", status: 400, body: uri(7) },
    { name: "uri is null", status: 400, body: uri(null) },
    { name: "uri is an array", status: 400, body: uri(["http://x/y.png"]) },
    { name: "uri is an object", status: 400, body: uri({ href: "http://x/y.png" }) },
    { name: "uri is a boolean", status: 400, body: uri(false) },
    { name: "uri is empty", status: 400, body: uri("") },
    { name: "deeply nested JSON", status: 400, body: deep },
    { name: "deeply nested uri", status: 400, body: `{"uri":${deep}}` },
    { name: "gigantic JSON", status: 413, body: `{"uri":"${"a".repeat(3_000_000)}"}` },
    { name: "invalid UTF-8 JSON", status: 400, body: Uint8Array.of(0x7b, 0xff, 0xfe, 0x7d) },
    { name: "empty body", status: 400, body: "" },
    { name: "unknown path", status: 404, path: "/nope" },
    { name: "GET on the classify route", status: 405, method: "GET" },
    { name: "PUT on the classify route", status: 405, method: "PUT" },
    { name: "POST on /api/status", status: 405, method: "POST", path: "/api/status" },
    {
      name: "raw image over the limit",
      status: 413,
      contentType: "image/png",
      body: new Uint8Array(1_000_001),
    },
    { name: "text/plain body", status: 415, contentType: "text/plain", body: "a picture of a dog" },
    {
      name: "image/png that is not an image",
      status: 415,
      contentType: "image/png",
      body: "not a png",
    },
    { name: "top=0", status: 400, path: "/?top=0", contentType: "image/png", body: TINY_PNG },
    { name: "top=abc", status: 400, path: "/?top=abc", contentType: "image/png", body: TINY_PNG },
    // Number() would read these as 16, 100, 3 and 3: top takes plain decimal digits only.
    ...["0x10", "1e2", "%203", "3.0", "+3", "0003"].map((top) => ({
      name: `top=${top}`,
      status: 400,
      path: `/?top=${top}`,
      contentType: "image/png",
      body: TINY_PNG,
    })),
    {
      name: "format=xml",
      status: 400,
      path: "/?format=xml",
      contentType: "image/png",
      body: TINY_PNG,
    },
    {
      name: "data: URI that is not an image",
      status: 415,
      body: uri("data:text/plain;base64,aGVsbG8="),
    },
    {
      name: "URI to 127.0.0.1 (not allowed port)",
      status: 400,
      body: uri("http://127.0.0.1:9/x.png"),
    },
    { name: "URI to 10.x", status: 400, body: uri("http://10.1.2.3/x.png") },
    {
      name: "URI to cloud metadata",
      status: 400,
      body: uri("http://169.254.169.254/latest/meta-data/"),
    },
    { name: "URI to IPv6 loopback", status: 400, body: uri("http://[::1]:9/x.png") },
    { name: "redirect to a private address", status: 400, body: uri(`${local}/redirect-private`) },
    { name: "file: URI", status: 400, body: uri("file:///etc/passwd") },
    { name: "ftp: URI", status: 400, body: uri("ftp://example.com/dog.jpg") },
    { name: "upstream 404", status: 502, body: uri(`${local}/missing.png`) },
    { name: "upstream never answers", status: 504, body: uri(`${local}/hang`) },
    { name: "100 MB response", status: 413, body: uri(`${local}/huge`) },
  ];
  try {
    const failures: string[] = [];
    for (const row of rows) {
      const res = await fetch(s.url + (row.path ?? "/"), {
        method: row.method ?? "POST",
        body: row.method === "GET" ? undefined : row.body ?? undefined,
        headers: row.body !== undefined
          ? { "content-type": row.contentType ?? "application/json" }
          : {},
      });
      const text = await res.text();
      let body: Record<string, unknown> | null = null;
      try {
        body = JSON.parse(text);
      } catch { /* reported below */ }
      const ok = res.status === row.status &&
        res.headers.get("content-type") === "application/json" &&
        typeof body?.error === "string" && typeof body?.detail === "string" &&
        (body.detail as string).length > 10;
      if (!ok) {
        failures.push(
          `${row.name}: expected ${row.status} JSON error, got ${res.status} ${text.slice(0, 200)}`,
        );
      }
      // The service keeps answering good requests after every bad one.
      const good = await postImage(s.url);
      if (good.status !== 200) {
        failures.push(`after "${row.name}": good request got ${good.status}`);
      }
    }
    assert.ok(rows.length >= 25);
    assert.deepEqual(failures, []);
    const metrics = await (await fetch(`${s.url}/metrics`)).text();
    assert.match(
      metrics,
      /ray_serve_num_http_error_requests_total\{route="\/",error_code="400",method="POST",application="default"\} \d+/,
    );
  } finally {
    await s.shutdown();
    await images.close();
  }
});
