/**
 * The per-knob report every export prints: how each Ray knob was carried to the target engine,
 * or why it could not be, and whether the loss makes the export unfaithful.
 *
 * @module
 */
import { AUTOSCALING_DEFAULTS, type AutoscalingConfig } from "../config/mod.ts";

/**
 * How a knob travelled: `verbatim` (same name and meaning), `mapped` (another field, same
 * meaning), `approximated` (the nearest field, different semantics), `lost` (no equivalent).
 */
export type CarryStatus = "verbatim" | "mapped" | "approximated" | "lost";

/** One row of the carried-over/lost table. */
export interface CarryRow {
  /** Ray's knob, e.g. `autoscaling_config.upscale_delay_s`. */
  knob: string;
  /** The config's value, as text. */
  value: string;
  /** How the knob travelled (verbatim, mapped, approximated or lost). */
  status: CarryStatus;
  /** Where it went (`autoscaling.knative.dev/window: "30s"`), or `-`. */
  target: string;
  /** Why, when not verbatim. */
  note: string;
  /** True when the knob is lost and its value differs from Ray's default: exporting is unfaithful. */
  unfaithful: boolean;
}

/** Whether `key` of `as` differs from Ray's default (so losing it changes behaviour). */
export function differsFromDefault(as: AutoscalingConfig, key: keyof AutoscalingConfig): boolean {
  const v = as[key];
  const d = AUTOSCALING_DEFAULTS[key];
  if (key === "upscaling_factor" || key === "downscaling_factor") return v !== null && v !== 1;
  return JSON.stringify(v) !== JSON.stringify(d);
}

/** How a knob travelled, for {@linkcode row}. */
export interface CarryHow {
  status: CarryStatus;
  /** Where it went, or `-`. */
  target: string;
  /** Why, when not verbatim. */
  note?: string;
  /** Whether the value differs from Ray's default (default true): a lost knob is then unfaithful. */
  nonDefault?: boolean;
}

/** Builds a row; `unfaithful` is set for a `lost` knob whose value is not Ray's default. */
export function row(knob: string, value: unknown, how: CarryHow): CarryRow {
  const text = value === null || value === undefined
    ? "unset"
    : typeof value === "string"
    ? value
    : JSON.stringify(value);
  return {
    knob,
    value: text,
    status: how.status,
    target: how.target,
    note: how.note ?? "",
    unfaithful: how.status === "lost" && (how.nonDefault ?? true),
  };
}

/** The table as fixed-width text (knob, value, status, target, note). */
export function formatCarryTable(rows: readonly CarryRow[]): string {
  const header = ["knob", "value", "status", "carried as", "note"];
  const cells = rows.map((r) => [
    r.knob,
    r.value,
    r.unfaithful ? "LOST" : r.status,
    r.target,
    r.note,
  ]);
  const widths = header.map((h, i) =>
    i === 4 ? 0 : Math.max(h.length, ...cells.map((c) => c[i].length))
  );
  const line = (c: string[]) => c.map((x, i) => (i === 4 ? x : x.padEnd(widths[i]))).join("  ");
  return [line(header), line(widths.map((w) => "-".repeat(Math.max(w, 4)))), ...cells.map(line)]
    .join("\n");
}
