/**
 * Reads `user_config`: our own model and request settings (model spec, backend, top_k, image
 * limits, allowed hosts), carried in Ray's free-form field.
 *
 * @module
 */
import { resolve } from "node:path";
import { isMap, isScalar } from "yaml";
import { MAX_TOP_K, USER_CONFIG_DEFAULTS } from "./defaults.ts";
import { BACKENDS, MODEL, NOOP, USER } from "./_levels.ts";
import { type Checked, describe, INVALID, join, type Node, or, Reader } from "./_reader.ts";
import { interpretModelString, isSha256 } from "./model_spec.ts";
import type { BackendName, ModelSpec, UserConfig } from "./types.ts";

/** Reads and validates `user_config`; every field defaulted, invalid ones fall back. */
export function readUserConfig(r: Reader, node: Node, path: string, baseDir: string): UserConfig {
  const d = USER_CONFIG_DEFAULTS;
  const defaults = (): UserConfig => ({ ...d, model: { ...d.model }, allowed_image_hosts: [] });
  const read = r.fields(node, path, USER);
  if (read === INVALID) return defaults();
  const e = read;
  const modelEntry = e.get("model");
  const model = modelEntry ? readModel(r, modelEntry.value, join(path, "model"), baseDir) : INVALID;
  const hosts = readHosts(
    r,
    e.get("allowed_image_hosts")?.value,
    join(path, "allowed_image_hosts"),
  );
  const int1 = { int: true, min: 1 };
  return {
    model: model === INVALID ? { ...d.model } : model,
    backend: or(
      r.str(e, node, path, "backend", { default: d.backend, choices: BACKENDS }),
      d.backend,
    ) as BackendName,
    top_k: or(
      r.num(e, node, path, "top_k", { default: d.top_k, ...int1, max: MAX_TOP_K }),
      d.top_k,
    ) as number,
    max_image_bytes: or(
      r.num(e, node, path, "max_image_bytes", { default: d.max_image_bytes, ...int1 }),
      d.max_image_bytes,
    ) as number,
    max_image_pixels: or(
      r.num(e, node, path, "max_image_pixels", { default: d.max_image_pixels, ...int1 }),
      d.max_image_pixels,
    ) as number,
    image_fetch_timeout_s: or(
      r.num(e, node, path, "image_fetch_timeout_s", {
        default: d.image_fetch_timeout_s,
        min: 0,
        gt: true,
      }),
      d.image_fetch_timeout_s,
    ) as number,
    allowed_image_hosts: hosts === INVALID ? [] : hosts,
  };
}

function readModel(r: Reader, node: Node, path: string, baseDir: string): Checked<ModelSpec> {
  if (isScalar(node) && typeof node.value === "string") {
    const result = interpretModelString(node.value, { baseDir });
    if ("spec" in result) return result.spec;
    r.error("range", node, path, result.error);
    return INVALID;
  }
  if (!isMap(node)) {
    r.error(
      "type",
      node,
      path,
      `must be resnet50, noop, noop:<ms>, emulate:SPEC, a path to an .onnx file, or a mapping {path: ...} | {url: ..., sha256: ...} | {noop: {service_time_ms: N}}, got ${
        describe(node)
      }`,
    );
    return INVALID;
  }
  const read = r.fields(node, path, MODEL);
  if (read === INVALID) return INVALID;
  const kinds = ["path", "url", "noop"].filter((k) => read.has(k));
  if (kinds.length !== 1) {
    r.error(
      kinds.length === 0 ? "required" : "conflict",
      node,
      path,
      `must set exactly one of path, url (with sha256) or noop, got ${
        kinds.length === 0 ? "none" : kinds.join(" and ")
      }`,
    );
    return INVALID;
  }
  if (read.has("sha256") && kinds[0] !== "url") {
    r.error("conflict", read.get("sha256")!.keyNode, join(path, "sha256"), "only goes with url");
    return INVALID;
  }
  if (kinds[0] === "path") {
    const p = r.str(read, node, path, "path", { required: true, nonEmpty: true });
    return typeof p === "string" ? { kind: "path", path: resolve(baseDir, p) } : INVALID;
  }
  if (kinds[0] === "url") {
    const url = r.str(read, node, path, "url", { required: true, nonEmpty: true });
    const sha = r.str(read, node, path, "sha256", { required: true, nonEmpty: true });
    let ok = typeof url === "string" && typeof sha === "string";
    if (typeof url === "string" && !/^https?:\/\/\S+$/.test(url)) {
      r.error(
        "range",
        read.get("url")!.value,
        join(path, "url"),
        `must be an http:// or https:// URL, got ${JSON.stringify(url)}`,
      );
      ok = false;
    }
    if (typeof sha === "string" && sha.trim() !== "" && !isSha256(sha)) {
      r.error(
        "range",
        read.get("sha256")!.value,
        join(path, "sha256"),
        `must be 64 hexadecimal digits, got ${describe(read.get("sha256")!.value)}`,
      );
      ok = false;
    }
    return ok
      ? { kind: "url", url: url as string, sha256: (sha as string).toLowerCase() }
      : INVALID;
  }
  const noopNode = read.get("noop")!.value;
  const noopPath = join(path, "noop");
  const noop = r.fields(noopNode, noopPath, NOOP);
  if (noop === INVALID) return INVALID;
  const ms = r.num(noop, noopNode, noopPath, "service_time_ms", { default: 0, min: 0 });
  return ms === INVALID ? INVALID : { kind: "noop", service_time_ms: ms as number };
}

function readHosts(r: Reader, node: Node, path: string): Checked<string[]> {
  if (node === undefined || (isScalar(node) && node.value === null)) return [];
  const items = r.seq(node, path, "host names");
  if (items === INVALID) return INVALID;
  const hosts: string[] = [];
  items.forEach((item, i) => {
    const v = isScalar(item) ? item.value : undefined;
    if (typeof v !== "string" || !/^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.\-_]+)(:\d{1,5})?$/.test(v)) {
      r.error(
        "range",
        item,
        `${path}[${i}]`,
        `must be a host name or IP address, optionally with :port (no scheme, no path), got ${
          describe(item)
        }`,
      );
    } else hosts.push(v.toLowerCase());
  });
  return hosts;
}
