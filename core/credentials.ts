/**
 * Credentials: a user's password (human users) and API keys (api users). Only hashes are
 * stored: argon2id PHC strings for passwords, SHA-256 for API keys (which are high-entropy,
 * so a fast hash loses nothing and keeps authenticate_key cheap). A generated key is shown
 * once, in the response that created it.
 */
import type { CredentialOperations } from "./api.ts";
import type { JsonObject, Params } from "./context.ts";
import { CoreError, Problems } from "./errors.ts";
import { writeEvent } from "./events.ts";
import { isId, randomBase62 } from "./ids.ts";
import { optEnum, rawString, rejectUnknown, rejectUnknownParams, wrapper } from "./params.ts";
import { type RealmRow, resolveRealm } from "./realms.ts";
import { readRequestInfo } from "./request_info.ts";
import type { Runtime } from "./runtime.ts";
import { seconds } from "./runtime.ts";
import type { Sql } from "./storage/sqlite.ts";
import { checkPassword, passwordPolicyOf } from "./passwords.ts";

/** A credential as stored. */
export interface CredentialRow {
  id: string;
  realm_id: string;
  user_id: string;
  credential_type: "password" | "api_key";
  secret_hash: string;
  created_at: number;
}

/** Random part of generated API keys: 40 base62 characters (≈ 238 bits). */
const API_KEY_CHARS = 40;

/** A new API key for `realm` (its prefix + random) and the hash to store. */
export async function generateApiKey(rt: Runtime, realm: RealmRow, given?: string): Promise<{ key: string; hash: string }> {
  const key = given ?? `${realm.api_key_prefix ?? ""}${randomBase62(API_KEY_CHARS, rt.random)}`;
  return { key, hash: await rt.sha256(key) };
}

/**
 * Reads `api_key` as given on create: blank or "generate" asks for a generated key (undefined);
 * an explicit key must be 32–255 characters.
 */
export function readApiKey(attrs: Record<string, unknown>, p: Problems): string | undefined {
  const v = attrs.api_key;
  if (v === undefined || v === null || v === "" || v === "generate") return undefined;
  const key = rawString(attrs, "api_key", p, 255);
  if (key !== undefined && key.length < 32) p.add("api_key", "is too short (minimum is 32 characters)");
  return key;
}

/** The v1 JSON of a credential (never its hash). */
export function credentialJson(row: CredentialRow): JsonObject {
  return { id: row.id, object: "credential", user_id: row.user_id, credential_type: row.credential_type, created_at: row.created_at };
}

function requireCredential(sql: Sql, realmId: string, id: unknown): CredentialRow {
  const row =
    typeof id === "string" && isId(id, "crd") ? sql.get<CredentialRow>("SELECT * FROM credentials WHERE id = ? AND realm_id = ?", id, realmId) : undefined;
  if (!row) throw new CoreError("credential.not_found");
  return row;
}

const WRITABLE = new Set(["user_id", "credential_type", "password", "password_confirmation", "api_key"]);
const READ_ONLY = new Set(["id", "object", "realm_id", "created_at", "expands", "expand"]);

export function credentialOperations(rt: Runtime): CredentialOperations {
  const now = (): number => seconds(rt.clock());

  /** Reads the secret for a credential of `type`; hashes it (before any transaction). */
  async function secretFor(
    realm: RealmRow,
    type: "password" | "api_key",
    attrs: Record<string, unknown>,
    p: Problems,
  ): Promise<{ hash: string; apiKey?: string }> {
    if (type === "password") {
      const password = checkPassword(attrs, p, true, passwordPolicyOf(realm));
      p.throwIfAny();
      return { hash: await rt.hasher.hash(password!) };
    }
    const given = readApiKey(attrs, p);
    p.throwIfAny();
    const { key, hash } = await generateApiKey(rt, realm, given);
    return { hash, apiKey: key };
  }

  function withKey(row: CredentialRow, apiKey: string | undefined): JsonObject {
    const json = credentialJson(row);
    if (apiKey !== undefined) json.api_key = apiKey;
    return json;
  }

  return {
    async get(ctx, params) {
      await rt.authorize(ctx, "read");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      return credentialJson(requireCredential(rt.db, realm.id, params.id));
    },

    async create(ctx, params: Params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["credential"]);
      const realm = resolveRealm(rt, ctx, params, "credential");
      const attrs = wrapper(params, "credential");
      const request = readRequestInfo(params);
      const p = new Problems();
      rejectUnknown(attrs, WRITABLE, READ_ONLY, p);
      const type = optEnum(attrs, "credential_type", ["password", "api_key"] as const, p);
      if (!type && !p.errors.credential_type) p.add("credential_type", "can't be blank");
      if (typeof attrs.user_id !== "string" || attrs.user_id === "") p.add("user_id", "can't be blank");
      p.throwIfAny();
      const userId = attrs.user_id as string;
      const user = rt.db.get<{ user_type: string }>("SELECT user_type FROM users WHERE id = ? AND realm_id = ?", userId, realm.id);
      if (!user) throw new CoreError("validation_failed", { user_id: ["is not a user of this realm"] });
      if (type === "password" && user.user_type !== "human")
        throw new CoreError("validation_failed", { credential_type: ["password is only for human users"] });
      if (type === "api_key" && user.user_type !== "api") throw new CoreError("validation_failed", { credential_type: ["api_key is only for api users"] });
      const secret = await secretFor(realm, type!, attrs, p);
      const id = rt.ids.next("crd");
      const row = await rt.db.write((sql) => {
        if (type === "password" && sql.get("SELECT 1 FROM credentials WHERE user_id = ? AND credential_type = 'password'", userId)) {
          throw new CoreError("validation_failed", { credential_type: ["the user already has a password; update it instead"] });
        }
        sql.run(
          "INSERT INTO credentials (id, realm_id, user_id, credential_type, secret_hash, created_at) VALUES (?, ?, ?, ?, ?, ?)",
          id,
          realm.id,
          userId,
          type!,
          secret.hash,
          now(),
        );
        writeEvent(sql, rt, ctx, request, "user.updated", { realm_id: realm.id, user_id: userId });
        return requireCredential(sql, realm.id, id);
      });
      return withKey(row, secret.apiKey);
    },

    async update(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, ["credential"]);
      const realm = resolveRealm(rt, ctx, params, "credential");
      const attrs = wrapper(params, "credential");
      const request = readRequestInfo(params);
      const p = new Problems();
      rejectUnknown(attrs, new Set(["password", "password_confirmation", "api_key"]), new Set([...READ_ONLY, "user_id", "credential_type"]), p);
      p.throwIfAny();
      const current = requireCredential(rt.db, realm.id, params.id);
      const secret = await secretFor(realm, current.credential_type, attrs, p);
      const row = await rt.db.write((sql) => {
        const again = requireCredential(sql, realm.id, current.id);
        sql.run("UPDATE credentials SET secret_hash = ? WHERE id = ?", secret.hash, again.id);
        // A new password ends the user's sessions at once.
        if (again.credential_type === "password") sql.run("DELETE FROM sessions WHERE user_id = ?", again.user_id);
        writeEvent(sql, rt, ctx, request, "user.updated", { realm_id: realm.id, user_id: again.user_id });
        return requireCredential(sql, realm.id, again.id);
      });
      return withKey(row, secret.apiKey);
    },

    async delete(ctx, params) {
      await rt.authorize(ctx, "write");
      rejectUnknownParams(params, []);
      const realm = resolveRealm(rt, ctx, params);
      const request = readRequestInfo(params);
      await rt.db.write((sql) => {
        const current = requireCredential(sql, realm.id, params.id);
        sql.run("DELETE FROM credentials WHERE id = ?", current.id);
        if (current.credential_type === "password") sql.run("DELETE FROM sessions WHERE user_id = ?", current.user_id);
        writeEvent(sql, rt, ctx, request, "user.updated", { realm_id: realm.id, user_id: current.user_id });
      });
    },
  };
}
