/**
 * The management API's routes, as data: one row per endpoint. Adding an endpoint (a custom
 * user action, orgs, sessions…) is one row here plus the operation in core.
 */
import type { CallContext, Params, Rampart } from "@rampart/core";

/** Resources of {@link Rampart} whose members are call-context operations. */
export type ResourceName =
  "realms" | "users" | "events" | "orgs" | "memberships" | "credentials" | "sessions" | "userTokens" | "loginPolicies" | "authProviders" | "appHooks";

/** `<resource>.<operation>`, checked against core's Rampart interface. */
export type OperationName = {
  [R in ResourceName]: `${R}.${Extract<keyof Rampart[R], string>}`;
}[ResourceName];

/** One HTTP endpoint of the v1 API. */
export interface RouteSpec {
  method: "GET" | "POST" | "PUT" | "DELETE";
  /** Fastify path; `:id` (if present) is decoded by the bridge from the raw URL segment. */
  path: string;
  /** The core operation that serves it. */
  op: OperationName;
  /** Status on success: 201 for creates, 204 (empty body) for deletes, else 200. */
  status: 200 | 201 | 204;
}

/** Every v1 management endpoint the bridge serves. */
export const V1_ROUTES: readonly RouteSpec[] = [
  { method: "GET", path: "/v1/realms", op: "realms.list", status: 200 },
  { method: "POST", path: "/v1/realms", op: "realms.create", status: 201 },
  { method: "GET", path: "/v1/realms/:id", op: "realms.get", status: 200 },
  { method: "PUT", path: "/v1/realms/:id", op: "realms.update", status: 200 },
  { method: "DELETE", path: "/v1/realms/:id", op: "realms.delete", status: 204 },
  { method: "POST", path: "/v1/realms/:id/reset", op: "realms.reset", status: 200 },

  { method: "GET", path: "/v1/users", op: "users.list", status: 200 },
  { method: "POST", path: "/v1/users", op: "users.create", status: 201 },
  { method: "GET", path: "/v1/users/:id", op: "users.get", status: 200 },
  { method: "PUT", path: "/v1/users/:id", op: "users.update", status: 200 },
  { method: "DELETE", path: "/v1/users/:id", op: "users.delete", status: 204 },
  { method: "POST", path: "/v1/users/:id/authenticate", op: "users.authenticate", status: 200 },
  { method: "POST", path: "/v1/users/authenticate_key", op: "users.authenticateKey", status: 200 },
  { method: "POST", path: "/v1/users/:id/generate_password_token", op: "users.generatePasswordToken", status: 200 },
  { method: "POST", path: "/v1/users/:id/reset_password_with_token", op: "users.resetPasswordWithToken", status: 200 },
  { method: "PUT", path: "/v1/users/:id/update_password", op: "users.updatePassword", status: 200 },

  { method: "GET", path: "/v1/orgs", op: "orgs.list", status: 200 },
  { method: "POST", path: "/v1/orgs", op: "orgs.create", status: 201 },
  { method: "GET", path: "/v1/orgs/:id", op: "orgs.get", status: 200 },
  { method: "PUT", path: "/v1/orgs/:id", op: "orgs.update", status: 200 },
  { method: "DELETE", path: "/v1/orgs/:id", op: "orgs.delete", status: 204 },

  { method: "GET", path: "/v1/memberships", op: "memberships.list", status: 200 },
  { method: "POST", path: "/v1/memberships", op: "memberships.create", status: 201 },
  { method: "GET", path: "/v1/memberships/:id", op: "memberships.get", status: 200 },
  { method: "PUT", path: "/v1/memberships/:id", op: "memberships.update", status: 200 },
  { method: "DELETE", path: "/v1/memberships/:id", op: "memberships.delete", status: 204 },

  { method: "POST", path: "/v1/credentials", op: "credentials.create", status: 201 },
  { method: "GET", path: "/v1/credentials/:id", op: "credentials.get", status: 200 },
  { method: "PUT", path: "/v1/credentials/:id", op: "credentials.update", status: 200 },
  { method: "DELETE", path: "/v1/credentials/:id", op: "credentials.delete", status: 204 },

  { method: "GET", path: "/v1/sessions", op: "sessions.list", status: 200 },
  { method: "POST", path: "/v1/sessions", op: "sessions.create", status: 201 },
  { method: "GET", path: "/v1/sessions/:id", op: "sessions.get", status: 200 },
  { method: "DELETE", path: "/v1/sessions/:id", op: "sessions.delete", status: 204 },

  { method: "POST", path: "/v1/user_tokens", op: "userTokens.create", status: 201 },
  { method: "GET", path: "/v1/user_tokens/:id", op: "userTokens.get", status: 200 },

  { method: "GET", path: "/v1/login_policies", op: "loginPolicies.list", status: 200 },
  { method: "POST", path: "/v1/login_policies", op: "loginPolicies.create", status: 201 },
  { method: "GET", path: "/v1/login_policies/:id", op: "loginPolicies.get", status: 200 },
  { method: "PUT", path: "/v1/login_policies/:id", op: "loginPolicies.update", status: 200 },
  { method: "DELETE", path: "/v1/login_policies/:id", op: "loginPolicies.delete", status: 204 },

  { method: "GET", path: "/v1/auth_providers", op: "authProviders.list", status: 200 },
  { method: "POST", path: "/v1/auth_providers", op: "authProviders.create", status: 201 },
  { method: "GET", path: "/v1/auth_providers/:id", op: "authProviders.get", status: 200 },
  { method: "PUT", path: "/v1/auth_providers/:id", op: "authProviders.update", status: 200 },
  { method: "DELETE", path: "/v1/auth_providers/:id", op: "authProviders.delete", status: 204 },

  { method: "GET", path: "/v1/app_hooks", op: "appHooks.list", status: 200 },
  { method: "POST", path: "/v1/app_hooks", op: "appHooks.create", status: 201 },
  { method: "GET", path: "/v1/app_hooks/:id", op: "appHooks.get", status: 200 },
  { method: "PUT", path: "/v1/app_hooks/:id", op: "appHooks.update", status: 200 },
  { method: "DELETE", path: "/v1/app_hooks/:id", op: "appHooks.delete", status: 204 },

  { method: "GET", path: "/v1/events", op: "events.list", status: 200 },
  { method: "GET", path: "/v1/events/:id", op: "events.get", status: 200 },
];

/** A bound core operation, ready to call with a context and params. */
export type BoundOperation = (ctx: CallContext, params: Params) => Promise<unknown>;

/**
 * Looks an operation up on a Rampart instance. Called as a method (`group[action](…)`) so
 * that operations written as class methods keep their `this`.
 */
export function bindOperation(rampart: Rampart, op: OperationName): BoundOperation {
  const dot = op.indexOf(".");
  const resource = op.slice(0, dot) as ResourceName;
  const action = op.slice(dot + 1);
  const group = rampart[resource] as unknown as Record<string, BoundOperation>;
  if (typeof group?.[action] !== "function") throw new Error(`core has no operation ${op}`);
  return (ctx, params) => group[action]!(ctx, params);
}
