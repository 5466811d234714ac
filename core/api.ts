/**
 * The operations Rampart offers. The HTTP bridge, the gRPC server and embedding programs all
 * call exactly these; each takes the call context and raw params and returns v1 JSON objects.
 *
 * Params follow the JSON v1 API (../shared/spec/http-v1.md): path ids under `id`, the
 * wrapper object under the singular resource name (`user`, `realm`), `request`, `expands`,
 * `realm_id`, list params. Values may be strings (query strings) where numbers or arrays are
 * expected; core coerces and validates them.
 */
import type { CallContext, JsonObject, ListResult, Params } from "./context.ts";
import type { RequestInfo } from "./request_info.ts";

/**
 * Whether the operation `<resource>.<name>` only reads: lists, gets, and API-key checks
 * (which refresh `last_login_at` at most once a day per key). Every other operation may
 * write; a process that shares the database but is not its writer (an HTTP helper) hands
 * those to one that is.
 */
export function isReadOnlyOperation(name: string): boolean {
  return /\.(list|get|authenticateKey)$/.test(name);
}

/** One operation: context + raw params in, v1 JSON out. Rejects with CoreError. */
export type Operation<R = JsonObject> = (ctx: CallContext, params: Params) => Promise<R>;

export interface RealmOperations {
  list: Operation<ListResult>;
  get: Operation;
  create: Operation;
  update: Operation;
  /** Resolves with nothing; only an inactive realm can be deleted (else realm.not_inactive). */
  delete: Operation<void>;
  reset: Operation;
}

export interface UserOperations {
  list: Operation<ListResult>;
  get: Operation;
  create: Operation;
  update: Operation;
  delete: Operation<void>;
  /** `{id: u, password, request, expands}` → user + `token`. */
  authenticate: Operation;
  /** `{api_key, request, expands}` → the api user + `token` (null unless the realm's api_key_minutes > 0). */
  authenticateKey: Operation;
  /** `{id: u, request}` → user + `password_reset_token` (kpw_…, single use, 24 h). */
  generatePasswordToken: Operation;
  /** `{id: u or "--", user: {token, password, password_confirmation}}` → user. */
  resetPasswordWithToken: Operation;
  /** `{id: u, user: {current_password, password, password_confirmation}}` → user. */
  updatePassword: Operation;
}

export interface OrgOperations {
  list: Operation<ListResult>;
  get: Operation;
  create: Operation;
  update: Operation;
  delete: Operation<void>;
}

export interface MembershipOperations {
  /** Requires `user_id` and/or `org_id`. */
  list: Operation<ListResult>;
  get: Operation;
  create: Operation;
  update: Operation;
  delete: Operation<void>;
}

export interface CredentialOperations {
  get: Operation;
  create: Operation;
  update: Operation;
  delete: Operation<void>;
}

export interface SessionOperations {
  /** Requires `user_id`. */
  list: Operation<ListResult>;
  /** `id` is a session id or the session's JWT. */
  get: Operation;
  /** `{session: {user_id}, request}` → session + `token`. */
  create: Operation;
  delete: Operation<void>;
}

/** Plain CRUD with a list, as realms-scoped admin resources have. */
export interface CrudOperations {
  list: Operation<ListResult>;
  get: Operation;
  create: Operation;
  update: Operation;
  delete: Operation<void>;
}

export type LoginPolicyOperations = CrudOperations;
export type AuthProviderOperations = CrudOperations;
export type AppHookOperations = CrudOperations;

/** The webhook delivery worker of this Rampart. */
export interface WebhookOperations {
  /** Starts delivering in the background (servers call this once). */
  start(): void;
  /** Attempts every due delivery now and waits for the attempts (tests, with a fake clock). */
  deliverDue(): Promise<number>;
  /** Stops; waits up to `graceMs` for in-flight attempts, leaving the rest pending. */
  stop(graceMs?: number): Promise<void>;
}

/** What a LoginRocket transport knows about the caller from the connection itself. */
export interface LoginRocketContext extends CallContext {
  /**
   * The end user's IP and client as the transport saw them (the HTTP bridge honours
   * X-Forwarded-For only from trusted proxies). A caller's own `request` param is used
   * instead only when the call carries a management key with the `write` permission.
   */
  connection: RequestInfo;
}

/** The public face of a login policy, for CORS decisions and hosted pages. */
export interface LoginRocketApp {
  policy_id: string;
  realm_id: string;
  name: string;
  subdomain: string;
  login_handler: string | null;
  signup_handler: string | null;
  cors_origins: string[];
  header: string | null;
  footer: string | null;
  external_css: string | null;
  login: boolean;
  signup: boolean;
  name_field: "none" | "optional" | "required";
  /** The realm's usernames are email addresses (`username_validation_human: email`). */
  username_is_email: boolean;
}

/** The end-user LoginRocket API. `params.subdomain` selects the login policy. */
export interface LoginRocketOperations {
  /** The app served at `subdomain`, or undefined. */
  app(subdomain: string): Promise<LoginRocketApp | undefined>;
  /** `{subdomain, username | email, password}` → `{token, url}`. */
  login(ctx: LoginRocketContext, params: Params): Promise<{ token: string; url: string | null }>;
  /** `{subdomain, username | email, password, password_confirmation, first_name, last_name}` → `{token, url}`. */
  signup(ctx: LoginRocketContext, params: Params): Promise<{ token: string; url: string | null }>;
  /** `{subdomain, token}` → `{}`; ends the managed session. */
  logout(ctx: LoginRocketContext, params: Params): Promise<Record<string, never>>;
}

export interface UserTokenOperations {
  get: Operation;
  create: Operation;
}

export interface EventOperations {
  list: Operation<ListResult>;
  get: Operation;
}

/** Account API keys (the `ko_` management keys); used by the CLI and first start. */
export interface KeyOperations {
  /** Creates a key; the result holds `key` (`ko_<id>-<secret>`) and `legacy_key` (`key_<secret>`), shown once. */
  create(input: { permissions?: string[]; name?: string; key?: string }): Promise<JsonObject>;
  list(): Promise<JsonObject[]>;
  revoke(id: string): Promise<void>;
}

/** Everything an embedding program, the HTTP bridge or the gRPC server can call. */
export interface Rampart {
  /** The account id (`org_…`) of this server. */
  readonly accountId: string;
  realms: RealmOperations;
  users: UserOperations;
  events: EventOperations;
  orgs: OrgOperations;
  memberships: MembershipOperations;
  credentials: CredentialOperations;
  sessions: SessionOperations;
  userTokens: UserTokenOperations;
  loginPolicies: LoginPolicyOperations;
  authProviders: AuthProviderOperations;
  loginRocket: LoginRocketOperations;
  appHooks: AppHookOperations;
  webhooks: WebhookOperations;
  keys: KeyOperations;
  /** Resolves when the database answers. */
  health(): Promise<{ status: "ok" }>;
  /** Closes the database; further calls fail. */
  close(): Promise<void>;
}
