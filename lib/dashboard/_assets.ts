/**
 * The files the page needs, all served by the dashboard itself: its own HTML/JS/CSS from
 * `static/`, and Observable Plot's UMD bundle plus d3 (which that bundle expects as a global)
 * from the project's node_modules. Read once at start.
 *
 * @module
 */

/** One file ready to serve. */
export interface Asset {
  body: Uint8Array;
  contentType: string;
}

const STATIC_DIR = new URL("./static/", import.meta.url);
const PROJECT_ROOT = new URL("../../", import.meta.url);
const SHARED_LAYOUT = new URL("../plot/chart_layout.js", import.meta.url);

const TYPES: Record<string, string> = {
  ".html": "text/html; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".css": "text/css; charset=utf-8",
};

/** The page's own files, by URL path (`/`, `/static/app.js`, ..., `/plot/chart_layout.js`). */
export async function loadPageAssets(): Promise<Map<string, Asset>> {
  const out = new Map<string, Asset>();
  for (
    const name of [
      "index.html",
      "layout_global.js",
      "live_chart.js",
      "deployments.js",
      "app.js",
      "app.css",
    ]
  ) {
    const url = new URL(name, STATIC_DIR);
    let body: Uint8Array;
    try {
      body = await Deno.readFile(url);
    } catch (error) {
      throw new Error(
        `dashboard page file ${url.pathname} cannot be read (${(error as Error).message}); ` +
          `lib/dashboard/static/ must ship with lib/dashboard`,
      );
    }
    const asset = { body, contentType: TYPES[name.slice(name.lastIndexOf("."))] };
    out.set(name === "index.html" ? "/" : `/static/${name}`, asset);
  }
  // The chart images' own layout helpers (label packing, the all-zero axis), so the page packs
  // labels with the same code; layout_global.js imports it by this path.
  out.set("/plot/chart_layout.js", {
    body: await Deno.readFile(SHARED_LAYOUT),
    contentType: TYPES[".js"],
  });
  return out;
}

/** Where the vendor bundles were found, or why not. */
export interface VendorAssets {
  assets: Map<string, Asset>;
  /** Human-readable problems (a missing bundle: the page shows the status without charts). */
  missing: string[];
}

/**
 * Finds `d3.min.js` (d3 7.x) and `plot.umd.min.js` under `nodeModulesDir` (default: the
 * project's), looking in the top-level package folder first, then in `.deno/`.
 */
export async function loadVendorAssets(nodeModulesDir?: string | URL): Promise<VendorAssets> {
  const root = nodeModulesDir === undefined
    ? new URL("node_modules/", PROJECT_ROOT)
    : toDirUrl(nodeModulesDir);
  const assets = new Map<string, Asset>();
  const missing: string[] = [];
  const wanted = [
    {
      path: "/vendor/d3.min.js",
      direct: "d3/dist/d3.min.js",
      denoPrefix: "d3@7.",
      inner: "node_modules/d3/dist/d3.min.js",
    },
    {
      path: "/vendor/plot.umd.min.js",
      direct: "@observablehq/plot/dist/plot.umd.min.js",
      denoPrefix: "@observablehq+plot@0.6.",
      inner: "node_modules/@observablehq/plot/dist/plot.umd.min.js",
    },
  ];
  for (const w of wanted) {
    const candidates = [new URL(w.direct, root)];
    try {
      const names: string[] = [];
      for await (const e of Deno.readDir(new URL(".deno/", root))) {
        if (e.name.startsWith(w.denoPrefix)) names.push(e.name);
      }
      names.sort(compareVersionedNames).reverse();
      for (const n of names) candidates.push(new URL(`.deno/${n}/${w.inner}`, root));
    } catch {
      // no .deno folder: only the direct path is possible
    }
    let found: Uint8Array | null = null;
    for (const c of candidates) {
      try {
        found = await Deno.readFile(c);
        break;
      } catch {
        // try the next
      }
    }
    if (found) assets.set(w.path, { body: found, contentType: TYPES[".js"] });
    else {
      missing.push(
        `${w.direct} not found under ${root.pathname} (nor .deno/${w.denoPrefix}*); ` +
          `run \`deno install\` in the project folder`,
      );
    }
  }
  return { assets, missing };
}

/** Orders `name@1.2.10` after `name@1.2.9`. */
function compareVersionedNames(a: string, b: string): number {
  const va = a.slice(a.lastIndexOf("@") + 1).split(/[.+-]/).map((x) => Number(x) || 0);
  const vb = b.slice(b.lastIndexOf("@") + 1).split(/[.+-]/).map((x) => Number(x) || 0);
  for (let i = 0; i < Math.max(va.length, vb.length); i++) {
    const d = (va[i] ?? 0) - (vb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function toDirUrl(dir: string | URL): URL {
  if (dir instanceof URL) return dir.href.endsWith("/") ? dir : new URL(dir.href + "/");
  const abs = dir.startsWith("/") ? dir : `${Deno.cwd()}/${dir}`;
  return new URL(`file://${abs.endsWith("/") ? abs : abs + "/"}`);
}
