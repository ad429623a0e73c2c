/**
 * Turning charts into files: standalone SVG markup (with `xmlns`) and PNG (white background,
 * rendered by sharp/librsvg; text needs fonts, e.g. Debian's `fonts-dejavu-core`).
 *
 * @module
 */
import sharp from "sharp";
import { type ChartElement, SVG_NS } from "./_dom.ts";

/** Standalone SVG markup of a chart, with the XML namespace set (browsers need it in .svg files). */
export function chartSvg(chart: ChartElement): string {
  if (chart.localName !== "svg") {
    throw new Error(
      `chartSvg: expected an <svg> chart element, got <${chart.localName}> (pass a builder's result)`,
    );
  }
  if (chart.getAttribute("xmlns") !== SVG_NS) chart.setAttribute("xmlns", SVG_NS);
  return chart.outerHTML;
}

/** Options of {@link chartPng}. */
export interface PngOptions {
  /** Pixels per SVG unit (default 2, for sharp text). */
  scale?: number;
}

/** PNG bytes of a chart on a white background. */
export async function chartPng(chart: ChartElement, options: PngOptions = {}): Promise<Uint8Array> {
  const scale = options.scale ?? 2;
  if (!(scale > 0 && scale <= 8)) {
    throw new Error(`chartPng: scale must be in (0, 8], got ${scale}`);
  }
  const svg = new TextEncoder().encode(chartSvg(chart));
  const png = await sharp(svg, { density: 72 * scale })
    .flatten({ background: "#ffffff" })
    .png()
    .toBuffer();
  return new Uint8Array(png.buffer, png.byteOffset, png.byteLength);
}

/** Writes `<pathWithoutExtension>.svg` and `.png`; returns the two paths. */
export async function writeChart(
  chart: ChartElement,
  pathWithoutExtension: string,
  options: PngOptions = {},
): Promise<{ svgPath: string; pngPath: string }> {
  const svgPath = `${pathWithoutExtension}.svg`;
  const pngPath = `${pathWithoutExtension}.png`;
  await Deno.writeTextFile(svgPath, chartSvg(chart));
  await Deno.writeFile(pngPath, await chartPng(chart, options));
  return { svgPath, pngPath };
}
