/**
 * Helpers for serving tests: a config from a few overrides, a started service on an ephemeral
 * port, and a tiny PNG.
 *
 * @module
 */
import { stringify } from "yaml";
import { parseConfig, type ServeConfig } from "../../lib/config/mod.ts";
import { prepareModel, type ServeHandle, startServe } from "../../lib/serve/mod.ts";

/** A valid 1x1 PNG. */
export const TINY_PNG = Uint8Array.from(
  atob(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==",
  ),
  (c) => c.charCodeAt(0),
);

/** Builds a fully defaulted config from deployment and http overrides (via the real parser). */
export function makeConfig(
  deployment: Record<string, unknown>,
  extra: { http_options?: Record<string, unknown>; route_prefix?: string } = {},
): ServeConfig {
  const doc = {
    http_options: { host: "127.0.0.1", port: 0, ...extra.http_options },
    applications: [{
      name: "default",
      route_prefix: extra.route_prefix ?? "/",
      import_path: "main:app",
      deployments: [{ name: "Model", ...deployment }],
    }],
  };
  return parseConfig(stringify(doc), {}).config;
}

/** Log lines collected from a service. */
export type LogLines = string[];

/** Starts a service for `config`, waits until RUNNING unless `wait: false`. */
export async function serve(
  config: ServeConfig,
  options: {
    numCpus?: number;
    wait?: boolean;
    logs?: LogLines;
    baseDir?: string;
    cacheDir?: string;
  } = {},
): Promise<ServeHandle> {
  const dep = config.applications[0].deployments[0];
  const model = await prepareModel(dep.user_config.model, {
    baseDir: options.baseDir,
    cacheDir: options.cacheDir,
  });
  const handle = await startServe(config, {
    model,
    numCpus: options.numCpus ?? 2,
    log: (line) => options.logs?.push(line),
  });
  if (options.wait !== false) await handle.ready({ timeoutMs: 60_000 });
  return handle;
}

/** POSTs raw PNG bytes; returns status and parsed body (JSON when it is JSON). */
export async function postImage(
  url: string,
  bytes: Uint8Array<ArrayBuffer> = TINY_PNG,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(url, {
    method: "POST",
    body: bytes,
    headers: { "content-type": "image/png", ...headers },
  });
  return readResponse(res);
}

/** POSTs a JSON value. */
export async function postJson(
  url: string,
  value: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: unknown; text: string }> {
  const res = await fetch(url, {
    method: "POST",
    body: JSON.stringify(value),
    headers: { "content-type": "application/json", ...headers },
  });
  return readResponse(res);
}

/** Status plus body, parsed as JSON when the response says so. */
export async function readResponse(
  res: Response,
): Promise<{ status: number; body: unknown; text: string }> {
  const text = await res.text();
  let body: unknown = text;
  if ((res.headers.get("content-type") ?? "").includes("application/json")) body = JSON.parse(text);
  return { status: res.status, body, text };
}

/** Polls `check` every 10 ms until it returns true (fails after `timeoutMs`). */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    }
    await new Promise((r) => setTimeout(r, 10));
  }
}
