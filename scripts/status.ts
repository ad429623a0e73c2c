/**
 * `deno task status [--address http://127.0.0.1:8000] [-n app] [--json]`: prints the running
 * service's status in the shape of `serve status` (YAML), read from its `/api/status`.
 *
 * @module
 */
import { type Cli, cli, EXIT_CODES } from "../lib/cli/mod.ts";
import { formatServeStatus, type ServeStatusJson } from "../lib/serve/mod.ts";

const USAGE = `usage: deno task status [--address URL] [-n APP] [--json]

  --address URL   the service's address (default http://127.0.0.1:8000)
  -n, --name APP  print only this application's status
  --json          print the raw /api/status JSON (per-replica states, ongoing counts, times)`;

const c: Cli = cli("status", USAGE);
const fail: Cli["fail"] = c.fail;
const args = c.parse({
  address: { type: "string", default: "http://127.0.0.1:8000" },
  name: { type: "string", short: "n" },
  json: { type: "boolean", default: false },
});
let address = args.values.address!;
if (!/^https?:\/\//.test(address)) address = `http://${address}`;
let url: URL;
try {
  url = new URL("/api/status", address);
} catch {
  c.usageError(`--address must be a URL like http://127.0.0.1:8000, got "${address}"`);
}

let status: ServeStatusJson;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) {
    fail(`${url} answered ${res.status}: ${(await res.text()).slice(0, 500)}`, EXIT_CODES.failed);
  }
  status = await res.json();
} catch (error) {
  fail(
    `no service answered at ${url} (${(error as Error).message}); ` +
      `is \`deno task deploy\` running? Use --address to point elsewhere.`,
    EXIT_CODES.failed,
  );
}
if (args.values.json) {
  console.log(JSON.stringify(status, null, 2));
} else {
  try {
    Deno.stdout.writeSync(
      new TextEncoder().encode(formatServeStatus(status, {
        appName: args.values.name,
        proxyName: url.host,
      })),
    );
  } catch (error) {
    fail((error as Error).message, EXIT_CODES.failed);
  }
}
