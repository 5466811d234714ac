/**
 * GET /metrics on a running server: HTTP requests by route and status, latency histograms,
 * gRPC calls by method and code, login outcomes, the hash queue, webhook deliveries by
 * state and the database size, in Prometheus text format.
 */
import assert from "node:assert/strict";
import { after, test } from "node:test";
import { Counter, Histogram, Registry } from "prom-client";
import { createServerMetrics } from "../bin/metrics.ts";
import { LATENCY_BUCKETS, LoginTally, RequestTally, type LoginRows, type TallyRows } from "../bin/request_tally.ts";
import { api, cleanupTempDirs, createRealm, grpcHealth, killAll, makeAdminKey, startServer } from "./helpers/process.ts";

after(async () => {
  await killAll();
  cleanupTempDirs();
});

/** The value of one sample line (`name{labels} value`), or undefined. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split("\n")) {
    if (!line.startsWith(name)) continue;
    const m = /^([a-z_]+)(?:\{([^}]*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      (m[2] ?? "")
        .split(",")
        .filter(Boolean)
        .map((kv) => kv.split("=").map((x) => x.replace(/"/g, "")) as [string, string]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

test("metrics count requests, gRPC calls, logins, deliveries and the database", async () => {
  const key = makeAdminKey();
  const server = await startServer({ env: { RAMPART_ADMIN_KEY: key, RAMPART_LOG_LEVEL: "warn" } });
  const realm = await createRealm(server, key);
  await api(server, "POST", "/v1/app_hooks", { key, body: { app_hook: { destination: "http://127.0.0.1:9/never", event_type: ["user.created"] } } });
  assert.equal((await api(server, "POST", "/v1/users", { key, realm, body: { user: { username: "mia", password: "mia's password" } } })).status, 201);
  assert.equal((await api(server, "POST", "/v1/users/mia/authenticate", { key, realm, body: { password: "mia's password" } })).status, 200);
  assert.equal((await api(server, "POST", "/v1/users/mia/authenticate", { key, realm, body: { password: "wrong password" } })).status, 401);
  assert.equal((await api(server, "GET", "/v1/users/nobody", { key, realm })).status, 404);
  assert.equal(await grpcHealth(server.grpcPort), "SERVING");

  const res = await fetch(`${server.url}/metrics`);
  assert.equal(res.status, 200);
  assert.match(String(res.headers.get("content-type")), /^text\/plain/);
  const text = await res.text();
  assert.equal(sample(text, "rampart_http_requests_total", { route: "/v1/users", method: "POST", status: "201" }), 1);
  assert.equal(sample(text, "rampart_http_requests_total", { route: "/v1/users/:id", method: "GET", status: "404" }), 1);
  assert.ok((sample(text, "rampart_http_request_duration_seconds_count", { route: "/v1/users/:id/authenticate", method: "POST" }) ?? 0) >= 2);
  assert.equal(sample(text, "rampart_grpc_calls_total", { method: "/grpc.health.v1.Health/Check", code: "OK" }), 1);
  assert.equal(sample(text, "rampart_logins_total", { kind: "password", outcome: "succeeded" }), 1);
  assert.equal(sample(text, "rampart_logins_total", { kind: "password", outcome: "failed" }), 1);
  assert.equal(sample(text, "rampart_password_hash_queue_depth"), 0);
  assert.ok((sample(text, "rampart_webhook_deliveries", { state: "in_progress" }) ?? 0) >= 1, "the delivery to a dead receiver is pending");
  assert.ok((sample(text, "rampart_sqlite_bytes") ?? 0) > 10_000);
  assert.ok((sample(text, "rampart_process_resident_memory_bytes") ?? 0) > 0);
  // Counts are handed over at each scrape; a second scrape shows the same totals, not twice.
  const again = await (await fetch(`${server.url}/metrics`)).text();
  assert.equal(sample(again, "rampart_http_requests_total", { route: "/v1/users", method: "POST", status: "201" }), 1);
  assert.equal(sample(again, "rampart_logins_total", { kind: "password", outcome: "succeeded" }), 1);
  assert.equal(sample(again, "rampart_http_requests_total", { route: "/metrics", method: "GET", status: "200" }), 1, "the first scrape itself");
  await server.stop();
});

test("the HTTP request families read from a tally are what prom-client's Counter and Histogram write, also for a helper's rows", async () => {
  const observations: [string, string, number, number][] = [
    ["/v1/users/:id", "GET", 200, 0.0004],
    ["/v1/users/:id", "GET", 404, 0.001],
    ["/v1/users/:id", "GET", 200, 0.0011],
    ["/v1/users", "POST", 201, 0.02],
    ["/v1/users/:id", "GET", 200, 12],
    ["unmatched", "GET", 404, 0.001],
  ];
  const reference = new Registry();
  const histogram = new Histogram({
    name: "rampart_http_request_duration_seconds",
    help: "HTTP request latency",
    labelNames: ["route", "method"],
    buckets: [...LATENCY_BUCKETS],
    registers: [reference],
  });
  const counter = new Counter({
    name: "rampart_http_requests_total",
    help: "HTTP requests answered",
    labelNames: ["route", "method", "status"],
    registers: [reference],
  });
  for (const [route, method, status, seconds] of observations) {
    histogram.observe({ route, method }, seconds);
    counter.inc({ route, method, status: String(status) });
  }
  const httpLines = (text: string) =>
    text
      .split("\n")
      .filter((line) => line.includes("rampart_http_request"))
      .sort();
  const expected = httpLines(await reference.metrics());
  assert.ok(expected.length > 40, "the reference has every bucket line");

  const direct = createServerMetrics();
  for (const o of observations) direct.http.observe(...o);
  assert.deepEqual(httpLines((await direct.http.render()).body), expected);

  // A primary that answered half and received the other half from a helper, in two batches.
  const primary = createServerMetrics();
  const helper = new RequestTally();
  observations.forEach((o, i) => (i % 2 === 0 ? primary.http.observe(...o) : helper.observe(...o)));
  primary.addHelperRequests(JSON.parse(JSON.stringify(helper.take())) as TallyRows);
  assert.deepEqual(helper.take(), [], "take empties the tally");
  primary.addHelperRequests(helper.take());
  assert.deepEqual(httpLines((await primary.http.render()).body), expected);
});

test("login counts from a helper arrive as one row per kind and outcome, added to the primary's", async () => {
  const helper = new LoginTally();
  for (let i = 0; i < 500; i++) helper.observe("api_key", "succeeded");
  helper.observe("api_key", "failed");
  const rows = helper.take();
  assert.deepEqual(rows, [
    ["api_key", "succeeded", 500],
    ["api_key", "failed", 1],
  ]);
  assert.deepEqual(helper.take(), [], "take empties the tally");

  const primary = createServerMetrics();
  primary.core.login("api_key", "succeeded");
  primary.core.login("password", "throttled");
  primary.addHelperLogins(JSON.parse(JSON.stringify(rows)) as LoginRows);
  const text = (await primary.http.render()).body;
  assert.equal(sample(text, "rampart_logins_total", { kind: "api_key", outcome: "succeeded" }), 501);
  assert.equal(sample(text, "rampart_logins_total", { kind: "api_key", outcome: "failed" }), 1);
  assert.equal(sample(text, "rampart_logins_total", { kind: "password", outcome: "throttled" }), 1);
});
