/**
 * `node --import tsx bench/profile.ts [--scenarios P1,P2,P4] [--seconds 10] [--top 25]`:
 * where the server's time goes. For each scenario it starts a fresh Rampart with
 * `--cpu-prof`, seeds it through the HTTP API, drives the scenario's load for `--seconds`,
 * stops the server (SIGTERM, so V8 writes the profile) and prints the functions and files with
 * the most self time, and the files and packages with the most time on the stack. The `.cpuprofile` files are kept in bench/results/profiles/ for Chrome
 * DevTools or speedscope.
 */
import { readdirSync, readFileSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";
import { measureGrpc } from "./lib/grpc_load.ts";
import { measureHttp, type HttpLoad, type Measured } from "./lib/http_load.ts";
import { cleanupAll, makeTempDir, REPO_ROOT } from "./lib/proc.ts";
import { startRampart, type RampartServer } from "./lib/rampart_server.ts";
import { p1Load, p2Load, p3Load, p4Load, p5Call, p7Load } from "./lib/scenarios.ts";
import { makeAdminKey, seedHttp, type HttpSeed } from "./lib/seed.ts";
import { fmt } from "./lib/stats.ts";

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
  endTime: number;
}

/** Self time per function and per file (or package), as shares of all samples. */
export interface ProfileSummary {
  /** Sampled time spent running (everything but "(idle)"). */
  busyMs: number;
  idleMs: number;
  functions: { name: string; where: string; selfMs: number; share: number }[];
  files: { where: string; selfMs: number; share: number }[];
  /** Time with a frame of the file or package anywhere on the stack (inclusive). */
  inclusive: { where: string; ms: number; share: number }[];
}

/** Where a script URL lives: its file (repository-relative or `<package>/…`) and the group it counts to (the package, or the file). */
function place(url: string): { where: string; group: string } {
  if (url === "") return { where: "(VM)", group: "(VM)" };
  const path = url.startsWith("file://") ? new URL(url).pathname : url;
  const nm = path.lastIndexOf("/node_modules/");
  if (nm >= 0) {
    const parts = path.slice(nm + "/node_modules/".length).split("/");
    const pkg = parts[0]!.startsWith("@") ? parts.slice(0, 2).join("/") : parts[0]!;
    return { where: parts.join("/"), group: `${pkg} (package)` };
  }
  const where = path.startsWith("/") ? relative(REPO_ROOT, path) : path;
  return { where, group: where };
}

/**
 * Aggregates a V8 CPU profile by self time; shares are of busy (non-idle) time. With `window`
 * (µs before the profile's end), only the samples taken within it count.
 */
export function summarizeProfile(profile: CpuProfile, top: number, window?: { fromEndUs: number; toEndUs: number }): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const selfUs = new Map<number, number>();
  const from = window ? profile.endTime - window.fromEndUs : -Infinity;
  const to = window ? profile.endTime - window.toEndUs : Infinity;
  let at = profile.startTime;
  // Each sample's time is the delta to the next sample (V8's convention).
  profile.samples.forEach((id, i) => {
    at += profile.timeDeltas[i] ?? 0;
    if (at < from || at > to) return;
    const dt = profile.timeDeltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, dt));
  });
  const fn = new Map<string, { name: string; where: string; us: number }>();
  const groups = new Map<string, number>();
  const inclusive = new Map<string, number>();
  let busy = 0;
  let idle = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === "(idle)") {
      idle += us;
      continue;
    }
    busy += us;
    const { where, group } = place(url);
    const name = functionName || "(anonymous)";
    const key = `${name}@${url}:${lineNumber}`;
    const entry = fn.get(key) ?? { name, where: url ? `${where}:${lineNumber + 1}` : where, us: 0 };
    entry.us += us;
    fn.set(key, entry);
    const groupKey = url ? group : name;
    groups.set(groupKey, (groups.get(groupKey) ?? 0) + us);
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const frame = byId.get(at)!.callFrame;
      if (frame.url) seen.add(place(frame.url).group);
    }
    for (const g of seen) inclusive.set(g, (inclusive.get(g) ?? 0) + us);
  }
  const share = (us: number): number => (busy > 0 ? us / busy : 0);
  return {
    busyMs: busy / 1000,
    idleMs: idle / 1000,
    functions: [...fn.values()]
      .sort((a, b) => b.us - a.us)
      .slice(0, top)
      .map((f) => ({ name: f.name, where: f.where, selfMs: f.us / 1000, share: share(f.us) })),
    files: [...groups.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, selfMs: us / 1000, share: share(us) })),
    inclusive: [...inclusive.entries()]
      .filter(([where]) => !where.startsWith("node:"))
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([where, us]) => ({ where, ms: us / 1000, share: share(us) })),
  };
}

const USAGE = "usage: bench/profile.ts [--scenarios P1,P2,P4] [--seconds 10] [--top 25] | --analyze <file.cpuprofile> [--top 25]";

function parseArgs(argv: string[]): { scenarios: string[]; seconds: number; top: number; analyze: string | undefined } {
  const out = { scenarios: ["P1", "P2", "P4"], seconds: 10, top: 25, analyze: undefined as string | undefined };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.includes("=") ? argv[i]!.split("=", 2) : [argv[i]!, undefined];
    const value = (): string => inline ?? argv[++i] ?? "";
    if (flag === "--scenarios") out.scenarios = value().toUpperCase().split(",").filter(Boolean);
    else if (flag === "--seconds") out.seconds = Number(value());
    else if (flag === "--top") out.top = Number(value());
    else if (flag === "--analyze") out.analyze = value();
    else throw new Error(`unknown option ${argv[i]}; ${USAGE}`);
  }
  const known = ["P1", "P2", "P3", "P4", "P5", "P7"];
  for (const s of out.scenarios) if (!known.includes(s)) throw new Error(`unknown scenario ${s} (profiled: ${known.join(", ")})`);
  if (!(out.seconds > 0 && out.seconds <= 120)) throw new Error("--seconds must be within (0, 120]");
  return out;
}

async function loadFor(scenario: string, server: RampartServer, seed: HttpSeed, key: string, seconds: number): Promise<Measured> {
  const plan = { warmupSeconds: 1, runs: 1, seconds };
  if (scenario === "P5") return measureGrpc(p5Call(server, seed, key, 50), plan);
  const loads: Record<string, HttpLoad> = {
    P1: p1Load(server, seed, key, 50),
    P2: p2Load(server, seed, key, 50),
    P3: p3Load(server, seed, key, 16),
    P4: p4Load(server, seed, key, 50),
    P7: p7Load(server, seed, key, 16),
  };
  return measureHttp(loads[scenario]!, plan);
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.analyze !== undefined) {
    const summary = summarizeProfile(JSON.parse(readFileSync(args.analyze, "utf8")) as CpuProfile, args.top);
    process.stdout.write(render(summary, args.analyze, args.analyze));
    return;
  }
  const outDir = join(REPO_ROOT, "bench", "results", "profiles");
  mkdirSync(outDir, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, "-");
  for (const scenario of args.scenarios) {
    // One folder per scenario: tsx's module-loader thread writes a profile of its own next to
    // the main thread's; the main thread's is the busy one.
    const dir = join(outDir, `${stamp}-${scenario}`);
    mkdirSync(dir, { recursive: true });
    const adminKey = makeAdminKey();
    const server = await startRampart({
      dbPath: join(makeTempDir(), "rampart.db"),
      adminKey,
      synchronous: "FULL",
      nodeArgs: ["--cpu-prof", "--cpu-prof-dir", dir],
    });
    const seed = await seedHttp(server.url, adminKey, 10);
    const measured = await loadFor(scenario, server, seed, adminKey, args.seconds);
    const loadEnded = performance.now();
    await server.child.stop("SIGTERM", 30_000);
    // Only the timed run counts (not start-up, seeding, warm-up or shutdown): it ended when the
    // load generator exited, `seconds` after it began; trim a little on both sides.
    const sinceEndUs = (performance.now() - loadEnded) * 1000;
    const window = { fromEndUs: sinceEndUs + (args.seconds - 0.3) * 1e6, toEndUs: sinceEndUs + 0.3e6 };
    const profiles = readdirSync(dir)
      .filter((f) => f.endsWith(".cpuprofile"))
      .map((f) => ({ file: join(dir, f), summary: summarizeProfile(JSON.parse(readFileSync(join(dir, f), "utf8")) as CpuProfile, args.top, window) }))
      .sort((a, b) => b.summary.busyMs - a.summary.busyMs);
    if (profiles.length === 0) throw new Error(`${scenario}: the server wrote no profile into ${dir}`);
    const { file, summary } = profiles[0]!;
    process.stdout.write(
      render(summary, `${scenario}: ${fmt(measured.rps)} req/s under the profiler (p50 ${fmt(measured.p50)} ms)`, `${relative(REPO_ROOT, file)} (main thread)`),
    );
  }
}

/** The summary as text. */
function render(summary: ProfileSummary, title: string, file: string): string {
  const lines = [
    `\n## ${title}; busy ${fmt(summary.busyMs)} ms, idle ${fmt(summary.idleMs)} ms`,
    `profile: ${file}`,
    "",
    "self % of busy  self ms  function (where)",
    ...summary.functions.map((f) => `${(f.share * 100).toFixed(1).padStart(14)}  ${fmt(f.selfMs).padStart(7)}  ${f.name} (${f.where})`),
    "",
    "self % of busy  file / package",
    ...summary.files.slice(0, 15).map((f) => `${(f.share * 100).toFixed(1).padStart(14)}  ${f.where}`),
    "",
    "total % of busy (the file or package anywhere on the stack)",
    ...summary.inclusive.slice(0, 20).map((f) => `${(f.share * 100).toFixed(1).padStart(14)}  ${f.where}`),
  ];
  return `${lines.join("\n")}\n`;
}

main()
  .then(() => {
    cleanupAll();
    process.exit(0);
  })
  .catch((err: unknown) => {
    process.stderr.write(`profile: ${(err as Error).stack ?? String(err)}\n`);
    cleanupAll();
    process.exit(1);
  });
