/**
 * A progress line on stderr for the model commands (build, download): redrawn in place on a
 * terminal, a few plain lines otherwise (CI logs stay short).
 *
 * @module
 */

import type { Progress } from "./resnet50.ts";

function formatAmount(phase: string, n: number): string {
  if (phase === "download") return `${(n / 1e6).toFixed(1)} MB`;
  if (phase === "build") return `${(n / 1e6).toFixed(1)} M params`;
  return String(n);
}

/** Returns an `onProgress` callback that draws `label phase [#####.....] 42%` on stderr. */
export function stderrProgress(label: string): (p: Progress) => void {
  const enc = new TextEncoder();
  let tty = false;
  try {
    tty = Deno.stderr.isTerminal();
  } catch { /* not available: plain lines */ }
  let lastPhase = "";
  let lastDecile = -1;
  return (p: Progress) => {
    const frac = p.total > 0 ? Math.min(1, p.done / p.total) : 0;
    const width = 30;
    const filled = Math.round(frac * width);
    const bar = `[${"#".repeat(filled)}${".".repeat(width - filled)}]`;
    const amount = p.total > 0
      ? `${formatAmount(p.phase, p.done)} / ${formatAmount(p.phase, p.total)}`
      : formatAmount(p.phase, p.done);
    // `build build [###]` said nothing twice: the phase is shown only when it adds to the label.
    const title = p.phase === label ? label : `${label} ${p.phase}`;
    const line = `${title} ${bar} ${(frac * 100).toFixed(0)}% ${amount}`;
    const finished = p.total > 0 && p.done >= p.total;
    if (tty) {
      Deno.stderr.writeSync(enc.encode(`\r\x1b[2K${line}${finished ? "\n" : ""}`));
      return;
    }
    const decile = Math.floor(frac * 4);
    if (p.phase !== lastPhase || decile !== lastDecile) {
      lastPhase = p.phase;
      lastDecile = decile;
      Deno.stderr.writeSync(enc.encode(`${line}\n`));
    }
  };
}
