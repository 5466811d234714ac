/**
 * Password hashes (argon2id, ~20 ms of CPU each) run on libuv's thread pool. Under a login
 * storm they keep every core busy, and at equal priority the event loop and V8's garbage
 * collector threads wait behind them for the CPU: a session check that costs 0.1 ms waits
 * for milliseconds. Lowering the pool threads' priority (a higher nice value) lets the
 * latency-sensitive threads run first whenever they are ready, while the hashes still get
 * every cycle nothing else wants, so login throughput on an otherwise idle machine is the
 * same.
 *
 * Linux schedules threads, not processes, and `setpriority(PRIO_PROCESS, tid)` changes one
 * thread; Node exposes it as `os.setPriority`. What Node does not expose is which threads
 * form the pool. Each pool thread names itself here: `readlink("/proc/thread-self")` runs
 * on whichever pool thread takes the job and answers `<pid>/task/<tid>` for that thread.
 * Batches of such jobs are queued until as many distinct threads have answered as the pool
 * has (`UV_THREADPOOL_SIZE`, default 4).
 */
import { readlink } from "node:fs/promises";
import { getPriority, setPriority } from "node:os";

/** What {@link lowerThreadPoolPriority} did. */
export type PoolPriorityResult = { threads: number[]; poolSize: number; nice: number } | { skipped: string };

/** The size libuv gives its pool: `UV_THREADPOOL_SIZE` read as C's `atoi`, 0 as 1, at most 1024. */
export function threadPoolSize(env: string | undefined): number {
  if (env === undefined || env === "") return 4;
  const n = Number.parseInt(env, 10);
  if (!Number.isFinite(n) || n <= 0) return 1;
  return Math.min(n, 1024);
}

/** Batches of `readlink` jobs before giving up on finding every pool thread. */
const MAX_ROUNDS = 100;

/**
 * Sets every libuv pool thread of this process to `nice` (0–19) unless it is lower already. Linux only; elsewhere, or
 * when `/proc` cannot tell, it changes nothing and says why. The threads found so far are
 * lowered even when the search stops before it found them all.
 */
export async function lowerThreadPoolPriority(nice: number, pool = threadPoolSize(process.env.UV_THREADPOOL_SIZE)): Promise<PoolPriorityResult> {
  if (process.platform !== "linux") return { skipped: `threads cannot be reniced one by one on ${process.platform}` };
  if (nice === 0) return { skipped: "RAMPART_HASH_NICE is 0" };
  const found = new Set<number>();
  try {
    for (let round = 0; round < MAX_ROUNDS && found.size < pool; round++) {
      // Twice as many jobs as threads: each thread that wakes takes one or more of them.
      const links = await Promise.all(Array.from({ length: 2 * pool }, () => readlink("/proc/thread-self")));
      for (const link of links) {
        const tid = Number(/\/task\/(\d+)$/.exec(link)?.[1]);
        if (Number.isInteger(tid) && tid !== process.pid) found.add(tid);
      }
    }
  } catch (err) {
    return { skipped: `cannot read /proc/thread-self: ${(err as Error).message}` };
  }
  if (found.size === 0) return { skipped: "no thread pool thread answered" };
  const threads = [...found].sort((a, b) => a - b);
  try {
    // Only ever lower a priority: raising one back needs privileges, and a server started
    // with `nice` already has its pool at least that low.
    for (const tid of threads) if (getPriority(tid) < nice) setPriority(tid, nice);
  } catch (err) {
    return { skipped: `cannot renice the thread pool: ${(err as Error).message}` };
  }
  return { threads, poolSize: pool, nice };
}
