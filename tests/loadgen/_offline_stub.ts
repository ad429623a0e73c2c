/** A stub of the service for CLI tests of failing runs. */

/** A stub service whose every POST fails as an offline service does: 502 image_fetch_failed. */
export function offlineStub(): { url: string; close: () => Promise<void> } {
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, signal: ac.signal, onListen: () => {} },
    async (req) => {
      await req.arrayBuffer();
      if (req.method !== "POST") return new Response("not found", { status: 404 });
      return Response.json(
        { error: "image_fetch_failed", detail: "cannot fetch https://example: dns error" },
        { status: 502 },
      );
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
