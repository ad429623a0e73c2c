// autoscale-lab dashboard page. Plain browser JavaScript, no build step. Receives frames from
// the dashboard over Server-Sent Events (/events) and renders them; it never writes anything.
// Plot and d3 are globals from /vendor/*.js, served by the dashboard itself. Charts are drawn by
// live_chart.js, the deployment series and the selection live in deployments.js (both loaded
// before this file).
"use strict";

(() => {
  const $ = (id) => document.getElementById(id);
  const {
    readSelection,
    saveSelection,
    deploymentsOf,
    appendSeries,
    pickKey,
    requestScope,
  } = globalThis.dashboardDeployments;
  const state = {
    label: "",
    tickMs: 1000,
    historyS: 300,
    history: [], // service-wide request points
    series: {}, // "app/deployment" -> { app, deployment, removed_ms, points }
    selected: readSelection(), // the user's choice (may name a deployment not seen yet)
    decisions: [],
    frame: null,
    lastStatus: null,
    lastFrameAt: 0,
    connection: "connecting",
    outageSince: null,
    outageKind: null,
    reconnectedAt: null,
    reconnectedAfterMs: 0,
    everLive: false,
    es: null,
    retryTimer: null,
  };

  // ---- deployment selection (static/deployments.js) ---------------------------------------

  function choose(key) {
    state.selected = key;
    saveSelection(key);
    render();
  }

  /** The deployment the page shows: the choice when known, else the first present one. */
  const shownKey = () => pickKey(state.series, state.selected);

  addEventListener("hashchange", () => {
    const k = readSelection();
    if (k && k !== state.selected) choose(k);
  });

  // ---- formatting -------------------------------------------------------------------------

  const clock = (ms) => new Date(ms).toLocaleTimeString([], { hour12: false });
  function duration(ms) {
    if (ms === null || ms === undefined || !isFinite(ms)) return "–";
    const s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return `${m} m ${String(s % 60).padStart(2, "0")} s`;
    return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, "0")} m`;
  }
  const num = (x, digits = 1) =>
    x === null || x === undefined ? "–" : Number.isInteger(x) ? String(x) : x.toFixed(digits);
  function badgeClass(status) {
    if (["RUNNING", "HEALTHY"].includes(status)) return "badge ok";
    if (["UPSCALING", "DOWNSCALING", "DEPLOYING", "UPDATING"].includes(status)) return "badge info";
    if (["UNHEALTHY", "DEPLOY_FAILED"].includes(status)) return "badge bad";
    return "badge";
  }
  function setText(id, text) {
    const el = $(id);
    if (el && el.textContent !== text) el.textContent = text;
  }

  // ---- connection state and banner --------------------------------------------------------

  function setConnection(next) {
    const prev = state.connection;
    if (prev === next) return;
    const down = (c) => c === "service-down" || c === "dashboard-down" || c === "stale";
    if (down(next) && !down(prev)) {
      state.outageSince = Date.now();
      state.reconnectedAt = null;
    }
    if (next === "live" && down(prev)) {
      state.reconnectedAt = Date.now();
      state.reconnectedAfterMs = Date.now() - (state.outageSince ?? Date.now());
      state.outageSince = null;
    }
    if (down(next)) state.outageKind = next;
    state.connection = next;
    document.body.dataset.connection = next;
    renderConnection();
  }

  function renderConnection() {
    const pill = $("connection");
    const banner = $("banner");
    const now = Date.now();
    const since = state.outageSince;
    let pillText = "live";
    let pillClass = "pill ok";
    let msg = null;
    let cls = "";
    switch (state.connection) {
      case "connecting":
        pillText = "connecting…";
        pillClass = "pill warn";
        msg = "Connecting to the dashboard…";
        cls = "warn";
        break;
      case "service-down": {
        pillText = "service unreachable";
        pillClass = "pill bad";
        const err = state.frame?.service?.error ?? "no answer";
        const downSince = state.frame?.service?.down_since_ms ?? since;
        msg = `Service unreachable since ${clock(downSince)} (${duration(now - since)}): ${err}. ` +
          "Showing the last known state; the dashboard retries every second.";
        cls = "bad";
        break;
      }
      case "dashboard-down":
        pillText = "disconnected";
        pillClass = "pill bad";
        msg = `Lost the connection to the dashboard at ${clock(since)} (${
          duration(now - since)
        } ago): the service and its dashboard may have stopped. Reconnecting automatically…`;
        cls = "bad";
        break;
      case "stale":
        pillText = "no updates";
        pillClass = "pill warn";
        msg = `No update from the dashboard for ${
          duration(now - state.lastFrameAt)
        }; waiting for it…`;
        cls = "warn";
        break;
      default:
        if (state.reconnectedAt !== null && now - state.reconnectedAt < 10_000) {
          msg = `Reconnected at ${clock(state.reconnectedAt)} after ${
            duration(state.reconnectedAfterMs)
          } unreachable. Live again.`;
          cls = "ok";
        }
    }
    pill.textContent = pillText;
    pill.className = pillClass;
    if (msg === null) {
      banner.hidden = true;
      banner.textContent = "";
      banner.dataset.kind = "";
    } else {
      banner.hidden = false;
      banner.className = cls;
      banner.dataset.kind = state.connection === "live" ? "reconnected" : state.connection;
      if (banner.textContent !== msg) banner.textContent = msg;
    }
    document.title = `${
      state.connection === "live" ? "" : `(${pillText}) `
    }autoscale-lab dashboard`;
  }

  // ---- SSE --------------------------------------------------------------------------------

  function connect() {
    clearTimeout(state.retryTimer);
    const es = new EventSource("/events");
    state.es = es;
    es.addEventListener("init", (ev) => {
      const init = JSON.parse(ev.data);
      state.label = init.label;
      state.tickMs = init.tick_ms;
      state.historyS = init.history_s;
      state.history = init.history;
      state.series = init.deployments ?? {};
      state.decisions = init.decisions;
      setText("source", init.label ? `service ${init.label}` : "");
      if (init.frame) onFrame(init.frame, false);
      else render();
    });
    es.addEventListener("tick", (ev) => onFrame(JSON.parse(ev.data), true));
    es.onerror = () => {
      if (state.es !== es) return;
      setConnection(state.everLive ? "dashboard-down" : "connecting");
      if (es.readyState === EventSource.CLOSED) {
        // The browser gave up (e.g. a non-stream answer): try again ourselves.
        state.retryTimer = setTimeout(connect, 2000);
      }
    };
  }

  function onFrame(frame, append) {
    state.frame = frame;
    state.lastFrameAt = Date.now();
    if (append) {
      const { deployments, ...requestPoint } = frame.point;
      state.history.push(requestPoint);
      const keepFrom = frame.t - state.historyS * 1000;
      while (state.history.length && state.history[0].t < keepFrom) state.history.shift();
      appendSeries(state.series, frame, { deployments: deployments ?? {}, keepFrom });
      for (const d of frame.decisions) {
        if (
          !state.decisions.some((x) =>
            x.time_ms === d.time_ms && x.to_replicas === d.to_replicas &&
            x.deployment === d.deployment
          )
        ) {
          state.decisions.push(d);
        }
      }
      if (state.decisions.length > 200) state.decisions.splice(0, state.decisions.length - 200);
    }
    if (frame.status) state.lastStatus = frame.status;
    if (frame.service.up) {
      state.everLive = true;
      setConnection("live");
    } else setConnection("service-down");
    render();
  }

  // Local 1 s timer: keeps the banner's durations current and notices a stalled stream. It
  // does not touch the network.
  setInterval(() => {
    if (
      state.connection === "live" && state.lastFrameAt &&
      Date.now() - state.lastFrameAt > Math.max(3000, 3 * state.tickMs)
    ) setConnection("stale");
    renderConnection();
  }, 1000);

  // ---- status panels ----------------------------------------------------------------------

  function selectedDeployment() {
    const key = shownKey();
    return deploymentsOf(state.lastStatus).find((d) => d.key === key) ?? null;
  }

  function renderPicker() {
    const select = $("deployment-select");
    const key = shownKey();
    const entries = Object.entries(state.series);
    const want = entries.map(([k, s]) =>
      `${k}${s.removed_ms === null ? "" : ` (removed ${clock(s.removed_ms)})`}`
    );
    const have = [...select.options].map((o) => o.textContent);
    if (want.join("\n") !== have.join("\n")) {
      select.replaceChildren(...entries.map(([k, s], i) => {
        const o = document.createElement("option");
        o.value = k;
        o.textContent = want[i];
        o.dataset.removed = s.removed_ms === null ? "false" : "true";
        return o;
      }));
    }
    if (key !== null && select.value !== key) select.value = key;
    const s = key ? state.series[key] : null;
    setText(
      "deployment-note",
      s?.removed_ms != null
        ? `removed from the service at ${clock(s.removed_ms)}; its charts stay until they age out`
        : entries.length > 1
        ? "the replica and queue charts, the autoscaler and the decisions follow this choice"
        : "",
    );
    for (const el of document.querySelectorAll(".chart-dep")) {
      if (el.textContent !== (key ?? "")) el.textContent = key ? `(${key})` : "";
    }
  }
  $("deployment-select").addEventListener("change", (ev) => choose(ev.target.value));

  function renderStatus() {
    const status = state.lastStatus;
    const t = state.frame?.t ?? Date.now();
    const fd = selectedDeployment();
    if (!fd) {
      const s = state.series[shownKey()];
      if (s) {
        setText("app-name", s.app);
        setText("app-status", "REMOVED");
        $("app-status").className = "badge";
        setText("dep-name", s.deployment);
        setText("dep-status", "REMOVED");
        $("dep-status").className = "badge";
        setText("dep-message", `not in the service since ${clock(s.removed_ms ?? t)}`);
        setText("dep-trigger", "");
        setText("replicas-running", "–");
        setText("replicas-target", "–");
        setText("replicas-other", "");
        setText("autoscaler-summary", "removed: no autoscaler");
        setText("autoscaler-delay", "");
        setText("autoscaler-config", "");
        $("replica-table").tBodies[0].replaceChildren();
      }
      return;
    }
    const { app, appStatus, name, dep } = fd;
    setText("app-name", app);
    setText("app-status", appStatus.status);
    $("app-status").className = badgeClass(appStatus.status);
    setText("app-message", appStatus.message || `route ${appStatus.route_prefix}`);
    // Every application (issue 15): name, status and route; the panels show the selected one.
    const apps = Object.entries(status.applications ?? {});
    setText(
      "apps-list",
      apps.length > 1
        ? `applications: ${
          apps.map(([n, a]) => `${n} ${a.status} at ${a.route_prefix}`).join(" · ")
        }`
        : "",
    );
    const m = status.model;
    if (m) {
      setText(
        "model",
        `model ${m.name} · backend ${m.backend}${
          m.labels_meaningful ? "" : " · labels not meaningful"
        }`,
      );
    }
    setText("dep-name", name);
    setText("dep-status", dep.status);
    $("dep-status").className = badgeClass(dep.status);
    setText("dep-message", dep.message || "");
    setText("dep-trigger", dep.status_trigger ? `trigger ${dep.status_trigger}` : "");

    const rs = dep.replica_states ?? {};
    setText("replicas-running", String(rs.RUNNING ?? 0));
    setText("replicas-target", String(dep.target_replicas));
    setText(
      "replicas-other",
      `starting ${rs.STARTING ?? 0} · pending ${rs.PENDING_ALLOCATION ?? 0} · stopping ${
        rs.STOPPING ?? 0
      } · ongoing ${dep.ongoing_requests} · queued ${dep.queued_requests}`,
    );
    if (status.cluster) {
      setText(
        "cluster",
        `cluster CPUs: ${num(status.cluster.cpus_used)} of ${num(status.cluster.num_cpus)} used`,
      );
    }

    const a = dep.autoscaler;
    if (a) {
      setText(
        "autoscaler-summary",
        `${a.status}: policy input ${num(a.total_ongoing_requests)} requests (${
          num(a.queued_requests)
        } queued) → desired ${a.desired_replicas}, target ${a.target_replicas}`,
      );
      const d = a.delay;
      setText(
        "autoscaler-delay",
        d
          ? `${d.direction === "up" ? "upscale" : "downscale"} delay counting: held ${
            num(d.held_s)
          } s of ${num(d.required_s)} s (${num(d.remaining_s)} s left)`
          : `no delay counting (${a.reason ?? "steady"})`,
      );
      setText(
        "autoscaler-config",
        `min ${a.min_replicas} · max ${a.max_replicas} · target_ongoing_requests ${
          num(a.target_ongoing_requests)
        } · policy ${a.policy}${a.policy_error ? ` · error: ${a.policy_error}` : ""}`,
      );
    } else {
      setText("autoscaler-summary", "not autoscaling (no autoscaling_config)");
      setText("autoscaler-delay", "");
      setText("autoscaler-config", "");
    }

    const order = { RUNNING: 0, STARTING: 1, PENDING_ALLOCATION: 2, STOPPING: 3 };
    const rows = [...(dep.replicas ?? [])].sort((x, y) =>
      (order[x.state] ?? 9) - (order[y.state] ?? 9) || x.requested_at_ms - y.requested_at_ms
    );
    const tbody = $("replica-table").tBodies[0];
    tbody.replaceChildren(...rows.map((r) => {
      const tr = document.createElement("tr");
      tr.dataset.state = r.state;
      let age;
      if (r.state === "RUNNING") age = duration(t - r.running_since_ms);
      else if (r.state === "STARTING") {
        age = `starting for ${duration(t - (r.started_at_ms ?? r.requested_at_ms))}`;
      } else if (r.state === "PENDING_ALLOCATION") {
        age = `waiting for CPUs ${duration(t - r.requested_at_ms)}`;
      } else age = `stopping for ${duration(t - (r.stopping_since_ms ?? t))}`;
      const cells = [
        [r.replica_id, "id"],
        [r.state, ""],
        [String(r.ongoing_requests), "num"],
        [num(r.num_cpus), "num"],
        [age, ""],
      ];
      for (const [text, cls] of cells) {
        const td = document.createElement("td");
        td.textContent = text;
        if (cls) td.className = cls;
        tr.append(td);
      }
      const badge = document.createElement("span");
      badge.className = badgeClass(
        r.state === "RUNNING" ? "RUNNING" : r.state === "STOPPING" ? "" : "UPDATING",
      );
      badge.textContent = r.state;
      tr.children[1].replaceChildren(badge);
      return tr;
    }));
  }

  /** The decisions of the shown deployment (those of an unknown deployment show everywhere). */
  function shownDecisions() {
    const key = shownKey();
    return state.decisions.filter((d) => d.deployment == null || d.deployment === key);
  }

  function renderDecisions() {
    const list = $("decisions");
    const items = shownDecisions().map((d, i) => ({ d, n: i + 1 })).reverse().slice(0, 50);
    $("no-decisions").hidden = items.length > 0;
    list.replaceChildren(...items.map(({ d, n }) => {
      const li = document.createElement("li");
      li.dataset.direction = d.direction;
      const head = document.createElement("div");
      const when = document.createElement("span");
      when.className = "when";
      when.textContent = `#${n} ${clock(d.time_ms)} `;
      const what = document.createElement("span");
      what.className = d.direction;
      what.textContent = `${
        d.direction === "up" ? "▲" : "▼"
      } ${d.from_replicas} → ${d.to_replicas} replicas`;
      head.append(when, what);
      const why = document.createElement("div");
      why.className = "small";
      why.textContent = d.explanation;
      li.append(head, why);
      return li;
    }));
  }

  // ---- charts -----------------------------------------------------------------------------

  /** Draws one chart of `points` with the shown deployment's decision and config marks. */
  function chart(el, options) {
    // The window grows from the first point up to historyS, so a fresh page is not all blank.
    const t1 = state.frame?.t ?? Date.now();
    const first = state.history[0]?.t ?? t1;
    const t0 = Math.max(t1 - state.historyS * 1000, Math.min(first, t1 - 60_000));
    const decisions = shownDecisions().map((d, i) => ({ ...d, n: i + 1 }))
      .filter((d) => d.time_ms >= t0);
    // Config changes applied to the running service (deno task apply / deploy --watch), of the
    // shown deployment.
    const key = shownKey();
    const configEvents = (state.lastStatus?.config_events ?? [])
      .filter((e) =>
        e.time_ms >= t0 && e.kind !== "added" && `${e.application}/${e.deployment}` === key
      );
    liveChart.draw(el, { ...options, t0, t1, decisions, configEvents });
  }

  function renderCharts() {
    if (typeof Plot === "undefined") {
      setText(
        "chart-note",
        "Charts unavailable: the Plot bundle did not load (see the dashboard's log).",
      );
      return;
    }
    const tickS = state.tickMs / 1000;
    const key = shownKey();
    const depPoints = state.series[key]?.points ?? [];
    // An application's first deployment has its own request series (when the source says which
    // deployment took each request); for any other deployment the requests are service-wide.
    const { own, scope } = requestScope(state.series, key);
    const reqPoints = own ? depPoints : state.history;
    setText("rps-scope", scope);
    setText("latency-scope", scope);
    const anyFailures = reqPoints.some((p) => p.failures > 0);
    const rpsKeys = [["requests/s", (p) => p.rps]];
    if (anyFailures) {
      rpsKeys.push(["failures/s", (p) => p.failures === null ? null : p.failures / tickS]);
    }
    chart($("chart-rps"), { points: reqPoints, keys: rpsKeys, yLabel: "req/s" });
    chart($("chart-latency"), {
      points: reqPoints,
      keys: [["p50", (p) => p.p50Ms], ["p90", (p) => p.p90Ms], ["p99", (p) => p.p99Ms]],
      yLabel: "ms",
    });
    chart($("chart-queue"), {
      points: depPoints,
      keys: [["ongoing", (p) => p.ongoing], ["queued", (p) => p.queued]],
      yLabel: "requests",
    });
    const maxReplicas = selectedDeployment()?.dep?.autoscaler?.max_replicas;
    chart($("chart-replicas"), {
      points: depPoints,
      keys: [
        ["target", (p) => p.target],
        ["running", (p) => p.running],
        ["starting", (p) => p.starting],
        ["pending", (p) => p.pending],
      ],
      yLabel: "replicas",
      curve: "step-after",
      labelDecisions: true,
      dashed: ["target"],
      yDomain: [0, liveChart.replicaAxisMax(depPoints)],
    });
    setText("replicas-max", maxReplicas ? `(max_replicas ${maxReplicas})` : "");
    const last = reqPoints.at(-1);
    const lastDep = depPoints.at(-1);
    setText("now-rps", last?.rps !== null && last?.rps !== undefined ? `now ${num(last.rps)}` : "");
    setText(
      "now-latency",
      last?.p50Ms != null ? `now ${num(last.p50Ms)} / ${num(last.p90Ms)} / ${num(last.p99Ms)}` : "",
    );
    setText(
      "now-queue",
      lastDep?.ongoing != null ? `now ${lastDep.ongoing} / ${lastDep.queued}` : "",
    );
    setText(
      "chart-note",
      `Last ${duration(state.historyS * 1000)}, one point per ${
        num(tickS)
      } s. Dashed lines mark the shown deployment's scaling decisions (red up, blue down), solid pink ones its config updates; hover one for its explanation.`,
    );
  }

  let renderQueued = false;
  function render() {
    if (renderQueued) return;
    renderQueued = true;
    requestAnimationFrame(() => {
      renderQueued = false;
      renderPicker();
      renderStatus();
      renderDecisions();
      renderCharts();
      renderConnection();
    });
  }

  let resizeTimer;
  addEventListener("resize", () => {
    clearTimeout(resizeTimer);
    resizeTimer = setTimeout(render, 150);
  });

  renderConnection();
  connect();
})();
