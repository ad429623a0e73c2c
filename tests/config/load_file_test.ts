/** loadConfig(): files that cannot be read each get their own message, never a stack trace. */
import assert from "node:assert/strict";
import { ConfigError, loadConfig } from "../../lib/config/mod.ts";

async function refusal(path: string): Promise<ConfigError> {
  try {
    await loadConfig(path);
  } catch (error) {
    if (error instanceof ConfigError) return error;
    throw new Error(`expected a ConfigError, got ${error}`);
  }
  throw new Error(`expected ${path} to be refused`);
}

Deno.test("loadConfig() names a missing file and where it looked", async () => {
  const error = await refusal("configs/does_not_exist.yaml");
  assert.equal(error.issues[0].code, "not_found");
  assert.match(
    error.message,
    /^configs\/does_not_exist\.yaml: file not found \(looked for \/.+\)$/,
  );
});

Deno.test("loadConfig() says a directory, a non-UTF-8 file and an empty file are not configs", async () => {
  const dir = await Deno.makeTempDir({ prefix: "config_load_" });
  try {
    assert.match((await refusal(dir)).message, /: is a directory; expected a YAML config file$/);
    await Deno.writeFile(`${dir}/latin1.yaml`, new Uint8Array([0x61, 0x3a, 0x20, 0xe9, 0x0a]));
    assert.match(
      (await refusal(`${dir}/latin1.yaml`)).message,
      /latin1\.yaml: is not UTF-8 text; expected a YAML serve config$/,
    );
    await Deno.writeTextFile(`${dir}/empty.yaml`, "");
    const empty = await refusal(`${dir}/empty.yaml`);
    assert.equal(empty.issues[0].code, "empty");
    assert.match(empty.message, /empty\.yaml: is empty/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
