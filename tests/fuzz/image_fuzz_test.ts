/**
 * Hostile-input fuzzing of image preprocessing (lib/model checkImageBytes / preprocessImage):
 * truncated, bit-flipped and spliced JPEG, PNG, GIF and WebP files, and random bytes, only ever
 * give an ImageError naming the source (never a raw sharp error, never a crash), and whatever
 * is accepted comes out as a full tensor of finite numbers.
 */
import assert from "node:assert/strict";
import sharp from "sharp";
import { checkImageBytes, ImageError, preprocessImage } from "../../lib/model/mod.ts";
import { mutateBytes, Rng, timeBudget } from "./_fuzz.ts";

const CODES = new Set([
  "empty",
  "too_large",
  "too_many_pixels",
  "unsupported_format",
  "undecodable",
]);

/** Small real images of every accepted format (noise, so the codecs have data to get wrong). */
async function seedImages(rng: Rng): Promise<{ name: string; bytes: Uint8Array }[]> {
  const rgb = { raw: { width: 37, height: 23, channels: 3 as const } };
  const rgba = { raw: { width: 19, height: 31, channels: 4 as const } };
  const noise3 = Buffer.from(rng.bytes(37 * 23 * 3));
  const noise4 = Buffer.from(rng.bytes(19 * 31 * 4));
  const out = [
    { name: "jpeg", bytes: await sharp(noise3, rgb).jpeg({ quality: 70 }).toBuffer() },
    {
      name: "jpeg-progressive-exif",
      bytes: await sharp(noise3, rgb).jpeg({ progressive: true }).withMetadata({ orientation: 6 })
        .toBuffer(),
    },
    { name: "png", bytes: await sharp(noise3, rgb).png().toBuffer() },
    { name: "png-alpha", bytes: await sharp(noise4, rgba).png().toBuffer() },
    {
      name: "png-grey16",
      bytes: await sharp(noise3, rgb).greyscale().png().toColourspace("grey16").toBuffer(),
    },
    { name: "gif", bytes: await sharp(noise3, rgb).gif().toBuffer() },
    { name: "webp", bytes: await sharp(noise3, rgb).webp({ quality: 50 }).toBuffer() },
    {
      name: "webp-lossless-alpha",
      bytes: await sharp(noise4, rgba).webp({ lossless: true }).toBuffer(),
    },
  ];
  return out.map((o) => ({ name: o.name, bytes: new Uint8Array(o.bytes) }));
}

async function attack(bytes: Uint8Array, what: string): Promise<string | null> {
  try {
    const image = await preprocessImage(bytes, { source: "fuzz.img", maxPixels: 4_000_000 });
    if (image.data.length !== 3 * 224 * 224) return `${what}: tensor of ${image.data.length}`;
    for (const v of image.data) if (!Number.isFinite(v)) return `${what}: non-finite value ${v}`;
    return null;
  } catch (error) {
    const e = error as Error;
    if (!(error instanceof ImageError)) return `${what}: threw ${e?.name}: ${e?.message}`;
    if (!CODES.has(error.code)) return `${what}: unknown code ${error.code}`;
    if (!e.message.includes("fuzz.img")) {
      return `${what}: message does not name the source: ${e.message}`;
    }
    return null;
  }
}

Deno.test("preprocessImage() answers mutated JPEG/PNG/GIF/WebP files only with ImageErrors", async () => {
  const rng = new Rng(0x1a9e);
  const seeds = await seedImages(rng);
  // The untouched seeds decode.
  for (const s of seeds) assert.equal(await attack(s.bytes, s.name), null, s.name);
  const more = timeBudget(8_000);
  const failures: string[] = [];
  let n = 0;
  let accepted = 0;
  for (; n < 2000 && more() && failures.length < 3; n++) {
    const seed = seeds[n % seeds.length];
    let bytes = mutateBytes(rng, seed.bytes);
    if (rng.int(3) === 0) bytes = mutateBytes(rng, bytes);
    const bad = await attack(bytes, `case ${n} (${seed.name})`);
    if (bad) failures.push(`${bad}\n  bytes (base64): ${btoa(String.fromCharCode(...bytes))}`);
    else {
      try {
        checkImageBytes(bytes);
        accepted++;
      } catch { /* counted as rejected */ }
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(n >= 100, `only ${n} cases ran`);
  assert.ok(accepted > 0, "no mutated image passed the byte check: the mutator is too blunt");
});

Deno.test("checkImageBytes() and preprocessImage() answer random bytes with magic prefixes with ImageErrors", async () => {
  const rng = new Rng(0xb7e5);
  const prefixes = [
    [],
    [0xff, 0xd8, 0xff],
    [0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00],
    [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a],
    [...new TextEncoder().encode("GIF89a")],
    [...new TextEncoder().encode("RIFF\xff\xff\xff\xffWEBPVP8 ")],
    [...new TextEncoder().encode("<svg xmlns='http://www.w3.org/2000/svg'>")],
  ];
  const failures: string[] = [];
  for (let n = 0; n < 200 && failures.length < 3; n++) {
    const prefix = prefixes[n % prefixes.length];
    const bytes = new Uint8Array([...prefix, ...rng.bytes(rng.int(64))]);
    const bad = await attack(bytes, `case ${n}`);
    if (bad) failures.push(`${bad}\n  bytes (base64): ${btoa(String.fromCharCode(...bytes))}`);
  }
  assert.deepEqual(failures, []);
});
