import assert from "node:assert/strict";
import { createHttpHandler, type Deployment, Registry } from "../../lib/serve/mod.ts";

/** A deployment that must never be reached: the body never arrives. */
const unreachableDeployment = {
  name: "D",
  deployFailed: false,
  currentStatus: () => ({ status: "HEALTHY", message: "" }),
  handle: () => Promise.reject(new Error("the deployment must not be called")),
} as unknown as Deployment;

Deno.test("a body that never arrives gets a 408 even when request_timeout_s is unset", async () => {
  const handler = createHttpHandler({
    appName: "app",
    routePrefix: "/",
    deployment: unreachableDeployment,
    registry: new Registry(),
    status: () => ({}) as never,
    applicationStatus: () => ({ status: "RUNNING", message: "" }),
    requestTimeoutMs: null,
    bodyReadTimeoutMs: 100,
    topK: 5,
    maxImageBytes: 1_000_000,
    modelName: "noop",
  });
  const neverEnding = new ReadableStream<Uint8Array>({
    start(controller) {
      controller.enqueue(new TextEncoder().encode('{"uri": "data:'));
    },
  });
  const started = performance.now();
  const response = await handler(
    new Request("http://127.0.0.1/", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: neverEnding,
    }),
  );
  const elapsedMs = performance.now() - started;
  assert.equal(response.status, 408);
  const body = await response.json();
  assert.equal(body.error, "request_timeout");
  assert.match(body.detail, /default body deadline; http_options\.request_timeout_s is unset/);
  assert.ok(elapsedMs < 5_000, `answered after ${elapsedMs} ms`);
  await neverEnding.cancel().catch(() => {});
});
