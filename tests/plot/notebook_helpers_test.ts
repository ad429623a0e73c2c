import assert from "node:assert/strict";
import {
  type ChartElement,
  isQuickMode,
  lineChart,
  markdownTable,
  missingFontsWarning,
  QUICK_ENV,
} from "../../lib/plot/mod.ts";

function paths(chart: ChartElement, kind: string): number {
  return Array.from(chart.querySelectorAll(`g[aria-label="${kind}"]`))
    .reduce((n, g) => n + g.querySelectorAll("path").length, 0);
}

Deno.test("lineChart() draws one line per series, dots and reference lines when asked", () => {
  const rows = [{ c: 1, qps: 8, p99: 100 }, { c: 2, qps: 11, p99: 180 }, {
    c: 4,
    qps: 11,
    p99: 350,
  }];
  const chart = lineChart(rows, {
    x: "c",
    title: "sweep",
    series: [{ label: "qps", y: "qps", dots: true }, { label: "p99", y: (r) => r.p99 as number }],
    rulesY: [{ value: 10, label: "target" }],
  });
  assert.equal(paths(chart, "line"), 2);
  assert.equal(chart.querySelectorAll('g[aria-label="dot"] circle').length, 3);
  assert.match(chart.textContent ?? "", /sweep/);
  assert.match(chart.textContent ?? "", /target/);
  assert.throws(() => lineChart(rows, { x: "c", series: [] }), /needs at least one series/);
});

Deno.test("markdownTable() aligns numeric columns right, formats numbers and escapes pipes", () => {
  const md = markdownTable([
    { name: "a|b", n: 12345, f: 0.123456, missing: null },
    { name: "c", n: 2, f: 1.5, missing: 3 },
  ]);
  const lines = md.split("\n");
  assert.equal(lines[0], "| name | n | f | missing |");
  assert.equal(lines[1], "| :--- | ---: | ---: | ---: |");
  assert.equal(lines[2], "| a\\|b | 12,345 | 0.1235 |  |");
  assert.equal(markdownTable([]), "_(no rows)_");
});

Deno.test("isQuickMode() follows AUTOSCALE_LAB_QUICK", () => {
  const before = Deno.env.get(QUICK_ENV);
  try {
    Deno.env.set(QUICK_ENV, "1");
    assert.equal(isQuickMode(), true);
    Deno.env.set(QUICK_ENV, "0");
    assert.equal(isQuickMode(), false);
    Deno.env.delete(QUICK_ENV);
    assert.equal(isQuickMode(), false);
  } finally {
    if (before === undefined) Deno.env.delete(QUICK_ENV);
    else Deno.env.set(QUICK_ENV, before);
  }
});

Deno.test({
  name: "missingFontsWarning() says how to install fonts when a font folder has none",
  ignore: Deno.build.os !== "linux",
  fn: async () => {
    const empty = await Deno.makeTempDir({ prefix: "nofonts_" });
    try {
      const warning = await missingFontsWarning({ fontDirs: [empty] });
      assert.match(warning ?? "", /fonts-dejavu-core/);
      await Deno.mkdir(`${empty}/truetype/dejavu`, { recursive: true });
      await Deno.writeFile(`${empty}/truetype/dejavu/DejaVuSans.ttf`, new Uint8Array(4));
      assert.equal(await missingFontsWarning({ fontDirs: [empty] }), null);
    } finally {
      await Deno.remove(empty, { recursive: true });
    }
  },
});
