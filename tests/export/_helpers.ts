/** Shared by the export tests: where the CRDs are, and production.yaml's exports as objects. */
import { loadConfig, type ServeConfig } from "../../lib/config/mod.ts";
import { exportConfig, type ExportTarget } from "../../lib/export/mod.ts";

export const ROOT = decodeURIComponent(new URL("../../", import.meta.url).pathname);
export const SCHEMAS = decodeURIComponent(
  new URL("../../../shared/schemas", import.meta.url).pathname,
);

/** Whether ../shared/schemas is here; logs why the tests skip when not. */
export const schemasPresent = (() => {
  try {
    Deno.statSync(`${SCHEMAS}/ray.io_rayservices.yaml`);
    return true;
  } catch {
    console.error(`skipping CRD validation tests: ${SCHEMAS} is absent`);
    return false;
  }
})();

/** Every config in configs/. */
export function configPaths(): string[] {
  return [...Deno.readDirSync(`${ROOT}configs`)]
    .filter((e) => e.isFile && e.name.endsWith(".yaml"))
    .map((e) => `${ROOT}configs/${e.name}`)
    .sort();
}

/** A config by name (`production`). */
export async function config(name: string): Promise<ServeConfig> {
  return (await loadConfig(`${ROOT}configs/${name}.yaml`)).config;
}

/** The documents one export of `name` writes. */
export async function exported(
  name: string,
  target: ExportTarget,
): Promise<Record<string, unknown>[]> {
  const result = await exportConfig(await config(name), target);
  return structuredClone(result.files[0].documents);
}
