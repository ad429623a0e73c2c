/**
 * Stage boundaries on the time charts: which runs share them, the dashed rules, labels on rows
 * that never overlap, and the note under a chart. Private to lib/plot.
 *
 * @module
 */
import * as Plot from "@observablehq/plot";
import type { RunData, StageRow } from "./read.ts";
import { labelRows } from "./chart_layout.js";
import { type Mark, runColor, SERIES, textWidth } from "./_frame.ts";

/** One set of stage boundaries to draw: either shared by every run or one run's own. */
interface StageLayer {
  stages: StageRow[];
  /** Rule and label colour: grey when shared, the run's colour otherwise. */
  color: string;
  labelColor: string;
  /** Label row (0 = top); runs with different stages get one row each so labels never overlap. */
  row: number;
}

/** Stage boundaries of two runs count as the same when they agree within this many seconds. */
const SAME_STAGE_TOLERANCE_S = 1;

function sameStages(a: readonly StageRow[], b: readonly StageRow[]): boolean {
  return a.length === b.length &&
    a.every((s, i) =>
      s.users === b[i].users && Math.abs(s.startS - b[i].startS) <= SAME_STAGE_TOLERANCE_S
    );
}

/**
 * What stage boundaries a chart of `runs` draws. When every run that has stages has the same
 * ones (a config comparison under one load shape), they are drawn once in grey; otherwise each
 * run's boundaries are drawn in its run colour with its labels on a row of their own.
 */
function stageLayers(runs: readonly RunData[]): { layers: StageLayer[]; shared: boolean } {
  const withStages = runs
    .map((run, index) => ({ run, index }))
    .filter(({ run }) => run.stages.length > 0);
  if (withStages.length === 0) return { layers: [], shared: false };
  // Prefer a run's _stages.csv (planned, exact) over stages inferred from user counts.
  const reference = withStages.find(({ run }) => run.stagesSource === "file") ?? withStages[0];
  const shared = withStages.every(({ run }) => sameStages(run.stages, reference.run.stages));
  if ((shared && withStages.length > 1) || runs.length === 1) {
    return {
      layers: [{
        stages: reference.run.stages,
        color: SERIES.stage,
        labelColor: "#6b6b6b",
        row: 0,
      }],
      shared: withStages.length > 1,
    };
  }
  return {
    layers: withStages.map(({ run, index }, row) => ({
      stages: run.stages,
      color: runColor(index),
      labelColor: runColor(index),
      row,
    })),
    shared: false,
  };
}

const STAGE_LABEL_ROW_PX = 11;
const STAGE_LABEL_FONT_PX = 9;
const STAGE_LABEL_GAP_PX = 4;

/** How a chart's x axis maps seconds to pixels, for placing stage labels. */
export interface XAxisPx {
  /** Pixels per second. */
  pxPerS: number;
}

function stageLabelText(s: StageRow): string {
  return `${s.users} user${s.users === 1 ? "" : "s"}`;
}

/** A row for each stage label so that none overlaps another (see {@link labelRows}). */
function stageLabelRows(stages: readonly StageRow[], pxPerS: number): number[] {
  return labelRows(
    stages.map((s) => ({
      xPx: s.startS * pxPerS,
      // the label is drawn 3 px right of its boundary
      widthPx: 3 + textWidth(stageLabelText(s), STAGE_LABEL_FONT_PX),
    })),
    { gapPx: STAGE_LABEL_GAP_PX },
  );
}

/** Label rows each stage layer takes, and its first row. */
function layerRows(
  layers: readonly StageLayer[],
  axis: XAxisPx,
): { rows: number[][]; total: number } {
  let next = 0;
  const rows = layers.map((layer) => {
    const own = stageLabelRows(layer.stages, axis.pxPerS).map((r) => r + next);
    next = own.reduce((m, r) => Math.max(m, r), next) + 1;
    return own;
  });
  return { rows, total: next };
}

/** The dashed boundary rules and the non-overlapping labels of the runs' stages. */
export function stageMarks(runs: readonly RunData[], enabled: boolean, axis: XAxisPx): Mark[] {
  if (!enabled) return [];
  const layers = stageLayers(runs).layers;
  const { rows } = layerRows(layers, axis);
  return layers.flatMap((layer, l) => [
    Plot.ruleX(layer.stages.filter((s) => s.startS > 0), {
      x: "startS",
      stroke: layer.color,
      strokeDasharray: "3,3",
      strokeWidth: 1,
    }),
    // Plot's dy is one number per mark: one text mark per label row.
    ...[...new Set(rows[l])].map((row) =>
      Plot.text(layer.stages.filter((_, i) => rows[l][i] === row), {
        x: "startS",
        text: (s: StageRow) => stageLabelText(s),
        frameAnchor: "top",
        textAnchor: "start",
        lineAnchor: "top",
        dx: 3,
        dy: 1 + row * STAGE_LABEL_ROW_PX,
        fill: layer.labelColor,
        fontSize: STAGE_LABEL_FONT_PX,
      })
    ),
  ]);
}

/** Extra top inset so that every row of stage labels sits above the data. */
export function stageLabelInsetPx(
  runs: readonly RunData[],
  enabled: boolean,
  axis: XAxisPx,
): number {
  if (!enabled) return 0;
  const { total } = layerRows(stageLayers(runs).layers, axis);
  return total > 1 ? (total - 1) * STAGE_LABEL_ROW_PX : 0;
}

/** The note under a chart saying whose stage boundaries are drawn and where they came from. */
export function stageNote(runs: readonly RunData[], enabled: boolean): string[] {
  if (!enabled) return [];
  const { layers, shared } = stageLayers(runs);
  if (layers.length === 0) return [];
  const notes: string[] = [];
  const withStages = runs.filter((r) => r.stages.length > 0);
  const without = runs.filter((r) => r.stages.length === 0).map((r) => r.name);
  if (shared) {
    notes.push(
      `Grey dashed lines: stage boundaries, the same for ${
        without.length === 0
          ? (withStages.length === 2 ? "both runs" : `all ${withStages.length} runs`)
          : withStages.map((r) => r.name).join(", ")
      }.`,
    );
  } else if (layers.length > 1) {
    notes.push(
      "Dashed lines: each run's stage boundaries in its colour (the runs' stages differ).",
    );
  }
  const inferred = withStages.filter((r) => r.stagesSource === "inferred");
  const drawnInferred = shared
    ? inferred.length === withStages.length // a shared layer uses a file's stages when any has one
    : inferred.length > 0;
  if (drawnInferred) {
    notes.push(
      runs.length === 1 || inferred.length === withStages.length
        ? "Dashed lines: stage boundaries inferred from user-count changes (no _stages.csv)."
        : `Stage boundaries of ${
          inferred.map((r) => r.name).join(", ")
        } inferred from user-count changes (no _stages.csv).`,
    );
  }
  if (without.length > 0 && runs.length > 1) {
    notes.push(`No stage boundaries known for: ${without.join(", ")}.`);
  }
  return notes;
}
