/**
 * gRPC load generator: one @grpc/grpc-js client (one channel) keeping `concurrency` unary
 * calls in flight for `seconds`, after an untimed warm-up, `runs` times. Takes its settings
 * as one JSON argument and prints `RESULT {"runs": [...]}`.
 */
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import type { RunStats } from "../lib/http_load.ts";
import { percentile } from "../lib/stats.ts";

/** The settings (the one JSON argument). */
export interface GrpcClientConfig {
  /** `127.0.0.1:<port>` */
  target: string;
  /** Relative to one of `includeDirs`. */
  protoFile: string;
  includeDirs: string[];
  /** Fully qualified, e.g. `rampart.v1.UserService`. */
  service: string;
  method: string;
  request: Record<string, unknown>;
  metadata: Record<string, string>;
  concurrency: number;
  warmupSeconds: number;
  seconds: number;
  runs: number;
}

type Unary = (request: unknown, metadata: grpc.Metadata, options: grpc.CallOptions, callback: (err: grpc.ServiceError | null) => void) => void;

const config = JSON.parse(process.argv[2] ?? "{}") as GrpcClientConfig;
if (!/^127\.0\.0\.1:\d+$/.test(config.target)) throw new Error(`load must stay on 127.0.0.1: ${config.target}`);
const definition = protoLoader.loadSync(config.protoFile, { includeDirs: config.includeDirs, keepCase: true, longs: String, enums: String });
let node: any = grpc.loadPackageDefinition(definition);
for (const part of config.service.split(".")) node = node[part];
const Client = node as grpc.ServiceClientConstructor;
const client = new Client(config.target, grpc.credentials.createInsecure());
const metadata = new grpc.Metadata();
for (const [k, v] of Object.entries(config.metadata)) metadata.set(k, v);
const call = (client as unknown as Record<string, Unary>)[config.method]!.bind(client);

function once(): Promise<boolean> {
  return new Promise((resolve) => call(config.request, metadata, { deadline: Date.now() + 10_000 }, (err) => resolve(err === null)));
}

/** Keeps `concurrency` calls in flight until `seconds` have passed. */
async function load(seconds: number): Promise<RunStats> {
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + seconds * 1000;
  const worker = async (): Promise<void> => {
    while (performance.now() < end) {
      const t0 = performance.now();
      const ok = await once();
      if (ok) latencies.push(performance.now() - t0);
      else errors++;
    }
  };
  await Promise.all(Array.from({ length: config.concurrency }, worker));
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), total: latencies.length, errors, non2xx: 0 };
}

await new Promise<void>((resolve, reject) => client.waitForReady(Date.now() + 10_000, (err) => (err ? reject(err) : resolve())));
// One call first: a failing setup (wrong key, unknown method) should say so, not time out.
await new Promise<void>((resolve, reject) =>
  call(config.request, metadata, { deadline: Date.now() + 10_000 }, (err) => (err ? reject(new Error(`${config.method}: ${err.message}`)) : resolve())),
);
if (config.warmupSeconds > 0) await load(config.warmupSeconds);
const runs: RunStats[] = [];
for (let i = 0; i < config.runs; i++) runs.push(await load(config.seconds));
client.close();
process.stdout.write(`RESULT ${JSON.stringify({ runs })}\n`);
