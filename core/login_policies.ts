/**
 * Login policies (connected apps): where a realm's LoginRocket is served (`subdomain`),
 * where it sends users after login and signup, which origins may call it with CORS, and the
 * admin-set decoration of its hosted pages.
 */
import type { LoginPolicyOperations } from "./api.ts";
import type { JsonObject, Params } from "./context.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId, randomBase62 } from "./ids.ts";
import { listPage, readPageRequest } from "./lists.ts";
import { optString, rejectUnknown, rejectUnknownParams, reqString, wrapper } from "./params.ts";
import { resolveRealm } from "./realms.ts";
import { readRequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import { isUniqueViolation, type Sql } from "./storage/sqlite.ts";

/** A login policy as stored; `cors_origins` is a JSON array. */
export interface LoginPolicyRow {
  id: string;
  realm_id: string;
  name: string;
  subdomain: string;
  login_handler: string | null;
  signup_handler: string | null;
  cors_origins: string;
  header: string | null;
  footer: string | null;
  external_css: string | null;
  created_at: number;
}

const SUBDOMAIN = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_URL = 2048;
const MAX_HTML = 64 * 1024;
const MAX_ORIGINS = 50;
const WRITABLE = new Set(["name", "subdomain", "login_handler", "signup_handler", "cors_origins", "header", "footer", "external_css"]);
const READ_ONLY = new Set(["id", "object", "realm_id", "domains", "base_domain", "created_at"]);

/** The v1 JSON of a login policy; `domain` is the configured LoginRocket domain, if any. */
export function loginPolicyJson(row: LoginPolicyRow, domain: string | undefined): JsonObject {
  return {
    id: row.id,
    object: "login_policy",
    realm_id: row.realm_id,
    name: row.name,
    subdomain: row.subdomain,
    login_handler: row.login_handler,
    signup_handler: row.signup_handler,
    cors_origins: JSON.parse(row.cors_origins) as string[],
    header: row.header,
    footer: row.footer,
    external_css: row.external_css,
    domains: domain ? [`${row.subdomain}.${domain}`] : [],
    base_domain: domain ?? null,
    created_at: row.created_at,
  };
}

/** An absolute http(s) URL, or undefined/null as given; problems recorded under `field`. */
function readUrl(attrs: Record<string, unknown>, field: string, p: Problems): string | null | undefined {
  const v = optString(attrs, field, p, { max: MAX_URL });
  if (typeof v !== "string") return v;
  // URLs end up in Location headers and HTML: no whitespace or control characters at all,
  // rather than relying on the URL parser to strip them silently.
  // eslint-disable-next-line no-control-regex -- matching control characters is the point
  if (/[\s\u0000-\u001f\u007f-\u009f]/u.test(v)) {
    p.add(field, "must not contain spaces or control characters");
    return undefined;
  }
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    p.add(field, "must be an absolute http or https URL");
    return undefined;
  }
  if ((url.protocol !== "https:" && url.protocol !== "http:") || url.username || url.password || url.hash) {
    p.add(field, "must be an absolute http or https URL without credentials or fragment");
    return undefined;
  }
  // Stored in the parser's canonical form (non-ASCII hosts in punycode, paths escaped).
  return url.href;
}

function readOrigins(attrs: Record<string, unknown>, p: Problems): string[] | undefined {
  const v = attrs.cors_origins;
  if (v === undefined) return undefined;
  if (v === null || v === "") return [];
  const items = Array.isArray(v) ? v : typeof v === "string" ? v.split(",").map((s) => s.trim()) : null;
  if (!items || items.some((i) => typeof i !== "string")) {
    p.add("cors_origins", "must be a list of origins");
    return undefined;
  }
  const out: string[] = [];
  for (const item of items as string[]) {
    if (item === "") continue;
    let origin: string | undefined;
    try {
      const url = new URL(item);
      if ((url.protocol === "https:" || url.protocol === "http:") && url.origin === item.replace(/\/$/, "")) origin = url.origin;
    } catch {
      origin = undefined;
    }
    if (!origin) {
      p.add("cors_origins", `has an entry that is not an origin (scheme://host[:port]): ${JSON.stringify(item.slice(0, 100))}`);
      return undefined;
    }
    if (!out.includes(origin)) out.push(origin);
  }
  if (out.length > MAX_ORIGINS) p.add("cors_origins", `may hold at most ${MAX_ORIGINS} origins`);
  return out;
}

function readAttributes(attrs: Record<string, unknown>, creating: boolean) {
  const p = new Problems();
  rejectUnknown(attrs, WRITABLE, READ_ONLY, p);
  const name = creating ? reqString(attrs, "name", p) : optString(attrs, "name", p);
  if (name === null) p.add("name", "can't be blank");
  let subdomain = optString(attrs, "subdomain", p, { max: 63 });
  if (typeof subdomain === "string") {
    subdomain = subdomain.toLowerCase();
    if (!SUBDOMAIN.test(subdomain)) p.add("subdomain", "may contain only a-z, 0-9 and inner hyphens (at most 63)");
  }
  const out = {
    name: name ?? undefined,
    subdomain,
    login_handler: readUrl(attrs, "login_handler", p),
    signup_handler: readUrl(attrs, "signup_handler", p),
    cors_origins: readOrigins(attrs, p),
    header: optString(attrs, "header", p, { max: MAX_HTML }),
    footer: optString(attrs, "footer", p, { max: MAX_HTML }),
    external_css: readUrl(attrs, "external_css", p),
  };
  p.throwIfAny();
  return out;
}

/** Loads a policy of the realm, or throws login_policy.not_found. */
function requirePolicy(sql: Sql, realmId: string, id: unknown): LoginPolicyRow {
  const row =
    typeof id === "string" && isId(id, "lpl") ? sql.get<LoginPolicyRow>("SELECT * FROM login_policies WHERE id = ? AND realm_id = ?", id, realmId) : undefined;
  if (!row) throw new CoreError("login_policy.not_found");
  return row;
}

/** The policy serving `subdomain`, with its realm id; undefined when none. */
export function policyBySubdomain(sql: Sql, subdomain: string): LoginPolicyRow | undefined {
  if (!SUBDOMAIN.test(subdomain)) return undefined;
  return sql.get<LoginPolicyRow>("SELECT * FROM login_policies WHERE subdomain = ?", subdomain);
}

function subdomainTaken(): CoreError {
  return new CoreError("login_policy.subdomain_taken", { subdomain: ["has already been taken"] });
}

export function loginPolicyOperations(rt: Runtime, domain: string | undefined): LoginPolicyOperations {
  const json = (row: LoginPolicyRow) => loginPolicyJson(row, domain);
  const subjects = (row: LoginPolicyRow) => ({ realm_id: row.realm_id, login_policy_id: row.id });

  async function save(params: Params, fn: (sql: Sql) => LoginPolicyRow): Promise<JsonObject> {
    try {
      return json(await rt.db.write(fn));
    } catch (err) {
      // The UNIQUE index is the arbiter for concurrent creates of one subdomain.
      if (isUniqueViolation(err)) throw subdomainTaken();
      throw err;
    }
  }

  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["after", "max_results", "sort", "direction"]);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, { sorts: { id: "id", name: "name" }, defaultSort: "id", defaultDirection: "asc" });
      const { rows, more } = listPage<LoginPolicyRow>(rt.db, { table: "login_policies", where: ["t.realm_id = ?"], args: [realm.id] }, page);
      return { collection: rows.map(json), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      return json(requirePolicy(rt.db, realm.id, params.id));
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["login_policy"]);
      const realm = resolveRealm(rt, ctx, params, "login_policy");
      const attrs = readAttributes(wrapper(params, "login_policy"), true);
      const request = readRequestInfo(params);
      const id = rt.ids.next("lpl");
      const subdomain = attrs.subdomain ?? `app-${randomBase62(10, rt.random).toLowerCase()}`;
      return save(params, (sql) => {
        if (sql.get("SELECT 1 FROM login_policies WHERE subdomain = ?", subdomain)) throw subdomainTaken();
        sql.run(
          `INSERT INTO login_policies (id, realm_id, name, subdomain, login_handler, signup_handler, cors_origins, header, footer, external_css, created_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
          id,
          realm.id,
          attrs.name!,
          subdomain,
          attrs.login_handler ?? null,
          attrs.signup_handler ?? null,
          JSON.stringify(attrs.cors_origins ?? []),
          attrs.header ?? null,
          attrs.footer ?? null,
          attrs.external_css ?? null,
          seconds(rt.clock()),
        );
        const row = requirePolicy(sql, realm.id, id);
        writeEvent(sql, rt, ctx, request, "login_policy.created", subjects(row));
        return row;
      });
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, ["login_policy"]);
      const realm = resolveRealm(rt, ctx, params, "login_policy");
      const attrs = readAttributes(wrapper(params, "login_policy"), false);
      const request = readRequestInfo(params);
      return save(params, (sql) => {
        const current = requirePolicy(sql, realm.id, params.id);
        if (attrs.subdomain === null) throw new CoreError("validation_failed", { subdomain: ["can't be blank"] });
        if (attrs.subdomain && attrs.subdomain !== current.subdomain && sql.get("SELECT 1 FROM login_policies WHERE subdomain = ?", attrs.subdomain))
          throw subdomainTaken();
        const sets: string[] = [];
        const args: (string | null)[] = [];
        for (const [key, value] of Object.entries(attrs)) {
          if (value === undefined) continue;
          sets.push(`${key} = ?`);
          args.push(key === "cors_origins" ? JSON.stringify(value) : (value as string | null));
        }
        if (sets.length > 0) sql.run(`UPDATE login_policies SET ${sets.join(", ")} WHERE id = ?`, ...args, current.id);
        writeEvent(sql, rt, ctx, request, "login_policy.updated", subjects(current));
        return requirePolicy(sql, realm.id, current.id);
      });
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "admin_realm");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      await rt.db.write((sql) => {
        const current = requirePolicy(sql, realm.id, params.id);
        sql.run("DELETE FROM login_policies WHERE id = ?", current.id);
        writeEvent(sql, rt, ctx, request, "login_policy.deleted", subjects(current));
      });
    },
  };
}
