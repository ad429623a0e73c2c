/**
 * The chart layout helpers the dashboard page uses (lib/plot/chart_layout.js, served to the page
 * as /plot/chart_layout.js; the chart images pack their stage labels with the same code).
 */
import assert from "node:assert/strict";
import { labelRows, yDomainFor } from "../../lib/plot/chart_layout.js";

Deno.test("an all-zero window gets a [0, 1] y axis instead of a degenerate one (the clipped 00000 tick)", () => {
  assert.deepEqual(yDomainFor([0, 0, null, undefined, NaN, 0]), [0, 1]);
  assert.deepEqual(yDomainFor([]), [0, 1]);
  assert.equal(yDomainFor([0, 0.5, 0]), undefined, "Plot's own domain once there is data");
});

Deno.test("decision labels a second apart go on separate rows instead of printing #12", () => {
  // 300 s window on ~560 px: 1 s is ~2 px, "#1" is 12 px wide, centred on its decision.
  const pxPerS = 560 / 300;
  const rows = labelRows(
    [100, 101, 102, 200].map((s, i) => ({ xPx: s * pxPerS, widthPx: `#${i + 1}`.length * 6 })),
    { anchor: "middle" },
  );
  assert.deepEqual(rows, [0, 1, 2, 0]);
});

Deno.test("the dashboard serves the shared layout module and the page loads it before app.js", async () => {
  const { loadPageAssets } = await import("../../lib/dashboard/_assets.ts");
  const assets = await loadPageAssets();
  const served = new TextDecoder().decode(assets.get("/plot/chart_layout.js")!.body);
  assert.equal(
    served,
    await Deno.readTextFile(new URL("../../lib/plot/chart_layout.js", import.meta.url)),
  );
  assert.match(assets.get("/plot/chart_layout.js")!.contentType, /javascript/);
  const html = new TextDecoder().decode(assets.get("/")!.body);
  assert.ok(
    html.indexOf('type="module" src="/static/layout_global.js"') <
      html.indexOf('src="/static/app.js"'),
  );
});
