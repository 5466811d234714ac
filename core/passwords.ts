/**
 * Password rules shared by every way a password is set (user create/update, credentials,
 * reset with token, update_password, signup tokens, LoginRocket signup): the realm's
 * `password` auth provider sets them, within fixed bounds.
 */
import type { Problems } from "./errors.ts";
import { rawString } from "./params.ts";

/** No realm may go below 8 characters; nobody may send more than 1024. */
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;

/** The character classes `min_complexity` counts and `required_chars` names. */
export const CHAR_CLASSES = ["lower", "upper", "digit", "symbol"] as const;
export type CharClass = (typeof CHAR_CLASSES)[number];

/** A realm's password rules. */
export interface PasswordPolicy {
  min_length: number;
  /** How many distinct character classes a password needs (0–4). */
  min_complexity: number;
  /** Classes every password must contain. */
  required_chars: CharClass[];
}

export const DEFAULT_PASSWORD_POLICY: PasswordPolicy = Object.freeze({ min_length: MIN_PASSWORD, min_complexity: 0, required_chars: [] });

/** The policy of a realm row carrying `password_settings` (the password provider's JSON, or null). */
export function passwordPolicyOf(realm: { password_settings?: string | null }): PasswordPolicy {
  if (!realm.password_settings) return DEFAULT_PASSWORD_POLICY;
  return { ...DEFAULT_PASSWORD_POLICY, ...(JSON.parse(realm.password_settings) as Partial<PasswordPolicy>) };
}

function classOf(ch: string): CharClass {
  if (/\p{Ll}/u.test(ch)) return "lower";
  if (/\p{Lu}/u.test(ch)) return "upper";
  if (/\p{Nd}/u.test(ch)) return "digit";
  return "symbol";
}

/**
 * Reads `password` (+ optional `password_confirmation`) exactly as sent — never trimmed or
 * normalized — and checks it against `policy`. Returns undefined when absent (an error when
 * `required`).
 */
export function checkPassword(
  attrs: Record<string, unknown>,
  p: Problems,
  required: boolean,
  policy: PasswordPolicy = DEFAULT_PASSWORD_POLICY,
  field = "password",
): string | undefined {
  const password = rawString(attrs, field, p, MAX_PASSWORD);
  const confirmation = rawString(attrs, "password_confirmation", p, MAX_PASSWORD);
  if (password === undefined || password === "") {
    if (required && !p.errors[field]) p.add(field, "can't be blank");
    else if (confirmation !== undefined && confirmation !== "") p.add(field, "can't be blank when password_confirmation is given");
    return undefined;
  }
  const min = Math.max(MIN_PASSWORD, policy.min_length);
  if ([...password].length < min) p.add(field, `is too short (minimum is ${min} characters)`);
  const classes = new Set([...password].map(classOf));
  if (classes.size < policy.min_complexity) p.add(field, `needs at least ${policy.min_complexity} of: lower-case letters, upper-case letters, digits, symbols`);
  const missing = policy.required_chars.filter((c) => !classes.has(c));
  if (missing.length > 0) p.add(field, `must contain: ${missing.join(", ")}`);
  if (confirmation !== undefined && confirmation !== password) p.add("password_confirmation", "doesn't match password");
  return password;
}
