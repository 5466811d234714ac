/**
 * Memberships: a user's place in an org (or one org-less membership per user), with
 * permissions and an optional expiry. Expired memberships are invisible everywhere.
 * The expand loaders here fetch a relation for a parent in a constant number of queries.
 */
import type { MembershipOperations } from "./api.ts";
import type { JsonObject, Params } from "./context.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId } from "./ids.ts";
import { BY_ID, listPage, readPageRequest } from "./lists.ts";
import { orgJson, type OrgRow } from "./orgs.ts";
import { optCustom, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { resolveRealm } from "./realms.ts";
import { readRequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { deepFreeze, MEMBERSHIP_COUNT, userJson, type UserRow } from "./user_json.ts";

/** A membership as stored. */
export interface MembershipRow {
  id: string;
  realm_id: string;
  user_id: string;
  org_id: string | null;
  permissions: string;
  expires_at: number | null;
  custom: string;
  created_at: number;
}

const PERMISSION = /^[a-z0-9*:;._-]{1,62}$/i;
const MAX_PERMISSIONS = 20;
const LIVE = "(t.expires_at IS NULL OR t.expires_at > ?)";
const WRITABLE = new Set(["user_id", "org_id", "permissions", "expires_at", "custom"]);
const READ_ONLY = new Set(["id", "object", "realm_id", "created_at", "expands", "expand", "user", "org"]);

/** The v1 JSON of a membership: `permissions` is always an array. */
export function membershipJson(row: MembershipRow): JsonObject {
  return {
    id: row.id,
    object: "membership",
    user_id: row.user_id,
    org_id: row.org_id,
    permissions: JSON.parse(row.permissions) as string[],
    expires_at: row.expires_at,
    custom: JSON.parse(row.custom) as unknown,
    created_at: row.created_at,
  };
}

/** A user's live memberships, each embedding its `org` (null when org-less): one query. */
export function membershipsOfUser(sql: Sql, userId: string, now: number): readonly JsonObject[] {
  type Row = MembershipRow & {
    o_id: string | null;
    o_name: string;
    o_state: OrgRow["state"];
    o_reference: string | null;
    o_custom: string;
    o_created_at: number;
  };
  // Cached (as frozen JSON, shared by every caller) until the first of them expires or
  // anything is written.
  return sql.cachedRead(`memberships of ${userId}`, now, () => {
    const rows = sql.all<Row>(
      `SELECT t.*, o.id AS o_id, o.name AS o_name, o.state AS o_state, o.reference AS o_reference, o.custom AS o_custom, o.created_at AS o_created_at
       FROM memberships t LEFT JOIN orgs o ON o.id = t.org_id WHERE t.user_id = ? AND ${LIVE} ORDER BY t.id`,
      userId,
      now,
    );
    const json = rows.map((m) => ({
      ...membershipJson(m),
      org:
        m.o_id === null
          ? null
          : orgJson({
              id: m.o_id,
              realm_id: m.realm_id,
              name: m.o_name,
              state: m.o_state,
              reference: m.o_reference,
              custom: m.o_custom,
              created_at: m.o_created_at,
            }),
    }));
    const until = rows.reduce((first, m) => Math.min(first, m.expires_at ?? Number.POSITIVE_INFINITY), Number.POSITIVE_INFINITY);
    return { value: deepFreeze(json), until };
  });
}

/** An org's live memberships, each embedding its `user`: two queries. */
export function membershipsOfOrg(sql: Sql, orgId: string, now: number): JsonObject[] {
  const rows = sql.all<MembershipRow>(`SELECT t.* FROM memberships t WHERE t.org_id = ? AND ${LIVE} ORDER BY t.id`, orgId, now);
  const users = sql.all<UserRow>(
    `SELECT t.*, ${MEMBERSHIP_COUNT} FROM users t WHERE t.id IN (SELECT m2.user_id FROM memberships m2 WHERE m2.org_id = ? AND (m2.expires_at IS NULL OR m2.expires_at > ?))`,
    now,
    orgId,
    now,
  );
  const byId = new Map(users.map((u) => [u.id, u]));
  return rows.map((m) => ({ ...membershipJson(m), user: userJson(byId.get(m.user_id)!, { custom: true }) }));
}

/** Reads `permissions`: an array (or comma list) of permission names. */
function readPermissions(attrs: Record<string, unknown>, p: Problems): string[] | undefined {
  const v = attrs.permissions;
  if (v === undefined) return undefined;
  if (v === null || v === "") return [];
  const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",").map((s) => s.trim()) : null;
  if (!items || items.some((i) => typeof i !== "string")) {
    p.add("permissions", "must be a list of strings");
    return undefined;
  }
  const list = [...new Set((items as string[]).filter((s) => s !== ""))];
  if (list.length > MAX_PERMISSIONS) p.add("permissions", `may hold at most ${MAX_PERMISSIONS} permissions`);
  const bad = list.find((s) => !PERMISSION.test(s));
  if (bad !== undefined) p.add("permissions", `has an invalid permission: ${JSON.stringify(bad.slice(0, 70))} (1–62 of a-z 0-9 * : ; . _ -)`);
  return list;
}

/** Reads a time as unix seconds: a number, a numeric string or an ISO-8601 string. */
export function readTime(attrs: Record<string, unknown>, key: string, p: Problems): number | null | undefined {
  const v = attrs[key];
  if (v === undefined) return undefined;
  if (v === null || v === "") return null;
  if (typeof v === "number" && Number.isFinite(v) && v >= 0 && v < 1e11) return Math.floor(v);
  if (typeof v === "string") {
    if (/^\d{1,11}$/.test(v)) return Number(v);
    if (/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/.test(v)) {
      const ms = Date.parse(v);
      if (Number.isFinite(ms)) return Math.floor(ms / 1000);
    }
  }
  p.add(key, "must be unix seconds or an ISO-8601 time");
  return undefined;
}

/** Loads a live membership of the realm, or throws membership.not_found. */
function requireMembership(sql: Sql, realmId: string, id: unknown, now: number): MembershipRow {
  const row =
    typeof id === "string" && isId(id, "mb")
      ? sql.get<MembershipRow>(`SELECT t.* FROM memberships t WHERE t.id = ? AND t.realm_id = ? AND ${LIVE}`, id, realmId, now)
      : undefined;
  if (!row) throw new CoreError("membership.not_found");
  return row;
}

function subjects(m: MembershipRow) {
  return { realm_id: m.realm_id, user_id: m.user_id, org_id: m.org_id, membership_id: m.id };
}

const LIST_PARAMS = ["after", "max_results", "direction", "sort", "user_id", "org_id"];

export function membershipOperations(rt: Runtime): MembershipOperations {
  const now = (): number => seconds(rt.clock());
  const readWrapper = (params: Params, creating: boolean) => {
    const attrs = wrapper(params, "membership");
    const p = new Problems();
    rejectUnknown(attrs, WRITABLE, READ_ONLY, p);
    if (!creating) for (const key of ["user_id", "org_id"]) if (attrs[key] !== undefined) p.add(key, "can't be changed");
    const out = { permissions: readPermissions(attrs, p), expires_at: readTime(attrs, "expires_at", p), custom: optCustom(attrs, "custom", p) };
    p.throwIfAny();
    return { attrs, ...out };
  };

  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, LIST_PARAMS);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, BY_ID);
      const userId = params.user_id;
      const orgId = params.org_id;
      const p = new Problems();
      if ((userId === undefined || userId === "") && (orgId === undefined || orgId === "")) p.add("user_id", "or org_id is required");
      for (const [k, v] of [
        ["user_id", userId],
        ["org_id", orgId],
      ] as const) {
        if (v !== undefined && v !== "" && typeof v !== "string") p.add(k, "must be an id");
      }
      p.throwIfAny();
      const t = now();
      const where = ["t.realm_id = ?", LIVE];
      const args: SqlValue[] = [realm.id, t];
      if (typeof userId === "string" && userId !== "") {
        where.push("t.user_id = ?");
        args.push(userId);
      }
      if (typeof orgId === "string" && orgId !== "") {
        where.push("t.org_id = ?");
        args.push(orgId);
      }
      const { rows, more } = listPage<MembershipRow>(rt.db, { table: "memberships", where, args }, page);
      // Embeds: by user_id each item carries its org; by org_id its user. One query each.
      const ids = (pick: (m: MembershipRow) => string | null) => [...new Set(rows.map(pick).filter((x): x is string => x !== null))];
      const orgIds = typeof userId === "string" && userId !== "" ? ids((m) => m.org_id) : [];
      const userIds = typeof orgId === "string" && orgId !== "" ? ids((m) => m.user_id) : [];
      const orgs = new Map(
        (orgIds.length ? rt.db.all<OrgRow>(`SELECT * FROM orgs WHERE id IN (SELECT value FROM json_each(?))`, JSON.stringify(orgIds)) : []).map((o) => [
          o.id,
          o,
        ]),
      );
      const users = new Map(
        (userIds.length
          ? rt.db.all<UserRow>(`SELECT t.*, ${MEMBERSHIP_COUNT} FROM users t WHERE t.id IN (SELECT value FROM json_each(?))`, t, JSON.stringify(userIds))
          : []
        ).map((u) => [u.id, u]),
      );
      const collection = rows.map((m) => {
        const json = membershipJson(m);
        if (typeof userId === "string" && userId !== "") json.org = m.org_id && orgs.has(m.org_id) ? orgJson(orgs.get(m.org_id)!) : null;
        if (typeof orgId === "string" && orgId !== "" && users.has(m.user_id)) json.user = userJson(users.get(m.user_id)!, { custom: true });
        return json;
      });
      return { collection, more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      return membershipJson(requireMembership(rt.db, realm.id, params.id, now()));
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["membership"]);
      const realm = resolveRealm(rt, ctx, params, "membership");
      const { attrs, permissions, expires_at, custom } = readWrapper(params, true);
      const request = readRequestInfo(params);
      const p = new Problems();
      const userId = attrs.user_id;
      const orgId = attrs.org_id ?? null;
      if (typeof userId !== "string" || userId === "") p.add("user_id", "can't be blank");
      if (orgId !== null && orgId !== "" && typeof orgId !== "string") p.add("org_id", "must be an org id");
      p.throwIfAny();
      const id = rt.ids.next("mb");
      const t = now();
      const row = await rt.db.write((sql) => {
        const q = new Problems();
        if (!sql.get("SELECT 1 FROM users WHERE id = ? AND realm_id = ?", userId as string, realm.id)) q.add("user_id", "is not a user of this realm");
        const org = orgId === null || orgId === "" ? null : (orgId as string);
        if (org !== null && !sql.get("SELECT 1 FROM orgs WHERE id = ? AND realm_id = ?", org, realm.id)) q.add("org_id", "is not an org of this realm");
        q.throwIfAny();
        const existing = sql.get<MembershipRow>("SELECT * FROM memberships WHERE user_id = ? AND ifnull(org_id, '') = ifnull(?, '')", userId as string, org);
        if (existing && (existing.expires_at === null || existing.expires_at > t)) {
          throw new CoreError("membership.taken", {
            [org === null ? "user_id" : "org_id"]: [org === null ? "already has an org-less membership" : "already has a membership for this user"],
          });
        }
        // An expired membership is invisible: a new one replaces it.
        if (existing) sql.run("DELETE FROM memberships WHERE id = ?", existing.id);
        sql.run(
          "INSERT INTO memberships (id, realm_id, user_id, org_id, permissions, expires_at, custom, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
          id,
          realm.id,
          userId as string,
          org,
          JSON.stringify(permissions ?? []),
          expires_at ?? null,
          JSON.stringify(custom ?? {}),
          t,
        );
        const created = sql.get<MembershipRow>("SELECT * FROM memberships WHERE id = ?", id)!;
        writeEvent(sql, rt, ctx, request, "membership.created", subjects(created));
        return created;
      });
      return membershipJson(row);
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["membership"]);
      const realm = resolveRealm(rt, ctx, params, "membership");
      const { permissions, expires_at, custom } = readWrapper(params, false);
      const request = readRequestInfo(params);
      const row = await rt.db.write((sql) => {
        const current = requireMembership(sql, realm.id, params.id, now());
        const sets: string[] = [];
        const args: SqlValue[] = [];
        if (permissions !== undefined) {
          sets.push("permissions = ?");
          args.push(JSON.stringify(permissions));
        }
        if (expires_at !== undefined) {
          sets.push("expires_at = ?");
          args.push(expires_at);
        }
        if (custom !== undefined) {
          sets.push("custom = ?");
          args.push(JSON.stringify(custom));
        }
        if (sets.length) sql.run(`UPDATE memberships SET ${sets.join(", ")} WHERE id = ?`, ...args, current.id);
        writeEvent(sql, rt, ctx, request, "membership.updated", subjects(current));
        return sql.get<MembershipRow>("SELECT * FROM memberships WHERE id = ?", current.id)!;
      });
      return membershipJson(row);
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      await rt.db.write((sql) => {
        const current = requireMembership(sql, realm.id, params.id, now());
        sql.run("DELETE FROM memberships WHERE id = ?", current.id);
        writeEvent(sql, rt, ctx, request, "membership.deleted", subjects(current));
      });
    },
  };
}
