/**
 * A worked custom policy: a time-of-day schedule that raises the replica floor ahead of known
 * peaks (the tutorial's advice for predictable traffic: "scale up before the rush, not during").
 *
 * Use it from a config file (the path is relative to the config file's folder):
 *
 * ```yaml
 * autoscaling_config:
 *   min_replicas: 2
 *   max_replicas: 20
 *   policy:
 *     policy_function: ./schedule_policy.ts:scheduledMinReplicas
 *     policy_kwargs:
 *       utc_offset_hours: 1      # the schedule's time zone (fixed offset)
 *       lead_minutes: 15         # start raising this long before each peak
 *       peaks:
 *         - { start: "08:30", end: "10:00", min_replicas: 6 }
 *         - { start: "17:00", end: "18:30", min_replicas: 4 }
 * ```
 *
 * The policy returns `max(total / target_ongoing_requests, floor)`, where `floor` is the
 * `min_replicas` of the peak that covers now (from `start - lead_minutes` to `end`). Ray's
 * wrapper still applies around it: scaling factors, `max_replicas`, and the delays, so the floor
 * goes up `upscale_delay_s` after `start - lead_minutes` (pick `lead_minutes` >= that delay plus
 * a replica's start-up time) and comes down `downscale_delay_s` after `end`. The time comes from
 * `ctx.currentTimeMs`, so replay (`--start`) and the simulator run it in virtual time.
 *
 * @module
 */
import { type AutoscalingContext, defaultAutoscalingPolicy } from "../../lib/autoscaler/mod.ts";

/** One known peak, in the schedule's local time. */
export interface Peak {
  /** Minutes after local midnight when the peak starts. */
  startMin: number;
  /** Minutes after local midnight when it ends (may be < start: the peak spans midnight). */
  endMin: number;
  /** Replica floor during the peak. */
  minReplicas: number;
}

/** Parsed `policy_kwargs`. */
export interface Schedule {
  /** Offset of the schedule's time zone from UTC, hours. */
  utcOffsetHours: number;
  /** How early the floor is raised, minutes. */
  leadMinutes: number;
  /** The peaks. */
  peaks: Peak[];
}

const cache = new WeakMap<object, Schedule>();

function hhmm(value: unknown, where: string): number {
  const m = typeof value === "string" ? /^(\d{1,2}):(\d{2})$/.exec(value.trim()) : null;
  if (m === null || Number(m[1]) > 23 || Number(m[2]) > 59) {
    throw new Error(
      `policy_kwargs.${where} must be a time "HH:MM" (00:00-23:59), got ${JSON.stringify(value)}`,
    );
  }
  return Number(m[1]) * 60 + Number(m[2]);
}

/** Validates `policy_kwargs`; errors name the field and what would be right. */
export function parseSchedule(kwargs: Readonly<Record<string, unknown>>): Schedule {
  const offset = kwargs.utc_offset_hours ?? 0;
  if (typeof offset !== "number" || !Number.isFinite(offset) || Math.abs(offset) > 14) {
    throw new Error(
      `policy_kwargs.utc_offset_hours must be a number of hours in [-14, 14], got ${
        JSON.stringify(offset)
      }`,
    );
  }
  const lead = kwargs.lead_minutes ?? 15;
  if (typeof lead !== "number" || !Number.isFinite(lead) || lead < 0) {
    throw new Error(
      `policy_kwargs.lead_minutes must be a number >= 0, got ${JSON.stringify(lead)}`,
    );
  }
  const raw = kwargs.peaks;
  if (!Array.isArray(raw) || raw.length === 0) {
    throw new Error(
      `policy_kwargs.peaks must be a non-empty list of { start: "HH:MM", end: "HH:MM", min_replicas: N }, got ${
        JSON.stringify(raw)
      }`,
    );
  }
  const peaks = raw.map((p, i) => {
    if (typeof p !== "object" || p === null) {
      throw new Error(`policy_kwargs.peaks[${i}] must be a mapping, got ${JSON.stringify(p)}`);
    }
    const rec = p as Record<string, unknown>;
    const min = rec.min_replicas;
    if (typeof min !== "number" || !Number.isInteger(min) || min < 0) {
      throw new Error(
        `policy_kwargs.peaks[${i}].min_replicas must be an integer >= 0, got ${
          JSON.stringify(min)
        }`,
      );
    }
    return {
      startMin: hhmm(rec.start, `peaks[${i}].start`),
      endMin: hhmm(rec.end, `peaks[${i}].end`),
      minReplicas: min,
    };
  });
  return { utcOffsetHours: offset, leadMinutes: lead, peaks };
}

/** The floor the schedule asks for at `timeMs` (0 outside every peak). */
export function scheduledFloor(timeMs: number, schedule: Schedule): number {
  const dayMin = 24 * 60;
  const local = ((timeMs / 60_000 + schedule.utcOffsetHours * 60) % dayMin + dayMin) % dayMin;
  let floor = 0;
  for (const p of schedule.peaks) {
    const from = ((p.startMin - schedule.leadMinutes) % dayMin + dayMin) % dayMin;
    const to = p.endMin;
    const inside = from <= to ? local >= from && local < to : local >= from || local < to;
    if (inside) floor = Math.max(floor, p.minReplicas);
  }
  return floor;
}

/**
 * The policy: Ray's default `total / target_ongoing_requests`, but never below the scheduled
 * floor. Pass it as `policy_function: ./schedule_policy.ts:scheduledMinReplicas`.
 */
export function scheduledMinReplicas(ctx: AutoscalingContext): number {
  let schedule = cache.get(ctx.policyKwargs);
  if (schedule === undefined) {
    schedule = parseSchedule(ctx.policyKwargs);
    cache.set(ctx.policyKwargs, schedule);
  }
  return Math.max(defaultAutoscalingPolicy(ctx), scheduledFloor(ctx.currentTimeMs, schedule));
}
