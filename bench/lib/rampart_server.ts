/** Starts Rampart as `npm start` does (the bundle of `bin/server.ts`) as a child process on free 127.0.0.1 ports. */
import { buildServer } from "../../scripts/build.ts";
import { freePort, sleep, spawnNode, type Child } from "./proc.ts";

export interface RampartServer {
  child: Child;
  /** `http://127.0.0.1:<port>` */
  url: string;
  /** `127.0.0.1:<port>` */
  grpcTarget: string;
  dbPath: string;
}

export interface RampartServerOptions {
  dbPath: string;
  adminKey: string;
  synchronous: "FULL" | "NORMAL";
  /** Extra node flags, e.g. `--cpu-prof`. */
  nodeArgs?: string[];
}

async function healthy(child: Child, url: string, timeoutMs: number): Promise<"ok" | "exited" | "timeout"> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void child.exited.then(() => (exited = true));
  while (Date.now() < deadline) {
    if (exited) return "exited";
    try {
      const res = await fetch(`${url}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return "ok";
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return exited ? "exited" : "timeout";
}

/** Starts the server and waits until `GET /health` answers 200 (retries once on a port race). */
export async function startRampart(options: RampartServerOptions): Promise<RampartServer> {
  const bundle = await buildServer();
  for (let attempt = 1; ; attempt++) {
    const httpPort = await freePort();
    let grpcPort = await freePort();
    while (grpcPort === httpPort) grpcPort = await freePort();
    const child = spawnNode(bundle, [], {
      tsx: false,
      nodeArgs: options.nodeArgs ?? [],
      env: {
        RAMPART_DB: options.dbPath,
        RAMPART_HOST: "127.0.0.1",
        RAMPART_HTTP_PORT: String(httpPort),
        RAMPART_GRPC_PORT: String(grpcPort),
        RAMPART_ADMIN_KEY: options.adminKey,
        RAMPART_LOG_LEVEL: "warn",
        RAMPART_SYNCHRONOUS: options.synchronous,
      },
    });
    const url = `http://127.0.0.1:${httpPort}`;
    const state = await healthy(child, url, 30_000);
    if (state === "ok") return { child, url, grpcTarget: `127.0.0.1:${grpcPort}`, dbPath: options.dbPath };
    await child.stop("SIGKILL", 5000);
    if (state === "exited" && attempt < 3 && /cannot listen|EADDRINUSE/.test(child.stderr())) continue;
    throw new Error(`rampart did not become healthy (${state})\nstderr:\n${child.stderr().slice(-4000)}`);
  }
}
