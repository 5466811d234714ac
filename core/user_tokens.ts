/**
 * User tokens (signup tokens, `utk_…`): a pending signup holding the would-be user's
 * attributes and password hash, converted into a user by `POST /v1/users
 * {"user": {"token": "utk_…"}}`. The token is its own id; only its SHA-256 is stored.
 */
import type { UserTokenOperations } from "./api.ts";
import type { JsonObject } from "./context.ts";
import { CoreError } from "./errors.ts";
import { randomBase62 } from "./ids.ts";
import { rejectUnknownParams, wrapper } from "./params.ts";
import { resolveRealm } from "./realms.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { checkUnique, readUserAttributes } from "./users.ts";

/** Signup tokens live 24 hours. */
const USER_TOKEN_SECONDS = 24 * 3600;
const TOKEN = /^utk_[0-9A-Za-z]{22}$/;
const ALLOWED = new Set(["username", "email", "first_name", "last_name", "password", "password_confirmation"]);

interface UserTokenRow {
  token_hash: string;
  realm_id: string;
  username: string | null;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  password_hash: string | null;
  expires_at: number;
  created_at: number;
}

function tokenJson(id: string, row: UserTokenRow): JsonObject {
  return {
    id,
    object: "user_token",
    realm_id: row.realm_id,
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    expires_at: row.expires_at,
    created_at: row.created_at,
  };
}

async function findToken(rt: Runtime, realmId: string, token: unknown): Promise<{ row: UserTokenRow; hash: string } | undefined> {
  if (typeof token !== "string" || !TOKEN.test(token)) return undefined;
  const hash = await rt.sha256(token);
  const row = rt.db.get<UserTokenRow>("SELECT * FROM user_tokens WHERE token_hash = ? AND realm_id = ? AND expires_at > ?", hash, realmId, seconds(rt.clock()));
  return row ? { row, hash } : undefined;
}

/** The attributes a valid signup token supplies to user creation; 422 on `token` otherwise. */
export async function peekUserToken(
  rt: Runtime,
  realmId: string,
  token: unknown,
): Promise<{ attributes: Record<string, unknown>; passwordHash: string | null; tokenHash: string }> {
  const found = await findToken(rt, realmId, token);
  if (!found) throw new CoreError("validation_failed", { token: ["is invalid or expired"] });
  const { row } = found;
  const attributes: Record<string, unknown> = {};
  for (const key of ["username", "email", "first_name", "last_name"] as const) if (row[key] !== null) attributes[key] = row[key];
  return { attributes, passwordHash: row.password_hash, tokenHash: found.hash };
}

/** Consumes a signup token inside the user-creating transaction; exactly one caller wins. */
export function consumeUserToken(sql: Sql, tokenHash: string, now: number): void {
  const consumed = sql.run("DELETE FROM user_tokens WHERE token_hash = ? AND expires_at > ?", tokenHash, now);
  if (consumed === 0) throw new CoreError("validation_failed", { token: ["is invalid or expired"] });
}

export function userTokenOperations(rt: Runtime): UserTokenOperations {
  return {
    async get(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const found = await findToken(rt, realm.id, params.id);
      if (!found) throw new CoreError("user_token.not_found");
      return tokenJson(params.id as string, found.row);
    },

    async create(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["user_token"]);
      const realm = resolveRealm(rt, ctx, params, "user_token");
      const attrs = readUserAttributes(wrapper(params, "user_token"), realm, true, ALLOWED);
      const passwordHash = attrs.password ? await rt.hasher.hash(attrs.password) : null;
      const token = `utk_${randomBase62(22, rt.random)}`;
      const hash = await rt.sha256(token);
      const now = seconds(rt.clock());
      const row = await rt.db.write((sql) => {
        // Early feedback: a token for a taken username could never be converted.
        checkUnique(sql, realm, null, attrs.username, attrs.email);
        sql.run(
          "INSERT INTO user_tokens (token_hash, realm_id, username, email, first_name, last_name, password_hash, expires_at, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
          hash,
          realm.id,
          attrs.username ?? null,
          attrs.email ?? null,
          attrs.first_name ?? null,
          attrs.last_name ?? null,
          passwordHash,
          Math.floor(now + USER_TOKEN_SECONDS),
          now,
        );
        return sql.get<UserTokenRow>("SELECT * FROM user_tokens WHERE token_hash = ?", hash)!;
      });
      return tokenJson(token, row);
    },
  };
}
