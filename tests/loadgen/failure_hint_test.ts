import assert from "node:assert/strict";
import { failureHint, probeRequest, uriRequest } from "../../lib/loadgen/mod.ts";
import { offlineStub } from "./_offline_stub.ts";

Deno.test("failureHint() suggests --image / --serve-image only for the service's image-fetch errors", () => {
  const hint = failureHint({ status: 502, error: "image_fetch_failed", detail: "dns error" });
  assert.match(hint!, /502 image_fetch_failed: dns error/);
  assert.match(hint!, /--image PATH/);
  assert.match(hint!, /--serve-image PATH/);
  assert.match(
    failureHint({ status: 504, error: "image_fetch_timeout", detail: null })!,
    /--image/,
  );
});

Deno.test("failureHint() gives the service's reason in every request mode", () => {
  const refused = {
    status: 400,
    error: "invalid_uri",
    detail: "image URI host 127.0.0.1 is refused (loopback address); only public addresses are " +
      "fetched unless the host is listed in allowed_image_hosts",
  };
  assert.match(
    failureHint(refused, { mode: "serve-image", allowedHost: "127.0.0.1:4711" })!,
    /refuses the image URI's host \(400 invalid_uri: .*\); add "127\.0\.0\.1:4711" to user_config\.allowed_image_hosts/,
  );
  const offline = { status: 502, error: "image_fetch_failed", detail: "dns error" };
  assert.doesNotMatch(failureHint(offline, { mode: "image" })!, /--image PATH/);
  assert.match(failureHint(offline, { mode: "image" })!, /502 image_fetch_failed: dns error/);
  assert.match(failureHint(offline, { mode: "serve-image" })!, /served image.*127\.0\.0\.1/);
  assert.equal(
    failureHint({ status: 503, error: "overloaded", detail: "queue full" }),
    "the service answers a probe request with 503 overloaded: queue full",
  );
  assert.equal(
    failureHint({ status: 415, error: "unsupported_media_type", detail: null }, { mode: "image" }),
    "the service answers a probe request with 415 unsupported_media_type",
  );
  assert.match(failureHint(null)!, /no answer.*deno task deploy configs\/basic\.yaml/);
  assert.equal(failureHint({ status: 200, error: null, detail: null }), null, "probe succeeded");
});

Deno.test("probeRequest() reads the service's error reason of a failing request", async () => {
  const stub = offlineStub();
  try {
    const answer = await probeRequest(stub.url, uriRequest("https://example/dog.jpg"));
    assert.deepEqual(answer, {
      status: 502,
      error: "image_fetch_failed",
      detail: "cannot fetch https://example: dns error",
    });
  } finally {
    await stub.close();
  }
  assert.equal(await probeRequest(stub.url, uriRequest("x"), { timeoutMs: 1000 }), null, "closed");
});

Deno.test("deno task loadtest with every request failing on 502 image_fetch_failed ends with an --image hint", async () => {
  const stub = offlineStub();
  const dir = await Deno.makeTempDir();
  const run = async (extra: string[]) => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        new URL("../../scripts/loadtest.ts", import.meta.url).pathname,
        "--host",
        stub.url,
        "-u",
        "2",
        "-t",
        "1s",
        "--no-replicas",
        "--csv",
        `${dir}/lt`,
        ...extra,
      ],
      stdout: "piped",
      stderr: "piped",
    }).output();
    return { code: out.code, stdout: new TextDecoder().decode(out.stdout) };
  };
  try {
    const failing = await run([]);
    assert.equal(failing.code, 1, "any failed request exits 1, as Locust");
    assert.match(
      failing.stdout,
      /\nhint: the service could not fetch the image URI \(502 image_fetch_failed: .*\).*--image PATH.*--serve-image PATH/,
    );
    // With --image, --image advice would be wrong: the service's reason is given instead.
    const img = `${dir}/x.png`;
    await Deno.writeFile(img, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const withImage = await run(["--image", img]);
    assert.equal(withImage.code, 1);
    assert.match(
      withImage.stdout,
      /\nhint: the service answers a probe request with 502 image_fetch_failed/,
    );
    assert.doesNotMatch(withImage.stdout, /--image PATH/);
  } finally {
    await stub.close();
    await Deno.remove(dir, { recursive: true });
  }
});
