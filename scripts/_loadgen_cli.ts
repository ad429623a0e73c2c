/**
 * Private helpers for the `loadtest` and `sweep` entry points, which take the same request flags
 * and handle flags, errors and exit codes the same way: strict flag parsing, error exits, number
 * flags, building the request (and the optional local image server), the UTC stamp in default
 * output names, and the top-level run. Not part of any public API.
 *
 * @module
 */
import { parseArgs, type ParseArgsOptionsConfig } from "node:util";
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
export type RequestFlags = FlagValues<typeof REQUEST_OPTIONS>;

/** A script's error exits and number-flag parsing, each message prefixed with its name. */
export interface Cli {
  /** The script's name, the prefix of every message. */
  prog: string;
  /** Prints `PROG: message` on stderr and exits with status 2 (bad flags or files). */
  fail(message: string): never;
  /**
   * Parses a number flag: undefined stays undefined; anything not a finite number >= `min`
   * (default 0) fails naming the flag and the value given.
   */
  num(flag: string, value: string | undefined, min?: number): number | undefined;
}

/** Returns the {@link Cli} helpers for the script named `prog`. */
export function cli(prog: string): Cli {
  const fail = (message: string): never => {
    console.error(`${prog}: ${message}`);
    Deno.exit(2);
  };
  const num = (flag: string, value: string | undefined, min = 0): number | undefined => {
    if (value === undefined) return undefined;
    const n = Number(value);
    if (!Number.isFinite(n) || n < min) {
      fail(`--${flag} must be a number >= ${min}, got "${value}"`);
    }
    return n;
  };
  return { prog, fail, num };
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
        port: c.num("serve-image-port", flags["serve-image-port"]),
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

/** The parsed flag values for parseArgs options `O` (strict, no positionals). */
export type FlagValues<O extends ParseArgsOptionsConfig> = ReturnType<
  typeof parseArgs<{ options: O; strict: true; allowPositionals: false }>
>["values"];

/**
 * Parses `Deno.args` (a lone `--`, as `deno task` passes it, is dropped) strictly against
 * `options`; an unknown flag or a missing value exits through `c.fail`, pointing at --help.
 */
export function parseFlags<O extends ParseArgsOptionsConfig>(c: Cli, options: O): FlagValues<O> {
  try {
    return parseArgs({
      args: Deno.args.filter((a) => a !== "--"),
      options,
      strict: true,
      allowPositionals: false,
    }).values;
  } catch (e) {
    return c.fail(`${(e as Error).message}\nRun with --help for the flags.`);
  }
}

/**
 * Runs a script's `main` and exits with the status it returns; an unexpected error prints
 * `PROG: unexpected error: <stack>` and exits with status 1.
 */
export async function runMain(c: Cli, main: () => Promise<number>): Promise<never> {
  try {
    Deno.exit(await main());
  } catch (e) {
    console.error(`${c.prog}: unexpected error: ${(e as Error).stack ?? e}`);
    Deno.exit(1);
  }
}
