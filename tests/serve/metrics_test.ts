import assert from "node:assert/strict";
import { formatServeStatus, Registry, type ServeStatusJson } from "../../lib/serve/mod.ts";

Deno.test("Registry renders counters, gauges and cumulative histogram buckets", () => {
  const r = new Registry();
  const c = r.counter("ray_serve_num_http_requests_total", "Requests.", ["route", "status_code"]);
  c.inc(["/", "200"]);
  c.inc(["/", "200"]);
  c.inc(["/", '5"0\n3']);
  const h = r.histogram("lat_ms", "Latency.", ["route"], [1, 10]);
  h.observe(["/"], 0.5);
  h.observe(["/"], 5);
  h.observe(["/"], 50);
  const g = r.gauge("queued", "Queued.", []);
  g.collect = () => g.set([], 7);
  const text = r.render();
  assert.match(text, /# TYPE ray_serve_num_http_requests_total counter/);
  assert.match(text, /ray_serve_num_http_requests_total\{route="\/",status_code="200"\} 2/);
  assert.match(text, /status_code="5\\"0\\n3"\} 1/);
  assert.match(text, /lat_ms_bucket\{route="\/",le="1"\} 1\n/);
  assert.match(text, /lat_ms_bucket\{route="\/",le="10"\} 2\n/);
  assert.match(text, /lat_ms_bucket\{route="\/",le="\+Inf"\} 3\n/);
  assert.match(text, /lat_ms_sum\{route="\/"\} 55.5\n/);
  assert.match(text, /lat_ms_count\{route="\/"\} 3\n/);
  assert.match(text, /^queued 7$/m);
});

const STATUS: ServeStatusJson = {
  applications: {
    default: {
      status: "RUNNING",
      message: "",
      route_prefix: "/",
      last_deployed_time_s: 1694041157.2211847,
      deployments: {
        Model: {
          status: "UPSCALING",
          status_trigger: "AUTOSCALING",
          message: "Upscaling from 3 to 7 replicas.",
          target_replicas: 7,
          replica_states: { PENDING_ALLOCATION: 0, STARTING: 4, RUNNING: 3, STOPPING: 0 },
          ongoing_requests: 9,
          queued_requests: 2,
          replicas: [],
          autoscaler: null,
        },
      },
    },
  },
  model: { name: "noop:0", pretrained: false, labels_meaningful: false, backend: "noop" },
  cluster: { num_cpus: 8, cpus_used: 7 },
};

Deno.test("formatServeStatus() prints serve status's YAML shape and key order", () => {
  const text = formatServeStatus(STATUS, { proxyName: "127.0.0.1:8000" });
  assert.equal(
    text,
    `proxies:
  127.0.0.1:8000: HEALTHY
applications:
  default:
    status: RUNNING
    message: ""
    last_deployed_time_s: 1694041157.2211847
    deployments:
      Model:
        status: UPSCALING
        status_trigger: AUTOSCALING
        replica_states:
          STARTING: 4
          RUNNING: 3
        message: Upscaling from 3 to 7 replicas.
target_capacity: null
`,
  );
});

Deno.test("formatServeStatus() -n prints one application and names the known ones otherwise", () => {
  assert.match(formatServeStatus(STATUS, { appName: "default" }), /^status: RUNNING\n/);
  assert.throws(
    () => formatServeStatus(STATUS, { appName: "nope" }),
    /no application named "nope"; known: default/,
  );
});
