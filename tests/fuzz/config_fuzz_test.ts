/**
 * Hostile-input fuzzing of the config loader: mutated copies of configs/*.yaml and random bytes
 * only ever give a ConfigError whose every issue names the file, a line >= 1 and a field path.
 */
import assert from "node:assert/strict";
import { ConfigError, type ConfigIssue, parseConfig } from "../../lib/config/mod.ts";
import { mutateText, Rng, timeBudget } from "./_fuzz.ts";

const CONFIG_DIR = new URL("../../configs/", import.meta.url);
const configs = [...Deno.readDirSync(CONFIG_DIR)]
  .filter((e) => e.isFile && e.name.endsWith(".yaml"))
  .map((e) => e.name)
  .sort();

function checkIssue(issue: ConfigIssue, file: string, what: string): string | null {
  if (issue.file !== file) return `${what}: issue without the file name: ${JSON.stringify(issue)}`;
  // An empty file is the one problem with no place in it (the documented `line: null` case).
  const placeless = issue.code === "empty";
  if (!placeless && !(Number.isInteger(issue.line) && issue.line! >= 1)) {
    return `${what}: issue without a line >= 1: ${JSON.stringify(issue)}`;
  }
  if (typeof issue.path !== "string") {
    return `${what}: issue without a path: ${JSON.stringify(issue)}`;
  }
  if (typeof issue.message !== "string" || issue.message.length < 5) {
    return `${what}: issue without a message: ${JSON.stringify(issue)}`;
  }
  return null;
}

/** Parses `text`; returns a description of what went wrong with the error handling, or null. */
function attack(text: string, file: string, what: string): string | null {
  try {
    const { warnings } = parseConfig(text, { sourcePath: file });
    for (const w of warnings) {
      const bad = checkIssue(w, file, `${what} (warning)`);
      if (bad) return bad;
    }
    return null;
  } catch (error) {
    if (!(error instanceof ConfigError)) {
      return `${what}: threw ${(error as Error)?.name}: ${(error as Error)?.message}`;
    }
    if (error.issues.length === 0) return `${what}: ConfigError with no issues`;
    for (const issue of [...error.issues, ...error.warnings]) {
      const bad = checkIssue(issue, file, what);
      if (bad) return bad;
    }
    return null;
  }
}

Deno.test("parseConfig() answers mutated configs/*.yaml only with located ConfigErrors", () => {
  const rng = new Rng(0xc0f19);
  const more = timeBudget(6_000);
  const failures: string[] = [];
  let n = 0;
  for (; n < 3000 && more(); n++) {
    const name = configs[n % configs.length];
    const text = Deno.readTextFileSync(new URL(name, CONFIG_DIR));
    const mutated = mutateText(rng, text);
    const bad = attack(mutated, `configs/${name}`, `case ${n} (${name})`);
    if (bad) failures.push(`${bad}\n  input: ${JSON.stringify(mutated.slice(0, 400))}`);
    if (failures.length >= 3) break;
  }
  assert.deepEqual(failures, []);
  assert.ok(n >= 200, `only ${n} cases ran`);
});

Deno.test("parseConfig() answers random bytes and structural bombs with located ConfigErrors", () => {
  const rng = new Rng(0xb17e5);
  const failures: string[] = [];
  const cases: string[] = [];
  for (let i = 0; i < 300; i++) {
    cases.push(new TextDecoder().decode(rng.bytes(rng.int(200) + 1)));
  }
  const laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++) {
    laughs.push(
      `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${
        Array(10).fill("*" + String.fromCharCode(96 + i)).join(", ")
      }]`,
    );
  }
  cases.push(
    laughs.join("\n") + "\napplications: []\n",
    "applications:\n  - &app {name: a, import_path: x:y, deployments: [{name: D}]}\n  - *app\n",
    "applications:\n  - name: a\n    import_path: x:y\n    deployments:\n      - &d {name: D, " +
      "autoscaling_config: &c {min_replicas: 1, max_replicas: 2, <<: *c}}\n",
    "[".repeat(10_000) + "]".repeat(10_000),
    "a:\n" + Array.from({ length: 2000 }, (_, i) => " ".repeat(i + 1) + `k${i}:`).join("\n"),
    "applications:\n  - name: a\n    import_path: x:y\n    deployments:\n" +
      "      - name: D\n        __proto__: {num_replicas: 3}\n        constructor: 1\n",
    "applications:\n  - name: a\n    name: b\n    import_path: x:y\n    import_path: z:w\n" +
      "    deployments: [{name: D, name: E}]\n",
    "applications: !!binary aGVsbG8=\n",
    "applications: !custom {a: 1}\n",
    "applications:\n  - ? [complex, key]\n    : value\n",
    "%YAML 1.1\n---\napplications: []\n",
    "---\n---\n",
    "\ufeff\ufeffapplications: []\n",
    "applications: [{name: a, import_path: x:y, deployments: [{name: D, user_config: " +
      "{model: '" + "m".repeat(100_000) + "'}}]}]\n",
    "applications: [{name: a, import_path: x:y, deployments: [{name: D, num_replicas: " +
      "9".repeat(400) + "}]}]\n",
    "applications:\n\t- name: a\n",
    "\u2028applications: []",
  );
  for (const [i, text] of cases.entries()) {
    const bad = attack(text, "fuzz.yaml", `case ${i}`);
    if (bad) failures.push(`${bad}\n  input: ${JSON.stringify(text.slice(0, 300))}`);
    if (failures.length >= 3) break;
  }
  assert.deepEqual(failures, []);
});

Deno.test("parseConfig() points at the first NUL byte of a config that holds one", () => {
  const text = "applications:\n  - name: a\n    imp\u0000ort_path: x:y\n\u0000";
  assert.throws(
    () => parseConfig(text, { sourcePath: "nul.yaml" }),
    (e: Error) =>
      e instanceof ConfigError && e.issues[0].code === "not_text" &&
      e.issues[0].line === 3 && e.issues[0].column === 8 &&
      /^nul\.yaml:3:8: is not a text file/.test(e.message),
  );
});
