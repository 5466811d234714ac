/**
 * Account API keys (`ko_<id>-<secret>`), the management credentials. Only a SHA-256 hash of
 * the secret is stored. Verified keys are cached briefly so the hot path does no hashing
 * round-trip to the database; a revocation, by this process or by another one sharing the
 * database file (noticed through SQLite's data_version), empties the cache at once.
 */
import type { CallContext, JsonObject } from "./context.ts";
import { CoreError } from "./errors.ts";
import { isUniqueViolation } from "./storage/sqlite.ts";
import { randomBase62 } from "./ids.ts";
import type { Permission, Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { KeyOperations } from "./api.ts";

export const ALL_PERMISSIONS: readonly Permission[] = ["read", "write", "admin_realm"];
const KEY_FORMAT = /^ko_([0-9A-Za-z]{22})-([0-9A-Za-z]{32,64})$/;
const LEGACY_FORMAT = /^key_([0-9A-Za-z]{32,64})$/;
const CACHE_LIMIT = 10_000;

/** Splits a `ko_…` key into id and secret, or undefined when it is not well formed. */
export function parseKey(key: string): { id: string; secret: string } | undefined {
  const m = KEY_FORMAT.exec(key);
  return m ? { id: `ko_${m[1]}`, secret: m[2]! } : undefined;
}

interface KeyRow {
  id: string;
  permissions: string;
  revoked_at: number | null;
}

/** Management-key checks and the key operations the CLI uses. */
export class KeyRing {
  readonly #rt: () => Runtime;
  readonly #cache = new Map<string, { permissions: readonly string[]; until: number }>();
  readonly #cacheMs: number;
  /** The in-process trust token (see CallContext credentials.trusted). */
  readonly trustToken: object = Object.freeze({ trusted: true });

  constructor(rt: () => Runtime, cacheMs: number) {
    this.#rt = rt;
    this.#cacheMs = cacheMs;
  }

  /** Resolves the caller's permissions, or throws api_key.missing / api_key.invalid / api_key.forbidden. */
  async authorize(ctx: CallContext, permission: Permission): Promise<void> {
    // Every call begins here: it sees whatever another process committed before it began
    // (a logout through another process, a revocation with the CLI).
    const rt = this.#rt();
    rt.db.noticeOtherWriters(rt.clock(), true, ctx.ioTurn);
    const { apiKey, account, bearer, trusted } = ctx.credentials;
    if (trusted !== undefined) {
      if (trusted === this.trustToken) return;
      throw new CoreError("api_key.invalid");
    }
    const presented = bearer ?? apiKey;
    if (!presented) throw new CoreError("api_key.missing");
    const cacheKey = `${account ?? ""}\u0000${presented}`;
    const now = rt.clock();
    let entry = this.#cache.get(cacheKey);
    if (!entry || entry.until < now) {
      this.#cache.delete(cacheKey);
      const permissions = await this.#lookup(presented, bearer ? undefined : account);
      if (!permissions) throw new CoreError("api_key.invalid");
      if (this.#cache.size >= CACHE_LIMIT) this.#cache.clear();
      entry = { permissions, until: now + this.#cacheMs };
      this.#cache.set(cacheKey, entry);
    }
    if (!entry.permissions.includes(permission)) throw new CoreError("api_key.forbidden");
  }

  async #lookup(presented: string, account: string | undefined): Promise<readonly string[] | undefined> {
    const rt = this.#rt();
    let id: string | undefined;
    let secret: string;
    const full = parseKey(presented);
    if (full) {
      id = full.id;
      secret = full.secret;
    } else {
      // Legacy pair: X-Authrocket-Account (the account id) + key_<secret>.
      const legacy = LEGACY_FORMAT.exec(presented);
      if (!legacy || account !== rt.accountId) return undefined;
      secret = legacy[1]!;
    }
    const hash = await rt.sha256(secret);
    const row = rt.db.get<KeyRow>("SELECT id, permissions, revoked_at FROM api_keys WHERE secret_hash = ?", hash);
    if (!row || row.revoked_at !== null || (id !== undefined && row.id !== id)) return undefined;
    return JSON.parse(row.permissions) as string[];
  }

  /** Forgets cached verifications (after a revocation in this process). */
  clearCache(): void {
    this.#cache.clear();
  }

  operations(): KeyOperations {
    return {
      create: (input) => this.create(input),
      list: async () => this.list(),
      revoke: (id) => this.revoke(id),
    };
  }

  /** Creates (or installs, when `input.key` is given) a key and returns it once. */
  async create(input: { permissions?: string[]; name?: string; key?: string }): Promise<JsonObject> {
    const rt = this.#rt();
    const permissions = input.permissions ?? [...ALL_PERMISSIONS];
    for (const p of permissions) {
      if (!(ALL_PERMISSIONS as readonly string[]).includes(p)) {
        throw new CoreError("validation_failed", { permissions: [`must be among ${ALL_PERMISSIONS.join(", ")}`] });
      }
    }
    let parsed: { id: string; secret: string };
    if (input.key !== undefined) {
      const given = parseKey(input.key);
      if (!given) throw new CoreError("validation_failed", { key: ["must look like ko_<22 base62>-<32 to 64 base62>"] });
      parsed = given;
    } else {
      parsed = { id: rt.ids.next("ko"), secret: randomBase62(40, rt.random) };
    }
    const hash = await rt.sha256(parsed.secret);
    const createdAt = seconds(rt.clock());
    try {
      await rt.db.write((sql) =>
        sql.run(
          "INSERT INTO api_keys (id, secret_hash, permissions, name, created_at) VALUES (?, ?, ?, ?, ?)",
          parsed.id,
          hash,
          JSON.stringify(permissions),
          input.name ?? null,
          createdAt,
        ),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new CoreError("validation_failed", { key: ["already exists"] });
      throw err;
    }
    return {
      id: parsed.id,
      object: "api_key",
      key: `${parsed.id}-${parsed.secret}`,
      legacy_key: `key_${parsed.secret}`,
      account_id: rt.accountId,
      permissions,
      name: input.name ?? null,
      created_at: createdAt,
    };
  }

  list(): JsonObject[] {
    const rows = this.#rt().db.all<{ id: string; permissions: string; name: string | null; created_at: number; revoked_at: number | null }>(
      "SELECT id, permissions, name, created_at, revoked_at FROM api_keys ORDER BY id",
    );
    return rows.map((r) => ({
      id: r.id,
      object: "api_key",
      permissions: JSON.parse(r.permissions) as string[],
      name: r.name,
      created_at: r.created_at,
      revoked_at: r.revoked_at,
    }));
  }

  async revoke(id: string): Promise<void> {
    const rt = this.#rt();
    const changed = await rt.db.write((sql) => sql.run("UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL", seconds(rt.clock()), id));
    if (changed === 0) throw new CoreError("validation_failed", { id: ["is not an active key"] });
    this.#cache.clear();
  }

  /** True when no key was ever created (first start). */
  isEmpty(): boolean {
    return this.#rt().db.get<{ n: number }>("SELECT count(*) AS n FROM api_keys")!.n === 0;
  }
}
