import { deepStrictEqual, strictEqual } from "node:assert/strict";
import { createProgressBar, formatEta } from "../../lib/tune/mod.ts";

Deno.test("formatEta() writes minutes and seconds", () => {
  strictEqual(formatEta(42.4), "42s");
  strictEqual(formatEta(65), "1m05s");
  strictEqual(formatEta(Infinity), "?");
});

Deno.test("progress bar off a terminal: one line per tenth with an ETA from the rate so far", () => {
  const lines: string[] = [];
  let nowMs = 0;
  const bar = createProgressBar({
    write: (t) => lines.push(t),
    tty: false,
    nowMs: () => nowMs,
    width: 10,
  });
  for (let done = 0; done <= 100; done += 5) {
    nowMs = done * 100; // 0.1 s per evaluation
    bar.update("search", done, 100);
  }
  bar.end();
  strictEqual(lines.length, 11);
  strictEqual(lines[5], "search      [#####.....] 50/100  50%  ETA 5s\n");
  deepStrictEqual(lines.at(-1), "search      [##########] 100/100 100%  ETA 0s\n");
});
