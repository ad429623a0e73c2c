import assert from "node:assert/strict";
import { findRunDecisions, parseDecisions } from "../../lib/plot/mod.ts";

const ROOT = new URL("../../", import.meta.url).pathname;
const HEADER =
  "timestamp,time_s,total_ongoing_requests,queued_requests,running_replicas,desired_replicas,target_replicas,reason";

Deno.test("findRunDecisions() picks the decisions file of a load test by timestamp, even from an appended file", async () => {
  const dir = await Deno.makeTempDir();
  try {
    // The old appended file: two deploys, time_s restarting at 0; the load test ran 2000-2060.
    await Deno.writeTextFile(
      `${dir}/app_autoscaler.csv`,
      [
        HEADER,
        "1000.000,0.5,0.000,0.000,1,1,1,AUTOSCALING",
        "1030.000,30.5,9.000,0.000,1,3,3,AUTOSCALING",
        "2000.500,0.5,0.000,0.000,1,1,1,AUTOSCALING",
        "2020.000,20.0,7.500,1.000,1,3,3,AUTOSCALING",
        "2025.000,25.0,7.000,0.000,3,3,3,UPSCALE_COMPLETED",
      ].join("\n") + "\n",
    );
    // Per-deploy files: one of a later deploy, one that is not a decisions file at all.
    await Deno.writeTextFile(
      `${dir}/app_autoscaler_19700101_005000.csv`,
      `${HEADER}\n3000.000,0.5,0.000,0.000,1,1,1,AUTOSCALING\n`,
    );
    await Deno.writeTextFile(`${dir}/other_autoscaler_notes.csv`, "a,b\n1,2\n");
    const found = await findRunDecisions(2000, 2060, { dirs: [dir, `${dir}/`, "/nonexistent"] });
    assert.equal(found?.path, `${dir}/app_autoscaler.csv`);
    assert.deepEqual(found!.rows.map((r) => [r.timestamp, r.target, r.reason]), [
      [2000.5, 1, "AUTOSCALING"],
      [2020, 3, "AUTOSCALING"],
      [2025, 3, "UPSCALE_COMPLETED"],
    ]);
    const later = await findRunDecisions(2990, 3010, { dirs: [dir] });
    assert.equal(later?.path, `${dir}/app_autoscaler_19700101_005000.csv`);
    assert.equal(await findRunDecisions(5000, 5060, { dirs: [dir] }), null);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseDecisions() refuses a file without the decisions columns, naming it", () => {
  assert.throws(
    () => parseDecisions("a,b\n1,2\n", { source: "x.csv" }),
    /x\.csv:1: not a autoscaler decisions \(_autoscaler\.csv\) file: missing columns/,
  );
});

Deno.test("deno task deploy writes one decisions file per run", async () => {
  const cwd = await Deno.makeTempDir();
  const deployOnce = async (filesBefore: number) => {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        `${ROOT}scripts/deploy.ts`,
        `${ROOT}configs/dev_fast.yaml`,
        "--port",
        "0",
        "--no-dashboard",
        "--num-cpus",
        "4",
      ],
      cwd,
      stdout: "piped",
      stderr: "piped",
    }).spawn();
    // Stop it once the autoscaler has written its first row (at start-up).
    const deadline = Date.now() + 60_000;
    let files: string[] = [];
    while (Date.now() < deadline) {
      files = [];
      try {
        for await (const e of Deno.readDir(`${cwd}/results`)) files.push(e.name);
      } catch { /* not yet */ }
      if (files.length > filesBefore) {
        const text = await Deno.readTextFile(`${cwd}/results/${files.sort().at(-1)}`);
        if (text.split("\n").length > 2) break;
      }
      await new Promise((r) => setTimeout(r, 200)); // polling a real child process
    }
    child.kill("SIGTERM");
    await child.output();
  };
  try {
    await deployOnce(0);
    await new Promise((r) => setTimeout(r, 1100)); // the file name carries the start second
    await deployOnce(1);
    const files: string[] = [];
    for await (const e of Deno.readDir(`${cwd}/results`)) files.push(e.name);
    files.sort();
    assert.equal(files.length, 2, files.join(", "));
    for (const f of files) {
      assert.match(f, /^image_classifier_autoscaler_\d{8}_\d{6}\.csv$/);
      const rows = (await Deno.readTextFile(`${cwd}/results/${f}`)).trim().split("\n");
      assert.equal(rows[0], HEADER);
      assert.equal(
        rows.filter((r) => r === HEADER).length,
        1,
        "one header: the runs are not appended",
      );
    }
  } finally {
    await Deno.remove(cwd, { recursive: true });
  }
});
