/**
 * Prints `/api/status` in the shape of `serve status` (research/ray-serve.md §5.4): YAML with
 * Ray's key order, only non-zero replica states, `target_capacity: null`.
 *
 * @module
 */
import { stringify } from "yaml";
import type { ServeStatusJson } from "./types.ts";

/** Options of {@link formatServeStatus}. */
export interface FormatServeStatusOptions {
  /** Print only this application's block (`serve status -n <app>`). */
  appName?: string;
  /** Key naming the proxy (Ray prints its node id); default `127.0.0.1`. */
  proxyName?: string;
}

/** `serve status`-shaped YAML of a `/api/status` document. Throws if `appName` is unknown. */
export function formatServeStatus(
  status: ServeStatusJson,
  options: FormatServeStatusOptions = {},
): string {
  const apps: Record<string, unknown> = {};
  for (const [name, app] of Object.entries(status.applications)) {
    const deployments: Record<string, unknown> = {};
    for (const [depName, d] of Object.entries(app.deployments)) {
      const states: Record<string, number> = {};
      for (const [state, n] of Object.entries(d.replica_states)) if (n > 0) states[state] = n;
      deployments[depName] = {
        status: d.status,
        status_trigger: d.status_trigger,
        replica_states: states,
        message: d.message,
      };
    }
    apps[name] = {
      status: app.status,
      message: app.message,
      last_deployed_time_s: app.last_deployed_time_s,
      deployments,
    };
  }
  if (options.appName !== undefined) {
    const one = apps[options.appName];
    if (!one) {
      throw new Error(
        `no application named "${options.appName}"; known: ${Object.keys(apps).join(", ")}`,
      );
    }
    return stringify(one);
  }
  return stringify({
    proxies: { [options.proxyName ?? "127.0.0.1"]: "HEALTHY" },
    applications: apps,
    target_capacity: null,
  });
}
