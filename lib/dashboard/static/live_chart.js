// autoscale-lab dashboard page: draws one live chart (Observable Plot) of a series with its
// scaling-decision and config-update marks. A classic script loaded before app.js; it hands
// app.js `globalThis.liveChart`. Plot and the shared layout helpers (chartLayout) are globals.
"use strict";

(() => {
  const COLORS = {
    "requests/s": "#0969da",
    "failures/s": "#cf222e",
    p50: "#1a7f37",
    p90: "#bf8700",
    p99: "#cf222e",
    ongoing: "#0969da",
    queued: "#cf222e",
    target: "#6e7781",
    running: "#1a7f37",
    starting: "#bf8700",
    pending: "#8250df",
  };
  const UP_COLOR = "#cf222e";
  const DOWN_COLOR = "#0969da";
  const CONFIG_COLOR = "#bf3989";

  function longFormat(points, keys) {
    const out = [];
    for (const p of points) {
      for (const [series, get] of keys) {
        const v = get(p);
        out.push({ t: new Date(p.t), series, v: v === null || v === undefined ? NaN : v });
      }
    }
    return out;
  }

  /**
   * Top of the replicas chart's y axis: the most replicas seen in the window (target or any
   * state) plus one for headroom (the step lines and decision labels stay off the top edge), at
   * least 4, so a few replicas are not a flat line at the bottom of an axis running to
   * max_replicas (100 in basic.yaml); max_replicas is shown in the caption instead.
   */
  function replicaAxisMax(points) {
    let peak = 0;
    for (const p of points) {
      for (const v of [p.target, p.running, p.starting, p.pending]) {
        if (typeof v === "number" && v > peak) peak = v;
      }
    }
    return Math.max(4, peak + 1);
  }

  /**
   * Draws one live chart into `el`: `options.points` as lines (`keys`: [series, getter]), with
   * the scaling decisions (`decisions`, numbered `n`) and config updates (`configEvents`) between
   * `t0` and `t1` (unix ms) marked.
   */
  function draw(el, options) {
    const width = Math.max(240, Math.floor(el.clientWidth || el.parentElement.clientWidth || 600));
    const { points, t0, t1, configEvents } = options;
    const inWindow = options.decisions;
    const names = options.keys.map(([s]) => s);
    const dashed = new Set(options.dashed ?? []);
    const marks = [
      Plot.ruleY([0]),
      Plot.ruleX(configEvents, {
        x: (e) => new Date(e.time_ms),
        stroke: CONFIG_COLOR,
        strokeWidth: 2,
        strokeOpacity: 0.7,
        title: (e) => `config ${e.kind} ${e.application}/${e.deployment}: ${e.summary}`,
      }),
      Plot.ruleX(inWindow.filter((d) => d.direction === "up"), {
        x: (d) => new Date(d.time_ms),
        stroke: UP_COLOR,
        strokeDasharray: "4,3",
        strokeOpacity: 0.8,
        title: (d) => `#${d.n} ${d.explanation}`,
      }),
      Plot.ruleX(inWindow.filter((d) => d.direction === "down"), {
        x: (d) => new Date(d.time_ms),
        stroke: DOWN_COLOR,
        strokeDasharray: "4,3",
        strokeOpacity: 0.8,
        title: (d) => `#${d.n} ${d.explanation}`,
      }),
      Plot.lineY(longFormat(points, options.keys.filter(([s]) => !dashed.has(s))), {
        x: "t",
        y: "v",
        z: "series",
        stroke: "series",
        strokeWidth: 1.8,
        curve: options.curve ?? "linear",
      }),
      // Dashed series (the target) go on top so they stay visible where they equal another.
      Plot.lineY(longFormat(points, options.keys.filter(([s]) => dashed.has(s))), {
        x: "t",
        y: "v",
        z: "series",
        stroke: "series",
        strokeWidth: 2,
        strokeDasharray: "6,4",
        curve: options.curve ?? "linear",
      }),
    ];
    const marginLeft = 42;
    const marginRight = 12;
    if (options.labelDecisions) {
      // Decisions a second apart would print "#1" and "#2" on top of each other ("#12"): each
      // label goes on the first row where the one before it has ended.
      const span = Math.max(1, t1 - t0);
      const xPx = (d) => ((d.time_ms - t0) / span) * (width - marginLeft - marginRight);
      const rows = chartLayout.labelRows(
        inWindow.map((d) => ({ xPx: xPx(d), widthPx: `#${d.n}`.length * 6 })),
        { anchor: "middle" },
      );
      for (const row of [...new Set(rows)]) {
        marks.push(Plot.text(inWindow.filter((_, i) => rows[i] === row), {
          x: (d) => new Date(d.time_ms),
          text: (d) => `#${d.n}`,
          frameAnchor: "top",
          dy: 2 + 11 * row,
          fill: (d) => d.direction === "up" ? UP_COLOR : DOWN_COLOR,
          fontSize: 10,
        }));
      }
    }
    const yDomain = options.yDomain ??
      chartLayout.yDomainFor(
        points.flatMap((p) => options.keys.map(([, get]) => get(p))),
      );
    const svg = Plot.plot({
      width,
      height: 190,
      marginLeft,
      marginRight,
      marginTop: 24,
      x: {
        type: "time",
        domain: [new Date(t0), new Date(t1)],
        label: null,
        ticks: Math.max(2, Math.floor(width / 110)),
        tickFormat: "%H:%M:%S",
      },
      y: { grid: true, label: options.yLabel, zero: true, nice: true, domain: yDomain },
      color: { domain: names, range: names.map((n) => COLORS[n] ?? "#333"), legend: true },
      style: { fontSize: "11px", background: "transparent" },
      marks,
    });
    el.replaceChildren(svg);
  }

  globalThis.liveChart = { draw, replicaAxisMax };
})();
