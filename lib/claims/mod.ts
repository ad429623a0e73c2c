/**
 * Checked claims for notebooks and reports: `claim(name, holds, evidence)` renders a statement
 * from its data and throws when the data contradicts it.
 *
 * @module
 */
export { type CheckedClaim, claim, ClaimError, claims } from "./claim.ts";
