/**
 * The median of a sample, the one implementation the lab's figures use (backend timings, a
 * verification run's per-second replicas, a fidelity check's seeds).
 *
 * @module
 */

/**
 * The median of `values`: the middle value, or the mean of the middle two for an even count;
 * `null` when there are none.
 *
 * @example
 * ```ts
 * median([3, 1, 2]); // 2
 * median([4, 1, 3, 2]); // 2.5
 * ```
 */
export function median(values: readonly number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}
