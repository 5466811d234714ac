/**
 * Process-level test helpers: start the server (as `npm start` does: the bundle of
 * `bin/server.ts`, built once per test process) and `bin/cli.ts` as real child processes over
 * a real SQLite file in a temp folder, on real ports.
 *
 * Every wait is bounded. Every child started here is remembered until it exits, so an
 * `after(killAll)` hook (plus a last-resort `exit` handler) never leaves one behind, even
 * when a test fails half-way.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { randomInt } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { buildServer } from "../../scripts/build.ts";

/** The repository root (the server and CLI run with it as cwd). */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** `ko_` + 22 base62 + `-` + 32..64 base62 (http-v1.md §1). */
export const KO_KEY = /^ko_[0-9A-Za-z]{22}-[0-9A-Za-z]{32,64}$/;
/** A generated key: the secret is exactly 40 characters. */
export const GENERATED_KO_KEY = /ko_[0-9A-Za-z]{22}-[0-9A-Za-z]{40}(?![0-9A-Za-z])/g;
export const REQUEST_ID = /^rq_[0-9A-Za-z]{22}$/;
export const ACCOUNT_ID = /^org_[0-9A-Za-z]{22}$/;

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** Random base62 string of `n` characters. */
export function base62(n: number): string {
  let s = "";
  for (let i = 0; i < n; i++) s += BASE62[randomInt(62)];
  return s;
}

/** A well-formed admin key for `RAMPART_ADMIN_KEY`. */
export function makeAdminKey(): string {
  return `ko_${base62(22)}-${base62(40)}`;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

// ---------------------------------------------------------------------------------------
// Temp folders

const tempDirs = new Set<string>();

/** A fresh folder `…/rampart-XXXXXX`, removed by {@link cleanupTempDirs}. */
export function makeTempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "rampart-"));
  tempDirs.add(dir);
  return dir;
}

export function cleanupTempDirs(): void {
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
    tempDirs.delete(dir);
  }
}

// ---------------------------------------------------------------------------------------
// Ports

/** A port that was free a moment ago (bind 127.0.0.1:0, read it, close). */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => (port > 0 ? resolvePort(port) : reject(new Error("no port"))));
    });
  });
}

// ---------------------------------------------------------------------------------------
// Child processes

const live = new Set<ChildProcess>();

/** SIGKILLs every child still running (for `after()` hooks). */
export async function killAll(): Promise<void> {
  const waits: Promise<unknown>[] = [];
  for (const child of live) {
    if (child.exitCode === null && child.signalCode === null) {
      waits.push(new Promise((r) => child.once("exit", r)));
      child.kill("SIGKILL");
    }
  }
  // Bounded: a SIGKILLed child is reaped almost at once.
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([Promise.all(waits), new Promise((r) => (timer = setTimeout(r, 5000)))]);
  clearTimeout(timer);
  live.clear();
}

process.once("exit", () => {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
});

export interface Exit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A spawned child with collected output. */
export interface Spawned {
  child: ChildProcess;
  stdout(): string;
  stderr(): string;
  /** Resolves when the process has exited (never rejects). */
  exited: Promise<Exit>;
}

let bundle: Promise<string> | undefined;

/** The server as `npm start` runs it: dist/server.js, built from the current sources once per test process. */
function serverArgs(): Promise<string[]> {
  bundle ??= buildServer();
  return bundle.then((path) => [path]);
}

/** Spawns `node [--import tsx] <args>`: TypeScript sources through tsx, the plain-JS bundle without it. */
function spawnTracked(args: string[], env: Record<string, string | undefined>): Spawned {
  const fullEnv: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...env })) if (v !== undefined) fullEnv[k] = v;
  // Keep the child's behaviour independent of how the test runner was started.
  delete fullEnv.NODE_TEST_CONTEXT;
  delete fullEnv.NODE_OPTIONS;
  const loader = args[0]?.endsWith(".js") ? [] : ["--import", "tsx"];
  const child = spawn(process.execPath, [...loader, ...args], { cwd: REPO_ROOT, env: fullEnv, stdio: ["ignore", "pipe", "pipe"] });
  live.add(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => (err += c));
  const exited = new Promise<Exit>((r) => {
    // "close" waits for the output streams too, so stdout()/stderr() are complete.
    child.once("close", (code, signal) => {
      live.delete(child);
      r({ code, signal });
    });
    child.once("error", () => {
      live.delete(child);
      r({ code: null, signal: null });
    });
  });
  return { child, stdout: () => out, stderr: () => err, exited };
}

/** Waits for `exited` at most `ms`; then SIGKILLs the child and throws. */
export async function waitExit(s: Spawned, ms: number, what: string): Promise<Exit> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  const result = await Promise.race([s.exited, timeout]);
  clearTimeout(timer);
  if (result === "timeout") {
    s.child.kill("SIGKILL");
    await s.exited;
    throw new Error(`${what}: did not exit within ${ms} ms\nstdout:\n${s.stdout()}\nstderr:\n${s.stderr()}`);
  }
  return result;
}

export interface ServerOptions {
  /** RAMPART_DB; default `<new temp dir>/rampart.db`. */
  dbPath?: string;
  /** Extra/overriding environment (undefined removes a variable). */
  env?: Record<string, string | undefined>;
  /** Wait for `GET /health` → 200 (default true). */
  waitHealthy?: boolean;
  /** Bound of the health wait (default 15 s). */
  healthTimeoutMs?: number;
}

export interface ServerProcess extends Spawned {
  dbPath: string;
  httpPort: number;
  grpcPort: number;
  /** `http://127.0.0.1:<httpPort>` */
  url: string;
  /** Sends `signal` and awaits the exit (SIGKILL + throw after `timeoutMs`). */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<Exit>;
  /** JSON log lines from stdout (non-JSON lines skipped). */
  logLines(): Record<string, unknown>[];
}

/** Starts the server (dist/server.js, as `npm start` does) as a child process. */
export async function startServer(options: ServerOptions = {}): Promise<ServerProcess> {
  const dbPath = options.dbPath ?? join(makeTempDir(), "rampart.db");
  // A freshly found port can be taken by someone else before the child binds it: retry
  // with new ports, a bounded number of times, when the listen itself failed.
  for (let attempt = 1; ; attempt++) {
    const httpPort = await freePort();
    let grpcPort = await freePort();
    for (let i = 0; grpcPort === httpPort && i < 5; i++) grpcPort = await freePort();
    const s = spawnTracked(await serverArgs(), {
      RAMPART_DB: dbPath,
      RAMPART_HOST: "127.0.0.1",
      RAMPART_HTTP_PORT: String(httpPort),
      RAMPART_GRPC_PORT: String(grpcPort),
      RAMPART_ADMIN_KEY: undefined,
      RAMPART_SYNCHRONOUS: undefined,
      ...options.env,
    });
    const url = `http://127.0.0.1:${httpPort}`;
    const server: ServerProcess = {
      ...s,
      dbPath,
      httpPort,
      grpcPort,
      url,
      stop: async (signal = "SIGTERM", timeoutMs = 15_000) => {
        if (s.child.exitCode === null && s.child.signalCode === null) s.child.kill(signal);
        return waitExit(s, timeoutMs, `server after ${signal}`);
      },
      logLines: () => parseJsonLines(s.stdout()),
    };
    if (options.waitHealthy === false) return server;
    const healthy = await waitHealthy(server, options.healthTimeoutMs ?? 15_000);
    if (healthy === "ok") return server;
    if (healthy === "exited" && attempt < 3 && /cannot listen|EADDRINUSE/.test(s.stderr())) continue;
    s.child.kill("SIGKILL");
    await waitExit(s, 5000, "unhealthy server").catch(() => undefined);
    throw new Error(`server did not become healthy (${healthy})\nstdout:\n${s.stdout()}\nstderr:\n${s.stderr()}`);
  }
}

/** Polls `GET /health` until 200, the child exits, or the time is up. */
async function waitHealthy(server: ServerProcess, timeoutMs: number): Promise<"ok" | "exited" | "timeout"> {
  const deadline = Date.now() + timeoutMs;
  let exited = false;
  void server.exited.then(() => (exited = true));
  const maxTries = Math.ceil(timeoutMs / 100) + 1;
  for (let i = 0; i < maxTries && Date.now() < deadline; i++) {
    if (exited) return "exited";
    try {
      const res = await fetch(`${server.url}/health`, { signal: AbortSignal.timeout(2000) });
      await res.arrayBuffer();
      if (res.status === 200) return "ok";
    } catch {
      // not listening yet
    }
    await sleep(100);
  }
  return exited ? "exited" : "timeout";
}

/** Runs a process that is expected to exit on its own (e.g. a failing start-up). */
export async function runServerToExit(env: Record<string, string | undefined>, timeoutMs = 20_000): Promise<Exit & { stdout: string; stderr: string }> {
  const dbDir = makeTempDir();
  const s = spawnTracked(await serverArgs(), {
    RAMPART_DB: join(dbDir, "rampart.db"),
    RAMPART_HOST: "127.0.0.1",
    RAMPART_HTTP_PORT: "0",
    RAMPART_GRPC_PORT: "0",
    RAMPART_ADMIN_KEY: undefined,
    ...env,
  });
  const exit = await waitExit(s, timeoutMs, "server start-up");
  return { ...exit, stdout: s.stdout(), stderr: s.stderr() };
}

/** Runs `bin/cli.ts <args>` to completion. */
export async function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 20_000): Promise<Exit & { stdout: string; stderr: string }> {
  const s = spawnTracked(["bin/cli.ts", ...args], env);
  const exit = await waitExit(s, timeoutMs, `cli ${args.join(" ")}`);
  return { ...exit, stdout: s.stdout(), stderr: s.stderr() };
}

export function parseJsonLines(text: string): Record<string, unknown>[] {
  const lines: Record<string, unknown>[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (!t.startsWith("{")) continue;
    try {
      const v: unknown = JSON.parse(t);
      if (v && typeof v === "object" && !Array.isArray(v)) lines.push(v as Record<string, unknown>);
    } catch {
      // not a log line
    }
  }
  return lines;
}

// ---------------------------------------------------------------------------------------
// HTTP

export interface JsonResponse {
  status: number;
  headers: Headers;
  body: unknown;
  text: string;
}

/** One request with a management key (`X-Authrocket-Api-Key`) and an optional realm. */
export async function api(
  server: { url: string },
  method: string,
  path: string,
  options: { key?: string; realm?: string; body?: unknown; headers?: Record<string, string> } = {},
): Promise<JsonResponse> {
  const headers: Record<string, string> = { accept: "application/json", ...options.headers };
  if (options.key) headers["x-authrocket-api-key"] = options.key;
  if (options.realm) headers["x-authrocket-realm"] = options.realm;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${server.url}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  let body: unknown = undefined;
  try {
    body = text === "" ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  return { status: res.status, headers: res.headers, body, text };
}

/** Creates a realm and returns its id (asserting 201). */
export async function createRealm(server: { url: string }, key: string, name = `realm ${base62(6)}`): Promise<string> {
  const res = await api(server, "POST", "/v1/realms", { key, body: { realm: { name } } });
  if (res.status !== 201) throw new Error(`POST /v1/realms → ${res.status}: ${res.text}`);
  const id = (res.body as { id?: unknown }).id;
  if (typeof id !== "string" || !id.startsWith("rl_")) throw new Error(`POST /v1/realms: no realm id in ${res.text}`);
  return id;
}

// ---------------------------------------------------------------------------------------
// gRPC

/** `grpc.health.v1.Health/Check` with service "" against host:port. */
export async function grpcHealth(port: number): Promise<string> {
  const require = createRequire(import.meta.url);
  const protoDir = join(dirname(require.resolve("grpc-health-check/package.json")), "proto");
  const definition = protoLoader.loadSync("health/v1/health.proto", { includeDirs: [protoDir], keepCase: true, enums: String, defaults: true });
  const loaded = grpc.loadPackageDefinition(definition) as unknown as {
    grpc: { health: { v1: { Health: new (address: string, creds: grpc.ChannelCredentials) => grpc.Client & Record<string, unknown> } } };
  };
  const client = new loaded.grpc.health.v1.Health(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  try {
    const check = client.Check as (
      req: { service: string },
      opts: { deadline: Date },
      cb: (err: grpc.ServiceError | null, res?: { status: string }) => void,
    ) => void;
    return await new Promise<string>((resolve, reject) => {
      check.call(client, { service: "" }, { deadline: new Date(Date.now() + 10_000) }, (err, res) => (err ? reject(err) : resolve(String(res?.status))));
    });
  } finally {
    client.close();
  }
}
