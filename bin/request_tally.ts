/**
 * HTTP requests by route and method — counts by status and a latency histogram — and login
 * outcomes, kept in plain Maps. prom-client builds and hashes a label key, and validates the
 * labels, on every `inc` and `observe`: a few µs on each request's path, and the primary did
 * it again for every request a helper answered. A tally costs a Map lookup or two per
 * request; helpers send theirs to the primary as rows once a second, and the primary's is
 * read at scrape time (metrics.ts).
 */
import type { MetricsSink } from "@rampart/core";

/** Latency bounds in seconds (Prometheus `le`), shared with the gRPC histogram. */
export const LATENCY_BUCKETS: readonly number[] = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** One route and method's requests. */
export interface RouteTally {
  readonly route: string;
  readonly method: string;
  /** Requests by status code. */
  readonly statuses: Map<number, number>;
  /** Requests per latency bucket, not cumulative: `buckets[i]` ≤ LATENCY_BUCKETS[i] and above the bound before; the last one is above every bound. */
  readonly buckets: number[];
  /** Seconds, over all requests. */
  sum: number;
}

/** A tally as plain data (what a helper sends): route, method, [status, count] pairs, buckets, sum. */
export type TallyRows = [route: string, method: string, statuses: [number, number][], buckets: number[], sum: number][];

/** The latency bucket of `seconds` (the first bound it does not exceed). */
function bucketOf(seconds: number): number {
  let i = 0;
  while (i < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[i]!) i++;
  return i;
}

export class RequestTally {
  /** By method, then route: both are strings the app already holds, so a lookup allocates nothing. */
  readonly #byMethod = new Map<string, Map<string, RouteTally>>();

  /** One answered request: the route pattern (or "unmatched"), method, status, seconds. */
  observe(route: string, method: string, status: number, seconds: number): void {
    const tally = this.#tally(route, method);
    tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + 1);
    tally.buckets[bucketOf(seconds)]!++;
    tally.sum += seconds;
  }

  /** Adds another tally's rows (a helper's) to this one. */
  add(rows: TallyRows): void {
    for (const [route, method, statuses, buckets, sum] of rows) {
      const tally = this.#tally(route, method);
      for (const [status, n] of statuses) tally.statuses.set(status, (tally.statuses.get(status) ?? 0) + n);
      for (let i = 0; i < tally.buckets.length; i++) tally.buckets[i]! += buckets[i] ?? 0;
      tally.sum += sum;
    }
  }

  /** Every route and method seen, in the order first seen. */
  *routes(): IterableIterator<RouteTally> {
    for (const byRoute of this.#byMethod.values()) yield* byRoute.values();
  }

  /** The tally as rows, and empties it. */
  take(): TallyRows {
    const rows: TallyRows = [];
    for (const t of this.routes()) rows.push([t.route, t.method, [...t.statuses], t.buckets, t.sum]);
    this.#byMethod.clear();
    return rows;
  }

  #tally(route: string, method: string): RouteTally {
    let byRoute = this.#byMethod.get(method);
    if (byRoute === undefined) this.#byMethod.set(method, (byRoute = new Map()));
    let tally = byRoute.get(route);
    if (tally === undefined) {
      tally = { route, method, statuses: new Map(), buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0 };
      byRoute.set(route, tally);
    }
    return tally;
  }
}

/** A login's kind and outcome (MetricsSink.login's arguments). */
type LoginLabels = Parameters<MetricsSink["login"]>;

/** Login counts as plain data (what a helper sends): kind, outcome, count. */
export type LoginRows = [...LoginLabels, number][];

/** Login outcomes by kind, counted in a Map: one update per login, rows at scrape or flush. */
export class LoginTally {
  /** By `kind + "\n" + outcome`. */
  readonly #counts = new Map<string, number>();

  observe(kind: LoginLabels[0], outcome: LoginLabels[1], count = 1): void {
    const key = `${kind}\n${outcome}`;
    this.#counts.set(key, (this.#counts.get(key) ?? 0) + count);
  }

  /** Adds another tally's rows (a helper's) to this one. */
  add(rows: LoginRows): void {
    for (const [kind, outcome, count] of rows) this.observe(kind, outcome, count);
  }

  /** The counts as rows. */
  rows(): LoginRows {
    return [...this.#counts].map(([key, count]) => {
      const [kind, outcome] = key.split("\n") as LoginLabels;
      return [kind, outcome, count];
    });
  }

  /** The counts as rows, and empties the tally. */
  take(): LoginRows {
    const rows = this.rows();
    this.#counts.clear();
    return rows;
  }
}
