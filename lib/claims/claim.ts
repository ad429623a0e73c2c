/**
 * Checked claims: a sentence that states a result is rendered from the data and fails the run
 * when the data contradicts it, so a notebook or report never prints a falsehood.
 *
 * @module
 */

/** Thrown by {@link claim} when the data contradicts the claim. */
export class ClaimError extends Error {
  /** The claim's name, as passed to {@link claim}. */
  readonly claimName: string;
  /** The evidence that contradicts it. */
  readonly evidence: string;

  /** Builds the error for the claim `claimName` contradicted by `evidence`. */
  constructor(claimName: string, evidence: string) {
    super(`claim contradicted by the data: ${claimName} (evidence: ${evidence})`);
    this.name = "ClaimError";
    this.claimName = claimName;
    this.evidence = evidence;
  }
}

/** A claim that held: its statement and the evidence it rests on. */
export interface CheckedClaim {
  /** The statement, e.g. "p99 falls when max_ongoing_requests drops from 16 to 8". */
  name: string;
  /** The figures behind it, e.g. "p99 812 ms -> 431 ms". */
  evidence: string;
}

/**
 * States a result only if the data supports it: returns the claim rendered as Markdown
 * (`✔ **name** — evidence`) when `holds` is true, and throws {@link ClaimError} otherwise.
 * Keep conditions robust (direction, order, thresholds with margins), not point values.
 *
 * ```ts
 * const md = claim("the bounded queue rejects more requests", failsBounded > failsUnbounded,
 *   `${failsBounded} vs ${failsUnbounded} failed requests`);
 * Deno.jupyter.md`${md}`;
 * ```
 */
export function claim(name: string, holds: boolean, evidence: string): string {
  if (!holds) throw new ClaimError(name, evidence);
  return `✔ **${name}** — ${evidence}`;
}

/**
 * Checks several claims at once and renders them as a Markdown list; throws a
 * {@link ClaimError} naming every contradicted claim, so one run reports them all.
 */
export function claims(
  checks: readonly { name: string; holds: boolean; evidence: string }[],
): string {
  const failed = checks.filter((c) => !c.holds);
  if (failed.length > 0) {
    throw new ClaimError(
      failed.map((c) => c.name).join("; "),
      failed.map((c) => c.evidence).join("; "),
    );
  }
  return checks.map((c) => `- ${claim(c.name, true, c.evidence)}`).join("\n");
}
