/**
 * Baseline for P7: raw better-sqlite3 single-row commits (`BEGIN IMMEDIATE; INSERT; COMMIT`,
 * as core's write() does) on a temp file with WAL and the given `synchronous`. Takes one JSON
 * argument and prints `RESULT {"runs": [...]}` (rps = commits per second).
 */
import Database from "better-sqlite3";
import { randomBytes } from "node:crypto";
import type { RunStats } from "../lib/http_load.ts";
import { percentile } from "../lib/stats.ts";

/** The settings (the one JSON argument). */
export interface SqliteCommitsConfig {
  path: string;
  synchronous: "FULL" | "NORMAL";
  warmupSeconds: number;
  seconds: number;
  runs: number;
}

const config = JSON.parse(process.argv[2] ?? "{}") as SqliteCommitsConfig;
const db = new Database(config.path);
db.pragma("journal_mode = WAL");
db.pragma(`synchronous = ${config.synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
db.exec(`CREATE TABLE IF NOT EXISTS items (
  id TEXT PRIMARY KEY, realm_id TEXT NOT NULL, username TEXT NOT NULL, created_at INTEGER NOT NULL)`);
db.exec("CREATE UNIQUE INDEX IF NOT EXISTS items_username ON items(realm_id, username)");
const insert = db.prepare("INSERT INTO items (id, realm_id, username, created_at) VALUES (?, ?, ?, ?)");

function load(seconds: number): RunStats {
  const latencies: number[] = [];
  const start = performance.now();
  const end = start + seconds * 1000;
  while (performance.now() < end) {
    const t0 = performance.now();
    db.exec("BEGIN IMMEDIATE");
    insert.run(`itm_${randomBytes(16).toString("hex")}`, "rl_bench", `api-${randomBytes(8).toString("hex")}`, Math.floor(Date.now() / 1000));
    db.exec("COMMIT");
    latencies.push(performance.now() - t0);
  }
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return { rps: latencies.length / elapsed, p50: percentile(latencies, 50), p99: percentile(latencies, 99), total: latencies.length, errors: 0, non2xx: 0 };
}

if (config.warmupSeconds > 0) load(config.warmupSeconds);
const runs: RunStats[] = [];
for (let i = 0; i < config.runs; i++) runs.push(load(config.seconds));
db.close();
process.stdout.write(`RESULT ${JSON.stringify({ runs })}\n`);
