/**
 * @module
 * Rampart's core: the AuthRocket v1 rules, storage and tokens, pure and runtime-agnostic.
 * Open it with {@link openRampart} and inject a SQLite connection and a password hasher.
 */
export type {
  CredentialOperations,
  EventOperations,
  KeyOperations,
  AppHookOperations,
  WebhookOperations,
  LoginPolicyOperations,
  AuthProviderOperations,
  LoginRocketApp,
  LoginRocketContext,
  LoginRocketOperations,
  MembershipOperations,
  Operation,
  OrgOperations,
  Rampart,
  RealmOperations,
  SessionOperations,
  UserOperations,
  UserTokenOperations,
} from "./api.ts";
export { isReadOnlyOperation } from "./api.ts";
export type { CallContext, Credentials, JsonObject, ListResult, Params } from "./context.ts";
export { ioTurnNow } from "./io_turn.ts";
export type { Clock, Logger, MetricsSink, PasswordHasher, RampartDeps, SqliteDatabase, SqliteStatement, SqlValue, ThrottleSettings } from "./deps.ts";
export { ERROR_CATALOGUE, type ErrorCode } from "./error_catalogue.ts";
export { CoreError, toCoreError, type ErrorKind, type FieldErrors, type RateLimitInfo } from "./errors.ts";
export { isId, newRequestId } from "./ids.ts";
export { parseKey } from "./keys.ts";
export { DEFAULT_THROTTLE, openRampart, type OpenOptions, type OpenRampart } from "./rampart.ts";
export { errorSentence, handlerUrl } from "./login_rocket.ts";
export type { RequestInfo } from "./request_info.ts";
export { deepFreeze } from "./user_json.ts";
export { isIpLiteral } from "./request_info.ts";
export { RETRY as WEBHOOK_RETRY, signatureHeader } from "./webhooks.ts";
