import assert from "node:assert/strict";
import sharp from "sharp";
import {
  createClassifier,
  ImageError,
  type ImageErrorCode,
  ModelError,
  type ModelErrorCode,
  preprocessImage,
  resolveModel,
} from "../../lib/model/mod.ts";
import { vectorModel } from "./_tiny_models.ts";

async function rejectsImage(
  bytes: Uint8Array,
  code: ImageErrorCode,
  messagePart: RegExp,
  options: Parameters<typeof preprocessImage>[1] = {},
): Promise<void> {
  await assert.rejects(preprocessImage(bytes, options), (e: unknown) => {
    assert.ok(e instanceof ImageError, `expected ImageError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, messagePart);
    return true;
  });
}

async function rejectsModel(p: Promise<unknown>, code: ModelErrorCode, messagePart: RegExp) {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ModelError, `expected ModelError, got ${e}`);
    assert.equal(e.code, code);
    assert.match(e.message, messagePart);
    return true;
  });
}

function crc32(bytes: Uint8Array): number {
  let c = ~0;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  return ~c >>> 0;
}

/** A PNG whose IHDR claims width x height (8-bit RGB) followed by a tiny IDAT and IEND. */
function pngHeader(width: number, height: number): Uint8Array {
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const dv = new DataView(out.buffer);
    dv.setUint32(0, data.length);
    out.set([...type].map((c) => c.charCodeAt(0)), 4);
    out.set(data, 8);
    dv.setUint32(8 + data.length, crc32(out.subarray(4, 8 + data.length)));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const dv = new DataView(ihdr.buffer);
  dv.setUint32(0, width);
  dv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8);
  const parts = [
    new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk("IHDR", ihdr),
    chunk("IDAT", new Uint8Array([0x78, 0x9c, 0x03, 0x00, 0x00, 0x00, 0x00, 0x01])),
    chunk("IEND", new Uint8Array()),
  ];
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

async function jpeg(width: number, height: number): Promise<Uint8Array> {
  return new Uint8Array(
    await sharp({ create: { width, height, channels: 3, background: { r: 200, g: 100, b: 50 } } })
      .jpeg({ quality: 90 })
      .toBuffer(),
  );
}

Deno.test("preprocessImage() rejects an empty body as ImageError empty", async () => {
  await rejectsImage(new Uint8Array(), "empty", /is empty/);
});

Deno.test("preprocessImage() rejects a body over maxBytes as ImageError too_large", async () => {
  await rejectsImage(await jpeg(300, 300), "too_large", /over the limit of 100 bytes/, {
    maxBytes: 100,
  });
});

Deno.test("preprocessImage() rejects a text file as ImageError unsupported_format naming what it looks like", async () => {
  const text = new TextEncoder().encode("hello, this is not an image\nreally not\n");
  await rejectsImage(text, "unsupported_format", /looks like plain text.*JPEG, PNG, WebP and GIF/);
});

Deno.test("preprocessImage() rejects a BMP as ImageError unsupported_format", async () => {
  const bmp = new Uint8Array(64);
  bmp.set([0x42, 0x4d]);
  await rejectsImage(bmp, "unsupported_format", /looks like BMP/);
});

Deno.test("preprocessImage() rejects a truncated JPEG as ImageError undecodable", async () => {
  const full = await jpeg(640, 480);
  await rejectsImage(full.slice(0, Math.floor(full.length / 2)), "undecodable", /JPEG/);
});

Deno.test("preprocessImage() rejects a huge-dimension PNG from its header, before decoding", async () => {
  const bomb = pngHeader(100_000, 100_000);
  const t0 = performance.now();
  await rejectsImage(bomb, "too_many_pixels", /100000x100000 = 10000000000 pixels/);
  assert.ok(performance.now() - t0 < 2000, "rejected without decoding");
  // Also just above a custom limit.
  await rejectsImage(pngHeader(1000, 1000), "too_many_pixels", /over the limit of 999999/, {
    maxPixels: 999_999,
  });
});

Deno.test("createClassifier() rejects bytes that are not ONNX as ModelError not_onnx", async () => {
  const text = new TextEncoder().encode("this is a README, not a model\n");
  await rejectsModel(
    createClassifier(text, { backend: "native", threads: 1 }),
    "not_onnx",
    /not an ONNX file/,
  );
  await rejectsModel(
    createClassifier(await jpeg(8, 8), { backend: "wasm", threads: 1 }),
    "not_onnx",
    /not an ONNX file/,
  );
});

Deno.test("createClassifier() rejects a model whose input is not image-shaped as ModelError not_image_classifier", async () => {
  await rejectsModel(
    createClassifier(vectorModel(), { backend: "native", threads: 1 }),
    "not_image_classifier",
    /input "x" is float32 \[N,10\].*\[N,3,H,W\]/,
  );
});

Deno.test("resolveModel() names the missing file for a {path} spec that does not exist", async () => {
  await rejectsModel(
    resolveModel({ kind: "path", path: "/nonexistent/model.onnx" }),
    "not_found",
    /\/nonexistent\/model\.onnx/,
  );
});
