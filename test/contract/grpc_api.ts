/**
 * The contract surface over gRPC: a real @grpc/grpc-js client talking to a real server on
 * 127.0.0.1 (a free port). v1 params are encoded into the request messages and responses
 * decoded back to v1 JSON with the server's own generic conversion, read in reverse. Which
 * RPC serves each operation is written out below rather than taken from the server's
 * routing table, so that a wrong row there shows up as a failing contract case (and the
 * client refuses to start when the two tables disagree).
 *
 * Params with no protobuf representation (an unknown attribute, a number where a string is
 * expected, v1's deprecated forms such as top-level `ip` or `realm_id` inside the wrapper)
 * cannot be sent over gRPC at all: `call` rejects with a ConversionError for them instead of
 * an ApiError, so the cases send them only when `typed` is false. Read-only attributes
 * echoed in the wrapper are left out, as v1 ignores them.
 *
 * Protobuf cannot tell an absent attribute from an empty one: the v1 JSON rebuilt here has
 * `null` for every unset optional string, timestamp or message and `[]` for every empty list
 * (only an unset `custom` is left out), even where v1 leaves the key out on that call (e.g.
 * `api_key` after create, `notifications` on an unexpanded event list).
 */
import type { DescMethod } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import type { JsonObject, Params, Rampart } from "@rampart/core";
import { ERROR_CATALOGUE } from "@rampart/core";
import {
  ConversionError,
  createGrpcServer,
  decodeStatusDetails,
  GRPC_STATUS_BY_KIND,
  jsonToMessage,
  METADATA,
  type MessageObject,
  messageToJson,
  methodAt,
  SERVICE_BINDINGS,
} from "../../grpc-server/mod.ts";
import { ApiError, type CallOptions, type ContractApi, type OpName } from "./api.ts";

const EMPTY = "google.protobuf.Empty";

/** The RPC (gRPC path) that serves each operation. */
const RPCS: Record<OpName, string> = {
  "realms.list": "/rampart.v1.RealmService/ListRealms",
  "realms.get": "/rampart.v1.RealmService/GetRealm",
  "realms.create": "/rampart.v1.RealmService/CreateRealm",
  "realms.update": "/rampart.v1.RealmService/UpdateRealm",
  "realms.delete": "/rampart.v1.RealmService/DeleteRealm",
  "realms.reset": "/rampart.v1.RealmService/ResetRealm",
  "users.list": "/rampart.v1.UserService/ListUsers",
  "users.get": "/rampart.v1.UserService/GetUser",
  "users.create": "/rampart.v1.UserService/CreateUser",
  "users.update": "/rampart.v1.UserService/UpdateUser",
  "users.delete": "/rampart.v1.UserService/DeleteUser",
  "users.authenticate": "/rampart.v1.UserService/AuthenticateUser",
  "users.authenticateKey": "/rampart.v1.UserService/AuthenticateKey",
  "users.generatePasswordToken": "/rampart.v1.UserService/GeneratePasswordToken",
  "users.resetPasswordWithToken": "/rampart.v1.UserService/ResetPasswordWithToken",
  "users.updatePassword": "/rampart.v1.UserService/UpdatePassword",
  "orgs.list": "/rampart.v1.OrgService/ListOrgs",
  "orgs.get": "/rampart.v1.OrgService/GetOrg",
  "orgs.create": "/rampart.v1.OrgService/CreateOrg",
  "orgs.update": "/rampart.v1.OrgService/UpdateOrg",
  "orgs.delete": "/rampart.v1.OrgService/DeleteOrg",
  "memberships.list": "/rampart.v1.MembershipService/ListMemberships",
  "memberships.get": "/rampart.v1.MembershipService/GetMembership",
  "memberships.create": "/rampart.v1.MembershipService/CreateMembership",
  "memberships.update": "/rampart.v1.MembershipService/UpdateMembership",
  "memberships.delete": "/rampart.v1.MembershipService/DeleteMembership",
  "credentials.get": "/rampart.v1.CredentialService/GetCredential",
  "credentials.create": "/rampart.v1.CredentialService/CreateCredential",
  "credentials.update": "/rampart.v1.CredentialService/UpdateCredential",
  "credentials.delete": "/rampart.v1.CredentialService/DeleteCredential",
  "sessions.list": "/rampart.v1.SessionService/ListSessions",
  "sessions.get": "/rampart.v1.SessionService/GetSession",
  "sessions.create": "/rampart.v1.SessionService/CreateSession",
  "sessions.delete": "/rampart.v1.SessionService/DeleteSession",
  "userTokens.get": "/rampart.v1.UserTokenService/GetUserToken",
  "userTokens.create": "/rampart.v1.UserTokenService/CreateUserToken",
  "loginPolicies.list": "/rampart.v1.LoginPolicyService/ListLoginPolicies",
  "loginPolicies.get": "/rampart.v1.LoginPolicyService/GetLoginPolicy",
  "loginPolicies.create": "/rampart.v1.LoginPolicyService/CreateLoginPolicy",
  "loginPolicies.update": "/rampart.v1.LoginPolicyService/UpdateLoginPolicy",
  "loginPolicies.delete": "/rampart.v1.LoginPolicyService/DeleteLoginPolicy",
  "authProviders.list": "/rampart.v1.AuthProviderService/ListAuthProviders",
  "authProviders.get": "/rampart.v1.AuthProviderService/GetAuthProvider",
  "authProviders.create": "/rampart.v1.AuthProviderService/CreateAuthProvider",
  "authProviders.update": "/rampart.v1.AuthProviderService/UpdateAuthProvider",
  "authProviders.delete": "/rampart.v1.AuthProviderService/DeleteAuthProvider",
  "appHooks.list": "/rampart.v1.AppHookService/ListAppHooks",
  "appHooks.get": "/rampart.v1.AppHookService/GetAppHook",
  "appHooks.create": "/rampart.v1.AppHookService/CreateAppHook",
  "appHooks.update": "/rampart.v1.AppHookService/UpdateAppHook",
  "appHooks.delete": "/rampart.v1.AppHookService/DeleteAppHook",
  "events.list": "/rampart.v1.EventService/ListEvents",
  "events.get": "/rampart.v1.EventService/GetEvent",
};

type Rpc = grpc.MethodDefinition<MessageObject, MessageObject>;

/**
 * The generated method definition (for its serializers) of each operation's RPC. Throws when
 * the server does not serve that RPC, or routes it to another operation.
 */
function rpcsByOperation(): ReadonlyMap<OpName, Rpc> {
  const served = new Map<string, { rpc: Rpc; op: string }>();
  for (const binding of SERVICE_BINDINGS) {
    for (const [key, op] of Object.entries(binding.operations)) {
      const rpc = binding.service[key] as Rpc;
      served.set(rpc.path, { rpc, op });
    }
  }
  const out = new Map<OpName, Rpc>();
  for (const [op, path] of Object.entries(RPCS) as [OpName, string][]) {
    const found = served.get(path);
    if (!found) throw new Error(`the server does not serve ${path} (for ${op})`);
    if (found.op !== op) throw new Error(`the server routes ${path} to ${found.op}, not ${op}`);
    out.set(op, found.rpc);
  }
  return out;
}

const RPC_BY_OP = rpcsByOperation();

const silent = { info() {}, warn() {}, error() {} };

/**
 * Starts a gRPC server over `rampart` on 127.0.0.1 and returns a ContractApi that calls it
 * with `adminKey` by default. `close()` closes the client and shuts the server down (the
 * Rampart stays open: the caller owns it).
 */
export async function grpcApi(rampart: Rampart, adminKey: string): Promise<ContractApi> {
  const grpcServer = createGrpcServer(rampart, { logger: silent });
  const port = await grpcServer.listen("127.0.0.1", 0);
  const client = new grpc.Client(`127.0.0.1:${port}`, grpc.credentials.createInsecure());

  return {
    name: "grpc",
    typed: true,
    async call(op: OpName, params: Params, options: CallOptions = {}) {
      const rpc = RPC_BY_OP.get(op);
      if (!rpc) throw new Error(`no RPC serves ${op}`);
      const method = methodAt(rpc.path);
      const request = jsonToMessage(method.input, params, {
        nullClears: true,
        onUnknownKey: (path) => {
          if (isReadOnlyEcho(method, path)) return;
          throw new ConversionError(path, `has no field in ${method.input.typeName}, so it cannot be sent over gRPC`);
        },
      });
      const metadata = new grpc.Metadata();
      const apiKey = options.apiKey === undefined ? adminKey : options.apiKey;
      if (apiKey !== null) metadata.set("x-authrocket-api-key", apiKey);
      if (options.realmId !== undefined) metadata.set("x-authrocket-realm", options.realmId);

      return new Promise((resolve, reject) => {
        let headerRequestId: string | undefined;
        const call = client.makeUnaryRequest(rpc.path, rpc.requestSerialize, rpc.responseDeserialize, request, metadata, (err, response) => {
          if (err) {
            reject(toApiError(err, headerRequestId));
            return;
          }
          if (headerRequestId === undefined) {
            reject(new Error(`${rpc.path} answered without ${METADATA.requestId}`));
            return;
          }
          const body = method.output.typeName === EMPTY ? undefined : (messageToJson(method.output, response!, "v1") as JsonObject);
          resolve({ body, requestId: headerRequestId });
        });
        call.on("metadata", (md: grpc.Metadata) => {
          headerRequestId = text(md, METADATA.requestId);
        });
      });
    },
    async close() {
      client.close();
      await grpcServer.shutdown(1000);
    },
  };
}

/** Params v1 also reads from inside the wrapper (http-v1.md §2.1): not echoes, they change the call. */
const WRAPPED_PARAMS = new Set(["realm_id", "expands", "expand"]);

/**
 * True for `<wrapper>.<key>` where `key` is a read-only attribute of the resource (a field of
 * the response, such as `id` or `created_at`, that the input message lacks). v1 ignores such
 * echoes, and the input message has no field for them, so leaving them out is the same call.
 */
function isReadOnlyEcho(method: DescMethod, path: string): boolean {
  const [wrapper, key, ...rest] = path.split(".");
  if (key === undefined || rest.length > 0 || WRAPPED_PARAMS.has(key)) return false;
  const wrapperField = method.input.fields.find((f) => f.name === wrapper);
  return wrapperField?.fieldKind === "message" && method.output.fields.some((f) => f.name === key);
}

/** A gRPC error as the contract sees errors: kind, slug, v1 `errors`, request id, retry-after. */
function toApiError(err: grpc.ServiceError, headerRequestId: string | undefined): ApiError {
  const md = err.metadata ?? new grpc.Metadata();
  const code = text(md, METADATA.errorCode) ?? "";
  const catalogued = (ERROR_CATALOGUE as Record<string, { kind: string }>)[code];
  const kind = catalogued?.kind ?? kindOfStatus(err.code);
  const bin = md.get(METADATA.statusDetails)[0];
  const details = Buffer.isBuffer(bin) ? decodeStatusDetails(bin) : undefined;
  const errors: Record<string, string[]> = {};
  if (details?.badRequest) {
    for (const { field, description } of details.badRequest.field_violations) (errors[field] ??= []).push(description);
  } else {
    errors.base = [err.details];
  }
  const retryAfter = text(md, METADATA.retryAfter);
  return new ApiError(kind, code, errors, text(md, METADATA.requestId) ?? headerRequestId, retryAfter === undefined ? undefined : Number(retryAfter));
}

/** The core kind for a status that carries no slug (raised by grpc-js itself). */
function kindOfStatus(code: grpc.status): string {
  const kind = Object.entries(GRPC_STATUS_BY_KIND).find(([, status]) => status === code)?.[0];
  return kind ?? grpc.status[code] ?? String(code);
}

function text(md: grpc.Metadata, key: string): string | undefined {
  const value = md.get(key)[0];
  return typeof value === "string" ? value : undefined;
}
