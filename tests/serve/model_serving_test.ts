import assert from "node:assert/strict";
import { makeConfig, postImage, postJson, readResponse, serve, TINY_PNG } from "./_helpers.ts";

const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);
const fixturesPresent = (() => {
  try {
    Deno.statSync(new URL("mobilenetv2-12-int8.onnx", FIXTURES));
    Deno.statSync(new URL("dog.jpg", FIXTURES));
    return true;
  } catch {
    return false;
  }
})();
if (!fixturesPresent) {
  console.error(`skipping MobileNetV2 serving tests: ${FIXTURES.pathname} is absent`);
}

/** A PNG whose header claims 60000 x 60000 pixels (a decompression bomb's shape). */
async function pngBomb(): Promise<Uint8Array<ArrayBuffer>> {
  const crcTable = Array.from({ length: 256 }, (_, n) => {
    let c = n;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
    return c >>> 0;
  });
  const crc32 = (bytes: Uint8Array) => {
    let c = 0xffffffff;
    for (const b of bytes) c = crcTable[(c ^ b) & 0xff] ^ (c >>> 8);
    return (c ^ 0xffffffff) >>> 0;
  };
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const v = new DataView(out.buffer);
    v.setUint32(0, data.length);
    out.set(new TextEncoder().encode(type), 4);
    out.set(data, 8);
    v.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, 60000);
  hv.setUint32(4, 60000);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8-bit RGB
  // Deflated zeros: a few MB of rows compress to a few KB.
  const raw = new Blob([new Uint8Array(4 * 1024 * 1024)]).stream()
    .pipeThrough(new CompressionStream("deflate"));
  const idat = new Uint8Array(await new Response(raw).arrayBuffer());
  const parts = [
    Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a),
    chunk("IHDR", ihdr),
    chunk("IDAT", idat),
    chunk("IEND", new Uint8Array(0)),
  ];
  return new Uint8Array(await new Blob(parts).arrayBuffer());
}

Deno.test({
  name:
    "the real MobileNetV2 answers Samoyed for the dog as a data: URI, raw bytes and an allowed URI",
  ignore: !fixturesPresent,
  async fn() {
    const dog = await Deno.readFile(new URL("dog.jpg", FIXTURES));
    const images = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(dog, { headers: { "content-type": "application/octet-stream" } }),
    );
    const s = await serve(makeConfig({
      num_replicas: 2,
      user_config: {
        model: new URL("mobilenetv2-12-int8.onnx", FIXTURES).pathname,
        allowed_image_hosts: [`127.0.0.1:${images.addr.port}`],
      },
    }));
    try {
      let b64 = "";
      for (let i = 0; i < dog.length; i += 0x8000) {
        b64 += String.fromCharCode(...dog.subarray(i, i + 0x8000));
      }
      const dataUri = `data:image/jpeg;base64,${btoa(b64)}`;
      const viaData = await postJson(s.url, { uri: dataUri });
      assert.deepEqual([viaData.status, viaData.text], [200, "Samoyed"]);
      const viaBytes = await postImage(s.url, dog, { "content-type": "image/jpeg" });
      assert.deepEqual([viaBytes.status, viaBytes.text], [200, "Samoyed"]);
      const viaUri = await postJson(`${s.url}/?top=3`, {
        uri: `http://127.0.0.1:${images.addr.port}/dog.jpg`,
      });
      assert.equal(viaUri.status, 200);
      const body = viaUri.body as {
        label: string;
        top: { label: string; index: number; probability: number }[];
        timings_ms: Record<string, number>;
      };
      assert.equal(body.label, "Samoyed");
      assert.equal(body.top.length, 3);
      assert.equal(body.top[0].index, 258);
      assert.ok(body.top[0].probability > 0.5 && body.top[0].probability <= 1);
      assert.ok(body.timings_ms.inference > 0);

      const status = s.status();
      assert.equal(status.model.backend, "native");
      assert.equal(status.model.labels_meaningful, true);

      // Decoder-dependent bad requests: the service answers them and keeps going.
      const bomb = await postImage(s.url, await pngBomb());
      assert.equal(bomb.status, 413, bomb.text);
      assert.equal((bomb.body as Record<string, string>).error, "image_too_many_pixels");
      const garbage = new Uint8Array(4096);
      garbage.set([0xff, 0xd8, 0xff, 0xe0]);
      const broken = await postImage(s.url, garbage, { "content-type": "image/jpeg" });
      assert.equal(broken.status, 422, broken.text);
      const truncated = await postImage(s.url, TINY_PNG.slice(0, 30));
      assert.ok([415, 422].includes(truncated.status), truncated.text);
      const again = await postImage(s.url, dog, { "content-type": "image/jpeg" });
      assert.deepEqual([again.status, again.text], [200, "Samoyed"]);
    } finally {
      await s.shutdown();
      await images.shutdown();
    }
  },
});

Deno.test("the seeded ResNet-50 serves with its meaningless labels flagged in status", async () => {
  const cacheDir = await Deno.makeTempDir({ prefix: "serve_resnet50_" });
  const s = await serve(makeConfig({ num_replicas: 1, user_config: { model: "resnet50" } }), {
    cacheDir,
    numCpus: 1,
  });
  try {
    const r = await postImage(`${s.url}/?format=json`);
    assert.equal(r.status, 200, r.text);
    assert.equal((r.body as { top: unknown[] }).top.length, 5);
    // A plain answer too says its label means nothing (a curl user sees only the header).
    const res = await fetch(s.url, { method: "POST", body: TINY_PNG });
    assert.equal(res.headers.get("x-model-labels"), "meaningless (seeded weights, not pretrained)");
    await res.body?.cancel();
    const status = (await readResponse(await fetch(`${s.url}/api/status`))).body as {
      model: { pretrained: boolean; labels_meaningful: boolean; name: string };
    };
    assert.equal(status.model.pretrained, false);
    assert.equal(status.model.labels_meaningful, false);
  } finally {
    await s.shutdown();
    await Deno.remove(cacheDir, { recursive: true });
  }
});
