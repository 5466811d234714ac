/**
 * The SQLite adapter: one connection, every statement prepared once and cached, writes in
 * `BEGIN IMMEDIATE` transactions.
 *
 * Transaction bodies are synchronous functions. Because the driver is synchronous, a body
 * runs to completion without yielding to the event loop, so transactions on the one
 * connection never interleave and no reader ever sees another caller's uncommitted rows.
 * Anything slow (password hashing, secret generation) happens before `write()` is called.
 */
import type { SqliteDatabase, SqliteStatement, SqlValue } from "../deps.ts";
import { afterThisTurn } from "../io_turn.ts";
import { MIGRATIONS } from "./migrations.ts";

/** Runs statements on the connection. Only ever used synchronously inside read()/write(). */
export interface Sql {
  get<T>(sql: string, ...params: SqlValue[]): T | undefined;
  all<T>(sql: string, ...params: SqlValue[]): T[];
  run(sql: string, ...params: SqlValue[]): number;
  /** See {@link SqliteStore.cachedRead}. */
  cachedRead<T>(key: string, now: number, read: () => TimedValue<T>): T;
}

/** Counts statements executed; tests and benchmarks read it to prove expansions are constant. */
export interface StatementCounter {
  /** Statements executed. */
  count: number;
  /** Write transactions committed. */
  writes: number;
  /** Checks for other processes' commits (`PRAGMA data_version`; not counted in `count`). */
  probes: number;
}

/** Most hot-read results kept at once (the oldest goes first). */
const MAX_CACHED_READS = 4096;

/** A cached read's value and the time (seconds, as core's clock) until which it is true. */
export interface TimedValue<T> {
  value: T;
  /** The value holds while `now < until` (absent any write); `Infinity` when time cannot change it. */
  until: number;
}

export class SqliteStore implements Sql {
  readonly #db: SqliteDatabase;
  readonly #cache = new Map<string, SqliteStatement>();
  #closed = false;
  readonly #rollbackListeners: (() => void)[] = [];
  readonly counter: StatementCounter = { count: 0, writes: 0, probes: 0 };
  readonly #reads = new Map<string, TimedValue<unknown>>();
  #dataVersion: unknown = undefined;
  #dataVersionCheckedAt = Number.NaN;
  #dataVersionProbe: SqliteStatement | undefined;
  /** The newest I/O turn a forced probe was made in (see {@link noticeOtherWriters}). */
  #probedTurn = Number.NEGATIVE_INFINITY;
  readonly #otherWriterListeners: (() => void)[] = [];
  /** True while a write body runs: its reads must see its own changes, so they skip the cache. */
  #writing = false;

  constructor(db: SqliteDatabase, synchronous: "FULL" | "NORMAL" = "FULL") {
    this.#db = db;
    db.exec("PRAGMA journal_mode = WAL");
    db.exec(`PRAGMA synchronous = ${synchronous === "NORMAL" ? "NORMAL" : "FULL"}`);
    db.exec("PRAGMA foreign_keys = ON");
    db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    // Each write body of a group commit runs in a savepoint, whose original pages go to a
    // sub-journal; past 64 KiB in a transaction SQLite spills that to a temp file, one write
    // per page. In memory instead, the inserts of an API-user create fell from ~40 to ~18 µs
    // each (temporary sorts also stay in memory; hot reads plan none, lists are LIMITed).
    db.exec("PRAGMA temp_store = MEMORY");
    this.#migrate();
  }

  #stmt(sql: string): SqliteStatement {
    if (this.#closed) throw new Error("database is closed");
    let s = this.#cache.get(sql);
    if (!s) {
      s = this.#db.prepare(sql);
      this.#cache.set(sql, s);
    }
    this.counter.count++;
    return s;
  }

  get<T>(sql: string, ...params: SqlValue[]): T | undefined {
    return (this.#stmt(sql).get(...params) as T | null) ?? undefined;
  }

  all<T>(sql: string, ...params: SqlValue[]): T[] {
    return this.#stmt(sql).all(...params) as T[];
  }

  run(sql: string, ...params: SqlValue[]): number {
    this.#reads.clear();
    return Number(this.#stmt(sql).run(...params).changes);
  }

  /**
   * A hot read through a cache that is exact, not a TTL: an entry is dropped by every write
   * this store makes, by any commit of another connection or process (SQLite's
   * `PRAGMA data_version`, checked at most once per millisecond of `now`), and when `now`
   * reaches the `until` its reader gave (the first moment the rows' meaning changes with
   * time alone: a session or membership expiring). Inside a write body the cache is
   * bypassed. Values are shared between callers and must not be mutated.
   */
  cachedRead<T>(key: string, now: number, read: () => TimedValue<T>): T {
    if (this.#writing) return read().value;
    this.noticeOtherWriters(Math.round(now * 1000));
    const hit = this.#reads.get(key);
    if (hit !== undefined && now < hit.until) return hit.value as T;
    const fresh = read();
    if (hit === undefined && this.#reads.size >= MAX_CACHED_READS) this.#reads.delete(this.#reads.keys().next().value!);
    this.#reads.set(key, fresh);
    return fresh.value;
  }

  /**
   * Probes for commits by other connections (another Rampart process sharing the file, the
   * CLI) as of `nowMs` (core's clock). Every call starts with a forced probe
   * (`KeyRing.authorize`), so it sees every commit that finished before it began; the checks
   * later in the call are skipped within the same millisecond. On a change the cache of
   * reads is emptied and every {@link onOtherWriters} listener runs.
   *
   * `ioTurn` (CallContext.ioTurn) lets calls share a forced probe: a call whose request the
   * host read in some batch of its event loop began to arrive before the host took that batch
   * from the OS, so before any probe made by a call of that batch or a later one. Such a call
   * skips its probe when one was made in the current millisecond, so that a request that
   * arrived after its batch began (pipelined behind another, or multiplexed with others on an
   * HTTP/2 connection; or past the first 1,024 ready sockets, which libuv takes in more than
   * one round) misses at most that millisecond.
   * A forced probe without a turn always runs.
   */
  noticeOtherWriters(nowMs: number, force = false, ioTurn?: number): void {
    if (nowMs === this.#dataVersionCheckedAt && (!force || (ioTurn !== undefined && ioTurn <= this.#probedTurn))) return;
    this.#dataVersionCheckedAt = nowMs;
    if (ioTurn !== undefined && ioTurn > this.#probedTurn) this.#probedTurn = ioTurn;
    this.#probeDataVersion();
  }

  /** Calls `listener` whenever another connection's commit is noticed (caches of this process are void). */
  onOtherWriters(listener: () => void): void {
    this.#otherWriterListeners.push(listener);
  }

  #probeDataVersion(): void {
    // A probe, not a query: not in `counter.count` (which measures the queries a call needs).
    this.counter.probes++;
    this.#dataVersionProbe ??= this.#db.prepare("PRAGMA data_version");
    const version = (this.#dataVersionProbe.get() as { data_version: number } | undefined)?.data_version;
    if (version === this.#dataVersion) return;
    const first = this.#dataVersion === undefined;
    this.#dataVersion = version;
    this.#reads.clear();
    if (!first) for (const listener of this.#otherWriterListeners) listener();
  }

  /** Runs `fn` in a write transaction of its own, now; rolls back if it throws. */
  writeSync<T>(fn: (sql: Sql) => T): T {
    this.#reads.clear();
    this.#db.exec("BEGIN IMMEDIATE");
    // Holding the write lock: whatever another process committed before is visible now, and
    // caches it made stale (hooks, realms) must not feed this write.
    this.#probeDataVersion();
    this.#writing = true;
    try {
      const result = fn(this);
      this.#db.exec("COMMIT");
      this.counter.writes++;
      return result;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      this.#rolledBack();
      throw err;
    } finally {
      this.#writing = false;
    }
  }

  /**
   * Runs `fn` as one atomic write and resolves once it is durably committed (group commit).
   *
   * Writes queued in the same turn of the event loop run one after another inside a single
   * transaction, each in its own savepoint, and share one COMMIT — one fsync for the group
   * instead of one per write. A write that throws rolls back to its savepoint and rejects
   * alone; the others commit. Nothing resolves before the COMMIT has returned, so an
   * acknowledged write survives a crash exactly as with a transaction of its own.
   */
  write<T>(fn: (sql: Sql) => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.#queue.push({ fn, resolve: resolve as (value: unknown) => void, reject });
      if (this.#queue.length === 1 && this.#lockWaitSince === undefined) afterThisTurn(() => this.#flush());
    });
  }

  /** When the group first found the write lock taken by another process (undefined: not waiting). */
  #lockWaitSince: number | undefined;
  #lockAttempts = 0;

  /**
   * Takes the write lock without blocking the event loop. SQLite's own busy handler sleeps
   * the whole thread (1, 2, 5 … ms) while another process holds the lock; here the attempt
   * fails at once and is retried on a later turn — soon at first, then every millisecond —
   * while this process keeps answering reads and the group keeps growing. After
   * BUSY_TIMEOUT_MS of waiting the group fails with SQLite's busy error.
   */
  #begin(): "begun" | "retry" {
    this.#db.exec("PRAGMA busy_timeout = 0");
    try {
      this.#db.exec("BEGIN IMMEDIATE");
    } catch (err) {
      const now = Date.now();
      this.#lockWaitSince ??= now;
      if (!isBusy(err) || now - this.#lockWaitSince >= BUSY_TIMEOUT_MS) throw err;
      this.#lockAttempts++;
      if (this.#lockAttempts < 8) afterThisTurn(() => this.#flush());
      else setTimeout(() => this.#flush(), 1);
      return "retry";
    } finally {
      this.#db.exec(`PRAGMA busy_timeout = ${BUSY_TIMEOUT_MS}`);
    }
    this.#lockWaitSince = undefined;
    this.#lockAttempts = 0;
    return "begun";
  }

  readonly #queue: { fn: (sql: Sql) => unknown; resolve: (value: unknown) => void; reject: (err: unknown) => void }[] = [];

  #flush(): void {
    if (this.#queue.length === 0) return;
    try {
      if (this.#begin() === "retry") return;
    } catch (err) {
      this.#lockWaitSince = undefined;
      this.#lockAttempts = 0;
      for (const item of this.#queue.splice(0)) item.reject(err);
      return;
    }
    const batch = this.#queue.splice(0);
    // Whatever the outcome, cached reads may describe rows this group changed.
    this.#reads.clear();
    const outcomes: ({ ok: true; value: unknown } | { ok: false; error: unknown })[] = [];
    // As in writeSync: see other processes' commits before writing on top of them.
    this.#probeDataVersion();
    for (const item of batch) {
      this.#db.exec("SAVEPOINT w");
      this.#writing = true;
      try {
        const value = item.fn(this);
        this.#db.exec("RELEASE w");
        outcomes.push({ ok: true, value });
      } catch (error) {
        this.#db.exec("ROLLBACK TO w");
        this.#db.exec("RELEASE w");
        this.#rolledBack();
        outcomes.push({ ok: false, error });
      } finally {
        this.#writing = false;
      }
    }
    try {
      this.#db.exec("COMMIT");
    } catch (err) {
      // The group did not commit: nothing of it happened, and every write hears so.
      try {
        this.#db.exec("ROLLBACK");
      } catch {
        // already rolled back by SQLite
      }
      this.#rolledBack();
      for (const item of batch) item.reject(err);
      return;
    }
    this.counter.writes += outcomes.filter((o) => o.ok).length;
    batch.forEach((item, i) => {
      const outcome = outcomes[i]!;
      if (outcome.ok) item.resolve(outcome.value);
      else item.reject(outcome.error);
    });
  }

  #rolledBack(): void {
    for (const listener of this.#rollbackListeners) listener();
  }

  /** Calls `listener` after every rolled-back write (caches filled inside it are void). */
  onRollback(listener: () => void): void {
    this.#rollbackListeners.push(listener);
  }

  #migrate(): void {
    const row = this.get<{ user_version: number }>("PRAGMA user_version");
    const current = row?.user_version ?? 0;
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.#db.exec("BEGIN IMMEDIATE");
      try {
        this.#db.exec(MIGRATIONS[v]!);
        this.#db.exec(`PRAGMA user_version = ${v + 1}`);
        this.#db.exec("COMMIT");
      } catch (err) {
        this.#db.exec("ROLLBACK");
        throw err;
      }
    }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#cache.clear();
    this.#reads.clear();
    this.#db.close();
  }
}

/** How long a write waits for another process's write lock before failing. */
const BUSY_TIMEOUT_MS = 5000;

/** True when `err` is SQLite's "database is locked" (SQLITE_BUSY), whichever driver threw it. */
function isBusy(err: unknown): boolean {
  const e = err as { code?: unknown; errcode?: unknown; message?: unknown };
  return e?.code === "SQLITE_BUSY" || e?.errcode === 5 || (typeof e?.message === "string" && /database is locked/i.test(e.message));
}

/** True when `err` is SQLite's UNIQUE constraint failure (driver-independent check). */
export function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/.test(err.message);
}
