/**
 * Orgs: groups of users within a realm (accounts, teams, tenants). Deleting an org deletes
 * its memberships, each with its own `membership.deleted` event.
 */
import type { OrgOperations } from "./api.ts";
import type { JsonObject } from "./context.ts";
import type { SqlValue } from "./deps.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId } from "./ids.ts";
import { listPage, readPageRequest } from "./lists.ts";
import { membershipsOfOrg } from "./memberships.ts";
import { optCustom, optEnum, optString, readExpands, rejectUnknown, rejectUnknownParams, reqString, wrapper } from "./params.ts";
import { resolveRealm } from "./realms.ts";
import { readRequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";

/** An org as stored. */
export interface OrgRow {
  id: string;
  realm_id: string;
  name: string;
  state: "active" | "inactive";
  reference: string | null;
  custom: string;
  created_at: number;
}

const WRITABLE = new Set(["name", "state", "reference", "custom"]);
const READ_ONLY = new Set(["id", "object", "realm_id", "created_at", "expands", "expand", "memberships"]);

/** The v1 JSON of an org; lists include `custom` only when expanded. */
export function orgJson(row: OrgRow, withCustom = true): JsonObject {
  const out: JsonObject = {
    id: row.id,
    object: "org",
    realm_id: row.realm_id,
    name: row.name,
    state: row.state,
    reference: row.reference,
    created_at: row.created_at,
  };
  if (withCustom) out.custom = JSON.parse(row.custom) as unknown;
  return out;
}

/** Loads an org of the realm, or throws org.not_found. */
export function requireOrg(sql: Sql, realmId: string, id: unknown): OrgRow {
  const row = typeof id === "string" && isId(id, "org") ? sql.get<OrgRow>("SELECT * FROM orgs WHERE id = ? AND realm_id = ?", id, realmId) : undefined;
  if (!row) throw new CoreError("org.not_found");
  return row;
}

function readAttributes(attrs: Record<string, unknown>, creating: boolean) {
  const p = new Problems();
  rejectUnknown(attrs, WRITABLE, READ_ONLY, p);
  const name = creating ? reqString(attrs, "name", p) : optString(attrs, "name", p);
  if (name === null) p.add("name", "can't be blank");
  const out = {
    name: name ?? undefined,
    state: optEnum(attrs, "state", ["active", "inactive"] as const, p),
    reference: optString(attrs, "reference", p),
    custom: optCustom(attrs, "custom", p),
  };
  p.throwIfAny();
  return out;
}

const LIST_PARAMS = ["after", "max_results", "sort", "direction", "state", "reference"];
const SORTS = { id: "id", name: "name" };

export function orgOperations(rt: Runtime): OrgOperations {
  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, LIST_PARAMS);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, { sorts: SORTS, defaultSort: "name", defaultDirection: "asc" });
      const p = new Problems();
      const where = ["t.realm_id = ?"];
      const args: SqlValue[] = [realm.id];
      const state = optEnum(params, "state", ["active", "inactive"] as const, p);
      const reference = optString(params, "reference", p);
      p.throwIfAny();
      if (state) {
        where.push("t.state = ?");
        args.push(state);
      }
      if (reference) {
        where.push("t.reference = ?");
        args.push(reference);
      }
      const withCustom = readExpands(params, undefined, ["custom"]).has("custom");
      const { rows, more } = listPage<OrgRow>(rt.db, { table: "orgs", where, args }, page);
      return { collection: rows.map((r) => orgJson(r, withCustom)), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const org = requireOrg(rt.db, realm.id, params.id);
      const json = orgJson(org);
      if (readExpands(params, undefined, ["memberships"]).has("memberships")) json.memberships = membershipsOfOrg(rt.db, org.id, seconds(rt.clock()));
      return json;
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["org"]);
      const realm = resolveRealm(rt, ctx, params, "org");
      const attrs = readAttributes(wrapper(params, "org"), true);
      const request = readRequestInfo(params);
      const id = rt.ids.next("org");
      const row = await rt.db.write((sql) => {
        sql.run(
          "INSERT INTO orgs (id, realm_id, name, state, reference, custom, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
          id,
          realm.id,
          attrs.name!,
          attrs.state ?? "active",
          attrs.reference ?? null,
          JSON.stringify(attrs.custom ?? {}),
          seconds(rt.clock()),
        );
        writeEvent(sql, rt, ctx, request, "org.created", { realm_id: realm.id, org_id: id });
        return requireOrg(sql, realm.id, id);
      });
      return orgJson(row);
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["org"]);
      const realm = resolveRealm(rt, ctx, params, "org");
      const attrs = readAttributes(wrapper(params, "org"), false);
      const request = readRequestInfo(params);
      const row = await rt.db.write((sql) => {
        const current = requireOrg(sql, realm.id, params.id);
        const sets: string[] = [];
        const args: SqlValue[] = [];
        for (const [key, value] of Object.entries(attrs)) {
          if (value === undefined) continue;
          sets.push(`${key} = ?`);
          args.push(key === "custom" ? JSON.stringify(value) : (value as SqlValue));
        }
        if (sets.length > 0) sql.run(`UPDATE orgs SET ${sets.join(", ")} WHERE id = ?`, ...args, current.id);
        writeEvent(sql, rt, ctx, request, "org.updated", { realm_id: realm.id, org_id: current.id });
        return requireOrg(sql, realm.id, current.id);
      });
      return orgJson(row);
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      await rt.db.write((sql) => {
        const current = requireOrg(sql, realm.id, params.id);
        const memberships = sql.all<{ id: string; user_id: string }>("SELECT id, user_id FROM memberships WHERE org_id = ? ORDER BY id", current.id);
        for (const m of memberships)
          writeEvent(sql, rt, ctx, request, "membership.deleted", { realm_id: realm.id, org_id: current.id, user_id: m.user_id, membership_id: m.id });
        sql.run("DELETE FROM memberships WHERE org_id = ?", current.id);
        sql.run("DELETE FROM orgs WHERE id = ?", current.id);
        writeEvent(sql, rt, ctx, request, "org.deleted", { realm_id: realm.id, org_id: current.id });
      });
    },
  };
}
