/**
 * The catalogue of error slugs. Every CoreError carries one of these codes; docs/errors.md
 * lists them and test/errors_catalogue_test.ts keeps the two in sync.
 */
import type { ErrorKind } from "./errors.ts";

interface CatalogueEntry {
  kind: ErrorKind;
  /** The default message, used under `base` when no field messages are given. */
  message: string;
}

export const ERROR_CATALOGUE = {
  validation_failed: { kind: "INVALID_ARGUMENT", message: "is invalid" },
  "request.malformed": { kind: "MALFORMED", message: "The request could not be parsed" },
  "request.too_large": { kind: "PAYLOAD_TOO_LARGE", message: "The request body is larger than the limit" },
  "request.unsupported_media_type": {
    kind: "UNSUPPORTED_MEDIA_TYPE",
    message: "Request bodies must be application/json or application/x-www-form-urlencoded",
  },
  "route.not_found": { kind: "NOT_FOUND", message: "No such route" },
  "api_key.missing": { kind: "PERMISSION_DENIED", message: "An API key is required" },
  "api_key.invalid": { kind: "PERMISSION_DENIED", message: "The API key is not valid" },
  "api_key.forbidden": { kind: "PERMISSION_DENIED", message: "The API key lacks the permission for this call" },
  "realm.required": { kind: "INVALID_ARGUMENT", message: "is required" },
  "realm.not_found": { kind: "NOT_FOUND", message: "Realm not found" },
  "realm.not_inactive": { kind: "FAILED_PRECONDITION", message: "Only an inactive realm can be deleted" },
  "user.not_found": { kind: "NOT_FOUND", message: "User not found" },
  "user.username_taken": { kind: "INVALID_ARGUMENT", message: "has already been taken" },
  "user.email_taken": { kind: "INVALID_ARGUMENT", message: "has already been taken" },
  "user.authentication_failed": { kind: "UNAUTHENTICATED", message: "Login failed: unknown user, wrong password or inactive user" },
  "user.throttled": { kind: "RESOURCE_EXHAUSTED", message: "Too many failed logins; try again later" },
  "user.password_token_invalid": { kind: "INVALID_ARGUMENT", message: "is invalid or expired" },
  "user.current_password_mismatch": { kind: "INVALID_ARGUMENT", message: "Current password does not match" },
  "org.not_found": { kind: "NOT_FOUND", message: "Org not found" },
  "membership.not_found": { kind: "NOT_FOUND", message: "Membership not found" },
  "membership.taken": { kind: "INVALID_ARGUMENT", message: "has already been taken" },
  "credential.not_found": { kind: "NOT_FOUND", message: "Credential not found" },
  "user_token.not_found": { kind: "NOT_FOUND", message: "User token not found" },
  "login_policy.not_found": { kind: "NOT_FOUND", message: "Login policy not found" },
  "login_policy.subdomain_taken": { kind: "INVALID_ARGUMENT", message: "has already been taken" },
  "auth_provider.not_found": { kind: "NOT_FOUND", message: "Auth provider not found" },
  "auth_provider.taken": { kind: "INVALID_ARGUMENT", message: "The realm already has an auth provider of this type" },
  "login_rocket.login_disabled": { kind: "FAILED_PRECONDITION", message: "Login is not enabled for this app" },
  "login_rocket.signup_disabled": { kind: "FAILED_PRECONDITION", message: "Signup is not enabled for this app" },
  "app_hook.not_found": { kind: "NOT_FOUND", message: "App hook not found" },
  "event.not_found": { kind: "NOT_FOUND", message: "Event not found" },
  "session.not_found": { kind: "NOT_FOUND", message: "Session not found" },
  internal: { kind: "INTERNAL", message: "An internal error occurred; it has been logged" },
} as const satisfies Record<string, CatalogueEntry>;

/** A stable, machine-readable error slug. */
export type ErrorCode = keyof typeof ERROR_CATALOGUE;
