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

/**
 * On Linux, a warning when no TrueType/OpenType font is installed: librsvg then draws every glyph
 * as a box without any error. `null` when fonts are found (or on other systems).
 */
export async function missingFontsWarning(
  options: { fontDirs?: string[] } = {},
): Promise<string | null> {
  if (Deno.build.os !== "linux") return null;
  const dirs = options.fontDirs ?? ["/usr/share/fonts", "/usr/local/share/fonts"];
  const stack = [...dirs];
  let seen = 0;
  while (stack.length > 0 && seen < 5000) {
    const dir = stack.pop() as string;
    try {
      for await (const e of Deno.readDir(dir)) {
        seen++;
        if (e.isDirectory) stack.push(`${dir}/${e.name}`);
        else if (/\.(ttf|otf|ttc)$/i.test(e.name)) return null;
      }
    } catch { /* missing or unreadable */ }
  }
  return `no fonts found in ${dirs.join(" or ")}: chart text in PNGs will render as boxes ` +
    `(Debian/Ubuntu: apt-get install -y --no-install-recommends fonts-dejavu-core)`;
}
