/**
 * HTTP load generator: autocannon (programmatic API), in its own process. Fires every load
 * of the config at the same time: one untimed warm-up, then `runs` timed runs. Takes one JSON
 * argument and prints `RESULT {"loads": [[run, …], …]}`; `RUN <i>` / `DONE <i>` lines mark the
 * timed runs as they happen.
 */
import { createRequire } from "node:module";
import type { HttpLoad, Plan, RunStats } from "../lib/http_load.ts";

/** The settings (the one JSON argument). */
export interface HttpLoadConfig {
  loads: HttpLoad[];
  plan: Plan;
}

interface AutocannonOptions {
  url: string;
  connections: number;
  duration: number;
  method: string;
  headers: Record<string, string>;
  body?: string;
  overallRate?: number;
  timeout: number;
  sampleInt: number;
}

interface AutocannonResult {
  requests: { average: number; total: number };
  samples: number;
  latency: { p50: number; p99: number };
  errors: number;
  timeouts: number;
  non2xx: number;
}

// autocannon ships no types; this is the part of its API used here.
const autocannon = createRequire(import.meta.url)("autocannon") as (options: AutocannonOptions) => Promise<AutocannonResult>;

const config = JSON.parse(process.argv[2] ?? "{}") as HttpLoadConfig;
for (const load of config.loads) if (!/^http:\/\/127\.0\.0\.1:\d+\//.test(load.url)) throw new Error(`load must stay on 127.0.0.1: ${load.url}`);

/** Sampling interval: a run stops at the first sample tick after its duration. */
const SAMPLE_MS = 100;

async function once(load: HttpLoad, seconds: number): Promise<RunStats> {
  const result = await autocannon({
    url: load.url,
    connections: load.connections,
    duration: seconds,
    method: load.method ?? "GET",
    headers: { ...load.headers, ...(load.body !== undefined ? { "content-type": "application/json" } : {}) },
    ...(load.body !== undefined ? { body: load.body } : {}),
    ...(load.rate !== undefined ? { overallRate: load.rate } : {}),
    timeout: 10,
    sampleInt: SAMPLE_MS,
  });
  return {
    // autocannon stops (and counts) on its sampling tick, so the run lasts a whole number of
    // samples; its completed requests over that time.
    rps: result.requests.total / ((result.samples * SAMPLE_MS) / 1000),
    p50: result.latency.p50,
    p99: result.latency.p99,
    total: result.requests.total,
    errors: result.errors + result.timeouts,
    non2xx: result.non2xx,
  };
}

if (config.plan.warmupSeconds > 0) await Promise.all(config.loads.map((l) => once(l, config.plan.warmupSeconds)));
const loads: RunStats[][] = config.loads.map(() => []);
for (let i = 0; i < config.plan.runs; i++) {
  process.stdout.write(`RUN ${i}\n`);
  const results = await Promise.all(config.loads.map((l) => once(l, config.plan.seconds)));
  process.stdout.write(`DONE ${i}\n`);
  results.forEach((r, j) => loads[j]!.push(r));
}
process.stdout.write(`RESULT ${JSON.stringify({ loads })}\n`);
