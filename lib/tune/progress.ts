/**
 * A progress bar with an ETA for long tuning runs: redrawn in place on a terminal, a line every
 * 10 % otherwise (so logs stay short).
 *
 * @module
 */

/** Options of {@linkcode createProgressBar}. */
export interface ProgressBarOptions {
  /** Where the text goes (default stderr). */
  write?: (text: string) => void;
  /** Redraw in place (default: stderr is a terminal). */
  tty?: boolean;
  /** Clock in ms (default `performance.now`). */
  nowMs?: () => number;
  /** Bar width in characters (default 30). */
  width?: number;
}

/** Formats seconds as `1m05s` / `42s`. */
export function formatEta(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return "?";
  const s = Math.round(seconds);
  return s >= 60 ? `${Math.floor(s / 60)}m${String(s % 60).padStart(2, "0")}s` : `${s}s`;
}

/** A progress callback `(phase, done, total)`, and `end()` to finish the line. */
export interface ProgressBar {
  /** Shows `done` of `total` for `phase`. */
  update(phase: string, done: number, total: number): void;
  /** Finishes the progress line. */
  end(): void;
}

/** Creates the bar; a new phase restarts the ETA. */
export function createProgressBar(options: ProgressBarOptions = {}): ProgressBar {
  const encoder = new TextEncoder();
  const write = options.write ?? ((t: string) => Deno.stderr.writeSync(encoder.encode(t)));
  const tty = options.tty ?? Deno.stderr.isTerminal();
  const now = options.nowMs ?? (() => performance.now());
  const width = options.width ?? 30;
  let phase = "", startMs = 0, lastDecile = -1, open = false;
  return {
    update(name, done, total) {
      if (name !== phase) {
        if (open && tty) write("\n");
        phase = name;
        startMs = now();
        lastDecile = -1;
      }
      const frac = total > 0 ? Math.min(1, done / total) : 1;
      const elapsedS = (now() - startMs) / 1000;
      const eta = done > 0 ? formatEta((elapsedS / done) * (total - done)) : "?";
      const filled = Math.round(frac * width);
      const text = `${phase.padEnd(11)} [${"#".repeat(filled)}${".".repeat(width - filled)}] ` +
        `${done}/${total} ${(frac * 100).toFixed(0).padStart(3)}%  ETA ${eta}`;
      if (tty) {
        write(`\r${text}`);
        open = true;
      } else {
        const decile = Math.floor(frac * 10);
        if (decile !== lastDecile) {
          lastDecile = decile;
          write(`${text}\n`);
        }
      }
    },
    end() {
      if (open && tty) write("\n");
      open = false;
    },
  };
}
