/**
 * Users (human and API), their passwords, API keys and password tokens, and the two
 * authenticate calls. `{u}` in a path is a user id or a username.
 */
import type { UserOperations } from "./api.ts";
import type { CallContext, JsonObject, Params } from "./context.ts";
import { generateApiKey, readApiKey } from "./credentials.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { type EventSubjects, writeEvent } from "./events.ts";
import { isId, randomBase62 } from "./ids.ts";
import { listPage, readPageRequest } from "./lists.ts";
import { membershipsOfUser } from "./memberships.ts";
import { normalizeIdentifier, optCustom, optEnum, optString, rawString, readExpands, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { checkPassword, MAX_PASSWORD, passwordPolicyOf } from "./passwords.ts";
import { type RealmRow, resolveRealm } from "./realms.ts";
import { readRequestInfo, type RequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { LOGIN_FAILED, passwordLogin } from "./login.ts";
import { signLoginToken } from "./tokens.ts";
import { deepFreeze, MEMBERSHIP_COUNT, MEMBERSHIP_COUNT_UNTIL, userJson, userRowUntil, type UserRow } from "./user_json.ts";
import { consumeUserToken, peekUserToken } from "./user_tokens.ts";

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
  "memberships",
  "expands",
  "expand",
]);
const USERNAME = /^[\p{L}\p{N}._@+'-]+$/u;
const EMAIL = /^[^\s@]+@[^\s@]+\.[^\s@]+$/u;
/** Password reset tokens live 24 hours. */
const PASSWORD_TOKEN_SECONDS = 24 * 3600;
/** authenticate_key records last_login_at at most this often, keeping its hot path write-free. */
const KEY_LOGIN_RECORD_SECONDS = 24 * 3600;

function nowSeconds(rt: Runtime): number {
  return seconds(rt.clock());
}

/** Finds a user of `realm` by id or username (`{u}`); undefined when there is none. */
export function findUser(sql: Sql, realmId: string, u: unknown, now: number): UserRow | undefined {
  if (typeof u !== "string" || u === "") return undefined;
  const [column, value] = isId(u, "usr") ? ["id", u] : ["username", normalizeIdentifier(u)];
  return sql.cachedRead(`user ${realmId} ${column} ${value}`, now, () => {
    const row = sql.get<UserRow>(`SELECT t.*, ${MEMBERSHIP_COUNT_UNTIL} FROM users t WHERE t.realm_id = ? AND t.${column} = ?`, now, now, realmId, value);
    return { value: row, until: userRowUntil(row) };
  });
}

function requireUser(sql: Sql, realmId: string, u: unknown, now: number): UserRow {
  const user = findUser(sql, realmId, u, now);
  if (!user) throw new CoreError("user.not_found");
  return user;
}

/** The full (Get) JSON of a user, with `memberships` (each embedding its org) when expanded. */
function fullUserJson(sql: Sql, row: UserRow, now: number, withMemberships = false): JsonObject {
  const credentials = sql.cachedRead(`credentials ${row.id}`, now, () => ({
    value: sql.all<{ id: string; credential_type: string }>("SELECT id, credential_type FROM credentials WHERE user_id = ? ORDER BY id", row.id),
    until: Number.POSITIVE_INFINITY,
  }));
  const json = userJson(row, { custom: true, credentials });
  if (withMemberships) json.memberships = membershipsOfUser(sql, row.id, now);
  return json;
}

/**
 * {@link fullUserJson} for the read paths (Get a user, key checks), plus `token: null` when
 * asked: cached like the rows it is built from (until the user's next membership expiry — the
 * row's own `until` — or any write), frozen and shared, so a repeated read returns the same
 * object and a transport can serialize it once.
 */
function sharedUserJson(sql: Sql, row: UserRow, now: number, options: { memberships: boolean; nullToken?: boolean }): Readonly<JsonObject> {
  const key = `user json ${row.id}${options.memberships ? " memberships" : ""}${options.nullToken ? " token:null" : ""}`;
  return sql.cachedRead(key, now, () => {
    const json = fullUserJson(sql, row, now, options.memberships);
    if (options.nullToken) json.token = null;
    return { value: deepFreeze(json), until: userRowUntil(row) };
  });
}

/** Validated user attributes; `undefined` fields were not given. */
export interface UserAttributes {
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

/**
 * Reads and validates user attributes against the realm's rules. `allowed` limits which
 * attributes may appear (signup tokens take fewer than users).
 */
export function readUserAttributes(
  attrs: Record<string, unknown>,
  realm: RealmRow,
  creating: boolean,
  allowed: ReadonlySet<string> = WRITABLE,
): UserAttributes {
  const p = new Problems();
  rejectUnknown(attrs, allowed, READ_ONLY, p);
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

  const password = checkPassword(attrs, p, false, passwordPolicyOf(realm));
  if (password !== undefined) {
    if (type === "api") p.add("password", "is not allowed for api users");
    out.password = password;
  }
  if (attrs.api_key !== undefined && attrs.api_key !== null) {
    if (type !== "api") p.add("api_key", "is only for api users");
    else out.api_key = readApiKey(attrs, p);
  }
  p.throwIfAny();
  return out;
}

/** Uniqueness checks inside the write transaction (the unique index backs the username). */
export function checkUnique(sql: Sql, realm: RealmRow, userId: string | null, username: string | null | undefined, email: string | null | undefined): void {
  const p = new Problems();
  if (username && sql.get("SELECT 1 FROM users WHERE realm_id = ? AND username = ? AND id IS NOT ?", realm.id, username, userId)) {
    p.add("username", "has already been taken");
  }
  if (realm.require_unique_emails === 1 && email && sql.get("SELECT 1 FROM users WHERE realm_id = ? AND email = ? AND id IS NOT ?", realm.id, email, userId)) {
    p.add("email", "has already been taken");
  }
  if (!p.empty) throw new CoreError(p.errors.username ? "user.username_taken" : "user.email_taken", p.errors);
}

const CREDENTIAL_INSERT = "INSERT INTO credentials (id, realm_id, user_id, credential_type, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)";

/** A new user's stored fields, validated and hashed already. */
export interface NewUser {
  id: string;
  type: "human" | "api";
  username: string;
  attrs: UserAttributes;
  passwordHash: string | null;
  apiKeyHash: string | null;
  now: number;
}

/**
 * Inserts a user and its credentials and records `user.created` (plus `subjects`), after
 * the uniqueness checks. Call inside a write transaction.
 */
export function insertUser(
  sql: Sql,
  rt: Runtime,
  ctx: CallContext,
  request: RequestInfo,
  realm: RealmRow,
  user: NewUser,
  subjects: EventSubjects = {},
): JsonObject {
  const { id, attrs, now } = user;
  checkUnique(sql, realm, null, user.username, attrs.email);
  const row: UserRow = {
    id,
    realm_id: realm.id,
    user_type: user.type,
    state: attrs.state ?? "active",
    username: user.username,
    email: attrs.email ?? null,
    first_name: attrs.first_name ?? null,
    last_name: attrs.last_name ?? null,
    reference: attrs.reference ?? null,
    custom: JSON.stringify(attrs.custom ?? {}),
    created_at: now,
    last_login_at: null,
    membership_count: 0,
  };
  sql.run(
    `INSERT INTO users (id, realm_id, user_type, state, username, email, first_name, last_name, reference, custom, created_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    row.id,
    row.realm_id,
    row.user_type,
    row.state,
    row.username,
    row.email,
    row.first_name,
    row.last_name,
    row.reference,
    row.custom,
    row.created_at,
  );
  const credentials: { id: string; credential_type: string }[] = [];
  for (const [type, hash] of [
    ["password", user.passwordHash],
    ["api_key", user.apiKeyHash],
  ] as const) {
    if (!hash) continue;
    const credential = { id: rt.ids.next("crd"), credential_type: type };
    sql.run(CREDENTIAL_INSERT, credential.id, realm.id, id, type, hash, now);
    credentials.push(credential);
  }
  writeEvent(sql, rt, ctx, request, "user.created", { ...subjects, realm_id: realm.id, user_id: id });
  // The Get JSON of the new user, from what was just written (no read-back).
  return userJson(row, { custom: true, credentials });
}

/** Replaces (or adds) the user's password hash and ends their sessions. */
function setPassword(sql: Sql, rt: Runtime, realmId: string, userId: string, hash: string, now: number): void {
  const changed = sql.run("UPDATE credentials SET secret_hash = ? WHERE user_id = ? AND credential_type = 'password'", hash, userId);
  if (changed === 0) sql.run(CREDENTIAL_INSERT, rt.ids.next("crd"), realmId, userId, "password", hash, now);
  sql.run("DELETE FROM sessions WHERE user_id = ?", userId);
}

const LIST_PARAMS = ["after", "max_results", "sort", "direction", "user_type", "state", "reference", "email", "username"];
const SORTS = { id: "id", username: "username", created_at: "created_at" };

export function userOperations(rt: Runtime): UserOperations {
  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, LIST_PARAMS);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, { sorts: SORTS, defaultSort: "id", defaultDirection: "asc" });
      const p = new Problems();
      const where = ["t.realm_id = ?"];
      const args: SqlValue[] = [realm.id];
      const normalized = (v: string | null | undefined) => (typeof v === "string" ? normalizeIdentifier(v) : v);
      const filters: [string, string | undefined | null][] = [
        ["user_type", optEnum(params, "user_type", ["human", "api"] as const, p)],
        ["state", optEnum(params, "state", ["active", "inactive"] as const, p)],
        ["reference", optString(params, "reference", p)],
        ["email", normalized(optString(params, "email", p))],
        ["username", normalized(optString(params, "username", p))],
      ];
      p.throwIfAny();
      for (const [column, value] of filters) {
        if (typeof value === "string") {
          where.push(`t.${column} = ?`);
          args.push(value);
        }
      }
      const withCustom = readExpands(params, undefined, ["custom"]).has("custom");
      const { rows, more } = listPage<UserRow>(rt.db, { table: "users", where, args, select: MEMBERSHIP_COUNT, selectArgs: [nowSeconds(rt)] }, page);
      return { collection: rows.map((r) => userJson(r, { custom: withCustom })), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const now = nowSeconds(rt);
      return sharedUserJson(rt.db, requireUser(rt.db, realm.id, params.id, now), now, {
        memberships: readExpands(params, undefined, ["memberships"]).has("memberships"),
      });
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["user"]);
      const realm = resolveRealm(rt, ctx, params, "user");
      let given = wrapper(params, "user");
      // A signup token supplies the attributes (and the password hash); explicit ones win.
      const signupToken = given.token;
      let tokenPasswordHash: string | null = null;
      let tokenHash: string | undefined;
      if (signupToken !== undefined) {
        const token = await peekUserToken(rt, realm.id, signupToken);
        const { token: _t, ...rest } = given;
        given = { ...token.attributes, ...rest };
        tokenPasswordHash = token.passwordHash;
        tokenHash = token.tokenHash;
      }
      const attrs = readUserAttributes(given, realm, true);
      const request = readRequestInfo(params);
      const type = attrs.user_type ?? "human";
      // Slow work (hashing, secrets) happens before the transaction.
      const passwordHash = attrs.password ? await rt.hasher.hash(attrs.password) : tokenPasswordHash;
      const apiKey = type === "api" ? await generateApiKey(rt, realm, attrs.api_key) : undefined;
      const username = attrs.username ?? `api-${randomBase62(16, rt.random).toLowerCase()}`;
      const id = rt.ids.next("usr");
      const now = nowSeconds(rt);
      const json = await rt.db.write((sql) => {
        if (tokenHash !== undefined) consumeUserToken(sql, tokenHash, now);
        return insertUser(sql, rt, ctx, request, realm, { id, type, username, attrs, passwordHash, apiKeyHash: apiKey?.hash ?? null, now });
      });
      // The key is shown once, in this response only.
      if (apiKey) json.api_key = apiKey.key;
      return json;
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["user"]);
      const realm = resolveRealm(rt, ctx, params, "user");
      const attrs = readUserAttributes(wrapper(params, "user"), realm, false);
      if (attrs.api_key !== undefined || wrapper(params, "user").api_key !== undefined) {
        throw new CoreError("validation_failed", { api_key: ["is managed through /v1/credentials"] });
      }
      const request = readRequestInfo(params);
      const passwordHash = attrs.password ? await rt.hasher.hash(attrs.password) : undefined;
      const now = nowSeconds(rt);
      return rt.db.write((sql) => {
        const current = requireUser(sql, realm.id, params.id, now);
        if (attrs.user_type !== undefined && attrs.user_type !== current.user_type)
          throw new CoreError("validation_failed", { user_type: ["can't be changed"] });
        if (current.user_type === "api" && passwordHash) throw new CoreError("validation_failed", { password: ["is not allowed for api users"] });
        checkUnique(sql, realm, current.id, attrs.username, attrs.email);
        const sets: string[] = [];
        const args: SqlValue[] = [];
        for (const key of ["state", "username", "email", "first_name", "last_name", "reference", "custom"] as const) {
          const value = attrs[key];
          if (value === undefined) continue;
          sets.push(`${key} = ?`);
          args.push(key === "custom" ? JSON.stringify(value) : (value as SqlValue));
        }
        if (sets.length > 0) sql.run(`UPDATE users SET ${sets.join(", ")} WHERE id = ?`, ...args, current.id);
        if (passwordHash) setPassword(sql, rt, realm.id, current.id, passwordHash, now);
        // Deactivation ends the user's managed sessions at once.
        if (attrs.state === "inactive") sql.run("DELETE FROM sessions WHERE user_id = ?", current.id);
        writeEvent(sql, rt, ctx, request, "user.updated", { realm_id: realm.id, user_id: current.id });
        return fullUserJson(sql, requireUser(sql, realm.id, current.id, now), now);
      });
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      const now = nowSeconds(rt);
      await rt.db.write((sql) => {
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
      const { user, token, now } = await passwordLogin(rt, ctx, realm, { u: params.id as string }, password!, request);
      const json = fullUserJson(rt.db, requireUser(rt.db, realm.id, user.id, now), now, readExpands(params, undefined, ["memberships"]).has("memberships"));
      json.token = token;
      return json;
    },

    async authenticateKey(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["api_key"]);
      const realm = resolveRealm(rt, ctx, params);
      // The request hash is validated like everywhere, but key checks record no event: their
      // hot path writes nothing.
      readRequestInfo(params);
      const p = new Problems();
      const apiKey = rawString(params, "api_key", p, 255);
      if ((apiKey === undefined || apiKey === "") && p.empty) p.add("api_key", "can't be blank");
      p.throwIfAny();
      const now = nowSeconds(rt);
      // Keys carry ≥ 128 random bits, so one SHA-256 lookup is both fast and safe; the
      // comparison is an index seek on the hash, which leaks nothing about the key.
      const hash = await rt.sha256(apiKey!);
      const found = rt.db.cachedRead(`api key ${realm.id} ${hash}`, now, () => {
        const row = rt.db.get<UserRow>(
          `SELECT t.*, ${MEMBERSHIP_COUNT_UNTIL} FROM credentials c JOIN users t ON t.id = c.user_id
           WHERE c.secret_hash = ? AND c.credential_type = 'api_key' AND c.realm_id = ?`,
          now,
          now,
          hash,
          realm.id,
        );
        return { value: row, until: userRowUntil(row) };
      });
      // A copy: the cached row is shared, and last_login_at may be refreshed below.
      const user = found && { ...found };
      if (!user || user.state !== "active" || user.user_type !== "api") {
        rt.metrics.login("api_key", "failed");
        throw new CoreError("user.authentication_failed", { base: [LOGIN_FAILED] });
      }
      rt.metrics.login("api_key", "succeeded");
      // The hot path writes nothing: last_login_at is refreshed at most once a day.
      if (user.last_login_at === null || user.last_login_at < now - KEY_LOGIN_RECORD_SECONDS) {
        await rt.db.write((sql) => sql.run("UPDATE users SET last_login_at = ? WHERE id = ?", now, user.id));
        user.last_login_at = now;
      }
      const memberships = readExpands(params, undefined, ["memberships"]).has("memberships");
      if (realm.api_key_minutes <= 0) return sharedUserJson(rt.db, user, now, { memberships, nullToken: true });
      const token = await signLoginToken(rt.db, realm, user, rt.ids.next("kss"), Math.floor(now), Math.floor(now + realm.api_key_minutes * 60));
      return { ...sharedUserJson(rt.db, user, now, { memberships }), token };
    },

    async generatePasswordToken(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      const token = `kpw_${randomBase62(22, rt.random)}`;
      const hash = await rt.sha256(token);
      const now = nowSeconds(rt);
      const json = await rt.db.write((sql) => {
        const user = requireUser(sql, realm.id, params.id, now);
        if (user.user_type !== "human") throw new CoreError("validation_failed", { user_type: ["api users have no password"] });
        sql.run(
          "INSERT INTO password_tokens (token_hash, realm_id, user_id, expires_at, created_at) VALUES (?, ?, ?, ?, ?)",
          hash,
          realm.id,
          user.id,
          Math.floor(now + PASSWORD_TOKEN_SECONDS),
          now,
        );
        writeEvent(sql, rt, ctx, request, "user.password_token.created", { realm_id: realm.id, user_id: user.id });
        return fullUserJson(sql, user, now);
      });
      json.password_reset_token = token;
      return json;
    },

    async resetPasswordWithToken(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["user"]);
      const realm = resolveRealm(rt, ctx, params, "user");
      const attrs = wrapper(params, "user");
      const request = readRequestInfo(params);
      const p = new Problems();
      rejectUnknown(attrs, new Set(["token", "password", "password_confirmation"]), READ_ONLY, p);
      const token = attrs.token;
      if (typeof token !== "string" || token === "") p.add("token", "can't be blank");
      const password = checkPassword(attrs, p, true, passwordPolicyOf(realm));
      p.throwIfAny();
      const tokenHash = await rt.sha256(token as string);
      const passwordHash = await rt.hasher.hash(password!);
      const now = nowSeconds(rt);
      // `--` means "the user owning the token".
      const u = params.id === "--" ? undefined : params.id;
      const outcome = await rt.db.write((sql) => {
        const owner = u === undefined ? undefined : requireUser(sql, realm.id, u, now);
        // One atomic statement consumes the token: exactly one concurrent caller wins.
        const consumed = sql.get<{ user_id: string }>(
          "DELETE FROM password_tokens WHERE token_hash = ? AND realm_id = ? AND expires_at > ? AND (? IS NULL OR user_id = ?) RETURNING user_id",
          tokenHash,
          realm.id,
          now,
          owner?.id ?? null,
          owner?.id ?? null,
        );
        if (!consumed) {
          writeEvent(sql, rt, ctx, request, "user.password_token.failed", { realm_id: realm.id, user_id: owner?.id ?? null });
          return undefined;
        }
        setPassword(sql, rt, realm.id, consumed.user_id, passwordHash, now);
        // Any other outstanding reset tokens of the user are void once the password changed.
        sql.run("DELETE FROM password_tokens WHERE user_id = ?", consumed.user_id);
        writeEvent(sql, rt, ctx, request, "user.password_token.consumed", { realm_id: realm.id, user_id: consumed.user_id });
        return fullUserJson(sql, requireUser(sql, realm.id, consumed.user_id, now), now);
      });
      if (!outcome) throw new CoreError("user.password_token_invalid", { token: ["is invalid or expired"] });
      return outcome;
    },

    async updatePassword(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["user"]);
      const realm = resolveRealm(rt, ctx, params, "user");
      const attrs = wrapper(params, "user");
      const request = readRequestInfo(params);
      const p = new Problems();
      rejectUnknown(attrs, new Set(["current_password", "password", "password_confirmation"]), READ_ONLY, p);
      const current = rawString(attrs, "current_password", p, MAX_PASSWORD);
      if (current === undefined && !p.errors.current_password) p.add("current_password", "can't be blank");
      const password = checkPassword(attrs, p, true, passwordPolicyOf(realm));
      p.throwIfAny();
      const now = nowSeconds(rt);
      const user = requireUser(rt.db, realm.id, params.id, now);
      const hash = rt.db.get<{ secret_hash: string }>(
        "SELECT secret_hash FROM credentials WHERE user_id = ? AND credential_type = 'password'",
        user.id,
      )?.secret_hash;
      const matches = await rt.hasher.verify(hash ?? (await rt.dummyHash()), current!);
      if (!matches || !hash) throw new CoreError("user.current_password_mismatch", { current_password: ["Current password does not match"] });
      const passwordHash = await rt.hasher.hash(password!);
      return rt.db.write((sql) => {
        const again = requireUser(sql, realm.id, user.id, now);
        setPassword(sql, rt, realm.id, again.id, passwordHash, now);
        writeEvent(sql, rt, ctx, request, "user.updated", { realm_id: realm.id, user_id: again.id });
        return fullUserJson(sql, again, now);
      });
    },
  };
}

const IMPORTABLE = new Set(["username", "email", "first_name", "last_name", "state", "reference", "custom", "password_hash"]);

/**
 * Imports a human user with an existing password hash (bcrypt, scrypt, PBKDF2 or argon2 in
 * PHC/MCF form, as the hasher recognizes). Only for in-process callers such as the CLI:
 * no transport routes to it. The hash is re-hashed with argon2id at the first login.
 */
export function importUserOperation(rt: Runtime): (ctx: CallContext, params: Params) => Promise<JsonObject> {
  return async (ctx, params) => {
    await rt.authorize(ctx, "write");
    rejectUnknownParams(params, ["user"]);
    const realm = resolveRealm(rt, ctx, params, "user");
    const given = wrapper(params, "user");
    const { password_hash: passwordHash, ...rest } = given;
    const attrs = readUserAttributes(rest, realm, true, IMPORTABLE);
    if (passwordHash !== undefined && passwordHash !== null && (typeof passwordHash !== "string" || !rt.hasher.recognizes?.(passwordHash))) {
      throw new CoreError("validation_failed", { password_hash: ["is not a supported hash (bcrypt, scrypt, PBKDF2 or argon2 within safe parameters)"] });
    }
    const request = readRequestInfo(params);
    const id = rt.ids.next("usr");
    const now = nowSeconds(rt);
    return rt.db.write((sql) =>
      insertUser(sql, rt, ctx, request, realm, {
        id,
        type: "human",
        username: attrs.username!,
        attrs,
        passwordHash: (passwordHash as string | null | undefined) ?? null,
        apiKeyHash: null,
        now,
      }),
    );
  };
}
