import assert from "node:assert/strict";
import sharp from "sharp";

const ROOT = new URL("../../", import.meta.url).pathname;
const FIXTURES = `${ROOT}tests/fixtures/plot/`;
const CHARTS = [
  "users_over_time",
  "rps_over_time",
  "latency_over_time",
  "replicas_over_time",
  "dashboard",
];

async function visualize(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-all", `${ROOT}scripts/visualize.ts`, ...args],
    cwd: ROOT,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Pixel statistics: share of non-white pixels and of clearly coloured (non-grey) pixels. */
async function inkStats(path: string) {
  const { data, info } = await sharp(path).removeAlpha().raw().toBuffer({
    resolveWithObject: true,
  });
  let ink = 0;
  let colour = 0;
  const n = info.width * info.height;
  for (let i = 0; i < data.length; i += 3) {
    const r = data[i], g = data[i + 1], b = data[i + 2];
    if (r < 235 || g < 235 || b < 235) ink++;
    if (Math.max(r, g, b) - Math.min(r, g, b) > 60) colour++;
  }
  return { width: info.width, height: info.height, ink: ink / n, colour: colour / n };
}

async function checkPngs(dir: string, options: { noData?: string[] } = {}) {
  for (const name of CHARTS) {
    const s = await inkStats(`${dir}/${name}.png`);
    assert.ok(s.width >= 800 && s.width <= 4000, `${name}.png width ${s.width}`);
    assert.ok(s.height >= 300 && s.height <= 3000, `${name}.png height ${s.height}`);
    assert.ok(
      s.ink > 0.01 && s.ink < 0.5,
      `${name}.png: ${(s.ink * 100).toFixed(2)} % non-white pixels`,
    );
    if (options.noData?.includes(name)) continue; // a message, no lines
    assert.ok(
      s.colour > 0.001,
      `${name}.png: no coloured lines (${(s.colour * 100).toFixed(3)} %)`,
    );
    const svg = await Deno.readTextFile(`${dir}/${name}.svg`);
    assert.ok(svg.startsWith("<svg") && svg.includes('xmlns="http://www.w3.org/2000/svg"'));
  }
}

Deno.test("visualize on a plain Locust file writes every chart as a non-blank PNG and a report", async () => {
  const dir = await Deno.makeTempDir({ prefix: "visualize_locust_" });
  try {
    const r = await visualize([
      "--stats-history",
      `${FIXTURES}locust_basic_stats_history.csv`,
      "--output-dir",
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    await checkPngs(dir, { noData: ["replicas_over_time"] });
    // The replicas chart says why it is empty rather than being blank.
    assert.match(await Deno.readTextFile(`${dir}/replicas_over_time.svg`), /No _replicas\.csv/);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /SLA compliance/);
    assert.match(html, /Replica-hours per 1,000 requests/);
    assert.doesNotMatch(
      html,
      /<script|<link|src="http|href="http/,
      "report must not need the network",
    );
    assert.match(r.stdout, /Error rate\s+0\.42 %/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("visualize on a glob of runs with our extras overlays them and reports scaling events", async () => {
  const dir = await Deno.makeTempDir({ prefix: "visualize_ours_" });
  try {
    const r = await visualize([
      "--stats-history",
      `${FIXTURES}[lo]*_stats_history.csv`,
      "--output-dir",
      dir,
      "--slo-ms",
      "250",
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(
      r.stderr,
      /ours_extras_stats_history\.csv: 63 s of history \+ replicas, latency, stages/,
    );
    await checkPngs(dir);
    const replicas = await Deno.readTextFile(`${dir}/replicas_over_time.svg`);
    assert.match(replicas, /ours_extras/);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /<td>3 \(2 \/ 1\)<\/td>/, "3 scaling events, 2 up and 1 down");
    assert.match(html, /SLA compliance \(p99 &lt;= 250 ms, &lt;= 1 % failed\)/);
    assert.ok((html.match(/<svg/g) ?? []).length >= 5, "charts are inline SVG");
    // Queue figures come from once-a-second samples; both outputs say so rather than look exact.
    assert.match(html, /Queue depth \(max \/ mean of per-second samples\)/);
    assert.match(html, /deno task simulate&#39;s max queue \(taken at every event\) can be higher/);
    assert.match(r.stdout, /Queue depth \(max \/ mean of per-second samples\)/);
    assert.match(r.stdout, /sampled once a second: a burst between samples is missed/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("visualize on a malformed or missing file exits non-zero naming the file and the line", async () => {
  const dir = await Deno.makeTempDir({ prefix: "visualize_bad_" });
  try {
    const bad = await visualize([
      "--stats-history",
      `${FIXTURES}malformed_stats_history.csv`,
      "--output-dir",
      dir,
    ]);
    assert.equal(bad.code, 2);
    assert.match(
      bad.stderr,
      /malformed_stats_history\.csv:4: column "Requests\/s" must be a number, found "four"/,
    );
    assert.doesNotMatch(bad.stderr, /at file:|Stack/, "no stack trace");
    const missing = await visualize(["--stats-history", `${dir}/nothing_*_stats_history.csv`]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /no files match/);
    const none = await visualize([]);
    assert.equal(none.code, 2);
    assert.match(none.stderr, /no --stats-history given/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("visualize recognises a Locust history by its header, whatever its name, and looks for siblings only when the name allows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "visualize_named_" });
  try {
    // A real Locust 2.12 history saved under another name, next to a file that would be a sibling
    // if the name were taken as a prefix (it is broken: reading it would fail the run).
    await Deno.copyFile(
      `${FIXTURES}locust212_full_history_stats_history.csv`,
      `${dir}/tuesday.csv`,
    );
    await Deno.writeTextFile(`${dir}/tuesday.csv_stats.csv`, "not,a,stats,file\n");
    await Deno.writeTextFile(`${dir}/tuesday_stats.csv`, "not,a,stats,file\n");
    const ok = await visualize(["--stats-history", `${dir}/tuesday.csv`, "--output-dir", dir]);
    assert.equal(ok.code, 0, ok.stderr);
    assert.match(ok.stderr, /read .*tuesday\.csv: 11 s of history\n/);
    assert.match(ok.stdout, /tuesday/);
    // Not Locust's header: refused by what it holds, naming the file and the missing columns.
    await Deno.writeTextFile(`${dir}/other_stats_history.csv`, "a,b\n1,2\n");
    const bad = await visualize([
      "--stats-history",
      `${dir}/other_stats_history.csv`,
      "--output-dir",
      dir,
    ]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /other_stats_history\.csv:1: not a Locust _stats_history\.csv file/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("visualize finds the autoscaler decisions file of the run by timestamp and reports its rows", async () => {
  const dir = await Deno.makeTempDir({ prefix: "visualize_decisions_" });
  try {
    for (const part of ["stats_history", "replicas", "latency", "stages"]) {
      await Deno.copyFile(`${FIXTURES}ours_extras_${part}.csv`, `${dir}/run_${part}.csv`);
    }
    // ours_extras runs from Unix 1700000100 for 60 s; a deploy file of an earlier deploy too.
    const header =
      "timestamp,time_s,total_ongoing_requests,queued_requests,running_replicas,desired_replicas,target_replicas,reason";
    await Deno.writeTextFile(
      `${dir}/app_autoscaler_20231114_220000.csv`,
      `${header}\n1700000112.000,512.0,6.500,2.000,1,3,3,AUTOSCALING\n`,
    );
    await Deno.writeTextFile(
      `${dir}/app_autoscaler_20231114_210000.csv`,
      `${header}\n1699990000.000,1.0,0.000,0.000,1,1,1,AUTOSCALING\n`,
    );
    const r = await visualize([
      "--stats-history",
      `${dir}/run_stats_history.csv`,
      "--output-dir",
      dir,
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /1 autoscaler decisions from .*app_autoscaler_20231114_220000\.csv/);
    const html = await Deno.readTextFile(`${dir}/report.html`);
    assert.match(html, /decisions file .*app_autoscaler_20231114_220000\.csv/);
    assert.match(
      html,
      /<td>12<\/td><td>6\.5<\/td><td>2<\/td><td>1<\/td><td>3<\/td><td>3<\/td><td>AUTOSCALING<\/td>/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
