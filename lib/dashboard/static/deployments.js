// autoscale-lab dashboard page: the per-deployment series the page keeps ("app/deployment" ->
// { app, deployment, removed_ms, points }, the shape of the collector's init.deployments, see
// lib/dashboard/series.ts) and which deployment the page shows (the user's choice, kept in the
// URL hash `#deployment=app/dep` and in localStorage so a reload keeps it). A classic script
// loaded before app.js; it hands app.js `globalThis.dashboardDeployments`.
"use strict";

(() => {
  const STORAGE_KEY = "autoscale-lab.dashboard.deployment";

  /** The chosen deployment key: the URL hash first, then localStorage; null without one. */
  function readSelection() {
    const fromHash = new URLSearchParams(location.hash.slice(1)).get("deployment");
    if (fromHash) return fromHash;
    try {
      return localStorage.getItem(STORAGE_KEY);
    } catch {
      return null; // storage off
    }
  }

  /** Keeps the choice in the URL hash (no new history entry) and in localStorage. */
  function saveSelection(key) {
    const params = new URLSearchParams(location.hash.slice(1));
    params.set("deployment", key);
    history.replaceState(null, "", `#${params}`);
    try {
      localStorage.setItem(STORAGE_KEY, key);
    } catch {
      // storage off: the hash still keeps it
    }
  }

  /** Every deployment of a status document, keyed "app/deployment" as the collector keys them. */
  function deploymentsOf(status) {
    const out = [];
    for (const [app, a] of Object.entries(status?.applications ?? {})) {
      for (const [name, dep] of Object.entries(a.deployments ?? {})) {
        out.push({ key: `${app}/${name}`, app, appStatus: a, name, dep });
      }
    }
    return out;
  }

  /**
   * Adds a tick frame's counts (`options.deployments`, by key) to `series`, as the collector
   * does: a key missing from an answered frame is marked removed; points before
   * `options.keepFrom` (unix ms) go, and a removed series goes with its last point.
   */
  function appendSeries(series, frame, options) {
    const { deployments, keepFrom } = options;
    const names = {};
    for (const d of deploymentsOf(frame.status)) names[d.key] = d;
    for (const [key, counts] of Object.entries(deployments)) {
      const s = series[key] ??= {
        app: names[key]?.app ?? key,
        deployment: names[key]?.name ?? "",
        removed_ms: null,
        points: [],
      };
      s.removed_ms = null;
      s.points.push({ t: frame.t, ...counts });
    }
    for (const [key, s] of Object.entries(series)) {
      if (frame.service.up && !(key in deployments)) s.removed_ms ??= frame.t;
      while (s.points.length && s.points[0].t < keepFrom) s.points.shift();
      if (s.removed_ms !== null && s.points.length === 0) delete series[key];
    }
  }

  /** The key to show: `selected` when its series is held, else the first present one. */
  function pickKey(series, selected) {
    if (selected && series[selected]) return selected;
    const keys = Object.keys(series);
    return keys.find((k) => series[k].removed_ms === null) ?? keys[0] ?? null;
  }

  /**
   * Whether the shown deployment has its own request series (an application's first deployment,
   * when the source says which deployment took each request), and the charts' caption: with
   * several deployments, whose requests the RPS and latency charts show.
   */
  function requestScope(series, key) {
    const own = (series[key]?.points ?? []).some((p) => p.rps !== null && p.rps !== undefined);
    const multi = Object.keys(series).length > 1;
    const scope = !multi
      ? ""
      : own
      ? `(requests to application ${series[key].app}, received by ${key})`
      : "(service-wide: every application together)";
    return { own, scope };
  }

  globalThis.dashboardDeployments = {
    readSelection,
    saveSelection,
    deploymentsOf,
    appendSeries,
    pickKey,
    requestScope,
  };
})();
