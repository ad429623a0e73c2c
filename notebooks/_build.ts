/**
 * Builds the notebooks from their sources and (optionally) runs them.
 *
 * Sources live in `notebooks/_src/NN_name.md`: Markdown, where every ```ts fenced block becomes a
 * code cell and the text between blocks becomes Markdown cells (a line `<!-- cell -->` splits a
 * Markdown cell). Edit the source, then:
 *
 * ```sh
 * deno task notebooks            # build every .ipynb and execute it (full run, outputs kept)
 * deno task notebooks --quick    # AUTOSCALE_LAB_QUICK=1; executed copies go to
 *                                # results/notebooks_quick/, the committed .ipynb stay as they are
 * deno task notebooks --quick --in-place   # quick, and overwrite notebooks/*.ipynb anyway
 * deno task notebooks --no-run 03_load_test_and_observe   # build one without executing
 * ```
 * Running needs `jupyter nbconvert` (Debian: jupyter-nbconvert) and uses the project-local kernel
 * in `kernels/deno-local` through `JUPYTER_PATH=<repo>`.
 *
 * @module
 */
import { cli } from "../lib/cli/mod.ts";

const NOTEBOOKS_DIR = new URL("./", import.meta.url).pathname;
const SRC_DIR = `${NOTEBOOKS_DIR}_src/`;
const REPO = new URL("../", import.meta.url).pathname;

/** Kernel the notebooks use (kernels/deno-local/kernel.json). */
export const KERNEL_NAME = "deno-local";

interface Cell {
  cell_type: "markdown" | "code";
  id: string;
  metadata: Record<string, unknown>;
  source: string[];
  outputs?: unknown[];
  execution_count?: number | null;
}

function toLines(text: string): string[] {
  const lines = text.split("\n");
  return lines.map((l, i) => (i < lines.length - 1 ? `${l}\n` : l)).filter((l) => l !== "");
}

/** Converts a notebook source (Markdown with ```ts blocks) into notebook JSON. */
export function buildNotebook(source: string, name: string): Record<string, unknown> {
  const cells: Cell[] = [];
  const pushMarkdown = (text: string) => {
    for (const part of text.split(/^<!-- cell -->$/m)) {
      const trimmed = part.trim();
      if (trimmed) {
        cells.push({
          cell_type: "markdown",
          id: "",
          metadata: {},
          source: toLines(trimmed),
        });
      }
    }
  };
  const re = /^```ts\n([\s\S]*?)^```$/gm;
  let last = 0;
  for (const m of source.matchAll(re)) {
    pushMarkdown(source.slice(last, m.index));
    cells.push({
      cell_type: "code",
      id: "",
      metadata: {},
      source: toLines(m[1].replace(/\n+$/, "")),
      outputs: [],
      execution_count: null,
    });
    last = (m.index ?? 0) + m[0].length;
  }
  pushMarkdown(source.slice(last));
  cells.forEach((c, i) => (c.id = `${name.slice(0, 2)}-${String(i).padStart(3, "0")}`));
  return {
    cells,
    metadata: {
      kernelspec: { display_name: "Deno (autoscale-lab)", language: "typescript", name: KERNEL_NAME },
      language_info: {
        name: "typescript",
        file_extension: ".ts",
        mimetype: "text/x.typescript",
        codemirror_mode: "typescript",
        pygments_lexer: "typescript",
        nbconvert_exporter: "script",
      },
    },
    nbformat: 4,
    nbformat_minor: 5,
  };
}

/**
 * Names (`NN_name`) of the notebook sources in notebooks/_src, sorted; with `names`, checks that
 * each exists and returns them in the order given.
 */
export async function sources(names: string[] = []): Promise<string[]> {
  const all: string[] = [];
  for await (const e of Deno.readDir(SRC_DIR)) {
    if (e.isFile && /^\d\d_.*\.md$/.test(e.name)) all.push(e.name.replace(/\.md$/, ""));
  }
  all.sort();
  if (names.length === 0) return all;
  for (const n of names) {
    if (!all.includes(n.replace(/\.(md|ipynb)$/, ""))) {
      throw new Error(`no notebook source ${SRC_DIR}${n}.md (have: ${all.join(", ")})`);
    }
  }
  return names.map((n) => n.replace(/\.(md|ipynb)$/, ""));
}

/**
 * Builds notebook `name` from its source into a hidden scratch file next to the committed ones
 * (the kernel runs in the notebook's folder, so `../lib/...` must resolve), for a run whose
 * outputs go elsewhere. Returns its path; the caller removes it.
 */
export async function buildScratchNotebook(name: string, tag: string): Promise<string> {
  const text = await Deno.readTextFile(`${SRC_DIR}${name}.md`);
  const path = `${NOTEBOOKS_DIR}.${tag}_${name}.ipynb`;
  await Deno.writeTextFile(path, JSON.stringify(buildNotebook(text, name), null, 1) + "\n");
  return path;
}

/** Executes a notebook in place with nbconvert on the project-local kernel. */
export async function executeNotebook(
  path: string,
  options: {
    quick?: boolean;
    outputDir?: string;
    /** File name (without .ipynb) of the executed copy in `outputDir`. */
    outputName?: string;
    timeoutS?: number;
    /** Extra environment for the kernel (e.g. `AUTOSCALE_LAB_RESULTS_DIR`). */
    env?: Record<string, string>;
    /**
     * Use `_grace_execute.py`'s preprocessor, which keeps reading a cell's output briefly after
     * the kernel reports idle (the Deno kernel sometimes publishes a result just after; plain
     * nbconvert then drops it). On for `deno task notebooks`, whose outputs are committed.
     */
    grace?: boolean;
  } = {},
): Promise<{ code: number; stderr: string }> {
  const args = ["nbconvert", "--to", "notebook"];
  if (options.grace) {
    args.push(
      "--NotebookExporter.preprocessors",
      "_grace_execute.GraceExecutePreprocessor",
      "--GraceExecutePreprocessor.enabled=True",
    );
  } else {
    args.push("--execute");
  }
  args.push(
    `--ExecutePreprocessor.kernel_name=${KERNEL_NAME}`,
    `--ExecutePreprocessor.timeout=${options.timeoutS ?? 900}`,
  );
  if (options.outputDir) {
    args.push("--output-dir", options.outputDir);
    if (options.outputName) args.push("--output", options.outputName);
  }
  else args.push("--inplace");
  args.push(path);
  const denoDir = Deno.execPath().replace(/\/[^/]*$/, "");
  const env: Record<string, string> = {
    JUPYTER_PATH: REPO,
    NO_COLOR: "1",
    PATH: `${denoDir}:${Deno.env.get("PATH") ?? ""}`,
  };
  if (options.quick) env.AUTOSCALE_LAB_QUICK = "1";
  if (options.grace) {
    const py = Deno.env.get("PYTHONPATH");
    env.PYTHONPATH = py ? `${NOTEBOOKS_DIR}:${py}` : NOTEBOOKS_DIR;
    env.PYTHONDONTWRITEBYTECODE = "1"; // no __pycache__ in notebooks/
  }
  Object.assign(env, options.env ?? {});
  const out = await new Deno.Command("jupyter", { args, env, stdout: "piped", stderr: "piped" })
    .output();
  return { code: out.code, stderr: new TextDecoder().decode(out.stderr) };
}

const USAGE = `usage: deno task notebooks [--quick] [--no-run] [NAME...]

Builds notebooks/NN_name.ipynb from notebooks/_src/NN_name.md and executes it headlessly on the
project-local Deno kernel, keeping the outputs (needs jupyter nbconvert; Debian: jupyter-nbconvert).
  --quick    run with AUTOSCALE_LAB_QUICK=1 (each notebook well under a minute); the executed
             copies go to results/notebooks_quick/, the committed notebooks/*.ipynb are kept
  --in-place with --quick: overwrite notebooks/*.ipynb with the quick outputs anyway
  --no-run   only build the .ipynb files
  NAME       e.g. 03_load_test_and_observe (default: every notebook)`;

/** Parses the command line, or exits 2 with the usage text on a bad flag (as every command). */
function parseCommandLine(): { quick: boolean; noRun: boolean; inPlace: boolean; names: string[] } {
  const { values, positionals } = cli("notebooks", USAGE).parse({
    quick: { type: "boolean" },
    "no-run": { type: "boolean" },
    "in-place": { type: "boolean" },
  }, { positionals: { name: "notebook name" } });
  return {
    quick: values.quick ?? false,
    noRun: values["no-run"] ?? false,
    inPlace: values["in-place"] ?? false,
    names: positionals,
  };
}

async function main(): Promise<void> {
  const { quick, noRun, inPlace, names } = parseCommandLine();
  // Quick runs must not replace the committed full-run outputs unless asked (--in-place).
  const scratch = quick && !inPlace && !noRun;
  const quickDir = `${REPO}results/notebooks_quick`;
  if (scratch) await Deno.mkdir(quickDir, { recursive: true });
  for (const name of await sources(names)) {
    const path = `${NOTEBOOKS_DIR}${name}.ipynb`;
    if (scratch) {
      const input = await buildScratchNotebook(name, "quick");
      const t0 = performance.now();
      console.error(`running ${name} (quick; output in results/notebooks_quick/) ...`);
      let result;
      try {
        result = await executeNotebook(input, {
          quick,
          grace: true,
          outputDir: quickDir,
          outputName: name,
        });
      } finally {
        await Deno.remove(input).catch(() => {});
      }
      const s = ((performance.now() - t0) / 1000).toFixed(1);
      if (result.code !== 0) {
        console.error(result.stderr.split("\n").filter((l) => !/MissingIDField|validate\(nb\)/.test(l)).slice(-40).join("\n"));
        console.error(`FAILED ${name} after ${s} s`);
        Deno.exit(1);
      }
      console.error(`ok ${name} in ${s} s -> ${quickDir}/${name}.ipynb`);
      continue;
    }
    const text = await Deno.readTextFile(`${SRC_DIR}${name}.md`);
    await Deno.writeTextFile(path, JSON.stringify(buildNotebook(text, name), null, 1) + "\n");
    if (noRun) {
      console.error(`built ${path}`);
      continue;
    }
    const t0 = performance.now();
    console.error(`running ${name}${quick ? " (quick)" : ""} ...`);
    const { code, stderr } = await executeNotebook(path, { quick, grace: true });
    const s = ((performance.now() - t0) / 1000).toFixed(1);
    if (code === 0) {
      // Every code cell of ours ends with something to show: an empty one lost its output.
      const nb = JSON.parse(await Deno.readTextFile(path));
      const empty = nb.cells
        .filter((c: { cell_type: string; outputs?: unknown[] }) =>
          c.cell_type === "code" && (c.outputs ?? []).length === 0
        )
        .map((c: { id: string }) => c.id);
      if (empty.length > 0) console.error(`warning: ${name}: cells without output: ${empty.join(", ")}`);
    }
    if (code !== 0) {
      console.error(stderr.split("\n").filter((l) => !/MissingIDField|validate\(nb\)/.test(l)).slice(-40).join("\n"));
      console.error(`FAILED ${name} after ${s} s`);
      Deno.exit(1);
    }
    console.error(`ok ${name} in ${s} s`);
  }
}

if (import.meta.main) await main();
