/**
 * Seeding. Everything the scenarios touch is created through the public HTTP API of the
 * running server. The one exception is P6's bulk realm (10^5–10^6 users): it is created
 * before the server starts, in-process, by core's own `realms.create` and `users.create` on
 * the same database file — the code path of `POST /v1/users` minus HTTP, so every row (user,
 * event) is exactly what the server would write — with commits grouped (see
 * {@link BatchingDatabase}) so that a million users take a minute, not an hour of fsyncs.
 */
import { randomBytes } from "node:crypto";
import { openRampart, type CallContext, type SqliteDatabase, type SqliteStatement } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/** A fresh `ko_` admin key for `RAMPART_ADMIN_KEY`. */
export function makeAdminKey(): string {
  const pick = (n: number): string => Array.from(randomBytes(n), (b) => BASE62[b % 62]).join("");
  return `ko_${pick(22)}-${pick(40)}`;
}

/**
 * A SQLite connection whose transactions can be grouped: between {@link begin} and
 * {@link commit}, core's `BEGIN IMMEDIATE`/`COMMIT`/`ROLLBACK` become a savepoint inside
 * one outer transaction. Core still runs each user's creation as its own unit (a failing one
 * rolls back alone); only the commit (and its fsync) is shared.
 */
export class BatchingDatabase implements SqliteDatabase {
  readonly #inner: SqliteDatabase;
  #grouping = false;
  constructor(inner: SqliteDatabase) {
    this.#inner = inner;
  }
  prepare(sql: string): SqliteStatement {
    return this.#inner.prepare(sql);
  }
  exec(sql: string): unknown {
    if (this.#grouping) {
      if (sql === "BEGIN IMMEDIATE") return this.#inner.exec("SAVEPOINT bench_seed");
      if (sql === "COMMIT") return this.#inner.exec("RELEASE bench_seed");
      if (sql === "ROLLBACK") return this.#inner.exec("ROLLBACK TO bench_seed; RELEASE bench_seed");
    }
    return this.#inner.exec(sql);
  }
  close(): unknown {
    return this.#inner.close();
  }
  begin(): void {
    this.#inner.exec("BEGIN IMMEDIATE");
    this.#grouping = true;
  }
  commit(): void {
    this.#grouping = false;
    this.#inner.exec("COMMIT");
  }
}

/** What the bulk seed made. */
export interface BulkSeed {
  realmId: string;
  users: number;
  seconds: number;
  /** The id of the user 101st from the end in id order: `after` it comes a full last page. */
  deepAfterId: string;
}

/**
 * Creates the admin key (as the server would from RAMPART_ADMIN_KEY), then a realm of
 * `count` users through core, in-process, before the server starts.
 */
export async function seedBulk(dbPath: string, adminKey: string, count: number, onProgress?: (done: number) => void): Promise<BulkSeed> {
  const started = performance.now();
  const deps = nodeDeps({ path: dbPath });
  const raw = deps.database;
  const batching = new BatchingDatabase(raw);
  const rampart = openRampart({ ...deps, database: batching });
  try {
    await rampart.bootstrap(adminKey);
    const ctx: CallContext = { requestId: "rq_benchseedbulk00000000000", credentials: { apiKey: adminKey } };
    const realm = await rampart.realms.create(ctx, { realm: { name: "bench bulk", session_type: "managed" } });
    const realmId = realm.id as string;
    const inRealm: CallContext = { ...ctx, realmId };
    const BATCH = 10_000;
    for (let done = 0; done < count;) {
      const n = Math.min(BATCH, count - done);
      batching.begin();
      try {
        // Creations run interleaved (each one's transaction body is synchronous, so they never
        // mix); awaiting them one by one would spend more time in the event loop than in SQLite.
        const WIDTH = 250;
        for (let i = 0; i < n; i += WIDTH) {
          await Promise.all(
            Array.from({ length: Math.min(WIDTH, n - i) }, (_, j) => {
              const k = done + i + j;
              return rampart.users.create(inRealm, {
                user: { username: `bulk${String(k).padStart(7, "0")}`, email: `bulk${k}@example.com`, first_name: "Bulk", last_name: `User ${k}` },
              });
            }),
          );
        }
      } finally {
        batching.commit();
      }
      done += n;
      onProgress?.(done);
    }
    const row = raw.prepare("SELECT id FROM users WHERE realm_id = ? ORDER BY id DESC LIMIT 1 OFFSET 100").get(realmId) as { id: string } | undefined;
    if (!row) throw new Error("bulk seed: too few users for a deep page");
    return { realmId, users: count, seconds: (performance.now() - started) / 1000, deepAfterId: row.id };
  } finally {
    await rampart.close();
  }
}

/** What the HTTP seed made (ids and secrets the loads use). */
export interface HttpSeed {
  realmId: string;
  /** A human user with a password and a live session. */
  user: { id: string; username: string; password: string };
  /** The login token (JWT) of that user's managed session. */
  sessionToken: string;
  /** An api user and its key. */
  apiUser: { id: string; apiKey: string };
  /** Users with 10 and with 100 memberships (each in its own org). */
  member10: string;
  member100: string;
  orgs: number;
  seconds: number;
}

/** One request with the admin key; throws unless 2xx. */
export async function call(
  base: string,
  key: string,
  method: "GET" | "POST" | "PUT" | "DELETE",
  path: string,
  options: { realm?: string; body?: unknown } = {},
): Promise<any> {
  const headers: Record<string, string> = { accept: "application/json", "x-authrocket-api-key": key };
  if (options.realm) headers["x-authrocket-realm"] = options.realm;
  if (options.body !== undefined) headers["content-type"] = "application/json";
  const res = await fetch(`${base}${path}`, {
    method,
    headers,
    ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await res.text();
  if (res.status < 200 || res.status > 299) throw new Error(`${method} ${path} → ${res.status}: ${text.slice(0, 500)}`);
  return text === "" ? undefined : JSON.parse(text);
}

/** Runs `fn` over `items`, `width` at a time. */
async function inParallel<T>(items: T[], width: number, fn: (item: T) => Promise<unknown>): Promise<void> {
  for (let i = 0; i < items.length; i += width) await Promise.all(items.slice(i, i + width).map(fn));
}

/** Seeds the scenarios' realm through the public HTTP API of the running server. */
export async function seedHttp(base: string, key: string, orgCount = 100): Promise<HttpSeed> {
  const started = performance.now();
  const realm = await call(base, key, "POST", "/v1/realms", { body: { realm: { name: "bench", session_type: "managed" } } });
  const realmId = realm.id as string;
  const opts = (body: unknown) => ({ realm: realmId, body });
  const password = "correct horse battery staple";
  const alice = await call(base, key, "POST", "/v1/users", opts({ user: { username: "alice", email: "alice@example.com", password, first_name: "Alice" } }));
  const login = await call(base, key, "POST", "/v1/users/alice/authenticate", opts({ password, request: { ip: "127.0.0.1", client: "bench" } }));
  if (typeof login.token !== "string") throw new Error("authenticate returned no token");
  const api = await call(base, key, "POST", "/v1/users", opts({ user: { user_type: "api" } }));
  if (typeof api.api_key !== "string") throw new Error("creating an api user returned no api_key");
  const m10 = await call(base, key, "POST", "/v1/users", opts({ user: { username: "member10", first_name: "Ten", last_name: "Orgs" } }));
  const m100 = await call(base, key, "POST", "/v1/users", opts({ user: { username: "member100", first_name: "Hundred", last_name: "Orgs" } }));
  const orgIds: string[] = [];
  await inParallel(
    Array.from({ length: orgCount }, (_, i) => i),
    8,
    async (i) => {
      const org = await call(base, key, "POST", "/v1/orgs", opts({ org: { name: `Org ${i}` } }));
      orgIds[i] = org.id as string;
    },
  );
  const memberships: [string, string][] = [];
  orgIds.forEach((orgId, i) => {
    memberships.push([m100.id as string, orgId]);
    if (i < 10) memberships.push([m10.id as string, orgId]);
  });
  await inParallel(memberships, 8, ([userId, orgId]) =>
    call(base, key, "POST", "/v1/memberships", opts({ membership: { user_id: userId, org_id: orgId, permissions: ["read", "billing:view"] } })),
  );
  return {
    realmId,
    user: { id: alice.id as string, username: "alice", password },
    sessionToken: login.token,
    apiUser: { id: api.id as string, apiKey: api.api_key },
    member10: m10.id as string,
    member100: m100.id as string,
    orgs: orgCount,
    seconds: (performance.now() - started) / 1000,
  };
}
