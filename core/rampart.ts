/**
 * `openRampart`: opens the database (applying migrations), makes sure the account exists,
 * and returns the operations every surface calls.
 */
import type { Rampart } from "./api.ts";
import { appHookOperations, loadActiveHooks } from "./app_hooks.ts";
import { authProviderOperations } from "./auth_providers.ts";
import type { CallContext, JsonObject, Params } from "./context.ts";
import { credentialOperations } from "./credentials.ts";
import { sha256Hex } from "./crypto.ts";
import type { Logger, MetricsSink, RampartDeps, ThrottleSettings } from "./deps.ts";
import { eventBody, eventOperations } from "./events.ts";
import { IdGenerator, newRequestId, randomBase62, webRandom } from "./ids.ts";
import { KeyRing } from "./keys.ts";
import { loginPolicyOperations } from "./login_policies.ts";
import { loginRocketOperations } from "./login_rocket.ts";
import { membershipOperations } from "./memberships.ts";
import { orgOperations } from "./orgs.ts";
import { realmOperations } from "./realms.ts";
import { type Runtime, seconds } from "./runtime.ts";
import { sessionOperations } from "./sessions.ts";
import { SqliteStore } from "./storage/sqlite.ts";
import { userTokenOperations } from "./user_tokens.ts";
import { importUserOperation, userOperations } from "./users.ts";
import { type ActiveHook, DeliveryWorker } from "./webhooks.ts";

const SILENT: Logger = { info() {}, warn() {}, error() {} };
const NO_METRICS: MetricsSink = { login() {}, webhookAttempt() {} };

/** Default failed-login throttling: 10 per user and 100 per IP within 15 minutes. */
export const DEFAULT_THROTTLE: ThrottleSettings = { perUser: 10, perIp: 100, windowSeconds: 900 };

/** Options of {@link openRampart} beyond the injected dependencies. */
export interface OpenOptions extends RampartDeps {
  /** SQLite `synchronous` (default FULL: an acknowledged write survives power loss). */
  synchronous?: "FULL" | "NORMAL";
  /** The domain LoginRocket apps are also served under (`<subdomain>.<domain>`), if any. */
  loginRocketDomain?: string;
}

/** A Rampart plus the internals tests and benchmarks may inspect. */
export interface OpenRampart extends Rampart {
  /** Statements executed so far on the connection (for constant-query checks). */
  readonly statementCount: () => number;
  /** Write transactions committed so far (for "no write on the hot path" checks). */
  readonly writeCount: () => number;
  /** Checks made so far for other processes' commits (see CallContext.ioTurn). */
  readonly probeCount: () => number;
  /** Figures for monitoring: deliveries by state and the database size (pages in use × page size). */
  stats(): { deliveries: Record<string, number>; databaseBytes: number };
  /** A context that passes every permission check, for in-process operators (the CLI). */
  trustedContext(requestId?: string): CallContext;
  /** Imports a user with an existing password hash: `{realm_id, user: {username, …, password_hash}}`. */
  importUser(ctx: CallContext, params: Params): Promise<JsonObject>;
  /** Generates and installs the first admin key if none exists yet; returns it once, else null. */
  bootstrap(adminKey?: string): Promise<{ key: string; legacy_key: string; id: string } | null>;
}

/** Opens Rampart over the injected SQLite connection and hasher. */
export function openRampart(deps: OpenOptions): OpenRampart {
  const clock = deps.clock ?? Date.now;
  const random = deps.random ?? webRandom;
  const ids = new IdGenerator(clock, random);
  const db = new SqliteStore(deps.database, deps.synchronous ?? "FULL");
  const accountId = db.writeSync((sql) => {
    const row = sql.get<{ id: string }>("SELECT id FROM account LIMIT 1");
    if (row) return row.id;
    const id = ids.next("org");
    sql.run("INSERT INTO account (id, created_at) VALUES (?, ?)", id, seconds(clock()));
    return id;
  });
  let dummy: Promise<string> | undefined;
  let hooks: ActiveHook[] | undefined;
  // A hook list read inside a transaction that rolled back may hold phantom hooks.
  db.onRollback(() => (hooks = undefined));
  let closed = false;
  const keyRing = new KeyRing(() => rt, deps.keyCacheMs ?? 5000);
  // Another process sharing the file (a second Rampart process, the CLI) committed: every
  // cache of rows it may have changed starts over.
  db.onOtherWriters(() => {
    hooks = undefined;
    keyRing.clearCache();
    rt.realmCache.clear();
  });
  const rt: Runtime = {
    db,
    clock,
    ids,
    random,
    hasher: deps.hasher,
    logger: deps.logger ?? SILENT,
    metrics: deps.metrics ?? NO_METRICS,
    throttle: { ...DEFAULT_THROTTLE, ...deps.throttle },
    accountId,
    sha256: deps.sha256 ? (text) => Promise.resolve(deps.sha256!(text)) : sha256Hex,
    realmCache: new Map(),
    authorize: (ctx, permission) => keyRing.authorize(ctx, permission),
    dummyHash: () => (dummy ??= deps.hasher.hash(randomBase62(32, random))),
    activeHooks: (sql) => (hooks ??= loadActiveHooks(sql)),
    hooksChanged: () => (hooks = undefined),
    deliveriesQueued: () => worker.wake(),
  };
  const worker = new DeliveryWorker(rt, {
    fetch: deps.fetch ?? ((input, init) => fetch(input, init)),
    eventBody: (id) => eventBody(db, id),
    logger: rt.logger,
    ...deps.webhooks,
  });

  return {
    accountId,
    realms: realmOperations(rt),
    users: userOperations(rt),
    events: eventOperations(rt),
    orgs: orgOperations(rt),
    memberships: membershipOperations(rt),
    credentials: credentialOperations(rt),
    sessions: sessionOperations(rt),
    userTokens: userTokenOperations(rt),
    loginPolicies: loginPolicyOperations(rt, deps.loginRocketDomain),
    authProviders: authProviderOperations(rt),
    loginRocket: loginRocketOperations(rt),
    appHooks: appHookOperations(rt),
    webhooks: {
      start: () => worker.start(),
      deliverDue: () => worker.deliverDue(),
      stop: (graceMs) => worker.stop(graceMs),
    },
    keys: keyRing.operations(),
    stats() {
      const deliveries: Record<string, number> = { in_progress: 0, completed: 0, failed: 0, canceled: 0 };
      for (const row of db.all<{ state: string; n: number }>("SELECT state, count(*) AS n FROM deliveries GROUP BY state")) deliveries[row.state] = row.n;
      const pages = db.get<{ page_count: number }>("PRAGMA page_count")!.page_count;
      const size = db.get<{ page_size: number }>("PRAGMA page_size")!.page_size;
      return { deliveries, databaseBytes: pages * size };
    },
    trustedContext: (requestId) => ({ requestId: requestId ?? newRequestId(), credentials: { trusted: keyRing.trustToken } }),
    importUser: importUserOperation(rt),
    statementCount: () => db.counter.count,
    writeCount: () => db.counter.writes,
    probeCount: () => db.counter.probes,
    async bootstrap(adminKey) {
      if (!keyRing.isEmpty()) return null;
      const created = await keyRing.create(adminKey === undefined ? {} : { key: adminKey, name: "admin" });
      return { key: created.key as string, legacy_key: created.legacy_key as string, id: created.id as string };
    },
    async health() {
      if (closed) throw new Error("database is closed");
      db.get("SELECT 1");
      return { status: "ok" };
    },
    async close() {
      closed = true;
      await worker.stop(0);
      db.close();
    },
  };
}
