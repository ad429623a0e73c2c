/**
 * `deno task shutdown [--address URL] [--admin-token-file F] [--no-wait]`: our `serve shutdown`.
 * Asks the running service to drain and stop every application (`DELETE
 * /api/serve/applications/`); the `deno task deploy` process then exits 0. Waits until the
 * service no longer answers unless `--no-wait`.
 *
 * @module
 */
import { type Cli, cli, EXIT_CODES } from "../lib/cli/mod.ts";
import { adminRequest, adminTarget, DEFAULT_ADMIN_ADDRESS } from "./_admin_client.ts";

const USAGE = `usage: deno task shutdown [options]

Drains and stops every application of the running service (like \`serve shutdown -y\`).

options:
  --address URL         the admin API (the dashboard port; default ${DEFAULT_ADMIN_ADDRESS})
  --admin-token-file F  the token file the service was started with, if any
  --timeout S           how long to wait for the service to stop (default 120 s)
  --no-wait             return once the service accepted the request
  -h, --help            this text

exit codes: 0 stopped (or stopping, with --no-wait), 1 refused, unreachable or still running`;

const c: Cli = cli("shutdown", USAGE);
const args = c.parse({
  address: { type: "string", default: DEFAULT_ADMIN_ADDRESS },
  "admin-token-file": { type: "string" },
  timeout: { type: "string" },
  "no-wait": { type: "boolean", default: false },
});
const timeoutS = c.durationS("timeout", args.values.timeout, { above: 0 }) ?? 120;

await c.run(async () => {
  const { url, token } = await adminTarget(c, args.values);
  const res = await adminRequest(url, { method: "DELETE", token })
    .catch((e) => c.fail((e as Error).message, EXIT_CODES.failed));
  if (res.status !== 200) {
    console.error(
      `shutdown: ${url.origin} refused (HTTP ${res.status}): ${res.body.detail ?? res.body.error}`,
    );
    return EXIT_CODES.failed;
  }
  console.log(`shutting down the service at ${url.origin}: draining every application`);
  if (args.values["no-wait"]) return EXIT_CODES.ok;
  const deadline = Date.now() + timeoutS * 1000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
    } catch {
      console.log("stopped");
      return EXIT_CODES.ok;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  console.error(`shutdown: the service still answers after ${timeoutS} s`);
  return EXIT_CODES.failed;
});
