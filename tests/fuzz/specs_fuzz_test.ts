/**
 * Hostile-input fuzzing of the small input languages: load shapes (lib/loadgen parseShape),
 * replay traces (lib/autoscaler parseTrace) and simulator service-time specs (lib/sim
 * parseDurationSpec / durationModelFromText). Random and mutated inputs only ever give the
 * area's typed error, and its message names where (file:line, field or flag).
 */
import assert from "node:assert/strict";
import { parseShape, parseWaitTime, ShapeError, WaitTimeError } from "../../lib/loadgen/mod.ts";
import { parseTrace, TraceError } from "../../lib/autoscaler/mod.ts";
import { durationModelFromText, DurationSpecError, parseDurationSpec } from "../../lib/sim/mod.ts";
import { mutateText, Rng, timeBudget, WEIRD_VALUES } from "./_fuzz.ts";

const ROOT = new URL("../../", import.meta.url);

function readDir(dir: string, ext: string): { name: string; text: string }[] {
  return [...Deno.readDirSync(new URL(dir, ROOT))]
    .filter((e) => e.isFile && e.name.endsWith(ext))
    .map((e) => e.name)
    .sort()
    .map((name) => ({ name, text: Deno.readTextFileSync(new URL(`${dir}${name}`, ROOT)) }));
}

/** Runs `parse` on `input`; returns what was wrong with its error handling, or null. */
function expectTyped(
  what: string,
  input: string,
  parse: () => unknown,
  // deno-lint-ignore no-explicit-any
  type: new (...args: any[]) => Error,
  where: RegExp,
): string | null {
  try {
    parse();
    return null;
  } catch (error) {
    const e = error as Error;
    if (!(error instanceof type)) {
      return `${what}: threw ${e?.name} (not ${type.name}): ${e?.message}\n  input: ${
        JSON.stringify(input.slice(0, 300))
      }`;
    }
    if (!where.test(e.message)) {
      return `${what}: ${type.name} does not say where: ${e.message}\n  input: ${
        JSON.stringify(input.slice(0, 300))
      }`;
    }
    return null;
  }
}

Deno.test("parseShape() answers mutated configs/loadtest shapes only with located ShapeErrors", () => {
  const shapes = readDir("configs/loadtest/", ".yaml");
  const rng = new Rng(0x5a9e);
  const more = timeBudget(3_000);
  const failures: string[] = [];
  let n = 0;
  for (; n < 3000 && more() && failures.length < 3; n++) {
    const { name, text } = shapes[n % shapes.length];
    const input = mutateText(rng, text);
    const bad = expectTyped(
      `case ${n} (${name})`,
      input,
      () => parseShape(input, { sourcePath: `configs/loadtest/${name}` }),
      ShapeError,
      /^configs\/loadtest\/[a-z_]+\.yaml(:\d+:\d+)?: /,
    );
    if (bad) failures.push(bad);
  }
  assert.deepEqual(failures, []);
  assert.ok(n >= 200, `only ${n} cases ran`);
});

Deno.test("parseShape() answers alias bombs and odd YAML with ShapeErrors", () => {
  const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
  for (let i = 1; i < 9; i++) {
    const me = String.fromCharCode(97 + i), prev = String.fromCharCode(96 + i);
    bomb.push(`${me}: &${me} [${Array(10).fill("*" + prev).join(", ")}]`);
  }
  const cases = [
    bomb.join("\n") + "\nstages: [{duration: 1, users: 1}]\n",
    "stages: &s [{duration: 1, users: 1}]\nname: *s\n",
    "stages: [{duration: 1, users: 1, __proto__: {users: 2}}]\n",
    "__proto__: {stages: 1}\nstages: [{duration: 1, users: 1}]\n",
    "stages: [{duration: " + "9".repeat(400) + "s, users: 1}]\n",
    "stages: [{duration: !!binary aGVsbG8=, users: 1}]\n",
    "stages:\n  - {duration: 1, users: 1}\n---\nstages: []\n",
    "[".repeat(5000) + "]".repeat(5000),
    "wait_time: {a: 1}\nstages: [{duration: 1, users: 1}]\n",
    "wait_time: between(1)\nstages: [{duration: 1, users: 1}]\n",
    "wait_time: constant(-1)\nstages: [{duration: 1, users: 1}]\n",
    "stages: [{duration: 1, users: 1, spawn_rate: .nan}]\n",
  ];
  const failures: string[] = [];
  for (const [i, input] of cases.entries()) {
    const bad = expectTyped(
      `case ${i}`,
      input,
      () => parseShape(input, { sourcePath: "s.yaml" }),
      ShapeError,
      /^s\.yaml(:\d+:\d+)?: /,
    );
    if (bad) failures.push(bad);
  }
  assert.deepEqual(failures, []);
});

Deno.test("parseShape() never accepts a shape whose duration is not finite", () => {
  const input = "stages: [{duration: " + "9".repeat(400) + "s, users: 1}]\n";
  let shape: ReturnType<typeof parseShape> | null = null;
  try {
    shape = parseShape(input, { sourcePath: "s.yaml" });
  } catch (e) {
    assert.ok(e instanceof ShapeError, String(e));
    assert.match(e.message, /^s\.yaml:1:\d+: stages\[0\]\.duration/);
  }
  if (shape) assert.ok(Number.isFinite(shape.durationS), `durationS ${shape.durationS}`);
});

Deno.test("parseTrace() answers mutated and random traces only with TraceErrors naming the line", () => {
  const traces = readDir("configs/traces/", ".csv");
  const rng = new Rng(0x7ace);
  const more = timeBudget(3_000);
  const failures: string[] = [];
  let n = 0;
  for (; n < 3000 && more() && failures.length < 3; n++) {
    const { name, text } = traces[n % traces.length];
    // Traces are long; mutate the first 40 lines so mutations land in a small text.
    const input = n % 5 === 4
      ? new TextDecoder().decode(rng.bytes(rng.int(300)))
      : mutateText(rng, text.split("\n").slice(0, 40).join("\n")).replaceAll(
        /: ?/g,
        rng.int(2) ? "," : ":",
      );
    const bad = expectTyped(
      `case ${n} (${name})`,
      input,
      () => parseTrace(input, { source: `configs/traces/${name}` }),
      TraceError,
      /^configs\/traces\/[a-z_]+\.csv(:\d+)?: /,
    );
    if (bad) failures.push(bad);
  }
  assert.deepEqual(failures, []);
  assert.ok(n >= 200, `only ${n} cases ran`);
});

Deno.test("parseDurationSpec() answers random specs only with DurationSpecErrors naming the flag", async () => {
  const rng = new Rng(0xd5ec);
  const heads = ["", "fixed:", "noop:", "exp:", "exponential:", "lognormal:", "resnet50", "x:"];
  const atoms = [
    ...WEIRD_VALUES.filter((v) => v.length < 100),
    "45",
    "45ms",
    "0.5s",
    "1e3",
    "1e-400",
    "mean=45",
    "p99=80ms",
    "mean=",
    "=",
    ",",
    "ms",
    "-",
    ".",
    "e",
  ];
  const failures: string[] = [];
  const files = new Map<string, string>([
    ["bench.json", '{"configs": [{"backend": "native", "threads": 1, "raw": {"oursMs": [1, 2]}}]}'],
    ["samples.json", "[1, 2, -3]"],
    ["inf.json", "[1e999]"],
  ]);
  const readTextFile = (p: string) => {
    const text = files.get(p);
    return text === undefined
      ? Promise.reject(new Deno.errors.NotFound(`no such file ${p}`))
      : Promise.resolve(text);
  };
  for (let n = 0; n < 2000 && failures.length < 3; n++) {
    let spec = rng.pick(heads);
    for (let k = rng.int(3); k >= 0; k--) {
      spec += (k < 2 && rng.int(2) ? "," : "") + rng.pick(atoms);
    }
    if (n % 50 === 0) spec = rng.pick([...files.keys()]) + rng.pick(["", "#native/1", "#x", "#"]);
    try {
      const model = await parseDurationSpec(spec, { what: "--service-time", readTextFile });
      if (!(Number.isFinite(model.meanMs) && model.meanMs >= 0)) {
        failures.push(`case ${n}: ${JSON.stringify(spec)} accepted with mean ${model.meanMs}`);
      }
    } catch (error) {
      const e = error as Error;
      if (!(error instanceof DurationSpecError)) {
        failures.push(`case ${n}: ${JSON.stringify(spec)} threw ${e?.name}: ${e?.message}`);
      } else if (!/--service-time|\.json|\.csv/.test(e.message)) {
        failures.push(
          `case ${n}: ${JSON.stringify(spec)} error does not name the flag: ${e.message}`,
        );
      }
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("durationModelFromText() answers mutated result files only with located DurationSpecErrors", () => {
  const seeds = [
    "latency_ms\n45\n50\n60\n",
    "Type,Name,Request Count,50%,99%,100%,Min Response Time\nPOST,/,10,40,80,90,30\n" +
    ",Aggregated,10,40,80,90,30\n",
    '{"samples_ms": [40, 41, 45, 80]}',
    '{"p50_ms": 40, "p99_ms": 80, "max_ms": 90}',
    '{"configs": [{"backend": "native", "threads": 1, "raw": {"oursMs": [40, 41]}}],' +
    ' "preprocess": {"ms": {"p50": 3}}}',
  ];
  const rng = new Rng(0xf11e);
  const more = timeBudget(2_000);
  const failures: string[] = [];
  let n = 0;
  for (; n < 3000 && more() && failures.length < 3; n++) {
    const base = seeds[n % seeds.length];
    const input = n % 7 === 6
      ? new TextDecoder().decode(rng.bytes(rng.int(200)))
      : mutateText(rng, base.replaceAll(", ", ",\n"), 3);
    let model: ReturnType<typeof durationModelFromText> | null = null;
    const bad = expectTyped(
      `case ${n}`,
      input,
      () => model = durationModelFromText(input, { source: "results/x.csv" }),
      DurationSpecError,
      /^results\/x\.csv/,
    );
    if (bad) failures.push(bad);
    const m = model as ReturnType<typeof durationModelFromText> | null;
    if (m && !(Number.isFinite(m.meanMs) && m.meanMs >= 0)) {
      failures.push(`case ${n}: accepted with mean ${m.meanMs}: ${JSON.stringify(input)}`);
    }
  }
  assert.deepEqual(failures, []);
  assert.ok(n >= 200, `only ${n} cases ran`);
});

Deno.test("durationModelFromText() names the file's own line number, blank lines included", () => {
  const text = "\n\nlatency_ms\n45\n\nabc\n";
  assert.throws(
    () => durationModelFromText(text, { source: "x.csv" }),
    (e: Error) => e instanceof DurationSpecError && /^x\.csv:6: /.test(e.message),
  );
});

Deno.test("parseWaitTime() accepts only complete numeric arguments and names the flag otherwise", () => {
  const rng = new Rng(0x3a17);
  const names = ["constant", "between", "constant_pacing", "constant_throughput", "x", ""];
  const args = ["", " ", "0", "1", "2.5", "-1", "1e999", "abc", "0x10", ".5", "1e3", "NaN"];
  const failures: string[] = [];
  for (let n = 0; n < 1500 && failures.length < 3; n++) {
    const list = Array.from({ length: rng.int(4) }, () => rng.pick(args));
    const text = `${rng.pick(names)}${rng.pick(["(", " (", ""])}${list.join(",")}${
      rng.pick([")", "", "))"])
    }`;
    try {
      const w = parseWaitTime(text, "--wait-time");
      // Accepted: every argument was a real, non-empty number.
      if (list.some((a) => a.trim() === "" || !Number.isFinite(Number(a)))) {
        failures.push(`${JSON.stringify(text)} accepted as ${JSON.stringify(w)}`);
      }
    } catch (error) {
      if (!(error instanceof WaitTimeError) || !error.message.startsWith("--wait-time: ")) {
        failures.push(
          `${JSON.stringify(text)} threw ${(error as Error).name}: ${(error as Error).message}`,
        );
      }
    }
  }
  assert.deepEqual(failures, []);
});

Deno.test("durationModelFromText() takes a blank Locust percentile cell as missing, not 0 ms", () => {
  const text = "Type,Name,Request Count,50%,99%,Min Response Time\n" +
    ",Aggregated,10,,80,\n";
  const model = durationModelFromText(text, { source: "stats.csv" });
  // Only p99 = 80 ms is known: every draw is 80 ms (a 0 ms p50 or minimum would pull it down).
  assert.equal(model.meanMs, 80);
});
