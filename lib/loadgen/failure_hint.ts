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

/** How the failing run built its request, which decides the advice. */
export type RequestMode = "uri" | "image" | "serve-image";

/** Options of {@linkcode failureHint}. */
export interface FailureHintOptions {
  /**
   * `uri` (default): an image URI the service downloads; `image`: the image in the body;
   * `serve-image`: a URI of the load generator's own image server.
   */
  mode?: RequestMode;
  /** With `serve-image`: the `host:port` entry the service's `allowed_image_hosts` needs. */
  allowedHost?: string;
}

/**
 * A one-line hint for a run whose requests (nearly) all failed, from the service's answer to a
 * probe, in every request mode: a download failure of the default URI suggests `--image` /
 * `--serve-image`; a refused image host (the service's `allowed_image_hosts`) names the entry to
 * add; any other error repeats the service's reason; no answer asks whether the service runs.
 * `null` when the probe succeeded (nothing to add to the error report).
 */
export function failureHint(
  answer: ProbeAnswer | null,
  options: FailureHintOptions = {},
): string | null {
  const mode = options.mode ?? "uri";
  if (answer === null) {
    return "a probe request got no answer (refused or timed out): is the service running? " +
      `start it with ${START_SERVICE_COMMAND}`;
  }
  if (answer.status < 400) return null;
  const reason = `${answer.status} ${answer.error ?? "error"}${
    answer.detail ? `: ${answer.detail}` : ""
  }`;
  if (answer.error === "invalid_uri" && answer.detail?.includes("allowed_image_hosts")) {
    const entry = options.allowedHost ? `"${options.allowedHost}"` : "the image URI's host";
    return `the service refuses the image URI's host (${reason}); add ${entry} to ` +
      "user_config.allowed_image_hosts in the service's config and deploy it again";
  }
  if (answer.error !== null && IMAGE_FETCH_ERRORS.has(answer.error)) {
    if (mode === "uri") {
      return `the service could not fetch the image URI (${reason}); ` +
        "offline? send a local image with --image PATH, or serve one to the service with " +
        "--serve-image PATH (then add its host to user_config.allowed_image_hosts)";
    }
    if (mode === "serve-image") {
      return `the service could not fetch the served image (${reason}); it must run on this ` +
        "machine to reach 127.0.0.1, else send the image itself with --image PATH";
    }
  }
  return `the service answers a probe request with ${reason}`;
}

/** The command that starts the service with the tutorial's config. */
export const START_SERVICE_COMMAND = "deno task deploy configs/basic.yaml";

/**
 * The message for a run stopped because nothing listens at `host` (the first request was refused
 * at the connection): names the host and how to start the service.
 */
export function nothingListeningMessage(host: string): string {
  return `nothing is listening at ${host} (connection refused); start the service first, e.g. ` +
    `${START_SERVICE_COMMAND} (its port is the config's http_options.port), or pass --host`;
}
