/** Password rules shared by every way a password is set (create, update, credential, reset, signup). */
import type { Problems } from "./errors.ts";
import { rawString } from "./params.ts";

/** Passwords: at least 8 characters (the realm minimum never goes below), at most 1024. */
export const MIN_PASSWORD = 8;
export const MAX_PASSWORD = 1024;

/**
 * Reads `password` (+ optional `password_confirmation`) exactly as sent — never trimmed or
 * normalized. Returns undefined when absent (an error when `required`).
 */
export function checkPassword(attrs: Record<string, unknown>, p: Problems, required: boolean, field = "password"): string | undefined {
  const password = rawString(attrs, field, p, MAX_PASSWORD);
  const confirmation = rawString(attrs, "password_confirmation", p, MAX_PASSWORD);
  if (password === undefined || password === "") {
    if (required && !p.errors[field]) p.add(field, "can't be blank");
    else if (confirmation !== undefined && confirmation !== "") p.add(field, "can't be blank when password_confirmation is given");
    return undefined;
  }
  if (password.length < MIN_PASSWORD) p.add(field, `is too short (minimum is ${MIN_PASSWORD} characters)`);
  if (confirmation !== undefined && confirmation !== password) p.add("password_confirmation", "doesn't match password");
  return password;
}
