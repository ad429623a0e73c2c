/**
 * https tests of lib/serve/image_fetcher.ts: the fetcher connects to the checked IP address but
 * runs TLS with the URL's host name, so SNI and certificate verification still apply. Uses a
 * loopback server with a test CA and a certificate for `localhost` only (generated once with
 * openssl, valid until 2126; test-only keys, never used elsewhere).
 */
import assert from "node:assert/strict";
import { fetchImage, ImageFetchError } from "../../lib/serve/image_fetcher.ts";

const TEST_CA = `-----BEGIN CERTIFICATE-----
MIIBpzCCAU2gAwIBAgIUHtA2ZYdQE+VzN9haG4mXLoltg3IwCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVYXV0b3NjYWxlLWxhYiB0ZXN0IENBMCAXDTI2MTEyOTE2NTM0
MVoYDzIxMjYxMTA1MTY1MzQxWjAgMR4wHAYDVQQDDBVhdXRvc2NhbGUtbGFiIHRl
c3QgQ0EwWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAARa3FsQKTTm/tmwo2WLnp4f
zEgr5K/PsqgqfslBAxmu0lp1l4EsZPb5DfVkTTYvo3zcfWlbrsSmyAE1zbEtMArE
o2MwYTAdBgNVHQ4EFgQUKKwjLg9IWjabKvTwDZCNJORNiiEwHwYDVR0jBBgwFoAU
KKwjLg9IWjabKvTwDZCNJORNiiEwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8E
BAMCAgQwCgYIKoZIzj0EAwIDSAAwRQIgEyIOBVnmU5cSklneLpjS78YdHtrlL8Z0
X59a8bdAq+kCIQC0uu9C0v2BBwH5oMIS7eOpG185DwRAi6ZdaNgVDY0GJw==
-----END CERTIFICATE-----`;
const LOCALHOST_CERT = `-----BEGIN CERTIFICATE-----
MIIBvzCCAWWgAwIBAgIUC8axOsW55aI/6rrKLZN2uzWSM3owCgYIKoZIzj0EAwIw
IDEeMBwGA1UEAwwVYXV0b3NjYWxlLWxhYiB0ZXN0IENBMCAXDTI2MTEyOTE2NTM0
MVoYDzIxMjYxMTA1MTY1MzQxWjAUMRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcq
hkjOPQIBBggqhkjOPQMBBwNCAAQALjPIIkrrvf+4AZexa60cnZXqlu5N6NJXUl20
BYBStiqNy+a4k1K8QGfgfkeGX7DC/2Nhm/zF7ZWBpnmb5KLvo4GGMIGDMBQGA1Ud
EQQNMAuCCWxvY2FsaG9zdDAJBgNVHRMEAjAAMAsGA1UdDwQEAwIHgDATBgNVHSUE
DDAKBggrBgEFBQcDATAdBgNVHQ4EFgQUvbvma6QEYY0T939vTn7UpLJUrBQwHwYD
VR0jBBgwFoAUKKwjLg9IWjabKvTwDZCNJORNiiEwCgYIKoZIzj0EAwIDSAAwRQIg
e771yGUYIuM0zJINw4N1ltqMQ+8LLQJ044UvWBQCCZoCIQCjspeokRbRTLYxXRI4
PwnK2apG2f8POtrO3U//Shnw+w==
-----END CERTIFICATE-----`;
const LOCALHOST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg+TZdOpjGAsleXMmW
TpocLd0lSXbuCMpxGtn2tUoaLBqhRANCAAQALjPIIkrrvf+4AZexa60cnZXqlu5N
6NJXUl20BYBStiqNy+a4k1K8QGfgfkeGX7DC/2Nhm/zF7ZWBpnmb5KLv
-----END PRIVATE KEY-----`;

// A valid 1x1 PNG.
const PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

async function withTlsServer(fn: (port: number) => Promise<void>): Promise<void> {
  const stop = new AbortController();
  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: 0,
    cert: LOCALHOST_CERT,
    key: LOCALHOST_KEY,
    signal: stop.signal,
    onListen() {},
    // A TLS handshake the client aborts is not a test failure.
    onError: () => new Response("error", { status: 500 }),
  }, () => new Response(PNG, { headers: { "content-type": "image/png" } }));
  try {
    await fn(server.addr.port);
  } finally {
    stop.abort();
    await server.finished;
  }
}

async function failure(promise: Promise<unknown>): Promise<ImageFetchError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof ImageFetchError) return error;
    throw error;
  }
  assert.fail("expected an ImageFetchError");
}

Deno.test({
  name: "fetchImage() verifies https certificates against the URL's host name, not the IP",
  fn: async () => {
    await withTlsServer(async (port) => {
      const base = { maxBytes: 100_000, timeoutMs: 3000 };
      // Resolved to 127.0.0.1, connected there, TLS for "localhost": valid.
      const bytes = await fetchImage(`https://localhost:${port}/dot.png`, {
        ...base,
        allowedHosts: [`localhost:${port}`],
        caCerts: [TEST_CA],
      });
      assert.deepEqual(bytes, PNG);

      // Same server by IP: the certificate does not name 127.0.0.1, so TLS must fail.
      const byIp = await failure(fetchImage(`https://127.0.0.1:${port}/dot.png`, {
        ...base,
        allowedHosts: [`127.0.0.1:${port}`],
        caCerts: [TEST_CA],
      }));
      assert.equal(byIp.status, 502);
      assert.equal(byIp.code, "tls_failed");

      // Without the test CA the chain is untrusted.
      const untrusted = await failure(fetchImage(`https://localhost:${port}/dot.png`, {
        ...base,
        allowedHosts: [`localhost:${port}`],
      }));
      assert.equal(untrusted.status, 502);
      assert.equal(untrusted.code, "tls_failed");
    });
  },
});
