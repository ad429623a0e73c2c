/**
 * What each simulated user sends: the tutorial's `{"uri": ...}` JSON body, or an image as raw
 * bytes or a data URI; plus a loopback image server for offline runs.
 *
 * @module
 */

/** The tutorial's image: PyTorch Hub's Samoyed photo. */
export const DEFAULT_IMAGE_URI =
  "https://raw.githubusercontent.com/pytorch/hub/master/images/dog.jpg";

/** One request template. */
export interface RequestSpec {
  /** HTTP method (POST). */
  method: string;
  /** Path (and query) on the target (`/`). */
  path: string;
  /** Stats entry name (Locust's `name=`; default the path). */
  name: string;
  /** Body bytes, or `null`. */
  body: Uint8Array | null;
  /** Content-Type of the body. */
  contentType: string | null;
  /** Human description for logs (`{"uri": "..."}`, `raw image/jpeg 661378 bytes`). */
  describe: string;
}

/** `{"uri": uri}` posted as JSON (the tutorial's request). */
export function uriRequest(
  uri: string,
  options: { path?: string; name?: string } = {},
): RequestSpec {
  const path = options.path ?? "/";
  const body = new TextEncoder().encode(JSON.stringify({ uri }));
  const shown = uri.length > 80 ? `${uri.slice(0, 60)}...(${uri.length} chars)` : uri;
  return {
    method: "POST",
    path,
    name: options.name ?? path,
    body,
    contentType: "application/json",
    describe: `POST ${path} {"uri": "${shown}"}`,
  };
}

/** The MIME type from an image's first bytes, or `null` when it is not JPEG/PNG/WebP/GIF. */
export function imageMimeType(bytes: Uint8Array): string | null {
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) {
    return "image/jpeg";
  }
  if (
    bytes.length >= 8 && bytes[0] === 0x89 && bytes[1] === 0x50 && bytes[2] === 0x4e &&
    bytes[3] === 0x47
  ) return "image/png";
  if (
    bytes.length >= 12 && String.fromCharCode(...bytes.subarray(0, 4)) === "RIFF" &&
    String.fromCharCode(...bytes.subarray(8, 12)) === "WEBP"
  ) return "image/webp";
  if (bytes.length >= 6 && String.fromCharCode(...bytes.subarray(0, 4)) === "GIF8") {
    return "image/gif";
  }
  return null;
}

function base64(bytes: Uint8Array): string {
  let out = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    out += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(out);
}

/** Reads an image file; throws naming the file when it is missing or not an image. */
export async function readImage(path: string): Promise<{ bytes: Uint8Array; mime: string }> {
  let bytes: Uint8Array;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw new TypeError(`cannot read image ${path}: ${(e as Error).message}`);
  }
  const mime = imageMimeType(bytes);
  if (!mime) {
    throw new TypeError(`${path} is not a JPEG, PNG, WebP or GIF image (first bytes do not match)`);
  }
  return { bytes, mime };
}

/** An image posted as raw bytes (`Content-Type: image/...`) or inside `{"uri": "data:..."}`. */
export function imageRequest(
  image: { bytes: Uint8Array; mime: string },
  options: { mode?: "raw" | "data-uri"; path?: string; name?: string } = {},
): RequestSpec {
  const path = options.path ?? "/";
  if ((options.mode ?? "raw") === "raw") {
    return {
      method: "POST",
      path,
      name: options.name ?? path,
      body: image.bytes,
      contentType: image.mime,
      describe: `POST ${path} raw ${image.mime} (${image.bytes.length} bytes)`,
    };
  }
  const spec = uriRequest(`data:${image.mime};base64,${base64(image.bytes)}`, options);
  return { ...spec, describe: `POST ${path} {"uri": "data:${image.mime};base64,..."}` };
}

/** A running loopback image server. */
export interface ImageServer {
  /** URL of the image (`http://127.0.0.1:PORT/dog.jpg`). */
  url: string;
  /** Port it listens on. */
  port: number;
  /** The `allowed_image_hosts` entry the service needs (`127.0.0.1:PORT`). */
  allowedHost: string;
  /** Stops serving. */
  close(): Promise<void>;
}

/** Serves one image file on 127.0.0.1 (port 0 = ephemeral) for the service to fetch. */
export async function serveImage(
  path: string,
  options: { port?: number } = {},
): Promise<ImageServer> {
  const { bytes, mime } = await readImage(path);
  const name = path.split(/[\\/]/).pop() || "image";
  const ac = new AbortController();
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: options.port ?? 0, signal: ac.signal, onListen: () => {} },
    () =>
      new Response(bytes as Uint8Array<ArrayBuffer>, {
        headers: { "content-type": mime, "content-length": String(bytes.length) },
      }),
  );
  const port = (server.addr as Deno.NetAddr).port;
  return {
    url: `http://127.0.0.1:${port}/${encodeURIComponent(name)}`,
    port,
    allowedHost: `127.0.0.1:${port}`,
    close: async () => {
      ac.abort();
      await server.finished;
    },
  };
}
