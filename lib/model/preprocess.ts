/**
 * ImageNet preprocessing with sharp, matching torchvision's
 * `Resize(256) -> CenterCrop(224) -> ToTensor() -> Normalize(mean, std)`:
 * EXIF auto-rotation, decode to 8-bit sRGB (alpha dropped, grey expanded to 3 channels, GIF first
 * frame), shorter side to 256 keeping aspect (long side truncated as torchvision does), centre
 * crop 224 (offsets rounded half-to-even as Python's `round`), `(v/255 - mean) / std`, planar
 * NCHW (or NHWC when the model asks for it).
 *
 * sharp is imported lazily, on the first call, so importing this module is cheap.
 *
 * @module
 */

import { DecodeBudget } from "./_decode_budget.ts";
import { ImageError } from "./errors.ts";
import {
  checkImageBytes,
  DEFAULT_MAX_IMAGE_BYTES,
  DEFAULT_MAX_IMAGE_PIXELS,
  type ImageFormat,
} from "./image_format.ts";

/** ImageNet channel means (RGB), on the 0..1 scale. */
export const IMAGENET_MEAN: readonly [number, number, number] = [0.485, 0.456, 0.406];
/** ImageNet channel standard deviations (RGB), on the 0..1 scale. */
export const IMAGENET_STD: readonly [number, number, number] = [0.229, 0.224, 0.225];

/** sharp's resize kernels. */
export type ResizeKernel =
  | "nearest"
  | "linear"
  | "cubic"
  | "mitchell"
  | "lanczos2"
  | "lanczos3"
  | "mks2013"
  | "mks2021";

/**
 * The kernel we resize with. torchvision's default (`InterpolationMode.BILINEAR`, antialias on)
 * is a triangle filter whose support widens with the downscale factor (PIL's BILINEAR reduce).
 * libvips' `linear` kernel in `vips_reduce` is that same triangle, also widened by the factor, so
 * it is the closest match; with sharp's default `lanczos3` the output is visibly sharper
 * (fixtures: Samoyed p ~0.73 vs ~0.88). JPEG shrink-on-load is turned off
 * (`fastShrinkOnLoad: false`) because the DCT-domain shrink is a box filter, not a triangle.
 * `tests/model/preprocess_test.ts` checks this against a reference implementation of the
 * antialiased bilinear resize.
 */
export const DEFAULT_RESIZE_KERNEL: ResizeKernel = "linear";

/** Tensor layout of the model's image input. */
export type ImageLayout = "NCHW" | "NHWC";

/** Options of {@link preprocessImage}. */
export interface PreprocessOptions {
  /** Side of the square crop fed to the model (default 224). */
  size?: number;
  /** Shorter side after resizing, before the crop (default `round(size / 0.875)`, 256 for 224). */
  resizeShorter?: number;
  /** Output layout (default NCHW). */
  layout?: ImageLayout;
  /** Largest accepted body (default 20 MB). */
  maxBytes?: number;
  /** Largest accepted image, in pixels, checked from the header before decoding (default 40 M). */
  maxPixels?: number;
  /** Resize kernel (default {@link DEFAULT_RESIZE_KERNEL}). */
  kernel?: ResizeKernel;
  /**
   * Let libjpeg/libwebp shrink in the DCT domain while decoding (default false). About 2x faster
   * on a 12-megapixel JPEG but less faithful to torchvision (mean deviation from the reference
   * resize 0.51 vs 0.28 levels of 255 there); no effect below a ~5x reduction (e.g. dog.jpg).
   */
  fastShrinkOnLoad?: boolean;
  /** Where the image came from, for messages. */
  source?: string;
  /** Write into this buffer (length 3*size*size) instead of allocating one. */
  out?: Float32Array;
}

/** A preprocessed image. */
export interface PreprocessedImage {
  /** `3*size*size` floats in the requested layout. */
  data: Float32Array;
  /** The same crop as 8-bit RGB, interleaved (HWC), before normalisation. */
  rgb: Uint8Array;
  /** Detected container format. */
  format: ImageFormat;
  /** Width and height after EXIF rotation, before resizing. */
  width: number;
  /** Height after EXIF rotation, before resizing. */
  height: number;
}

// deno-lint-ignore no-explicit-any
type SharpFn = any;
let sharpPromise: Promise<SharpFn> | null = null;

/** Loads sharp once (lazily: importing it costs ~100 ms and a native library). */
export function loadSharp(): Promise<SharpFn> {
  sharpPromise ??= import("sharp").then((m) => {
    const sharp = m.default ?? m;
    // libvips' operation cache (50 MB by default) only helps when the same image is processed
    // again; here every request is a new image, so it would only hold memory after a burst.
    sharp.cache(false);
    return sharp;
  });
  return sharpPromise;
}

/** Python's `round` (half to even), as torchvision's `center_crop` uses for the offsets. */
export function roundHalfEven(x: number): number {
  const f = Math.floor(x);
  const diff = x - f;
  if (diff > 0.5) return f + 1;
  if (diff < 0.5) return f;
  return f % 2 === 0 ? f : f + 1;
}

/**
 * torchvision `Resize(shorter)` output size for a `width x height` image: the shorter side becomes
 * `shorter`, the longer one `floor(shorter * long / short)`.
 */
export function resizedSize(
  width: number,
  height: number,
  shorter: number,
): { width: number; height: number } {
  if (width <= height) {
    return { width: shorter, height: Math.max(1, Math.floor((shorter * height) / width)) };
  }
  return { width: Math.max(1, Math.floor((shorter * width) / height)), height: shorter };
}

const lutCache = new Map<string, Float32Array>();

/** 3 x 256 lookup table: `lut[c*256 + v] = (v/255 - mean[c]) / std[c]` in float32 arithmetic. */
function normLut(): Float32Array {
  const key = "imagenet";
  let lut = lutCache.get(key);
  if (!lut) {
    lut = new Float32Array(768);
    const f = Math.fround;
    for (let c = 0; c < 3; c++) {
      for (let v = 0; v < 256; v++) {
        // ToTensor: float32(v / 255); Normalize: (x - mean) / std, both in float32.
        lut[c * 256 + v] = f(f(f(v / 255) - f(IMAGENET_MEAN[c])) / f(IMAGENET_STD[c]));
      }
    }
    lutCache.set(key, lut);
  }
  return lut;
}

/** Normalises interleaved 8-bit RGB (HWC) into ImageNet floats, planar NCHW or interleaved NHWC. */
export function normalizeRgb(
  rgb: Uint8Array,
  size: number,
  layout: ImageLayout = "NCHW",
  out?: Float32Array,
): Float32Array {
  const plane = size * size;
  const data = out ?? new Float32Array(3 * plane);
  if (data.length !== 3 * plane) {
    throw new RangeError(`output buffer has ${data.length} floats, expected ${3 * plane}`);
  }
  const lut = normLut();
  if (layout === "NCHW") {
    for (let i = 0, j = 0; i < plane; i++, j += 3) {
      data[i] = lut[rgb[j]];
      data[plane + i] = lut[256 + rgb[j + 1]];
      data[2 * plane + i] = lut[512 + rgb[j + 2]];
    }
  } else {
    for (let j = 0; j < 3 * plane; j += 3) {
      data[j] = lut[rgb[j]];
      data[j + 1] = lut[256 + rgb[j + 1]];
      data[j + 2] = lut[512 + rgb[j + 2]];
    }
  }
  return data;
}

/**
 * The image with its alpha channel dropped, as an RGB PNG that still carries the EXIF
 * orientation, for the resizing pass.
 *
 * libvips resizes RGBA premultiplied, which shifts the colour of translucent pixels, while
 * torchvision converts to RGB (dropping alpha) first; sharp removes alpha only after resizing, so
 * dropping it takes a pass of its own. That pass streams: libvips decodes, drops alpha and
 * re-encodes strip by strip (PNG, zlib level 1, no filtering: ~0.2 s for 36 megapixels), so the
 * full-resolution image is never in memory. Decoding it to raw RGB instead, as before, held
 * `3 x width x height` bytes per request (108 MB for 6000x6000; ten at once took ~1 GB). The
 * intermediate PNG is at most that large for incompressible pixels (the bound per request,
 * `3 x max_image_pixels` plus zlib's overhead) and about the input's size for real images.
 */
async function withoutAlpha(
  sharp: SharpFn,
  bytes: Uint8Array,
  inputOptions: Record<string, unknown>,
): Promise<Uint8Array> {
  return await sharp(bytes, inputOptions)
    .removeAlpha()
    .toColourspace("srgb")
    .keepExif() // the orientation, applied after the resize in the second pass as for any image
    .png({ compressionLevel: 1, adaptiveFiltering: false })
    .toBuffer();
}

/**
 * Pixels decoded at once in this thread (a replica is one worker thread): at most the pixel limit
 * (`maxPixels`), so decode memory per replica is bounded by what one image at the limit takes
 * (one 6000x6000 RGBA PNG, 36 M pixels, took ~40 MB of RSS here),
 * however many large images arrive together. Images that fit side by side run concurrently.
 */
const decodeBudget = new DecodeBudget();

function isPixelLimitError(message: string): boolean {
  return /pixel limit/i.test(message);
}

/**
 * Decodes, resizes, crops and normalises one image. Throws {@link ImageError} for an empty,
 * oversized, unsupported, undecodable or too-many-pixels image (the pixel check reads only the
 * header, so decompression bombs are rejected before any pixel is decoded).
 */
export async function preprocessImage(
  bytes: Uint8Array,
  options: PreprocessOptions = {},
): Promise<PreprocessedImage> {
  const size = options.size ?? 224;
  const shorter = options.resizeShorter ?? Math.round(size / 0.875);
  const maxPixels = options.maxPixels ?? DEFAULT_MAX_IMAGE_PIXELS;
  const where = options.source ? ` (${options.source})` : "";
  const format = checkImageBytes(bytes, {
    maxBytes: options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES,
    source: options.source,
  });
  const sharp = await loadSharp();
  const inputOptions = {
    failOn: "error", // rejects truncated and corrupt data; tolerates benign warnings
    limitInputPixels: maxPixels,
    pages: 1, // GIF / animated WebP: first frame only
    page: 0,
  };

  // Header only: dimensions and EXIF orientation, no pixel decoded yet.
  let meta: {
    width?: number;
    height?: number;
    orientation?: number;
    pageHeight?: number;
    hasAlpha?: boolean;
  };
  try {
    // limitInputPixels off here: reading the header is safe, and our own check below names the
    // dimensions; the decoding pipeline keeps sharp's limit as a second guard.
    meta = await sharp(bytes, { ...inputOptions, limitInputPixels: false }).metadata();
  } catch (e) {
    if (isPixelLimitError((e as Error).message)) {
      throw new ImageError(
        "too_many_pixels",
        `image${where} exceeds the pixel limit of ${maxPixels}: ${(e as Error).message}`,
        { cause: e },
      );
    }
    throw new ImageError(
      "undecodable",
      `image${where} could not be read as ${format.toUpperCase()}: ${(e as Error).message}`,
      { cause: e },
    );
  }
  let w = meta.width ?? 0;
  let h = meta.pageHeight ?? meta.height ?? 0;
  if (!(w > 0 && h > 0)) {
    throw new ImageError(
      "undecodable",
      `image${where} has no valid dimensions in its ${format.toUpperCase()} header`,
    );
  }
  if (w * h > maxPixels) {
    throw new ImageError(
      "too_many_pixels",
      `image${where} is ${w}x${h} = ${w * h} pixels, over the limit of ${maxPixels} ` +
        `(user_config.max_image_pixels); send a smaller image`,
    );
  }
  if ((meta.orientation ?? 1) >= 5) [w, h] = [h, w];

  const r = resizedSize(w, h, shorter);
  if (r.width < size || r.height < size) {
    // Only possible when `resizeShorter < size`; keep the message precise anyway.
    throw new RangeError(`resize target ${r.width}x${r.height} is smaller than the crop ${size}`);
  }
  const left = roundHalfEven((r.width - size) / 2);
  const top = roundHalfEven((r.height - size) / 2);

  let raw: { data: Uint8Array; info: { channels: number; width: number; height: number } };
  try {
    raw = await decodeBudget.run(w * h, maxPixels, async () => {
      const input = meta.hasAlpha ? await withoutAlpha(sharp, bytes, inputOptions) : bytes;
      return await sharp(input, { ...inputOptions, autoOrient: true })
        .removeAlpha()
        .toColourspace("srgb")
        .resize(r.width, r.height, {
          fit: "fill",
          kernel: options.kernel ?? DEFAULT_RESIZE_KERNEL,
          fastShrinkOnLoad: options.fastShrinkOnLoad ?? false,
        })
        .extract({ left, top, width: size, height: size })
        .raw({ depth: "uchar" })
        .toBuffer({ resolveWithObject: true });
    });
  } catch (e) {
    const message = (e as Error).message;
    if (isPixelLimitError(message)) {
      throw new ImageError(
        "too_many_pixels",
        `image${where} exceeds the pixel limit of ${maxPixels}: ${message}`,
        { cause: e },
      );
    }
    throw new ImageError(
      "undecodable",
      `image${where} could not be decoded as ${format.toUpperCase()}: ${message}`,
      { cause: e },
    );
  }
  const { info } = raw;
  if (info.channels !== 3 || info.width !== size || info.height !== size) {
    throw new ImageError(
      "undecodable",
      `image${where} decoded to ${info.width}x${info.height}x${info.channels}, expected ${size}x${size}x3`,
    );
  }
  const rgb = new Uint8Array(raw.data.buffer, raw.data.byteOffset, raw.data.byteLength);
  const data = normalizeRgb(rgb, size, options.layout ?? "NCHW", options.out);
  return { data, rgb, format, width: w, height: h };
}
