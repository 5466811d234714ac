/**
 * What only the gRPC surface does: request ids in metadata, health, reflection, the rich
 * error details, message size limits, unexpected faults, graceful shutdown, presence-tracking
 * inputs, embedded objects, and LoginRocketService (the peer as the end user). The shared
 * behaviour of the API is covered by the contract cases, run over gRPC through
 * test/contract/grpc_api.ts.
 *
 * Real parts only: a SQLite file in a temporary folder, a server on 127.0.0.1:0 and
 * @grpc/grpc-js clients.
 */
import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { fromBinary } from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import * as grpc from "@grpc/grpc-js";
import { loadSync } from "@grpc/proto-loader";
import { type JsonObject, type Logger, openRampart, type OpenRampart, type Rampart } from "@rampart/core";
import { nodeDeps } from "@rampart/core/adapters/node";
import { service as healthService } from "grpc-health-check";
import { type ServiceError } from "@grpc/grpc-js";
import {
  callContextFrom,
  connectionFrom,
  createGrpcServer,
  decodeStatusDetails,
  type GrpcServer,
  jsonToMessage,
  messageToJson,
  methodAt,
  peerIp,
  schemaRegistry,
  SERVICE_BINDINGS,
} from "../grpc-server/mod.ts";
import { EventServiceService } from "../grpc-server/gen/rampart/v1/event_service.ts";
import { LoginRocketServiceService } from "../grpc-server/gen/rampart/v1/login_rocket_service.ts";
import { MembershipServiceService } from "../grpc-server/gen/rampart/v1/membership_service.ts";
import { OrgServiceService } from "../grpc-server/gen/rampart/v1/org_service.ts";
import { RealmServiceService } from "../grpc-server/gen/rampart/v1/realm_service.ts";
import { SessionServiceService } from "../grpc-server/gen/rampart/v1/session_service.ts";
import { UserServiceService } from "../grpc-server/gen/rampart/v1/user_service.ts";

const REQUEST_ID = /^rq_[0-9A-Za-z]{22}$/;
const insecure = grpc.credentials.createInsecure();

/** The full name of every Rampart service, from the routing table. */
const RAMPART_SERVICES = SERVICE_BINDINGS.map((b) => methodAt(Object.values(b.service)[0]!.path).parent.typeName);

/** What a unary call produced, with both kinds of metadata. */
interface Outcome<T> {
  error: ServiceError | null;
  response: T | undefined;
  headers: grpc.Metadata | undefined;
  trailers: grpc.Metadata | undefined;
}

/** Makes one unary call and collects the response or error plus headers and trailers. */
function unary<Req, Res>(client: grpc.Client, method: grpc.MethodDefinition<Req, Res>, request: Req, metadata = new grpc.Metadata()): Promise<Outcome<Res>> {
  return new Promise((resolve) => {
    const outcome: Outcome<Res> = { error: null, response: undefined, headers: undefined, trailers: undefined };
    let pending = 2;
    const done = (): void => {
      if (--pending === 0) resolve(outcome);
    };
    const call = client.makeUnaryRequest(method.path, method.requestSerialize, method.responseDeserialize, request, metadata, (error, response) => {
      outcome.error = error;
      outcome.response = error ? undefined : response;
      done();
    });
    call.on("metadata", (md: grpc.Metadata) => {
      outcome.headers = md;
    });
    call.on("status", (status: grpc.StatusObject) => {
      outcome.trailers = status.metadata;
      done();
    });
  });
}

function first(md: grpc.Metadata | undefined, key: string): string | undefined {
  const v = md?.get(key)[0];
  return typeof v === "string" ? v : undefined;
}

function keyMetadata(key: string, realmId?: string): grpc.Metadata {
  const md = new grpc.Metadata();
  md.set("x-authrocket-api-key", key);
  if (realmId) md.set("x-authrocket-realm", realmId);
  return md;
}

/** A logger that remembers what it was told. */
function recordingLogger(): Logger & { lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] } {
  const lines: { level: string; obj: Record<string, unknown>; msg: string | undefined }[] = [];
  const push = (level: string) => (obj: object, msg?: string) => void lines.push({ level, obj: obj as Record<string, unknown>, msg });
  return { lines, info: push("info"), warn: push("warn"), error: push("error") };
}

describe("the gRPC server", () => {
  let dir: string;
  let rampart: OpenRampart;
  let adminKey: string;
  let legacyKey: string;
  let grpcServer: GrpcServer;
  let address: string;
  let main: grpc.Client;
  const logger = recordingLogger();

  /** A fresh realm for one test, so tests do not see each other's users. */
  async function newRealm(name: string): Promise<string> {
    const created = await rampart.realms.create({ requestId: "rq_test", credentials: { apiKey: adminKey } }, { realm: { name } });
    return created.id as string;
  }

  /** Starts another server over `target` (closed by the caller). */
  async function extraServer(target: Rampart, options: Parameters<typeof createGrpcServer>[1] = {}): Promise<{ server: GrpcServer; address: string }> {
    const server = createGrpcServer(target, { logger: recordingLogger(), ...options });
    const port = await server.listen("127.0.0.1", 0);
    return { server, address: `127.0.0.1:${port}` };
  }

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), "rampart-grpc-test-"));
    // A small per-user allowance, so the throttling test needs few failed logins.
    rampart = openRampart(nodeDeps({ path: join(dir, "rampart.db"), throttle: { perUser: 2 } }));
    const created = await rampart.keys.create({});
    adminKey = created.key as string;
    legacyKey = created.legacy_key as string;
    grpcServer = createGrpcServer(rampart, { logger });
    address = `127.0.0.1:${await grpcServer.listen("127.0.0.1", 0)}`;
    main = new grpc.Client(address, insecure);
  });

  after(async () => {
    main?.close();
    await grpcServer?.shutdown(1000);
    await rampart?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  test("a successful call carries x-request-id in its initial metadata", async () => {
    const out = await unary(main, RealmServiceService.listRealms, { expands: [] }, keyMetadata(adminKey));
    assert.equal(out.error, null);
    assert.match(first(out.headers, "x-request-id") ?? "", REQUEST_ID);
  });

  test("a failed call carries the same x-request-id in its initial and trailing metadata", async () => {
    const out = await unary(main, RealmServiceService.getRealm, { id: "rl_0000000000000000000000" }, keyMetadata(adminKey));
    assert.equal(out.error?.code, grpc.status.NOT_FOUND);
    const id = first(out.headers, "x-request-id");
    assert.match(id ?? "", REQUEST_ID);
    assert.equal(first(out.error?.metadata, "x-request-id"), id);
    assert.equal(first(out.error?.metadata, "x-error-code"), "realm.not_found");
  });

  test("each call gets its own request id, and a client cannot choose it", async () => {
    const md = keyMetadata(adminKey);
    md.set("x-request-id", "rq_chosenbytheclient00000");
    const a = await unary(main, RealmServiceService.listRealms, { expands: [] }, md);
    const b = await unary(main, RealmServiceService.listRealms, { expands: [] }, md);
    assert.notEqual(first(a.headers, "x-request-id"), "rq_chosenbytheclient00000");
    assert.notEqual(first(a.headers, "x-request-id"), first(b.headers, "x-request-id"));
  });

  test("the x-request-id is the request_id of the events the call wrote", async () => {
    const realmId = await newRealm("events-realm");
    const out = await unary(main, UserServiceService.createUser, { realm_id: realmId, user: { username: "eve" } }, keyMetadata(adminKey));
    assert.equal(out.error, null);
    const list = await unary(
      main,
      EventServiceService.listEvents,
      { realm_id: realmId, user_id: out.response!.id, event_type: ["user.created"], expands: [] },
      keyMetadata(adminKey),
    );
    assert.equal(list.response?.collection.length, 1);
    assert.equal(list.response?.collection[0]!.request_id, first(out.headers, "x-request-id"));
  });

  test("credentials: Bearer and the legacy account pair work; without a key the call is PERMISSION_DENIED", async () => {
    const bearer = new grpc.Metadata();
    bearer.set("authorization", `Bearer ${adminKey}`);
    assert.equal((await unary(main, RealmServiceService.listRealms, { expands: [] }, bearer)).error, null);

    const legacy = new grpc.Metadata();
    legacy.set("x-authrocket-account", rampart.accountId);
    legacy.set("x-authrocket-api-key", legacyKey);
    assert.equal((await unary(main, RealmServiceService.listRealms, { expands: [] }, legacy)).error, null);

    const none = await unary(main, RealmServiceService.listRealms, { expands: [] });
    assert.equal(none.error?.code, grpc.status.PERMISSION_DENIED);
    assert.equal(first(none.error?.metadata, "x-error-code"), "api_key.missing");
  });

  test("the realm can come from x-authrocket-realm metadata", async () => {
    const realmId = await newRealm("metadata-realm");
    const created = await unary(main, UserServiceService.createUser, { user: { username: "meta" } }, keyMetadata(adminKey, realmId));
    assert.equal(created.error, null);
    assert.equal(created.response?.realm_id, realmId);
    const missing = await unary(main, UserServiceService.listUsers, { expands: [] }, keyMetadata(adminKey));
    assert.equal(missing.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(first(missing.error?.metadata, "x-error-code"), "realm.required");
  });

  test("health answers SERVING for the server and for each Rampart service", async () => {
    const HealthClient = grpc.makeGenericClientConstructor(healthService, "Health");
    const client = new HealthClient(address, insecure) as unknown as grpc.Client & {
      check(req: { service: string }, cb: (err: ServiceError | null, res: { status: string }) => void): grpc.ClientUnaryCall;
    };
    try {
      assert.equal(RAMPART_SERVICES.length, 12);
      for (const service of ["", ...RAMPART_SERVICES]) {
        const res = await new Promise<{ status: string }>((resolve, reject) => client.check({ service }, (err, r) => (err ? reject(err) : resolve(r))));
        assert.equal(res.status, "SERVING", `health of "${service}"`);
      }
    } finally {
      client.close();
    }
  });

  test("reflection lists the rampart.v1 services and serves their descriptors", async () => {
    const require = createRequire(import.meta.url);
    const protoPath = join(require.resolve("@grpc/reflection/package.json"), "..", "build/proto/grpc/reflection/v1/reflection.proto");
    const pkg = grpc.loadPackageDefinition(loadSync(protoPath, { keepCase: true })) as unknown as {
      grpc: {
        reflection: {
          v1: {
            ServerReflection: new (
              address: string,
              creds: grpc.ChannelCredentials,
            ) => grpc.Client & { ServerReflectionInfo(): grpc.ClientDuplexStream<object, Record<string, unknown>> };
          };
        };
      };
    };
    const client = new pkg.grpc.reflection.v1.ServerReflection(address, insecure);
    try {
      const ask = (request: object): Promise<Record<string, unknown>> =>
        new Promise((resolve, reject) => {
          const stream = client.ServerReflectionInfo();
          stream.once("data", resolve);
          stream.once("error", reject);
          stream.write(request);
          stream.end();
        });
      const listed = (await ask({ list_services: "" })) as { list_services_response: { service: { name: string }[] } };
      const names = listed.list_services_response.service.map((s) => s.name);
      for (const name of [...RAMPART_SERVICES, "grpc.health.v1.Health"]) {
        assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
      }
      const files = (await ask({ file_containing_symbol: "rampart.v1.UserService" })) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
      const decoded = files.file_descriptor_response.file_descriptor_proto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      const userService = decoded.find((f) => f.name === "rampart/v1/user_service.proto");
      assert.deepEqual(
        userService?.service[0]?.method.map((m) => m.name),
        [
          "ListUsers",
          "GetUser",
          "CreateUser",
          "UpdateUser",
          "DeleteUser",
          "AuthenticateUser",
          "AuthenticateKey",
          "GeneratePasswordToken",
          "ResetPasswordWithToken",
          "UpdatePassword",
        ],
      );
      // The files are buf's, one per proto with its imports, and keep proto3 `optional`.
      assert.ok(userService?.dependency.includes("rampart/v1/user.proto"), `imports: ${userService?.dependency.join(", ")}`);
      const user = decoded.find((f) => f.name === "rampart/v1/user.proto")?.messageType.find((m) => m.name === "User");
      assert.equal(user?.field.find((f) => f.name === "email")?.proto3Optional, true);
    } finally {
      client.close();
    }
  });

  test("INVALID_ARGUMENT carries a google.rpc.BadRequest with every field violation", async () => {
    const realmId = await newRealm("validation-realm");
    const out = await unary(
      main,
      UserServiceService.createUser,
      { realm_id: realmId, user: { username: "val", email: "not-an-email", password: "short" } },
      keyMetadata(adminKey),
    );
    assert.equal(out.error?.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(first(out.error?.metadata, "x-error-code"), "validation_failed");
    const bin = out.error?.metadata.get("grpc-status-details-bin")[0];
    assert.ok(Buffer.isBuffer(bin), "grpc-status-details-bin is present");
    const details = decodeStatusDetails(bin);
    assert.equal(details.code, grpc.status.INVALID_ARGUMENT);
    assert.equal(details.message, out.error?.details);
    assert.deepEqual(details.errorInfo, { reason: "validation_failed", domain: "rampart", metadata: {} });
    const violations = details.badRequest?.field_violations ?? [];
    assert.deepEqual(violations.map((v) => v.field).sort(), ["email", "password"]);
    assert.ok(violations.every((v) => v.description.length > 0));
    assert.equal(details.retryInfo, undefined);
  });

  test("a single-message error travels whole in the status message, without BadRequest", async () => {
    const out = await unary(main, EventServiceService.getEvent, { id: "ev_0000000000000000000000" }, keyMetadata(adminKey));
    assert.equal(out.error?.code, grpc.status.NOT_FOUND);
    assert.equal(out.error?.details, "Event not found");
    const details = decodeStatusDetails(out.error!.metadata.get("grpc-status-details-bin")[0] as Buffer);
    assert.equal(details.badRequest, undefined);
    assert.equal(details.errorInfo?.reason, "event.not_found");
  });

  test("throttled logins are RESOURCE_EXHAUSTED with RetryInfo and retry-after", async () => {
    const realmId = await newRealm("throttle-realm");
    await unary(main, UserServiceService.createUser, { realm_id: realmId, user: { username: "tim", password: "correct horse" } }, keyMetadata(adminKey));
    const attempt = () =>
      unary(main, UserServiceService.authenticateUser, { id: "tim", realm_id: realmId, password: "wrong password", expands: [] }, keyMetadata(adminKey));
    assert.equal((await attempt()).error?.code, grpc.status.UNAUTHENTICATED);
    assert.equal((await attempt()).error?.code, grpc.status.UNAUTHENTICATED);
    const out = await attempt();
    assert.equal(out.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.equal(first(out.error?.metadata, "x-error-code"), "user.throttled");
    const retryAfter = Number(first(out.error?.metadata, "retry-after"));
    assert.ok(retryAfter >= 1 && retryAfter <= 900, `retry-after ${retryAfter}`);
    assert.equal(first(out.error?.metadata, "x-ratelimit-remaining"), "0");
    const details = decodeStatusDetails(out.error!.metadata.get("grpc-status-details-bin")[0] as Buffer);
    assert.deepEqual(details.retryInfo, { retry_delay: { seconds: retryAfter, nanos: 0 } });
  });

  test("a request over the message size limit (1 MiB by default) is RESOURCE_EXHAUSTED, with a request id", async () => {
    const realmId = await newRealm("size-realm");
    const out = await unary(
      main,
      UserServiceService.createUser,
      { realm_id: realmId, user: { username: "big", first_name: "x".repeat(1024 * 1024 + 1) } },
      keyMetadata(adminKey),
    );
    assert.equal(out.error?.code, grpc.status.RESOURCE_EXHAUSTED);
    assert.match(first(out.headers, "x-request-id") ?? "", REQUEST_ID);
    // Nothing reached core: the user does not exist.
    const list = await unary(main, UserServiceService.listUsers, { realm_id: realmId, expands: [] }, keyMetadata(adminKey));
    assert.equal(list.response?.collection.length, 0);
  });

  test("a response over the configured limit is refused rather than cut short", async () => {
    const { server, address: small } = await extraServer(rampart, { maxMessageBytes: 40 * 1024 });
    const client = new grpc.Client(small, insecure);
    try {
      for (const name of ["big-1", "big-2", "big-3"]) {
        const created = await unary(client, RealmServiceService.createRealm, { realm: { name, custom: { blob: "y".repeat(15_000) } } }, keyMetadata(adminKey));
        assert.equal(created.error, null);
      }
      const out = await unary(client, RealmServiceService.listRealms, { expands: ["custom"] }, keyMetadata(adminKey));
      assert.equal(out.error?.code, grpc.status.RESOURCE_EXHAUSTED);
      assert.match(first(out.headers, "x-request-id") ?? "", REQUEST_ID);
    } finally {
      client.close();
      await server.shutdown(1000);
    }
  });

  test("an unexpected fault is INTERNAL with a generic message, and logged with the request id", async () => {
    const faultLogger = recordingLogger();
    const faulty: Rampart = {
      ...rampart,
      users: {
        ...rampart.users,
        get: async () => {
          throw new Error("SQLITE_CORRUPT: /var/lib/rampart/rampart.db");
        },
      },
    };
    const { server, address: faultyAddress } = await extraServer(faulty, { logger: faultLogger });
    const client = new grpc.Client(faultyAddress, insecure);
    try {
      const out = await unary(client, UserServiceService.getUser, { id: "anyone", expands: [] }, keyMetadata(adminKey));
      assert.equal(out.error?.code, grpc.status.INTERNAL);
      assert.equal(first(out.error?.metadata, "x-error-code"), "internal");
      assert.doesNotMatch(out.error?.details ?? "", /SQLITE|rampart\.db/);
      const requestId = first(out.headers, "x-request-id");
      const logged = faultLogger.lines.find((l) => l.level === "error");
      assert.equal(logged?.obj.requestId, requestId);
      assert.match(String((logged?.obj.err as Error).message), /SQLITE_CORRUPT/);
    } finally {
      client.close();
      await server.shutdown(1000);
    }
  });

  test("a frozen result (a cached read core shares) is converted and encoded once, then answers every call", async () => {
    const realmId = await newRealm("shared results");
    const ctx = { requestId: "rq_test", credentials: { apiKey: adminKey }, realmId };
    const user = (await rampart.users.create(ctx, { user: { username: "shared", first_name: "Sam" } })) as { id: string };
    const result = await rampart.users.get(ctx, { id: user.id });
    assert.ok(Object.isFrozen(result), "core shares Get results frozen");
    let reads = 0;
    const counted = new Proxy(result, {
      get(target, key, receiver) {
        // Awaiting a value looks up its `then` on every call; the fields are what a conversion reads.
        if (key !== "then") reads++;
        return Reflect.get(target, key, receiver);
      },
    });
    const shared: Rampart = { ...rampart, users: { ...rampart.users, get: async () => counted } };
    const { server, address: sharedAddress } = await extraServer(shared);
    const client = new grpc.Client(sharedAddress, insecure);
    try {
      const call = () => unary(client, UserServiceService.getUser, { id: user.id, expands: [] }, keyMetadata(adminKey, realmId));
      const first = await call();
      assert.equal(first.error, null);
      assert.equal(first.response?.id, user.id);
      assert.equal(first.response?.first_name, "Sam");
      const readsForOne = reads;
      assert.ok(readsForOne > 0);
      const second = await call();
      assert.deepEqual(second.response, first.response);
      assert.equal(reads, readsForOne, "the second call reused the first one's message");
    } finally {
      client.close();
      await server.shutdown(1000);
    }
  });

  test("shutdown lets an in-flight call finish and refuses new ones", async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let entered!: () => void;
    const inside = new Promise<void>((resolve) => (entered = resolve));
    const slow: Rampart = {
      ...rampart,
      realms: {
        ...rampart.realms,
        list: async (ctx, params) => {
          entered();
          await gate;
          return rampart.realms.list(ctx, params);
        },
      },
    };
    const { server, address: slowAddress } = await extraServer(slow);
    const client = new grpc.Client(slowAddress, insecure);
    try {
      const inFlight = unary(client, RealmServiceService.listRealms, { expands: [] }, keyMetadata(adminKey));
      await inside;
      const stopped = server.shutdown(5000);
      const late = new grpc.Client(slowAddress, insecure);
      const refused = await unary(late, RealmServiceService.listRealms, { expands: [] }, keyMetadata(adminKey));
      late.close();
      assert.equal(refused.error?.code, grpc.status.UNAVAILABLE);
      release();
      const finished = await inFlight;
      assert.equal(finished.error, null);
      assert.ok(Array.isArray(finished.response?.collection));
      await stopped;
    } finally {
      client.close();
    }
  });

  test("every attribute core returns has a field in the protos", async () => {
    const ctx = { requestId: "rq_drift", credentials: { apiKey: adminKey } };
    const realmId = await newRealm("drift-realm");
    const human = await rampart.users.create(ctx, {
      realm_id: realmId,
      user: { username: "drifter", password: "long enough pw", first_name: "D", custom: { k: 1 } },
    });
    const api = await rampart.users.create(ctx, { realm_id: realmId, user: { user_type: "api" } });
    const org = await rampart.orgs.create(ctx, { realm_id: realmId, org: { name: "Drift Org", custom: { tier: 2 } } });
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await rampart.memberships.create(ctx, {
      realm_id: realmId,
      membership: { user_id: human.id, org_id: org.id, permissions: ["admin"], expires_at: expiresAt },
    });
    const bare = await rampart.memberships.create(ctx, { realm_id: realmId, membership: { user_id: human.id } });
    const r = { realm_id: realmId };
    const list = (result: unknown): JsonObject => result as JsonObject;
    const session = await rampart.sessions.create(ctx, { ...r, session: { user_id: human.id }, request: { ip: "192.0.2.1", client: "drift" } });
    const apiCredential = await rampart.credentials.create(ctx, { ...r, credential: { user_id: api.id, credential_type: "api_key" } });
    const policy = await rampart.loginPolicies.create(ctx, { ...r, login_policy: { name: "Drift app", login_handler: "https://drift.example.com/in" } });
    const lrProvider = await rampart.authProviders.create(ctx, { ...r, auth_provider: { provider_type: "login_rocket", signup: true } });
    const pwProvider = await rampart.authProviders.create(ctx, { ...r, auth_provider: { provider_type: "password", required_chars: ["digit"] } });
    const signupToken = await rampart.userTokens.create(ctx, { ...r, user_token: { username: "later", email: "later@example.com", first_name: "L" } });
    const connection = { ip: "127.0.0.1", client: "drift" };
    const lrCtx = { ...ctx, connection };
    const results: [string, JsonObject][] = [
      ["rampart.v1.Realm", await rampart.realms.get(ctx, { id: realmId })],
      ["rampart.v1.ListRealmsResponse", list(await rampart.realms.list(ctx, { expands: "custom" }))],
      ["rampart.v1.User", human],
      ["rampart.v1.User", api],
      ["rampart.v1.User", await rampart.users.get(ctx, { ...r, id: "drifter", expands: "memberships" })],
      ["rampart.v1.User", await rampart.users.authenticate(ctx, { ...r, id: "drifter", password: "long enough pw", expands: "memberships" })],
      ["rampart.v1.User", await rampart.users.authenticateKey(ctx, { ...r, api_key: api.api_key, expands: "memberships" })],
      ["rampart.v1.User", await rampart.users.generatePasswordToken(ctx, { ...r, id: human.id })],
      ["rampart.v1.ListUsersResponse", list(await rampart.users.list(ctx, { ...r, expands: "custom" }))],
      ["rampart.v1.Org", await rampart.orgs.get(ctx, { ...r, id: org.id, expands: "memberships" })],
      ["rampart.v1.ListOrgsResponse", list(await rampart.orgs.list(ctx, { ...r, expands: "custom" }))],
      ["rampart.v1.Membership", await rampart.memberships.get(ctx, { ...r, id: bare.id })],
      ["rampart.v1.ListMembershipsResponse", list(await rampart.memberships.list(ctx, { ...r, user_id: human.id }))],
      ["rampart.v1.ListMembershipsResponse", list(await rampart.memberships.list(ctx, { ...r, org_id: org.id }))],
      ["rampart.v1.ListMembershipsResponse", list(await rampart.memberships.list(ctx, { ...r, user_id: human.id, org_id: org.id }))],
      ["rampart.v1.Credential", apiCredential],
      ["rampart.v1.Credential", await rampart.credentials.get(ctx, { ...r, id: apiCredential.id })],
      ["rampart.v1.Session", session],
      ["rampart.v1.Session", await rampart.sessions.get(ctx, { ...r, id: session.token, expands: "memberships,token" })],
      ["rampart.v1.ListSessionsResponse", list(await rampart.sessions.list(ctx, { ...r, user_id: human.id }))],
      ["rampart.v1.UserToken", signupToken],
      ["rampart.v1.UserToken", await rampart.userTokens.get(ctx, { ...r, id: signupToken.id })],
      ["rampart.v1.LoginPolicy", policy],
      ["rampart.v1.ListLoginPoliciesResponse", list(await rampart.loginPolicies.list(ctx, r))],
      ["rampart.v1.AuthProvider", lrProvider],
      ["rampart.v1.AuthProvider", pwProvider],
      ["rampart.v1.ListAuthProvidersResponse", list(await rampart.authProviders.list(ctx, r))],
      ["rampart.v1.LoginResponse", await rampart.loginRocket.login(lrCtx, { subdomain: policy.subdomain, username: "drifter", password: "long enough pw" })],
      [
        "rampart.v1.SignupResponse",
        await rampart.loginRocket.signup(lrCtx, { subdomain: policy.subdomain, username: "newcomer", password: "Newcomer-pw-1", first_name: "N" }),
      ],
    ];
    const events = list(await rampart.events.list(ctx, { ...r, expands: "notifications" }));
    results.push(["rampart.v1.ListEventsResponse", events]);
    results.push(["rampart.v1.Event", await rampart.events.get(ctx, { id: (events.collection as JsonObject[])[0]!.id })]);
    for (const [typeName, json] of results) {
      const unknown: string[] = [];
      jsonToMessage(schemaRegistry().getMessage(typeName)!, json, { onUnknownKey: (path) => unknown.push(path) });
      assert.deepEqual(unknown, [], `${typeName} lacks fields for core's ${unknown.join(", ")}`);
    }
  });

  test("a user with expanded memberships read over gRPC equals the in-process result, apart from keys protobuf cannot leave out", async () => {
    const ctx = { requestId: "rq_compare", credentials: { apiKey: adminKey } };
    const realmId = await newRealm("compare-realm");
    const user = await rampart.users.create(ctx, {
      realm_id: realmId,
      user: { username: "Cmp", email: "cmp@example.com", custom: { n: [1, "two", { three: null }] } },
    });
    const org = await rampart.orgs.create(ctx, { realm_id: realmId, org: { name: "Cmp Org" } });
    const expiresAt = Math.floor(Date.now() / 1000) + 3600;
    await rampart.memberships.create(ctx, {
      realm_id: realmId,
      membership: { user_id: user.id, org_id: org.id, permissions: ["a:b", "c"], expires_at: expiresAt },
    });
    await rampart.memberships.create(ctx, { realm_id: realmId, membership: { user_id: user.id } });
    const direct = await rampart.users.get(ctx, { realm_id: realmId, id: "cmp", expands: "memberships" });
    assert.equal((direct.memberships as unknown[]).length, 2);
    const out = await unary(main, UserServiceService.getUser, { id: "cmp", realm_id: realmId, expands: ["memberships"] }, keyMetadata(adminKey));
    const viaGrpc = messageToJson(methodAt("/rampart.v1.UserService/GetUser").output, out.response as unknown as Record<string, unknown>, "v1");
    // Unset optional strings and empty lists exist in every protobuf message; in v1 JSON
    // these keys only appear on some calls (token: authenticate; api_key: create;
    // password_reset_token: generate_password_token), and a membership seen from its user's
    // side has no `user`.
    const memberships = (direct.memberships as JsonObject[]).map((m) => ({ ...m, user: null }));
    assert.deepEqual(viaGrpc, { ...direct, memberships, token: null, api_key: null, password_reset_token: null });
  });

  test("an org with expanded memberships embeds each member as a full user, equal to the in-process result", async () => {
    const ctx = { requestId: "rq_compare_org", credentials: { apiKey: adminKey } };
    const realmId = await newRealm("org-compare-realm");
    const org = await rampart.orgs.create(ctx, { realm_id: realmId, org: { name: "Members", reference: "m-1", custom: { a: 1 } } });
    const orgId = org.id as string;
    for (const [username, first_name] of [
      ["ann", "Ann"],
      ["bob", null],
    ] as const) {
      const user = await rampart.users.create(ctx, {
        realm_id: realmId,
        user: { username, first_name, reference: `ref-${username}`, custom: { u: username } },
      });
      await rampart.memberships.create(ctx, { realm_id: realmId, membership: { user_id: user.id, org_id: org.id, permissions: ["read"] } });
    }
    const direct = await rampart.orgs.get(ctx, { realm_id: realmId, id: org.id, expands: "memberships" });
    const out = await unary(main, OrgServiceService.getOrg, { id: orgId, realm_id: realmId, expands: ["memberships"] }, keyMetadata(adminKey));
    assert.equal(out.error, null);
    const viaGrpc = messageToJson(methodAt("/rampart.v1.OrgService/GetOrg").output, out.response as unknown as Record<string, unknown>, "v1");
    // A membership seen from its org's side has no `org` in v1; protobuf reports it unset.
    const memberships = (direct.memberships as JsonObject[]).map((m) => ({ ...m, org: null }));
    assert.equal(memberships.length, 2);
    assert.deepEqual(viaGrpc, { ...direct, memberships });

    const listed = await unary(main, MembershipServiceService.listMemberships, { realm_id: realmId, org_id: orgId }, keyMetadata(adminKey));
    assert.deepEqual(
      listed.response?.collection.map((m) => [m.user?.object, m.user?.username, m.org]),
      [
        ["user", "ann", undefined],
        ["user", "bob", undefined],
      ],
    );
  });

  test("a membership's expiry is removed with a NullableTimestamp without a value, and kept when omitted", async () => {
    const realmId = await newRealm("expiry-realm");
    const md = keyMetadata(adminKey, realmId);
    const user = await unary(main, UserServiceService.createUser, { user: { username: "exp" } }, md);
    const expiresAt = new Date((Math.floor(Date.now() / 1000) + 3600) * 1000);
    const created = await unary(
      main,
      MembershipServiceService.createMembership,
      { membership: { user_id: user.response!.id, expires_at: { value: expiresAt }, permissions: { values: ["p"] } } },
      md,
    );
    assert.equal(created.error, null);
    assert.deepEqual(created.response?.expires_at, expiresAt);
    const untouched = await unary(main, MembershipServiceService.updateMembership, { id: created.response!.id, membership: { custom: { k: 1 } } }, md);
    assert.deepEqual(untouched.response?.expires_at, expiresAt, "an omitted expiry is left as it is");
    assert.deepEqual(untouched.response?.permissions, ["p"], "an omitted StringList is left as it is");
    const cleared = await unary(
      main,
      MembershipServiceService.updateMembership,
      { id: created.response!.id, membership: { expires_at: {}, permissions: { values: [] } } },
      md,
    );
    assert.equal(cleared.error, null);
    assert.equal(cleared.response?.expires_at, undefined, "a present NullableTimestamp without a value removes the expiry");
    assert.deepEqual(cleared.response?.permissions, []);
  });

  test("calls read together share one check for other processes' commits; a call read later checks again", async () => {
    // A clock that stands still: a check is shared only within one millisecond.
    const now = Date.now();
    const frozen = openRampart(nodeDeps({ path: join(dir, "frozen.db"), synchronous: "NORMAL", clock: () => now }));
    const key = (await frozen.keys.create({})).key as string;
    const { server, address: at } = await extraServer(frozen);
    const client = new grpc.Client(at, insecure);
    try {
      const md = keyMetadata(key);
      assert.equal((await unary(client, RealmServiceService.listRealms, { expands: [] }, md)).error, null);
      const before = frozen.probeCount();
      const calls = await Promise.all(Array.from({ length: 20 }, () => unary(client, RealmServiceService.listRealms, { expands: [] }, md)));
      for (const call of calls) assert.equal(call.error, null);
      const together = frozen.probeCount() - before;
      assert.ok(together >= 1 && together < 20, `20 calls sent at once, read in few batches: ${together} checks`);
      const later = frozen.probeCount();
      for (let i = 0; i < 2; i++) assert.equal((await unary(client, RealmServiceService.listRealms, { expands: [] }, md)).error, null);
      assert.equal(frozen.probeCount() - later, 2, "each call sent after the last answer came in its own batch");
    } finally {
      client.close();
      await server.shutdown(1000);
      await frozen.close();
    }
  });

  test("the connection: the peer's IP without port or brackets, the user agent cut to 255 characters", () => {
    const cases: [string, string | null][] = [
      ["127.0.0.1:50123", "127.0.0.1"],
      ["::1:50123", "::1"],
      ["[::1]:50123", "::1"],
      ["[2001:db8::7]:443", "2001:db8::7"],
      ["[2001:DB8::A]:443", "2001:db8::a"],
      ["2001:db8::7:443", "2001:db8::7"],
      ["::ffff:198.51.100.4:5000", "198.51.100.4"],
      ["fe80::1%eth0:5000", "fe80::1"],
      ["203.0.113.9", "203.0.113.9"],
      ["2001:db8::7", "2001:db8::7"],
      ["unknown", null],
      ["unix:/run/rampart.sock", null],
      ["localhost:5000", null],
    ];
    for (const [peer, ip] of cases) assert.equal(peerIp(peer), ip, peer);
    const md = new grpc.Metadata();
    md.set("user-agent", `ua/${"x".repeat(300)}`);
    const connection = connectionFrom(md, "192.0.2.8:1234");
    assert.equal(connection.ip, "192.0.2.8");
    assert.equal(connection.client, `ua/${"x".repeat(252)}`);
    assert.deepEqual(connectionFrom(new grpc.Metadata(), "unknown"), { ip: null, client: null });
  });

  test("a call's context reads the peer only when the connection is asked for, and once", () => {
    const md = new grpc.Metadata();
    md.set("user-agent", "lazy/1");
    md.set("x-authrocket-realm", "rm_x");
    let peers = 0;
    const ctx = callContextFrom("req-1", md, () => (peers++, "192.0.2.9:4000"));
    assert.equal(ctx.realmId, "rm_x");
    assert.equal(peers, 0, "a management call never looks at the peer");
    assert.deepEqual(ctx.connection, { ip: "192.0.2.9", client: "lazy/1" });
    assert.deepEqual(ctx.connection, { ip: "192.0.2.9", client: "lazy/1" });
    assert.equal(peers, 1);
  });

  describe("LoginRocketService", () => {
    const USER_AGENT = "rampart-test/1.0";
    const PASSWORD = "correct horse battery";
    let browser: grpc.Client;
    const ctx = { requestId: "rq_lr_setup", credentials: {} as { apiKey?: string } };

    before(() => {
      ctx.credentials.apiKey = adminKey;
      // The end user's client: grpc-js sends `<primary user agent> grpc-node-js/<version>`.
      browser = new grpc.Client(address, insecure, { "grpc.primary_user_agent": USER_AGENT });
    });
    after(() => browser?.close());

    /** A realm with a login policy and a user "lou"; `provider` creates a login_rocket provider. */
    async function app(name: string, provider?: JsonObject): Promise<{ realmId: string; subdomain: string; policyId: string }> {
      const realmId = await newRealm(name);
      const policy = await rampart.loginPolicies.create(ctx, {
        realm_id: realmId,
        login_policy: { name, login_handler: "https://app.example.com/in?from=lr", signup_handler: "https://app.example.com/welcome" },
      });
      if (provider) await rampart.authProviders.create(ctx, { realm_id: realmId, auth_provider: { provider_type: "login_rocket", ...provider } });
      await rampart.users.create(ctx, { realm_id: realmId, user: { username: "lou", password: PASSWORD } });
      return { realmId, subdomain: policy.subdomain as string, policyId: policy.id as string };
    }

    async function loginEvents(realmId: string): Promise<JsonObject[]> {
      return (await rampart.events.list(ctx, { realm_id: realmId, event_type: "user.login" })).collection;
    }

    test("Login records the peer's IP and user agent on the event and the session, and returns the token and handler URL", async () => {
      const { realmId, subdomain, policyId } = await app("lr-login");
      const out = await unary(browser, LoginRocketServiceService.login, { subdomain: subdomain.toUpperCase(), username: "LOU", password: PASSWORD });
      assert.equal(out.error, null);
      assert.match(first(out.headers, "x-request-id") ?? "", REQUEST_ID);
      const token = out.response!.token;
      assert.equal(out.response?.url, `https://app.example.com/in?from=lr&token=${encodeURIComponent(token)}`);
      const [event] = await loginEvents(realmId);
      assert.equal(event!.event_type, "user.login.succeeded");
      assert.equal(event!.login_policy_id, policyId);
      assert.equal(event!.request_id, first(out.headers, "x-request-id"));
      const request = event!.request as { ip: string; client: string };
      assert.equal(request.ip, "127.0.0.1");
      assert.match(request.client, /^rampart-test\/1\.0 grpc-node-js\/\d+\.\d+\.\d+/);
      const session = await rampart.sessions.get(ctx, { realm_id: realmId, id: token });
      assert.deepEqual(session.request, request);

      // Failures are ordinary statuses, with the slug and the request id.
      const wrong = await unary(browser, LoginRocketServiceService.login, { subdomain, username: "lou", password: "wrong password" });
      assert.equal(wrong.error?.code, grpc.status.UNAUTHENTICATED);
      assert.equal(first(wrong.error?.metadata, "x-error-code"), "user.authentication_failed");
      assert.match(first(wrong.error?.metadata, "x-request-id") ?? "", REQUEST_ID);
      const blank = await unary(browser, LoginRocketServiceService.login, { subdomain, username: "lou" });
      assert.equal(blank.error?.code, grpc.status.INVALID_ARGUMENT);
      assert.deepEqual(decodeStatusDetails(blank.error!.metadata.get("grpc-status-details-bin")[0] as Buffer).badRequest?.field_violations, [
        { field: "password", description: "can't be blank" },
      ]);
    });

    test("a caller-supplied request is honoured only with a key that has the write permission", async () => {
      const { realmId, subdomain } = await app("lr-relay");
      const relayed = { ip: "203.0.113.50", client: "relayed browser" };
      const writeKey = (await rampart.keys.create({ permissions: ["write"] })).key as string;
      const readKey = (await rampart.keys.create({ permissions: ["read"] })).key as string;
      const login = (metadata?: grpc.Metadata) =>
        unary(browser, LoginRocketServiceService.login, { subdomain, username: "lou", password: PASSWORD, request: relayed }, metadata);

      assert.equal((await login(keyMetadata(writeKey))).error, null);
      assert.deepEqual((await loginEvents(realmId))[0]!.request, relayed, "a write key vouches for the request");

      assert.equal((await login()).error, null);
      const [unvouched] = await loginEvents(realmId);
      assert.equal((unvouched!.request as { ip: string }).ip, "127.0.0.1", "without a key the connection counts");

      const denied = await login(keyMetadata(readKey));
      assert.equal(denied.error?.code, grpc.status.PERMISSION_DENIED);
      assert.equal(first(denied.error?.metadata, "x-error-code"), "api_key.forbidden");
      assert.equal((await loginEvents(realmId)).length, 2, "a refused relay logs nobody in");
    });

    test("Signup is FAILED_PRECONDITION unless the login_rocket provider allows it; allowed, it creates and logs in the user", async () => {
      const { realmId, subdomain } = await app("lr-signup", { signup: false });
      const signup = {
        subdomain,
        username: "newbie",
        email: "newbie@example.com",
        password: "a long new password",
        password_confirmation: "a long new password",
      };
      const refused = await unary(browser, LoginRocketServiceService.signup, signup);
      assert.equal(refused.error?.code, grpc.status.FAILED_PRECONDITION);
      assert.equal(first(refused.error?.metadata, "x-error-code"), "login_rocket.signup_disabled");
      assert.equal((await rampart.users.list(ctx, { realm_id: realmId, username: "newbie" })).collection.length, 0);

      const provider = (await rampart.authProviders.list(ctx, { realm_id: realmId })).collection[0]!;
      await rampart.authProviders.update(ctx, { realm_id: realmId, id: provider.id, auth_provider: { signup: true } });
      const done = await unary(browser, LoginRocketServiceService.signup, signup);
      assert.equal(done.error, null);
      assert.equal(done.response?.url, `https://app.example.com/welcome?token=${encodeURIComponent(done.response!.token)}`);
      const user = await rampart.users.get(ctx, { realm_id: realmId, id: "newbie" });
      assert.equal(user.email, "newbie@example.com");
      const created = (await rampart.events.list(ctx, { realm_id: realmId, user_id: user.id, event_type: "user.created" })).collection[0]!;
      assert.equal((created.request as { ip: string }).ip, "127.0.0.1");
      const taken = await unary(browser, LoginRocketServiceService.signup, signup);
      assert.equal(taken.error?.code, grpc.status.INVALID_ARGUMENT);
    });

    test("Logout ends the managed session: the token no longer finds it (and logging out again is fine)", async () => {
      const { realmId, subdomain } = await app("lr-logout");
      const { token } = (await unary(browser, LoginRocketServiceService.login, { subdomain, username: "lou", password: PASSWORD })).response!;
      const md = keyMetadata(adminKey, realmId);
      assert.equal((await unary(main, SessionServiceService.getSession, { id: token, expands: [] }, md)).error, null);
      const out = await unary(browser, LoginRocketServiceService.logout, { subdomain, token });
      assert.equal(out.error, null);
      const gone = await unary(main, SessionServiceService.getSession, { id: token, expands: [] }, md);
      assert.equal(gone.error?.code, grpc.status.NOT_FOUND);
      assert.equal(first(gone.error?.metadata, "x-error-code"), "session.not_found");
      assert.equal((await unary(browser, LoginRocketServiceService.logout, { subdomain, token })).error, null);
    });

    test("an unknown subdomain is NOT_FOUND", async () => {
      for (const subdomain of ["no-such-app", "", "Not A Subdomain!"]) {
        const out = await unary(browser, LoginRocketServiceService.login, { subdomain, username: "lou", password: PASSWORD });
        assert.equal(out.error?.code, grpc.status.NOT_FOUND, JSON.stringify(subdomain));
        assert.equal(first(out.error?.metadata, "x-error-code"), "login_policy.not_found");
        assert.match(first(out.error?.metadata, "x-request-id") ?? "", REQUEST_ID);
      }
      const logout = await unary(browser, LoginRocketServiceService.logout, { subdomain: "no-such-app", token: "x.y.z" });
      assert.equal(logout.error?.code, grpc.status.NOT_FOUND);
    });
  });
});
