/**
 * Reading a peer policy's `policy_kwargs`: numbers within a range, with the engine's default,
 * and a clear error naming the keyword and the policy when a value is wrong or unknown.
 *
 * @module
 */
import { PolicyError } from "../policy.ts";

/** One numeric keyword: default and inclusive range. */
export interface NumberKwarg {
  default: number | null;
  min: number;
  max: number;
  /** Whole numbers only. */
  integer?: boolean;
}

/** Reads numeric kwargs against `spec`; throws a {@linkcode PolicyError} naming the bad one. */
export function readNumberKwargs<K extends string>(
  kwargs: Readonly<Record<string, unknown>>,
  spec: Record<K, NumberKwarg>,
  options: { policyName: string; extraKeys?: readonly string[] },
): Record<K, number | null> {
  const policyName = options.policyName;
  const known = new Set([...Object.keys(spec), ...(options.extraKeys ?? [])]);
  for (const key of Object.keys(kwargs)) {
    if (!known.has(key)) {
      throw new PolicyError(
        `policy ${policyName}: unknown policy_kwargs key "${key}"; known keys: ${
          [...known].join(", ")
        }`,
      );
    }
  }
  const out = {} as Record<K, number | null>;
  for (const key of Object.keys(spec) as K[]) {
    const s = spec[key];
    const raw = kwargs[key];
    if (raw === undefined || raw === null) {
      out[key] = s.default;
      continue;
    }
    const n = typeof raw === "number" ? raw : NaN;
    if (!Number.isFinite(n) || n < s.min || n > s.max || (s.integer && !Number.isInteger(n))) {
      throw new PolicyError(
        `policy ${policyName}: policy_kwargs.${key} must be ${
          s.integer ? "an integer" : "a number"
        } from ${s.min} to ${s.max}, got ${JSON.stringify(raw)}`,
      );
    }
    out[key] = n;
  }
  return out;
}

/** Caches parsed kwargs per kwargs object (the controller passes the same object every tick). */
export function kwargsCache<T>(
  parse: (kwargs: Readonly<Record<string, unknown>>) => T,
): (kwargs: Readonly<Record<string, unknown>>) => T {
  const cache = new WeakMap<object, T>();
  return (kwargs) => {
    let v = cache.get(kwargs);
    if (v === undefined) {
      v = parse(kwargs);
      cache.set(kwargs, v);
    }
    return v;
  };
}
