/**
 * Auth providers: per-realm settings for how users sign in, one per type per realm.
 * `login_rocket` turns LoginRocket login and signup on or off; `password` sets the password
 * rules that every way of setting a password obeys.
 */
import type { AuthProviderOperations } from "./api.ts";
import type { JsonObject, Params } from "./context.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId } from "./ids.ts";
import { BY_ID, listPage, readPageRequest } from "./lists.ts";
import { optBool, optEnum, optInt, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { CHAR_CLASSES, type CharClass, MAX_PASSWORD, MIN_PASSWORD } from "./passwords.ts";
import { realmsChanged, resolveRealm } from "./realms.ts";
import { readRequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";

export type ProviderType = "login_rocket" | "password";

/** An auth provider as stored; `settings` is JSON. */
export interface AuthProviderRow {
  id: string;
  realm_id: string;
  provider_type: ProviderType;
  state: "active" | "inactive";
  settings: string;
  created_at: number;
}

/** LoginRocket settings: what the end-user API allows. */
export interface LoginRocketSettings {
  login: boolean;
  signup: boolean;
  /** Whether signup asks for first/last name: none, optional or required. */
  name_field: "none" | "optional" | "required";
}

const DEFAULTS: Record<ProviderType, Record<string, unknown>> = {
  login_rocket: { login: true, signup: false, name_field: "none" } satisfies LoginRocketSettings,
  password: { min_length: MIN_PASSWORD, min_complexity: 0, required_chars: [] },
};
const SETTINGS: Record<ProviderType, readonly string[]> = {
  login_rocket: ["login", "signup", "name_field"],
  password: ["min_length", "min_complexity", "required_chars"],
};
const READ_ONLY = new Set(["id", "object", "realm_id", "created_at"]);

/** The v1 JSON of an auth provider: common fields plus its type's settings. */
export function authProviderJson(row: AuthProviderRow): JsonObject {
  return {
    id: row.id,
    object: "auth_provider",
    realm_id: row.realm_id,
    provider_type: row.provider_type,
    state: row.state,
    ...(JSON.parse(row.settings) as Record<string, unknown>),
    created_at: row.created_at,
  };
}

/** The realm's active LoginRocket settings (defaults when it has no such provider). */
export function loginRocketSettings(sql: Sql, realmId: string): LoginRocketSettings {
  const row = sql.get<{ settings: string }>(
    "SELECT settings FROM auth_providers WHERE realm_id = ? AND provider_type = 'login_rocket' AND state = 'active'",
    realmId,
  );
  return { ...(DEFAULTS.login_rocket as unknown as LoginRocketSettings), ...(row ? (JSON.parse(row.settings) as Partial<LoginRocketSettings>) : {}) };
}

function readRequiredChars(attrs: Record<string, unknown>, p: Problems): CharClass[] | undefined {
  const v = attrs.required_chars;
  if (v === undefined) return undefined;
  if (v === null || v === "") return [];
  const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",").map((s) => s.trim()) : null;
  if (!items || items.some((i) => typeof i !== "string" || !(CHAR_CLASSES as readonly string[]).includes(i))) {
    p.add("required_chars", `must be a list of: ${CHAR_CLASSES.join(", ")}`);
    return undefined;
  }
  return [...new Set(items as CharClass[])];
}

/** Reads the settings of `type` from the wrapper, merged over `current`. */
function readSettings(type: ProviderType, attrs: Record<string, unknown>, current: Record<string, unknown>, p: Problems): Record<string, unknown> {
  const given: Record<string, unknown> =
    type === "login_rocket"
      ? {
          login: optBool(attrs, "login", p),
          signup: optBool(attrs, "signup", p),
          name_field: optEnum(attrs, "name_field", ["none", "optional", "required"] as const, p),
        }
      : {
          min_length: optInt(attrs, "min_length", MIN_PASSWORD, MAX_PASSWORD, p),
          min_complexity: optInt(attrs, "min_complexity", 0, 4, p),
          required_chars: readRequiredChars(attrs, p),
        };
  const out = { ...current };
  for (const [k, v] of Object.entries(given)) if (v !== undefined) out[k] = v;
  return out;
}

function requireProvider(sql: Sql, realmId: string, id: unknown): AuthProviderRow {
  const row =
    typeof id === "string" && isId(id, "ap") ? sql.get<AuthProviderRow>("SELECT * FROM auth_providers WHERE id = ? AND realm_id = ?", id, realmId) : undefined;
  if (!row) throw new CoreError("auth_provider.not_found");
  return row;
}

export function authProviderOperations(rt: Runtime): AuthProviderOperations {
  const subjects = (row: { realm_id: string; id: string }) => ({ realm_id: row.realm_id, auth_provider_id: row.id });

  function readWrapper(params: Params, type: ProviderType, current: Record<string, unknown>, creating: boolean) {
    const attrs = wrapper(params, "auth_provider");
    const p = new Problems();
    rejectUnknown(
      attrs,
      new Set(["state", ...SETTINGS[type], ...(creating ? ["provider_type"] : [])]),
      new Set([...READ_ONLY, ...(creating ? [] : ["provider_type"])]),
      p,
    );
    const state = optEnum(attrs, "state", ["active", "inactive"] as const, p);
    const settings = readSettings(type, attrs, current, p);
    p.throwIfAny();
    return { state, settings };
  }

  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["after", "max_results", "sort", "direction"]);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, BY_ID);
      const { rows, more } = listPage<AuthProviderRow>(rt.db, { table: "auth_providers", where: ["t.realm_id = ?"], args: [realm.id] }, page);
      return { collection: rows.map(authProviderJson), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      return authProviderJson(requireProvider(rt.db, realm.id, params.id));
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["auth_provider"]);
      const realm = resolveRealm(rt, ctx, params, "auth_provider");
      const p = new Problems();
      const type = optEnum(wrapper(params, "auth_provider"), "provider_type", ["login_rocket", "password"] as const, p);
      if (!type && p.empty) p.add("provider_type", "can't be blank");
      p.throwIfAny();
      const { state, settings } = readWrapper(params, type!, DEFAULTS[type!], true);
      const request = readRequestInfo(params);
      const id = rt.ids.next("ap");
      const row = await rt.db.write((sql) => {
        if (sql.get("SELECT 1 FROM auth_providers WHERE realm_id = ? AND provider_type = ?", realm.id, type!)) {
          throw new CoreError("auth_provider.taken", { provider_type: ["the realm already has a provider of this type"] });
        }
        sql.run(
          "INSERT INTO auth_providers (id, realm_id, provider_type, state, settings, created_at) VALUES (?, ?, ?, ?, ?, ?)",
          id,
          realm.id,
          type!,
          state ?? "active",
          JSON.stringify(settings),
          seconds(rt.clock()),
        );
        const created = requireProvider(sql, realm.id, id);
        realmsChanged(rt); // the realm row carries the password rules
        writeEvent(sql, rt, ctx, request, "auth_provider.created", subjects(created));
        return created;
      });
      return authProviderJson(row);
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["auth_provider"]);
      const realm = resolveRealm(rt, ctx, params, "auth_provider");
      const current = requireProvider(rt.db, realm.id, params.id);
      const { state, settings } = readWrapper(params, current.provider_type, JSON.parse(current.settings) as Record<string, unknown>, false);
      const request = readRequestInfo(params);
      const row = await rt.db.write((sql) => {
        const again = requireProvider(sql, realm.id, current.id);
        sql.run("UPDATE auth_providers SET state = ?, settings = ? WHERE id = ?", state ?? again.state, JSON.stringify(settings), again.id);
        realmsChanged(rt); // the realm row carries the password rules
        writeEvent(sql, rt, ctx, request, "auth_provider.updated", subjects(again));
        return requireProvider(sql, realm.id, again.id);
      });
      return authProviderJson(row);
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      await rt.db.write((sql) => {
        const current = requireProvider(sql, realm.id, params.id);
        sql.run("DELETE FROM auth_providers WHERE id = ?", current.id);
        realmsChanged(rt); // the realm row carries the password rules
        writeEvent(sql, rt, ctx, request, "auth_provider.deleted", subjects(current));
      });
    },
  };
}
