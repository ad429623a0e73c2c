/**
 * A tiny Prometheus registry (counters, gauges, histograms with labels) rendering the text
 * exposition format, version 0.0.4. Metric names follow Ray Serve's (research/ray-serve.md §7).
 *
 * Hot-path friendly: a labelled child is looked up once by a joined key and then updated with a
 * plain field write.
 *
 * @module
 */

/** Ray Serve's default latency buckets, in milliseconds. */
export const LATENCY_BUCKETS_MS: readonly number[] = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  300,
  400,
  500,
  1000,
  2000,
  5000,
  10000,
  60000,
  120000,
  300000,
  600000,
];

/** Prometheus metric type of a {@link Metric}. */
export type MetricKind = "counter" | "gauge" | "histogram";

/** One labelled series of a metric, updated without any lookup (cache it on hot paths). */
export interface Series {
  /** Label values, in the order of the metric's label names. */
  labels: string[];
  /** Current value of a counter or gauge (unused by histograms). */
  value: number;
  /** Histogram only: per bound of `bucketsMs`, observations <= it (cumulative, like `le`). */
  buckets?: number[];
  /** Histogram only: sum of the observed values. */
  sum?: number;
  /** Histogram only: number of observations. */
  count?: number;
}

/** One metric family: a name, help text, label names and one series per label combination. */
export class Metric {
  /** The metric's series, keyed by their joined label values. */
  readonly series = new Map<string, Series>();
  /** Called before rendering, to refresh gauges computed from live state. */
  collect?: () => void;

  /** A metric family; `bucketsMs` (histogram bucket bounds) default to {@link LATENCY_BUCKETS_MS}. */
  constructor(
    readonly name: string,
    readonly kind: MetricKind,
    readonly help: string,
    readonly labelNames: readonly string[],
    readonly bucketsMs: readonly number[] = LATENCY_BUCKETS_MS,
  ) {}

  /** The series for `labels`, created at zero if new; keep it to update it without lookups. */
  child(labels: readonly string[]): Series {
    return this.#get(labels);
  }

  /** Adds `by` to a series from {@link child}. */
  static inc(series: Series, by = 1): void {
    series.value += by;
  }

  /** Records one observation in a histogram series from {@link child}. */
  observeSeries(series: Series, value: number): void {
    const b = series.buckets!;
    const bounds = this.bucketsMs;
    for (let i = bounds.length - 1; i >= 0 && value <= bounds[i]; i--) b[i]++;
    series.sum! += value;
    series.count!++;
  }

  #get(labels: readonly string[]): Series {
    const key = labels.join("\u0000");
    let s = this.series.get(key);
    if (!s) {
      s = { labels: [...labels], value: 0 };
      if (this.kind === "histogram") {
        s.buckets = new Array(this.bucketsMs.length).fill(0);
        s.sum = 0;
        s.count = 0;
      }
      this.series.set(key, s);
    }
    return s;
  }

  /** Adds `by` (default 1) to a counter or gauge. */
  inc(labels: readonly string[], by = 1): void {
    this.#get(labels).value += by;
  }

  /** Sets a gauge. */
  set(labels: readonly string[], value: number): void {
    this.#get(labels).value = value;
  }

  /** Records one observation in a histogram. */
  observe(labels: readonly string[], value: number): void {
    this.observeSeries(this.#get(labels), value);
  }

  /** Drops every series (for gauges rebuilt on each collection). */
  clear(): void {
    this.series.clear();
  }

  /** Renders this family in the Prometheus text format. */
  render(): string {
    this.collect?.();
    const lines = [`# HELP ${this.name} ${this.help}`, `# TYPE ${this.name} ${this.kind}`];
    for (const s of this.series.values()) {
      if (this.kind === "histogram") {
        for (let i = 0; i < this.bucketsMs.length; i++) {
          lines.push(
            `${this.name}_bucket${
              fmtLabels(this.labelNames, s.labels, `le="${this.bucketsMs[i]}"`)
            } ${s.buckets![i]}`,
          );
        }
        lines.push(
          `${this.name}_bucket${fmtLabels(this.labelNames, s.labels, 'le="+Inf"')} ${s.count}`,
        );
        lines.push(`${this.name}_sum${fmtLabels(this.labelNames, s.labels)} ${fmtNum(s.sum!)}`);
        lines.push(`${this.name}_count${fmtLabels(this.labelNames, s.labels)} ${s.count}`);
      } else {
        lines.push(`${this.name}${fmtLabels(this.labelNames, s.labels)} ${fmtNum(s.value)}`);
      }
    }
    return lines.join("\n");
  }
}

/** A set of metric families rendered together at `GET /metrics`. */
export class Registry {
  readonly #metrics: Metric[] = [];

  /** Registers a counter (name should end in `_total`). */
  counter(name: string, help: string, labelNames: readonly string[]): Metric {
    return this.#add(new Metric(name, "counter", help, labelNames));
  }

  /** Registers a gauge. */
  gauge(name: string, help: string, labelNames: readonly string[]): Metric {
    return this.#add(new Metric(name, "gauge", help, labelNames));
  }

  /** Registers a histogram with Ray Serve's latency buckets unless others are given. */
  histogram(
    name: string,
    help: string,
    labelNames: readonly string[],
    bucketsMs: readonly number[] = LATENCY_BUCKETS_MS,
  ): Metric {
    return this.#add(new Metric(name, "histogram", help, labelNames, bucketsMs));
  }

  #add(metric: Metric): Metric {
    this.#metrics.push(metric);
    return metric;
  }

  /** The whole registry in the Prometheus text exposition format. */
  render(): string {
    return this.#metrics.map((m) => m.render()).join("\n") + "\n";
  }

  /** The registered families (several may share a name; see {@linkcode renderRegistries}). */
  get metrics(): readonly Metric[] {
    return this.#metrics;
  }
}

/**
 * Several registries (one per application, one for the service) as one exposition: families of
 * the same name are written once, and series with the same labels are added up (e.g. in-flight
 * HTTP requests counted by each application's handler).
 */
export function renderRegistries(registries: readonly Registry[]): string {
  const byName = new Map<string, Metric>();
  for (const registry of registries) {
    for (const m of registry.metrics) {
      m.collect?.();
      let merged = byName.get(m.name);
      if (merged === undefined) {
        merged = new Metric(m.name, m.kind, m.help, m.labelNames, m.bucketsMs);
        byName.set(m.name, merged);
      }
      for (const s of m.series.values()) {
        const into = merged.child(s.labels);
        into.value += s.value;
        if (s.buckets && into.buckets) {
          s.buckets.forEach((n, i) => into.buckets![i] += n);
          into.sum! += s.sum!;
          into.count! += s.count!;
        }
      }
    }
  }
  return [...byName.values()].map((m) => m.render()).join("\n") + "\n";
}

function escapeLabel(value: string): string {
  return value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

function fmtLabels(names: readonly string[], values: readonly string[], extra?: string): string {
  const parts = names.map((n, i) => `${n}="${escapeLabel(values[i] ?? "")}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

function fmtNum(v: number): string {
  if (Number.isNaN(v)) return "NaN";
  if (v === Infinity) return "+Inf";
  if (v === -Infinity) return "-Inf";
  return String(v);
}
