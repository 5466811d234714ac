/**
 * Users (human and API), their passwords, and password authentication.
 * `{u}` in a path is a user id or a username.
 */
import type { UserOperations } from "./api.ts";
import type { CallContext, JsonObject, Params } from "./context.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId, randomBase62 } from "./ids.ts";
import { listPage, readPageRequest } from "./lists.ts";
import { normalizeIdentifier, optCustom, optEnum, optString, rawString, readExpands, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { type RealmRow, resolveRealm } from "./realms.ts";
import { readRequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { checkThrottle, clearThrottle, recordFailure, type ThrottleKey } from "./throttle.ts";
import { fullName, signLoginToken } from "./tokens.ts";
import { sha256Hex } from "./crypto.ts";

/** A user as stored, plus its live membership count. */
export interface UserRow {
  id: string;
  realm_id: string;
  user_type: "human" | "api";
  state: "active" | "inactive";
  username: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  reference: string | null;
  custom: string;
  created_at: number;
  last_login_at: number | null;
  membership_count: number;
}

/** Passwords: at least the realm minimum (never below 8), at most 1024 characters. */
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;

const WRITABLE = new Set([
  "user_type",
  "state",
  "username",
  "email",
  "first_name",
  "last_name",
  "reference",
  "custom",
  "password",
  "password_confirmation",
  "api_key",
]);
const READ_ONLY = new Set([
  "id",
  "object",
  "realm_id",
  "name",
  "created_at",
  "last_login_at",
  "last_login_on",
  "membership_count",
  "credentials",
  "expands",
  "expand",
  "token",
]);
const USERNAME = /^[\p{L}\p{N}._@+'-]+$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;
const MEMBERSHIP_COUNT = "(SELECT count(*) FROM memberships m WHERE m.user_id = t.id AND (m.expires_at IS NULL OR m.expires_at > ?)) AS membership_count";

/** The v1 JSON of a user. Lists omit `custom` unless expanded; Gets add `credentials`. */
export function userJson(row: UserRow, options: { custom: boolean; credentials?: { id: string; credential_type: string }[] }): JsonObject {
  const out: JsonObject = {
    id: row.id,
    object: "user",
    realm_id: row.realm_id,
    user_type: row.user_type,
    state: row.state,
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    name: fullName(row.first_name, row.last_name),
    reference: row.reference,
    created_at: row.created_at,
    last_login_at: row.last_login_at,
    last_login_on: row.last_login_at,
    membership_count: row.membership_count,
  };
  if (options.custom) out.custom = JSON.parse(row.custom) as unknown;
  if (options.credentials) out.credentials = options.credentials.map((c) => ({ id: c.id, object: "credential", credential_type: c.credential_type }));
  return out;
}

function nowSeconds(rt: Runtime): number {
  return seconds(rt.clock());
}

/** Finds a user of `realm` by id or username (`{u}`); undefined when there is none. */
export function findUser(sql: Sql, realmId: string, u: unknown, now: number): UserRow | undefined {
  if (typeof u !== "string" || u === "") return undefined;
  if (isId(u, "usr")) return sql.get<UserRow>(`SELECT t.*, ${MEMBERSHIP_COUNT} FROM users t WHERE t.realm_id = ? AND t.id = ?`, now, realmId, u);
  return sql.get<UserRow>(`SELECT t.*, ${MEMBERSHIP_COUNT} FROM users t WHERE t.realm_id = ? AND t.username = ?`, now, realmId, normalizeIdentifier(u));
}

function requireUser(sql: Sql, realmId: string, u: unknown, now: number): UserRow {
  const user = findUser(sql, realmId, u, now);
  if (!user) throw new CoreError("user.not_found");
  return user;
}

function credentialsOf(sql: Sql, userId: string): { id: string; credential_type: string }[] {
  return sql.all("SELECT id, credential_type FROM credentials WHERE user_id = ? ORDER BY id", userId);
}

/** The full (Get) JSON of a user. */
function fullUserJson(sql: Sql, row: UserRow): JsonObject {
  return userJson(row, { custom: true, credentials: credentialsOf(sql, row.id) });
}

interface UserAttributes {
  user_type?: "human" | "api";
  state?: "active" | "inactive";
  username?: string | null;
  email?: string | null;
  first_name?: string | null;
  last_name?: string | null;
  reference?: string | null;
  custom?: Record<string, unknown>;
  password?: string;
  api_key?: string;
}

/** Reads and validates the `user` wrapper against the realm's rules. */
function readUserAttributes(attrs: Record<string, unknown>, realm: RealmRow, creating: boolean): UserAttributes {
  const p = new Problems();
  rejectUnknown(attrs, WRITABLE, READ_ONLY, p);
  const out: UserAttributes = {
    user_type: optEnum(attrs, "user_type", ["human", "api"] as const, p),
    state: optEnum(attrs, "state", ["active", "inactive"] as const, p),
    username: optString(attrs, "username", p),
    email: optString(attrs, "email", p),
    first_name: optString(attrs, "first_name", p),
    last_name: optString(attrs, "last_name", p),
    reference: optString(attrs, "reference", p),
    custom: optCustom(attrs, "custom", p),
  };
  if (typeof out.username === "string") out.username = normalizeIdentifier(out.username);
  if (typeof out.email === "string") {
    out.email = normalizeIdentifier(out.email);
    if (!EMAIL.test(out.email)) p.add("email", "is not a valid email address");
  }
  const type = out.user_type ?? "human";
  if (type === "human" && realm.username_validation_human === "email") {
    if (creating && (out.username === undefined || out.username === null) && out.email) out.username = out.email;
    if (typeof out.username === "string" && !EMAIL.test(out.username)) p.add("username", "must be an email address in this realm");
  }
  if (typeof out.username === "string") {
    if (!USERNAME.test(out.username)) p.add("username", "may contain only letters, digits and . _ @ + ' -");
    else if (isId(out.username, "usr") || out.username === "--") p.add("username", "is reserved");
  }
  if (creating && type === "human" && (out.username === undefined || out.username === null)) p.add("username", "can't be blank");
  if (!creating && out.username === null) p.add("username", "can't be blank");

  const password = rawString(attrs, "password", p, MAX_PASSWORD);
  const confirmation = rawString(attrs, "password_confirmation", p, MAX_PASSWORD);
  if (password !== undefined && password !== "") {
    if (type === "api") p.add("password", "is not allowed for api users");
    else if (password.length < MIN_PASSWORD) p.add("password", `is too short (minimum is ${MIN_PASSWORD} characters)`);
    if (confirmation !== undefined && confirmation !== password) p.add("password_confirmation", "doesn't match password");
    out.password = password;
  } else if (confirmation !== undefined && confirmation !== "") {
    p.add("password", "can't be blank when password_confirmation is given");
  }

  const apiKey = attrs.api_key;
  if (apiKey !== undefined && apiKey !== null) {
    if (type !== "api") p.add("api_key", "is only for api users");
    else if (typeof apiKey !== "string") p.add("api_key", "must be a string");
    else if (apiKey !== "" && apiKey !== "generate") {
      const key = rawString(attrs, "api_key", p, 255);
      if (key !== undefined && key.length < 32) p.add("api_key", "is too short (minimum is 32 characters)");
      else if (key !== undefined) out.api_key = key;
    }
  }
  p.throwIfAny();
  return out;
}

/** Uniqueness checks inside the write transaction (the unique index backs the username). */
function checkUnique(sql: Sql, realm: RealmRow, userId: string | null, username: string | undefined, email: string | null | undefined): void {
  const p = new Problems();
  if (username !== undefined && sql.get("SELECT 1 FROM users WHERE realm_id = ? AND username = ? AND id IS NOT ?", realm.id, username, userId)) {
    p.add("username", "has already been taken");
  }
  if (realm.require_unique_emails === 1 && email && sql.get("SELECT 1 FROM users WHERE realm_id = ? AND email = ? AND id IS NOT ?", realm.id, email, userId)) {
    p.add("email", "has already been taken");
  }
  if (!p.empty) throw new CoreError(p.errors.username ? "user.username_taken" : "user.email_taken", p.errors);
}

const LIST_PARAMS = ["after", "max_results", "sort", "direction", "user_type", "state", "reference", "email", "username"];
const SORTS = { id: "id", username: "username", created_at: "created_at" };

export function userOperations(rt: Runtime): UserOperations {
  const throttleKeys = (realm: RealmRow, user: UserRow | undefined, u: string, ip: string | null): { userKey: string; keys: ThrottleKey[] } => {
    const userKey = `u:${realm.id}:${user ? user.id : `name=${normalizeIdentifier(u)}`}`;
    const keys: ThrottleKey[] = [{ key: userKey, limit: rt.throttle.perUser }];
    if (ip) keys.push({ key: `ip:${realm.id}:${ip}`, limit: rt.throttle.perIp });
    return { userKey, keys };
  };

  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, LIST_PARAMS);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, { sorts: SORTS, defaultSort: "id", defaultDirection: "asc" });
      const p = new Problems();
      const where = ["t.realm_id = ?"];
      const args: SqlValue[] = [realm.id];
      const filters: [string, string | undefined | null][] = [
        ["user_type", optEnum(params, "user_type", ["human", "api"] as const, p)],
        ["state", optEnum(params, "state", ["active", "inactive"] as const, p)],
        ["reference", optString(params, "reference", p)],
        ["email", ((v) => (typeof v === "string" ? normalizeIdentifier(v) : v))(optString(params, "email", p))],
        ["username", ((v) => (typeof v === "string" ? normalizeIdentifier(v) : v))(optString(params, "username", p))],
      ];
      for (const [column, value] of filters) {
        if (typeof value === "string") {
          where.push(`t.${column} = ?`);
          args.push(value);
        }
      }
      p.throwIfAny();
      const withCustom = readExpands(params, undefined, ["custom"]).has("custom");
      const { rows, more } = listPage<UserRow>(
        rt.db,
        { table: "users", sorts: SORTS, defaultSort: "id", defaultDirection: "asc", where, args, select: MEMBERSHIP_COUNT, selectArgs: [nowSeconds(rt)] },
        page,
      );
      return { collection: rows.map((r) => userJson(r, { custom: withCustom })), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      return fullUserJson(rt.db, requireUser(rt.db, realm.id, params.id, nowSeconds(rt)));
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["user"]);
      const realm = resolveRealm(rt, ctx, params, "user");
      const attrs = readUserAttributes(wrapper(params, "user"), realm, true);
      const request = readRequestInfo(params);
      const type = attrs.user_type ?? "human";
      // Slow work (hashing, secrets) happens before the transaction.
      const passwordHash = attrs.password ? await rt.hasher.hash(attrs.password) : undefined;
      const apiKey = type === "api" ? (attrs.api_key ?? `${realm.api_key_prefix ?? ""}${randomBase62(40, rt.random)}`) : undefined;
      const apiKeyHash = apiKey ? await sha256Hex(apiKey) : undefined;
      const username = attrs.username ?? `api-${randomBase62(16, rt.random).toLowerCase()}`;
      const id = rt.ids.next("usr");
      const now = nowSeconds(rt);
      const json = rt.db.write((sql) => {
        checkUnique(sql, realm, null, username, attrs.email);
        sql.run(
          `INSERT INTO users (id, realm_id, user_type, state, username, email, first_name, last_name, reference, custom, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          id,
          realm.id,
          type,
          attrs.state ?? "active",
          username,
          attrs.email ?? null,
          attrs.first_name ?? null,
          attrs.last_name ?? null,
          attrs.reference ?? null,
          JSON.stringify(attrs.custom ?? {}),
          now,
        );
        if (passwordHash)
          sql.run(
            "INSERT INTO credentials (id, realm_id, user_id, credential_type, secret_hash, created_at) VALUES (?, ?, ?, 'password', ?, ?)",
            rt.ids.next("crd"),
            realm.id,
            id,
            passwordHash,
            now,
          );
        if (apiKeyHash)
          sql.run(
            "INSERT INTO credentials (id, realm_id, user_id, credential_type, secret_hash, created_at) VALUES (?, ?, ?, 'api_key', ?, ?)",
            rt.ids.next("crd"),
            realm.id,
            id,
            apiKeyHash,
            now,
          );
        writeEvent(sql, rt, ctx, request, "user.created", { realm_id: realm.id, user_id: id });
        return fullUserJson(sql, requireUser(sql, realm.id, id, now));
      });
      // The key is shown once, in this response only.
      if (apiKey) json.api_key = apiKey;
      return json;
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["user"]);
      const realm = resolveRealm(rt, ctx, params, "user");
      const attrs = readUserAttributes(wrapper(params, "user"), realm, false);
      const request = readRequestInfo(params);
      const passwordHash = attrs.password ? await rt.hasher.hash(attrs.password) : undefined;
      const now = nowSeconds(rt);
      return rt.db.write((sql) => {
        const current = requireUser(sql, realm.id, params.id, now);
        if (attrs.user_type !== undefined && attrs.user_type !== current.user_type)
          throw new CoreError("validation_failed", { user_type: ["can't be changed"] });
        if (current.user_type === "api" && passwordHash) throw new CoreError("validation_failed", { password: ["is not allowed for api users"] });
        checkUnique(sql, realm, current.id, attrs.username ?? undefined, attrs.email);
        const sets: string[] = [];
        const args: SqlValue[] = [];
        for (const key of ["state", "username", "email", "first_name", "last_name", "reference", "custom"] as const) {
          const value = attrs[key];
          if (value === undefined) continue;
          sets.push(`${key} = ?`);
          args.push(key === "custom" ? JSON.stringify(value) : (value as SqlValue));
        }
        if (sets.length > 0) sql.run(`UPDATE users SET ${sets.join(", ")} WHERE id = ?`, ...args, current.id);
        if (passwordHash) {
          const changed = sql.run("UPDATE credentials SET secret_hash = ? WHERE user_id = ? AND credential_type = 'password'", passwordHash, current.id);
          if (changed === 0)
            sql.run(
              "INSERT INTO credentials (id, realm_id, user_id, credential_type, secret_hash, created_at) VALUES (?, ?, ?, 'password', ?, ?)",
              rt.ids.next("crd"),
              realm.id,
              current.id,
              passwordHash,
              now,
            );
        }
        // A new password or deactivation ends the user's managed sessions at once.
        if (passwordHash || attrs.state === "inactive") sql.run("DELETE FROM sessions WHERE user_id = ?", current.id);
        writeEvent(sql, rt, ctx, request, "user.updated", { realm_id: realm.id, user_id: current.id });
        return fullUserJson(sql, requireUser(sql, realm.id, current.id, now));
      });
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      const now = nowSeconds(rt);
      rt.db.write((sql) => {
        const current = requireUser(sql, realm.id, params.id, now);
        sql.run("DELETE FROM users WHERE id = ?", current.id);
        writeEvent(sql, rt, ctx, request, "user.deleted", { realm_id: realm.id, user_id: current.id });
      });
    },

    async authenticate(ctx: CallContext, params: Params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["password"]);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      const p = new Problems();
      const password = rawString(params, "password", p, MAX_PASSWORD);
      if (password === undefined && p.empty) p.add("password", "can't be blank");
      if (typeof params.id !== "string" || params.id === "") p.add("id", "must be a user id or username");
      p.throwIfAny();
      const u = params.id as string;
      const now = nowSeconds(rt);
      const user = findUser(rt.db, realm.id, u, now);
      const { userKey, keys } = throttleKeys(realm, user, u, request.ip);
      checkThrottle(rt.db, keys, now, rt.throttle.windowSeconds);

      const hash =
        user?.user_type === "human"
          ? rt.db.get<{ secret_hash: string }>("SELECT secret_hash FROM credentials WHERE user_id = ? AND credential_type = 'password'", user.id)?.secret_hash
          : undefined;
      // Always verify against some hash, so unknown users cost the same time as known ones.
      const matches = await rt.hasher.verify(hash ?? (await rt.dummyHash()), password!);
      if (!matches || !hash || !user || user.state !== "active") {
        rt.db.write((sql) => {
          recordFailure(sql, keys, now, rt.throttle.windowSeconds);
          writeEvent(sql, rt, ctx, request, "user.login.failed", { realm_id: realm.id, user_id: user?.id ?? null });
        });
        throw new CoreError("user.authentication_failed", { base: ["Login failed: unknown user, wrong password or inactive user"] });
      }

      const sessionId = rt.ids.next("kss");
      const exp = Math.floor(now + realm.session_minutes * 60);
      const json = rt.db.write((sql) => {
        clearThrottle(sql, userKey);
        sql.run("UPDATE users SET last_login_at = ? WHERE id = ?", now, user.id);
        if (realm.session_type === "managed") {
          sql.run(
            "INSERT INTO sessions (id, realm_id, user_id, created_at, expires_at, ip, client) VALUES (?, ?, ?, ?, ?, ?, ?)",
            sessionId,
            realm.id,
            user.id,
            now,
            exp,
            request.ip,
            request.client,
          );
        }
        writeEvent(sql, rt, ctx, request, "user.login.succeeded", { realm_id: realm.id, user_id: user.id });
        return fullUserJson(sql, requireUser(sql, realm.id, user.id, now));
      });
      json.token = await signLoginToken(rt.db, realm, { ...user, custom: JSON.stringify(json.custom ?? {}) }, sessionId, Math.floor(now), exp);
      return json;
    },
  };
}
