/**
 * The headless DOM that Observable Plot draws into (linkedom), and the small element type the
 * chart builders return.
 *
 * @module
 */
import { parseHTML } from "linkedom";

/** The SVG namespace, set on every standalone chart. */
export const SVG_NS = "http://www.w3.org/2000/svg";

/**
 * A chart: an `<svg>` element of a headless DOM. Returned as-is from a notebook cell, the Deno
 * kernel shows it inline; {@link ChartElement.outerHTML} is standalone SVG markup.
 */
export interface ChartElement {
  /** `"svg"`. */
  readonly localName: string;
  /** The SVG markup, with `xmlns`. */
  readonly outerHTML: string;
  /** Text of the chart (titles, labels, ticks). */
  readonly textContent: string | null;
  /** Reads an attribute (`width`, `height`, ...). */
  getAttribute(name: string): string | null;
  /** Sets an attribute. */
  setAttribute(name: string, value: string): void;
  /** Elements inside the chart matching a CSS selector (e.g. `g[aria-label="line"]`). */
  querySelectorAll(selector: string): ArrayLike<ChartElement>;
}

// deno-lint-ignore no-explicit-any
type AnyElement = any;

let cachedDocument: AnyElement = null;

/** The shared headless document (created on first use). */
// deno-lint-ignore no-explicit-any
export function chartDocument(): any {
  // deno-lint-ignore no-explicit-any
  cachedDocument ??= (parseHTML("<!doctype html><html><head></head><body></body></html>") as any)
    .document;
  return cachedDocument;
}

/** Creates an SVG element with attributes. */
export function svgEl(name: string, attrs: Record<string, string | number> = {}): AnyElement {
  const el = chartDocument().createElementNS(SVG_NS, name);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  return el;
}
