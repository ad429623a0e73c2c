/**
 * `deno task loadtest` as a user runs it: exit codes (0 ok, 1 a request failed or nothing
 * listening, 2 bad flags, 99 a threshold failed), the nothing-listening message, and the hint of
 * a failing --serve-image run. Loopback stubs only, runs of about a second.
 */
import assert from "node:assert/strict";

const SCRIPT = new URL("../../scripts/loadtest.ts", import.meta.url).pathname;

async function loadtest(
  args: string[],
): Promise<{ code: number; stdout: string; stderr: string; wallS: number }> {
  const t0 = performance.now();
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", SCRIPT, ...args],
    stdout: "piped",
    stderr: "piped",
  }).output();
  return {
    code: out.code,
    stdout: new TextDecoder().decode(out.stdout),
    stderr: new TextDecoder().decode(out.stderr),
    wallS: (performance.now() - t0) / 1000,
  };
}

/** A loopback service stub; `answer` handles POST /. */
function stub(answer: (body: string) => Response): { url: string; close: () => Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      const body = await req.text();
      if (req.method !== "POST") return new Response("not found", { status: 404 });
      return answer(body);
    },
  );
  return {
    url: `http://127.0.0.1:${(server.addr as Deno.NetAddr).port}`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}

Deno.test("loadtest against a port with nothing listening says so at once and exits 1", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const host = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const dir = await Deno.makeTempDir();
  try {
    // A 10-minute run: it must stop at the first refused connection, not run out the shape.
    const r = await loadtest(["--host", host, "-u", "2", "-t", "10m", "--csv", `${dir}/x`]);
    assert.equal(r.code, 1, r.stderr);
    assert.match(r.stderr, /loadtest: 2 users \(closed loop, 10 min\) against/);
    assert.match(
      r.stderr,
      new RegExp(
        `loadtest: nothing is listening at ${host} \\(connection refused\\); start the service ` +
          "first, e\\.g\\. deno task deploy configs/basic\\.yaml",
      ),
    );
    // Generous: deno start-up on a loaded machine; the shape alone would take 600 s.
    assert.ok(r.wallS < 30, `took ${r.wallS} s`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadtest exits 0 when every request succeeded, 1 on any failure, 99 on a failed threshold", async () => {
  let n = 0;
  const s = stub(() => {
    n++;
    return failEvery && n % failEvery === 0
      ? new Response("boom", { status: 503 })
      : new Response("Samoyed");
  });
  let failEvery = 0;
  const dir = await Deno.makeTempDir();
  const base = ["--host", s.url, "-u", "1", "-t", "1s", "--no-replicas", "--csv", `${dir}/x`];
  try {
    const ok = await loadtest([...base, "--wait-time", "constant(0.02)"]);
    assert.equal(ok.code, 0, ok.stderr);
    failEvery = 10; // a few failures, well under the 90 % that asks the service why
    const some = await loadtest([...base, "--wait-time", "constant(0.02)"]);
    assert.equal(some.code, 1, some.stdout);
    assert.match(some.stdout, /HTTPError\('503 Server Error/);
    const threshold = await loadtest([
      ...base,
      "--wait-time",
      "constant(0.02)",
      "--threshold",
      "fail_ratio<0.01",
    ]);
    assert.equal(threshold.code, 99, "a failed threshold wins over failed requests");
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("loadtest --serve-image with the host not allowed prints the allowed_image_hosts entry to add and exits 1", async () => {
  // The service's answer when its allowed_image_hosts lacks the served host.
  const s = stub((body) => {
    const host = new URL(JSON.parse(body).uri).hostname;
    return Response.json({
      error: "invalid_uri",
      detail: `image URI host ${host} is refused (loopback address); only public addresses ` +
        "are fetched unless the host is listed in allowed_image_hosts",
    }, { status: 400 });
  });
  const dir = await Deno.makeTempDir();
  const img = `${dir}/dog.png`;
  await Deno.writeFile(img, new Uint8Array([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));
  try {
    const r = await loadtest([
      "--host",
      s.url,
      "-u",
      "1",
      "-t",
      "1s",
      "--no-replicas",
      "--serve-image",
      img,
      "--serve-image-port",
      "0",
      "--csv",
      `${dir}/x`,
    ]);
    assert.equal(r.code, 1);
    const entry = r.stderr.match(/add "(127\.0\.0\.1:\d+)"/)?.[1];
    assert.ok(entry, r.stderr);
    assert.match(
      r.stdout,
      new RegExp(
        `\\nhint: the service refuses the image URI's host \\(400 invalid_uri: .*\\); add ` +
          `"${entry.replace(/\./g, "\\.")}" to user_config\\.allowed_image_hosts`,
      ),
    );
  } finally {
    await s.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the start line prints the scaled tutorial's length for people", async () => {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const host = `http://127.0.0.1:${(listener.addr as Deno.NetAddr).port}`;
  listener.close();
  const dir = await Deno.makeTempDir();
  try {
    const shape = new URL("../../configs/loadtest/tutorial.yaml", import.meta.url).pathname;
    const r = await loadtest(
      ["--host", host, "--shape", shape, "--time-scale", "0.005", "--csv", `${dir}/x`],
    );
    assert.match(r.stderr, /\(closed loop, 3\.3 s\)/, "was 3.3000000000000003 s");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("--time-scale gives one rule for every bad value", async () => {
  for (const value of ["abc", "0", "-1"]) {
    const r = await loadtest([`--time-scale=${value}`, "--users", "1"]);
    assert.equal(r.code, 2);
    // The rule, then the usage (every flag error of every command ends with it).
    assert.equal(
      r.stderr.split("\n")[0],
      `loadtest: --time-scale must be a number > 0, got "${value}"`,
    );
  }
});

Deno.test("loadtest --help documents the exit codes", async () => {
  const r = await loadtest(["--help"]);
  assert.equal(r.code, 0);
  assert.match(r.stdout, /\n {2}1 {3}a request failed/);
  assert.match(r.stdout, /\n {2}99 {2}a --threshold failed/);
});
