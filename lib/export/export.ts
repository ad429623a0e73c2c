/**
 * One entry point for every target: a loaded config in, manifests and the carried-over/lost
 * table out. Writing files and refusing unfaithful exports is the script's job.
 *
 * @module
 */
import { stringify } from "yaml";
import type { ServeConfig } from "../config/mod.ts";
import { type CarryRow, row } from "./carry.ts";
import { kedaHttpScaledObject, kedaScaledObject } from "./keda.ts";
import { knativeService } from "./knative.ts";
import { exportModel } from "./model_ref.ts";
import { k8sName } from "./_names.ts";
import type { ExportFile, ExportOptions, ExportResult, ExportTarget } from "./options.ts";
import { rayCarryRows, rayServeConfig } from "./ray_serve.ts";
import { rayService } from "./rayservice.ts";

/** Rows for what a single-application target leaves behind. */
function extraAppRows(config: ServeConfig, perPod: boolean): CarryRow[] {
  const rows: CarryRow[] = [];
  config.applications.forEach((app, i) => {
    if (perPod && i > 0) {
      rows.push(
        row(`applications[${i}]`, app.name, {
          status: "lost",
          target: "-",
          note: "one Service per application: export it alone",
          nonDefault: true,
        }),
      );
    }
    app.deployments.slice(1).forEach((d, j) => {
      rows.push(
        row(`applications[${i}].deployments[${j + 1}]`, d.name, {
          status: "lost",
          target: "-",
          note: "the lab serves the first deployment of an application",
          nonDefault: true,
        }),
      );
    });
  });
  return rows;
}

/** Exports `config` to `target`; throws `ExportError` when the model cannot be referenced. */
export async function exportConfig(
  config: ServeConfig,
  target: ExportTarget,
  options: ExportOptions = {},
): Promise<ExportResult> {
  if (config.applications.length === 0) throw new Error("the config has no applications");
  const models = await Promise.all(
    config.applications.map((app) => exportModel(app.deployments[0].user_config.model, options)),
  );
  const base = k8sName(config.applications[0].name);
  const notes: string[] = [];
  let files: ExportFile[];
  let carry: CarryRow[];
  switch (target) {
    case "serve": {
      files = [{
        name: `${base}.serve.yaml`,
        documents: [rayServeConfig(config, models, options)],
      }];
      carry = config.applications.flatMap((a) => rayCarryRows(a.deployments[0]));
      notes.push(
        "serve deploy needs export/ray/ importable on the cluster: bake it into the image or pass --app-uri (a zip URL)",
      );
      break;
    }
    case "rayservice": {
      const r = rayService(config, models, options);
      files = [{ name: `${base}.rayservice.yaml`, documents: [r.manifest] }];
      carry = [...config.applications.flatMap((a) => rayCarryRows(a.deployments[0])), ...r.rows];
      if (!options.appUri) {
        notes.push(
          "the image must contain export/ray/ on PYTHONPATH (or pass --app-uri with a zip URL of it)",
        );
      }
      break;
    }
    case "knative": {
      const k = knativeService(config, models[0], options);
      files = [{ name: `${base}.knative.yaml`, documents: [k.manifest] }];
      carry = k.rows;
      notes.push(
        "max-scale-up-rate (1000), max-scale-down-rate (2.0) and the 2 s tick are cluster-wide (config-autoscaler)",
      );
      break;
    }
    case "keda": {
      const k = kedaScaledObject(config, models[0], options);
      files = [{ name: `${base}.keda.yaml`, documents: k.manifests }];
      carry = k.rows;
      notes.push(
        "Prometheus must scrape the pods' /metrics with namespace and pod labels (e.g. a PodMonitor); the HPA sync period (15 s) is cluster-wide",
      );
      break;
    }
    case "keda-http": {
      const k = kedaHttpScaledObject(config, models[0], options);
      files = [{ name: `${base}.keda-http.yaml`, documents: k.manifests }];
      carry = k.rows;
      notes.push("traffic must go through the add-on's interceptor for it to count requests");
      break;
    }
  }
  if (!options.image && target !== "serve" && target !== "rayservice") {
    notes.push(
      "image: the default name is a placeholder; build the Containerfile, push it and pass --image REF",
    );
  }
  carry.push(...extraAppRows(config, target !== "serve" && target !== "rayservice"));
  return { target, files, carry, notes };
}

/** A file's documents as multi-document YAML. */
export function exportFileText(file: ExportFile): string {
  return file.documents.map((d) => stringify(d, { lineWidth: 0 })).join("---\n");
}

/** Whether any knob was lost at a non-default value (the export is not faithful). */
export function isUnfaithful(result: ExportResult): boolean {
  return result.carry.some((r) => r.unfaithful);
}
