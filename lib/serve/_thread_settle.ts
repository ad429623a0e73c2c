/**
 * Waits for the worker threads a shutdown terminated to be gone before the process exits.
 *
 * `Worker.terminate()` returns at once; the thread then tears down its isolate, and with it the
 * native objects of onnxruntime and sharp (libvips), for up to ~100 ms (35 threads fell to 12
 * within 100 ms after a MobileNetV2 deployment stopped). Exiting during that teardown runs the
 * native libraries' static destructors under the threads still using them: after large image
 * decodes, `deploy` then died at exit with SIGSEGV or `double free or corruption` about one
 * time in five (issue 18). Deno has no event for a worker thread's end, so the process's own
 * thread count (`/proc/self/task`) is watched until it stops falling.
 *
 * @module
 */

/** Options of {@link waitForThreadsToSettle}. */
export interface ThreadSettleOptions {
  /** How long the thread count must stay unchanged, ms (default 100). */
  stableMs?: number;
  /** Poll period, ms (default 20). */
  pollMs?: number;
  /** Longest wait, ms (default 3000). */
  capMs?: number;
}

/**
 * Resolves once this process's thread count has not changed for `stableMs` (or after `capMs`).
 * Where `/proc/self/task` cannot be read (not Linux, no read permission) it waits `stableMs`
 * plus 150 ms instead. Returns the thread counts it saw, first to last.
 */
export async function waitForThreadsToSettle(options: ThreadSettleOptions = {}): Promise<number[]> {
  const { stableMs = 100, pollMs = 20, capMs = 3000 } = options;
  const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
  const count = (): number | null => {
    try {
      let n = 0;
      for (const _ of Deno.readDirSync("/proc/self/task")) n++;
      return n;
    } catch {
      return null;
    }
  };
  const seen: number[] = [];
  const first = count();
  if (first === null) {
    await sleep(stableMs + 150);
    return seen;
  }
  seen.push(first);
  const deadline = Date.now() + capMs;
  let stableSince = Date.now();
  while (Date.now() < deadline && Date.now() - stableSince < stableMs) {
    await sleep(pollMs);
    const n = count() ?? seen[seen.length - 1];
    if (n !== seen[seen.length - 1]) stableSince = Date.now();
    seen.push(n);
  }
  return seen;
}
