/**
 * Password login, shared by `POST /v1/users/{u}/authenticate`, LoginRocket and gRPC:
 * throttling, equal-cost failure, the session and its token. One implementation, so every
 * surface fails, throttles and records events the same way.
 */
import type { CallContext } from "./context.ts";
import { CoreError } from "./errors.ts";
import { type EventSubjects, writeEvent } from "./events.ts";
import { normalizeIdentifier } from "./params.ts";
import type { RealmRow } from "./realms.ts";
import type { RequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import { type SessionRow, startSession } from "./sessions.ts";
import { checkThrottle, clearThrottle, recordFailure, type ThrottleKey } from "./throttle.ts";
import { signLoginToken } from "./tokens.ts";
import { MEMBERSHIP_COUNT, type UserRow } from "./user_json.ts";
import { findUser } from "./users.ts";

/** The one message every failed login gets, whatever the reason. */
export const LOGIN_FAILED = "Login failed: unknown user, wrong password or inactive user";

/** Who is logging in: `{u}` (id or username) or an email address. */
export type LoginName = { u: string } | { email: string };

/** A successful login. */
export interface LoginOutcome {
  user: UserRow;
  session: SessionRow;
  token: string;
  /** Unix seconds of the login. */
  now: number;
}

function lookup(rt: Runtime, realm: RealmRow, name: LoginName, now: number): UserRow | undefined {
  if ("u" in name) return findUser(rt.db, realm.id, name.u, now);
  // By email: only an unambiguous match logs in (emails may repeat in lax realms).
  const rows = rt.db.all<UserRow>(
    `SELECT t.*, ${MEMBERSHIP_COUNT} FROM users t WHERE t.realm_id = ? AND t.email = ? LIMIT 2`,
    now,
    realm.id,
    normalizeIdentifier(name.email),
  );
  return rows.length === 1 ? rows[0] : undefined;
}

/**
 * Checks `password` for the named user of `realm`. Throws user.throttled (429) or
 * user.authentication_failed (401, one body for every reason, after the same argon2 work);
 * on success starts a session and signs its token. `subjects` adds ids to the events
 * (LoginRocket adds its login_policy_id).
 */
export async function passwordLogin(
  rt: Runtime,
  ctx: CallContext,
  realm: RealmRow,
  name: LoginName,
  password: string,
  request: RequestInfo,
  subjects: EventSubjects = {},
): Promise<LoginOutcome> {
  const now = seconds(rt.clock());
  const user = lookup(rt, realm, name, now);
  const nameKey = "u" in name ? name.u : `email=${name.email}`;
  const userKey = `u:${realm.id}:${user ? user.id : `name=${normalizeIdentifier(nameKey)}`}`;
  const keys: ThrottleKey[] = [{ key: userKey, limit: rt.throttle.perUser }];
  if (request.ip) keys.push({ key: `ip:${realm.id}:${request.ip}`, limit: rt.throttle.perIp });
  try {
    checkThrottle(rt.db, keys, now, rt.throttle.windowSeconds);
  } catch (err) {
    rt.metrics.login("password", "throttled");
    throw err;
  }

  const hash =
    user?.user_type === "human"
      ? rt.db.get<{ secret_hash: string }>("SELECT secret_hash FROM credentials WHERE user_id = ? AND credential_type = 'password'", user.id)?.secret_hash
      : undefined;
  // Always verify against some hash, so unknown users cost the same time as known ones.
  const matches = await rt.hasher.verify(hash ?? (await rt.dummyHash()), password);
  if (!matches || !hash || !user || user.state !== "active") {
    await rt.db.write((sql) => {
      recordFailure(sql, keys, now, rt.throttle.windowSeconds);
      writeEvent(sql, rt, ctx, request, "user.login.failed", { ...subjects, realm_id: realm.id, user_id: user?.id ?? null });
    });
    rt.metrics.login("password", "failed");
    throw new CoreError("user.authentication_failed", { base: [LOGIN_FAILED] });
  }

  const session = await rt.db.write((sql) => {
    clearThrottle(sql, userKey);
    sql.run("UPDATE users SET last_login_at = ? WHERE id = ?", now, user.id);
    const started = startSession(sql, rt, realm, user, request, now);
    writeEvent(sql, rt, ctx, request, "user.login.succeeded", { ...subjects, realm_id: realm.id, user_id: user.id });
    return started;
  });
  rt.metrics.login("password", "succeeded");
  if (rt.hasher.needsRehash?.(hash)) await upgradeHash(rt, user.id, hash, password);
  const token = await signLoginToken(rt.db, realm, user, session.id, Math.floor(now), session.expires_at);
  return { user: { ...user, last_login_at: now }, session, token, now };
}

/**
 * Replaces an imported or weaker hash with a fresh argon2id one after a successful login.
 * Guarded on the old hash, so a password changed meanwhile is never overwritten.
 */
async function upgradeHash(rt: Runtime, userId: string, oldHash: string, password: string): Promise<void> {
  try {
    const fresh = await rt.hasher.hash(password);
    await rt.db.write((sql) =>
      sql.run("UPDATE credentials SET secret_hash = ? WHERE user_id = ? AND credential_type = 'password' AND secret_hash = ?", fresh, userId, oldHash),
    );
  } catch (err) {
    // The login itself succeeded; the upgrade is retried at the next one.
    rt.logger.warn({ user_id: userId, err: (err as Error).message }, "could not upgrade a password hash");
  }
}
