/**
 * Small helpers for the notebooks: quick mode, and Markdown tables that the Deno kernel renders
 * (`Deno.jupyter.md` or a `text/markdown` display).
 *
 * @module
 */

/** Environment variable that puts the notebooks in quick mode (`AUTOSCALE_LAB_QUICK=1`). */
export const QUICK_ENV = "AUTOSCALE_LAB_QUICK";

/** True when the notebooks should run their short version (CI, `deno task notebooks --quick`). */
export function isQuickMode(): boolean {
  try {
    const v = Deno.env.get(QUICK_ENV);
    return v !== undefined && v !== "" && v !== "0" && v.toLowerCase() !== "false";
  } catch {
    return false; // no env permission: full mode
  }
}

function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") {
    if (!Number.isFinite(value)) return "";
    return Number.isInteger(value) ? value.toLocaleString("en-US") : value.toLocaleString("en-US", {
      maximumFractionDigits: Math.abs(value) < 1 ? 4 : 2,
    });
  }
  return String(value).replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/**
 * A Markdown table of rows (objects: one column per key of the first row, or `columns` in order,
 * optionally relabelled). Numbers are formatted with thousands separators.
 */
export function markdownTable(
  rows: readonly Record<string, unknown>[],
  options: { columns?: string[]; labels?: Record<string, string> } = {},
): string {
  if (rows.length === 0) return "_(no rows)_";
  const columns = options.columns ?? Object.keys(rows[0]);
  const head = columns.map((c) => options.labels?.[c] ?? c);
  const numeric = (c: string) => {
    const v = rows.find((r) => r[c] !== null && r[c] !== undefined)?.[c];
    return typeof v === "number";
  };
  const align = columns.map((c) => (numeric(c) ? "---:" : ":---"));
  return [
    `| ${head.join(" | ")} |`,
    `| ${align.join(" | ")} |`,
    ...rows.map((r) => `| ${columns.map((c) => cell(r[c])).join(" | ")} |`),
  ].join("\n");
}

/** Environment variable that redirects the notebooks' result files (the notebook test uses a temp dir). */
export const RESULTS_DIR_ENV = "AUTOSCALE_LAB_RESULTS_DIR";

/**
 * Where a notebook (running in `notebooks/`) writes and reads its result files:
 * `$AUTOSCALE_LAB_RESULTS_DIR` when set, else `../results/notebooks` (full runs) or
 * `../results/notebooks_quick` (quick mode), so quick runs never overwrite a full run's files.
 */
export function notebookResultsDir(): string {
  let fromEnv: string | undefined;
  try {
    fromEnv = Deno.env.get(RESULTS_DIR_ENV);
  } catch {
    fromEnv = undefined;
  }
  if (fromEnv) return fromEnv.replace(/\/$/, "");
  return isQuickMode() ? "../results/notebooks_quick" : "../results/notebooks";
}
