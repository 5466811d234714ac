/**
 * Child processes for the benchmark: every server, load generator and baseline runs in its
 * own process, is remembered until it exits, and is SIGKILLed if the benchmark stops early.
 * Every wait is bounded.
 */
import { spawn, type ChildProcess } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

/** The repository root; children run with it as their working directory. */
export const REPO_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

const live = new Set<ChildProcess>();
const tempDirs = new Set<string>();

/** SIGKILLs every child still running and removes the temp folders (idempotent). */
export function cleanupAll(): void {
  for (const child of live) {
    try {
      child.kill("SIGKILL");
    } catch {
      // already gone
    }
  }
  live.clear();
  for (const dir of tempDirs) {
    try {
      rmSync(dir, { recursive: true, force: true });
    } catch {
      // best effort
    }
  }
  tempDirs.clear();
}

process.once("exit", cleanupAll);

/** A fresh folder under the OS temp dir, removed by {@link cleanupAll}. */
export function makeTempDir(prefix = "rampart-bench-"): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  tempDirs.add(dir);
  return dir;
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

/** A port that was free a moment ago on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolvePort, reject) => {
    const srv = createServer();
    srv.unref();
    srv.once("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const address = srv.address();
      const port = typeof address === "object" && address ? address.port : 0;
      srv.close(() => (port > 0 ? resolvePort(port) : reject(new Error("no free port"))));
    });
  });
}

/** A running child with its collected output. */
export interface Child {
  process: ChildProcess;
  pid: number;
  stdout(): string;
  stderr(): string;
  /** Resolves with the exit code (null when killed by a signal); never rejects. */
  exited: Promise<number | null>;
  /** Sends `signal` and waits for the exit; SIGKILLs after `timeoutMs`. */
  stop(signal?: NodeJS.Signals, timeoutMs?: number): Promise<number | null>;
}

export interface SpawnOptions {
  /** Extra environment; `undefined` removes a variable. */
  env?: Record<string, string | undefined>;
  /** Node flags placed before the script (e.g. `--cpu-prof`). */
  nodeArgs?: string[];
  /** Run the script through tsx (default true; plain `.js` files need false). */
  tsx?: boolean;
}

/** Starts `node [--import tsx] <script> <args>` from the repository root. */
export function spawnNode(script: string, args: string[] = [], options: SpawnOptions = {}): Child {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries({ ...process.env, ...options.env })) if (v !== undefined) env[k] = v;
  delete env.NODE_OPTIONS;
  const loader = options.tsx === false ? [] : ["--import", "tsx"];
  const child = spawn(process.execPath, [...(options.nodeArgs ?? []), ...loader, script, ...args], {
    cwd: REPO_ROOT,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  live.add(child);
  let out = "";
  let err = "";
  child.stdout!.setEncoding("utf8").on("data", (c: string) => (out += c));
  child.stderr!.setEncoding("utf8").on("data", (c: string) => {
    // Keep only the tail: a chatty child must not grow the benchmark's heap.
    err = (err + c).slice(-20_000);
  });
  const exited = new Promise<number | null>((r) => {
    child.once("close", (code) => {
      live.delete(child);
      r(code);
    });
    child.once("error", () => {
      live.delete(child);
      r(null);
    });
  });
  const stop = async (signal: NodeJS.Signals = "SIGTERM", timeoutMs = 15_000): Promise<number | null> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
    const result = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (result === "timeout") {
      child.kill("SIGKILL");
      return exited;
    }
    return result;
  };
  return { process: child, pid: child.pid ?? -1, stdout: () => out, stderr: () => err, exited, stop };
}

/** Waits until the child's stdout holds a line matching `pattern`; returns the match. */
export async function waitForLine(child: Child, pattern: RegExp, timeoutMs: number, what: string): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs;
  let gone = false;
  void child.exited.then(() => (gone = true));
  while (Date.now() < deadline) {
    const m = child.stdout().match(pattern);
    if (m) return m;
    if (gone) break;
    await sleep(25);
  }
  await child.stop("SIGKILL", 2000);
  throw new Error(`${what}: no ${pattern} within ${timeoutMs} ms\nstdout:\n${child.stdout().slice(-2000)}\nstderr:\n${child.stderr().slice(-4000)}`);
}

/** Runs a child to completion (bounded) and returns its last `RESULT {json}` line, parsed. */
export async function runForResult<T>(script: string, args: string[], timeoutMs: number, what: string, options: SpawnOptions = {}): Promise<T> {
  const child = spawnNode(script, args, options);
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), timeoutMs)));
  const code = await Promise.race([child.exited, timeout]);
  clearTimeout(timer);
  if (code === "timeout") {
    await child.stop("SIGKILL", 2000);
    throw new Error(`${what}: did not finish within ${timeoutMs} ms\nstderr:\n${child.stderr().slice(-4000)}`);
  }
  const lines = child
    .stdout()
    .split("\n")
    .filter((l) => l.startsWith("RESULT "));
  if (code !== 0 || lines.length === 0) {
    throw new Error(`${what}: exited with ${code}\nstdout:\n${child.stdout().slice(-2000)}\nstderr:\n${child.stderr().slice(-4000)}`);
  }
  return JSON.parse(lines[lines.length - 1]!.slice("RESULT ".length)) as T;
}

/** Resident set size of one process in MiB (`VmRSS` of /proc/<pid>/status), or null when unreadable. */
function ownRssMiB(pid: number): number | null {
  try {
    const m = readFileSync(`/proc/${pid}/status`, "utf8").match(/^VmRSS:\s+(\d+)\s+kB/m);
    return m ? Number(m[1]) / 1024 : null;
  } catch {
    return null;
  }
}

/** The pids of a process's children (from /proc/<pid>/task/<tid>/children). */
function childPids(pid: number): number[] {
  try {
    return readdirSync(`/proc/${pid}/task`).flatMap((tid) => readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

/**
 * Resident set size of a process and all its descendants in MiB (Rampart's HTTP helper
 * processes count towards the server's memory), or null when the process is unreadable.
 */
export function rssMiB(pid: number): number | null {
  const own = ownRssMiB(pid);
  if (own === null) return null;
  return childPids(pid).reduce((sum, child) => sum + (rssMiB(child) ?? 0), own);
}

/** Samples {@link rssMiB} every `everyMs` until stopped; returns the peak. */
export function sampleRss(pid: number, everyMs = 200): { stop(): number | null } {
  let peak: number | null = null;
  const take = (): void => {
    const v = rssMiB(pid);
    if (v !== null && (peak === null || v > peak)) peak = v;
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return peak;
    },
  };
}
