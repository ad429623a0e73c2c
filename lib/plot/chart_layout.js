// Chart layout shared by the chart images (lib/plot, in Deno) and the live dashboard page (served
// as /static/chart_layout.js, a browser module): plain JavaScript with JSDoc types, no DOM.

/**
 * A label to place on a chart's top rows.
 * @typedef {object} RowLabel
 * @property {number} xPx Where the label is anchored, in px from the plot's left edge.
 * @property {number} widthPx The label's width in px.
 */

/**
 * A row (0 = top) for each label so that none overlaps another on its row: labels are taken
 * left to right, each on the first row where the previous label has ended, so labels a few pixels
 * apart stack instead of printing over each other (`1 use20 users40 users`, `#12`).
 *
 * @param {readonly RowLabel[]} labels The labels, in any order.
 * @param {{ anchor?: "start" | "middle", gapPx?: number }} [options] `anchor`: the label starts
 *   at `xPx` (default) or is centred on it; `gapPx`: space kept between labels (default 4).
 * @returns {number[]} The row of each label, in the order given.
 */
export function labelRows(labels, options = {}) {
  const gapPx = options.gapPx ?? 4;
  const centred = options.anchor === "middle";
  const order = labels.map((_label, i) => i).sort((a, b) => labels[a].xPx - labels[b].xPx);
  /** @type {number[]} */
  const rowEnds = [];
  /** @type {number[]} */
  const rows = new Array(labels.length);
  for (const i of order) {
    const { xPx, widthPx } = labels[i];
    const left = centred ? xPx - widthPx / 2 : xPx;
    let row = rowEnds.findIndex((end) => end <= left);
    if (row < 0) row = rowEnds.length;
    rowEnds[row] = left + widthPx + gapPx;
    rows[i] = row;
  }
  return rows;
}

/**
 * The y domain for a chart's values: `undefined` (Plot's own, "nice" from 0) when any value is
 * above 0; `[0, 1]` when every value is 0 or missing, so the axis shows 0 and 1 instead of a
 * degenerate domain whose tick labels print as a clipped "00000".
 *
 * @param {Iterable<unknown>} values The values in the chart's window.
 * @returns {[number, number] | undefined}
 */
export function yDomainFor(values) {
  for (const v of values) {
    if (typeof v === "number" && Number.isFinite(v) && v > 0) return undefined;
  }
  return [0, 1];
}
