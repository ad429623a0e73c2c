import assert from "node:assert/strict";
import { fetchServeStatus, httpDashboardSource } from "../../lib/dashboard/mod.ts";
import { statusDoc } from "./_fixtures.ts";

/** A loopback server answering `/api/status` with `answer()`; ephemeral port. */
function fakeService(answer: () => Response) {
  return Deno.serve({ hostname: "127.0.0.1", port: 0, onListen() {} }, (req) => {
    const path = new URL(req.url).pathname;
    return path === "/api/status" ? answer() : new Response("nope", { status: 404 });
  });
}

Deno.test("fetchServeStatus() reads /api/status and explains every way it can fail", async () => {
  let answer = () => Response.json(statusDoc({ running: 2 }));
  const server = fakeService(() => answer());
  const base = `http://127.0.0.1:${server.addr.port}`;
  try {
    const doc = await fetchServeStatus(`${base}/`);
    assert.equal(doc.applications.app.deployments.Dep.replica_states.RUNNING, 2);

    answer = () => new Response("boom", { status: 500 });
    await assert.rejects(fetchServeStatus(base), /GET .*\/api\/status answered 500: boom/);
    answer = () => new Response("<html>", { status: 200 });
    await assert.rejects(fetchServeStatus(base), /did not answer JSON: <html>/);
    answer = () => Response.json({ hello: 1 });
    await assert.rejects(fetchServeStatus(base), /without "applications"/);

    const source = httpDashboardSource(base);
    assert.equal(source.label, base);
    assert.equal(source.onRequest, undefined, "an HTTP-only source has no request stream");
  } finally {
    await server.shutdown();
  }
  await assert.rejects(
    fetchServeStatus(base, { timeoutMs: 2000 }),
    new RegExp(`cannot reach ${base.replaceAll(".", "\\.")}/api/status: `),
  );
  assert.throws(() => httpDashboardSource("localhost:8000"), /must be an absolute http\(s\) URL/);
});
