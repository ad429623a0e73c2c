/**
 * The REST API Ray's CLI uses on the dashboard port (issue 15): `GET /api/serve/applications/`
 * (the running config and per-application/deployment status, shaped as Ray's
 * `ServeInstanceDetails` as far as this lab models it), `PUT` (a whole declarative config, JSON or
 * YAML, as `serve deploy` sends it: validated with line:col messages, refused whole or applied),
 * `DELETE` (shut every application down). Writes are off unless allowed: on loopback they are
 * open to requests whose `Host` is a loopback name (not a DNS-rebound page); bound elsewhere
 * they need a token (`--admin-token-file`), sent as `Authorization: Bearer TOKEN`; with a token
 * set, every write needs it. Cross-origin pages cannot send PUT or DELETE: no CORS is granted.
 *
 * @module
 */
import { isLoopbackHost } from "./loopback.ts";
import { ConfigError, effectiveConfigObject, parseConfig } from "../config/mod.ts";
import { jsonError } from "./http_app.ts";
import type { ApplyResult, ServeInstance } from "./instance.ts";

/** The path of the API (with or without its trailing slash). */
export const ADMIN_API_PATH = "/api/serve/applications/";

/** Largest config accepted by PUT. */
const MAX_CONFIG_BYTES = 1024 * 1024;

/** Options of {@linkcode createAdminApi}. */
export interface AdminApiOptions {
  /** The token writes must carry, or null. */
  token: string | null;
  /** Whether the API listens on loopback only (writes without a token are allowed there). */
  loopback: boolean;
  /** Called after a DELETE was answered: the service shuts down (deploy exits 0). */
  onShutdown: () => void;
  /** Readable log lines. */
  log?: (line: string) => void;
}

/** What the API reads and drives. */
export type AdminTarget = Pick<ServeInstance, "apply" | "config" | "status" | "cluster">;

/**
 * A handler for the API's path: answers requests to it, and returns null for any other path (the
 * dashboard answers those).
 */
export function createAdminApi(
  target: AdminTarget,
  options: AdminApiOptions,
): (req: Request) => Promise<Response> | null {
  const log = options.log ?? (() => {});
  const writable = options.token !== null || options.loopback;
  let shuttingDown = false;

  const refuseWrite = (req: Request): Response | null => {
    if (!writable) {
      return jsonError(
        403,
        "writes_disabled",
        "the admin API is read-only: the dashboard listens beyond loopback and no " +
          "--admin-token-file was given, so PUT and DELETE are off",
      );
    }
    if (options.token === null) {
      // Open writes on loopback are for this machine's tools: a Host naming another name is a
      // browser led there by DNS rebinding, not `deno task apply`.
      const host = new URL(req.url).hostname.replace(/^\[|\]$/g, ""); // from the Host header
      if (isLoopbackHost(host)) return null;
      return jsonError(
        403,
        "forbidden_host",
        `writes without a token are accepted only for Host 127.0.0.1, localhost or [::1], got ` +
          `"${host}"; use --admin-token-file to allow others`,
      );
    }
    const auth = req.headers.get("authorization") ?? "";
    const given = auth.startsWith("Bearer ") ? auth.slice(7).trim() : "";
    if (!sameToken(given, options.token)) {
      return jsonError(
        401,
        "unauthorized",
        "this admin API needs `Authorization: Bearer TOKEN` with the token of " +
          "--admin-token-file (deno task apply --admin-token-file PATH sends it)",
        { "www-authenticate": "Bearer" },
      );
    }
    return null;
  };

  return (req: Request): Promise<Response> | null => {
    const path = new URL(req.url).pathname;
    if (path !== ADMIN_API_PATH && path !== ADMIN_API_PATH.slice(0, -1)) return null;
    const method = req.method;
    if (method === "GET" || method === "HEAD") {
      return Promise.resolve(json(instanceDetails(target)));
    }
    if (method !== "PUT" && method !== "DELETE") {
      return Promise.resolve(
        jsonError(405, "method_not_allowed", `${method} is not allowed; use GET, PUT or DELETE`, {
          allow: "GET, HEAD, PUT, DELETE",
        }),
      );
    }
    const refused = refuseWrite(req);
    if (refused) return Promise.resolve(refused);
    if (method === "DELETE") {
      if (!shuttingDown) {
        shuttingDown = true;
        log("admin API: DELETE received: shutting every application down");
        setTimeout(options.onShutdown, 0); // after the answer is on its way
      }
      return Promise.resolve(json({ status: "shutting down" }));
    }
    return put(req);
  };

  async function put(req: Request): Promise<Response> {
    if (shuttingDown) return jsonError(409, "shutting_down", "the service is shutting down");
    const declared = Number(req.headers.get("content-length") ?? "0");
    if (declared > MAX_CONFIG_BYTES) {
      return jsonError(413, "payload_too_large", `a config is at most ${MAX_CONFIG_BYTES} bytes`);
    }
    let text: string;
    try {
      const bytes = new Uint8Array(await req.arrayBuffer());
      if (bytes.length > MAX_CONFIG_BYTES) {
        return jsonError(413, "payload_too_large", `a config is at most ${MAX_CONFIG_BYTES} bytes`);
      }
      text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
    } catch (error) {
      return jsonError(
        400,
        "invalid_body",
        `the body is not UTF-8 text: ${(error as Error).message}`,
      );
    }
    let result: ApplyResult;
    try {
      const { config } = parseConfig(text, {});
      result = await target.apply(config);
    } catch (error) {
      if (error instanceof ConfigError) {
        log(`admin API: PUT refused (invalid config): ${error.message.split("\n")[0]}`);
        return json({
          error: "invalid_config",
          detail: `the config was refused, nothing changed:\n${error.message}`,
        }, 400);
      }
      throw error;
    }
    if (!result.ok) {
      log(`admin API: PUT refused: ${result.errors.join("; ")}`);
      return json({
        error: "refused",
        detail: `the config was refused, nothing changed:\n${result.errors.join("\n")}`,
        errors: result.errors,
      }, 409);
    }
    log(`admin API: PUT applied (${summarise(result.plan.changes.map((c) => c.kind))})`);
    return json({ status: "applied", plan: result.plan });
  }
}

/** `GET /api/serve/applications/`: Ray's `ServeInstanceDetails`, as far as the lab models it. */
export function instanceDetails(target: AdminTarget): Record<string, unknown> {
  const status = target.status();
  const config = target.config;
  const effective = config ? effectiveConfigObject(config) : null;
  const appConfigs = (effective?.applications ?? []) as Record<string, unknown>[];
  const applications: Record<string, unknown> = {};
  for (const [name, app] of Object.entries(status.applications)) {
    const appConfig = appConfigs.find((a) => a.name === name) ?? null;
    const depConfigs = (appConfig?.deployments ?? []) as Record<string, unknown>[];
    const deployments: Record<string, unknown> = {};
    for (const [depName, dep] of Object.entries(app.deployments)) {
      const depConfig = depConfigs.find((d) => d.name === depName) ?? null;
      const actor = depConfig?.ray_actor_options as { num_cpus?: number } | undefined;
      deployments[depName] = {
        name: depName,
        status: dep.status,
        status_trigger: dep.status_trigger,
        message: dep.message,
        deployment_config: depConfig,
        target_num_replicas: dep.target_replicas,
        required_resources: { CPU: actor?.num_cpus ?? null },
        replicas: dep.replicas.map((r) => ({
          replica_id: r.replica_id,
          state: r.state,
          actor_name: `SERVE_REPLICA::${name}#${depName}#${r.replica_id}`,
          start_time_s: r.requested_at_ms / 1000,
          version: r.version ?? null,
        })),
        autoscaler: dep.autoscaler,
      };
    }
    applications[name] = {
      name,
      route_prefix: app.route_prefix,
      docs_path: null,
      status: app.status,
      message: app.message,
      last_deployed_time_s: app.last_deployed_time_s,
      deployed_app_config: appConfig,
      source: "DECLARATIVE",
      deployments,
    };
  }
  return {
    controller_info: { actor_name: "SERVE_CONTROLLER_ACTOR", node_ip: "127.0.0.1" },
    proxy_location: "HeadOnly",
    http_options: effective?.http_options ?? null,
    deploy_mode: "MULTI_APP",
    applications,
    target_capacity: null,
    cluster: status.cluster,
  };
}

function summarise(kinds: string[]): string {
  const counts = new Map<string, number>();
  for (const k of kinds) counts.set(k, (counts.get(k) ?? 0) + 1);
  return [...counts].map(([k, n]) => `${n} ${k}`).join(", ") || "no deployments";
}

/** Compares tokens in time independent of where they differ. */
function sameToken(a: string, b: string): boolean {
  const x = new TextEncoder().encode(a);
  const y = new TextEncoder().encode(b);
  let diff = x.length ^ y.length;
  for (let i = 0; i < Math.max(x.length, y.length); i++) diff |= (x[i] ?? 0) ^ (y[i] ?? 0);
  return diff === 0 && a.length > 0;
}

function json(value: unknown, status = 200): Response {
  return new Response(JSON.stringify(value, null, 2) + "\n", {
    status,
    headers: { "content-type": "application/json", "cache-control": "no-store" },
  });
}
