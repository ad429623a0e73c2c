/**
 * `deno task shutdown-cycles [--cycles 30] [--requests 5]`: starts `deno task deploy` with the
 * real MobileNetV2 fixture (`../shared/fixtures/`) as a child process, has it classify an image
 * served over HTTP on 127.0.0.1 (the `--serve-image` path of a load test), sends SIGTERM, and
 * requires exit code 0 and no crash output (`double free`, `corruption`, `Segmentation fault`,
 * `Aborted`, `panicked`, `core dumped`) — `--cycles` times. Prints one line per cycle and a
 * summary; exits 1 on the first bad cycle (after printing its log), 0 when all passed.
 * `tests/serve/shutdown_cycles_test.ts` runs a few cycles in the suite; the 30 of issue 18 run
 * here.
 *
 * @module
 */
import { type Cli, cli, type DeployChild, EXIT_CODES, startDeployChild } from "../lib/cli/mod.ts";

const c: Cli = cli(
  "shutdown-cycles",
  "usage: deno task shutdown-cycles [--cycles 30] [--requests 5] [--large-rgba N]\n" +
    "  --large-rgba N  also POST N concurrent 6000x6000 RGBA PNGs per cycle (big decodes in flight)",
);
const args = c.parse({
  cycles: { type: "string", default: "30" },
  requests: { type: "string", default: "5" },
  "large-rgba": { type: "string", default: "0" },
});
const cycles = c.number("cycles", args.values.cycles, { integer: true, min: 1 })!;
const requests = c.number("requests", args.values.requests, { integer: true, min: 1 })!;
const largeRgba = c.number("large-rgba", args.values["large-rgba"], { integer: true, min: 0 })!;
const ROOT = new URL("../", import.meta.url);
const FIXTURES = new URL("../../shared/fixtures/", import.meta.url);
const MODEL = new URL("mobilenetv2-12-int8.onnx", FIXTURES);
let dog: Uint8Array<ArrayBuffer>;
try {
  dog = await Deno.readFile(new URL("dog.jpg", FIXTURES));
  Deno.statSync(MODEL);
} catch {
  c.fail(`needs ${FIXTURES.pathname} (mobilenetv2-12-int8.onnx and dog.jpg)`, 3);
}

/** How long a cycle's deploy has to listen and then to be RUNNING (each). */
const START_TIMEOUT_MS = 120_000;

/** Lines that mean a native crash or a panic at exit. */
const CRASH = /double free|corruption|Segmentation fault|Aborted|panicked|core dumped|free\(\)/i;

const rgbaPng = largeRgba > 0
  ? new Uint8Array(
    await (await import("sharp")).default({
      create: {
        width: 6000,
        height: 6000,
        channels: 4,
        background: { r: 9, g: 99, b: 199, alpha: 0.5 },
      },
    }).png().toBuffer(),
  )
  : null;
const images = Deno.serve(
  { hostname: "127.0.0.1", port: 0, onListen() {} },
  () => new Response(dog, { headers: { "content-type": "image/jpeg" } }),
);
const imageHost = `127.0.0.1:${images.addr.port}`;
const dir = await Deno.makeTempDir({ prefix: "shutdown_cycles_" });

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = l.addr.port;
  l.close();
  return port;
}

/** Has the service at `url` classify the dog `requests` times, then the large PNGs. */
async function classify(url: string, answers: string[]): Promise<void> {
  for (let i = 0; i < requests; i++) {
    const res = await fetch(`${url}/`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ uri: `http://${imageHost}/dog.jpg` }),
    });
    answers.push(`${res.status} ${await res.text()}`);
  }
  if (rgbaPng) {
    await Promise.all(Array.from({ length: largeRgba }, async () => {
      const res = await fetch(`${url}/`, { method: "POST", body: rgbaPng });
      await res.body?.cancel();
    }));
  }
}

async function cycle(n: number): Promise<{ ok: boolean; line: string; log: string }> {
  const port = freePort();
  const configPath = `${dir}/cycle.yaml`;
  await Deno.writeTextFile(
    configPath,
    `http_options: {host: 127.0.0.1, port: ${port}}
applications:
  - name: cycles
    route_prefix: /
    import_path: cycles:app
    deployments:
      - name: Model
        num_replicas: 2
        user_config:
          model: ${MODEL.pathname}
          allowed_image_hosts: ["${imageHost}"]
`,
  );
  const started = performance.now();
  const logFile = `${dir}/cycle.log`;
  const answers: string[] = [];
  let child: DeployChild | null = null;
  let startError: string | null = null;
  try {
    child = await startDeployChild(configPath, {
      denoFlags: ["--allow-all", "--v8-flags=--expose-gc"],
      args: ["--no-dashboard", "--num-cpus", "2"],
      output: { logFile },
      listenTimeoutMs: START_TIMEOUT_MS,
    });
    await child.waitRunning(START_TIMEOUT_MS);
  } catch (error) {
    startError = (error as Error).message; // it did not come up; the child is stopped
  }
  let status: Deno.CommandStatus | null = null;
  if (child !== null) {
    try {
      if (startError === null) await classify(child.url, answers);
    } finally {
      status = await child.stop({ signal: "SIGTERM" });
    }
  }
  const log = await Deno.readTextFile(logFile).catch(() => "");
  const seconds = (performance.now() - started) / 1000;
  const crash = CRASH.exec(log)?.[0] ?? null;
  const allSamoyed = answers.length === requests && answers.every((a) => a === "200 Samoyed");
  const ok = status?.code === 0 && crash === null && allSamoyed &&
    log.includes("shutdown complete");
  const exit = startError !== null || status === null
    ? `did not come up: ${startError}`
    : `exit ${status.code}${status.signal ? ` (${status.signal})` : ""}`;
  const line = `cycle ${String(n).padStart(2)}: ${exit}, ` +
    `${answers.filter((a) => a === "200 Samoyed").length}/${requests} Samoyed, ` +
    `${crash ? `CRASH OUTPUT "${crash}"` : "no crash output"}, ${seconds.toFixed(1)} s`;
  return { ok, line, log };
}

const startedAt = new Date().toISOString();
const lines: string[] = [];
let failed = 0;
for (let n = 1; n <= cycles; n++) {
  const result = await cycle(n);
  console.log(result.line);
  lines.push(result.line);
  if (!result.ok) {
    failed++;
    console.log(`--- log of cycle ${n} ---\n${result.log}--- end of log ---`);
    break;
  }
}
await images.shutdown();
await Deno.remove(dir, { recursive: true });
const summary = failed === 0
  ? `${cycles} deploy / serve / SIGTERM cycles: every one exited 0 with no crash output`
  : `a cycle failed (see its log above)`;
console.log(`${summary}; loadavg ${Deno.loadavg().map((x) => x.toFixed(2)).join(" ")}`);
await Deno.mkdir(new URL("results/", ROOT), { recursive: true });
await Deno.writeTextFile(
  new URL(`results/shutdown_cycles_${startedAt.replace(/[:.]/g, "-")}.json`, ROOT),
  JSON.stringify({ started_at: startedAt, cycles, requests, failed, lines }, null, 2) + "\n",
);
Deno.exit(failed === 0 ? EXIT_CODES.ok : EXIT_CODES.failed);
