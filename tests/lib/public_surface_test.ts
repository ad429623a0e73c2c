/**
 * Each lib/ area's public surface is deliberate: its mod.ts names every export (no `export *`,
 * no `export type *`), and `deno doc --lint` over all of them passes, so every export carries
 * JSDoc and no public signature refers to a type that no mod.ts exports.
 */
import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url);

async function modFiles(): Promise<string[]> {
  const out: string[] = [];
  for await (const e of Deno.readDir(new URL("lib/", repo))) {
    if (!e.isDirectory) continue;
    const path = `lib/${e.name}/mod.ts`;
    try {
      await Deno.stat(new URL(path, repo));
      out.push(path);
    } catch {
      // an area without a mod.ts is caught by the import rules, not here
    }
  }
  return out.sort();
}

Deno.test("every lib/*/mod.ts lists its exports by name", async () => {
  const files = await modFiles();
  assert.ok(files.length >= 10, `only ${files.length} mod.ts files found`);
  for (const path of files) {
    const text = await Deno.readTextFile(new URL(path, repo));
    const star = text.split("\n").findIndex((line) => /^\s*export\s+(type\s+)?\*/.test(line));
    assert.equal(star, -1, `${path}:${star + 1} re-exports a whole module; name the exports`);
  }
});

Deno.test("deno doc --lint passes on every lib/*/mod.ts", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--lint", ...await modFiles()],
    cwd: repo.pathname,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const errors = new TextDecoder().decode(out.stderr).split("\n")
    .filter((line) => /^error\[/.test(line));
  assert.equal(out.code, 0, `deno doc --lint: ${errors.length} error(s)\n${errors.join("\n")}`);
});
