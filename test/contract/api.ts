/**
 * The surface-neutral client the contract cases are written against. Each surface
 * (in-process, HTTP on a real socket, gRPC against a real server) implements it, and the
 * same cases run against all three.
 */
import type { JsonObject, Params } from "@rampart/core";

/** Operation names: `<resource>.<operation>` as in core's Rampart interface. */
export type OpName =
  | "realms.list"
  | "realms.get"
  | "realms.create"
  | "realms.update"
  | "realms.delete"
  | "realms.reset"
  | "users.list"
  | "users.get"
  | "users.create"
  | "users.update"
  | "users.delete"
  | "users.authenticate"
  | "users.authenticateKey"
  | "users.generatePasswordToken"
  | "users.resetPasswordWithToken"
  | "users.updatePassword"
  | "orgs.list"
  | "orgs.get"
  | "orgs.create"
  | "orgs.update"
  | "orgs.delete"
  | "memberships.list"
  | "memberships.get"
  | "memberships.create"
  | "memberships.update"
  | "memberships.delete"
  | "credentials.get"
  | "credentials.create"
  | "credentials.update"
  | "credentials.delete"
  | "sessions.list"
  | "sessions.get"
  | "sessions.create"
  | "sessions.delete"
  | "userTokens.get"
  | "userTokens.create"
  | "loginPolicies.list"
  | "loginPolicies.get"
  | "loginPolicies.create"
  | "loginPolicies.update"
  | "loginPolicies.delete"
  | "authProviders.list"
  | "authProviders.get"
  | "authProviders.create"
  | "authProviders.update"
  | "authProviders.delete"
  | "appHooks.list"
  | "appHooks.get"
  | "appHooks.create"
  | "appHooks.update"
  | "appHooks.delete"
  | "events.list"
  | "events.get";

/** Per-call options. */
export interface CallOptions {
  /** The management key to send; `null` sends none. Defaults to the suite's admin key. */
  apiKey?: string | null;
  /** Sent as the realm header / metadata. */
  realmId?: string;
}

/** A failed call, normalised: the core error kind, the slug and the field messages. */
export class ApiError extends Error {
  readonly kind: string;
  readonly code: string;
  readonly errors: Record<string, string[]>;
  readonly requestId: string | undefined;
  readonly retryAfter: number | undefined;
  constructor(kind: string, code: string, errors: Record<string, string[]>, requestId?: string, retryAfter?: number) {
    super(`${kind} ${code} ${JSON.stringify(errors)}`);
    this.kind = kind;
    this.code = code;
    this.errors = errors;
    this.requestId = requestId;
    this.retryAfter = retryAfter;
  }
}

/** What every surface offers the contract cases. */
export interface ContractApi {
  readonly name: string;
  /**
   * True for a surface with a schema (gRPC): it cannot carry unknown attributes, values of
   * the wrong JSON type or the deprecated untyped forms, and it cannot tell an absent field
   * from an empty or null one. Cases check the typed equivalent there.
   */
  readonly typed: boolean;
  /**
   * Performs one operation with v1 params (path ids under `id`, wrapper under the resource
   * name, `request`, `expands`, list params). Resolves with the v1 JSON result (a list is
   * `{collection, more_results}`; delete resolves `undefined`) plus the request id the
   * surface reported; rejects with ApiError.
   */
  call(op: OpName, params: Params, options?: CallOptions): Promise<{ body: JsonObject | undefined; requestId: string }>;
  close(): Promise<void>;
}
