/**
 * Go's `time.ParseDuration` syntax (`600s`, `1m30s`, `1h`, `1.5h`), which Knative's webhook uses.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  "µs": 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

/** Milliseconds of a Go duration string, or null when it is not one. */
export function parseGoDurationMs(text: string): number | null {
  if (text === "0") return 0;
  const m = /^([+-]?)((?:\d+(?:\.\d*)?|\.\d+)(?:ns|us|µs|ms|s|m|h))+$/.exec(text);
  if (!m) return null;
  let total = 0;
  for (
    const part of text.replace(/^[+-]/, "").matchAll(/(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)/g)
  ) {
    total += Number(part[1]) * UNIT_MS[part[2]];
  }
  return m[1] === "-" ? -total : total;
}
