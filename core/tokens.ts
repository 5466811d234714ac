/**
 * Login tokens: HS256 JWTs signed with the realm's `jwt_secret` (spec "Login tokens").
 * Claims: uid, un, fn, ln, n, tk (session id), iat, exp, aud (realm id), and per the realm's
 * `jwt_data`: `m` (memberships: oid, p, and o with `orgs`) and `cs` (custom attributes).
 */
import { SignJWT, jwtVerify } from "jose";
import type { RealmRow } from "./realms.ts";
import type { Sql } from "./storage/sqlite.ts";

const encoder = new TextEncoder();
const keyCache = new Map<string, Uint8Array>();

/** The HMAC key of a realm (the secret string's bytes), cached per secret. */
function realmKey(secret: string): Uint8Array {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size > 10_000) keyCache.clear();
    key = encoder.encode(secret);
    keyCache.set(secret, key);
  }
  return key;
}

/** The user fields a token carries. */
export interface TokenUser {
  id: string;
  username: string;
  first_name: string | null;
  last_name: string | null;
  custom: string;
}

interface MembershipClaimRow {
  org_id: string | null;
  permissions: string;
  org_name: string | null;
}

/** Builds and signs a token for `user` in `realm`, for session `sessionId`, expiring at `exp`. */
export async function signLoginToken(sql: Sql, realm: RealmRow, user: TokenUser, sessionId: string, iat: number, exp: number): Promise<string> {
  const jwtData = JSON.parse(realm.jwt_data) as string[];
  const claims: Record<string, unknown> = {
    uid: user.id,
    un: user.username,
    fn: user.first_name,
    ln: user.last_name,
    n: fullName(user.first_name, user.last_name),
    tk: sessionId,
  };
  if (jwtData.includes("memberships") || jwtData.includes("orgs")) {
    const rows = sql.all<MembershipClaimRow>(
      `SELECT m.org_id, m.permissions, o.name AS org_name FROM memberships m LEFT JOIN orgs o ON o.id = m.org_id
       WHERE m.user_id = ? AND (m.expires_at IS NULL OR m.expires_at > ?) ORDER BY m.id`,
      user.id,
      iat,
    );
    claims.m = rows.map((r) => {
      const m: Record<string, unknown> = { oid: r.org_id, p: JSON.parse(r.permissions) as string[] };
      if (jwtData.includes("orgs")) m.o = r.org_name;
      return m;
    });
  }
  if (jwtData.includes("custom")) claims.cs = JSON.parse(user.custom) as unknown;
  return new SignJWT(claims)
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .setAudience(realm.id)
    .sign(realmKey(realm.jwt_secret));
}

/** Verifies a token of `realm` (HS256 only, `exp` enforced with 30 s skew); undefined when invalid. */
export async function verifyLoginToken(realm: RealmRow, token: string): Promise<Record<string, unknown> | undefined> {
  try {
    const { payload } = await jwtVerify(token, realmKey(realm.jwt_secret), { algorithms: ["HS256"], audience: realm.id, clockTolerance: 30 });
    return payload as Record<string, unknown>;
  } catch {
    return undefined;
  }
}

/** `name`: first and last joined, or null when both are absent. */
export function fullName(first: string | null, last: string | null): string | null {
  const n = [first, last].filter((s) => s !== null && s !== "").join(" ");
  return n === "" ? null : n;
}
