/**
 * The error type of the image fetcher, in its own private module so the fetcher's helpers can
 * throw it without importing image_fetcher.ts (no circular imports). Re-exported by
 * image_fetcher.ts.
 *
 * @module
 */

/** HTTP statuses an image fetch failure maps to (see `ImageFetchError`). */
export type ImageFetchStatus = 400 | 413 | 415 | 502 | 504;

/**
 * Why an image could not be fetched, with the HTTP status the server should answer:
 * 400 bad or unsupported URI or refused address, 413 too large, 415 not an image,
 * 502 upstream failed, 504 timeout. `code` is a short machine-readable reason
 * (e.g. `refused_address`, `too_large`, `not_an_image`, `upstream_status`, `timeout`).
 */
export class ImageFetchError extends Error {
  /** The HTTP status the server should answer with. */
  readonly status: ImageFetchStatus;
  /** Short machine-readable reason, stable for logs and tests. */
  readonly code: string;

  /** Creates an error; `message` says what was wrong, where, and what would be right. */
  constructor(status: ImageFetchStatus, code: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ImageFetchError";
    this.status = status;
    this.code = code;
  }
}
