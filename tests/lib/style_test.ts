/**
 * The tree stays as the team's standard asks: `deno fmt --check` and `deno lint` pass (the type
 * check runs with every test). CI runs the tests only, so these are how it sees a regression.
 */
import assert from "node:assert/strict";

const repo = new URL("../../", import.meta.url).pathname;

async function deno(...args: string[]): Promise<{ code: number; output: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args,
    cwd: repo,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  return { code: out.code, output: text };
}

Deno.test("deno fmt --check finds nothing to reformat", async () => {
  const { code, output } = await deno("fmt", "--check");
  assert.equal(code, 0, `run \`deno fmt\`:\n${output.slice(0, 4000)}`);
});

Deno.test("deno lint finds no problem", async () => {
  const { code, output } = await deno("lint");
  assert.equal(code, 0, output.slice(0, 4000));
});
