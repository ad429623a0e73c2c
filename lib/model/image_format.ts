/**
 * Image format detection from magic bytes and the byte-level checks done before any decoding.
 * Light on purpose (no sharp import), so the HTTP layer can reject bad bodies cheaply.
 *
 * @module
 */

import { ImageError } from "./errors.ts";

/** Formats the classifier accepts. */
export type ImageFormat = "jpeg" | "png" | "webp" | "gif";

/** The accepted formats, for messages. */
export const ACCEPTED_IMAGE_FORMATS: readonly ImageFormat[] = ["jpeg", "png", "webp", "gif"];

/** Default largest image body, in bytes (20 MB). */
export const DEFAULT_MAX_IMAGE_BYTES = 20_000_000;

/** Default largest decoded image, in pixels (~6300 x 6300). */
export const DEFAULT_MAX_IMAGE_PIXELS = 40_000_000;

function startsWith(bytes: Uint8Array, sig: number[], offset = 0): boolean {
  if (bytes.length < offset + sig.length) return false;
  for (let i = 0; i < sig.length; i++) if (bytes[offset + i] !== sig[i]) return false;
  return true;
}

const ascii = (s: string) => Array.from(s, (c) => c.charCodeAt(0));

/** Detects JPEG, PNG, WebP or GIF from the first bytes; `null` for anything else. */
export function detectImageFormat(bytes: Uint8Array): ImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (startsWith(bytes, ascii("GIF87a")) || startsWith(bytes, ascii("GIF89a"))) return "gif";
  if (startsWith(bytes, ascii("RIFF")) && startsWith(bytes, ascii("WEBP"), 8)) return "webp";
  return null;
}

/** Names a format we do not accept, when recognisable, to make the error message useful. */
function describeUnknown(bytes: Uint8Array): string {
  if (startsWith(bytes, ascii("BM"))) return "BMP";
  if (startsWith(bytes, [0x49, 0x49, 0x2a, 0x00]) || startsWith(bytes, [0x4d, 0x4d, 0x00, 0x2a])) {
    return "TIFF";
  }
  if (startsWith(bytes, ascii("ftyp"), 4)) {
    const brand = String.fromCharCode(...bytes.subarray(8, 12));
    return brand.startsWith("avi") ? "AVIF" : brand.startsWith("hei") ? "HEIC" : "ISO-BMFF/video";
  }
  if (startsWith(bytes, ascii("%PDF"))) return "PDF";
  const head = new TextDecoder().decode(bytes.subarray(0, 256)).trimStart().toLowerCase();
  if (head.startsWith("<svg") || (head.startsWith("<?xml") && head.includes("<svg"))) return "SVG";
  if (head.startsWith("<")) return "HTML/XML text";
  if (head.startsWith("{") || head.startsWith("[")) return "JSON text";
  let printable = 0;
  const n = Math.min(bytes.length, 512);
  for (let i = 0; i < n; i++) {
    const b = bytes[i];
    if (b === 9 || b === 10 || b === 13 || (b >= 32 && b < 127)) printable++;
  }
  if (n > 0 && printable / n > 0.95) return "plain text";
  return "unknown binary data";
}

/** Options of {@link checkImageBytes}. */
export interface CheckImageBytesOptions {
  /** Largest accepted body (default {@link DEFAULT_MAX_IMAGE_BYTES}). */
  maxBytes?: number;
  /** Where the bytes came from, for messages (e.g. a path or URI). */
  source?: string;
}

/**
 * Byte-level checks before decoding: not empty, not over `maxBytes`, a supported format.
 * Returns the detected format; throws {@link ImageError} otherwise.
 */
export function checkImageBytes(
  bytes: Uint8Array,
  options: CheckImageBytesOptions = {},
): ImageFormat {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_IMAGE_BYTES;
  const where = options.source ? ` (${options.source})` : "";
  if (bytes.length === 0) {
    throw new ImageError(
      "empty",
      `image${where} is empty: send the image file's bytes (JPEG, PNG, WebP or GIF)`,
    );
  }
  if (bytes.length > maxBytes) {
    throw new ImageError(
      "too_large",
      `image${where} is ${bytes.length} bytes, over the limit of ${maxBytes} bytes ` +
        `(user_config.max_image_bytes); send a smaller image`,
    );
  }
  const format = detectImageFormat(bytes);
  if (!format) {
    throw new ImageError(
      "unsupported_format",
      `image${where} is not a supported format: looks like ${describeUnknown(bytes)}; ` +
        `accepted are JPEG, PNG, WebP and GIF (first frame)`,
    );
  }
  return format;
}
