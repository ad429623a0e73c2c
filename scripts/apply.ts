/**
 * `deno task apply <config.yaml> [--address URL] [--admin-token-file F] [--json]`: our
 * `serve deploy`. Validates the file locally (the same `file:line:col` messages as
 * `deno task config`), then PUTs it to the running service's admin API and prints, per
 * deployment, what changed and whether it is a lightweight update (in place) or a rolling one.
 * Exits 0 when applied, 2 for an invalid file, 1 when the service refused it or cannot be
 * reached (a refusal changes nothing).
 *
 * @module
 */
import { ConfigError, effectiveConfigObject, formatIssue, loadConfig } from "../lib/config/mod.ts";
import { type ApplyPlan, formatPlan } from "../lib/serve/mod.ts";
import { type Cli, cli, EXIT_CODES } from "../lib/cli/mod.ts";
import { adminRequest, adminTarget, DEFAULT_ADMIN_ADDRESS } from "./_admin_client.ts";

const USAGE = `usage: deno task apply <config.yaml> [options]

Applies a config to the running service (like \`serve deploy\`): every application in the
file runs from now on; applications not in it are drained and removed.

options:
  --address URL         the admin API (the dashboard port; default ${DEFAULT_ADMIN_ADDRESS})
  --admin-token-file F  the token file the service was started with, if any
  --json                print the service's answer as JSON
  -h, --help            this text

exit codes: 0 applied, 1 refused by the service or unreachable, 2 invalid file or flags`;

const c: Cli = cli("apply", USAGE);
const args = c.parse({
  address: { type: "string", default: DEFAULT_ADMIN_ADDRESS },
  "admin-token-file": { type: "string" },
  json: { type: "boolean", default: false },
}, { positionals: { min: 1, max: 1, name: "config file" } });

await c.run(async () => {
  const path = args.positionals[0];
  const { url, token } = await adminTarget(c, args.values);
  let loaded;
  try {
    loaded = await loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) {
      return c.fail(`invalid config, nothing applied:\n${error.message}`);
    }
    return c.fail((error as Error).message);
  }
  for (const w of loaded.warnings) console.error(`warning: ${formatIssue(w)}`);
  const body = withAbsolutePolicyModules(
    effectiveConfigObject(loaded.config),
    loaded.config.source_path,
  );
  const t0 = performance.now();
  const res = await adminRequest(url, { method: "PUT", body: JSON.stringify(body), token })
    .catch((e) => c.fail((e as Error).message, EXIT_CODES.failed));
  const ms = performance.now() - t0;
  if (args.values.json) console.log(JSON.stringify(res.body, null, 2));
  if (res.status !== 200) {
    console.error(
      `apply: ${url.origin} refused ${path} (HTTP ${res.status}): ${
        res.body.detail ?? res.body.error
      }`,
    );
    return EXIT_CODES.failed;
  }
  if (!args.values.json) {
    const plan = res.body.plan as ApplyPlan;
    console.log(`applied ${path} to ${url.origin} in ${ms.toFixed(0)} ms:`);
    for (const line of formatPlan(plan)) console.log(`  ${line}`);
  }
  return EXIT_CODES.ok;
});

/**
 * The config object with relative `policy_function` modules made absolute: the service resolves
 * them from its own working directory, not from this file's folder.
 */
function withAbsolutePolicyModules(
  config: Record<string, unknown>,
  sourcePath: string | null,
): Record<string, unknown> {
  if (sourcePath === null) return config;
  const dir = sourcePath.slice(0, sourcePath.lastIndexOf("/")) || "/";
  type Dep = { autoscaling_config?: { policy?: { policy_function?: string } | null } | null };
  for (const app of config.applications as { deployments: Dep[] }[]) {
    for (const dep of app.deployments) {
      const policy = dep.autoscaling_config?.policy;
      const ref = policy?.policy_function;
      if (!policy || !ref) continue;
      const i = ref.lastIndexOf(":");
      const module = ref.slice(0, i);
      if (/^(file|https?|data):/.test(module) || module.startsWith("/")) continue;
      policy.policy_function = `${new URL(module, `file://${dir}/`).pathname}${ref.slice(i)}`;
    }
  }
  return config;
}
