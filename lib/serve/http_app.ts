/**
 * The HTTP API: `POST <route_prefix>` (JSON `{"uri": ...}` or raw image bytes), `/healthz`,
 * `/-/healthz`, `/-/routes`, `/metrics`, `/api/status`. Every error is JSON
 * `{"error": ..., "detail": ...}` with the matching status; no input crashes the server.
 *
 * @module
 */
import type { Deployment } from "./deployment.ts";
import { BodyReadError, readRequestBody } from "./_body_reader.ts";
import { hostHeaderProblem } from "./host_header.ts";
import { Metric, type Registry, type Series } from "./metrics.ts";
import { ReplicaDiedError, RequestTimeoutError } from "./replica.ts";
import { BackPressureError } from "./request_queue.ts";
import type { ClassifyRequest, ClassifyResult, ServeStatusJson } from "./types.ts";

/** What the HTTP layer needs of the running application. */
export interface HttpAppContext {
  /** Name of the application (a metric label). */
  appName: string;
  /** Normalised route prefix: `/` or `/something` (no trailing slash). */
  routePrefix: string;
  /** The deployment that handles the requests. */
  deployment: Deployment;
  /** Where the HTTP metrics are registered. */
  registry: Registry;
  /** The whole `/api/status` document, now. */
  status(): ServeStatusJson;
  /** The application's status alone (cheap; for health checks). */
  applicationStatus(): { status: string; message: string };
  /** `http_options.request_timeout_s` in ms, or null. */
  requestTimeoutMs: number | null;
  /**
   * Deadline for a request body to arrive when `requestTimeoutMs` is null; default
   * {@linkcode DEFAULT_BODY_READ_TIMEOUT_MS}.
   */
  bodyReadTimeoutMs?: number;
  /** Default top-k for JSON answers (`user_config.top_k`). */
  topK: number;
  /** Largest raw image body (`user_config.max_image_bytes`). */
  maxImageBytes: number;
  /** Model name, echoed in JSON answers. */
  modelName: string;
  /**
   * Value of an `X-Model-Labels` header on every classification answer, or null for none. Set
   * for the seeded default model, whose labels are meaningless (see {@link MEANINGLESS_LABELS}).
   */
  labelsNote?: string | null;
  /** Called once per finished request to the application route (read-only observers). */
  onAppRequest?: (r: AppRequestRecord) => void;
}

/** One finished request to the application route, as {@link HttpAppContext.onAppRequest} sees it. */
export interface AppRequestRecord {
  /** Unix ms when the answer was ready. */
  timeMs: number;
  /** End-to-end latency including the router queue, ms. */
  latencyMs: number;
  /** HTTP status code of the answer. */
  status: number;
  /** The application whose route took the request. */
  application: string;
  /** Its first deployment, the one that receives its HTTP requests. */
  deployment: string;
}

/** Largest JSON body that is not a data: URI carrying an image. */
const JSON_OVERHEAD_BYTES = 64 * 1024;
const MAX_TOP = 1000;
const STANDARD_METHODS = new Set(["GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH"]);

/** Normalises a route prefix to `/` or `/a/b` (leading slash, no trailing slash). */
export function normaliseRoutePrefix(prefix: string): string {
  let p = prefix.trim();
  if (!p.startsWith("/")) p = "/" + p;
  while (p.length > 1 && p.endsWith("/")) p = p.slice(0, -1);
  return p;
}

/** A JSON error response `{"error", "detail"}`. */
export function jsonError(
  status: number,
  error: string,
  detail: string,
  headers?: Record<string, string>,
): Response {
  return new Response(JSON.stringify({ error, detail }) + "\n", {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

function json(value: unknown, status = 200, headers?: Record<string, string> | null): Response {
  return new Response(JSON.stringify(value) + "\n", {
    status,
    headers: { "content-type": "application/json", ...headers },
  });
}

/**
 * The `X-Model-Labels` value for a model whose labels are meaningless (the seeded ResNet-50 that
 * is served when no pretrained model was downloaded): a `curl` user sees why the answer is odd.
 */
export const MEANINGLESS_LABELS = "meaningless (seeded weights, not pretrained)";

class HttpError extends Error {
  constructor(readonly status: number, readonly error: string, detail: string) {
    super(detail);
  }
}

/**
 * Parses `?top=` strictly: decimal digits only, 1..{@link MAX_TOP} (`Number()` would also take
 * `0x10`, `1e2`, ` 3` and `3.0`).
 */
function parseTop(topParam: string): number {
  const n = /^[1-9][0-9]{0,3}$/.test(topParam) ? Number(topParam) : NaN;
  if (!(n <= MAX_TOP)) {
    throw new HttpError(
      400,
      "invalid_top",
      `query parameter top must be a decimal integer from 1 to ${MAX_TOP}, got "${topParam}"`,
    );
  }
  return n;
}

/** Builds the request handler for `Deno.serve`. */
export function createHttpHandler(ctx: HttpAppContext): (req: Request) => Promise<Response> {
  const { registry, appName, routePrefix } = ctx;
  const depName = ctx.deployment.name;
  const m: Record<string, Metric> = {
    requests: registry.counter(
      "ray_serve_num_http_requests_total",
      "HTTP requests processed.",
      ["route", "method", "application", "status_code"],
    ),
    latency: registry.histogram(
      "ray_serve_http_request_latency_ms",
      "End-to-end HTTP request latency, ms.",
      ["method", "route", "application", "status_code"],
    ),
    errors: registry.counter(
      "ray_serve_num_http_error_requests_total",
      "HTTP requests that ended with an error status.",
      ["route", "error_code", "method", "application"],
    ),
    depErrors: registry.counter(
      "ray_serve_num_deployment_http_error_requests_total",
      "HTTP requests to a deployment that ended with an error status.",
      ["deployment", "error_code", "method", "route", "application"],
    ),
    ongoing: registry.gauge(
      "ray_serve_num_ongoing_http_requests",
      "HTTP requests in progress at the proxy.",
      ["node_id", "node_ip_address"],
    ),
  };
  let ongoing = 0;
  const nodeLabels = [safeHostname(), "127.0.0.1"];
  m.ongoing.collect = () => m.ongoing.set(nodeLabels, ongoing);
  const classifyPaths = new Set(
    routePrefix === "/" ? ["/"] : [routePrefix, routePrefix + "/"],
  );
  // Read per request: an applied config may change the model.
  const labelsHeadersNow = () => ctx.labelsNote ? { "x-model-labels": ctx.labelsNote } : null;

  type RecordSeries = { requests: Series; latency: Series; errors: Series; depErrors: Series };
  const recordCache = new Map<string, RecordSeries>();
  function record(route: string, anyMethod: string, status: number, t0: number, isApp: boolean) {
    // Clients choose the method token freely: label only the standard ones, so that random
    // methods cannot grow the metric series (and this cache) without bound.
    const method = STANDARD_METHODS.has(anyMethod) ? anyMethod : "OTHER";
    const key = `${route} ${method} ${status}`;
    let rs = recordCache.get(key);
    if (!rs) {
      const code = String(status);
      rs = {
        requests: m.requests.child([route, method, appName, code]),
        latency: m.latency.child([method, route, appName, code]),
        errors: m.errors.child([route, code, method, appName]),
        depErrors: m.depErrors.child([depName, code, method, route, appName]),
      };
      // Unknown-route 404s share one route label, so this cache stays small.
      recordCache.set(key, rs);
    }
    const latencyMs = performance.now() - t0;
    Metric.inc(rs.requests);
    m.latency.observeSeries(rs.latency, latencyMs);
    if (isApp && ctx.onAppRequest) {
      const deployment = ctx.deployment.name; // read now: an apply may replace the ingress
      ctx.onAppRequest({ timeMs: Date.now(), latencyMs, status, application: appName, deployment });
    }
    if (status >= 400) {
      Metric.inc(rs.errors);
      if (isApp) Metric.inc(rs.depErrors);
    }
  }

  async function classify(req: Request, query: string): Promise<Response> {
    // The tutorial's answer is the bare label whatever the Accept header says (Ray Serve's
    // deployment returns a string; Locust's FastHttpUser sends Accept: application/json with
    // json=...). Our JSON document is opt-in: ?format=json or ?top=k.
    const params = query ? new URLSearchParams(query) : null;
    const topParam = params?.get("top") ?? null;
    const format = params?.get("format") ?? null;
    if (format !== null && format !== "json" && format !== "text") {
      throw new HttpError(
        400,
        "invalid_format",
        `query parameter format must be json or text, got "${format.slice(0, 40)}"`,
      );
    }
    const top = topParam === null ? ctx.topK : parseTop(topParam);
    const wantsJson = format === "json" || (format === null && topParam !== null);
    const request = await parseClassifyBody(req, wantsJson ? top : 1);
    if (ctx.deployment.deployFailed) {
      throw new HttpError(
        503,
        "not_ready",
        `deployment ${depName} is DEPLOY_FAILED: ${ctx.deployment.currentStatus().message}`,
      );
    }
    // req.signal is not passed: Deno aborts it after every successful response (legacy mode),
    // with a warning. Queued requests of clients that left still end at request_timeout_s.
    const handled = await ctx.deployment.handle(request, { timeoutMs: ctx.requestTimeoutMs });
    const reply = handled.reply;
    if (!reply.ok) {
      throw new HttpError(reply.failure.status, reply.failure.error, reply.failure.detail);
    }
    const result: ClassifyResult = reply.result;
    const label = result.top[0]?.label ?? "";
    const labelsHeaders = labelsHeadersNow();
    if (!wantsJson) {
      // Deno adds text/plain;charset=UTF-8 for a string body.
      return labelsHeaders ? new Response(label, { headers: labelsHeaders }) : new Response(label);
    }
    return json(
      {
        label,
        top: result.top,
        model: ctx.modelName,
        replica_id: handled.replicaId,
        retried: handled.retried,
        timings_ms: {
          queue: round(handled.queueMs),
          fetch: round(result.fetchMs),
          preprocess: round(result.preprocessMs),
          inference: round(result.inferenceMs),
        },
      },
      200,
      labelsHeaders,
    );
  }

  async function parseClassifyBody(req: Request, requestedTop: number): Promise<ClassifyRequest> {
    const ctype = (req.headers.get("content-type") ?? "").split(";")[0].trim().toLowerCase();
    let kind: "json" | "bytes" | "sniff";
    if (ctype === "application/json" || ctype.endsWith("+json")) kind = "json";
    else if (ctype.startsWith("image/") || ctype === "application/octet-stream") kind = "bytes";
    else if (ctype === "" || ctype === "application/x-www-form-urlencoded") kind = "sniff";
    else {
      throw new HttpError(
        415,
        "unsupported_media_type",
        `Content-Type "${ctype}" is not accepted: send application/json {"uri": "..."} ` +
          `or the image bytes with Content-Type image/*`,
      );
    }
    // Read per request: a config update may change user_config.max_image_bytes.
    const maxJsonBytes = Math.ceil(ctx.maxImageBytes * 4 / 3) + JSON_OVERHEAD_BYTES;
    const limit = kind === "bytes" ? ctx.maxImageBytes : maxJsonBytes;
    const what = kind === "bytes" ? "image" : "JSON";
    const body = await readRequestBody(req, {
      limit,
      what,
      timeoutMs: ctx.requestTimeoutMs ?? ctx.bodyReadTimeoutMs ?? DEFAULT_BODY_READ_TIMEOUT_MS,
      timeoutSource: ctx.requestTimeoutMs === null
        ? "the default body deadline; http_options.request_timeout_s is unset"
        : "http_options.request_timeout_s",
    });
    if (body.length === 0) {
      throw new HttpError(
        400,
        "empty_body",
        `the request body is empty: send JSON {"uri": "..."} or the image bytes`,
      );
    }
    if (kind === "sniff") kind = firstNonSpace(body) === 0x7b ? "json" : "bytes";
    if (kind === "bytes") {
      if (body.length > ctx.maxImageBytes) {
        throw new HttpError(
          413,
          "image_too_large",
          `the image is ${body.length} bytes; the limit is ${ctx.maxImageBytes} (user_config.max_image_bytes)`,
        );
      }
      return { source: { kind: "bytes", bytes: body }, top: requestedTop };
    }
    let value: unknown;
    try {
      value = JSON.parse(new TextDecoder("utf-8", { fatal: true }).decode(body));
    } catch (error) {
      throw new HttpError(
        400,
        "invalid_json",
        `the body is not valid JSON (${(error as Error).message}); expected {"uri": "..."}`,
      );
    }
    if (value === null || typeof value !== "object" || Array.isArray(value)) {
      throw new HttpError(
        400,
        "invalid_body",
        `expected a JSON object like {"uri": "https://..."}, got ${jsonType(value)}`,
      );
    }
    const uri = (value as Record<string, unknown>).uri;
    if (uri === undefined) {
      throw new HttpError(
        400,
        "missing_uri",
        `the JSON object has no "uri" field; expected {"uri": "https://..." or "data:image/..."}`,
      );
    }
    if (typeof uri !== "string") {
      throw new HttpError(400, "invalid_uri", `"uri" must be a string, got ${jsonType(uri)}`);
    }
    if (uri.trim() === "") {
      throw new HttpError(
        400,
        "invalid_uri",
        `"uri" is empty; expected an http, https or data: URI`,
      );
    }
    return { source: { kind: "uri", uri }, top: requestedTop };
  }

  return async function handler(req: Request): Promise<Response> {
    const t0 = performance.now();
    const badHost = hostHeaderProblem(req);
    if (badHost) return jsonError(400, "bad_host", badHost, { connection: "close" });
    const { path, query } = splitUrl(req.url);
    const method = req.method;
    try {
      if (path === "/-/healthz" || path === "/healthz") {
        if (method !== "GET" && method !== "HEAD") return methodNotAllowed(method, path, "GET");
        const s = ctx.applicationStatus();
        if (s.status === "RUNNING") {
          return new Response("success", { headers: { "content-type": "text/plain" } });
        }
        return jsonError(
          503,
          "not_ready",
          `application ${appName} is ${s.status}` + (s.message ? `: ${s.message}` : ""),
        );
      }
      if (path === "/-/routes") {
        if (method !== "GET") return methodNotAllowed(method, path, "GET");
        return json({ [routePrefix]: appName });
      }
      if (path === "/metrics") {
        if (method !== "GET") return methodNotAllowed(method, path, "GET");
        return new Response(registry.render(), {
          headers: { "content-type": "text/plain; version=0.0.4; charset=utf-8" },
        });
      }
      if (path === "/api/status") {
        if (method !== "GET") return methodNotAllowed(method, path, "GET");
        return json(ctx.status());
      }
      if (classifyPaths.has(path)) {
        let res: Response;
        if (method !== "POST") {
          res = methodNotAllowed(method, path, "POST");
        } else {
          ongoing++;
          try {
            res = await classify(req, query);
          } catch (error) {
            res = errorResponse(error);
          } finally {
            ongoing--;
          }
        }
        record(routePrefix, method, res.status, t0, true);
        return res;
      }
      const res = jsonError(
        404,
        "not_found",
        `no route ${method} ${path}; POST images to ${routePrefix}, or GET /-/healthz, ` +
          `/-/routes, /metrics, /api/status`,
      );
      record("", method, 404, t0, false);
      return res;
    } catch (error) {
      return errorResponse(error);
    }
  };
}

function errorResponse(error: unknown): Response {
  if (error instanceof HttpError) return jsonError(error.status, error.error, error.message);
  if (error instanceof BodyReadError) {
    // The rest of the body was not read: ask for the connection to be closed, not drained.
    return jsonError(error.status, error.error, error.message, { connection: "close" });
  }
  if (error instanceof BackPressureError) {
    return jsonError(503, "backpressure", error.message);
  }
  if (error instanceof RequestTimeoutError) return jsonError(504, "timeout", error.message);
  if (error instanceof ReplicaDiedError) {
    return jsonError(
      503,
      "replica_unavailable",
      `${error.message}; the request was already retried once on another replica`,
    );
  }
  const e = error as Error;
  if (e?.name === "AbortError") {
    return jsonError(499, "client_closed", "the client closed the connection");
  }
  return jsonError(500, "internal_error", e?.message ?? String(error));
}

function methodNotAllowed(method: string, path: string, allow: string): Response {
  return jsonError(
    405,
    "method_not_allowed",
    `${method} is not allowed on ${path}; use ${allow}`,
    { allow },
  );
}

/**
 * How long a request body may take to arrive when `http_options.request_timeout_s` is unset (as
 * nginx's `client_body_timeout`, 60 s): without it a slow or abandoned body would hold its request
 * open forever.
 */
export const DEFAULT_BODY_READ_TIMEOUT_MS = 60_000;

/** Path (percent-decoding not needed for our fixed routes) and query of an absolute URL. */
function splitUrl(url: string): { path: string; query: string } {
  const start = url.indexOf("/", url.indexOf("//") + 2);
  if (start < 0) return { path: "/", query: "" };
  const q = url.indexOf("?", start);
  const h = url.indexOf("#", start);
  const end = h < 0 ? url.length : h;
  if (q < 0 || q > end) return { path: url.slice(start, end), query: "" };
  return { path: url.slice(start, q), query: url.slice(q + 1, end) };
}

function firstNonSpace(bytes: Uint8Array): number {
  for (const b of bytes) if (b !== 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d) return b;
  return -1;
}

function jsonType(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "an array";
  if (typeof v === "object") return "an object";
  return `a ${typeof v} (${JSON.stringify(v).slice(0, 40)})`;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}

function safeHostname(): string {
  try {
    return Deno.hostname();
  } catch {
    return "localhost";
  }
}
