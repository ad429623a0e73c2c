/**
 * How `auto` rounds and prints images/s, shared by the per-replica and the per-deployment
 * summaries.
 *
 * @module
 */

/** `595`, `13.8`, `2.61`: three significant-ish digits for a rate. */
export function formatRate(x: number): string {
  return x >= 100 ? x.toFixed(0) : x >= 10 ? x.toFixed(1) : x.toFixed(2);
}

/** `x` rounded to `digits` decimals. */
export function roundTo(x: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
