/**
 * Typed errors of the model path: what the client sent ({@link ImageError}) versus what the
 * model or runtime could not do ({@link ModelError}). Serving maps `ImageError` to HTTP 400/413
 * and `ModelError` to a failed replica start.
 *
 * @module
 */

/** Why an image was rejected. */
export type ImageErrorCode =
  | "empty"
  | "too_large"
  | "too_many_pixels"
  | "unsupported_format"
  | "undecodable";

/** An image that cannot be classified: the message says what was wrong and what would be accepted. */
export class ImageError extends Error {
  /** Machine-readable reason. */
  readonly code: ImageErrorCode;

  /** Creates an image error with its reason code. */
  constructor(code: ImageErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ImageError";
    this.code = code;
  }
}

/** Why a model could not be used. */
export type ModelErrorCode =
  | "not_onnx"
  | "not_image_classifier"
  | "backend_unavailable"
  | "not_found"
  | "download_failed"
  | "checksum_mismatch";

/** A model that cannot be resolved, loaded or run: the message says why and what to try instead. */
export class ModelError extends Error {
  /** Machine-readable reason. */
  readonly code: ModelErrorCode;

  /** Creates a model error with its reason code. */
  constructor(code: ModelErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "ModelError";
    this.code = code;
  }
}
