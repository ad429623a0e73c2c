import { ok, rejects, strictEqual, throws } from "node:assert/strict";
import {
  BASE_PERTURBATION,
  perturbedLoad,
  readTraffic,
  shapeFromHistory,
  shapeFromTrace,
  standardPerturbations,
  TuneInputError,
} from "../../lib/tune/mod.ts";
import { constantUsersShape, type LoadShape } from "../../lib/loadgen/mod.ts";
import type { ClosedLoopLoad, OpenLoopLoad } from "../../lib/sim/mod.ts";

Deno.test("shapeFromTrace(): each row's ongoing requests become users until the next row", () => {
  const shape = shapeFromTrace("time_s,total_ongoing_requests\n0,1\n60,11\n90,3\n120,3\n", "t.csv");
  strictEqual(shape.executor, "users");
  strictEqual(shape.durationS, 120);
  const load = perturbedLoad(shape, BASE_PERTURBATION) as ClosedLoopLoad;
  strictEqual(load.usersAt(10), 1);
  strictEqual(load.usersAt(61), 11);
  strictEqual(load.usersAt(100), 3);
});

Deno.test("shapeFromTrace() names the file and line of a row it cannot read", () => {
  throws(() => shapeFromTrace("time,value\n0,1\n", "a.csv"), /a\.csv:1: a trace needs a header/);
  throws(
    () => shapeFromTrace("time_s,total_ongoing_requests\n0,1\nten,2\n", "b.csv"),
    /b\.csv:3: expected time_s,total_ongoing_requests numbers/,
  );
  throws(
    () => shapeFromTrace("time_s,total_ongoing_requests\n5,1\n5,2\n", "c.csv"),
    /c\.csv:3: time_s 5 is not after/,
  );
  throws(
    () => shapeFromTrace("time_s,total_ongoing_requests\n0,1\n", "d.csv"),
    /at least two rows/,
  );
});

Deno.test("readTraffic() reports a file it cannot read as input error", async () => {
  await rejects(
    () => readTraffic("trace", "no/such/trace.csv"),
    (e: Error) =>
      e instanceof TuneInputError && /cannot read --trace no\/such\/trace\.csv/.test(e.message),
  );
});

Deno.test("shapeFromHistory(): arrivals at the rate the run completed requests", async () => {
  const path = "tests/fixtures/plot/locust_basic_stats_history.csv";
  const shape = shapeFromHistory(await Deno.readTextFile(path), path);
  strictEqual(shape.executor, "arrival_rate");
  // Between the first two rows the total went 0 -> 2 in one second.
  strictEqual(shape.stages[0].rate, 2);
  throws(() => shapeFromHistory("a,b\n1,2\n", "x_stats_history.csv"), TuneInputError);
});

Deno.test("perturbations scale the users and add a spike above the input's peak", () => {
  const shape: LoadShape = constantUsersShape(10, 200);
  const [low, high, spike] = standardPerturbations(shape);
  strictEqual((perturbedLoad(shape, low) as ClosedLoopLoad).usersAt(100), 8);
  strictEqual((perturbedLoad(shape, high) as ClosedLoopLoad).usersAt(100), 12);
  const s = spike.spike!;
  const load = perturbedLoad(shape, spike) as ClosedLoopLoad;
  strictEqual(s.startS, 50);
  strictEqual(load.usersAt(s.startS + 1), 15);
  strictEqual(load.usersAt(s.startS + s.durationS + 1), 10);
  ok(load.changeTimesS.includes(s.startS) && load.changeTimesS.includes(s.startS + s.durationS));
});

Deno.test("open-loop perturbations: x1.2 brings 20 % more arrivals, the spike adds a burst", () => {
  const shape = shapeFromHistory(
    [
      "Timestamp,User Count,Type,Name,Requests/s,Failures/s,50%,66%,75%,80%,90%,95%,98%,99%,99.9%,99.99%,100%,Total Request Count,Total Failure Count,Total Median Response Time,Total Average Response Time,Total Min Response Time,Total Max Response Time,Total Average Content Size",
      "1000,0,,Aggregated,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,0,0,0,0,0,0,0",
      "1100,0,,Aggregated,0,0,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,N/A,1000,0,0,0,0,0,0",
    ].join("\n"),
    "h.csv",
  );
  const count = (load: OpenLoopLoad) => {
    let k = 0;
    while (load.arrivalTimeS!(k) !== null) k++;
    return k;
  };
  const [, high, spike] = standardPerturbations(shape);
  strictEqual(count(perturbedLoad(shape, BASE_PERTURBATION) as OpenLoopLoad), 1000);
  strictEqual(count(perturbedLoad(shape, high) as OpenLoopLoad), 1200);
  // 10/s base; spike to 15/s for 5 s (5 % of 100 s): 25 more.
  strictEqual(count(perturbedLoad(shape, spike) as OpenLoopLoad), 1025);
});
