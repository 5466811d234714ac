/** The requests of each scenario, shared by the benchmark (run.ts) and the profiler (profile.ts). */
import { join } from "node:path";
import type { GrpcClientConfig } from "../children/grpc_client.ts";
import type { HttpLoad } from "./http_load.ts";
import { REPO_ROOT } from "./proc.ts";
import type { RampartServer } from "./rampart_server.ts";
import type { HttpSeed } from "./seed.ts";

/** Management headers: the admin key and the realm. */
export function rampartHeaders(adminKey: string, realm: string): Record<string, string> {
  return { "x-authrocket-api-key": adminKey, "x-authrocket-realm": realm };
}

/** P1: `GET /v1/sessions/:token` with the login token of a managed session. */
export function p1Load(server: RampartServer, seed: HttpSeed, adminKey: string, connections: number, rate?: number): HttpLoad {
  return {
    url: `${server.url}/v1/sessions/${seed.sessionToken}`,
    headers: rampartHeaders(adminKey, seed.realmId),
    connections,
    ...(rate !== undefined ? { rate } : {}),
  };
}

/** P2: `POST /v1/users/authenticate_key`. */
export function p2Load(server: RampartServer, seed: HttpSeed, adminKey: string, connections: number): HttpLoad {
  return {
    url: `${server.url}/v1/users/authenticate_key`,
    method: "POST",
    headers: rampartHeaders(adminKey, seed.realmId),
    body: JSON.stringify({ api_key: seed.apiUser.apiKey }),
    connections,
  };
}

/** P3: `POST /v1/users/{u}/authenticate` with the right password. */
export function p3Load(server: RampartServer, seed: HttpSeed, adminKey: string, connections: number): HttpLoad {
  return {
    url: `${server.url}/v1/users/${seed.user.username}/authenticate`,
    method: "POST",
    headers: rampartHeaders(adminKey, seed.realmId),
    body: JSON.stringify({ password: seed.user.password, request: { ip: "127.0.0.1", client: "bench" } }),
    connections,
  };
}

/** P4: `GET /v1/users/:id?expands=memberships` for the user with 10 memberships. */
export function p4Load(server: RampartServer, seed: HttpSeed, adminKey: string, connections: number): HttpLoad {
  return { url: `${server.url}/v1/users/${seed.member10}?expands=memberships`, headers: rampartHeaders(adminKey, seed.realmId), connections };
}

/** P5: gRPC `UserService/GetUser` (without the timing settings). */
export function p5Call(
  server: RampartServer,
  seed: HttpSeed,
  adminKey: string,
  concurrency: number,
): Omit<GrpcClientConfig, "warmupSeconds" | "seconds" | "runs"> {
  return {
    target: server.grpcTarget,
    protoFile: "rampart/v1/user_service.proto",
    includeDirs: [join(REPO_ROOT, "proto")],
    service: "rampart.v1.UserService",
    method: "GetUser",
    request: { id: seed.user.id },
    metadata: rampartHeaders(adminKey, seed.realmId),
    concurrency,
  };
}

/** P6: a page of 100 users of the bulk realm, optionally after `afterId`. */
export function p6Load(server: RampartServer, realmId: string, adminKey: string, afterId?: string): HttpLoad {
  const after = afterId === undefined ? "" : `&after=${afterId}`;
  return { url: `${server.url}/v1/users?max_results=100${after}`, headers: rampartHeaders(adminKey, realmId), connections: 1 };
}

/** P7: `POST /v1/users` creating an api user (the username and key are generated). */
export function p7Load(server: RampartServer, seed: HttpSeed, adminKey: string, connections: number): HttpLoad {
  return {
    url: `${server.url}/v1/users`,
    method: "POST",
    headers: rampartHeaders(adminKey, seed.realmId),
    body: JSON.stringify({ user: { user_type: "api" } }),
    connections,
  };
}
