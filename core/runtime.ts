/**
 * The shared internals of one open Rampart: storage, clock, ids, hasher, settings.
 * Every domain module receives it; nothing outside core sees it.
 */
import type { CallContext } from "./context.ts";
import type { Logger, MetricsSink, PasswordHasher, ThrottleSettings } from "./deps.ts";
import type { IdGenerator, RandomSource } from "./ids.ts";
import type { RealmRow } from "./realms.ts";
import type { Sql, SqliteStore } from "./storage/sqlite.ts";
import type { ActiveHook } from "./webhooks.ts";

/** A management-key permission. */
export type Permission = "read" | "write" | "admin_realm";

export interface Runtime {
  db: SqliteStore;
  /** Milliseconds since the epoch. */
  clock: () => number;
  ids: IdGenerator;
  random: RandomSource;
  hasher: PasswordHasher;
  logger: Logger;
  metrics: MetricsSink;
  throttle: ThrottleSettings;
  accountId: string;
  /** Lower-case hex SHA-256 of a UTF-8 string (a synchronous one when the runtime gives it). */
  sha256(text: string): Promise<string>;
  /** The realm row by id, from a short-lived cache (see realms.ts resolveRealm). */
  realmCache: Map<string, { row: RealmRow; until: number }>;
  /** Checks the call's management credentials; throws PERMISSION_DENIED errors. */
  authorize(ctx: CallContext, permission: Permission): Promise<void>;
  /** A valid hash of a random password, verified against when a user has none (equal timing). */
  dummyHash(): Promise<string>;
  /** The active webhooks, cached; read through `sql` when the cache is empty. */
  activeHooks(sql: Sql): readonly ActiveHook[];
  /** Forgets the cached hooks (after a hook write). */
  hooksChanged(sql: Sql): void;
  /** Tells the delivery worker that new deliveries were queued (it looks after the commit). */
  deliveriesQueued(): void;
}

/** Unix seconds with millisecond precision, as v1 timestamps are. */
export function seconds(ms: number): number {
  return Math.floor(ms) / 1000;
}
