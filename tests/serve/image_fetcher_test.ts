/**
 * Tests of lib/serve/image_fetcher.ts: refused URIs and addresses, and a loopback image server
 * (explicitly allowed) that serves images, redirects, huge and slow bodies. Loopback only, no
 * external network, every server and connection closed before each test ends.
 */
import assert from "node:assert/strict";
import { fetchImage, ImageFetchError, isRefusedAddress } from "../../lib/serve/image_fetcher.ts";

// A valid 1x1 PNG (67 bytes).
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);
const PNG_BASE64 = btoa(String.fromCharCode(...PNG));
const fixturesDir = new URL("../../../shared/fixtures/", import.meta.url);
const dogJpgPath = new URL("dog.jpg", fixturesDir);
const haveDogJpg = (() => {
  try {
    return Deno.statSync(dogJpgPath).isFile;
  } catch {
    return false;
  }
})();
if (!haveDogJpg) console.warn(`skipping the dog.jpg test: ${dogJpgPath.pathname} not found`);

const LIMITS = { maxBytes: 1_000_000, timeoutMs: 3000 };

/** Runs `fn` and returns the ImageFetchError it throws (fails when it resolves). */
async function fetchError(
  uri: string,
  options: Partial<Parameters<typeof fetchImage>[1]> = {},
): Promise<ImageFetchError> {
  try {
    await fetchImage(uri, { ...LIMITS, allowedHosts: [], ...options });
  } catch (error) {
    if (error instanceof ImageFetchError) return error;
    throw error;
  }
  assert.fail(`fetchImage(${uri.slice(0, 80)}) resolved, expected an ImageFetchError`);
}

/** Starts a Deno.serve on 127.0.0.1:0, runs `fn(base)`, then shuts the server down. */
async function withServer(
  handler: (request: Request, base: string) => Response | Promise<Response>,
  fn: (base: string, port: number) => Promise<void>,
): Promise<void> {
  const stop = new AbortController();
  let base = "";
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: stop.signal, onListen() {} },
    (request) => handler(request, base),
  );
  base = `http://127.0.0.1:${server.addr.port}`;
  try {
    await fn(base, server.addr.port);
  } finally {
    stop.abort();
    await server.finished;
  }
}

/** A raw TCP server on 127.0.0.1:0 whose connections `onConn` handles; all closed at the end. */
async function withRawServer(
  onConn: (conn: Deno.Conn) => Promise<void>,
  fn: (port: number) => Promise<void>,
): Promise<void> {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const conns: Deno.Conn[] = [];
  const handlers: Promise<void>[] = [];
  const accepting = (async () => {
    try {
      for await (const conn of listener) {
        conns.push(conn);
        handlers.push(onConn(conn).catch(() => {}));
      }
    } catch {
      // listener closed
    }
  })();
  try {
    await fn(listener.addr.port);
  } finally {
    listener.close();
    for (const conn of conns) {
      try {
        conn.close();
      } catch {
        // closed by its handler
      }
    }
    await accepting;
    await Promise.all(handlers);
  }
}

Deno.test("isRefusedAddress() names the reason for every refused range", () => {
  const cases: [string, string | null][] = [
    ["127.0.0.1", "loopback"],
    ["127.255.0.9", "loopback"],
    ["10.1.2.3", "private"],
    ["172.16.0.1", "private"],
    ["172.31.255.255", "private"],
    ["192.168.1.1", "private"],
    ["169.254.169.254", "cloud metadata"],
    ["169.254.10.10", "link-local"],
    ["100.64.0.1", "CGNAT"],
    ["0.0.0.0", "unspecified"],
    ["255.255.255.255", "broadcast"],
    ["224.0.0.251", "multicast"],
    ["::1", "loopback"],
    ["[::1]", "loopback"],
    ["::", "unspecified"],
    ["fc00::1", "private"],
    ["fd12:3456::1", "private"],
    ["fd00:ec2::254", "cloud metadata"],
    ["fe80::1%eth0", "link-local"],
    ["ff02::1", "multicast"],
    ["::ffff:127.0.0.1", "IPv4-mapped IPv6 of loopback (127.0.0.1)"],
    ["::ffff:a9fe:a9fe", "IPv4-mapped IPv6 of cloud metadata (169.254.169.254)"],
    ["::127.0.0.1", "IPv4-compatible IPv6 of loopback (127.0.0.1)"],
    ["64:ff9b::10.0.0.1", "NAT64 IPv6 of private (10.0.0.1)"],
    ["2002:c0a8:101::", "6to4 IPv6 of private (192.168.1.1)"],
    ["2130706433", "loopback (127.0.0.1 written as 2130706433)"],
    ["0177.0.0.1", "loopback (127.0.0.1 written as 0177.0.0.1)"],
    ["0x7f000001", "loopback (127.0.0.1 written as 0x7f000001)"],
    ["127.1", "loopback (127.0.0.1 written as 127.1)"],
    ["localhost", "not an IP address"],
    ["", "not an IP address"],
    // Public addresses pass.
    ["8.8.8.8", null],
    ["172.32.0.1", null],
    ["1.1.1.1", null],
    ["2606:4700:4700::1111", null],
    ["::ffff:8.8.8.8", null],
  ];
  for (const [ip, reason] of cases) assert.equal(isRefusedAddress(ip), reason, `address ${ip}`);
});

Deno.test("fetchImage() refuses private, odd and unsupported URIs with 400", async () => {
  const cases: [string, string][] = [
    ["http://127.0.0.1/a.png", "refused_address"],
    ["http://10.1.2.3/a.png", "refused_address"],
    ["http://172.16.0.1/a.png", "refused_address"],
    ["http://192.168.1.1/a.png", "refused_address"],
    ["http://169.254.169.254/latest/meta-data/", "refused_address"],
    ["http://[::1]/a.png", "refused_address"],
    ["http://[::ffff:127.0.0.1]/a.png", "refused_address"],
    ["http://[fd00:ec2::254]/", "refused_address"],
    ["http://0.0.0.0/a.png", "refused_address"],
    ["http://2130706433/a.png", "refused_address"],
    ["http://0x7f000001/a.png", "refused_address"],
    ["http://0177.0.0.1/a.png", "refused_address"],
    ["http://127.1:8080/a.png", "refused_address"],
    ["https://100.64.0.1/a.png", "refused_address"],
    ["http://localhost/a.png", "refused_address"], // resolved by DNS to loopback
    ["http://LOCALHOST./a.png", "refused_address"],
    ["http://127.0.0.1./a.png", "refused_address"],
    ["http://0/a.png", "refused_address"],
    ["http://017700000001/a.png", "refused_address"],
    ["http://0x7f.1/a.png", "refused_address"],
    ["http://%31%32%37.0.0.1/a.png", "refused_address"],
    ["http://[0:0:0:0:0:ffff:7f00:1]/a.png", "refused_address"],
    ["http://[::127.0.0.1]/a.png", "refused_address"],
    ["http://[::ffff:169.254.169.254]/latest/meta-data/", "refused_address"],
    ["http://[fe80::1]/a.png", "refused_address"],
    ["http://224.0.0.1/a.png", "refused_address"],
    ["http://255.255.255.255/a.png", "refused_address"],
    ["http://127.0.0.1%2f@1.1.1.1/a.png", "bad_uri"], // credentials, not a host
    ["file:///etc/passwd", "unsupported_scheme"],
    ["ftp://example.com/a.png", "unsupported_scheme"],
    ["gopher://example.com/", "unsupported_scheme"],
    ["javascript:alert(1)", "unsupported_scheme"],
    ["blob:http://x/1", "unsupported_scheme"],
    ["not a url", "bad_uri"],
    ["http://", "bad_uri"],
    ["http://[::1/a.png", "bad_uri"],
    ["http://exa mple.com/", "bad_uri"],
    ["http://user:pw@1.1.1.1/a.png", "bad_uri"],
    ["", "bad_uri"],
    ["   ", "bad_uri"],
    [`http://example.com/${"a".repeat(10_000)}`, "uri_too_long"],
  ];
  for (const [uri, code] of cases) {
    const error = await fetchError(uri);
    assert.equal(error.status, 400, `${uri.slice(0, 60)}: ${error.message}`);
    assert.equal(error.code, code, `${uri.slice(0, 60)}: ${error.message}`);
  }
  const metadata = await fetchError("http://169.254.169.254/latest/meta-data/");
  assert.match(metadata.message, /cloud metadata/);
  const decimal = await fetchError("http://2130706433/");
  assert.match(decimal.message, /loopback/);
});

Deno.test("fetchImage() refuses a host name when any of its addresses is private", async () => {
  const error = await fetchError("http://images.example.test/a.png", {
    resolveHost: () => Promise.resolve(["93.184.215.14", "10.0.0.7"]),
  });
  assert.equal(error.status, 400);
  assert.equal(error.code, "refused_address");
  assert.match(error.message, /images\.example\.test resolves to 10\.0\.0\.7/);
});

Deno.test("fetchImage() reports DNS failure as 502 and a DNS timeout as 504", async () => {
  const failed = await fetchError("http://nowhere.example.test/", {
    resolveHost: () => Promise.reject(new Deno.errors.NotFound("no such host")),
  });
  assert.equal(failed.status, 502);
  assert.equal(failed.code, "dns_failure");

  const started = performance.now();
  const slow = await fetchError("http://slow-dns.example.test/", {
    connectTimeoutMs: 100,
    resolveHost: (_host, signal) =>
      new Promise((_resolve, reject) =>
        signal.addEventListener("abort", () => reject(signal.reason))
      ),
  });
  assert.equal(slow.status, 504);
  assert.equal(slow.code, "connect_timeout");
  assert.ok(performance.now() - started < 2000, "gave up on DNS within the connect timeout");
});

Deno.test("fetchImage() fetches a PNG and a JPEG from an allowed loopback host", async () => {
  const jpeg = haveDogJpg
    ? await Deno.readFile(dogJpgPath)
    : new Uint8Array([0xff, 0xd8, 0xff, 0xe0, 0, 16, 0x4a, 0x46, 0x49, 0x46, 0, 1, 1]);
  await withServer(
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/dog.jpg") {
        return new Response(jpeg, { headers: { "content-type": "image/jpeg" } });
      }
      // Chunked (streamed) body and a misleading Content-Type: the bytes decide.
      if (path === "/dot.png") {
        return new Response(ReadableStream.from([PNG.slice(0, 5), PNG.slice(5)]), {
          headers: { "content-type": "text/plain" },
        });
      }
      return new Response("not found", { status: 404 });
    },
    async (base, port) => {
      const allowedHosts = [`127.0.0.1:${port}`];
      assert.deepEqual(await fetchImage(`${base}/dog.jpg`, { ...LIMITS, allowedHosts }), jpeg);
      assert.deepEqual(await fetchImage(`${base}/dot.png`, { ...LIMITS, allowedHosts }), PNG);
      // A host name entry: resolved through DNS (localhost resolves locally), then allowed.
      assert.deepEqual(
        await fetchImage(`http://localhost:${port}/dot.png`, {
          ...LIMITS,
          allowedHosts: [`LOCALHOST:${port}`],
        }),
        PNG,
      );
      // The allowance is for that port only.
      const otherPort = await fetchError(`${base}/dot.png`, {
        allowedHosts: [`127.0.0.1:${port === 65535 ? 1 : port + 1}`],
      });
      assert.equal(otherPort.code, "refused_address");
    },
  );
});

Deno.test("fetchImage() re-checks every redirect hop and stops after 5", async () => {
  await withServer(
    (request, base) => {
      const url = new URL(request.url);
      const hop = Number(url.searchParams.get("hops") ?? 0);
      switch (url.pathname) {
        case "/chain": // redirects `hops` times, then serves the image
          return hop > 0
            ? Response.redirect(`${base}/chain?hops=${hop - 1}`, 302)
            : new Response(PNG);
        case "/relative":
          return new Response(null, { status: 301, headers: { location: "/chain?hops=0" } });
        case "/to-private":
          return Response.redirect("http://10.1.2.3/a.png", 307);
        case "/to-metadata":
          return Response.redirect("http://169.254.169.254/latest/meta-data/", 302);
        case "/to-localhost":
          return Response.redirect(`http://localhost:${url.port}/chain?hops=0`, 302);
        case "/to-file":
          return Response.redirect("file:///etc/passwd", 302);
        case "/no-location":
          return new Response(null, { status: 302 });
      }
      return new Response("not found", { status: 404 });
    },
    async (base, port) => {
      const options = { ...LIMITS, allowedHosts: [`127.0.0.1:${port}`] };
      assert.deepEqual(await fetchImage(`${base}/chain?hops=5`, options), PNG);
      assert.deepEqual(await fetchImage(`${base}/relative`, options), PNG);

      const six = await fetchError(`${base}/chain?hops=6`, options);
      assert.equal(six.status, 502);
      assert.equal(six.code, "too_many_redirects");
      const none = await fetchError(`${base}/chain?hops=1`, { ...options, maxRedirects: 0 });
      assert.equal(none.code, "too_many_redirects");

      // The first host is allowed; the redirect targets are not.
      for (const path of ["/to-private", "/to-metadata", "/to-localhost"]) {
        const error = await fetchError(`${base}${path}`, options);
        assert.equal(error.status, 400, `${path}: ${error.message}`);
        assert.equal(error.code, "refused_address", `${path}: ${error.message}`);
      }
      const file = await fetchError(`${base}/to-file`, options);
      assert.equal(file.status, 400);
      assert.equal(file.code, "unsupported_scheme");
      const noLocation = await fetchError(`${base}/no-location`, options);
      assert.equal(noLocation.status, 502);
    },
  );
});

Deno.test("fetchImage() stops reading a 100 MB response early with 413", async () => {
  const total = 100 * 1024 * 1024;
  const chunk = new Uint8Array(64 * 1024);
  chunk.set(PNG.subarray(0, 16));
  let produced = 0;
  await withServer(
    () =>
      new Response(
        new ReadableStream<Uint8Array>({
          pull(controller) {
            if (produced >= total) return controller.close();
            controller.enqueue(produced === 0 ? chunk : new Uint8Array(chunk.length));
            produced += chunk.length;
          },
        }),
        { headers: { "content-type": "image/png" } },
      ),
    async (base, port) => {
      const error = await fetchError(`${base}/huge.png`, {
        maxBytes: 1_000_000,
        allowedHosts: [`127.0.0.1:${port}`],
      });
      assert.equal(error.status, 413);
      assert.equal(error.code, "too_large");
    },
  );
  assert.ok(produced < 20 * 1024 * 1024, `server produced ${produced} bytes of 100 MB`);
});

Deno.test("fetchImage() refuses a Content-Length over the limit before reading the body", async () => {
  // Declares 1 GB, sends a PNG header and then nothing: only the declared length can tell.
  await withRawServer(
    async (conn) => {
      await conn.read(new Uint8Array(4096));
      await conn.write(new TextEncoder().encode(
        "HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: 1000000000\r\n\r\n",
      ));
      await conn.write(PNG.subarray(0, 16));
    },
    async (port) => {
      const started = performance.now();
      const error = await fetchError(`http://127.0.0.1:${port}/big.png`, {
        allowedHosts: [`127.0.0.1:${port}`],
      });
      assert.equal(error.status, 413);
      assert.match(error.message, /Content-Length/);
      assert.ok(performance.now() - started < LIMITS.timeoutMs, "answered before the timeout");
    },
  );
});

Deno.test("fetchImage() checks magic bytes, not Content-Type, and maps upstream errors to 502", async () => {
  await withServer(
    (request) => {
      const path = new URL(request.url).pathname;
      if (path === "/text") {
        return new Response("<!DOCTYPE html><p>not an image</p>", {
          headers: { "content-type": "image/png" },
        });
      }
      if (path === "/empty") return new Response(null, { status: 200 });
      if (path === "/boom") return new Response("internal error", { status: 500 });
      return new Response("not found", { status: 404 });
    },
    async (base, port) => {
      const options = { allowedHosts: [`127.0.0.1:${port}`] };
      const text = await fetchError(`${base}/text`, options);
      assert.equal(text.status, 415);
      assert.equal(text.code, "not_an_image");
      assert.match(text.message, /"<!DOCTYP"/);
      assert.equal((await fetchError(`${base}/empty`, options)).status, 415);
      const boom = await fetchError(`${base}/boom`, options);
      assert.equal(boom.status, 502);
      assert.equal(boom.code, "upstream_status");
      assert.match(boom.message, /500/);
      assert.equal((await fetchError(`${base}/missing`, options)).status, 502);
    },
  );
});

Deno.test("fetchImage() gives 502 when the connection is refused", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  const error = await fetchError(`http://127.0.0.1:${port}/a.png`, {
    allowedHosts: [`127.0.0.1:${port}`],
  });
  assert.equal(error.status, 502);
  assert.equal(error.code, "connection_refused");
});

Deno.test("fetchImage() gives 504 within timeoutMs when the server never answers", async () => {
  await withRawServer(
    async (conn) => {
      // Read the request, then hold the connection open without answering.
      const buffer = new Uint8Array(4096);
      while ((await conn.read(buffer)) !== null) { /* wait for close */ }
    },
    async (port) => {
      const started = performance.now();
      const error = await fetchError(`http://127.0.0.1:${port}/slow.png`, {
        timeoutMs: 300,
        allowedHosts: [`127.0.0.1:${port}`],
      });
      const elapsedMs = performance.now() - started;
      assert.equal(error.status, 504);
      assert.equal(error.code, "timeout");
      assert.ok(elapsedMs >= 250 && elapsedMs < 1500, `gave up after ${elapsedMs.toFixed(0)} ms`);
    },
  );
});

Deno.test("fetchImage() gives 504 when a body trickles past timeoutMs", async () => {
  await withRawServer(
    async (conn) => {
      await conn.read(new Uint8Array(4096));
      await conn.write(new TextEncoder().encode("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n"));
      await conn.write(PNG.subarray(0, 16)); // then stalls
      const buffer = new Uint8Array(16);
      while ((await conn.read(buffer)) !== null) { /* wait for close */ }
    },
    async (port) => {
      const error = await fetchError(`http://127.0.0.1:${port}/trickle.png`, {
        timeoutMs: 300,
        allowedHosts: [`127.0.0.1:${port}`],
      });
      assert.equal(error.status, 504);
    },
  );
});

Deno.test("fetchImage() can be cancelled by the caller's signal", async () => {
  await withRawServer(
    async (conn) => {
      const buffer = new Uint8Array(4096);
      while ((await conn.read(buffer)) !== null) { /* never answer */ }
    },
    async (port) => {
      const controller = new AbortController();
      const pending = fetchError(`http://127.0.0.1:${port}/a.png`, {
        allowedHosts: [`127.0.0.1:${port}`],
        signal: controller.signal,
      });
      setTimeout(() => controller.abort(), 50);
      const error = await pending;
      assert.equal(error.status, 504);
      assert.equal(error.code, "cancelled");
    },
  );
});

Deno.test("fetchImage() decodes data: URIs and refuses bad, huge and non-image ones", async () => {
  const options = { ...LIMITS, allowedHosts: [] };
  assert.deepEqual(await fetchImage(`data:image/png;base64,${PNG_BASE64}`, options), PNG);
  // Line-wrapped and unpadded base64, and a percent-encoded (non-base64) payload.
  const wrapped = PNG_BASE64.replace(/=+$/, "").replace(/(.{20})/g, "$1\n");
  assert.deepEqual(await fetchImage(`data:;base64,${wrapped}`, options), PNG);
  const percent = Array.from(PNG, (b) => `%${b.toString(16).padStart(2, "0")}`).join("");
  assert.deepEqual(await fetchImage(`data:image/png,${percent}`, options), PNG);

  const cases: [string, number, string, Partial<typeof options>?][] = [
    ["data:image/png;base64,iVBOR!!!w0KGgo", 400, "bad_data_uri"],
    ["data:image/png;base64,iVBORw0KG", 400, "bad_data_uri"], // 9 characters: not base64
    ["data:image/png;base64", 400, "bad_data_uri"], // no comma
    ["data:image/png,%zz%00", 400, "bad_data_uri"],
    [`data:image/png;base64,${btoa("this is text, not an image")}`, 415, "not_an_image"],
    ["data:text/plain,hello", 415, "not_an_image"],
    ["data:image/png;base64,", 415, "not_an_image"],
    [`data:image/png;base64,${PNG_BASE64}`, 413, "too_large", { maxBytes: 40 }],
    [`data:image/png;base64,${"A".repeat(5_000_000)}`, 413, "too_large"],
    [`data:image/png,${"%00".repeat(1000)}`, 413, "too_large", { maxBytes: 500 }],
  ];
  for (const [uri, status, code, extra] of cases) {
    const error = await fetchError(uri, extra);
    assert.equal(error.status, status, `${uri.slice(0, 50)}: ${error.message}`);
    assert.equal(error.code, code, `${uri.slice(0, 50)}: ${error.message}`);
  }
});

Deno.test("fetchImage() rejects bad options with a TypeError naming the option", async () => {
  await assert.rejects(
    fetchImage("http://1.1.1.1/", { ...LIMITS, allowedHosts: ["http://x/"] }),
    (error: Error) =>
      error instanceof TypeError && /allowedHosts entry "http:\/\/x\/"/.test(error.message),
  );
  await assert.rejects(
    fetchImage("http://1.1.1.1/", { maxBytes: 0, timeoutMs: 1000, allowedHosts: [] }),
    (error: Error) => error instanceof TypeError && /maxBytes/.test(error.message),
  );
});

Deno.test("fetchImage() handles odd and broken HTTP/1.1 answers", async () => {
  const text = (s: string) => new TextEncoder().encode(s);
  const join = (...parts: Uint8Array[]) => {
    const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
    parts.reduce((at, p) => (out.set(p, at), at + p.length), 0);
    return out;
  };
  const hex = PNG.length.toString(16);
  const cases: [string, Uint8Array, number | "ok", string?][] = [
    [
      "interim 100 and 103 answers are skipped",
      join(
        text("HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </x>\r\n\r\n"),
        text(`HTTP/1.1 200 OK\r\nContent-Length: ${PNG.length}\r\n\r\n`),
        PNG,
      ),
      "ok",
    ],
    ["body until close", join(text("HTTP/1.0 200 OK\r\n\r\n"), PNG), "ok"],
    [
      "chunked with extensions",
      join(
        text(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${hex};x=1\r\n`),
        PNG,
        text("\r\n0\r\n\r\n"),
      ),
      "ok",
    ],
    [
      "a huge declared chunk",
      join(
        text("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n10\r\n"),
        PNG.subarray(0, 16),
        text("\r\nfffffff\r\n"),
      ),
      413,
      "too_large",
    ],
    ["not HTTP", text("SSH-2.0-OpenSSH_9.6\r\n\r\n"), 502, "upstream_protocol"],
    [
      "conflicting Content-Length",
      text("HTTP/1.1 200 OK\r\nContent-Length: 10\r\nContent-Length: 20\r\n\r\n"),
      502,
      "upstream_protocol",
    ],
    [
      "gzip body",
      join(text("HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\n\r\n"), PNG),
      502,
      "upstream_protocol",
    ],
    [
      "gzip transfer coding",
      text("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n"),
      502,
      "upstream_protocol",
    ],
    [
      "endless headers",
      text(`HTTP/1.1 200 OK\r\n${"X-Pad: aaaaaaaaaaaaaaaaaaaaaaaa\r\n".repeat(3000)}`),
      502,
      "upstream_protocol",
    ],
    [
      "body cut short",
      join(text("HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n"), PNG),
      502,
      "upstream_protocol",
    ],
    ["closed before answering", new Uint8Array(0), 502, "upstream_protocol"],
    [
      "switching protocols",
      text("HTTP/1.1 101 Switching Protocols\r\n\r\n"),
      502,
      "upstream_status",
    ],
  ];
  for (const [what, answer, expected, code] of cases) {
    await withRawServer(
      async (conn) => {
        await conn.read(new Uint8Array(4096));
        try {
          await conn.write(answer);
        } finally {
          conn.close();
        }
      },
      async (port) => {
        const uri = `http://127.0.0.1:${port}/x.png`;
        const options = { ...LIMITS, maxBytes: 100_000, allowedHosts: [`127.0.0.1:${port}`] };
        if (expected === "ok") {
          assert.deepEqual(await fetchImage(uri, options), PNG, what);
          return;
        }
        const error = await fetchError(uri, options);
        assert.equal(error.status, expected, `${what}: ${error.message}`);
        assert.equal(error.code, code, `${what}: ${error.message}`);
      },
    );
  }
});

/** Whether this machine can listen on the IPv6 loopback (containers often have none). */
function haveIpv6Loopback(): boolean {
  try {
    Deno.listen({ hostname: "::1", port: 0 }).close();
    return true;
  } catch {
    return false;
  }
}

const ipv6Loopback = haveIpv6Loopback();
if (!ipv6Loopback) {
  console.warn("ignoring the IPv6 fetch test: this machine has no ::1 to listen on");
}

Deno.test({
  name: "fetchImage() connects to an IPv6 loopback host when it is allowed",
  ignore: !ipv6Loopback,
}, async (t) => {
  const listener = Deno.listen({ hostname: "::1", port: 0 });
  const port = (listener.addr as Deno.NetAddr).port;
  const serving = (async () => {
    const conn = await listener.accept();
    await conn.read(new Uint8Array(4096));
    await conn.write(
      new TextEncoder().encode(`HTTP/1.1 200 OK\r\nContent-Length: ${PNG.length}\r\n\r\n`),
    );
    await conn.write(PNG);
    conn.close();
  })();
  try {
    await t.step("refused without an allowance", async () => {
      const error = await fetchError(`http://[::1]:${port}/a.png`);
      assert.equal(error.code, "refused_address");
    });
    await t.step("fetched with [::1]:port allowed", async () => {
      const bytes = await fetchImage(`http://[::1]:${port}/a.png`, {
        ...LIMITS,
        allowedHosts: [`[::1]:${port}`],
      });
      assert.deepEqual(bytes, PNG);
    });
  } finally {
    await serving;
    listener.close();
  }
});

Deno.test("fetchImage() connects to the address it checked and sends the URL's Host", async () => {
  // "img.test" exists in no DNS: the fetch can only work if the connection goes to the address
  // the (injected) resolver returned, i.e. nothing resolves the name a second time.
  const lookups: string[] = [];
  await withServer(
    (request) =>
      request.headers.get("host") === new URL(request.url).host
        ? new Response(PNG)
        : new Response("wrong host", { status: 421 }),
    async (_base, port) => {
      const bytes = await fetchImage(`http://img.test:${port}/a.png`, {
        ...LIMITS,
        allowedHosts: [`img.test:${port}`],
        resolveHost: (host) => {
          lookups.push(host);
          return Promise.resolve(["127.0.0.1"]);
        },
      });
      assert.deepEqual(bytes, PNG);
    },
  );
  assert.deepEqual(lookups, ["img.test"]);
});

Deno.test("fetchImage() falls back to the next checked address when one refuses", async () => {
  await withServer(
    () => new Response(PNG),
    async (_base, port) => {
      // Nothing listens on [::1]:port (the server is on 127.0.0.1 only), so the first refuses.
      const bytes = await fetchImage(`http://two-homed.test:${port}/a.png`, {
        maxBytes: 1000,
        timeoutMs: 1e12, // a huge timeout must not overflow into "fire at once"
        allowedHosts: [`two-homed.test:${port}`],
        resolveHost: () => Promise.resolve(["::1", "127.0.0.1"]),
      });
      assert.deepEqual(bytes, PNG);
    },
  );
});
