/**
 * Login tokens: HS256 JWTs signed with the realm's `jwt_secret` (spec "Login tokens").
 * Claims: uid, un, fn, ln, n, tk (session id), iat, exp, aud (realm id), and per the realm's
 * `jwt_data`: `m` (memberships: oid, p, and o with `orgs`) and `cs` (custom attributes).
 */
import { SignJWT, jwtVerify } from "jose";
import type { RealmRow } from "./realms.ts";
import type { Sql } from "./storage/sqlite.ts";

const encoder = new TextEncoder();
const CACHE_LIMIT = 10_000;
const keyCache = new Map<string, Promise<CryptoKey>>();

/**
 * The HMAC key of a realm (the secret string's bytes), imported into Web Crypto once per
 * secret: importing it for every token cost more than the HMAC itself.
 */
function realmKey(secret: string): Promise<CryptoKey> {
  let key = keyCache.get(secret);
  if (!key) {
    if (keyCache.size >= CACHE_LIMIT) keyCache.clear();
    key = crypto.subtle.importKey("raw", encoder.encode(secret), { name: "HMAC", hash: "SHA-256" }, false, ["sign", "verify"]);
    keyCache.set(secret, key);
  }
  return key;
}

/**
 * Tokens whose signature already verified, by realm secret and token text, until they
 * expire. A signature stays valid for a token's whole life, so it is checked once; whether
 * the session still exists is checked on every use by the caller. Any change to the token
 * text (tampering) misses the cache and is verified in full.
 */
const verified = new Map<string, { claims: Record<string, unknown>; exp: number }>();

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
    .sign(await realmKey(realm.jwt_secret));
}

/** Allowed clock skew when checking `exp`, seconds. */
const CLOCK_TOLERANCE = 30;

/**
 * Verifies a token of `realm` (HS256 only, `aud` = the realm, `exp` enforced with 30 s
 * skew); undefined when invalid. `now` is unix seconds.
 */
export async function verifyLoginToken(realm: RealmRow, token: string, now = Date.now() / 1000): Promise<Record<string, unknown> | undefined> {
  const cacheKey = `${realm.id}\u0000${realm.jwt_secret}\u0000${token}`;
  const hit = verified.get(cacheKey);
  if (hit) {
    if (hit.exp + CLOCK_TOLERANCE > now) return hit.claims;
    verified.delete(cacheKey);
    return undefined;
  }
  try {
    const { payload } = await jwtVerify(token, await realmKey(realm.jwt_secret), {
      algorithms: ["HS256"],
      audience: realm.id,
      clockTolerance: CLOCK_TOLERANCE,
      currentDate: new Date(now * 1000),
    });
    const claims = payload as Record<string, unknown>;
    if (typeof claims.exp === "number") {
      // Oldest first out: Map keeps insertion order.
      if (verified.size >= CACHE_LIMIT) verified.delete(verified.keys().next().value!);
      verified.set(cacheKey, { claims, exp: claims.exp });
    }
    return claims;
  } catch {
    return undefined;
  }
}

/** `name`: first and last joined, or null when both are absent. */
export function fullName(first: string | null, last: string | null): string | null {
  const n = [first, last].filter((s) => s !== null && s !== "").join(" ");
  return n === "" ? null : n;
}
