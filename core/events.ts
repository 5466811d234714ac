/**
 * Events: the audit record of every write, written in the same transaction as the change,
 * with the caller's `request` hash and the request id. Read-only over the API.
 */
import type { EventOperations } from "./api.ts";
import type { CallContext, JsonObject, Params } from "./context.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { isId } from "./ids.ts";
import { listPage, readPageRequest } from "./lists.ts";
import { optSeconds, readExpands, rejectUnknownParams } from "./params.ts";
import type { RequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { enqueueDeliveries, notificationsOf } from "./webhooks.ts";

/** The object ids an event may refer to. */
export interface EventSubjects {
  realm_id?: string | null;
  user_id?: string | null;
  org_id?: string | null;
  membership_id?: string | null;
  app_hook_id?: string | null;
  login_policy_id?: string | null;
  auth_provider_id?: string | null;
}

const SUBJECT_KEYS = ["realm_id", "user_id", "org_id", "membership_id", "app_hook_id", "login_policy_id", "auth_provider_id"] as const;

interface EventRow {
  id: string;
  realm_id: string | null;
  event_type: string;
  event_at: number;
  user_id: string | null;
  org_id: string | null;
  membership_id: string | null;
  app_hook_id: string | null;
  login_policy_id: string | null;
  auth_provider_id: string | null;
  ip: string | null;
  client: string | null;
  request_id: string | null;
}

/** Writes one event. Call only inside the write transaction of the change it records. */
export function writeEvent(sql: Sql, rt: Runtime, ctx: CallContext, request: RequestInfo, type: string, subjects: EventSubjects): string {
  const id = rt.ids.next("ev");
  sql.run(
    `INSERT INTO events (id, realm_id, event_type, event_at, user_id, org_id, membership_id, app_hook_id, login_policy_id, auth_provider_id, ip, client, request_id)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    id,
    subjects.realm_id ?? null,
    type,
    seconds(rt.clock()),
    subjects.user_id ?? null,
    subjects.org_id ?? null,
    subjects.membership_id ?? null,
    subjects.app_hook_id ?? null,
    subjects.login_policy_id ?? null,
    subjects.auth_provider_id ?? null,
    request.ip,
    request.client,
    ctx.requestId,
  );
  // The outbox: deliveries commit (or roll back) with the event itself.
  if (enqueueDeliveries(sql, rt, rt.activeHooks(sql), id, type, subjects.realm_id ?? null) > 0) rt.deliveriesQueued();
  return id;
}

function eventJson(row: EventRow, notifications: JsonObject[] | undefined): JsonObject {
  const out: JsonObject = {
    id: row.id,
    object: "event",
    event_type: row.event_type,
    event_at: row.event_at,
    realm_id: row.realm_id,
    user_id: row.user_id,
    org_id: row.org_id,
    membership_id: row.membership_id,
    app_hook_id: row.app_hook_id,
    login_policy_id: row.login_policy_id,
    auth_provider_id: row.auth_provider_id,
    request: { ip: row.ip, client: row.client },
    ip: row.ip,
    request_id: row.request_id,
  };
  if (notifications) out.notifications = notifications;
  return out;
}

const LIST_PARAMS = ["after", "max_results", "sort", "direction", "event_type", "created_at_after", ...SUBJECT_KEYS];
const EVENT_TYPE = /^[a-z_.]{1,64}$/;

function readEventTypes(v: unknown, p: Problems): string[] {
  if (v === undefined || v === null || v === "") return [];
  const items = Array.isArray(v) ? v : [v];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== "string") {
      p.add("event_type", "must be a string or a list of strings");
      return [];
    }
    for (const part of item.split(",")) {
      const t = part.trim();
      if (t === "") continue;
      if (!EVENT_TYPE.test(t)) {
        p.add("event_type", `is not a valid event type: ${t.slice(0, 64)}`);
        return [];
      }
      out.push(t);
    }
  }
  return out;
}

/** Escapes LIKE wildcards so a prefix matches literally. */
function likePrefix(s: string): string {
  return `${s.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/** The Get-an-event JSON of `id` as a string (the webhook body), or undefined when gone. */
export function eventBody(sql: Sql, id: string): string | undefined {
  const row = sql.get<EventRow>("SELECT * FROM events WHERE id = ?", id);
  return row ? JSON.stringify(eventJson(row, notificationsOf(sql, [id]).get(id) ?? [])) : undefined;
}

export function eventOperations(rt: Runtime): EventOperations {
  return {
    async list(ctx: CallContext, params: Params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, LIST_PARAMS);
      const page = readPageRequest(params, { sorts: { id: "id" }, defaultSort: "id", defaultDirection: "desc" });
      const p = new Problems();
      const where: string[] = [];
      const args: SqlValue[] = [];
      const realm = params.realm_id ?? ctx.realmId;
      for (const key of SUBJECT_KEYS) {
        const v = key === "realm_id" ? realm : params[key];
        if (v === undefined || v === null || v === "") continue;
        if (typeof v !== "string") p.add(key, "must be an id");
        else {
          where.push(`t.${key} = ?`);
          args.push(v);
        }
      }
      const types = readEventTypes(params.event_type, p);
      if (types.length > 0) {
        where.push(`(${types.map(() => "t.event_type LIKE ? ESCAPE '\\'").join(" OR ")})`);
        args.push(...types.map(likePrefix));
      }
      const after = optSeconds(params, "created_at_after", p);
      if (after !== undefined) {
        where.push("t.event_at > ?");
        args.push(after);
      }
      p.throwIfAny();
      const withNotifications = readExpands(params, undefined, ["notifications"]).has("notifications");
      const { rows, more } = listPage<EventRow>(rt.db, { table: "events", where, args }, page);
      const notifications = withNotifications
        ? notificationsOf(
            rt.db,
            rows.map((r) => r.id),
          )
        : undefined;
      return { collection: rows.map((r) => eventJson(r, notifications ? (notifications.get(r.id) ?? []) : undefined)), more_results: more };
    },

    async get(ctx: CallContext, params: Params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const id = params.id;
      const row = typeof id === "string" && isId(id, "ev") ? rt.db.get<EventRow>("SELECT * FROM events WHERE id = ?", id) : undefined;
      if (!row) throw new CoreError("event.not_found");
      const realm = params.realm_id ?? ctx.realmId;
      // Objects of another realm are invisible when the caller chose a realm.
      if (typeof realm === "string" && realm !== "" && row.realm_id !== null && row.realm_id !== realm) throw new CoreError("event.not_found");
      return eventJson(row, notificationsOf(rt.db, [row.id]).get(row.id) ?? []);
    },
  };
}
