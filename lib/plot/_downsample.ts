/**
 * Keeping long runs light: step series lose nothing when repeated values are dropped, and
 * per-second series longer than a chart's pixel width are bucketed (max for latency, so spikes
 * survive; mean for rates).
 *
 * @module
 */

/**
 * Rows where any of `keys` changed from the previous row, plus the first and the last: a lossless
 * reduction for step-after curves.
 */
export function compressSteps<T>(
  rows: readonly T[],
  keys: readonly (keyof T)[],
): T[] {
  if (rows.length <= 2) return [...rows];
  const out: T[] = [rows[0]];
  for (let i = 1; i < rows.length - 1; i++) {
    if (keys.some((k) => rows[i][k] !== rows[i - 1][k])) {
      // keep the row before a change too, so a linear (non-step) reading stays right
      if (out[out.length - 1] !== rows[i - 1]) out.push(rows[i - 1]);
      out.push(rows[i]);
    }
  }
  out.push(rows[rows.length - 1]);
  return out;
}

/**
 * Buckets rows by `x` into at most `maxPoints` buckets of whole seconds. Each bucket keeps the
 * first row's x and, per key, the max (`"max"`) or mean (`"mean"`) of its non-null values.
 * Returns the rows unchanged (and `bucketS` 0) when they already fit.
 */
export function bucketRows(
  rows: readonly Record<string, number | null>[],
  options: { x: string; keys: readonly string[]; maxPoints: number; reduce: "max" | "mean" },
): { rows: Record<string, number | null>[]; bucketS: number } {
  if (rows.length <= options.maxPoints) return { rows: [...rows], bucketS: 0 };
  const first = rows[0][options.x] ?? 0;
  const last = rows[rows.length - 1][options.x] ?? 0;
  const bucketS = Math.max(1, Math.ceil((last - first) / options.maxPoints));
  const out: Record<string, number | null>[] = [];
  let current: Record<string, number | null>[] = [];
  let currentIndex = -1;
  const flush = () => {
    if (current.length === 0) return;
    const row: Record<string, number | null> = { [options.x]: current[0][options.x] };
    for (const k of options.keys) {
      const values = current.map((r) => r[k]).filter((v): v is number =>
        v !== null && !Number.isNaN(v)
      );
      row[k] = values.length === 0
        ? null
        : options.reduce === "max"
        ? values.reduce((a, b) => Math.max(a, b), -Infinity)
        : values.reduce((a, b) => a + b, 0) / values.length;
    }
    out.push(row);
    current = [];
  };
  for (const r of rows) {
    const index = Math.floor(((r[options.x] ?? 0) - first) / bucketS);
    if (index !== currentIndex) {
      flush();
      currentIndex = index;
    }
    current.push(r);
  }
  flush();
  return { rows: out, bucketS };
}
