import assert from "node:assert/strict";
import { loadConfig } from "../../lib/config/mod.ts";
import { exportConfig, IN_FLIGHT_METRIC, SERVE_CONFIG_ENV } from "../../lib/export/mod.ts";

const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
const FIXTURES = decodeURIComponent(new URL("../../../shared/fixtures/", import.meta.url).pathname);
const MODEL = `${FIXTURES}mobilenetv2-12-int8.onnx`;
const DOG = `${FIXTURES}dog.jpg`;
const fixturesPresent = (() => {
  try {
    Deno.statSync(MODEL);
    Deno.statSync(DOG);
    return true;
  } catch {
    return false;
  }
})();
const skip = fixturesPresent ? false : true;
if (skip) console.error(`skipping single-replica server tests: ${FIXTURES} is absent`);

/** The ENTRYPOINT and CMD of the Containerfile (exec form), as the image runs them. */
function containerCommand(): string[] {
  const text = Deno.readTextFileSync(`${ROOT}Containerfile`);
  const exec = (instr: string) => {
    const m = new RegExp(`^${instr}\\s+(\\[.*\\])\\s*$`, "m").exec(text);
    assert.ok(m, `Containerfile has an exec-form ${instr}`);
    return JSON.parse(m[1]) as string[];
  };
  return [...exec("ENTRYPOINT"), ...exec("CMD")];
}

function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

async function waitFor<T>(what: string, fn: () => Promise<T | null>, timeoutMs = 120_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => null);
    if (v !== null) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function start(env: Record<string, string>) {
  const [cmd, ...args] = containerCommand();
  const child = new Deno.Command(cmd, {
    args,
    cwd: ROOT,
    env,
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const output = child.output();
  return { child, output };
}

async function healthy(base: string): Promise<true | null> {
  const r = await fetch(`${base}/healthz`);
  const text = await r.text();
  return r.status === 200 && text === "success" ? true : null;
}

/** basic.yaml as SERVE_CONFIG, allowing image URIs from the test's own server on 127.0.0.1. */
function basicConfigAllowing(host: string): string {
  const text = Deno.readTextFileSync(`${ROOT}configs/basic.yaml`);
  return text.replace(/(\n\s+backend: auto)/, `$1\n          allowed_image_hosts: ["${host}"]`);
}

Deno.test({
  name:
    "the Containerfile's entry point serves the fixture dog as Samoyed on PORT and exits 0 on SIGTERM mid-request after answering it",
  ignore: skip,
  async fn() {
    const dog = await Deno.readFile(DOG);
    // An image server that holds its answer until the test releases it: the classification
    // request is in flight (the replica is fetching its image) while SIGTERM arrives.
    let fetched!: () => void;
    const inFlight = new Promise<void>((r) => fetched = r);
    let release!: () => void;
    const released = new Promise<void>((r) => release = r);
    const images = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async () => {
      fetched();
      await released;
      return new Response(dog, { headers: { "content-type": "image/jpeg" } });
    });
    const imageHost = `127.0.0.1:${images.addr.port}`;
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    const { child, output } = start({
      PORT: String(port),
      HOST: "127.0.0.1",
      MODEL,
      [SERVE_CONFIG_ENV]: basicConfigAllowing(imageHost),
    });
    try {
      await waitFor("/healthz", () => healthy(base));
      const answer = fetch(`${base}/`, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ uri: `http://${imageHost}/dog.jpg` }),
      });
      await inFlight;
      child.kill("SIGTERM");
      // The signal is handled (the server stops accepting) before the image arrives.
      await waitFor("the server to stop accepting", async () => {
        try {
          await fetch(`${base}/healthz`);
          return null;
        } catch {
          return true;
        }
      }, 10_000);
      release();
      const res = await answer;
      const text = await res.text();
      assert.equal(res.status, 200, text);
      assert.equal(text, "Samoyed");
      const out = await output;
      const stderr = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, stderr);
      assert.match(stderr, /SIGTERM: no new connections/);
    } finally {
      release();
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await output.catch(() => {});
      await images.shutdown();
    }
  },
});

Deno.test({
  name:
    "the KEDA export's SERVE_CONFIG runs in the single-replica server, with the in-flight gauge its trigger queries",
  ignore: skip,
  async fn() {
    const { config } = await loadConfig(`${ROOT}configs/production.yaml`);
    const result = await exportConfig(config, "keda");
    const deployment = result.files[0].documents.find((d) => d.kind === "Deployment") as {
      spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
    };
    const env = deployment.spec.template.spec.containers[0].env;
    const serveConfig = env.find((e) => e.name === SERVE_CONFIG_ENV)!.value;
    const port = freePort();
    const base = `http://127.0.0.1:${port}`;
    // MODEL stands in for the pretrained ResNet-50 URL, which this machine cannot download.
    const { child, output } = start({
      PORT: String(port),
      HOST: "127.0.0.1",
      MODEL,
      [SERVE_CONFIG_ENV]: serveConfig,
    });
    try {
      await waitFor("/healthz", () => healthy(base));
      const res = await fetch(`${base}/?top=1`, {
        method: "POST",
        headers: { "content-type": "image/jpeg" },
        body: await Deno.readFile(DOG),
      });
      const json = await res.json();
      assert.equal(json.label, "Samoyed");
      const status = await (await fetch(`${base}/api/status`)).json();
      const dep = status.applications.image_classifier.deployments.ImageClassifier;
      assert.equal(dep.target_replicas, 1);
      assert.equal(dep.autoscaler, null, "no autoscaler in a pod");
      const metrics = await (await fetch(`${base}/metrics`)).text();
      assert.match(metrics, new RegExp(`^${IN_FLIGHT_METRIC}\\{`, "m"));
      child.kill("SIGTERM");
      const out = await output;
      assert.equal(out.code, 0, new TextDecoder().decode(out.stderr));
    } finally {
      try {
        child.kill("SIGKILL");
      } catch { /* already exited */ }
      await output.catch(() => {});
    }
  },
});
