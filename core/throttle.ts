/**
 * Failed-login throttling, stored in the database so it survives restarts. Fixed windows:
 * the first failure opens a window; within it at most `limit` failures are allowed, then
 * calls are refused (429) until the window ends. Refused calls do not extend the window, so
 * an attacker cannot lock the real user out beyond it.
 */
import { CoreError, type RateLimitInfo } from "./errors.ts";
import type { Sql } from "./storage/sqlite.ts";

export interface ThrottleKey {
  key: string;
  limit: number;
}

interface Row {
  count: number;
  window_start: number;
}

/** Throws user.throttled when any key has used up its window. `now` in seconds. */
export function checkThrottle(sql: Sql, keys: ThrottleKey[], now: number, windowSeconds: number): void {
  let worst: RateLimitInfo | undefined;
  for (const { key, limit } of keys) {
    const row = sql.get<Row>("SELECT count, window_start FROM throttles WHERE key = ?", key);
    if (!row || row.window_start + windowSeconds <= now || row.count < limit) continue;
    const ends = row.window_start + windowSeconds;
    const info = { retryAfter: Math.max(1, Math.ceil(ends - now)), limit, remaining: 0, reset: Math.ceil(ends) };
    if (!worst || info.retryAfter > worst.retryAfter) worst = info;
  }
  if (worst) throw new CoreError("user.throttled", { base: [`Too many failed logins; try again in ${worst.retryAfter} seconds`] }, worst);
}

/** Counts one failure against every key (inside the failure's write transaction). */
export function recordFailure(sql: Sql, keys: ThrottleKey[], now: number, windowSeconds: number): void {
  for (const { key } of keys) {
    sql.run(
      `INSERT INTO throttles (key, count, window_start) VALUES (?, 1, ?)
       ON CONFLICT(key) DO UPDATE SET
         count = CASE WHEN window_start + ? <= excluded.window_start THEN 1 ELSE count + 1 END,
         window_start = CASE WHEN window_start + ? <= excluded.window_start THEN excluded.window_start ELSE window_start END`,
      key,
      now,
      windowSeconds,
      windowSeconds,
    );
  }
}

/** Forgets a key's failures (a successful login clears the user's count). */
export function clearThrottle(sql: Sql, key: string): void {
  sql.run("DELETE FROM throttles WHERE key = ?", key);
}
