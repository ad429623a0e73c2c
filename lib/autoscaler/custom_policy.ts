/**
 * Loading a custom policy named by `autoscaling_config.policy.policy_function`
 * (`./my_policy.ts:fn`, resolved relative to the config file's folder). The wrapper (cold start,
 * factors, bounds, delays) still applies around it, as in Ray.
 *
 * @module
 */
import type { AutoscalingPolicy } from "./policy.ts";
import { PEER_POLICIES } from "./peers/mod.ts";

/** Ray's names for its default policy, accepted as "use the default". */
const DEFAULT_POLICY_REFS = new Set([
  "ray.serve.autoscaling_policy:default_autoscaling_policy",
  "ray.serve.autoscaling_policy:replica_queue_length_autoscaling_policy",
  "ray.serve.autoscaling_policy.default_autoscaling_policy",
  "default",
]);

/** Whether `ref` names Ray's default policy rather than a module of ours. */
export function isDefaultPolicyRef(ref: string): boolean {
  return DEFAULT_POLICY_REFS.has(ref.trim());
}

/** Splits `module:export` at the last colon (a Windows drive letter is not a separator). */
export function parsePolicyRef(ref: string): { module: string; exportName: string } {
  const i = ref.lastIndexOf(":");
  if (i <= 0 || i === ref.length - 1 || /^[A-Za-z]$/.test(ref.slice(0, i))) {
    throw new Error(
      `autoscaling_config.policy.policy_function must look like "./my_policy.ts:functionName", got "${ref}"`,
    );
  }
  return { module: ref.slice(0, i).trim(), exportName: ref.slice(i + 1).trim() };
}

function toUrl(module: string, baseDir: string): URL {
  if (/^(file|https?|data):/.test(module)) return new URL(module);
  if (module.startsWith("/")) return new URL(`file://${module}`);
  const base = baseDir.endsWith("/") ? baseDir : baseDir + "/";
  return new URL(
    module,
    base.startsWith("/") ? `file://${base}` : new URL(base, `file://${Deno.cwd()}/`),
  );
}

/**
 * Imports the module named by `ref` and returns its exported function. Errors say which file
 * was tried, what it exports and what a policy looks like.
 */
export async function loadPolicy(
  ref: string,
  options: { baseDir?: string } = {},
): Promise<AutoscalingPolicy> {
  const builtin = PEER_POLICIES[ref.trim()]; // `knative-kpa`, `hpa`: lib/autoscaler/peers
  if (builtin) return builtin;
  const { module, exportName } = parsePolicyRef(ref);
  const baseDir = options.baseDir ?? Deno.cwd();
  const url = toUrl(module, baseDir);
  let mod: Record<string, unknown>;
  try {
    mod = await import(url.href);
  } catch (error) {
    throw new Error(
      `autoscaling_config.policy.policy_function "${ref}": cannot import ${url.href} (resolved from ${baseDir}): ${
        (error as Error).message.split("\n")[0]
      }`,
    );
  }
  const fn = mod[exportName];
  if (typeof fn !== "function") {
    const names = Object.keys(mod).filter((k) => typeof mod[k] === "function");
    throw new Error(
      `autoscaling_config.policy.policy_function "${ref}": ${url.href} has no exported function "${exportName}"${
        names.length > 0 ? `; its exported functions are: ${names.join(", ")}` : ""
      } (a policy is (ctx: AutoscalingContext) => number | { desiredReplicas, policyState })`,
    );
  }
  return fn as AutoscalingPolicy;
}
