/**
 * Prometheus metrics for the server (prom-client): HTTP requests and latencies by route,
 * gRPC calls by method and code, login outcomes, the password-hash queue, webhook
 * deliveries by state and the database size. Transports and core report through small
 * interfaces (HttpMetrics, onCallEnd, MetricsSink); only this file knows prom-client.
 */
import type { MetricsSink, OpenRampart } from "@rampart/core";
import type { HttpMetrics } from "@rampart/http-bridge";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry, type Metric } from "prom-client";
import { LATENCY_BUCKETS, LoginTally, RequestTally, type LoginRows, type TallyRows } from "./request_tally.ts";

/** Everything the server wires: the sinks to hand out, and `bind` once Rampart is open. */
export interface ServerMetrics {
  registry: Registry;
  core: MetricsSink;
  http: HttpMetrics;
  /** Adds the requests a helper answered (its tally's rows). */
  addHelperRequests(rows: TallyRows): void;
  /** Adds the logins a helper counted (its tally's rows). */
  addHelperLogins(rows: LoginRows): void;
  grpc: (method: string, code: string, seconds: number) => void;
  /** Connects the gauges that read Rampart (deliveries, database size) and the hash queue. */
  bind(rampart: OpenRampart, hashQueue: { readonly queued: number } | undefined): void;
}

/** One sample of a metric family, as prom-client's registry formats it. */
interface Sample {
  metricName?: string;
  labels: Record<string, string | number>;
  sharedLabels?: Record<string, string>;
  value: number;
}

/**
 * Registers a metric family whose samples are computed at scrape time (from a tally) rather
 * than kept by prom-client. The registry reads any object with a name and `get()`; prom-client
 * types that as its own metric classes only, hence the cast.
 */
function registerComputed(registry: Registry, name: string, help: string, type: "counter" | "histogram", samples: () => Sample[]): void {
  const family = { name, help, type, aggregator: "sum", get: async () => ({ name, help, type, aggregator: "sum", values: samples() }), reset: () => undefined };
  registry.registerMetric(family as unknown as Metric);
}

/** HTTP requests by route, method and status, and the latency histogram by route and method. */
function registerHttpRequests(registry: Registry, tally: RequestTally): void {
  registerComputed(registry, "rampart_http_requests_total", "HTTP requests answered", "counter", () => {
    const samples: Sample[] = [];
    for (const t of tally.routes())
      for (const [status, n] of t.statuses) samples.push({ labels: { route: t.route, method: t.method, status: String(status) }, value: n });
    return samples;
  });
  const histogram = "rampart_http_request_duration_seconds";
  registerComputed(registry, histogram, "HTTP request latency", "histogram", () => {
    const samples: Sample[] = [];
    for (const t of tally.routes()) {
      // The same lines, in the same order, as a prom-client Histogram writes.
      const sharedLabels = { route: t.route, method: t.method };
      let count = 0;
      LATENCY_BUCKETS.forEach((le, i) => {
        count += t.buckets[i]!;
        samples.push({ metricName: `${histogram}_bucket`, labels: { le }, sharedLabels, value: count });
      });
      count += t.buckets[LATENCY_BUCKETS.length]!;
      samples.push({ metricName: `${histogram}_bucket`, labels: { le: "+Inf" }, sharedLabels, value: count });
      samples.push({ metricName: `${histogram}_sum`, labels: {}, sharedLabels, value: t.sum });
      samples.push({ metricName: `${histogram}_count`, labels: {}, sharedLabels, value: count });
    }
    return samples;
  });
}

export function createServerMetrics(): ServerMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: "rampart_" });
  const requests = new RequestTally();
  registerHttpRequests(registry, requests);
  const grpcCalls = new Counter({ name: "rampart_grpc_calls_total", help: "gRPC calls answered", labelNames: ["method", "code"], registers: [registry] });
  const grpcLatency = new Histogram({
    name: "rampart_grpc_call_duration_seconds",
    help: "gRPC call latency",
    labelNames: ["method"],
    buckets: [...LATENCY_BUCKETS],
    registers: [registry],
  });
  const logins = new LoginTally();
  registerComputed(registry, "rampart_logins_total", "Authentication attempts by kind and outcome", "counter", () =>
    logins.rows().map(([kind, outcome, value]) => ({ labels: { kind, outcome }, value })),
  );
  const webhookAttempts = new Counter({
    name: "rampart_webhook_attempts_total",
    help: "Webhook delivery attempts by outcome",
    labelNames: ["outcome"],
    registers: [registry],
  });
  let rampart: OpenRampart | undefined;
  let hashQueue: { readonly queued: number } | undefined;
  new Gauge({
    name: "rampart_password_hash_queue_depth",
    help: "Password hashes waiting for a free hashing slot",
    registers: [registry],
    collect() {
      this.set(hashQueue?.queued ?? 0);
    },
  });
  new Gauge({
    name: "rampart_webhook_deliveries",
    help: "Webhook deliveries by state",
    labelNames: ["state"],
    registers: [registry],
    collect() {
      if (!rampart) return;
      for (const [state, n] of Object.entries(rampart.stats().deliveries)) this.set({ state }, n);
    },
  });
  new Gauge({
    name: "rampart_sqlite_bytes",
    help: "Size of the SQLite database (pages in use × page size)",
    registers: [registry],
    collect() {
      if (rampart) this.set(rampart.stats().databaseBytes);
    },
  });

  return {
    registry,
    core: {
      login: (kind, outcome) => logins.observe(kind, outcome),
      webhookAttempt: (outcome) => webhookAttempts.inc({ outcome }),
    },
    http: {
      observe: (route, method, status, seconds) => requests.observe(route, method, status, seconds),
      async render() {
        return { contentType: registry.contentType, body: await registry.metrics() };
      },
    },
    addHelperRequests: (rows) => requests.add(rows),
    addHelperLogins: (rows) => logins.add(rows),
    grpc(method, code, seconds) {
      grpcCalls.inc({ method, code });
      grpcLatency.observe({ method }, seconds);
    },
    bind(r, queue) {
      rampart = r;
      hashQueue = queue;
    },
  };
}
