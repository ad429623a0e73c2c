// autoscale-lab dashboard page: chart layout helpers, pure functions without the DOM, shared by
// app.js (loaded before it as a classic script) and the tests (imported for the global).
"use strict";

globalThis.chartLayout = {
  /**
   * The y domain for a chart's values: Plot's own ("nice" from 0) when any value is above 0;
   * [0, 1] when every value in the window is 0 or missing, so the axis shows 0 and 1 instead of
   * a degenerate domain whose tick labels print as a clipped "00000".
   */
  yDomainFor(values) {
    for (const v of values) {
      if (typeof v === "number" && Number.isFinite(v) && v > 0) return undefined;
    }
    return [0, 1];
  },

  /**
   * A label row (0 = top) for each label so that none overlaps another on its row: labels are
   * taken left to right, each on the first row where the previous label has ended. `items` are
   * `{ xPx, text }`; `charPx` is the width of one character, `gapPx` the space kept between.
   */
  labelRows(items, options = {}) {
    const charPx = options.charPx ?? 6;
    const gapPx = options.gapPx ?? 4;
    const order = items.map((_item, i) => i).sort((a, b) => items[a].xPx - items[b].xPx);
    const rowEnds = [];
    const rows = new Array(items.length);
    for (const i of order) {
      const { xPx, text } = items[i];
      const left = xPx - (text.length * charPx) / 2; // labels are centred on their x
      let row = rowEnds.findIndex((end) => end <= left);
      if (row < 0) row = rowEnds.length;
      rowEnds[row] = left + text.length * charPx + gapPx;
      rows[i] = row;
    }
    return rows;
  },
};
