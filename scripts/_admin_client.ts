/**
 * What `deploy`, `apply` and `shutdown` share about the admin REST API: the default address,
 * reading the token file, loopback hosts, and one request with a readable failure.
 *
 * @module
 */
import type { Cli } from "../lib/cli/mod.ts";
export { isLoopbackHost } from "../lib/serve/mod.ts";

/** Where `deno task deploy` serves the dashboard and the admin API by default. */
export const DEFAULT_ADMIN_ADDRESS = "http://127.0.0.1:8265";

/** The admin API's path. */
export const APPLICATIONS_PATH = "/api/serve/applications/";

/** Reads a token file: its first line, trimmed; an empty file is an error. */
export async function readAdminToken(path: string): Promise<string> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    throw new Error(`cannot read --admin-token-file ${path}: ${(error as Error).message}`);
  }
  const token = text.split("\n")[0].trim();
  if (token === "") throw new Error(`--admin-token-file ${path} is empty; put a token in it`);
  return token;
}

/** The API's URL at `address` (a bare `host:port` gets `http://`); throws on a bad address. */
export function applicationsUrl(address: string): URL {
  const withScheme = /^https?:\/\//.test(address) ? address : `http://${address}`;
  let url: URL;
  try {
    url = new URL(APPLICATIONS_PATH, withScheme);
  } catch {
    throw new Error(`--address must be a URL like ${DEFAULT_ADMIN_ADDRESS}, got "${address}"`);
  }
  return url;
}

/** One request to the API; rejects with a sentence when no service answers. */
export async function adminRequest(
  url: URL,
  init: { method: string; body?: string; token?: string | null },
): Promise<{ status: number; body: Record<string, unknown> }> {
  const headers: Record<string, string> = { "content-type": "application/json" };
  if (init.token) headers.authorization = `Bearer ${init.token}`;
  let res: Response;
  try {
    res = await fetch(url, {
      method: init.method,
      body: init.body,
      headers,
      signal: AbortSignal.timeout(120_000),
    });
  } catch (error) {
    throw new Error(
      `no service answered at ${url} (${(error as Error).message}); is \`deno task deploy\` ` +
        `running with its dashboard? Use --address to point elsewhere.`,
    );
  }
  const text = await res.text();
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    body = { error: "not_json", detail: text.slice(0, 500) };
  }
  return { status: res.status, body };
}

/**
 * The API's URL and token from `--address` and `--admin-token-file`, as `apply` and `shutdown`
 * take them: a bad address is a usage error, an unreadable token file a failure (exit 2).
 */
export async function adminTarget(
  c: Cli,
  flags: { address?: string; "admin-token-file"?: string },
): Promise<{ url: URL; token: string | null }> {
  let url: URL;
  try {
    url = applicationsUrl(flags.address ?? DEFAULT_ADMIN_ADDRESS);
  } catch (error) {
    return c.usageError((error as Error).message);
  }
  const tokenFile = flags["admin-token-file"];
  const token = tokenFile === undefined
    ? null
    : await readAdminToken(tokenFile).catch((e) => c.fail((e as Error).message));
  return { url, token };
}
