/**
 * The tutorial's request as Locust sends it (issue 16 item 1): a real `FastHttpUser` posting
 * `json={"uri": ...}` (which also sends `Accept: application/json`) must get the tutorial's
 * answer, the bare label `Samoyed`, on every request, as Ray Serve's deployment answers. Needs
 * Debian's `python3-locust` and `../shared/fixtures`; skipped with a message without them.
 */
import assert from "node:assert/strict";
import { makeConfig, serve } from "./_helpers.ts";

const FIXTURES = new URL("../../../shared/fixtures/", import.meta.url);

function missing(): string | null {
  for (const name of ["mobilenetv2-12-int8.onnx", "dog.jpg"]) {
    try {
      Deno.statSync(new URL(name, FIXTURES));
    } catch {
      return `${new URL(name, FIXTURES).pathname} is absent`;
    }
  }
  try {
    new Deno.Command("locust", { args: ["--version"], stdout: "null", stderr: "null" })
      .outputSync();
  } catch {
    return "locust is not installed (apt-get install python3-locust)";
  }
  return null;
}
const skipReason = missing();
if (skipReason) console.error(`skipping the Locust compatibility test: ${skipReason}`);

/** The tutorial's locustfile, checking the answer's text on every request. */
const LOCUSTFILE = `
from locust import FastHttpUser, constant, task

class Tutorial(FastHttpUser):
    wait_time = constant(0.05)

    @task
    def classify(self):
        with self.client.post("/", json={"uri": IMAGE_URI}, catch_response=True) as response:
            if response.text != "Samoyed":
                response.failure("expected Samoyed, got %r (%s)" % (response.text[:200], response.status_code))
`;

Deno.test({
  name: "a real Locust FastHttpUser gets the tutorial's plain 'Samoyed' on every request",
  ignore: skipReason !== null,
  async fn() {
    const dog = await Deno.readFile(new URL("dog.jpg", FIXTURES));
    const images = Deno.serve(
      { hostname: "127.0.0.1", port: 0, onListen() {} },
      () => new Response(dog, { headers: { "content-type": "image/jpeg" } }),
    );
    const imageHost = `127.0.0.1:${images.addr.port}`;
    const s = await serve(
      makeConfig({
        num_replicas: 1,
        user_config: {
          model: new URL("mobilenetv2-12-int8.onnx", FIXTURES).pathname,
          allowed_image_hosts: [imageHost],
        },
      }),
      { numCpus: 1 },
    );
    const dir = await Deno.makeTempDir({ prefix: "locust_compat_" });
    try {
      await Deno.writeTextFile(
        `${dir}/locustfile.py`,
        `IMAGE_URI = "http://${imageHost}/dog.jpg"\n${LOCUSTFILE}`,
      );
      const run = await new Deno.Command("locust", {
        args: [
          "--headless",
          "-u",
          "2",
          "-r",
          "2",
          "-t",
          "4s",
          "--host",
          s.url,
          "-f",
          `${dir}/locustfile.py`,
          "--csv",
          `${dir}/run`,
          "--only-summary",
        ],
        cwd: dir,
        stdout: "piped",
        stderr: "piped",
      }).output();
      const output = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
      const stats = await Deno.readTextFile(`${dir}/run_stats.csv`);
      const [header, ...rows] = stats.trim().split("\n").map((line) => line.split(","));
      const col = (name: string) => header.indexOf(name);
      const total = rows.find((r) => r[col("Name")] === "Aggregated")!;
      const requests = Number(total[col("Request Count")]);
      const failures = Number(total[col("Failure Count")]);
      assert.ok(requests >= 5, `only ${requests} requests ran:\n${output.slice(-2000)}`);
      assert.equal(
        failures,
        0,
        `${failures} of ${requests} requests failed:\n${output.slice(-2000)}`,
      );
      assert.equal(run.code, 0, `locust exited ${run.code}:\n${output.slice(-2000)}`);
    } finally {
      await s.shutdown();
      await images.shutdown();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
