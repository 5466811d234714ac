/**
 * App hooks (webhooks): where events are delivered. Account-wide (admin_realm); `realm_id`
 * null means every realm, an empty `event_type` list means every event, including types
 * added later. Deactivating or deleting a hook cancels its pending deliveries.
 */
import type { AppHookOperations } from "./api.ts";
import type { CallContext, JsonObject, Params } from "./context.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId, randomBase62 } from "./ids.ts";
import { BY_ID, listPage, readPageRequest } from "./lists.ts";
import { optEnum, optString, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { getRealmRow } from "./realms.ts";
import { readRequestInfo, type RequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import type { ActiveHook } from "./webhooks.ts";

/** An app hook as stored; `event_types` is a JSON array. */
export interface AppHookRow {
  id: string;
  realm_id: string | null;
  state: "active" | "inactive";
  hook_type: "webhook" | "email";
  event_types: string;
  destination: string;
  secret: string;
  created_at: number;
}

const EVENT_TYPE = /^[a-z_]+(\.[a-z_]+)*$/;
const MAX_EVENT_TYPES = 100;
const WRITABLE = new Set(["state", "hook_type", "event_type", "realm_id", "destination"]);
const READ_ONLY = new Set(["id", "object", "secret", "created_at"]);

/** The v1 JSON of an app hook, with its signing secret. */
export function appHookJson(row: AppHookRow): JsonObject {
  return {
    id: row.id,
    object: "app_hook",
    state: row.state,
    hook_type: row.hook_type,
    event_type: JSON.parse(row.event_types) as string[],
    realm_id: row.realm_id,
    destination: row.destination,
    secret: row.secret,
    created_at: row.created_at,
  };
}

/** Loads the active webhooks (what the outbox matches events against). */
export function loadActiveHooks(sql: Sql): ActiveHook[] {
  return sql
    .all<{ id: string; realm_id: string | null; event_types: string }>(
      "SELECT id, realm_id, event_types FROM app_hooks WHERE state = 'active' AND hook_type = 'webhook' ORDER BY id",
    )
    .map((r) => ({ id: r.id, realm_id: r.realm_id, event_types: JSON.parse(r.event_types) as string[] }));
}

function readEventTypes(attrs: Record<string, unknown>, p: Problems): string[] | undefined {
  const v = attrs.event_type;
  if (v === undefined) return undefined;
  if (v === null || v === "") return [];
  const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",").map((s) => s.trim()) : null;
  if (!items || items.some((i) => typeof i !== "string" || (i !== "" && !EVENT_TYPE.test(i)))) {
    p.add("event_type", "must be a list of event types such as user.created");
    return undefined;
  }
  const out = [...new Set((items as string[]).filter((s) => s !== ""))];
  if (out.length > MAX_EVENT_TYPES) p.add("event_type", `may hold at most ${MAX_EVENT_TYPES} types`);
  return out;
}

function readDestination(attrs: Record<string, unknown>, p: Problems, required: boolean): string | undefined {
  const v = optString(attrs, "destination", p, { max: 2048 });
  if (v === undefined || v === null) {
    if (required || v === null) p.add("destination", "can't be blank");
    return undefined;
  }
  try {
    const url = new URL(v);
    if ((url.protocol === "http:" || url.protocol === "https:") && !url.username && !url.password && !url.hash) return v;
  } catch {
    // reported below
  }
  p.add("destination", "must be an absolute http or https URL without credentials or fragment");
  return undefined;
}

function requireHook(sql: Sql, id: unknown): AppHookRow {
  const row = typeof id === "string" && isId(id, "hk") ? sql.get<AppHookRow>("SELECT * FROM app_hooks WHERE id = ?", id) : undefined;
  if (!row) throw new CoreError("app_hook.not_found");
  return row;
}

/** Cancels the pending deliveries of a hook (inside a write transaction). */
function cancelPending(sql: Sql, hookId: string): void {
  sql.run("UPDATE deliveries SET state = 'canceled' WHERE app_hook_id = ? AND state = 'in_progress'", hookId);
}

/**
 * Deletes a hook inside the caller's transaction: cancels its pending deliveries, forgets
 * the cached hook list and records `app_hook.deleted`.
 */
export function deleteHook(sql: Sql, rt: Runtime, ctx: CallContext, request: RequestInfo, hook: AppHookRow): void {
  cancelPending(sql, hook.id);
  sql.run("DELETE FROM app_hooks WHERE id = ?", hook.id);
  rt.hooksChanged(sql);
  writeEvent(sql, rt, ctx, request, "app_hook.deleted", { realm_id: hook.realm_id, app_hook_id: hook.id });
}

/** Deletes every hook of a realm (the realm is going away), each with its event. */
export function deleteRealmHooks(sql: Sql, rt: Runtime, ctx: CallContext, request: RequestInfo, realmId: string): void {
  for (const hook of sql.all<AppHookRow>("SELECT * FROM app_hooks WHERE realm_id = ? ORDER BY id", realmId)) deleteHook(sql, rt, ctx, request, hook);
}

export function appHookOperations(rt: Runtime): AppHookOperations {
  const subjects = (row: AppHookRow) => ({ realm_id: row.realm_id, app_hook_id: row.id });

  function readAttributes(params: Params, creating: boolean) {
    const attrs = { ...wrapper(params, "app_hook") };
    // 2015 clients may send realm_id beside the wrapper; for hooks it is the hook's realm.
    // (The realm header is not: clients send it on every call, and it must not narrow a hook.)
    if (attrs.realm_id === undefined && params.realm_id !== undefined) attrs.realm_id = params.realm_id;
    const p = new Problems();
    rejectUnknown(attrs, WRITABLE, READ_ONLY, p);
    const hookType = optEnum(attrs, "hook_type", ["webhook", "email"] as const, p);
    if (hookType === "email") p.add("hook_type", "email delivery is not available yet; use webhook");
    const out = {
      state: optEnum(attrs, "state", ["active", "inactive"] as const, p),
      hook_type: hookType,
      event_types: readEventTypes(attrs, p),
      destination: readDestination(attrs, p, creating),
      realm_id: optString(attrs, "realm_id", p),
    };
    p.throwIfAny();
    // A hook for one realm needs that realm to exist (404 otherwise, like any unknown id).
    if (typeof out.realm_id === "string") getRealmRow(rt.db, out.realm_id);
    return out;
  }

  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["after", "max_results", "sort", "direction", "state"]);
      const page = readPageRequest(params, BY_ID);
      const p = new Problems();
      const where: string[] = [];
      const args: SqlValue[] = [];
      const state = optEnum(params, "state", ["active", "inactive"] as const, p);
      p.throwIfAny();
      if (state) {
        where.push("t.state = ?");
        args.push(state);
      }
      // The realm header does not restrict account-wide hooks; realm_id filters them.
      if (typeof params.realm_id === "string" && params.realm_id !== "") {
        where.push("t.realm_id = ?");
        args.push(params.realm_id);
      }
      const { rows, more } = listPage<AppHookRow>(rt.db, { table: "app_hooks", where, args }, page);
      return { collection: rows.map(appHookJson), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      return appHookJson(requireHook(rt.db, params.id));
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["app_hook"]);
      const attrs = readAttributes(params, true);
      const request = readRequestInfo(params);
      const id = rt.ids.next("hk");
      const secret = `hks_${randomBase62(40, rt.random)}`;
      const row = await rt.db.write((sql) => {
        sql.run(
          "INSERT INTO app_hooks (id, realm_id, state, hook_type, event_types, destination, secret, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          id,
          attrs.realm_id ?? null,
          attrs.state ?? "active",
          attrs.hook_type ?? "webhook",
          JSON.stringify(attrs.event_types ?? []),
          attrs.destination!,
          secret,
          seconds(rt.clock()),
        );
        rt.hooksChanged(sql);
        const created = requireHook(sql, id);
        writeEvent(sql, rt, ctx, request, "app_hook.created", subjects(created));
        return created;
      });
      return appHookJson(row);
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["app_hook"]);
      const attrs = readAttributes(params, false);
      const request = readRequestInfo(params);
      const row = await rt.db.write((sql) => {
        const current = requireHook(sql, params.id);
        const sets: string[] = [];
        const args: SqlValue[] = [];
        const columns: [string, unknown][] = [
          ["state", attrs.state],
          ["hook_type", attrs.hook_type],
          ["event_types", attrs.event_types === undefined ? undefined : JSON.stringify(attrs.event_types)],
          ["destination", attrs.destination],
          ["realm_id", attrs.realm_id],
        ];
        for (const [column, value] of columns) {
          if (value === undefined) continue;
          sets.push(`${column} = ?`);
          args.push(value as SqlValue);
        }
        if (sets.length > 0) sql.run(`UPDATE app_hooks SET ${sets.join(", ")} WHERE id = ?`, ...args, current.id);
        if (attrs.state === "inactive") cancelPending(sql, current.id);
        rt.hooksChanged(sql);
        const updated = requireHook(sql, current.id);
        writeEvent(sql, rt, ctx, request, "app_hook.updated", subjects(updated));
        return updated;
      });
      return appHookJson(row);
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      const request = readRequestInfo(params);
      await rt.db.write((sql) => deleteHook(sql, rt, ctx, request, requireHook(sql, params.id)));
    },
  };
}
