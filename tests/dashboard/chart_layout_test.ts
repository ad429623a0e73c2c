/**
 * The dashboard page's layout helpers (lib/dashboard/static/chart_layout.js, a classic script
 * that the page loads before app.js), run here for the global they define.
 */
import assert from "node:assert/strict";
import "../../lib/dashboard/static/chart_layout.js";

interface ChartLayout {
  yDomainFor(values: unknown[]): [number, number] | undefined;
  labelRows(items: { xPx: number; text: string }[], options?: { charPx?: number }): number[];
}
const layout = (globalThis as unknown as { chartLayout: ChartLayout }).chartLayout;

Deno.test("an all-zero window gets a [0, 1] y axis instead of a degenerate one (the clipped 00000 tick)", () => {
  assert.deepEqual(layout.yDomainFor([0, 0, null, undefined, NaN, 0]), [0, 1]);
  assert.deepEqual(layout.yDomainFor([]), [0, 1]);
  assert.equal(layout.yDomainFor([0, 0.5, 0]), undefined, "Plot's own domain once there is data");
});

Deno.test("decision labels a second apart go on separate rows instead of printing #12", () => {
  // 300 s window on ~560 px: 1 s is ~2 px, "#1" is 12 px wide.
  const pxPerS = 560 / 300;
  const rows = layout.labelRows([
    { xPx: 100 * pxPerS, text: "#1" },
    { xPx: 101 * pxPerS, text: "#2" },
    { xPx: 102 * pxPerS, text: "#3" },
    { xPx: 200 * pxPerS, text: "#4" },
  ], { charPx: 6 });
  assert.deepEqual(rows, [0, 1, 2, 0]);
});
