/**
 * What only the gRPC surface does: request ids in metadata, health, reflection, the rich
 * error details, message size limits, unexpected faults and graceful shutdown. The shared
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
import { createGrpcServer, decodeStatusDetails, type GrpcServer, jsonToMessage, messageToJson, methodAt, schemaRegistry } from "../grpc-server/mod.ts";
import { EventServiceService } from "../grpc-server/gen/rampart/v1/event_service.ts";
import { RealmServiceService } from "../grpc-server/gen/rampart/v1/realm_service.ts";
import { UserServiceService } from "../grpc-server/gen/rampart/v1/user_service.ts";

const REQUEST_ID = /^rq_[0-9A-Za-z]{22}$/;
const insecure = grpc.credentials.createInsecure();

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
      for (const service of ["", "rampart.v1.RealmService", "rampart.v1.UserService", "rampart.v1.EventService"]) {
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
      for (const name of ["rampart.v1.RealmService", "rampart.v1.UserService", "rampart.v1.EventService", "grpc.health.v1.Health"]) {
        assert.ok(names.includes(name), `${name} in ${names.join(", ")}`);
      }
      const files = (await ask({ file_containing_symbol: "rampart.v1.UserService" })) as { file_descriptor_response: { file_descriptor_proto: Buffer[] } };
      const decoded = files.file_descriptor_response.file_descriptor_proto.map((b) => fromBinary(FileDescriptorProtoSchema, b));
      const userService = decoded.find((f) => f.name === "rampart/v1/user_service.proto");
      assert.deepEqual(
        userService?.service[0]?.method.map((m) => m.name),
        ["ListUsers", "GetUser", "CreateUser", "UpdateUser", "DeleteUser", "AuthenticateUser"],
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
    await rampart.memberships.create(ctx, { realm_id: realmId, membership: { user_id: human.id } });
    const results: [string, JsonObject][] = [
      ["rampart.v1.Realm", await rampart.realms.get(ctx, { id: realmId })],
      ["rampart.v1.ListRealmsResponse", (await rampart.realms.list(ctx, { expands: "custom" })) as unknown as JsonObject],
      ["rampart.v1.User", human],
      ["rampart.v1.User", api],
      ["rampart.v1.User", await rampart.users.get(ctx, { realm_id: realmId, id: "drifter", expands: "memberships" })],
      ["rampart.v1.User", await rampart.users.authenticate(ctx, { realm_id: realmId, id: "drifter", password: "long enough pw", expands: "memberships" })],
      ["rampart.v1.ListUsersResponse", (await rampart.users.list(ctx, { realm_id: realmId, expands: "custom" })) as unknown as JsonObject],
      ["rampart.v1.ListEventsResponse", (await rampart.events.list(ctx, { realm_id: realmId, expands: "notifications" })) as unknown as JsonObject],
    ];
    const eventId = ((results.at(-1)![1].collection as JsonObject[])[0]!.id as string) ?? "";
    results.push(["rampart.v1.Event", await rampart.events.get(ctx, { id: eventId })]);
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
    // these keys only appear on some calls (token: authenticate; api_key: create).
    assert.deepEqual(viaGrpc, { ...direct, token: null, api_key: null });
  });
});
