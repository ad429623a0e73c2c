import assert from "node:assert/strict";
import {
  inferStages,
  loadRun,
  makeRun,
  parseLatency,
  parseReplicas,
  parseStages,
  parseStatsHistory,
  ResultFileError,
} from "../../lib/plot/mod.ts";

const FIXTURES = new URL("../fixtures/plot/", import.meta.url).pathname;
const PCTS = "50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%";
const HEADER =
  `Timestamp,User Count,Type,Name,Requests/s,Failures/s,${PCTS},Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size`;
const NA = Array(11).fill("N/A").join(",");

Deno.test("parseStatsHistory() reads Locust's CRLF file, N/A as null, elapsed from the first row", () => {
  const text = [
    HEADER,
    `1700000000,0,,Aggregated,0.000000,0.000000,${NA},0,0,0,0.0,0,0,0`,
    `1700000001,5,,Aggregated,4.500000,0.500000,40,41,42,43,44,45,46,47,48,48,48,9,1,40,41.0,39.0,48.0,30.0`,
  ].join("\r\n") + "\r\n";
  const { rows, fullHistory } = parseStatsHistory(text, { source: "x.csv" });
  assert.equal(fullHistory, false);
  assert.equal(rows.length, 2);
  assert.equal(rows[0].p50Ms, null);
  assert.deepEqual(
    [rows[1].elapsedS, rows[1].users, rows[1].requestsPerS, rows[1].failuresPerS, rows[1].p99Ms],
    [1, 5, 4.5, 0.5, 47],
  );
  assert.equal(rows[1].totalRequests, 9);
});

Deno.test("parseStatsHistory() keeps only Aggregated rows of --csv-full-history and marks it windowed", () => {
  const text = [
    HEADER,
    `1700000001,5,GET,/,4.000000,0.000000,40,41,42,43,44,45,46,47,48,48,48,9,0,40,41.0,39.0,48.0,30.0`,
    `1700000001,5,,Aggregated,4.000000,0.000000,40,41,42,43,44,45,46,47,48,48,48,9,0,40,41.0,39.0,48.0,30.0`,
  ].join("\r\n");
  const parsed = parseStatsHistory(text);
  assert.equal(parsed.fullHistory, true);
  assert.equal(parsed.rows.length, 1);
  const run = makeRun({ name: "r", history: parsed });
  assert.equal(run.percentileKind, "window");
});

Deno.test("a malformed stats history names the file and the line", () => {
  const bad = [
    HEADER,
    `1700000000,0,,Aggregated,0.000000,0.000000,${NA},0,0,0,0.0,0,0,0`,
    `1700000001,5,,Aggregated,four,0.000000,40,41,42,43,44,45,46,47,48,48,48,9,0,40,41.0,39.0,48.0,30.0`,
  ].join("\r\n");
  assert.throws(
    () => parseStatsHistory(bad, { source: "results/x_stats_history.csv" }),
    (e: unknown) =>
      e instanceof ResultFileError && e.line === 3 &&
      e.message.startsWith("results/x_stats_history.csv:3:") && e.message.includes("Requests/s"),
  );
  // wrong field count
  assert.throws(
    () => parseStatsHistory(`${HEADER}\n1700000000,0,,Aggregated\n`, { source: "h.csv" }),
    /h\.csv:2: expected 24 fields as in the header, found 4/,
  );
  // not a history file at all
  assert.throws(
    () => parseStatsHistory("a,b\n1,2\n", { source: "h.csv" }),
    /h\.csv:1: not a Locust _stats_history\.csv file: missing columns "Timestamp"/,
  );
  assert.throws(() => parseStatsHistory("", { source: "e.csv" }), /e\.csv: file is empty/);
  assert.throws(
    () => parseStatsHistory(`${HEADER}\n"unclosed,1\n`, { source: "q.csv" }),
    /q\.csv:2: quoted field is never closed/,
  );
  assert.throws(
    () => parseStatsHistory(`${HEADER}\n`, { source: "n.csv" }),
    /n\.csv: no "Aggregated" rows/,
  );
});

Deno.test("parseReplicas/parseLatency/parseStages read our LF extras; empty latency cells are null", () => {
  const reps = parseReplicas(
    "Timestamp,Elapsed (s),Target Replicas,Running Replicas,Starting Replicas,Pending Replicas,Total Ongoing Requests,Queued Requests\n1700000100,0,3,2,1,0,4,0\n",
  );
  assert.deepEqual(reps[0], {
    timestamp: 1700000100,
    elapsedS: 0,
    target: 3,
    running: 2,
    starting: 1,
    pending: 0,
    ongoing: 4,
    queued: 0,
  });
  const lat = parseLatency(
    "Timestamp,Elapsed (s),Requests,Failures,p50 (ms),p90 (ms),p95 (ms),p99 (ms),Max (ms)\n1,0,0,0,,,,,\n2,1,5,0,10,20,30,40.5,41\n",
  );
  assert.equal(lat[0].p99Ms, null);
  const gaps = parseReplicas(
    "Timestamp,Elapsed (s),Target Replicas,Running Replicas,Starting Replicas,Pending Replicas,Total Ongoing Requests,Queued Requests\n1,1.0,,,,,,\n2,2.0,1,1,0,0,0,0\n",
  );
  assert.equal(gaps.length, 1, "a second without a status sample is a gap, not an error");
  assert.throws(
    () =>
      parseReplicas(
        "Timestamp,Elapsed (s),Target Replicas,Running Replicas,Starting Replicas,Pending Replicas,Total Ongoing Requests,Queued Requests\n1,1.0,3,,0,0,0,0\n",
        { source: "r.csv" },
      ),
    /r\.csv:2: column "Running Replicas" must be a number, found ""/,
  );
  assert.equal(lat[1].p99Ms, 40.5);
  assert.throws(
    () =>
      parseStages("Stage,Start (s),End (s),Users,Spawn Rate\npeak,60,30,40,10\n", {
        source: "s.csv",
      }),
    /s\.csv:2: stage ends \(30 s\) before it starts \(60 s\)/,
  );
  assert.throws(
    () => parseReplicas("Timestamp,Elapsed (s)\n1,0\n", { source: "r.csv" }),
    /r\.csv:1: not a _replicas\.csv file: missing columns "Target Replicas"/,
  );
});

Deno.test("inferStages() finds one boundary per ramp, not one per user-count step", () => {
  const users = [1, 1, 1, 1, 1, 11, 20, 20, 20, 20, 20, 20, 30, 40, 40, 40, 40, 40, 1, 1, 1];
  const stages = inferStages(users.map((u, i) => ({ elapsedS: i, users: u })));
  // Each boundary sits where the users line moves (the first row with the new count).
  assert.deepEqual(stages.map((s) => [s.startS, s.users]), [[0, 1], [5, 20], [12, 40], [18, 1]]);
  assert.equal(stages[stages.length - 1].endS, 20);
});

Deno.test("inferStages() on a real Locust file: labels sit on the users line's steps, the first where users appear", async () => {
  // Locust 2.12 history: 0 users at 0 s, 2 users from 1 s, 10 users from 6 s.
  const run = await loadRun(`${FIXTURES}locust212_full_history_stats_history.csv`);
  assert.deepEqual(run.stages.map((s) => [s.startS, s.endS, s.users]), [[1, 6, 2], [6, 10, 10]]);
  const users = (t: number) => run.history.find((r) => r.elapsedS === t)!.users;
  for (const s of run.stages) {
    assert.equal(users(s.startS), s.users, `the line reads ${s.users} users at ${s.startS} s`);
    assert.notEqual(users(s.startS - 1), s.users, "and did not one row before");
  }
  // Short stages are not merged: 2 s stages of 1, 3 and 5 users, then a quick ramp down.
  const short = inferStages(
    [0, 1, 1, 3, 3, 5, 5, 4, 2, 2].map((u, i) => ({ elapsedS: i, users: u })),
  );
  assert.deepEqual(short.map((s) => [s.startS, s.users]), [[1, 1], [3, 3], [5, 5], [7, 2]]);
});

Deno.test("loadRun() aligns a run on the start its extras record and picks up every sibling file", async () => {
  const run = await loadRun(`${FIXTURES}ours_extras_stats_history.csv`);
  assert.equal(run.name, "ours_extras");
  assert.equal(run.startTimestamp, 1700000100);
  assert.equal(
    run.history[0].elapsedS,
    -2,
    "history rows written before the test start come first",
  );
  assert.equal(run.stagesSource, "file");
  assert.deepEqual(run.stages.map((s) => s.name), ["warm-up", "ramp", "peak", "cool-down"]);
  assert.ok(run.replicas && run.replicas.length === 61);
  assert.ok(run.latency && run.latency.length === 61);
  const locust = await loadRun(`${FIXTURES}locust_basic`, { name: "real locust" });
  assert.equal(locust.name, "real locust");
  assert.equal(locust.replicas, null);
  assert.equal(locust.stagesSource, "inferred");
  assert.equal(locust.totals?.requests, 1918);
  await assert.rejects(
    loadRun(`${FIXTURES}nope_stats_history.csv`),
    /nope_stats_history\.csv: file not found/,
  );
});

Deno.test("loadRun() reads a real Locust 2.12 --csv-full-history output as windowed percentiles", async () => {
  const run = await loadRun(`${FIXTURES}locust212_full_history_stats_history.csv`);
  assert.equal(run.percentileKind, "window");
  assert.equal(run.history.length, 11, "one Aggregated row per second, entry rows skipped");
  assert.equal(run.totals?.requests, 474);
  assert.deepEqual(run.stages.map((s) => s.users), [2, 10]);
});
