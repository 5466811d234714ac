/**
 * Everything runtime-specific that core needs, injected by the embedding program.
 * Node's adapter is `core/adapters/node.ts`; Deno and Bun can supply their own.
 */

/** A value SQLite can bind. */
export type SqlValue = string | number | bigint | null | Uint8Array;

/** A prepared statement: the common shape of better-sqlite3, node:sqlite and bun:sqlite. */
export interface SqliteStatement {
  run(...params: SqlValue[]): { changes: number | bigint };
  get(...params: SqlValue[]): unknown;
  all(...params: SqlValue[]): unknown[];
}

/** A synchronous SQLite connection (better-sqlite3 `Database`, node:sqlite `DatabaseSync`, bun:sqlite `Database`). */
export interface SqliteDatabase {
  prepare(sql: string): SqliteStatement;
  exec(sql: string): unknown;
  close(): unknown;
}

/** Password hashing, run off the event loop by the runtime adapter. */
export interface PasswordHasher {
  /** A PHC string (`$argon2id$v=19$m=…`). */
  hash(password: string): Promise<string>;
  /** True when `password` matches `hash`; false (never a throw) for a malformed hash. */
  verify(hash: string, password: string): Promise<boolean>;
  /** True when `hash` is a format this hasher can verify (imports check this first). */
  recognizes?(hash: string): boolean;
  /** True when `hash` should be replaced by a fresh `hash()` at the next successful login. */
  needsRehash?(hash: string): boolean;
}

/** Milliseconds since the Unix epoch. Tests inject a fake. */
export type Clock = () => number;

/** Structured logging; the Node adapter passes a pino-compatible logger. */
export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

/** Failed-login throttling windows. */
export interface ThrottleSettings {
  /** Failures allowed per user within the window (default 10). */
  perUser: number;
  /** Failures allowed per client IP within the window (default 100). */
  perIp: number;
  /** Window length in seconds (default 900). */
  windowSeconds: number;
}

/** Where core reports what it counts (the Node server feeds Prometheus with it). */
export interface MetricsSink {
  /** One authentication attempt: a password login or an API key check. */
  login(kind: "password" | "api_key", outcome: "succeeded" | "failed" | "throttled"): void;
  /** One webhook delivery attempt and what became of the delivery. */
  webhookAttempt(outcome: "completed" | "retry" | "failed"): void;
}

/** The injected dependencies of {@link openRampart}. */
export interface RampartDeps {
  database: SqliteDatabase;
  hasher: PasswordHasher;
  /** Defaults to `Date.now`. */
  clock?: Clock;
  /** Fills a buffer with CSPRNG bytes; defaults to Web Crypto `getRandomValues`. */
  random?: (bytes: Uint8Array) => Uint8Array;
  logger?: Logger;
  throttle?: Partial<ThrottleSettings>;
  /** How long a verified management key stays cached (ms, default 5000). Revocation takes effect within it. */
  keyCacheMs?: number;
  /**
   * A synchronous SHA-256 (hex) of a UTF-8 string. Optional: Web Crypto's digest is the
   * default, but it hops to a thread per call, which dominates API-key checks.
   */
  sha256?: (text: string) => string;
  /** Receives counts of logins and webhook attempts (default: none). */
  metrics?: MetricsSink;
  /** The HTTP client webhooks are sent with (default: the global Web `fetch`). */
  fetch?: typeof fetch;
  /** Webhook delivery limits: attempts in flight overall / per destination host, per-attempt timeout. */
  webhooks?: { concurrency?: number; perDestination?: number; timeoutMs?: number; pollMs?: number };
}
