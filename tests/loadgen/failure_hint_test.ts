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
  assert.equal(failureHint({ status: 503, error: "overloaded", detail: null }), null);
  assert.equal(failureHint({ status: 500, error: null, detail: null }), null);
  assert.equal(failureHint(null), null);
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
    assert.equal(failing.code, 0, "failures alone keep exit 0 (documented)");
    assert.match(
      failing.stdout,
      /\nhint: the service could not fetch the image URI \(502 image_fetch_failed: .*\).*--image PATH.*--serve-image PATH/,
    );
    // With --image the hint would be wrong advice: not given.
    const img = `${dir}/x.png`;
    await Deno.writeFile(img, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
    const withImage = await run(["--image", img]);
    assert.doesNotMatch(withImage.stdout, /hint:/);
  } finally {
    await stub.close();
    await Deno.remove(dir, { recursive: true });
  }
});
