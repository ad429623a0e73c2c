/** lib/cli: the one flag-error path, strict numbers and durations, and the shared exit codes. */
import assert from "node:assert/strict";
import {
  cli,
  type CliIo,
  EXIT_CODES,
  parseCommandLine,
  parseDurationFlagS,
  parseNumberFlag,
  UsageError,
} from "../../lib/cli/mod.ts";

const OPTIONS = {
  port: { type: "string" },
  "num-cpus": { type: "string" },
  json: { type: "boolean" },
  name: { type: "string", short: "n" },
} as const;

function usageMessage(f: () => unknown): string {
  try {
    f();
  } catch (error) {
    assert.ok(error instanceof UsageError, `expected a UsageError, got ${error}`);
    return error.message;
  }
  assert.fail("expected a UsageError");
}

Deno.test("an unknown flag is named with the closest known flag", () => {
  assert.equal(
    usageMessage(() => parseCommandLine(["--prot", "18705"], OPTIONS)),
    "unknown flag --prot (did you mean --port?)",
  );
  assert.equal(
    usageMessage(() => parseCommandLine(["--num-cpu=2"], OPTIONS)),
    "unknown flag --num-cpu (did you mean --num-cpus?)",
  );
  // One dash too few still finds the long flag; nothing close gives no guess.
  assert.match(
    usageMessage(() => parseCommandLine(["-port", "1"], OPTIONS)),
    /did you mean --port/,
  );
  assert.equal(
    usageMessage(() => parseCommandLine(["--verbose"], OPTIONS)),
    "unknown flag --verbose",
  );
});

Deno.test("a flag missing its value, a value on a switch and stray arguments are refused", () => {
  assert.equal(usageMessage(() => parseCommandLine(["--port"], OPTIONS)), "--port needs a value");
  assert.equal(
    usageMessage(() => parseCommandLine(["--port", "--json"], OPTIONS)),
    "--port needs a value",
  );
  assert.equal(
    usageMessage(() => parseCommandLine(["--json=yes"], OPTIONS)),
    '--json takes no value, got "yes"',
  );
  assert.match(
    usageMessage(() => parseCommandLine(["extra"], OPTIONS)),
    /unexpected argument "extra"/,
  );
  assert.equal(
    usageMessage(() =>
      parseCommandLine([], OPTIONS, { positionals: { min: 1, max: 1, name: "config file" } })
    ),
    "expected a config file",
  );
});

Deno.test("a negative number is taken as a flag's value", () => {
  const parsed = parseCommandLine(["--port", "-1", "--json"], OPTIONS);
  assert.equal(parsed.values.port, "-1");
  assert.equal(parsed.values.json, true);
});

Deno.test("good command lines parse, with a leading -- from deno task dropped", () => {
  const parsed = parseCommandLine(["--", "a.yaml", "--port=80", "-n", "x", "--json"], OPTIONS, {
    positionals: { max: 1 },
  });
  assert.deepEqual(parsed.positionals, ["a.yaml"]);
  assert.equal(parsed.values.port, "80");
  assert.equal(parsed.values.name, "x");
  assert.equal(parsed.values.json, true);
});

Deno.test("numbers are strict and the message states the whole allowed range", () => {
  assert.equal(parseNumberFlag("time-scale", "0.1", { above: 0 }), 0.1);
  assert.equal(parseNumberFlag("n", "1e3", { integer: true }), 1000);
  assert.equal(parseNumberFlag("n", undefined), undefined);
  // "abc" and "0" get the same sentence, so the first error already says what is allowed.
  for (const bad of ["abc", "0", "", " ", "0x10", "1abc", "Infinity", "-1"]) {
    assert.equal(
      usageMessage(() => parseNumberFlag("time-scale", bad, { above: 0 })),
      `--time-scale must be a number > 0, got "${bad}"`,
    );
  }
  assert.equal(
    usageMessage(() => parseNumberFlag("port", "70000", { integer: true, min: 0, max: 65535 })),
    '--port must be an integer from 0 to 65535, got "70000"',
  );
  assert.equal(
    usageMessage(() => parseNumberFlag("users", "1.5", { integer: true, min: 1 })),
    '--users must be an integer >= 1, got "1.5"',
  );
});

Deno.test("durations take the load shapes' units and plain seconds", () => {
  assert.equal(parseDurationFlagS("run-time", "90"), 90);
  assert.equal(parseDurationFlagS("run-time", "1m30s"), 90);
  assert.equal(parseDurationFlagS("run-time", "250ms"), 0.25);
  assert.equal(
    usageMessage(() => parseDurationFlagS("run-time", "0", { above: 0 })),
    '--run-time must be a duration > 0 s like 30s, 5m, 1h30m or 250ms, got "0"',
  );
  assert.match(usageMessage(() => parseDurationFlagS("run-time", "5 minutes")), /got "5 minutes"/);
});

class Exit extends Error {
  constructor(readonly code: number) {
    super(`exit ${code}`);
  }
}

function fakeIo(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    error: (line) => err.push(line),
    print: (line) => out.push(line),
    exit: (code) => {
      throw new Exit(code);
    },
  };
}

function exitCode(f: () => unknown): number {
  try {
    f();
  } catch (error) {
    if (error instanceof Exit) return error.code;
    throw error;
  }
  assert.fail("expected an exit");
}

Deno.test("a Cli prints PROG: the error, then the usage, and exits 2; --help exits 0", () => {
  const io = fakeIo();
  const c = cli("deploy", "usage: deno task deploy <config.yaml>", io);
  assert.equal(exitCode(() => c.parse(OPTIONS, { args: ["--prot", "1"] })), EXIT_CODES.badInput);
  assert.equal(
    io.err.join("\n"),
    "deploy: unknown flag --prot (did you mean --port?)\n\nusage: deno task deploy <config.yaml>",
  );
  assert.equal(exitCode(() => c.number("port", "x", { integer: true })), 2);
  assert.equal(exitCode(() => c.parse(OPTIONS, { args: ["-h"] })), EXIT_CODES.ok);
  // Help even where a required argument is missing.
  const needsFile = { positionals: { min: 1, max: 1 } };
  assert.equal(exitCode(() => c.parse(OPTIONS, { args: ["--help"], ...needsFile })), 0);
  assert.deepEqual(io.out, [
    "usage: deno task deploy <config.yaml>",
    "usage: deno task deploy <config.yaml>",
  ]);
  assert.equal(exitCode(() => c.fail("the model did not load", EXIT_CODES.failed)), 1);
  assert.equal(io.err.at(-1), "deploy: the model did not load");
});

Deno.test("Cli.run exits with main's code, 2 for a UsageError, 1 for anything else", async () => {
  const io = fakeIo();
  const c = cli("x", "usage: x", io);
  const runCode = async (main: () => Promise<number>) => {
    try {
      await c.run(main);
    } catch (error) {
      if (error instanceof Exit) return error.code;
      throw error;
    }
    assert.fail("expected an exit");
  };
  assert.equal(await runCode(() => Promise.resolve(99)), 99);
  assert.equal(await runCode(() => Promise.reject(new UsageError("bad"))), 2);
  assert.equal(await runCode(() => Promise.reject(new Error("boom"))), 1);
  assert.match(io.err.at(-1)!, /^x: unexpected error: Error: boom/);
});
