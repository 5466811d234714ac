/** gRPC load: a separate-process @grpc/grpc-js client (children/grpc_client.ts). */
import type { GrpcClientConfig } from "../children/grpc_client.ts";
import { summarize, type Measured, type Plan, type RunStats } from "./http_load.ts";
import { runForResult } from "./proc.ts";

/** Runs the gRPC load generator with `concurrency` calls in flight, one warm-up and `plan.runs` timed runs. */
export async function measureGrpc(config: Omit<GrpcClientConfig, "warmupSeconds" | "seconds" | "runs">, plan: Plan): Promise<Measured> {
  const full: GrpcClientConfig = { ...config, warmupSeconds: plan.warmupSeconds, seconds: plan.seconds, runs: plan.runs };
  const bound = (plan.warmupSeconds + plan.runs * plan.seconds + 60) * 1000;
  const { runs } = await runForResult<{ runs: RunStats[] }>("bench/children/grpc_client.ts", [JSON.stringify(full)], bound, `gRPC load ${config.method}`);
  return summarize(runs);
}
