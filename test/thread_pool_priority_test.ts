/** bin/thread_pool_priority.ts: libuv's pool threads (where password hashes run) at a lower priority. */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { describe, it } from "node:test";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import { threadPoolSize } from "../bin/thread_pool_priority.ts";

const MODULE = fileURLToPath(new URL("../bin/thread_pool_priority.ts", import.meta.url));

interface Observed {
  results: unknown[];
  /** Nice value of every pool thread that ran a job afterwards, by tid. */
  pool: Record<string, number>;
  main: number;
  /** The main thread's nice value when the process started (the test may run niced). */
  start: number;
}

/**
 * Runs `lowerThreadPoolPriority` with each of `nices` in a fresh process, then queues many
 * pool jobs that name their thread and reports those threads' nice values and the main
 * thread's.
 */
async function observe(nices: number[], env: Record<string, string> = {}): Promise<Observed> {
  const script = `
    import { readlink } from "node:fs/promises";
    import { getPriority } from "node:os";
    import { lowerThreadPoolPriority } from ${JSON.stringify(MODULE)};
    const start = getPriority(0);
    const results = [];
    for (const nice of ${JSON.stringify(nices)}) results.push(await lowerThreadPoolPriority(nice));
    const pool = {};
    for (let i = 0; i < 50; i++)
      for (const link of await Promise.all(Array.from({ length: 16 }, () => readlink("/proc/thread-self")))) {
        const tid = link.split("/").pop();
        pool[tid] = getPriority(Number(tid));
      }
    process.stdout.write(JSON.stringify({ results, pool, main: getPriority(0), start }));`;
  const { stdout } = await promisify(execFile)(process.execPath, ["--import", "tsx", "--input-type=module", "-e", script], {
    env: { ...process.env, ...env },
  });
  return JSON.parse(stdout) as Observed;
}

describe("threadPoolSize()", () => {
  it("reads UV_THREADPOOL_SIZE as libuv does: default 4, 0 or garbage as 1, at most 1024", () => {
    assert.equal(threadPoolSize(undefined), 4);
    assert.equal(threadPoolSize(""), 4);
    assert.equal(threadPoolSize("8"), 8);
    assert.equal(threadPoolSize("6x"), 6);
    assert.equal(threadPoolSize("0"), 1);
    assert.equal(threadPoolSize("many"), 1);
    assert.equal(threadPoolSize("5000"), 1024);
  });
});

describe("lowerThreadPoolPriority()", { skip: process.platform !== "linux" && "renicing one thread is Linux's" }, () => {
  it("renices every pool thread (UV_THREADPOOL_SIZE of them) and leaves the event loop's thread alone", async () => {
    const seen = await observe([7], { UV_THREADPOOL_SIZE: "3" });
    const [result] = seen.results as { threads: number[]; poolSize: number; nice: number }[];
    assert.equal(result!.poolSize, 3);
    assert.equal(result!.threads.length, 3, JSON.stringify(result));
    assert.deepEqual(
      Object.keys(seen.pool)
        .map(Number)
        .sort((a, b) => a - b),
      result!.threads,
      "the threads that run pool jobs are the ones found",
    );
    for (const [tid, nice] of Object.entries(seen.pool)) assert.equal(nice, Math.max(7, seen.start), `pool thread ${tid}`);
    assert.equal(seen.main, seen.start, "the event loop keeps its priority");
  });

  it("never raises a priority back, and changes nothing at 0", async () => {
    const seen = await observe([10, 5, 0]);
    const [first, second, third] = seen.results as Record<string, unknown>[];
    assert.equal((first!.threads as number[]).length, 4);
    assert.deepEqual(second!.threads, first!.threads, "found again without an error");
    assert.match(String(third!.skipped), /RAMPART_HASH_NICE is 0/);
    for (const [tid, nice] of Object.entries(seen.pool)) assert.equal(nice, Math.max(10, seen.start), `pool thread ${tid} stays at the lower priority`);
    assert.equal(seen.main, seen.start);
  });
});
