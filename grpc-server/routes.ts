/**
 * Which core operation each RPC calls: the only per-RPC knowledge in the server. Everything
 * else (params, results, errors) is converted generically.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";
import type { LoginRocketContext, Params, Rampart } from "@rampart/core";
import { AppHookServiceService } from "./gen/rampart/v1/app_hook_service.ts";
import { AuthProviderServiceService } from "./gen/rampart/v1/auth_provider_service.ts";
import { CredentialServiceService } from "./gen/rampart/v1/credential_service.ts";
import { EventServiceService } from "./gen/rampart/v1/event_service.ts";
import { LoginPolicyServiceService } from "./gen/rampart/v1/login_policy_service.ts";
import { LoginRocketServiceService } from "./gen/rampart/v1/login_rocket_service.ts";
import { MembershipServiceService } from "./gen/rampart/v1/membership_service.ts";
import { OrgServiceService } from "./gen/rampart/v1/org_service.ts";
import { RealmServiceService } from "./gen/rampart/v1/realm_service.ts";
import { SessionServiceService } from "./gen/rampart/v1/session_service.ts";
import { UserServiceService } from "./gen/rampart/v1/user_service.ts";
import { UserTokenServiceService } from "./gen/rampart/v1/user_token_service.ts";

/** The management resources: every operation takes a CallContext and params. */
type Resource =
  "realms" | "users" | "events" | "orgs" | "memberships" | "credentials" | "sessions" | "userTokens" | "loginPolicies" | "authProviders" | "appHooks";

/** The LoginRocket operations with an RPC (`app` is a lookup for the HTTP pages, not a call). */
type LoginRocketOperation = "login" | "signup" | "logout";

/** A core operation by name, `<resource>.<operation>` (as the contract tests name them). */
export type OperationName = { [R in Resource]: `${R}.${keyof Rampart[R] & string}` }[Resource] | `loginRocket.${LoginRocketOperation}`;

/**
 * A core operation as the server calls it. The context always carries the connection (the
 * peer's IP and user agent); only LoginRocket operations read it.
 */
export type RpcOperation = (ctx: LoginRocketContext, params: Params) => Promise<unknown>;

/** A generated service definition and the operation each of its methods calls. */
export interface ServiceBinding {
  readonly service: ServiceDefinition;
  /** ts-proto method key (`getUser`) → operation name. */
  readonly operations: Readonly<Record<string, OperationName>>;
}

// The mapped type makes the compiler insist on every method of the service, and no other.
function bind<S extends ServiceDefinition>(service: S, operations: { readonly [K in keyof S]: OperationName }): ServiceBinding {
  return { service, operations: operations as Readonly<Record<string, OperationName>> };
}

/** Every Rampart service the server offers. */
export const SERVICE_BINDINGS: readonly ServiceBinding[] = [
  bind(RealmServiceService, {
    listRealms: "realms.list",
    getRealm: "realms.get",
    createRealm: "realms.create",
    updateRealm: "realms.update",
    deleteRealm: "realms.delete",
    resetRealm: "realms.reset",
  }),
  bind(UserServiceService, {
    listUsers: "users.list",
    getUser: "users.get",
    createUser: "users.create",
    updateUser: "users.update",
    deleteUser: "users.delete",
    authenticateUser: "users.authenticate",
    authenticateKey: "users.authenticateKey",
    generatePasswordToken: "users.generatePasswordToken",
    resetPasswordWithToken: "users.resetPasswordWithToken",
    updatePassword: "users.updatePassword",
  }),
  bind(EventServiceService, {
    listEvents: "events.list",
    getEvent: "events.get",
  }),
  bind(OrgServiceService, {
    listOrgs: "orgs.list",
    getOrg: "orgs.get",
    createOrg: "orgs.create",
    updateOrg: "orgs.update",
    deleteOrg: "orgs.delete",
  }),
  bind(MembershipServiceService, {
    listMemberships: "memberships.list",
    getMembership: "memberships.get",
    createMembership: "memberships.create",
    updateMembership: "memberships.update",
    deleteMembership: "memberships.delete",
  }),
  bind(CredentialServiceService, {
    getCredential: "credentials.get",
    createCredential: "credentials.create",
    updateCredential: "credentials.update",
    deleteCredential: "credentials.delete",
  }),
  bind(SessionServiceService, {
    listSessions: "sessions.list",
    getSession: "sessions.get",
    createSession: "sessions.create",
    deleteSession: "sessions.delete",
  }),
  bind(UserTokenServiceService, {
    getUserToken: "userTokens.get",
    createUserToken: "userTokens.create",
  }),
  bind(LoginPolicyServiceService, {
    listLoginPolicies: "loginPolicies.list",
    getLoginPolicy: "loginPolicies.get",
    createLoginPolicy: "loginPolicies.create",
    updateLoginPolicy: "loginPolicies.update",
    deleteLoginPolicy: "loginPolicies.delete",
  }),
  bind(AuthProviderServiceService, {
    listAuthProviders: "authProviders.list",
    getAuthProvider: "authProviders.get",
    createAuthProvider: "authProviders.create",
    updateAuthProvider: "authProviders.update",
    deleteAuthProvider: "authProviders.delete",
  }),
  bind(AppHookServiceService, {
    listAppHooks: "appHooks.list",
    getAppHook: "appHooks.get",
    createAppHook: "appHooks.create",
    updateAppHook: "appHooks.update",
    deleteAppHook: "appHooks.delete",
  }),
  bind(LoginRocketServiceService, {
    login: "loginRocket.login",
    signup: "loginRocket.signup",
    logout: "loginRocket.logout",
  }),
];

/** The operation `name` of `rampart`, called as a method (so `this` stays the resource). */
export function operationOf(rampart: Rampart, name: OperationName): RpcOperation {
  const [resource, op] = name.split(".") as [Resource | "loginRocket", string];
  const ops = rampart[resource] as unknown as Record<string, RpcOperation>;
  if (typeof ops[op] !== "function") throw new Error(`core has no operation ${name}`);
  return (ctx, params) => ops[op]!(ctx, params);
}
