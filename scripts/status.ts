/**
 * `deno task status [--address http://127.0.0.1:8000] [-n app] [--json]`: prints the running
 * service's status in the shape of `serve status` (YAML), read from its `/api/status`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { formatServeStatus, type ServeStatusJson } from "../lib/serve/mod.ts";

const USAGE = `usage: deno task status [--address URL] [-n APP] [--json]

  --address URL   the service's address (default http://127.0.0.1:8000)
  -n, --name APP  print only this application's status
  --json          print the raw /api/status JSON (per-replica states, ongoing counts, times)`;

let args;
try {
  args = parseArgs({
    args: Deno.args,
    options: {
      address: { type: "string", default: "http://127.0.0.1:8000" },
      name: { type: "string", short: "n" },
      json: { type: "boolean", default: false },
      help: { type: "boolean", short: "h" },
    },
  });
} catch (error) {
  console.error(`error: ${(error as Error).message}\n\n${USAGE}`);
  Deno.exit(2);
}
if (args.values.help) {
  console.log(USAGE);
  Deno.exit(0);
}
let address = args.values.address!;
if (!/^https?:\/\//.test(address)) address = `http://${address}`;
let url: URL;
try {
  url = new URL("/api/status", address);
} catch {
  console.error(`error: --address must be a URL like http://127.0.0.1:8000, got "${address}"`);
  Deno.exit(2);
}

let status: ServeStatusJson;
try {
  const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
  if (!res.ok) {
    console.error(`error: ${url} answered ${res.status}: ${(await res.text()).slice(0, 500)}`);
    Deno.exit(1);
  }
  status = await res.json();
} catch (error) {
  console.error(
    `error: no service answered at ${url} (${(error as Error).message}); ` +
      `is \`deno task deploy\` running? Use --address to point elsewhere.`,
  );
  Deno.exit(1);
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
    console.error(`error: ${(error as Error).message}`);
    Deno.exit(1);
  }
}
