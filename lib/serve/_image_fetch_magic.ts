/**
 * Magic-byte check for fetched images (JPEG, PNG, WebP, GIF), independent of any Content-Type
 * header. Private to the image fetcher.
 *
 * @module
 */

/** Image formats the service accepts. */
export type FetchedImageFormat = "jpeg" | "png" | "webp" | "gif";

/** Bytes needed to tell every accepted format apart (WebP's RIFF....WEBP header). */
export const MAGIC_BYTES_NEEDED = 12;

const startsWith = (bytes: Uint8Array, sig: number[], at = 0): boolean =>
  bytes.length >= at + sig.length && sig.every((b, i) => bytes[at + i] === b);

/** The format the first bytes of `bytes` announce, or `null` when it is none of the accepted ones. */
export function magicImageFormat(bytes: Uint8Array): FetchedImageFormat | null {
  if (startsWith(bytes, [0xff, 0xd8, 0xff])) return "jpeg";
  if (startsWith(bytes, [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a])) return "png";
  if (
    startsWith(bytes, [0x52, 0x49, 0x46, 0x46]) && startsWith(bytes, [0x57, 0x45, 0x42, 0x50], 8)
  ) {
    return "webp";
  }
  if (
    startsWith(bytes, [0x47, 0x49, 0x46, 0x38]) && (bytes[4] === 0x37 || bytes[4] === 0x39) &&
    bytes[5] === 0x61
  ) {
    return "gif";
  }
  return null;
}

/** A short printable description of the first bytes, for error messages (`3c 21 44 4f "<!DO"`). */
export function describeFirstBytes(bytes: Uint8Array): string {
  if (bytes.length === 0) return "empty body";
  const head = bytes.subarray(0, 8);
  const hex = Array.from(head, (b) => b.toString(16).padStart(2, "0")).join(" ");
  const text = Array.from(head, (b) => (b >= 0x20 && b < 0x7f ? String.fromCharCode(b) : ".")).join(
    "",
  );
  return `first bytes ${hex} "${text}"`;
}
