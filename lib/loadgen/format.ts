/**
 * Numbers for people: durations, rates and plain figures without binary-float noise
 * (`3.3000000000000003` prints `3.3`, `100 / 3` prints `33.33`). One helper for every place the
 * load generator, the plots and the dashboard print a figure or write one into a CSV a person
 * reads (`_stages.csv`'s Spawn Rate).
 *
 * ```ts
 * formatNumber(0.1 + 0.2); // "0.3"
 * formatSeconds(3.3000000000000003); // "3.3 s"
 * formatSeconds(660); // "11 min"
 * formatRate(100 / 3); // "33.33/s"
 * ```
 *
 * @module
 */

/** Options of {@linkcode formatNumber}. */
export interface FormatNumberOptions {
  /** Most decimals kept (default 2); trailing zeros are dropped. */
  maxDecimals?: number;
}

/**
 * `value` rounded to at most `maxDecimals` decimals (default 2), trailing zeros and float noise
 * dropped: `3.3000000000000003` → `3.3`, `33.333333333333336` → `33.33`, `20` → `20`, `-0` → `0`.
 * Non-finite values print as JavaScript does (`NaN`, `Infinity`).
 */
export function formatNumber(value: number, options: FormatNumberOptions = {}): string {
  if (!Number.isFinite(value)) return String(value);
  const digits = options.maxDecimals ?? 2;
  const rounded = Number(value.toFixed(digits));
  return String(rounded === 0 ? 0 : rounded); // no "-0"
}

/**
 * A duration in seconds for people: under a minute `3.3 s` (at most 2 decimals; `0.25 s`), from a
 * minute on `1 min 6 s` / `11 min` (whole seconds), from an hour on `1 h 5 min`.
 */
export function formatSeconds(seconds: number): string {
  if (!Number.isFinite(seconds)) return `${seconds} s`;
  const sign = seconds < 0 ? "-" : "";
  const s = Math.abs(seconds);
  if (s < 60) return `${sign}${formatNumber(s)} s`;
  const whole = Math.round(s);
  if (whole < 3600) {
    const m = Math.floor(whole / 60);
    const rest = whole % 60;
    return `${sign}${m} min${rest ? ` ${rest} s` : ""}`;
  }
  const h = Math.floor(whole / 3600);
  const m = Math.round((whole % 3600) / 60);
  return `${sign}${h} h${m ? ` ${m} min` : ""}`;
}

/** A rate per second for people: `33.33/s`, `20/s` (at most 2 decimals). */
export function formatRate(perSecond: number): string {
  return `${formatNumber(perSecond)}/s`;
}

/** A whole-number range for people: `[10, 12]` → `10-12`, `[2, 2]` → `2`. */
export function formatIntRange(range: readonly [number, number]): string {
  return range[0] === range[1] ? String(range[0]) : `${range[0]}-${range[1]}`;
}
