/** The v1 JSON of users, shared by users, memberships, sessions and their expands. */
import type { JsonObject } from "./context.ts";
import { fullName } from "./tokens.ts";

/** A user as stored, plus its live membership count. */
export interface UserRow {
  id: string;
  realm_id: string;
  user_type: "human" | "api";
  state: "active" | "inactive";
  username: string;
  email: string | null;
  first_name: string | null;
  last_name: string | null;
  reference: string | null;
  custom: string;
  created_at: number;
  last_login_at: number | null;
  membership_count: number;
  /** Present when read with {@link MEMBERSHIP_COUNT_UNTIL}. */
  next_membership_expiry?: number | null;
}

/**
 * A select-list fragment adding `membership_count` (live memberships only) to a query over
 * `users t`; bind the current time (unix seconds) for its `?`.
 */
export const MEMBERSHIP_COUNT =
  "(SELECT count(*) FROM memberships m WHERE m.user_id = t.id AND (m.expires_at IS NULL OR m.expires_at > ?)) AS membership_count";

/**
 * {@link MEMBERSHIP_COUNT} plus `next_membership_expiry`, the moment that count next drops by
 * time alone (the earliest expiry still ahead); for cached reads. Bind the time for both `?`.
 */
export const MEMBERSHIP_COUNT_UNTIL = `${MEMBERSHIP_COUNT}, (SELECT min(m.expires_at) FROM memberships m WHERE m.user_id = t.id AND m.expires_at > ?) AS next_membership_expiry`;

/** Until when a row read with {@link MEMBERSHIP_COUNT_UNTIL} is true, as far as time goes. */
export function userRowUntil(row: { next_membership_expiry?: number | null } | undefined): number {
  return row?.next_membership_expiry ?? Number.POSITIVE_INFINITY;
}

/**
 * Freezes a JSON value (or a message made from one) and everything in it: cached results are
 * shared, so nobody may change them. Byte arrays cannot be frozen and are left as they are.
 */
export function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === "object" && !Object.isFrozen(value) && !ArrayBuffer.isView(value)) {
    Object.freeze(value);
    for (const item of Object.values(value)) deepFreeze(item);
  }
  return value;
}

/** The v1 JSON of a user. Lists omit `custom` unless expanded; Gets add `credentials`. */
export function userJson(row: UserRow, options: { custom: boolean; credentials?: { id: string; credential_type: string }[] }): JsonObject {
  const out: JsonObject = {
    id: row.id,
    object: "user",
    realm_id: row.realm_id,
    user_type: row.user_type,
    state: row.state,
    username: row.username,
    email: row.email,
    first_name: row.first_name,
    last_name: row.last_name,
    name: fullName(row.first_name, row.last_name),
    reference: row.reference,
    created_at: row.created_at,
    last_login_at: row.last_login_at,
    last_login_on: row.last_login_at,
    membership_count: row.membership_count,
  };
  if (options.custom) out.custom = JSON.parse(row.custom) as unknown;
  if (options.credentials) out.credentials = options.credentials.map((c) => ({ id: c.id, object: "credential", credential_type: c.credential_type }));
  return out;
}
