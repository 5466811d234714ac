/**
 * Sessions: what a login creates. Managed realms store a row per session (revocable, listed,
 * expiring); unmanaged realms only issue tokens. A session may be addressed by its id or by
 * its JWT.
 */
import type { SessionOperations } from "./api.ts";
import type { CallContext, JsonObject } from "./context.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId } from "./ids.ts";
import { listPage, readPageRequest } from "./lists.ts";
import { membershipsOfUser } from "./memberships.ts";
import { readExpands, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { type RealmRow, resolveRealm } from "./realms.ts";
import { readRequestInfo, type RequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { signLoginToken, verifyLoginToken } from "./tokens.ts";
import { MEMBERSHIP_COUNT, userJson, type UserRow } from "./user_json.ts";

/** A session as stored (or, in unmanaged realms, as read from its token). */
export interface SessionRow {
  id: string;
  realm_id: string;
  user_id: string;
  created_at: number;
  expires_at: number;
  ip: string | null;
  client: string | null;
}

/** The v1 JSON of a session, embedding its user. */
export function sessionJson(row: SessionRow, user: UserRow): JsonObject {
  return {
    id: row.id,
    object: "session",
    user_id: row.user_id,
    created_at: row.created_at,
    expires_at: row.expires_at,
    request: { ip: row.ip, client: row.client },
    ip: row.ip,
    client: row.client,
    user: userJson(user, { custom: true }),
  };
}

/**
 * Starts a session for `user` (inside the caller's write transaction): stores it in managed
 * realms, and returns what the token needs. `now` in unix seconds.
 */
export function startSession(sql: Sql, rt: Runtime, realm: RealmRow, user: { id: string }, request: RequestInfo, now: number): SessionRow {
  const row: SessionRow = {
    id: rt.ids.next("kss"),
    realm_id: realm.id,
    user_id: user.id,
    created_at: now,
    expires_at: Math.floor(now + realm.session_minutes * 60),
    ip: request.ip,
    client: request.client,
  };
  if (realm.session_type === "managed") {
    // Expired sessions of this user are no longer visible anywhere; drop them as we go.
    sql.run("DELETE FROM sessions WHERE user_id = ? AND expires_at <= ?", user.id, now);
    sql.run(
      "INSERT INTO sessions (id, realm_id, user_id, created_at, expires_at, ip, client) VALUES (?, ?, ?, ?, ?, ?, ?)",
      row.id,
      row.realm_id,
      row.user_id,
      row.created_at,
      row.expires_at,
      row.ip,
      row.client,
    );
  }
  return row;
}

/** Looks like a JWT (three dot-separated parts) rather than a session id. */
function isToken(s: string): boolean {
  return s.split(".").length === 3;
}

function loadUser(sql: Sql, realmId: string, userId: string, now: number): UserRow | undefined {
  return sql.get<UserRow>(`SELECT t.*, ${MEMBERSHIP_COUNT} FROM users t WHERE t.id = ? AND t.realm_id = ?`, now, userId, realmId);
}

/**
 * Finds a live session of `realm` by id or JWT; undefined when unknown, expired, deleted, or
 * when the token does not verify. In unmanaged realms only a valid token finds a session.
 */
export async function findSession(rt: Runtime, realm: RealmRow, idOrToken: unknown, now: number): Promise<SessionRow | undefined> {
  if (typeof idOrToken !== "string" || idOrToken === "") return undefined;
  let id = idOrToken;
  let claims: Record<string, unknown> | undefined;
  if (isToken(idOrToken)) {
    claims = await verifyLoginToken(realm, idOrToken);
    if (!claims || typeof claims.tk !== "string" || typeof claims.uid !== "string") return undefined;
    id = claims.tk;
  } else if (!isId(idOrToken, "kss")) return undefined;
  if (realm.session_type === "unmanaged") {
    if (!claims) return undefined;
    return { id, realm_id: realm.id, user_id: claims.uid as string, created_at: Number(claims.iat), expires_at: Number(claims.exp), ip: null, client: null };
  }
  const row = rt.db.get<SessionRow>("SELECT * FROM sessions WHERE id = ? AND realm_id = ? AND expires_at > ?", id, realm.id, now);
  if (!row || (claims && claims.uid !== row.user_id)) return undefined;
  return row;
}

export function sessionOperations(rt: Runtime): SessionOperations {
  const now = (): number => seconds(rt.clock());

  async function requireSession(ctx: CallContext, params: Record<string, unknown>) {
    const realm = resolveRealm(rt, ctx, params);
    const t = now();
    const session = await findSession(rt, realm, params.id, t);
    const user = session ? loadUser(rt.db, realm.id, session.user_id, t) : undefined;
    if (!session || !user) throw new CoreError("session.not_found");
    return { realm, session, user, t };
  }

  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, ["user_id", "after", "max_results", "sort", "direction"]);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, { sorts: { id: "id" }, defaultSort: "id", defaultDirection: "asc" });
      if (typeof params.user_id !== "string" || params.user_id === "") throw new CoreError("validation_failed", { user_id: ["is required"] });
      const t = now();
      const user = loadUser(rt.db, realm.id, params.user_id, t);
      if (!user) return { collection: [], more_results: false };
      const { rows, more } = listPage<SessionRow>(
        rt.db,
        {
          table: "sessions",
          sorts: { id: "id" },
          defaultSort: "id",
          defaultDirection: "asc",
          where: ["t.realm_id = ?", "t.user_id = ?", "t.expires_at > ?"],
          args: [realm.id, user.id, t],
        },
        page,
      );
      return { collection: rows.map((r) => sessionJson(r, user)), more_results: more };
    },

    async get(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const { realm, session, user, t } = await requireSession(ctx, params);
      const json = sessionJson(session, user);
      const expands = readExpands(params, undefined, ["memberships", "token"]);
      if (expands.has("memberships")) json.memberships = membershipsOfUser(rt.db, user.id, t);
      // A fresh token from the user's current data, keeping the session's original expiry.
      if (expands.has("token")) json.token = await signLoginToken(rt.db, realm, user, session.id, Math.floor(t), session.expires_at);
      return json;
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["session"]);
      const realm = resolveRealm(rt, ctx, params, "session");
      const attrs = wrapper(params, "session");
      const p = new Problems();
      rejectUnknown(attrs, new Set(["user_id", "ip", "client"]), new Set(["realm_id", "id", "object", "expands", "expand"]), p);
      if (typeof attrs.user_id !== "string" || attrs.user_id === "") p.add("user_id", "can't be blank");
      p.throwIfAny();
      const request = readRequestInfo(params, "session");
      const t = now();
      const { session, user } = rt.db.write((sql) => {
        const user = loadUser(sql, realm.id, attrs.user_id as string, t);
        if (!user) throw new CoreError("validation_failed", { user_id: ["is not a user of this realm"] });
        if (user.state !== "active") throw new CoreError("validation_failed", { user_id: ["is not an active user"] });
        const session = startSession(sql, rt, realm, user, request, t);
        sql.run("UPDATE users SET last_login_at = ? WHERE id = ?", t, user.id);
        writeEvent(sql, rt, ctx, request, "user.login.succeeded", { realm_id: realm.id, user_id: user.id });
        return { session, user: loadUser(sql, realm.id, user.id, t)! };
      });
      const json = sessionJson(session, user);
      json.token = await signLoginToken(rt.db, realm, user, session.id, Math.floor(t), session.expires_at);
      return json;
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, []);
      const { realm, session } = await requireSession(ctx, params);
      if (realm.session_type === "unmanaged")
        throw new CoreError("session.not_found", { base: ["Unmanaged realms do not store sessions; their tokens expire on their own"] });
      rt.db.write((sql) => sql.run("DELETE FROM sessions WHERE id = ?", session.id));
    },
  };
}
