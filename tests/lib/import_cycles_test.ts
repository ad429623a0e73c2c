/**
 * No import cycle in lib/: `deno info --json` gives the real module graph (type-only imports
 * included), and a depth-first walk fails on the first cycle with the files on it.
 */
import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url);
const libDir = new URL("lib/", repo);

async function libFiles(dir: URL): Promise<URL[]> {
  const out: URL[] = [];
  for await (const e of Deno.readDir(dir)) {
    const url = new URL(e.name + (e.isDirectory ? "/" : ""), dir);
    if (e.isDirectory) out.push(...await libFiles(url));
    else if (e.name.endsWith(".ts")) out.push(url);
  }
  return out;
}

/** Import edges between lib/ files, from deno's own module graph. */
async function libGraph(): Promise<Map<string, string[]>> {
  const files = await libFiles(libDir);
  const entry = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      entry,
      files.map((f) => `import type {} from "${f.href}";`).join("\n"),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--config", new URL("deno.json", repo).pathname, entry],
      cwd: repo.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      modules: {
        specifier: string;
        dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
      }[];
    };
    const graph = new Map<string, string[]>();
    for (const m of info.modules) {
      if (!m.specifier.startsWith(libDir.href)) continue;
      const deps = new Set<string>();
      for (const d of m.dependencies ?? []) {
        for (const s of [d.code?.specifier, d.type?.specifier]) {
          if (s?.startsWith(libDir.href)) deps.add(s);
        }
      }
      graph.set(m.specifier, [...deps]);
    }
    return graph;
  } finally {
    await Deno.remove(entry);
  }
}

/** The first cycle found (as a list of files, first repeated at the end), or null. */
export function findCycle(graph: ReadonlyMap<string, readonly string[]>): string[] | null {
  const state = new Map<string, 1 | 2>(); // 1 on the stack, 2 done
  const stack: string[] = [];
  const visit = (node: string): string[] | null => {
    state.set(node, 1);
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 1) return [...stack.slice(stack.indexOf(next)), next];
      if (s === undefined) {
        const cycle = visit(next);
        if (cycle) return cycle;
      }
    }
    stack.pop();
    state.set(node, 2);
    return null;
  };
  for (const node of [...graph.keys()].sort()) {
    if (state.has(node)) continue;
    const cycle = visit(node);
    if (cycle) return cycle;
  }
  return null;
}

Deno.test("findCycle() finds a two-file cycle and accepts a diamond", () => {
  assert.deepEqual(findCycle(new Map([["a", ["b"]], ["b", ["a"]]])), ["a", "b", "a"]);
  assert.equal(
    findCycle(new Map([["a", ["b", "c"]], ["b", ["d"]], ["c", ["d"]], ["d", []]])),
    null,
  );
});

Deno.test("lib/ has no import cycle, type-only imports included", async () => {
  const graph = await libGraph();
  assert.ok(graph.size > 50, `expected the whole of lib/ in the graph, got ${graph.size} files`);
  const cycle = findCycle(graph);
  const rel = (s: string) => s.slice(repo.href.length);
  assert.equal(cycle, null, `import cycle: ${cycle?.map(rel).join(" -> ")}`);
});
