/**
 * Realms: the containers of users, orgs and sessions, each with its own JWT secret and
 * login settings. Managed with the `admin_realm` permission.
 */
import type { RealmOperations } from "./api.ts";
import type { CallContext, JsonObject, Params } from "./context.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { deleteRealmHooks } from "./app_hooks.ts";
import { writeEvent } from "./events.ts";
import { isId, randomBase62 } from "./ids.ts";
import { listPage, readPageRequest } from "./lists.ts";
import { topOrWrapped, optBool, optCustom, optEnum, optInt, optString, readExpands, rejectUnknown, rejectUnknownParams, reqString, wrapper } from "./params.ts";
import { readRequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";

/** A realm as stored. */
export interface RealmRow {
  id: string;
  name: string;
  state: "active" | "inactive";
  reference: string | null;
  custom: string;
  username_validation_human: "standard" | "email";
  require_unique_emails: number;
  api_key_prefix: string | null;
  api_key_policy: "hash" | "encrypt";
  api_key_minutes: number;
  session_type: "managed" | "unmanaged";
  session_minutes: number;
  jwt_data: string;
  jwt_secret: string;
  created_at: number;
  /** The active `password` auth provider's settings (JSON), joined in by getRealmRow; null when none. */
  password_settings?: string | null;
}

const JWT_DATA = ["memberships", "orgs", "custom"] as const;
const WRITABLE = new Set([
  "name",
  "state",
  "reference",
  "custom",
  "username_validation_human",
  "require_unique_emails",
  "api_key_prefix",
  "api_key_policy",
  "api_key_minutes",
  "session_type",
  "session_minutes",
  "jwt_data",
]);
const READ_ONLY = new Set(["id", "object", "jwt_secret", "created_at", "realm_id", "expands", "expand"]);
const MAX_MINUTES = 525_600 * 10;

/** The v1 JSON of a realm; lists include `custom` only when expanded. */
export function realmJson(row: RealmRow, withCustom = true): JsonObject {
  const out: JsonObject = {
    id: row.id,
    object: "realm",
    name: row.name,
    state: row.state,
    reference: row.reference,
    username_validation_human: row.username_validation_human,
    require_unique_emails: row.require_unique_emails === 1,
    api_key_prefix: row.api_key_prefix,
    api_key_policy: row.api_key_policy,
    api_key_minutes: row.api_key_minutes,
    session_type: row.session_type,
    session_minutes: row.session_minutes,
    jwt_data: JSON.parse(row.jwt_data) as string[],
    jwt_secret: row.jwt_secret,
    created_at: row.created_at,
  };
  if (withCustom) out.custom = JSON.parse(row.custom) as unknown;
  return out;
}

function readJwtData(attrs: Record<string, unknown>, p: Problems): string[] | undefined {
  const v = attrs.jwt_data;
  if (v === undefined) return undefined;
  if (v === null || v === "") return [];
  const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",") : null;
  if (!items || items.some((i) => typeof i !== "string")) {
    p.add("jwt_data", "must be a list (or comma list) of memberships, orgs, custom");
    return undefined;
  }
  const out: string[] = [];
  for (const raw of items as string[]) {
    const item = raw.trim();
    if (item === "") continue;
    if (!(JWT_DATA as readonly string[]).includes(item)) {
      p.add("jwt_data", `has an unknown value: ${item.slice(0, 32)} (allowed: ${JWT_DATA.join(", ")})`);
      return undefined;
    }
    if (!out.includes(item)) out.push(item);
  }
  return out;
}

/** Reads the writable attributes from the wrapper; `undefined` fields were not given. */
function readAttributes(
  attrs: Record<string, unknown>,
  creating: boolean,
): Partial<Omit<RealmRow, "custom" | "jwt_data">> & { custom?: Record<string, unknown>; jwt_data?: string[] } {
  const p = new Problems();
  rejectUnknown(attrs, WRITABLE, READ_ONLY, p);
  const name = creating ? reqString(attrs, "name", p) : optString(attrs, "name", p);
  if (name === null) p.add("name", "can't be blank");
  const out = {
    name: name ?? undefined,
    state: optEnum(attrs, "state", ["active", "inactive"] as const, p),
    reference: optString(attrs, "reference", p),
    custom: optCustom(attrs, "custom", p),
    username_validation_human: optEnum(attrs, "username_validation_human", ["standard", "email"] as const, p),
    require_unique_emails: ((b) => (b === undefined ? undefined : b ? 1 : 0))(optBool(attrs, "require_unique_emails", p)),
    api_key_prefix: optString(attrs, "api_key_prefix", p, {
      max: 16,
      pattern: /^[A-Za-z0-9_-]*$/,
      patternMessage: "may contain only letters, digits, _ and -",
    }),
    api_key_policy: optEnum(attrs, "api_key_policy", ["hash", "encrypt"] as const, p),
    api_key_minutes: optInt(attrs, "api_key_minutes", 0, MAX_MINUTES, p),
    session_type: optEnum(attrs, "session_type", ["managed", "unmanaged"] as const, p),
    session_minutes: optInt(attrs, "session_minutes", 1, MAX_MINUTES, p),
    jwt_data: readJwtData(attrs, p),
  };
  p.throwIfAny();
  return out;
}

/** Loads a realm by id or throws realm.not_found. */
export function getRealmRow(sql: Sql, id: unknown): RealmRow {
  const row =
    typeof id === "string" && isId(id, "rl")
      ? sql.get<RealmRow>(
          `SELECT r.*, ap.settings AS password_settings FROM realms r
           LEFT JOIN auth_providers ap ON ap.realm_id = r.id AND ap.provider_type = 'password' AND ap.state = 'active'
           WHERE r.id = ?`,
          id,
        )
      : undefined;
  if (!row) throw new CoreError("realm.not_found");
  return row;
}

/**
 * The realm a realm-scoped call addresses: `realm_id` in params (top level or inside the
 * wrapper), else the realm header. Missing → 422 realm_id "is required"; unknown → 404.
 */
export function resolveRealm(rt: Runtime, ctx: CallContext, params: Params, wrapperName?: string): RealmRow {
  let id: unknown = params.realm_id === "" ? undefined : params.realm_id;
  if (id === undefined && wrapperName) id = topOrWrapped(params, wrapperName, "realm_id");
  if (id === undefined || id === null || id === "") id = ctx.realmId;
  if (id === undefined || id === null || id === "") throw new CoreError("realm.required", { realm_id: ["is required"] });
  if (typeof id !== "string") throw new CoreError("validation_failed", { realm_id: ["must be a realm id"] });
  return cachedRealm(rt, id);
}

/**
 * How long a realm row is reused. Changes made through this process clear the cache at once
 * (realmsChanged), and so does any commit by another process (SqliteStore.onOtherWriters).
 */
const REALM_CACHE_MS = 5000;
const REALM_CACHE_LIMIT = 10_000;

/** The realm row, read at most once per REALM_CACHE_MS: nearly every call needs it. */
export function cachedRealm(rt: Runtime, id: string): RealmRow {
  const now = rt.clock();
  rt.db.noticeOtherWriters(now);
  const hit = rt.realmCache.get(id);
  if (hit && hit.until > now) return hit.row;
  const row = getRealmRow(rt.db, id);
  if (rt.realmCache.size >= REALM_CACHE_LIMIT) rt.realmCache.clear();
  rt.realmCache.set(id, { row, until: now + REALM_CACHE_MS });
  return row;
}

/** Forgets cached realm rows (after a change to a realm or to its auth providers). */
export function realmsChanged(rt: Runtime): void {
  rt.realmCache.clear();
}

const LIST_PARAMS = ["after", "max_results", "sort", "direction", "state", "reference"];
const SORTS = { id: "id", name: "name", created_at: "created_at" };

export function realmOperations(rt: Runtime): RealmOperations {
  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, LIST_PARAMS);
      const page = readPageRequest(params, { sorts: SORTS, defaultSort: "id", defaultDirection: "asc" });
      const p = new Problems();
      const where: string[] = [];
      const args: SqlValue[] = [];
      const state = optEnum(params, "state", ["active", "inactive"] as const, p);
      if (state) {
        where.push("t.state = ?");
        args.push(state);
      }
      const reference = optString(params, "reference", p);
      if (reference) {
        where.push("t.reference = ?");
        args.push(reference);
      }
      p.throwIfAny();
      const withCustom = readExpands(params, undefined, ["custom"]).has("custom");
      const { rows, more } = listPage<RealmRow>(rt.db, { table: "realms", where, args }, page);
      return { collection: rows.map((r) => realmJson(r, withCustom)), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      return realmJson(getRealmRow(rt.db, params.id));
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["realm"]);
      const attrs = readAttributes(wrapper(params, "realm"), true);
      const request = readRequestInfo(params);
      const id = rt.ids.next("rl");
      const secret = `jsk_${randomBase62(43, rt.random)}`;
      const now = seconds(rt.clock());
      const row = await rt.db.write((sql) => {
        sql.run(
          `INSERT INTO realms (id, name, state, reference, custom, username_validation_human, require_unique_emails, api_key_prefix,
             api_key_policy, api_key_minutes, session_type, session_minutes, jwt_data, jwt_secret, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          id,
          attrs.name!,
          attrs.state ?? "active",
          attrs.reference ?? null,
          JSON.stringify(attrs.custom ?? {}),
          attrs.username_validation_human ?? "standard",
          attrs.require_unique_emails ?? 1,
          attrs.api_key_prefix ?? null,
          attrs.api_key_policy ?? "hash",
          attrs.api_key_minutes ?? 0,
          attrs.session_type ?? "managed",
          attrs.session_minutes ?? 360,
          JSON.stringify(attrs.jwt_data ?? []),
          secret,
          now,
        );
        writeEvent(sql, rt, ctx, request, "realm.created", { realm_id: id });
        return getRealmRow(sql, id);
      });
      return realmJson(row);
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["realm"]);
      const attrs = readAttributes(wrapper(params, "realm"), false);
      const request = readRequestInfo(params);
      const row = await rt.db.write((sql) => {
        const current = getRealmRow(sql, params.id);
        const sets: string[] = [];
        const args: SqlValue[] = [];
        for (const [key, value] of Object.entries(attrs)) {
          if (value === undefined) continue;
          sets.push(`${key} = ?`);
          args.push(key === "custom" || key === "jwt_data" ? JSON.stringify(value) : (value as SqlValue));
        }
        if (sets.length > 0) sql.run(`UPDATE realms SET ${sets.join(", ")} WHERE id = ?`, ...args, current.id);
        realmsChanged(rt);
        writeEvent(sql, rt, ctx, request, "realm.updated", { realm_id: current.id });
        return getRealmRow(sql, current.id);
      });
      return realmJson(row);
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      const request = readRequestInfo(params);
      await rt.db.write((sql) => {
        const current = getRealmRow(sql, params.id);
        if (current.state !== "inactive")
          throw new CoreError("realm.not_inactive", { base: ["Only an inactive realm can be deleted; set its state to inactive first"] });
        // Hooks of the realm go with it, through the hook rules (events, canceled deliveries).
        deleteRealmHooks(sql, rt, ctx, request, current.id);
        sql.run("DELETE FROM realms WHERE id = ?", current.id);
        realmsChanged(rt);
        writeEvent(sql, rt, ctx, request, "realm.deleted", { realm_id: current.id });
      });
    },

    async reset(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      const request = readRequestInfo(params);
      const row = await rt.db.write((sql) => {
        const current = getRealmRow(sql, params.id);
        // Children first (users would cascade to most of them anyway).
        for (const table of ["sessions", "password_tokens", "user_tokens", "memberships", "credentials", "users", "orgs"]) {
          sql.run(`DELETE FROM ${table} WHERE realm_id = ?`, current.id);
        }
        sql.run("DELETE FROM throttles WHERE key LIKE ? ESCAPE '\\'", `%:${current.id.replace(/_/g, "\\_")}:%`);
        realmsChanged(rt);
        writeEvent(sql, rt, ctx, request, "realm.reset", { realm_id: current.id });
        return current;
      });
      return realmJson(row);
    },
  };
}
