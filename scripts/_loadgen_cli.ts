/**
 * Private helpers for the `loadtest` and `sweep` entry points, which take the same request flags:
 * building the request (and the optional local image server) and the UTC stamp in default output
 * names. Flags, errors and exit codes go through `lib/cli` as in every command. Not part of any
 * public API.
 *
 * @module
 */
import type { Cli } from "../lib/cli/mod.ts";
import {
  DEFAULT_IMAGE_URI,
  imageRequest,
  type ImageServer,
  readImage,
  type RequestSpec,
  serveImage,
  uriRequest,
} from "../lib/loadgen/mod.ts";

/** `node:util` parseArgs options that choose the request, shared by `loadtest` and `sweep`. */
export const REQUEST_OPTIONS = {
  uri: { type: "string" },
  image: { type: "string" },
  "image-mode": { type: "string", default: "raw" },
  "serve-image": { type: "string" },
  "serve-image-port": { type: "string" },
  path: { type: "string", default: "/" },
} as const;

/** The parsed values of {@link REQUEST_OPTIONS} (a script's own flags may come along). */
export interface RequestFlags {
  uri?: string;
  image?: string;
  "image-mode"?: string;
  "serve-image"?: string;
  "serve-image-port"?: string;
  path?: string;
}

/** The current UTC time as `YYYYMMDD_HHMMSS`, for default result file names. */
export function utcStamp(): string {
  return new Date().toISOString().replace(/[-:]/g, "").replace("T", "_").slice(0, 15);
}

/** What {@link requestFromFlags} builds: the request, and the image server to close after. */
export interface FlagRequest {
  /** The request every user sends. */
  request: RequestSpec;
  /** The local server behind `--serve-image`, or null; close it when the run ends. */
  imageServer: ImageServer | null;
}

/** Options for {@link requestFromFlags}. */
export interface RequestFromFlagsOptions {
  /**
   * Reject a bad `--image-mode` even without `--image` (`loadtest` does; `sweep` only checks it
   * when an image is given). Default false.
   */
  checkImageModeAlways?: boolean;
}

/**
 * Builds the request from the request flags: at most one of `--uri`, `--image`, `--serve-image`
 * (default: the tutorial's image URI). With `--serve-image`, starts the image server and tells
 * on stderr which `allowed_image_hosts` entry the service needs. Any problem exits through
 * `c.fail` with a message naming the flag or file.
 */
export async function requestFromFlags(
  c: Cli,
  flags: RequestFlags,
  options: RequestFromFlagsOptions = {},
): Promise<FlagRequest> {
  const prog = c.prog;
  if ([flags.uri, flags.image, flags["serve-image"]].filter((x) => x !== undefined).length > 1) {
    c.fail("give only one of --uri, --image or --serve-image");
  }
  const mode = flags["image-mode"];
  const checkMode = (): "raw" | "data-uri" =>
    mode === "raw" || mode === "data-uri"
      ? mode
      : c.fail(`--image-mode must be raw or data-uri, got "${mode}"`);
  if (options.checkImageModeAlways) checkMode();
  try {
    if (flags.image) {
      const imageMode = checkMode();
      const image = await readImage(flags.image);
      return {
        request: imageRequest(image, { mode: imageMode, path: flags.path }),
        imageServer: null,
      };
    }
    if (flags["serve-image"]) {
      const imageServer = await serveImage(flags["serve-image"], {
        port: c.number("serve-image-port", flags["serve-image-port"], {
          integer: true,
          min: 0,
          max: 65535,
        }),
      });
      console.error(
        `${prog}: serving ${flags["serve-image"]} at ${imageServer.url}\n` +
          `${prog}: the service must allow this host: add "${imageServer.allowedHost}" ` +
          `(or "127.0.0.1" for any port) to user_config.allowed_image_hosts`,
      );
      return { request: uriRequest(imageServer.url, { path: flags.path }), imageServer };
    }
    return {
      request: uriRequest(flags.uri ?? DEFAULT_IMAGE_URI, { path: flags.path }),
      imageServer: null,
    };
  } catch (e) {
    return c.fail((e as Error).message);
  }
}
