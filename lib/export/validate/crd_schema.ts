/**
 * Validating a manifest against an engine's own CRD (`../shared/schemas/*.yaml`) with ajv:
 * `strict: false` (the CRDs carry `x-kubernetes-*` keywords), `useDefaults` (KubeRay's samples
 * rely on defaults), `allErrors`, the `int32`/`int64` formats, and `additionalProperties: false`
 * injected wherever a schema lists `properties` (as kubeconform does), so a misspelt field fails.
 * Each CRD version is compiled once per process and cached.
 *
 * @module
 */
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { parse } from "yaml";
import { fieldPath, type ManifestIssue } from "./issue.ts";

/** The CRD files this project validates against, by `apiVersion` and `kind`. */
export const CRD_FILES: Readonly<Record<string, string>> = {
  "ray.io/v1 RayService": "ray.io_rayservices.yaml",
  "ray.io/v1alpha1 RayService": "ray.io_rayservices.yaml",
  "serving.knative.dev/v1 Service": "serving.knative.dev_services.yaml",
  "keda.sh/v1alpha1 ScaledObject": "keda.sh_scaledobjects.yaml",
  "http.keda.sh/v1alpha1 HTTPScaledObject": "http.keda.sh_httpscaledobjects.yaml",
};

/** Adds `additionalProperties: false` to every object schema that lists `properties`. */
export function injectAdditionalPropertiesFalse(schema: unknown): void {
  if (schema === null || typeof schema !== "object") return;
  if (Array.isArray(schema)) {
    for (const s of schema) injectAdditionalPropertiesFalse(s);
    return;
  }
  const s = schema as Record<string, unknown>;
  if (
    s.properties && typeof s.properties === "object" && s.additionalProperties === undefined &&
    s["x-kubernetes-preserve-unknown-fields"] !== true
  ) {
    s.additionalProperties = false;
  }
  for (const key of ["properties", "patternProperties", "definitions"]) {
    const m = s[key];
    if (m && typeof m === "object") {
      for (const v of Object.values(m as Record<string, unknown>)) {
        injectAdditionalPropertiesFalse(v);
      }
    }
  }
  for (const key of ["items", "additionalProperties", "not", "allOf", "anyOf", "oneOf"]) {
    if (s[key] && typeof s[key] === "object") injectAdditionalPropertiesFalse(s[key]);
  }
}

/**
 * Moves sub-schemas that occur more than once (e.g. the 70 KB pod template of both the head and
 * the worker groups) into `definitions` and points to them with `$ref`, so ajv compiles each
 * once: compiling the RayService schema went from ~850 ms to ~500 ms at loadavg 6.7. A `default`
 * stays beside its `$ref`, where the parent's `useDefaults` reads it.
 */
export function hoistRepeatedSubschemas(root: Record<string, unknown>, minChars = 2000): void {
  type Schema = Record<string, unknown>;
  const isSchema = (x: unknown): x is Schema =>
    x !== null && typeof x === "object" && !Array.isArray(x);
  /** Calls `fn` on every direct sub-schema of `s` and stores what it returns in its place. */
  const mapChildren = (s: Schema, fn: (child: Schema) => Schema): Schema => {
    const out: Schema = { ...s };
    for (const key of ["properties", "patternProperties"]) {
      if (isSchema(s[key])) {
        out[key] = Object.fromEntries(
          Object.entries(s[key] as Schema).map(([k, v]) => [k, isSchema(v) ? fn(v) : v]),
        );
      }
    }
    for (const key of ["items", "additionalProperties", "not"]) {
      if (isSchema(s[key])) out[key] = fn(s[key] as Schema);
    }
    for (const key of ["allOf", "anyOf", "oneOf"]) {
      if (Array.isArray(s[key])) {
        out[key] = (s[key] as unknown[]).map((v) => (isSchema(v) ? fn(v) : v));
      }
    }
    return out;
  };
  const counts = new Map<string, number>();
  const count = (sch: Schema): Schema => {
    const key = JSON.stringify(sch);
    if (key.length >= minChars) counts.set(key, (counts.get(key) ?? 0) + 1);
    return mapChildren(sch, count);
  };
  mapChildren(root, count);
  const defs: Schema = {};
  const names = new Map<string, string>();
  const replace = (sch: Schema): Schema => {
    const key = JSON.stringify(sch);
    if ((counts.get(key) ?? 0) < 2) return mapChildren(sch, replace);
    let name = names.get(key);
    if (!name) {
      name = `d${names.size}`;
      names.set(key, name);
      defs[name] = mapChildren(sch, replace);
    }
    const ref: Schema = { $ref: `#/definitions/${name}` };
    if ("default" in sch) ref.default = sch.default;
    return ref;
  };
  const replaced = mapChildren(root, replace);
  for (const key of Object.keys(replaced)) root[key] = replaced[key];
  if (names.size > 0) root.definitions = { ...(root.definitions as Schema ?? {}), ...defs };
}

let ajv: Ajv | null = null;
function getAjv(): Ajv {
  ajv ??= new Ajv({
    strict: false,
    useDefaults: true,
    allErrors: true,
    verbose: true,
    // Compiling the 160 KB RayService schema took ~3x longer with the optimiser on.
    code: { optimize: false },
    formats: { int32: true, int64: true, "date-time": true, byte: true, uri: true },
  });
  return ajv;
}

/**
 * Folder of the parsed-CRD cache (JSON of each CRD, keyed by a hash of its text):
 * `$AUTOSCALE_LAB_CRD_CACHE`, else `<repo>/.cache/crd`.
 */
function cacheDir(): string {
  const fromEnv = Deno.env.get("AUTOSCALE_LAB_CRD_CACHE");
  if (fromEnv) return fromEnv;
  return decodeURIComponent(new URL("../../../.cache/crd", import.meta.url).pathname);
}

/**
 * The text of one `spec.versions[]` item of a kubebuilder-style CRD (items start with `  - ` under
 * `  versions:`), so only that version is parsed: the RayService CRD holds v1 and v1alpha1, about
 * 500 KB of YAML each. `null` when the layout is not that one (then the whole file is parsed).
 */
function versionChunk(text: string, version: string): string | null {
  const lines = text.split("\n");
  const start = lines.findIndex((l) => l === "  versions:");
  if (start < 0) return null;
  const items: number[] = [];
  for (let i = start + 1; i < lines.length; i++) {
    if (lines[i].startsWith("  - ")) items.push(i);
    else if (/^ ?\S/.test(lines[i]) || /^ {2}[^ -]/.test(lines[i])) break; // left the list
  }
  items.push(lines.length);
  for (let k = 0; k + 1 < items.length; k++) {
    const chunk = lines.slice(items[k], items[k + 1]);
    if (chunk.some((l) => l === `    name: ${version}` || l === `  - name: ${version}`)) {
      return chunk.join("\n");
    }
  }
  return null;
}

/**
 * The `openAPIV3Schema` of `version` in a CRD file, parsed once and kept as JSON in the cache
 * folder keyed by a hash and the length of the text (an edited CRD gets a new entry): JSON reads
 * far faster than YAML.
 */
function crdVersionSchema(path: string, version: string): Record<string, unknown> | null {
  let text: string;
  try {
    text = Deno.readTextFileSync(path);
  } catch (error) {
    throw new SchemaMissingError(`cannot read the CRD ${path}: ${(error as Error).message}`);
  }
  const cached = `${cacheDir()}/${syncHash(text)}-${version}.json`;
  try {
    return JSON.parse(Deno.readTextFileSync(cached));
  } catch {
    // not cached yet
  }
  const chunk = versionChunk(text, version);
  type Version = { name: string; schema?: { openAPIV3Schema?: Record<string, unknown> } };
  const versions: Version[] = chunk !== null
    ? (parse(chunk) as Version[])
    : (((parse(text) as Record<string, unknown>)?.spec as { versions?: Version[] })?.versions ??
      []);
  const schema = versions.find((v) => v?.name === version)?.schema?.openAPIV3Schema ?? null;
  if (schema === null) return null;
  try {
    Deno.mkdirSync(cacheDir(), { recursive: true });
    Deno.writeTextFileSync(cached, JSON.stringify(schema));
  } catch {
    // a read-only checkout: parse every time
  }
  return schema;
}

/** FNV-1a 64-bit of the text plus its length, hex (fast and sync; a cache key, not security). */
function syncHash(text: string): string {
  let h1 = 0x811c9dc5, h2 = 0x01000193;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    h1 = Math.imul(h1 ^ c, 0x01000193) >>> 0;
    h2 = Math.imul(h2 ^ c, 0x811c9dc5) >>> 0;
  }
  return `${h1.toString(16).padStart(8, "0")}${h2.toString(16).padStart(8, "0")}-${text.length}`;
}
const compiled = new Map<string, ValidateFunction>();

/** Raised when a CRD file is missing or holds no schema for the version asked. */
export class SchemaMissingError extends Error {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "SchemaMissingError";
  }
}

/** The compiled validator of `apiVersion kind` from the CRDs in `schemasDir` (cached). */
export function crdValidator(
  schemasDir: string,
  manifestType: { apiVersion: string; kind: string },
): ValidateFunction {
  const { apiVersion, kind } = manifestType;
  const key = `${apiVersion} ${kind}`;
  const file = CRD_FILES[key];
  if (!file) throw new SchemaMissingError(`no CRD known for ${key}`);
  const cacheKey = `${schemasDir}|${key}`;
  const hit = compiled.get(cacheKey);
  if (hit) return hit;
  const path = `${schemasDir.replace(/\/$/, "")}/${file}`;
  const version = apiVersion.slice(apiVersion.indexOf("/") + 1);
  const parsed = crdVersionSchema(path, version);
  if (!parsed) throw new SchemaMissingError(`${path} has no schema for version ${version}`);
  const schema = structuredClone(parsed);
  // The API server ignores `status` on create (status subresource): accept anything there, which
  // also halves the schema to compile.
  const props = schema.properties as Record<string, unknown> | undefined;
  if (props?.status) {
    props.status = { type: "object", "x-kubernetes-preserve-unknown-fields": true };
  }
  injectAdditionalPropertiesFalse(schema);
  hoistRepeatedSubschemas(schema);
  const fn = getAjv().compile(schema as object);
  compiled.set(cacheKey, fn);
  return fn;
}

function pointerSegments(pointer: string): string[] {
  if (pointer === "") return [];
  return pointer.slice(1).split("/").map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"));
}

function nearest(word: string, options: string[]): string | null {
  let best: string | null = null, bestD = Infinity;
  for (const o of options) {
    const d = editDistance(word.toLowerCase(), o.toLowerCase());
    if (d < bestD) [best, bestD] = [o, d];
  }
  return bestD <= Math.max(2, Math.floor(word.length / 4)) ? best : null;
}

function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = tmp;
    }
  }
  return row[b.length];
}

function describeValue(v: unknown): string {
  const s = JSON.stringify(v);
  return s === undefined ? String(v) : s.length > 60 ? s.slice(0, 57) + "..." : s;
}

/** ajv's errors as issues with field paths, one per path and message. */
export function schemaIssues(errors: readonly ErrorObject[], doc: number): ManifestIssue[] {
  const out: ManifestIssue[] = [];
  const seen = new Set<string>();
  const hasSpecific = new Set(
    errors.filter((e) => e.keyword !== "anyOf" && e.keyword !== "oneOf").map((e) => e.instancePath),
  );
  for (const e of errors) {
    const segs = pointerSegments(e.instancePath);
    let path = fieldPath(segs);
    let message: string;
    switch (e.keyword) {
      case "additionalProperties": {
        const name = (e.params as { additionalProperty: string }).additionalProperty;
        path = fieldPath([...segs, name]);
        const known = Object.keys(
          ((e.parentSchema as Record<string, unknown>)?.properties ?? {}) as Record<
            string,
            unknown
          >,
        );
        const guess = nearest(name, known);
        message = `is not a field of this object in the CRD${
          guess ? ` (did you mean "${guess}"?)` : ""
        }`;
        break;
      }
      case "required":
        path = fieldPath([...segs, (e.params as { missingProperty: string }).missingProperty]);
        message = "is required";
        break;
      case "type":
        message = `must be ${(e.params as { type: string }).type}, got ${describeValue(e.data)}`;
        break;
      case "enum":
        message = `must be one of ${
          (e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v))
            .join(", ")
        }, got ${describeValue(e.data)}`;
        break;
      case "anyOf":
      case "oneOf":
        if (hasSpecific.has(e.instancePath)) continue;
        message = `does not match the CRD's schema (got ${describeValue(e.data)})`;
        break;
      default:
        message = `${e.message ?? e.keyword}, got ${describeValue(e.data)}`;
    }
    const key = `${path}|${message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    out.push({ doc, path, message, rule: "schema" });
  }
  return out;
}

/** Drops `key: null` entries, as the API server prunes nulls of non-nullable fields before validating. */
function dropNulls(value: unknown): void {
  if (Array.isArray(value)) {
    for (const v of value) dropNulls(v);
  } else if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    for (const [k, v] of Object.entries(o)) {
      if (v === null) delete o[k];
      else dropNulls(v);
    }
  }
}

/**
 * Validates `doc` (a clone is validated: defaults are not written into it; `null` fields are
 * dropped first, as the API server does).
 */
export function validateAgainstCrd(
  manifest: Record<string, unknown>,
  options: { schemasDir: string; doc: number },
): ManifestIssue[] {
  const fn = crdValidator(options.schemasDir, {
    apiVersion: String(manifest.apiVersion),
    kind: String(manifest.kind),
  });
  const copy = structuredClone(manifest);
  dropNulls(copy);
  if (fn(copy)) return [];
  return schemaIssues(fn.errors ?? [], options.doc);
}
