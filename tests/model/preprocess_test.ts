import assert from "node:assert/strict";
import sharp from "sharp";
import {
  detectImageFormat,
  normalizeRgb,
  preprocessImage,
  resizedSize,
  roundHalfEven,
} from "../../lib/model/mod.ts";
import { crop, referenceResize } from "./_reference_resize.ts";

type Rgb = [number, number, number];

/** Raw interleaved RGB from a pixel function. */
function rawRgb(width: number, height: number, px: (x: number, y: number) => Rgb): Uint8Array {
  const data = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) data.set(px(x, y), (y * width + x) * 3);
  }
  return data;
}

async function png(
  width: number,
  height: number,
  px: (x: number, y: number) => Rgb,
): Promise<Uint8Array> {
  const raw = rawRgb(width, height, px);
  return new Uint8Array(await sharp(raw, { raw: { width, height, channels: 3 } }).png().toBuffer());
}

const f = Math.fround;
/** torchvision's value for channel c of an 8-bit value v: (v/255 - mean[c]) / std[c], float32. */
function expected(c: number, v: number): number {
  const mean = [0.485, 0.456, 0.406][c];
  const std = [0.229, 0.224, 0.225][c];
  return f(f(f(v / 255) - f(mean)) / f(std));
}

/** Value of channel c at (x, y) of a 224x224 NCHW tensor. */
const at = (data: Float32Array, c: number, x: number, y: number) =>
  data[c * 224 * 224 + y * 224 + x];

const RED: Rgb = [255, 0, 0];
const BLUE: Rgb = [0, 0, 255];

Deno.test("detectImageFormat() recognises JPEG, PNG, GIF and WebP magic bytes, nothing else", () => {
  const b = (...xs: (number | string)[]) =>
    new Uint8Array(
      xs.flatMap((x) => (typeof x === "string" ? [...x].map((c) => c.charCodeAt(0)) : [x])),
    );
  assert.equal(detectImageFormat(b(0xff, 0xd8, 0xff, 0xe0)), "jpeg");
  assert.equal(detectImageFormat(b(0x89, "PNG", 0x0d, 0x0a, 0x1a, 0x0a)), "png");
  assert.equal(detectImageFormat(b("GIF89a")), "gif");
  assert.equal(detectImageFormat(b("GIF87a")), "gif");
  assert.equal(detectImageFormat(b("RIFF", 0, 0, 0, 0, "WEBP")), "webp");
  assert.equal(detectImageFormat(b("RIFF", 0, 0, 0, 0, "WAVE")), null);
  assert.equal(detectImageFormat(b("BM")), null);
  assert.equal(detectImageFormat(b("hello")), null);
  assert.equal(detectImageFormat(new Uint8Array()), null);
});

Deno.test("resizedSize() and roundHalfEven() follow torchvision's Resize(256) and CenterCrop(224)", () => {
  // The fixture photo: 256 * 1546 / 1213 = 326.28 -> 326 (truncated, as torchvision does).
  assert.deepEqual(resizedSize(1546, 1213, 256), { width: 326, height: 256 });
  assert.deepEqual(resizedSize(200, 300, 256), { width: 256, height: 384 });
  assert.deepEqual(resizedSize(300, 299, 256), { width: 256, height: 256 }); // 256.86 -> 256
  // Python's round: halves go to the even neighbour.
  assert.equal(roundHalfEven(16.5), 16);
  assert.equal(roundHalfEven(17.5), 18);
  assert.equal(roundHalfEven(51), 51);
  assert.equal(roundHalfEven(2.4), 2);
  assert.equal(roundHalfEven(2.6), 3);
});

Deno.test("normalizeRgb() writes (v/255 - mean)/std per channel, planar NCHW or interleaved NHWC", () => {
  const rgb = new Uint8Array([0, 128, 255, 10, 20, 30, 255, 255, 255, 1, 2, 3]); // 2x2 image
  const nchw = normalizeRgb(rgb, 2, "NCHW");
  const nhwc = normalizeRgb(rgb, 2, "NHWC");
  for (let p = 0; p < 4; p++) {
    for (let c = 0; c < 3; c++) {
      assert.equal(nchw[c * 4 + p], expected(c, rgb[p * 3 + c]));
      assert.equal(nhwc[p * 3 + c], expected(c, rgb[p * 3 + c]));
    }
  }
  // Hand-computed: 128 -> G (0.50196 - 0.456) / 0.224 = 0.20518.
  assert.ok(Math.abs(nchw[4] - 0.20518) < 1e-4);
});

Deno.test("preprocessImage() centre-crops a wide image without blurring when no resize is needed", async () => {
  // 448x256: shorter side is already 256, so only the crop applies: left = (448-224)/2 = 112.
  // Columns 0..223 of the original are red, 224..447 blue, so crop columns 0..111 red, 112..223 blue.
  const img = await png(448, 256, (x) => (x < 224 ? RED : BLUE));
  const { data, width, height, format } = await preprocessImage(img);
  assert.deepEqual([width, height, format], [448, 256, "png"]);
  assert.equal(data.length, 3 * 224 * 224);
  for (const [x, y] of [[0, 0], [111, 100], [50, 223]]) {
    assert.equal(at(data, 0, x, y), expected(0, 255));
    assert.equal(at(data, 1, x, y), expected(1, 0));
    assert.equal(at(data, 2, x, y), expected(2, 0));
  }
  for (const [x, y] of [[112, 0], [223, 223], [150, 7]]) {
    assert.equal(at(data, 0, x, y), expected(0, 0));
    assert.equal(at(data, 2, x, y), expected(2, 255));
  }
});

Deno.test("preprocessImage() resizes the shorter side to 256 and crops the centre of a tall image", async () => {
  // 512x1024, top half green, bottom half blue -> resized 256x512 (boundary at row 256),
  // crop top = (512-224)/2 = 144: crop rows 0..111 green, 112..223 blue (blend only at 111/112).
  const img = await png(512, 1024, (_x, y) => (y < 512 ? [0, 255, 0] : BLUE));
  const { data } = await preprocessImage(img);
  for (const y of [0, 60, 109]) assert.equal(at(data, 1, 100, y), expected(1, 255));
  for (const y of [114, 180, 223]) {
    assert.equal(at(data, 1, 100, y), expected(1, 0));
    assert.equal(at(data, 2, 100, y), expected(2, 255));
  }
  const boundary = at(data, 1, 100, 111);
  assert.ok(boundary < expected(1, 255) && boundary > expected(1, 0), "rows 111/112 blend");
});

Deno.test("preprocessImage() maps a uniform grey image to the hand-computed ImageNet values", async () => {
  const img = await png(300, 260, () => [128, 128, 128]);
  const { data } = await preprocessImage(img);
  // (128/255 - mean) / std: R 0.074065, G 0.205182, B 0.426492.
  const want = [0.074065, 0.205182, 0.426492];
  for (let c = 0; c < 3; c++) {
    for (const i of [0, 1000, 224 * 224 - 1]) {
      assert.ok(Math.abs(data[c * 224 * 224 + i] - want[c]) < 1e-5, `channel ${c}`);
    }
  }
});

Deno.test("preprocessImage()'s resize matches torchvision's antialiased bilinear closely, closer than lanczos3", async () => {
  const w = 640, h = 480;
  const raw = rawRgb(w, h, (x, y) => [
    Math.round(127.5 + 127.5 * Math.sin(x / 7) * Math.cos(y / 11)),
    Math.round(127.5 + 127.5 * Math.sin((x + y) / 5)),
    (x * 3 + y * 5) % 256,
  ]);
  const img = new Uint8Array(
    await sharp(raw, { raw: { width: w, height: h, channels: 3 } }).png().toBuffer(),
  );
  const r = resizedSize(w, h, 256); // 341x256
  const ref = crop(referenceResize(raw, w, h, r.width, r.height), r.width, 58, 16, 224, 224);
  const meanAbs = (a: Uint8Array) => a.reduce((s, v, i) => s + Math.abs(v - ref[i]), 0) / a.length;
  const linear = meanAbs((await preprocessImage(img)).rgb);
  const lanczos = meanAbs((await preprocessImage(img, { kernel: "lanczos3" })).rgb);
  assert.ok(linear < 1.5, `mean |sharp linear - reference| = ${linear.toFixed(3)} levels`);
  assert.ok(linear < lanczos, `linear ${linear.toFixed(3)} vs lanczos3 ${lanczos.toFixed(3)}`);
});

Deno.test("preprocessImage() applies EXIF orientation before resizing and cropping", async () => {
  // Stored 300x200 landscape, left half red, right half blue, EXIF orientation 6 (rotate 90° CW):
  // displayed 200x300 portrait with red on top. Resized 256x384, crop top 80: top rows red.
  const raw = rawRgb(300, 200, (x) => (x < 150 ? RED : BLUE));
  const jpeg = new Uint8Array(
    await sharp(raw, { raw: { width: 300, height: 200, channels: 3 } })
      .jpeg({ quality: 95 })
      .withMetadata({ orientation: 6 })
      .toBuffer(),
  );
  const { rgb, width, height } = await preprocessImage(jpeg);
  assert.deepEqual([width, height], [200, 300]);
  const px = (x: number, y: number) =>
    Array.from(rgb.subarray((y * 224 + x) * 3, (y * 224 + x) * 3 + 3));
  for (const [x, y] of [[112, 5], [10, 40], [200, 60]]) {
    const [r, , b] = px(x, y);
    assert.ok(r > 200 && b < 50, `top of the rotated image is red, got ${px(x, y)} at ${x},${y}`);
  }
  for (const [x, y] of [[112, 220], [10, 180]]) {
    const [r, , b] = px(x, y);
    assert.ok(b > 200 && r < 50, `bottom is blue, got ${px(x, y)} at ${x},${y}`);
  }
});

Deno.test("preprocessImage() drops alpha (RGB kept, like PIL's convert('RGB')) and expands grey", async () => {
  const rgba = new Uint8Array(300 * 260 * 4);
  for (let i = 0; i < rgba.length; i += 4) rgba.set([10, 200, 30, i % 8 === 0 ? 0 : 128], i);
  const pngRgba = new Uint8Array(
    await sharp(rgba, { raw: { width: 300, height: 260, channels: 4 } }).png().toBuffer(),
  );
  const a = await preprocessImage(pngRgba);
  assert.deepEqual(Array.from(a.rgb.subarray(0, 6)), [10, 200, 30, 10, 200, 30]);

  const grey = new Uint8Array(300 * 260).fill(77);
  const pngGrey = new Uint8Array(
    await sharp(grey, { raw: { width: 300, height: 260, channels: 1 } }).png().toBuffer(),
  );
  const g = await preprocessImage(pngGrey);
  assert.equal(g.rgb.length, 224 * 224 * 3);
  assert.deepEqual(Array.from(g.rgb.subarray(3000, 3006)), [77, 77, 77, 77, 77, 77]);
  assert.equal(g.data[0], expected(0, 77));
  assert.equal(g.data[224 * 224], expected(1, 77));
  assert.equal(g.data[2 * 224 * 224], expected(2, 77));
});

Deno.test("preprocessImage() reads WebP and the first frame of a GIF", async () => {
  const raw = rawRgb(300, 260, () => [0, 0, 255]);
  const base = () => sharp(raw, { raw: { width: 300, height: 260, channels: 3 } });
  const webp = await preprocessImage(
    new Uint8Array(await base().webp({ lossless: true }).toBuffer()),
  );
  assert.equal(webp.format, "webp");
  assert.deepEqual(Array.from(webp.rgb.subarray(0, 3)), [0, 0, 255]);

  // Two frames stacked vertically (pageHeight 260): first frame blue, second red.
  const frames = rawRgb(300, 520, (_x, y) => (y < 260 ? BLUE : RED));
  const gifBytes = new Uint8Array(
    await sharp(frames, { raw: { width: 300, height: 520, channels: 3, pageHeight: 260 } } as never)
      .gif()
      .toBuffer(),
  );
  const gif = await preprocessImage(gifBytes);
  assert.equal(gif.format, "gif");
  assert.deepEqual([gif.width, gif.height], [300, 260]);
  const [r, , b] = gif.rgb;
  assert.ok(b > 200 && r < 50, `first frame (blue), got ${Array.from(gif.rgb.subarray(0, 3))}`);
});

Deno.test("an RGBA image gives exactly its RGB twin's crop, EXIF orientation included", async () => {
  // Translucent and transparent pixels with their own colours: dropping alpha before the resize
  // (PIL's convert('RGB')) keeps them; a premultiplied resize would darken them.
  const width = 700;
  const height = 500;
  const rgb = rawRgb(width, height, (x, y) => [(x * 7) & 255, (y * 5) & 255, (x + y) & 255]);
  const rgba = new Uint8Array(width * height * 4);
  for (let i = 0; i < width * height; i++) {
    rgba.set(rgb.subarray(i * 3, i * 3 + 3), i * 4);
    rgba[i * 4 + 3] = (i * 37) & 255;
  }
  for (const orientation of [1, 6]) {
    const encode = (data: Uint8Array, channels: 3 | 4) =>
      sharp(data, { raw: { width, height, channels } })
        .withMetadata({ orientation })
        .png()
        .toBuffer()
        .then((b) => new Uint8Array(b));
    const withAlpha = await preprocessImage(await encode(rgba, 4));
    const twin = await preprocessImage(await encode(rgb, 3));
    assert.deepEqual([withAlpha.width, withAlpha.height], [twin.width, twin.height]);
    assert.ok(
      withAlpha.rgb.every((v, i) => v === twin.rgb[i]),
      `orientation ${orientation}: the RGBA image's crop differs from its RGB twin's`,
    );
  }
});
