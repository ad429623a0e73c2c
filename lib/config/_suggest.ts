/**
 * "Did you mean" suggestions for misspelt keys and values.
 *
 * @module
 */

/** Levenshtein edit distance between two strings (case-sensitive). */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length];
}

/**
 * The candidate closest to `word`, if it is close enough to be a plausible typo: within a third
 * of the word's length (at least 2 edits), compared case-insensitively; a candidate that contains
 * the word or is contained in it (e.g. `min` for `min_replicas`) also counts.
 */
export function closestMatch(word: string, candidates: Iterable<string>): string | null {
  const lower = word.toLowerCase();
  let best: string | null = null;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const distance = editDistance(lower, candidate.toLowerCase());
    if (distance < bestDistance) {
      best = candidate;
      bestDistance = distance;
    }
  }
  if (best === null) return null;
  if (bestDistance <= Math.max(2, Math.floor(word.length / 3))) return best;
  for (const candidate of candidates) {
    const c = candidate.toLowerCase();
    if (lower.length >= 3 && (c.includes(lower) || lower.includes(c))) return candidate;
  }
  return null;
}
