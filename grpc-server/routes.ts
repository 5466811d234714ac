/**
 * Which core operation each RPC calls: the only per-RPC knowledge in the server. Everything
 * else (params, results, errors) is converted generically. The contract tests' gRPC client
 * reads the same table backwards, so the two cannot disagree.
 */
import type { ServiceDefinition } from "@grpc/grpc-js";
import type { Operation, Rampart } from "@rampart/core";
import { EventServiceService } from "./gen/rampart/v1/event_service.ts";
import { RealmServiceService } from "./gen/rampart/v1/realm_service.ts";
import { UserServiceService } from "./gen/rampart/v1/user_service.ts";

type Resource = "realms" | "users" | "events";

/** A core operation by name, `<resource>.<operation>` (as the contract tests name them). */
export type OperationName = { [R in Resource]: `${R}.${keyof Rampart[R] & string}` }[Resource];

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
  }),
  bind(EventServiceService, {
    listEvents: "events.list",
    getEvent: "events.get",
  }),
];

/** The operation `name` of `rampart`, called as a method (so `this` stays the resource). */
export function operationOf(rampart: Rampart, name: OperationName): Operation<unknown> {
  const [resource, op] = name.split(".") as [Resource, string];
  const ops = rampart[resource] as unknown as Record<string, Operation<unknown>>;
  if (typeof ops[op] !== "function") throw new Error(`core has no operation ${name}`);
  return (ctx, params) => ops[op]!(ctx, params);
}
