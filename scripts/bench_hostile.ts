/**
 * `deno task bench-hostile [--after-s 30] [--drip-s 40] [--skip chunks,late,drip,rgba]`: the
 * hostile-client scenarios of issue 18 against a real service (`deploy` in a child process, on
 * 127.0.0.1), each with a bounded number of requests. Prints, per scenario, the service's RSS
 * before, at its peak and `--after-s` seconds after, whether each slow connection was closed and
 * when, and the load average; writes `results/bench_hostile_<ts>.json`.
 *
 * Scenarios: 8,000 one-byte chunks in one chunked POST; a body still arriving after its 408
 * (8,000 more chunks sent after the answer); 20 connections dripping header bytes one per second;
 * ten concurrent 6000x6000 RGBA PNGs (needs `../shared/fixtures/mobilenetv2-12-int8.onnx`).
 *
 * @module
 */
import sharp from "sharp";
import { type Cli, cli, startDeployChild } from "../lib/cli/mod.ts";

const c: Cli = cli(
  "bench-hostile",
  "usage: deno task bench-hostile [--after-s 30] [--drip-s 40] [--skip chunks,late,drip,rgba]\n" +
    "                             [--listener deno|node] [--header-timeout-s 20]\n" +
    "  --listener          http_options.listener of the service (default: the config default)\n" +
    "  --header-timeout-s  http_options.header_timeout_s (the node listener's header deadline)",
);
const args = c.parse({
  "after-s": { type: "string", default: "30" },
  "drip-s": { type: "string", default: "40" },
  skip: { type: "string", default: "" },
  listener: { type: "string" },
  "header-timeout-s": { type: "string" },
});
const afterS = c.number("after-s", args.values["after-s"], { min: 0 })!;
const dripS = c.number("drip-s", args.values["drip-s"], { above: 0 })!;
const headerTimeoutS = c.number("header-timeout-s", args.values["header-timeout-s"], { above: 0 });
const listener = args.values.listener;
if (listener !== undefined && listener !== "deno" && listener !== "node") {
  c.usageError(`--listener: expected deno or node, got ${listener}`);
}
const skip = new Set(args.values.skip!.split(",").filter(Boolean));
const ROOT = new URL("../", import.meta.url);
const MODEL = new URL("../../shared/fixtures/mobilenetv2-12-int8.onnx", import.meta.url);
const haveModel = (() => {
  try {
    return Deno.statSync(MODEL).isFile;
  } catch {
    return false;
  }
})();
const REQUEST_TIMEOUT_S = 20;
const progress = (line: string) => console.error(`[bench-hostile] ${line}`);
const encoder = new TextEncoder();

// ---- the service, in a child process whose RSS we read -------------------------------------
const port = (() => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const p = l.addr.port;
  l.close();
  return p;
})();
const dir = await Deno.makeTempDir({ prefix: "bench_hostile_" });
const configPath = `${dir}/hostile.yaml`;
await Deno.writeTextFile(
  configPath,
  `http_options:
  host: 127.0.0.1
  port: ${port}
  request_timeout_s: ${REQUEST_TIMEOUT_S}
${listener ? `  listener: ${listener}\n` : ""}${
    headerTimeoutS ? `  header_timeout_s: ${headerTimeoutS}\n` : ""
  }applications:
  - name: hostile
    route_prefix: /
    import_path: bench:app
    deployments:
      - name: Model
        num_replicas: 2
        user_config:
          model: ${haveModel ? MODEL.pathname : "noop"}
`,
);
const serviceLogFile = `${dir}/deploy.log`;
const child = await startDeployChild(configPath, {
  denoFlags: ["--allow-all", "--v8-flags=--expose-gc"],
  args: ["--no-dashboard", "--num-cpus", "2"],
  output: { logFile: serviceLogFile },
});
await child.waitRunning(120_000);
const base = child.url;
progress(`service up at ${base} (pid ${child.pid}, model ${haveModel ? "MobileNetV2" : "noop"})`);

function rssMb(): number {
  const status = Deno.readTextFileSync(`/proc/${child.pid}/status`);
  return Number(/VmRSS:\s+(\d+) kB/.exec(status)![1]) / 1024;
}
function loadavg(): number[] {
  return Deno.loadavg();
}

interface ScenarioResult {
  name: string;
  rss_before_mb: number;
  rss_peak_mb: number;
  rss_after_mb: number;
  after_s: number;
  growth_peak_mb: number;
  growth_after_mb: number;
  loadavg: number[];
  details: Record<string, unknown>;
}

/** Runs `fn` while sampling RSS every 50 ms; then waits `afterS` and samples once more. */
async function scenario(
  name: string,
  fn: () => Promise<Record<string, unknown>>,
): Promise<ScenarioResult> {
  progress(`${name}: running`);
  const before = rssMb();
  let peak = before;
  const sampler = setInterval(() => peak = Math.max(peak, rssMb()), 50);
  let details: Record<string, unknown>;
  try {
    details = await fn();
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, rssMb());
  progress(`${name}: waiting ${afterS} s for memory to come back`);
  const afterEnd = Date.now() + afterS * 1000;
  while (Date.now() < afterEnd) {
    peak = Math.max(peak, rssMb());
    await new Promise((r) => setTimeout(r, 500));
  }
  const after = rssMb();
  return {
    name,
    rss_before_mb: round(before),
    rss_peak_mb: round(peak),
    rss_after_mb: round(after),
    after_s: afterS,
    growth_peak_mb: round(peak - before),
    growth_after_mb: round(after - before),
    loadavg: loadavg(),
    details,
  };
}

function round(x: number): number {
  return Math.round(x * 10) / 10;
}

/** Reads from `conn` until the server closes it or `timeoutMs` passes; returns what arrived. */
async function readUntilClosed(conn: Deno.Conn, timeoutMs: number) {
  const started = Date.now();
  let text = "";
  const buf = new Uint8Array(64 * 1024);
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), timeoutMs));
  for (;;) {
    const n = await Promise.race([conn.read(buf).catch(() => null), timeout]);
    if (n === "timeout") return { text, closed: false, closedAfterS: null };
    if (n === null) {
      clearTimeout(timer);
      return { text, closed: true, closedAfterS: (Date.now() - started) / 1000 };
    }
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
}

const CHUNKED_HEAD = "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\n" +
  "Transfer-Encoding: chunked\r\n\r\n";
const ONE_BYTE_CHUNKS = (n: number) => encoder.encode("1\r\nA\r\n".repeat(n));

const results: ScenarioResult[] = [];

if (!skip.has("chunks")) {
  results.push(
    await scenario("8,000 one-byte chunks", async () => {
      const conn = await Deno.connect({ hostname: "127.0.0.1", port });
      await conn.write(encoder.encode(CHUNKED_HEAD));
      // 800 writes of 10 chunks: the server's reads see many tiny chunks, as on a slow link.
      const ten = ONE_BYTE_CHUNKS(10);
      for (let i = 0; i < 800; i++) await conn.write(ten);
      await conn.write(encoder.encode("0\r\n\r\n"));
      const answer = await readFirstResponse(conn);
      conn.close();
      return { chunks: 8000, status: answer.status };
    }),
  );
}

if (!skip.has("late")) {
  results.push(
    await scenario(
      `a body still arriving after its 408 (${REQUEST_TIMEOUT_S} s deadline)`,
      async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        const sentAt = Date.now();
        await conn.write(encoder.encode(CHUNKED_HEAD + "1\r\nA\r\n"));
        const answer = await readFirstResponse(conn);
        const answeredAfterS = (Date.now() - sentAt) / 1000;
        let accepted = 0;
        const more = ONE_BYTE_CHUNKS(10);
        for (let i = 0; i < 800; i++) {
          try {
            await conn.write(more);
            accepted += 10;
          } catch {
            break;
          }
        }
        const closing = await readUntilClosed(conn, 10_000);
        try {
          conn.close();
        } catch { /* closed */ }
        return {
          status: answer.status,
          connection_header: answer.connection,
          answered_after_s: answeredAfterS,
          chunks_written_after_408: accepted,
          closed_within_10_s_after_408: closing.closed,
          closed_after_s: closing.closedAfterS,
        };
      },
    ),
  );
}

if (!skip.has("drip")) {
  results.push(
    await scenario(`20 connections dripping header bytes (1 byte/s, ${dripS} s)`, async () => {
      const head = encoder.encode(
        "GET /-/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Pad: " + "a".repeat(200),
      );
      const started = Date.now();
      const drips = Array.from({ length: 20 }, async () => {
        const conn = await Deno.connect({ hostname: "127.0.0.1", port });
        let closedAfterS: number | null = null;
        const reading = readUntilClosed(conn, dripS * 1000).then((r) => {
          if (r.closed) closedAfterS = (Date.now() - started) / 1000;
        });
        for (let i = 0; i < head.length && Date.now() - started < dripS * 1000; i++) {
          if (closedAfterS !== null) break;
          try {
            await conn.write(head.subarray(i, i + 1));
          } catch {
            closedAfterS ??= (Date.now() - started) / 1000;
            break;
          }
          await new Promise((r) => setTimeout(r, 1000));
        }
        await reading;
        try {
          conn.close();
        } catch { /* closed */ }
        return closedAfterS;
      });
      const closedAfter = await Promise.all(drips);
      const closed = closedAfter.filter((s) => s !== null) as number[];
      return {
        connections: 20,
        closed: closed.length,
        closed_after_s: closedAfter,
        latest_close_s: closed.length ? Math.max(...closed) : null,
      };
    }),
  );
}

if (!skip.has("rgba")) {
  if (!haveModel) {
    progress(`skipping the RGBA scenario: ${MODEL.pathname} is absent (noop skips decoding)`);
  } else {
    const side = 6000;
    const png = new Uint8Array(
      await sharp({
        create: {
          width: side,
          height: side,
          channels: 4,
          background: { r: 40, g: 90, b: 160, alpha: 0.8 },
        },
      }).png().toBuffer(),
    );
    results.push(
      await scenario("10 concurrent 6000x6000 RGBA PNGs", async () => {
        const started = Date.now();
        const statuses = await Promise.all(Array.from({ length: 10 }, async () => {
          const res = await fetch(base, {
            method: "POST",
            body: png,
            headers: { "content-type": "image/png" },
          });
          await res.text();
          return res.status;
        }));
        return { png_bytes: png.length, statuses, seconds: (Date.now() - started) / 1000 };
      }),
    );
  }
}

/** Reads one HTTP response head (and its Content-Length body) from a raw connection. */
async function readFirstResponse(
  conn: Deno.Conn,
): Promise<{ status: number | null; connection: string | null }> {
  let text = "";
  const buf = new Uint8Array(64 * 1024);
  for (;;) {
    const end = text.indexOf("\r\n\r\n");
    if (end >= 0) {
      const length = Number(/\r\ncontent-length: *(\d+)/i.exec(text)?.[1] ?? 0);
      if (text.length >= end + 4 + length) break;
    }
    const n = await conn.read(buf).catch(() => null);
    if (n === null) break;
    text += new TextDecoder().decode(buf.subarray(0, n));
  }
  return {
    status: Number(/^HTTP\/1\.1 (\d{3})/.exec(text)?.[1] ?? NaN) || null,
    connection: /\r\nconnection: *([^\r]*)/i.exec(text)?.[1] ?? null,
  };
}

const exit = await child.stop({ signal: "SIGTERM" });
const serviceLog = (await Deno.readTextFile(serviceLogFile)).trimEnd().split("\n");
await Deno.remove(dir, { recursive: true });

console.log(`\nhostile clients against deploy (pid ${child.pid}); RSS of the service in MB`);
console.log(
  "| scenario | before | peak (+growth) | after " + afterS + " s (+growth) | loadavg | details |",
);
console.log("|---|---|---|---|---|---|");
for (const r of results) {
  console.log(
    `| ${r.name} | ${r.rss_before_mb} | ${r.rss_peak_mb} (+${r.growth_peak_mb}) | ` +
      `${r.rss_after_mb} (${r.growth_after_mb >= 0 ? "+" : ""}${r.growth_after_mb}) | ` +
      `${r.loadavg.map((x) => x.toFixed(2)).join(" ")} | ${JSON.stringify(r.details)} |`,
  );
}
console.log(
  `service exit code after SIGTERM: ${exit.code}${exit.signal ? ` (${exit.signal})` : ""}`,
);
if (exit.code !== 0) console.log(`service log, last lines:\n${serviceLog.slice(-8).join("\n")}`);
const out = {
  started_at: new Date().toISOString(),
  machine: { cpus: navigator.hardwareConcurrency, deno: Deno.version.deno },
  model: haveModel ? "mobilenetv2-12-int8 (fixture)" : "noop",
  request_timeout_s: REQUEST_TIMEOUT_S,
  listener: listener ?? "config default",
  header_timeout_s: headerTimeoutS ?? "config default",
  service_exit_code: exit.code,
  service_log_tail: exit.code !== 0 ? serviceLog.slice(-8) : [],
  scenarios: results,
};
await Deno.mkdir(new URL("results/", ROOT), { recursive: true });
const path = new URL(
  `results/bench_hostile_${new Date().toISOString().replace(/[:.]/g, "-")}.json`,
  ROOT,
);
await Deno.writeTextFile(path, JSON.stringify(out, null, 2) + "\n");
console.log(`wrote ${path.pathname}`);
