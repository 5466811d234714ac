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
import { BY_ID, listPage, readPageRequest } from "./lists.ts";
import { membershipsOfUser } from "./memberships.ts";
import { readExpands, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { type RealmRow, resolveRealm } from "./realms.ts";
import { readRequestInfo, type RequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { signLoginToken, verifyLoginToken } from "./tokens.ts";
import { deepFreeze, MEMBERSHIP_COUNT, MEMBERSHIP_COUNT_UNTIL, userJson, userRowUntil, type UserRow } from "./user_json.ts";

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

/** The session id a path value names: itself, or the `tk` of a JWT that verifies. */
async function sessionRef(realm: RealmRow, idOrToken: unknown, now: number): Promise<{ id: string; claims?: Record<string, unknown> } | undefined> {
  if (typeof idOrToken !== "string" || idOrToken === "") return undefined;
  if (!isToken(idOrToken)) return isId(idOrToken, "kss") ? { id: idOrToken } : undefined;
  const claims = await verifyLoginToken(realm, idOrToken, now);
  if (!claims || typeof claims.tk !== "string" || typeof claims.uid !== "string") return undefined;
  return { id: claims.tk, claims };
}

/** A session built from a token's claims (unmanaged realms store none). */
function fromClaims(realm: RealmRow, id: string, claims: Record<string, unknown>): SessionRow {
  return { id, realm_id: realm.id, user_id: claims.uid as string, created_at: Number(claims.iat), expires_at: Number(claims.exp), ip: null, client: null };
}

/**
 * Finds a live session of `realm` by id or JWT; undefined when unknown, expired, deleted, or
 * when the token does not verify. In unmanaged realms only a valid token finds a session.
 */
export async function findSession(rt: Runtime, realm: RealmRow, idOrToken: unknown, now: number): Promise<SessionRow | undefined> {
  const ref = await sessionRef(realm, idOrToken, now);
  if (!ref) return undefined;
  if (realm.session_type === "unmanaged") return ref.claims ? fromClaims(realm, ref.id, ref.claims) : undefined;
  const row = rt.db.get<SessionRow>("SELECT * FROM sessions WHERE id = ? AND realm_id = ? AND expires_at > ?", ref.id, realm.id, now);
  if (!row || (ref.claims && ref.claims.uid !== row.user_id)) return undefined;
  return row;
}

type SessionJoinRow = UserRow & { s_id: string; s_created_at: number; s_expires_at: number; s_ip: string | null; s_client: string | null };

/** Like findSession, with the session's user read in the same query (Get a session's hot path). */
async function findSessionWithUser(rt: Runtime, realm: RealmRow, idOrToken: unknown, now: number): Promise<{ session: SessionRow; user: UserRow } | undefined> {
  const ref = await sessionRef(realm, idOrToken, now);
  if (!ref) return undefined;
  if (realm.session_type === "unmanaged") {
    if (!ref.claims) return undefined;
    const session = fromClaims(realm, ref.id, ref.claims);
    const user = loadUser(rt.db, realm.id, session.user_id, now);
    return user ? { session, user } : undefined;
  }
  // Cached until the session or one of the user's memberships expires, or anything is written.
  const row = rt.db.cachedRead(`session ${realm.id} ${ref.id}`, now, () => {
    const found = rt.db.get<SessionJoinRow & { next_membership_expiry: number | null }>(
      `SELECT s.id AS s_id, s.created_at AS s_created_at, s.expires_at AS s_expires_at, s.ip AS s_ip, s.client AS s_client, t.*, ${MEMBERSHIP_COUNT_UNTIL}
       FROM sessions s JOIN users t ON t.id = s.user_id WHERE s.id = ? AND s.realm_id = ? AND s.expires_at > ?`,
      now,
      now,
      ref.id,
      realm.id,
      now,
    );
    return { value: found, until: found ? Math.min(found.s_expires_at, userRowUntil(found)) : Number.POSITIVE_INFINITY };
  });
  if (!row || (ref.claims && ref.claims.uid !== row.id)) return undefined;
  const { s_id, s_created_at, s_expires_at, s_ip, s_client, ...user } = row;
  return { session: { id: s_id, realm_id: realm.id, user_id: user.id, created_at: s_created_at, expires_at: s_expires_at, ip: s_ip, client: s_client }, user };
}

export function sessionOperations(rt: Runtime): SessionOperations {
  const now = (): number => seconds(rt.clock());

  async function requireSession(ctx: CallContext, params: Record<string, unknown>) {
    const realm = resolveRealm(rt, ctx, params);
    const t = now();
    const found = await findSessionWithUser(rt, realm, params.id, t);
    if (!found) throw new CoreError("session.not_found");
    return { realm, ...found, t };
  }

  return {
    async list(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, ["user_id", "after", "max_results", "sort", "direction"]);
      const realm = resolveRealm(rt, ctx, params);
      const page = readPageRequest(params, BY_ID);
      if (typeof params.user_id !== "string" || params.user_id === "") throw new CoreError("validation_failed", { user_id: ["is required"] });
      const t = now();
      const user = loadUser(rt.db, realm.id, params.user_id, t);
      if (!user) return { collection: [], more_results: false };
      const { rows, more } = listPage<SessionRow>(
        rt.db,
        {
          table: "sessions",
          // The unary + keeps expires_at out of index choice: sessions_user walks the
          // user's sessions in id order, where sessions_user_expiry would need a sort.
          where: ["t.realm_id = ?", "t.user_id = ?", "+t.expires_at > ?"],
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
      const expands = readExpands(params, undefined, ["memberships", "token"]);
      const build = (): JsonObject => {
        const json = sessionJson(session, user);
        if (expands.has("memberships")) json.memberships = membershipsOfUser(rt.db, user.id, t);
        return json;
      };
      // A fresh token from the user's current data, keeping the session's original expiry.
      if (expands.has("token")) return { ...build(), token: await signLoginToken(rt.db, realm, user, session.id, Math.floor(t), session.expires_at) };
      // Unmanaged sessions are rebuilt from each token's claims; managed ones are rows, and
      // their JSON is cached like the rows (frozen and shared, so a transport can serialize
      // it once) until the session or one of the user's memberships expires.
      if (realm.session_type !== "managed") return build();
      return rt.db.cachedRead(`session json ${session.id}${expands.has("memberships") ? " memberships" : ""}`, t, () => ({
        value: deepFreeze(build()),
        until: Math.min(session.expires_at, userRowUntil(user)),
      }));
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
      const { session, user } = await rt.db.write((sql) => {
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
      await rt.db.write((sql) => sql.run("DELETE FROM sessions WHERE id = ?", session.id));
    },
  };
}
