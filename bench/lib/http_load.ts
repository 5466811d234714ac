/**
 * HTTP load through autocannon, run in its own process (children/http_load.ts) — never in
 * the benchmark's or the server's — against 127.0.0.1 only and bounded in time.
 */
import type { HttpLoadConfig } from "../children/http_load.ts";
import { runForResult } from "./proc.ts";
import { median } from "./stats.ts";

/** One kind of request fired by autocannon. */
export interface HttpLoad {
  url: string;
  method?: "GET" | "POST";
  headers?: Record<string, string>;
  /** JSON body (sent as is, with content-type application/json). */
  body?: string;
  connections: number;
  /** Requests per second over all connections (latency then corrects coordinated omission). */
  rate?: number;
}

/** The figures of one timed run. */
export interface RunStats {
  /** Completed requests per second of the run. */
  rps: number;
  /** Latency percentiles, ms. */
  p50: number;
  p99: number;
  /** Completed requests. */
  total: number;
  /** Socket errors and timeouts. */
  errors: number;
  /** Responses outside 2xx. */
  non2xx: number;
}

/** Several runs and their medians. */
export interface Measured {
  rps: number;
  p50: number;
  p99: number;
  runs: RunStats[];
  /** Over all timed runs. */
  errors: number;
  non2xx: number;
}

/** How long to load: one untimed warm-up, then `runs` timed runs. */
export interface Plan {
  warmupSeconds: number;
  runs: number;
  seconds: number;
}

/** Medians (and error totals) over timed runs. */
export function summarize(runs: RunStats[]): Measured {
  return {
    rps: median(runs.map((r) => r.rps)),
    p50: median(runs.map((r) => r.p50)),
    p99: median(runs.map((r) => r.p99)),
    runs,
    errors: runs.reduce((n, r) => n + r.errors, 0),
    non2xx: runs.reduce((n, r) => n + r.non2xx, 0),
  };
}

/** Fires every load in `loads` at the same time (one load-generator process): one warm-up, then `plan.runs` timed runs. */
export async function measureTogether(loads: HttpLoad[], plan: Plan): Promise<Measured[]> {
  for (const load of loads) if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(load.url)) throw new Error(`load must stay on 127.0.0.1: ${load.url}`);
  const config: HttpLoadConfig = { loads, plan };
  const bound = (plan.warmupSeconds + plan.runs * (plan.seconds + 10) + 30) * 1000;
  const result = await runForResult<{ loads: RunStats[][] }>(
    "bench/children/http_load.ts",
    [JSON.stringify(config)],
    bound,
    `HTTP load ${loads[0]?.url ?? ""}`,
  );
  return result.loads.map(summarize);
}

/** {@link measureTogether} for one load. */
export async function measureHttp(load: HttpLoad, plan: Plan): Promise<Measured> {
  const [m] = await measureTogether([load], plan);
  return m!;
}
