/**
 * Advice for a run whose requests (nearly) all failed. The load generator keeps only Locust's
 * error text (`HTTPError('502 Server Error: Bad Gateway for url: /')`), not the service's JSON
 * reason, so {@linkcode probeRequest} sends the request once more and reads the answer, and
 * {@linkcode failureHint} turns a known reason into a one-line hint: the service answering
 * `502 image_fetch_failed` means it could not download the image URI, which on an offline
 * machine is every request with the default (internet) URI.
 *
 * @module
 */
import type { RequestSpec } from "./request_spec.ts";

/** The service's answer to one probe request. */
export interface ProbeAnswer {
  /** HTTP status. */
  status: number;
  /** The JSON body's `error` (e.g. `image_fetch_failed`), or `null`. */
  error: string | null;
  /** The JSON body's `detail`, or `null`. */
  detail: string | null;
}

/** Options of {@linkcode probeRequest}. */
export interface ProbeRequestOptions {
  /** Give up after this many milliseconds (default 5000). */
  timeoutMs?: number;
}

/**
 * Sends `request` once to `host` and returns the status with the JSON `error`/`detail` of the
 * body; `null` when no answer came (refused, timeout).
 */
export async function probeRequest(
  host: string,
  request: RequestSpec,
  options: ProbeRequestOptions = {},
): Promise<ProbeAnswer | null> {
  try {
    const res = await fetch(new URL(request.path, host), {
      method: request.method,
      headers: request.contentType ? { "content-type": request.contentType } : {},
      body: request.body as Uint8Array<ArrayBuffer> | null,
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    const text = await res.text();
    let error: string | null = null;
    let detail: string | null = null;
    try {
      const body = JSON.parse(text);
      if (typeof body?.error === "string") error = body.error;
      if (typeof body?.detail === "string") detail = body.detail;
    } catch {
      // not JSON: status only
    }
    return { status: res.status, error, detail };
  } catch {
    return null;
  }
}

/** Service reasons that mean it could not download the image URI. */
const IMAGE_FETCH_ERRORS = new Set(["image_fetch_failed", "image_fetch_timeout"]);

/**
 * A one-line hint for a run whose requests failed, from the service's answer to a probe; `null`
 * when the reason is unknown or has no advice. Only meaningful for a URI request the user did
 * not serve locally (the hint suggests `--image` / `--serve-image`).
 */
export function failureHint(answer: ProbeAnswer | null): string | null {
  if (answer === null || answer.error === null || !IMAGE_FETCH_ERRORS.has(answer.error)) {
    return null;
  }
  const detail = answer.detail ? `: ${answer.detail}` : "";
  return `the service could not fetch the image URI (${answer.status} ${answer.error}${detail}); ` +
    "offline? send a local image with --image PATH, or serve one to the service with " +
    "--serve-image PATH (then add its host to user_config.allowed_image_hosts)";
}
